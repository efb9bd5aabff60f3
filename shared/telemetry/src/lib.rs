//! Logging set-up shared by every function.
//!
//! Lambda's advanced logging controls are honoured: `AWS_LAMBDA_LOG_FORMAT` (`JSON`, the
//! default here, or `Text`) and `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else `info`). In
//! JSON, each line carries its spans' fields, so the runtime's `requestId` span and our
//! `org_id` / `ticket_id` / `job_id` fields land on every line logged inside them.

pub mod metrics;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .map(|f| !f.eq_ignore_ascii_case("text"))
        .unwrap_or(true);
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse_lossy(level.to_lowercase());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .init();
    } else {
        builder.init();
    }
}

/// For tests: quiet unless `TEST_LOG=1`. Safe to call many times.
pub fn init_for_tests() {
    if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("debug,sqlx=warn,aws=warn,hyper=warn"))
            .with_test_writer()
            .try_init();
    }
}

/// `outer: inner: innermost`: an error and its sources on one line, for logs.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
