use std::collections::HashMap;

use lambda_http::{Request, RequestExt};

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

#[cfg(test)]
mod tests {
    use super::*;

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
