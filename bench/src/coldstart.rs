//! Cold start: each function's init time, from process start to its first answered
//! invocation, beside a bare `lambda_runtime` hello function timed the same way in the same
//! run (the floor). A small Lambda Runtime API (`/2018-06-01/runtime/invocation/...`) hands
//! each process one event and notes when it first asks for one (what AWS reports as the
//! init duration) and when the answer arrives.
//!
//! Every function reads its database URL from Secrets Manager at start-up, as deployed
//! (LocalStack here), so each is timed beside `hello-secret`: the bare function plus that one
//! fetch. The functions that cannot answer their first event without Postgres (the health
//! check, the sweep and the trainer) are timed beside `hello-secret` whose handler also opens
//! one connection and runs `SELECT 1`. The ratio to the bare `hello-lambda` is printed too.
//!
//! Binaries come from `target/lambda/<name>/bootstrap` (`scripts/build-zips.sh`); the
//! floors from the perf builds of `hello-lambda` and `hello-secret`. The functions get the
//! local stack's configuration, with `DATABASE_URL_SECRET` in place of `DATABASE_URL`; HTTP
//! functions answer an unauthenticated request (401 or the health check), the worker an
//! empty batch, the sweeper its sweep. The three functions that hold an embedder are timed
//! twice: with the default `hashing` and with `minilm`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// Rounds: each starts every binary once, floors included, in turn, so that a slow spell on
/// the machine lands on all of them alike rather than on whichever was being timed. Starts
/// take 2–10 ms, and a median of few is noisy here.
const RUNS: usize = 21;

/// Every function, in the template's order.
pub const FUNCTIONS: [&str; 10] = [
    "health",
    "auth",
    "tickets",
    "settings",
    "webhooks",
    "triage-api",
    "kb",
    "triage-worker",
    "triage-sweeper",
    "triage-trainer",
];

/// One pending invocation and when its answer came.
#[derive(Default)]
struct Runtime {
    event: Option<String>,
    /// The first `/invocation/next`: the runtime has finished its init.
    ready: Option<Instant>,
    answered: Option<Instant>,
    /// What the process reported when it answered with an error (or failed its init).
    error: Option<String>,
}

/// An HTTP API event for `method` and `path`, routed as API Gateway routes it: the template
/// route's key and the path parameters.
fn http_event(method: &str, path: &str) -> String {
    let routes = nexify_http::routing::routes_from_template(include_str!("../../template.yaml"));
    let (route, params) =
        nexify_http::routing::choose(&routes, method, path).expect("a template route");
    let key = route.key();
    serde_json::json!({
        "version": "2.0", "routeKey": key, "rawPath": path,
        "rawQueryString": "", "headers": { "host": "bench.local" },
        "pathParameters": params,
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench.local",
            "domainPrefix": "bench", "requestId": "bench-request",
            "routeKey": key, "stage": "$default",
            "time": "25/Nov/2026:10:00:00 +0000", "timeEpoch": 0,
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1",
                      "sourceIp": "127.0.0.1", "userAgent": "nexify-bench" }
        },
        "isBase64Encoded": false
    })
    .to_string()
}

/// Serves the Runtime API on `listener` for one process at a time.
async fn serve(listener: tokio::net::TcpListener, state: Arc<Mutex<Runtime>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let state = state.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let response = if path.ends_with("/invocation/next") {
                            state.lock().unwrap().ready.get_or_insert_with(Instant::now);
                            // Hold the long poll until there is an event.
                            let event = loop {
                                if let Some(e) = state.lock().unwrap().event.take() {
                                    break e;
                                }
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            };
                            let deadline = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap()
                                .as_millis()
                                + 30_000;
                            hyper::Response::builder()
                                .header("Lambda-Runtime-Aws-Request-Id", "bench-request")
                                .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
                                .header(
                                    "Lambda-Runtime-Invoked-Function-Arn",
                                    "arn:aws:lambda:us-east-1:000000000000:function:bench",
                                )
                                .header(
                                    "Lambda-Runtime-Trace-Id",
                                    "Root=1-00000000-000000000000000000000000",
                                )
                                .body(Full::new(Bytes::from(event)))
                                .unwrap()
                        } else {
                            if path.ends_with("/response") || path.ends_with("/error") {
                                let mut state = state.lock().unwrap();
                                state.answered.get_or_insert_with(Instant::now);
                                if path.ends_with("/error") {
                                    state.error = Some(String::from_utf8_lossy(&body).into_owned());
                                }
                            }
                            hyper::Response::builder()
                                .status(202)
                                .body(Full::new(Bytes::new()))
                                .unwrap()
                        };
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Medians over [`RUNS`] fresh processes, in ms from spawn.
#[derive(Debug, Clone, Copy)]
struct Startup {
    /// To the first request for an event (AWS's init duration).
    ready: f64,
    /// To the first answer.
    answered: f64,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// One binary to time: what it is started with and the event it answers.
struct Target<'a> {
    binary: PathBuf,
    event: &'a str,
    env: &'a [(String, String)],
}

/// Starts `target` once as a fresh process: (ms from spawn to its first request for an
/// event, ms from spawn to its answer).
async fn start_once(target: &Target<'_>) -> anyhow::Result<(f64, f64)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let state = Arc::new(Mutex::new(Runtime {
        event: Some(target.event.to_owned()),
        ready: None,
        answered: None,
        error: None,
    }));
    let server = tokio::spawn(serve(listener, state.clone()));
    let started = Instant::now();
    let mut child = tokio::process::Command::new(&target.binary)
        // This process's own DATABASE_URL is the owner's: the functions read theirs from the
        // secret, and would refuse to start with both.
        .env_remove("DATABASE_URL")
        .envs(target.env.iter().cloned())
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_LEVEL", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", target.binary.display()))?;
    let answered = loop {
        if let Some(at) = state.lock().unwrap().answered {
            break at;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "{} never answered",
            target.binary.display()
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    };
    let ready = state.lock().unwrap().ready.unwrap_or(answered);
    child.kill().await.ok();
    server.abort();
    // An error is no start: it would time a function that gave up early.
    if let Some(error) = state.lock().unwrap().error.take() {
        anyhow::bail!(
            "{} answered its first event with an error: {error}",
            target.binary.display()
        );
    }
    Ok((
        (ready - started).as_secs_f64() * 1000.0,
        (answered - started).as_secs_f64() * 1000.0,
    ))
}

/// Medians over [`RUNS`] rounds, one per target, in the targets' order.
async fn time_all(targets: &[Target<'_>]) -> anyhow::Result<Vec<Startup>> {
    let mut samples = vec![(Vec::new(), Vec::new()); targets.len()];
    for _ in 0..RUNS {
        for (target, (ready, answered)) in targets.iter().zip(&mut samples) {
            let (r, a) = start_once(target).await?;
            ready.push(r);
            answered.push(a);
        }
    }
    Ok(samples
        .into_iter()
        .map(|(ready, answered)| Startup {
            ready: median(ready),
            answered: median(answered),
        })
        .collect())
}

/// The functions built with an embedder (`NEXIFY_EMBEDDER`); they are timed with the
/// default `hashing` and again with `minilm`, whose 87 MB of weights they must not read
/// before they need them.
fn holds_embedder(name: &str) -> bool {
    matches!(name, "kb" | "triage-worker" | "triage-trainer")
}

/// The functions whose first answer needs a Postgres round trip.
fn needs_database(name: &str) -> bool {
    matches!(name, "health" | "triage-sweeper" | "triage-trainer")
}

pub async fn run() -> anyhow::Result<()> {
    let root = PathBuf::from(std::env::var("NEXIFY_ROOT").unwrap_or_else(|_| ".".into()));
    let env: Vec<(String, String)> = std::fs::read_to_string(root.join(".local/functions.env"))
        .context("reading .local/functions.env (scripts/bench.sh writes it)")?
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let database_url = env
        .iter()
        .find(|(k, _)| k == "DATABASE_URL")
        .map(|(_, v)| v.clone())
        .context("DATABASE_URL in .local/functions.env")?;
    // As deployed: the URL in a secret, which the functions fetch at start-up.
    let secret = store_database_url(&env, &database_url).await?;
    let env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k != "DATABASE_URL")
        .chain([("DATABASE_URL_SECRET".to_owned(), secret.clone())])
        .collect();
    let secret_env: Vec<(String, String)> = env
        .iter()
        .cloned()
        .chain([("HELLO_SECRET".to_owned(), secret)])
        .collect();
    let mut db_env = secret_env.clone();
    db_env.push(("HELLO_DATABASE".to_owned(), "1".to_owned()));
    // The functions that hold an embedder, started again as `Embedder=minilm` deploys them.
    let mut minilm_env: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k != "NEXIFY_EMBEDDER")
        .cloned()
        .collect();
    minilm_env.push(("NEXIFY_EMBEDDER".to_owned(), "minilm".to_owned()));
    let functions: [(&str, String); 10] = [
        ("health", http_event("GET", "/api/health/")),
        ("auth", http_event("GET", "/api/me/")),
        (
            "tickets",
            http_event(
                "GET",
                "/api/orgs/00000000-0000-0000-0000-000000000000/tickets/",
            ),
        ),
        (
            "settings",
            http_event(
                "GET",
                "/api/orgs/00000000-0000-0000-0000-000000000000/settings/",
            ),
        ),
        (
            "webhooks",
            http_event(
                "POST",
                "/api/webhooks/00000000-0000-0000-0000-000000000000/tickets/",
            ),
        ),
        (
            "triage-api",
            http_event(
                "GET",
                "/api/orgs/00000000-0000-0000-0000-000000000000/jobs/00000000-0000-0000-0000-000000000000/",
            ),
        ),
        (
            "kb",
            http_event(
                "GET",
                "/api/orgs/00000000-0000-0000-0000-000000000000/documents/",
            ),
        ),
        ("triage-worker", r#"{"Records":[]}"#.to_owned()),
        ("triage-sweeper", "{}".to_owned()),
        ("triage-trainer", "{}".to_owned()),
    ];
    // The three floors first, then every function, all timed round by round.
    let mut targets = vec![
        Target {
            binary: root.join("target/perf/hello-lambda"),
            event: "{}",
            env: &env,
        },
        Target {
            binary: root.join("target/perf/hello-secret"),
            event: "{}",
            env: &secret_env,
        },
        Target {
            binary: root.join("target/perf/hello-secret"),
            event: "{}",
            env: &db_env,
        },
    ];
    // Every function with the local configuration, then the ones that hold an embedder
    // again with `minilm`: (function and its event, whether with `minilm`).
    let runs: Vec<(&(&str, String), bool)> = functions
        .iter()
        .map(|f| (f, false))
        .chain(
            functions
                .iter()
                .filter(|(name, _)| holds_embedder(name))
                .map(|f| (f, true)),
        )
        .collect();
    let floors = targets.len();
    targets.extend(runs.iter().map(|((name, event), minilm)| Target {
        binary: root.join(format!("target/lambda/{name}/bootstrap")),
        event,
        env: if *minilm { &minilm_env } else { &env },
    }));
    let timed = time_all(&targets).await?;
    // Each function's row pairs it with its own samples, after the floors'.
    anyhow::ensure!(timed.len() == floors + runs.len());
    let (floor, secret_floor, db_floor) = (timed[0].answered, timed[1].answered, timed[2].answered);
    println!(
        "\n## Cold start: process start to first answered invocation (median of {RUNS} rounds, each starting every binary in turn, same run)\n"
    );
    println!(
        "Floors: bare lambda_runtime {floor:.2} ms; the same after fetching one secret at start-up {secret_floor:.2} ms; and with one Postgres connection and SELECT 1 in its handler {db_floor:.2} ms.\n"
    );
    println!(
        "| function | init: first request for an event (ms) | first answer (ms) | vs bare floor | vs its floor (secret, Postgres if needed) | goal ≤ 1.5× |"
    );
    println!("|---|---|---|---|---|---|");
    const BARE: &str = "bare lambda_runtime hello";
    const SECRET: &str = "bare lambda_runtime hello + one secret fetched at start-up";
    let figure = |name: &str, what: &str, ms: f64| {
        crate::report::Figure::new(
            "cold start",
            format!("{name}: process start to {what}"),
            ms,
            "ms",
        )
    };
    for (((function, _), minilm), t) in runs.iter().zip(&timed[floors..]) {
        let label = if *minilm {
            format!("{function} (minilm)")
        } else {
            function.to_string()
        };
        let name = label.as_str();
        let db_bound = needs_database(function);
        let (against, baseline) = if db_bound {
            (
                "bare lambda_runtime hello + one secret + one Postgres query",
                db_floor,
            )
        } else {
            (SECRET, secret_floor)
        };
        let met = t.answered <= 1.5 * baseline;
        println!(
            "| {name} | {:.2} | {:.2} | {:.2}× | {:.2}× | {} |",
            t.ready,
            t.answered,
            t.answered / floor,
            t.answered / baseline,
            if met { "yes" } else { "no" }
        );
        crate::report::record(
            figure(name, "first request for an event", t.ready)
                .against(format!("{BARE}, first answer"), floor),
        );
        crate::report::record(
            figure(name, "first answer", t.answered)
                .against(against, baseline)
                .goal("≤ 1.5×", met),
        );
        crate::report::record(
            figure(name, "first answer, against the bare floor", t.answered).against(BARE, floor),
        );
    }
    Ok(())
}

/// Stores `url` as `{"url": …}` in the local stack's Secrets Manager (the endpoint `env`
/// gives the functions) and returns the secret's name.
async fn store_database_url(env: &[(String, String)], url: &str) -> anyhow::Result<String> {
    let endpoint = env
        .iter()
        .find(|(k, _)| k == "AWS_ENDPOINT_URL")
        .map(|(_, v)| v.clone())
        .context("AWS_ENDPOINT_URL in .local/functions.env")?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let name = format!("nexify-bench/database-url-{}", uuid::Uuid::new_v4());
    aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name(&name)
        .secret_string(serde_json::json!({ "url": url }).to_string())
        .send()
        .await
        .context("storing the database URL in LocalStack's Secrets Manager")?;
    Ok(name)
}
