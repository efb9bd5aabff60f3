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
use nexify_auth::TokenIssuer;
use nexify_domain::{JobRunId, OrgId, SuggestionId, TicketId};
use nexify_http::{
    ApiError, Body, Method, PathMatch, Request, Response, json, parse_optional_json, path_id,
    query_params, require_method,
};
use nexify_queue::SqsDispatcher;
use nexify_service::{quality, triage};
use nexify_storage::PgPool;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    #[serde(default)]
    draft_reply: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    #[serde(default)]
    reason: Option<String>,
}

pub struct App {
    pool: PgPool,
    issuer: TokenIssuer,
    dispatcher: SqsDispatcher,
}

impl App {
    pub fn new(pool: PgPool, issuer: TokenIssuer, dispatcher: SqsDispatcher) -> Self {
        Self {
            pool,
            issuer,
            dispatcher,
        }
    }

    pub async fn handle(&self, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
        nexify_http::serve(req, |req, _| self.route(req)).await
    }

    async fn route(&self, req: Request) -> Result<Response<Body>, ApiError> {
        let path = req.uri().path().to_owned();
        if let Some(m) = PathMatch::new("/api/orgs/{org}/tickets/{id}/triage/", &path) {
            require_method(&req, Method::POST)?;
            let user = nexify_http::authenticate(&req, &self.issuer)?;
            let org: OrgId = path_id(m.get("org"))?;
            let ticket: TicketId = path_id(m.get("id"))?;
            let key = req
                .headers()
                .get("idempotency-key")
                .map(|v| {
                    v.to_str().map_err(|_| {
                        ApiError::validation("Idempotency-Key", "must be visible ASCII")
                    })
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
        } else if let Some(m) = PathMatch::new("/api/orgs/{org}/jobs/{id}/", &path) {
            require_method(&req, Method::GET)?;
            let user = nexify_http::authenticate(&req, &self.issuer)?;
            let job = triage::get_job(
                &self.pool,
                user,
                path_id(m.get("org"))?,
                path_id::<JobRunId>(m.get("id"))?,
            )
            .await?;
            Ok(json(StatusCode::OK, &job))
        } else if let Some(m) = PathMatch::new("/api/orgs/{org}/tickets/{id}/suggestions/", &path) {
            require_method(&req, Method::GET)?;
            let user = nexify_http::authenticate(&req, &self.issuer)?;
            let items = triage::list_suggestions(
                &self.pool,
                user,
                path_id(m.get("org"))?,
                path_id(m.get("id"))?,
            )
            .await?;
            Ok(json(StatusCode::OK, &serde_json::json!({ "items": items })))
        } else if let Some(m) = PathMatch::new("/api/orgs/{org}/suggestions/{id}/accept/", &path) {
            require_method(&req, Method::POST)?;
            let user = nexify_http::authenticate(&req, &self.issuer)?;
            let body: AcceptBody = parse_optional_json(&req)?.unwrap_or_default();
            let id: SuggestionId = path_id(m.get("id"))?;
            let decided = triage::accept(
                &self.pool,
                user,
                path_id(m.get("org"))?,
                id,
                body.draft_reply.as_deref(),
            )
            .await?;
            Ok(json(StatusCode::OK, &decided))
        } else if let Some(m) = PathMatch::new("/api/orgs/{org}/suggestions/{id}/reject/", &path) {
            require_method(&req, Method::POST)?;
            let user = nexify_http::authenticate(&req, &self.issuer)?;
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
            let id: SuggestionId = path_id(m.get("id"))?;
            let decided = triage::reject(
                &self.pool,
                user,
                path_id(m.get("org"))?,
                id,
                body.reason.as_deref(),
            )
            .await?;
            Ok(json(StatusCode::OK, &decided))
        } else if let Some(m) = PathMatch::new("/api/orgs/{org}/models/", &path) {
            require_method(&req, Method::GET)?;
            let user = nexify_http::authenticate(&req, &self.issuer)?;
            let overview = quality::overview(&self.pool, user, path_id(m.get("org"))?).await?;
            Ok(json(StatusCode::OK, &overview))
        } else if let Some(m) = PathMatch::new("/api/orgs/{org}/models/outcomes/", &path) {
            require_method(&req, Method::GET)?;
            let user = nexify_http::authenticate(&req, &self.issuer)?;
            let days = parse_days(&query_params(&req))?;
            let outcomes =
                quality::outcomes(&self.pool, user, path_id(m.get("org"))?, days).await?;
            Ok(json(StatusCode::OK, &outcomes))
        } else if let Some(m) = PathMatch::new("/api/orgs/{org}/models/retrain/", &path) {
            require_method(&req, Method::POST)?;
            let user = nexify_http::authenticate(&req, &self.issuer)?;
            let status =
                quality::request_retraining(&self.pool, user, path_id(m.get("org"))?).await?;
            Ok(json(StatusCode::ACCEPTED, &status))
        } else {
            Err(ApiError::NotFound)
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
