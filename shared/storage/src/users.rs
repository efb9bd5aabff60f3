use chrono::{DateTime, Utc};
use nexify_domain::{Email, UserId};
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;

/// A person who can sign in. The password hash is never part of this struct, so it cannot
/// be serialized into a response or a log line by accident.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Creates a user; `password_hash` is a PHC string (argon2id). Runs as the schema owner.
#[tracing::instrument(skip_all, err)]
pub async fn insert(
    conn: &mut PgConnection,
    email: &Email,
    display_name: &str,
    password_hash: &str,
) -> Result<User, StorageError> {
    Ok(sqlx::query_as(
        "INSERT INTO users (email, display_name, password_hash) VALUES ($1, $2, $3)
         RETURNING id, email, display_name, created_at, updated_at",
    )
    .bind(email.as_str())
    .bind(display_name)
    .bind(password_hash)
    .fetch_one(conn)
    .await?)
}

#[tracing::instrument(skip_all, fields(user_id = %id), err)]
pub async fn get(conn: &mut PgConnection, id: UserId) -> Result<User, StorageError> {
    Ok(sqlx::query_as(
        "SELECT id, email, display_name, created_at, updated_at FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// The user id and password hash for an email, for sign-in only. Goes through the
/// `login_lookup` SECURITY DEFINER function, since no org or user is known yet.
#[tracing::instrument(skip_all, err)]
pub async fn login_lookup(
    conn: &mut PgConnection,
    email: &Email,
) -> Result<Option<(UserId, String)>, StorageError> {
    Ok(
        sqlx::query_as("SELECT user_id, password_hash FROM login_lookup($1)")
            .bind(email.as_str())
            .fetch_optional(conn)
            .await?,
    )
}

/// Sets `user`'s password hash and ends every session of theirs (`set_password`).
#[tracing::instrument(skip_all, fields(user_id = %user), err)]
pub async fn set_password(
    conn: &mut PgConnection,
    user: UserId,
    password_hash: &str,
) -> Result<(), StorageError> {
    let done = sqlx::query("SELECT set_password($1, $2)")
        .bind(user)
        .bind(password_hash)
        .execute(conn)
        .await;
    match done {
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("NX404") => {
            Err(StorageError::NotFound)
        }
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// A new account and a new org it administers (`sign_up`): the user's and the org's ids.
#[tracing::instrument(skip_all, err)]
pub async fn sign_up(
    conn: &mut PgConnection,
    email: &Email,
    display_name: &str,
    password_hash: &str,
    org_name: &str,
    org_slug: &str,
) -> Result<(UserId, nexify_domain::OrgId), StorageError> {
    Ok(
        sqlx::query_as("SELECT user_id, organization_id FROM sign_up($1, $2, $3, $4, $5)")
            .bind(email.as_str())
            .bind(display_name)
            .bind(password_hash)
            .bind(org_name)
            .bind(org_slug)
            .fetch_one(conn)
            .await?,
    )
}
