//! The worker's per-org model cache, bounded by bytes so a warm worker that triages for many
//! orgs does not outgrow its memory.

use std::collections::HashMap;
use std::sync::Arc;

use nexify_domain::OrgId;
use nexify_triage::OrgModels;
use sqlx::PgConnection;

use crate::ServiceError;

/// Bytes of models a warm worker keeps. The worker has 256 MB, of which MiniLM takes about
/// 90 MB when configured; one org's heads take about 131 KB per label (32,768 hashed
/// dimensions plus 384 dense ones, 4 bytes each), so 3 MB for 24 labels and 10 MB for one
/// 77-label head. 64 MB keeps the models of a few dozen typical orgs.
pub const MODEL_CACHE_BYTES: usize = 64 << 20;

/// Models by org, kept across invocations of a warm worker. Once they exceed the budget the
/// least recently used org is dropped (and reloaded from Postgres when it next has a job).
pub struct ModelCache(tokio::sync::Mutex<Entries>);

impl Default for ModelCache {
    fn default() -> Self {
        Self::with_budget(MODEL_CACHE_BYTES)
    }
}

impl ModelCache {
    pub fn with_budget(bytes: usize) -> Self {
        Self(tokio::sync::Mutex::new(Entries {
            budget: bytes,
            ..Entries::default()
        }))
    }

    /// The org's current models: one cheap version query per job, a load only on change.
    pub async fn get(
        &self,
        conn: &mut PgConnection,
        org: OrgId,
    ) -> Result<Option<Arc<OrgModels>>, ServiceError> {
        let versions = nexify_storage::models::current_versions(conn, org).await?;
        match self.lookup(org, &versions).await {
            Some(models) => Ok(models),
            None => self.load(conn, org).await,
        }
    }

    /// The models of `versions` (the org's current ones, as read elsewhere) when cached, or
    /// `Some(None)` when the org has none; `None` when they must be [`load`](Self::load)ed.
    pub async fn lookup(
        &self,
        org: OrgId,
        versions: &[(String, i32)],
    ) -> Option<Option<Arc<OrgModels>>> {
        if versions.is_empty() {
            return Some(None);
        }
        self.0.lock().await.get(org, versions).map(Some)
    }

    /// Reads the org's current models (on a connection scoped to the org) and caches them.
    pub async fn load(
        &self,
        conn: &mut PgConnection,
        org: OrgId,
    ) -> Result<Option<Arc<OrgModels>>, ServiceError> {
        let loaded = crate::training::load(conn, org).await?;
        if let Some(models) = &loaded {
            self.0.lock().await.insert(org, models.clone());
        }
        Ok(loaded)
    }
}

#[derive(Default)]
struct Entries {
    budget: usize,
    used: usize,
    /// Counts lookups; an entry's stamp is the count at its last use.
    clock: u64,
    by_org: HashMap<OrgId, Entry>,
}

struct Entry {
    models: Arc<OrgModels>,
    bytes: usize,
    last_used: u64,
}

impl Entries {
    /// The cached models when they are the `versions` now current.
    fn get(&mut self, org: OrgId, versions: &[(String, i32)]) -> Option<Arc<OrgModels>> {
        self.clock += 1;
        let entry = self.by_org.get_mut(&org)?;
        if entry.models.versions != versions {
            return None;
        }
        entry.last_used = self.clock;
        Some(entry.models.clone())
    }

    /// Caches `models`, replacing the org's older ones, then drops least recently used orgs
    /// until the rest fit the budget. The newest always stays, even alone over budget, so
    /// the org being triaged is not reloaded for every job.
    fn insert(&mut self, org: OrgId, models: Arc<OrgModels>) {
        self.clock += 1;
        let bytes = models.size_bytes();
        let entry = Entry {
            models,
            bytes,
            last_used: self.clock,
        };
        if let Some(old) = self.by_org.insert(org, entry) {
            self.used -= old.bytes;
        }
        self.used += bytes;
        while self.used > self.budget && self.by_org.len() > 1 {
            let (&oldest, _) = self
                .by_org
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .expect("more than one entry");
            let evicted = self.by_org.remove(&oldest).expect("the key was just found");
            self.used -= evicted.bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use nexify_triage::model::{LinearModel, TrainConfig};

    use super::*;

    fn models(version: i32) -> Arc<OrgModels> {
        let texts = [
            "card declined",
            "refund please",
            "card not working",
            "money back",
        ];
        let labels = ["card", "refund", "card", "refund"];
        let category = LinearModel::fit(&texts, &labels, None, TrainConfig::default());
        Arc::new(OrgModels {
            category: Some(category),
            versions: vec![("category".into(), version)],
            ..OrgModels::default()
        })
    }

    #[test]
    fn the_least_recently_used_org_goes_when_the_budget_is_exceeded() {
        let one = models(1).size_bytes();
        assert!(one > 0);
        let mut cache = Entries {
            budget: 2 * one,
            ..Entries::default()
        };
        let (a, b, c) = (
            OrgId::new_random(),
            OrgId::new_random(),
            OrgId::new_random(),
        );
        let v1 = vec![("category".to_owned(), 1)];
        cache.insert(a, models(1));
        cache.insert(b, models(1));
        assert!(cache.get(a, &v1).is_some(), "a is now the more recent");
        cache.insert(c, models(1));
        assert!(cache.get(b, &v1).is_none(), "b was least recently used");
        assert!(cache.get(a, &v1).is_some());
        assert!(cache.get(c, &v1).is_some());
        assert_eq!(cache.used, 2 * one);
    }

    #[test]
    fn a_newer_version_replaces_the_org_s_entry_and_its_bytes() {
        let one = models(1).size_bytes();
        let mut cache = Entries {
            budget: 10 * one,
            ..Entries::default()
        };
        let org = OrgId::new_random();
        cache.insert(org, models(1));
        assert!(cache.get(org, &[("category".into(), 2)]).is_none(), "stale");
        cache.insert(org, models(2));
        assert!(cache.get(org, &[("category".into(), 2)]).is_some());
        assert_eq!((cache.by_org.len(), cache.used), (1, one));
    }

    #[test]
    fn an_org_over_budget_alone_is_still_kept() {
        let mut cache = Entries {
            budget: 1,
            ..Entries::default()
        };
        let (a, b) = (OrgId::new_random(), OrgId::new_random());
        cache.insert(a, models(1));
        cache.insert(b, models(1));
        assert!(cache.get(b, &[("category".into(), 1)]).is_some());
        assert!(cache.get(a, &[("category".into(), 1)]).is_none());
    }
}
