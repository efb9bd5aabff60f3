//! `nexify sqs-bridge`: the local stand-in for Lambda's SQS event sources and the sweep's
//! schedule. It long-polls the triage queue (and the deliveries queue, feeding the
//! outbound-webhook deliverer), invokes the worker with batches of up to ten
//! through the Lambda Invoke API that `cargo lambda watch` serves, deletes only the messages
//! that succeeded, and invokes the sweeper and the trainer every 30 seconds, each on a task
//! of its own, as EventBridge would: a training of minutes holds up neither the queue nor
//! the sweeper's re-sends.

use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use nexify_queue::bridge;

const SWEEP_EVERY: Duration = Duration::from_secs(30);

pub struct BridgeConfig {
    pub queue_url: String,
    pub invoke_base: String,
    pub worker: String,
    /// The deliveries queue and the function it feeds.
    pub deliveries: Option<(String, String)>,
    pub sweeper: String,
    pub trainer: String,
}

async fn invoke(
    http: &Client<HttpConnector, Full<Bytes>>,
    base: &str,
    function: &str,
    payload: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let request = hyper::Request::post(format!(
        "{base}/2015-03-31/functions/{function}/invocations"
    ))
    .header("content-type", "application/json")
    .body(Full::new(Bytes::from(payload.to_string())))?;
    // The first invocation compiles the function, so allow minutes, not seconds.
    let response = tokio::time::timeout(Duration::from_secs(900), http.request(request))
        .await
        .context("the invocation timed out")??;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    anyhow::ensure!(
        status.is_success(),
        "{function} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
}

/// Invokes `function` every [`SWEEP_EVERY`], one invocation at a time (a run that outlasts
/// the period is followed at once by the next), beside the queue polling.
async fn schedule(http: Client<HttpConnector, Full<Bytes>>, base: String, function: String) {
    let mut ticks = tokio::time::interval(SWEEP_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let payload = serde_json::json!({"source": "local-schedule"});
        match invoke(&http, &base, &function, &payload).await {
            Ok(result) => tracing::debug!(%result, %function, "scheduled run finished"),
            Err(error) => tracing::warn!(%error, %function, "scheduled invocation failed"),
        }
    }
}

pub async fn run(config: BridgeConfig) -> anyhow::Result<()> {
    let sqs = nexify_queue::sqs_client_from_env().await;
    let http: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    for function in [&config.sweeper, &config.trainer] {
        tokio::spawn(schedule(
            http.clone(),
            config.invoke_base.clone(),
            function.clone(),
        ));
    }
    if let Some((queue_url, function)) = config.deliveries.clone() {
        tokio::spawn(feed(
            sqs.clone(),
            http.clone(),
            config.invoke_base.clone(),
            queue_url,
            function,
        ));
    }
    feed(
        sqs,
        http,
        config.invoke_base,
        config.queue_url,
        config.worker,
    )
    .await;
    Ok(())
}

/// Long-polls `queue_url` and invokes `function` with each batch, deleting only what it did
/// not report failed, as Lambda's SQS event source does.
async fn feed(
    sqs: nexify_queue::SqsClient,
    http: Client<HttpConnector, Full<Bytes>>,
    invoke_base: String,
    queue_url: String,
    function: String,
) {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let name = queue_url.rsplit('/').next().unwrap_or("nexify-triage");
    let arn = format!("arn:aws:sqs:{region}:000000000000:{name}");
    tracing::info!(queue = %queue_url, %function, "sqs bridge polling");
    loop {
        let messages = match bridge::receive(&sqs, &queue_url, 10, 2).await {
            Ok(m) => m,
            Err(error) => {
                tracing::warn!(%error, "receiving from the queue failed; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        // A short batching window, as the event source's MaximumBatchingWindow would.
        let event = bridge::sqs_event(&messages, &arn, &region);
        let failed = match invoke(&http, &invoke_base, &function, &event).await {
            Ok(response) => bridge::failed_ids(&response),
            Err(error) => {
                // Like a crashed invocation: nothing is deleted, everything comes back.
                tracing::warn!(%error, %function, "invocation failed");
                messages
                    .iter()
                    .filter_map(|m| m.message_id.clone())
                    .collect()
            }
        };
        match bridge::delete_succeeded(&sqs, &queue_url, &messages, &failed).await {
            Ok(deleted) => tracing::info!(
                %function,
                received = messages.len(),
                deleted,
                failed = failed.len(),
                "batch delivered"
            ),
            Err(error) => tracing::warn!(%error, "deleting processed messages failed"),
        }
    }
}
