//! The knowledge base:
//! - `POST /api/orgs/{org}/documents/` (admin) `{title, body, content_type?, source_url?}`
//! - `GET /api/orgs/{org}/documents/` (`cursor`, `limit`)
//! - `GET` / `DELETE /api/orgs/{org}/documents/{id}/` (the document with its chunks; admin deletes)
//! - `GET /api/orgs/{org}/kb/search/?q=&limit=` ranked chunks with scores

use lambda_http::http::StatusCode;
use nexify_api::bodies::DocumentBody;
use nexify_api::responses::{DocumentPage, SearchResults};
use nexify_auth::TokenVerifier;
use nexify_domain::{DocumentId, parse_limit};
use nexify_embed::Embedder;
use nexify_http::{
    ApiError, Body, OrgCaller, Request, Response, empty, json, parse_json, path_param, query_params,
};
use nexify_service::knowledge::{self, DocumentInput};
use nexify_service::paging::{DEFAULT_PAGE, page_params};
use nexify_storage::PgPool;

pub struct App {
    pool: PgPool,
    verifier: TokenVerifier,
    embedder: std::sync::Arc<dyn Embedder>,
}

impl App {
    pub fn new(
        pool: PgPool,
        verifier: TokenVerifier,
        embedder: std::sync::Arc<dyn Embedder>,
    ) -> Self {
        Self {
            pool,
            verifier,
            embedder,
        }
    }

    pub async fn handle(&self, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
        nexify_http::serve(req, |req, _| self.route(req)).await
    }

    async fn route(&self, req: Request) -> Result<Response<Body>, ApiError> {
        let route = nexify_http::route(&req)?;
        let OrgCaller { user, org } = OrgCaller::from_request(&req, &self.verifier)?;
        match route {
            "POST /api/orgs/{org}/documents/" => {
                let body: DocumentBody = parse_json(&req)?;
                let input = DocumentInput::parse(
                    &body.title,
                    &body.body,
                    body.content_type.as_deref(),
                    body.source_url.as_deref(),
                )?;
                let created =
                    knowledge::create(&self.pool, &self.embedder, user, org, &input).await?;
                Ok(json(StatusCode::CREATED, &created))
            }
            "GET /api/orgs/{org}/documents/" => {
                let (cursor, limit) = page_params(&query_params(&req)?, DEFAULT_PAGE)?;
                let (items, next_cursor) =
                    knowledge::list(&self.pool, user, org, cursor, limit).await?;
                Ok(json(StatusCode::OK, &DocumentPage { items, next_cursor }))
            }
            "GET /api/orgs/{org}/documents/{id}/" => {
                let id: DocumentId = path_param(&req, "id")?;
                Ok(json(
                    StatusCode::OK,
                    &knowledge::get(&self.pool, user, org, id).await?,
                ))
            }
            "DELETE /api/orgs/{org}/documents/{id}/" => {
                let id: DocumentId = path_param(&req, "id")?;
                knowledge::delete(&self.pool, user, org, id).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            "GET /api/orgs/{org}/kb/search/" => {
                let params = query_params(&req)?;
                let q = params.get("q").map(String::as_str).unwrap_or("");
                let limit = parse_limit(params.get("limit").map(String::as_str), 10, 50)?;
                let hits =
                    knowledge::search(&self.pool, &self.embedder, user, org, q, limit).await?;
                Ok(json(StatusCode::OK, &SearchResults { items: hits }))
            }
            _ => Err(ApiError::NotFound),
        }
    }
}
