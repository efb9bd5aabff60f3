//! Invites: how a person joins an org. An admin (or an operator, for an org's first admin)
//! issues one for an email and a role; the link carries a single-use token valid for
//! [`INVITE_DAYS`]; whoever holds it joins as a new account with a password, or as the
//! signed-in user they already are.

use chrono::{Duration, Utc};
use nexify_auth::{TokenIssuer, TokenPair, hash_password, one_time};
use nexify_domain::{Email, InvalidInput, OrgId, Role, UserId};
use nexify_storage::audit::{self, AuditAction};
use nexify_storage::invites::{self, Accepted, Acceptor, Invite, Preview};
use nexify_storage::{PgConnection, PgPool, StorageError, organizations};
use serde::Serialize;

use crate::mail::{self, Console, Mailer};
use crate::throttle::Attempt;
use crate::{ServiceError, access};

pub const INVITE_DAYS: i64 = 7;
const MAX_DISPLAY_NAME_CHARS: usize = 200;
/// The most pending invites one list shows.
pub const MAX_PENDING: i64 = 200;

/// A new invite and its token, shown this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedInvite {
    #[serde(flatten)]
    pub invite: Invite,
    /// The single-use token; the console's link is `/invite/?token=<token>`.
    pub token: String,
    /// Whether the invite mail went out. Either way the admin can copy the link.
    pub mailed: bool,
}

/// What the invite's link shows before anyone signs in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvitePreview {
    pub organization_name: String,
    pub email: String,
    pub role: Role,
    pub expires_at: chrono::DateTime<Utc>,
    /// `pending`, `accepted`, `revoked` or `expired`; only a pending invite can be accepted.
    pub state: String,
}

/// The org the invitee joined, their role there and, for a new account, its tokens.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Joined {
    pub organization_id: OrgId,
    pub role: Role,
    /// Set when the invite created the account: it is signed in at once.
    #[schema(required = true)]
    pub tokens: Option<TokenPair>,
}

/// Writes an invite (and its audit record, `actor` naming the admin, if any) in the
/// caller's transaction.
pub async fn issue_in_tx(
    conn: &mut PgConnection,
    org: OrgId,
    actor: Option<UserId>,
    email: &Email,
    role: Role,
) -> Result<IssuedInvite, ServiceError> {
    let (token, hash) = one_time::issue();
    let expires_at = Utc::now() + Duration::days(INVITE_DAYS);
    let invite = invites::insert(conn, org, email.as_str(), role, &hash, actor, expires_at).await?;
    audit::insert(
        conn,
        org,
        actor,
        AuditAction::InviteCreated,
        None,
        serde_json::json!({ "invite_id": invite.id, "email": invite.email, "role": role }),
    )
    .await?;
    Ok(IssuedInvite {
        invite,
        token,
        mailed: false,
    })
}

/// An admin invites `email` to the org as `role`; the invite is mailed once it is stored.
#[tracing::instrument(skip_all, fields(org_id = %org, role = %role), err)]
pub async fn create(
    pool: &PgPool,
    mailer: &impl Mailer,
    console: &Console,
    user: UserId,
    org: OrgId,
    email: &Email,
    role: Role,
) -> Result<IssuedInvite, ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Admin).await?;
    let org_name = organizations::get(&mut tx, org).await?.name;
    let mut issued = issue_in_tx(&mut tx, org, Some(caller.user), email, role).await?;
    tx.commit().await?;
    tracing::info!(invite_id = %issued.invite.id, "invite issued");
    let link = console.invite_link(&issued.token);
    let mail = mail::invite(
        email.as_str(),
        &org_name,
        role,
        &link,
        issued.invite.expires_at,
    );
    issued.mailed = mail::deliver(mailer, &mail, "invite").await;
    Ok(issued)
}

/// The org's pending invites, newest first (admins).
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn pending(pool: &PgPool, user: UserId, org: OrgId) -> Result<Vec<Invite>, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Admin).await?;
    let found = invites::pending(&mut tx, org, MAX_PENDING).await?;
    tx.commit().await?;
    Ok(found)
}

/// Revokes a pending invite (admins); its link stops working at once.
#[tracing::instrument(skip_all, fields(org_id = %org, invite_id = %id), err)]
pub async fn revoke(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    id: uuid::Uuid,
) -> Result<(), ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Admin).await?;
    let invite = invites::revoke(&mut tx, org, id).await?;
    audit::insert(
        &mut tx,
        org,
        Some(caller.user),
        AuditAction::InviteRevoked,
        None,
        serde_json::json!({ "invite_id": invite.id, "email": invite.email }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!("invite revoked");
    Ok(())
}

async fn find(pool: &PgPool, token: &str) -> Result<Preview, ServiceError> {
    // Not a token this API issued: no need to ask the database.
    if !one_time::is_well_formed(token) {
        return Err(ServiceError::NotFound);
    }
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    invites::preview(&mut conn, &one_time::hash(token))
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The org and role an invite offers, for anyone holding its token.
#[tracing::instrument(skip_all, err)]
pub async fn preview(pool: &PgPool, token: &str) -> Result<InvitePreview, ServiceError> {
    let found = find(pool, token).await?;
    Ok(InvitePreview {
        organization_name: found.organization_name,
        email: found.email,
        role: found.role,
        expires_at: found.expires_at,
        state: found.state,
    })
}

fn display_name(raw: &str) -> Result<String, InvalidInput> {
    let name = raw.trim();
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            "display_name",
            format!(
                "must be at most {MAX_DISPLAY_NAME_CHARS} characters, without control characters"
            ),
        ));
    }
    Ok(name.to_owned())
}

/// The invite `token` names, if it can still be accepted (else 409, saying why). Tokens
/// that name nothing count against the address ([`Attempt::token`]).
async fn pending_invite(
    pool: &PgPool,
    token: &str,
    source_ip: Option<&str>,
) -> Result<Preview, ServiceError> {
    let attempt = Attempt::token(source_ip);
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    attempt.check(&mut conn).await?;
    drop(conn);
    let found = match find(pool, token).await {
        Err(ServiceError::NotFound) => {
            let mut conn = pool.acquire().await.map_err(StorageError::from)?;
            attempt.failed(&mut conn).await?;
            return Err(ServiceError::NotFound);
        }
        other => other?,
    };
    if found.state != "pending" {
        return Err(ServiceError::Conflict(format!(
            "this invite is {}; ask an admin of {} for a new one",
            found.state, found.organization_name
        )));
    }
    Ok(found)
}

/// Takes the pending invite `found` up, once: one statement, so all of it or nothing.
async fn take_up(
    pool: &PgPool,
    token: &str,
    found: &Preview,
    acceptor: Acceptor<'_>,
) -> Result<Accepted, ServiceError> {
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    let accepted = match invites::accept(&mut conn, &one_time::hash(token), acceptor).await {
        Ok(accepted) => accepted,
        // Taken up (or revoked) since the look-up: a racing accept.
        Err(StorageError::NotFound) => {
            return Err(ServiceError::Conflict(
                "this invite has just been used or revoked".into(),
            ));
        }
        Err(StorageError::Conflict { .. }) => {
            return Err(ServiceError::Conflict(format!(
                "{} already has an account: sign in, then open the invite link again",
                found.email
            )));
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(org_id = %accepted.organization_id, user_id = %accepted.user_id, "invite accepted");
    Ok(accepted)
}

/// Accepts as a new account with the invite's email: signed in at once. The password is
/// hashed only for an invite that can be accepted, so a wrong link costs no argon2 run.
#[tracing::instrument(skip_all, err)]
pub async fn accept_new(
    pool: &PgPool,
    issuer: &TokenIssuer,
    token: &str,
    name: &str,
    password: &str,
    source_ip: Option<&str>,
) -> Result<Joined, ServiceError> {
    crate::accounts::check_password(password, &[name])?;
    let name = display_name(name)?;
    let found = pending_invite(pool, token, source_ip).await?;
    let hash = hash_password(password)?;
    let acceptor = Acceptor::NewUser {
        display_name: &name,
        password_hash: &hash,
    };
    let accepted = take_up(pool, token, &found, acceptor).await?;
    Ok(Joined {
        organization_id: accepted.organization_id,
        role: accepted.role,
        tokens: Some(crate::accounts::start_session(pool, issuer, accepted.user_id).await?),
    })
}

/// Accepts as the signed-in `user`, who keeps their role if they were a member already.
#[tracing::instrument(skip_all, fields(user_id = %user), err)]
pub async fn accept_as(
    pool: &PgPool,
    user: UserId,
    token: &str,
    source_ip: Option<&str>,
) -> Result<Joined, ServiceError> {
    let found = pending_invite(pool, token, source_ip).await?;
    let accepted = take_up(pool, token, &found, Acceptor::Existing(user)).await?;
    Ok(Joined {
        organization_id: accepted.organization_id,
        role: accepted.role,
        tokens: None,
    })
}
