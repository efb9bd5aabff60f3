//! Routing on what API Gateway matched: each request through an HTTP API carries the route
//! key (`GET /api/orgs/{org}/tickets/`) and the path parameters, so a function never parses
//! its own paths. The local gateway and the test harness read the same routes from
//! `template.yaml` ([`routes_from_template`]) and send both, as API Gateway does.

use std::collections::HashMap;
use std::str::FromStr;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use nexify_auth::TokenVerifier;
use nexify_domain::{OrgId, UserId};

use crate::ApiError;

/// API Gateway's route key for the route that matched, when the request came through an
/// HTTP API.
pub fn route_key(req: &Request) -> Option<&str> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.route_key.as_deref().filter(|k| *k != "$default"),
        _ => None,
    }
}

/// The caller's address as API Gateway saw it (`requestContext.http.sourceIp`).
pub fn source_ip(req: &Request) -> Option<&str> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.as_deref(),
        _ => None,
    }
}

/// The route key to dispatch on. A request with none (a direct invocation) names no route:
/// 404. A key whose method is not the request's: 405.
pub fn route(req: &Request) -> Result<&str, ApiError> {
    let key = route_key(req).ok_or(ApiError::NotFound)?;
    match key.split_once(' ') {
        Some((method, _)) if method == req.method().as_str() => Ok(key),
        Some(_) => Err(ApiError::MethodNotAllowed),
        None => Err(ApiError::NotFound),
    }
}

/// The path parameter `name`, parsed. One that is missing or does not parse names nothing
/// that can exist: 404, like any id the caller cannot see.
pub fn path_param<T: FromStr>(req: &Request, name: &str) -> Result<T, ApiError> {
    req.path_parameters_ref()
        .and_then(|params| params.first(name))
        .and_then(|value| value.parse().ok())
        .ok_or(ApiError::NotFound)
}

/// A signed-in user acting in the org the path names. Whether they belong to it is the
/// service's to check (row-level security answers 404 when they do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgCaller {
    pub user: UserId,
    pub org: OrgId,
}

impl OrgCaller {
    /// The bearer token first (401), then the `{org}` parameter (404).
    pub fn from_request(req: &Request, verifier: &TokenVerifier) -> Result<Self, ApiError> {
        let user = crate::authenticate(req, verifier)?;
        let org = path_param(req, "org")?;
        Ok(Self { user, org })
    }
}

/// One HTTP route of the template: method, path pattern (`{name}` segments match one
/// non-empty segment) and the binary of the function that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRoute {
    pub method: String,
    pub path: String,
    pub function: String,
}

impl TemplateRoute {
    /// `METHOD /path/{with}/{params}/`, as API Gateway names the route.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path parameters when `path` has this route's shape.
    pub fn match_path(&self, path: &str) -> Option<HashMap<String, String>> {
        let want: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let got: Vec<&str> = path.trim_matches('/').split('/').collect();
        if want.len() != got.len() || self.path.ends_with('/') != path.ends_with('/') {
            return None;
        }
        let mut params = HashMap::new();
        for (w, g) in want.iter().zip(&got) {
            match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) if !g.is_empty() => {
                    params.insert(name.to_owned(), (*g).to_owned());
                }
                None if w == g => {}
                _ => return None,
            }
        }
        Some(params)
    }
}

/// The route for `method` and `path` with its path parameters, as an HTTP API chooses it;
/// a path that matches only under other methods gives one of those routes, so that the
/// function answers 405.
pub fn choose<'a>(
    routes: &'a [TemplateRoute],
    method: &str,
    path: &str,
) -> Option<(&'a TemplateRoute, HashMap<String, String>)> {
    let mut candidates = routes
        .iter()
        .filter_map(|r| r.match_path(path).map(|params| (r, params)))
        .peekable();
    let first = candidates.peek().cloned();
    candidates.find(|(r, _)| r.method == method).or(first)
}

/// The `HttpApi` routes of a SAM template: every `Method`/`Path` pair under a function whose
/// `Metadata.BuildProperties.Binary` names its binary. A small line reader, enough for the
/// template's own layout (checked by a test of the local gateway).
pub fn routes_from_template(template: &str) -> Vec<TemplateRoute> {
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
            routes.push(TemplateRoute {
                method: m,
                path: v.trim().to_owned(),
                function: function.clone(),
            });
        }
    }
    routes
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;

    fn routed(method: &str, key: Option<&str>, params: &[(&str, &str)]) -> Request {
        let req: Request = lambda_http::http::Request::builder()
            .method(method)
            .uri("/ignored/")
            .body(lambda_http::Body::Empty)
            .unwrap();
        let params: HashMap<String, String> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut ctx = ApiGatewayV2httpRequestContext::default();
        ctx.route_key = key.map(str::to_owned);
        req.with_request_context(RequestContext::ApiGatewayV2(ctx))
            .with_path_parameters(params)
    }

    #[test]
    fn dispatches_on_the_route_key_and_its_method() {
        let key = "GET /api/orgs/{org}/tickets/";
        assert_eq!(route(&routed("GET", Some(key), &[])).unwrap(), key);
        assert!(matches!(
            route(&routed("DELETE", Some(key), &[])),
            Err(ApiError::MethodNotAllowed)
        ));
        assert!(matches!(
            route(&routed("GET", None, &[])),
            Err(ApiError::NotFound)
        ));
        assert!(matches!(
            route(&routed("GET", Some("$default"), &[])),
            Err(ApiError::NotFound)
        ));
    }

    #[test]
    fn path_parameters_parse_or_are_404() {
        let id = uuid::Uuid::new_v4();
        let req = routed("GET", None, &[("id", &id.to_string()), ("bad", "x1")]);
        assert_eq!(path_param::<uuid::Uuid>(&req, "id").unwrap(), id);
        assert!(matches!(
            path_param::<uuid::Uuid>(&req, "bad"),
            Err(ApiError::NotFound)
        ));
        assert!(matches!(
            path_param::<uuid::Uuid>(&req, "missing"),
            Err(ApiError::NotFound)
        ));
    }

    #[test]
    fn template_routes_match_whole_segments_and_capture_parameters() {
        let routes = vec![
            TemplateRoute {
                method: "GET".into(),
                path: "/api/orgs/{org}/tickets/{id}/".into(),
                function: "tickets".into(),
            },
            TemplateRoute {
                method: "PATCH".into(),
                path: "/api/orgs/{org}/tickets/{id}/".into(),
                function: "tickets".into(),
            },
        ];
        let (route, params) = choose(&routes, "PATCH", "/api/orgs/o1/tickets/t9/").unwrap();
        assert_eq!(route.key(), "PATCH /api/orgs/{org}/tickets/{id}/");
        assert_eq!(params["org"], "o1");
        assert_eq!(params["id"], "t9");
        // Another method: a route of that path, so the function can answer 405.
        assert_eq!(
            choose(&routes, "DELETE", "/api/orgs/o1/tickets/t9/")
                .unwrap()
                .0
                .method,
            "GET"
        );
        for other in [
            "/api/orgs/o1/tickets/t9",
            "/api/orgs//tickets/t9/",
            "/api/orgs/o1/tickets/t9/x/",
            "/api/orgs/o1/ticket/t9/",
        ] {
            assert!(choose(&routes, "GET", other).is_none(), "{other}");
        }
    }
}
