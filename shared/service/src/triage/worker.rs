//! The worker: claims a job, then gathers, decides and records, in three steps.

use std::sync::Arc;

use chrono::Utc;
use nexify_domain::{JobStatus, SuggestionId, SuggestionStatus, TicketId};
use nexify_embed::Embedder;
use nexify_storage::events::{self, Actor, NewEvent};
use nexify_storage::jobs::{self, JobRun};
use nexify_storage::suggestions::{self, FieldConfidences, NewSuggestion, Suggestion};
use nexify_storage::triage_steps::{self, Claim, Recorded};
use nexify_storage::{
    PgPool, Postgres, StorageError, Vector, begin_tenant, set_tenant, settings, ticket_embeddings,
};
use nexify_triage::{OrgLabels, Passage, SimilarTicket, TextEmbedding, TriageEngine, TriageInput};
use sqlx::pool::PoolConnection;
use uuid::Uuid;

use super::decisions::{accept_in_tx, apply_confident_fields};
use super::jobs::JobMessage;
use crate::ServiceError;
use crate::model_cache::ModelCache;

/// How many passages retrieval hands the engine.
pub const PASSAGES: i64 = 4;
/// How many similar labelled tickets a suggestion shows (and that vote without a model).
pub const SIMILAR_TICKETS: i64 = 5;

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

/// Why one delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Another delivery holds the job: report the message failed, so it comes back.
    #[error("another worker holds this job")]
    Busy,
    /// Worth another delivery (the database or a provider was down or slow): the job is
    /// queued again, or failed if this was the last delivery.
    #[error("triage failed; another delivery may succeed")]
    Transient(#[source] ServiceError),
    /// Would fail the same way again: the job is failed now, whatever the delivery count.
    #[error("triage failed for good")]
    Permanent(#[source] ServiceError),
    /// The claim, or the record of a failure, could not be written.
    #[error("the job's state could not be written")]
    Storage(#[from] StorageError),
}

impl JobError {
    /// Whether the queue should deliver the message again.
    pub fn redeliver(&self) -> bool {
        !matches!(self, JobError::Permanent(_))
    }
}

impl From<sqlx::Error> for JobError {
    fn from(err: sqlx::Error) -> Self {
        JobError::Storage(err.into())
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
        let mut conn = self.pool.acquire().await?;
        let claimed = match triage_steps::claim(&mut conn, org, job_id, self.lease_seconds).await? {
            Claim::Claimed(claimed) => *claimed,
            Claim::Held(Some(JobStatus::Running)) => return Err(JobError::Busy),
            Claim::Held(_) => return Ok(Outcome::AlreadyDone),
        };
        let job = claimed.job.clone();
        let held = self.keep(conn);
        tracing::info!(attempt = job.attempt_count, "triage job claimed");
        match self.run(claimed, held).await {
            Ok(outcome) => Ok(outcome),
            Err(error) => {
                let transient = error.is_transient();
                let last = !transient || receive_count >= self.max_receives;
                // The whole chain, for operators; the job and its event get only a code and
                // a safe sentence, since anyone in the org can read them.
                tracing::warn!(
                    error = %nexify_telemetry::error_chain(&error),
                    code = error.code(),
                    transient,
                    "triage attempt failed"
                );
                self.record_failure(&job, &error, last).await?;
                Err(if transient {
                    JobError::Transient(error)
                } else {
                    JobError::Permanent(error)
                })
            }
        }
    }

    /// `conn` kept for the job's next call when nothing in between waits on another service:
    /// then a job is three statements on one connection.
    fn keep(&self, conn: PoolConnection<Postgres>) -> Option<PoolConnection<Postgres>> {
        (!self.embedder.calls_network() && self.drafter.is_none()).then_some(conn)
    }

    /// The connection kept from the job's previous call, or one from the pool.
    async fn connection(
        &self,
        held: Option<PoolConnection<Postgres>>,
    ) -> Result<PoolConnection<Postgres>, ServiceError> {
        Ok(match held {
            Some(conn) => conn,
            None => self.pool.acquire().await.map_err(StorageError::from)?,
        })
    }

    async fn record_failure(
        &self,
        job: &JobRun,
        error: &ServiceError,
        last: bool,
    ) -> Result<(), JobError> {
        let org = job.organization_id;
        let failure = jobs::Failure {
            code: error.code(),
            message: error.safe_message(),
        };
        let mut tx = begin_tenant(&self.pool, org, None).await?;
        let recorded = jobs::record_failure(&mut tx, org, job.id, &failure, last).await;
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
                    payload: serde_json::json!({
                        "error": failure.message,
                        "error_code": failure.code,
                        "attempts": job.attempt_count,
                    }),
                },
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(last, attempt = job.attempt_count, "triage failure recorded");
        Ok(())
    }

    /// A claimed job in three steps: gather what the engine needs (the claim read the ticket;
    /// the embedding's context is one call), decide (embedding, the engine and the drafter,
    /// with no transaction open, and no connection held when any of it calls out: an LLM
    /// call may take tens of seconds), and record the result in one call.
    async fn run(
        &self,
        claimed: triage_steps::Claimed,
        held: Option<PoolConnection<Postgres>>,
    ) -> Result<Outcome, ServiceError> {
        let started = std::time::Instant::now();
        let job = claimed.job.clone();
        let (gathered, held) = self.gather(claimed, held).await?;
        let decided = self.decide(&job, gathered, started).await?;
        self.record(&job, decided, held, started).await
    }

    /// Embeds the ticket as the claim read it, then reads its nearest labelled tickets, the
    /// knowledge base's best passages and the org's model versions in one call; the models
    /// are read only when those versions are not the cached ones.
    async fn gather(
        &self,
        claimed: triage_steps::Claimed,
        held: Option<PoolConnection<Postgres>>,
    ) -> Result<(Gathered, Option<PoolConnection<Postgres>>), ServiceError> {
        let org = claimed.job.organization_id;
        let started = std::time::Instant::now();
        let triage_steps::Claimed { job: _, read } = claimed;
        let read = read.ok_or(StorageError::NotFound)?;
        let mut ticket = read.ticket;
        // The whole conversation as the requester wrote it, not just the first message.
        if !read.written.is_empty() {
            ticket.body = read.written.join("\n\n");
        }
        let embedded = nexify_triage::embedding_text(&ticket.subject, &ticket.body);
        let vector = crate::embedding::embed_blocking(&self.embedder, vec![embedded])
            .await?
            .pop()
            .ok_or(ServiceError::NoEmbedding)?;
        let embed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let ticket_vector = Vector::from(vector.clone());

        let query = format!("{}\n{}", ticket.subject, ticket.body);
        let mut conn = self.connection(held).await?;
        let context = triage_steps::context(
            &mut conn,
            org,
            self.embedder.name(),
            &ticket_vector,
            ticket.id,
            &query,
            SIMILAR_TICKETS,
            PASSAGES,
        )
        .await?;
        let models = match self.models.lookup(org, &context.versions).await {
            Some(models) => models,
            None => {
                let mut tx = sqlx::Acquire::begin(&mut *conn)
                    .await
                    .map_err(StorageError::from)?;
                set_tenant(&mut tx, org, None).await?;
                let models = self.models.load(&mut tx, org).await?;
                tx.commit().await.map_err(StorageError::from)?;
                models
            }
        };
        let held = self.keep(conn);
        let similar = context
            .similar
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
        let passages: Vec<Passage> = context
            .passages
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
        let labels = read.labels;
        let input = TriageInput {
            subject: ticket.subject,
            body: ticket.body,
            current_priority: ticket.priority,
            labels: OrgLabels {
                teams: labels.teams,
                categories: labels.categories,
                default_team: labels.default_team,
                default_category: labels.default_category,
                priorities_used: read.priorities_used,
            },
            passages,
            models,
            embedding: Some(TextEmbedding {
                embedder: self.embedder.name().to_owned(),
                vector,
            }),
            similar,
        };
        Ok((
            Gathered {
                ticket_id: ticket.id,
                ticket_vector,
                input,
                embed_ms,
                retrieval_ms,
            },
            held,
        ))
    }

    /// The engine's triage, and the drafter's reply when one is configured. Holds no
    /// connection.
    async fn decide(
        &self,
        job: &JobRun,
        gathered: Gathered,
        started: std::time::Instant,
    ) -> Result<Decided, ServiceError> {
        let input = &gathered.input;
        let mut triage = self.engine.triage(input)?;
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
            citations: serde_json::to_value(&triage.citations)?,
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

    /// One call records the suggestion (unique per job), its `ai_triage_ran` event, its
    /// outbound event, the ticket's embedding and the job's success. An org with auto-apply
    /// settings is recorded by [`record_and_apply`](Self::record_and_apply) instead.
    async fn record(
        &self,
        job: &JobRun,
        decided: Decided,
        held: Option<PoolConnection<Postgres>>,
        started: std::time::Instant,
    ) -> Result<Outcome, ServiceError> {
        let org = job.organization_id;
        let at = triage_steps::stored_time(Utc::now());
        let new = &decided.new;
        let suggestion = Suggestion {
            id: SuggestionId(Uuid::new_v4()),
            organization_id: org,
            ticket_id: new.ticket_id,
            job_run_id: new.job_run_id,
            status: SuggestionStatus::Pending,
            suggested_priority: new.suggested_priority,
            suggested_team: new.suggested_team.clone(),
            classification: new.classification.clone(),
            draft_reply: new.draft_reply.clone(),
            citations: new.citations.clone(),
            confidence: new.confidence,
            field_confidence: new.field_confidence,
            auto_applied_fields: Vec::new(),
            metadata: new.metadata.clone(),
            decided_by: None,
            decided_at: None,
            decision_reason: None,
            created_at: at,
            updated_at: at,
        };
        let event_id = Uuid::new_v4();
        let body = crate::outbound::envelope(event_id, "triage.suggested", org, at, &suggestion);
        let mut conn = self.connection(held).await?;
        let recorded = triage_steps::record(
            &mut conn,
            org,
            &triage_steps::Record {
                suggestion: &suggestion,
                event_payload: &ran_payload(&suggestion),
                outbound_event_id: event_id,
                outbound_body: &body,
                embedder: self.embedder.name(),
                embedding: &decided.ticket_vector,
            },
        )
        .await?;
        drop(conn);
        match recorded {
            Recorded::Written { deliveries } => {
                crate::outbound::note_emitted(org, &deliveries);
                tracing::info!(
                    suggestion_id = %suggestion.id,
                    confidence = suggestion.confidence,
                    auto_applied = false,
                    took_ms = started.elapsed().as_secs_f64() * 1000.0,
                    "triage suggestion recorded"
                );
                Ok(Outcome::Suggested(Box::new(suggestion)))
            }
            // A racing delivery recorded this job's suggestion first.
            Recorded::Conflict => Ok(Outcome::AlreadyDone),
            Recorded::Deferred => self.record_and_apply(job, decided, started).await,
        }
    }

    /// One transaction: the suggestion (unique per job), its `ai_triage_ran` event, the
    /// ticket's embedding, the job's success and any auto-apply, by the org's settings as
    /// they are now.
    async fn record_and_apply(
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
                payload: ran_payload(&suggestion),
            },
        )
        .await?;
        crate::outbound::emit(&mut tx, org, "triage.suggested", &suggestion).await?;
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

/// The payload of a suggestion's `ai_triage_ran` event.
fn ran_payload(suggestion: &Suggestion) -> serde_json::Value {
    serde_json::json!({
        "suggestion_id": suggestion.id,
        "suggested_priority": suggestion.suggested_priority,
        "suggested_team": suggestion.suggested_team,
        "classification": suggestion.classification,
        "confidence": suggestion.confidence,
    })
}
