//! AI triage for console users:
//! - `POST /api/orgs/{org}/tickets/{id}/triage/` (agent+; `Idempotency-Key` header optional):
//!   202 with a new JobRun, 200 with the existing one for a repeated key
//! - `GET /api/orgs/{org}/jobs/{id}/`
//! - `GET /api/orgs/{org}/tickets/{id}/suggestions/`
//! - `POST /api/orgs/{org}/suggestions/{id}/accept/` `{draft_reply?}` (agent+)
//! - `POST /api/orgs/{org}/suggestions/{id}/reject/` `{reason?}` (agent+)
//! - `GET /api/orgs/{org}/models/`: each head as trained, with its held-out diagnostics
//! - `GET /api/orgs/{org}/models/outcomes/?days=30`: live outcomes and auto-apply what-ifs
//! - `POST /api/orgs/{org}/models/retrain/` (admin): retrain at the next sweep

use lambda_http::http::StatusCode;
use nexify_api::bodies::{AcceptBody, RejectBody};
use nexify_api::responses::SuggestionList;
use nexify_auth::TokenVerifier;
use nexify_domain::{IdempotencyKey, JobRunId, SuggestionId, TicketId};
use nexify_http::{
    ApiError, Body, OrgCaller, Request, Response, json, parse_optional_json, path_param,
    query_params,
};
use nexify_queue::{DeliveryQueue, SqsDispatcher};
use nexify_service::{outbound, quality, triage};
use nexify_storage::PgPool;

pub struct App {
    pool: PgPool,
    verifier: TokenVerifier,
    dispatcher: SqsDispatcher,
    deliveries: Option<DeliveryQueue>,
}

impl App {
    pub fn new(pool: PgPool, verifier: TokenVerifier, dispatcher: SqsDispatcher) -> Self {
        Self {
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

    async fn route(&self, req: Request) -> Result<Response<Body>, ApiError> {
        let route = nexify_http::route(&req)?;
        let OrgCaller { user, org } = OrgCaller::from_request(&req, &self.verifier)?;
        match route {
            "POST /api/orgs/{org}/tickets/{id}/triage/" => {
                let ticket: TicketId = path_param(&req, "id")?;
                let key = req
                    .headers()
                    .get("idempotency-key")
                    .map(|v| {
                        v.to_str()
                            .map_err(|_| {
                                ApiError::validation("Idempotency-Key", "must be visible ASCII")
                            })
                            .and_then(|k| Ok(IdempotencyKey::parse(k)?))
                    })
                    .transpose()?;
                let (job, created) =
                    triage::enqueue(&self.pool, &self.dispatcher, user, org, ticket, key).await?;
                let status = if created {
                    StatusCode::ACCEPTED
                } else {
                    StatusCode::OK
                };
                Ok(json(status, &job))
            }
            "GET /api/orgs/{org}/jobs/{id}/" => {
                let id: JobRunId = path_param(&req, "id")?;
                let job = triage::get_job(&self.pool, user, org, id).await?;
                Ok(json(StatusCode::OK, &job))
            }
            "GET /api/orgs/{org}/tickets/{id}/suggestions/" => {
                let ticket: TicketId = path_param(&req, "id")?;
                let items = triage::list_suggestions(&self.pool, user, org, ticket).await?;
                Ok(json(StatusCode::OK, &SuggestionList { items }))
            }
            "POST /api/orgs/{org}/suggestions/{id}/accept/" => {
                let id: SuggestionId = path_param(&req, "id")?;
                let body: AcceptBody = parse_optional_json(&req)?.unwrap_or_default();
                let decided =
                    triage::accept(&self.pool, user, org, id, body.draft_reply.as_deref()).await?;
                Ok(json(StatusCode::OK, &decided))
            }
            "POST /api/orgs/{org}/suggestions/{id}/reject/" => {
                let id: SuggestionId = path_param(&req, "id")?;
                let body: RejectBody = parse_optional_json(&req)?.unwrap_or_default();
                if body
                    .reason
                    .as_ref()
                    .is_some_and(|r| r.chars().count() > 2000)
                {
                    return Err(ApiError::validation(
                        "reason",
                        "must be at most 2000 characters",
                    ));
                }
                let decided =
                    triage::reject(&self.pool, user, org, id, body.reason.as_deref()).await?;
                Ok(json(StatusCode::OK, &decided))
            }
            "GET /api/orgs/{org}/models/" => {
                let overview = quality::overview(&self.pool, user, org).await?;
                Ok(json(StatusCode::OK, &overview))
            }
            "GET /api/orgs/{org}/models/outcomes/" => {
                let days = parse_days(&query_params(&req)?)?;
                let outcomes = quality::outcomes(&self.pool, user, org, days).await?;
                Ok(json(StatusCode::OK, &outcomes))
            }
            "POST /api/orgs/{org}/models/retrain/" => {
                let status = quality::request_retraining(&self.pool, user, org).await?;
                Ok(json(StatusCode::ACCEPTED, &status))
            }
            _ => Err(ApiError::NotFound),
        }
    }
}

/// `days` of the outcomes report: 30 unless given, 1 to [`quality::MAX_DAYS`]; no other
/// parameter.
fn parse_days(params: &std::collections::HashMap<String, String>) -> Result<i32, ApiError> {
    if let Some(unknown) = params.keys().find(|k| k.as_str() != "days") {
        return Err(ApiError::validation(
            "query",
            format!("unknown parameter '{unknown}'"),
        ));
    }
    match params.get("days").map(|d| d.trim()) {
        None | Some("") => Ok(30),
        Some(d) => d
            .parse::<i32>()
            .ok()
            .filter(|d| (1..=quality::MAX_DAYS).contains(d))
            .ok_or_else(|| {
                ApiError::validation(
                    "days",
                    format!("must be a whole number from 1 to {}", quality::MAX_DAYS),
                )
            }),
    }
}
