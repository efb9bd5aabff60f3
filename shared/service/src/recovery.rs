//! Password reset by mailed token: ask with an email, get a link valid [`RESET_MINUTES`],
//! set a new password with it once. Asking answers the same whether or not the email has
//! an account.

use nexify_auth::{hash_password, one_time};
use nexify_domain::{Email, InvalidInput};
use nexify_storage::password_resets::{self, Confirmation};
use nexify_storage::{PgPool, StorageError};

use crate::ServiceError;
use crate::accounts::check_password;
use crate::mail::{self, Console, Mailer};
use crate::throttle::Attempt;

/// How long a reset link works.
pub const RESET_MINUTES: i64 = 30;

/// Mails a reset link to `email`'s account, if it has one; otherwise does nothing, and
/// says nothing about it. Requests count against the account and the address.
#[tracing::instrument(skip_all, err)]
pub async fn request(
    pool: &PgPool,
    mailer: &impl Mailer,
    console: &Console,
    email: &Email,
    source_ip: Option<&str>,
) -> Result<(), ServiceError> {
    let attempt = Attempt::reset_request(email, source_ip);
    let (token, hash) = one_time::issue();
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    attempt.check(&mut conn).await?;
    attempt.failed(&mut conn).await?;
    let found =
        password_resets::issue(&mut conn, email, &hash, (RESET_MINUTES * 60) as i32).await?;
    drop(conn);
    if let Some(user) = found {
        let link = console.reset_link(&token);
        let mail = mail::password_reset(email.as_str(), &user.display_name, &link, RESET_MINUTES);
        mail::deliver(mailer, &mail, "password_reset").await;
        tracing::info!(user_id = %user.user_id, "password reset requested");
    }
    Ok(())
}

/// Sets a new password with a reset token: once, within its time. Every session of the
/// account ends. Tokens that name nothing count against the address.
#[tracing::instrument(skip_all, err)]
pub async fn confirm(
    pool: &PgPool,
    token: &str,
    new_password: &str,
    source_ip: Option<&str>,
) -> Result<(), ServiceError> {
    check_password(new_password, &[]).map_err(|e| InvalidInput::new("new_password", e.reason))?;
    let attempt = Attempt::token(source_ip);
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    attempt.check(&mut conn).await?;
    let outcome = if one_time::is_well_formed(token) {
        drop(conn);
        // Hashed before the look-up, so the token is spent in the same statement that
        // sets the password (no connection is held while argon2 runs).
        let password_hash = hash_password(new_password)?;
        conn = pool.acquire().await.map_err(StorageError::from)?;
        password_resets::confirm(&mut conn, &one_time::hash(token), &password_hash).await?
    } else {
        Confirmation::Unknown
    };
    let why = match outcome {
        Confirmation::Reset(user) => {
            tracing::info!(user_id = %user, "password reset; every session ended");
            return Ok(());
        }
        Confirmation::Unknown => {
            attempt.failed(&mut conn).await?;
            "is not a reset link Nexify sent"
        }
        Confirmation::Used => "has been used already",
        Confirmation::Expired => "has expired",
    };
    Err(InvalidInput::new("token", format!("{why}: ask for a new reset link")).into())
}
