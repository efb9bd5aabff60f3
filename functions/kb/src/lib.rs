//! The knowledge base:
//! - `POST /api/orgs/{org}/documents/` (admin) `{title, body, content_type?, source_url?}`
//! - `GET /api/orgs/{org}/documents/` (`cursor`, `limit`)
//! - `GET` / `DELETE /api/orgs/{org}/documents/{id}/` (the document with its chunks; admin deletes)
//! - `GET /api/orgs/{org}/kb/search/?q=&limit=` ranked chunks with scores

use lambda_http::http::StatusCode;
use nexify_auth::TokenIssuer;
use nexify_domain::{DocumentId, OrgId, parse_limit};
use nexify_embed::Embedder;
use nexify_http::{
    ApiError, Body, Method, PathMatch, Request, Response, empty, json, parse_json, path_id,
    query_params, require_method,
};
use nexify_service::knowledge::{self, DocumentInput};
use nexify_service::tickets::Cursor;
use nexify_storage::PgPool;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentBody {
    title: String,
    body: String,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    source_url: Option<String>,
}

pub struct App {
    pool: PgPool,
    issuer: TokenIssuer,
    embedder: std::sync::Arc<dyn Embedder>,
}

impl App {
    pub fn new(pool: PgPool, issuer: TokenIssuer, embedder: std::sync::Arc<dyn Embedder>) -> Self {
        Self {
            pool,
            issuer,
            embedder,
        }
    }

    pub async fn handle(&self, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
        nexify_http::serve(req, |req, _| self.route(req)).await
    }

    async fn route(&self, req: Request) -> Result<Response<Body>, ApiError> {
        let path = req.uri().path().to_owned();
        if let Some(m) = PathMatch::new("/api/orgs/{org}/documents/", &path) {
            let user = nexify_http::authenticate(&req, &self.issuer)?;
            let org: OrgId = path_id(m.get("org"))?;
            match *req.method() {
                Method::POST => {
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
                Method::GET => {
                    let params = query_params(&req);
                    let cursor = params
                        .get("cursor")
                        .map(|c| Cursor::decode(c))
                        .transpose()?;
                    let limit = parse_limit(params.get("limit").map(String::as_str), 25, 100)?;
                    let (items, next_cursor) =
                        knowledge::list(&self.pool, user, org, cursor, limit).await?;
                    Ok(json(
                        StatusCode::OK,
                        &serde_json::json!({ "items": items, "next_cursor": next_cursor }),
                    ))
                }
                _ => Err(ApiError::MethodNotAllowed),
            }
        } else if let Some(m) = PathMatch::new("/api/orgs/{org}/documents/{id}/", &path) {
            let user = nexify_http::authenticate(&req, &self.issuer)?;
            let org: OrgId = path_id(m.get("org"))?;
            let id: DocumentId = path_id(m.get("id"))?;
            match *req.method() {
                Method::GET => Ok(json(
                    StatusCode::OK,
                    &knowledge::get(&self.pool, user, org, id).await?,
                )),
                Method::DELETE => {
                    knowledge::delete(&self.pool, user, org, id).await?;
                    Ok(empty(StatusCode::NO_CONTENT))
                }
                _ => Err(ApiError::MethodNotAllowed),
            }
        } else if let Some(m) = PathMatch::new("/api/orgs/{org}/kb/search/", &path) {
            require_method(&req, Method::GET)?;
            let user = nexify_http::authenticate(&req, &self.issuer)?;
            let org: OrgId = path_id(m.get("org"))?;
            let params = query_params(&req);
            let q = params.get("q").map(String::as_str).unwrap_or("");
            let limit = parse_limit(params.get("limit").map(String::as_str), 10, 50)?;
            let hits = knowledge::search(&self.pool, &self.embedder, user, org, q, limit).await?;
            Ok(json(StatusCode::OK, &serde_json::json!({ "items": hits })))
        } else {
            Err(ApiError::NotFound)
        }
    }
}
