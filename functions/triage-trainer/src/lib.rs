//! Runs every minute (EventBridge schedule; locally, the SQS bridge calls it on its own
//! task): retrains the triage models of orgs whose labels changed and then stayed quiet for
//! [`training::QUIET_SECONDS`] (the debounced training queue), up to [`TRAIN_BATCH`] orgs,
//! each only if it fits before the invocation's deadline. Training lives apart from the
//! sweeper so that minutes of CPU-bound fitting never delay the sweeper's re-sends, and
//! only this function carries the memory (two vCPUs) and timeout that training needs.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent};
use nexify_embed::Embedder;
use nexify_service::training;
use nexify_storage::PgPool;

/// Orgs retrained per run; the rest wait for the next minute.
pub const TRAIN_BATCH: i64 = 10;

pub struct App {
    pool: PgPool,
    /// Trained models join this embedder's ticket embeddings to their text features, so it
    /// must be the worker's.
    embedder: Arc<dyn Embedder>,
}

impl App {
    pub fn new(pool: PgPool, embedder: Arc<dyn Embedder>) -> Self {
        Self { pool, embedder }
    }

    /// The scheduled run: up to [`TRAIN_BATCH`] due orgs trained before the invocation's
    /// deadline.
    pub async fn handle(
        &self,
        event: LambdaEvent<serde_json::Value>,
    ) -> Result<serde_json::Value, Error> {
        let run = self.train_due(deadline_of(&event.context)).await?;
        emit_training_metrics(&run);
        Ok(serde_json::json!({
            "orgs_trained": run.trained,
            "orgs_skipped": run.skipped,
            "orgs_deferred": run.deferred,
            "orgs_failed": run.failed,
        }))
    }

    /// Trains the orgs due now, within `deadline`.
    pub async fn train_due(
        &self,
        deadline: training::Deadline,
    ) -> Result<training::SweepTraining, Error> {
        let mut conn = self.pool.acquire().await?;
        let due = training::due_orgs(&mut conn, training::QUIET_SECONDS, TRAIN_BATCH).await?;
        drop(conn);
        Ok(training::train_orgs(&self.pool, &self.embedder, &due, deadline).await)
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

    /// The template's text of one function, from its binary's name to the next resource (the
    /// next line indented by two spaces only).
    fn function_block<'a>(template: &'a str, binary: &str) -> &'a str {
        let start = template
            .find(&format!("Binary: {binary}"))
            .expect("the template deploys it");
        let rest = &template[start..];
        let mut end = rest.len();
        let mut at = 0;
        for line in rest.split_inclusive('\n') {
            let resource = line.starts_with("  ") && !line[2..].starts_with(' ') && at > 0;
            if resource && !line.trim().is_empty() {
                end = at;
                break;
            }
            at += line.len();
        }
        &rest[..end]
    }

    #[test]
    fn a_training_claim_lasts_as_long_as_the_deployed_trainer_may_run() {
        let template = include_str!("../../../template.yaml");
        let timeout: i64 = function_block(template, "triage-trainer")
            .lines()
            .find_map(|l| l.trim().strip_prefix("Timeout: "))
            .expect("the trainer has a timeout")
            .parse()
            .unwrap();
        assert_eq!(timeout, nexify_service::training::TRAINING_LEASE_SECONDS);
    }

    #[test]
    fn no_function_that_may_write_labels_outlasts_a_training_s_late_commit_margin() {
        let template = include_str!("../../../template.yaml");
        let trainer = function_block(template, "triage-trainer");
        // The trainer's own timeout is left out: it trains, and writes no labels.
        let without_trainer = template.replacen(trainer, "", 1);
        let timeouts: Vec<i64> = without_trainer
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Timeout: "))
            .map(|t| t.parse().unwrap())
            .collect();
        assert!(timeouts.len() >= 2, "the global timeout and the worker's");
        let margin = nexify_service::training::LATE_COMMIT_SECONDS;
        assert!(timeouts.iter().all(|&t| t <= margin), "{timeouts:?}");
    }
}
