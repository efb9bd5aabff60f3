//! Tickets: listing with filters and keyset pagination, creation, reading, changing, and
//! the audit trail. Every change writes its TicketEvent in the same transaction.

use nexify_domain::{Label, OrgId, Role, TicketEventId, TicketId, TicketStatus, UserId};
use nexify_storage::events::{self, Actor, NewEvent, TicketEvent};
use nexify_storage::tickets::{self, NewTicket, Ticket, TicketChanges, TicketFilter, TicketOrder};
use nexify_storage::{PgConnection, PgPool, settings};
use serde::Serialize;

use crate::{ServiceError, access};

use crate::paging::keyset_page;
pub use crate::paging::{Cursor, DEFAULT_PAGE, MAX_PAGE};

/// The fields every way of creating a ticket shares (the API, webhooks), as a request names
/// them; [`NewTicket::try_from`] checks them once for all. Each way adds its own fields to
/// the result (a team, an external id).
#[derive(Debug, Clone, PartialEq)]
pub struct TicketFields {
    pub requester_email: String,
    pub subject: String,
    pub body: String,
    /// `medium` when not given.
    pub priority: Option<nexify_domain::Priority>,
}

impl TryFrom<TicketFields> for NewTicket {
    type Error = nexify_domain::InvalidInput;

    fn try_from(fields: TicketFields) -> Result<Self, Self::Error> {
        Ok(NewTicket {
            requester_email: nexify_domain::Email::parse(
                "requester_email",
                &fields.requester_email,
            )?,
            subject: nexify_domain::Subject::parse(&fields.subject)?,
            body: nexify_domain::TicketBody::parse(&fields.body)?,
            priority: fields.priority.unwrap_or(nexify_domain::Priority::Medium),
            assigned_team: None,
            category: None,
            external_id: None,
        })
    }
}

pub fn order_name(order: TicketOrder) -> &'static str {
    match order {
        TicketOrder::CreatedDesc => "-created_at",
        TicketOrder::CreatedAsc => "created_at",
        TicketOrder::UpdatedDesc => "-updated_at",
        TicketOrder::UpdatedAsc => "updated_at",
    }
}

pub fn parse_order(raw: &str) -> Result<TicketOrder, nexify_domain::InvalidInput> {
    [
        TicketOrder::CreatedDesc,
        TicketOrder::CreatedAsc,
        TicketOrder::UpdatedDesc,
        TicketOrder::UpdatedAsc,
    ]
    .into_iter()
    .find(|o| order_name(*o) == raw)
    .ok_or_else(|| {
        nexify_domain::InvalidInput::new(
            "ordering",
            "must be one of -created_at, created_at, -updated_at, updated_at",
        )
    })
}

/// What a list request asks for, already parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketQuery {
    pub filter: TicketFilter,
    pub order: TicketOrder,
    pub cursor: Option<Cursor>,
    pub limit: i64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct StatusCounts {
    #[schema(minimum = 0)]
    pub open: i64,
    #[schema(minimum = 0)]
    pub in_progress: i64,
    #[schema(minimum = 0)]
    pub resolved: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketPage {
    pub items: Vec<Ticket>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
    /// Counts per status under the same filters except `status`, for the console's tabs.
    pub counts: StatusCounts,
}

#[tracing::instrument(skip_all, fields(org_id = %org, user_id = %user), err)]
pub async fn list<'c, E: sqlx::PgExecutor<'c>>(
    conn: E,
    user: UserId,
    org: OrgId,
    query: &TicketQuery,
) -> Result<TicketPage, ServiceError> {
    let order = order_name(query.order);
    let after = match &query.cursor {
        Some(c) if c.order != order => {
            return Err(nexify_domain::InvalidInput::new(
                "cursor",
                "belongs to a different ordering",
            )
            .into());
        }
        Some(c) => Some((c.at, TicketId(c.id))),
        None => None,
    };
    let limit = query.limit.clamp(1, MAX_PAGE);
    // One extra row tells whether another page exists. No transaction: the page, its counts
    // and the membership check are one statement.
    let (items, per_status) = access::admitted(
        tickets::page_as_member(
            conn,
            org,
            user,
            &query.filter,
            query.order,
            after,
            limit + 1,
        )
        .await?,
        Role::Viewer,
    )?;
    let (items, next_cursor) = keyset_page(items, limit, |t| Cursor {
        order: order.to_owned(),
        at: query.order.key_of(t),
        id: t.id.0,
    });
    let mut counts = StatusCounts::default();
    for (status, n) in per_status {
        match status {
            TicketStatus::Open => counts.open = n,
            TicketStatus::InProgress => counts.in_progress = n,
            TicketStatus::Resolved => counts.resolved = n,
        }
    }
    Ok(TicketPage {
        items,
        next_cursor,
        counts,
    })
}

/// A team must be one of the org's configured teams, when it has any.
async fn check_team(conn: &mut PgConnection, org: OrgId, team: &str) -> Result<(), ServiceError> {
    let label = Label::parse("assigned_team", team)?;
    let teams = settings::get(conn, org).await?.teams;
    if !teams.is_empty() && !teams.iter().any(|t| t == label.as_str()) {
        return Err(nexify_domain::InvalidInput::new(
            "assigned_team",
            format!(
                "must be one of the organization's teams: {}",
                teams.join(", ")
            ),
        )
        .into());
    }
    Ok(())
}

/// A category must be one of the org's configured categories, when it has any.
async fn check_category(
    conn: &mut PgConnection,
    org: OrgId,
    category: &str,
) -> Result<(), ServiceError> {
    let label = Label::parse("category", category)?;
    let categories = settings::get(conn, org).await?.categories;
    if !categories.is_empty() && !categories.iter().any(|c| c == label.as_str()) {
        return Err(nexify_domain::InvalidInput::new(
            "category",
            format!(
                "must be one of the organization's categories: {}",
                categories.join(", ")
            ),
        )
        .into());
    }
    Ok(())
}

/// Inserts a ticket and its `ticket_created` event on an open, org-scoped connection.
pub async fn insert_with_event(
    conn: &mut PgConnection,
    org: OrgId,
    new: &NewTicket,
    actor: Actor,
    source: &str,
) -> Result<Ticket, ServiceError> {
    let ticket = tickets::insert(conn, org, new).await?;
    record_created(conn, org, &ticket, actor, source).await?;
    Ok(ticket)
}

pub(crate) async fn record_created(
    conn: &mut PgConnection,
    org: OrgId,
    ticket: &Ticket,
    actor: Actor,
    source: &str,
) -> Result<(), ServiceError> {
    events::insert(
        conn,
        org,
        &NewEvent {
            ticket_id: ticket.id,
            job_run_id: None,
            event_type: "ticket_created",
            actor,
            payload: serde_json::json!({
                "source": source,
                "after": {
                    "status": ticket.status,
                    "priority": ticket.priority,
                    "assigned_team": ticket.assigned_team,
                },
            }),
        },
    )
    .await?;
    crate::outbound::emit(conn, org, "ticket.created", ticket).await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(org_id = %org, user_id = %user), err)]
pub async fn create<D: crate::triage::jobs::Dispatch>(
    pool: &PgPool,
    dispatcher: &D,
    user: UserId,
    org: OrgId,
    new: &NewTicket,
) -> Result<Ticket, ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Agent).await?;
    if let Some(team) = &new.assigned_team {
        check_team(&mut tx, org, team).await?;
    }
    let ticket = insert_with_event(&mut tx, org, new, Actor::User(caller.user), "api").await?;
    let auto = settings::get(&mut tx, org).await?.auto_triage_api;
    let job = crate::triage::jobs::auto_triage(&mut tx, org, &ticket, auto).await?;
    tx.commit().await?;
    tracing::info!(ticket_id = %ticket.id, auto_triage = auto, "ticket created");
    if let Some(job) = job {
        crate::triage::jobs::dispatch(pool, dispatcher, &job).await;
    }
    Ok(ticket)
}

#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %id), err)]
pub async fn get(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    id: TicketId,
) -> Result<Ticket, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Viewer).await?;
    let ticket = tickets::get(&mut tx, org, id).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// One event per field that really changed: `(event_type, before, after)`.
pub fn diff(before: &Ticket, after: &Ticket) -> Vec<(&'static str, serde_json::Value)> {
    let mut out = Vec::new();
    let mut field =
        |event: &'static str, name: &str, old: serde_json::Value, new: serde_json::Value| {
            if old != new {
                out.push((
                    event,
                    serde_json::json!({ "before": { name: old }, "after": { name: new } }),
                ));
            }
        };
    field(
        "status_changed",
        "status",
        serde_json::json!(before.status),
        serde_json::json!(after.status),
    );
    field(
        "priority_changed",
        "priority",
        serde_json::json!(before.priority),
        serde_json::json!(after.priority),
    );
    field(
        "team_changed",
        "assigned_team",
        serde_json::json!(before.assigned_team),
        serde_json::json!(after.assigned_team),
    );
    field(
        "category_changed",
        "category",
        serde_json::json!(before.category),
        serde_json::json!(after.category),
    );
    out
}

/// Applies `changes` under a row lock and records one event per changed field
/// (`status_changed`, `priority_changed`, `team_changed`) with its before and after values,
/// on the caller's transaction. A change that changes nothing writes nothing.
pub async fn apply_changes(
    conn: &mut PgConnection,
    org: OrgId,
    id: TicketId,
    changes: &TicketChanges,
    actor: Actor,
    job_run: Option<nexify_domain::JobRunId>,
) -> Result<Ticket, ServiceError> {
    let before = tickets::get_for_update(conn, org, id).await?;
    if let Some(Some(team)) = &changes.assigned_team {
        check_team(conn, org, team).await?;
    }
    if let Some(Some(category)) = &changes.category {
        check_category(conn, org, category).await?;
    }
    let after = tickets::update(conn, org, id, changes).await?;
    let changed = diff(&before, &after);
    // A resolved ticket's labels are training data: note the change for the trainer.
    if !changed.is_empty() && after.status == TicketStatus::Resolved {
        settings::touch_labels(conn, org).await?;
    }
    if !changed.is_empty() {
        let fields: Vec<&str> = changed.iter().map(|(event, _)| *event).collect();
        crate::outbound::emit(
            conn,
            org,
            "ticket.updated",
            &serde_json::json!({ "ticket": after, "changes": fields }),
        )
        .await?;
    }
    for (event_type, payload) in changed {
        events::insert(
            conn,
            org,
            &NewEvent {
                ticket_id: id,
                job_run_id: job_run,
                event_type,
                actor,
                payload,
            },
        )
        .await?;
    }
    Ok(after)
}

#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %id), err)]
pub async fn update(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    id: TicketId,
    changes: &TicketChanges,
) -> Result<Ticket, ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Agent).await?;
    let ticket = apply_changes(&mut tx, org, id, changes, Actor::User(caller.user), None).await?;
    tx.commit().await?;
    Ok(ticket)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub items: Vec<TicketEvent>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[tracing::instrument(skip_all, fields(org_id = %org, ticket_id = %ticket), err)]
pub async fn events(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    ticket: TicketId,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<EventPage, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Viewer).await?;
    // 404 for a ticket that is not there, rather than an empty list.
    tickets::get(&mut tx, org, ticket).await?;
    let before = Cursor::position::<TicketEventId>(cursor.as_ref(), "events")?;
    let limit = limit.clamp(1, MAX_PAGE);
    let items = events::list_for_ticket(&mut tx, org, ticket, before, limit + 1).await?;
    let (items, next_cursor) = keyset_page(items, limit, |e| Cursor {
        order: "events".into(),
        at: e.created_at,
        id: e.id.0,
    });
    tx.commit().await?;
    Ok(EventPage { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_parse_by_name() {
        assert_eq!(
            parse_order("-updated_at").unwrap(),
            TicketOrder::UpdatedDesc
        );
        assert_eq!(parse_order("bogus").unwrap_err().field, "ordering");
    }
}
