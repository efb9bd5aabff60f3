use std::collections::HashMap;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// API Gateway's route key (`GET /api/orgs/{org}/tickets/`) for the route that matched, when
/// the request came through an HTTP API (the local gateway sends it too).
pub fn route_key(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.route_key.clone().filter(|k| k != "$default"),
        _ => None,
    }
}

/// What every handler knows about the request it serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The Lambda request id (API Gateway's, through the runtime); `None` outside Lambda.
    pub request_id: Option<String>,
}

impl RequestMeta {
    pub fn from_request(req: &Request) -> Self {
        Self {
            request_id: req.lambda_context_ref().map(|ctx| ctx.request_id.clone()),
        }
    }
}

/// The query string as a map; when a key repeats, the first value wins.
pub fn query_params(req: &Request) -> HashMap<String, String> {
    let mut params = HashMap::new();
    if let Some(query) = req.uri().query() {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            params
                .entry(key.into_owned())
                .or_insert_with(|| value.into_owned());
        }
    }
    params
}

/// A route pattern matched against a path, segment by segment: `{name}` captures one
/// segment. Trailing slashes are optional on both sides, so `/api/health` and
/// `/api/health/` reach the same route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMatch<'a> {
    captures: Vec<(&'static str, &'a str)>,
}

impl<'a> PathMatch<'a> {
    pub fn new(pattern: &'static str, path: &'a str) -> Option<Self> {
        let mut pattern_segments = pattern.trim_matches('/').split('/');
        let mut path_segments = path.trim_matches('/').split('/');
        let mut captures = Vec::new();
        loop {
            match (pattern_segments.next(), path_segments.next()) {
                (None, None) => return Some(Self { captures }),
                (Some(p), Some(s)) if p.starts_with('{') && p.ends_with('}') => {
                    if s.is_empty() {
                        return None;
                    }
                    captures.push((&p[1..p.len() - 1], s));
                }
                (Some(p), Some(s)) if p == s => {}
                _ => return None,
            }
        }
    }

    /// The segment captured by `{name}`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.captures
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_named_segments_with_or_without_trailing_slash() {
        let m =
            PathMatch::new("/api/orgs/{org}/tickets/{id}/", "/api/orgs/o1/tickets/t9/").unwrap();
        assert_eq!(m.get("org"), Some("o1"));
        assert_eq!(m.get("id"), Some("t9"));
        assert!(PathMatch::new("/api/orgs/{org}/tickets/", "/api/orgs/o1/tickets").is_some());
    }

    #[test]
    fn rejects_other_shapes() {
        assert!(PathMatch::new("/api/orgs/{org}/tickets/", "/api/orgs/o1/tickets/x/").is_none());
        assert!(PathMatch::new("/api/orgs/{org}/tickets/", "/api/orgs//tickets/").is_none());
        assert!(PathMatch::new("/api/health/", "/api/healthz/").is_none());
    }

    #[test]
    fn query_params_decode_and_keep_the_first_value() {
        let req: Request = lambda_http::http::Request::builder()
            .uri("/api/x/?q=card%20declined&status=open&status=resolved")
            .body(lambda_http::Body::Empty)
            .unwrap();
        let params = query_params(&req);
        assert_eq!(params["q"], "card declined");
        assert_eq!(params["status"], "open");
    }
}
