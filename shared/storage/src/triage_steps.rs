//! The triage worker's three calls, one round trip each (the SQL functions of migration
//! `triage_steps`). Each is one statement that scopes its own implicit transaction to the
//! org, so they take a bare connection, not a transaction: the worker holds none between
//! them.

use chrono::{DateTime, Utc};
use nexify_domain::{JobStatus, OrgId, Priority, TicketId};
use pgvector::Vector;
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::StorageError;
use crate::documents::SearchHit;
use crate::jobs::JobRun;
use crate::suggestions::Suggestion;
use crate::ticket_embeddings::Neighbour;

/// What claiming a job found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Claimed now, with what the engine reads first.
    Claimed(Box<Claimed>),
    /// Not claimed: the job's status, or `None` when it does not exist.
    Held(Option<JobStatus>),
}

/// A claimed job and what its triage reads before the embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub job: JobRun,
    /// `None` when the job's ticket (or the org's settings) no longer exist.
    pub read: Option<Read>,
}

/// What the engine reads before the embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub ticket: ClaimedTicket,
    /// The requester's messages, oldest first (empty ones left out).
    pub written: Vec<String>,
    pub labels: Labels,
    /// The priorities the org's labelled tickets use, lowest first.
    pub priorities_used: Vec<Priority>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClaimedTicket {
    pub id: TicketId,
    pub subject: String,
    pub body: String,
    pub priority: Priority,
}

/// The org's label sets, from its settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Labels {
    pub teams: Vec<String>,
    pub categories: Vec<String>,
    pub default_team: Option<String>,
    pub default_category: Option<String>,
}

#[derive(Deserialize)]
struct ClaimRow {
    #[serde(default)]
    held: Option<JobStatus>,
    #[serde(default)]
    job: Option<JobRun>,
    #[serde(default)]
    ticket: Option<ClaimedTicket>,
    #[serde(default)]
    written: Vec<String>,
    #[serde(default)]
    labels: Option<Labels>,
    #[serde(default)]
    priorities_used: Vec<Priority>,
}

/// Claims job `id` when it is queued, or running and not heard from for `lease_seconds`,
/// with its ticket, the requester's messages and the org's labels. The claim commits at
/// once, without waiting for the WAL flush (a lost claim is redone by the redelivery).
#[tracing::instrument(skip_all, fields(org_id = %org, job_id = %id), err)]
pub async fn claim(
    conn: &mut PgConnection,
    org: OrgId,
    id: nexify_domain::JobRunId,
    lease_seconds: i64,
) -> Result<Claim, StorageError> {
    let row: sqlx::types::Json<ClaimRow> = sqlx::query_scalar("SELECT triage_claim($1, $2, $3)")
        .bind(org)
        .bind(id)
        .bind(lease_seconds as f64)
        .fetch_one(conn)
        .await?;
    let row = row.0;
    let Some(job) = row.job else {
        return Ok(Claim::Held(row.held));
    };
    let read = match (row.ticket, row.labels) {
        (Some(ticket), Some(labels)) => Some(Read {
            ticket,
            written: row.written,
            labels,
            priorities_used: row.priorities_used,
        }),
        _ => None,
    };
    Ok(Claim::Claimed(Box::new(Claimed { job, read })))
}

/// What a ticket's embedding finds in its org.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Context {
    /// Its nearest labelled tickets, most similar first.
    pub similar: Vec<Neighbour>,
    /// The knowledge base's best passages for the query, best first.
    pub passages: Vec<SearchHit>,
    /// `(head, version)` of the org's current models, by head.
    pub versions: Vec<(String, i32)>,
}

/// A ticket's context: the `similar_k` labelled tickets nearest to `embedding` (by
/// `embedder`'s vectors, the ticket itself left out), the `passages_k` passages that hybrid
/// search finds for `query`, and the org's model versions.
#[allow(clippy::too_many_arguments)]
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket), err)]
pub async fn context(
    conn: &mut PgConnection,
    org: OrgId,
    embedder: &str,
    embedding: &Vector,
    ticket: TicketId,
    query: &str,
    similar_k: i64,
    passages_k: i64,
) -> Result<Context, StorageError> {
    let found: sqlx::types::Json<Context> =
        sqlx::query_scalar("SELECT triage_context($1, $2, $3, $4, $5, $6, $7)")
            .bind(org)
            .bind(embedder)
            .bind(embedding)
            .bind(ticket)
            .bind(query)
            .bind(similar_k)
            .bind(passages_k)
            .fetch_one(conn)
            .await?;
    Ok(found.0)
}

/// A triage ready to record: the suggestion as it will read (id and time chosen by the
/// caller), its event's payload, the outbound event and the ticket's embedding.
pub struct Record<'a> {
    pub suggestion: &'a Suggestion,
    pub event_payload: &'a serde_json::Value,
    pub outbound_event_id: Uuid,
    /// The `triage.suggested` envelope, as the subscribed endpoints will receive it.
    pub outbound_body: &'a str,
    pub embedder: &'a str,
    pub embedding: &'a Vector,
}

/// What recording did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// Written: the deliveries of the outbound event, one per subscribed endpoint.
    Written { deliveries: Vec<Uuid> },
    /// Nothing written: the job already has its suggestion.
    Conflict,
    /// Nothing written: the org has auto-apply settings, so the caller records in a
    /// transaction of its own, where accepting's rules run.
    Deferred,
}

#[derive(Deserialize)]
struct RecordRow {
    #[serde(default)]
    deferred: bool,
    #[serde(default)]
    conflict: bool,
    #[serde(default)]
    deliveries: Vec<Uuid>,
}

/// Records the suggestion, its `ai_triage_ran` event, the outbound deliveries, the ticket's
/// embedding and the job's success, in one statement and so one transaction.
#[tracing::instrument(skip_all, fields(org_id = %org, job_id = %record.suggestion.job_run_id), err)]
pub async fn record(
    conn: &mut PgConnection,
    org: OrgId,
    record: &Record<'_>,
) -> Result<Recorded, StorageError> {
    let row: sqlx::types::Json<RecordRow> =
        sqlx::query_scalar("SELECT triage_record($1, $2, $3, $4, $5, $6, $7)")
            .bind(org)
            .bind(sqlx::types::Json(record.suggestion))
            .bind(record.event_payload)
            .bind(record.outbound_event_id)
            .bind(record.outbound_body)
            .bind(record.embedder)
            .bind(record.embedding)
            .fetch_one(conn)
            .await?;
    let row = row.0;
    Ok(if row.deferred {
        Recorded::Deferred
    } else if row.conflict {
        Recorded::Conflict
    } else {
        Recorded::Written {
            deliveries: row.deliveries,
        }
    })
}

/// The time Postgres stores for `at` (microseconds), so that a row written with a time
/// chosen by the caller reads back equal to the caller's copy.
pub fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    at.trunc_subsecs(6)
}
