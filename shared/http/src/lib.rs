//! The HTTP edge every API function shares.
//!
//! - [`ApiError`]: the one error type handlers return, rendered as `application/problem+json`
//!   in exactly one place ([`ApiError::into_response`]).
//! - [`parse_json`]: request bodies with a size limit, a JSON content type and precise errors
//!   that name the offending field (DTOs use `#[serde(deny_unknown_fields)]`).
//! - [`RequestMeta`]: the Lambda request id, echoed in every problem and log line.
//! - [`PathMatch`]: matching `/api/orgs/{org}/tickets/{id}/`-style routes.

mod auth;
mod body;
mod error;
mod request;
mod response;

pub use auth::{authenticate, path_id};
pub use body::{MAX_BODY_BYTES, parse_json, parse_optional_json, text_body};
pub use error::{ApiError, PROBLEM_CONTENT_TYPE};
pub use request::{PathMatch, RequestMeta, query_params};
pub use response::{empty, json, json_text};

/// The API's OpenAPI 3.1 document, written by hand beside this crate; a test checks that it
/// names every route of `template.yaml` and nothing else.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

pub use lambda_http::{Body, Request, Response, http::Method, http::StatusCode};

/// Runs a handler and turns its error, if any, into a problem response: the one place where
/// errors meet HTTP. Logs one line per request with method, route, status and latency.
pub async fn serve<F, Fut>(
    req: Request,
    handler: F,
) -> Result<Response<Body>, std::convert::Infallible>
where
    F: FnOnce(Request, RequestMeta) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Body>, ApiError>>,
{
    let meta = RequestMeta::from_request(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = match handler(req, meta.clone()).await {
        Ok(response) => response,
        Err(err) => err.into_response(meta.request_id.as_deref()),
    };
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(method = %method, path = %path, status, latency_ms, "request served");
    emit_request_metrics(&method, &path, status, latency_ms);
    Ok(response)
}

/// ApiLatency, ApiRequests and ApiErrors5xx by route and status class, as EMF lines.
fn emit_request_metrics(method: &Method, path: &str, status: u16, latency_ms: f64) {
    use nexify_telemetry::metrics::{Metric, emit, route_of};
    let route = format!("{method} {}", route_of(path));
    let class = format!("{}xx", status / 100);
    emit(
        &[("Route", &route), ("StatusClass", &class)],
        &[
            Metric {
                name: "ApiLatency",
                value: latency_ms,
                unit: "Milliseconds",
            },
            Metric {
                name: "ApiRequests",
                value: 1.0,
                unit: "Count",
            },
            Metric {
                name: "ApiErrors5xx",
                value: f64::from(u8::from(status >= 500)),
                unit: "Count",
            },
        ],
    );
}

/// 405 unless the request uses `method`.
pub fn require_method(req: &Request, method: Method) -> Result<(), ApiError> {
    if req.method() == method {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}
