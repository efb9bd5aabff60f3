//! `nexify-bench api`: warm latency and throughput of the ticket-list handler (50 rows, JWT
//! verified, RLS transaction) beside `pgbench -S` at the same concurrency, in the same run.
//!
//! Needs `DATABASE_URL` (the schema owner) and `PGBENCH` (path to pgbench); `scripts/bench.sh`
//! sets both. Works in scratch databases it creates and drops.

mod api;
mod pgbench;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("api") => api::run().await,
        _ => anyhow::bail!("usage: nexify-bench api"),
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
