//! Credentials for Nexify.
//!
//! - Passwords: argon2id PHC strings ([`hash_password`], [`verify_password`]).
//! - Tokens: HS256 JWTs with `iss`, `aud`, `exp`, `iat`, `sub` and a `typ` claim, so a
//!   refresh token is never accepted where an access token is wanted ([`TokenIssuer`]).
//! - Webhooks: HMAC-SHA256 over `timestamp.body`, compared in constant time ([`webhook`]).

pub mod one_time;
pub mod webhook;

use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use nexify_domain::UserId;
use serde::{Deserialize, Serialize};

pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
pub const REFRESH_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
pub const MIN_SECRET_BYTES: usize = 32;
pub const ISSUER: &str = "nexify";
pub const AUDIENCE: &str = "nexify-api";

/// Used only when `NEXIFY_ENV=local` and no `JWT_SECRET` is set.
const LOCAL_DEV_SECRET: &str = "local-development-only-jwt-secret-0123456789";

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    Access,
    Refresh,
}

impl TokenType {
    fn name(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: UserId,
    pub iat: i64,
    pub exp: i64,
    pub typ: TokenType,
}

/// What a successful sign-in or refresh returns. The refresh token is single-use: each
/// refresh answers its successor.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access: String,
    /// Absent for the console in a browser, which gets it as an `HttpOnly` cookie instead.
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(required = false)]
    pub refresh: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// Issues and verifies tokens with one HS256 secret. Built once at start-up.
#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenIssuer { .. }")
    }
}

impl TokenIssuer {
    pub fn new(secret: &[u8]) -> Result<Self, AuthError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(AuthError::Config(format!(
                "JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.leeway = 5;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        })
    }

    /// `JWT_SECRET`, required outside local development (`NEXIFY_ENV=local`), where a fixed
    /// development secret stands in. Refusing to start beats running with a guessable key.
    pub fn from_env() -> Result<Self, AuthError> {
        match std::env::var("JWT_SECRET") {
            Ok(secret) => Self::new(secret.as_bytes()),
            Err(_) if std::env::var("NEXIFY_ENV").is_ok_and(|e| e == "local") => {
                tracing::warn!("JWT_SECRET is not set; using the local development secret");
                Self::new(LOCAL_DEV_SECRET.as_bytes())
            }
            Err(_) => Err(AuthError::Config(
                "JWT_SECRET is not set (only NEXIFY_ENV=local may run without it)".into(),
            )),
        }
    }

    fn issue(&self, user: UserId, typ: TokenType, ttl: Duration) -> Result<String, AuthError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user,
            iat: now,
            exp: now + ttl.as_secs() as i64,
            typ,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| AuthError::InvalidToken)
    }

    pub fn issue_access(&self, user: UserId) -> Result<String, AuthError> {
        self.issue(user, TokenType::Access, ACCESS_TTL)
    }

    /// A new access token, paired with `refresh`: the opaque token of the server-side
    /// session it belongs to ([`one_time`]).
    pub fn pair(&self, user: UserId, refresh: String) -> Result<TokenPair, AuthError> {
        Ok(TokenPair {
            access: self.issue_access(user)?,
            refresh,
            expires_in: ACCESS_TTL.as_secs(),
        })
    }

    /// Verifies signature, algorithm (HS256 only, so `alg: none` fails), issuer, audience,
    /// expiry and token type; returns the user.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<UserId, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::InvalidToken,
            })?;
        if data.claims.typ != expected {
            return Err(AuthError::WrongTokenType {
                expected: expected.name(),
            });
        }
        Ok(data.claims.sub)
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
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(&[7u8; 32]).unwrap()
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(
            TokenIssuer::new(b"short"),
            Err(AuthError::Config(_))
        ));
    }

    #[test]
    fn access_tokens_round_trip_and_refresh_is_not_access() {
        let user = UserId::new_random();
        let pair = issuer().pair(user, "opaque".into()).unwrap();
        assert_eq!(pair.expires_in, 900);
        assert_eq!(
            issuer().verify(&pair.access, TokenType::Access).unwrap(),
            user
        );
        // A token typed otherwise, though signed with the same key, is not an access token.
        let refresh_typed = issuer()
            .issue(user, TokenType::Refresh, REFRESH_TTL)
            .unwrap();
        assert!(matches!(
            issuer().verify(&refresh_typed, TokenType::Access),
            Err(AuthError::WrongTokenType { .. })
        ));
        assert!(matches!(
            issuer().verify(&pair.access, TokenType::Refresh),
            Err(AuthError::WrongTokenType { .. })
        ));
    }

    #[test]
    fn tampered_foreign_and_unsigned_tokens_are_refused() {
        let user = UserId::new_random();
        let token = issuer().issue_access(user).unwrap();
        // Signed with another key.
        let other = TokenIssuer::new(&[9u8; 32])
            .unwrap()
            .issue_access(user)
            .unwrap();
        assert!(matches!(
            issuer().verify(&other, TokenType::Access),
            Err(AuthError::InvalidToken)
        ));
        // A changed payload under the original signature.
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = serde_json::json!(UserId::new_random());
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            parts[2]
        );
        assert!(matches!(
            issuer().verify(&forged, TokenType::Access),
            Err(AuthError::InvalidToken)
        ));
        // alg: none with no signature.
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert!(matches!(
            issuer().verify(&unsigned, TokenType::Access),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn expired_tokens_are_refused_as_expired() {
        let i = issuer();
        let user = UserId::new_random();
        let token = i.issue(user, TokenType::Access, Duration::ZERO).unwrap();
        // Issue one that expired a minute ago by hand.
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user,
            iat: now - 120,
            exp: now - 60,
            typ: TokenType::Access,
        };
        let expired =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &i.encoding).unwrap();
        assert!(matches!(
            i.verify(&expired, TokenType::Access),
            Err(AuthError::Expired)
        ));
        // Zero TTL is still inside the 5-second leeway.
        assert!(i.verify(&token, TokenType::Access).is_ok());
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
