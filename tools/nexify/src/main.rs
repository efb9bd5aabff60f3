//! `nexify`: operator and developer commands.
//!
//! - `nexify migrate [--local-app-login]`: applies `migrations/` as the schema owner; with the
//!   flag, lets the `nexify_app` role log in with the local development password.
//! - `nexify seed`: loads the demo organizations, users, tickets and knowledge base (once).
//!
//! Both read `DATABASE_URL`, which must name the schema owner.

mod seed;

use anyhow::{Context, bail};
use nexify_storage::{DbConfig, MIGRATOR};
use sqlx::postgres::PgPoolOptions;

/// The local-development password of the function role; never used outside a laptop or CI.
const LOCAL_APP_PASSWORD: &str = "nexify_app";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    nexify_telemetry::init_for_tests();
    let args: Vec<String> = std::env::args().skip(1).collect();
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
        _ => bail!("usage: nexify migrate [--local-app-login] | nexify seed"),
    }
    Ok(())
}
