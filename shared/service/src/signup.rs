//! Self-service sign-up: a new account and a new org it administers, governed by
//! `NEXIFY_SIGNUP` (`open`, `invite-only` or `off`).

use nexify_auth::{TokenIssuer, hash_password};
use nexify_domain::{Email, InvalidInput, Role};
use nexify_storage::{PgPool, StorageError, users};

use crate::ServiceError;
use crate::accounts::{check_password, start_session};
use crate::invites::Joined;

/// Who may sign up without an invite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupPolicy {
    /// Anyone: a new org each time.
    Open,
    /// Only through an admin's invite link; sign-up itself is refused.
    InviteOnly,
    Off,
}

impl SignupPolicy {
    /// From `NEXIFY_SIGNUP`; unset is `off`, so a deployment opens sign-up on purpose.
    pub fn from_env() -> Result<Self, InvalidInput> {
        match std::env::var("NEXIFY_SIGNUP").as_deref() {
            Ok("open") => Ok(Self::Open),
            Ok("invite-only") => Ok(Self::InviteOnly),
            Ok("off") | Err(_) => Ok(Self::Off),
            Ok(_) => Err(InvalidInput::new(
                "NEXIFY_SIGNUP",
                "must be open, invite-only or off",
            )),
        }
    }
}

/// `Acme Support, Inc.` → `acme-support-inc`: lowercase letters and digits joined by
/// single dashes, at most 50 characters (room for a suffix when the slug is taken).
pub fn slug_of(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 50 {
            break;
        }
    }
    slug.trim_end_matches('-').to_owned()
}

fn text(field: &'static str, raw: &str, max: usize) -> Result<String, InvalidInput> {
    let value = raw.trim();
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            field,
            format!("must be at most {max} characters, without control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// What a sign-up asks for.
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub display_name: &'a str,
    pub organization_name: &'a str,
}

/// Creates the account and its org, and signs it in.
#[tracing::instrument(skip_all, err)]
pub async fn sign_up(
    pool: &PgPool,
    issuer: &TokenIssuer,
    policy: SignupPolicy,
    new: &NewAccount<'_>,
) -> Result<Joined, ServiceError> {
    match policy {
        SignupPolicy::Open => {}
        SignupPolicy::InviteOnly => {
            return Err(ServiceError::Forbidden(
                "sign-up is by invitation: ask an admin of your organization for an invite link",
            ));
        }
        SignupPolicy::Off => return Err(ServiceError::Forbidden("sign-up is turned off")),
    }
    let email = Email::parse("email", new.email)?;
    check_password(
        new.password,
        &[new.email, new.display_name, new.organization_name],
    )?;
    let name = text("display_name", new.display_name, 200)?;
    let org_name = text("organization_name", new.organization_name, 200)?;
    if org_name.is_empty() {
        return Err(InvalidInput::new("organization_name", "must not be empty").into());
    }
    let base = match slug_of(&org_name) {
        s if s.is_empty() => "org".to_owned(),
        s => s,
    };
    let hash = hash_password(new.password)?;
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    // A taken slug gets a random suffix; a second clash is too unlikely to retry again.
    let mut slug = base.clone();
    for attempt in 0..2 {
        match users::sign_up(&mut conn, &email, &name, &hash, &org_name, &slug).await {
            Ok((user, org)) => {
                drop(conn);
                tracing::info!(user_id = %user, org_id = %org, "signed up");
                return Ok(Joined {
                    organization_id: org,
                    role: Role::Admin,
                    tokens: Some(start_session(pool, issuer, user).await?),
                });
            }
            Err(StorageError::Conflict { constraint })
                if constraint == "organizations_slug_unique" && attempt == 0 =>
            {
                let (token, _) = nexify_auth::one_time::issue();
                slug = format!("{base}-{}", &token[..6]);
            }
            Err(StorageError::Conflict { constraint }) if constraint == "users_email_unique" => {
                return Err(ServiceError::Conflict(
                    "this email already has an account: sign in instead".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::Conflict(
        "that organization name is taken: choose another".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_letters_and_digits_joined_by_single_dashes() {
        assert_eq!(slug_of("Acme Support, Inc."), "acme-support-inc");
        assert_eq!(slug_of("  Team 42  "), "team-42");
        assert_eq!(slug_of("!!!"), "");
        assert!(slug_of(&"x".repeat(80)).len() <= 50);
    }
}
