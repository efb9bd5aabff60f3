//! Throttling of failed authentication, per account and per source address, counted in
//! Postgres (no other service): over the limit, the attempt is refused with the seconds to
//! wait, before any password is hashed.

use nexify_domain::Email;
use nexify_storage::{PgConnection, throttle};

use crate::ServiceError;

/// The counting window.
pub const WINDOW_SECONDS: i32 = 15 * 60;
/// Failed sign-ins an account may have per window.
pub const ACCOUNT_FAILURES: i32 = 5;
/// Failed attempts (any account, or invite links) one address may make per window: enough
/// for an office behind one NAT, too few for guessing.
pub const ADDRESS_FAILURES: i32 = 50;

/// The counters one attempt is held to.
#[derive(Debug, Clone)]
pub struct Attempt {
    keys: Vec<String>,
    limits: Vec<i32>,
    account: Option<String>,
}

impl Attempt {
    pub fn sign_in(email: &Email, source_ip: Option<&str>) -> Self {
        let account = format!("account:{}", email.as_str());
        let mut attempt = Self {
            keys: vec![account.clone()],
            limits: vec![ACCOUNT_FAILURES],
            account: Some(account),
        };
        attempt.add_address(source_ip);
        attempt
    }

    /// Asking for a password reset: every request counts (each sends a mail), against the
    /// account and the address; no success clears it. The address has a budget of its own,
    /// so resets asked for from an office cannot lock its sign-ins out.
    pub fn reset_request(email: &Email, source_ip: Option<&str>) -> Self {
        let mut attempt = Self {
            keys: vec![format!("reset:{}", email.as_str())],
            limits: vec![ACCOUNT_FAILURES],
            account: None,
        };
        attempt.add_address_as("reset-ip", source_ip);
        attempt
    }

    /// Presenting a token (an invite's, a password reset's): counted by address (a token
    /// is too long to guess, but each try costs a look-up).
    pub fn token(source_ip: Option<&str>) -> Self {
        let mut attempt = Self {
            keys: Vec::new(),
            limits: Vec::new(),
            account: None,
        };
        attempt.add_address(source_ip);
        attempt
    }

    fn add_address(&mut self, source_ip: Option<&str>) {
        self.add_address_as("ip", source_ip);
    }

    fn add_address_as(&mut self, prefix: &str, source_ip: Option<&str>) {
        if let Some(ip) = source_ip.filter(|ip| !ip.is_empty()) {
            self.keys.push(format!("{prefix}:{ip}"));
            self.limits.push(ADDRESS_FAILURES);
        }
    }

    /// Refuses the attempt while any of its counters is over its limit.
    pub async fn check(&self, conn: &mut PgConnection) -> Result<(), ServiceError> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let wait = throttle::wait_seconds(conn, &self.keys, &self.limits, WINDOW_SECONDS).await?;
        if wait > 0 {
            tracing::warn!(
                retry_after_seconds = wait,
                "authentication attempt throttled"
            );
            return Err(ServiceError::Throttled {
                retry_after_seconds: wait as u32,
            });
        }
        Ok(())
    }

    pub async fn failed(&self, conn: &mut PgConnection) -> Result<(), ServiceError> {
        if !self.keys.is_empty() {
            throttle::failed(conn, &self.keys, WINDOW_SECONDS).await?;
        }
        Ok(())
    }

    /// A success clears the account's count (the address's keeps counting down).
    pub async fn succeeded(&self, conn: &mut PgConnection) -> Result<(), ServiceError> {
        if let Some(account) = &self.account {
            throttle::succeeded(conn, account).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_requests_spend_a_budget_of_their_own() {
        let email = Email::parse("email", "a@example.com").unwrap();
        let sign_in = Attempt::sign_in(&email, Some("10.0.0.1"));
        let reset = Attempt::reset_request(&email, Some("10.0.0.1"));
        assert!(sign_in.keys.contains(&"ip:10.0.0.1".to_owned()));
        assert!(
            reset.keys.iter().all(|k| !sign_in.keys.contains(k)),
            "{:?}",
            reset.keys
        );
        assert_eq!(reset.keys.len(), 2);
    }
}
