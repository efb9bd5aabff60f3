//! `POST /api/webhooks/{org}/tickets/`: tickets from other systems, signed with the org's
//! webhook secret (see `nexify_auth::webhook` for the scheme). A repeated `external_id`
//! returns the existing ticket with 200 instead of creating another.

use lambda_http::http::StatusCode;
use nexify_auth::TokenIssuer;
use nexify_auth::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use nexify_domain::{Email, InvalidInput, OrgId, Priority, Subject, TicketBody};
use nexify_http::{
    ApiError, Body, MAX_BODY_BYTES, Method, PathMatch, Request, Response, json, parse_json,
    path_id, require_method,
};
use nexify_queue::SqsDispatcher;
use nexify_service::webhooks;
use nexify_storage::PgPool;
use nexify_storage::tickets::NewTicket;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookTicket {
    #[serde(default)]
    external_id: Option<String>,
    requester_email: String,
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    priority: Option<Priority>,
}

pub struct App {
    pool: PgPool,
    /// For auto-triage of new tickets, when the org turns it on.
    dispatcher: SqsDispatcher,
}

impl App {
    /// Webhooks authenticate by signature, not by user token; the issuer is accepted so every
    /// API function is wired the same way.
    pub fn new(pool: PgPool, _issuer: TokenIssuer, dispatcher: SqsDispatcher) -> Self {
        Self { pool, dispatcher }
    }

    pub async fn handle(&self, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
        nexify_http::serve(req, |req, _| self.route(req)).await
    }

    async fn route(&self, req: Request) -> Result<Response<Body>, ApiError> {
        let path = req.uri().path().to_owned();
        let Some(m) = PathMatch::new("/api/webhooks/{org}/tickets/", &path) else {
            return Err(ApiError::NotFound);
        };
        require_method(&req, Method::POST)?;
        if req.body().len() > MAX_BODY_BYTES {
            return Err(ApiError::BadRequest {
                field: None,
                detail: format!("the request body must be at most {MAX_BODY_BYTES} bytes"),
            });
        }
        // Unknown or malformed org ids fail the signature check like any other, revealing nothing.
        let org: OrgId = path_id(m.get("org")).map_err(|_| {
            ApiError::Unauthorized(
                "the webhook signature is missing, stale or does not match".into(),
            )
        })?;
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        webhooks::authenticate(
            &self.pool,
            org,
            header(TIMESTAMP_HEADER),
            header(SIGNATURE_HEADER),
            req.body().as_ref(),
            chrono::Utc::now().timestamp(),
        )
        .await?;
        let body: WebhookTicket = parse_json(&req)?;
        let external_id = body.external_id.map(|e| e.trim().to_owned());
        if let Some(e) = &external_id
            && (e.is_empty() || e.chars().count() > 200 || e.chars().any(char::is_control))
        {
            return Err(InvalidInput::new(
                "external_id",
                "must be 1 to 200 characters, without control characters",
            )
            .into());
        }
        let new = NewTicket {
            requester_email: Email::parse("requester_email", &body.requester_email)?,
            subject: Subject::parse(&body.subject)?,
            body: TicketBody::parse(&body.body)?,
            priority: body.priority.unwrap_or(Priority::Medium),
            assigned_team: None,
            external_id,
            category: None,
        };
        let (ticket, created) =
            webhooks::create_ticket(&self.pool, &self.dispatcher, org, &new).await?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(json(status, &ticket))
    }
}
