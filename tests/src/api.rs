//! Calls the real function handlers with built `lambda_http::Request`s, dispatching by path
//! the way API Gateway would, over the function role's pool (so RLS applies).

use lambda_http::{Body, Request};
use nexify_auth::{SigningKey, TokenIssuer, TokenSigner, TokenVerifier};
use nexify_domain::UserId;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;

use nexify_queue::SqsDispatcher;
use nexify_triage::TriageEngine;

use crate::TestDb;

pub struct Api {
    pub db: TestDb,
    /// Signs the tests' tokens with the key the auth function fetched from Secrets Manager.
    pub issuer: TokenIssuer,
    /// That key, for tests that sign tokens of their own making.
    pub signing_key: SigningKey,
    /// Seals this test's webhook secrets with a KMS key of its own (LocalStack).
    pub sealer: nexify_kms::KmsSealer,
    /// This test's own triage queue and dead-letter queue on LocalStack.
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub dlq_url: String,
    pub dispatcher: SqsDispatcher,
    /// This test's own outbound-webhook deliveries queue and its dead-letter queue.
    pub deliveries_url: String,
    pub deliveries_dlq_url: String,
    /// The embedder every function here uses (hashing: fast and deterministic).
    pub embedder: std::sync::Arc<dyn nexify_embed::Embedder>,
    auth: auth::App,
    kb: kb::App,
    triage: triage_api::App,
    tickets: tickets::App,
    settings: settings::App,
    webhooks: webhooks::App,
    health: health::Health,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub json: Value,
}

impl Api {
    pub async fn new(connect: PgConnectOptions) -> Self {
        crate::init_logs();
        Self::with_db(TestDb::new(connect).await).await
    }

    /// Like [`Api::new`], but the functions' pool is built as deployed (`connect_lazy`: two
    /// connections, a 3 s acquire timeout, a ping for idle connections), for tests of how
    /// they ride out database faults.
    pub async fn with_deployed_pool(connect: PgConnectOptions) -> Self {
        crate::init_logs();
        let mut db = TestDb::new(connect.clone()).await;
        db.app = nexify_storage::connect_lazy(&nexify_storage::DbConfig {
            connect_options: connect
                .username(nexify_storage::APP_ROLE)
                .password(crate::APP_PASSWORD),
            max_connections: 2,
            acquire_timeout: std::time::Duration::from_secs(3),
        });
        Self::with_db(db).await
    }

    async fn with_db(db: TestDb) -> Self {
        // A key of this test's own, stored in LocalStack's Secrets Manager, from which the
        // auth function fetches it as deployed; the other functions get its public key only.
        let (signing_key, public) = SigningKey::generate(&crate::unique("kid")).unwrap();
        let verifier = TokenVerifier::new(&public).unwrap();
        let issuer =
            TokenIssuer::new(TokenSigner::new(&signing_key).unwrap(), verifier.clone()).unwrap();
        let secrets = crate::secrets_client().await;
        let secret_id = crate::unique("nexify-test/jwt-signing-key");
        secrets
            .create_secret()
            .name(&secret_id)
            .secret_string(serde_json::to_string(&signing_key).unwrap())
            .send()
            .await
            .expect("LocalStack serves Secrets Manager (scripts/stack.sh up)");
        let app = db.app.clone();
        let sealer = crate::sealer().await;
        let sqs = crate::sqs_client().await;
        let (queue_url, dlq_url) = crate::queue_pair(&sqs, 2).await;
        let dispatcher = SqsDispatcher::new(sqs.clone(), queue_url.clone());
        let (deliveries_url, deliveries_dlq_url) = crate::queue_pair(&sqs, 2).await;
        let deliveries = nexify_queue::DeliveryQueue::new(sqs.clone(), deliveries_url.clone());
        let embedder: std::sync::Arc<dyn nexify_embed::Embedder> =
            std::sync::Arc::new(nexify_embed::HashingEmbedder);
        let mailer = crate::mail::mailer().await;
        let console = nexify_service::mail::Console::new(crate::mail::CONSOLE_URL).unwrap();
        Self {
            auth: auth::App::new(
                app.clone(),
                verifier.clone(),
                auth::SigningKeys::Secret {
                    secrets: nexify_secrets::Secrets::new(secrets),
                    id: secret_id,
                },
                nexify_service::signup::SignupPolicy::Open,
                mailer.clone(),
                console.clone(),
            ),
            kb: kb::App::new(app.clone(), verifier.clone(), embedder.clone()),
            triage: triage_api::App::new(app.clone(), verifier.clone(), dispatcher.clone())
                .with_deliveries(deliveries.clone()),
            tickets: tickets::App::new(app.clone(), verifier.clone(), dispatcher.clone())
                .with_deliveries(deliveries.clone()),
            // Local mode: endpoints may be plain HTTP to this machine (the test receiver).
            settings: settings::App::new(app.clone(), verifier, sealer.clone(), mailer, console)
                .with_local(true)
                .with_deliveries(deliveries.clone()),
            webhooks: webhooks::App::new(app.clone(), sealer.clone(), dispatcher.clone())
                .with_deliveries(deliveries.clone()),
            health: health::Health::new(app),
            issuer,
            signing_key,
            sealer,
            db,
            sqs,
            queue_url,
            dlq_url,
            dispatcher,
            deliveries_url,
            deliveries_dlq_url,
            embedder,
        }
    }

    /// The settings function as deployed with `NEXIFY_MAIL_DOMAIN` set.
    pub fn with_sending_domain(self, domain: &str) -> Self {
        let sending = nexify_service::mail::SendingDomain::new(Some(domain)).unwrap();
        Self {
            settings: self.settings.with_sending_domain(sending),
            ..self
        }
    }

    pub fn token(&self, user: UserId) -> String {
        self.issuer.issue_access(user).unwrap()
    }

    pub fn request(method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri(path);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(v) => {
                builder = builder.header("content-type", "application/json");
                Body::Text(v.to_string())
            }
            None => Body::Empty,
        };
        builder.body(body).unwrap()
    }

    /// A POST of a text body (a file upload) with its media type.
    pub async fn upload(&self, path: &str, token: &str, content_type: &str, body: &str) -> Reply {
        let req = lambda_http::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .body(Body::Text(body.to_owned()))
            .unwrap();
        self.send(req).await
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.send(Self::request(method, path, token, body.as_ref()))
            .await
    }

    pub async fn send(&self, req: Request) -> Reply {
        let Some((req, function)) = routed(req) else {
            // What API Gateway answers for a path no route has.
            return Reply {
                status: 404,
                headers: Default::default(),
                json: serde_json::json!({ "message": "Not Found" }),
            };
        };
        let response = match function.as_str() {
            "auth" => self.auth.handle(req).await,
            "webhooks" => self.webhooks.handle(req).await,
            "health" => self.health.handle(req).await,
            "kb" => self.kb.handle(req).await,
            "triage-api" => self.triage.handle(req).await,
            "settings" => self.settings.handle(req).await,
            "tickets" => self.tickets.handle(req).await,
            other => panic!("template.yaml routes to {other}, which the harness lacks"),
        }
        .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.body().as_ref();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into()))
        };
        if status >= 400 {
            let content_type = headers
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(
                content_type.as_deref(),
                Some("application/problem+json"),
                "errors are problem+json: {json}"
            );
        }
        Reply {
            status,
            headers,
            json,
        }
    }
}

/// The template's routes, as API Gateway serves them.
fn template_routes() -> &'static [nexify_http::routing::TemplateRoute] {
    static ROUTES: std::sync::OnceLock<Vec<nexify_http::routing::TemplateRoute>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| {
        nexify_http::routing::routes_from_template(include_str!("../../template.yaml"))
    })
}

/// `req` as API Gateway hands it to the function that serves it: with the route key and
/// path parameters of the template's route for its method and path (a route of the path
/// under another method when its own has none, so that the function answers 405), and that
/// function's name. `None` when no route has the path.
pub fn routed(req: Request) -> Option<(Request, String)> {
    use lambda_http::RequestExt;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;

    let (route, params) =
        nexify_http::routing::choose(template_routes(), req.method().as_str(), req.uri().path())?;
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.route_key = Some(route.key());
    let req = req
        .with_request_context(RequestContext::ApiGatewayV2(ctx))
        .with_path_parameters(params);
    Some((req, route.function.clone()))
}

impl Api {
    /// The worker function as deployed (learned engine, hashing embedder), on the app role.
    pub fn worker(&self) -> triage_worker::App<nexify_triage::LearnedEngine> {
        self.worker_with(nexify_triage::LearnedEngine)
    }

    pub fn worker_with<E: TriageEngine>(&self, engine: E) -> triage_worker::App<E> {
        triage_worker::App::new(nexify_service::triage::Worker {
            pool: self.db.app.clone(),
            engine,
            embedder: self.embedder.clone(),
            lease_seconds: 90,
            max_receives: 3,
            models: Default::default(),
            drafter: None,
        })
    }

    /// Rotates `org`'s webhook secret as its admin and returns the new secret.
    pub async fn webhook_secret(
        &self,
        admin: nexify_domain::UserId,
        org: nexify_domain::OrgId,
    ) -> String {
        let r = self
            .call(
                "POST",
                &format!("/api/orgs/{org}/settings/webhook-secret/"),
                Some(&self.token(admin)),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.json);
        assert_eq!(r.json["settings"]["webhook_secret_set"], true);
        r.json["webhook_secret"].as_str().unwrap().to_owned()
    }

    /// Creates a ticket as `token` in `org`, runs triage on it through the queue with
    /// `worker`, and returns the ticket id and its suggestion.
    pub async fn triage_new_ticket<E: TriageEngine>(
        &self,
        org: impl std::fmt::Display,
        token: &str,
        subject: &str,
        body: &str,
        worker: &triage_worker::App<E>,
    ) -> (String, Value) {
        let created = self
            .call(
                "POST",
                &format!("/api/orgs/{org}/tickets/"),
                Some(token),
                Some(serde_json::json!({
                    "requester_email": "new@example.com", "subject": subject, "body": body
                })),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.json);
        let ticket = created.json["id"].as_str().unwrap().to_owned();
        let enqueued = self
            .call(
                "POST",
                &format!("/api/orgs/{org}/tickets/{ticket}/triage/"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(enqueued.status, 202, "{:?}", enqueued.json);
        let (received, failed) = self.bridge_once(worker, 5).await;
        assert_eq!(
            (received, failed.len()),
            (1, 0),
            "one job, and it succeeded"
        );
        let listed = self
            .call(
                "GET",
                &format!("/api/orgs/{org}/tickets/{ticket}/suggestions/"),
                Some(token),
                None,
            )
            .await;
        let suggestion = listed.json["items"][0].clone();
        assert!(suggestion.is_object(), "no suggestion: {:?}", listed.json);
        (ticket, suggestion)
    }

    /// What Lambda's SQS event source does, once: receive up to 10 messages from this test's
    /// queue, invoke the worker with them as one SqsEvent, delete the ones that succeeded.
    /// Returns (received, failed message ids).
    pub async fn bridge_once<E: TriageEngine>(
        &self,
        worker: &triage_worker::App<E>,
        wait_seconds: i32,
    ) -> (usize, std::collections::HashSet<String>) {
        use nexify_queue::bridge;
        let messages = bridge::receive(&self.sqs, &self.queue_url, 10, wait_seconds)
            .await
            .unwrap();
        if messages.is_empty() {
            return (0, Default::default());
        }
        let event = bridge::sqs_event(
            &messages,
            "arn:aws:sqs:us-east-1:000000000000:test",
            "us-east-1",
        );
        let response = self.invoke_worker(worker, event).await;
        let failed = bridge::failed_ids(&response);
        bridge::delete_succeeded(&self.sqs, &self.queue_url, &messages, &failed)
            .await
            .unwrap();
        (messages.len(), failed)
    }

    /// The sweep's hand-over of due deliveries to this test's deliveries queue; how many.
    pub async fn sweep_deliveries(&self) -> usize {
        let queue = nexify_queue::DeliveryQueue::new(self.sqs.clone(), self.deliveries_url.clone());
        nexify_service::outbound::sweep(&self.db.app, &queue, 300, 500)
            .await
            .unwrap()
    }

    /// One batch from the deliveries queue through the deliverer, as Lambda's event source
    /// would: (received, the ids it reported failed).
    pub async fn deliver_once<S: nexify_service::outbound::Sender>(
        &self,
        deliverer: &deliveries::App<S>,
        wait_seconds: i32,
    ) -> (usize, std::collections::HashSet<String>) {
        use nexify_queue::bridge;
        let messages = bridge::receive(&self.sqs, &self.deliveries_url, 10, wait_seconds)
            .await
            .unwrap();
        if messages.is_empty() {
            return (0, Default::default());
        }
        let event = bridge::sqs_event(
            &messages,
            "arn:aws:sqs:us-east-1:000000000000:deliveries",
            "us-east-1",
        );
        let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(event).unwrap();
        let response = deliverer
            .handle(lambda_runtime::LambdaEvent::new(
                event,
                lambda_runtime::Context::default(),
            ))
            .await
            .unwrap();
        let failed = bridge::failed_ids(&serde_json::to_value(response).unwrap());
        bridge::delete_succeeded(&self.sqs, &self.deliveries_url, &messages, &failed)
            .await
            .unwrap();
        (messages.len(), failed)
    }

    /// A deliverer posting over real HTTP, allowed to reach this machine (local mode).
    pub fn deliverer(&self) -> deliveries::App<nexify_outbound::HttpSender> {
        deliveries::App::new(
            self.db.app.clone(),
            self.sealer.clone(),
            nexify_outbound::HttpSender::new(true),
        )
    }

    /// Calls the worker's handler with an SqsEvent given as JSON; returns the SqsBatchResponse.
    pub async fn invoke_worker<E: TriageEngine>(
        &self,
        worker: &triage_worker::App<E>,
        event: Value,
    ) -> Value {
        let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(event).unwrap();
        let response = worker
            .handle(lambda_runtime::LambdaEvent::new(
                event,
                lambda_runtime::Context::default(),
            ))
            .await
            .unwrap();
        serde_json::to_value(response).unwrap()
    }

    /// How many messages the test's queue holds (visible or in flight).
    pub async fn queue_depth(&self, url: &str) -> i64 {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        attrs[&A::ApproximateNumberOfMessages]
            .parse::<i64>()
            .unwrap()
            + attrs[&A::ApproximateNumberOfMessagesNotVisible]
                .parse::<i64>()
                .unwrap()
    }
}

/// A new-ticket webhook request for `org`, signed with `secret` at unix time `at`.
pub fn signed_webhook(org: impl std::fmt::Display, secret: &str, body: &Value, at: i64) -> Request {
    signed_post(&format!("/api/webhooks/{org}/tickets/"), secret, body, at)
}

/// A POST to `path`, signed as webhooks are with `secret` at unix time `at`.
pub fn signed_post(path: &str, secret: &str, body: &Value, at: i64) -> Request {
    use nexify_auth::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
    let text = body.to_string();
    lambda_http::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .header(TIMESTAMP_HEADER, at.to_string())
        .header(SIGNATURE_HEADER, sign(secret, at, text.as_bytes()))
        .body(lambda_http::Body::Text(text))
        .unwrap()
}
