//! `nexify`: operator and developer commands.
//!
//! - `nexify migrate [--local-app-login]`: applies `migrations/` as the schema owner; with the
//!   flag, lets the `nexify_app` role log in with the local development password.
//! - `nexify seed`: loads the demo organizations, users, tickets and knowledge base (once).
//! - `nexify sqs-bridge`: locally, feeds the triage queue to the worker as Lambda would.
//! - `nexify gateway`: locally, serves the console and routes `/api/` to the functions by
//!   `template.yaml`, as API Gateway would.
//!
//! - `nexify import FILE --org SLUG [--add-labels]`: an org's labelled history (CSV or JSON
//!   lines), as the import API takes it.
//!
//! `migrate`, `seed` and `import` read `DATABASE_URL`, which must name the schema owner.

mod bridge;
mod eval;
mod gateway;
mod import;
mod seed;

use anyhow::{Context, bail};
use nexify_storage::{DbConfig, MIGRATOR};
use sqlx::postgres::PgPoolOptions;

/// The local-development password of the function role; never used outside a laptop or CI.
const LOCAL_APP_PASSWORD: &str = "nexify_app";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
            .unwrap_or_else(|| default.to_owned())
    };
    if args.first().map(String::as_str) == Some("gateway") {
        nexify_telemetry::init();
        return gateway::run(gateway::GatewayConfig {
            template: flag("--template", "template.yaml").into(),
            invoke_base: flag("--invoke", "http://127.0.0.1:9000"),
            web_root: flag("--web", "web/out").into(),
            listen: flag("--listen", "127.0.0.1:8080").parse()?,
        })
        .await;
    }
    if args.first().map(String::as_str) == Some("sqs-bridge") {
        nexify_telemetry::init();
        return bridge::run(bridge::BridgeConfig {
            queue_url: flag(
                "--queue-url",
                &std::env::var("TRIAGE_QUEUE_URL").unwrap_or_default(),
            ),
            invoke_base: flag("--invoke", "http://127.0.0.1:9000"),
            worker: flag("--worker", "triage-worker"),
            sweeper: flag("--sweeper", "triage-sweeper"),
            trainer: flag("--trainer", "triage-trainer"),
        })
        .await;
    }
    nexify_telemetry::init_for_tests();
    if args.first().map(String::as_str) == Some("eval") {
        return eval::run(&eval::EvalArgs::parse(&args)?).await;
    }
    let config = DbConfig::from_env()?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(config.connect_options.clone())
        .await
        .context("connecting to DATABASE_URL")?;
    match args.first().map(String::as_str) {
        Some("migrate") => {
            MIGRATOR.run(&pool).await.context("applying migrations")?;
            if args.iter().any(|a| a == "--local-app-login") {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "ALTER ROLE {} LOGIN PASSWORD '{LOCAL_APP_PASSWORD}'",
                    nexify_storage::APP_ROLE
                )))
                .execute(&pool)
                .await
                .context("letting nexify_app log in")?;
            }
            println!("migrations applied");
        }
        Some("seed") => {
            let summary = seed::run(&pool).await?;
            println!("{summary}");
        }
        Some("import") => {
            let file = args.get(1).filter(|a| !a.starts_with("--"));
            let org = flag("--org", "");
            let (Some(file), false) = (file, org.is_empty()) else {
                bail!("usage: nexify import FILE --org SLUG [--add-labels]");
            };
            let add_labels = args.iter().any(|a| a == "--add-labels");
            import::run(&pool, std::path::Path::new(file), &org, add_labels).await?;
        }
        _ => bail!(
            "usage: nexify migrate [--local-app-login] | nexify seed | nexify import FILE --org SLUG [--add-labels] | nexify sqs-bridge [--queue-url URL] [--invoke URL]"
        ),
    }
    Ok(())
}
