//! Webhook request signing. A sender puts the unix time in `X-Nexify-Timestamp` and
//! `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` in `X-Nexify-Signature`.
//! Binding the timestamp into the MAC and refusing times more than five minutes away
//! bounds replays; `external_id` idempotency makes a replay inside the window harmless.

use aws_lc_rs::{hmac, rand};

use crate::AuthError;

pub const TIMESTAMP_HEADER: &str = "x-nexify-timestamp";
pub const SIGNATURE_HEADER: &str = "x-nexify-signature";
pub const MAX_SKEW_SECONDS: i64 = 300;

fn mac_input(timestamp: &str, body: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(timestamp.len() + 1 + body.len());
    input.extend_from_slice(timestamp.as_bytes());
    input.push(b'.');
    input.extend_from_slice(body);
    input
}

/// The signature header value for `body` sent at `timestamp` (for senders and tests).
pub fn sign(secret: impl AsRef<[u8]>, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref());
    let tag = hmac::sign(&key, &mac_input(&timestamp.to_string(), body));
    format!("sha256={}", hex::encode(tag.as_ref()))
}

/// A request's signature headers, checked for everything that needs no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders<'a> {
    timestamp: &'a str,
    tag: Vec<u8>,
}

/// Checks what can be checked without the org's secret: the timestamp is present and within
/// five minutes of `now`, and the signature is a well-formed `sha256=<64 hex digits>`. A
/// request that fails here is refused before any database lookup.
pub fn precheck<'a>(
    timestamp: Option<&'a str>,
    signature: Option<&str>,
    now: i64,
) -> Result<SignedHeaders<'a>, AuthError> {
    let timestamp = timestamp.ok_or(AuthError::StaleTimestamp)?.trim();
    let sent_at: i64 = timestamp.parse().map_err(|_| AuthError::StaleTimestamp)?;
    if (now - sent_at).abs() > MAX_SKEW_SECONDS {
        return Err(AuthError::StaleTimestamp);
    }
    let tag = signature
        .and_then(|s| s.trim().strip_prefix("sha256="))
        .and_then(|hex_tag| hex::decode(hex_tag).ok())
        .filter(|tag| tag.len() == 32)
        .ok_or(AuthError::BadSignature)?;
    Ok(SignedHeaders { timestamp, tag })
}

/// Checks prechecked headers against the body with the org's secret. The MAC comparison is
/// constant-time (aws-lc's `hmac::verify`).
impl SignedHeaders<'_> {
    /// The request's MAC: what identifies it for replay detection.
    pub fn tag(&self) -> &[u8] {
        &self.tag
    }
}

pub fn verify_with(
    secret: impl AsRef<[u8]>,
    headers: &SignedHeaders<'_>,
    body: &[u8],
) -> Result<(), AuthError> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_ref());
    hmac::verify(&key, &mac_input(headers.timestamp, body), &headers.tag)
        .map_err(|_| AuthError::BadSignature)
}

/// Checks the headers against the body and `now` (unix seconds): [`precheck`], then
/// [`verify_with`].
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), AuthError> {
    verify_with(secret, &precheck(timestamp, signature, now)?, body)
}

/// A new random secret: 32 bytes, hex-encoded (64 characters).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes).expect("the system RNG is available");
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_signed_body_verifies() {
        let sig = sign(SECRET, 1_700_000_000, b"{\"a\":1}");
        assert!(
            verify(
                SECRET,
                Some("1700000000"),
                Some(&sig),
                b"{\"a\":1}",
                1_700_000_100
            )
            .is_ok()
        );
    }

    #[test]
    fn changed_body_timestamp_or_secret_fail() {
        let sig = sign(SECRET, 1_700_000_000, b"{\"a\":1}");
        let now = 1_700_000_000;
        assert!(matches!(
            verify(SECRET, Some("1700000000"), Some(&sig), b"{\"a\":2}", now),
            Err(AuthError::BadSignature)
        ));
        assert!(matches!(
            verify(SECRET, Some("1700000001"), Some(&sig), b"{\"a\":1}", now),
            Err(AuthError::BadSignature)
        ));
        assert!(matches!(
            verify(
                "another-secret-another-secret-xx",
                Some("1700000000"),
                Some(&sig),
                b"{\"a\":1}",
                now
            ),
            Err(AuthError::BadSignature)
        ));
        assert!(matches!(
            verify(SECRET, Some("1700000000"), None, b"{\"a\":1}", now),
            Err(AuthError::BadSignature)
        ));
        assert!(matches!(
            verify(
                SECRET,
                Some("1700000000"),
                Some("sha256=zz"),
                b"{\"a\":1}",
                now
            ),
            Err(AuthError::BadSignature)
        ));
    }

    #[test]
    fn the_precheck_refuses_missing_malformed_and_stale_headers_without_a_secret() {
        let now = 1_700_000_000;
        let good = sign(SECRET, now, b"x");
        assert!(precheck(Some("1700000000"), Some(&good), now).is_ok());
        for (ts, sig) in [
            (None, Some(good.as_str())),
            (Some("1700000000"), None),
            (Some("1700000000"), Some("sha256=abcd")), // not 32 bytes
            (Some("1700000000"), Some("md5=00")),
            (Some("soon"), Some(good.as_str())),
            (Some("1699999000"), Some(good.as_str())), // 1000 s old
        ] {
            assert!(precheck(ts, sig, now).is_err(), "{ts:?} {sig:?}");
        }
        // What passes the precheck still needs the right secret and body.
        let headers = precheck(Some("1700000000"), Some(&good), now).unwrap();
        assert!(verify_with(SECRET, &headers, b"x").is_ok());
        assert!(verify_with(SECRET, &headers, b"y").is_err());
    }

    #[test]
    fn timestamps_more_than_five_minutes_away_fail() {
        let sig = sign(SECRET, 1_700_000_000, b"x");
        assert!(matches!(
            verify(SECRET, Some("1700000000"), Some(&sig), b"x", 1_700_000_301),
            Err(AuthError::StaleTimestamp)
        ));
        assert!(matches!(
            verify(SECRET, Some("1700000000"), Some(&sig), b"x", 1_699_999_699),
            Err(AuthError::StaleTimestamp)
        ));
        assert!(matches!(
            verify(SECRET, None, Some(&sig), b"x", 1_700_000_000),
            Err(AuthError::StaleTimestamp)
        ));
        assert!(matches!(
            verify(SECRET, Some("soon"), Some(&sig), b"x", 1_700_000_000),
            Err(AuthError::StaleTimestamp)
        ));
    }

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let a = generate_secret();
        assert_eq!(a.len(), 64);
        assert_ne!(a, generate_secret());
    }
}
