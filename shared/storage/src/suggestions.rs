use chrono::{DateTime, Utc};
use nexify_domain::{JobRunId, OrgId, Priority, SuggestionId, SuggestionStatus, TicketId, UserId};
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;

/// What triage proposes for a ticket, and what a person (or auto-apply) decided.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Suggestion {
    pub id: SuggestionId,
    pub organization_id: OrgId,
    pub ticket_id: TicketId,
    pub job_run_id: JobRunId,
    pub status: SuggestionStatus,
    pub suggested_priority: Priority,
    #[schema(required = true)]
    pub suggested_team: Option<String>,
    #[schema(required = true)]
    pub classification: Option<String>,
    pub draft_reply: String,
    #[schema(value_type = Vec<nexify_domain::Citation>)]
    pub citations: serde_json::Value,
    /// The smallest of the fields' confidences: an upper bound on the chance that every
    /// suggested field is right.
    #[schema(minimum = 0, maximum = 1)]
    pub confidence: f32,
    #[sqlx(flatten)]
    pub field_confidence: FieldConfidences,
    /// Fields auto-apply set on the ticket while the suggestion stayed pending.
    pub auto_applied_fields: Vec<String>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    #[schema(required = true)]
    pub decided_by: Option<UserId>,
    #[schema(required = true)]
    pub decided_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub decision_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Each suggested field's own confidence; `None` where nothing estimated it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = FieldConfidence)]
pub struct FieldConfidences {
    #[sqlx(rename = "priority_confidence")]
    #[schema(required = true)]
    pub priority: Option<f32>,
    #[sqlx(rename = "team_confidence")]
    #[schema(required = true)]
    pub team: Option<f32>,
    #[sqlx(rename = "category_confidence")]
    #[schema(required = true)]
    pub category: Option<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSuggestion {
    pub ticket_id: TicketId,
    pub job_run_id: JobRunId,
    pub suggested_priority: Priority,
    pub suggested_team: Option<String>,
    pub classification: Option<String>,
    pub draft_reply: String,
    pub citations: serde_json::Value,
    pub confidence: f32,
    pub field_confidence: FieldConfidences,
    pub metadata: serde_json::Value,
}

pub(crate) const COLUMNS: &str = "id, organization_id, ticket_id, job_run_id, status,
    suggested_priority, suggested_team, classification, draft_reply, citations, confidence,
    priority_confidence, team_confidence, category_confidence, auto_applied_fields,
    metadata, decided_by, decided_at, decision_reason, created_at, updated_at";

#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %new.ticket_id, job_id = %new.job_run_id), err)]
pub async fn insert(
    conn: &mut PgConnection,
    org: OrgId,
    new: &NewSuggestion,
) -> Result<Suggestion, StorageError> {
    Ok(sqlx::query_as(sql!(
        "INSERT INTO suggestions (organization_id, ticket_id, job_run_id, suggested_priority,
             suggested_team, classification, draft_reply, citations, confidence, metadata,
             priority_confidence, team_confidence, category_confidence)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(new.ticket_id)
    .bind(new.job_run_id)
    .bind(new.suggested_priority)
    .bind(&new.suggested_team)
    .bind(&new.classification)
    .bind(&new.draft_reply)
    .bind(&new.citations)
    .bind(new.confidence)
    .bind(&new.metadata)
    .bind(new.field_confidence.priority)
    .bind(new.field_confidence.team)
    .bind(new.field_confidence.category)
    .fetch_one(conn)
    .await?)
}

/// Records the fields auto-apply set on the ticket of a pending suggestion.
#[tracing::instrument(skip_all, fields(org_id = %org, suggestion_id = %id), err)]
pub async fn record_auto_applied(
    conn: &mut PgConnection,
    org: OrgId,
    id: SuggestionId,
    fields: &[&str],
) -> Result<Suggestion, StorageError> {
    Ok(sqlx::query_as(sql!(
        "UPDATE suggestions SET auto_applied_fields = $3, updated_at = now()
         WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(id)
    .bind(fields)
    .fetch_one(conn)
    .await?)
}

/// Reads and locks a suggestion, so two decisions cannot both see it pending.
#[tracing::instrument(skip_all, fields(org_id = %org, suggestion_id = %id), err)]
pub async fn get_for_update(
    conn: &mut PgConnection,
    org: OrgId,
    id: SuggestionId,
) -> Result<Suggestion, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM suggestions WHERE organization_id = $1 AND id = $2 FOR UPDATE"
    ))
    .bind(org)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// Records a decision on a pending suggestion; `draft_reply` replaces the draft when given.
#[tracing::instrument(skip_all, fields(org_id = %org, suggestion_id = %id), err)]
pub async fn decide(
    conn: &mut PgConnection,
    org: OrgId,
    id: SuggestionId,
    status: SuggestionStatus,
    decided_by: Option<UserId>,
    reason: Option<&str>,
    draft_reply: Option<&str>,
) -> Result<Suggestion, StorageError> {
    Ok(sqlx::query_as(sql!(
        "UPDATE suggestions SET status = $3, decided_by = $4, decided_at = now(),
             decision_reason = $5, draft_reply = COALESCE($6, draft_reply)
         WHERE organization_id = $1 AND id = $2 AND status = 'pending' RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(id)
    .bind(status)
    .bind(decided_by)
    .bind(reason)
    .bind(draft_reply)
    .fetch_one(conn)
    .await?)
}

/// The suggestion a job produced, if any.
#[tracing::instrument(skip_all, fields(org_id = %org, job_id = %job), err)]
pub async fn for_job(
    conn: &mut PgConnection,
    org: OrgId,
    job: JobRunId,
) -> Result<Option<Suggestion>, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM suggestions WHERE organization_id = $1 AND job_run_id = $2"
    ))
    .bind(org)
    .bind(job)
    .fetch_optional(conn)
    .await?)
}

#[tracing::instrument(skip_all, fields(org_id = %org, suggestion_id = %id), err)]
pub async fn get(
    conn: &mut PgConnection,
    org: OrgId,
    id: SuggestionId,
) -> Result<Suggestion, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM suggestions WHERE organization_id = $1 AND id = $2"
    ))
    .bind(org)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// A ticket's suggestions, newest first.
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket), err)]
pub async fn list_for_ticket(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: TicketId,
) -> Result<Vec<Suggestion>, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM suggestions WHERE organization_id = $1 AND ticket_id = $2
         ORDER BY created_at DESC, id DESC"
    ))
    .bind(org)
    .bind(ticket)
    .fetch_all(conn)
    .await?)
}

/// A decided suggestion beside its ticket as it is now: what the model page scores.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DecidedSuggestion {
    pub status: SuggestionStatus,
    pub suggested_priority: Priority,
    pub suggested_team: Option<String>,
    pub classification: Option<String>,
    #[sqlx(flatten)]
    pub field_confidence: FieldConfidences,
    pub ticket_priority: Priority,
    pub ticket_team: Option<String>,
    pub ticket_category: Option<String>,
}

/// The org's suggestions decided in the last `days` days (at most `limit`, newest first),
/// each with its ticket's current priority, team and category.
#[tracing::instrument(skip_all, fields(org_id = %org, days), err)]
pub async fn decided_since(
    conn: &mut PgConnection,
    org: OrgId,
    days: i32,
    limit: i64,
) -> Result<Vec<DecidedSuggestion>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT s.status, s.suggested_priority, s.suggested_team, s.classification,
                s.priority_confidence, s.team_confidence, s.category_confidence,
                t.priority AS ticket_priority, t.assigned_team AS ticket_team,
                t.category AS ticket_category
         FROM suggestions s
         JOIN tickets t ON t.organization_id = s.organization_id AND t.id = s.ticket_id
         WHERE s.organization_id = $1 AND s.status <> 'pending'
           AND s.decided_at >= now() - make_interval(days => $2)
         ORDER BY s.decided_at DESC
         LIMIT $3",
    )
    .bind(org)
    .bind(days)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}
