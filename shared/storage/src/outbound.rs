//! Outbound webhooks (migration `…_outbound_webhooks.sql`): endpoints, the outbox of
//! deliveries written with the change that caused them, and each attempt's record.

use chrono::{DateTime, Utc};
use nexify_domain::OrgId;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::StorageError;
use crate::sealed::StoredSecret;

/// An endpoint as its org's admins see it: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Endpoint {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why the endpoint was turned off, when the deliveries function did it.
    #[schema(required = true)]
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ENDPOINT_COLUMNS: &str = "id, url, event_types, enabled, disabled_reason,
    consecutive_failures, created_at, updated_at";

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn insert_endpoint(
    conn: &mut PgConnection,
    org: OrgId,
    url: &str,
    event_types: &[String],
    sealed_secret: &[u8],
) -> Result<Endpoint, StorageError> {
    Ok(sqlx::query_as(sql!(
        "INSERT INTO webhook_endpoints (organization_id, url, event_types, secret_sealed)
         VALUES ($1, $2, $3, $4) RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(org)
    .bind(url)
    .bind(event_types)
    .bind(sealed_secret)
    .fetch_one(conn)
    .await?)
}

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn list_endpoints(
    conn: &mut PgConnection,
    org: OrgId,
) -> Result<Vec<Endpoint>, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE organization_id = $1
         ORDER BY created_at, id"
    ))
    .bind(org)
    .fetch_all(conn)
    .await?)
}

/// The endpoint and its secret, for signing.
#[tracing::instrument(skip_all, fields(org_id = %org, endpoint_id = %id), err)]
pub async fn endpoint_with_secret(
    conn: &mut PgConnection,
    org: OrgId,
    id: Uuid,
) -> Result<(Endpoint, StoredSecret), StorageError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        endpoint: Endpoint,
        secret: Option<String>,
        secret_sealed: Option<Vec<u8>>,
    }
    let row: Row = sqlx::query_as(sql!(
        "SELECT {ENDPOINT_COLUMNS}, secret, secret_sealed FROM webhook_endpoints
         WHERE organization_id = $1 AND id = $2"
    ))
    .bind(org)
    .bind(id)
    .fetch_one(conn)
    .await?;
    // The table's constraint guarantees exactly one form.
    let secret = match (row.secret_sealed, row.secret) {
        (Some(sealed), _) => StoredSecret::Sealed(sealed),
        (None, plain) => StoredSecret::Plain(plain.unwrap_or_default()),
    };
    Ok((row.endpoint, secret))
}

/// Every endpoint whose secret is still in plain text (for the schema owner's sealing run).
pub async fn plain_endpoint_secrets(
    conn: &mut PgConnection,
) -> Result<Vec<(OrgId, Uuid, String)>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT organization_id, id, secret FROM webhook_endpoints
         WHERE secret IS NOT NULL ORDER BY organization_id, id",
    )
    .fetch_all(conn)
    .await?)
}

/// Seals an endpoint's plain-text secret, if it is still `plain`.
pub async fn seal_plain_endpoint_secret(
    conn: &mut PgConnection,
    org: OrgId,
    id: Uuid,
    plain: &str,
    sealed: &[u8],
) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET secret_sealed = $4, secret = NULL
         WHERE organization_id = $1 AND id = $2 AND secret = $3",
    )
    .bind(org)
    .bind(id)
    .bind(plain)
    .bind(sealed)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Changes what is given; turning an endpoint on clears its failure run.
#[tracing::instrument(skip_all, fields(org_id = %org, endpoint_id = %id), err)]
pub async fn update_endpoint(
    conn: &mut PgConnection,
    org: OrgId,
    id: Uuid,
    url: Option<&str>,
    event_types: Option<&[String]>,
    enabled: Option<bool>,
) -> Result<Endpoint, StorageError> {
    Ok(sqlx::query_as(sql!(
        "UPDATE webhook_endpoints SET
             url = COALESCE($3, url),
             event_types = COALESCE($4, event_types),
             enabled = COALESCE($5, enabled),
             disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END,
             consecutive_failures = CASE WHEN $5 THEN 0 ELSE consecutive_failures END,
             updated_at = now()
         WHERE organization_id = $1 AND id = $2 RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(org)
    .bind(id)
    .bind(url)
    .bind(event_types)
    .bind(enabled)
    .fetch_one(conn)
    .await?)
}

#[tracing::instrument(skip_all, fields(org_id = %org, endpoint_id = %id), err)]
pub async fn delete_endpoint(
    conn: &mut PgConnection,
    org: OrgId,
    id: Uuid,
) -> Result<(), StorageError> {
    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE organization_id = $1 AND id = $2")
        .bind(org)
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

/// The outbox: one pending delivery of the event for each enabled endpoint of the org that
/// subscribes to `event_type`, in the caller's transaction. Returns the deliveries' ids.
#[tracing::instrument(skip_all, fields(org_id = %org, event_type), err)]
pub async fn emit(
    conn: &mut PgConnection,
    org: OrgId,
    event_id: Uuid,
    event_type: &str,
    body: &str,
) -> Result<Vec<Uuid>, StorageError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (organization_id, endpoint_id, event_id, event_type, body)
         SELECT $1, e.id, $2, $3, $4 FROM webhook_endpoints e
         WHERE e.organization_id = $1 AND e.enabled AND $3 = ANY (e.event_types)
         RETURNING id",
    )
    .bind(org)
    .bind(event_id)
    .bind(event_type)
    .bind(body)
    .fetch_all(conn)
    .await?)
}

/// One delivery of an event to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    /// `pending` (a try is due or scheduled), `succeeded` or `failed` (given up).
    pub status: String,
    pub attempt_count: i32,
    pub next_attempt_at: DateTime<Utc>,
    #[schema(required = true)]
    pub last_status_code: Option<i32>,
    #[schema(required = true)]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub delivered_at: Option<DateTime<Utc>>,
}

const DELIVERY_COLUMNS: &str = "id, endpoint_id, event_id, event_type, status, attempt_count,
    next_attempt_at, last_status_code, last_error, created_at, delivered_at";

/// An endpoint's deliveries, newest first, after the keyset `before`.
#[tracing::instrument(skip_all, fields(org_id = %org, endpoint_id = %endpoint), err)]
pub async fn list_deliveries(
    conn: &mut PgConnection,
    org: OrgId,
    endpoint: Uuid,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Delivery>, StorageError> {
    let (before_at, before_id) = before.unzip();
    Ok(sqlx::query_as(sql!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
         WHERE organization_id = $1 AND endpoint_id = $2
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
         ORDER BY created_at DESC, id DESC LIMIT $5"
    ))
    .bind(org)
    .bind(endpoint)
    .bind(before_at)
    .bind(before_id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Takes a delivery to attempt now: pending and due (else `None`: done, given up, or taken
/// by a concurrent attempt). It stays taken for `lease_seconds`, so a duplicate queue
/// message skips it while no transaction is held during the post.
#[tracing::instrument(skip_all, fields(org_id = %org, delivery_id = %id), err)]
pub async fn claim(
    conn: &mut PgConnection,
    org: OrgId,
    id: Uuid,
    lease_seconds: i64,
) -> Result<Option<(Delivery, String)>, StorageError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        delivery: Delivery,
        body: String,
    }
    let row: Option<Row> = sqlx::query_as(sql!(
        "UPDATE webhook_deliveries
            SET next_attempt_at = now() + make_interval(secs => $3)
          WHERE organization_id = $1 AND id = $2 AND status = 'pending'
            AND next_attempt_at <= now()
          RETURNING {DELIVERY_COLUMNS}, body"
    ))
    .bind(org)
    .bind(id)
    .bind(lease_seconds as f64)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.delivery, r.body)))
}

/// A delivery of a test event to one endpoint, whatever it subscribes to.
#[tracing::instrument(skip_all, fields(org_id = %org, endpoint_id = %endpoint), err)]
pub async fn insert_test(
    conn: &mut PgConnection,
    org: OrgId,
    endpoint: Uuid,
    event_id: Uuid,
    event_type: &str,
    body: &str,
) -> Result<Uuid, StorageError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (organization_id, endpoint_id, event_id, event_type, body)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(org)
    .bind(endpoint)
    .bind(event_id)
    .bind(event_type)
    .bind(body)
    .fetch_one(conn)
    .await?)
}

/// What one attempt saw.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

/// Logs an attempt and moves the delivery on: `succeeded`, `failed` (given up), or pending
/// again at `next_attempt_at`. Also keeps the endpoint's run of consecutive failures.
/// Returns that run's length after this attempt.
#[tracing::instrument(skip_all, fields(org_id = %org, delivery_id = %delivery.id), err)]
pub async fn record_attempt(
    conn: &mut PgConnection,
    org: OrgId,
    delivery: &Delivery,
    attempt: &AttemptRecord,
    outcome: &str,
    next_attempt_at: DateTime<Utc>,
) -> Result<i32, StorageError> {
    sqlx::query(
        "INSERT INTO webhook_attempts (organization_id, delivery_id, status_code, latency_ms,
             response_excerpt, error)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(org)
    .bind(delivery.id)
    .bind(attempt.status_code)
    .bind(attempt.latency_ms)
    .bind(&attempt.response_excerpt)
    .bind(&attempt.error)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $3, attempt_count = attempt_count + 1,
             next_attempt_at = $4, last_status_code = $5, last_error = $6,
             dispatched_at = NULL,
             delivered_at = CASE WHEN $3 = 'succeeded' THEN now() END
         WHERE organization_id = $1 AND id = $2",
    )
    .bind(org)
    .bind(delivery.id)
    .bind(outcome)
    .bind(next_attempt_at)
    .bind(attempt.status_code)
    .bind(&attempt.error)
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_scalar(
        "UPDATE webhook_endpoints SET consecutive_failures =
             CASE WHEN $3 THEN 0 ELSE consecutive_failures + 1 END
         WHERE organization_id = $1 AND id = $2 RETURNING consecutive_failures",
    )
    .bind(org)
    .bind(delivery.endpoint_id)
    .bind(outcome == "succeeded")
    .fetch_one(conn)
    .await?)
}

/// Turns an endpoint off, saying why.
#[tracing::instrument(skip_all, fields(org_id = %org, endpoint_id = %id), err)]
pub async fn disable_endpoint(
    conn: &mut PgConnection,
    org: OrgId,
    id: Uuid,
    reason: &str,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3, updated_at = now()
         WHERE organization_id = $1 AND id = $2",
    )
    .bind(org)
    .bind(id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes a delivery due again now (a redelivery an admin asked for), whatever its state.
#[tracing::instrument(skip_all, fields(org_id = %org, delivery_id = %id), err)]
pub async fn make_due(
    conn: &mut PgConnection,
    org: OrgId,
    endpoint: Uuid,
    id: Uuid,
) -> Result<Delivery, StorageError> {
    Ok(sqlx::query_as(sql!(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(),
             dispatched_at = NULL
         WHERE organization_id = $1 AND endpoint_id = $2 AND id = $3
         RETURNING {DELIVERY_COLUMNS}"
    ))
    .bind(org)
    .bind(endpoint)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// Notes that deliveries were handed to the queue.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn mark_dispatched(
    conn: &mut PgConnection,
    org: OrgId,
    ids: &[Uuid],
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE webhook_deliveries SET dispatched_at = now()
         WHERE organization_id = $1 AND id = ANY ($2)",
    )
    .bind(org)
    .bind(ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// The sweep's worklist across orgs (`due_webhook_deliveries`).
#[tracing::instrument(skip_all, err)]
pub async fn due(
    conn: &mut PgConnection,
    resend_after_seconds: i64,
    limit: i64,
) -> Result<Vec<(Uuid, OrgId)>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT delivery_id, organization_id
         FROM due_webhook_deliveries(make_interval(secs => $1), $2)",
    )
    .bind(resend_after_seconds as f64)
    .bind(limit as i32)
    .fetch_all(conn)
    .await?)
}
