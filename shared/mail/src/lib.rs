//! Mail through SES (`SendEmail`), LocalStack's SES locally through `AWS_ENDPOINT_URL`.
//!
//! SES v1, not v2: LocalStack's community edition serves only v1, and AWS serves both, so
//! the one client the tests exercise is the one that runs in the cloud.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ses::types::{Body, Content, Destination, Message};
use nexify_service::mail::{Mail, Mailer};
use tokio::sync::OnceCell;

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("NEXIFY_MAIL_FROM is not set")]
    NoSender,
    #[error("the message could not be built")]
    Build(#[source] aws_sdk_ses::error::BuildError),
    #[error("SES SendEmail failed")]
    Ses(#[source] Box<aws_sdk_ses::Error>),
}

/// How long one send may take, retries included: the request that sends the mail waits
/// for it, and SES sets no read timeout by default.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
const SEND_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// An SES client from the environment, with the send timeouts.
pub async fn ses_client_from_env() -> aws_sdk_ses::Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_timeout(SEND_TIMEOUT)
        .operation_attempt_timeout(SEND_ATTEMPT_TIMEOUT)
        .build();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await;
    aws_sdk_ses::Client::new(&config)
}

/// Sends from one verified address.
#[derive(Clone, Debug)]
pub struct SesMailer {
    /// Built on the first send, not at start-up: most requests of the functions that hold a
    /// mailer send none, and the region and credential chain costs cold-start time.
    client: Arc<OnceCell<aws_sdk_ses::Client>>,
    from: String,
}

impl SesMailer {
    pub fn new(client: aws_sdk_ses::Client, from: impl Into<String>) -> Self {
        Self {
            client: Arc::new(OnceCell::new_with(Some(client))),
            from: from.into(),
        }
    }

    /// `NEXIFY_MAIL_FROM`: an address (or `Name <address>`) SES may send from.
    pub fn from_env() -> Result<Self, MailError> {
        let from = std::env::var("NEXIFY_MAIL_FROM")
            .ok()
            .filter(|f| !f.trim().is_empty())
            .ok_or(MailError::NoSender)?;
        Ok(Self {
            client: Arc::new(OnceCell::new()),
            from,
        })
    }

    async fn client(&self) -> &aws_sdk_ses::Client {
        self.client.get_or_init(ses_client_from_env).await
    }
}

fn utf8(text: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(MailError::Build)
}

impl Mailer for SesMailer {
    type Error = MailError;

    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = Message::builder()
            .subject(utf8(&mail.subject)?)
            .body(Body::builder().text(utf8(&mail.text)?).build())
            .build();
        self.client()
            .await
            .send_email()
            .source(mail.from.as_deref().unwrap_or(&self.from))
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .message(message)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| MailError::Ses(Box::new(e.into())))
    }
}
