//! `nexify-bench outbound`: from a ticket change to the local receiver's 200, through the
//! whole path (the change and its outbox row in one transaction, the hand-over to the
//! deliveries queue after the commit, LocalStack SQS, an event source receiving batches,
//! the deliverer's claim, signed post and attempt record), beside the floor of the same
//! signed post sent straight to the receiver.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use nexify_domain::{Email, Priority, Role, Subject, TicketBody, TicketId};
use nexify_queue::{DeliveryQueue, bridge};
use nexify_service::outbound::{self, Sender};
use nexify_storage::events::Actor;
use nexify_storage::tickets::{NewTicket, TicketChanges};
use nexify_storage::{begin_tenant, memberships, organizations, tickets, users};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::report::{Figure, record};
use crate::scratch::Scratch;

const CHANGES: usize = 200;

/// A receiver that notes when each event for a ticket arrived, and answers 200.
async fn receiver() -> anyhow::Result<(String, Arc<Mutex<HashMap<String, Instant>>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let seen = arrived.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 16384];
                loop {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    let Some(head_end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if raw.len() >= head_end + 4 + length {
                        break;
                    }
                }
                let at = Instant::now();
                let text = String::from_utf8_lossy(&raw);
                let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(body) {
                    let key = event["data"]["ticket"]["id"]
                        .as_str()
                        .or(event["data"]["id"].as_str())
                        .unwrap_or_default()
                        .to_owned();
                    seen.lock().unwrap().insert(key, at);
                }
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    Ok((url, arrived))
}

fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    (crate::quantile(&ms, 0.5), crate::quantile(&ms, 0.99))
}

pub async fn run() -> anyhow::Result<()> {
    let mut scratch = Scratch::new().await?;
    let (owner, pool) = scratch.migrated("nexify_bench_outbound", 8).await?;
    let mut tx = owner.begin().await?;
    let org = organizations::insert(&mut tx, "Bench", "bench").await?;
    let user = users::insert(
        &mut tx,
        &Email::parse("email", "b@bench.test")?,
        "Bench",
        "x",
    )
    .await?;
    memberships::upsert(&mut tx, org.id, user.id, Role::Admin).await?;
    let mut ids: Vec<TicketId> = Vec::new();
    for i in 0..CHANGES {
        let new = NewTicket {
            requester_email: Email::parse("email", "c@bench.test")?,
            subject: Subject::parse(&format!("Change {i}"))?,
            body: TicketBody::parse("A ticket whose priority changes.")?,
            priority: Priority::Low,
            assigned_team: None,
            external_id: None,
            category: None,
        };
        ids.push(tickets::insert(&mut tx, org.id, &new).await?.id);
    }
    tx.commit().await?;
    let (url, arrived) = receiver().await?;
    // The endpoint's secret is sealed with a KMS key of this run's own (LocalStack), as
    // deployed; the deliverer opens it on each delivery (a data key cached per instance).
    let kms = aws_sdk_kms::Client::new(
        &aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await,
    );
    let key = kms
        .create_key()
        .description("nexify bench: endpoint secrets")
        .send()
        .await
        .context("LocalStack's KMS")?;
    let key_id = key
        .key_metadata()
        .map(|m| m.key_id().to_owned())
        .context("a new key")?;
    let sealer = nexify_kms::KmsSealer::new(kms, key_id);
    let created = outbound::create(
        &pool,
        &sealer,
        user.id,
        org.id,
        &url,
        &["ticket.updated".into()],
        true,
    )
    .await
    .context("adding the endpoint")?;

    let sqs = nexify_queue::sqs_client_from_env().await;
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("nexify-bench-deliveries-{}", std::process::id()))
        .send()
        .await
        .context("LocalStack must be running (scripts/stack.sh up)")?
        .queue_url
        .unwrap_or_default();
    let queue = DeliveryQueue::new(sqs.clone(), queue_url.clone());
    let deliverer = Arc::new(deliveries::App::new(
        pool.clone(),
        sealer,
        nexify_outbound::HttpSender::new(true),
    ));
    // The event source: batches of up to 10, as the deliverer's SQS trigger would.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let source = {
        let (sqs, queue_url, deliverer, stop) = (
            sqs.clone(),
            queue_url.clone(),
            deliverer.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let messages = bridge::receive(&sqs, &queue_url, 10, 1)
                    .await
                    .unwrap_or_default();
                if messages.is_empty() {
                    continue;
                }
                let event = bridge::sqs_event(
                    &messages,
                    "arn:aws:sqs:us-east-1:000000000000:b",
                    "us-east-1",
                );
                let event = serde_json::from_value(event).expect("an SqsEvent");
                let response = deliverer
                    .handle(lambda_runtime::LambdaEvent::new(
                        event,
                        lambda_runtime::Context::default(),
                    ))
                    .await
                    .expect("the deliverer answers");
                let failed = bridge::failed_ids(&serde_json::to_value(response).unwrap());
                let _ = bridge::delete_succeeded(&sqs, &queue_url, &messages, &failed).await;
            }
        })
    };

    // One change at a time, each timed from before its transaction to the receiver's 200.
    let mut started: HashMap<String, Instant> = HashMap::new();
    for id in &ids {
        let t0 = Instant::now();
        let change = async {
            let mut tx = begin_tenant(&pool, org.id, None).await?;
            let changes = TicketChanges {
                priority: Some(Priority::High),
                ..Default::default()
            };
            nexify_service::tickets::apply_changes(
                &mut tx,
                org.id,
                *id,
                &changes,
                Actor::User(user.id),
                None,
            )
            .await?;
            tx.commit().await?;
            Ok::<_, anyhow::Error>(())
        };
        let (done, emitted) = outbound::collecting(change).await;
        done?;
        outbound::dispatch(&pool, &queue, &emitted).await;
        started.insert(id.to_string(), t0);
        // Paced, so the figure is latency, not queueing behind a burst.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while arrived.lock().unwrap().len() < CHANGES && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = source.await;
    let arrived = arrived.lock().unwrap().clone();
    anyhow::ensure!(
        arrived.len() == CHANGES,
        "only {} of {CHANGES} events arrived",
        arrived.len()
    );
    let pipeline: Vec<f64> = started
        .iter()
        .map(|(id, t0)| (arrived[id] - *t0).as_secs_f64() * 1000.0)
        .collect();

    // The floor: the same signed post, straight to the receiver.
    let sender = nexify_outbound::HttpSender::new(true);
    let mut floor = Vec::new();
    for i in 0..CHANGES {
        let body = serde_json::json!({"type": "ticket.updated", "data": {"ticket": {"id": format!("floor-{i}")}}}).to_string();
        let at = chrono::Utc::now().timestamp();
        let headers = [
            ("content-type", "application/json".to_owned()),
            (nexify_auth::webhook::TIMESTAMP_HEADER, at.to_string()),
            (
                nexify_auth::webhook::SIGNATURE_HEADER,
                nexify_auth::webhook::sign(&created.secret, at, body.as_bytes()),
            ),
        ];
        let t0 = Instant::now();
        let answer = sender.post(&url, &headers, &body).await?;
        anyhow::ensure!(
            answer.status == 200,
            "the receiver answered {}",
            answer.status
        );
        floor.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let (p50, p99) = percentiles(pipeline);
    let (floor50, floor99) = percentiles(floor);
    println!("\n## Outbound webhooks: a change to the receiver's 200 ({CHANGES} changes)\n");
    println!("| figure | value (ms) | floor: the signed post alone (ms) |");
    println!("|---|---|---|");
    println!("| p50 | {p50:.1} | {floor50:.2} |");
    println!("| p99 | {p99:.1} | {floor99:.2} |");
    record(
        Figure::new(
            "outbound webhook",
            "change to receiver's 200, p50",
            p50,
            "ms",
        )
        .against("the signed post alone, p50", floor50),
    );
    record(
        Figure::new(
            "outbound webhook",
            "change to receiver's 200, p99",
            p99,
            "ms",
        )
        .against("the signed post alone, p99", floor99),
    );
    let _ = sqs.delete_queue().queue_url(&queue_url).send().await;
    drop(pool);
    drop(owner);
    scratch.drop_all().await
}
