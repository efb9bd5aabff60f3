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

/// What unknown emails are verified against, so that signing in as one costs a full
/// verification, as for a real account. A constant with the parameters [`hash_password`]
/// uses (a test keeps them equal): computing it at start-up cost every cold start of `auth`
/// one hashing. No password can sign in through it: [`verify_password`] refuses it whatever
/// the password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$3FALfWxVZu7plwJprtZ6SQ$atcVlX4Fehg7+nfeqjkv5IRZrg2FM0sZXGRseZ9Xm/0";

/// Whether `password` matches `hash`. With no hash (unknown user) it still runs a full
/// verification against a dummy hash, so response time does not reveal which emails exist.
pub fn verify_password(hash: Option<&str>, password: &str) -> bool {
    let target = hash.unwrap_or(DUMMY_HASH);
    let ok = argon2::Argon2::default()
        .verify_password(password.as_bytes(), target)
        .is_ok();
    ok && hash.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        use argon2::password_hash::phc::PasswordHash;
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let real_hash = hash_password("any password").unwrap();
        let real = PasswordHash::new(&real_hash).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert!(!verify_password(None, "not a real password"));
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("s3cret-pass").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(Some(&hash), "s3cret-pass"));
        assert!(!verify_password(Some(&hash), "wrong"));
        assert!(!verify_password(None, "s3cret-pass"));
    }
}
