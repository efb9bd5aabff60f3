//! Server-side sessions behind refresh tokens (migration `…_sessions.sql`): started at
//! sign-in, rotated on every refresh, ended by sign-out, a password change or a removal.
//! Callers pass the token's SHA-256, never the token.

use nexify_domain::UserId;
use sqlx::PgConnection;

use crate::StorageError;

/// What presenting a refresh token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Exchanged: the successor is stored.
    Rotated(UserId),
    Unknown,
    Revoked,
    Expired,
    /// Used after it was rotated, so it was copied: its whole family is revoked now.
    Reused(UserId),
}

#[tracing::instrument(skip_all, fields(user_id = %user), err)]
pub async fn start(
    conn: &mut PgConnection,
    user: UserId,
    token_hash: &[u8],
    ttl_seconds: i32,
) -> Result<(), StorageError> {
    sqlx::query("SELECT session_start($1, $2, $3)")
        .bind(user)
        .bind(token_hash)
        .bind(ttl_seconds)
        .execute(conn)
        .await?;
    Ok(())
}

#[tracing::instrument(skip_all, err)]
pub async fn rotate(
    conn: &mut PgConnection,
    token_hash: &[u8],
    new_hash: &[u8],
    ttl_seconds: i32,
) -> Result<Rotation, StorageError> {
    let (user, outcome): (Option<UserId>, String) =
        sqlx::query_as("SELECT user_id, outcome FROM session_rotate($1, $2, $3)")
            .bind(token_hash)
            .bind(new_hash)
            .bind(ttl_seconds)
            .fetch_one(conn)
            .await?;
    Ok(match (outcome.as_str(), user) {
        ("rotated", Some(user)) => Rotation::Rotated(user),
        ("reused", Some(user)) => Rotation::Reused(user),
        ("revoked", _) => Rotation::Revoked,
        ("expired", _) => Rotation::Expired,
        _ => Rotation::Unknown,
    })
}

/// Ends the token's session (with `everywhere`, every session of its user); the user, if
/// the token was known.
#[tracing::instrument(skip_all, fields(everywhere), err)]
pub async fn end(
    conn: &mut PgConnection,
    token_hash: &[u8],
    everywhere: bool,
) -> Result<Option<UserId>, StorageError> {
    Ok(sqlx::query_scalar("SELECT session_end($1, $2)")
        .bind(token_hash)
        .bind(everywhere)
        .fetch_one(conn)
        .await?)
}

/// Revokes every session of `user`; how many were live.
#[tracing::instrument(skip_all, fields(user_id = %user), err)]
pub async fn revoke_user(conn: &mut PgConnection, user: UserId) -> Result<i64, StorageError> {
    Ok(sqlx::query_scalar("SELECT sessions_revoke_user($1)")
        .bind(user)
        .fetch_one(conn)
        .await?)
}
