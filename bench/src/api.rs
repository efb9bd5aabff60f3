use std::time::{Duration, Instant};

use nexify_auth::TokenIssuer;
use nexify_domain::{Email, Priority, Role, Subject, TicketBody};
use nexify_storage::tickets::NewTicket;
use nexify_storage::{memberships, organizations, tickets, users};

use crate::report::{Figure, record};
use crate::roundtrips::RoundTrips;
use crate::scratch::Scratch;
use crate::{pgbench, pgstat, quantile};

const TICKETS: usize = 2_000;
const SEQUENTIAL_REQUESTS: usize = 2_000;
const THROUGHPUT_SECONDS: u64 = 10;
const CLIENTS: u32 = 2;
/// Requests whose round trips and Postgres time are averaged.
const COUNTED_REQUESTS: usize = 200;

/// The statement the ticket list runs for one unfiltered page of 50, taken from the code
/// that runs it, with its parameters as pgbench variables.
fn list_script() -> String {
    // From the last, so that `$1` does not match the start of `$10`.
    let mut sql = tickets::PAGE_AS_MEMBER_SQL.to_owned();
    let values = [
        ":org",
        ":user",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "NULL",
        "'created_at'",
        "true",
        "NULL",
        "NULL",
        ":limit",
    ];
    for (i, value) in values.iter().enumerate().rev() {
        sql = sql.replace(&format!("${}", i + 1), value);
    }
    format!("{sql};\n")
}

pub async fn run() -> anyhow::Result<()> {
    let mut scratch = Scratch::new().await?;
    // Room for the instance's held connection beside each client of the statement timed
    // alone on a held connection of its own.
    let (owner, pool) = scratch.migrated("nexify_bench", 2 * CLIENTS).await?;
    let owner_url = scratch.url("nexify_bench");

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

    // EdDSA, as deployed: the development key pair stands in for the deployment's.
    let issuer = TokenIssuer::local();
    let token = issuer.issue_access(user.id)?;
    let app = instance(pool.clone(), issuer.verifier().clone()).await;
    let path = format!("/api/orgs/{}/tickets/?limit=50", org.id);
    // Routed as API Gateway routes it: the route key and the path parameters.
    let routes = nexify_http::routing::routes_from_template(include_str!("../../template.yaml"));
    let (route, params) =
        nexify_http::routing::choose(&routes, "GET", &format!("/api/orgs/{}/tickets/", org.id))
            .expect("the ticket list route");
    let mut context =
        lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route.key());
    let request = {
        let (token, path, params) = (token.clone(), path.clone(), params.clone());
        move || {
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
        }
    };

    for _ in 0..200 {
        let r = app.handle(request()).await.unwrap();
        anyhow::ensure!(r.status() == 200, "warm-up got {}", r.status());
    }
    let parts = Parts::measure(&pool, &issuer, &token, org.id, user.id).await?;
    let mut latencies = Vec::with_capacity(SEQUENTIAL_REQUESTS);
    for _ in 0..SEQUENTIAL_REQUESTS {
        let started = Instant::now();
        let r = app.handle(request()).await.unwrap();
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(r.status() == 200);
    }
    latencies.sort_by(f64::total_cmp);
    let (p50, p99) = (quantile(&latencies, 0.5), quantile(&latencies, 0.99));

    // Each client is an instance of its own: an OS thread with its own runtime and pool, as
    // each concurrent request is served by a Lambda process of its own. On the runtime the
    // functions run (current-thread), and on tokio's multi-thread runtime beside it.
    let app_config = crate::scratch::app_config(&owner_url, 2)?;
    let mut isolated = Vec::new();
    for flavor in [Flavor::CurrentThread, Flavor::MultiThread] {
        let (config, verifier, request) = (
            app_config.clone(),
            issuer.verifier().clone(),
            request.clone(),
        );
        isolated.push(
            tokio::task::spawn_blocking(move || {
                isolated_throughput(&config, &verifier, flavor, request)
            })
            .await??,
        );
    }
    let (rps, multi_thread_rps) = (isolated[0], isolated[1]);

    // The same requests through a pool that reaches Postgres by a counting proxy: every
    // round trip is after the token check, which needs no database.
    let (proxy, counted_pool) = RoundTrips::app_pool(&owner_url).await?;
    let counted_app = instance(counted_pool, issuer.verifier().clone()).await;
    for _ in 0..20 {
        counted_app.handle(request()).await.unwrap();
    }
    proxy.take();
    for _ in 0..COUNTED_REQUESTS {
        counted_app.handle(request()).await.unwrap();
    }
    let round_trips = proxy.take() as f64 / COUNTED_REQUESTS as f64;

    // Postgres's own time (planning and execution) per request.
    pgstat::reset(&owner).await?;
    for _ in 0..COUNTED_REQUESTS {
        app.handle(request()).await.unwrap();
    }
    let totals = pgstat::totals(&owner).await?;
    let statements = totals.calls / COUNTED_REQUESTS as f64;
    let postgres_ms = totals.postgres_ms / COUNTED_REQUESTS as f64;

    // The floor: pgbench running exactly the statements the handler runs, as the app role
    // (so row-level security applies), prepared, at the same concurrency.
    let script = list_script();
    let app_url = owner_url.replacen(
        "postgres://postgres@",
        "postgres://nexify_app:nexify_app@",
        1,
    );
    let defines = [
        ("org", org.id.to_string()),
        ("user", user.id.to_string()),
        ("limit", "51".to_owned()),
    ];
    let single = pgbench::run_script(&app_url, 1, 10, &script, &defines)?;
    let concurrent = pgbench::run_script(&app_url, CLIENTS, 10, &script, &defines)?;
    // What the pool costs at CLIENTS clients: the statement alone, pooled and held.
    let pooled_rps = statement_throughput(&pool, org.id, user.id, false).await?;
    let held_rps = statement_throughput(&pool, org.id, user.id, true).await?;

    println!("\n## Ticket list handler vs pgbench running the same statements (same run)\n");
    println!("| metric | nexify | same-SQL pgbench | ratio | goal |");
    println!("|---|---|---|---|---|");
    println!(
        "| p50 latency, 1 client (ms) | {p50:.3} | {:.3} | {:.2}x | <= 2x |",
        single.latency_ms,
        p50 / single.latency_ms
    );
    println!("| p99 latency, 1 client (ms) | {p99:.3} | - | - | - |");
    println!(
        "| throughput, {CLIENTS} clients (req/s) | {rps:.0} | {:.0} | {:.2}x | >= 0.5x |",
        concurrent.tps,
        rps / concurrent.tps
    );
    println!(
        "| throughput, {CLIENTS} clients, tokio's multi-thread runtime (req/s) | {multi_thread_rps:.0} | {:.0} | {:.2}x | - |",
        concurrent.tps,
        multi_thread_rps / concurrent.tps
    );
    println!("| database round trips per request | {round_trips:.2} | - | - | <= 2 |");
    println!("| statements per request | {statements:.2} | - | - | - |");
    println!("| Postgres time per request (ms) | {postgres_ms:.3} | - | - | - |");
    parts.print(p50);
    println!(
        "\nThe statement alone (no token, decoding or JSON), {CLIENTS} clients: through the pool {pooled_rps:.0} req/s ({:.2}x the script's tps), each client on a connection it holds {held_rps:.0} req/s ({:.2}x).",
        pooled_rps / concurrent.tps,
        held_rps / concurrent.tps
    );
    for (how, rps) in [
        ("through the pool", pooled_rps),
        ("on held connections", held_rps),
    ] {
        record(
            Figure::new(
                "api",
                format!("ticket list statement alone, {CLIENTS} clients, {how}"),
                rps,
                "req/s",
            )
            .against("same-SQL pgbench tps", concurrent.tps),
        );
    }
    println!("\nThe script:\n\n```sql\n{script}```");
    record(
        Figure::new("api", "ticket list p50, 1 client", p50, "ms")
            .against("same-SQL pgbench latency", single.latency_ms)
            .goal("≤ 2×", p50 <= 2.0 * single.latency_ms),
    );
    record(Figure::new("api", "ticket list p99, 1 client", p99, "ms"));
    record(throughput(
        "",
        rps,
        "same-SQL pgbench tps",
        concurrent.tps,
        0.5,
    ));
    record(
        Figure::new(
            "api",
            format!("ticket list throughput, {CLIENTS} clients, on tokio's multi-thread runtime"),
            multi_thread_rps,
            "req/s",
        )
        .against("same-SQL pgbench tps", concurrent.tps),
    );
    record(
        Figure::new(
            "api",
            "ticket list: database round trips per request",
            round_trips,
            "",
        )
        .goal("≤ 2", round_trips <= 2.0),
    );
    record(Figure::new(
        "api",
        "ticket list: Postgres time per request (plan + execute)",
        postgres_ms,
        "ms",
    ));
    println!(
        "\nThe handler verifies the JWT, then in one statement (the SQL function `ticket_page`) enters the org with the membership check and reads 50 of {TICKETS} tickets and the per-status counts under row-level security, and serializes JSON. The script runs that statement the same way (prepared), from pgbench. Each client is an instance of its own (a thread with its own current-thread runtime and pool, as the functions run) that reads on a connection it holds between requests, so a request is one round trip; through sqlx's pool it would be two, as the pool checks every connection that goes back to it."
    );
    match crate::django::venv() {
        Some(venv) => {
            let url = scratch.database("nexify_bench_django").await?;
            let django =
                crate::django::measure(&venv, &url, TICKETS, 30, CLIENTS as usize, 15).await?;
            compare_with_django(p50, p99, rps, &django);
        }
        None => println!("\n(django-helpdesk comparison skipped: run it through scripts/bench.sh)"),
    }
    scratch.drop_all().await
}

/// Where one request's time goes, one client, each part timed alone over [`PART_RUNS`]
/// runs (milliseconds per run): what the handler adds to the statement the floor runs.
struct Parts {
    verify: f64,
    statement_held: f64,
    statement_pooled: f64,
    service: f64,
    json: f64,
}

const PART_RUNS: u32 = 1_000;

/// The page's statement with the page's parameters, for rows fetched and not decoded.
fn page_statement(
    org: nexify_domain::OrgId,
    user: nexify_domain::UserId,
) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(tickets::PAGE_AS_MEMBER_SQL)
        .bind(org)
        .bind(user)
        .bind(None::<&str>)
        .bind(None::<&str>)
        .bind(None::<&str>)
        .bind(None::<&str>)
        .bind(None::<&str>)
        .bind("created_at")
        .bind(true)
        .bind(None::<chrono::DateTime<chrono::Utc>>)
        .bind(None::<uuid::Uuid>)
        .bind(51_i64)
}

/// The page's statement alone (no token, decoding or JSON) at [`CLIENTS`] clients, each a
/// task of its own, for [`STATEMENT_SECONDS`]: requests per second through the pool, or
/// each client on a connection it holds throughout (as an instance could hold one between
/// requests).
async fn statement_throughput(
    pool: &nexify_storage::PgPool,
    org: nexify_domain::OrgId,
    user: nexify_domain::UserId,
    held: bool,
) -> anyhow::Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(STATEMENT_SECONDS);
    let counts = futures::future::try_join_all((0..CLIENTS).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut n = 0u64;
            if held {
                let mut conn = pool.acquire().await?;
                while Instant::now() < deadline {
                    page_statement(org, user).fetch_all(&mut *conn).await?;
                    n += 1;
                }
            } else {
                while Instant::now() < deadline {
                    page_statement(org, user).fetch_all(&pool).await?;
                    n += 1;
                }
            }
            anyhow::Ok(n)
        })
    }))
    .await?;
    let mut total = 0;
    for n in counts {
        total += n?;
    }
    Ok(total as f64 / STATEMENT_SECONDS as f64)
}

const STATEMENT_SECONDS: u64 = 5;

impl Parts {
    async fn measure(
        pool: &nexify_storage::PgPool,
        issuer: &TokenIssuer,
        token: &str,
        org: nexify_domain::OrgId,
        user: nexify_domain::UserId,
    ) -> anyhow::Result<Self> {
        async fn per_run<F: std::future::Future<Output = anyhow::Result<()>>>(
            mut f: impl FnMut() -> F,
        ) -> anyhow::Result<f64> {
            let started = Instant::now();
            for _ in 0..PART_RUNS {
                f().await?;
            }
            Ok(started.elapsed().as_secs_f64() * 1000.0 / f64::from(PART_RUNS))
        }
        let statement = || page_statement(org, user);
        let query = nexify_service::tickets::TicketQuery {
            filter: Default::default(),
            order: Default::default(),
            cursor: None,
            limit: 50,
        };
        let verify = per_run(|| async {
            issuer
                .verifier()
                .verify(token, nexify_auth::TokenType::Access)?;
            Ok(())
        })
        .await?;
        let mut held = pool.acquire().await?;
        let statement_held = {
            let started = Instant::now();
            for _ in 0..PART_RUNS {
                statement().fetch_all(&mut *held).await?;
            }
            started.elapsed().as_secs_f64() * 1000.0 / f64::from(PART_RUNS)
        };
        drop(held);
        let statement_pooled = per_run(|| async {
            statement().fetch_all(pool).await?;
            Ok(())
        })
        .await?;
        let service = per_run(|| async {
            nexify_service::tickets::list(pool, user, org, &query).await?;
            Ok(())
        })
        .await?;
        let page = nexify_service::tickets::list(pool, user, org, &query).await?;
        let json = per_run(|| async {
            std::hint::black_box(serde_json::to_vec(&page)?);
            Ok(())
        })
        .await?;
        Ok(Self {
            verify,
            statement_held,
            statement_pooled,
            service,
            json,
        })
    }

    fn print(&self, p50: f64) {
        println!("\n## Where one request's time goes (1 client, each part timed alone)\n");
        println!("| part | ms per request |\n|---|---|");
        println!(
            "| the statement on a connection held throughout | {:.3} |",
            self.statement_held
        );
        println!(
            "| the same through the pool (acquire, and the check sqlx runs on every returned connection) | {:.3} |",
            self.statement_pooled
        );
        println!(
            "| the service's list (pool, statement, decoding 51 rows and the counts) | {:.3} |",
            self.service
        );
        println!("| the token's EdDSA check | {:.3} |", self.verify);
        println!("| the page's JSON | {:.3} |", self.json);
        println!("| the whole handler (p50, above) | {p50:.3} |");
    }
}

/// The list's throughput at [`CLIENTS`] clients beside `baseline`, with the goal of at
/// least `times` it.
fn throughput(beside: &str, rps: f64, baseline_name: &str, baseline: f64, times: f64) -> Figure {
    Figure::new(
        "api",
        format!("ticket list throughput, {CLIENTS} clients{beside}"),
        rps,
        "req/s",
    )
    .against(baseline_name, baseline)
    .goal(
        if times >= 10.0 {
            format!("≥ {times:.0}×")
        } else {
            format!("≥ {times:.2}×")
        },
        rps >= times * baseline,
    )
}

/// The handler beside django-helpdesk listing 50 of as many tickets, at equal concurrency.
fn compare_with_django(p50: f64, p99: f64, rps: f64, django: &crate::django::DjangoFigures) {
    println!(
        "\n## Side by side: django-helpdesk (Django 5.2 + DRF, gunicorn, {} workers, same Postgres)\n",
        django.workers
    );
    println!("| metric | nexify | django-helpdesk | ratio | goal |");
    println!("|---|---|---|---|---|");
    println!(
        "| p50, 1 client (ms) | {p50:.3} | {:.1} | 1/{:.0} | - |",
        django.p50_ms,
        django.p50_ms / p50
    );
    println!(
        "| p99, 1 client (ms) | {p99:.3} | {:.1} | 1/{:.0} | <= 1/150 |",
        django.p99_ms,
        django.p99_ms / p99
    );
    println!(
        "| throughput, {CLIENTS} clients (req/s) | {rps:.0} | {:.2} | {:.0}x | >= 200x |",
        django.rps,
        rps / django.rps
    );
    println!(
        "| SQL statements per request | - | {:.0} | - | - |",
        django.statements
    );
    record(
        Figure::new(
            "api",
            "ticket list p99, 1 client, beside django-helpdesk",
            p99,
            "ms",
        )
        .against("django-helpdesk p99", django.p99_ms)
        .goal("≤ 1/150×", p99 * 150.0 <= django.p99_ms),
    );
    record(throughput(
        ", beside django-helpdesk",
        rps,
        "django-helpdesk req/s",
        django.rps,
        200.0,
    ));
    record(Figure::new(
        "api",
        "django-helpdesk: SQL statements per list request",
        django.statements,
        "",
    ));
}

/// A tickets function instance on `pool`. A list never enqueues, so its queue is never sent to.
async fn instance(
    pool: nexify_storage::PgPool,
    verifier: nexify_auth::TokenVerifier,
) -> ::tickets::App {
    let dispatcher = nexify_queue::SqsDispatcher::new(
        nexify_queue::sqs_client_from_env().await,
        "http://127.0.0.1:4566/queue/us-east-1/000000000000/unused",
    );
    ::tickets::App::new(pool, verifier, dispatcher)
}

/// Which tokio runtime an instance runs on.
#[derive(Clone, Copy, Debug)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

/// The list at [`CLIENTS`] clients, each an instance of its own on an OS thread with its own
/// runtime and pool, as each concurrent request is served by a Lambda process of its own.
fn isolated_throughput(
    config: &nexify_storage::DbConfig,
    verifier: &nexify_auth::TokenVerifier,
    flavor: Flavor,
    request: impl Fn() -> lambda_http::Request + Clone + Send + 'static,
) -> anyhow::Result<f64> {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(CLIENTS as usize));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (config, verifier, barrier, request) = (
                config.clone(),
                verifier.clone(),
                barrier.clone(),
                request.clone(),
            );
            std::thread::spawn(move || -> anyhow::Result<u64> {
                let runtime = match flavor {
                    Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?,
                    Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread()
                        .enable_all()
                        .build()?,
                };
                runtime.block_on(async move {
                    let app = instance(nexify_storage::connect_lazy(&config), verifier).await;
                    for _ in 0..200 {
                        app.handle(request()).await.unwrap();
                    }
                    barrier.wait();
                    let deadline = Instant::now() + Duration::from_secs(THROUGHPUT_SECONDS);
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let r = app.handle(request()).await.unwrap();
                        anyhow::ensure!(r.status() == 200);
                        n += 1;
                    }
                    Ok(n)
                })
            })
        })
        .collect();
    let mut total = 0;
    for t in threads {
        total += t.join().expect("client thread")?;
    }
    Ok(total as f64 / THROUGHPUT_SECONDS as f64)
}
