//! Runs every minute (EventBridge schedule; locally, the SQS bridge calls it): sends the
//! message of every queued JobRun that has waited over [`UNSENT_AFTER_SECONDS`] without one
//! (with the JobRun committed before its send, this is the outbox), or whose message has
//! gone unclaimed for [`LOST_AFTER_SECONDS`] (lost by the broker). Training has a function
//! of its own (`triage-trainer`), so a long training never holds these re-sends up.
//!
//! It also hands the outbound-webhook deliveries that are due (new ones, and retries whose
//! back-off has passed) to the deliveries queue, when `DELIVERIES_QUEUE_URL` is set, and
//! mails pending replies to requesters, when `NEXIFY_MAIL_FROM` is set.

// The SDK send future nested in the sweep is deeper than the default limit allows.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent};
use nexify_mail::SesMailer;
use nexify_queue::{DeliveryQueue, SqsDispatcher};
use nexify_service::{outbound, replies, triage};
use nexify_storage::PgPool;

/// Longer than a normal send takes, so the sweep does not race the enqueue itself.
pub const UNSENT_AFTER_SECONDS: i64 = 30;
/// Far longer than a healthy queue holds a message before a worker claims it; a duplicate
/// sent too early is harmless (the claim is atomic), only wasted.
pub const LOST_AFTER_SECONDS: i64 = 900;
/// The sweep's thresholds in production.
pub const STRANDING: triage::Stranding = triage::Stranding {
    unsent_seconds: UNSENT_AFTER_SECONDS,
    lost_seconds: LOST_AFTER_SECONDS,
};
const BATCH: i64 = 500;
/// A delivery handed to the queue this long ago and still due was lost by the broker.
pub const DELIVERY_RESEND_AFTER_SECONDS: i64 = 300;

pub struct App {
    pool: PgPool,
    dispatcher: SqsDispatcher,
    deliveries: Option<DeliveryQueue>,
    mailer: Option<SesMailer>,
}

impl App {
    pub fn new(pool: PgPool, dispatcher: SqsDispatcher) -> Self {
        Self {
            pool,
            dispatcher,
            deliveries: None,
            mailer: None,
        }
    }

    /// Also mails pending replies to requesters.
    pub fn with_mailer(mut self, mailer: SesMailer) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Mails the pending replies; how many were sent.
    pub async fn mail_replies(&self) -> Result<usize, Error> {
        match &self.mailer {
            Some(mailer) => Ok(replies::mail_pending(&self.pool, mailer, BATCH).await?),
            None => Ok(0),
        }
    }

    /// Also feeds the outbound-webhook deliveries queue.
    pub fn with_deliveries(mut self, queue: DeliveryQueue) -> Self {
        self.deliveries = Some(queue);
        self
    }

    /// Hands the due deliveries to their queue; how many.
    pub async fn sweep_deliveries(&self) -> Result<usize, Error> {
        match &self.deliveries {
            Some(queue) => {
                Ok(
                    outbound::sweep(&self.pool, queue, DELIVERY_RESEND_AFTER_SECONDS, BATCH)
                        .await?,
                )
            }
            None => Ok(0),
        }
    }

    /// Re-sends the jobs stranded by `stranding`'s thresholds: the scheduled run
    /// ([`Self::handle`]) with thresholds a test chooses. Returns how many were sent.
    pub async fn sweep(&self, stranding: triage::Stranding) -> Result<usize, Error> {
        let mut conn = self.pool.acquire().await?;
        let stranded = triage::stranded_jobs(&mut conn, stranding, BATCH).await?;
        drop(conn);
        Ok(triage::resend(&self.pool, &self.dispatcher, stranded).await?)
    }

    /// The scheduled run, with the production thresholds.
    pub async fn handle(
        &self,
        _event: LambdaEvent<serde_json::Value>,
    ) -> Result<serde_json::Value, Error> {
        let sent = self.sweep(STRANDING).await?;
        let deliveries = self.sweep_deliveries().await?;
        let replies = self.mail_replies().await?;
        Ok(serde_json::json!({ "sent": sent, "deliveries": deliveries, "replies": replies }))
    }
}
