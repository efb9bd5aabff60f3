//! Tickets of one org:
//! - `GET /api/orgs/{org}/tickets/` with `status`, `priority`, `assigned_team`, `category`, `q`,
//!   `ordering`, `cursor`, `limit` (≤ 100); returns a page and counts per status
//! - `POST /api/orgs/{org}/tickets/`
//! - `GET` / `PATCH /api/orgs/{org}/tickets/{id}/` (status, priority, assigned_team)
//! - `GET /api/orgs/{org}/tickets/{id}/events/` with `cursor`, `limit`
//! - `GET` / `POST /api/orgs/{org}/tickets/{id}/messages/`: the conversation, oldest first;
//!   agents write `{kind: reply|note, body}`
//! - `POST /api/orgs/{org}/imports/` (admin): labelled history as CSV or JSON lines

use std::collections::HashMap;

use lambda_http::http::StatusCode;
use nexify_api::bodies::{NewMessage, NewTicketBody, TicketPatchBody};
use nexify_auth::TokenVerifier;
use nexify_domain::{InvalidInput, OrgId, TicketId, UserId, parse_limit};
use nexify_http::{
    ApiError, Body, OrgCaller, Request, Response, json, parse_json, path_param, query_params,
    text_body,
};
use nexify_queue::{DeliveryQueue, SqsDispatcher};
use nexify_service::ServiceError;
use nexify_service::paging::page_params;
use nexify_service::tickets::{self as service, Cursor, TicketFields, TicketPage, TicketQuery};
use nexify_service::{conversations, imports, outbound};
use nexify_storage::tickets::{NewTicket, TicketChanges, TicketFilter};
use nexify_storage::{HeldConnection, PgPool};

fn parse_list_query(params: &HashMap<String, String>) -> Result<TicketQuery, InvalidInput> {
    const KNOWN: [&str; 8] = [
        "status",
        "priority",
        "assigned_team",
        "category",
        "q",
        "ordering",
        "cursor",
        "limit",
    ];
    if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(InvalidInput::new(
            "query",
            format!("unknown parameter '{unknown}'"),
        ));
    }
    let non_empty = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let limit = parse_limit(non_empty("limit"), service::DEFAULT_PAGE, service::MAX_PAGE)?;
    Ok(TicketQuery {
        filter: TicketFilter {
            status: non_empty("status").map(str::parse).transpose()?,
            priority: non_empty("priority").map(str::parse).transpose()?,
            assigned_team: non_empty("assigned_team").map(str::to_owned),
            category: non_empty("category").map(str::to_owned),
            q: non_empty("q").map(|q| q.chars().take(500).collect()),
        },
        order: non_empty("ordering")
            .map(service::parse_order)
            .transpose()?
            .unwrap_or_default(),
        cursor: non_empty("cursor").map(Cursor::decode).transpose()?,
        limit,
    })
}

pub struct App {
    pool: PgPool,
    /// The list, the console's most frequent request, reads on a connection the instance
    /// holds between requests instead of one from the pool.
    held: HeldConnection,
    verifier: TokenVerifier,
    /// For auto-triage of new tickets, when the org turns it on.
    dispatcher: SqsDispatcher,
    deliveries: Option<DeliveryQueue>,
}

impl App {
    pub fn new(pool: PgPool, verifier: TokenVerifier, dispatcher: SqsDispatcher) -> Self {
        Self {
            held: HeldConnection::new(pool.clone()),
            pool,
            verifier,
            dispatcher,
            deliveries: None,
        }
    }

    /// Also hands the outbound-webhook deliveries a request writes to their queue, as soon
    /// as its transaction is over (without a queue, the sweep does on its next run).
    pub fn with_deliveries(mut self, queue: DeliveryQueue) -> Self {
        self.deliveries = Some(queue);
        self
    }

    pub async fn handle(&self, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
        let (response, emitted) =
            outbound::collecting(nexify_http::serve(req, |req, _| self.route(req))).await;
        if let Some(queue) = &self.deliveries {
            outbound::dispatch(&self.pool, queue, &emitted).await;
        }
        response
    }

    /// The list on the held connection. When that connection turns out to be gone (a
    /// failover, a restart), once more on a fresh one, as the pool would have handed out a
    /// checked one.
    async fn list(
        &self,
        user: UserId,
        org: OrgId,
        query: &TicketQuery,
    ) -> Result<TicketPage, ServiceError> {
        match self.list_once(user, org, query).await {
            Err(ServiceError::Storage(e)) if e.is_transient() => {
                self.list_once(user, org, query).await
            }
            listed => listed,
        }
    }

    async fn list_once(
        &self,
        user: UserId,
        org: OrgId,
        query: &TicketQuery,
    ) -> Result<TicketPage, ServiceError> {
        let mut conn = self.held.get().await?;
        let listed = service::list(&mut *conn, user, org, query).await;
        if matches!(listed, Err(ServiceError::Storage(_))) {
            // Its state after a database error is not known.
            conn.discard();
        }
        listed
    }

    async fn route(&self, req: Request) -> Result<Response<Body>, ApiError> {
        let route = nexify_http::route(&req)?;
        let OrgCaller { user, org } = OrgCaller::from_request(&req, &self.verifier)?;
        match route {
            "GET /api/orgs/{org}/tickets/" => {
                let query = parse_list_query(&query_params(&req)?)?;
                Ok(json(StatusCode::OK, &self.list(user, org, &query).await?))
            }
            "POST /api/orgs/{org}/tickets/" => {
                let NewTicketBody {
                    requester_email,
                    subject,
                    body,
                    priority,
                    assigned_team,
                } = parse_json(&req)?;
                let fields = TicketFields {
                    requester_email,
                    subject,
                    body,
                    priority,
                };
                let new = NewTicket {
                    assigned_team,
                    ..fields.try_into()?
                };
                let ticket = service::create(&self.pool, &self.dispatcher, user, org, &new).await?;
                Ok(json(StatusCode::CREATED, &ticket))
            }
            "GET /api/orgs/{org}/tickets/{id}/" => {
                let id: TicketId = path_param(&req, "id")?;
                Ok(json(
                    StatusCode::OK,
                    &service::get(&self.pool, user, org, id).await?,
                ))
            }
            "PATCH /api/orgs/{org}/tickets/{id}/" => {
                let id: TicketId = path_param(&req, "id")?;
                let body: TicketPatchBody = parse_json(&req)?;
                let changes = TicketChanges {
                    status: body.status,
                    priority: body.priority,
                    assigned_team: body.assigned_team,
                    category: body.category,
                };
                if changes.is_empty() {
                    return Err(ApiError::validation(
                        "body",
                        "name at least one of status, priority, assigned_team, category",
                    ));
                }
                Ok(json(
                    StatusCode::OK,
                    &service::update(&self.pool, user, org, id, &changes).await?,
                ))
            }
            "GET /api/orgs/{org}/tickets/{id}/events/" => {
                let id: TicketId = path_param(&req, "id")?;
                // The trail is read in longer pages than lists are.
                let (cursor, limit) = page_params(&query_params(&req)?, 50)?;
                let page = service::events(&self.pool, user, org, id, cursor, limit).await?;
                Ok(json(StatusCode::OK, &page))
            }
            "GET /api/orgs/{org}/tickets/{id}/messages/" => {
                let id: TicketId = path_param(&req, "id")?;
                let (cursor, limit) = page_params(&query_params(&req)?, 50)?;
                let page = conversations::list(&self.pool, user, org, id, cursor, limit).await?;
                Ok(json(StatusCode::OK, &page))
            }
            "POST /api/orgs/{org}/tickets/{id}/messages/" => {
                let id: TicketId = path_param(&req, "id")?;
                let body: NewMessage = parse_json(&req)?;
                let message =
                    conversations::write(&self.pool, user, org, id, body.kind, &body.body).await?;
                Ok(json(StatusCode::CREATED, &message))
            }
            "POST /api/orgs/{org}/imports/" => {
                let add_labels = parse_import_query(&query_params(&req)?)?;
                let (text, media_type) = text_body(&req, imports::MAX_BYTES)?;
                let format = imports::Format::from_media_type(&media_type).ok_or_else(|| {
                    ApiError::BadRequest {
                        field: Some("content-type".into()),
                        detail: "send text/csv or application/x-ndjson (JSON lines)".into(),
                    }
                })?;
                let report =
                    imports::import(&self.pool, user, org, format, text, add_labels).await?;
                Ok(json(StatusCode::OK, &report))
            }
            _ => Err(ApiError::NotFound),
        }
    }
}

/// The import's one parameter: `add_labels=true` adds the teams and categories the rows use
/// to the org's settings instead of refusing those rows.
fn parse_import_query(params: &HashMap<String, String>) -> Result<bool, InvalidInput> {
    if let Some(unknown) = params.keys().find(|k| k.as_str() != "add_labels") {
        return Err(InvalidInput::new(
            "query",
            format!("unknown parameter '{unknown}'"),
        ));
    }
    match params.get("add_labels").map(|v| v.trim()) {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(InvalidInput::new("add_labels", "must be true or false")),
    }
}
