//! Mail out: the port ([`Mailer`]), the console links mail carries, and the messages
//! Nexify sends. The SES adapter is `nexify-mail`; tests read its messages back from
//! LocalStack.

use std::future::Future;

use chrono::{DateTime, Utc};
use nexify_domain::{Email, InvalidInput, Role};

/// One plain-text message to one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The sender, when not the deployment's (`NEXIFY_MAIL_FROM`): an org's reply address.
    pub from: Option<String>,
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// Something that can send [`Mail`].
pub trait Mailer: Send + Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    fn send(&self, mail: &Mail) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Sends `mail` after the work it reports is committed. A failure is logged, not returned:
/// the work stands, and the caller says whether the mail went (`true`: sent).
pub async fn deliver(mailer: &impl Mailer, mail: &Mail, kind: &'static str) -> bool {
    match mailer.send(mail).await {
        Ok(()) => {
            tracing::info!(mail = kind, "mail sent");
            true
        }
        Err(e) => {
            tracing::error!(mail = kind, error = %nexify_telemetry::error_chain(&e), "mail not sent");
            false
        }
    }
}

/// Where the console is served (`NEXIFY_CONSOLE_URL`), for the links mail carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Console {
    base: String,
}

impl Console {
    pub fn new(url: &str) -> Result<Self, InvalidInput> {
        let base = url.trim().trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(InvalidInput::new(
                "NEXIFY_CONSOLE_URL",
                "must be an http(s) URL, such as https://support.example.com",
            ));
        }
        Ok(Self {
            base: base.to_owned(),
        })
    }

    pub fn from_env() -> Result<Self, InvalidInput> {
        Self::new(&std::env::var("NEXIFY_CONSOLE_URL").unwrap_or_default())
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    pub fn invite_link(&self, token: &str) -> String {
        format!("{}/invite/?token={token}", self.base)
    }

    pub fn reset_link(&self, token: &str) -> String {
        format!("{}/reset/?token={token}", self.base)
    }
}

/// The domain orgs' reply addresses must belong to (`NEXIFY_MAIL_DOMAIN`): the SES domain
/// identity the deployment verified, and the only one its IAM policy lets it send from.
/// Refusing other addresses when they are set tells the admin at once, instead of every
/// reply failing later. Unset (local), any address is taken and SES alone decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendingDomain(Option<String>);

impl SendingDomain {
    pub fn new(domain: Option<&str>) -> Result<Self, InvalidInput> {
        let Some(raw) = domain.map(str::trim).filter(|d| !d.is_empty()) else {
            return Ok(Self(None));
        };
        // A domain is an address's right-hand side: reuse the address rules.
        let probe =
            Email::parse("NEXIFY_MAIL_DOMAIN", &format!("postmaster@{raw}")).map_err(|_| {
                InvalidInput::new("NEXIFY_MAIL_DOMAIN", "must be a domain like example.com")
            })?;
        let domain = probe.as_str().trim_start_matches("postmaster@").to_owned();
        Ok(Self(Some(domain)))
    }

    pub fn from_env() -> Result<Self, InvalidInput> {
        Self::new(std::env::var("NEXIFY_MAIL_DOMAIN").ok().as_deref())
    }

    pub fn domain(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// Parses an org's reply address and checks it is one this deployment may send from.
    pub fn reply_address(&self, field: &'static str, raw: &str) -> Result<Email, InvalidInput> {
        let email = Email::parse(field, raw)?;
        let at = |domain: &str| {
            email
                .as_str()
                .rsplit_once('@')
                .is_some_and(|(_, d)| d == domain)
        };
        match &self.0 {
            Some(domain) if !at(domain) => Err(InvalidInput::new(
                field,
                format!(
                    "must be an address at {domain}, the domain this deployment sends mail from"
                ),
            )),
            _ => Ok(email),
        }
    }
}

/// The invite mail: who invites, to what, and until when.
pub fn invite(to: &str, org_name: &str, role: Role, link: &str, expires_at: DateTime<Utc>) -> Mail {
    Mail {
        from: None,
        to: to.to_owned(),
        subject: format!("You are invited to {org_name} on Nexify"),
        text: format!(
            "You are invited to join {org_name} on Nexify as {article} {role}.\n\n\
             Accept the invite here:\n{link}\n\n\
             The link works once, until {expires}.\n\
             If you did not expect this, ignore this mail.\n",
            article = if role == Role::Viewer { "a" } else { "an" },
            expires = expires_at.format("%Y-%m-%d %H:%M UTC"),
        ),
    }
}

/// A reply to a ticket's requester, from the org's reply address.
pub fn reply(from: &str, to: &str, subject: &str, body: &str) -> Mail {
    let subject = if subject.to_ascii_lowercase().starts_with("re:") {
        subject.to_owned()
    } else {
        format!("Re: {subject}")
    };
    Mail {
        from: Some(from.to_owned()),
        to: to.to_owned(),
        subject,
        text: body.to_owned(),
    }
}

/// The password-reset mail.
pub fn password_reset(to: &str, display_name: &str, link: &str, minutes: i64) -> Mail {
    let greeting = if display_name.trim().is_empty() {
        "Hello,".to_owned()
    } else {
        format!("Hello {},", display_name.trim())
    };
    Mail {
        from: None,
        to: to.to_owned(),
        subject: "Reset your Nexify password".to_owned(),
        text: format!(
            "{greeting}\n\nSomeone asked to reset the password of this Nexify account.\n\
             Choose a new password here:\n{link}\n\n\
             The link works once, for {minutes} minutes. Setting a password signs the \
             account out everywhere.\n\
             If you did not ask, ignore this mail: the password stays as it is.\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_links_need_a_scheme_and_lose_a_trailing_slash() {
        let console = Console::new("https://support.example.com/").unwrap();
        assert_eq!(
            console.invite_link("abc"),
            "https://support.example.com/invite/?token=abc"
        );
        assert_eq!(
            console.reset_link("abc"),
            "https://support.example.com/reset/?token=abc"
        );
        assert!(Console::new("support.example.com").is_err());
        assert!(Console::new("").is_err());
    }

    #[test]
    fn reply_addresses_must_be_at_the_sending_domain_when_one_is_set() {
        let anywhere = SendingDomain::new(None).unwrap();
        assert!(
            anywhere
                .reply_address("reply_from", "help@acme.test")
                .is_ok()
        );
        let ours = SendingDomain::new(Some(" Mail.Example.com ")).unwrap();
        assert_eq!(ours.domain(), Some("mail.example.com"));
        assert_eq!(
            ours.reply_address("reply_from", "Help@MAIL.example.com")
                .unwrap()
                .as_str(),
            "help@mail.example.com"
        );
        for other in [
            "help@example.com",
            "help@evil-mail.example.com",
            "mail.example.com@x.test",
        ] {
            let err = ours.reply_address("reply_from", other).unwrap_err();
            assert_eq!(err.field, "reply_from", "{other}");
        }
        assert!(SendingDomain::new(Some("not a domain")).is_err());
        assert!(SendingDomain::new(Some("a@b.test")).is_err());
        assert_eq!(SendingDomain::new(Some("  ")).unwrap(), anywhere);
    }

    #[test]
    fn mails_carry_their_link() {
        let expires = DateTime::parse_from_rfc3339("2026-12-11T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mail = invite(
            "a@example.com",
            "Acme",
            Role::Agent,
            "https://x/invite/?token=t",
            expires,
        );
        assert!(mail.text.contains("https://x/invite/?token=t"));
        assert!(mail.text.contains("as an agent"));
        assert!(mail.text.contains("2026-12-11 09:30 UTC"));
        let reset = password_reset("a@example.com", "", "https://x/reset/?token=t", 30);
        assert!(reset.text.starts_with("Hello,"));
        assert!(reset.text.contains("https://x/reset/?token=t"));
    }
}
