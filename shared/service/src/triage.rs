//! AI triage as a job: enqueue (idempotent, through a transactional outbox), the worker's
//! claim-run-record cycle, and a person's decision on the suggestion.
//!
//! Exactly one suggestion per job, although SQS delivers at least once and workers fail:
//! - enqueue creates one JobRun per `(org, idempotency key)` and sends at most one message;
//!   the JobRun is committed before the send, and `dispatched_at` stays NULL until SQS
//!   accepts it, so a failed send is picked up by [`sweep`] instead of being lost;
//! - the worker claims the job atomically (queued, or running with an expired lease);
//! - the suggestion, its `ai_triage_ran` event and the job's success commit together, and a
//!   unique constraint allows one suggestion per job.

use std::future::Future;
use std::sync::Arc;

use nexify_domain::{JobRunId, OrgId, Role, SuggestionId, SuggestionStatus, TicketId, UserId};
use nexify_embed::Embedder;
use nexify_storage::events::{self, Actor, NewEvent};
use nexify_storage::jobs::{self, JobRun};
use nexify_storage::settings::FieldThresholds;
use nexify_storage::suggestions::{self, FieldConfidences, NewSuggestion, Suggestion};
use nexify_storage::tickets::TicketChanges;
use nexify_storage::{
    PgConnection, PgPool, StorageError, Vector, begin_tenant, begin_tenant_relaxed, settings,
    ticket_embeddings, tickets,
};
use nexify_triage::{OrgLabels, Passage, SimilarTicket, TextEmbedding, TriageEngine, TriageInput};
use serde::{Deserialize, Serialize};

pub use crate::model_cache::ModelCache;
use crate::tickets::apply_changes;
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
    fn send(&self, message: &JobMessage) -> impl Future<Output = Result<(), String>> + Send;
}

/// How many passages retrieval hands the engine.
pub const PASSAGES: i64 = 4;
/// How many similar labelled tickets a suggestion shows (and that vote without a model).
pub const SIMILAR_TICKETS: i64 = 5;

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
/// to [`sweep`]; the caller's answer does not depend on it.
#[tracing::instrument(skip_all, fields(org_id = %job.organization_id, job_id = %job.id))]
pub async fn dispatch<D: Dispatch>(pool: &PgPool, dispatcher: &D, job: &JobRun) -> bool {
    let message = JobMessage {
        job_run_id: job.id,
        organization_id: job.organization_id,
    };
    if let Err(error) = dispatcher.send(&message).await {
        tracing::warn!(%error, "sending the triage message failed; the sweep will retry");
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
    idempotency_key: Option<&str>,
) -> Result<(JobRun, bool), ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Agent).await?;
    let found = tickets::get(&mut tx, org, ticket).await?;
    let key = match idempotency_key.map(str::trim) {
        Some(k) if k.is_empty() || k.len() > 255 => {
            return Err(nexify_domain::InvalidInput::new(
                "Idempotency-Key",
                "must be 1 to 255 characters",
            )
            .into());
        }
        Some(k) => k.to_owned(),
        None => default_key(&found),
    };
    let (job, created) = create_job(&mut tx, org, ticket, &key, Actor::User(caller.user)).await?;
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

/// The sweep's whole worklist in one round trip: the stranded queued jobs (see
/// [`Stranding`]), at most `limit`, oldest first; and the orgs whose labels changed and then
/// stayed quiet for `quiet_seconds`, at most `train_limit` (see
/// [`crate::training::due_orgs`]).
pub async fn sweep_worklist(
    conn: &mut PgConnection,
    stranding: Stranding,
    limit: i64,
    quiet_seconds: i64,
    train_limit: i64,
) -> Result<jobs::SweepWorklist, ServiceError> {
    Ok(jobs::sweep_worklist(
        conn,
        stranding.unsent_seconds,
        stranding.lost_seconds,
        limit,
        quiet_seconds,
        train_limit,
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

/// Locks the suggestion; a decision needs it pending (else 409).
async fn pending_for_update(
    conn: &mut PgConnection,
    org: OrgId,
    id: SuggestionId,
) -> Result<Suggestion, ServiceError> {
    let suggestion = suggestions::get_for_update(conn, org, id).await?;
    if suggestion.status != SuggestionStatus::Pending {
        return Err(ServiceError::Conflict(format!(
            "this suggestion was already {}",
            suggestion.status
        )));
    }
    Ok(suggestion)
}

/// Applies a pending suggestion's priority and team to its ticket and marks it accepted, with
/// `suggestion_approved` and the field-change events, on the caller's transaction.
pub async fn accept_in_tx(
    conn: &mut PgConnection,
    org: OrgId,
    id: SuggestionId,
    actor: Actor,
    draft_reply: Option<&str>,
) -> Result<Suggestion, ServiceError> {
    let suggestion = pending_for_update(conn, org, id).await?;
    let changes = TicketChanges {
        status: None,
        priority: Some(suggestion.suggested_priority),
        assigned_team: suggestion.suggested_team.clone().map(Some),
        category: suggestion.classification.clone().map(Some),
    };
    apply_changes(
        conn,
        org,
        suggestion.ticket_id,
        &changes,
        actor,
        Some(suggestion.job_run_id),
    )
    .await?;
    let decided = suggestions::decide(
        conn,
        org,
        id,
        SuggestionStatus::Accepted,
        actor.user_id(),
        None,
        draft_reply,
    )
    .await?;
    events::insert(
        conn,
        org,
        &NewEvent {
            ticket_id: suggestion.ticket_id,
            job_run_id: Some(suggestion.job_run_id),
            event_type: "suggestion_approved",
            actor,
            payload: serde_json::json!({
                "suggestion_id": id,
                "applied": {
                    "priority": decided.suggested_priority,
                    "assigned_team": decided.suggested_team,
                    "category": decided.classification,
                },
                "draft_reply_edited": draft_reply.is_some_and(|d| d != suggestion.draft_reply),
                "confidence": decided.confidence,
            }),
        },
    )
    .await?;
    Ok(decided)
}

/// The fields of `suggestion` whose own confidence reaches the org's threshold for that field
/// (a field with no value or no confidence never does).
pub fn confident_fields(
    suggestion: &Suggestion,
    thresholds: &FieldThresholds,
) -> Vec<&'static str> {
    let c = &suggestion.field_confidence;
    [
        ("priority", thresholds.priority, c.priority, true),
        (
            "team",
            thresholds.team,
            c.team,
            suggestion.suggested_team.is_some(),
        ),
        (
            "category",
            thresholds.category,
            c.category,
            suggestion.classification.is_some(),
        ),
    ]
    .into_iter()
    .filter(|(_, threshold, confidence, has_value)| {
        *has_value && matches!((threshold, confidence), (Some(t), Some(c)) if c >= t)
    })
    .map(|(field, ..)| field)
    .collect()
}

/// Per-field auto-apply, on the caller's transaction: sets on the ticket only the fields
/// confident enough by the org's per-field thresholds, with their change events (actor `ai`)
/// and one `suggestion_fields_applied` event naming them. The suggestion stays pending for
/// an agent to accept (with its draft) or reject.
pub async fn apply_confident_fields(
    conn: &mut PgConnection,
    org: OrgId,
    suggestion: Suggestion,
    thresholds: &FieldThresholds,
) -> Result<Suggestion, ServiceError> {
    let fields = confident_fields(&suggestion, thresholds);
    if fields.is_empty() {
        return Ok(suggestion);
    }
    let has = |f: &str| fields.contains(&f);
    let changes = TicketChanges {
        status: None,
        priority: has("priority").then_some(suggestion.suggested_priority),
        assigned_team: has("team").then(|| suggestion.suggested_team.clone()),
        category: has("category").then(|| suggestion.classification.clone()),
    };
    apply_changes(
        conn,
        org,
        suggestion.ticket_id,
        &changes,
        Actor::Ai,
        Some(suggestion.job_run_id),
    )
    .await?;
    let recorded = suggestions::record_auto_applied(conn, org, suggestion.id, &fields).await?;
    events::insert(
        conn,
        org,
        &NewEvent {
            ticket_id: suggestion.ticket_id,
            job_run_id: Some(suggestion.job_run_id),
            event_type: "suggestion_fields_applied",
            actor: Actor::Ai,
            payload: serde_json::json!({
                "suggestion_id": suggestion.id,
                "fields": fields,
                "field_confidence": suggestion.field_confidence,
                "thresholds": thresholds,
            }),
        },
    )
    .await?;
    Ok(recorded)
}

#[tracing::instrument(skip_all, fields(org_id = %org, suggestion_id = %id), err)]
pub async fn accept(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    id: SuggestionId,
    draft_reply: Option<&str>,
) -> Result<Suggestion, ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Agent).await?;
    let decided = accept_in_tx(&mut tx, org, id, Actor::User(caller.user), draft_reply).await?;
    tx.commit().await?;
    Ok(decided)
}

#[tracing::instrument(skip_all, fields(org_id = %org, suggestion_id = %id), err)]
pub async fn reject(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    id: SuggestionId,
    reason: Option<&str>,
) -> Result<Suggestion, ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Agent).await?;
    let suggestion = pending_for_update(&mut tx, org, id).await?;
    let decided = suggestions::decide(
        &mut tx,
        org,
        id,
        SuggestionStatus::Rejected,
        Some(caller.user),
        reason,
        None,
    )
    .await?;
    events::insert(
        &mut tx,
        org,
        &NewEvent {
            ticket_id: suggestion.ticket_id,
            job_run_id: Some(suggestion.job_run_id),
            event_type: "suggestion_rejected",
            actor: Actor::User(caller.user),
            payload: serde_json::json!({ "suggestion_id": id, "reason": reason }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(decided)
}

/// What the engine needs, read before it runs.
struct Gathered {
    ticket_id: TicketId,
    ticket_vector: Vector,
    input: TriageInput,
    embed_ms: f64,
    retrieval_ms: f64,
}

/// The engine's result, ready to record.
struct Decided {
    new: NewSuggestion,
    ticket_vector: Vector,
}

/// What became of one delivery of a job message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A suggestion was written now.
    Suggested(Box<Suggestion>),
    /// The job had already finished (or no longer exists): acknowledge, do nothing.
    AlreadyDone,
}

/// How the worker runs: its engine, embedder and retry settings.
pub struct Worker<E> {
    pub pool: PgPool,
    pub engine: E,
    pub embedder: Arc<dyn Embedder>,
    /// A running job not heard from for this long is considered abandoned and reclaimable.
    pub lease_seconds: i64,
    /// The queue's maxReceiveCount: the delivery with this receive count is the last.
    pub max_receives: u32,
    /// Each org's loaded models, reloaded when a newer version appears.
    pub models: ModelCache,
    /// Writes the draft with a chat model when configured; otherwise it stays extractive.
    pub drafter: Option<crate::drafting::ChatDrafter>,
}

/// Why one delivery failed; the message is then reported failed and redelivered.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("another worker holds this job")]
    Busy,
    #[error("{0}")]
    Failed(String),
}

impl From<ServiceError> for JobError {
    fn from(err: ServiceError) -> Self {
        JobError::Failed(err.to_string())
    }
}

impl From<sqlx::Error> for JobError {
    fn from(err: sqlx::Error) -> Self {
        StorageError::from(err).into()
    }
}

impl From<StorageError> for JobError {
    fn from(err: StorageError) -> Self {
        JobError::Failed(format!(
            "{err}: {}",
            std::error::Error::source(&err)
                .map(|s| s.to_string())
                .unwrap_or_default()
        ))
    }
}

impl<E: TriageEngine> Worker<E> {
    /// Processes one delivery of `message`, received for the `receive_count`-th time.
    #[tracing::instrument(skip_all, fields(org_id = %message.organization_id, job_id = %message.job_run_id, receive_count), err)]
    pub async fn process(
        &self,
        message: &JobMessage,
        receive_count: u32,
    ) -> Result<Outcome, JobError> {
        let org = message.organization_id;
        let job_id = message.job_run_id;
        // The claim's commit need not be durable: lost in a crash, the job reads as before
        // the claim, and the redelivered message claims it again.
        let mut tx = begin_tenant_relaxed(&self.pool, org).await?;
        let Some(job) = jobs::claim(&mut tx, org, job_id, self.lease_seconds).await? else {
            let state = match jobs::get(&mut tx, org, job_id).await {
                Ok(job) => Some(job.status),
                Err(StorageError::NotFound) => None,
                Err(e) => return Err(e.into()),
            };
            tx.commit().await?;
            return match state {
                Some(nexify_domain::JobStatus::Running) => Err(JobError::Busy),
                _ => Ok(Outcome::AlreadyDone),
            };
        };
        tx.commit().await?;
        tracing::info!(attempt = job.attempt_count, "triage job claimed");
        match self.run(&job).await {
            Ok(outcome) => Ok(outcome),
            Err(error) => {
                let last = receive_count >= self.max_receives;
                self.record_failure(&job, &error, last).await?;
                Err(JobError::Failed(error))
            }
        }
    }

    async fn record_failure(&self, job: &JobRun, error: &str, last: bool) -> Result<(), JobError> {
        let org = job.organization_id;
        let mut tx = begin_tenant(&self.pool, org, None).await?;
        let recorded = jobs::record_failure(&mut tx, org, job.id, error, last).await;
        match recorded {
            Ok(_) => {}
            // Succeeded meanwhile (a racing delivery): nothing to record.
            Err(StorageError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        if last {
            events::insert(
                &mut tx,
                org,
                &NewEvent {
                    ticket_id: job.ticket_id,
                    job_run_id: Some(job.id),
                    event_type: "ai_triage_failed",
                    actor: Actor::System,
                    payload: serde_json::json!({ "error": error, "attempts": job.attempt_count }),
                },
            )
            .await?;
        }
        tx.commit().await?;
        tracing::warn!(last, attempt = job.attempt_count, "triage attempt failed");
        Ok(())
    }

    /// A claimed job in three steps: gather what the engine needs (short reads), decide
    /// (embedding, the engine and the drafter, with no transaction and no connection held:
    /// an LLM call may take tens of seconds), and record the result in one transaction.
    async fn run(&self, job: &JobRun) -> Result<Outcome, String> {
        let started = std::time::Instant::now();
        let gathered = self.gather(job).await.map_err(|e| e.to_string())?;
        let decided = self.decide(job, gathered, started).await?;
        self.record(job, decided, started)
            .await
            .map_err(|e| e.to_string())
    }

    /// Reads the ticket, the org's settings and labelled priorities, embeds the ticket (no
    /// transaction open meanwhile), then reads its nearest labelled tickets, the knowledge
    /// base's best passages and the org's models.
    async fn gather(&self, job: &JobRun) -> Result<Gathered, ServiceError> {
        let org = job.organization_id;
        let started = std::time::Instant::now();
        let mut tx = begin_tenant(&self.pool, org, None).await?;
        let ticket = tickets::get(&mut tx, org, job.ticket_id).await?;
        let org_settings = settings::get(&mut tx, org).await?;
        let priorities_used = tickets::labelled_priorities(&mut tx, org).await?;
        tx.commit().await?;

        let embedded = nexify_triage::embedding_text(&ticket.subject, &ticket.body);
        let vector = crate::knowledge::embed_blocking(&self.embedder, vec![embedded])
            .await?
            .pop()
            .ok_or_else(|| ServiceError::Internal("the embedder returned nothing".into()))?;
        let embed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let ticket_vector = Vector::from(vector.clone());

        let query = format!("{}\n{}", ticket.subject, ticket.body);
        let mut tx = begin_tenant(&self.pool, org, None).await?;
        let similar = ticket_embeddings::nearest_labelled(
            &mut tx,
            org,
            self.embedder.name(),
            &ticket_vector,
            ticket.id,
            SIMILAR_TICKETS,
        )
        .await?
        .into_iter()
        .map(|n| SimilarTicket {
            ticket_id: n.ticket_id.0,
            subject: n.subject,
            priority: n.priority,
            team: n.assigned_team,
            category: n.category,
            similarity: n.similarity as f32,
            reply: n.reply,
        })
        .collect();
        let hits =
            crate::knowledge::retrieve_by_vector(&mut tx, org, &ticket_vector, &query, PASSAGES)
                .await?;
        let models = self.models.get(&mut tx, org).await?;
        tx.commit().await?;
        let passages: Vec<Passage> = hits
            .into_iter()
            .map(|hit| Passage {
                document_id: hit.chunk.document_id.0,
                chunk_id: hit.chunk.id.0,
                title: hit.title,
                content: hit.chunk.content,
                char_start: hit.chunk.char_start,
                char_end: hit.chunk.char_end,
                score: hit.similarity as f32,
            })
            .collect();
        let retrieval_ms = started.elapsed().as_secs_f64() * 1000.0;
        let input = TriageInput {
            subject: ticket.subject.clone(),
            body: ticket.body.clone(),
            current_priority: ticket.priority,
            labels: OrgLabels {
                teams: org_settings.teams.clone(),
                categories: org_settings.categories.clone(),
                default_team: org_settings.default_team.clone(),
                default_category: org_settings.default_category.clone(),
                priorities_used,
            },
            passages,
            models,
            embedding: Some(TextEmbedding {
                embedder: self.embedder.name().to_owned(),
                vector,
            }),
            similar,
        };
        Ok(Gathered {
            ticket_id: ticket.id,
            ticket_vector,
            input,
            embed_ms,
            retrieval_ms,
        })
    }

    /// The engine's triage, and the drafter's reply when one is configured. Holds no
    /// connection.
    async fn decide(
        &self,
        job: &JobRun,
        gathered: Gathered,
        started: std::time::Instant,
    ) -> Result<Decided, String> {
        let input = &gathered.input;
        let mut triage = self.engine.triage(input).map_err(|e| e.to_string())?;
        let mut draft_writer = serde_json::json!("extractive");
        if let Some(drafter) = &self.drafter
            && !input.passages.is_empty()
        {
            match drafter
                .write(&input.subject, &input.body, &input.passages, &input.similar)
                .await
            {
                Ok((draft, citations)) => {
                    triage.draft_reply = draft;
                    triage.citations = citations;
                    draft_writer = serde_json::json!(drafter.name());
                }
                // The extractive draft stands; the provider's failure is logged by `write`.
                Err(_) => {
                    draft_writer =
                        serde_json::json!({ "extractive": true, "failed": drafter.name() })
                }
            }
        }
        let mut metadata = triage.metadata.clone();
        if let Some(m) = metadata.as_object_mut() {
            m.insert("draft_writer".into(), draft_writer);
            m.insert("embedder".into(), serde_json::json!(self.embedder.name()));
            m.insert(
                "timings_ms".into(),
                serde_json::json!({
                    "embedding": gathered.embed_ms,
                    "retrieval": gathered.retrieval_ms,
                    "total": started.elapsed().as_secs_f64() * 1000.0,
                }),
            );
        }
        let new = NewSuggestion {
            ticket_id: gathered.ticket_id,
            job_run_id: job.id,
            suggested_priority: triage.priority,
            suggested_team: triage.team.clone(),
            classification: triage.classification.clone(),
            draft_reply: triage.draft_reply.clone(),
            citations: serde_json::to_value(&triage.citations).map_err(|e| e.to_string())?,
            confidence: triage.confidence.clamp(0.0, 1.0),
            field_confidence: FieldConfidences {
                priority: triage.fields.priority.map(|c| c.clamp(0.0, 1.0)),
                team: triage.fields.team.map(|c| c.clamp(0.0, 1.0)),
                category: triage.fields.category.map(|c| c.clamp(0.0, 1.0)),
            },
            metadata,
        };
        Ok(Decided {
            new,
            ticket_vector: gathered.ticket_vector,
        })
    }

    /// One transaction: the suggestion (unique per job), its `ai_triage_ran` event, the
    /// ticket's embedding, the job's success and any auto-apply, by the org's settings as
    /// they are now.
    async fn record(
        &self,
        job: &JobRun,
        decided: Decided,
        started: std::time::Instant,
    ) -> Result<Outcome, ServiceError> {
        let org = job.organization_id;
        let Decided { new, ticket_vector } = decided;
        let mut tx = begin_tenant(&self.pool, org, None).await?;
        let suggestion = match suggestions::insert(&mut tx, org, &new).await {
            Ok(s) => s,
            // A racing delivery recorded this job's suggestion first.
            Err(StorageError::Conflict { .. }) => return Ok(Outcome::AlreadyDone),
            Err(e) => return Err(e.into()),
        };
        events::insert(
            &mut tx,
            org,
            &NewEvent {
                ticket_id: new.ticket_id,
                job_run_id: Some(job.id),
                event_type: "ai_triage_ran",
                actor: Actor::Ai,
                payload: serde_json::json!({
                    "suggestion_id": suggestion.id,
                    "suggested_priority": suggestion.suggested_priority,
                    "suggested_team": suggestion.suggested_team,
                    "classification": suggestion.classification,
                    "confidence": suggestion.confidence,
                }),
            },
        )
        .await?;
        // Kept for training and for later tickets' nearest neighbours.
        ticket_embeddings::upsert_many(
            &mut tx,
            org,
            self.embedder.name(),
            &[(new.ticket_id, ticket_vector)],
        )
        .await?;
        jobs::mark_succeeded(&mut tx, org, job.id).await?;
        let org_settings = settings::get(&mut tx, org).await?;
        let auto_apply = org_settings
            .auto_apply_threshold
            .is_some_and(|t| suggestion.confidence >= t);
        let suggestion = if auto_apply {
            accept_in_tx(&mut tx, org, suggestion.id, Actor::Ai, None).await?
        } else {
            apply_confident_fields(&mut tx, org, suggestion, &org_settings.auto_apply_fields)
                .await?
        };
        tx.commit().await?;
        tracing::info!(
            suggestion_id = %suggestion.id,
            confidence = suggestion.confidence,
            auto_applied = auto_apply,
            auto_applied_fields = ?suggestion.auto_applied_fields,
            took_ms = started.elapsed().as_secs_f64() * 1000.0,
            "triage suggestion recorded"
        );
        Ok(Outcome::Suggested(Box::new(suggestion)))
    }
}
