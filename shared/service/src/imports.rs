//! History import: an org's labelled tickets from another helpdesk, as CSV or JSON lines, so
//! that triage learns from day one. Idempotent by `external_id`; every bad row is reported
//! with its line number and a reason, and the good rows of a request land in one
//! transaction.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use nexify_domain::{
    Email, ExternalId, InvalidInput, Label, OrgId, Priority, Role, Subject, TicketBody,
    TicketStatus, UserId,
};
use nexify_storage::events::Actor;
use nexify_storage::settings::{self, SettingsUpdate};
use nexify_storage::tickets::{self, ImportedTicket, NewTicket};
use nexify_storage::{PgConnection, PgPool};
use serde::{Deserialize, Serialize};

use crate::settings::{MAX_CATEGORIES, MAX_TEAMS};
use crate::{ServiceError, access};

/// The most rows one request may carry; larger files go in several requests.
pub const MAX_ROWS: usize = 2_000;
/// The largest request body: well inside Lambda's 6 MB synchronous payload.
pub const MAX_BYTES: usize = 1024 * 1024;
/// Stands in for a requester the file does not name.
pub const UNKNOWN_REQUESTER: &str = "unknown@import.invalid";

/// How the rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// The format a request's media type names (`text/csv`, `application/x-ndjson`,
    /// `application/jsonl`).
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "text/csv" => Some(Self::Csv),
            "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines" => {
                Some(Self::JsonLines)
            }
            _ => None,
        }
    }
}

/// One row as written: every field optional until checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    subject: Option<String>,
    body: Option<String>,
    team: Option<String>,
    category: Option<String>,
    priority: Option<String>,
    status: Option<String>,
    created_at: Option<String>,
    external_id: Option<String>,
    requester_email: Option<String>,
}

/// The columns a CSV file may have.
pub const COLUMNS: [&str; 9] = [
    "subject",
    "body",
    "team",
    "category",
    "priority",
    "status",
    "created_at",
    "external_id",
    "requester_email",
];

/// Why a row was not imported. `line` is the file's line number (1 is a CSV's header).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    pub line: usize,
    #[schema(required = true)]
    pub field: Option<String>,
    pub reason: String,
}

impl RowError {
    fn new(line: usize, field: Option<&str>, reason: impl Into<String>) -> Self {
        Self {
            line,
            field: field.map(str::to_owned),
            reason: reason.into(),
        }
    }
}

/// What one import request did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Rows read (not counting a CSV header or blank lines).
    pub rows: usize,
    /// Rows imported as new tickets.
    pub created: usize,
    /// Rows whose `external_id` the org already had: skipped, so a repeated upload adds
    /// nothing.
    pub existing: usize,
    pub errors: Vec<RowError>,
    /// Labels added to the org's settings because the rows used them (`add_labels`).
    pub teams_added: Vec<String>,
    pub categories_added: Vec<String>,
}

/// A file's rows checked into tickets, each with its line, and the rows that could not be.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<(usize, ImportedTicket)>,
    pub errors: Vec<RowError>,
}

/// Rows as read, each with its line, and the rows that could not be read.
type Read = (Vec<(usize, RawRow)>, Vec<RowError>);

/// Why a whole request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file has more than {MAX_ROWS} rows; send it in parts")]
    TooManyRows,
    #[error("the CSV header has no '{0}' column")]
    MissingColumn(&'static str),
    #[error("the CSV header names an unknown column '{0}'")]
    UnknownColumn(String),
    #[error("the CSV header cannot be read")]
    Header(#[source] csv::Error),
}

/// Reads the rows with their line numbers; a row that cannot be read at all is an error of
/// its own, and the others still count.
fn read(format: Format, text: &str, max_rows: Option<usize>) -> Result<Read, ImportError> {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    match format {
        Format::JsonLines => {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<RawRow>(line) {
                    Ok(row) => rows.push((i + 1, row)),
                    Err(e) => {
                        errors.push(RowError::new(i + 1, None, format!("not a JSON row: {e}")))
                    }
                }
            }
        }
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(text.as_bytes());
            let header = reader.headers().map_err(ImportError::Header)?.clone();
            let names: Vec<String> = header
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect();
            if let Some(unknown) = names.iter().find(|n| !COLUMNS.contains(&n.as_str())) {
                return Err(ImportError::UnknownColumn(unknown.clone()));
            }
            if !names.iter().any(|n| n == "subject") {
                return Err(ImportError::MissingColumn("subject"));
            }
            for record in reader.records() {
                let record = match record {
                    Ok(r) => r,
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line() as usize);
                        errors.push(RowError::new(line, None, format!("unreadable CSV: {e}")));
                        continue;
                    }
                };
                let line = record.position().map_or(0, |p| p.line() as usize);
                if record.len() != names.len() {
                    errors.push(RowError::new(
                        line,
                        None,
                        format!("has {} fields, the header {}", record.len(), names.len()),
                    ));
                    continue;
                }
                let get = |name: &str| {
                    names
                        .iter()
                        .position(|n| n == name)
                        .map(|i| record[i].to_owned())
                };
                rows.push((
                    line,
                    RawRow {
                        subject: get("subject"),
                        body: get("body"),
                        team: get("team"),
                        category: get("category"),
                        priority: get("priority"),
                        status: get("status"),
                        created_at: get("created_at"),
                        external_id: get("external_id"),
                        requester_email: get("requester_email"),
                    },
                ));
            }
        }
    }
    if max_rows.is_some_and(|max| rows.len() + errors.len() > max) {
        return Err(ImportError::TooManyRows);
    }
    Ok((rows, errors))
}

/// Empty and blank values count as absent.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

/// A row checked into a ticket, or the first reason it cannot be one. Labels are checked
/// against the org's later, in [`import`].
fn check(line: usize, raw: &RawRow) -> Result<ImportedTicket, RowError> {
    let invalid = |e: InvalidInput| RowError::new(line, Some(e.field), e.reason);
    let subject = Subject::parse(present(&raw.subject).unwrap_or("")).map_err(invalid)?;
    let body = TicketBody::parse(raw.body.as_deref().unwrap_or("")).map_err(invalid)?;
    let requester_email = Email::parse(
        "requester_email",
        present(&raw.requester_email).unwrap_or(UNKNOWN_REQUESTER),
    )
    .map_err(invalid)?;
    let priority = match present(&raw.priority) {
        None => Priority::Medium,
        Some(p) => p.to_ascii_lowercase().parse().map_err(|_| {
            RowError::new(
                line,
                Some("priority"),
                "must be low, medium, high or urgent",
            )
        })?,
    };
    let status = match present(&raw.status) {
        None => TicketStatus::Resolved,
        Some(s) => s.to_ascii_lowercase().parse().map_err(|_| {
            RowError::new(
                line,
                Some("status"),
                "must be open, in_progress or resolved",
            )
        })?,
    };
    let created_at = match present(&raw.created_at) {
        None => None,
        Some(t) => Some(parse_time(t).ok_or_else(|| {
            RowError::new(
                line,
                Some("created_at"),
                "must be an RFC 3339 time (2026-11-30T09:15:00Z) or a date (2026-11-30)",
            )
        })?),
    };
    let label = |field: &'static str, value: &Option<String>| {
        present(value)
            .map(|v| Label::parse(field, v).map(Label::into_inner))
            .transpose()
            .map_err(invalid)
    };
    let external_id = present(&raw.external_id)
        .map(ExternalId::parse)
        .transpose()
        .map_err(invalid)?;
    Ok(ImportedTicket {
        ticket: NewTicket {
            requester_email,
            subject,
            body,
            priority,
            assigned_team: label("team", &raw.team)?,
            category: label("category", &raw.category)?,
            external_id,
        },
        status,
        created_at,
    })
}

/// The rows of one request checked into tickets (at most [`MAX_ROWS`]), and the errors of
/// those that could not be. A repeated `external_id` within the file is an error of the
/// later row.
pub fn parse(format: Format, text: &str) -> Result<Parsed, ImportError> {
    parse_rows(format, text, Some(MAX_ROWS))
}

/// [`parse`] for a whole file of any length (`nexify import`), to import in batches of
/// [`BATCH`] with the file's own line numbers.
pub fn parse_file(format: Format, text: &str) -> Result<Parsed, ImportError> {
    parse_rows(format, text, None)
}

/// Rows per transaction when a whole file is imported.
pub const BATCH: usize = 500;

fn parse_rows(format: Format, text: &str, max_rows: Option<usize>) -> Result<Parsed, ImportError> {
    let (raw, mut errors) = read(format, text, max_rows)?;
    let mut seen: HashMap<ExternalId, usize> = HashMap::new();
    let mut rows = Vec::new();
    for (line, row) in raw {
        match check(line, &row) {
            Ok(t) => {
                if let Some(id) = &t.ticket.external_id
                    && let Some(first) = seen.insert(id.clone(), line)
                {
                    seen.insert(id.clone(), first);
                    errors.push(RowError::new(
                        line,
                        Some("external_id"),
                        format!("repeats line {first}'s external_id"),
                    ));
                    continue;
                }
                rows.push((line, t));
            }
            Err(e) => errors.push(e),
        }
    }
    errors.sort_by_key(|e| e.line);
    Ok(Parsed { rows, errors })
}

/// Spells each row's label as the org already does, or as its first row did: labels that
/// differ only in case are one label (settings refuse two such), so "billing" in a file
/// is the org's "Billing". Returns the labels the org lacks, in the order first used.
fn canonical_labels(
    rows: &mut [(usize, ImportedTicket)],
    known: &[String],
    pick: impl Fn(&mut ImportedTicket) -> &mut Option<String>,
) -> Vec<String> {
    let mut spellings: HashMap<String, String> = known
        .iter()
        .map(|l| (l.to_lowercase(), l.clone()))
        .collect();
    let mut missing = Vec::new();
    for (_, row) in rows.iter_mut() {
        if let Some(label) = pick(row) {
            let spelling = spellings.entry(label.to_lowercase()).or_insert_with(|| {
                missing.push(label.clone());
                label.clone()
            });
            *label = spelling.clone();
        }
    }
    missing
}

/// Imports the checked rows on the caller's transaction (which has the org's tenancy set).
/// With `add_labels`, teams and categories the rows use and the org lacks are added to its
/// settings; without, those rows are errors.
pub async fn import_in_tx(
    conn: &mut PgConnection,
    org: OrgId,
    parsed: Parsed,
    add_labels: bool,
    actor: Actor,
) -> Result<ImportReport, ServiceError> {
    let Parsed {
        mut rows,
        mut errors,
    } = parsed;
    let total = rows.len() + errors.len();
    let current = settings::get_for_update(conn, org).await?;
    let teams_added = canonical_labels(&mut rows, &current.teams, |r| &mut r.ticket.assigned_team);
    let categories_added =
        canonical_labels(&mut rows, &current.categories, |r| &mut r.ticket.category);
    let (teams_added, categories_added) = if add_labels {
        let mut update = SettingsUpdate {
            teams: current.teams.clone(),
            categories: current.categories.clone(),
            default_team: current.default_team.clone(),
            default_category: current.default_category.clone(),
            auto_triage_webhook: current.auto_triage_webhook,
            auto_triage_api: current.auto_triage_api,
            auto_apply_threshold: current.auto_apply_threshold,
            auto_apply_fields: current.auto_apply_fields,
            reply_from: current.reply_from.clone(),
        };
        update.teams.extend(teams_added.iter().cloned());
        update.categories.extend(categories_added.iter().cloned());
        if update.teams.len() > MAX_TEAMS || update.categories.len() > MAX_CATEGORIES {
            return Err(ServiceError::Invalid(InvalidInput::new(
                "add_labels",
                format!(
                    "the file's labels would make more than {MAX_TEAMS} teams or {MAX_CATEGORIES} categories"
                ),
            )));
        }
        if !teams_added.is_empty() || !categories_added.is_empty() {
            settings::update(conn, org, &update).await?;
        }
        (teams_added, categories_added)
    } else {
        rows.retain(|(line, r)| {
            let unknown = [
                ("team", r.ticket.assigned_team.as_ref(), &current.teams),
                ("category", r.ticket.category.as_ref(), &current.categories),
            ]
            .into_iter()
            .find(|(_, label, known)| label.is_some_and(|l| !known.contains(l)));
            if let Some((field, Some(label), _)) = unknown {
                errors.push(RowError::new(
                    *line,
                    Some(field),
                    format!("'{label}' is not one of the org's {field} labels (add it in Settings, or import with add_labels)"),
                ));
            }
            unknown.is_none()
        });
        errors.sort_by_key(|e| e.line);
        (Vec::new(), Vec::new())
    };
    let tickets: Vec<ImportedTicket> = rows.iter().map(|(_, t)| t.clone()).collect();
    let (created, _) = if tickets.is_empty() {
        (0, Vec::new())
    } else {
        tickets::import_many(conn, org, &tickets, actor).await?
    };
    if created > 0 {
        // New labelled history: the org's models are due for retraining.
        settings::touch_labels(conn, org).await?;
    }
    Ok(ImportReport {
        rows: total,
        created,
        existing: rows.len() - created,
        errors,
        teams_added,
        categories_added,
    })
}

/// Imports a file's rows for an admin of the org, in one transaction.
#[tracing::instrument(skip_all, fields(org_id = %org, bytes = text.len()), err)]
pub async fn import(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    format: Format,
    text: &str,
    add_labels: bool,
) -> Result<ImportReport, ServiceError> {
    let parsed = parse(format, text)
        .map_err(|e| ServiceError::Invalid(InvalidInput::new("file", e.to_string())))?;
    let (mut tx, caller) = access::begin(pool, user, org, Role::Admin).await?;
    let report = import_in_tx(&mut tx, org, parsed, add_labels, Actor::User(caller.user)).await?;
    tx.commit().await?;
    tracing::info!(
        created = report.created,
        existing = report.existing,
        errors = report.errors.len(),
        "history imported"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_checked_and_bad_ones_named_by_line() {
        let text = "subject,body,team,category,priority,status,created_at,external_id\n\
                    Refund please,I want my money back,Billing,refund,low,,2026-11-30,r-1\n\
                    ,no subject here,Billing,refund,low,resolved,,r-2\n\
                    Login broken,\"multi\nline body\",Accounts,login,critical,resolved,,r-3\n\
                    Again,dup,Billing,refund,low,resolved,,r-1\n\
                    When,never,Billing,refund,low,resolved,yesterday,r-5\n\
                    Short,row\n";
        let Parsed { rows, errors } = parse(Format::Csv, text).unwrap();
        assert_eq!(rows.len(), 1);
        let (line, first) = &rows[0];
        assert_eq!(*line, 2);
        assert_eq!(first.status, TicketStatus::Resolved, "the default");
        assert_eq!(first.ticket.priority, Priority::Low);
        assert_eq!(first.ticket.assigned_team.as_deref(), Some("Billing"));
        assert_eq!(first.ticket.requester_email.as_str(), UNKNOWN_REQUESTER);
        assert_eq!(
            first.created_at.unwrap().to_rfc3339(),
            "2026-11-30T00:00:00+00:00"
        );
        let named: Vec<(usize, Option<&str>)> = errors
            .iter()
            .map(|e| (e.line, e.field.as_deref()))
            .collect();
        // The multi-line body moves the later rows' line numbers down by one.
        assert_eq!(
            named,
            vec![
                (3, Some("subject")),
                (4, Some("priority")),
                (6, Some("external_id")),
                (7, Some("created_at")),
                (8, None),
            ]
        );
        assert!(errors[2].reason.contains("line 2"), "{:?}", errors[2]);
    }

    #[test]
    fn json_lines_refuse_unknown_fields_and_skip_blank_lines() {
        let text = "{\"subject\":\"A\",\"team\":\"Billing\",\"external_id\":\"j-1\"}\n\n\
                    {\"subject\":\"B\",\"teams\":\"Billing\"}\n\
                    not json\n\
                    {\"subject\":\"C\",\"external_id\":\"a\\u0000b\"}\n";
        let Parsed { rows, errors } = parse(Format::JsonLines, text).unwrap();
        assert_eq!(rows.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![1]);
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        // Postgres refuses a NUL in text: the row is refused here, not with a 500.
        assert_eq!(errors[2].field.as_deref(), Some("external_id"));
        assert!(errors[0].reason.contains("teams"), "{:?}", errors[0]);
    }

    #[test]
    fn a_csv_header_must_name_known_columns_and_a_subject() {
        assert!(matches!(
            parse(Format::Csv, "subject,teams\nA,B\n"),
            Err(ImportError::UnknownColumn(c)) if c == "teams"
        ));
        assert!(matches!(
            parse(Format::Csv, "body\nA\n"),
            Err(ImportError::MissingColumn("subject"))
        ));
        let many = format!("subject\n{}", "x\n".repeat(MAX_ROWS + 1));
        assert!(matches!(
            parse(Format::Csv, &many),
            Err(ImportError::TooManyRows)
        ));
    }

    #[test]
    fn media_types_name_the_format() {
        assert_eq!(
            Format::from_media_type("text/csv; charset=utf-8"),
            Some(Format::Csv)
        );
        assert_eq!(
            Format::from_media_type("application/x-ndjson"),
            Some(Format::JsonLines)
        );
        assert_eq!(Format::from_media_type("application/json"), None);
    }
}
