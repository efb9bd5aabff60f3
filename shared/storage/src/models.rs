//! Trained triage models, versioned per org and head (team or category).

use chrono::{DateTime, Utc};
use nexify_domain::OrgId;
use sqlx::PgConnection;

use crate::StorageError;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredModel {
    pub head: String,
    pub version: i32,
    pub labels: Vec<String>,
    pub model: Vec<u8>,
    pub trained_on: i32,
    pub metrics: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Stores a new version of the org's model for `head`; returns its version number.
#[tracing::instrument(skip_all, fields(org_id = %org, head, bytes = model.len()), err)]
pub async fn insert(
    conn: &mut PgConnection,
    org: OrgId,
    head: &str,
    labels: &[String],
    model: &[u8],
    trained_on: i32,
    metrics: &serde_json::Value,
) -> Result<i32, StorageError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO triage_models (organization_id, head, version, labels, model, trained_on, metrics)
         VALUES ($1, $2,
                 COALESCE((SELECT max(version) FROM triage_models WHERE organization_id = $1 AND head = $2), 0) + 1,
                 $3, $4, $5, $6)
         RETURNING version",
    )
    .bind(org)
    .bind(head)
    .bind(labels)
    .bind(model)
    .bind(trained_on)
    .bind(metrics)
    .fetch_one(conn)
    .await?)
}

/// The newest version of each head, without the model bytes: cheap enough to ask per job.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn current_versions(
    conn: &mut PgConnection,
    org: OrgId,
) -> Result<Vec<(String, i32)>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT head, max(version) FROM triage_models WHERE organization_id = $1 GROUP BY head ORDER BY head",
    )
    .bind(org)
    .fetch_all(conn)
    .await?)
}

/// The newest model of `head`, if the org has one.
#[tracing::instrument(skip_all, fields(org_id = %org, head), err)]
pub async fn current(
    conn: &mut PgConnection,
    org: OrgId,
    head: &str,
) -> Result<Option<StoredModel>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT head, version, labels, model, trained_on, metrics, created_at FROM triage_models
         WHERE organization_id = $1 AND head = $2 ORDER BY version DESC LIMIT 1",
    )
    .bind(org)
    .bind(head)
    .fetch_optional(conn)
    .await?)
}

/// The newest version of one head, without the model bytes. `metrics` holds temperature,
/// calibration (cross-fit or hold-out), examples, embedder, cue_weight (priority),
/// training_seconds and diagnostics: label_counts, held_out, accuracy, ece, reliability
/// bins and the coverage curve of the held-out or out-of-fold predictions made at training.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ModelSummary {
    pub head: String,
    pub version: i32,
    pub labels: Vec<String>,
    pub trained_on: i32,
    pub metrics: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn current_summaries(
    conn: &mut PgConnection,
    org: OrgId,
) -> Result<Vec<ModelSummary>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT DISTINCT ON (head) head, version, labels, trained_on, metrics, created_at
         FROM triage_models WHERE organization_id = $1 ORDER BY head, version DESC",
    )
    .bind(org)
    .fetch_all(conn)
    .await?)
}
