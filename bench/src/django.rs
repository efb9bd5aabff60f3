//! The stack Nexify replaces, side by side: django-helpdesk (Django 5.2, Django REST
//! framework, gunicorn with one sync worker per core) on the same Postgres, listing 50 of
//! the same number of tickets through its REST API with token authentication. Its
//! environment (`bench/django/requirements.txt`) is installed by `scripts/bench.sh` into the
//! folder `NEXIFY_DJANGO_VENV` names; without it this comparison is skipped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::quantile;

/// Requests whose statements are counted.
const STATEMENT_SAMPLE: usize = 5;

/// What the Django stack did: its latencies at one client and its throughput at `clients`.
pub struct DjangoFigures {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub rps: f64,
    pub workers: usize,
    /// SQL statements per list request, from pg_stat_statements.
    pub statements: f64,
}

/// The folder of the venv with django-helpdesk, when the benchmark script made one.
pub fn venv() -> Option<PathBuf> {
    std::env::var_os("NEXIFY_DJANGO_VENV")
        .map(PathBuf::from)
        .filter(|v| v.join("bin/gunicorn").exists())
}

fn project_dir() -> PathBuf {
    let root = std::env::var("NEXIFY_ROOT").unwrap_or_else(|_| ".".into());
    PathBuf::from(root).join("bench/django")
}

/// Seeds `database_url` with `tickets` tickets, serves it with gunicorn and measures
/// `GET /api/tickets/?page_size=50`: `sequential` requests at one client, then `clients`
/// clients for `seconds`.
pub async fn measure(
    venv: &std::path::Path,
    database_url: &str,
    tickets: usize,
    sequential: usize,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<DjangoFigures> {
    let seeded = tokio::process::Command::new(venv.join("bin/python"))
        .args(["-m", "compare.seed", &tickets.to_string()])
        .current_dir(project_dir())
        .env("DJANGO_DATABASE_URL", database_url)
        .output()
        .await
        .context("seeding the django-helpdesk database")?;
    anyhow::ensure!(
        seeded.status.success(),
        "seeding django-helpdesk failed: {}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let token = String::from_utf8(seeded.stdout)?.trim().to_owned();

    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?.port()
    };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let log = std::fs::File::create(std::env::temp_dir().join("nexify-bench-gunicorn.log"))?;
    let mut server = tokio::process::Command::new(venv.join("bin/gunicorn"))
        .args([
            "compare.wsgi",
            "--workers",
            &workers.to_string(),
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--log-level",
            "warning",
        ])
        .current_dir(project_dir())
        .env("DJANGO_DATABASE_URL", database_url)
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("starting gunicorn")?;

    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: hyper::Uri = format!("http://127.0.0.1:{port}/api/tickets/?page_size=50").parse()?;
    let get = || {
        let request = hyper::Request::get(uri.clone())
            .header("authorization", format!("Token {token}"))
            .body(Empty::<Bytes>::new())
            .expect("a valid request");
        let client = client.clone();
        async move {
            let response = client.request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::ensure!(status == 200, "django-helpdesk answered {status}");
            anyhow::ensure!(
                serde_json::from_slice::<serde_json::Value>(&body)?["results"]
                    .as_array()
                    .map_or(0, Vec::len)
                    == 50,
                "django-helpdesk did not list 50 tickets"
            );
            Ok::<_, anyhow::Error>(())
        }
    };
    // Up when it answers; then warm both workers.
    let deadline = Instant::now() + Duration::from_secs(60);
    while get().await.is_err() {
        anyhow::ensure!(Instant::now() < deadline, "gunicorn did not come up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for _ in 0..2 * workers {
        get().await?;
    }

    let mut latencies = Vec::with_capacity(sequential);
    for _ in 0..sequential {
        let started = Instant::now();
        get().await?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);

    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(database_url)
        .await?;
    crate::pgstat::reset(&db).await?;
    for _ in 0..STATEMENT_SAMPLE {
        get().await?;
    }
    let statements = crate::pgstat::totals(&db).await?.calls / STATEMENT_SAMPLE as f64;

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let counts = futures::future::join_all((0..clients).map(|_| async {
        let mut n = 0u64;
        while Instant::now() < deadline {
            get().await?;
            n += 1;
        }
        Ok::<_, anyhow::Error>(n)
    }))
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut total = 0;
    for c in counts {
        total += c?;
    }
    server.kill().await.ok();
    Ok(DjangoFigures {
        p50_ms: quantile(&latencies, 0.5),
        p99_ms: quantile(&latencies, 0.99),
        rps: total as f64 / elapsed,
        workers,
        statements,
    })
}
