//! `nexify eval`: measures the triage classifier on a labelled CSV data set.
//!
//! ```text
//! nexify eval --dataset ../shared/data/banking77            # train.csv + test.csv, text/category
//! nexify eval --train a.csv --test b.csv --subject-column subject --body-column body --label-column queue
//! ```
//!
//! It imports the training split as an org's resolved, labelled tickets through the storage
//! code (in a scratch database it creates and drops), trains that org's model with the
//! training service (holding out part of the history for calibration), triages every test
//! row with the worker's engine, and prints accuracy, macro-F1, expected calibration error, coverage and
//! accuracy at confidence thresholds 0.5 to 0.95, and throughput.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use nexify_domain::{Email, Label, OrgId, Priority, Subject, TicketBody, TicketStatus};
use nexify_service::training;
use nexify_storage::organizations;
use nexify_storage::settings::{self, SettingsUpdate};
use nexify_storage::tickets::{self, NewTicket, TicketChanges};
use nexify_triage::metrics::{Scored, accuracy, coverage_at, expected_calibration_error, macro_f1};
use nexify_triage::model::TrainConfig;
use nexify_triage::{LearnedEngine, OrgLabels, TriageEngine, TriageInput};
use sqlx::postgres::PgPoolOptions;

pub struct EvalArgs {
    pub train: PathBuf,
    pub test: PathBuf,
    pub text_column: Option<String>,
    pub subject_column: Option<String>,
    pub body_column: Option<String>,
    pub label_column: String,
    pub config: TrainConfig,
    /// Measure on a held-out 20% of the training split instead of the test split, for
    /// choosing hyperparameters without ever looking at the test set.
    pub validation: bool,
}

impl EvalArgs {
    pub fn parse(args: &[String]) -> anyhow::Result<Self> {
        let flag = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let (train, test) = match flag("--dataset") {
            Some(dir) => (
                PathBuf::from(&dir).join("train.csv"),
                PathBuf::from(&dir).join("test.csv"),
            ),
            None => (
                PathBuf::from(
                    flag("--train").context("--dataset DIR or --train FILE is required")?,
                ),
                PathBuf::from(flag("--test").context("--test FILE is required with --train")?),
            ),
        };
        let subject_column = flag("--subject-column");
        let body_column = flag("--body-column");
        let text_column = flag("--text-column").or_else(|| {
            (subject_column.is_none() && body_column.is_none()).then(|| "text".to_owned())
        });
        Ok(Self {
            train,
            test,
            text_column,
            subject_column,
            body_column,
            label_column: flag("--label-column").unwrap_or_else(|| "category".into()),
            config: TrainConfig {
                epochs: flag("--epochs")
                    .map(|e| e.parse())
                    .transpose()?
                    .unwrap_or(TrainConfig::default().epochs),
                learning_rate: flag("--lr")
                    .map(|e| e.parse())
                    .transpose()?
                    .unwrap_or(TrainConfig::default().learning_rate),
                l2: flag("--l2")
                    .map(|e| e.parse())
                    .transpose()?
                    .unwrap_or(TrainConfig::default().l2),
                ..TrainConfig::default()
            },
            validation: args.iter().any(|a| a == "--validation"),
        })
    }
}

/// (text, label) rows; the text joins the text, subject and body columns that are named.
fn load(path: &PathBuf, args: &EvalArgs) -> anyhow::Result<Vec<(String, String)>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers.iter().position(|h| h == name).with_context(|| {
            format!(
                "{} has no column '{name}' (it has: {:?})",
                path.display(),
                headers
            )
        })
    };
    let text_cols: Vec<usize> = [&args.subject_column, &args.body_column, &args.text_column]
        .into_iter()
        .flatten()
        .map(|c| column(c))
        .collect::<anyhow::Result<_>>()?;
    let label_col = column(&args.label_column)?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        let text = text_cols
            .iter()
            .map(|&c| record.get(c).unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let label = record.get(label_col).unwrap_or("").trim().to_owned();
        if !label.is_empty() {
            rows.push((text, label));
        }
    }
    if rows.is_empty() {
        bail!("{} has no labelled rows", path.display());
    }
    Ok(rows)
}

/// Subject and body for a row's text, as a ticket would hold them: a text that fits the
/// subject limit is the subject alone.
fn as_ticket(text: &str) -> (String, String) {
    let text = text.trim();
    if text.chars().count() <= nexify_domain::SUBJECT_MAX_CHARS && !text.contains('\n') {
        return (text.to_owned(), String::new());
    }
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let subject: String = first
        .chars()
        .take(nexify_domain::SUBJECT_MAX_CHARS)
        .collect();
    let body = format!("{}{}", &first[subject.len()..], rest)
        .trim()
        .to_owned();
    (subject.trim().to_owned(), body)
}

/// Imports the training rows as the org's resolved, labelled tickets through the storage
/// code the product uses.
async fn import_history(
    pool: &sqlx::PgPool,
    org: OrgId,
    rows: &[(String, String)],
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    for (i, (text, label)) in rows.iter().enumerate() {
        let (subject, body) = as_ticket(text);
        let new = NewTicket {
            requester_email: Email::parse("requester_email", &format!("eval{i}@example.com"))?,
            subject: Subject::parse(if subject.is_empty() {
                "(no subject)"
            } else {
                &subject
            })?,
            body: TicketBody::parse(&body)?,
            priority: Priority::Medium,
            assigned_team: None,
            category: Some(label.clone()),
            external_id: None,
        };
        let ticket = tickets::insert(&mut tx, org, &new).await?;
        let resolve = TicketChanges {
            status: Some(TicketStatus::Resolved),
            ..TicketChanges::default()
        };
        tickets::update(&mut tx, org, ticket.id, &resolve).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let (train, test) = if args.validation {
        // Every fifth row of the training split, by a fixed order, is the validation set.
        let all = load(&args.train, args)?;
        let (mut fit, mut val) = (Vec::new(), Vec::new());
        for (i, row) in all.into_iter().enumerate() {
            if i % 5 == 2 {
                val.push(row)
            } else {
                fit.push(row)
            }
        }
        println!("validation mode: the test split is not read");
        (fit, val)
    } else {
        (load(&args.train, args)?, load(&args.test, args)?)
    };
    let mut categories: Vec<String> = train.iter().map(|r| r.1.clone()).collect();
    categories.sort();
    categories.dedup();
    for c in &categories {
        Label::parse("category", c)
            .with_context(|| format!("label '{c}' cannot be a Nexify category"))?;
    }
    println!(
        "eval: {} training rows, {} test rows, {} labels",
        train.len(),
        test.len(),
        categories.len()
    );

    // A scratch database, migrated, with one org whose categories are the data set's labels.
    let base =
        std::env::var("DATABASE_URL").context("eval needs DATABASE_URL (the schema owner)")?;
    let scratch = format!("nexify_eval_{}", std::process::id());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {scratch}")))
        .execute(&admin)
        .await?;
    let url = format!(
        "{}/{scratch}",
        &base[..base.rfind('/').context("DATABASE_URL names no database")?]
    );
    let result = async {
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await?;
        nexify_storage::MIGRATOR.run(&pool).await?;
        let mut conn = pool.acquire().await?;
        let org = organizations::insert(&mut conn, "Eval", "eval").await?;
        let update = SettingsUpdate {
            teams: vec![],
            categories: categories.clone(),
            default_team: None,
            default_category: None,
            auto_triage_webhook: false,
            auto_triage_api: false,
            auto_apply_threshold: None,
        };
        settings::update(&mut conn, org.id, &update).await?;
        drop(conn);

        let started = Instant::now();
        import_history(&pool, org.id, &train).await?;
        let import_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let reports = training::train_org_with(&pool, org.id, args.config).await?;
        let train_seconds = started.elapsed().as_secs_f64();
        let mut conn = pool.acquire().await?;
        let models = training::load(&mut conn, org.id)
            .await?
            .context("no model was trained")?;
        drop(conn);
        let temperature = models.category.as_ref().map_or(f32::NAN, |m| m.temperature);
        let labels = OrgLabels {
            teams: vec![],
            categories: categories.clone(),
            default_team: None,
            default_category: None,
        };

        let started = Instant::now();
        let mut scored = Vec::with_capacity(test.len());
        for (text, label) in &test {
            let (subject, body) = as_ticket(text);
            let input = TriageInput {
                subject,
                body,
                current_priority: Priority::Medium,
                labels: labels.clone(),
                passages: vec![],
                models: Some(models.clone()),
            };
            let triage = LearnedEngine.triage(&input)?;
            let predicted = triage
                .classification
                .as_deref()
                .and_then(|c| categories.binary_search_by(|x| x.as_str().cmp(c)).ok());
            scored.push(Scored {
                // Unknown test labels and missing predictions are errors, never crashes.
                truth: categories.binary_search(label).unwrap_or(categories.len()),
                predicted: predicted.unwrap_or(categories.len() + 1),
                confidence: triage.confidence,
            });
        }
        let predict_seconds = started.elapsed().as_secs_f64();
        let classes = categories.len() + 2;

        println!("\n| metric | value |\n|---|---|");
        println!("| accuracy | {:.4} |", accuracy(&scored));
        println!("| macro-F1 | {:.4} |", macro_f1(&scored, classes));
        println!(
            "| ECE (15 bins) | {:.4} |",
            expected_calibration_error(&scored, 15)
        );
        println!("| temperature | {temperature:.3} |");
        println!(
            "| import | {import_seconds:.1} s ({} tickets) |",
            train.len()
        );
        println!(
            "| training | {train_seconds:.1} s ({:?}) |",
            reports
                .iter()
                .map(|r| (r.head, r.examples, r.version))
                .collect::<Vec<_>>()
        );
        println!(
            "| triage throughput (engine) | {:.0} tickets/s |",
            test.len() as f64 / predict_seconds
        );
        println!("\n| confidence ≥ | coverage | accuracy |\n|---|---|---|");
        for c in coverage_at(&scored, &[0.5, 0.6, 0.7, 0.8, 0.9, 0.95]) {
            println!(
                "| {:.2} | {:.3} | {:.4} |",
                c.threshold, c.coverage, c.accuracy
            );
        }
        pool.close().await;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"
    )))
    .execute(&admin)
    .await?;
    result
}
