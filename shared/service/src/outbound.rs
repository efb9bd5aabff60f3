//! Outbound webhooks: an org's endpoints, the events its changes emit (written to the outbox
//! in the change's own transaction), and delivering them: signed like inbound webhooks,
//! retried with exponential back-off for up to [`GIVE_UP_AFTER_HOURS`], each attempt logged,
//! and an endpoint that keeps failing turned off. The HTTP side is a port ([`Sender`]);
//! `nexify-outbound` implements it with the SSRF rules.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use nexify_domain::{InvalidInput, OrgId, Role, UserId};
use nexify_storage::audit::{self, AuditAction};
use nexify_storage::outbound::{self, AttemptRecord, Delivery, Endpoint};
use nexify_storage::{PgConnection, PgPool, begin_tenant};

use serde::Serialize;
use uuid::Uuid;

use crate::paging::{Cursor, MAX_PAGE, keyset_page};
use crate::sealing::{Sealer, reveal};
use crate::{ServiceError, access};

/// The events an endpoint may subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "ticket.created",
    "ticket.updated",
    "triage.suggested",
    "suggestion.accepted",
    "suggestion.rejected",
    "message.created",
];
/// The event "send test event" posts; no subscription is needed for it.
pub const TEST_EVENT: &str = "webhook.test";
/// After this many failed attempts in a row, an endpoint is turned off.
pub const DISABLE_AFTER_FAILURES: i32 = 10;
/// A delivery is retried for this long after its event, then given up.
pub const GIVE_UP_AFTER_HOURS: i64 = 24;
/// How long one attempt holds its delivery against a duplicate queue message.
const ATTEMPT_LEASE_SECONDS: i64 = 60;
/// The most of an answer an attempt keeps.
pub const EXCERPT_BYTES: usize = 1024;

/// The wait after the `n`th failed attempt: 30 s, doubling, at most 6 hours.
pub fn backoff(failed_attempts: i32) -> Duration {
    let exponent = failed_attempts.clamp(1, 20) as u32 - 1;
    Duration::seconds((30_i64 << exponent.min(10)).min(6 * 3600))
}

/// The JSON an endpoint receives: the same bytes on every attempt.
pub fn envelope(
    event_id: Uuid,
    event_type: &str,
    org: OrgId,
    at: DateTime<Utc>,
    data: &impl Serialize,
) -> String {
    // Serialized straight from `data`, not through a `serde_json::Value`, which would print
    // an `f32` confidence of 0.58 as 0.5799999833106995. Keys in alphabetical order, as
    // before.
    #[derive(Serialize)]
    struct Envelope<'a, T> {
        created_at: DateTime<Utc>,
        data: &'a T,
        id: Uuid,
        organization_id: OrgId,
        #[serde(rename = "type")]
        event_type: &'a str,
    }
    serde_json::to_string(&Envelope {
        created_at: at,
        data,
        id: event_id,
        organization_id: org,
        event_type,
    })
    .expect("an event's data serializes to JSON")
}

/// Writes `event_type` with `data` to the outbox of every subscribed endpoint of the org, on
/// the caller's transaction: the event commits with its change or not at all.
pub async fn emit(
    conn: &mut PgConnection,
    org: OrgId,
    event_type: &'static str,
    data: &impl Serialize,
) -> Result<(), ServiceError> {
    let event_id = Uuid::new_v4();
    let body = envelope(event_id, event_type, org, Utc::now(), data);
    let ids = outbound::emit(conn, org, event_id, event_type, &body).await?;
    if !ids.is_empty() {
        tracing::debug!(
            event_type,
            deliveries = ids.len(),
            "event written to the outbox"
        );
    }
    note_emitted(org, &ids);
    Ok(())
}

tokio::task_local! {
    /// The deliveries the request being handled wrote, to hand to the queue after it commits.
    static EMITTED: std::cell::RefCell<Vec<DeliveryMessage>>;
}

/// Hands the deliveries a change wrote to the queue after the request (see [`collecting`]).
pub(crate) fn note_emitted(org: OrgId, ids: &[Uuid]) {
    // Outside `collecting` (a tool, a test) the sweep hands them over instead.
    let _ = EMITTED.try_with(|emitted| {
        emitted
            .borrow_mut()
            .extend(ids.iter().map(|&delivery_id| DeliveryMessage {
                delivery_id,
                organization_id: org,
            }))
    });
}

/// Runs `work` (a request's handling), collecting the deliveries it writes to the outbox.
pub async fn collecting<F: Future>(work: F) -> (F::Output, Vec<DeliveryMessage>) {
    // On the heap: a handler's future is large, and this wraps it in one more.
    let work = Box::pin(work);
    EMITTED
        .scope(std::cell::RefCell::new(Vec::new()), async move {
            let output = work.await;
            let emitted = EMITTED.with(|e| std::mem::take(&mut *e.borrow_mut()));
            (output, emitted)
        })
        .await
}

/// Hands a request's deliveries to the queue once its transaction is over, so they leave
/// at once rather than on the sweep's next run. A delivery whose transaction rolled back
/// names nothing, and the deliverer skips it; what fails is logged and left to the sweep.
pub async fn dispatch(pool: &PgPool, queue: &impl DeliveryDispatch, emitted: &[DeliveryMessage]) {
    if emitted.is_empty() {
        return;
    }
    // Unmarked, they are sent again by the sweep: a duplicate the deliverer skips.
    if let Err(e) = hand_over(pool, queue, emitted).await {
        tracing::warn!(error = %e, "deliveries sent but not marked");
    }
}

/// Sends `messages` to the queue org by org and marks each org's as sent; how many were.
/// An org whose send fails is logged and skipped: its deliveries stay due.
async fn hand_over(
    pool: &PgPool,
    queue: &impl DeliveryDispatch,
    messages: &[DeliveryMessage],
) -> Result<usize, ServiceError> {
    let mut by_org: std::collections::BTreeMap<OrgId, Vec<DeliveryMessage>> = Default::default();
    for m in messages {
        by_org.entry(m.organization_id).or_default().push(*m);
    }
    let mut sent = 0;
    for (org, messages) in by_org {
        if let Err(e) = queue.send(&messages).await {
            tracing::warn!(org_id = %org, error = %e, "deliveries not handed to the queue");
            continue;
        }
        let ids: Vec<Uuid> = messages.iter().map(|m| m.delivery_id).collect();
        let mut tx = begin_tenant(pool, org, None).await?;
        outbound::mark_dispatched(&mut tx, org, &ids).await?;
        tx.commit().await?;
        sent += ids.len();
    }
    Ok(sent)
}

/// A checked endpoint URL: `https` (or `http` to this machine, in local mode only), a host,
/// no credentials, and no literal private address. Names are checked again after DNS,
/// when posting.
pub fn check_url(raw: &str, local: bool) -> Result<String, InvalidInput> {
    let bad = |why: &str| InvalidInput::new("url", why.to_owned());
    let url = raw.trim();
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("must be an absolute https URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("must name a host, without credentials"));
    }
    let host = host_of(authority);
    let loopback_name =
        host.eq_ignore_ascii_case("localhost") || host_ip(host).is_some_and(|ip| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if local && loopback_name => {}
        "http" => return Err(bad("must use https")),
        _ => return Err(bad("must be an https URL")),
    }
    if let Some(ip) = host_ip(host)
        && !address_allowed(ip, local)
    {
        return Err(bad(
            "must not point at a private, loopback or link-local address",
        ));
    }
    if url.len() > 2000 {
        return Err(bad("must be at most 2000 characters"));
    }
    Ok(url.to_owned())
}

/// `example.com` from `example.com:8443`; `::1` from `[::1]:80`.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

fn host_ip(host: &str) -> Option<std::net::IpAddr> {
    host.parse().ok()
}

/// Whether a webhook may be posted to `ip`: public addresses only; in local mode, loopback
/// too. Never private (RFC 1918, unique local), link-local (with the cloud metadata
/// address), carrier-grade NAT, unspecified, broadcast or multicast.
pub fn address_allowed(ip: std::net::IpAddr, local: bool) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback() {
                return local;
            }
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                || a == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return address_allowed(IpAddr::V4(v4), local);
            }
            if v6.is_loopback() {
                return local;
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

fn check_event_types(types: &[String]) -> Result<Vec<String>, InvalidInput> {
    if types.is_empty() {
        return Err(InvalidInput::new(
            "event_types",
            "must name at least one event",
        ));
    }
    if let Some(unknown) = types.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
        return Err(InvalidInput::new(
            "event_types",
            format!("{unknown} is not one of: {}", EVENT_TYPES.join(", ")),
        ));
    }
    let mut types = types.to_vec();
    types.sort();
    types.dedup();
    Ok(types)
}

/// A new endpoint and its signing secret, shown this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedEndpoint {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// The HMAC-SHA256 key: `x-nexify-signature` is `sha256=` + hex(HMAC(secret,
    /// "<x-nexify-timestamp>.<body>")), as for inbound webhooks.
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<Delivery>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// Adds an endpoint (admins).
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn create(
    pool: &PgPool,
    sealer: &impl Sealer,
    user: UserId,
    org: OrgId,
    url: &str,
    event_types: &[String],
    local: bool,
) -> Result<CreatedEndpoint, ServiceError> {
    let url = check_url(url, local)?;
    let types = check_event_types(event_types)?;
    let (secret, _) = nexify_auth::one_time::issue();
    // Sealed before the transaction: sealing may ask the key service.
    let sealed = sealer.seal(org, secret.as_bytes()).await?;
    let (mut tx, caller) = access::begin(pool, user, org, Role::Admin).await?;
    let endpoint = outbound::insert_endpoint(&mut tx, org, &url, &types, &sealed).await?;
    audit::insert(
        &mut tx,
        org,
        Some(caller.user),
        AuditAction::WebhookEndpointCreated,
        None,
        serde_json::json!({ "endpoint_id": endpoint.id, "url": endpoint.url, "event_types": types }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(endpoint_id = %endpoint.id, "webhook endpoint created");
    Ok(CreatedEndpoint { endpoint, secret })
}

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn list(pool: &PgPool, user: UserId, org: OrgId) -> Result<Vec<Endpoint>, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Admin).await?;
    let found = outbound::list_endpoints(&mut tx, org).await?;
    tx.commit().await?;
    Ok(found)
}

/// What an admin may change on an endpoint.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

#[tracing::instrument(skip_all, fields(org_id = %org, endpoint_id = %id), err)]
pub async fn change(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    id: Uuid,
    change: &EndpointChange,
    local: bool,
) -> Result<Endpoint, ServiceError> {
    let url = change
        .url
        .as_deref()
        .map(|u| check_url(u, local))
        .transpose()?;
    let types = change
        .event_types
        .as_deref()
        .map(check_event_types)
        .transpose()?;
    let (mut tx, caller) = access::begin(pool, user, org, Role::Admin).await?;
    let endpoint = outbound::update_endpoint(
        &mut tx,
        org,
        id,
        url.as_deref(),
        types.as_deref(),
        change.enabled,
    )
    .await?;
    audit::insert(
        &mut tx,
        org,
        Some(caller.user),
        AuditAction::WebhookEndpointChanged,
        None,
        serde_json::json!({ "endpoint_id": id, "url": url, "event_types": types, "enabled": change.enabled }),
    )
    .await?;
    tx.commit().await?;
    Ok(endpoint)
}

#[tracing::instrument(skip_all, fields(org_id = %org, endpoint_id = %id), err)]
pub async fn delete(pool: &PgPool, user: UserId, org: OrgId, id: Uuid) -> Result<(), ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Admin).await?;
    outbound::delete_endpoint(&mut tx, org, id).await?;
    audit::insert(
        &mut tx,
        org,
        Some(caller.user),
        AuditAction::WebhookEndpointDeleted,
        None,
        serde_json::json!({ "endpoint_id": id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An endpoint's delivery log, newest first.
#[tracing::instrument(skip_all, fields(org_id = %org, endpoint_id = %endpoint), err)]
pub async fn deliveries(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    endpoint: Uuid,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<DeliveryPage, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Admin).await?;
    outbound::endpoint_with_secret(&mut tx, org, endpoint).await?;
    let before = Cursor::position::<Uuid>(cursor.as_ref(), "deliveries")?;
    let limit = limit.clamp(1, MAX_PAGE);
    let items = outbound::list_deliveries(&mut tx, org, endpoint, before, limit + 1).await?;
    let (items, next_cursor) = keyset_page(items, limit, |d| Cursor {
        order: "deliveries".into(),
        at: d.created_at,
        id: d.id,
    });
    tx.commit().await?;
    Ok(DeliveryPage { items, next_cursor })
}

/// Makes a delivery due again (admins): the sweep sends it on its next run.
#[tracing::instrument(skip_all, fields(org_id = %org, delivery_id = %id), err)]
pub async fn redeliver(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    endpoint: Uuid,
    id: Uuid,
) -> Result<Delivery, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Admin).await?;
    let delivery = outbound::make_due(&mut tx, org, endpoint, id).await?;
    tx.commit().await?;
    note_emitted(org, &[delivery.id]);
    Ok(delivery)
}

/// Queues a `webhook.test` event for one endpoint (admins), whatever it subscribes to.
#[tracing::instrument(skip_all, fields(org_id = %org, endpoint_id = %endpoint), err)]
pub async fn send_test(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    endpoint: Uuid,
) -> Result<Delivery, ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Admin).await?;
    outbound::endpoint_with_secret(&mut tx, org, endpoint).await?;
    let event_id = Uuid::new_v4();
    let body = envelope(
        event_id,
        TEST_EVENT,
        org,
        Utc::now(),
        &serde_json::json!({ "endpoint_id": endpoint, "requested_by": caller.user }),
    );
    let id = outbound::insert_test(&mut tx, org, endpoint, event_id, TEST_EVENT, &body).await?;
    let delivery = outbound::make_due(&mut tx, org, endpoint, id).await?;
    tx.commit().await?;
    note_emitted(org, &[delivery.id]);
    Ok(delivery)
}

/// What posting a delivery's body to its endpoint gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The start of the answer's body, at most [`EXCERPT_BYTES`].
    pub excerpt: String,
}

/// Why a post got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The SSRF rules refused the address (after DNS).
    #[error("refused: {0}")]
    Refused(String),
    #[error("timed out")]
    Timeout,
    #[error("could not connect or send: {0}")]
    Transport(String),
}

/// Posts signed webhook bodies.
pub trait Sender: Send + Sync {
    fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> impl Future<Output = Result<Answer, SendError>> + Send;
}

/// What one delivery run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    Succeeded,
    /// Failed; tried again later.
    Retrying,
    /// Failed for the last time, or the endpoint is off.
    GaveUp,
    /// Not due, already done, or being attempted elsewhere: nothing to do.
    Skipped,
}

/// Attempts one delivery: claims it (a lease, so duplicates skip it), opens the endpoint's
/// sealed secret and posts the event signed, with no transaction open, then logs the
/// attempt and schedules what follows.
#[tracing::instrument(skip_all, fields(org_id = %org, delivery_id = %id), err)]
pub async fn deliver(
    pool: &PgPool,
    sealer: &impl Sealer,
    sender: &impl Sender,
    org: OrgId,
    id: Uuid,
) -> Result<Delivered, ServiceError> {
    let mut tx = begin_tenant(pool, org, None).await?;
    let Some((delivery, body)) = outbound::claim(&mut tx, org, id, ATTEMPT_LEASE_SECONDS).await?
    else {
        tx.commit().await?;
        return Ok(Delivered::Skipped);
    };
    let (endpoint, secret) =
        outbound::endpoint_with_secret(&mut tx, org, delivery.endpoint_id).await?;
    tx.commit().await?;
    let secret = reveal(sealer, org, secret).await?;

    let (answer, latency_ms) = if endpoint.enabled {
        let at = Utc::now().timestamp();
        let headers = [
            ("content-type", "application/json".to_owned()),
            (nexify_auth::webhook::TIMESTAMP_HEADER, at.to_string()),
            (
                nexify_auth::webhook::SIGNATURE_HEADER,
                nexify_auth::webhook::sign(&secret, at, body.as_bytes()),
            ),
            ("x-nexify-event-id", delivery.event_id.to_string()),
            ("x-nexify-event-type", delivery.event_type.clone()),
        ];
        let started = std::time::Instant::now();
        let answer = sender.post(&endpoint.url, &headers, &body).await;
        (Some(answer), started.elapsed().as_millis() as i32)
    } else {
        (None, 0)
    };

    let attempt = match &answer {
        Some(Ok(a)) => AttemptRecord {
            status_code: Some(i32::from(a.status)),
            latency_ms,
            response_excerpt: Some(a.excerpt.clone()),
            error: (!(200..300).contains(&a.status)).then(|| format!("answered {}", a.status)),
        },
        Some(Err(e)) => AttemptRecord {
            status_code: None,
            latency_ms,
            response_excerpt: None,
            error: Some(e.to_string()),
        },
        None => AttemptRecord {
            status_code: None,
            latency_ms: 0,
            response_excerpt: None,
            error: Some("the endpoint is turned off".into()),
        },
    };
    let succeeded = attempt.error.is_none();
    let next = Utc::now() + backoff(delivery.attempt_count + 1);
    let outcome = if succeeded {
        Delivered::Succeeded
    } else if answer.is_none() || next > delivery.created_at + Duration::hours(GIVE_UP_AFTER_HOURS)
    {
        Delivered::GaveUp
    } else {
        Delivered::Retrying
    };
    let state = match outcome {
        Delivered::Succeeded => "succeeded",
        Delivered::GaveUp => "failed",
        _ => "pending",
    };
    let mut tx = begin_tenant(pool, org, None).await?;
    let run = outbound::record_attempt(&mut tx, org, &delivery, &attempt, state, next).await?;
    if answer.is_some() && run >= DISABLE_AFTER_FAILURES {
        let reason = format!(
            "turned off after {run} failed deliveries in a row; the last: {}",
            attempt.error.as_deref().unwrap_or("failed")
        );
        outbound::disable_endpoint(&mut tx, org, endpoint.id, &reason).await?;
        audit::insert(
            &mut tx,
            org,
            None,
            AuditAction::WebhookEndpointDisabled,
            None,
            serde_json::json!({ "endpoint_id": endpoint.id, "reason": reason }),
        )
        .await?;
        tracing::warn!(endpoint_id = %endpoint.id, failures = run, "webhook endpoint turned off");
    }
    tx.commit().await?;
    record_metrics(outcome, latency_ms);
    tracing::info!(
        endpoint_id = %endpoint.id,
        event_type = %delivery.event_type,
        status_code = ?attempt.status_code,
        latency_ms,
        outcome = ?outcome,
        "webhook delivery attempted"
    );
    Ok(outcome)
}

/// The deliveries queue's message: which delivery to attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DeliveryMessage {
    pub delivery_id: Uuid,
    pub organization_id: OrgId,
}

/// Hands deliveries to the deliveries queue.
pub trait DeliveryDispatch: Send + Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    fn send(
        &self,
        messages: &[DeliveryMessage],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The sweep: hands every due delivery (across orgs) to the queue, unless it was handed
/// over in the last `resend_after_seconds` (a message lost by the broker is sent again).
/// Returns how many were sent.
#[tracing::instrument(skip_all, err)]
pub async fn sweep(
    pool: &PgPool,
    queue: &impl DeliveryDispatch,
    resend_after_seconds: i64,
    limit: i64,
) -> Result<usize, ServiceError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(nexify_storage::StorageError::from)?;
    let due = outbound::due(&mut conn, resend_after_seconds, limit).await?;
    drop(conn);
    let messages: Vec<DeliveryMessage> = due
        .into_iter()
        .map(|(delivery_id, organization_id)| DeliveryMessage {
            delivery_id,
            organization_id,
        })
        .collect();
    hand_over(pool, queue, &messages).await
}

/// `WebhookDeliveries` (Count) by `Outcome`, and `WebhookLatency` (Milliseconds) of the
/// attempts that got an answer or timed out.
fn record_metrics(outcome: Delivered, latency_ms: i32) {
    use nexify_telemetry::metrics::{Metric, emit};
    let name = match outcome {
        Delivered::Succeeded => "succeeded",
        Delivered::Retrying => "retrying",
        Delivered::GaveUp => "gave_up",
        Delivered::Skipped => return,
    };
    emit(
        &[("Outcome", name)],
        &[
            Metric {
                name: "WebhookDeliveries",
                value: 1.0,
                unit: "Count",
            },
            Metric {
                name: "WebhookLatency",
                value: f64::from(latency_ms),
                unit: "Milliseconds",
            },
        ],
    );
}

/// Seals every endpoint secret still kept in plain text (once, after upgrading); returns
/// how many. Runs as the schema owner, which sees every org.
pub async fn seal_plain_endpoint_secrets(
    pool: &PgPool,
    sealer: &impl Sealer,
) -> Result<usize, ServiceError> {
    // One connection and no transaction: each row is sealed (a KMS call), then written.
    let mut conn = pool.acquire().await?;
    let plain = outbound::plain_endpoint_secrets(&mut conn).await?;
    let mut sealed_count = 0;
    for (org, id, secret) in plain {
        let sealed = sealer.seal(org, secret.as_bytes()).await?;
        if outbound::seal_plain_endpoint_secret(&mut conn, org, id, &secret, &sealed).await? {
            sealed_count += 1;
        }
    }
    Ok(sealed_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_up_to_six_hours() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(30), Duration::hours(6));
    }

    #[test]
    fn urls_must_be_https_and_public() {
        assert!(check_url("https://hooks.example.com/nexify", false).is_ok());
        for bad in [
            "http://hooks.example.com/",
            "ftp://hooks.example.com/",
            "https://user:pw@hooks.example.com/",
            "https://10.0.0.5/hook",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/",
            "https://127.0.0.1:8443/",
            "http://localhost:9000/",
            "hooks.example.com",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        // Locally, http to this machine is allowed; still not to the private network.
        assert!(check_url("http://127.0.0.1:9911/hook", true).is_ok());
        assert!(check_url("http://localhost:9911/hook", true).is_ok());
        assert!(check_url("http://192.168.1.4/hook", true).is_err());
        assert!(check_url("http://hooks.example.com/", true).is_err());
    }

    #[test]
    fn private_and_metadata_addresses_are_refused() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!address_allowed(ip.parse().unwrap(), false), "{ip}");
        }
        assert!(!address_allowed("127.0.0.1".parse().unwrap(), false));
        assert!(address_allowed("127.0.0.1".parse().unwrap(), true));
        assert!(address_allowed("93.184.216.34".parse().unwrap(), false));
        assert!(address_allowed(
            "2606:2800:220:1::1".parse().unwrap(),
            false
        ));
    }
}
