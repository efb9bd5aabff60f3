//! Triage jobs: the queue message, enqueue (idempotent, through a transactional outbox),
//! dispatch, and the sweep's re-sends of stranded jobs; reading jobs and suggestions.

use std::future::Future;

use nexify_domain::{IdempotencyKey, JobRunId, OrgId, Role, TicketId, UserId};
use nexify_storage::events::{self, Actor, NewEvent};
use nexify_storage::jobs::{self, JobRun};
use nexify_storage::suggestions::{self, Suggestion};
use nexify_storage::{PgConnection, PgPool, StorageError, begin_tenant, tickets};
use serde::{Deserialize, Serialize};

use crate::{ServiceError, access};

/// The message on the triage queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobMessage {
    pub job_run_id: JobRunId,
    pub organization_id: OrgId,
}

/// Sends job messages to the triage queue (SQS in production and tests).
pub trait Dispatch: Send + Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    fn send(&self, message: &JobMessage) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The default idempotency key: the ticket as it is now. Pressing "Run AI triage" twice on
/// an unchanged ticket is one job; after an edit, a new one.
pub fn default_key(ticket: &tickets::Ticket) -> String {
    format!(
        "ticket:{}:{}",
        ticket.id,
        ticket.updated_at.timestamp_micros()
    )
}

/// Creates the JobRun and its `ai_triage_requested` event on the caller's transaction, or
/// returns the existing JobRun for the key (`false`). The message is sent after commit.
pub async fn create_job(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: TicketId,
    key: &str,
    actor: Actor,
) -> Result<(JobRun, bool), ServiceError> {
    let (job, created) = jobs::insert_or_get(conn, org, ticket, key).await?;
    if created {
        events::insert(
            conn,
            org,
            &NewEvent {
                ticket_id: ticket,
                job_run_id: Some(job.id),
                event_type: "ai_triage_requested",
                actor,
                payload: serde_json::json!({ "job_run_id": job.id }),
            },
        )
        .await?;
    }
    Ok((job, created))
}

/// When `enabled`, creates the automatic triage job for a new ticket on the caller's
/// transaction; the caller dispatches it after commit.
pub async fn auto_triage(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: &tickets::Ticket,
    enabled: bool,
) -> Result<Option<JobRun>, ServiceError> {
    if !enabled {
        return Ok(None);
    }
    let key = format!("auto:{}", ticket.id);
    let (job, created) = create_job(conn, org, ticket.id, &key, Actor::System).await?;
    Ok(created.then_some(job))
}

/// Sends a committed job's message and records the dispatch. A failure is logged and left
/// to the sweeper ([`resend`]); the caller's answer does not depend on it.
#[tracing::instrument(skip_all, fields(org_id = %job.organization_id, job_id = %job.id))]
pub async fn dispatch<D: Dispatch>(pool: &PgPool, dispatcher: &D, job: &JobRun) -> bool {
    let message = JobMessage {
        job_run_id: job.id,
        organization_id: job.organization_id,
    };
    if let Err(error) = dispatcher.send(&message).await {
        tracing::warn!(
            error = %nexify_telemetry::error_chain(&error),
            "sending the triage message failed; the sweep will retry"
        );
        return false;
    }
    let marked = async {
        let mut tx = begin_tenant(pool, job.organization_id, None).await?;
        jobs::mark_dispatched(&mut tx, job.organization_id, job.id).await?;
        tx.commit().await?;
        Ok::<_, StorageError>(())
    };
    if let Err(error) = marked.await {
        // The message is out; at worst the sweep sends a duplicate, which the worker absorbs.
        tracing::warn!(%error, "recording the dispatch failed");
    }
    true
}

/// `POST .../tickets/{id}/triage/`: returns the JobRun and whether it was created now.
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket), err)]
pub async fn enqueue<D: Dispatch>(
    pool: &PgPool,
    dispatcher: &D,
    user: UserId,
    org: OrgId,
    ticket: TicketId,
    idempotency_key: Option<IdempotencyKey>,
) -> Result<(JobRun, bool), ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Agent).await?;
    let found = tickets::get(&mut tx, org, ticket).await?;
    let key = idempotency_key.unwrap_or_else(|| IdempotencyKey::internal(default_key(&found)));
    let (job, created) =
        create_job(&mut tx, org, ticket, key.as_str(), Actor::User(caller.user)).await?;
    tx.commit().await?;
    if created {
        dispatch(pool, dispatcher, &job).await;
    }
    Ok((job, created))
}

/// When the sweep treats a queued job as stranded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stranding {
    /// No message accepted yet for this long: the send failed after the commit.
    pub unsent_seconds: i64,
    /// A message accepted this long ago and still not claimed: presumed lost.
    pub lost_seconds: i64,
}

/// The stranded queued jobs (see [`Stranding`]), at most `limit`, oldest first.
pub async fn stranded_jobs(
    conn: &mut PgConnection,
    stranding: Stranding,
    limit: i64,
) -> Result<Vec<(JobRunId, OrgId)>, ServiceError> {
    Ok(jobs::stranded(
        conn,
        stranding.unsent_seconds,
        stranding.lost_seconds,
        limit,
    )
    .await?)
}

/// Sends the messages of `stranded` jobs again. Returns how many were sent.
#[tracing::instrument(skip_all, fields(stranded = stranded.len()), err)]
pub async fn resend<D: Dispatch>(
    pool: &PgPool,
    dispatcher: &D,
    stranded: Vec<(JobRunId, OrgId)>,
) -> Result<usize, ServiceError> {
    let mut sent = 0;
    for (job_id, org) in stranded {
        let mut tx = begin_tenant(pool, org, None).await?;
        let job = jobs::get(&mut tx, org, job_id).await?;
        tx.commit().await?;
        if dispatch(pool, dispatcher, &job).await {
            sent += 1;
        }
    }
    if sent > 0 {
        tracing::info!(sent, "sweep re-sent stranded triage jobs");
    }
    Ok(sent)
}

#[tracing::instrument(skip_all, fields(org_id = %org, job_id = %id), err)]
pub async fn get_job(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    id: JobRunId,
) -> Result<JobRun, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Viewer).await?;
    let job = jobs::get(&mut tx, org, id).await?;
    tx.commit().await?;
    Ok(job)
}

#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket), err)]
pub async fn list_suggestions(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    ticket: TicketId,
) -> Result<Vec<Suggestion>, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Viewer).await?;
    tickets::get(&mut tx, org, ticket).await?;
    let found = suggestions::list_for_ticket(&mut tx, org, ticket).await?;
    tx.commit().await?;
    Ok(found)
}
