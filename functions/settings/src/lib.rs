//! Org administration.
//! - Settings (members read; admins write):
//!   - `GET /api/orgs/{org}/settings/`
//!   - `PUT /api/orgs/{org}/settings/` with the whole document
//!   - `POST /api/orgs/{org}/settings/webhook-secret/` rotates the secret and shows it once
//! - Members (admins): `GET /api/orgs/{org}/members/` with `cursor`, `limit`; `PATCH` (role)
//!   and `DELETE /api/orgs/{org}/members/{user_id}/`
//! - Invites (admins): `POST` (mailed to the invitee) and `GET /api/orgs/{org}/invites/`;
//!   `DELETE …/invites/{id}/`
//! - Outbound webhook endpoints (admins): `GET`, `POST /api/orgs/{org}/webhook-endpoints/`;
//!   `PATCH`, `DELETE …/{id}/`; `GET …/{id}/deliveries/`;
//!   `POST …/{id}/deliveries/{delivery_id}/redeliver/`; `POST …/{id}/test/`

use lambda_http::http::StatusCode;
use nexify_api::bodies::{
    EndpointPatch, MemberPatch, NewEndpoint, NewInvite, RotateSecretBody, SettingsBody,
};
use nexify_api::responses::{EndpointList, InviteList, MemberPage};
use nexify_auth::TokenVerifier;
use nexify_domain::{Email, UserId};
use nexify_http::{
    ApiError, Body, OrgCaller, Request, Response, empty, json, parse_json, parse_optional_json,
    path_param, query_params,
};
use nexify_kms::KmsSealer;
use nexify_mail::SesMailer;
use nexify_queue::DeliveryQueue;
use nexify_service::mail::{Console, SendingDomain};
use nexify_service::paging::{DEFAULT_PAGE, page_params};
use nexify_service::{invites, members, outbound, settings};
use nexify_storage::PgPool;

pub struct App {
    pool: PgPool,
    /// Seals new webhook secrets before they are stored.
    sealer: KmsSealer,
    verifier: TokenVerifier,
    mailer: SesMailer,
    console: Console,
    /// The domain orgs' reply addresses must be at (`NEXIFY_MAIL_DOMAIN`).
    sending: SendingDomain,
    /// `NEXIFY_ENV=local`: webhook endpoints may be plain HTTP to this machine.
    local: bool,
    deliveries: Option<DeliveryQueue>,
}

impl App {
    pub fn new(
        pool: PgPool,
        verifier: TokenVerifier,
        sealer: KmsSealer,
        mailer: SesMailer,
        console: Console,
    ) -> Self {
        Self {
            pool,
            sealer,
            verifier,
            mailer,
            console,
            sending: SendingDomain::default(),
            local: std::env::var("NEXIFY_ENV").as_deref() == Ok("local"),
            deliveries: None,
        }
    }

    /// Local mode (`NEXIFY_ENV=local`) or not, whatever the environment says.
    pub fn with_local(mut self, local: bool) -> Self {
        self.local = local;
        self
    }

    /// Reply addresses must be at this domain (the default takes any address).
    pub fn with_sending_domain(mut self, sending: SendingDomain) -> Self {
        self.sending = sending;
        self
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
            "GET /api/orgs/{org}/settings/" => Ok(json(
                StatusCode::OK,
                &settings::get(&self.pool, user, org).await?,
            )),
            "PUT /api/orgs/{org}/settings/" => {
                let body: SettingsBody = parse_json(&req)?;
                let mut update = settings::parse_update(
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
                update.reply_from = body
                    .reply_from
                    .as_deref()
                    .map(|a| {
                        self.sending
                            .reply_address("reply_from", a)
                            .map(|e| e.as_str().to_owned())
                    })
                    .transpose()?;
                Ok(json(
                    StatusCode::OK,
                    &settings::replace(&self.pool, user, org, &update).await?,
                ))
            }
            "POST /api/orgs/{org}/settings/webhook-secret/" => {
                let body: RotateSecretBody = parse_optional_json(&req)?.unwrap_or_default();
                let grace = settings::grace(body.grace_hours)?;
                let rotated =
                    settings::rotate_webhook_secret(&self.pool, &self.sealer, user, org, grace)
                        .await?;
                Ok(json(StatusCode::OK, &rotated))
            }
            "GET /api/orgs/{org}/members/" => {
                let (cursor, limit) = page_params(&query_params(&req)?, DEFAULT_PAGE)?;
                let (items, next_cursor) =
                    members::list(&self.pool, user, org, cursor, limit).await?;
                Ok(json(StatusCode::OK, &MemberPage { items, next_cursor }))
            }
            "PATCH /api/orgs/{org}/members/{user_id}/" => {
                let target: UserId = path_param(&req, "user_id")?;
                let body: MemberPatch = parse_json(&req)?;
                let member = members::change_role(&self.pool, user, org, target, body.role).await?;
                Ok(json(StatusCode::OK, &member))
            }
            "DELETE /api/orgs/{org}/members/{user_id}/" => {
                let target: UserId = path_param(&req, "user_id")?;
                members::remove(&self.pool, user, org, target).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            "POST /api/orgs/{org}/invites/" => {
                let body: NewInvite = parse_json(&req)?;
                let email = Email::parse("email", &body.email)?;
                let issued = invites::create(
                    &self.pool,
                    &self.mailer,
                    &self.console,
                    user,
                    org,
                    &email,
                    body.role,
                )
                .await?;
                Ok(json(StatusCode::CREATED, &issued))
            }
            "GET /api/orgs/{org}/invites/" => {
                let items = invites::pending(&self.pool, user, org).await?;
                Ok(json(StatusCode::OK, &InviteList { items }))
            }
            "DELETE /api/orgs/{org}/invites/{id}/" => {
                let id: uuid::Uuid = path_param(&req, "id")?;
                invites::revoke(&self.pool, user, org, id).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            "GET /api/orgs/{org}/webhook-endpoints/" => {
                let items = outbound::list(&self.pool, user, org).await?;
                Ok(json(StatusCode::OK, &EndpointList { items }))
            }
            "POST /api/orgs/{org}/webhook-endpoints/" => {
                let body: NewEndpoint = parse_json(&req)?;
                let created = outbound::create(
                    &self.pool,
                    &self.sealer,
                    user,
                    org,
                    &body.url,
                    &body.event_types,
                    self.local,
                )
                .await?;
                Ok(json(StatusCode::CREATED, &created))
            }
            "PATCH /api/orgs/{org}/webhook-endpoints/{id}/" => {
                let id: uuid::Uuid = path_param(&req, "id")?;
                let body: EndpointPatch = parse_json(&req)?;
                let change = outbound::EndpointChange {
                    url: body.url,
                    event_types: body.event_types,
                    enabled: body.enabled,
                };
                let endpoint =
                    outbound::change(&self.pool, user, org, id, &change, self.local).await?;
                Ok(json(StatusCode::OK, &endpoint))
            }
            "DELETE /api/orgs/{org}/webhook-endpoints/{id}/" => {
                let id: uuid::Uuid = path_param(&req, "id")?;
                outbound::delete(&self.pool, user, org, id).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            "GET /api/orgs/{org}/webhook-endpoints/{id}/deliveries/" => {
                let id: uuid::Uuid = path_param(&req, "id")?;
                let (cursor, limit) = page_params(&query_params(&req)?, DEFAULT_PAGE)?;
                let page = outbound::deliveries(&self.pool, user, org, id, cursor, limit).await?;
                Ok(json(StatusCode::OK, &page))
            }
            "POST /api/orgs/{org}/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver/" => {
                let id: uuid::Uuid = path_param(&req, "id")?;
                let delivery: uuid::Uuid = path_param(&req, "delivery_id")?;
                let due = outbound::redeliver(&self.pool, user, org, id, delivery).await?;
                Ok(json(StatusCode::ACCEPTED, &due))
            }
            "POST /api/orgs/{org}/webhook-endpoints/{id}/test/" => {
                let id: uuid::Uuid = path_param(&req, "id")?;
                let due = outbound::send_test(&self.pool, user, org, id).await?;
                Ok(json(StatusCode::ACCEPTED, &due))
            }
            _ => Err(ApiError::NotFound),
        }
    }
}
