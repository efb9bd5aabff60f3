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

/// A member of an org, as its admins see them.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// When they joined the org.
    pub joined_at: DateTime<Utc>,
}

const MEMBER_COLUMNS: &str =
    "m.user_id, u.email, u.display_name, m.role, m.created_at AS joined_at";

/// One page of the org's members, oldest membership first, after the keyset `after`.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn list_members(
    conn: &mut PgConnection,
    org: OrgId,
    after: Option<(DateTime<Utc>, UserId)>,
    limit: i64,
) -> Result<Vec<Member>, StorageError> {
    let (at, id) = after.unzip();
    Ok(sqlx::query_as(sql!(
        "SELECT {MEMBER_COLUMNS} FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.organization_id = $1
           AND ($2::timestamptz IS NULL OR (m.created_at, m.user_id) > ($2, $3))
         ORDER BY m.created_at, m.user_id LIMIT $4"
    ))
    .bind(org)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Locks the org's admin memberships and the target's, in one statement and in key order,
/// so that two admins changing each other at once are serialised and the last-admin rule
/// sees every committed change. Returns the admins and the target's role (`None`: not a
/// member).
#[tracing::instrument(skip_all, fields(org_id = %org, user_id = %target), err)]
pub async fn lock_admins_and(
    conn: &mut PgConnection,
    org: OrgId,
    target: UserId,
) -> Result<(Vec<UserId>, Option<Role>), StorageError> {
    let rows: Vec<(UserId, Role)> = sqlx::query_as(
        "SELECT user_id, role FROM memberships
         WHERE organization_id = $1 AND (role = 'admin' OR user_id = $2)
         ORDER BY user_id FOR UPDATE",
    )
    .bind(org)
    .bind(target)
    .fetch_all(conn)
    .await?;
    let target_role = rows.iter().find(|(u, _)| *u == target).map(|(_, r)| *r);
    let admins = rows
        .into_iter()
        .filter(|(_, r)| *r == Role::Admin)
        .map(|(u, _)| u)
        .collect();
    Ok((admins, target_role))
}

/// Changes a member's role; `NotFound` when they are not a member.
#[tracing::instrument(skip_all, fields(org_id = %org, user_id = %user), err)]
pub async fn set_role(
    conn: &mut PgConnection,
    org: OrgId,
    user: UserId,
    role: Role,
) -> Result<Member, StorageError> {
    Ok(sqlx::query_as(sql!(
        "WITH m AS (
             UPDATE memberships SET role = $3 WHERE organization_id = $1 AND user_id = $2
             RETURNING user_id, role, created_at)
         SELECT {MEMBER_COLUMNS} FROM m JOIN users u ON u.id = m.user_id"
    ))
    .bind(org)
    .bind(user)
    .bind(role)
    .fetch_one(conn)
    .await?)
}

/// Removes a member from the org; `NotFound` when they were not one.
#[tracing::instrument(skip_all, fields(org_id = %org, user_id = %user), err)]
pub async fn remove(conn: &mut PgConnection, org: OrgId, user: UserId) -> Result<(), StorageError> {
    let removed =
        sqlx::query("DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2")
            .bind(org)
            .bind(user)
            .execute(conn)
            .await?;
    if removed.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}
