//! The org's administrative audit trail: who changed whose membership, and how. Ticket
//! changes have their own trail, `ticket_events`.

use chrono::{DateTime, Utc};
use nexify_domain::{OrgId, UserId};
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;

/// What an audit record says happened; the `audit_records.action` CHECK lists the same, and
/// `invite_accepted`, which `accept_invite` writes in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    MemberRoleChanged,
    MemberRemoved,
    InviteCreated,
    InviteRevoked,
    WebhookEndpointCreated,
    WebhookEndpointChanged,
    WebhookEndpointDeleted,
    /// Too many failed deliveries in a row: the deliveries function turned it off.
    WebhookEndpointDisabled,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::MemberRoleChanged => "member_role_changed",
            AuditAction::MemberRemoved => "member_removed",
            AuditAction::InviteCreated => "invite_created",
            AuditAction::InviteRevoked => "invite_revoked",
            AuditAction::WebhookEndpointCreated => "webhook_endpoint_created",
            AuditAction::WebhookEndpointChanged => "webhook_endpoint_changed",
            AuditAction::WebhookEndpointDeleted => "webhook_endpoint_deleted",
            AuditAction::WebhookEndpointDisabled => "webhook_endpoint_disabled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: uuid::Uuid,
    pub organization_id: OrgId,
    pub actor_user_id: Option<UserId>,
    pub action: String,
    pub subject_user_id: Option<UserId>,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[tracing::instrument(skip_all, fields(org_id = %org, action = action.as_str()), err)]
pub async fn insert(
    conn: &mut PgConnection,
    org: OrgId,
    actor: Option<UserId>,
    action: AuditAction,
    subject: Option<UserId>,
    details: serde_json::Value,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO audit_records (organization_id, actor_user_id, action, subject_user_id, details)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(org)
    .bind(actor)
    .bind(action.as_str())
    .bind(subject)
    .bind(details)
    .execute(conn)
    .await?;
    Ok(())
}

/// The org's most recent records, newest first.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn recent(
    conn: &mut PgConnection,
    org: OrgId,
    limit: i64,
) -> Result<Vec<AuditRecord>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT id, organization_id, actor_user_id, action, subject_user_id, details, created_at
         FROM audit_records WHERE organization_id = $1
         ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(org)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}
