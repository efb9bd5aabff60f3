//! What the logs of a full triage hold: request lines with ids, and never a ticket body, a
//! password, a token or a webhook secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use nexify_tests::api::Api;
use nexify_tests::{FIXTURE_PASSWORD, org_fixture};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_full_triage_logs_ids_but_no_bodies_passwords_tokens_or_secrets(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let capture = Capture::default();
    let writer = capture.clone();
    // The same JSON shape the functions log in Lambda, at debug level, on this test's thread.
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_span_list(true)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "logs-a").await;
    let body_marker = "BODY-MARKER-7f3a my card 4242 4242 4242 4242 was declined";

    let signed_in = api
        .call(
            "POST",
            "/api/auth/token/",
            None,
            Some(json!({"email": "agent@logs-a.test", "password": FIXTURE_PASSWORD})),
        )
        .await;
    let access = signed_in.json["access"].as_str().unwrap().to_owned();
    let refresh = signed_in.json["refresh"].as_str().unwrap().to_owned();
    let secret = api
        .call(
            "POST",
            &format!("/api/orgs/{}/settings/webhook-secret/", a.org),
            Some(&api.token(a.admin)),
            None,
        )
        .await
        .json["webhook_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = api
        .call(
            "POST",
            &format!("/api/orgs/{}/tickets/", a.org),
            Some(&access),
            Some(json!({
                "requester_email": "c@example.com", "subject": "Declined", "body": body_marker
            })),
        )
        .await;
    let ticket = created.json["id"].as_str().unwrap().to_owned();
    api.call(
        "POST",
        &format!("/api/orgs/{}/tickets/{ticket}/triage/", a.org),
        Some(&access),
        None,
    )
    .await;
    let (received, failed) = api.bridge_once(&api.worker(), 5).await;
    assert_eq!((received, failed.len()), (1, 0));
    let suggestion = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/{ticket}/suggestions/", a.org),
            Some(&access),
            None,
        )
        .await;
    let id = suggestion.json["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api.call(
        "POST",
        &format!("/api/orgs/{}/suggestions/{id}/accept/", a.org),
        Some(&access),
        None,
    )
    .await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The logs are real: JSON lines about this triage, with its ids.
    assert!(logs.contains("request served"), "{logs}");
    assert!(logs.contains("triage suggestion recorded"));
    assert!(logs.contains(&a.org.to_string()));
    for line in logs.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
    for (what, needle) in [
        ("ticket body", "BODY-MARKER-7f3a"),
        ("card number", "4242 4242"),
        ("password", FIXTURE_PASSWORD),
        ("access token", access.as_str()),
        ("refresh token", refresh.as_str()),
        ("webhook secret", secret.as_str()),
    ] {
        assert!(!logs.contains(needle), "the logs contain the {what}");
    }
}
