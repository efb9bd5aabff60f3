//! Signed webhook requests already received (migration `…_webhook_replays.sql`).

use nexify_domain::OrgId;
use sqlx::PgConnection;

use crate::StorageError;

/// Notes the request's signature for the org; `false` when it was seen already. Entries
/// older than `window_seconds` are forgotten on the way (their timestamps are refused
/// anyway).
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn remember(
    conn: &mut PgConnection,
    org: OrgId,
    signature: &[u8],
    window_seconds: i64,
) -> Result<bool, StorageError> {
    sqlx::query(
        "DELETE FROM webhook_replays
         WHERE organization_id = $1 AND seen_at < now() - make_interval(secs => $2)",
    )
    .bind(org)
    .bind(window_seconds as f64)
    .execute(&mut *conn)
    .await?;
    let fresh: Option<bool> = sqlx::query_scalar(
        "INSERT INTO webhook_replays (organization_id, signature) VALUES ($1, $2)
         ON CONFLICT DO NOTHING RETURNING true",
    )
    .bind(org)
    .bind(signature)
    .fetch_optional(conn)
    .await?;
    Ok(fresh.is_some())
}
