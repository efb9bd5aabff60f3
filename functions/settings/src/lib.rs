//! Org settings (members read; admins write):
//! - `GET /api/orgs/{org}/settings/`
//! - `PUT /api/orgs/{org}/settings/` with the whole document
//! - `POST /api/orgs/{org}/settings/webhook-secret/` rotates the secret and shows it once

use lambda_http::http::StatusCode;
use nexify_api::bodies::SettingsBody;
use nexify_auth::TokenIssuer;
use nexify_http::{ApiError, Body, OrgCaller, Request, Response, json, parse_json};
use nexify_service::settings;
use nexify_storage::PgPool;

pub struct App {
    pool: PgPool,
    issuer: TokenIssuer,
}

impl App {
    pub fn new(pool: PgPool, issuer: TokenIssuer) -> Self {
        Self { pool, issuer }
    }

    pub async fn handle(&self, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
        nexify_http::serve(req, |req, _| self.route(req)).await
    }

    async fn route(&self, req: Request) -> Result<Response<Body>, ApiError> {
        let route = nexify_http::route(&req)?;
        let OrgCaller { user, org } = OrgCaller::from_request(&req, &self.issuer)?;
        match route {
            "GET /api/orgs/{org}/settings/" => Ok(json(
                StatusCode::OK,
                &settings::get(&self.pool, user, org).await?,
            )),
            "PUT /api/orgs/{org}/settings/" => {
                let body: SettingsBody = parse_json(&req)?;
                let update = settings::parse_update(
                    &body.teams,
                    &body.categories,
                    body.default_team.as_deref(),
                    body.default_category.as_deref(),
                    body.auto_triage_webhook,
                    body.auto_triage_api,
                    settings::AutoApply {
                        whole: body.auto_apply_threshold,
                        priority: body.auto_apply_fields.priority,
                        team: body.auto_apply_fields.team,
                        category: body.auto_apply_fields.category,
                    },
                )?;
                Ok(json(
                    StatusCode::OK,
                    &settings::replace(&self.pool, user, org, &update).await?,
                ))
            }
            "POST /api/orgs/{org}/settings/webhook-secret/" => {
                let rotated = settings::rotate_webhook_secret(&self.pool, user, org).await?;
                Ok(json(StatusCode::OK, &rotated))
            }
            _ => Err(ApiError::NotFound),
        }
    }
}
