use std::time::{Duration, Instant};

use nexify_auth::TokenIssuer;
use nexify_domain::{Email, Priority, Role, Subject, TicketBody};
use nexify_storage::tickets::NewTicket;
use nexify_storage::{memberships, organizations, tickets, users};

use crate::report::{Figure, record};
use crate::scratch::Scratch;
use crate::{pgbench, quantile};

const TICKETS: usize = 2_000;
const SEQUENTIAL_REQUESTS: usize = 2_000;
const THROUGHPUT_SECONDS: u64 = 10;
const CLIENTS: u32 = 2;

pub async fn run() -> anyhow::Result<()> {
    let mut scratch = Scratch::new().await?;
    let (owner, pool) = scratch.migrated("nexify_bench", CLIENTS).await?;

    // One org with a user and TICKETS tickets.
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
    for i in 0..TICKETS {
        let new = NewTicket {
            requester_email: Email::parse("requester_email", &format!("c{i}@example.com"))?,
            subject: Subject::parse(&format!("Ticket number {i} about card payments"))?,
            body: TicketBody::parse(
                "A realistic body of a few sentences. My card was declined at checkout and I need help.",
            )?,
            priority: Priority::ALL[i % 4],
            assigned_team: None,
            external_id: None,
            category: None,
        };
        tickets::insert(&mut tx, org.id, &new).await?;
    }
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(&owner).await?;

    let issuer = TokenIssuer::new(b"benchmark-secret-benchmark-secret-0123")?;
    let token = issuer.issue_access(user.id)?;
    let dispatcher = nexify_queue::SqsDispatcher::new(
        nexify_queue::sqs_client_from_env().await,
        "http://127.0.0.1:4566/queue/us-east-1/000000000000/unused",
    );
    let app = ::tickets::App::new(pool, issuer, dispatcher);
    let path = format!("/api/orgs/{}/tickets/?limit=50", org.id);
    // Routed as API Gateway routes it: the route key and the path parameters.
    let routes = nexify_http::routing::routes_from_template(include_str!("../../template.yaml"));
    let (route, params) =
        nexify_http::routing::choose(&routes, "GET", &format!("/api/orgs/{}/tickets/", org.id))
            .expect("the ticket list route");
    let mut context =
        lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route.key());
    let request = || {
        use lambda_http::RequestExt;
        lambda_http::http::Request::builder()
            .method("GET")
            .uri(&path)
            .header("authorization", format!("Bearer {token}"))
            .body(lambda_http::Body::Empty)
            .unwrap()
            .with_request_context(lambda_http::request::RequestContext::ApiGatewayV2(
                context.clone(),
            ))
            .with_path_parameters(params.clone())
    };

    for _ in 0..200 {
        let r = app.handle(request()).await.unwrap();
        anyhow::ensure!(r.status() == 200, "warm-up got {}", r.status());
    }
    let mut latencies = Vec::with_capacity(SEQUENTIAL_REQUESTS);
    for _ in 0..SEQUENTIAL_REQUESTS {
        let started = Instant::now();
        let r = app.handle(request()).await.unwrap();
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(r.status() == 200);
    }
    latencies.sort_by(f64::total_cmp);
    let (p50, p99) = (quantile(&latencies, 0.5), quantile(&latencies, 0.99));

    let deadline = Instant::now() + Duration::from_secs(THROUGHPUT_SECONDS);
    let app_ref = &app;
    let request_ref = &request;
    let counts = futures::future::join_all((0..CLIENTS).map(|_| async move {
        let mut n = 0u64;
        while Instant::now() < deadline {
            let r = app_ref.handle(request_ref()).await.unwrap();
            assert_eq!(r.status(), 200);
            n += 1;
        }
        n
    }))
    .await;
    let rps = counts.iter().sum::<u64>() as f64 / THROUGHPUT_SECONDS as f64;

    let pgbench_url = scratch.database("nexify_bench_pgbench").await?;
    pgbench::init(&pgbench_url, 10)?;
    let single = pgbench::run(&pgbench_url, 1, 10, &["-S"])?;
    let concurrent = pgbench::run(&pgbench_url, CLIENTS, 10, &["-S"])?;

    println!("\n## Ticket list handler vs pgbench -S (same run, same machine)\n");
    println!("| metric | nexify | pgbench -S | ratio | goal |");
    println!("|---|---|---|---|---|");
    println!(
        "| p50 latency, 1 client (ms) | {p50:.3} | {:.3} | {:.2}x | <= 3x |",
        single.latency_ms,
        p50 / single.latency_ms
    );
    println!("| p99 latency, 1 client (ms) | {p99:.3} | - | - | - |");
    println!(
        "| throughput, {CLIENTS} clients (req/s) | {rps:.0} | {:.0} | {:.1}% | >= 40% |",
        concurrent.tps,
        100.0 * rps / concurrent.tps
    );
    record(
        Figure::new("api", "ticket list p50, 1 client", p50, "ms")
            .against("pgbench -S latency", single.latency_ms)
            .goal("≤ 3×", p50 <= 3.0 * single.latency_ms),
    );
    record(Figure::new("api", "ticket list p99, 1 client", p99, "ms"));
    record(
        Figure::new(
            "api",
            format!("ticket list throughput, {CLIENTS} clients"),
            rps,
            "req/s",
        )
        .against("pgbench -S tps", concurrent.tps)
        .goal("≥ 0.40×", rps >= 0.4 * concurrent.tps),
    );
    println!(
        "\nThe handler verifies the JWT, opens an RLS-scoped transaction, checks membership, reads 50 of {TICKETS} tickets and the per-status counts, and serializes JSON. pgbench -S does one primary-key SELECT."
    );
    scratch.drop_all().await
}
