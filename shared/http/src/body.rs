use lambda_http::http::header;
use lambda_http::{Body, Request};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// The largest request body any route accepts: 256 KiB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// A required text body of at most `max_bytes` (a file upload: CSV, JSON lines), with its
/// media type. Too large, empty or not UTF-8: 400.
pub fn text_body(req: &Request, max_bytes: usize) -> Result<(&str, String), ApiError> {
    let bytes = body_bytes(req);
    let bad = |detail: String| ApiError::BadRequest {
        field: None,
        detail,
    };
    if bytes.len() > max_bytes {
        return Err(bad(format!(
            "the request body must be at most {max_bytes} bytes; send the file in parts"
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("a body is required".into()));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| bad("the body must be UTF-8 text".into()))?;
    let media_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Ok((text, media_type))
}

/// Parses a required JSON body into `T`. DTOs should carry `#[serde(deny_unknown_fields)]`.
///
/// - over [`MAX_BODY_BYTES`], not JSON, or with an unknown field: 400;
/// - a missing field, a wrong type or an unknown enum value: 422 naming the field.
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    parse_optional_json(req)?.ok_or_else(|| ApiError::BadRequest {
        field: None,
        detail: "a JSON body is required".into(),
    })
}

/// Like [`parse_json`], but an empty body is `None`.
pub fn parse_optional_json<T: DeserializeOwned>(req: &Request) -> Result<Option<T>, ApiError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::BadRequest {
            field: None,
            detail: format!("the request body must be at most {MAX_BODY_BYTES} bytes"),
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
        let is_json = content_type
            .to_str()
            .map(|ct| {
                let essence = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json" || essence.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::BadRequest {
                field: None,
                detail: "the request body must be application/json".into(),
            });
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
    // Reject trailing garbage after the document, as a strict parser should.
    de.end().map_err(|e| ApiError::BadRequest {
        field: None,
        detail: format!("invalid JSON: {}", strip_position(&e.to_string())),
    })?;
    Ok(Some(value))
}

fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// The text between the first pair of backticks in a serde message, e.g. the field name in
/// "unknown field `foo`, expected one of ...".
fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = strip_position(&inner.to_string()).to_owned();
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    match inner.classify() {
        serde_json::error::Category::Data => {
            if message.starts_with("unknown field") {
                // The path already ends at the unknown field itself.
                let field = if path == "." || path.is_empty() {
                    backticked(&message).map(str::to_owned)
                } else {
                    Some(path)
                };
                ApiError::BadRequest {
                    field,
                    detail: message,
                }
            } else if message.starts_with("missing field") {
                let field = backticked(&message).map(join).unwrap_or(path);
                ApiError::Validation {
                    field,
                    detail: message,
                }
            } else {
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError::Validation {
                    field,
                    detail: message,
                }
            }
        }
        _ => ApiError::BadRequest {
            field: None,
            detail: format!("invalid JSON: {message}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Dto {
        subject: String,
        priority: Option<Level>,
        nested: Option<Nested>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Level {
        Low,
        High,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nested {
        count: u32,
    }

    fn req(body: &str) -> Request {
        lambda_http::http::Request::builder()
            .header("content-type", "application/json")
            .body(Body::Text(body.to_owned()))
            .unwrap()
    }

    fn field_of(err: &ApiError) -> Option<String> {
        match err {
            ApiError::BadRequest { field, .. } => field.clone(),
            ApiError::Validation { field, .. } => Some(field.clone()),
            _ => None,
        }
    }

    #[test]
    fn parses_a_valid_body() {
        let dto: Dto = parse_json(&req(r#"{"subject":"hi","priority":"low"}"#)).unwrap();
        assert_eq!(dto.subject, "hi");
    }

    #[test]
    fn unknown_fields_are_400_naming_the_field() {
        let err = parse_json::<Dto>(&req(r#"{"subject":"hi","colour":"red"}"#)).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(field_of(&err).as_deref(), Some("colour"));
        let err =
            parse_json::<Dto>(&req(r#"{"subject":"hi","nested":{"count":1,"x":2}}"#)).unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("nested.x"));
    }

    #[test]
    fn wrong_enum_values_and_types_are_422_naming_the_field() {
        let err = parse_json::<Dto>(&req(r#"{"subject":"hi","priority":"meh"}"#)).unwrap_err();
        assert_eq!(err.status(), 422);
        assert_eq!(field_of(&err).as_deref(), Some("priority"));
        let err = parse_json::<Dto>(&req(r#"{"subject":7}"#)).unwrap_err();
        assert_eq!(field_of(&err).as_deref(), Some("subject"));
        let err = parse_json::<Dto>(&req(r#"{}"#)).unwrap_err();
        assert_eq!(err.status(), 422);
        assert_eq!(field_of(&err).as_deref(), Some("subject"));
    }

    #[test]
    fn malformed_json_and_trailing_garbage_are_400() {
        for bad in [r#"{"subject":"#, r#"{"subject":"a"} x"#, "nope"] {
            let err = parse_json::<Dto>(&req(bad)).unwrap_err();
            assert_eq!(err.status(), 400, "{bad}");
        }
    }

    #[test]
    fn oversized_bodies_are_refused_before_parsing() {
        let big = format!(r#"{{"subject":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        let err = parse_json::<Dto>(&req(&big)).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.to_string().contains("262144"));
    }

    #[test]
    fn non_json_content_types_and_empty_bodies_are_400() {
        let form = lambda_http::http::Request::builder()
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::Text("subject=hi".into()))
            .unwrap();
        assert_eq!(parse_json::<Dto>(&form).unwrap_err().status(), 400);
        assert_eq!(parse_json::<Dto>(&req("")).unwrap_err().status(), 400);
        assert!(parse_optional_json::<Dto>(&req("  ")).unwrap().is_none());
    }
}
