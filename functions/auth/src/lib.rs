//! Sign-in and identity:
//! - `POST /api/auth/token/` `{email, password}` → `{access, refresh, expires_in}`
//! - `POST /api/auth/signup/` → a new account and org, signed in (`NEXIFY_SIGNUP=open` only)
//! - `POST /api/auth/token/refresh/` `{refresh}` → `{access, refresh, expires_in}`: the
//!   refresh token is rotated; the one sent is spent
//! - `POST /api/auth/logout/` `{refresh, everywhere?}` → 204: ends the session (or all)
//! - `POST /api/auth/password-reset/` `{email}` → 202: a reset link is mailed, if the account
//!   exists; `POST /api/auth/password-reset/confirm/` `{token, new_password}` → 204
//! - `GET /api/me/` → the user and their memberships
//! - `POST /api/me/password/` `{current_password, new_password}` → new tokens; every other
//!   session ends
//! - `GET /api/invites/{token}/` → what an invite offers
//! - `POST /api/invites/{token}/accept/` → joins the org: signed in as that user, otherwise
//!   as a new account `{display_name?, password}`
//!
//! From the console in a browser (a request with an `Origin`), the refresh token travels
//! only as an `HttpOnly` cookie ([`nexify_http::session_cookie`]), never in JSON.

use lambda_http::http::StatusCode;
use nexify_api::bodies::{
    AcceptInvite, LogoutRequest, PasswordChange, PasswordResetConfirm, PasswordResetRequest,
    RefreshRequest, SignUp, TokenRequest,
};
use nexify_auth::{REFRESH_TTL, SigningKey, TokenIssuer, TokenPair, TokenSigner, TokenVerifier};
use nexify_domain::Email;
use nexify_http::session_cookie::{self, Caller, ConsoleOrigin};
use nexify_http::{
    ApiError, Body, Request, Response, empty, json, parse_json, parse_optional_json, path_param,
};
use nexify_mail::SesMailer;
use nexify_secrets::{Prefetched, Secrets};
use nexify_service::mail::Console;
use nexify_service::signup::{self, NewAccount, SignupPolicy};
use nexify_service::{accounts, invites, recovery};
use nexify_storage::PgPool;
use serde::Serialize;

pub struct App {
    pool: PgPool,
    /// The signing key, from Secrets Manager: the only function that holds one.
    issuer: Prefetched<TokenIssuer>,
    verifier: TokenVerifier,
    signup: SignupPolicy,
    mailer: SesMailer,
    console: Console,
    origin: ConsoleOrigin,
}

/// A reply that may start or continue a session: for a browser, its refresh token leaves
/// the JSON for the cookie.
fn session_reply<T: Serialize>(
    caller: Caller,
    status: StatusCode,
    mut body: T,
    pair: impl FnOnce(&mut T) -> Option<&mut TokenPair>,
) -> Response<Body> {
    let cookie = match (caller, pair(&mut body)) {
        (Caller::Browser, Some(pair)) => Some(std::mem::take(&mut pair.refresh)),
        _ => None,
    };
    let response = json(status, &body);
    match cookie {
        Some(token) => session_cookie::with_refresh_token(response, &token, REFRESH_TTL.as_secs()),
        None => response,
    }
}

/// The refresh token a request presents: in its body, or a browser's cookie.
fn presented(caller: Caller, req: &Request, in_body: Option<String>) -> Option<String> {
    in_body.or_else(|| match caller {
        Caller::Browser => session_cookie::refresh_token(req),
        Caller::Program => None,
    })
}

/// Where the signing key comes from.
pub enum SigningKeys {
    /// Secret `id` in Secrets Manager (`JWT_SIGNING_KEY_SECRET`), fetched from start-up on.
    Secret { secrets: Secrets, id: String },
    /// A key at hand: local mode's development key, tests.
    Ready(Box<TokenIssuer>),
}

impl SigningKeys {
    /// `JWT_SIGNING_KEY_SECRET` (the secret's ARN or name), or, in local mode only, the
    /// development key.
    pub fn from_env() -> Result<Self, nexify_auth::AuthError> {
        match std::env::var("JWT_SIGNING_KEY_SECRET") {
            Ok(id) if !id.trim().is_empty() => Ok(SigningKeys::Secret {
                secrets: Secrets::default(),
                id,
            }),
            _ if std::env::var("NEXIFY_ENV").is_ok_and(|e| e == "local") => {
                Ok(SigningKeys::Ready(Box::new(TokenIssuer::local())))
            }
            _ => Err(nexify_auth::AuthError::Config(
                "JWT_SIGNING_KEY_SECRET is not set (only NEXIFY_ENV=local may run without it)"
                    .into(),
            )),
        }
    }
}

impl App {
    pub fn new(
        pool: PgPool,
        verifier: TokenVerifier,
        keys: SigningKeys,
        signup: SignupPolicy,
        mailer: SesMailer,
        console: Console,
    ) -> Self {
        let origin = ConsoleOrigin::of_url(console.url());
        let issuer = match keys {
            SigningKeys::Ready(issuer) => Prefetched::ready(*issuer),
            SigningKeys::Secret { secrets, id } => {
                // The verifier must accept what the fetched key signs.
                let check = verifier.clone();
                Prefetched::start(secrets, id, move |key: SigningKey| {
                    TokenIssuer::new(TokenSigner::new(&key)?, check.clone())
                })
            }
        };
        Self {
            pool,
            issuer,
            verifier,
            signup,
            mailer,
            console,
            origin,
        }
    }

    /// The issuer, once its key is here (503 while Secrets Manager cannot be reached).
    async fn issuer(&self) -> Result<&TokenIssuer, ApiError> {
        Ok(self.issuer.get().await?)
    }

    pub async fn handle(&self, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
        nexify_http::serve(req, |req, _| self.route(req)).await
    }

    async fn route(&self, req: Request) -> Result<Response<Body>, ApiError> {
        let route = nexify_http::route(&req)?;
        let caller = self.origin.caller(&req)?;
        let source_ip = nexify_http::source_ip(&req);
        match route {
            "POST /api/auth/token/" => {
                let body: TokenRequest = parse_json(&req)?;
                let email = Email::parse("email", &body.email)?;
                let tokens = accounts::sign_in(
                    &self.pool,
                    self.issuer().await?,
                    &email,
                    &body.password,
                    source_ip,
                )
                .await?;
                Ok(session_reply(caller, StatusCode::OK, tokens, |t| Some(t)))
            }
            "POST /api/auth/signup/" => {
                let body: SignUp = parse_json(&req)?;
                let new = NewAccount {
                    email: &body.email,
                    password: &body.password,
                    display_name: &body.display_name,
                    organization_name: &body.organization_name,
                };
                let joined =
                    signup::sign_up(&self.pool, self.issuer().await?, self.signup, &new).await?;
                Ok(session_reply(caller, StatusCode::CREATED, joined, |j| {
                    j.tokens.as_mut()
                }))
            }
            "POST /api/auth/token/refresh/" => {
                let body: RefreshRequest = parse_optional_json(&req)?.unwrap_or_default();
                let token = presented(caller, &req, body.refresh)
                    .ok_or_else(|| ApiError::Unauthorized("no session: sign in".into()))?;
                let tokens = accounts::refresh(&self.pool, self.issuer().await?, &token).await?;
                Ok(session_reply(caller, StatusCode::OK, tokens, |t| Some(t)))
            }
            "POST /api/auth/logout/" => {
                let body: LogoutRequest = parse_optional_json(&req)?.unwrap_or_default();
                if let Some(token) = presented(caller, &req, body.refresh) {
                    accounts::sign_out(&self.pool, &token, body.everywhere).await?;
                }
                Ok(session_cookie::without_refresh_token(empty(
                    StatusCode::NO_CONTENT,
                )))
            }
            "POST /api/auth/password-reset/" => {
                let body: PasswordResetRequest = parse_json(&req)?;
                let email = Email::parse("email", &body.email)?;
                recovery::request(&self.pool, &self.mailer, &self.console, &email, source_ip)
                    .await?;
                Ok(empty(StatusCode::ACCEPTED))
            }
            "POST /api/auth/password-reset/confirm/" => {
                let body: PasswordResetConfirm = parse_json(&req)?;
                recovery::confirm(&self.pool, &body.token, &body.new_password, source_ip).await?;
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
                let joined = if req.headers().contains_key("authorization") {
                    let user = nexify_http::authenticate(&req, &self.verifier)?;
                    invites::accept_as(&self.pool, user, &token, source_ip).await?
                } else {
                    let password = body.password.as_deref().ok_or_else(|| {
                        ApiError::validation(
                            "password",
                            "is needed for a new account (or sign in to join as yourself)",
                        )
                    })?;
                    let name = body.display_name.as_deref().unwrap_or_default();
                    invites::accept_new(
                        &self.pool,
                        self.issuer().await?,
                        &token,
                        name,
                        password,
                        source_ip,
                    )
                    .await?
                };
                Ok(session_reply(caller, StatusCode::OK, joined, |j| {
                    j.tokens.as_mut()
                }))
            }
            "POST /api/me/password/" => {
                let user = nexify_http::authenticate(&req, &self.verifier)?;
                let body: PasswordChange = parse_json(&req)?;
                let tokens = accounts::change_password(
                    &self.pool,
                    self.issuer().await?,
                    user,
                    &body.current_password,
                    &body.new_password,
                )
                .await?;
                Ok(session_reply(caller, StatusCode::OK, tokens, |t| Some(t)))
            }
            "GET /api/me/" => {
                let user = nexify_http::authenticate(&req, &self.verifier)?;
                Ok(json(StatusCode::OK, &accounts::me(&self.pool, user).await?))
            }
            _ => Err(ApiError::NotFound),
        }
    }
}
