//! Credentials for Nexify.
//!
//! - Passwords: argon2id PHC strings ([`hash_password`], [`verify_password`]).
//! - Tokens: EdDSA JWTs with a `kid`, `iss`, `aud`, `exp`, `iat`, `sub` and a `typ` claim
//!   ([`tokens`]): only `auth` signs, every API function verifies.
//! - Webhooks: HMAC-SHA256 over `timestamp.body`, compared in constant time ([`webhook`]).

pub mod one_time;
pub mod tokens;
pub mod webhook;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};

pub use tokens::{
    ACCESS_TTL, AUDIENCE, Claims, ISSUER, REFRESH_TTL, SigningKey, TokenIssuer, TokenPair,
    TokenSigner, TokenType, TokenVerifier,
};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid")]
    InvalidToken,
    #[error("a {expected} token is required")]
    WrongTokenType { expected: &'static str },
    #[error("configuration: {0}")]
    Config(String),
    #[error("password hashing failed")]
    Hashing,
    #[error("the webhook signature is missing or does not match")]
    BadSignature,
    #[error("the webhook timestamp is missing or more than 5 minutes from now")]
    StaleTimestamp,
}

impl nexify_domain::Classify for AuthError {
    fn class(&self) -> nexify_domain::ErrorClass {
        match self {
            AuthError::Config(_) | AuthError::Hashing => nexify_domain::ErrorClass::Internal,
            other => nexify_domain::ErrorClass::Unauthorized(other.to_string()),
        }
    }
}

/// An argon2id PHC string for `password`, with the crate's recommended parameters.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| AuthError::Hashing)
}

static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn dummy_hash() -> &'static str {
    DUMMY.get_or_init(|| hash_password("not a real password").unwrap_or_default())
}

/// Computes the dummy hash that unknown emails are verified against, so that the first
/// such sign-in is not the faster one. Call once at start-up.
pub fn warm_up() {
    dummy_hash();
}

/// Whether `password` matches `hash`. With no hash (unknown user) it still runs a full
/// verification against a dummy hash, so response time does not reveal which emails exist.
pub fn verify_password(hash: Option<&str>, password: &str) -> bool {
    let target = hash.unwrap_or_else(|| dummy_hash());
    let ok = argon2::Argon2::default()
        .verify_password(password.as_bytes(), target)
        .is_ok();
    ok && hash.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("s3cret-pass").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(Some(&hash), "s3cret-pass"));
        assert!(!verify_password(Some(&hash), "wrong"));
        assert!(!verify_password(None, "s3cret-pass"));
    }
}
