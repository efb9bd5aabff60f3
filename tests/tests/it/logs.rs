//! What the logs of a full triage hold: request lines with ids, and never a ticket body, a
//! password, a token or a webhook secret.

use nexify_tests::api::Api;
use nexify_tests::{FIXTURE_PASSWORD, capture_logs, org_fixture};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_full_triage_logs_ids_but_no_bodies_passwords_tokens_or_secrets(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    // The functions' JSON shape, at debug level, of everything this test's thread logs.
    let capture = capture_logs();

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
    let secret = api.webhook_secret(a.admin, a.org).await;
    let (_, suggestion) = api
        .triage_new_ticket(a.org, &access, "Declined", body_marker, &api.worker())
        .await;
    let id = suggestion["id"].as_str().unwrap().to_owned();
    api.call(
        "POST",
        &format!("/api/orgs/{}/suggestions/{id}/accept/", a.org),
        Some(&access),
        None,
    )
    .await;

    let logs = capture.text();
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
