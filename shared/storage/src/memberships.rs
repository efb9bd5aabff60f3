use chrono::{DateTime, Utc};
use nexify_domain::{OrgId, Role, UserId};
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Membership {
    pub organization_id: OrgId,
    pub user_id: UserId,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user's membership as the console shows it: which org, by name, and in what role.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OrgMembership {
    pub organization_id: OrgId,
    pub organization_name: String,
    pub role: Role,
}

/// Adds a user to an org, or changes their role there.
#[tracing::instrument(skip_all, fields(org_id = %org, user_id = %user), err)]
pub async fn upsert(
    conn: &mut PgConnection,
    org: OrgId,
    user: UserId,
    role: Role,
) -> Result<Membership, StorageError> {
    Ok(sqlx::query_as(
        "INSERT INTO memberships (organization_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (organization_id, user_id) DO UPDATE SET role = EXCLUDED.role
         RETURNING organization_id, user_id, role, created_at, updated_at",
    )
    .bind(org)
    .bind(user)
    .bind(role)
    .fetch_one(conn)
    .await?)
}

/// Every org the user belongs to, by name.
#[tracing::instrument(skip_all, fields(user_id = %user), err)]
pub async fn list_for_user(
    conn: &mut PgConnection,
    user: UserId,
) -> Result<Vec<OrgMembership>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT m.organization_id, o.name AS organization_name, m.role
         FROM memberships m JOIN organizations o ON o.id = m.organization_id
         WHERE m.user_id = $1 ORDER BY o.name, o.id",
    )
    .bind(user)
    .fetch_all(conn)
    .await?)
}
