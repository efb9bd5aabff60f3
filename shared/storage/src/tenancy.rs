use chrono::{DateTime, Utc};
use nexify_domain::{OrgId, Role, UserId};
use sqlx::PgConnection;

use crate::{PgPool, Postgres, StorageError, Transaction};

/// Scopes the rest of the current transaction to one org (and optionally one user): row-level
/// security shows and accepts only that org's rows. Must run inside a transaction, since the
/// settings are `SET LOCAL` and vanish at commit.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn set_tenant(
    conn: &mut PgConnection,
    org: OrgId,
    user: Option<UserId>,
) -> Result<(), StorageError> {
    sqlx::query("SELECT set_config('app.org_id', $1, true), set_config('app.user_id', $2, true)")
        .bind(org.to_string())
        .bind(user.map(|u| u.to_string()).unwrap_or_default())
        .execute(conn)
        .await?;
    Ok(())
}

/// When the current transaction started (Postgres's `now()`): the moment a read in it is
/// "as of" for timestamps such as `labels_changed_at`, which writers set to `now()` too.
pub async fn transaction_start(conn: &mut PgConnection) -> Result<DateTime<Utc>, StorageError> {
    Ok(sqlx::query_scalar("SELECT now()").fetch_one(conn).await?)
}

/// Begins a transaction scoped to `org`, in one round trip: BEGIN and the `SET LOCAL`s go
/// together as one simple query. Inlining is safe because typed ids print as bare UUIDs.
pub async fn begin_tenant(
    pool: &PgPool,
    org: OrgId,
    user: Option<UserId>,
) -> Result<Transaction<'static, Postgres>, StorageError> {
    begin_scoped(pool, org, user, "").await
}

/// [`begin_tenant`] for a transaction whose commit may be lost in a database crash without
/// harm, because what it records is redone anyway (the worker's claim of a job): its commit
/// does not wait for the WAL flush. Postgres keeps it atomic and ordered: a later durable
/// commit flushes it too, so it can never outlive what follows it.
pub async fn begin_tenant_relaxed(
    pool: &PgPool,
    org: OrgId,
) -> Result<Transaction<'static, Postgres>, StorageError> {
    begin_scoped(
        pool,
        org,
        None,
        ", set_config('synchronous_commit', 'off', true)",
    )
    .await
}

async fn begin_scoped(
    pool: &PgPool,
    org: OrgId,
    user: Option<UserId>,
    extra_settings: &'static str,
) -> Result<Transaction<'static, Postgres>, StorageError> {
    Ok(pool
        .begin_with(sqlx::AssertSqlSafe(scope_sql(org, user, extra_settings)))
        .await?)
}

/// What entering an org as a member found: [`begin_member`]'s transaction, or the result of
/// a read that enters the org itself (such as [`crate::tickets::page_as_member`]).
#[derive(Debug)]
pub enum Admission<T = Transaction<'static, Postgres>> {
    /// A member with at least the required role.
    Admitted(T),
    NotMember,
    BelowRole,
}

impl<T> Admission<T> {
    /// `result` of a statement that called `enter_org`: its refusal as an `Admission`.
    pub(crate) fn of(result: Result<T, sqlx::Error>) -> Result<Self, StorageError> {
        match result {
            Ok(value) => Ok(Admission::Admitted(value)),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("NX404") => {
                Ok(Admission::NotMember)
            }
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("NX403") => {
                Ok(Admission::BelowRole)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Begins the transaction scoped to `org` and `user` and checks, in the same round trip
/// (the SQL function `enter_org`), that the user is a member with at least `required`. A
/// refusal leaves no transaction open on the connection: the check runs before `BEGIN`.
pub async fn begin_member(
    pool: &PgPool,
    org: OrgId,
    user: UserId,
    required: Role,
) -> Result<Admission, StorageError> {
    let sql = member_scope_sql(org, user, required);
    Admission::of(pool.begin_with(sqlx::AssertSqlSafe(sql)).await)
}

/// What [`begin_member`] sends: the scope and the membership check, then `BEGIN`, one
/// simple query. Ids are typed and the role is one of three words, so their text is safe to
/// inline.
pub fn member_scope_sql(org: OrgId, user: UserId, required: Role) -> String {
    format!(
        "SELECT enter_org('{org}', '{user}', '{}'); BEGIN",
        required.as_str()
    )
}

/// What [`begin_tenant`] sends: one simple query (one round trip) that begins the
/// transaction and scopes it. Ids are typed, so their text is safe to inline.
fn scope_sql(org: OrgId, user: Option<UserId>, extra_settings: &str) -> String {
    let user = user.map(|u| u.to_string()).unwrap_or_default();
    format!(
        "BEGIN; SELECT set_config('app.org_id', '{org}', true), set_config('app.user_id', '{user}', true){extra_settings}"
    )
}

/// Begins a transaction that sees only what a signed-in user may see across orgs: their own
/// user row, memberships and organizations.
pub async fn begin_user(
    pool: &PgPool,
    user: UserId,
) -> Result<Transaction<'static, Postgres>, StorageError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('app.user_id', $1, true)")
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
