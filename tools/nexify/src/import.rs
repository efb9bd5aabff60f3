//! `nexify import FILE --org SLUG [--add-labels]`: an org's labelled history from a CSV or
//! JSON-lines file, as `POST /api/orgs/{org}/imports/` takes it, for an operator with the
//! database. The whole file is read and checked first; its rows then land in batches of
//! [`imports::BATCH`], one transaction each, so a run cut short keeps what it committed and
//! a rerun (idempotent by `external_id`) carries on.

use std::path::Path;

use anyhow::{Context, bail};
use nexify_service::imports::{self, Format, ImportReport};
use nexify_storage::events::Actor;
use nexify_storage::{PgPool, begin_tenant, organizations};

pub async fn run(pool: &PgPool, file: &Path, slug: &str, add_labels: bool) -> anyhow::Result<()> {
    let format = match file.extension().and_then(|e| e.to_str()) {
        Some("csv") => Format::Csv,
        Some("jsonl" | "ndjson") => Format::JsonLines,
        _ => bail!("name a .csv, .jsonl or .ndjson file"),
    };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut conn = pool.acquire().await?;
    let org = organizations::find_by_slug(&mut conn, slug)
        .await?
        .with_context(|| format!("no organization has the slug '{slug}'"))?;
    drop(conn);
    let imports::Parsed { rows, errors } = imports::parse_file(format, &text)?;
    let mut total = ImportReport {
        rows: rows.len() + errors.len(),
        created: 0,
        existing: 0,
        errors,
        teams_added: Vec::new(),
        categories_added: Vec::new(),
    };
    let batches = rows.len().div_ceil(imports::BATCH);
    let mut rows = rows.into_iter().peekable();
    let mut done = 0;
    while rows.peek().is_some() {
        let batch: Vec<_> = rows.by_ref().take(imports::BATCH).collect();
        let mut tx = begin_tenant(pool, org.id, None).await?;
        let report = imports::import_in_tx(
            &mut tx,
            org.id,
            imports::Parsed {
                rows: batch,
                errors: Vec::new(),
            },
            add_labels,
            Actor::System,
        )
        .await?;
        tx.commit().await?;
        done += 1;
        total.created += report.created;
        total.existing += report.existing;
        total.errors.extend(report.errors);
        total.teams_added.extend(report.teams_added);
        total.categories_added.extend(report.categories_added);
        eprintln!(
            "batch {done}/{batches}: {} created, {} already there",
            report.created, report.existing
        );
    }
    total.errors.sort_by_key(|e| e.line);
    for e in &total.errors {
        println!(
            "line {}: {}{}",
            e.line,
            e.field
                .as_deref()
                .map(|f| format!("{f}: "))
                .unwrap_or_default(),
            e.reason
        );
    }
    println!(
        "{}: {} rows, {} imported, {} already there, {} refused{}{}",
        org.slug,
        total.rows,
        total.created,
        total.existing,
        total.errors.len(),
        if total.teams_added.is_empty() {
            String::new()
        } else {
            format!("; teams added: {}", total.teams_added.join(", "))
        },
        if total.categories_added.is_empty() {
            String::new()
        } else {
            format!("; categories added: {}", total.categories_added.join(", "))
        },
    );
    Ok(())
}
