//! CloudWatch metrics: a full request-and-triage round writes valid EMF lines for API
//! latency and status by route, triage duration, outcome and confidence, and queue age.

use nexify_telemetry::metrics::{capture, check_emf, take_captured};
use nexify_tests::api::Api;
use nexify_tests::org_fixture;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_triage_round_emits_valid_emf_metrics(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "emf-a").await;
    capture();
    let (_, suggestion) = api
        .triage_new_ticket(
            a.org,
            &api.token(a.agent),
            "Card declined",
            "My card payment was declined at checkout.",
            &api.worker(),
        )
        .await;
    let lines: Vec<serde_json::Value> = take_captured()
        .iter()
        .map(|line| check_emf(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let find = |pred: &dyn Fn(&serde_json::Value) -> bool| lines.iter().find(|v| pred(v)).cloned();

    let created = find(&|v| v["Route"] == "POST /api/orgs/{org}/tickets/")
        .expect("an API line for the ticket creation");
    assert_eq!(created["StatusClass"], "2xx");
    assert_eq!(created["ApiRequests"], 1.0);
    assert_eq!(created["ApiErrors5xx"], 0.0);
    assert!(created["ApiLatency"].as_f64().unwrap() > 0.0);
    assert!(find(&|v| v["Route"] == "POST /api/orgs/{org}/tickets/{id}/triage/").is_some());

    let job = find(&|v| v["Outcome"] == "succeeded").expect("a triage job line");
    assert!(job["TriageDuration"].as_f64().unwrap() > 0.0);
    assert_eq!(job["TriageJobs"], 1.0);
    let confidence = job["TriageConfidence"].as_f64().unwrap();
    assert!((confidence - suggestion["confidence"].as_f64().unwrap()).abs() < 1e-6);
    let age = find(&|v| v.get("QueueAge").is_some()).expect("a queue age line");
    assert!(age["QueueAge"].as_f64().unwrap() >= 0.0);
}
