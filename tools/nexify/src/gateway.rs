//! The local API gateway: serves the console's static export and routes `/api/...` to the
//! functions that `cargo lambda watch` serves, invoking them with HTTP API (2.0) events
//! through the Lambda Invoke API, as API Gateway does on AWS. The routes are
//! read from `template.yaml`, the one place they are defined. Every answer carries the
//! console's security headers ([`crate::csp`]), as CloudFront adds them on AWS.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

pub use nexify_http::routing::{TemplateRoute as Route, routes_from_template};

pub struct GatewayConfig {
    pub template: PathBuf,
    pub invoke_base: String,
    pub web_root: PathBuf,
    pub listen: SocketAddr,
}

struct Gateway {
    routes: Vec<Route>,
    invoke_base: String,
    web_root: PathBuf,
    http: Client<HttpConnector, Full<Bytes>>,
    security_headers: Vec<(&'static str, String)>,
}

type Reply = Response<Full<Bytes>>;

fn problem(status: StatusCode, title: &str, detail: &str) -> Reply {
    let body = serde_json::json!({
        "type": format!("https://nexify.dev/problems/{}", title.to_lowercase().replace(' ', "-")),
        "title": title, "status": status.as_u16(), "detail": detail,
    });
    Response::builder()
        .status(status)
        .header("content-type", "application/problem+json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "css" => "text/css",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The event API Gateway's HTTP API (payload format 2.0) hands a function for `parts` and
/// `body`. Invoking the function with it through the Lambda Invoke API, as AWS does, keeps
/// local behaviour the same as deployed: a body that is not UTF-8 arrives base64-encoded,
/// headers and query values repeated in the request are joined with commas.
fn http_api_event(
    parts: &hyper::http::request::Parts,
    body: &[u8],
    route_key: &str,
    path_parameters: &std::collections::HashMap<String, String>,
) -> serde_json::Value {
    use base64::Engine;
    let mut headers = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == hyper::header::COOKIE {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        headers
            .entry(name.as_str())
            .and_modify(|v| {
                *v = format!("{},{value}", v.as_str().unwrap_or_default()).into();
            })
            .or_insert_with(|| value.into());
    }
    let raw_query = parts.uri.query().unwrap_or("");
    let mut query = serde_json::Map::new();
    for (key, value) in form_urlencoded::parse(raw_query.as_bytes()) {
        query
            .entry(key.into_owned())
            .and_modify(|v| *v = format!("{},{value}", v.as_str().unwrap_or_default()).into())
            .or_insert_with(|| value.into_owned().into());
    }
    let (body, base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (serde_json::Value::Null, false),
        Ok(text) => (text.into(), false),
        Err(_) => (
            base64::engine::general_purpose::STANDARD
                .encode(body)
                .into(),
            true,
        ),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    serde_json::json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "cookies": cookies,
        "headers": headers,
        "queryStringParameters": query,
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": parts.headers.get(hyper::header::USER_AGENT)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_default(),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": "",
            "timeEpoch": now.as_millis() as u64,
        },
        "body": body,
        "isBase64Encoded": base64,
    })
}

/// The HTTP response for a function's HTTP API (2.0) result.
fn http_api_reply(payload: &[u8]) -> anyhow::Result<Reply> {
    use base64::Engine;
    let result: serde_json::Value = serde_json::from_slice(payload)?;
    if let Some(error) = result.get("errorType") {
        anyhow::bail!("the function failed: {error} {}", result["errorMessage"]);
    }
    let status = result["statusCode"].as_u64().unwrap_or(200);
    let mut reply = Response::builder().status(u16::try_from(status)?);
    if let Some(headers) = result["headers"].as_object() {
        for (name, value) in headers {
            if let Some(value) = value.as_str() {
                reply = reply.header(name, value);
            }
        }
    }
    if let Some(headers) = result["multiValueHeaders"].as_object() {
        for (name, values) in headers {
            for value in values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
            {
                reply = reply.header(name, value);
            }
        }
    }
    for cookie in result["cookies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str())
    {
        reply = reply.header(hyper::header::SET_COOKIE, cookie);
    }
    let body = match result["body"].as_str() {
        None => Vec::new(),
        Some(b) if result["isBase64Encoded"].as_bool() == Some(true) => {
            base64::engine::general_purpose::STANDARD.decode(b)?
        }
        Some(b) => b.as_bytes().to_vec(),
    };
    Ok(reply.body(Full::new(Bytes::from(body)))?)
}

impl Gateway {
    async fn handle(&self, request: Request<Incoming>) -> Reply {
        let mut reply = self.answer(request).await;
        for (name, value) in &self.security_headers {
            if let Ok(value) = hyper::header::HeaderValue::from_str(value) {
                reply.headers_mut().insert(*name, value);
            }
        }
        reply
    }

    async fn answer(&self, request: Request<Incoming>) -> Reply {
        let path = request.uri().path().to_owned();
        if path.starts_with("/api/") {
            return match self.forward(request).await {
                Ok(reply) => reply,
                Err(e) => {
                    tracing::error!(error = %e, path, "function unreachable");
                    problem(
                        StatusCode::BAD_GATEWAY,
                        "Bad gateway",
                        "The function did not answer; is cargo lambda watch running?",
                    )
                }
            };
        }
        self.static_file(&path).await
    }

    async fn forward(&self, request: Request<Incoming>) -> anyhow::Result<Reply> {
        let chosen = nexify_http::routing::choose(
            &self.routes,
            request.method().as_str(),
            request.uri().path(),
        );
        let Some((route, path_parameters)) = chosen else {
            return Ok(problem(
                StatusCode::NOT_FOUND,
                "Not found",
                "No such API route.",
            ));
        };
        let target = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.invoke_base.trim_end_matches('/'),
            route.function,
        );
        let (parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        let event = http_api_event(&parts, &body, &route.key(), &path_parameters);
        let invoke = Request::builder()
            .method("POST")
            .uri(target)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(serde_json::to_vec(&event)?)))?;
        let response = self.http.request(invoke).await?;
        let status = response.status();
        let payload = response.into_body().collect().await?.to_bytes();
        anyhow::ensure!(
            status.is_success(),
            "the invoke API answered {status}: {}",
            String::from_utf8_lossy(&payload)
        );
        http_api_reply(&payload)
    }

    /// A file of the static export: `/x/` is `x/index.html`, `/x` is `x.html` or `x`.
    async fn static_file(&self, path: &str) -> Reply {
        let relative = Path::new(path.trim_start_matches('/'));
        if relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            return problem(StatusCode::BAD_REQUEST, "Bad request", "Invalid path.");
        }
        let base = self.web_root.join(relative);
        let candidates = if path.ends_with('/') {
            vec![base.join("index.html")]
        } else {
            vec![
                base.with_extension("html"),
                base.clone(),
                base.join("index.html"),
            ]
        };
        for file in candidates {
            if let Ok(bytes) = tokio::fs::read(&file).await {
                return Response::builder()
                    .header("content-type", content_type(&file))
                    .body(Full::new(Bytes::from(bytes)))
                    .expect("a valid response");
            }
        }
        match tokio::fs::read(self.web_root.join("404.html")).await {
            Ok(bytes) => Response::builder()
                .status(StatusCode::NOT_FOUND)
                .header("content-type", "text/html; charset=utf-8")
                .body(Full::new(Bytes::from(bytes)))
                .expect("a valid response"),
            Err(_) => problem(StatusCode::NOT_FOUND, "Not found", "No such page."),
        }
    }
}

pub async fn run(config: GatewayConfig) -> anyhow::Result<()> {
    let template = std::fs::read_to_string(&config.template)
        .with_context(|| format!("reading {}", config.template.display()))?;
    let routes = routes_from_template(&template);
    anyhow::ensure!(!routes.is_empty(), "no HttpApi routes in the template");
    // The export's inline scripts as they are now: `make run` builds the console first.
    let hashes = crate::csp::script_hashes(&config.web_root).with_context(|| {
        format!(
            "reading the console's export in {}",
            config.web_root.display()
        )
    })?;
    let gateway = Arc::new(Gateway {
        security_headers: crate::csp::headers(&hashes),
        routes,
        invoke_base: config.invoke_base,
        web_root: config.web_root,
        http: Client::builder(TokioExecutor::new()).build_http(),
    });
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(listen = %config.listen, routes = gateway.routes.len(), "gateway listening");
    loop {
        let (stream, _) = listener.accept().await?;
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let gateway = gateway.clone();
                async move { Ok::<_, std::convert::Infallible>(gateway.handle(request).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_routes_every_api_path_to_one_function() {
        let template = include_str!("../../../template.yaml");
        let routes = routes_from_template(template);
        assert_eq!(routes.len(), 51, "{routes:#?}");
        let route = |m: &str, p: &str| {
            let found: Vec<&Route> = routes
                .iter()
                .filter(|r| r.method == m && r.match_path(p).is_some())
                .collect();
            assert_eq!(found.len(), 1, "{m} {p}: {found:?}");
            found[0].function.clone()
        };
        let org = "0b7c2f1e-0000-0000-0000-000000000000";
        assert_eq!(route("POST", "/api/auth/token/"), "auth");
        assert_eq!(route("GET", "/api/me/"), "auth");
        assert_eq!(
            route("GET", &format!("/api/orgs/{org}/tickets/")),
            "tickets"
        );
        assert_eq!(
            route("PATCH", &format!("/api/orgs/{org}/tickets/x/")),
            "tickets"
        );
        assert_eq!(
            route("POST", &format!("/api/orgs/{org}/tickets/x/triage/")),
            "triage-api"
        );
        assert_eq!(route("GET", &format!("/api/orgs/{org}/kb/search/")), "kb");
        assert_eq!(
            route("POST", &format!("/api/webhooks/{org}/tickets/")),
            "webhooks"
        );
        assert_eq!(
            route("POST", &format!("/api/orgs/{org}/imports/")),
            "tickets"
        );
        assert_eq!(
            route("GET", &format!("/api/orgs/{org}/models/")),
            "triage-api"
        );
        assert_eq!(
            route("GET", &format!("/api/orgs/{org}/models/outcomes/")),
            "triage-api"
        );
        assert_eq!(
            route("POST", &format!("/api/orgs/{org}/models/retrain/")),
            "triage-api"
        );
        assert_eq!(route("GET", "/api/health/"), "health");
        assert_eq!(route("GET", "/api/openapi.json"), "health");
        assert!(
            routes[0].match_path("/api/health").is_none(),
            "trailing slashes matter"
        );
    }

    /// A path shaped without API Gateway's route key (a direct invocation) keeps every
    /// literal segment of the template's routes, so it names the same route.
    #[test]
    fn every_literal_route_segment_is_a_route_word_of_the_metrics() {
        let template = include_str!("../../../template.yaml");
        for route in routes_from_template(template) {
            for segment in route.path.split('/') {
                let literal = !segment.is_empty() && !segment.starts_with('{');
                assert!(
                    !literal || nexify_telemetry::metrics::ROUTE_WORDS.contains(&segment),
                    "'{segment}' of {} {}",
                    route.method,
                    route.path
                );
            }
        }
    }
}
