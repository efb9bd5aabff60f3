//! Fault injection on loopback, each bounded in time:
//! - Postgres restarts under API load: clients see 201 or 503, never 500, and every ticket
//!   acknowledged with a 201 is in the database afterwards;
//! - LocalStack restarts while jobs are queued (its messages are lost, and sends fail while
//!   it is down): after recovery the sweep re-sends, and every JobRun succeeds;
//! - the worker dies mid-batch: the messages come back, and each job still gets exactly one
//!   suggestion.
//!
//! They stop and start the shared Postgres and LocalStack (`scripts/restart-service.sh`), so
//! they are `#[ignore]`d in the main run and run alone by `scripts/test.sh`:
//! `cargo test -p nexify-tests --test faults -- --ignored --test-threads=1`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nexify_service::triage::{Stranding, Worker};
use nexify_tests::api::Api;
use nexify_tests::{eventually, org_fixture};
use nexify_triage::{RuleEngine, Triage, TriageEngine, TriageError, TriageInput};
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

/// Runs `scripts/restart-service.sh <args>` and waits for it.
fn service(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/restart-service.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        // The scripts read DATABASE_URL as "a Postgres of yours, leave it alone".
        .env_remove("DATABASE_URL")
        .args(args)
        .status()
        .expect("run restart-service.sh");
    assert!(status.success(), "restart-service.sh {args:?} failed");
}

async fn service_async(args: &'static [&'static str]) {
    tokio::task::spawn_blocking(move || service(args))
        .await
        .unwrap();
}

/// A new database on the server `DATABASE_URL` names, migrated; dropped by [`drop_database`].
/// (Not `#[sqlx::test]`: its harness keeps connections that a restart would break.)
async fn fresh_database(tag: &str) -> PgConnectOptions {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL (scripts/test.sh sets it)");
    let server: PgConnectOptions = url.parse().unwrap();
    let name = format!("nexify_fault_{tag}_{}", std::process::id());
    let mut admin = server.clone().database("postgres").connect().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let options = server.database(&name);
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    nexify_storage::MIGRATOR.run(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    options
}

async fn drop_database(options: &PgConnectOptions) {
    let name = options.get_database().unwrap().to_owned();
    let mut admin = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts shared services; scripts/test.sh runs it alone"]
async fn postgres_restart_under_load_gives_503s_and_keeps_every_acknowledged_ticket() {
    let options = fresh_database("pg").await;
    let api = Arc::new(Api::with_deployed_pool(options.clone()).await);
    let a = org_fixture(&api.db.owner, "fault-pg").await;
    let token = Arc::new(api.token(a.agent));
    let path = Arc::new(format!("/api/orgs/{}/tickets/", a.org));
    let stop = Arc::new(AtomicBool::new(false));

    // Four clients create tickets as fast as they can until told to stop.
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (api, token, path, stop) = (api.clone(), token.clone(), path.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let body = json!({"requester_email": "load@example.com",
                                      "subject": format!("load {client}-{n}")});
                    let r = api.call("POST", &path, Some(&token), Some(body)).await;
                    seen.push((
                        Instant::now(),
                        r.status,
                        r.json["id"].as_str().map(str::to_owned),
                    ));
                    n += 1;
                    if r.status == 503 {
                        // As a client would: back off a little before retrying.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                seen
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    let down_at = Instant::now();
    service_async(&["postgres-restart", "2"]).await;
    let up_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);

    let mut statuses: HashMap<u16, usize> = HashMap::new();
    let mut created = Vec::new();
    let mut created_after_restart = 0;
    for client in clients {
        for (at, status, id) in client.await.unwrap() {
            *statuses.entry(status).or_default() += 1;
            if status == 201 {
                created.push(uuid::Uuid::parse_str(&id.unwrap()).unwrap());
                if at > up_at {
                    created_after_restart += 1;
                }
            }
        }
    }
    eprintln!(
        "statuses during a {:.1} s outage: {statuses:?}",
        (up_at - down_at).as_secs_f64()
    );
    assert!(
        statuses.keys().all(|s| *s == 201 || *s == 503),
        "only 201 and 503: {statuses:?}"
    );
    assert!(
        statuses.get(&503).copied().unwrap_or(0) > 0,
        "the outage was seen: {statuses:?}"
    );
    assert!(
        created_after_restart > 0,
        "the API recovered after the restart"
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets WHERE id = ANY($1)")
        .bind(&created)
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    assert_eq!(stored as usize, created.len(), "every 201 was committed");

    api.db.owner.close().await;
    api.db.app.close().await;
    drop_database(&options).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts shared services; scripts/test.sh runs it alone"]
async fn localstack_restart_with_jobs_queued_ends_with_every_job_succeeded() {
    let options = fresh_database("sqs").await;
    let api = Api::new(options.clone()).await;
    let a = org_fixture(&api.db.owner, "fault-sqs").await;
    let token = api.token(a.agent);
    let enqueue = |n: usize| {
        let (api, token) = (&api, &token);
        async move {
            let created = api
                .call(
                    "POST",
                    &format!("/api/orgs/{}/tickets/", a.org),
                    Some(token),
                    Some(json!({"requester_email": "q@example.com", "subject": format!("Card declined {n}"),
                                "body": "My card was declined at checkout."})),
                )
                .await;
            assert_eq!(created.status, 201);
            let id = created.json["id"].as_str().unwrap();
            let r = api
                .call(
                    "POST",
                    &format!("/api/orgs/{}/tickets/{id}/triage/", a.org),
                    Some(token),
                    None,
                )
                .await;
            assert_eq!(r.status, 202, "{:?}", r.json);
        }
    };

    // Two jobs are sent and wait in the queue; LocalStack then goes down and takes them
    // with it. Two more are requested while it is down: their sends fail.
    for n in 0..2 {
        enqueue(n).await;
    }
    assert_eq!(api.queue_depth(&api.queue_url).await, 2);
    service_async(&["localstack-stop"]).await;
    for n in 2..4 {
        enqueue(n).await;
    }
    service_async(&["localstack-start"]).await;
    // LocalStack keeps no state across restarts: make this test's queue again.
    let name = api.queue_url.rsplit('/').next().unwrap();
    api.sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "2",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.queue_depth(&api.queue_url).await,
        0,
        "the queued messages are gone"
    );
    let undispatched: i64 =
        sqlx::query_scalar("SELECT count(*) FROM job_runs WHERE dispatched_at IS NULL")
            .fetch_one(&api.db.owner)
            .await
            .unwrap();
    assert_eq!(undispatched, 2, "the sends made while it was down failed");

    // The sweep re-sends all four: two never sent, two sent and lost.
    let sweeper = triage_sweeper::App::new(api.db.app.clone(), api.dispatcher.clone());
    let stranding = Stranding {
        unsent_seconds: 0,
        lost_seconds: 0,
    };
    assert_eq!(sweeper.sweep(stranding).await.unwrap(), 4);
    let worker = api.worker();
    drain_until_every_job_succeeded(&api, &worker, "after recovery").await;
    assert_one_suggestion_per_job(&api, 4).await;

    api.db.owner.close().await;
    api.db.app.close().await;
    drop_database(&options).await;
}

/// Blocks its first call until the test has seen it start (so the batch is surely mid-way
/// when it is killed); later calls are the rule engine's.
struct StallsOnce {
    calls: AtomicUsize,
    started: Arc<AtomicBool>,
}

impl TriageEngine for StallsOnce {
    fn name(&self) -> &str {
        "stalls-once"
    }

    fn triage(&self, input: &TriageInput) -> Result<Triage, TriageError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            self.started.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(500));
        }
        RuleEngine.triage(input)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts shared services; scripts/test.sh runs it alone"]
async fn a_worker_killed_mid_batch_leaves_every_job_exactly_one_suggestion() {
    let options = fresh_database("kill").await;
    let api = Arc::new(Api::new(options.clone()).await);
    let a = org_fixture(&api.db.owner, "fault-kill").await;
    let token = api.token(a.agent);
    const JOBS: usize = 6;
    for n in 0..JOBS {
        let created = api
            .call(
                "POST",
                &format!("/api/orgs/{}/tickets/", a.org),
                Some(&token),
                Some(json!({"requester_email": "k@example.com", "subject": format!("Login fails {n}")})),
            )
            .await;
        let id = created.json["id"].as_str().unwrap().to_owned();
        let r = api
            .call(
                "POST",
                &format!("/api/orgs/{}/tickets/{id}/triage/", a.org),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(r.status, 202);
    }
    // Every worker shares the lease, as deployed ones share TRIAGE_LEASE_SECONDS; a short
    // one lets the redelivered messages reclaim the jobs the killed worker held.
    let worker_with = |engine| {
        triage_worker::App::new(Worker {
            pool: api.db.app.clone(),
            engine,
            embedder: api.embedder.clone(),
            lease_seconds: 1,
            max_receives: 3,
            models: Default::default(),
            drafter: None,
        })
    };
    let started = Arc::new(AtomicBool::new(false));
    let doomed = worker_with(StallsOnce {
        calls: AtomicUsize::new(0),
        started: started.clone(),
    });

    // One batch goes to the doomed worker; it is killed while triaging, before it answers,
    // so no message is deleted and no claimed job is finished.
    let messages = nexify_queue::bridge::receive(&api.sqs, &api.queue_url, 10, 5)
        .await
        .unwrap();
    assert!(!messages.is_empty());
    let event = nexify_queue::bridge::sqs_event(
        &messages,
        "arn:aws:sqs:us-east-1:000000000000:test",
        "us-east-1",
    );
    let batch = {
        let api = api.clone();
        tokio::spawn(async move { api.invoke_worker(&doomed, event).await })
    };
    let seen = eventually(Duration::from_secs(10), || async {
        started.load(Ordering::SeqCst).then_some(())
    })
    .await;
    assert!(seen.is_some(), "the batch started");
    batch.abort();
    assert!(batch.await.unwrap_err().is_cancelled(), "killed mid-batch");
    let claimed: i64 = sqlx::query_scalar("SELECT count(*) FROM job_runs WHERE status = 'running'")
        .fetch_one(&api.db.owner)
        .await
        .unwrap();
    assert!(claimed >= 1, "the killed worker held claims");

    // A healthy worker takes the redelivered messages (after the visibility timeout).
    let worker = worker_with(StallsOnce {
        calls: AtomicUsize::new(1),
        started: Arc::new(AtomicBool::new(false)),
    });
    drain_until_every_job_succeeded(&api, &worker, "after the kill").await;
    assert_one_suggestion_per_job(&api, JOBS).await;

    api.db.owner.close().await;
    api.db.app.close().await;
    drop_database(&options).await;
}

/// Feeds the queue to `worker` (as the event source would) until every JobRun has
/// succeeded, for at most a minute.
async fn drain_until_every_job_succeeded<E: TriageEngine>(
    api: &Api,
    worker: &triage_worker::App<E>,
    when: &str,
) {
    let all_done = eventually(Duration::from_secs(60), || async {
        api.bridge_once(worker, 1).await;
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM job_runs WHERE status <> 'succeeded'")
                .fetch_one(&api.db.owner)
                .await
                .unwrap();
        (left == 0).then_some(())
    })
    .await;
    assert!(all_done.is_some(), "every job succeeded {when}");
}

async fn assert_one_suggestion_per_job(api: &Api, jobs: usize) {
    let per_job: Vec<i64> = sqlx::query_scalar(
        "SELECT count(s.id) FROM job_runs j LEFT JOIN suggestions s ON s.job_run_id = j.id
         GROUP BY j.id",
    )
    .fetch_all(&api.db.owner)
    .await
    .unwrap();
    assert_eq!(per_job.len(), jobs);
    assert!(
        per_job.iter().all(|n| *n == 1),
        "one suggestion per job: {per_job:?}"
    );
}
