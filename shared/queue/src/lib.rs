//! The triage queue on SQS (LocalStack locally, through `AWS_ENDPOINT_URL`).

use std::sync::Arc;
use std::time::Duration;

pub use aws_sdk_sqs::Client as SqsClient;
use nexify_service::outbound::{DeliveryDispatch, DeliveryMessage};
use nexify_service::triage::{Dispatch, JobMessage};
use tokio::sync::OnceCell;

/// Why the queue did not take or give a message.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("TRIAGE_QUEUE_URL is not set")]
    NoQueueUrl,
    #[error("the message could not be encoded")]
    Encode(#[source] serde_json::Error),
    #[error("SQS refused {0} messages of a batch")]
    Refused(usize),
    #[error("SQS {operation} failed")]
    Sqs {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn sqs_failed(operation: &'static str) -> impl FnOnce(aws_sdk_sqs::Error) -> QueueError {
    move |e| QueueError::Sqs {
        operation,
        source: Box::new(e),
    }
}

/// An SQS client from the environment's region, credentials and optional endpoint.
pub async fn sqs_client_from_env() -> aws_sdk_sqs::Client {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_sqs::Client::new(&config)
}

/// How long one send may take, retries included. The SDK sets no read timeout by default,
/// so a stalled queue endpoint would hold the request until the function times out; a job
/// whose send gives up stays undispatched in the outbox, and the sweep sends it later.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
const SEND_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// [`sqs_client_from_env`] with the send timeouts.
pub async fn sending_client_from_env() -> aws_sdk_sqs::Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_timeout(SEND_TIMEOUT)
        .operation_attempt_timeout(SEND_ATTEMPT_TIMEOUT)
        .build();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await;
    aws_sdk_sqs::Client::new(&config)
}

/// Sends job messages to one queue.
#[derive(Clone, Debug)]
pub struct SqsDispatcher {
    /// Built on the first send, not at start-up: aws-config's region and credential chain
    /// costs milliseconds of cold start, and most requests of the functions that hold a
    /// dispatcher (ticket reads, a webhook without auto-triage) never send.
    client: Arc<OnceCell<aws_sdk_sqs::Client>>,
    queue_url: String,
}

impl SqsDispatcher {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client: Arc::new(OnceCell::new_with(Some(client))),
            queue_url: queue_url.into(),
        }
    }

    /// `TRIAGE_QUEUE_URL`; the client comes from the environment on the first send.
    pub fn from_env() -> Result<Self, QueueError> {
        let url = std::env::var("TRIAGE_QUEUE_URL").map_err(|_| QueueError::NoQueueUrl)?;
        Ok(Self {
            client: Arc::new(OnceCell::new()),
            queue_url: url,
        })
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    async fn client(&self) -> &aws_sdk_sqs::Client {
        self.client.get_or_init(sending_client_from_env).await
    }
}

impl Dispatch for SqsDispatcher {
    type Error = QueueError;

    async fn send(&self, message: &JobMessage) -> Result<(), QueueError> {
        let body = serde_json::to_string(message).map_err(QueueError::Encode)?;
        self.client()
            .await
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sqs_failed("SendMessage")(e.into()))
    }
}

/// The outbound-webhook deliveries queue (`DELIVERIES_QUEUE_URL`), which the sweep feeds.
#[derive(Clone, Debug)]
pub struct DeliveryQueue {
    client: Arc<OnceCell<aws_sdk_sqs::Client>>,
    queue_url: String,
}

impl DeliveryQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client: Arc::new(OnceCell::new_with(Some(client))),
            queue_url: queue_url.into(),
        }
    }

    /// `DELIVERIES_QUEUE_URL`; the client comes from the environment on the first send.
    pub fn from_env() -> Result<Self, QueueError> {
        let url = std::env::var("DELIVERIES_QUEUE_URL").map_err(|_| QueueError::NoQueueUrl)?;
        Ok(Self {
            client: Arc::new(OnceCell::new()),
            queue_url: url,
        })
    }
}

impl DeliveryDispatch for DeliveryQueue {
    type Error = QueueError;

    /// In batches of ten, SQS's most; any entry SQS refuses fails the whole call, and the
    /// sweep sends the lot again (the deliverer's claim makes duplicates harmless).
    async fn send(&self, messages: &[DeliveryMessage]) -> Result<(), QueueError> {
        let client = self.client.get_or_init(sending_client_from_env).await;
        for chunk in messages.chunks(10) {
            let mut batch = client.send_message_batch().queue_url(&self.queue_url);
            for (i, m) in chunk.iter().enumerate() {
                let body = serde_json::to_string(m).map_err(QueueError::Encode)?;
                let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| QueueError::Sqs {
                        operation: "SendMessageBatch",
                        source: Box::new(e),
                    })?;
                batch = batch.entries(entry);
            }
            let sent = batch
                .send()
                .await
                .map_err(|e| sqs_failed("SendMessageBatch")(e.into()))?;
            if !sent.failed().is_empty() {
                return Err(QueueError::Refused(sent.failed().len()));
            }
        }
        Ok(())
    }
}

/// The local event-source bridge's building blocks: what Lambda's SQS event source does on
/// AWS. It receives up to ten messages, hands them to the worker as one SqsEvent, and
/// deletes only the ones the worker did not list in `batchItemFailures`; the rest come back
/// after the visibility timeout, and the redrive policy moves them to the DLQ in the end.
pub mod bridge {
    use std::collections::HashSet;

    use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};

    use super::{QueueError, sqs_failed};

    /// Receives up to `max` messages, waiting up to `wait_seconds` for the first.
    pub async fn receive(
        client: &aws_sdk_sqs::Client,
        queue_url: &str,
        max: i32,
        wait_seconds: i32,
    ) -> Result<Vec<Message>, QueueError> {
        client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map(|out| out.messages.unwrap_or_default())
            .map_err(|e| sqs_failed("ReceiveMessage")(e.into()))
    }

    /// The SqsEvent JSON Lambda would deliver for `messages`.
    pub fn sqs_event(messages: &[Message], queue_arn: &str, region: &str) -> serde_json::Value {
        let records: Vec<serde_json::Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, serde_json::Value> = m
                    .attributes
                    .as_ref()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| {
                                (k.as_str().to_owned(), serde_json::Value::String(v.clone()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                serde_json::json!({
                    "messageId": m.message_id,
                    "receiptHandle": m.receipt_handle,
                    "body": m.body,
                    "md5OfBody": m.md5_of_body,
                    "attributes": attributes,
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue_arn,
                    "awsRegion": region,
                })
            })
            .collect();
        serde_json::json!({ "Records": records })
    }

    /// The message ids an SqsBatchResponse reports as failed.
    pub fn failed_ids(response: &serde_json::Value) -> HashSet<String> {
        response["batchItemFailures"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i["itemIdentifier"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Deletes every message not in `failed`; returns how many were deleted.
    pub async fn delete_succeeded(
        client: &aws_sdk_sqs::Client,
        queue_url: &str,
        messages: &[Message],
        failed: &HashSet<String>,
    ) -> Result<usize, QueueError> {
        let mut deleted = 0;
        for m in messages {
            let id = m.message_id.as_deref().unwrap_or_default();
            if failed.contains(id) {
                continue;
            }
            if let Some(handle) = &m.receipt_handle {
                client
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| sqs_failed("DeleteMessage")(e.into()))?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}
