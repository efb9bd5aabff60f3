use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    json_text(
        status,
        serde_json::to_string(value).expect("response types serialize"),
    )
}

/// A response whose body is already JSON text.
pub fn json_text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let body: String = body.into();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .expect("static response parts are valid")
}

/// A response with no body, e.g. 204.
pub fn empty(status: StatusCode) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Body::Empty)
        .expect("static response parts are valid")
}
