//! Nexify's business rules, called by the thin Lambda handlers and testable without them.
//!
//! Every tenant operation opens a transaction scoped to the org ([`access::begin`]), checks
//! the caller's membership and role first, does its reads and writes (including the audit
//! events) and commits once.

pub mod access;
pub mod accounts;
pub mod conversations;
pub mod drafting;
pub mod embedding;
mod error;
pub mod imports;
pub mod invites;
pub mod knowledge;
pub mod mail;
pub mod members;
pub mod model_cache;
pub mod outbound;
pub mod paging;
pub mod quality;
pub mod recovery;
pub mod replies;
pub mod sealing;
pub mod settings;
pub mod signup;
pub mod throttle;
pub mod tickets;
pub mod training;
pub mod triage;
pub mod webhooks;

pub use error::ServiceError;
