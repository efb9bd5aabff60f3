//! A connection that an instance holds between its requests. A Lambda instance serves one
//! request at a time, so its hottest reads need no pool: every connection that goes back to
//! sqlx's pool is checked with a round trip first, and the next request waits for it (what
//! that costs: `bench/README.md`).

use std::ops::{Deref, DerefMut};
use std::time::Instant;

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::{Mutex, MutexGuard};

use crate::StorageError;
use crate::config::ping_if_idle;

type Slot = Option<(PoolConnection<Postgres>, Instant)>;

/// One connection taken from `pool` when first needed and kept.
pub struct HeldConnection {
    pool: PgPool,
    slot: Mutex<Slot>,
}

/// The held connection, for one request. Dropping it keeps the connection held;
/// [`Held::discard`] gives it back to the pool instead.
pub struct Held<'a> {
    slot: MutexGuard<'a, Slot>,
}

impl HeldConnection {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            slot: Mutex::new(None),
        }
    }

    /// The held connection, taken from the pool the first time and after a discard. One
    /// that sat idle is pinged first, as the pool does, and replaced when that fails (e.g.
    /// after a failover, or a long freeze of the instance).
    pub async fn get(&self) -> Result<Held<'_>, StorageError> {
        let mut slot = self.slot.lock().await;
        if let Some((conn, used)) = slot.as_mut()
            && ping_if_idle(conn, used.elapsed()).await.is_err()
        {
            // The pool closes it: a connection that failed its ping is not reused.
            *slot = None;
        }
        if slot.is_none() {
            *slot = Some((self.pool.acquire().await?, Instant::now()));
        }
        Ok(Held { slot })
    }
}

impl Held<'_> {
    /// Gives the connection back to the pool, which checks it before any reuse: for after an
    /// error, when the connection's state is not known.
    pub fn discard(mut self) {
        *self.slot = None;
    }
}

impl Deref for Held<'_> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.slot.as_ref().expect("held while borrowed").0
    }
}

impl DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.slot.as_mut().expect("held while borrowed").0
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if let Some((_, used)) = self.slot.as_mut() {
            *used = Instant::now();
        }
    }
}
