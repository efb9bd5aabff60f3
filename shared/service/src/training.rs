//! Training each org's triage models from its own labelled history: resolved tickets and
//! tickets whose suggestion was accepted. Labels come only from the org's configured teams
//! and categories. Retraining is debounced: a label change bumps `labels_changed_at`, and
//! [`train_due`] (run by the scheduled sweeper) retrains orgs that have been quiet a while.

use std::collections::HashMap;
use std::sync::Arc;

use nexify_embed::Embedder;

use nexify_domain::{OrgId, Priority, TicketId};
use nexify_storage::{
    PgConnection, PgPool, Vector, begin_tenant, models, settings, ticket_embeddings, tickets,
};
use nexify_triage::OrgModels;
use nexify_triage::model::{LinearModel, TrainConfig};
use serde::Serialize;

use crate::ServiceError;

/// A head is trained only with at least this many labelled tickets over two or more labels;
/// until then the rule engine decides.
pub const MIN_EXAMPLES: usize = 20;
/// The most recent labelled tickets a model learns from.
pub const MAX_EXAMPLES: i64 = 50_000;
/// How long an org's labels must stay unchanged before it is retrained.
pub const QUIET_SECONDS: i64 = 60;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HeadReport {
    pub head: &'static str,
    pub examples: usize,
    pub labels: usize,
    /// The new version, or `None` when there was too little data to train.
    pub version: Option<i32>,
}

/// What a model reads of a ticket: the same text the worker triages.
fn ticket_text(row: &tickets::LabelledTicket) -> String {
    format!("{}\n{}", row.subject, row.body)
}

/// The head's examples: `(ticket, label)` for each row whose label is allowed.
fn examples_for<'a>(
    rows: &'a [tickets::LabelledTicket],
    allowed: &[String],
    pick: impl Fn(&tickets::LabelledTicket) -> Option<String>,
) -> Vec<(&'a tickets::LabelledTicket, String)> {
    rows.iter()
        .filter_map(|row| Some((row, pick(row).filter(|l| allowed.contains(l))?)))
        .collect()
}

/// The embedding of every row by `embedder`: the stored ones, and the missing ones
/// embedded now and stored on `conn`, so each ticket is embedded once, ever.
async fn embeddings_for(
    conn: &mut PgConnection,
    org: OrgId,
    embedder: &Arc<dyn Embedder>,
    rows: &[tickets::LabelledTicket],
) -> Result<HashMap<TicketId, Vec<f32>>, ServiceError> {
    let ids: Vec<TicketId> = rows.iter().map(|r| r.id).collect();
    let mut by_id: HashMap<TicketId, Vec<f32>> =
        ticket_embeddings::for_tickets(conn, org, embedder.name(), &ids)
            .await?
            .into_iter()
            .map(|(id, v)| (id, v.to_vec()))
            .collect();
    let missing: Vec<&tickets::LabelledTicket> =
        rows.iter().filter(|r| !by_id.contains_key(&r.id)).collect();
    if !missing.is_empty() {
        let texts = missing.iter().map(|r| ticket_text(r)).collect();
        let vectors = crate::knowledge::embed_blocking(embedder, texts).await?;
        let new: Vec<(TicketId, Vector)> = missing
            .iter()
            .zip(vectors)
            .map(|(r, v)| (r.id, Vector::from(v)))
            .collect();
        ticket_embeddings::upsert_many(conn, org, embedder.name(), &new).await?;
        by_id.extend(new.into_iter().map(|(id, v)| (id, v.to_vec())));
    }
    Ok(by_id)
}

/// Trains and stores a new version of each head that has enough labels, with the ticket
/// embeddings of `embedder` joined to the text features. Reports nothing, and trains nothing,
/// when another run holds the org's training lock.
pub async fn train_org(
    pool: &PgPool,
    org: OrgId,
    embedder: &Arc<dyn Embedder>,
) -> Result<Vec<HeadReport>, ServiceError> {
    train_org_with(pool, org, TrainConfig::default(), Some(embedder)).await
}

/// [`train_org`] with explicit hyperparameters, and optionally without dense features (for
/// `nexify eval`).
#[tracing::instrument(skip_all, fields(org_id = %org, embedder = embedder.map(|e| e.name())), err)]
pub async fn train_org_with(
    pool: &PgPool,
    org: OrgId,
    config: TrainConfig,
    embedder: Option<&Arc<dyn Embedder>>,
) -> Result<Vec<HeadReport>, ServiceError> {
    let mut tx = begin_tenant(pool, org, None).await?;
    if !settings::try_lock_training(&mut tx, org).await? {
        tracing::info!("another run is training this org; skipped");
        return Ok(Vec::new());
    }
    let org_settings = settings::get(&mut tx, org).await?;
    let rows = tickets::labelled(&mut tx, org, MAX_EXAMPLES).await?;
    // Embedded even when too few to train on: the nearest labelled tickets stand in for
    // a model until then.
    let embeddings = match embedder {
        Some(embedder) => Some(embeddings_for(&mut tx, org, embedder, &rows).await?),
        None => None,
    };
    let mut reports = Vec::new();
    let priorities: Vec<String> = Priority::ALL.iter().map(|p| p.to_string()).collect();
    for (head, allowed) in [
        ("team", &org_settings.teams),
        ("category", &org_settings.categories),
        ("priority", &priorities),
    ] {
        let examples = match head {
            "team" => examples_for(&rows, allowed, |r| r.assigned_team.clone()),
            "category" => examples_for(&rows, allowed, |r| r.category.clone()),
            _ => examples_for(&rows, allowed, |r| Some(r.priority.to_string())),
        };
        let texts: Vec<String> = examples.iter().map(|(r, _)| ticket_text(r)).collect();
        let dense: Option<Vec<Vec<f32>>> = embeddings
            .as_ref()
            .map(|by_id| examples.iter().map(|(r, _)| by_id[&r.id].clone()).collect());
        let labels: Vec<String> = examples.into_iter().map(|(_, l)| l).collect();
        let mut distinct: Vec<&str> = labels.iter().map(String::as_str).collect();
        distinct.sort();
        distinct.dedup();
        let mut report = HeadReport {
            head,
            examples: texts.len(),
            labels: distinct.len(),
            version: None,
        };
        if texts.len() >= MIN_EXAMPLES && distinct.len() >= 2 {
            let owned_labels = labels;
            let embedder_name = embedder.map(|e| e.name().to_owned());
            // Training is CPU-bound: keep it off the async workers.
            let (model, calibration) = tokio::task::spawn_blocking(move || {
                let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
                let labels: Vec<&str> = owned_labels.iter().map(String::as_str).collect();
                let calibration = config.calibration_for(&labels);
                let config = TrainConfig {
                    calibration: Some(calibration),
                    ..config
                };
                let mut model = LinearModel::fit(&texts, &labels, dense.as_deref(), config);
                if dense.is_some() {
                    model.embedder = embedder_name;
                }
                (model, calibration)
            })
            .await
            .map_err(|e| ServiceError::Conflict(format!("training failed: {e}")))?;
            let metrics = serde_json::json!({
                "temperature": model.temperature,
                "calibration": calibration.as_str(),
                "examples": report.examples,
                "embedder": model.embedder,
            });
            let version = models::insert(
                &mut tx,
                org,
                head,
                &model.labels,
                &model.to_bytes(),
                report.examples as i32,
                &metrics,
            )
            .await?;
            report.version = Some(version);
        }
        reports.push(report);
    }
    settings::mark_trained(&mut tx, org).await?;
    tx.commit().await?;
    tracing::info!(?reports, "triage models trained");
    Ok(reports)
}

/// Retrains every org whose labels changed and then stayed quiet for `quiet_seconds`.
#[tracing::instrument(skip_all, err)]
pub async fn train_due(
    pool: &PgPool,
    embedder: &Arc<dyn Embedder>,
    quiet_seconds: i64,
    limit: i64,
) -> Result<usize, ServiceError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(nexify_storage::StorageError::from)?;
    let due = due_orgs(&mut conn, quiet_seconds, limit).await?;
    drop(conn);
    train_orgs(pool, embedder, &due).await
}

/// The orgs whose labels changed and then stayed quiet for `quiet_seconds`, at most `limit`.
pub async fn due_orgs(
    conn: &mut PgConnection,
    quiet_seconds: i64,
    limit: i64,
) -> Result<Vec<OrgId>, ServiceError> {
    Ok(settings::due_for_training(conn, quiet_seconds, limit).await?)
}

/// Retrains each of `orgs`, except any another run is training. Returns how many were trained.
pub async fn train_orgs(
    pool: &PgPool,
    embedder: &Arc<dyn Embedder>,
    orgs: &[OrgId],
) -> Result<usize, ServiceError> {
    let mut trained = 0;
    for org in orgs {
        if !train_org(pool, *org, embedder).await?.is_empty() {
            trained += 1;
        }
    }
    Ok(trained)
}

/// Loads the org's current models.
pub async fn load(
    conn: &mut PgConnection,
    org: OrgId,
) -> Result<Option<Arc<OrgModels>>, ServiceError> {
    let mut loaded = OrgModels::default();
    for head in ["team", "category", "priority"] {
        if let Some(stored) = models::current(conn, org, head).await? {
            let model = LinearModel::from_bytes(&stored.model).map_err(|e| {
                ServiceError::Conflict(format!("stored {head} model is unreadable: {e}"))
            })?;
            loaded.versions.push((head.to_owned(), stored.version));
            match head {
                "team" => loaded.team = Some(model),
                "category" => loaded.category = Some(model),
                _ => loaded.priority = Some(model),
            }
        }
    }
    // Sorted by head, as `models::current_versions` reports them, so the cache can compare.
    loaded.versions.sort();
    Ok((!loaded.versions.is_empty()).then(|| Arc::new(loaded)))
}
