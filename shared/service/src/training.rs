//! Training each org's triage models from its own labelled history: resolved tickets and
//! tickets whose suggestion was accepted. Labels come only from the org's configured teams
//! and categories. Retraining is debounced: a label change bumps `labels_changed_at`, and
//! [`train_orgs`] (run by the scheduled sweeper on [`due_orgs`]) retrains orgs that have been
//! quiet a while.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};

use nexify_embed::Embedder;

use nexify_domain::{OrgId, Priority, TicketId};
use nexify_storage::{
    PgConnection, PgPool, Vector, begin_tenant, models, settings, ticket_embeddings, tickets,
};
use nexify_triage::metrics::{self, Scored};
use nexify_triage::model::{Calibration, LinearModel, TrainConfig};
use nexify_triage::{OrgModels, urgency};
use serde::Serialize;

use crate::ServiceError;

/// A head is trained only with at least this many labelled tickets over two or more labels;
/// until then the rule engine decides.
pub const MIN_EXAMPLES: usize = 20;
/// The most recent labelled tickets a model learns from.
pub const MAX_EXAMPLES: i64 = 50_000;
/// How long an org's labels must stay unchanged before it is retrained.
pub const QUIET_SECONDS: i64 = 60;
/// How much earlier than its read a training counts as having seen the labels. A label write
/// stamps `labels_changed_at` with its transaction's start, and may commit after the read
/// began, unseen by it. No label-writing transaction outlives its function's timeout (60 s
/// at most, the worker's), so counting the read as this much earlier leaves such an org due.
/// It equals the debounce, so an org a sweep trains (quiet at least that long) is not left due.
pub const LATE_COMMIT_SECONDS: i64 = QUIET_SECONDS;

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
    let new = embed_and_store(conn, org, embedder, &missing).await?;
    by_id.extend(new.into_iter().map(|(id, v)| (id, v.to_vec())));
    Ok(by_id)
}

/// Embeds `rows` with `embedder` and stores the embeddings on `conn`.
async fn embed_and_store(
    conn: &mut PgConnection,
    org: OrgId,
    embedder: &Arc<dyn Embedder>,
    rows: &[&tickets::LabelledTicket],
) -> Result<Vec<(TicketId, Vector)>, ServiceError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let texts = rows
        .iter()
        .map(|r| nexify_triage::embedding_text(&r.subject, &r.body))
        .collect();
    let vectors = crate::embedding::embed_blocking(embedder, texts).await?;
    let new: Vec<(TicketId, Vector)> = rows
        .iter()
        .zip(vectors)
        .map(|(r, v)| (r.id, Vector::from(v)))
        .collect();
    ticket_embeddings::upsert_many(conn, org, embedder.name(), &new).await?;
    Ok(new)
}

/// Embeds the labelled tickets that training will read and that have no embedding by
/// `embedder` yet, [`BACKFILL_BATCH`] per transaction. Each batch is committed, so when the
/// deadline (or the function's timeout) cuts a run short, the next run carries on where it
/// stopped: a large imported history and a slow embedder take several sweeps, not a training
/// that never fits in one. Returns whether every such ticket now has an embedding.
#[tracing::instrument(skip_all, fields(org_id = %org, embedder = embedder.name()), err)]
async fn backfill_embeddings(
    pool: &PgPool,
    org: OrgId,
    embedder: &Arc<dyn Embedder>,
    deadline: Deadline,
) -> Result<bool, ServiceError> {
    let mut embedded = 0;
    loop {
        if !deadline.allows(Duration::ZERO) {
            tracing::info!(
                embedded,
                "deadline near; embedding continues in the next sweep"
            );
            return Ok(false);
        }
        let mut tx = begin_tenant(pool, org, None).await?;
        let rows = tickets::labelled_without_embedding(
            &mut tx,
            org,
            embedder.name(),
            MAX_EXAMPLES,
            BACKFILL_BATCH,
        )
        .await?;
        if rows.is_empty() {
            return Ok(true);
        }
        let refs: Vec<&tickets::LabelledTicket> = rows.iter().collect();
        embed_and_store(&mut tx, org, embedder, &refs).await?;
        tx.commit().await?;
        embedded += rows.len();
    }
}

/// Trains and stores a new version of each head that has enough labels, with the ticket
/// embeddings of `embedder` joined to the text features. Reports nothing, and stores nothing,
/// when a training of labels read later was stored while this one ran.
pub async fn train_org(
    pool: &PgPool,
    org: OrgId,
    embedder: &Arc<dyn Embedder>,
) -> Result<Vec<HeadReport>, ServiceError> {
    train_org_with(pool, org, TrainConfig::default(), Some(embedder)).await
}

/// [`train_org`] with explicit hyperparameters, and optionally without dense features (for
/// `nexify eval`).
///
/// Missing ticket embeddings are made first, in committed batches, so that the read of
/// [`train_backfilled`] embeds at most the few tickets labelled since.
pub async fn train_org_with(
    pool: &PgPool,
    org: OrgId,
    config: TrainConfig,
    embedder: Option<&Arc<dyn Embedder>>,
) -> Result<Vec<HeadReport>, ServiceError> {
    let started = Instant::now();
    if let Some(embedder) = embedder {
        backfill_embeddings(pool, org, embedder, Deadline::NONE).await?;
    }
    train_backfilled(pool, org, config, embedder, started).await
}

/// [`train_org_with`] once the org's labelled tickets have their embeddings (a sweep makes
/// them within its deadline first), timed from `started`.
///
/// Three phases, so that no transaction stays open while the CPU trains (up to a couple of
/// minutes at [`MAX_EXAMPLES`]): [`read_history`] in one short transaction, [`fit_heads`]
/// with no connection held, and [`store_models`] in another short transaction that drops
/// the result if a training of newer labels landed meanwhile.
#[tracing::instrument(skip_all, fields(org_id = %org, embedder = embedder.map(|e| e.name())), err)]
async fn train_backfilled(
    pool: &PgPool,
    org: OrgId,
    config: TrainConfig,
    embedder: Option<&Arc<dyn Embedder>>,
    started: Instant,
) -> Result<Vec<HeadReport>, ServiceError> {
    let history = read_history(pool, org, embedder).await?;
    let fitted = fit_heads(history, config).await?;
    let reports = store_models(pool, org, fitted, started.elapsed()).await?;
    match &reports {
        Some(reports) => tracing::info!(?reports, "triage models trained"),
        None => tracing::info!("a training of newer labels landed first; this one is dropped"),
    }
    Ok(reports.unwrap_or_default())
}

/// What an org's training reads, as of one moment.
pub struct History {
    /// What it counts as a reading of: the labels as of [`LATE_COMMIT_SECONDS`] before the
    /// read's transaction began. A label changed after this leaves the org due once these
    /// models are stored.
    as_of: DateTime<Utc>,
    org_settings: settings::OrgSettings,
    rows: Vec<tickets::LabelledTicket>,
    /// By the embedder, when the models use dense features.
    embeddings: Option<(String, HashMap<TicketId, Vec<f32>>)>,
}

/// Reads the org's labels and labelled tickets, and their embeddings by `embedder` (embedding
/// and storing any missing), in one short transaction.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn read_history(
    pool: &PgPool,
    org: OrgId,
    embedder: Option<&Arc<dyn Embedder>>,
) -> Result<History, ServiceError> {
    let mut tx = begin_tenant(pool, org, None).await?;
    let as_of = nexify_storage::transaction_start(&mut tx).await?
        - chrono::TimeDelta::seconds(LATE_COMMIT_SECONDS);
    let org_settings = settings::get(&mut tx, org).await?;
    let rows = tickets::labelled(&mut tx, org, MAX_EXAMPLES).await?;
    // Embedded even when too few to train on: the nearest labelled tickets stand in for
    // a model until then.
    let embeddings = match embedder {
        Some(embedder) => Some((
            embedder.name().to_owned(),
            embeddings_for(&mut tx, org, embedder, &rows).await?,
        )),
        None => None,
    };
    tx.commit().await?;
    Ok(History {
        as_of,
        org_settings,
        rows,
        embeddings,
    })
}

/// A trained head, how it was calibrated, and its held-out [`diagnostics`].
struct Fitted {
    model: LinearModel,
    calibration: Calibration,
    diagnostics: serde_json::Value,
}

/// Each head's report, and its model when it had enough labels to train.
pub struct FittedHeads {
    as_of: DateTime<Utc>,
    heads: Vec<(HeadReport, Option<Fitted>)>,
}

/// Trains a model for each head that has enough labels, off the async workers (training is
/// CPU-bound).
pub async fn fit_heads(history: History, config: TrainConfig) -> Result<FittedHeads, ServiceError> {
    tokio::task::spawn_blocking(move || fit_heads_blocking(history, config))
        .await
        .map_err(|e| ServiceError::Conflict(format!("training failed: {e}")))
}

fn fit_heads_blocking(history: History, config: TrainConfig) -> FittedHeads {
    let History {
        as_of,
        org_settings,
        rows,
        embeddings,
    } = history;
    let priorities: Vec<String> = Priority::ALL.iter().map(|p| p.to_string()).collect();
    let mut heads = Vec::new();
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
            .map(|(_, by_id)| examples.iter().map(|(r, _)| by_id[&r.id].clone()).collect());
        let labels: Vec<&str> = examples.iter().map(|(_, l)| l.as_str()).collect();
        let mut distinct = labels.clone();
        distinct.sort();
        distinct.dedup();
        let report = HeadReport {
            head,
            examples: texts.len(),
            labels: distinct.len(),
            version: None,
        };
        let fitted = (texts.len() >= MIN_EXAMPLES && distinct.len() >= 2).then(|| {
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            let calibration = config.calibration_for(&labels);
            let config = TrainConfig {
                calibration: Some(calibration),
                ..config
            };
            let (mut model, held_out) =
                LinearModel::fit_with_held_out(&texts, &labels, dense.as_deref(), config);
            let held = held_out_predictions(&model, &texts, &labels, &held_out);
            if head == "priority" {
                // Urgency cues weigh against the priority head only as much as they helped
                // on its held-out predictions; a cue the history does not bear out gets 0.
                model.cue_weight = urgency::fit_cue_weight(&held, &model.labels);
            }
            if dense.is_some() {
                model.embedder = embeddings.as_ref().map(|(name, _)| name.clone());
            }
            let diagnostics = diagnostics(&model, &held, &labels);
            Fitted {
                model,
                calibration,
                diagnostics,
            }
        });
        heads.push((report, fitted));
    }
    FittedHeads { as_of, heads }
}

/// The head's held-out predictions (from models that did not learn from those tickets), with
/// each ticket's true label and urgency cue.
fn held_out_predictions(
    model: &LinearModel,
    texts: &[&str],
    labels: &[&str],
    held_out: &[(usize, Vec<f32>)],
) -> Vec<urgency::HeldOutPriority> {
    held_out
        .iter()
        .filter_map(|(i, probabilities)| {
            Some(urgency::HeldOutPriority {
                probabilities: probabilities.clone(),
                label: model.labels.iter().position(|l| l == labels[*i])?,
                cue: urgency::find_cue(texts[*i]),
            })
        })
        .collect()
}

/// Confidence thresholds of the coverage curve stored with each model.
const COVERAGE_THRESHOLDS: [f32; 20] = [
    0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8,
    0.85, 0.9, 0.95,
];

/// What the model page shows of a head: its labels with their ticket counts, and how its
/// held-out predictions (as deployed, with the cue's weight) fared: accuracy, calibration
/// error, a reliability diagram and coverage against accuracy.
fn diagnostics(
    model: &LinearModel,
    held: &[urgency::HeldOutPriority],
    labels: &[&str],
) -> serde_json::Value {
    let scored: Vec<Scored> = held
        .iter()
        .map(|h| {
            let p = urgency::weigh(
                &h.probabilities,
                &model.labels,
                h.cue.as_ref(),
                model.cue_weight,
            );
            let (predicted, confidence) = p
                .iter()
                .copied()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((0, 0.0));
            Scored {
                truth: h.label,
                predicted,
                confidence,
            }
        })
        .collect();
    let label_counts: Vec<serde_json::Value> = model
        .labels
        .iter()
        .map(|l| serde_json::json!({ "label": l, "count": labels.iter().filter(|x| *x == l).count() }))
        .collect();
    serde_json::json!({
        "label_counts": label_counts,
        "held_out": scored.len(),
        "accuracy": metrics::accuracy(&scored),
        "ece": metrics::expected_calibration_error(&scored, 10),
        "reliability": metrics::reliability(&scored, 10),
        "coverage": metrics::coverage_at(&scored, &COVERAGE_THRESHOLDS),
    })
}

/// Stores the new version of each fitted head and records the training (of the labels as
/// they were when read, and how long it took, `took`), in one transaction. Returns `None`,
/// storing nothing, when a training of labels read later has been stored since.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn store_models(
    pool: &PgPool,
    org: OrgId,
    fitted: FittedHeads,
    took: Duration,
) -> Result<Option<Vec<HeadReport>>, ServiceError> {
    let mut tx = begin_tenant(pool, org, None).await?;
    // Locks the org's settings row, so that two runs store one after the other.
    if !settings::lock_if_trained_before(&mut tx, org, fitted.as_of).await? {
        return Ok(None);
    }
    let mut reports = Vec::new();
    for (mut report, model) in fitted.heads {
        if let Some(Fitted {
            model,
            calibration,
            diagnostics,
        }) = model
        {
            let metrics = serde_json::json!({
                "temperature": model.temperature,
                "calibration": calibration.as_str(),
                "examples": report.examples,
                "embedder": model.embedder,
                "cue_weight": model.cue_weight,
                "diagnostics": diagnostics,
                "training_seconds": took.as_secs_f32(),
            });
            let version = models::insert(
                &mut tx,
                org,
                report.head,
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
    settings::mark_trained(&mut tx, org, fitted.as_of, took.as_secs_f32()).await?;
    tx.commit().await?;
    Ok(Some(reports))
}

/// The orgs whose labels changed and then stayed quiet for `quiet_seconds`, at most `limit`,
/// leaving out those a sweep has claimed.
pub async fn due_orgs(
    conn: &mut PgConnection,
    quiet_seconds: i64,
    limit: i64,
) -> Result<Vec<OrgId>, ServiceError> {
    Ok(settings::due_for_training(conn, quiet_seconds, limit).await?)
}

/// How long a sweep's claim on an org's training lasts unless released: the sweeper's
/// timeout (template.yaml), so no claim lapses while its run can still be going. An org
/// whose training failed, or was cut off by the timeout, keeps its claim until then, so it is
/// retried a few minutes later instead of first in line every minute.
pub const TRAINING_LEASE_SECONDS: i64 = 300;
/// Labelled tickets embedded per committed transaction in [`backfill_embeddings`].
pub const BACKFILL_BATCH: i64 = 128;
/// Time kept in hand before a deadline: no embedding batch or training starts with less
/// left. More than a batch of long tickets takes `minilm` on two vCPUs.
pub const DEADLINE_RESERVE: Duration = Duration::from_secs(30);

/// When a sweep must be done: its Lambda invocation's deadline, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No deadline: work until done (tests, `nexify eval`).
    pub const NONE: Self = Self(None);

    pub fn at(instant: Instant) -> Self {
        Self(Some(instant))
    }

    /// The deadline at wall-clock time `at` (what Lambda's context gives).
    pub fn at_system_time(at: SystemTime) -> Self {
        let left = at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        Self::at(Instant::now() + left)
    }

    /// The time left, if there is a deadline.
    pub fn left(self) -> Option<Duration> {
        self.0
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Whether work expected to take `work` can start now and still leave
    /// [`DEADLINE_RESERVE`] in hand.
    pub fn allows(self, work: Duration) -> bool {
        self.0
            .is_none_or(|at| Instant::now() + work + DEADLINE_RESERVE <= at)
    }
}

/// What a sweep's training did with the due orgs it was given.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SweepTraining {
    /// Orgs with new models.
    pub trained: usize,
    /// Orgs another run had claimed, or whose newer training another run stored first.
    pub skipped: usize,
    /// Orgs left for the next sweep: their embeddings or their training would not have
    /// finished before the deadline.
    pub deferred: usize,
    /// Orgs whose training failed; each is retried once its claim lapses.
    pub failed: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrgTraining {
    Trained,
    Skipped,
    Deferred,
}

/// Trains each of `orgs` that no other run has claimed, while `deadline` allows. One org's
/// failure is logged and counted, and does not stop the others.
pub async fn train_orgs(
    pool: &PgPool,
    embedder: &Arc<dyn Embedder>,
    orgs: &[OrgId],
    deadline: Deadline,
) -> SweepTraining {
    let mut run = SweepTraining::default();
    if !orgs.is_empty() {
        let seconds_left = deadline.left().map(|d| d.as_secs());
        tracing::info!(orgs = orgs.len(), seconds_left, "training the due orgs");
    }
    for &org in orgs {
        match train_claimed(pool, org, embedder, deadline).await {
            Ok(OrgTraining::Trained) => run.trained += 1,
            Ok(OrgTraining::Skipped) => run.skipped += 1,
            Ok(OrgTraining::Deferred) => run.deferred += 1,
            Err(error) => {
                tracing::error!(org_id = %org, %error, "training failed; retried when its claim lapses");
                run.failed += 1;
            }
        }
    }
    run
}

/// How long an org's training is expected to take: its last training's duration, and none
/// for a first training. Never more than half the lease (the sweeper's timeout), so that an
/// org whose last training was slow is still started by a sweep with that much time left,
/// rather than deferred for good.
fn expected_training(last_seconds: Option<f32>) -> Duration {
    let last = last_seconds
        .and_then(|s| Duration::try_from_secs_f32(s).ok())
        .unwrap_or(Duration::ZERO);
    last.min(Duration::from_secs(TRAINING_LEASE_SECONDS as u64 / 2))
}

/// Claims the org, embeds what its training needs, and trains it if its last training's
/// duration still fits before `deadline`. An org left untrained without an error has its
/// claim released, so the next sweep takes it up; a failed org's is kept until it lapses.
/// (No `err` here: [`train_orgs`] logs the error once, with what happens next.)
#[tracing::instrument(skip_all, fields(org_id = %org))]
async fn train_claimed(
    pool: &PgPool,
    org: OrgId,
    embedder: &Arc<dyn Embedder>,
    deadline: Deadline,
) -> Result<OrgTraining, ServiceError> {
    let mut tx = begin_tenant(pool, org, None).await?;
    let Some(claim) = settings::claim_training(&mut tx, org, TRAINING_LEASE_SECONDS).await? else {
        return Ok(OrgTraining::Skipped);
    };
    tx.commit().await?;
    let expected = expected_training(claim.last_seconds);
    let outcome = if !backfill_embeddings(pool, org, embedder, deadline).await?
        || !deadline.allows(expected)
    {
        OrgTraining::Deferred
    } else if train_backfilled(
        pool,
        org,
        TrainConfig::default(),
        Some(embedder),
        Instant::now(),
    )
    .await?
    .is_empty()
    {
        OrgTraining::Skipped
    } else {
        OrgTraining::Trained
    };
    if outcome == OrgTraining::Deferred {
        tracing::info!(
            expected_seconds = expected.as_secs_f32(),
            "deferred to the next sweep"
        );
    }
    // Storing models releases the claim itself; otherwise nothing was stored (deferred, or a
    // newer training was stored first), and the next sweep should look again.
    if outcome != OrgTraining::Trained {
        let mut tx = begin_tenant(pool, org, None).await?;
        settings::release_training(&mut tx, org).await?;
        tx.commit().await?;
    }
    Ok(outcome)
}

/// Loads the org's current models.
pub async fn load(
    conn: &mut PgConnection,
    org: OrgId,
) -> Result<Option<Arc<OrgModels>>, ServiceError> {
    let mut loaded = OrgModels::default();
    for head in ["team", "category", "priority"] {
        if let Some(stored) = models::current(conn, org, head).await? {
            let model = LinearModel::from_bytes(&stored.model)
                .map_err(|source| ServiceError::Model { head, source })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_last_training_still_fits_a_whole_sweep() {
        assert_eq!(expected_training(None), Duration::ZERO);
        assert_eq!(expected_training(Some(42.5)), Duration::from_secs_f32(42.5));
        assert_eq!(expected_training(Some(f32::NAN)), Duration::ZERO);
        // The sweeper's whole timeout is more than the reserve and the longest expectation.
        let longest = expected_training(Some(1e6));
        let whole_sweep =
            Deadline::at(Instant::now() + Duration::from_secs(TRAINING_LEASE_SECONDS as u64 - 1));
        assert!(whole_sweep.allows(longest), "{longest:?}");
        let late_in_a_sweep = Deadline::at(Instant::now() + Duration::from_secs(120));
        assert!(!late_in_a_sweep.allows(longest));
    }
}
