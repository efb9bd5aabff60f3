//! Counters of failed authentication attempts (migration `…_auth_throttle.sql`).

use sqlx::PgConnection;

use crate::StorageError;

/// Seconds until every key in `keys` may try again (0: now), each key allowed
/// `limits[i]` failures per window.
pub async fn wait_seconds(
    conn: &mut PgConnection,
    keys: &[String],
    limits: &[i32],
    window_seconds: i32,
) -> Result<i32, StorageError> {
    Ok(sqlx::query_scalar("SELECT auth_wait_seconds($1, $2, $3)")
        .bind(keys)
        .bind(limits)
        .bind(window_seconds)
        .fetch_one(conn)
        .await?)
}

pub async fn failed(
    conn: &mut PgConnection,
    keys: &[String],
    window_seconds: i32,
) -> Result<(), StorageError> {
    sqlx::query("SELECT auth_failed($1, $2)")
        .bind(keys)
        .bind(window_seconds)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn succeeded(conn: &mut PgConnection, key: &str) -> Result<(), StorageError> {
    sqlx::query("SELECT auth_succeeded($1)")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}
