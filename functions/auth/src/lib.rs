//! Sign-in and identity:
//! - `POST /api/auth/token/` `{email, password}` → `{access, refresh, expires_in}`
//! - `POST /api/auth/signup/` → a new account and org, signed in (`NEXIFY_SIGNUP=open` only)
//! - `POST /api/auth/token/refresh/` `{refresh}` → `{access, refresh, expires_in}`: the
//!   refresh token is rotated; the one sent is spent
//! - `POST /api/auth/logout/` `{refresh, everywhere?}` → 204: ends the session (or all)
//! - `GET /api/me/` → the user and their memberships
//! - `POST /api/me/password/` `{current_password, new_password}` → new tokens; every other
//!   session ends
//! - `GET /api/invites/{token}/` → what an invite offers
//! - `POST /api/invites/{token}/accept/` → joins the org: signed in as that user, otherwise
//!   as a new account `{display_name?, password}`

use lambda_http::http::StatusCode;
use nexify_api::bodies::{
    AcceptInvite, LogoutRequest, PasswordChange, RefreshRequest, SignUp, TokenRequest,
};
use nexify_auth::TokenIssuer;
use nexify_domain::Email;
use nexify_http::{
    ApiError, Body, Request, Response, empty, json, parse_json, parse_optional_json, path_param,
};
use nexify_service::signup::{self, NewAccount, SignupPolicy};
use nexify_service::{accounts, invites};
use nexify_storage::PgPool;

pub struct App {
    pool: PgPool,
    issuer: TokenIssuer,
    signup: SignupPolicy,
}

impl App {
    pub fn new(pool: PgPool, issuer: TokenIssuer, signup: SignupPolicy) -> Self {
        Self {
            pool,
            issuer,
            signup,
        }
    }

    pub async fn handle(&self, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
        nexify_http::serve(req, |req, _| self.route(req)).await
    }

    async fn route(&self, req: Request) -> Result<Response<Body>, ApiError> {
        match nexify_http::route(&req)? {
            "POST /api/auth/token/" => {
                let body: TokenRequest = parse_json(&req)?;
                let email = Email::parse("email", &body.email)?;
                let source_ip = nexify_http::source_ip(&req);
                let tokens =
                    accounts::sign_in(&self.pool, &self.issuer, &email, &body.password, source_ip)
                        .await?;
                Ok(json(StatusCode::OK, &tokens))
            }
            "POST /api/auth/signup/" => {
                let body: SignUp = parse_json(&req)?;
                let new = NewAccount {
                    email: &body.email,
                    password: &body.password,
                    display_name: &body.display_name,
                    organization_name: &body.organization_name,
                };
                let joined = signup::sign_up(&self.pool, &self.issuer, self.signup, &new).await?;
                Ok(json(StatusCode::CREATED, &joined))
            }
            "POST /api/auth/token/refresh/" => {
                let body: RefreshRequest = parse_json(&req)?;
                let tokens = accounts::refresh(&self.pool, &self.issuer, &body.refresh).await?;
                Ok(json(StatusCode::OK, &tokens))
            }
            "POST /api/auth/logout/" => {
                let body: LogoutRequest = parse_json(&req)?;
                accounts::sign_out(&self.pool, &body.refresh, body.everywhere).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            "GET /api/invites/{token}/" => {
                let token: String = path_param(&req, "token")?;
                Ok(json(
                    StatusCode::OK,
                    &invites::preview(&self.pool, &token).await?,
                ))
            }
            "POST /api/invites/{token}/accept/" => {
                let token: String = path_param(&req, "token")?;
                let body: AcceptInvite = parse_optional_json(&req)?.unwrap_or_default();
                let source_ip = nexify_http::source_ip(&req);
                let joined = if req.headers().contains_key("authorization") {
                    let user = nexify_http::authenticate(&req, &self.issuer)?;
                    invites::accept_as(&self.pool, user, &token, source_ip).await?
                } else {
                    let password = body.password.as_deref().ok_or_else(|| {
                        ApiError::validation(
                            "password",
                            "is needed for a new account (or sign in to join as yourself)",
                        )
                    })?;
                    let name = body.display_name.as_deref().unwrap_or_default();
                    invites::accept_new(&self.pool, &self.issuer, &token, name, password, source_ip)
                        .await?
                };
                Ok(json(StatusCode::OK, &joined))
            }
            "POST /api/me/password/" => {
                let user = nexify_http::authenticate(&req, &self.issuer)?;
                let body: PasswordChange = parse_json(&req)?;
                let tokens = accounts::change_password(
                    &self.pool,
                    &self.issuer,
                    user,
                    &body.current_password,
                    &body.new_password,
                )
                .await?;
                Ok(json(StatusCode::OK, &tokens))
            }
            "GET /api/me/" => {
                let user = nexify_http::authenticate(&req, &self.issuer)?;
                Ok(json(StatusCode::OK, &accounts::me(&self.pool, user).await?))
            }
            _ => Err(ApiError::NotFound),
        }
    }
}
