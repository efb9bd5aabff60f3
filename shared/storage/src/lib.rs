//! Postgres + pgvector storage for Nexify.
//!
//! - [`connect_lazy`] builds the one `PgPool` a function holds, from [`DbConfig`].
//! - Repository functions take `&mut PgConnection` (a transaction derefs to one), so the
//!   caller owns `begin` and `commit` and a multi-row write is one transaction.
//! - [`begin_tenant`] opens a transaction with row-level security scoped to one org.

/// Builds a query string from constant column lists. Only `const` fragments are ever
/// interpolated, never input, which is why asserting the string safe is sound.
macro_rules! sql {
    ($($arg:tt)*) => {
        sqlx::AssertSqlSafe(format!($($arg)*))
    };
}

/// The name of [`DEFINER_ROLE`], for the constants built from it.
macro_rules! definer_role {
    () => {
        "nexify_definer"
    };
}

mod config;
mod error;
mod held;
mod tenancy;

pub mod audit;
pub mod documents;
pub mod events;
pub mod invites;
pub mod jobs;
pub mod memberships;
pub mod messages;
pub mod models;
pub mod organizations;
pub mod outbound;
pub mod password_resets;
pub mod sealed;
pub mod sessions;
pub mod settings;
pub mod suggestions;
pub mod throttle;
pub mod ticket_embeddings;
pub mod tickets;
pub mod triage_steps;
pub mod users;
pub mod webhook_replays;

pub use config::{DbConfig, connect_lazy};
pub use error::StorageError;
pub use held::{Held, HeldConnection};
pub use pgvector::Vector;
pub use sqlx::{PgConnection, PgPool, Postgres, Transaction};
pub use tenancy::{
    Admission, begin_member, begin_tenant, begin_tenant_relaxed, begin_user, member_scope_sql,
    set_tenant, transaction_start,
};

/// The schema, embedded so every binary migrates the same way.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// The dimension of every stored embedding (all-MiniLM-L6-v2's).
pub const EMBEDDING_DIM: usize = 384;

/// The database role the functions connect as. It owns no table, so RLS always applies.
pub const APP_ROLE: &str = "nexify_app";

/// The role that owns the SQL functions which reach across orgs (sign-in by email, the
/// sweeps). It cannot log in and owns no table; one policy per table lets it through.
pub const DEFINER_ROLE: &str = definer_role!();

/// What the operator commands that write across orgs (seed, import, org create, sealing
/// webhook secrets) run first, as the schema owner: row-level security is forced, so it
/// binds the owner too.
pub const ACT_ACROSS_ORGS_SQL: &str = concat!("SET ROLE ", definer_role!());

/// One round trip to the database: is it there?
#[tracing::instrument(skip_all, err)]
pub async fn ping(pool: &PgPool) -> Result<(), StorageError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}
