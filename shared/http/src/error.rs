use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use nexify_domain::InvalidInput;
use nexify_service::ServiceError;
use nexify_storage::StorageError;
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

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
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
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// `outer: inner: innermost`, for logs.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

impl From<InvalidInput> for ApiError {
    fn from(err: InvalidInput) -> Self {
        ApiError::Validation {
            field: err.field.to_owned(),
            detail: err.reason,
        }
    }
}

/// Constraint names that map to a field and a message a client can act on. Anything else
/// still becomes a 409 or 422, with a generic message.
fn describe_constraint(constraint: &str) -> (Option<&'static str>, &'static str) {
    match constraint {
        "tickets_org_external_id_unique" => (
            Some("external_id"),
            "a ticket with this external_id already exists",
        ),
        "job_runs_org_key_unique" => (
            Some("idempotency_key"),
            "a job with this idempotency key already exists",
        ),
        "suggestions_job_run_unique" => (None, "this job already has a suggestion"),
        "users_email_unique" => (Some("email"), "a user with this email already exists"),
        "organizations_slug_unique" => (Some("slug"), "an organization with this slug exists"),
        "organization_settings_default_team_known" => {
            (Some("default_team"), "must be one of the teams")
        }
        "organization_settings_default_category_known" => {
            (Some("default_category"), "must be one of the categories")
        }
        c if c.starts_with("tickets_subject") => (Some("subject"), "is not an acceptable subject"),
        c if c.starts_with("tickets_requester_email") => {
            (Some("requester_email"), "is not an acceptable email")
        }
        c if c.starts_with("tickets_assigned_team") => {
            (Some("assigned_team"), "is not an acceptable team")
        }
        c if c.starts_with("organization_settings_auto_apply_threshold") => {
            (Some("auto_apply_threshold"), "must be between 0 and 1")
        }
        c if c.ends_with("_fk") || c.ends_with("_fkey") => {
            (None, "refers to something that does not exist")
        }
        _ => (None, "the request conflicts with the data's rules"),
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound => ApiError::NotFound,
            StorageError::Conflict { constraint } => {
                let (_, detail) = describe_constraint(&constraint);
                ApiError::Conflict(detail.to_owned())
            }
            StorageError::Constraint { constraint } => {
                let (field, detail) = describe_constraint(&constraint);
                ApiError::Validation {
                    field: field.unwrap_or("body").to_owned(),
                    detail: detail.to_owned(),
                }
            }
            StorageError::Unavailable(e) => ApiError::Unavailable(Box::new(e)),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound => ApiError::NotFound,
            ServiceError::Forbidden(detail) => ApiError::Forbidden(detail.to_owned()),
            ServiceError::Unauthorized(detail) => ApiError::Unauthorized(detail),
            ServiceError::Invalid(invalid) => invalid.into(),
            ServiceError::Conflict(detail) => ApiError::Conflict(detail),
            ServiceError::Storage(storage) => storage.into(),
            ServiceError::Internal(detail) => ApiError::Internal(detail.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
