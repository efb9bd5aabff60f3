//! - `nexify-bench api`: warm latency and throughput of the ticket-list handler (50 rows,
//!   JWT verified, RLS transaction) beside `pgbench -S` at the same concurrency.
//! - `nexify-bench triage`: the worker's own throughput and end-to-end triage throughput
//!   (enqueue through LocalStack SQS to suggestion) beside pgbench TPC-B.
//! - `nexify-bench embed`: MiniLM throughput beside the naive batching loop.
//! - `nexify-bench retrieval`: vector retrieval over 100k chunks (10 and 100 orgs): recall@10
//!   and latency beside exact search.
//! - `nexify-bench coldstart`: each function's init time beside a bare `lambda_runtime`
//!   function (needs `scripts/build-zips.sh` first).
//!
//! Needs `DATABASE_URL` (the schema owner) and `PGBENCH` (path to pgbench); `scripts/bench.sh`
//! sets both. Works in scratch databases it creates and drops.

mod api;
mod coldstart;
mod embed;
mod pgbench;
mod retrieval;
mod scratch;
mod triage;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("api") => api::run().await,
        Some("triage") => triage::run().await,
        Some("embed") => embed::run(),
        Some("retrieval") => retrieval::run().await,
        Some("coldstart") => coldstart::run().await,
        _ => anyhow::bail!("usage: nexify-bench api|triage|embed|retrieval|coldstart"),
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
