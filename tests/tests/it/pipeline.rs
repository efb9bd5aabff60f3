//! The triage pipeline against real Postgres and real LocalStack SQS: enqueue, the worker's
//! at-least-once handling, retries, the DLQ, the outbox sweep, accept and reject.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nexify_queue::SqsDispatcher;
use nexify_service::triage::Stranding;
use nexify_tests::api::{Api, Reply};
use nexify_tests::{OrgFixture, eventually, org_fixture, ticket_fixture};
use nexify_triage::{RuleEngine, Triage, TriageEngine, TriageError, TriageInput};
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Fails its first `failures` calls, then behaves like the rule engine. Its failures are
/// an unavailable dependency (worth retrying), or with `broken`, a permanent failure.
struct Flaky {
    failures: usize,
    calls: AtomicUsize,
    permanent: bool,
}

impl Flaky {
    fn new(failures: usize) -> Self {
        Self {
            failures,
            calls: AtomicUsize::new(0),
            permanent: false,
        }
    }

    fn broken() -> Self {
        Self {
            permanent: true,
            ..Self::new(usize::MAX)
        }
    }
}

impl TriageEngine for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }

    fn triage(&self, input: &TriageInput) -> Result<Triage, TriageError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            let cause = "injected failure: secret-provider-text".into();
            return Err(if self.permanent {
                TriageError::Engine(cause)
            } else {
                TriageError::Unavailable(cause)
            });
        }
        RuleEngine.triage(input)
    }
}

async fn configure(api: &Api, org: nexify_domain::OrgId, extra: Value) {
    let mut doc = json!({
        "teams": ["Billing", "Technical", "Accounts"], "categories": ["payment_failure", "refund", "login"],
        "default_team": "Technical", "auto_triage_webhook": false, "auto_triage_api": false
    });
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    let admin: nexify_domain::UserId = sqlx::query_scalar(
        "SELECT user_id FROM memberships WHERE organization_id = $1 AND role = 'admin'",
    )
    .bind(org)
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    let r = api
        .call(
            "PUT",
            &format!("/api/orgs/{org}/settings/"),
            Some(&api.token(admin)),
            Some(doc),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
}

async fn scalar_i64(api: &Api, sql: String) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(&api.db.owner)
        .await
        .unwrap()
}

/// One SqsEvent record for `job`, received for the `receive_count`-th time.
fn record(message_id: &str, body: &str, receive_count: u32) -> Value {
    json!({
        "messageId": message_id, "receiptHandle": "rh", "body": body,
        "attributes": {"ApproximateReceiveCount": receive_count.to_string()},
        "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:test", "awsRegion": "us-east-1"
    })
}

/// An org with one ticket whose triage its agent has asked for: the org, the ticket and the
/// API's reply.
async fn requested_triage(
    api: &Api,
    slug: &str,
    subject: &str,
) -> (OrgFixture, nexify_storage::tickets::Ticket, Reply) {
    let a = org_fixture(&api.db.owner, slug).await;
    let ticket = ticket_fixture(&api.db.owner, a.org, subject).await;
    let reply = api
        .call(
            "POST",
            &format!("/api/orgs/{}/tickets/{}/triage/", a.org, ticket.id),
            Some(&api.token(a.agent)),
            None,
        )
        .await;
    (a, ticket, reply)
}

fn job_body(job: &Value) -> String {
    json!({"job_run_id": job["id"], "organization_id": job["organization_id"]}).to_string()
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn run_triage_then_accept_applies_it_with_a_full_audit_trail(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "pl-a").await;
    configure(&api, a.org, json!({})).await;
    let agent = api.token(a.agent);
    let created = api
        .call("POST", &format!("/api/orgs/{}/tickets/", a.org), Some(&agent), Some(json!({
            "requester_email": "c@example.com", "subject": "Card declined when paying the invoice",
            "body": "My card payment was declined twice and the invoice is overdue."
        })))
        .await;
    let ticket = created.json["id"].as_str().unwrap().to_owned();
    let triage_path = format!("/api/orgs/{}/tickets/{ticket}/triage/", a.org);

    let first = api.call("POST", &triage_path, Some(&agent), None).await;
    assert_eq!(first.status, 202, "{}", first.json);
    assert_eq!(first.json["status"], "queued");
    let again = api.call("POST", &triage_path, Some(&agent), None).await;
    assert_eq!(again.status, 200, "a repeat returns the same job");
    assert_eq!(again.json["id"], first.json["id"]);
    assert_eq!(
        api.queue_depth(&api.queue_url).await,
        1,
        "and sends no second message"
    );
    assert_eq!(
        api.call("POST", &triage_path, Some(&api.token(a.viewer)), None)
            .await
            .status,
        403
    );

    let worker = api.worker();
    let (received, failed) = api.bridge_once(&worker, 5).await;
    assert_eq!((received, failed.len()), (1, 0));

    let job = api
        .call(
            "GET",
            &format!(
                "/api/orgs/{}/jobs/{}/",
                a.org,
                first.json["id"].as_str().unwrap()
            ),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(job.json["status"], "succeeded");
    assert_eq!(job.json["attempt_count"], 1);
    assert!(job.json["last_attempt_at"].is_string());

    let listed = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/{ticket}/suggestions/", a.org),
            Some(&agent),
            None,
        )
        .await;
    let suggestions = listed.json["items"].as_array().unwrap();
    assert_eq!(suggestions.len(), 1);
    let s = &suggestions[0];
    assert_eq!(s["status"], "pending");
    assert_eq!(s["suggested_team"], "Billing");
    assert_eq!(
        s["suggested_priority"], "high",
        "a declined payment is an urgency cue"
    );
    assert_eq!(s["metadata"]["engine"], "rules-v1");
    let id = s["id"].as_str().unwrap();

    let accept_path = format!("/api/orgs/{}/suggestions/{id}/accept/", a.org);
    assert_eq!(
        api.call("POST", &accept_path, Some(&api.token(a.viewer)), None)
            .await
            .status,
        403
    );
    let accepted = api
        .call(
            "POST",
            &accept_path,
            Some(&agent),
            Some(json!({"draft_reply": "Edited reply"})),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.json);
    assert_eq!(accepted.json["status"], "accepted");
    assert_eq!(
        accepted.json["draft_reply"], "Edited reply",
        "the agent's edit is kept"
    );
    assert_eq!(accepted.json["decided_by"], json!(a.agent));
    let double = api.call("POST", &accept_path, Some(&agent), None).await;
    assert_eq!(double.status, 409);

    // The edited draft went into the conversation as the agent's reply, once.
    let conversation = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/{ticket}/messages/", a.org),
            Some(&agent),
            None,
        )
        .await;
    let messages: Vec<(&str, &str, &str)> = conversation.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap(),
                m["author_type"].as_str().unwrap(),
                m["body"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        messages,
        [
            (
                "inbound",
                "user",
                "My card payment was declined twice and the invoice is overdue."
            ),
            ("reply", "user", "Edited reply"),
        ]
    );

    let t = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/{ticket}/", a.org),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(
        (
            t.json["priority"].as_str(),
            t.json["assigned_team"].as_str()
        ),
        (Some("high"), Some("Billing"))
    );
    let events = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/{ticket}/events/", a.org),
            Some(&agent),
            None,
        )
        .await;
    let kinds: Vec<(&str, &str)> = events.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event_type"].as_str().unwrap(),
                e["actor_type"].as_str().unwrap(),
            )
        })
        .collect();
    for expected in [
        ("ai_triage_requested", "user"),
        ("ai_triage_ran", "ai"),
        ("priority_changed", "user"),
        ("team_changed", "user"),
        ("message_added", "user"),
        ("suggestion_approved", "user"),
    ] {
        assert!(
            kinds.contains(&expected),
            "missing {expected:?} in {kinds:?}"
        );
    }
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn reject_records_the_reason_and_changes_nothing(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "pl-r").await;
    configure(&api, a.org, json!({})).await;
    let ticket = ticket_fixture(&api.db.owner, a.org, "Refund for my plan").await;
    let agent = api.token(a.agent);
    api.call(
        "POST",
        &format!("/api/orgs/{}/tickets/{}/triage/", a.org, ticket.id),
        Some(&agent),
        None,
    )
    .await;
    api.bridge_once(&api.worker(), 5).await;
    let listed = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/{}/suggestions/", a.org, ticket.id),
            Some(&agent),
            None,
        )
        .await;
    let id = listed.json["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/orgs/{}/suggestions/{id}/reject/", a.org);
    let r = api
        .call(
            "POST",
            &path,
            Some(&agent),
            Some(json!({"reason": "Wrong team"})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        (
            r.json["status"].as_str(),
            r.json["decision_reason"].as_str()
        ),
        (Some("rejected"), Some("Wrong team"))
    );
    assert_eq!(
        api.call(
            "POST",
            &format!("/api/orgs/{}/suggestions/{id}/accept/", a.org),
            Some(&agent),
            None
        )
        .await
        .status,
        409
    );
    let unchanged = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/{}/", a.org, ticket.id),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(unchanged.json["assigned_team"], Value::Null);
    let rejected_events = scalar_i64(&api, format!("SELECT count(*) FROM ticket_events WHERE event_type = 'suggestion_rejected' AND ticket_id = '{}'", ticket.id)).await;
    assert_eq!(rejected_events, 1);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_same_message_delivered_three_times_gives_one_suggestion(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let (_, ticket, job) = requested_triage(&api, "pl-dup", "Password reset").await;
    let body = job_body(&job.json);
    let worker = api.worker();
    // Three deliveries: two at once, then one late.
    let event = |n: u32| json!({"Records": [record(&format!("m{n}"), &body, n)]});
    let (r1, r2) = tokio::join!(
        api.invoke_worker(&worker, event(1)),
        api.invoke_worker(&worker, event(1))
    );
    let r3 = api.invoke_worker(&worker, event(2)).await;
    let failures: usize = [r1, r2, r3]
        .iter()
        .map(|r| r["batchItemFailures"].as_array().unwrap().len())
        .sum();
    // A concurrent duplicate may be told to retry while the first holds the job; never more.
    assert!(failures <= 1, "{failures}");
    let n = scalar_i64(
        &api,
        format!(
            "SELECT count(*) FROM suggestions WHERE ticket_id = '{}'",
            ticket.id
        ),
    )
    .await;
    assert_eq!(n, 1);
    let (status, attempts): (String, i32) =
        sqlx::query_as("SELECT status, attempt_count FROM job_runs")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("succeeded", 1));
    let ran = scalar_i64(
        &api,
        "SELECT count(*) FROM ticket_events WHERE event_type = 'ai_triage_ran'".into(),
    )
    .await;
    assert_eq!(ran, 1);
}

/// A second record for a job that has its suggestion (a delivery that raced the first past
/// an expired lease) writes nothing and says so.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn recording_a_job_twice_writes_nothing_the_second_time(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    use nexify_storage::triage_steps::{self, Record, Recorded};
    let api = Api::new(c).await;
    let (a, ticket, job) = requested_triage(&api, "pl-twice", "Password reset").await;
    let worker = api.worker();
    let event = json!({"Records": [record("m1", &job_body(&job.json), 1)]});
    api.invoke_worker(&worker, event).await;
    let mut conn = api.db.owner.acquire().await.unwrap();
    let job_id: nexify_domain::JobRunId = job.json["id"].as_str().unwrap().parse().unwrap();
    let first = nexify_storage::suggestions::for_job(&mut conn, a.org, job_id)
        .await
        .unwrap()
        .expect("the first triage's suggestion");
    let mut second = first.clone();
    second.id = nexify_domain::SuggestionId::new_random();
    second.draft_reply = "A second draft".into();
    let recorded = triage_steps::record(
        &mut conn,
        a.org,
        &Record {
            suggestion: &second,
            event_payload: &json!({}),
            outbound_event_id: uuid::Uuid::new_v4(),
            outbound_body: "{}",
            embedder: "hashing",
            embedding: &nexify_storage::Vector::from(vec![0.5_f32; 384]),
        },
    )
    .await
    .unwrap();
    assert_eq!(recorded, Recorded::Conflict);
    let count = |sql: &str| scalar_i64(&api, sql.replace("$T", &ticket.id.to_string()));
    assert_eq!(
        count("SELECT count(*) FROM suggestions WHERE ticket_id = '$T'").await,
        1
    );
    assert_eq!(
        count("SELECT count(*) FROM ticket_events WHERE ticket_id = '$T' AND event_type = 'ai_triage_ran'")
            .await,
        1
    );
    let kept = nexify_storage::suggestions::for_job(&mut conn, a.org, job_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.id, first.id);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn an_error_after_the_claim_is_retried_and_then_succeeds(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let (_, _, job) = requested_triage(&api, "pl-retry", "Sync stuck").await;
    let worker = api.worker_with(Flaky::new(1));
    let body = job_body(&job.json);

    let first = api
        .invoke_worker(&worker, json!({"Records": [record("m1", &body, 1)]}))
        .await;
    assert_eq!(
        first["batchItemFailures"],
        json!([{"itemIdentifier": "m1"}])
    );
    let (status, attempts, error, code): (String, i32, Option<String>, Option<String>) =
        sqlx::query_as("SELECT status, attempt_count, last_error, last_error_code FROM job_runs")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), attempts),
        ("queued", 1),
        "retryable after a failed attempt"
    );
    // A code and a safe sentence: the provider's text stays in the logs.
    assert_eq!(code.as_deref(), Some("engine_unavailable"));
    assert_eq!(error.as_deref(), Some("The triage engine was unavailable."));

    let second = api
        .invoke_worker(&worker, json!({"Records": [record("m1", &body, 2)]}))
        .await;
    assert_eq!(second["batchItemFailures"], json!([]));
    let (status, attempts, error): (String, i32, Option<String>) =
        sqlx::query_as("SELECT status, attempt_count, last_error FROM job_runs")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts, error), ("succeeded", 2, None));
    assert_eq!(
        scalar_i64(&api, "SELECT count(*) FROM suggestions".into()).await,
        1
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_permanent_failure_fails_the_job_at_once_and_its_message_is_not_redelivered(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let (a, _, job) = requested_triage(&api, "pl-permanent", "Breaks the engine").await;
    let worker = api.worker_with(Flaky::broken());
    let reply = api
        .invoke_worker(
            &worker,
            json!({"Records": [record("m1", &job_body(&job.json), 1)]}),
        )
        .await;
    assert_eq!(
        reply["batchItemFailures"],
        json!([]),
        "acknowledged: another delivery would fail the same way"
    );
    let (status, attempts, error, code): (String, i32, Option<String>, Option<String>) =
        sqlx::query_as("SELECT status, attempt_count, last_error, last_error_code FROM job_runs")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("failed", 1));
    assert_eq!(code.as_deref(), Some("engine_failed"));
    assert!(!error.unwrap().contains("secret-provider-text"));
    let payload: Value = sqlx::query_scalar(
        "SELECT payload FROM ticket_events WHERE event_type = 'ai_triage_failed'",
    )
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(payload["error_code"], "engine_failed");
    assert!(
        !payload.to_string().contains("secret-provider-text"),
        "{payload}"
    );
    // What viewers read through the API: the code and the sentence.
    let viewer = api
        .call(
            "GET",
            &format!(
                "/api/orgs/{}/jobs/{}/",
                a.org,
                job.json["id"].as_str().unwrap()
            ),
            Some(&api.token(a.viewer)),
            None,
        )
        .await;
    assert_eq!(viewer.status, 200, "{:?}", viewer.json);
    assert_eq!(viewer.json["last_error_code"], "engine_failed");
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_poison_message_reaches_the_dlq_after_three_receives_and_its_job_fails(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let (_, _, job) = requested_triage(&api, "pl-poison", "Always fails").await;
    assert_eq!(job.status, 202);
    let worker = api.worker_with(Flaky::new(usize::MAX));

    let receives = AtomicUsize::new(0);
    let dead = eventually(Duration::from_secs(40), || async {
        let (received, failed) = api.bridge_once(&worker, 1).await;
        receives.fetch_add(received, Ordering::SeqCst);
        assert_eq!(failed.len(), received, "every delivery fails");
        (api.queue_depth(&api.dlq_url).await == 1).then_some(())
    })
    .await;
    let receives = receives.into_inner();
    assert!(
        dead.is_some(),
        "the message reached the DLQ (after {receives} receives)"
    );
    assert_eq!(receives, 3);
    let (status, attempts): (String, i32) =
        sqlx::query_as("SELECT status, attempt_count FROM job_runs")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("failed", 3));
    let failed_events = scalar_i64(&api, "SELECT count(*) FROM ticket_events WHERE event_type = 'ai_triage_failed' AND actor_type = 'system'".into()).await;
    assert_eq!(failed_events, 1);
    assert_eq!(
        scalar_i64(&api, "SELECT count(*) FROM suggestions".into()).await,
        0
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn twenty_concurrent_enqueues_with_one_key_give_one_job_and_one_message(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "pl-20").await;
    let ticket = ticket_fixture(&api.db.owner, a.org, "Concurrent").await;
    let token = api.token(a.agent);
    let path = format!("/api/orgs/{}/tickets/{}/triage/", a.org, ticket.id);
    let replies = futures::future::join_all((0..20).map(|_| {
        let mut req = Api::request("POST", &path, Some(&token), None);
        req.headers_mut()
            .insert("idempotency-key", "press-1".parse().unwrap());
        api.send(req)
    }))
    .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(
        scalar_i64(&api, "SELECT count(*) FROM job_runs".into()).await,
        1
    );
    assert_eq!(api.queue_depth(&api.queue_url).await, 1);
    let requested = scalar_i64(
        &api,
        "SELECT count(*) FROM ticket_events WHERE event_type = 'ai_triage_requested'".into(),
    )
    .await;
    assert_eq!(requested, 1);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn only_the_failed_message_of_a_batch_is_reported(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "pl-batch").await;
    let token = api.token(a.agent);
    let mut records = Vec::new();
    for i in 0..3 {
        let ticket = ticket_fixture(&api.db.owner, a.org, &format!("Batch {i}")).await;
        let job = api
            .call(
                "POST",
                &format!("/api/orgs/{}/tickets/{}/triage/", a.org, ticket.id),
                Some(&token),
                None,
            )
            .await;
        records.push(record(&format!("ok-{i}"), &job_body(&job.json), 1));
    }
    records.insert(1, record("poison", "{not json", 1));
    let response = api
        .invoke_worker(&api.worker(), json!({"Records": records}))
        .await;
    assert_eq!(
        response["batchItemFailures"],
        json!([{"itemIdentifier": "poison"}])
    );
    assert_eq!(
        scalar_i64(&api, "SELECT count(*) FROM suggestions".into()).await,
        3
    );
}

/// Asks for triage through an API whose queue does not exist: the JobRun commits, the send
/// fails, and the request is still accepted.
async fn enqueue_with_a_failing_send(api: &Api, org_slug: &str) {
    let a = org_fixture(&api.db.owner, org_slug).await;
    let ticket = ticket_fixture(&api.db.owner, a.org, "Stranded").await;
    let broken = SqsDispatcher::new(api.sqs.clone(), format!("{}-missing", api.queue_url));
    let triage_api =
        triage_api::App::new(api.db.app.clone(), api.issuer.verifier().clone(), broken);
    let req = Api::request(
        "POST",
        &format!("/api/orgs/{}/tickets/{}/triage/", a.org, ticket.id),
        Some(&api.token(a.agent)),
        None,
    );
    let resp = triage_api
        .handle(nexify_tests::api::routed(req).expect("a template route").0)
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        202,
        "the request is accepted even though the send failed"
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_failed_send_is_recovered_by_the_sweep(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    enqueue_with_a_failing_send(&api, "pl-sweep").await;
    let undispatched = scalar_i64(
        &api,
        "SELECT count(*) FROM job_runs WHERE dispatched_at IS NULL AND status = 'queued'".into(),
    )
    .await;
    assert_eq!(undispatched, 1);
    assert_eq!(api.queue_depth(&api.queue_url).await, 0);

    let sweeper = triage_sweeper::App::new(api.db.app.clone(), api.dispatcher.clone());
    let after = |unsent_seconds, lost_seconds| Stranding {
        unsent_seconds,
        lost_seconds,
    };
    assert_eq!(
        sweeper.sweep(after(3600, 3600)).await.unwrap(),
        0,
        "too young to be called stranded"
    );
    assert_eq!(sweeper.sweep(after(0, 3600)).await.unwrap(), 1);
    assert_eq!(
        sweeper.sweep(after(0, 3600)).await.unwrap(),
        0,
        "sent once: its message is now in the queue"
    );
    assert_eq!(api.queue_depth(&api.queue_url).await, 1);
    let (received, failed) = api.bridge_once(&api.worker(), 5).await;
    assert_eq!((received, failed.len()), (1, 0));
    let status: String = sqlx::query_scalar("SELECT status FROM job_runs")
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(status, "succeeded");
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_scheduled_sweep_resends_with_the_production_thresholds(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    enqueue_with_a_failing_send(&api, "pl-scheduled").await;
    let sweeper = triage_sweeper::App::new(api.db.app.clone(), api.dispatcher.clone());
    let scheduled = || {
        sweeper.handle(lambda_runtime::LambdaEvent::new(
            json!({}),
            lambda_runtime::Context::default(),
        ))
    };
    assert_eq!(
        scheduled().await.unwrap(),
        json!({"sent": 0, "deliveries": 0, "replies": 0}),
        "younger than UNSENT_AFTER_SECONDS"
    );
    // The job is now older than the production threshold.
    sqlx::query("UPDATE job_runs SET created_at = now() - make_interval(secs => $1)")
        .bind((triage_sweeper::UNSENT_AFTER_SECONDS + 5) as f64)
        .execute(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(
        scheduled().await.unwrap(),
        json!({"sent": 1, "deliveries": 0, "replies": 0})
    );
    assert_eq!(api.queue_depth(&api.queue_url).await, 1);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn webhook_tickets_are_auto_triaged_and_confident_suggestions_auto_applied(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "pl-auto").await;
    configure(
        &api,
        a.org,
        json!({"auto_triage_webhook": true, "auto_apply_threshold": 0.0}),
    )
    .await;
    let secret = api.webhook_secret(a.admin, a.org).await;
    let body = json!({"external_id": "e-1", "requester_email": "c@example.com", "subject": "Refund", "body": "I was charged twice, please refund the invoice"});
    let now = chrono::Utc::now().timestamp();
    let created = api
        .send(nexify_tests::api::signed_webhook(
            a.org, &secret, &body, now,
        ))
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(
        api.queue_depth(&api.queue_url).await,
        1,
        "enqueued automatically"
    );
    api.bridge_once(&api.worker(), 5).await;
    let (status, decided_by): (String, Option<uuid::Uuid>) =
        sqlx::query_as("SELECT status, decided_by FROM suggestions")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), decided_by),
        ("accepted", None),
        "applied by the AI itself"
    );
    let ai_approvals = scalar_i64(&api, "SELECT count(*) FROM ticket_events WHERE event_type = 'suggestion_approved' AND actor_type = 'ai'".into()).await;
    assert_eq!(ai_approvals, 1);
    let team: Option<String> = sqlx::query_scalar("SELECT assigned_team FROM tickets")
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(team.as_deref(), Some("Billing"));
    // API-created tickets are not auto-triaged unless that is on too.
    api.call(
        "POST",
        &format!("/api/orgs/{}/tickets/", a.org),
        Some(&api.token(a.agent)),
        Some(json!({"requester_email": "c@example.com", "subject": "Manual"})),
    )
    .await;
    assert_eq!(
        scalar_i64(&api, "SELECT count(*) FROM job_runs".into()).await,
        1
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn per_field_auto_apply_sets_only_the_fields_confident_enough(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "pl-fields").await;
    // The keyword engine estimates the team and the category, not the priority: a priority
    // threshold of 0 must still leave the priority alone, and the category's 1.0 is unmet.
    configure(
        &api,
        a.org,
        json!({"auto_triage_webhook": true,
               "auto_apply_fields": {"team": 0.0, "priority": 0.0, "category": 1.0}}),
    )
    .await;
    let secret = api.webhook_secret(a.admin, a.org).await;
    let body = json!({"external_id": "f-1", "requester_email": "c@example.com", "subject": "Refund", "body": "I was charged twice, please refund the invoice", "priority": "low"});
    let now = chrono::Utc::now().timestamp();
    let created = api
        .send(nexify_tests::api::signed_webhook(
            a.org, &secret, &body, now,
        ))
        .await;
    assert_eq!(created.status, 201);
    api.bridge_once(&api.worker(), 5).await;

    let ticket = created.json["id"].as_str().unwrap();
    let listed = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/{ticket}/suggestions/", a.org),
            Some(&api.token(a.viewer)),
            None,
        )
        .await;
    let suggestion = &listed.json["items"][0];
    assert_eq!(
        suggestion["status"], "pending",
        "the agent still decides the rest"
    );
    assert_eq!(suggestion["auto_applied_fields"], json!(["team"]));
    assert_eq!(suggestion["suggested_team"], "Billing");
    assert!(suggestion["field_confidence"]["team"].as_f64().unwrap() > 0.0);
    assert!(suggestion["field_confidence"]["category"].as_f64().unwrap() < 1.0);
    assert_eq!(suggestion["field_confidence"]["priority"], Value::Null);
    let (team, category, priority): (Option<String>, Option<String>, String) =
        sqlx::query_as("SELECT assigned_team, category, priority FROM tickets")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(
        (team.as_deref(), category, priority.as_str()),
        (Some("Billing"), None, "low")
    );
    let (fields, actor): (Value, String) = sqlx::query_as(
        "SELECT payload->'fields', actor_type FROM ticket_events
         WHERE event_type = 'suggestion_fields_applied'",
    )
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!((fields, actor.as_str()), (json!(["team"]), "ai"));
    let team_changes = scalar_i64(&api, "SELECT count(*) FROM ticket_events WHERE event_type = 'team_changed' AND actor_type = 'ai'".into()).await;
    assert_eq!(team_changes, 1);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn an_urgency_cue_raises_only_to_a_priority_the_orgs_history_holds(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "pl-cue").await;
    configure(&api, a.org, json!({})).await;
    // A labelled history of low and medium tickets only: no high, no urgent.
    for (i, priority) in ["low", "medium", "medium"].iter().enumerate() {
        let t = ticket_fixture(&api.db.owner, a.org, &format!("Old question {i}")).await;
        sqlx::query("UPDATE tickets SET status = 'resolved', priority = $2 WHERE id = $1")
            .bind(t.id)
            .bind(priority)
            .execute(&api.db.owner)
            .await
            .unwrap();
    }
    // A ticket still open at high is not labelled history.
    let open = ticket_fixture(&api.db.owner, a.org, "Open").await;
    sqlx::query("UPDATE tickets SET priority = 'high' WHERE id = $1")
        .bind(open.id)
        .execute(&api.db.owner)
        .await
        .unwrap();
    let triage = |subject: &'static str| {
        let api = &api;
        async move {
            let created = api
                .call(
                    "POST",
                    &format!("/api/orgs/{}/tickets/", a.org),
                    Some(&api.token(a.agent)),
                    Some(json!({"requester_email": "c@example.com", "subject": subject, "priority": "low"})),
                )
                .await;
            let id = created.json["id"].as_str().unwrap().to_owned();
            let job = api
                .call(
                    "POST",
                    &format!("/api/orgs/{}/tickets/{id}/triage/", a.org),
                    Some(&api.token(a.agent)),
                    None,
                )
                .await;
            assert_eq!(job.status, 202);
            api.bridge_once(&api.worker(), 5).await;
            let listed = api
                .call(
                    "GET",
                    &format!("/api/orgs/{}/tickets/{id}/suggestions/", a.org),
                    Some(&api.token(a.agent)),
                    None,
                )
                .await;
            listed.json["items"][0].clone()
        }
    };
    let outage = triage("Total outage: nobody can log in").await;
    assert_eq!(outage["suggested_priority"], "medium", "{outage}");
    assert_eq!(outage["metadata"]["urgency_cue"], "outage");
    // "issue" once matched the cue "sue ".
    let issue = triage("An issue with my invoice").await;
    assert_eq!(issue["suggested_priority"], "low", "{issue}");
    assert_eq!(issue["metadata"]["urgency_cue"], Value::Null);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn stranded_jobs_and_orgs_due_for_training_keep_their_order_and_limit(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    use nexify_storage::jobs;
    let api = Api::new(c).await;
    let (a, b) = (
        org_fixture(&api.db.owner, "pl-work-a").await,
        org_fixture(&api.db.owner, "pl-work-b").await,
    );
    // Four queued jobs, never sent, created 400, 300, 200 and 10 seconds ago, over two orgs.
    let mut jobs_by_age = Vec::new();
    for (org, age) in [(b.org, 300), (a.org, 400), (b.org, 10), (a.org, 200)] {
        let ticket = ticket_fixture(&api.db.owner, org, "stranded").await;
        let mut conn = api.db.owner.acquire().await.unwrap();
        let (job, _) = jobs::insert_or_get(&mut conn, org, ticket.id, &format!("k{age}"))
            .await
            .unwrap();
        sqlx::query(
            "UPDATE job_runs SET created_at = now() - make_interval(secs => $1) WHERE id = $2",
        )
        .bind(age as f64)
        .bind(job.id)
        .execute(&api.db.owner)
        .await
        .unwrap();
        jobs_by_age.push((age, job.id, org));
    }
    // Org b's labels changed longer ago than a's; both have been quiet past 60 s.
    for (org, age) in [(a.org, 120), (b.org, 600)] {
        sqlx::query(
            "UPDATE organization_settings SET labels_changed_at = now() - make_interval(secs => $1)
             WHERE organization_id = $2",
        )
        .bind(age as f64)
        .bind(org)
        .execute(&api.db.owner)
        .await
        .unwrap();
    }
    let stranding = Stranding {
        unsent_seconds: 60,
        lost_seconds: 900,
    };
    // As the function role, the way the sweeper and the trainer read them.
    let app = &api.db.app;
    let stranded = |limit| async move {
        let mut conn = app.acquire().await.unwrap();
        nexify_service::triage::stranded_jobs(&mut conn, stranding, limit)
            .await
            .unwrap()
    };
    let id_of = |age| {
        let (_, id, org) = jobs_by_age.iter().find(|(a, _, _)| *a == age).unwrap();
        (*id, *org)
    };
    assert_eq!(
        stranded(2).await,
        vec![id_of(400), id_of(300)],
        "the oldest first, at most the limit; the 10-second-old job is not stranded"
    );
    assert_eq!(stranded(10).await, vec![id_of(400), id_of(300), id_of(200)]);
    assert_eq!(stranded(1).await, vec![id_of(400)]);
    let due = |quiet, limit| async move {
        let mut conn = app.acquire().await.unwrap();
        nexify_service::training::due_orgs(&mut conn, quiet, limit)
            .await
            .unwrap()
    };
    assert_eq!(
        due(60, 5).await,
        vec![b.org, a.org],
        "longest waiting first"
    );
    assert_eq!(
        due(300, 1).await,
        vec![b.org],
        "a is not yet quiet for 300 s"
    );
    assert_eq!(due(60, 1).await, vec![b.org]);
}
