//! The outbound-webhook deliverer. SQS invokes it with a batch of deliveries (the sweep
//! sends those that are due); it attempts them concurrently. A delivery whose endpoint
//! fails is not an error here: it is logged and scheduled again in the database. Only a
//! delivery that could not be attempted (the database unavailable, a malformed message) is
//! reported failed, so SQS redelivers it and, after maxReceiveCount, moves it to the DLQ.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Error, LambdaEvent};
use nexify_kms::KmsSealer;
use nexify_service::outbound::{self, Delivered, DeliveryMessage, Sender};
use nexify_storage::PgPool;

/// Why one message was not processed.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("the message is not a delivery")]
    Malformed(#[source] serde_json::Error),
    #[error(transparent)]
    Delivery(#[from] nexify_service::ServiceError),
}

pub struct App<S> {
    pool: PgPool,
    /// Opens the endpoints' sealed signing secrets.
    sealer: KmsSealer,
    sender: S,
}

impl<S: Sender> App<S> {
    pub fn new(pool: PgPool, sealer: KmsSealer, sender: S) -> Self {
        Self {
            pool,
            sealer,
            sender,
        }
    }

    pub async fn handle(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let records = &event.payload.records;
        let results = futures::future::join_all(records.iter().map(|m| self.process(m))).await;
        let mut response = SqsBatchResponse::default();
        for (message, result) in records.iter().zip(results) {
            if let Err(e) = result {
                tracing::error!(error = %e, "delivery message not processed");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = message.message_id.clone().unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
        Ok(response)
    }

    async fn process(&self, message: &SqsMessage) -> Result<Delivered, MessageError> {
        let body = message.body.as_deref().unwrap_or_default();
        let m: DeliveryMessage = serde_json::from_str(body).map_err(MessageError::Malformed)?;
        Ok(outbound::deliver(
            &self.pool,
            &self.sealer,
            &self.sender,
            m.organization_id,
            m.delivery_id,
        )
        .await?)
    }
}
