//! Access tokens: EdDSA (Ed25519) JWTs with a `kid`. Only `auth` holds a private key
//! ([`TokenSigner`]); every function that checks tokens holds the public keys
//! ([`TokenVerifier`]), which may name two during a rotation. The algorithm is pinned, so
//! `alg: none` and HS256 tokens are refused whatever they claim.

use std::collections::HashMap;
use std::time::Duration;

use aws_lc_rs::signature::KeyPair;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use nexify_domain::UserId;
use serde::{Deserialize, Serialize};

use crate::AuthError;

pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
pub const REFRESH_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
pub const ISSUER: &str = "nexify";
pub const AUDIENCE: &str = "nexify-api";

/// The development key pair, for `NEXIFY_ENV=local` only: anyone can read it here, so a
/// verifier outside local mode refuses its public key.
pub const LOCAL_KID: &str = "local-dev";
const LOCAL_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIDT5rYOS2Zam63Uug+9OyWIbsZw9yScE4DINz+haAugz
-----END PRIVATE KEY-----
";
const LOCAL_PUBLIC_KEY: &str = "_0Gz6Yedq5TR4pDTbksFiMQ4IjXH7GO6l1CiW1FxfwM";

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

fn valid_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= 64
        && kid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A private signing key as stored in Secrets Manager: `{"kid", "private_key"}`, the key a
/// PKCS#8 PEM.
#[derive(Clone, Deserialize, Serialize)]
pub struct SigningKey {
    pub kid: String,
    pub private_key: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new Ed25519 key: the secret to store, and its `kid:x` public entry for
    /// `JWT_PUBLIC_KEYS`.
    pub fn generate(kid: &str) -> Result<(Self, String), AuthError> {
        if !valid_kid(kid) {
            return Err(AuthError::Config(format!(
                "key id '{kid}': use 1 to 64 letters, digits, '-', '_' or '.'"
            )));
        }
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| AuthError::Config("the system could not make a key".into()))?;
        let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
            .map_err(|_| AuthError::Config("the new key does not parse".into()))?;
        let public = base64_url(pair.public_key().as_ref());
        let key = Self {
            kid: kid.to_owned(),
            private_key: pem("PRIVATE KEY", pkcs8.as_ref()),
        };
        Ok((key, format!("{kid}:{public}")))
    }

    /// The development key ([`LOCAL_KID`]).
    pub fn local() -> Self {
        Self {
            kid: LOCAL_KID.to_owned(),
            private_key: LOCAL_PRIVATE_KEY.to_owned(),
        }
    }
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The DER inside a PEM block (jsonwebtoken's own PEM parsing is a feature that pulls in
/// another crate for these few lines).
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// Checks access tokens against the public keys by `kid`. Built once at start-up.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<&String> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("TokenVerifier")
            .field("kids", &kids)
            .finish()
    }
}

impl TokenVerifier {
    /// `kid:x` entries, comma-separated: `x` is the Ed25519 public key, base64url (a JWK's
    /// `x`). Two entries while keys rotate.
    pub fn new(public_keys: &str) -> Result<Self, AuthError> {
        let mut keys = HashMap::new();
        for entry in public_keys
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (kid, x) = entry.split_once(':').ok_or_else(|| {
                AuthError::Config(format!("JWT_PUBLIC_KEYS: '{entry}' is not kid:key"))
            })?;
            if !valid_kid(kid) {
                return Err(AuthError::Config(format!(
                    "JWT_PUBLIC_KEYS: '{kid}' is not a key id"
                )));
            }
            let key = DecodingKey::from_ed_components(x).map_err(|_| {
                AuthError::Config(format!(
                    "JWT_PUBLIC_KEYS: the key of '{kid}' is not base64url"
                ))
            })?;
            if keys.insert(kid.to_owned(), key).is_some() {
                return Err(AuthError::Config(format!(
                    "JWT_PUBLIC_KEYS names '{kid}' twice"
                )));
            }
        }
        if keys.is_empty() {
            return Err(AuthError::Config("JWT_PUBLIC_KEYS names no key".into()));
        }
        // Only EdDSA: a token whose header says anything else fails before its signature.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.leeway = 5;
        Ok(Self { keys, validation })
    }

    /// `JWT_PUBLIC_KEYS`. In local mode (`NEXIFY_ENV=local`) it defaults to the development
    /// key; elsewhere it is required and may not list the development key.
    pub fn from_env() -> Result<Self, AuthError> {
        let local = std::env::var("NEXIFY_ENV").is_ok_and(|e| e == "local");
        Self::for_deployment(std::env::var("JWT_PUBLIC_KEYS").ok().as_deref(), local)
    }

    pub fn for_deployment(public_keys: Option<&str>, local: bool) -> Result<Self, AuthError> {
        match public_keys {
            Some(keys) if !local && keys.split(',').any(|e| e.contains(LOCAL_PUBLIC_KEY)) => {
                Err(AuthError::Config(
                    "JWT_PUBLIC_KEYS lists the development key, which only NEXIFY_ENV=local may use"
                        .into(),
                ))
            }
            Some(keys) => Self::new(keys),
            None if local => Self::new(&format!("{LOCAL_KID}:{LOCAL_PUBLIC_KEY}")),
            None => Err(AuthError::Config(
                "JWT_PUBLIC_KEYS is not set (only NEXIFY_ENV=local may run without it)".into(),
            )),
        }
    }

    /// Verifies the key id, signature, algorithm (EdDSA only), issuer, audience, expiry and
    /// token type; returns the user.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<UserId, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::InvalidToken)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(AuthError::InvalidToken)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                    _ => AuthError::InvalidToken,
                }
            })?;
        if data.claims.typ != expected {
            return Err(AuthError::WrongTokenType {
                expected: expected.name(),
            });
        }
        Ok(data.claims.sub)
    }
}

/// Signs access tokens with the one private key. Only `auth` has one.
#[derive(Clone)]
pub struct TokenSigner {
    kid: String,
    encoding: EncodingKey,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    pub fn new(key: &SigningKey) -> Result<Self, AuthError> {
        if !valid_kid(&key.kid) {
            return Err(AuthError::Config(format!(
                "the signing key's kid '{}' is not a key id",
                key.kid
            )));
        }
        let not_a_key = || AuthError::Config("the signing key is not an Ed25519 PKCS#8 PEM".into());
        let der = pem_der(&key.private_key).ok_or_else(not_a_key)?;
        aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&der).map_err(|_| not_a_key())?;
        let encoding = EncodingKey::from_ed_der(&der);
        Ok(Self {
            kid: key.kid.clone(),
            encoding,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
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
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(|_| AuthError::InvalidToken)
    }
}

/// What `auth` holds: its signer, and the verifier every API function has. Refuses a signer
/// whose tokens the verifier would not accept.
#[derive(Clone, Debug)]
pub struct TokenIssuer {
    signer: TokenSigner,
    verifier: TokenVerifier,
}

impl TokenIssuer {
    pub fn new(signer: TokenSigner, verifier: TokenVerifier) -> Result<Self, AuthError> {
        let issuer = Self { signer, verifier };
        let probe = issuer.issue_access(UserId::new_random())?;
        issuer
            .verifier
            .verify(&probe, TokenType::Access)
            .map_err(|_| {
                AuthError::Config(format!(
                    "JWT_PUBLIC_KEYS lacks the public key of the signing key '{}'",
                    issuer.signer.kid
                ))
            })?;
        Ok(issuer)
    }

    /// The development pair, for tests and local runs.
    pub fn local() -> Self {
        let signer = TokenSigner::new(&SigningKey::local()).expect("the development key parses");
        let verifier =
            TokenVerifier::for_deployment(None, true).expect("the development key parses");
        Self::new(signer, verifier).expect("the development pair matches")
    }

    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    pub fn issue_access(&self, user: UserId) -> Result<String, AuthError> {
        self.signer.issue(user, TokenType::Access, ACCESS_TTL)
    }

    /// A new access token, paired with `refresh`: the opaque token of the server-side
    /// session it belongs to ([`crate::one_time`]).
    pub fn pair(&self, user: UserId, refresh: String) -> Result<TokenPair, AuthError> {
        Ok(TokenPair {
            access: self.issue_access(user)?,
            refresh,
            expires_in: ACCESS_TTL.as_secs(),
        })
    }

    pub fn verify(&self, token: &str, expected: TokenType) -> Result<UserId, AuthError> {
        self.verifier.verify(token, expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys(kid: &str) -> (TokenSigner, String) {
        let (key, public) = SigningKey::generate(kid).unwrap();
        (TokenSigner::new(&key).unwrap(), public)
    }

    #[test]
    fn access_tokens_round_trip_and_refresh_is_not_access() {
        let (signer, public) = keys("k1");
        let issuer =
            TokenIssuer::new(signer.clone(), TokenVerifier::new(&public).unwrap()).unwrap();
        let user = UserId::new_random();
        let pair = issuer.pair(user, "opaque".into()).unwrap();
        assert_eq!(pair.expires_in, 900);
        assert_eq!(
            issuer.verify(&pair.access, TokenType::Access).unwrap(),
            user
        );
        let header = jsonwebtoken::decode_header(&pair.access).unwrap();
        assert_eq!(
            (header.alg, header.kid.as_deref()),
            (Algorithm::EdDSA, Some("k1"))
        );
        // A token typed otherwise, though signed with the same key, is not an access token.
        let refresh_typed = signer.issue(user, TokenType::Refresh, REFRESH_TTL).unwrap();
        assert!(matches!(
            issuer.verify(&refresh_typed, TokenType::Access),
            Err(AuthError::WrongTokenType { .. })
        ));
        assert!(matches!(
            issuer.verify(&pair.access, TokenType::Refresh),
            Err(AuthError::WrongTokenType { .. })
        ));
    }

    #[test]
    fn two_keys_are_accepted_while_rotating_and_the_old_one_stops_after() {
        let (old, old_public) = keys("2026-11");
        let (new, new_public) = keys("2026-12");
        let user = UserId::new_random();
        let by_old = old.issue(user, TokenType::Access, ACCESS_TTL).unwrap();
        let by_new = new.issue(user, TokenType::Access, ACCESS_TTL).unwrap();
        let both = TokenVerifier::new(&format!("{old_public}, {new_public}")).unwrap();
        assert_eq!(both.verify(&by_old, TokenType::Access).unwrap(), user);
        assert_eq!(both.verify(&by_new, TokenType::Access).unwrap(), user);
        let after = TokenVerifier::new(&new_public).unwrap();
        assert!(matches!(
            after.verify(&by_old, TokenType::Access),
            Err(AuthError::InvalidToken)
        ));
        assert_eq!(after.verify(&by_new, TokenType::Access).unwrap(), user);
        // A signer whose public key is not listed is refused at start-up.
        assert!(matches!(
            TokenIssuer::new(old, after),
            Err(AuthError::Config(_))
        ));
    }

    #[test]
    fn tampered_foreign_unsigned_hs256_and_kidless_tokens_are_refused() {
        let (signer, public) = keys("k1");
        let verifier = TokenVerifier::new(&public).unwrap();
        let user = UserId::new_random();
        let token = signer.issue(user, TokenType::Access, ACCESS_TTL).unwrap();
        let refused = |t: &str| {
            matches!(
                verifier.verify(t, TokenType::Access),
                Err(AuthError::InvalidToken)
            )
        };
        // Another key under the same kid.
        let (impostor, _) = keys("k1");
        assert!(refused(
            &impostor.issue(user, TokenType::Access, ACCESS_TTL).unwrap()
        ));
        // A changed payload under the original signature.
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = serde_json::json!(UserId::new_random());
        let forged_body = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert!(refused(&format!("{}.{forged_body}.{}", parts[0], parts[2])));
        // alg: none with no signature.
        let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        assert!(refused(&format!("{none}.{}.", parts[1])));
        // HS256 keyed with the public key (the classic confusion), under a known kid.
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some("k1".into());
        let x = public.split_once(':').unwrap().1;
        let claims: Claims = serde_json::from_value(
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap(),
        )
        .unwrap();
        let hs256 =
            jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(x.as_bytes())).unwrap();
        assert!(refused(&hs256));
        // No kid, or one nobody listed.
        let mut bare = Header::new(Algorithm::EdDSA);
        let no_kid = jsonwebtoken::encode(&bare, &claims, &signer.encoding).unwrap();
        assert!(refused(&no_kid));
        bare.kid = Some("k9".into());
        assert!(refused(
            &jsonwebtoken::encode(&bare, &claims, &signer.encoding).unwrap()
        ));
        // The untouched token still passes: the refusals above are about what changed.
        assert_eq!(verifier.verify(&token, TokenType::Access).unwrap(), user);
    }

    #[test]
    fn expired_tokens_are_refused_as_expired() {
        let (signer, public) = keys("k1");
        let verifier = TokenVerifier::new(&public).unwrap();
        let user = UserId::new_random();
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user,
            iat: now - 120,
            exp: now - 60,
            typ: TokenType::Access,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k1".into());
        let expired = jsonwebtoken::encode(&header, &claims, &signer.encoding).unwrap();
        assert!(matches!(
            verifier.verify(&expired, TokenType::Access),
            Err(AuthError::Expired)
        ));
        // Zero TTL is still inside the 5-second leeway.
        let fresh = signer
            .issue(user, TokenType::Access, Duration::ZERO)
            .unwrap();
        assert!(verifier.verify(&fresh, TokenType::Access).is_ok());
    }

    #[test]
    fn the_development_key_serves_local_mode_only() {
        assert!(TokenVerifier::for_deployment(None, true).is_ok());
        assert!(matches!(
            TokenVerifier::for_deployment(None, false),
            Err(AuthError::Config(_))
        ));
        let dev = format!("{LOCAL_KID}:{LOCAL_PUBLIC_KEY}");
        assert!(matches!(
            TokenVerifier::for_deployment(Some(&dev), false),
            Err(AuthError::Config(_))
        ));
        let user = UserId::new_random();
        let local = TokenIssuer::local();
        assert_eq!(
            local
                .verify(&local.issue_access(user).unwrap(), TokenType::Access)
                .unwrap(),
            user
        );
    }

    #[test]
    fn private_keys_must_be_ed25519_pem() {
        let (key, _) = SigningKey::generate("k1").unwrap();
        assert!(pem_der(&key.private_key).is_some());
        let not_pem = SigningKey {
            kid: "k1".into(),
            private_key: "hello".into(),
        };
        assert!(TokenSigner::new(&not_pem).is_err());
        let wrong_kid = SigningKey {
            kid: "k 1".into(),
            ..key
        };
        assert!(TokenSigner::new(&wrong_kid).is_err());
    }

    /// LocalStack serves the same development key (localstack/init/ready.d/signing_key.py).
    #[test]
    fn localstack_stores_the_development_key() {
        let stored: SigningKey = serde_json::from_str(include_str!(
            "../../../localstack/init/dev-signing-key.json"
        ))
        .unwrap();
        assert_eq!(stored.kid, SigningKey::local().kid);
        assert_eq!(stored.private_key, SigningKey::local().private_key);
    }

    #[test]
    fn public_key_lists_are_checked() {
        let (_, public) = keys("k1");
        for bad in ["", "k1", "k 1:abc", &format!("{public},{public}"), "k1:***"] {
            assert!(TokenVerifier::new(bad).is_err(), "{bad:?}");
        }
        assert!(SigningKey::generate("bad kid").is_err());
        let (key, _) = SigningKey::generate("k2").unwrap();
        assert!(format!("{key:?}").contains("k2") && !format!("{key:?}").contains("PRIVATE"));
    }
}
