//! Sign-in, token refresh and "who am I".

use nexify_auth::{TokenIssuer, TokenPair, TokenType, verify_password};
use nexify_domain::{Email, UserId};
use nexify_storage::memberships::{self, OrgMembership};
use nexify_storage::users::{self, User};
use nexify_storage::{PgPool, StorageError, begin_user};
use serde::Serialize;

use crate::ServiceError;

const BAD_CREDENTIALS: &str = "the email or password is not correct";

/// Exchanges an email and password for an access and a refresh token.
#[tracing::instrument(skip_all, err)]
pub async fn sign_in(
    pool: &PgPool,
    issuer: &TokenIssuer,
    email: &Email,
    password: &str,
) -> Result<TokenPair, ServiceError> {
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    let found = users::login_lookup(&mut conn, email).await?;
    drop(conn);
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    if !verify_password(hash.as_deref(), password) {
        return Err(ServiceError::Unauthorized(BAD_CREDENTIALS.into()));
    }
    let user = user.ok_or_else(|| ServiceError::Unauthorized(BAD_CREDENTIALS.into()))?;
    tracing::info!(user_id = %user, "signed in");
    Ok(issuer.issue_pair(user)?)
}

/// A new access token for a valid refresh token whose user still exists.
#[tracing::instrument(skip_all, err)]
pub async fn refresh(
    pool: &PgPool,
    issuer: &TokenIssuer,
    refresh_token: &str,
) -> Result<String, ServiceError> {
    let user = issuer.verify(refresh_token, TokenType::Refresh)?;
    let mut tx = begin_user(pool, user).await?;
    match users::get(&mut tx, user).await {
        Ok(_) => {}
        Err(StorageError::NotFound) => {
            return Err(ServiceError::Unauthorized(
                "the user no longer exists".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(issuer.issue_access(user)?)
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
