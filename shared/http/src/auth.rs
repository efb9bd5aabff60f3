use lambda_http::Request;
use lambda_http::http::header;
use nexify_auth::{TokenType, TokenVerifier};
use nexify_domain::UserId;

use crate::ApiError;

/// The user behind the request's `Authorization: Bearer <access token>`. Any failure is a
/// 401; the detail says whether the token was missing, expired or invalid, never more.
pub fn authenticate(req: &Request, verifier: &TokenVerifier) -> Result<UserId, ApiError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("an Authorization: Bearer token is required".into())
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be 'Bearer <token>'".into())
        })?;
    verifier
        .verify(token, TokenType::Access)
        .map_err(|e| ApiError::Unauthorized(e.to_string()))
}
