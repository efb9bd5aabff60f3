//! Invites to join an org. The token itself is never stored: callers pass its SHA-256.

use chrono::{DateTime, Utc};
use nexify_domain::{OrgId, Role, UserId};
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;

/// A pending invite as its org's admins see it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Invite {
    pub id: uuid::Uuid,
    pub email: String,
    pub role: Role,
    #[schema(required = true)]
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const INVITE_COLUMNS: &str = "id, email, role, created_by, created_at, expires_at";

#[tracing::instrument(skip_all, fields(org_id = %org, role = %role), err)]
pub async fn insert(
    conn: &mut PgConnection,
    org: OrgId,
    email: &str,
    role: Role,
    token_hash: &[u8],
    created_by: Option<UserId>,
    expires_at: DateTime<Utc>,
) -> Result<Invite, StorageError> {
    Ok(sqlx::query_as(sql!(
        "INSERT INTO invites (organization_id, email, role, token_hash, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {INVITE_COLUMNS}"
    ))
    .bind(org)
    .bind(email)
    .bind(role)
    .bind(token_hash)
    .bind(created_by)
    .bind(expires_at)
    .fetch_one(conn)
    .await?)
}

/// The org's pending invites (not accepted, revoked or expired), newest first.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn pending(
    conn: &mut PgConnection,
    org: OrgId,
    limit: i64,
) -> Result<Vec<Invite>, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {INVITE_COLUMNS} FROM invites
         WHERE organization_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL
           AND expires_at > now()
         ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(org)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Revokes a pending invite; `NotFound` when there is none with that id.
#[tracing::instrument(skip_all, fields(org_id = %org, invite_id = %id), err)]
pub async fn revoke(
    conn: &mut PgConnection,
    org: OrgId,
    id: uuid::Uuid,
) -> Result<Invite, StorageError> {
    Ok(sqlx::query_as(sql!(
        "UPDATE invites SET revoked_at = now()
         WHERE organization_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL
           AND expires_at > now()
         RETURNING {INVITE_COLUMNS}"
    ))
    .bind(org)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// What an invite link shows before anyone signs in.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Preview {
    pub invite_id: uuid::Uuid,
    pub organization_id: OrgId,
    pub organization_name: String,
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub state: String,
}

#[tracing::instrument(skip_all, err)]
pub async fn preview(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<Preview>, StorageError> {
    Ok(sqlx::query_as("SELECT * FROM invite_preview($1)")
        .bind(token_hash)
        .fetch_optional(conn)
        .await?)
}

/// Who joined, and in what role (their own, if they were a member already).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Accepted {
    pub user_id: UserId,
    pub organization_id: OrgId,
    pub role: Role,
}

/// How an invite is taken up: by a new account, or by a signed-in user.
#[derive(Debug, Clone, Copy)]
pub enum Acceptor<'a> {
    NewUser {
        display_name: &'a str,
        password_hash: &'a str,
    },
    Existing(UserId),
}

/// Takes a pending invite up, atomically and once. `NotFound` when the token names no
/// pending invite; `Conflict` when a new account's email already has one.
#[tracing::instrument(skip_all, err)]
pub async fn accept(
    conn: &mut PgConnection,
    token_hash: &[u8],
    acceptor: Acceptor<'_>,
) -> Result<Accepted, StorageError> {
    let (user, name, hash) = match acceptor {
        Acceptor::NewUser {
            display_name,
            password_hash,
        } => (None, Some(display_name), Some(password_hash)),
        Acceptor::Existing(user) => (Some(user), None, None),
    };
    let accepted = sqlx::query_as("SELECT * FROM accept_invite($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user)
        .bind(name)
        .bind(hash)
        .fetch_one(conn)
        .await;
    match accepted {
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("NX404") => {
            Err(StorageError::NotFound)
        }
        other => Ok(other?),
    }
}
