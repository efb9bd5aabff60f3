//! `nexify eval`: measures triage on a labelled CSV data set.
//!
//! ```text
//! nexify eval --dataset ../shared/data/banking77            # train.csv + test.csv, text/category
//! nexify eval --train a.csv --test b.csv --subject-column subject --body-column body \
//!             --label-column type --team-column queue --priority-column priority
//! ```
//!
//! It imports the training split as an org's resolved, labelled tickets through the storage
//! code (in a scratch database it creates and drops), trains that org's models with the
//! training service (`--calibration cross-fit|hold-out` overrides how it calibrates, `--seed`
//! the training seed), triages every test row with the worker's engine, and prints, per
//! labelled head and for the suggestion as a whole: accuracy, macro-F1, expected calibration
//! error, coverage and accuracy at confidence thresholds 0.5 to 0.95, and throughput.
//! `--validation` measures on a fifth of the training split and never reads the test file.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use nexify_domain::{Email, Label, OrgId, Priority, Subject, TicketBody, TicketStatus};
use nexify_service::training;
use nexify_storage::organizations;
use nexify_storage::settings::{self, SettingsUpdate};
use nexify_storage::tickets::{self, NewTicket, TicketChanges};
use nexify_triage::metrics::{Scored, accuracy, coverage_at, expected_calibration_error, macro_f1};
use nexify_triage::model::{Calibration, TrainConfig};
use nexify_triage::{LearnedEngine, OrgLabels, TextEmbedding, TriageEngine, TriageInput};
use sqlx::postgres::PgPoolOptions;

pub struct EvalArgs {
    pub train: PathBuf,
    pub test: PathBuf,
    pub text_column: Option<String>,
    pub subject_column: Option<String>,
    pub body_column: Option<String>,
    /// The category label (the default `category` when the file has that column).
    pub label_column: Option<String>,
    pub team_column: Option<String>,
    pub priority_column: Option<String>,
    pub config: TrainConfig,
    /// Measure on a held-out fifth of the training split instead of the test split, for
    /// choosing hyperparameters without ever looking at the test set.
    pub validation: bool,
    /// `--embedder hashing|minilm` joins that embedder's vectors to the text features;
    /// `none` (the default) measures the hashed text features alone.
    pub embedder: Option<String>,
}

/// `nexify eval`'s flags, as typed.
#[derive(Debug, clap::Args)]
pub struct EvalFlags {
    /// A folder with train.csv and test.csv (columns text and category).
    #[arg(long, conflicts_with_all = ["train", "test"], required_unless_present = "train")]
    dataset: Option<PathBuf>,
    /// The training CSV (with --test).
    #[arg(long, requires = "test")]
    train: Option<PathBuf>,
    /// The test CSV (with --train).
    #[arg(long, requires = "train")]
    test: Option<PathBuf>,
    /// One column holding the whole text (the default `text` without subject and body).
    #[arg(long)]
    text_column: Option<String>,
    #[arg(long)]
    subject_column: Option<String>,
    #[arg(long)]
    body_column: Option<String>,
    /// The category label's column.
    #[arg(long)]
    label_column: Option<String>,
    #[arg(long)]
    team_column: Option<String>,
    #[arg(long)]
    priority_column: Option<String>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    lr: Option<f32>,
    #[arg(long)]
    l2: Option<f32>,
    #[arg(long)]
    dense_weight: Option<f32>,
    /// The training seed.
    #[arg(long)]
    seed: Option<u64>,
    /// How the models are calibrated (default: by the label counts).
    #[arg(long, value_parser = ["cross-fit", "hold-out"])]
    calibration: Option<String>,
    /// Measure on a fifth of the training split; the test file is never read.
    #[arg(long)]
    validation: bool,
    /// hashing or minilm: join that embedder's vectors to the text features (none: text
    /// features alone).
    #[arg(long, value_parser = ["none", "hashing", "minilm", "openai"])]
    embedder: Option<String>,
}

impl From<EvalFlags> for EvalArgs {
    fn from(f: EvalFlags) -> Self {
        let (train, test) = match f.dataset {
            Some(dir) => (dir.join("train.csv"), dir.join("test.csv")),
            // clap requires --train and --test together when --dataset is absent.
            None => (f.train.unwrap_or_default(), f.test.unwrap_or_default()),
        };
        let text_column = f.text_column.or_else(|| {
            (f.subject_column.is_none() && f.body_column.is_none()).then(|| "text".to_owned())
        });
        let defaults = TrainConfig::default();
        Self {
            train,
            test,
            text_column,
            subject_column: f.subject_column,
            body_column: f.body_column,
            label_column: f.label_column,
            team_column: f.team_column,
            priority_column: f.priority_column,
            config: TrainConfig {
                epochs: f.epochs.unwrap_or(defaults.epochs),
                learning_rate: f.lr.unwrap_or(defaults.learning_rate),
                l2: f.l2.unwrap_or(defaults.l2),
                dense_weight: f.dense_weight.unwrap_or(defaults.dense_weight),
                seed: f.seed.unwrap_or(defaults.seed),
                calibration: f.calibration.as_deref().and_then(Calibration::from_name),
            },
            validation: f.validation,
            embedder: f.embedder.filter(|e| e != "none"),
        }
    }
}

/// One labelled row: subject and body as a ticket would hold them, and its labels.
#[derive(Debug, Clone)]
struct Row {
    subject: String,
    body: String,
    category: Option<String>,
    team: Option<String>,
    priority: Option<Priority>,
}

/// Subject and body for a row: named subject and body columns as they are; a single text
/// column is the subject when it fits, else its first line is.
fn as_ticket(subject: Option<&str>, body: &str) -> (String, String) {
    if let Some(subject) = subject.map(str::trim).filter(|s| !s.is_empty()) {
        let s: String = subject
            .chars()
            .take(nexify_domain::SUBJECT_MAX_CHARS)
            .collect();
        return (s, body.trim().to_owned());
    }
    let text = body.trim();
    if text.chars().count() <= nexify_domain::SUBJECT_MAX_CHARS && !text.contains('\n') {
        return (text.to_owned(), String::new());
    }
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let subject: String = first
        .chars()
        .take(nexify_domain::SUBJECT_MAX_CHARS)
        .collect();
    let body = format!("{}\n{}", &first[subject.len()..], rest)
        .trim()
        .to_owned();
    let subject = subject.trim();
    (
        if subject.is_empty() {
            "(no subject)".into()
        } else {
            subject.to_owned()
        },
        body,
    )
}

fn load(path: &PathBuf, args: &EvalArgs) -> anyhow::Result<Vec<Row>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let find = |name: &str| headers.iter().position(|h| h == name);
    let column = |name: &str| {
        find(name).with_context(|| {
            format!(
                "{} has no column '{name}' (it has: {:?})",
                path.display(),
                headers
            )
        })
    };
    let subject_col = args.subject_column.as_deref().map(column).transpose()?;
    let body_cols: Vec<usize> = [&args.body_column, &args.text_column]
        .into_iter()
        .flatten()
        .map(|c| column(c))
        .collect::<anyhow::Result<_>>()?;
    let category_col = match &args.label_column {
        Some(c) => Some(column(c)?),
        None if args.team_column.is_none() => Some(column("category")?),
        None => find("category"),
    };
    let team_col = args.team_column.as_deref().map(column).transpose()?;
    let priority_col = args.priority_column.as_deref().map(column).transpose()?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let body = body_cols
            .iter()
            .map(|&c| record.get(c).unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let (subject, body) = as_ticket(get(subject_col).as_deref(), &body);
        let row = Row {
            subject,
            body,
            category: get(category_col),
            team: get(team_col),
            priority: get(priority_col).and_then(|p| p.to_lowercase().parse().ok()),
        };
        if row.category.is_some() || row.team.is_some() {
            rows.push(row);
        }
    }
    if rows.is_empty() {
        bail!("{} has no labelled rows", path.display());
    }
    Ok(rows)
}

/// Rows per transaction of [`import_history`]. Each imported ticket updates its org's status
/// counters (a trigger) twice, and one transaction's updates of one row pile up as versions
/// that every later update walks past: in a single transaction, 50,015 tickets took 1,026 s
/// to import, against 22 s for 8,002.
const IMPORT_BATCH: usize = 500;

/// Imports the training rows as the org's resolved, labelled tickets through the storage
/// code the product uses.
async fn import_history(pool: &sqlx::PgPool, org: OrgId, rows: &[Row]) -> anyhow::Result<()> {
    for (batch, chunk) in rows.chunks(IMPORT_BATCH).enumerate() {
        import_batch(pool, org, batch * IMPORT_BATCH, chunk).await?;
    }
    Ok(())
}

/// Imports `rows`, numbered from `first`, in one transaction.
async fn import_batch(
    pool: &sqlx::PgPool,
    org: OrgId,
    first: usize,
    rows: &[Row],
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    for (i, row) in (first..).zip(rows) {
        let new = NewTicket {
            requester_email: Email::parse("requester_email", &format!("eval{i}@example.com"))?,
            subject: Subject::parse(&row.subject).or_else(|_| Subject::parse("(no subject)"))?,
            body: TicketBody::parse(&row.body)?,
            priority: row.priority.unwrap_or(Priority::Medium),
            assigned_team: row.team.clone(),
            category: row.category.clone(),
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

fn distinct(rows: &[Row], pick: impl Fn(&Row) -> Option<&String>) -> Vec<String> {
    rows.iter()
        .filter_map(pick)
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Per-head scores: truth and prediction as indexes into `labels` (one past the end for
/// an unknown or missing label, which always counts as wrong).
struct Head {
    name: &'static str,
    labels: Vec<String>,
    scored: Vec<Scored>,
}

impl Head {
    fn new(name: &'static str, labels: Vec<String>) -> Self {
        Self {
            name,
            labels,
            scored: Vec::new(),
        }
    }

    fn index(&self, label: Option<&str>, missing: usize) -> usize {
        label
            .and_then(|l| self.labels.binary_search_by(|x| x.as_str().cmp(l)).ok())
            .unwrap_or(self.labels.len() + missing)
    }

    fn push(&mut self, truth: Option<&str>, predicted: Option<&str>, confidence: f32) {
        let s = Scored {
            truth: self.index(truth, 0),
            predicted: self.index(predicted, 1),
            confidence,
        };
        self.scored.push(s);
    }

    fn print(&self) {
        let classes = self.labels.len() + 2;
        println!(
            "| {} | {} | {:.4} | {:.4} | {:.4} |",
            self.name,
            self.labels.len(),
            accuracy(&self.scored),
            macro_f1(&self.scored, classes),
            expected_calibration_error(&self.scored, 15)
        );
    }
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
    let categories = distinct(&train, |r| r.category.as_ref());
    let teams = distinct(&train, |r| r.team.as_ref());
    for (field, labels) in [("category", &categories), ("team", &teams)] {
        for l in labels {
            Label::parse(field, l)
                .with_context(|| format!("label '{l}' cannot be a Nexify {field}"))?;
        }
    }
    println!(
        "eval: {} training rows, {} test rows, {} categories, {} teams",
        train.len(),
        test.len(),
        categories.len(),
        teams.len()
    );

    // A scratch database, migrated, with one org whose labels are the data set's.
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
            teams: teams.clone(),
            categories: categories.clone(),
            default_team: None,
            default_category: None,
            auto_triage_webhook: false,
            auto_triage_api: false,
            auto_apply_threshold: None,
            auto_apply_fields: Default::default(),
            reply_from: None,
        };
        settings::update(&mut conn, org.id, &update).await?;
        drop(conn);

        let started = Instant::now();
        import_history(&pool, org.id, &train).await?;
        let import_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let embedder = args
            .embedder
            .as_deref()
            .map(nexify_embed::by_name)
            .transpose()?;
        let reports =
            training::train_org_with(&pool, org.id, args.config, embedder.as_ref()).await?;
        let train_seconds = started.elapsed().as_secs_f64();
        let mut conn = pool.acquire().await?;
        let models = training::load(&mut conn, org.id)
            .await?
            .context("no model was trained")?;
        drop(conn);
        let labels = OrgLabels {
            teams: teams.clone(),
            categories: categories.clone(),
            default_team: None,
            default_category: None,
            priorities_used: Priority::ALL
                .iter()
                .copied()
                .filter(|p| train.iter().any(|r| r.priority == Some(*p)))
                .collect(),
        };

        let mut category = Head::new("category", categories.clone());
        let mut team = Head::new("team", teams.clone());
        let priorities: Vec<String> = Priority::ALL
            .iter()
            .map(|p| p.to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut priority = Head::new(
            if models.priority.is_some() {
                "priority"
            } else {
                "priority (rules)"
            },
            priorities.clone(),
        );
        // What the priority head alone says, before urgency cues weigh in: the suggested
        // priority must never do worse.
        let mut priority_head = Head::new("priority (head alone, no cue)", priorities);
        let mut joint = Vec::with_capacity(test.len());
        let started = Instant::now();
        // The worker embeds each ticket as it triages it; here the test rows are embedded
        // in batches first (timed with the rest).
        let test_vectors: Vec<Option<TextEmbedding>> = match &embedder {
            Some(embedder) => {
                let texts: Vec<String> = test
                    .iter()
                    .map(|r| nexify_triage::embedding_text(&r.subject, &r.body))
                    .collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                embedder
                    .embed(&refs)?
                    .into_iter()
                    .map(|vector| {
                        Some(TextEmbedding {
                            embedder: embedder.name().to_owned(),
                            vector,
                        })
                    })
                    .collect()
            }
            None => vec![None; test.len()],
        };
        for (row, embedding) in test.iter().zip(test_vectors) {
            let input = TriageInput {
                subject: row.subject.clone(),
                body: row.body.clone(),
                current_priority: Priority::Low,
                labels: labels.clone(),
                passages: vec![],
                models: Some(models.clone()),
                embedding,
                similar: vec![],
            };
            let triage = LearnedEngine.triage(&input)?;
            let head_p = |name: &str| {
                triage.metadata["heads"][name]["probability"]
                    .as_f64()
                    .map_or(triage.confidence, |p| p as f32)
            };
            let mut all_right = true;
            if models.category.is_some() {
                category.push(
                    row.category.as_deref(),
                    triage.classification.as_deref(),
                    head_p("category"),
                );
                all_right &= row.category.is_some() && row.category == triage.classification;
            }
            if models.team.is_some() {
                team.push(row.team.as_deref(), triage.team.as_deref(), head_p("team"));
                all_right &= row.team.is_some() && row.team == triage.team;
            }
            if let Some(p) = row.priority {
                let confidence = if models.priority.is_some() {
                    head_p("priority")
                } else {
                    1.0
                };
                priority.push(Some(p.as_str()), Some(triage.priority.as_str()), confidence);
                if let Some(head) = triage.metadata["heads"]["priority"]["head_label"].as_str() {
                    priority_head.push(Some(p.as_str()), Some(head), confidence);
                }
                if models.priority.is_some() {
                    all_right &= p == triage.priority;
                }
            }
            joint.push(Scored {
                truth: 0,
                predicted: usize::from(!all_right),
                confidence: triage.confidence,
            });
        }
        let predict_seconds = started.elapsed().as_secs_f64();

        println!(
            "\n| head | labels | accuracy | macro-F1 | ECE (15 bins) |\n|---|---|---|---|---|"
        );
        for head in [&category, &team, &priority, &priority_head] {
            if !head.scored.is_empty() {
                head.print();
            }
        }
        println!("\n| suggestion as a whole | value |\n|---|---|");
        println!(
            "| accuracy (every trained head right) | {:.4} |",
            accuracy(&joint)
        );
        println!(
            "| ECE of its confidence (15 bins) | {:.4} |",
            expected_calibration_error(&joint, 15)
        );
        println!(
            "| import | {import_seconds:.1} s ({} tickets) |",
            train.len()
        );
        println!(
            "| training | {train_seconds:.1} s ({}) |",
            reports
                .iter()
                .map(|r| format!(
                    "{}: {} examples, v{}",
                    r.head,
                    r.examples,
                    r.version.unwrap_or(0)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        println!(
            "| triage throughput (engine) | {:.0} tickets/s |",
            test.len() as f64 / predict_seconds
        );
        println!("\n| confidence ≥ | coverage | accuracy |\n|---|---|---|");
        for c in coverage_at(&joint, &[0.5, 0.6, 0.7, 0.8, 0.9, 0.95]) {
            println!(
                "| {:.2} | {:.3} | {:.4} |",
                c.threshold, c.coverage, c.accuracy
            );
        }
        // Per-field auto-apply: each field at its own confidence.
        println!(
            "\n| field: at its own confidence ≥ | 0.6 covered / accuracy | 0.8 covered / accuracy | 0.9 covered / accuracy |\n|---|---|---|---|"
        );
        for head in [&category, &team, &priority] {
            if head.scored.is_empty() {
                continue;
            }
            let cells: Vec<String> = coverage_at(&head.scored, &[0.6, 0.8, 0.9])
                .iter()
                .map(|c| format!("{:.3} / {:.4}", c.coverage, c.accuracy))
                .collect();
            println!("| {} | {} |", head.name, cells.join(" | "));
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

#[cfg(test)]
mod tests {
    use nexify_triage::model::{Calibration, TrainConfig};

    use clap::Parser;

    use super::{EvalArgs, as_ticket};

    fn args(line: &str) -> Result<EvalArgs, clap::Error> {
        let cli = crate::Cli::try_parse_from(std::iter::once("nexify").chain(line.split(' ')))?;
        match cli.command {
            crate::Command::Eval(flags) => Ok((*flags).into()),
            _ => panic!("not an eval"),
        }
    }

    #[test]
    fn training_flags_override_the_defaults() {
        let defaults = args("eval --dataset d").unwrap().config;
        assert_eq!(defaults, TrainConfig::default());
        let config = args("eval --dataset d --calibration hold-out --seed 3 --epochs 12")
            .unwrap()
            .config;
        assert_eq!(config.calibration, Some(Calibration::HoldOut));
        assert_eq!((config.seed, config.epochs), (3, 12));
        let cross = args("eval --dataset d --calibration cross-fit")
            .unwrap()
            .config;
        assert_eq!(cross.calibration, Some(Calibration::CrossFit));
        let err = args("eval --dataset d --calibration both").err().unwrap();
        assert!(err.to_string().contains("cross-fit, hold-out"), "{err}");
    }

    #[test]
    fn unknown_flags_and_half_a_split_are_refused() {
        assert!(args("eval --dataset d --sed 3").is_err(), "a misspelt flag");
        assert!(args("eval --train a.csv").is_err(), "--train needs --test");
        assert!(args("eval --dataset d --train a.csv --test b.csv").is_err());
        assert!(args("eval").is_err(), "a data set is required");
        let split = args("eval --train a.csv --test b.csv --subject-column s").unwrap();
        assert_eq!(
            (split.train.to_str(), split.text_column),
            (Some("a.csv"), None),
            "subject and body columns replace the text column"
        );
    }

    #[test]
    fn rows_become_tickets_the_way_the_product_holds_them() {
        assert_eq!(
            as_ticket(Some(" Refund "), " Please "),
            ("Refund".into(), "Please".into())
        );
        assert_eq!(
            as_ticket(None, "short question"),
            ("short question".into(), String::new())
        );
        let long = "é".repeat(350);
        let (subject, body) = as_ticket(None, &long);
        assert_eq!(subject.chars().count(), 300);
        assert_eq!(body.chars().count(), 50, "nothing is lost");
        assert_eq!(
            as_ticket(None, "first line\nsecond"),
            ("first line".into(), "second".into())
        );
    }
}
