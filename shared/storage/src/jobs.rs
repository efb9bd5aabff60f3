use chrono::{DateTime, Utc};
use nexify_domain::{JobRunId, JobStatus, OrgId, TicketId};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::StorageError;

/// One request to triage a ticket, and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct JobRun {
    pub id: JobRunId,
    pub organization_id: OrgId,
    pub ticket_id: TicketId,
    pub status: JobStatus,
    pub idempotency_key: String,
    #[schema(minimum = 0)]
    pub attempt_count: i32,
    #[schema(required = true)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The last failed attempt's safe sentence (no database or provider text).
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// The last failed attempt's stable code: not_found, database_unavailable,
    /// database_error, provider_unavailable, provider_failed, embedding_failed,
    /// model_unreadable, engine_unavailable, engine_failed, invalid_input, conflict or
    /// internal.
    #[schema(pattern = "^[a-z_]{1,40}$")]
    #[schema(required = true)]
    pub last_error_code: Option<String>,
    /// When the queue accepted the job's message; null until then.
    #[schema(required = true)]
    pub dispatched_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "id, organization_id, ticket_id, status, idempotency_key,
    attempt_count, last_attempt_at, last_error, last_error_code, dispatched_at, finished_at, created_at, updated_at";

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

/// Records that SQS accepted the job's message.
#[tracing::instrument(skip_all, fields(org_id = %org, job_id = %id), err)]
pub async fn mark_dispatched(
    conn: &mut PgConnection,
    org: OrgId,
    id: JobRunId,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE job_runs SET dispatched_at = COALESCE(dispatched_at, now())
         WHERE organization_id = $1 AND id = $2",
    )
    .bind(org)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims the job for one attempt: a queued job, or a running one whose worker has not been
/// heard from for `lease_seconds` (it died mid-attempt), becomes running with one more
/// attempt. `None` when the job is finished or another worker holds a live claim.
#[tracing::instrument(skip_all, fields(org_id = %org, job_id = %id), err)]
pub async fn claim(
    conn: &mut PgConnection,
    org: OrgId,
    id: JobRunId,
    lease_seconds: i64,
) -> Result<Option<JobRun>, StorageError> {
    Ok(sqlx::query_as(sql!(
        "UPDATE job_runs SET status = 'running', attempt_count = attempt_count + 1,
             last_attempt_at = now()
         WHERE organization_id = $1 AND id = $2
           AND (status = 'queued'
                OR (status = 'running' AND last_attempt_at < now() - make_interval(secs => $3)))
         RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(id)
    .bind(lease_seconds as f64)
    .fetch_optional(conn)
    .await?)
}

#[tracing::instrument(skip_all, fields(org_id = %org, job_id = %id), err)]
pub async fn mark_succeeded(
    conn: &mut PgConnection,
    org: OrgId,
    id: JobRunId,
) -> Result<JobRun, StorageError> {
    Ok(sqlx::query_as(sql!(
        "UPDATE job_runs SET status = 'succeeded', last_error = NULL, last_error_code = NULL, finished_at = now()
         WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// What a job's reader is told of a failed attempt: a stable code and a sentence that names
/// no database, provider or ticket text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub code: &'static str,
    pub message: &'static str,
}

/// Records a failed attempt. Not `last`: the job goes back to queued for the next delivery.
/// `last`: it ends failed.
#[tracing::instrument(skip_all, fields(org_id = %org, job_id = %id, last), err)]
pub async fn record_failure(
    conn: &mut PgConnection,
    org: OrgId,
    id: JobRunId,
    failure: &Failure,
    last: bool,
) -> Result<JobRun, StorageError> {
    Ok(sqlx::query_as(sql!(
        "UPDATE job_runs SET status = CASE WHEN $4 THEN 'failed' ELSE 'queued' END,
             last_error = $3, last_error_code = $5,
             finished_at = CASE WHEN $4 THEN now() ELSE NULL END
         WHERE organization_id = $1 AND id = $2 AND status <> 'succeeded' RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(id)
    .bind(failure.message)
    .bind(last)
    .bind(failure.code)
    .fetch_one(conn)
    .await?)
}

/// The stranded jobs, oldest first, at most `limit`: queued jobs across orgs whose message
/// SQS never accepted, older than `unsent_seconds`, or whose accepted message has gone
/// unclaimed for `lost_seconds`, presumed lost.
///
/// A simple-protocol query (no Parse and Describe round trip for a new statement), because
/// the sweeper runs it on a fresh connection at every cold start. Its text holds only
/// numbers formatted from integers, never input.
#[tracing::instrument(skip_all, err)]
pub async fn stranded(
    conn: &mut PgConnection,
    unsent_seconds: i64,
    lost_seconds: i64,
    limit: i64,
) -> Result<Vec<(JobRunId, OrgId)>, StorageError> {
    use sqlx::Row;
    let sql = format!(
        "SELECT job_run_id, organization_id FROM stranded_job_runs(
             make_interval(secs => {unsent_seconds}), make_interval(secs => {lost_seconds}),
             {limit})"
    );
    let mut stranded = Vec::new();
    for row in sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await?
    {
        stranded.push((row.try_get(0)?, row.try_get(1)?));
    }
    Ok(stranded)
}
