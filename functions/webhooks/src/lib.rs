//! Tickets from other systems, signed with the org's webhook secret (see
//! `nexify_auth::webhook` for the scheme):
//! - `POST /api/webhooks/{org}/tickets/`: a new ticket. A repeated `external_id` returns the
//!   existing ticket with 200 instead of creating another.
//! - `POST /api/webhooks/{org}/tickets/{external_id}/messages/`: the requester's follow-up
//!   on that ticket; a repeated message `external_id` returns the existing message with 200.
//!   A follow-up on a resolved ticket reopens it.
//!
//! The very same signed request twice is refused (409) and writes nothing: it is
//! remembered by its signature, in the transaction of what it writes.

use lambda_http::http::StatusCode;
use nexify_api::bodies::{WebhookMessage, WebhookTicket};
use nexify_auth::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use nexify_domain::{ExternalId, OrgId};
use nexify_http::{ApiError, Body, MAX_BODY_BYTES, Request, Response, json, parse_json};
use nexify_kms::KmsSealer;
use nexify_queue::{DeliveryQueue, SqsDispatcher};
use nexify_service::tickets::TicketFields;
use nexify_service::{conversations, outbound, webhooks};
use nexify_storage::PgPool;
use nexify_storage::tickets::NewTicket;

pub struct App {
    pool: PgPool,
    /// Opens the orgs' sealed webhook secrets.
    sealer: KmsSealer,
    /// For auto-triage of new tickets, when the org turns it on.
    dispatcher: SqsDispatcher,
    deliveries: Option<DeliveryQueue>,
}

impl App {
    /// Webhooks authenticate by signature, not by user token, so this function holds no
    /// token key at all.
    pub fn new(pool: PgPool, sealer: KmsSealer, dispatcher: SqsDispatcher) -> Self {
        Self {
            pool,
            sealer,
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

    async fn route(&self, req: Request) -> Result<Response<Body>, ApiError> {
        let route = nexify_http::route(&req)?;
        if !matches!(
            route,
            "POST /api/webhooks/{org}/tickets/"
                | "POST /api/webhooks/{org}/tickets/{external_id}/messages/"
        ) {
            return Err(ApiError::NotFound);
        }
        if req.body().len() > MAX_BODY_BYTES {
            return Err(ApiError::BadRequest {
                field: None,
                detail: format!("the request body must be at most {MAX_BODY_BYTES} bytes"),
            });
        }
        // Unknown or malformed org ids fail the signature check like any other, revealing nothing.
        let org: OrgId = nexify_http::path_param(&req, "org").map_err(|_| {
            ApiError::Unauthorized(
                "the webhook signature is missing, stale or does not match".into(),
            )
        })?;
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let signature = webhooks::authenticate(
            &self.pool,
            &self.sealer,
            org,
            header(TIMESTAMP_HEADER),
            header(SIGNATURE_HEADER),
            req.body().as_ref(),
            chrono::Utc::now().timestamp(),
        )
        .await?;
        if route == "POST /api/webhooks/{org}/tickets/{external_id}/messages/" {
            let ticket: String = nexify_http::path_param(&req, "external_id")?;
            let ticket = ExternalId::parse(&ticket)?;
            let body: WebhookMessage = parse_json(&req)?;
            let external_id = ExternalId::parse(&body.external_id)?;
            let (message, added) = conversations::follow_up(
                &self.pool,
                org,
                &ticket,
                &external_id,
                &body.body,
                &signature,
            )
            .await?;
            let status = if added {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            return Ok(json(status, &message));
        }
        let body: WebhookTicket = parse_json(&req)?;
        let new = NewTicket {
            external_id: body
                .external_id
                .as_deref()
                .map(ExternalId::parse)
                .transpose()?,
            ..NewTicket::try_from(TicketFields {
                requester_email: body.requester_email,
                subject: body.subject,
                body: body.body,
                priority: body.priority,
            })?
        };
        let (ticket, created) =
            webhooks::create_ticket(&self.pool, &self.dispatcher, org, &new, &signature).await?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(json(status, &ticket))
    }
}
