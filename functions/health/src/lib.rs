//! - `GET /api/health/`: answers 200 when the function is up and its database answers, 503
//!   (problem+json) when the database does not.
//! - `GET /api/openapi.json`: the API's OpenAPI 3.1 document, generated from the Rust types
//!   (`nexify-api`).

use std::time::Duration;

use lambda_http::http::StatusCode;
use nexify_http::{ApiError, Body, Request, Response};
use nexify_storage::PgPool;

/// How long the database may take to answer before we call it down.
const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Health {
    pool: PgPool,
    /// Generated once per instance, at init.
    openapi: String,
}

impl Health {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            openapi: nexify_api::document(),
        }
    }

    pub async fn handle(&self, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
        nexify_http::serve(req, |req, _meta| self.route(req)).await
    }

    async fn route(&self, req: Request) -> Result<Response<Body>, ApiError> {
        match nexify_http::route(&req)? {
            "GET /api/openapi.json" => Ok(nexify_http::json_text(StatusCode::OK, &self.openapi)),
            "GET /api/health/" => {
                self.check_database().await?;
                Ok(nexify_http::json(
                    StatusCode::OK,
                    &nexify_api::responses::Health::OK,
                ))
            }
            _ => Err(ApiError::NotFound),
        }
    }

    #[tracing::instrument(skip_all, err)]
    async fn check_database(&self) -> Result<(), ApiError> {
        let ping = nexify_storage::ping(&self.pool);
        match tokio::time::timeout(DB_CHECK_TIMEOUT, ping).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(ApiError::Unavailable(Box::new(err))),
            Err(_) => Err(ApiError::Unavailable(
                "database did not answer in time".into(),
            )),
        }
    }
}
