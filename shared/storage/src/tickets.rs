use chrono::{DateTime, Utc};
use nexify_domain::{
    Email, ExternalId, OrgId, Priority, Subject, TicketBody, TicketId, TicketStatus, UserId,
};
use serde::Serialize;
use sqlx::PgConnection;

use crate::events::Actor;
use crate::{Admission, StorageError};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Ticket {
    pub id: TicketId,
    pub organization_id: OrgId,
    pub requester_email: String,
    pub subject: String,
    pub body: String,
    pub status: TicketStatus,
    pub priority: Priority,
    #[schema(required = true)]
    pub assigned_team: Option<String>,
    /// The category an agent confirmed (or accepted from a suggestion); a training label.
    #[schema(required = true)]
    pub category: Option<String>,
    #[schema(required = true)]
    pub external_id: Option<String>,
    #[schema(required = true)]
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A ticket as it arrives, already parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    pub requester_email: Email,
    pub subject: Subject,
    pub body: TicketBody,
    pub priority: Priority,
    pub assigned_team: Option<String>,
    pub category: Option<String>,
    pub external_id: Option<ExternalId>,
}

/// The fields a person may change on a ticket. `None` leaves a field as it is; for the team,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketChanges {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub assigned_team: Option<Option<String>>,
    pub category: Option<Option<String>>,
}

impl TicketChanges {
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.priority.is_none()
            && self.assigned_team.is_none()
            && self.category.is_none()
    }
}

pub(crate) const COLUMNS: &str = "id, organization_id, requester_email, subject, body, status,
    priority, assigned_team, category, external_id, resolved_at, created_at, updated_at";

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn insert(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: &NewTicket,
) -> Result<Ticket, StorageError> {
    Ok(sqlx::query_as(sql!(
        "INSERT INTO tickets (organization_id, requester_email, subject, body, priority,
             assigned_team, external_id, category)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(ticket.requester_email.as_str())
    .bind(ticket.subject.as_str())
    .bind(ticket.body.as_str())
    .bind(ticket.priority)
    .bind(&ticket.assigned_team)
    .bind(ticket.external_id.as_ref().map(ExternalId::as_str))
    .bind(&ticket.category)
    .fetch_one(conn)
    .await?)
}

/// Inserts the ticket unless the org already has one with the same `external_id`; returns
/// the ticket and whether it was created now. Safe under concurrent duplicates: the unique
/// constraint decides, and the loser reads the winner's row.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn insert_or_get_by_external_id(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: &NewTicket,
    external_id: &ExternalId,
) -> Result<(Ticket, bool), StorageError> {
    let inserted: Option<Ticket> = sqlx::query_as(sql!(
        "INSERT INTO tickets (organization_id, requester_email, subject, body, priority,
             assigned_team, external_id, category)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT ON CONSTRAINT tickets_org_external_id_unique DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(ticket.requester_email.as_str())
    .bind(ticket.subject.as_str())
    .bind(ticket.body.as_str())
    .bind(ticket.priority)
    .bind(&ticket.assigned_team)
    .bind(external_id.as_str())
    .bind(&ticket.category)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(ticket) = inserted {
        return Ok((ticket, true));
    }
    let existing = sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM tickets WHERE organization_id = $1 AND external_id = $2"
    ))
    .bind(org)
    .bind(external_id.as_str())
    .fetch_one(conn)
    .await?;
    Ok((existing, false))
}

/// A ticket from an org's history, as an import brings it: with its status, labels and
/// original creation time.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedTicket {
    pub ticket: NewTicket,
    pub status: TicketStatus,
    pub created_at: Option<DateTime<Utc>>,
}

/// Inserts `rows` in one statement, skipping each whose `external_id` the org already has,
/// and writes a `ticket_created` event (by `actor`, payload `source: import`) for each one
/// inserted. Returns how many were inserted and the external ids of those inserted.
#[tracing::instrument(skip_all, fields(org_id = %org, rows = rows.len()), err)]
pub async fn import_many(
    conn: &mut PgConnection,
    org: OrgId,
    rows: &[ImportedTicket],
    actor: Actor,
) -> Result<(usize, Vec<String>), StorageError> {
    let column = |f: &dyn Fn(&ImportedTicket) -> Option<String>| -> Vec<Option<String>> {
        rows.iter().map(f).collect()
    };
    let created: Vec<(Option<String>,)> = sqlx::query_as(
        "WITH input AS (
             SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                  $7::text[], $8::text[], $9::text[], $10::timestamptz[])
                 WITH ORDINALITY AS r(requester_email, subject, body, status, priority,
                                      assigned_team, category, external_id, created_at, n)
         ), inserted AS (
             INSERT INTO tickets (organization_id, requester_email, subject, body, status,
                 priority, assigned_team, category, external_id, created_at, resolved_at)
             SELECT $1, requester_email, subject, body, status, priority, assigned_team,
                    category, external_id, coalesce(created_at, now()),
                    CASE WHEN status = 'resolved' THEN coalesce(created_at, now()) END
             FROM input ORDER BY n
             ON CONFLICT ON CONSTRAINT tickets_org_external_id_unique DO NOTHING
             RETURNING id, external_id
         ), events AS (
             INSERT INTO ticket_events (organization_id, ticket_id, event_type, actor_type,
                 actor_user_id, payload)
             SELECT $1, id, 'ticket_created', $11, $12,
                    jsonb_build_object('source', 'import', 'external_id', external_id)
             FROM inserted
         )
         SELECT external_id FROM inserted",
    )
    .bind(org)
    .bind(column(&|r| {
        Some(r.ticket.requester_email.as_str().to_owned())
    }))
    .bind(column(&|r| Some(r.ticket.subject.as_str().to_owned())))
    .bind(column(&|r| Some(r.ticket.body.as_str().to_owned())))
    .bind(column(&|r| Some(r.status.as_str().to_owned())))
    .bind(column(&|r| Some(r.ticket.priority.as_str().to_owned())))
    .bind(column(&|r| r.ticket.assigned_team.clone()))
    .bind(column(&|r| r.ticket.category.clone()))
    .bind(column(&|r| {
        r.ticket.external_id.as_ref().map(|e| e.as_str().to_owned())
    }))
    .bind(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
    .bind(actor.actor_type())
    .bind(actor.user_id())
    .fetch_all(conn)
    .await?;
    let count = created.len();
    Ok((count, created.into_iter().filter_map(|(e,)| e).collect()))
}

#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %id), err)]
pub async fn get(
    conn: &mut PgConnection,
    org: OrgId,
    id: TicketId,
) -> Result<Ticket, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM tickets WHERE organization_id = $1 AND id = $2"
    ))
    .bind(org)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// Reads and locks the org's ticket with a webhook sender's `external_id`, if there is one.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn get_by_external_id_for_update(
    conn: &mut PgConnection,
    org: OrgId,
    external_id: &ExternalId,
) -> Result<Option<Ticket>, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM tickets WHERE organization_id = $1 AND external_id = $2
         FOR UPDATE"
    ))
    .bind(org)
    .bind(external_id.as_str())
    .fetch_optional(conn)
    .await?)
}

/// Reads and locks a ticket, so the caller can compute a before/after audit record that no
/// concurrent change can invalidate.
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %id), err)]
pub async fn get_for_update(
    conn: &mut PgConnection,
    org: OrgId,
    id: TicketId,
) -> Result<Ticket, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM tickets WHERE organization_id = $1 AND id = $2 FOR UPDATE"
    ))
    .bind(org)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// Applies `changes`; `resolved_at` follows the status.
#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %id), err)]
pub async fn update(
    conn: &mut PgConnection,
    org: OrgId,
    id: TicketId,
    changes: &TicketChanges,
) -> Result<Ticket, StorageError> {
    let (set_team, team) = match &changes.assigned_team {
        Some(team) => (true, team.clone()),
        None => (false, None),
    };
    let (set_category, category) = match &changes.category {
        Some(category) => (true, category.clone()),
        None => (false, None),
    };
    Ok(sqlx::query_as(sql!(
        "UPDATE tickets SET
             status = COALESCE($3, status),
             priority = COALESCE($4, priority),
             assigned_team = CASE WHEN $5 THEN $6 ELSE assigned_team END,
             category = CASE WHEN $7 THEN $8 ELSE category END,
             resolved_at = CASE
                 WHEN $3 IS NULL THEN resolved_at
                 WHEN $3 = 'resolved' THEN COALESCE(resolved_at, now())
                 ELSE NULL END
         WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(id)
    .bind(changes.status)
    .bind(changes.priority)
    .bind(set_team)
    .bind(team)
    .bind(set_category)
    .bind(category)
    .fetch_one(conn)
    .await?)
}

/// Filters for listing tickets. `q` is Postgres full-text search (websearch syntax) over the
/// subject (weighted higher) and body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub assigned_team: Option<String>,
    pub category: Option<String>,
    pub q: Option<String>,
}

/// The orders a ticket list can have. Keyset pagination walks `(column, id)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TicketOrder {
    #[default]
    CreatedDesc,
    CreatedAsc,
    UpdatedDesc,
    UpdatedAsc,
}

impl TicketOrder {
    fn column(self) -> &'static str {
        match self {
            TicketOrder::CreatedDesc | TicketOrder::CreatedAsc => "created_at",
            TicketOrder::UpdatedDesc | TicketOrder::UpdatedAsc => "updated_at",
        }
    }

    fn descending(self) -> bool {
        matches!(self, TicketOrder::CreatedDesc | TicketOrder::UpdatedDesc)
    }

    /// The timestamp this order sorts by, for building the next cursor.
    pub fn key_of(self, ticket: &Ticket) -> DateTime<Utc> {
        match self {
            TicketOrder::CreatedDesc | TicketOrder::CreatedAsc => ticket.created_at,
            TicketOrder::UpdatedDesc | TicketOrder::UpdatedAsc => ticket.updated_at,
        }
    }
}

/// How many tickets have each status (statuses with none may be missing).
pub type StatusCounts = Vec<(TicketStatus, i64)>;

/// One page of the org's tickets as `user` may list them, with the per-status counts of the
/// tickets that match the filter (its status aside): [`PAGE_AS_MEMBER_SQL`], one statement
/// that also enters the org (scope and membership check), so one round trip. The page is at
/// most `limit` tickets in `order`, strictly after `after`.
#[tracing::instrument(skip_all, fields(org_id = %org, user_id = %user), err)]
pub async fn page_as_member<'c, E: sqlx::PgExecutor<'c>>(
    conn: E,
    org: OrgId,
    user: UserId,
    filter: &TicketFilter,
    order: TicketOrder,
    after: Option<(DateTime<Utc>, TicketId)>,
    limit: i64,
) -> Result<Admission<(Vec<Ticket>, StatusCounts)>, StorageError> {
    use sqlx::{FromRow, Row};
    let rows = sqlx::query(PAGE_AS_MEMBER_SQL)
        .bind(org)
        .bind(user)
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.priority.map(|p| p.as_str()))
        .bind(filter.assigned_team.as_deref())
        .bind(filter.category.as_deref())
        .bind(filter.q.as_deref())
        .bind(order.column())
        .bind(order.descending())
        .bind(after.map(|(at, _)| at))
        .bind(after.map(|(_, id)| id))
        .bind(limit)
        .fetch_all(conn)
        .await;
    let rows = match Admission::of(rows)? {
        Admission::Admitted(rows) => rows,
        Admission::NotMember => return Ok(Admission::NotMember),
        Admission::BelowRole => return Ok(Admission::BelowRole),
    };
    let mut counts = StatusCounts::new();
    let mut items = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if i == 0 {
            counts = row
                .try_get::<sqlx::types::Json<StatusCounts>, _>("status_counts")?
                .0;
        }
        // An empty page is one row of counts with no ticket.
        if row.try_get::<Option<TicketId>, _>("id")?.is_some() {
            items.push(Ticket::from_row(row)?);
        }
    }
    Ok(Admission::Admitted((items, counts)))
}

/// What [`page_as_member`] runs (the SQL function `ticket_page`), also replayed by the
/// benchmarks: `$1` org, `$2` user, `$3`–`$7` the filter (status, priority, team, category,
/// text), `$8` the order's column, `$9` whether it descends, `$10`–`$11` the cursor, `$12`
/// the page size.
pub const PAGE_AS_MEMBER_SQL: &str =
    "SELECT * FROM ticket_page($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// A ticket whose labels are settled: resolved, or with an accepted suggestion.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LabelledTicket {
    pub id: TicketId,
    pub subject: String,
    pub body: String,
    pub priority: Priority,
    pub assigned_team: Option<String>,
    pub category: Option<String>,
}

/// Which tickets (`t`) count as labelled: resolved, or with an accepted suggestion. The SQL
/// function `ticket_is_labelled` says the same for the triggers; a test checks they agree.
pub(crate) const LABELLED: &str = "(t.status = 'resolved' OR EXISTS (
        SELECT 1 FROM suggestions s
        WHERE s.organization_id = t.organization_id AND s.ticket_id = t.id
          AND s.status = 'accepted'))";

/// The org's (`$1`) most recent labelled tickets, at most `limit` (a parameter such as
/// `"$2"`): one query for what training reads and for what is embedded ahead of it, so both
/// pick the same tickets.
fn recent_labelled(limit: &str) -> String {
    format!(
        "SELECT t.id, t.subject, t.body, t.priority, t.assigned_team, t.category FROM tickets t
             WHERE t.organization_id = $1 AND {LABELLED}
             -- The id breaks ties (a bulk import shares one updated_at), so that
             -- retraining on the same history sees it in the same order.
             ORDER BY t.updated_at DESC, t.id DESC LIMIT {limit}"
    )
}

/// Up to `batch` of the org's `within` most recent labelled tickets (the ones
/// [`labelled`] returns) that have no embedding by `embedder` yet.
#[tracing::instrument(skip_all, fields(org_id = %org, embedder), err)]
pub async fn labelled_without_embedding(
    conn: &mut PgConnection,
    org: OrgId,
    embedder: &str,
    within: i64,
    batch: i64,
) -> Result<Vec<LabelledTicket>, StorageError> {
    Ok(sqlx::query_as(sql!(
        "WITH recent AS ({})
         SELECT r.* FROM recent r
         WHERE NOT EXISTS (
             SELECT 1 FROM ticket_embeddings e
             WHERE e.organization_id = $1 AND e.ticket_id = r.id AND e.embedder = $2)
         LIMIT $4",
        recent_labelled("$3")
    ))
    .bind(org)
    .bind(embedder)
    .bind(within)
    .bind(batch)
    .fetch_all(conn)
    .await?)
}

/// The org's labelled history, the training data of its triage models, newest first.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn labelled(
    conn: &mut PgConnection,
    org: OrgId,
    limit: i64,
) -> Result<Vec<LabelledTicket>, StorageError> {
    Ok(sqlx::query_as(sql!("{}", recent_labelled("$2")))
        .bind(org)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}
