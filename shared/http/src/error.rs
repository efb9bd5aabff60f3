use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use nexify_domain::{Classify, ErrorClass};
use serde::Serialize;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Everything a handler can answer besides success. Each variant has a stable problem
/// `type` that clients may switch on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be read: bad JSON, an unknown field, a body that is too large.
    #[error("{detail}")]
    BadRequest {
        field: Option<String>,
        detail: String,
    },
    /// The request was read but a value is not acceptable.
    #[error("{field}: {detail}")]
    Validation { field: String, detail: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// Also the answer for anything in an org the caller does not belong to, so that
    /// existence is never revealed.
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Too many failed attempts; `Retry-After` says when to try again.
    #[error("too many failed attempts: try again in {0} seconds")]
    TooManyRequests(u32),
    #[error("{0}")]
    Conflict(String),
    /// A dependency (the database, the queue) is down or restarting; retry later.
    #[error("service unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A bug or an unexpected failure. Logged with its cause; the client sees only the
    /// request id.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An error (RFC 9457).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: &'a str,
    /// The input field to fix, for 400 and 422.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// Quote it to the operator: the logs hold the details of a 5xx.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

impl ApiError {
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::Validation {
            field: field.into(),
            detail: detail.into(),
        }
    }

    pub fn internal(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(err.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The stable problem type and its title.
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => {
                ("https://nexify.dev/problems/bad-request", "Bad request")
            }
            ApiError::Validation { .. } => {
                ("https://nexify.dev/problems/validation", "Invalid value")
            }
            ApiError::Unauthorized(_) => {
                ("https://nexify.dev/problems/unauthorized", "Unauthorized")
            }
            ApiError::Forbidden(_) => ("https://nexify.dev/problems/forbidden", "Forbidden"),
            ApiError::NotFound => ("https://nexify.dev/problems/not-found", "Not found"),
            ApiError::MethodNotAllowed => (
                "https://nexify.dev/problems/method-not-allowed",
                "Method not allowed",
            ),
            ApiError::Conflict(_) => ("https://nexify.dev/problems/conflict", "Conflict"),
            ApiError::TooManyRequests(_) => (
                "https://nexify.dev/problems/too-many-requests",
                "Too many attempts",
            ),
            ApiError::Unavailable(_) => (
                "https://nexify.dev/problems/unavailable",
                "Service unavailable",
            ),
            ApiError::Internal(_) => ("https://nexify.dev/problems/internal", "Internal error"),
        }
    }

    /// Renders the problem document. 5xx causes are logged here and never returned.
    pub fn into_response(self, request_id: Option<&str>) -> Response<Body> {
        let status = self.status();
        let (kind, title) = self.kind();
        let (detail, field): (String, Option<&str>) = match &self {
            ApiError::BadRequest { field, detail } => (detail.clone(), field.as_deref()),
            ApiError::Validation { field, detail } => (detail.clone(), Some(field.as_str())),
            ApiError::Unavailable(cause) => {
                tracing::warn!(error = %error_chain(cause.as_ref()), "dependency unavailable");
                (
                    "A service Nexify depends on is unavailable; try again shortly.".into(),
                    None,
                )
            }
            ApiError::Internal(cause) => {
                tracing::error!(error = %error_chain(cause.as_ref()), "internal error");
                (
                    "Something went wrong on our side. Quote the request id if you report it."
                        .into(),
                    None,
                )
            }
            other => (other.to_string(), None),
        };
        let problem = Problem {
            kind,
            title,
            status: status.as_u16(),
            detail: &detail,
            field,
            request_id,
        };
        let body = serde_json::to_string(&problem).expect("problem serializes");
        let mut response = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE)
            .body(Body::Text(body))
            .expect("static response parts are valid");
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        if let ApiError::TooManyRequests(seconds) = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

use nexify_telemetry::error_chain;

/// Every error that knows its class becomes the matching problem; the 5xx ones keep the
/// error itself as their cause, for the log.
impl<E: Classify> From<E> for ApiError {
    fn from(err: E) -> Self {
        match err.class() {
            ErrorClass::NotFound => ApiError::NotFound,
            ErrorClass::Unauthorized(detail) => ApiError::Unauthorized(detail),
            ErrorClass::Forbidden(detail) => ApiError::Forbidden(detail),
            ErrorClass::Invalid { field, detail } => ApiError::Validation { field, detail },
            ErrorClass::Conflict(detail) => ApiError::Conflict(detail),
            ErrorClass::Throttled {
                retry_after_seconds,
            } => ApiError::TooManyRequests(retry_after_seconds),
            ErrorClass::Unavailable => ApiError::Unavailable(Box::new(err)),
            ErrorClass::Internal => ApiError::Internal(Box::new(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexify_storage::StorageError;

    fn body_json(resp: &Response<Body>) -> serde_json::Value {
        match resp.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn validation_errors_render_as_problem_json_naming_the_field() {
        let resp = ApiError::validation("priority", "must be one of low, medium")
            .into_response(Some("req-1"));
        assert_eq!(resp.status(), 422);
        assert_eq!(resp.headers()["content-type"], PROBLEM_CONTENT_TYPE);
        let body = body_json(&resp);
        assert_eq!(body["type"], "https://nexify.dev/problems/validation");
        assert_eq!(body["field"], "priority");
        assert_eq!(body["status"], 422);
        assert_eq!(body["request_id"], "req-1");
    }

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let resp = ApiError::internal("password=hunter2 connection refused").into_response(None);
        assert_eq!(resp.status(), 500);
        let text = serde_json::to_string(&body_json(&resp)).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("refused"), "{text}");
    }

    #[test]
    fn unavailable_is_503_with_retry_after() {
        let resp = ApiError::Unavailable("db restarting".into()).into_response(None);
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["retry-after"], "2");
        assert!(
            !serde_json::to_string(&body_json(&resp))
                .unwrap()
                .contains("restarting")
        );
    }

    #[test]
    fn storage_constraints_become_409_or_422_not_500() {
        let conflict: ApiError = StorageError::Conflict {
            constraint: "job_runs_org_key_unique".into(),
        }
        .into();
        assert_eq!(conflict.status(), 409);
        let check: ApiError = StorageError::Constraint {
            constraint: "tickets_subject_check".into(),
        }
        .into();
        assert_eq!(check.status(), 422);
        match check {
            ApiError::Validation { field, .. } => assert_eq!(field, "subject"),
            other => panic!("{other:?}"),
        }
        let missing: ApiError = StorageError::NotFound.into();
        assert_eq!(missing.status(), 404);
    }
}
