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

    /// Re-sends the jobs stranded by `stranding`'s thresholds, and trains nothing: the
    /// scheduled run ([`Self::handle`]) with thresholds a test chooses. Returns how many were
    /// sent.
    pub async fn sweep(&self, stranding: triage::Stranding) -> Result<usize, Error> {
        let (sent, _) = self.run(stranding, 0, training::Deadline::NONE).await?;
        Ok(sent)
    }

    /// The scheduled run: the production thresholds, up to [`TRAIN_BATCH`] orgs trained
    /// before the invocation's deadline.
    pub async fn handle(
        &self,
        event: LambdaEvent<serde_json::Value>,
    ) -> Result<serde_json::Value, Error> {
        let (sent, training) = self
            .run(STRANDING, TRAIN_BATCH, deadline_of(&event.context))
            .await?;
        emit_training_metrics(&training);
        Ok(serde_json::json!({
            "sent": sent,
            "orgs_trained": training.trained,
            "orgs_skipped": training.skipped,
            "orgs_deferred": training.deferred,
            "orgs_failed": training.failed,
        }))
    }

    /// Both lists are read on one connection, in one round trip: a connection dropped back
    /// into the pool returns to it on a background task, so a second `acquire` straight
    /// after would open another connection, and a new Postgres backend costs a cold start
    /// milliseconds.
    async fn run(
        &self,
        stranding: triage::Stranding,
        train_limit: i64,
        deadline: training::Deadline,
    ) -> Result<(usize, training::SweepTraining), Error> {
        let mut conn = self.pool.acquire().await?;
        let worklist = triage::sweep_worklist(
            &mut conn,
            stranding,
            BATCH,
            training::QUIET_SECONDS,
            train_limit,
        )
        .await?;
        drop(conn);
        let sent = triage::resend(&self.pool, &self.dispatcher, worklist.stranded).await?;
        let training = training::train_orgs(
            &self.pool,
            &self.embedder,
            &worklist.due_for_training,
            deadline,
        )
        .await;
        Ok((sent, training))
    }
}

/// The invocation's deadline. None when the context has none (a direct call, as in tests),
/// or when it had passed before the invocation began, which Lambda never does: cargo lambda's
/// emulator (`make run`) sends a fixed 600000, ten minutes after 1970 began.
pub fn deadline_of(context: &lambda_runtime::Context) -> training::Deadline {
    let at = context.deadline();
    if context.deadline == 0 || at <= std::time::SystemTime::now() {
        training::Deadline::NONE
    } else {
        training::Deadline::at_system_time(at)
    }
}

/// TrainingOrgs by outcome, as EMF lines; nothing when no org was due.
fn emit_training_metrics(run: &training::SweepTraining) {
    use nexify_telemetry::metrics::{Metric, emit};
    for (outcome, count) in [
        ("trained", run.trained),
        ("skipped", run.skipped),
        ("deferred", run.deferred),
        ("failed", run.failed),
    ] {
        if count > 0 {
            emit(
                &[("Outcome", outcome)],
                &[Metric {
                    name: "TrainingOrgs",
                    value: count as f64,
                    unit: "Count",
                }],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use nexify_service::training::Deadline;

    use super::deadline_of;

    #[test]
    fn the_invocation_deadline_bounds_the_training_and_a_direct_call_has_none() {
        let mut context = lambda_runtime::Context::default();
        assert_eq!(deadline_of(&context), Deadline::NONE);
        // What cargo lambda's emulator sends.
        context.deadline = 600_000;
        assert_eq!(deadline_of(&context), Deadline::NONE);

        let in_a_minute = SystemTime::now() + Duration::from_secs(60);
        context.deadline = in_a_minute
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let deadline = deadline_of(&context);
        assert!(deadline.allows(Duration::from_secs(20)));
        assert!(
            !deadline.allows(Duration::from_secs(40)),
            "the reserve is kept"
        );
    }

    #[test]
    fn a_training_claim_lasts_as_long_as_the_deployed_sweeper_may_run() {
        let template = include_str!("../../../template.yaml");
        let sweeper = &template[template
            .find("Binary: triage-sweeper")
            .expect("the template deploys the sweeper")..];
        let timeout: i64 = sweeper
            .lines()
            .find_map(|l| l.trim().strip_prefix("Timeout: "))
            .expect("the sweeper has a timeout")
            .parse()
            .unwrap();
        assert_eq!(timeout, nexify_service::training::TRAINING_LEASE_SECONDS);
    }

    #[test]
    fn no_function_that_may_write_labels_outlasts_a_training_s_late_commit_margin() {
        let template = include_str!("../../../template.yaml");
        let (before, sweeper) = template.split_at(
            template
                .find("Binary: triage-sweeper")
                .expect("the template deploys the sweeper"),
        );
        // The sweeper's own timeout (the first after its binary) is left out: it trains, and
        // writes no labels.
        let after = sweeper
            .lines()
            .skip_while(|l| !l.trim().starts_with("Timeout: "))
            .skip(1);
        let timeouts: Vec<i64> = before
            .lines()
            .chain(after)
            .filter_map(|l| l.trim().strip_prefix("Timeout: "))
            .map(|t| t.parse().unwrap())
            .collect();
        assert!(timeouts.len() >= 2, "the global timeout and the worker's");
        let margin = nexify_service::training::LATE_COMMIT_SECONDS;
        assert!(timeouts.iter().all(|&t| t <= margin), "{timeouts:?}");
    }
}
