//! - `nexify-bench api`: warm latency and throughput of the ticket-list handler (50 rows,
//!   JWT verified, RLS transaction) beside `pgbench -S` at the same concurrency.
//! - `nexify-bench triage`: the worker's own throughput and end-to-end triage throughput
//!   (enqueue through LocalStack SQS to suggestion) beside pgbench TPC-B.
//!
//! Needs `DATABASE_URL` (the schema owner) and `PGBENCH` (path to pgbench); `scripts/bench.sh`
//! sets both. Works in scratch databases it creates and drops.

mod api;
mod pgbench;
mod scratch;
mod triage;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("api") => api::run().await,
        Some("triage") => triage::run().await,
        _ => anyhow::bail!("usage: nexify-bench api|triage"),
    }
}

/// The value at quantile `q` of sorted `xs`.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[idx]
}
