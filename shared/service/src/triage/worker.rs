//! The worker: claims a job, then gathers, decides and records, in three steps.

use std::sync::Arc;

use nexify_domain::TicketId;
use nexify_embed::Embedder;
use nexify_storage::events::{self, Actor, NewEvent};
use nexify_storage::jobs::{self, JobRun};
use nexify_storage::messages;
use nexify_storage::suggestions::{self, FieldConfidences, NewSuggestion, Suggestion};
use nexify_storage::{
    PgPool, StorageError, Vector, begin_tenant, begin_tenant_relaxed, settings, ticket_embeddings,
    tickets,
};
use nexify_triage::{OrgLabels, Passage, SimilarTicket, TextEmbedding, TriageEngine, TriageInput};

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

    /// A claimed job in three steps: gather what the engine needs (short reads), decide
    /// (embedding, the engine and the drafter, with no transaction and no connection held:
    /// an LLM call may take tens of seconds), and record the result in one transaction.
    async fn run(&self, job: &JobRun) -> Result<Outcome, ServiceError> {
        let started = std::time::Instant::now();
        let gathered = self.gather(job).await?;
        let decided = self.decide(job, gathered, started).await?;
        self.record(job, decided, started).await
    }

    /// Reads the ticket, the org's settings and labelled priorities, embeds the ticket (no
    /// transaction open meanwhile), then reads its nearest labelled tickets, the knowledge
    /// base's best passages and the org's models.
    async fn gather(&self, job: &JobRun) -> Result<Gathered, ServiceError> {
        let org = job.organization_id;
        let started = std::time::Instant::now();
        let mut tx = begin_tenant(&self.pool, org, None).await?;
        let mut ticket = tickets::get(&mut tx, org, job.ticket_id).await?;
        // The whole conversation as the requester wrote it, not just the first message.
        let written = messages::requester_text(&mut tx, org, job.ticket_id).await?;
        if !written.is_empty() {
            ticket.body = written.join("\n\n");
        }
        let org_settings = settings::get(&mut tx, org).await?;
        let priorities_used = tickets::labelled_priorities(&mut tx, org).await?;
        tx.commit().await?;

        let embedded = nexify_triage::embedding_text(&ticket.subject, &ticket.body);
        let vector = crate::embedding::embed_blocking(&self.embedder, vec![embedded])
            .await?
            .pop()
            .ok_or(ServiceError::NoEmbedding)?;
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
