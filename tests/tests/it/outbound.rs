//! Outbound webhooks against a real local HTTP receiver, through the real deliveries queue:
//! the outbox is written with its change or not at all; each event is signed, carries a
//! stable id, and is delivered at least once; failures are logged and retried with
//! back-off, then given up; an endpoint that keeps failing is turned off; and the SSRF
//! rules refuse private addresses, before and after DNS.

use nexify_auth::webhook;
use nexify_service::outbound::{DISABLE_AFTER_FAILURES, Sender};
use nexify_tests::api::Api;
use nexify_tests::org_fixture;
use nexify_tests::receiver::{Received, Receiver};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

async fn endpoint(
    api: &Api,
    org: nexify_domain::OrgId,
    admin: &str,
    url: &str,
    events: &[&str],
) -> Value {
    let created = api
        .call(
            "POST",
            &format!("/api/orgs/{org}/webhook-endpoints/"),
            Some(admin),
            Some(json!({ "url": url, "event_types": events })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    created.json
}

/// The receiver's check of a request: the signature over the exact body, with the secret.
fn verified(secret: &str, r: &Received) -> bool {
    let headers = webhook::precheck(
        r.header(webhook::TIMESTAMP_HEADER),
        r.header(webhook::SIGNATURE_HEADER),
        chrono::Utc::now().timestamp(),
    )
    .unwrap();
    webhook::verify_with(secret, &headers, r.body.as_bytes()).is_ok()
}

async fn count(api: &Api, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&api.db.owner)
        .await
        .unwrap()
}

/// Sweeps and delivers until the queue is empty; how many were attempted.
async fn deliver_all(api: &Api) -> usize {
    api.sweep_deliveries().await;
    let deliverer = api.deliverer();
    let mut attempted = 0;
    loop {
        let (received, failed) = api.deliver_once(&deliverer, 1).await;
        assert!(failed.is_empty(), "{failed:?}");
        if received == 0 {
            return attempted;
        }
        attempted += received;
    }
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn events_are_signed_delivered_and_redelivered_with_a_stable_id(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "out-a").await;
    let admin = api.token(a.admin);
    let agent = api.token(a.agent);
    let receiver = Receiver::start().await;
    let created = endpoint(
        &api,
        a.org,
        &admin,
        &receiver.url,
        &["ticket.created", "ticket.updated", "message.created"],
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let endpoint_id = created["id"].as_str().unwrap().to_owned();
    assert!(created.get("secret").is_some());
    let listed = api
        .call(
            "GET",
            &format!("/api/orgs/{}/webhook-endpoints/", a.org),
            Some(&admin),
            None,
        )
        .await;
    assert!(
        listed.json["items"][0].get("secret").is_none(),
        "the secret is shown once"
    );
    // Stored sealed (KMS envelope), never in plain text.
    let (plain, sealed): (Option<String>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT secret, secret_sealed FROM webhook_endpoints WHERE id = $1::uuid")
            .bind(&endpoint_id)
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(plain, None);
    assert!(
        sealed.is_some_and(|b| !b.windows(secret.len()).any(|w| w == secret.as_bytes())),
        "sealed, without the secret in it"
    );

    let ticket = api
        .call("POST", &format!("/api/orgs/{}/tickets/", a.org), Some(&agent),
            Some(json!({"requester_email": "c@example.com", "subject": "Refund", "body": "Where is it?"})))
        .await;
    let id = ticket.json["id"].as_str().unwrap().to_owned();
    api.call(
        "PATCH",
        &format!("/api/orgs/{}/tickets/{id}/", a.org),
        Some(&agent),
        Some(json!({"priority": "high"})),
    )
    .await;
    api.call(
        "POST",
        &format!("/api/orgs/{}/tickets/{id}/messages/", a.org),
        Some(&agent),
        Some(json!({"kind": "reply", "body": "On its way."})),
    )
    .await;
    // Not subscribed: no delivery.
    api.call(
        "POST",
        &format!("/api/orgs/{}/tickets/{id}/triage/", a.org),
        Some(&agent),
        None,
    )
    .await;

    assert_eq!(deliver_all(&api).await, 3);
    let got = receiver.received();
    let types: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = types.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["message.created", "ticket.created", "ticket.updated"]
    );
    for r in &got {
        assert!(verified(&secret, r), "the receiver verifies the signature");
        assert!(!verified("another-secret-0123456789abcdef0123", r));
        let event = r.json();
        assert_eq!(r.header("x-nexify-event-id"), event["id"].as_str());
        assert_eq!(event["organization_id"], json!(a.org));
    }
    let updated = got
        .iter()
        .find(|r| r.json()["type"] == "ticket.updated")
        .unwrap()
        .json();
    assert_eq!(updated["data"]["ticket"]["priority"], "high");
    assert_eq!(updated["data"]["changes"], json!(["priority_changed"]));

    // Succeeded, with each attempt logged.
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'"
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM webhook_attempts WHERE status_code = 200"
        )
        .await,
        3
    );
    let log = api
        .call(
            "GET",
            &format!(
                "/api/orgs/{}/webhook-endpoints/{endpoint_id}/deliveries/",
                a.org
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        log.json["items"].as_array().unwrap().len(),
        3,
        "{}",
        log.json
    );

    // A redelivery sends the very same event: same id, same bytes.
    let first = log.json["items"][0].clone();
    let again = api
        .call(
            "POST",
            &format!(
                "/api/orgs/{}/webhook-endpoints/{endpoint_id}/deliveries/{}/redeliver/",
                a.org,
                first["id"].as_str().unwrap()
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.json);
    assert_eq!(deliver_all(&api).await, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    let resent = &got[3];
    assert_eq!(
        resent.header("x-nexify-event-id"),
        first["event_id"].as_str()
    );
    let original = got
        .iter()
        .find(|r| r.header("x-nexify-event-id") == first["event_id"].as_str())
        .unwrap();
    assert_eq!(original.body, resent.body);

    // A test event, whatever the subscription; agents may not manage endpoints.
    let test = api
        .call(
            "POST",
            &format!("/api/orgs/{}/webhook-endpoints/{endpoint_id}/test/", a.org),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(test.status, 202);
    assert_eq!(deliver_all(&api).await, 1);
    assert_eq!(receiver.received()[4].json()["type"], "webhook.test");
    let as_agent = api
        .call(
            "GET",
            &format!("/api/orgs/{}/webhook-endpoints/", a.org),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(as_agent.status, 403);
    let b = org_fixture(&api.db.owner, "out-b").await;
    let elsewhere = api
        .call(
            "GET",
            &format!(
                "/api/orgs/{}/webhook-endpoints/{endpoint_id}/deliveries/",
                b.org
            ),
            Some(&api.token(b.admin)),
            None,
        )
        .await;
    assert_eq!(elsewhere.status, 404);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn no_event_without_its_change_and_no_change_without_its_event(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "out-atomic").await;
    let admin = api.token(a.admin);
    let agent = api.token(a.agent);
    let receiver = Receiver::start().await;
    endpoint(
        &api,
        a.org,
        &admin,
        &receiver.url,
        &["ticket.created", "ticket.updated"],
    )
    .await;

    let ticket = api
        .call(
            "POST",
            &format!("/api/orgs/{}/tickets/", a.org),
            Some(&agent),
            Some(json!({"requester_email": "c@example.com", "subject": "Refund"})),
        )
        .await;
    let id: nexify_domain::TicketId = ticket.json["id"].as_str().unwrap().parse().unwrap();
    // The event is written on the change's own transaction: rolled back together...
    let change = nexify_storage::tickets::TicketChanges {
        priority: Some(nexify_domain::Priority::Urgent),
        ..Default::default()
    };
    let mut tx = nexify_storage::begin_tenant(&api.db.app, a.org, None)
        .await
        .unwrap();
    nexify_service::tickets::apply_changes(
        &mut tx,
        a.org,
        id,
        &change,
        nexify_storage::events::Actor::System,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM webhook_deliveries WHERE event_type = 'ticket.updated'"
        )
        .await,
        0
    );
    tx.rollback().await.unwrap();
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM webhook_deliveries WHERE event_type = 'ticket.updated'"
        )
        .await,
        0
    );
    // ...and committed together.
    let mut tx = nexify_storage::begin_tenant(&api.db.app, a.org, None)
        .await
        .unwrap();
    nexify_service::tickets::apply_changes(
        &mut tx,
        a.org,
        id,
        &change,
        nexify_storage::events::Actor::System,
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM webhook_deliveries WHERE event_type = 'ticket.updated'"
        )
        .await,
        1
    );
    // A change that changes nothing is no event either.
    api.call(
        "PATCH",
        &format!("/api/orgs/{}/tickets/{id}/", a.org),
        Some(&agent),
        Some(json!({"priority": "urgent"})),
    )
    .await;

    // Every ticket has its ticket.created, and every committed change its ticket.updated.
    assert_eq!(count(&api, "SELECT count(*) FROM tickets").await, 1);
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM webhook_deliveries WHERE event_type = 'ticket.created'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM webhook_deliveries WHERE event_type = 'ticket.updated'"
        )
        .await,
        1
    );
    let ok = api
        .call(
            "PATCH",
            &format!("/api/orgs/{}/tickets/{id}/", a.org),
            Some(&agent),
            Some(json!({"status": "in_progress"})),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM webhook_deliveries WHERE event_type = 'ticket.updated'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM ticket_events
             WHERE event_type IN ('status_changed', 'priority_changed')"
        )
        .await,
        2
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn failures_are_logged_retried_with_back_off_then_given_up(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "out-retry").await;
    let receiver = Receiver::start().await;
    endpoint(
        &api,
        a.org,
        &api.token(a.admin),
        &receiver.url,
        &["ticket.created"],
    )
    .await;
    receiver.answer(500, &"e".repeat(5000), 2);
    api.call(
        "POST",
        &format!("/api/orgs/{}/tickets/", a.org),
        Some(&api.token(a.agent)),
        Some(json!({"requester_email": "c@example.com", "subject": "Refund"})),
    )
    .await;

    assert_eq!(deliver_all(&api).await, 1);
    let (status, attempts, wait): (String, i32, f64) = sqlx::query_as(
        "SELECT status, attempt_count, extract(epoch FROM next_attempt_at - now())::float8 FROM webhook_deliveries",
    )
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert!(
        (25.0..=31.0).contains(&wait),
        "the first retry waits 30 s: {wait}"
    );
    let (code, excerpt): (Option<i32>, Option<String>) =
        sqlx::query_as("SELECT status_code, response_excerpt FROM webhook_attempts")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(code, Some(500));
    assert_eq!(
        excerpt.unwrap().len(),
        1024,
        "at most 1 KB of the answer is kept"
    );
    // Not due yet: the sweep leaves it.
    assert_eq!(api.sweep_deliveries().await, 0);

    // Due: the second failure waits twice as long.
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now()")
        .execute(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(deliver_all(&api).await, 1);
    let wait: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM webhook_deliveries",
    )
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert!((55.0..=61.0).contains(&wait), "{wait}");

    // A day after its event, a failure is the last: given up.
    receiver.answer(503, "down", 1);
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now(), created_at = now() - interval '25 hours'")
        .execute(&api.db.owner).await.unwrap();
    assert_eq!(deliver_all(&api).await, 1);
    let (status, attempts, last): (String, i32, Option<i32>) =
        sqlx::query_as("SELECT status, attempt_count, last_status_code FROM webhook_deliveries")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts, last), ("failed", 3, Some(503)));
    assert_eq!(receiver.received().len(), 3);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_message_the_deliverer_cannot_run_reaches_the_dlq(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    api.sqs
        .send_message()
        .queue_url(&api.deliveries_url)
        .message_body("not a delivery")
        .send()
        .await
        .unwrap();
    let deliverer = api.deliverer();
    let mut receives = 0;
    for _ in 0..20 {
        let (received, failed) = api.deliver_once(&deliverer, 3).await;
        assert_eq!(failed.len(), received);
        receives += received;
        if api.queue_depth(&api.deliveries_dlq_url).await == 1 {
            break;
        }
    }
    assert_eq!(api.queue_depth(&api.deliveries_dlq_url).await, 1);
    assert_eq!(receives, 3);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn an_endpoint_that_keeps_failing_is_turned_off(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "out-off").await;
    let admin = api.token(a.admin);
    let receiver = Receiver::start().await;
    let created = endpoint(&api, a.org, &admin, &receiver.url, &["ticket.created"]).await;
    let id = created["id"].as_str().unwrap().to_owned();
    receiver.answer(500, "no", DISABLE_AFTER_FAILURES as usize);
    for n in 0..DISABLE_AFTER_FAILURES {
        api.call(
            "POST",
            &format!("/api/orgs/{}/tickets/", a.org),
            Some(&api.token(a.agent)),
            Some(json!({"requester_email": "c@example.com", "subject": format!("T{n}")})),
        )
        .await;
    }
    assert_eq!(deliver_all(&api).await, DISABLE_AFTER_FAILURES as usize);
    let listed = api
        .call(
            "GET",
            &format!("/api/orgs/{}/webhook-endpoints/", a.org),
            Some(&admin),
            None,
        )
        .await;
    let e = &listed.json["items"][0];
    assert_eq!(e["enabled"], false, "{e}");
    assert!(
        e["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("failed deliveries in a row"),
        "{e}"
    );
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM audit_records WHERE action = 'webhook_endpoint_disabled'"
        )
        .await,
        1
    );
    // Off: new events are not queued for it.
    api.call(
        "POST",
        &format!("/api/orgs/{}/tickets/", a.org),
        Some(&api.token(a.agent)),
        Some(json!({"requester_email": "c@example.com", "subject": "After"})),
    )
    .await;
    assert_eq!(
        count(&api, "SELECT count(*) FROM webhook_deliveries").await,
        DISABLE_AFTER_FAILURES as i64
    );
    // Turned on again by an admin, its failure run starts over.
    let on = api
        .call(
            "PATCH",
            &format!("/api/orgs/{}/webhook-endpoints/{id}/", a.org),
            Some(&admin),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(
        (
            on.json["enabled"].as_bool(),
            on.json["consecutive_failures"].as_i64()
        ),
        (Some(true), Some(0))
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn private_addresses_are_refused_before_and_after_dns(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "out-ssrf").await;
    let admin = api.token(a.admin);
    for url in [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.8/hook",
        "http://192.168.1.1/hook",
        "http://hooks.example.com/",
        "https://user:pw@hooks.example.com/",
    ] {
        let refused = api
            .call(
                "POST",
                &format!("/api/orgs/{}/webhook-endpoints/", a.org),
                Some(&admin),
                Some(json!({"url": url, "event_types": ["ticket.created"]})),
            )
            .await;
        assert_eq!(
            (refused.status, refused.json["field"].as_str()),
            (422, Some("url")),
            "{url}: {}",
            refused.json
        );
    }
    let unknown_event = api
        .call(
            "POST",
            &format!("/api/orgs/{}/webhook-endpoints/", a.org),
            Some(&admin),
            Some(json!({"url": "https://hooks.example.com/", "event_types": ["ticket.deleted"]})),
        )
        .await;
    assert_eq!(unknown_event.json["field"], "event_types");

    // In the cloud, a name that resolves to this machine is refused after DNS, and plain
    // http or a literal loopback before any connection.
    let receiver = Receiver::start().await;
    let port = receiver
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let cloud = nexify_outbound::HttpSender::new(false);
    for url in [
        format!("https://localhost:{port}/hook"),
        receiver.url.clone(),
    ] {
        let refused = cloud.post(&url, &[], "{}").await;
        assert!(
            matches!(
                refused,
                Err(nexify_service::outbound::SendError::Refused(_))
            ),
            "{url}: {refused:?}"
        );
    }
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
    // Locally, the same receiver is reachable; redirects are answers, not followed.
    receiver.answer(302, "", 1);
    let local = nexify_outbound::HttpSender::new(true);
    let answer = local.post(&receiver.url, &[], "{}").await.unwrap();
    assert_eq!(answer.status, 302);
    assert_eq!(receiver.received().len(), 1);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_change_hands_its_deliveries_to_the_queue_once_it_commits(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "out-now").await;
    let receiver = Receiver::start().await;
    endpoint(
        &api,
        a.org,
        &api.token(a.admin),
        &receiver.url,
        &["ticket.created"],
    )
    .await;
    let created = api
        .call(
            "POST",
            &format!("/api/orgs/{}/tickets/", a.org),
            Some(&api.token(a.agent)),
            Some(json!({"requester_email": "c@example.com", "subject": "Now"})),
        )
        .await;
    assert_eq!(created.status, 201);
    // Already on the queue, and marked: the sweep has nothing to send.
    assert_eq!(api.queue_depth(&api.deliveries_url).await, 1);
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM webhook_deliveries WHERE dispatched_at IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(api.sweep_deliveries().await, 0);
    let (received, failed) = api.deliver_once(&api.deliverer(), 1).await;
    assert_eq!((received, failed.len()), (1, 0));
    assert_eq!(
        receiver.received()[0].json()["data"]["id"],
        created.json["id"]
    );
    // A refused change hands nothing over.
    let refused = api
        .call(
            "POST",
            &format!("/api/orgs/{}/tickets/", a.org),
            Some(&api.token(a.viewer)),
            Some(json!({"requester_email": "c@example.com", "subject": "No"})),
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(api.queue_depth(&api.deliveries_url).await, 0);
}

/// An endpoint whose secret was stored in plain text before sealing still gets signed
/// events, and `nexify webhook-secrets seal` (the service call) seals its secret; the
/// events stay signed with the same secret.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn endpoints_from_before_sealing_keep_working_and_get_sealed(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "out-plain").await;
    let admin = api.token(a.admin);
    let receiver = Receiver::start().await;
    let created = endpoint(&api, a.org, &admin, &receiver.url, &["ticket.created"]).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let legacy = "a-legacy-endpoint-secret-from-before-sealing-0123";
    sqlx::query(
        "UPDATE webhook_endpoints SET secret = $2, secret_sealed = NULL WHERE id = $1::uuid",
    )
    .bind(&id)
    .bind(legacy)
    .execute(&api.db.owner)
    .await
    .unwrap();
    let api = &api;
    let test_event = || {
        let path = format!("/api/orgs/{}/webhook-endpoints/{id}/test/", a.org);
        let admin = admin.clone();
        async move {
            let r = api.call("POST", &path, Some(&admin), None).await;
            assert_eq!(r.status, 202, "{}", r.json);
            deliver_all(api).await;
        }
    };
    test_event().await;
    let sealed = nexify_service::outbound::seal_plain_endpoint_secrets(&api.db.owner, &api.sealer)
        .await
        .unwrap();
    assert_eq!(sealed, 1);
    let plain: Option<String> =
        sqlx::query_scalar("SELECT secret FROM webhook_endpoints WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(plain, None);
    test_event().await;
    let got = receiver.received();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got.iter().all(|r| verified(legacy, r)),
        "the same secret signs, before and after"
    );
}

/// The worker records a triage in one call with a suggestion it built itself: the
/// `triage.suggested` event it hands to the queue carries the suggestion exactly as the API
/// then reads it (id, times, confidences), and an org with auto-apply settings (recorded
/// the other way, in a transaction of the worker's) gets its event too.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_triage_goes_out_as_the_suggestion_the_api_reads(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "out-triage").await;
    let admin = api.token(a.admin);
    let agent = api.token(a.agent);
    let receiver = Receiver::start().await;
    endpoint(&api, a.org, &admin, &receiver.url, &["triage.suggested"]).await;
    // As deployed: the worker hands its batch's deliveries to their queue.
    let worker = api
        .worker()
        .with_deliveries(nexify_queue::DeliveryQueue::new(
            api.sqs.clone(),
            api.deliveries_url.clone(),
        ));
    let (ticket, suggestion) = api
        .triage_new_ticket(a.org, &agent, "Refund", "Where is my refund?", &worker)
        .await;
    // Handed to the queue by the worker itself, not left for the sweep.
    assert_eq!(api.queue_depth(&api.deliveries_url).await, 1);
    assert_eq!(api.sweep_deliveries().await, 0);
    let (received, failed) = api.deliver_once(&api.deliverer(), 1).await;
    assert_eq!((received, failed.len()), (1, 0));
    let event = receiver.received()[0].json();
    assert_eq!(event["type"], "triage.suggested");
    assert_eq!(
        event["data"], suggestion,
        "the event carries the stored suggestion"
    );
    assert_eq!(event["data"]["ticket_id"], ticket.as_str());

    let saved = api
        .call(
            "PUT",
            &format!("/api/orgs/{}/settings/", a.org),
            Some(&admin),
            Some(
                json!({"teams": ["Billing", "Technical"], "categories": ["refund", "bug"],
                        "default_team": "Technical", "default_category": "bug",
                        "auto_triage_webhook": false, "auto_triage_api": false,
                        "auto_apply_threshold": null,
                        "auto_apply_fields": {"team": 1.0, "category": null}}),
            ),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.json);
    let (_, second) = api
        .triage_new_ticket(a.org, &agent, "Refund again", "Still no refund.", &worker)
        .await;
    let (received, failed) = api.deliver_once(&api.deliverer(), 1).await;
    assert_eq!((received, failed.len()), (1, 0));
    let events = receiver.received();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].json()["data"], second);
}
