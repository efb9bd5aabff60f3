//! AI triage as a job: enqueue (idempotent, through a transactional outbox), the worker's
//! claim-run-record cycle, and a person's decision on the suggestion.
//!
//! Exactly one suggestion per job, although SQS delivers at least once and workers fail:
//! - enqueue creates one JobRun per `(org, idempotency key)` and sends at most one message;
//!   the JobRun is committed before the send, and `dispatched_at` stays NULL until SQS
//!   accepts it, so a failed send is picked up by the sweeper instead of being lost;
//! - the worker claims the job atomically (queued, or running with an expired lease);
//! - the suggestion, its `ai_triage_ran` event and the job's success commit together, and a
//!   unique constraint allows one suggestion per job.
//!
//! Three modules, one job each: [`jobs`] (enqueue, dispatch, the sweep's re-sends),
//! [`decisions`] (accept, reject, per-field auto-apply) and [`worker`] (gather, decide,
//! record). Everything is re-exported here.

pub mod decisions;
pub mod jobs;
pub mod worker;

pub use crate::model_cache::ModelCache;
pub use decisions::*;
pub use jobs::*;
pub use worker::*;
