use std::collections::HashMap;

use lambda_http::{Request, RequestExt};

use crate::ApiError;

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

/// The query string as a map; when a key repeats, the first value wins. A NUL byte is
/// refused (422) here, once for every handler: Postgres text cannot hold one, so it would
/// otherwise surface as a database error.
pub fn query_params(req: &Request) -> Result<HashMap<String, String>, ApiError> {
    let mut params = HashMap::new();
    if let Some(query) = req.uri().query() {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if key.contains('\0') || value.contains('\0') {
                return Err(ApiError::validation(
                    key.replace('\0', ""),
                    "must not contain NUL bytes",
                ));
            }
            params
                .entry(key.into_owned())
                .or_insert_with(|| value.into_owned());
        }
    }
    Ok(params)
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
        let params = query_params(&req).unwrap();
        assert_eq!(params["q"], "card declined");
        assert_eq!(params["status"], "open");
    }

    #[test]
    fn a_nul_byte_in_a_query_value_is_a_422_naming_the_parameter() {
        let req: Request = lambda_http::http::Request::builder()
            .uri("/api/x/?limit=24&q=%14%00")
            .body(lambda_http::Body::Empty)
            .unwrap();
        let err = query_params(&req).unwrap_err();
        assert_eq!(err.status(), 422);
        assert!(matches!(err, ApiError::Validation { ref field, .. } if field == "q"));
    }
}
