//! The triage worker. SQS invokes it with a batch; it processes the messages concurrently and
//! answers with the ids of only the failed ones (ReportBatchItemFailures), so SQS redelivers
//! just those, and moves a message to the DLQ after maxReceiveCount receives.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use std::sync::Arc;

use nexify_embed::Embedder;
use nexify_queue::DeliveryQueue;
use nexify_service::outbound;
use nexify_service::triage::{JobError, JobMessage, Outcome, Worker};
use nexify_storage::PgPool;
use nexify_triage::TriageEngine;

/// The queue's maxReceiveCount (see localstack/queues.json and template.yaml).
pub const DEFAULT_MAX_RECEIVES: u32 = 3;
/// A claim older than this is presumed abandoned by a dead worker: above the function's
/// 60-second timeout.
pub const DEFAULT_LEASE_SECONDS: i64 = 90;

/// Why one message was not processed.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("the message has no body")]
    Empty,
    #[error("the message is not a triage job")]
    Malformed(#[source] serde_json::Error),
    #[error(transparent)]
    Job(#[from] JobError),
}

impl MessageError {
    /// Whether SQS should deliver the message again: not when the job already failed for
    /// good (a malformed message is redelivered until it lands in the DLQ, for a person).
    fn redeliver(&self) -> bool {
        match self {
            MessageError::Job(e) => e.redeliver(),
            _ => true,
        }
    }
}

pub struct App<E> {
    worker: Worker<E>,
    deliveries: Option<DeliveryQueue>,
}

impl<E: TriageEngine> App<E> {
    pub fn new(worker: Worker<E>) -> Self {
        Self {
            worker,
            deliveries: None,
        }
    }

    /// Also hands the webhook deliveries a batch writes (`triage.suggested`, an auto-accept's
    /// events) to their queue once the batch is done.
    pub fn with_deliveries(mut self, queue: DeliveryQueue) -> Self {
        self.deliveries = Some(queue);
        self
    }

    /// `TRIAGE_MAX_RECEIVES` and `TRIAGE_LEASE_SECONDS` override the defaults.
    pub fn from_env(pool: PgPool, engine: E, embedder: Arc<dyn Embedder>) -> Result<Self, Error> {
        let max_receives = match std::env::var("TRIAGE_MAX_RECEIVES") {
            Ok(v) => v.parse()?,
            Err(_) => DEFAULT_MAX_RECEIVES,
        };
        let lease_seconds = match std::env::var("TRIAGE_LEASE_SECONDS") {
            Ok(v) => v.parse()?,
            Err(_) => DEFAULT_LEASE_SECONDS,
        };
        Ok(Self::new(Worker {
            pool,
            engine,
            embedder,
            lease_seconds,
            max_receives,
            models: Default::default(),
            drafter: nexify_service::drafting::ChatDrafter::from_env()?,
        }))
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let records = &event.payload.records;
        let batch = futures::future::join_all(records.iter().map(|m| self.process(m)));
        let (results, emitted) = outbound::collecting(batch).await;
        if let Some(queue) = &self.deliveries {
            outbound::dispatch(&self.worker.pool, queue, &emitted).await;
        }
        let mut response = SqsBatchResponse::default();
        for (message, result) in records.iter().zip(results) {
            if result.as_ref().is_err_and(MessageError::redeliver) {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
        tracing::info!(
            batch = records.len(),
            failed = response.batch_item_failures.len(),
            "triage batch processed"
        );
        Ok(response)
    }

    async fn process(&self, message: &SqsMessage) -> Result<Option<Outcome>, MessageError> {
        let receive_count = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let parsed = message
            .body
            .as_deref()
            .ok_or(MessageError::Empty)
            .and_then(|b| serde_json::from_str::<JobMessage>(b).map_err(MessageError::Malformed));
        let job = match parsed {
            Ok(job) => job,
            Err(error) => {
                // Never succeeds; failing it sends it to the DLQ after maxReceiveCount receives.
                tracing::error!(error = %nexify_telemetry::error_chain(&error), message_id = ?message.message_id, "malformed triage message");
                return Err(error);
            }
        };
        let started = std::time::Instant::now();
        let queue_age_ms = message
            .attributes
            .get("SentTimestamp")
            .and_then(|t| t.parse::<u64>().ok())
            .map(|sent| now_ms().saturating_sub(sent) as f64);
        let result = self.worker.process(&job, receive_count).await;
        emit_job_metrics(
            &result,
            started.elapsed().as_secs_f64() * 1000.0,
            queue_age_ms,
        );
        Ok(Some(result?))
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// TriageDuration, TriageJobs by outcome, TriageConfidence and QueueAge, as EMF lines.
fn emit_job_metrics(
    result: &Result<Outcome, nexify_service::triage::JobError>,
    duration_ms: f64,
    queue_age_ms: Option<f64>,
) {
    use nexify_telemetry::metrics::{Metric, emit};
    let (outcome, confidence) = match result {
        Ok(Outcome::Suggested(s)) => ("succeeded", Some(f64::from(s.confidence))),
        Ok(Outcome::AlreadyDone) => ("already_done", None),
        Err(_) => ("failed", None),
    };
    let mut metrics = vec![
        Metric {
            name: "TriageDuration",
            value: duration_ms,
            unit: "Milliseconds",
        },
        Metric {
            name: "TriageJobs",
            value: 1.0,
            unit: "Count",
        },
    ];
    if let Some(c) = confidence {
        metrics.push(Metric {
            name: "TriageConfidence",
            value: c,
            unit: "None",
        });
    }
    emit(&[("Outcome", outcome)], &metrics);
    if let Some(age) = queue_age_ms {
        emit(
            &[],
            &[Metric {
                name: "QueueAge",
                value: age,
                unit: "Milliseconds",
            }],
        );
    }
}
