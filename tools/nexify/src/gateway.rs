//! The local API gateway: serves the console's static export and routes `/api/...` to the
//! functions that `cargo lambda watch` serves, as API Gateway does on AWS. The routes are
//! read from `template.yaml`, the one place they are defined.

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

/// One HTTP route of the template: method, path pattern (`{name}` segments match anything)
/// and the binary of the function that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: String,
}

impl Route {
    fn matches_path(&self, path: &str) -> bool {
        let want: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let got: Vec<&str> = path.trim_matches('/').split('/').collect();
        want.len() == got.len()
            && self.path.ends_with('/') == path.ends_with('/')
            && want
                .iter()
                .zip(&got)
                .all(|(w, g)| (w.starts_with('{') && !g.is_empty()) || w == g)
    }
}

/// The `HttpApi` routes of a SAM template: every `Method`/`Path` pair under a function whose
/// `Metadata.BuildProperties.Binary` names its binary. A small line reader, enough for the
/// template's own layout (checked by a test).
pub fn routes_from_template(template: &str) -> Vec<Route> {
    let mut routes = Vec::new();
    let mut binary: Option<String> = None;
    let mut method: Option<String> = None;
    for line in template.lines() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if indent == 2 && text.ends_with(':') {
            binary = None; // a new resource
        }
        if let Some(v) = text.strip_prefix("Binary:") {
            binary = Some(v.trim().to_owned());
        } else if let Some(v) = text.strip_prefix("Method:") {
            method = Some(v.trim().to_uppercase());
        } else if let Some(v) = text.strip_prefix("Path:")
            && let (Some(function), Some(m)) = (&binary, method.take())
        {
            routes.push(Route {
                method: m,
                path: v.trim().to_owned(),
                function: function.clone(),
            });
        }
    }
    routes
}

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

impl Gateway {
    async fn handle(&self, request: Request<Incoming>) -> Reply {
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
        let path = request.uri().path();
        let candidates: Vec<&Route> = self
            .routes
            .iter()
            .filter(|r| r.matches_path(path))
            .collect();
        let Some(route) = candidates
            .iter()
            .find(|r| r.method == request.method().as_str())
            .or(candidates.first())
        else {
            return Ok(problem(
                StatusCode::NOT_FOUND,
                "Not found",
                "No such API route.",
            ));
        };
        let target = format!(
            "{}/lambda-url/{}{}",
            self.invoke_base.trim_end_matches('/'),
            route.function,
            request.uri().path_and_query().map_or(path, |p| p.as_str())
        );
        let (parts, body) = request.into_parts();
        let body = body.collect().await?.to_bytes();
        let mut outgoing = Request::builder().method(parts.method).uri(target);
        for (name, value) in &parts.headers {
            if name != hyper::header::HOST {
                outgoing = outgoing.header(name, value);
            }
        }
        let response = self.http.request(outgoing.body(Full::new(body))?).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Response::from_parts(parts, Full::new(body)))
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
    let gateway = Arc::new(Gateway {
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
        assert_eq!(routes.len(), 23, "{routes:#?}");
        let route = |m: &str, p: &str| {
            let found: Vec<&Route> = routes
                .iter()
                .filter(|r| r.method == m && r.matches_path(p))
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
        assert_eq!(route("GET", "/api/health/"), "health");
        assert!(
            !routes[0].matches_path("/api/health"),
            "trailing slashes matter"
        );
    }
}
