//! Password resets by mailed token (migration `…_password_reset.sql`). Callers pass the
//! token's SHA-256, never the token.

use nexify_domain::{Email, UserId};
use sqlx::PgConnection;

use crate::StorageError;

/// Who a new reset was stored for: the mail's addressee.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResetFor {
    pub user_id: UserId,
    pub display_name: String,
}

/// What presenting a reset token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// The password is set, every session of the user ended, the token spent.
    Reset(UserId),
    Unknown,
    Used,
    Expired,
}

/// Stores a reset for `email`'s account, superseding its unused ones; `None` for an
/// unknown email.
#[tracing::instrument(skip_all, err)]
pub async fn issue(
    conn: &mut PgConnection,
    email: &Email,
    token_hash: &[u8],
    ttl_seconds: i32,
) -> Result<Option<ResetFor>, StorageError> {
    Ok(
        sqlx::query_as("SELECT user_id, display_name FROM password_reset_issue($1, $2, $3)")
            .bind(email.as_str())
            .bind(token_hash)
            .bind(ttl_seconds)
            .fetch_optional(conn)
            .await?,
    )
}

#[tracing::instrument(skip_all, err)]
pub async fn confirm(
    conn: &mut PgConnection,
    token_hash: &[u8],
    password_hash: &str,
) -> Result<Confirmation, StorageError> {
    let (user, outcome): (Option<UserId>, String) =
        sqlx::query_as("SELECT user_id, outcome FROM password_reset_confirm($1, $2)")
            .bind(token_hash)
            .bind(password_hash)
            .fetch_one(conn)
            .await?;
    Ok(match (outcome.as_str(), user) {
        ("reset", Some(user)) => Confirmation::Reset(user),
        ("used", _) => Confirmation::Used,
        ("expired", _) => Confirmation::Expired,
        _ => Confirmation::Unknown,
    })
}
