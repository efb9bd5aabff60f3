//! Integration tests, one binary so linking happens once. Every test runs against real
//! Postgres (a fresh database per test via `#[sqlx::test]`) and, where it says so, real
//! LocalStack SQS. Run them with `make test`, which starts both.

mod health;
mod schema;
mod sqs;
