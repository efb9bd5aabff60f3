use chrono::{DateTime, Utc};
use nexify_domain::{Email, OrgId, Priority, Subject, TicketBody, TicketId, TicketStatus};
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Ticket {
    pub id: TicketId,
    pub organization_id: OrgId,
    pub requester_email: String,
    pub subject: String,
    pub body: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub assigned_team: Option<String>,
    pub external_id: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A ticket as it arrives, already parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    pub requester_email: Email,
    pub subject: Subject,
    pub body: TicketBody,
    pub priority: Priority,
    pub assigned_team: Option<String>,
    pub external_id: Option<String>,
}

/// The fields a person may change on a ticket. `None` leaves a field as it is; for the team,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketChanges {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub assigned_team: Option<Option<String>>,
}

impl TicketChanges {
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.priority.is_none() && self.assigned_team.is_none()
    }
}

pub(crate) const COLUMNS: &str = "id, organization_id, requester_email, subject, body, status,
    priority, assigned_team, external_id, resolved_at, created_at, updated_at";

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn insert(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: &NewTicket,
) -> Result<Ticket, StorageError> {
    Ok(sqlx::query_as(sql!(
        "INSERT INTO tickets (organization_id, requester_email, subject, body, priority,
             assigned_team, external_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(ticket.requester_email.as_str())
    .bind(ticket.subject.as_str())
    .bind(ticket.body.as_str())
    .bind(ticket.priority)
    .bind(&ticket.assigned_team)
    .bind(&ticket.external_id)
    .fetch_one(conn)
    .await?)
}

/// Inserts the ticket unless the org already has one with the same `external_id`; returns
/// the ticket and whether it was created now. Safe under concurrent duplicates: the unique
/// constraint decides, and the loser reads the winner's row.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn insert_or_get_by_external_id(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: &NewTicket,
    external_id: &str,
) -> Result<(Ticket, bool), StorageError> {
    let inserted: Option<Ticket> = sqlx::query_as(sql!(
        "INSERT INTO tickets (organization_id, requester_email, subject, body, priority,
             assigned_team, external_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT ON CONSTRAINT tickets_org_external_id_unique DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(ticket.requester_email.as_str())
    .bind(ticket.subject.as_str())
    .bind(ticket.body.as_str())
    .bind(ticket.priority)
    .bind(&ticket.assigned_team)
    .bind(external_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(ticket) = inserted {
        return Ok((ticket, true));
    }
    let existing = sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM tickets WHERE organization_id = $1 AND external_id = $2"
    ))
    .bind(org)
    .bind(external_id)
    .fetch_one(conn)
    .await?;
    Ok((existing, false))
}

#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %id), err)]
pub async fn get(
    conn: &mut PgConnection,
    org: OrgId,
    id: TicketId,
) -> Result<Ticket, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM tickets WHERE organization_id = $1 AND id = $2"
    ))
    .bind(org)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// Reads and locks a ticket, so the caller can compute a before/after audit record that no
/// concurrent change can invalidate.
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %id), err)]
pub async fn get_for_update(
    conn: &mut PgConnection,
    org: OrgId,
    id: TicketId,
) -> Result<Ticket, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM tickets WHERE organization_id = $1 AND id = $2 FOR UPDATE"
    ))
    .bind(org)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// Applies `changes`; `resolved_at` follows the status.
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %id), err)]
pub async fn update(
    conn: &mut PgConnection,
    org: OrgId,
    id: TicketId,
    changes: &TicketChanges,
) -> Result<Ticket, StorageError> {
    let (set_team, team) = match &changes.assigned_team {
        Some(team) => (true, team.clone()),
        None => (false, None),
    };
    Ok(sqlx::query_as(sql!(
        "UPDATE tickets SET
             status = COALESCE($3, status),
             priority = COALESCE($4, priority),
             assigned_team = CASE WHEN $5 THEN $6 ELSE assigned_team END,
             resolved_at = CASE
                 WHEN $3 IS NULL THEN resolved_at
                 WHEN $3 = 'resolved' THEN COALESCE(resolved_at, now())
                 ELSE NULL END
         WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(id)
    .bind(changes.status)
    .bind(changes.priority)
    .bind(set_team)
    .bind(team)
    .fetch_one(conn)
    .await?)
}
