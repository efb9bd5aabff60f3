//! Scratch databases for a benchmark run, created fresh and dropped at the end.

use anyhow::Context;
use nexify_storage::{APP_ROLE, DbConfig, MIGRATOR, PgPool};
use sqlx::postgres::PgPoolOptions;

pub struct Scratch {
    admin: PgPool,
    base: String,
    names: Vec<String>,
}

fn db_url(base: &str, db: &str) -> String {
    match base.rfind('/') {
        Some(i) => format!("{}/{db}", &base[..i]),
        None => base.to_owned(),
    }
}

/// How a function reaches the database at `owner_url`: as the function role (with the
/// local password `nexify migrate --local-app-login` gives it), on a pool of `connections`.
pub fn app_config(owner_url: &str, connections: u32) -> anyhow::Result<DbConfig> {
    let mut config = DbConfig::from_url(owner_url)?;
    config.connect_options = config
        .connect_options
        .username(APP_ROLE)
        .password("nexify_app");
    config.max_connections = connections;
    Ok(config)
}

impl Scratch {
    pub async fn new() -> anyhow::Result<Self> {
        let base =
            std::env::var("DATABASE_URL").context("DATABASE_URL (schema owner) is required")?;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&base)
            .await?;
        Ok(Self {
            admin,
            base,
            names: Vec::new(),
        })
    }

    /// A fresh, empty database; returns its URL.
    pub async fn database(&mut self, name: &str) -> anyhow::Result<String> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&self.admin)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&self.admin)
            .await?;
        self.names.push(name.to_owned());
        Ok(db_url(&self.base, name))
    }

    /// The URL of the run's database `name`, as the schema owner.
    pub fn url(&self, name: &str) -> String {
        db_url(&self.base, name)
    }

    /// A fresh, migrated database: its owner pool and a lazy pool as the function role.
    pub async fn migrated(
        &mut self,
        name: &str,
        app_connections: u32,
    ) -> anyhow::Result<(PgPool, PgPool)> {
        let url = self.database(name).await?;
        let owner = PgPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await?;
        MIGRATOR.run(&owner).await?;
        Ok((
            owner,
            nexify_storage::connect_lazy(&app_config(&url, app_connections)?),
        ))
    }

    /// Drops the run's databases, unless `NEXIFY_BENCH_KEEP` is set (to inspect them after).
    pub async fn drop_all(self) -> anyhow::Result<()> {
        if std::env::var_os("NEXIFY_BENCH_KEEP").is_some() {
            println!("kept: {}", self.names.join(", "));
            return Ok(());
        }
        for name in &self.names {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&self.admin)
            .await?;
        }
        Ok(())
    }
}
