//! Runs every minute (EventBridge schedule; locally, the SQS bridge calls it):
//! - sends the message of every queued JobRun that has waited over [`UNSENT_AFTER_SECONDS`]
//!   without one (with the JobRun committed before its send, this is the outbox), or whose
//!   message has gone unclaimed for [`LOST_AFTER_SECONDS`] (lost by the broker);
//! - retrains the triage models of orgs whose labels changed and then stayed quiet for
//!   [`training::QUIET_SECONDS`] (the debounced training queue).

// The SDK send future nested in the sweep is deeper than the default limit allows.
#![recursion_limit = "256"]

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent};
use nexify_embed::Embedder;
use nexify_queue::SqsDispatcher;
use nexify_service::{training, triage};
use nexify_storage::PgPool;

/// Longer than a normal send takes, so the sweep does not race the enqueue itself.
pub const UNSENT_AFTER_SECONDS: i64 = 30;
/// Far longer than a healthy queue holds a message before a worker claims it; a duplicate
/// sent too early is harmless (the claim is atomic), only wasted.
pub const LOST_AFTER_SECONDS: i64 = 900;
/// The sweep's thresholds in production.
pub const STRANDING: triage::Stranding = triage::Stranding {
    unsent_seconds: UNSENT_AFTER_SECONDS,
    lost_seconds: LOST_AFTER_SECONDS,
};
const BATCH: i64 = 500;
/// Orgs retrained per sweep; the rest wait for the next minute.
const TRAIN_BATCH: i64 = 10;

pub struct App {
    pool: PgPool,
    dispatcher: SqsDispatcher,
    /// Trained models join this embedder's ticket embeddings to their text features, so it
    /// must be the worker's.
    embedder: Arc<dyn Embedder>,
}

impl App {
    pub fn new(pool: PgPool, dispatcher: SqsDispatcher, embedder: Arc<dyn Embedder>) -> Self {
        Self {
            pool,
            dispatcher,
            embedder,
        }
    }

    pub async fn sweep(&self, stranding: triage::Stranding) -> Result<usize, Error> {
        Ok(triage::sweep(&self.pool, &self.dispatcher, stranding, BATCH).await?)
    }

    /// Both lists are read on one connection, in one round trip: a connection dropped back
    /// into the pool returns to it on a background task, so a second `acquire` straight
    /// after would open another connection, and a new Postgres backend costs a cold start
    /// milliseconds.
    pub async fn handle(
        &self,
        _event: LambdaEvent<serde_json::Value>,
    ) -> Result<serde_json::Value, Error> {
        let mut conn = self.pool.acquire().await?;
        let worklist = triage::sweep_worklist(
            &mut conn,
            STRANDING,
            BATCH,
            training::QUIET_SECONDS,
            TRAIN_BATCH,
        )
        .await?;
        drop(conn);
        let sent = triage::resend(&self.pool, &self.dispatcher, worklist.stranded).await?;
        let trained =
            training::train_orgs(&self.pool, &self.embedder, &worklist.due_for_training).await?;
        Ok(serde_json::json!({ "sent": sent, "orgs_trained": trained }))
    }
}
