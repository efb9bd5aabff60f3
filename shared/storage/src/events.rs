use chrono::{DateTime, Utc};
use nexify_domain::{ActorType, JobRunId, OrgId, TicketEventId, TicketId, UserId};
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;

/// Who caused an event. A user event always names the user; the database enforces the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    System,
    Ai,
    Webhook,
}

impl Actor {
    pub fn actor_type(self) -> ActorType {
        match self {
            Actor::User(_) => ActorType::User,
            Actor::System => ActorType::System,
            Actor::Ai => ActorType::Ai,
            Actor::Webhook => ActorType::Webhook,
        }
    }

    pub fn user_id(self) -> Option<UserId> {
        match self {
            Actor::User(id) => Some(id),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TicketEvent {
    pub id: TicketEventId,
    pub organization_id: OrgId,
    pub ticket_id: TicketId,
    #[schema(required = true)]
    pub job_run_id: Option<JobRunId>,
    pub event_type: String,
    pub actor_type: ActorType,
    #[schema(required = true)]
    pub actor_user_id: Option<UserId>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// One entry for a ticket's audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub ticket_id: TicketId,
    pub job_run_id: Option<JobRunId>,
    pub event_type: &'static str,
    pub actor: Actor,
    pub payload: serde_json::Value,
}

const COLUMNS: &str = "id, organization_id, ticket_id, job_run_id, event_type, actor_type,
    actor_user_id, payload, created_at";

#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %event.ticket_id, event_type = event.event_type), err)]
pub async fn insert(
    conn: &mut PgConnection,
    org: OrgId,
    event: &NewEvent,
) -> Result<TicketEvent, StorageError> {
    Ok(sqlx::query_as(sql!(
        "INSERT INTO ticket_events (organization_id, ticket_id, job_run_id, event_type,
             actor_type, actor_user_id, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(event.ticket_id)
    .bind(event.job_run_id)
    .bind(event.event_type)
    .bind(event.actor.actor_type())
    .bind(event.actor.user_id())
    .bind(&event.payload)
    .fetch_one(conn)
    .await?)
}

/// A ticket's events, newest first, at most `limit`, starting after the keyset `before`
/// (the `(created_at, id)` of the last event of the previous page).
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket), err)]
pub async fn list_for_ticket(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: TicketId,
    before: Option<(DateTime<Utc>, TicketEventId)>,
    limit: i64,
) -> Result<Vec<TicketEvent>, StorageError> {
    let (before_at, before_id) = before.unzip();
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM ticket_events
         WHERE organization_id = $1 AND ticket_id = $2
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
         ORDER BY created_at DESC, id DESC LIMIT $5"
    ))
    .bind(org)
    .bind(ticket)
    .bind(before_at)
    .bind(before_id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}
