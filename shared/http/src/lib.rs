//! The HTTP edge every API function shares.
//!
//! - [`ApiError`]: the one error type handlers return, rendered as `application/problem+json`
//!   in exactly one place ([`ApiError::into_response`]).
//! - [`parse_json`]: request bodies with a size limit, a JSON content type and precise errors
//!   that name the offending field (DTOs use `#[serde(deny_unknown_fields)]`).
//! - [`RequestMeta`]: the Lambda request id, echoed in every problem and log line.
//! - [`route`], [`path_param`], [`OrgCaller`]: dispatch on API Gateway's route key and
//!   path parameters, never on the raw path.

mod auth;
mod body;
mod error;
mod request;
mod response;
pub mod routing;
pub mod session_cookie;

pub use auth::authenticate;
pub use body::{MAX_BODY_BYTES, parse_json, parse_optional_json, text_body};
pub use error::{ApiError, PROBLEM_CONTENT_TYPE, Problem};
pub use request::{RequestMeta, query_params};
pub use response::{empty, json, json_text};
pub use routing::{OrgCaller, path_param, route, source_ip};

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
    // A metric dimension and log field from the route pattern, never the raw path: paths
    // are the caller's to invent, and each new dimension value is a new CloudWatch metric.
    let route = routing::route_key(&req)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            format!(
                "{method} {}",
                nexify_telemetry::metrics::route_of(req.uri().path())
            )
        });
    let started = std::time::Instant::now();
    let response = match handler(req, meta.clone()).await {
        Ok(response) => response,
        Err(err) => err.into_response(meta.request_id.as_deref()),
    };
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(method = %method, route = %route, status, latency_ms, "request served");
    emit_request_metrics(&route, status, latency_ms);
    Ok(response)
}

/// ApiLatency, ApiRequests and ApiErrors5xx by route and status class, as EMF lines.
fn emit_request_metrics(route: &str, status: u16, latency_ms: f64) {
    use nexify_telemetry::metrics::{Metric, emit};
    let class = format!("{}xx", status / 100);
    emit(
        &[("Route", route), ("StatusClass", &class)],
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

#[cfg(test)]
mod tests {
    use lambda_http::RequestExt;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;
    use nexify_telemetry::metrics::{capture, take_captured};

    use super::*;

    fn request(path: &str, route_key: Option<&str>) -> Request {
        let req = lambda_http::http::Request::builder()
            .method("GET")
            .uri(path)
            .body(Body::Empty)
            .unwrap();
        match route_key {
            Some(key) => {
                let mut ctx = ApiGatewayV2httpRequestContext::default();
                ctx.route_key = Some(key.to_owned());
                req.with_request_context(RequestContext::ApiGatewayV2(ctx))
            }
            None => req,
        }
    }

    async fn route_emitted(req: Request) -> Vec<String> {
        serve(req, |_, _| async {
            Err::<Response<Body>, _>(ApiError::NotFound)
        })
        .await
        .unwrap();
        take_captured()
            .iter()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                v["Route"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    #[tokio::test]
    async fn metrics_name_the_route_pattern_never_the_raw_path() {
        capture();
        // Through API Gateway (and the local gateway): its route key.
        let routed = request(
            "/api/orgs/x1/tickets/",
            Some("GET /api/orgs/{org}/tickets/"),
        );
        assert_eq!(
            route_emitted(routed).await,
            vec!["GET /api/orgs/{org}/tickets/"]
        );
        // Invoked directly: the path's shape, with whatever is not a route word as an id.
        for path in ["/api/orgs/x1/tickets/", "/api/orgs/x2/tickets/"] {
            assert_eq!(
                route_emitted(request(path, None)).await,
                vec!["GET /api/orgs/{id}/tickets/"]
            );
        }
    }
}
