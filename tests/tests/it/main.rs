//! Integration tests, one binary so linking happens once. Every test runs against real
//! Postgres (a fresh database per test via `#[sqlx::test]`) and, where it says so, real
//! LocalStack SQS. Run them with `make test`, which starts both.

mod api_auth;
mod api_invites;
mod api_members;
mod api_messages;
mod api_password_reset;
mod api_roles;
mod api_sessions;
mod api_settings;
mod api_tickets;
mod api_webhooks;
mod health;
mod kb;
mod learning;
mod logs;
mod metrics;
mod outbound;
mod pipeline;
mod provider;
mod schema;
mod sqs;
