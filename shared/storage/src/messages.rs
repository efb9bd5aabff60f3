//! A ticket's conversation (migration `…_ticket_messages.sql`): the requester's messages,
//! replies to them and internal notes, oldest first. The first inbound message is the
//! ticket's body, written by the database with the ticket.

use chrono::{DateTime, Utc};
use nexify_domain::{ActorType, ExternalId, MessageId, MessageKind, OrgId, TicketId, UserId};
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;
use crate::events::Actor;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub organization_id: OrgId,
    pub ticket_id: TicketId,
    pub kind: MessageKind,
    /// `user`, `webhook` or `ai`.
    pub author_type: ActorType,
    #[schema(required = true)]
    pub author_user_id: Option<UserId>,
    pub body: String,
    /// The sender's id for a webhook follow-up.
    #[schema(required = true)]
    pub external_id: Option<String>,
    /// For a reply the org mails: `pending`, `sent` or `failed`; `null` otherwise.
    #[schema(required = true)]
    pub delivery_state: Option<String>,
    /// Why the last mailing failed.
    #[schema(required = true)]
    pub delivery_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, organization_id, ticket_id, kind, author_type, author_user_id, body,
    external_id, delivery_state, delivery_error, created_at";

/// Appends a message written by `author` (a user, the AI, a webhook sender). A reply is
/// `pending` mail when the org mails replies.
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket, kind = %kind), err)]
pub async fn insert(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: TicketId,
    kind: MessageKind,
    author: Actor,
    body: &str,
) -> Result<Message, StorageError> {
    Ok(sqlx::query_as(sql!(
        "INSERT INTO ticket_messages (organization_id, ticket_id, kind, author_type,
             author_user_id, body, delivery_state)
         SELECT $1, $2, $3, $4, $5, $6,
                CASE WHEN $3 = 'reply' AND s.reply_from IS NOT NULL THEN 'pending' END
           FROM organization_settings s WHERE s.organization_id = $1
         RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(ticket)
    .bind(kind)
    .bind(author.actor_type())
    .bind(author.user_id())
    .bind(body)
    .fetch_one(conn)
    .await?)
}

/// Appends a webhook sender's follow-up unless the ticket already has one with the same
/// `external_id`; the message, and whether it was added now.
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket), err)]
pub async fn insert_inbound_once(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: TicketId,
    body: &str,
    external_id: &ExternalId,
) -> Result<(Message, bool), StorageError> {
    let inserted: Option<Message> = sqlx::query_as(sql!(
        "INSERT INTO ticket_messages (organization_id, ticket_id, kind, author_type, body,
             external_id)
         VALUES ($1, $2, 'inbound', 'webhook', $3, $4)
         ON CONFLICT ON CONSTRAINT ticket_messages_external_unique DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(ticket)
    .bind(body)
    .bind(external_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(message) = inserted {
        return Ok((message, true));
    }
    let existing = sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM ticket_messages
         WHERE organization_id = $1 AND ticket_id = $2 AND external_id = $3"
    ))
    .bind(org)
    .bind(ticket)
    .bind(external_id.as_str())
    .fetch_one(conn)
    .await?;
    Ok((existing, false))
}

/// A ticket's messages, oldest first, at most `limit`, after the keyset `after` (the
/// `(created_at, id)` of the previous page's last message).
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket), err)]
pub async fn list(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: TicketId,
    after: Option<(DateTime<Utc>, MessageId)>,
    limit: i64,
) -> Result<Vec<Message>, StorageError> {
    let (after_at, after_id) = after.unzip();
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM ticket_messages
         WHERE organization_id = $1 AND ticket_id = $2
           AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4))
         ORDER BY created_at, id LIMIT $5"
    ))
    .bind(org)
    .bind(ticket)
    .bind(after_at)
    .bind(after_id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// What the requester has written on a ticket, oldest first: the text triage reads.
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket), err)]
pub async fn requester_text(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: TicketId,
) -> Result<Vec<String>, StorageError> {
    Ok(sqlx::query_scalar(
        "SELECT body FROM ticket_messages
         WHERE organization_id = $1 AND ticket_id = $2 AND kind = 'inbound' AND body <> ''
         ORDER BY created_at, id",
    )
    .bind(org)
    .bind(ticket)
    .fetch_all(conn)
    .await?)
}

/// A reply to mail: the message, its ticket's requester and subject, and the org's sender.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReplyToMail {
    pub body: String,
    pub delivery_attempts: i32,
    pub requester_email: String,
    pub subject: String,
    pub reply_from: Option<String>,
}

/// The reply `id` with what its mail needs, while it is pending (`None` after).
#[tracing::instrument(skip_all, fields(org_id = %org, message_id = %id), err)]
pub async fn pending_reply(
    conn: &mut PgConnection,
    org: OrgId,
    id: MessageId,
) -> Result<Option<ReplyToMail>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT m.body, m.delivery_attempts, t.requester_email, t.subject, s.reply_from
           FROM ticket_messages m
           JOIN tickets t ON t.organization_id = m.organization_id AND t.id = m.ticket_id
           JOIN organization_settings s ON s.organization_id = m.organization_id
          WHERE m.organization_id = $1 AND m.id = $2 AND m.delivery_state = 'pending'",
    )
    .bind(org)
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Records a mailing: `sent`, or still `pending` / `failed` with the reason.
#[tracing::instrument(skip_all, fields(org_id = %org, message_id = %id, state), err)]
pub async fn record_mailing(
    conn: &mut PgConnection,
    org: OrgId,
    id: MessageId,
    state: &str,
    error: Option<&str>,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE ticket_messages SET delivery_state = $3, delivery_error = $4,
             delivery_attempts = delivery_attempts + 1,
             delivered_at = CASE WHEN $3 = 'sent' THEN now() END
         WHERE organization_id = $1 AND id = $2",
    )
    .bind(org)
    .bind(id)
    .bind(state)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// The sweep's worklist across orgs (`due_reply_emails`).
#[tracing::instrument(skip_all, err)]
pub async fn due_reply_emails(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<(MessageId, OrgId)>, StorageError> {
    Ok(
        sqlx::query_as("SELECT message_id, organization_id FROM due_reply_emails($1)")
            .bind(limit as i32)
            .fetch_all(conn)
            .await?,
    )
}
