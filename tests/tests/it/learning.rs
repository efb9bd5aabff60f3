//! Per-org learned triage: training from labelled history, the debounced retraining queue,
//! and the worker using the org's own models.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nexify_embed::{EmbedError, Embedder};
use nexify_service::training::{self, Deadline, SweepTraining};
use nexify_tests::api::Api;
use nexify_tests::org_fixture;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const TOPICS: [(&str, &str, &str); 2] = [
    (
        "Billing",
        "refund",
        "I was charged twice for my subscription, please refund the duplicate payment",
    ),
    (
        "Accounts",
        "login",
        "I cannot log in, the password reset email never arrives in my inbox",
    ),
];

async fn labelled_org(api: &Api, slug: &str, per_topic: usize) -> nexify_tests::OrgFixture {
    let a = org_fixture(&api.db.owner, slug).await;
    sqlx::query("UPDATE organization_settings SET teams = '{Billing,Accounts}', categories = '{refund,login}' WHERE organization_id = $1")
        .bind(a.org)
        .execute(&api.db.owner)
        .await
        .unwrap();
    for i in 0..per_topic {
        for (team, category, text) in TOPICS {
            sqlx::query(
                "INSERT INTO tickets (organization_id, requester_email, subject, body, status, assigned_team, category)
                 VALUES ($1, 'c@example.com', $2, $3, 'resolved', $4, $5)",
            )
            .bind(a.org)
            .bind(format!("{category} question {i}"))
            .bind(format!("{text} (case {i})"))
            .bind(team)
            .bind(category)
            .execute(&api.db.owner)
            .await
            .unwrap();
        }
    }
    a
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn labelled_history_trains_models_that_the_worker_uses(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = labelled_org(&api, "learn-a", 15).await;
    let reports = training::train_org(&api.db.app, a.org, &api.embedder)
        .await
        .unwrap();
    assert_eq!(
        reports
            .iter()
            .map(|r| (r.head, r.examples, r.version))
            .collect::<Vec<_>>(),
        vec![
            ("team", 30, Some(1)),
            ("category", 30, Some(1)),
            // Every ticket here is medium: one label, nothing to learn.
            ("priority", 30, None),
        ]
    );
    // 15 tickets per label is under the cross-fit's 25: the temperature came from a hold-out.
    let calibrations: Vec<Option<String>> =
        sqlx::query_scalar("SELECT metrics->>'calibration' FROM triage_models")
            .fetch_all(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(calibrations, vec![Some("hold-out".to_owned()); 2]);

    let agent = api.token(a.agent);
    let (ticket, s) = api
        .triage_new_ticket(
            a.org,
            &agent,
            "Duplicate charge",
            "You charged my card twice this month for the subscription",
            &api.worker(),
        )
        .await;
    let s = &s;
    assert_eq!(s["metadata"]["engine"], "learned-v1");
    assert_eq!(
        s["metadata"]["model_versions"],
        json!([["category", 1], ["team", 1]])
    );
    assert_eq!(
        (s["suggested_team"].as_str(), s["classification"].as_str()),
        (Some("Billing"), Some("refund"))
    );
    let confidence = s["confidence"].as_f64().unwrap();
    assert!(confidence > 0.5 && confidence <= 1.0, "{confidence}");

    // Accepting applies the category too.
    let id = s["id"].as_str().unwrap();
    api.call(
        "POST",
        &format!("/api/orgs/{}/suggestions/{id}/accept/", a.org),
        Some(&agent),
        None,
    )
    .await;
    let t = api
        .call(
            "GET",
            &format!("/api/orgs/{}/tickets/{ticket}/", a.org),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(t.json["category"], "refund");
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn an_org_claimed_by_another_sweep_is_skipped(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = labelled_org(&api, "learn-lock", 25).await;
    let versions = || model_count(&api, a.org);
    // Another sweep is training the org: it holds the claim.
    let mut other = api.db.owner.begin().await.unwrap();
    let claim = nexify_storage::settings::claim_training(&mut other, a.org, 300)
        .await
        .unwrap();
    assert!(claim.is_some());
    other.commit().await.unwrap();
    let run = training::train_orgs(&api.db.app, &api.embedder, &[a.org], Deadline::NONE).await;
    assert_eq!((run.trained, run.skipped, versions().await), (0, 1, 0));

    // That sweep ends without training; the next one trains the org.
    let mut other = api.db.owner.begin().await.unwrap();
    nexify_storage::settings::release_training(&mut other, a.org)
        .await
        .unwrap();
    other.commit().await.unwrap();
    let run = training::train_orgs(&api.db.app, &api.embedder, &[a.org], Deadline::NONE).await;
    assert_eq!((run.trained, versions().await), (1, 2));
    // 25 tickets per label: the team and category heads were cross-fitted, and say so.
    let calibrations: Vec<(String, String)> =
        sqlx::query_as("SELECT head, metrics->>'calibration' FROM triage_models ORDER BY head")
            .fetch_all(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(
        calibrations,
        vec![
            ("category".into(), "cross-fit".into()),
            ("team".into(), "cross-fit".into())
        ]
    );
}

/// Training holds no transaction while it fits; the two short ones around it must still
/// never store an older reading of the labels over a newer one.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_training_that_read_older_labels_never_replaces_a_newer_one(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    // Team and category heads; every ticket has the same priority, so that head has no model.
    let a = labelled_org(&api, "learn-split", 12).await;
    let config = nexify_triage::model::TrainConfig::default();
    let embedder = Some(&api.embedder);
    let took = Duration::from_secs(1);

    // A slow run reads the history; then a quicker run reads it and stores its models.
    let slow = training::read_history(&api.db.app, a.org, embedder)
        .await
        .unwrap();
    let quick = training::read_history(&api.db.app, a.org, embedder)
        .await
        .unwrap();
    let quick = training::fit_heads(quick, config).await.unwrap();
    let stored = training::store_models(&api.db.app, a.org, quick, took)
        .await
        .unwrap();
    assert!(stored.is_some_and(|r| r.iter().any(|h| h.version == Some(1))));
    assert_eq!(model_count(&api, a.org).await, 2);

    // The slow run finishes last: what it read is older, so it stores nothing.
    let slow = training::fit_heads(slow, config).await.unwrap();
    let stored = training::store_models(&api.db.app, a.org, slow, took)
        .await
        .unwrap();
    assert!(stored.is_none());
    assert_eq!(model_count(&api, a.org).await, 2);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_label_change_while_a_training_runs_leaves_the_org_due(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = labelled_org(&api, "learn-during", 12).await;
    // Changed after the read, while the models are being fitted: not in them.
    let stored = train_with_a_label_write_during(&api, a.org, 0.0).await;
    assert!(stored.is_some());
    assert_eq!(model_count(&api, a.org).await, 2);
    assert_eq!(
        due(&api).await,
        vec![a.org],
        "retrained with the change next"
    );
}

/// A label write stamps its change with its transaction's start, and may commit only after
/// a training's read began, unseen by it.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_label_write_that_commits_after_the_read_began_leaves_the_org_due(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = labelled_org(&api, "learn-late", 12).await;
    labels_changed(&api, a.org, 10.0).await;
    // Stamped five seconds ago, before the read; committed after it.
    let stored = train_with_a_label_write_during(&api, a.org, 5.0 / 60.0).await;
    assert!(stored.is_some());
    assert_eq!(due(&api).await, vec![a.org]);
}

/// Trains `org` in the service's three phases, with a label write committed between the read
/// and the fit, stamped `minutes_ago`. Returns what storing the models reported.
async fn train_with_a_label_write_during(
    api: &Api,
    org: nexify_domain::OrgId,
    minutes_ago: f64,
) -> Option<Vec<training::HeadReport>> {
    let history = training::read_history(&api.db.app, org, Some(&api.embedder))
        .await
        .unwrap();
    labels_changed(api, org, minutes_ago).await;
    let fitted = training::fit_heads(history, Default::default())
        .await
        .unwrap();
    training::store_models(&api.db.app, org, fitted, Duration::from_secs(1))
        .await
        .unwrap()
}

/// The deployed embedder, except that it fails on any text containing "poison": an
/// embedding model that breaks on one org's data.
struct FailsOnPoison(Arc<dyn Embedder>);

impl Embedder for FailsOnPoison {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.iter().any(|t| t.contains("poison")) {
            return Err(EmbedError::Inference("poisoned input".into()));
        }
        self.0.embed(texts)
    }
}

/// Marks the org's labels as changed `minutes_ago`, so that it is due for training.
async fn labels_changed(api: &Api, org: nexify_domain::OrgId, minutes_ago: f64) {
    sqlx::query(
        "UPDATE organization_settings SET labels_changed_at = now() - make_interval(secs => $2 * 60)
         WHERE organization_id = $1",
    )
    .bind(org)
    .bind(minutes_ago)
    .execute(&api.db.owner)
    .await
    .unwrap();
}

async fn due(api: &Api) -> Vec<nexify_domain::OrgId> {
    let mut conn = api.db.app.acquire().await.unwrap();
    training::due_orgs(&mut conn, 0, 10).await.unwrap()
}

/// What the sweeper does with the orgs due after `quiet_seconds`: how many it trained.
async fn train_due(api: &Api, quiet_seconds: i64) -> usize {
    let mut conn = api.db.app.acquire().await.unwrap();
    let due = training::due_orgs(&mut conn, quiet_seconds, 10)
        .await
        .unwrap();
    drop(conn);
    training::train_orgs(&api.db.app, &api.embedder, &due, Deadline::NONE)
        .await
        .trained
}

async fn model_count(api: &Api, org: nexify_domain::OrgId) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM triage_models WHERE organization_id = $1")
        .bind(org)
        .fetch_one(&api.db.owner)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_failing_org_neither_stops_the_others_nor_stays_first_in_line(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let bad = labelled_org(&api, "learn-bad", 12).await;
    let good = labelled_org(&api, "learn-good", 12).await;
    sqlx::query(
        "UPDATE tickets SET body = body || ' poison'
         WHERE id = (SELECT id FROM tickets WHERE organization_id = $1 LIMIT 1)",
    )
    .bind(bad.org)
    .execute(&api.db.owner)
    .await
    .unwrap();
    labels_changed(&api, bad.org, 10.0).await;
    labels_changed(&api, good.org, 5.0).await;
    assert_eq!(
        due(&api).await,
        vec![bad.org, good.org],
        "oldest change first"
    );

    let embedder: Arc<dyn Embedder> = Arc::new(FailsOnPoison(api.embedder.clone()));
    let run = training::train_orgs(&api.db.app, &embedder, &due(&api).await, Deadline::NONE).await;
    assert_eq!(
        run,
        SweepTraining {
            trained: 1,
            failed: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        (
            model_count(&api, bad.org).await,
            model_count(&api, good.org).await
        ),
        (0, 2)
    );
    // The failed org keeps its claim, so the next sweeps pass it over ...
    assert_eq!(due(&api).await, vec![]);
    // ... until the claim lapses.
    sqlx::query(
        "UPDATE organization_settings SET training_lease_until = now() - interval '1 second'
         WHERE organization_id = $1",
    )
    .bind(bad.org)
    .execute(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(due(&api).await, vec![bad.org]);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_training_that_would_overrun_the_deadline_waits_and_keeps_its_embeddings(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    // More labelled tickets than one embedding batch.
    let per_topic = training::BACKFILL_BATCH as usize / 2 + 6;
    let a = labelled_org(&api, "learn-deadline", per_topic).await;
    labels_changed(&api, a.org, 5.0).await;
    let embedded = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM ticket_embeddings WHERE organization_id = $1",
        )
        .bind(a.org)
        .fetch_one(&api.db.owner)
        .await
        .unwrap()
    };
    let deferred = SweepTraining {
        deferred: 1,
        ..Default::default()
    };

    // At the deadline already: nothing is started.
    let run = training::train_orgs(
        &api.db.app,
        &api.embedder,
        &[a.org],
        Deadline::at(Instant::now()),
    )
    .await;
    assert_eq!((run, embedded().await), (deferred, 0));

    // Its last training took ten minutes, which would not end before a deadline two minutes
    // off: the tickets are embedded (committed, batch by batch), the training waits.
    sqlx::query(
        "UPDATE organization_settings SET training_seconds = 600 WHERE organization_id = $1",
    )
    .bind(a.org)
    .execute(&api.db.owner)
    .await
    .unwrap();
    let two_minutes = Deadline::at(Instant::now() + Duration::from_secs(120));
    let run = training::train_orgs(&api.db.app, &api.embedder, &[a.org], two_minutes).await;
    assert_eq!(run, deferred);
    assert_eq!(embedded().await, 2 * per_topic as i64);
    assert_eq!(model_count(&api, a.org).await, 0);
    assert_eq!(due(&api).await, vec![a.org], "the claim was released");

    // Without a deadline it trains, records how long that took, and releases its claim.
    let run = training::train_orgs(&api.db.app, &api.embedder, &[a.org], Deadline::NONE).await;
    assert_eq!(run.trained, 1);
    let (seconds, lease): (Option<f32>, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "SELECT training_seconds, training_lease_until FROM organization_settings
         WHERE organization_id = $1",
    )
    .bind(a.org)
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert!(seconds.is_some_and(|s| s > 0.0 && s < 600.0), "{seconds:?}");
    assert_eq!(lease, None);
    assert_eq!(due(&api).await, vec![]);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn too_few_labels_leave_the_rules_in_charge(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = labelled_org(&api, "learn-few", 3).await;
    let reports = training::train_org(&api.db.app, a.org, &api.embedder)
        .await
        .unwrap();
    assert!(reports.iter().all(|r| r.version.is_none()), "{reports:?}");
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM triage_models")
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(versions, 0);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn label_changes_queue_a_debounced_retraining(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = labelled_org(&api, "learn-debounce", 12).await;
    assert_eq!(train_due(&api, 0).await, 0, "nothing changed yet");

    let agent = api.token(a.agent);
    let created = api
        .call(
            "POST",
            &format!("/api/orgs/{}/tickets/", a.org),
            Some(&agent),
            Some(json!({"requester_email": "c@example.com", "subject": "Refund"})),
        )
        .await;
    let path = format!(
        "/api/orgs/{}/tickets/{}/",
        a.org,
        created.json["id"].as_str().unwrap()
    );
    // Categories are checked against the org's list.
    let bad = api
        .call(
            "PATCH",
            &path,
            Some(&agent),
            Some(json!({"category": "weather"})),
        )
        .await;
    assert_eq!(
        (bad.status, bad.json["field"].as_str()),
        (422, Some("category"))
    );
    let r = api
        .call(
            "PATCH",
            &path,
            Some(&agent),
            Some(json!({"status": "resolved", "category": "refund", "assigned_team": "Billing"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);

    let quiet = training::QUIET_SECONDS;
    assert_eq!(
        train_due(&api, quiet).await,
        0,
        "still inside the quiet period"
    );
    // The quiet period passes.
    labels_changed(&api, a.org, 2.0 * quiet as f64 / 60.0).await;
    assert_eq!(train_due(&api, quiet).await, 1);
    assert_eq!(train_due(&api, quiet).await, 0, "trained once per change");
    let trained_on: i32 =
        sqlx::query_scalar("SELECT trained_on FROM triage_models WHERE head = 'category'")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(trained_on, 25);
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn before_a_model_the_nearest_labelled_tickets_vote(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    // Three tickets per topic: too few to train on, enough to vote.
    let a = labelled_org(&api, "knn-a", 3).await;
    let reports = training::train_org(&api.db.app, a.org, &api.embedder)
        .await
        .unwrap();
    assert!(reports.iter().all(|r| r.version.is_none()), "{reports:?}");
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket_embeddings WHERE organization_id = $1")
            .bind(a.org)
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(
        stored, 6,
        "training embeds the labelled tickets even when too few"
    );

    let agent = api.token(a.agent);
    let (ticket, s) = api
        .triage_new_ticket(
            a.org,
            &agent,
            "Locked out",
            "I cannot log in and the password reset email never arrives in my inbox",
            &api.worker(),
        )
        .await;
    let s = &s;
    let m = &s["metadata"];
    assert_eq!(m["engine"], "learned-v1");
    assert_eq!(m["heads"]["team"]["source"], "neighbours");
    assert_eq!(m["heads"]["category"]["source"], "neighbours");
    assert_eq!(
        (s["suggested_team"].as_str(), s["classification"].as_str()),
        (Some("Accounts"), Some("login"))
    );
    let similar = m["similar_tickets"].as_array().unwrap();
    assert_eq!(similar.len(), 5);
    assert_eq!(similar[0]["team"], "Accounts");
    let confidence = s["confidence"].as_f64().unwrap();
    assert!(confidence > 0.3 && confidence <= 0.7, "{confidence}");
    // The triaged ticket's embedding is kept for the next ones.
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket_embeddings WHERE organization_id = $1 AND ticket_id = $2::uuid",
    )
    .bind(a.org)
    .bind(ticket)
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(kept, 1);
}

/// The reply an agent approved (edited) for one ticket is offered again, in the draft, for a
/// near-repeat of it; the metadata names the ticket it came from.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn an_approved_reply_is_reused_for_a_near_repeat(_o: PgPoolOptions, c: PgConnectOptions) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "reuse").await;
    let agent = api.token(a.agent);
    let worker = api.worker();
    let subject = "Charged twice this month";
    let body = "My card was charged twice for the same subscription, please refund one.";
    let (first, suggestion) = api
        .triage_new_ticket(a.org, &agent, subject, body, &worker)
        .await;
    let approved = "Hello,\n\nWe refunded the duplicate charge; it reaches your card within five days.\n\nBest regards,\nAda";
    let accepted = api
        .call(
            "POST",
            &format!(
                "/api/orgs/{}/suggestions/{}/accept/",
                a.org,
                suggestion["id"].as_str().unwrap()
            ),
            Some(&agent),
            Some(json!({ "draft_reply": approved })),
        )
        .await;
    assert_eq!(accepted.status, 200, "{:?}", accepted.json);

    let (_, again) = api
        .triage_new_ticket(a.org, &agent, subject, body, &worker)
        .await;
    let draft = again["draft_reply"].as_str().unwrap();
    assert!(
        draft
            .contains("> We refunded the duplicate charge; it reaches your card within five days."),
        "{draft}"
    );
    assert!(!draft.contains("Ada"), "{draft}");
    assert_eq!(again["metadata"]["draft_reply_from_ticket"], first.as_str());

    // An unrelated ticket does not get it.
    let (_, other) = api
        .triage_new_ticket(
            a.org,
            &agent,
            "Dark mode request",
            "Could the desktop app have a dark theme?",
            &worker,
        )
        .await;
    assert!(
        !other["draft_reply"]
            .as_str()
            .unwrap()
            .contains("We refunded")
    );
    assert!(other["metadata"]["draft_reply_from_ticket"].is_null());
}

/// A triaged ticket's stored embedding counts as labelled history exactly while the ticket
/// is resolved (or has an accepted suggestion): resolving, reopening and accepting all move
/// it in or out of the nearest-labelled search.
#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_nearest_labelled_tickets_follow_resolve_and_reopen(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = org_fixture(&api.db.owner, "relabel").await;
    let agent = api.token(a.agent);
    let worker = api.worker();
    let subject = "Charged twice this month";
    let body = "My card was charged twice for the same subscription, please refund one.";
    let (first, _) = api
        .triage_new_ticket(a.org, &agent, subject, body, &worker)
        .await;
    let similar_to_a_repeat = || async {
        let (_, s) = api
            .triage_new_ticket(a.org, &agent, subject, body, &worker)
            .await;
        s["metadata"]["similar_tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["ticket_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let set_status = |status: &'static str| {
        let (agent, first) = (agent.clone(), first.clone());
        let api = &api;
        async move {
            let r = api
                .call(
                    "PATCH",
                    &format!("/api/orgs/{}/tickets/{first}/", a.org),
                    Some(&agent),
                    Some(json!({ "status": status })),
                )
                .await;
            assert_eq!(r.status, 200, "{:?}", r.json);
        }
    };
    assert_eq!(
        similar_to_a_repeat().await,
        Vec::<String>::new(),
        "open: unlabelled"
    );
    set_status("resolved").await;
    assert_eq!(
        similar_to_a_repeat().await,
        vec![first.clone()],
        "resolved: labelled"
    );
    set_status("open").await;
    assert_eq!(
        similar_to_a_repeat().await,
        Vec::<String>::new(),
        "reopened: unlabelled"
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn an_urgency_cue_is_evidence_the_priority_head_weighs_not_an_override(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = labelled_org(&api, "learn-cue", 15).await;
    // This org's "outage" tickets are notices of no consequence, always low; its card
    // declines are high. The history says the outage cue does not mean urgent here.
    for i in 0..25 {
        for (priority, subject, body) in [
            (
                "low",
                "Maintenance notice",
                "Your status page mentions an outage of the sandbox region, no impact for us",
            ),
            (
                "high",
                "Payment problem",
                "My card declined when paying the invoice, the shop cannot take my money",
            ),
        ] {
            sqlx::query(
                "INSERT INTO tickets (organization_id, requester_email, subject, body, status, priority)
                 VALUES ($1, 'c@example.com', $2, $3, 'resolved', $4)",
            )
            .bind(a.org)
            .bind(format!("{subject} {i}"))
            .bind(format!("{body} (case {i})"))
            .bind(priority)
            .execute(&api.db.owner)
            .await
            .unwrap();
        }
    }
    training::train_org(&api.db.app, a.org, &api.embedder)
        .await
        .unwrap();
    let weight: Option<f64> = sqlx::query_scalar(
        "SELECT (metrics->>'cue_weight')::float8 FROM triage_models WHERE head = 'priority'",
    )
    .fetch_one(&api.db.owner)
    .await
    .unwrap();
    assert!(weight.is_some(), "training records the fitted cue weight");

    let agent = api.token(a.agent);
    let (_, s) = api
        .triage_new_ticket(
            a.org,
            &agent,
            "Maintenance notice",
            "Your status page mentions an outage of the sandbox region again, no impact",
            &api.worker(),
        )
        .await;
    let head = &s["metadata"]["heads"]["priority"];
    assert_eq!(head["urgency_cue"], "outage", "{s}");
    assert_eq!(
        s["suggested_priority"], "low",
        "the head's own history outweighs the cue: {s}"
    );
    let p = s["field_confidence"]["priority"].as_f64().unwrap();
    assert!(
        (p - head["probability"].as_f64().unwrap()).abs() < 1e-6,
        "{s}"
    );
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn the_model_page_reads_each_head_its_outcomes_and_asks_for_retraining(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = labelled_org(&api, "learn-page", 15).await;
    training::train_org(&api.db.app, a.org, &api.embedder)
        .await
        .unwrap();
    let viewer = api.token(a.viewer);
    let page = api
        .call(
            "GET",
            &format!("/api/orgs/{}/models/", a.org),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.json);
    let heads = page.json["heads"].as_array().unwrap();
    let names: Vec<&str> = heads.iter().map(|h| h["head"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec!["category", "team"],
        "priority has one label here"
    );
    let team = &heads[1];
    assert_eq!(team["version"], 1);
    let d = &team["metrics"]["diagnostics"];
    assert_eq!(
        d["label_counts"],
        json!([{"label": "Accounts", "count": 15}, {"label": "Billing", "count": 15}])
    );
    assert_eq!(team["metrics"]["calibration"], "hold-out");
    // The hold-out is every seventh ticket of each label: 2 of 15, per label.
    assert_eq!(d["held_out"], 4);
    let binned: u64 = d["reliability"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(binned, 4, "every held-out prediction is in one bin: {d}");
    assert_eq!(d["coverage"].as_array().unwrap().len(), 20);
    assert_eq!(d["coverage"][0]["coverage"], 1.0);
    assert!(page.json["training"]["models_trained_at"].is_string());

    // Live outcomes: one accepted suggestion, one rejected.
    let agent = api.token(a.agent);
    for decision in ["accept", "reject"] {
        let (_, s) = api
            .triage_new_ticket(
                a.org,
                &agent,
                "Duplicate charge",
                "You charged my card twice this month for the subscription",
                &api.worker(),
            )
            .await;
        let r = api
            .call(
                "POST",
                &format!(
                    "/api/orgs/{}/suggestions/{}/{decision}/",
                    a.org,
                    s["id"].as_str().unwrap()
                ),
                Some(&agent),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
    }
    let outcomes = api
        .call(
            "GET",
            &format!("/api/orgs/{}/models/outcomes/?days=7", a.org),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(outcomes.status, 200, "{}", outcomes.json);
    let o = &outcomes.json;
    assert_eq!(
        (
            &o["days"],
            &o["decided"],
            &o["accepted"],
            &o["rejected"],
            &o["accept_rate"]
        ),
        (&json!(7), &json!(2), &json!(1), &json!(1), &json!(0.5))
    );
    // The accepted one set the team; the rejected one left the ticket unassigned.
    assert_eq!(
        (&o["team"]["decided"], &o["team"]["right"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(o["team"]["what_if"][0]["applied"], 2);
    for bad in ["days=0", "days=366", "days=x", "since=1"] {
        let r = api
            .call(
                "GET",
                &format!("/api/orgs/{}/models/outcomes/?{bad}", a.org),
                Some(&viewer),
                None,
            )
            .await;
        assert_eq!(r.status, 422, "{bad}");
    }

    // Retraining on request: admins only; the org is then due.
    let path = format!("/api/orgs/{}/models/retrain/", a.org);
    let r = api.call("POST", &path, Some(&agent), None).await;
    assert_eq!(r.status, 403);
    let mut conn = api.db.app.acquire().await.unwrap();
    assert!(
        !training::due_orgs(&mut conn, training::QUIET_SECONDS, 10)
            .await
            .unwrap()
            .contains(&a.org)
    );
    let r = api
        .call("POST", &path, Some(&api.token(a.admin)), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.json);
    assert!(
        training::due_orgs(&mut conn, training::QUIET_SECONDS, 10)
            .await
            .unwrap()
            .contains(&a.org)
    );
}

/// The deployed embedder, slowed down: a long training's stand-in (a large imported history
/// embedded with MiniLM).
struct Slow(Arc<dyn Embedder>, Duration);

impl Embedder for Slow {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        std::thread::sleep(self.1);
        self.0.embed(texts)
    }
}

#[sqlx::test(migrator = "nexify_storage::MIGRATOR")]
async fn a_triage_job_finishes_while_a_long_training_of_its_org_runs(
    _o: PgPoolOptions,
    c: PgConnectOptions,
) {
    let api = Api::new(c).await;
    let a = labelled_org(&api, "learn-long", 20).await;
    labels_changed(&api, a.org, 2.0).await;
    let trainer = triage_trainer::App::new(
        api.db.app.clone(),
        Arc::new(Slow(api.embedder.clone(), Duration::from_secs(6))),
    );
    let training = tokio::spawn(async move { trainer.train_due(Deadline::NONE).await.unwrap() });
    // Wait until the trainer holds the org (it then embeds the history, slowly).
    let claimed = Instant::now();
    loop {
        let held: bool = sqlx::query_scalar(
            "SELECT training_lease_until IS NOT NULL FROM organization_settings WHERE organization_id = $1",
        )
        .bind(a.org)
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
        if held {
            break;
        }
        assert!(claimed.elapsed() < Duration::from_secs(10), "never claimed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (_, s) = api
        .triage_new_ticket(
            a.org,
            &api.token(a.agent),
            "Duplicate charge",
            "You charged my card twice this month",
            &api.worker(),
        )
        .await;
    assert_eq!(s["status"], "pending", "the suggestion is written: {s}");
    assert!(
        !training.is_finished(),
        "the triage job did not wait for the training"
    );
    let run = training.await.unwrap();
    assert_eq!(run.trained, 1);
}
