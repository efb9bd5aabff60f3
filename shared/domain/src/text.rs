//! Validated text newtypes: the only way to get one is to parse it.

use std::fmt;

use crate::InvalidInput;

/// The longest subject a ticket may have, in characters (not bytes).
pub const SUBJECT_MAX_CHARS: usize = 300;
/// The longest ticket body, in bytes; the HTTP layer caps whole requests at 256 KiB.
pub const BODY_MAX_BYTES: usize = 200 * 1024;
/// RFC 5321's limit on a forward path.
pub const EMAIL_MAX_CHARS: usize = 254;
/// Teams and categories are short labels chosen by an org's admins.
pub const LABEL_MAX_CHARS: usize = 64;

macro_rules! text_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

/// An email address, trimmed and lowercased so that lookups and uniqueness agree.
/// Deliberately a pragmatic check (one `@`, a dotted domain, no spaces or control
/// characters), not the full RFC 5322 grammar that real mail systems do not honour either.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);
text_newtype!(Email);

impl Email {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, InvalidInput> {
        let email = raw.trim().to_lowercase();
        let bad = |reason: &str| Err(InvalidInput::new(field, reason));
        if email.is_empty() {
            return bad("must not be empty");
        }
        if email.chars().count() > EMAIL_MAX_CHARS {
            return bad("must be at most 254 characters");
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("must not contain spaces or control characters");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return bad("must be an email address like name@example.com");
        };
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return bad("must be an email address like name@example.com");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return bad("must have a domain like example.com");
        }
        Ok(Self(email))
    }
}

/// A ticket subject: trimmed, non-empty, at most [`SUBJECT_MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);
text_newtype!(Subject);

impl Subject {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let subject = raw.trim();
        if subject.is_empty() {
            return Err(InvalidInput::new("subject", "must not be empty"));
        }
        if subject.chars().count() > SUBJECT_MAX_CHARS {
            return Err(InvalidInput::new(
                "subject",
                format!("must be at most {SUBJECT_MAX_CHARS} characters"),
            ));
        }
        if subject.chars().any(|c| c.is_control()) {
            return Err(InvalidInput::new(
                "subject",
                "must not contain control characters",
            ));
        }
        Ok(Self(subject.to_owned()))
    }
}

/// A ticket body: free text (may be empty), at most [`BODY_MAX_BYTES`] bytes, no NUL bytes
/// (Postgres text cannot hold them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketBody(String);
text_newtype!(TicketBody);

impl TicketBody {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.len() > BODY_MAX_BYTES {
            return Err(InvalidInput::new(
                "body",
                format!("must be at most {BODY_MAX_BYTES} bytes"),
            ));
        }
        if raw.contains('\0') {
            return Err(InvalidInput::new("body", "must not contain NUL bytes"));
        }
        Ok(Self(raw.trim().to_owned()))
    }
}

/// A team or category name from an org's settings: trimmed, 1 to 64 characters, printable,
/// without markup characters (`<`, `>`, `"`, `\`, backtick), so labels are safe to show anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label(String);
text_newtype!(Label);

impl Label {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, InvalidInput> {
        let label = raw.trim();
        if label.is_empty() || label.chars().count() > LABEL_MAX_CHARS {
            return Err(InvalidInput::new(
                field,
                format!("must be 1 to {LABEL_MAX_CHARS} characters"),
            ));
        }
        if label
            .chars()
            .any(|c| c.is_control() || matches!(c, '<' | '>' | '"' | '\\' | '`'))
        {
            return Err(InvalidInput::new(
                field,
                "may not hold control characters or < > \" \\ `",
            ));
        }
        Ok(Self(label.to_owned()))
    }
}

/// A page size from a query string: a whole number from 1 to `max`; `None` is `default`.
pub fn parse_limit(raw: Option<&str>, default: i64, max: i64) -> Result<i64, InvalidInput> {
    match raw {
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                InvalidInput::new("limit", format!("must be a whole number from 1 to {max}"))
            }),
        None => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        let e = Email::parse("email", "  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn malformed_emails_are_refused_with_the_field_named() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada@exa mple.com",
            "ada@-x.com",
            "ada@x..com",
        ] {
            let err = Email::parse("requester_email", bad).unwrap_err();
            assert_eq!(err.field, "requester_email", "{bad}");
        }
    }

    #[test]
    fn subject_limits_count_characters_not_bytes() {
        let ok = "é".repeat(SUBJECT_MAX_CHARS);
        assert!(Subject::parse(&ok).is_ok());
        let too_long = "é".repeat(SUBJECT_MAX_CHARS + 1);
        assert_eq!(Subject::parse(&too_long).unwrap_err().field, "subject");
        assert!(Subject::parse("   ").is_err());
        assert_eq!(
            Subject::parse("  Card declined  ").unwrap().as_str(),
            "Card declined"
        );
    }

    #[test]
    fn bodies_refuse_nul_and_oversize() {
        assert!(TicketBody::parse("a\0b").is_err());
        assert!(TicketBody::parse(&"x".repeat(BODY_MAX_BYTES + 1)).is_err());
        assert_eq!(TicketBody::parse("").unwrap().as_str(), "");
    }

    #[test]
    fn limits_are_whole_numbers_within_bounds() {
        assert_eq!(parse_limit(None, 25, 100), Ok(25));
        assert_eq!(parse_limit(Some("100"), 25, 100), Ok(100));
        for bad in ["0", "101", "-1", "ten", ""] {
            assert_eq!(
                parse_limit(Some(bad), 25, 100).unwrap_err().field,
                "limit",
                "{bad}"
            );
        }
        assert!(
            parse_limit(Some("101"), 25, 100)
                .unwrap_err()
                .reason
                .contains("1 to 100")
        );
    }

    #[test]
    fn labels_allow_ordinary_team_names() {
        assert!(Label::parse("team", "Billing & Payments").is_ok());
        assert!(Label::parse("team", "tier-2/ops").is_ok());
        assert!(Label::parse("category", "reverted_card_payment?").is_ok());
        assert!(Label::parse("team", "a\tb").is_err());
        assert!(Label::parse("team", "<script>").is_err());
        assert!(Label::parse("team", "").is_err());
    }

    proptest! {
        #[test]
        fn parsed_emails_are_stable_under_reparsing(local in "[a-z0-9._%+-]{1,20}", domain in "[a-z0-9]{1,10}", tld in "[a-z]{2,6}") {
            let raw = format!("{local}@{domain}.{tld}");
            let once = Email::parse("email", &raw).unwrap();
            let twice = Email::parse("email", once.as_str()).unwrap();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn email_parser_never_panics_and_accepts_only_one_at(raw in "\\PC{0,80}") {
            if let Ok(email) = Email::parse("email", &raw) {
                prop_assert_eq!(email.as_str().matches('@').count(), 1);
                prop_assert!(!email.as_str().contains(' '));
            }
        }

        #[test]
        fn accepted_subjects_are_trimmed_and_within_limits(raw in "\\PC{0,400}") {
            if let Ok(subject) = Subject::parse(&raw) {
                prop_assert!(!subject.as_str().is_empty());
                prop_assert!(subject.as_str().chars().count() <= SUBJECT_MAX_CHARS);
                prop_assert_eq!(subject.as_str(), subject.as_str().trim());
            }
        }
    }
}

/// `raw` trimmed, when it is not empty, at most `max` long as `len` measures, and every
/// character passes `allowed`.
fn bounded(
    raw: &str,
    len: impl Fn(&str) -> usize,
    max: usize,
    allowed: impl Fn(char) -> bool,
) -> Option<&str> {
    let s = raw.trim();
    (!s.is_empty() && len(s) <= max && s.chars().all(allowed)).then_some(s)
}

/// The longest external id (another system's id for a ticket), in characters.
pub const EXTERNAL_ID_MAX_CHARS: usize = 200;

/// Another system's id for a ticket, unique per org: trimmed, 1 to
/// [`EXTERNAL_ID_MAX_CHARS`] characters, no control characters (NUL among them, which
/// Postgres text cannot hold).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalId(String);
text_newtype!(ExternalId);

impl ExternalId {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let chars = |s: &str| s.chars().count();
        bounded(raw, chars, EXTERNAL_ID_MAX_CHARS, |c| !c.is_control())
            .map(|id| Self(id.to_owned()))
            .ok_or_else(|| {
                InvalidInput::new(
                    "external_id",
                    format!(
                        "must be 1 to {EXTERNAL_ID_MAX_CHARS} characters, without control characters"
                    ),
                )
            })
    }
}

/// The longest idempotency key, in bytes (it is visible ASCII).
pub const IDEMPOTENCY_KEY_MAX_BYTES: usize = 255;

/// A client's name for one request to triage, so that repeating it makes no second job:
/// trimmed, 1 to [`IDEMPOTENCY_KEY_MAX_BYTES`] visible ASCII characters (it arrives as an
/// HTTP header).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);
text_newtype!(IdempotencyKey);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let visible = |c: char| c.is_ascii_graphic() || c == ' ';
        bounded(raw, str::len, IDEMPOTENCY_KEY_MAX_BYTES, visible)
            .map(|key| Self(key.to_owned()))
            .ok_or_else(|| {
                InvalidInput::new(
                    "Idempotency-Key",
                    format!("must be 1 to {IDEMPOTENCY_KEY_MAX_BYTES} visible ASCII characters"),
                )
            })
    }

    /// A key Nexify makes itself (never from a client).
    pub fn internal(key: String) -> Self {
        Self(key)
    }
}

#[cfg(test)]
mod id_tests {
    use super::*;

    #[test]
    fn external_ids_are_trimmed_and_refuse_control_characters_and_length() {
        assert_eq!(ExternalId::parse("  j-1 ").unwrap().as_str(), "j-1");
        for bad in ["", "   ", "a\u{0}b", "a\nb", &"x".repeat(201)] {
            assert!(ExternalId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            ExternalId::parse(&"é".repeat(200)).is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn idempotency_keys_are_visible_ascii_of_bounded_length() {
        assert_eq!(IdempotencyKey::parse(" k-1 ").unwrap().as_str(), "k-1");
        for bad in ["", "é", "a\tb", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
    }
}
