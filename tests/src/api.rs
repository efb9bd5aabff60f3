//! Calls the real function handlers with built `lambda_http::Request`s, dispatching by path
//! the way API Gateway would, over the function role's pool (so RLS applies).

use lambda_http::{Body, Request};
use nexify_auth::TokenIssuer;
use nexify_domain::UserId;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;

use crate::TestDb;

pub const TEST_JWT_SECRET: &[u8] = b"integration-test-secret-0123456789abcdef";

pub struct Api {
    pub db: TestDb,
    pub issuer: TokenIssuer,
    auth: auth::App,
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
        let db = TestDb::new(connect).await;
        let issuer = TokenIssuer::new(TEST_JWT_SECRET).unwrap();
        let app = db.app.clone();
        Self {
            auth: auth::App::new(app.clone(), issuer.clone()),
            tickets: tickets::App::new(app.clone(), issuer.clone()),
            settings: settings::App::new(app.clone(), issuer.clone()),
            webhooks: webhooks::App::new(app.clone(), issuer.clone()),
            health: health::Health::new(app),
            issuer,
            db,
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
        let path = req.uri().path().to_owned();
        let response = if path.starts_with("/api/auth/") || path.starts_with("/api/me/") {
            self.auth.handle(req).await
        } else if path.starts_with("/api/webhooks/") {
            self.webhooks.handle(req).await
        } else if path.starts_with("/api/health/") {
            self.health.handle(req).await
        } else if path.contains("/settings/") {
            self.settings.handle(req).await
        } else {
            self.tickets.handle(req).await
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
