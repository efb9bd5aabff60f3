//! A ticket's conversation: agents write replies and notes, viewers read, webhook senders
//! add the requester's follow-ups (which reopen a resolved ticket), and accepting a
//! suggestion sends its draft as a reply.

use nexify_domain::{
    ExternalId, InvalidInput, MessageId, MessageKind, OrgId, Role, TicketId, TicketStatus, UserId,
};
use nexify_storage::events::{self, Actor, NewEvent};
use nexify_storage::messages::{self, Message};
use nexify_storage::tickets::{self, TicketChanges};
use nexify_storage::{PgConnection, PgPool, begin_tenant};
use serde::Serialize;

use crate::paging::{Cursor, MAX_PAGE, keyset_page};
use crate::tickets::apply_changes;
use crate::{ServiceError, access};

/// The longest message, in characters (a ticket body's limit).
pub const MAX_MESSAGE_CHARS: usize = 200_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessagePage {
    pub items: Vec<Message>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// What people write: not blank, and within [`MAX_MESSAGE_CHARS`].
pub fn check_body(body: &str) -> Result<&str, InvalidInput> {
    if body.trim().is_empty() || body.chars().count() > MAX_MESSAGE_CHARS {
        return Err(InvalidInput::new(
            "body",
            format!("must be 1 to {MAX_MESSAGE_CHARS} characters, not only spaces"),
        ));
    }
    Ok(body)
}

/// Appends a message and its `message_added` event on the caller's transaction.
pub async fn add_in_tx(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: TicketId,
    kind: MessageKind,
    author: Actor,
    body: &str,
) -> Result<Message, ServiceError> {
    let message = messages::insert(conn, org, ticket, kind, author, body).await?;
    record_added(conn, org, &message, author).await?;
    Ok(message)
}

async fn record_added(
    conn: &mut PgConnection,
    org: OrgId,
    message: &Message,
    author: Actor,
) -> Result<(), ServiceError> {
    events::insert(
        conn,
        org,
        &NewEvent {
            ticket_id: message.ticket_id,
            job_run_id: None,
            event_type: "message_added",
            actor: author,
            payload: serde_json::json!({ "message_id": message.id, "kind": message.kind }),
        },
    )
    .await?;
    crate::outbound::emit(conn, org, "message.created", message).await?;
    Ok(())
}

/// The ticket's conversation, oldest first (viewers and up).
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket), err)]
pub async fn list(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    ticket: TicketId,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<MessagePage, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Viewer).await?;
    // 404 for a ticket that is not there, rather than an empty list.
    tickets::get(&mut tx, org, ticket).await?;
    let after = Cursor::position::<MessageId>(cursor.as_ref(), "messages")?;
    let limit = limit.clamp(1, MAX_PAGE);
    let items = messages::list(&mut tx, org, ticket, after, limit + 1).await?;
    let (items, next_cursor) = keyset_page(items, limit, |m| Cursor {
        order: "messages".into(),
        at: m.created_at,
        id: m.id.0,
    });
    tx.commit().await?;
    Ok(MessagePage { items, next_cursor })
}

/// An agent writes a reply to the requester or an internal note.
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket, kind = %kind), err)]
pub async fn write(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    ticket: TicketId,
    kind: MessageKind,
    body: &str,
) -> Result<Message, ServiceError> {
    if kind == MessageKind::Inbound {
        return Err(InvalidInput::new(
            "kind",
            "must be reply or note: the requester's messages come from them",
        )
        .into());
    }
    let body = check_body(body)?;
    let (mut tx, caller) = access::begin(pool, user, org, Role::Agent).await?;
    tickets::get(&mut tx, org, ticket).await?;
    let message = add_in_tx(&mut tx, org, ticket, kind, Actor::User(caller.user), body).await?;
    tx.commit().await?;
    tracing::info!(message_id = %message.id, "message written");
    Ok(message)
}

/// A webhook sender adds the requester's follow-up to the ticket it knows by
/// `ticket_external_id`. The same follow-up (`external_id`) twice is one message; a new one
/// on a resolved ticket reopens it. The message, and whether it was added now.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn follow_up(
    pool: &PgPool,
    org: OrgId,
    ticket_external_id: &ExternalId,
    external_id: &ExternalId,
    body: &str,
    signature: &crate::webhooks::Signature,
) -> Result<(Message, bool), ServiceError> {
    let body = check_body(body)?;
    let mut tx = begin_tenant(pool, org, None).await?;
    crate::webhooks::once(&mut tx, org, signature).await?;
    // Locked, so a concurrent change of status cannot slip between the check and the reopen.
    let ticket = tickets::get_by_external_id_for_update(&mut tx, org, ticket_external_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let (message, added) =
        messages::insert_inbound_once(&mut tx, org, ticket.id, body, external_id).await?;
    if added {
        record_added(&mut tx, org, &message, Actor::Webhook).await?;
        if ticket.status == TicketStatus::Resolved {
            let reopen = TicketChanges {
                status: Some(TicketStatus::Open),
                ..TicketChanges::default()
            };
            apply_changes(&mut tx, org, ticket.id, &reopen, Actor::Webhook, None).await?;
            tracing::info!(ticket_id = %ticket.id, "a follow-up reopened the ticket");
        }
    }
    tx.commit().await?;
    tracing::info!(ticket_id = %ticket.id, message_id = %message.id, added, "follow-up");
    Ok((message, added))
}
