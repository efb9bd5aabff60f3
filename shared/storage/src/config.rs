use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::{PgPool, StorageError};

/// How a function reaches Postgres. Read once at start-up.
#[derive(Clone)]
pub struct DbConfig {
    pub connect_options: PgConnectOptions,
    /// A Lambda instance serves one request at a time, so two connections are plenty;
    /// peak connections = Σ(function concurrency × this).
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl std::fmt::Debug for DbConfig {
    // The connect options hold the password; never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbConfig")
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish_non_exhaustive()
    }
}

impl DbConfig {
    /// `DATABASE_URL` (required), `DATABASE_MAX_CONNECTIONS` (default 2) and
    /// `DATABASE_ACQUIRE_TIMEOUT_MS` (default 3000).
    pub fn from_env() -> Result<Self, StorageError> {
        let url = std::env::var("DATABASE_URL")
            .map_err(|_| StorageError::Config("DATABASE_URL is not set".into()))?;
        let mut config = Self::from_url(&url)?;
        if let Ok(max) = std::env::var("DATABASE_MAX_CONNECTIONS") {
            config.max_connections = max.parse().map_err(|_| {
                StorageError::Config("DATABASE_MAX_CONNECTIONS must be a whole number".into())
            })?;
        }
        if let Ok(ms) = std::env::var("DATABASE_ACQUIRE_TIMEOUT_MS") {
            let ms: u64 = ms.parse().map_err(|_| {
                StorageError::Config("DATABASE_ACQUIRE_TIMEOUT_MS must be a whole number".into())
            })?;
            config.acquire_timeout = Duration::from_millis(ms);
        }
        Ok(config)
    }

    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        let connect_options = PgConnectOptions::from_str(url)
            .map_err(|e| StorageError::Config(format!("DATABASE_URL is not a valid URL: {e}")))?
            .application_name("nexify");
        Ok(Self {
            connect_options,
            max_connections: 2,
            acquire_timeout: Duration::from_secs(3),
        })
    }
}

/// Connections idle at least this long are pinged before use.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// Whether the connected role escapes row-level security: a superuser, a role with
/// `BYPASSRLS`, or the owner of the tenant tables (RLS is enabled, not forced, so it does
/// not bind their owner). The functions must connect as `nexify_app`.
const BYPASSES_RLS_SQL: &str = "SELECT r.rolsuper OR r.rolbypassrls OR EXISTS (
        SELECT 1 FROM pg_class c
        WHERE c.relname = 'tickets' AND c.relnamespace = 'public'::regnamespace
          AND pg_has_role(current_user, c.relowner, 'USAGE'))
    FROM pg_roles r WHERE r.rolname = current_user";

static REFUSAL_LOGGED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Refuses a connection whose role could read every org's rows. Every request then fails
/// as the database being unavailable (503); the reason is logged once per instance.
async fn refuse_rls_bypass(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    let bypasses: bool = sqlx::query_scalar(BYPASSES_RLS_SQL)
        .fetch_one(&mut *conn)
        .await?;
    if !bypasses {
        return Ok(());
    }
    const WHY: &str = "the database role can bypass row-level security (a superuser, BYPASSRLS \
        or the tables' owner): refusing to serve; DATABASE_URL must name nexify_app";
    if !REFUSAL_LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::error!("{WHY}");
    }
    Err(sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        WHY,
    )))
}

/// Builds the pool without connecting: the first query connects, so a cold start pays
/// nothing for the database until a request needs it. Each new connection is checked once:
/// a role that escapes row-level security is refused ([`refuse_rls_bypass`]).
pub fn connect_lazy(config: &DbConfig) -> PgPool {
    PgPoolOptions::new()
        .after_connect(|conn, _| Box::pin(refuse_rls_bypass(conn)))
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        // Drop a broken connection (e.g. after a failover or a long freeze) instead of
        // handing it out, but ping only one that sat idle: a busy instance reuses its
        // connection within milliseconds, and a ping per request is one more round trip.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_WHEN_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(config.connect_options.clone())
}
