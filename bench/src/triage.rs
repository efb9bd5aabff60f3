use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use nexify_domain::{Email, OrgId, Priority, Role, Subject, TicketBody, TicketId};
use nexify_embed::{Embedder, HashingEmbedder};
use nexify_queue::{SqsDispatcher, bridge};
use nexify_service::triage::{JobMessage, Outcome, Worker};
use nexify_storage::documents::NewDocument;
use nexify_storage::settings::SettingsUpdate;
use nexify_storage::tickets::NewTicket;
use nexify_storage::{
    PgPool, Vector, jobs, memberships, organizations, settings, ticket_embeddings, tickets, users,
};
use nexify_triage::RuleEngine;
use sqlx::PgConnection;

use crate::report::{Figure, record};
use crate::roundtrips::RoundTrips;
use crate::scratch::Scratch;
use crate::{pgbench, pgstat};

const JOBS: usize = 300;
/// Jobs run before the measurement, on every connection of the pool: a worker's connection
/// serves jobs for as long as its Lambda instance lives, so what it does once (planning its
/// statements, compiling the SQL functions) is not a cost per job.
const WARMUP_JOBS: usize = 20;
/// Resolved tickets with embeddings: the labelled history each triage searches.
const HISTORY: usize = 120;
const TEAMS: [&str; 4] = ["Billing", "Technical", "Accounts", "Security"];
/// Concurrent worker invocations, as the event source's MaximumConcurrency would allow.
const CONCURRENCY: usize = 2;
/// Jobs whose round trips are counted (the first only warms the connection).
const COUNTED_JOBS: usize = 301;

const TOPICS: [(&str, &str); 6] = [
    (
        "Card declined",
        "My card payment was declined at checkout and the invoice is overdue.",
    ),
    (
        "Refund request",
        "I was charged twice this month, please refund the duplicate charge.",
    ),
    (
        "Password reset",
        "The password reset email never arrives and I cannot sign in.",
    ),
    (
        "Sync stuck",
        "The desktop app is stuck on preparing to sync since yesterday.",
    ),
    (
        "Suspicious sign-in",
        "There are unknown sign-ins on our admin account, we may be hacked.",
    ),
    (
        "Export my data",
        "Under the GDPR please send me an export of my personal data.",
    ),
];

fn worker(pool: &PgPool) -> Worker<RuleEngine> {
    Worker {
        pool: pool.clone(),
        engine: RuleEngine,
        embedder: std::sync::Arc::new(HashingEmbedder),
        lease_seconds: 90,
        max_receives: 3,
        models: Default::default(),
        drafter: None,
    }
}

/// `count` open tickets cycling through [`TOPICS`], from `{email_prefix}{i}@example.com`;
/// `shape` gives each one's subject and assigned team.
async fn insert_topic_tickets(
    conn: &mut PgConnection,
    org: OrgId,
    count: usize,
    email_prefix: &str,
    shape: impl Fn(usize, &str) -> (String, Option<String>),
) -> anyhow::Result<Vec<tickets::Ticket>> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (subject, body) = TOPICS[i % TOPICS.len()];
        let (subject, assigned_team) = shape(i, subject);
        out.push(
            tickets::insert(
                conn,
                org,
                &NewTicket {
                    requester_email: Email::parse(
                        "requester_email",
                        &format!("{email_prefix}{i}@example.com"),
                    )?,
                    subject: Subject::parse(&subject)?,
                    body: TicketBody::parse(body)?,
                    priority: Priority::Medium,
                    assigned_team,
                    external_id: None,
                    category: None,
                },
            )
            .await?,
        );
    }
    Ok(out)
}

/// Processes `messages` with `CONCURRENCY` tasks taking the next one each.
async fn run_jobs(w: &Arc<Worker<RuleEngine>>, messages: Vec<JobMessage>) -> anyhow::Result<()> {
    let next = Arc::new(AtomicUsize::new(0));
    let messages = Arc::new(messages);
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (w, next, messages) = (w.clone(), next.clone(), messages.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(m) = messages.get(i) else { break };
                    w.process(m, 1).await.expect("worker succeeds");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await?;
    }
    Ok(())
}

/// Jobs made for the floor script; more than it can run in its time.
const FLOOR_JOBS: i64 = 60_000;
const FLOOR_SECONDS: u32 = 10;

/// The worker's three statements as a pgbench script: claim a job of its own (picked by a
/// sequence, one more round trip than the worker makes), read the context of one ticket's
/// embedding, and record `sample` again as that job's suggestion. The worker's own
/// statements and parameters, with the suggestion's ids and time set in SQL.
fn floor_script() -> &'static str {
    "SELECT job, ticket FROM bench_floor WHERE n = (SELECT nextval('bench_floor_next')) \\gset
SELECT triage_claim(:org, :job, 90);
SELECT triage_context(:org, :embedder, :vec, :ticket, :query, 5, 4);
SELECT triage_record(:org, :suggestion::jsonb || jsonb_build_object('id', gen_random_uuid(), \
'ticket_id', :ticket::text, 'job_run_id', :job::text, 'created_at', now()), :payload, \
gen_random_uuid(), :envelope, :embedder, :vec);
"
}

/// Makes [`FLOOR_JOBS`] queued jobs over `tickets` and runs [`floor_script`] on them.
async fn floor(
    owner: &PgPool,
    owner_url: &str,
    org: OrgId,
    sample: &nexify_storage::suggestions::Suggestion,
    tickets: &[TicketId],
) -> anyhow::Result<(pgbench::PgbenchResult, f64)> {
    let ids: Vec<uuid::Uuid> = tickets.iter().map(|t| t.0).collect();
    for sql in [
        "CREATE TABLE bench_floor (n bigint PRIMARY KEY, job uuid NOT NULL, ticket uuid NOT NULL)",
        "CREATE SEQUENCE bench_floor_next",
        "GRANT SELECT ON bench_floor TO nexify_app",
        "GRANT USAGE ON SEQUENCE bench_floor_next TO nexify_app",
    ] {
        sqlx::query(sql).execute(owner).await?;
    }
    sqlx::query(
        "WITH made AS (
             INSERT INTO job_runs (organization_id, ticket_id, idempotency_key)
             SELECT $1, ($2::uuid[])[1 + g % array_length($2, 1)], 'floor-' || g
             FROM generate_series(1, $3) g RETURNING id, ticket_id)
         INSERT INTO bench_floor (n, job, ticket)
         SELECT row_number() OVER (), id, ticket_id FROM made",
    )
    .bind(org)
    .bind(&ids)
    .bind(FLOOR_JOBS)
    .execute(owner)
    .await?;
    sqlx::query("ANALYZE").execute(owner).await?;
    let (subject, body): (String, String) =
        sqlx::query_as("SELECT subject, body FROM tickets WHERE id = $1")
            .bind(sample.ticket_id)
            .fetch_one(owner)
            .await?;
    let vector = HashingEmbedder.embed(&[&nexify_triage::embedding_text(&subject, &body)])?;
    let vector = format!(
        "[{}]",
        vector[0]
            .iter()
            .map(f32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let payload = serde_json::json!({
        "suggestion_id": sample.id,
        "suggested_priority": sample.suggested_priority,
        "suggested_team": sample.suggested_team,
        "classification": sample.classification,
        "confidence": sample.confidence,
    });
    let envelope = nexify_service::outbound::envelope(
        uuid::Uuid::new_v4(),
        "triage.suggested",
        org,
        chrono::Utc::now(),
        sample,
    );
    let app_url = owner_url.replacen(
        "postgres://postgres@",
        "postgres://nexify_app:nexify_app@",
        1,
    );
    let defines = [
        ("org", org.to_string()),
        ("embedder", HashingEmbedder.name().to_owned()),
        ("vec", vector),
        ("query", format!("{subject}\n{body}")),
        ("suggestion", serde_json::to_string(sample)?),
        ("payload", payload.to_string()),
        ("envelope", envelope),
    ];
    pgstat::reset(owner).await?;
    let result = pgbench::run_script(
        &app_url,
        CONCURRENCY as u32,
        FLOOR_SECONDS,
        floor_script(),
        &defines,
    )?;
    // Every job the script took was claimed and recorded, as the worker's are.
    let (taken, recorded): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT last_value FROM bench_floor_next),
                (SELECT count(*) FROM bench_floor f JOIN job_runs j ON j.id = f.job
                 JOIN suggestions s ON s.job_run_id = j.id WHERE j.status = 'succeeded')",
    )
    .fetch_one(owner)
    .await?;
    anyhow::ensure!(
        taken > 0 && recorded == taken,
        "the floor script recorded {recorded} of the {taken} jobs it took"
    );
    // Postgres's time for the worker's three statements per job, as the script runs them.
    let postgres_ms = pgstat::totals_of(owner, "SELECT triage_")
        .await?
        .postgres_ms
        / taken as f64;
    Ok((result, postgres_ms))
}

pub async fn run() -> anyhow::Result<()> {
    let mut scratch = Scratch::new().await?;
    let (owner, pool) = scratch.migrated("nexify_bench_triage", 8).await?;

    let mut tx = owner.begin().await?;
    let org = organizations::insert(&mut tx, "Bench", "bench").await?;
    let user = users::insert(
        &mut tx,
        &Email::parse("email", "bench@bench.test")?,
        "Bench",
        "x",
    )
    .await?;
    memberships::upsert(&mut tx, org.id, user.id, Role::Agent).await?;
    settings::update(
        &mut tx,
        org.id,
        &SettingsUpdate {
            teams: TEAMS.map(String::from).to_vec(),
            categories: [
                "payment_failure",
                "refund",
                "login",
                "sync",
                "security",
                "data_request",
            ]
            .map(String::from)
            .to_vec(),
            default_team: Some("Technical".into()),
            default_category: None,
            auto_triage_webhook: false,
            auto_triage_api: false,
            auto_apply_threshold: None,
            auto_apply_fields: Default::default(),
            reply_from: None,
        },
    )
    .await?;
    for (i, (title, text)) in TOPICS.iter().enumerate() {
        let body = format!("{text} Article {i} explains the steps in detail. ").repeat(12);
        let doc = NewDocument {
            title: (*title).into(),
            content_type: "text".into(),
            body,
            source_url: None,
            created_by: None,
        };
        let embedder: Arc<dyn nexify_embed::Embedder> = Arc::new(HashingEmbedder);
        nexify_service::knowledge::store_document(&mut tx, org.id, &doc, &embedder).await?;
    }
    let ticket_ids: Vec<TicketId> = insert_topic_tickets(
        &mut tx,
        org.id,
        JOBS * 2 + WARMUP_JOBS,
        "c",
        |i, subject| (format!("{subject} #{i}"), None),
    )
    .await?
    .into_iter()
    .map(|t| t.id)
    .collect();
    // Labelled history, as an org in use has: resolved tickets with their embeddings, which
    // each triage searches for the nearest ones.
    let mut history = Vec::new();
    for t in insert_topic_tickets(&mut tx, org.id, HISTORY, "h", |i, subject| {
        (
            format!("{subject} (earlier case {i})"),
            Some(TEAMS[i % TEAMS.len()].into()),
        )
    })
    .await?
    {
        let vector = HashingEmbedder.embed(&[&format!("{}\n{}", t.subject, t.body)])?;
        history.push((
            t.id,
            Vector::from(vector.into_iter().next().unwrap_or_default()),
        ));
    }
    sqlx::query("UPDATE tickets SET status = 'resolved' WHERE id = ANY($1)")
        .bind(history.iter().map(|(id, _)| id.0).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    ticket_embeddings::upsert_many(&mut tx, org.id, HashingEmbedder.name(), &history).await?;
    // Jobs for the worker-only measurement.
    let mut messages = Vec::new();
    let mut warmup = Vec::new();
    for (i, ticket) in ticket_ids[..JOBS]
        .iter()
        .chain(&ticket_ids[JOBS * 2..])
        .enumerate()
    {
        let (job, _) = jobs::insert_or_get(&mut tx, org.id, *ticket, &format!("bench-{i}")).await?;
        let message = JobMessage {
            job_run_id: job.id,
            organization_id: org.id,
        };
        if i < JOBS {
            messages.push(message);
        } else {
            warmup.push(message);
        }
    }
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(&owner).await?;

    // 1. The worker alone: claim, retrieve, triage, record; CONCURRENCY at a time, after a
    //    warm-up. Postgres's own time for it comes from pg_stat_statements.
    let w = Arc::new(worker(&pool));
    run_jobs(&w, warmup).await?;
    pgstat::reset(&owner).await?;
    let started = Instant::now();
    run_jobs(&w, messages).await?;
    let worker_rate = JOBS as f64 / started.elapsed().as_secs_f64();
    let totals = pgstat::totals(&owner).await?;
    let statements_per_job = totals.calls / JOBS as f64;
    let postgres_ms_per_job = totals.postgres_ms / JOBS as f64;
    println!("\n## Where the worker's Postgres time goes (the 12 costliest statements)\n");
    println!(
        "| calls per job | planning, ms per job | execution, ms per job | statement |\n|---|---|---|---|"
    );
    for (calls, plan, exec, query) in pgstat::top(&owner, 12).await? {
        let query: String = query.chars().take(120).collect();
        println!(
            "| {:.2} | {:.3} | {:.3} | `{}` |",
            calls as f64 / JOBS as f64,
            plan / JOBS as f64,
            exec / JOBS as f64,
            query.replace('|', "\\|")
        );
    }

    // 2. End to end: enqueue through the service (JobRun, event, SQS send), the event source
    //    receiving batches of up to 10, the worker, the suggestion.
    let sqs = nexify_queue::sqs_client_from_env().await;
    let queue_name = format!("nexify-bench-{}", std::process::id());
    let queue_url = sqs
        .create_queue()
        .queue_name(&queue_name)
        .send()
        .await
        .context("LocalStack must be running (scripts/stack.sh up)")?
        .queue_url
        .unwrap_or_default();
    let dispatcher = SqsDispatcher::new(sqs.clone(), queue_url.clone());
    let e2e_tickets: Vec<TicketId> = ticket_ids[JOBS..JOBS * 2].to_vec();
    let started = Instant::now();
    let producer = {
        let (pool, dispatcher) = (pool.clone(), dispatcher.clone());
        tokio::spawn(async move {
            for t in e2e_tickets {
                nexify_service::triage::enqueue(&pool, &dispatcher, user.id, org.id, t, None)
                    .await
                    .expect("enqueue");
            }
        })
    };
    let done = Arc::new(AtomicUsize::new(0));
    let consumers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (w, sqs, url, done) = (w.clone(), sqs.clone(), queue_url.clone(), done.clone());
            tokio::spawn(async move {
                while done.load(Ordering::Relaxed) < JOBS {
                    let batch = bridge::receive(&sqs, &url, 10, 1).await.expect("receive");
                    let mut ok = Vec::new();
                    for m in &batch {
                        let msg: JobMessage =
                            serde_json::from_str(m.body.as_deref().unwrap_or_default()).unwrap();
                        w.process(&msg, 1).await.expect("worker succeeds");
                        ok.push(m.clone());
                    }
                    bridge::delete_succeeded(&sqs, &url, &ok, &Default::default())
                        .await
                        .expect("delete");
                    done.fetch_add(batch.len(), Ordering::Relaxed);
                }
            })
        })
        .collect();
    producer.await?;
    for c in consumers {
        c.await?;
    }
    let e2e_rate = JOBS as f64 / started.elapsed().as_secs_f64();
    let suggestions: i64 = sqlx::query_scalar("SELECT count(*) FROM suggestions")
        .fetch_one(&owner)
        .await?;
    anyhow::ensure!(
        suggestions == (2 * JOBS + WARMUP_JOBS) as i64,
        "expected {} suggestions, found {suggestions}",
        2 * JOBS + WARMUP_JOBS
    );
    sqs.delete_queue().queue_url(&queue_url).send().await.ok();

    // 3. Round trips per job: more jobs, one at a time, through a counting proxy.
    let mut tx = owner.begin().await?;
    let mut counted_jobs = Vec::new();
    let extra = insert_topic_tickets(&mut tx, org.id, COUNTED_JOBS, "r", |i, subject| {
        (format!("{subject} (counted {i})"), None)
    })
    .await?;
    for (i, ticket) in extra.iter().enumerate() {
        let (job, _) =
            jobs::insert_or_get(&mut tx, org.id, ticket.id, &format!("counted-{i}")).await?;
        counted_jobs.push(JobMessage {
            job_run_id: job.id,
            organization_id: org.id,
        });
    }
    tx.commit().await?;
    let owner_url = scratch.url("nexify_bench_triage");
    let (proxy, counted_pool) = RoundTrips::app_pool(&owner_url).await?;
    let counted = worker(&counted_pool);
    // The first job warms the connection and its statement cache; its suggestion is the
    // one the floor script records.
    let Outcome::Suggested(sample) = counted
        .process(&counted_jobs[0], 1)
        .await
        .expect("worker succeeds")
    else {
        anyhow::bail!("the first counted job made no suggestion");
    };
    // The pool takes a connection back on a task of its own, which checks it with a ping:
    // let the warm-up job's finish before counting.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    proxy.take();
    // Postgres's time per job with one job at a time: the backend never waits for a core
    // that the bench's own worker holds, as it does at CONCURRENCY on this machine's cores.
    pgstat::reset(&owner).await?;
    for m in &counted_jobs[1..] {
        counted.process(m, 1).await.expect("worker succeeds");
    }
    // The last job's connection is checked (one ping) as the pool takes it back.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let round_trips_per_job = proxy.take() as f64 / (COUNTED_JOBS - 1) as f64;
    let alone_ms_per_job = pgstat::totals(&owner).await?.postgres_ms / (COUNTED_JOBS - 1) as f64;

    // 4. The floor: pgbench running the job's own three statements, as the app role, at the
    //    same concurrency, each transaction on a job of its own.
    let (floor, floor_postgres_ms) =
        floor(&owner, &owner_url, org.id, &sample, &ticket_ids[..JOBS]).await?;

    let pgbench_url = scratch.database("nexify_bench_pgbench").await?;
    pgbench::init(&pgbench_url, 10)?;
    let tpcb = pgbench::run(&pgbench_url, CONCURRENCY as u32, 10, &[])?;

    println!(
        "\n## Triage throughput vs pgbench running the job's own statements (same run, {CONCURRENCY} concurrent)\n"
    );
    println!("| metric | per second | floor | ratio | goal |");
    println!("|---|---|---|---|---|");
    println!(
        "| worker alone (claim, retrieve, triage, record) | {worker_rate:.0} | same-SQL script {:.0} tps | {:.2}x | >= 0.5x |",
        floor.tps,
        worker_rate / floor.tps
    );
    println!(
        "| end to end (enqueue, SQS, worker, suggestion) | {e2e_rate:.0} | same-SQL script {:.0} tps | {:.2}x | - |",
        floor.tps,
        e2e_rate / floor.tps
    );
    println!(
        "| for scale: pgbench TPC-B | {:.0} tps | - | - | - |",
        tpcb.tps
    );
    record(
        Figure::new(
            "triage",
            "worker alone (claim, retrieve, triage, record)",
            worker_rate,
            "jobs/s",
        )
        .against("same-SQL pgbench script tps", floor.tps)
        .goal("≥ 0.50×", worker_rate >= 0.5 * floor.tps),
    );
    record(
        Figure::new(
            "triage",
            "end to end (enqueue, SQS, worker, suggestion)",
            e2e_rate,
            "jobs/s",
        )
        .against("same-SQL pgbench script tps", floor.tps),
    );
    println!(
        "| Postgres time per job, one job at a time (planning + execution) | {alone_ms_per_job:.3} ms | - | - | <= 1.2 ms |"
    );
    println!(
        "| Postgres time per job, {CONCURRENCY} concurrent | {postgres_ms_per_job:.3} ms | same-SQL script {floor_postgres_ms:.3} ms | {:.2}x | - |",
        postgres_ms_per_job / floor_postgres_ms
    );
    println!(
        "| jobs/s one database core can serve | {:.0} | - | - | - |",
        1000.0 / alone_ms_per_job
    );
    println!("| statements per job | {statements_per_job:.1} | - | - | - |");
    println!("| database round trips per job | {round_trips_per_job:.1} | - | - | <= 4 |");
    record(
        Figure::new(
            "triage",
            "worker: Postgres time per job, one job at a time (plan + execute, pg_stat_statements)",
            alone_ms_per_job,
            "ms",
        )
        .goal("≤ 1.2 ms", alone_ms_per_job <= 1.2),
    );
    record(
        Figure::new(
            "triage",
            format!(
                "worker: Postgres time per job, {CONCURRENCY} concurrent on this machine's cores"
            ),
            postgres_ms_per_job,
            "ms",
        )
        .against(
            "the same statements from pgbench, same concurrency",
            floor_postgres_ms,
        ),
    );
    record(Figure::new(
        "triage",
        "worker: jobs/s one database core can serve (1000 / Postgres ms per job, one at a time)",
        1000.0 / alone_ms_per_job,
        "jobs/s",
    ));
    record(Figure::new(
        "triage",
        "worker: statements per job",
        statements_per_job,
        "",
    ));
    record(
        Figure::new(
            "triage",
            "worker: database round trips per job",
            round_trips_per_job,
            "",
        )
        .goal("≤ 4", round_trips_per_job <= 4.0),
    );
    println!(
        "\nOffline configuration: hashing embedder, rule engine, {HISTORY} resolved tickets of labelled history, {JOBS} jobs each after {WARMUP_JOBS} to warm the connections. The floor script:\n\n```sql\n{}```",
        floor_script()
    );
    scratch.drop_all().await
}
