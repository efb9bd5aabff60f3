//! `nexify eval`: measures the triage classifier on a labelled CSV data set.
//!
//! ```text
//! nexify eval --dataset ../shared/data/banking77            # train.csv + test.csv, text/category
//! nexify eval --train a.csv --test b.csv --subject-column subject --body-column body --label-column queue
//! ```
//!
//! It trains on the training split only (holding out part of it for calibration), predicts
//! every test row, and prints accuracy, macro-F1, expected calibration error, coverage and
//! accuracy at confidence thresholds 0.5 to 0.95, and throughput.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use nexify_embed::{Embedder, HashingEmbedder};
use nexify_triage::metrics::{Scored, accuracy, coverage_at, expected_calibration_error, macro_f1};
use nexify_triage::model::{LinearModel, TrainConfig};

pub struct EvalArgs {
    pub train: PathBuf,
    pub test: PathBuf,
    pub text_column: Option<String>,
    pub subject_column: Option<String>,
    pub body_column: Option<String>,
    pub label_column: String,
    pub embedder: String,
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
            embedder: flag("--embedder").unwrap_or_else(|| "none".into()),
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

fn embed_all(embedder: &dyn Embedder, texts: &[&str]) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(texts.len());
    for batch in texts.chunks(64) {
        out.extend(embedder.embed(batch)?);
    }
    Ok(out)
}

pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
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
    let embedder: Option<Box<dyn Embedder>> = match args.embedder.as_str() {
        "none" => None,
        "hashing" => Some(Box::new(HashingEmbedder)),
        other => bail!("unknown --embedder '{other}' (none, hashing)"),
    };
    println!(
        "eval: {} training rows, {} test rows, {} labels, embedder {}",
        train.len(),
        test.len(),
        {
            let mut l: Vec<&str> = train.iter().map(|r| r.1.as_str()).collect();
            l.sort();
            l.dedup();
            l.len()
        },
        args.embedder
    );

    let texts: Vec<&str> = train.iter().map(|r| r.0.as_str()).collect();
    let labels: Vec<&str> = train.iter().map(|r| r.1.as_str()).collect();
    let started = Instant::now();
    let dense = embedder
        .as_deref()
        .map(|e| embed_all(e, &texts))
        .transpose()?;
    let model = LinearModel::fit(&texts, &labels, dense.as_deref(), args.config);
    let train_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let test_texts: Vec<&str> = test.iter().map(|r| r.0.as_str()).collect();
    let test_dense = embedder
        .as_deref()
        .map(|e| embed_all(e, &test_texts))
        .transpose()?;
    let mut scored = Vec::with_capacity(test.len());
    for (i, (text, label)) in test.iter().enumerate() {
        let features = model.features(text, test_dense.as_ref().map(|d| d[i].as_slice()));
        let (predicted, confidence) = model.predict(&features);
        let truth = model.labels.binary_search(label).unwrap_or(usize::MAX);
        scored.push(Scored {
            truth,
            predicted,
            confidence,
        });
    }
    let predict_seconds = started.elapsed().as_secs_f64();
    // Unknown test labels can never be right; they count as errors, not as a crash.
    let classes = model.labels.len() + 1;
    let scored: Vec<Scored> = scored
        .into_iter()
        .map(|s| Scored {
            truth: s.truth.min(classes - 1),
            ..s
        })
        .collect();

    println!("\n| metric | value |\n|---|---|");
    println!("| accuracy | {:.4} |", accuracy(&scored));
    println!("| macro-F1 | {:.4} |", macro_f1(&scored, classes));
    println!(
        "| ECE (15 bins) | {:.4} |",
        expected_calibration_error(&scored, 15)
    );
    println!("| temperature | {:.3} |", model.temperature);
    println!(
        "| training | {:.1} s ({} rows) |",
        train_seconds,
        train.len()
    );
    println!(
        "| prediction throughput | {:.0} tickets/s |",
        test.len() as f64 / predict_seconds
    );
    println!("\n| confidence ≥ | coverage | accuracy |\n|---|---|---|");
    let thresholds = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
    for c in coverage_at(&scored, &thresholds) {
        println!(
            "| {:.2} | {:.3} | {:.4} |",
            c.threshold, c.coverage, c.accuracy
        );
    }
    Ok(())
}
