use chrono::{DateTime, Utc};
use nexify_domain::{JobRunId, JobStatus, OrgId, TicketId};
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;

/// One request to triage a ticket, and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct JobRun {
    pub id: JobRunId,
    pub organization_id: OrgId,
    pub ticket_id: TicketId,
    pub status: JobStatus,
    pub idempotency_key: String,
    pub attempt_count: i32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "id, organization_id, ticket_id, status, idempotency_key,
    attempt_count, last_attempt_at, last_error, created_at, updated_at";

/// Creates a queued JobRun for `(org, key)`, or returns the one that already exists; the
/// flag says whether it was created now. Concurrent callers with the same key get the same
/// row: the unique constraint decides and the others read the winner's.
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket), err)]
pub async fn insert_or_get(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: TicketId,
    idempotency_key: &str,
) -> Result<(JobRun, bool), StorageError> {
    let inserted: Option<JobRun> = sqlx::query_as(sql!(
        "INSERT INTO job_runs (organization_id, ticket_id, idempotency_key) VALUES ($1, $2, $3)
         ON CONFLICT ON CONSTRAINT job_runs_org_key_unique DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(ticket)
    .bind(idempotency_key)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(job) = inserted {
        return Ok((job, true));
    }
    let existing = sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM job_runs WHERE organization_id = $1 AND idempotency_key = $2"
    ))
    .bind(org)
    .bind(idempotency_key)
    .fetch_one(conn)
    .await?;
    Ok((existing, false))
}

#[tracing::instrument(skip_all, fields(org_id = %org, job_id = %id), err)]
pub async fn get(
    conn: &mut PgConnection,
    org: OrgId,
    id: JobRunId,
) -> Result<JobRun, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM job_runs WHERE organization_id = $1 AND id = $2"
    ))
    .bind(org)
    .bind(id)
    .fetch_one(conn)
    .await?)
}
