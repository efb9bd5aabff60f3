//! Sign-in, sessions (refresh and sign-out) and "who am I".
//!
//! An access token is a stateless JWT that lives [`nexify_auth::ACCESS_TTL`]; a refresh
//! token names a server-side session and is rotated on every use, so that ending a session
//! (sign-out, a password change, a removal from an org) takes effect at the next refresh.

use nexify_auth::{REFRESH_TTL, TokenIssuer, TokenPair, hash_password, one_time, verify_password};
use nexify_domain::{Email, InvalidInput, UserId};
use nexify_storage::memberships::{self, OrgMembership};
use nexify_storage::sessions::{self, Rotation};
use nexify_storage::users::{self, User};
use nexify_storage::{PgPool, StorageError, begin_user};
use serde::Serialize;

use crate::ServiceError;
use crate::throttle::Attempt;

const BAD_CREDENTIALS: &str = "the email or password is not correct";
/// The shortest password an account may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 1024;

/// A password an account may have: 12 to 1,024 characters, and not easy to guess. zxcvbn
/// (a maintained crate) bundles lists of the most common passwords, names and words;
/// anything it expects to guess in under 10^8 tries (score below 3) is refused. `context`
/// (the email, names) counts as guessable too. Long inputs are judged on their first 100
/// characters, as zxcvbn's authors advise.
pub fn check_password(password: &str, context: &[&str]) -> Result<(), InvalidInput> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(InvalidInput::new(
            "password",
            format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    let head: String = password.chars().take(100).collect();
    let estimate = zxcvbn::zxcvbn(&head, context);
    if estimate.score() < zxcvbn::Score::Three {
        let why = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| w.to_string())
            .unwrap_or_else(|| "it is easy to guess".into());
        return Err(InvalidInput::new(
            "password",
            format!("is too easy to guess ({why}); a few unrelated words make a strong one"),
        ));
    }
    Ok(())
}

/// Exchanges an email and password for an access and a refresh token. Failures count
/// against the account and the address ([`Attempt`]); over the limit, nothing is checked.
#[tracing::instrument(skip_all, err)]
pub async fn sign_in(
    pool: &PgPool,
    issuer: &TokenIssuer,
    email: &Email,
    password: &str,
    source_ip: Option<&str>,
) -> Result<TokenPair, ServiceError> {
    let attempt = Attempt::sign_in(email, source_ip);
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    attempt.check(&mut conn).await?;
    let found = users::login_lookup(&mut conn, email).await?;
    drop(conn);
    let (user, hash) = found.unzip();
    // An unknown email is verified against a dummy hash: the same time either way.
    let verified = verify_password(hash.as_deref(), password);
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    let Some(user) = user.filter(|_| verified) else {
        attempt.failed(&mut conn).await?;
        return Err(ServiceError::Unauthorized(BAD_CREDENTIALS.into()));
    };
    attempt.succeeded(&mut conn).await?;
    drop(conn);
    let pair = start_session(pool, issuer, user).await?;
    tracing::info!(user_id = %user, "signed in");
    Ok(pair)
}

const SESSION_SECONDS: i32 = REFRESH_TTL.as_secs() as i32;
const SESSION_ENDED: &str = "this session has ended: sign in again";

/// A new session for `user` (a new family of refresh tokens) and its first tokens.
pub async fn start_session(
    pool: &PgPool,
    issuer: &TokenIssuer,
    user: UserId,
) -> Result<TokenPair, ServiceError> {
    let (refresh, hash) = one_time::issue();
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    sessions::start(&mut conn, user, &hash, SESSION_SECONDS).await?;
    Ok(issuer.pair(user, refresh)?)
}

/// Exchanges a refresh token for a new access token and the refresh token's successor. A
/// refresh token used twice was copied: the whole session ends, for its holder too.
#[tracing::instrument(skip_all, err)]
pub async fn refresh(
    pool: &PgPool,
    issuer: &TokenIssuer,
    refresh_token: &str,
) -> Result<TokenPair, ServiceError> {
    if !one_time::is_well_formed(refresh_token) {
        return Err(ServiceError::Unauthorized(SESSION_ENDED.into()));
    }
    let (next, next_hash) = one_time::issue();
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    let rotation = sessions::rotate(
        &mut conn,
        &one_time::hash(refresh_token),
        &next_hash,
        SESSION_SECONDS,
    )
    .await?;
    drop(conn);
    match rotation {
        Rotation::Rotated(user) => Ok(issuer.pair(user, next)?),
        Rotation::Reused(user) => {
            tracing::warn!(user_id = %user, "a rotated refresh token was used again: session revoked");
            Err(ServiceError::Unauthorized(SESSION_ENDED.into()))
        }
        Rotation::Unknown | Rotation::Revoked | Rotation::Expired => {
            Err(ServiceError::Unauthorized(SESSION_ENDED.into()))
        }
    }
}

/// Signs out: ends the refresh token's session, or with `everywhere` every session of its
/// user. Quietly does nothing for a token it does not know, so sign-out always succeeds.
#[tracing::instrument(skip_all, fields(everywhere), err)]
pub async fn sign_out(
    pool: &PgPool,
    refresh_token: &str,
    everywhere: bool,
) -> Result<(), ServiceError> {
    if !one_time::is_well_formed(refresh_token) {
        return Ok(());
    }
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    if let Some(user) = sessions::end(&mut conn, &one_time::hash(refresh_token), everywhere).await?
    {
        tracing::info!(user_id = %user, "signed out");
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: User,
    pub memberships: Vec<OrgMembership>,
}

/// The signed-in user and every org they belong to, with their role there.
#[tracing::instrument(skip_all, fields(user_id = %user), err)]
pub async fn me(pool: &PgPool, user: UserId) -> Result<Me, ServiceError> {
    let mut tx = begin_user(pool, user).await?;
    let found = match users::get(&mut tx, user).await {
        Ok(u) => u,
        Err(StorageError::NotFound) => {
            return Err(ServiceError::Unauthorized(
                "the user no longer exists".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let memberships = memberships::list_for_user(&mut tx, user).await?;
    tx.commit().await?;
    Ok(Me {
        user: found,
        memberships,
    })
}

/// Changes the signed-in user's password, given the current one. Every session of theirs
/// ends (a stolen refresh token with it); this device gets a new one.
#[tracing::instrument(skip_all, fields(user_id = %user), err)]
pub async fn change_password(
    pool: &PgPool,
    issuer: &TokenIssuer,
    user: UserId,
    current: &str,
    new: &str,
) -> Result<TokenPair, ServiceError> {
    check_password(new, &[]).map_err(|e| InvalidInput::new("new_password", e.reason))?;
    if new == current {
        return Err(InvalidInput::new("new_password", "must differ from the current one").into());
    }
    let mut tx = begin_user(pool, user).await?;
    let email = users::get(&mut tx, user).await?.email;
    tx.commit().await?;
    let email = Email::parse("email", &email)?;
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    let stored = users::login_lookup(&mut conn, &email)
        .await?
        .map(|(_, hash)| hash);
    if !verify_password(stored.as_deref(), current) {
        return Err(InvalidInput::new("current_password", "is not correct").into());
    }
    users::set_password(&mut conn, user, &hash_password(new)?).await?;
    drop(conn);
    tracing::info!("password changed; every session ended");
    start_session(pool, issuer, user).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_have_a_floor_and_a_ceiling() {
        assert_eq!(check_password("short", &[]).unwrap_err().field, "password");
        assert!(check_password("eleven char", &[]).is_err());
        assert!(check_password("coral lantern drift", &[]).is_ok());
        assert!(check_password(&"x".repeat(1025), &[]).is_err());
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for common in [
            "password1234",
            "123456789012",
            "qwertyuiopasdf",
            "iloveyou1234",
        ] {
            assert!(check_password(common, &[]).is_err(), "{common}");
        }
        let personal = check_password("lee.chen@example.com", &["lee.chen@example.com"]);
        assert!(personal.unwrap_err().reason.contains("too easy"));
    }
}
