//! Sign-in and identity:
//! - `POST /api/auth/token/` `{email, password}` → `{access, refresh, expires_in}`
//! - `POST /api/auth/token/refresh/` `{refresh}` → `{access, expires_in}`
//! - `GET /api/me/` → the user and their memberships

use lambda_http::http::StatusCode;
use nexify_api::bodies::{RefreshRequest, TokenRequest};
use nexify_api::responses::AccessToken;
use nexify_auth::TokenIssuer;
use nexify_domain::Email;
use nexify_http::{ApiError, Body, Request, Response, json, parse_json};
use nexify_service::accounts;
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
        match nexify_http::route(&req)? {
            "POST /api/auth/token/" => {
                let body: TokenRequest = parse_json(&req)?;
                let email = Email::parse("email", &body.email)?;
                let tokens =
                    accounts::sign_in(&self.pool, &self.issuer, &email, &body.password).await?;
                Ok(json(StatusCode::OK, &tokens))
            }
            "POST /api/auth/token/refresh/" => {
                let body: RefreshRequest = parse_json(&req)?;
                let access = accounts::refresh(&self.pool, &self.issuer, &body.refresh).await?;
                Ok(json(
                    StatusCode::OK,
                    &AccessToken {
                        access,
                        expires_in: nexify_auth::ACCESS_TTL.as_secs(),
                    },
                ))
            }
            "GET /api/me/" => {
                let user = nexify_http::authenticate(&req, &self.issuer)?;
                Ok(json(StatusCode::OK, &accounts::me(&self.pool, user).await?))
            }
            _ => Err(ApiError::NotFound),
        }
    }
}
