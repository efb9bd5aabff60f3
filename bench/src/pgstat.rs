//! Postgres's own time for a workload, from `pg_stat_statements` (loaded by
//! `scripts/lib.sh`, with planning tracked): planning plus execution of every statement run
//! in one database, between a reset and a reading.

use sqlx::PgPool;

/// What one database's statements cost since the last reset.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatementTotals {
    pub calls: f64,
    /// Planning plus execution, in milliseconds.
    pub postgres_ms: f64,
}

/// Clears the statistics of `database` (the extension is created there when missing).
pub async fn reset(owner: &PgPool) -> anyhow::Result<()> {
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(owner)
        .await?;
    sqlx::query(
        "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)",
    )
    .execute(owner)
    .await?;
    Ok(())
}

/// The totals of `database`'s statements since [`reset`], leaving out the statistics
/// queries themselves.
pub async fn totals(owner: &PgPool) -> anyhow::Result<StatementTotals> {
    totals_of(owner, "").await
}

/// The `n` statements of `database` that took the most Postgres time since [`reset`]:
/// (calls, planning in ms, execution in ms, the statement's text on one line).
pub async fn top(owner: &PgPool, n: i64) -> anyhow::Result<Vec<(i64, f64, f64, String)>> {
    Ok(sqlx::query_as(
        "SELECT calls, total_plan_time::float8, total_exec_time::float8,
                regexp_replace(query, '\\s+', ' ', 'g')
         FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query NOT LIKE '%pg_stat_statements%'
         ORDER BY total_plan_time + total_exec_time DESC LIMIT $1",
    )
    .bind(n)
    .fetch_all(owner)
    .await?)
}

/// Like [`totals`], of the statements whose text starts with `prefix` only (a floor script's
/// own bookkeeping left out).
pub async fn totals_of(owner: &PgPool, prefix: &str) -> anyhow::Result<StatementTotals> {
    let (calls, ms): (Option<f64>, Option<f64>) = sqlx::query_as(
        "SELECT sum(calls)::float8, sum(total_plan_time + total_exec_time)::float8
         FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query NOT LIKE '%pg_stat_statements%' AND starts_with(query, $1)",
    )
    .bind(prefix)
    .fetch_one(owner)
    .await?;
    Ok(StatementTotals {
        calls: calls.unwrap_or(0.0),
        postgres_ms: ms.unwrap_or(0.0),
    })
}
