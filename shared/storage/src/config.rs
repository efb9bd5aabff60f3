use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

use crate::{PgConnection, PgPool, StorageError};

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

/// The CA bundle the build embedded (`NEXIFY_DB_CA_BUNDLE`, see build.rs); empty when none.
const EMBEDDED_CA_BUNDLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/db-ca-bundle.pem"));

impl DbConfig {
    /// `DATABASE_URL` (required), `DATABASE_MAX_CONNECTIONS` (default 2) and
    /// `DATABASE_ACQUIRE_TIMEOUT_MS` (default 3000). Outside `NEXIFY_ENV=local` the URL must
    /// verify the server ([`DbConfig::verified`]).
    pub fn from_env() -> Result<Self, StorageError> {
        let url = std::env::var("DATABASE_URL")
            .map_err(|_| StorageError::Config("DATABASE_URL is not set".into()))?;
        Self::from_env_with_url(&url)
    }

    /// [`DbConfig::from_env`] with the URL given: a function's, which outside local mode
    /// comes from Secrets Manager rather than the environment.
    pub fn from_env_with_url(url: &str) -> Result<Self, StorageError> {
        let local = std::env::var("NEXIFY_ENV").as_deref() == Ok("local");
        let mut config = Self::verified(url, local)?;
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

    /// Like [`DbConfig::from_url`], but a connection that could be relayed must check the
    /// server's certificate and name: outside local mode, unless the host is this machine,
    /// the URL must ask for `sslmode=verify-full` (`prefer` and `require` accept any
    /// certificate). Without its own `sslrootcert`, the CA bundle embedded at build time is
    /// trusted.
    pub fn verified(url: &str, local: bool) -> Result<Self, StorageError> {
        let mut config = Self::from_url(url)?;
        let options = &config.connect_options;
        let on_this_machine = options.get_socket().is_some()
            || matches!(
                options.get_host(),
                "localhost" | "127.0.0.1" | "::1" | "[::1]"
            );
        if local || on_this_machine {
            return Ok(config);
        }
        if !matches!(options.get_ssl_mode(), PgSslMode::VerifyFull) {
            return Err(StorageError::Config(
                "DATABASE_URL must ask for sslmode=verify-full outside NEXIFY_ENV=local: other \
                 modes do not check the database server's certificate"
                    .into(),
            ));
        }
        if !url.contains("sslrootcert=") && !EMBEDDED_CA_BUNDLE.is_empty() {
            config.connect_options = config
                .connect_options
                .ssl_root_cert_from_pem(EMBEDDED_CA_BUNDLE.to_vec());
        }
        Ok(config)
    }

    /// The URL as given, whatever its `sslmode` (tools and tests; functions use
    /// [`DbConfig::from_env`]).
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

/// Pings `conn` when it sat idle for [`PING_WHEN_IDLE_FOR`] or longer: a busy instance reuses
/// its connection within milliseconds, and a ping per request is one more round trip. Used by
/// the pool before it hands a connection out, and by [`crate::HeldConnection`].
pub(crate) async fn ping_if_idle(conn: &mut PgConnection, idle_for: Duration) -> sqlx::Result<()> {
    if idle_for >= PING_WHEN_IDLE_FOR {
        sqlx::Connection::ping(conn).await?;
    }
    Ok(())
}

/// Whether the connected role escapes row-level security: a superuser, a role with
/// `BYPASSRLS`, the owner of the tenant tables (RLS binds it, being forced, but the owner can
/// turn it off), or a role with the privileges of `nexify_definer`, which a policy on every
/// table lets through. The functions must connect as `nexify_app`.
const BYPASSES_RLS_SQL: &str = concat!(
    "SELECT r.rolsuper OR r.rolbypassrls OR EXISTS (
        SELECT 1 FROM pg_class c
        WHERE c.relname = 'tickets' AND c.relnamespace = 'public'::regnamespace
          AND pg_has_role(current_user, c.relowner, 'USAGE'))
      OR EXISTS (
        SELECT 1 FROM pg_roles d
        WHERE d.rolname = '",
    definer_role!(),
    "' AND pg_has_role(current_user, d.oid, 'USAGE'))
    FROM pg_roles r WHERE r.rolname = current_user"
);

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
        // handing it out, but ping only one that sat idle.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                ping_if_idle(conn, meta.idle_for).await?;
                Ok(true)
            })
        })
        .connect_lazy_with(config.connect_options.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_local_mode_a_remote_database_must_verify_its_certificate() {
        let refused = [
            "postgres://app:pw@db.example.com/nexify",
            "postgres://app:pw@db.example.com/nexify?sslmode=prefer",
            "postgres://app:pw@db.example.com/nexify?sslmode=require",
            "postgres://app:pw@10.0.0.5/nexify?sslmode=verify-ca",
        ];
        for url in refused {
            let err = DbConfig::verified(url, false).unwrap_err();
            assert!(err.to_string().contains("verify-full"), "{url}: {err}");
            assert!(
                DbConfig::verified(url, true).is_ok(),
                "local mode takes {url}"
            );
        }
        let accepted = [
            "postgres://app:pw@db.example.com/nexify?sslmode=verify-full",
            "postgres://app:pw@db.example.com/nexify?sslmode=verify-full&sslrootcert=/opt/ca.pem",
            // Loopback never crosses a network.
            "postgres://app:pw@127.0.0.1:5432/nexify",
            "postgres://app:pw@localhost/nexify",
        ];
        for url in accepted {
            assert!(DbConfig::verified(url, false).is_ok(), "{url}");
        }
    }
}
