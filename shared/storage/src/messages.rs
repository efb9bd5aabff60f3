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
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, organization_id, ticket_id, kind, author_type, author_user_id, body, external_id, created_at";

/// Appends a message written by `author` (a user, the AI, a webhook sender).
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
             author_user_id, body)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
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
