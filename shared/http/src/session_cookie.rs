//! The console's refresh token, kept where page scripts cannot read it: an `HttpOnly;
//! Secure; SameSite=Strict` cookie sent only to `/api/auth/`. Requests that carry an
//! `Origin` come from a browser page; they are answered only for the console's own origin
//! (or the API's, when one host serves both), so another site cannot spend the cookie
//! even where `SameSite` is not enforced.

use lambda_http::http::{HeaderValue, header};

use crate::{ApiError, Body, Request, Response};

pub const REFRESH_COOKIE: &str = "nexify_refresh";
const COOKIE_PATH: &str = "/api/auth/";

/// Who sent a request to an endpoint that issues or reads sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A page of the console: the refresh token travels as the cookie, not in JSON.
    Browser,
    /// Any other program (a script, a helpdesk): the refresh token travels in JSON.
    Program,
}

/// The origin browser requests must come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleOrigin(String);

impl ConsoleOrigin {
    /// The origin (`scheme://host[:port]`) of the console's URL.
    pub fn of_url(console_url: &str) -> Self {
        let url = console_url.trim();
        let after_scheme = url.find("://").map_or(0, |i| i + 3);
        let end = url[after_scheme..]
            .find('/')
            .map_or(url.len(), |i| after_scheme + i);
        Self(url[..end].to_ascii_lowercase())
    }

    /// A request with an `Origin` is a browser's, and must come from the console or from
    /// the API's own host; one without is a program's.
    pub fn caller(&self, req: &Request) -> Result<Caller, ApiError> {
        let Some(origin) = req.headers().get(header::ORIGIN) else {
            return Ok(Caller::Program);
        };
        let origin = origin.to_str().unwrap_or_default().to_ascii_lowercase();
        let same_host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .zip(origin.split_once("://"))
            .is_some_and(|(host, (_, authority))| authority == host.to_ascii_lowercase());
        if origin == self.0 || same_host {
            Ok(Caller::Browser)
        } else {
            Err(ApiError::Forbidden(
                "this request comes from a page that is not the console's".into(),
            ))
        }
    }
}

/// The refresh token the browser sent, if any.
pub fn refresh_token(req: &Request) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == REFRESH_COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn set(mut response: Response<Body>, value: &str, max_age_seconds: u64) -> Response<Body> {
    let cookie = format!(
        "{REFRESH_COOKIE}={value}; Path={COOKIE_PATH}; Max-Age={max_age_seconds}; HttpOnly; Secure; SameSite=Strict"
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("a one-time token is a valid cookie value"),
    );
    response
}

/// `response`, setting the refresh cookie.
pub fn with_refresh_token(
    response: Response<Body>,
    token: &str,
    max_age_seconds: u64,
) -> Response<Body> {
    set(response, token, max_age_seconds)
}

/// `response`, deleting the refresh cookie.
pub fn without_refresh_token(response: Response<Body>) -> Response<Body> {
    set(response, "", 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut builder = lambda_http::http::Request::builder().uri("/api/auth/token/");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[test]
    fn the_origin_is_the_consoles_or_the_apis_own() {
        let console = ConsoleOrigin::of_url("https://Support.example.com/app/");
        assert_eq!(console.0, "https://support.example.com");
        let caller = |headers| console.caller(&request(headers));
        assert_eq!(caller(&[]).unwrap(), Caller::Program);
        assert_eq!(
            caller(&[("origin", "https://support.example.com")]).unwrap(),
            Caller::Browser
        );
        assert_eq!(
            caller(&[
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080")
            ])
            .unwrap(),
            Caller::Browser
        );
        assert!(caller(&[("origin", "https://evil.example")]).is_err());
        assert!(
            caller(&[
                ("origin", "https://evil.example"),
                ("host", "127.0.0.1:8080")
            ])
            .is_err()
        );
        assert!(caller(&[("origin", "null")]).is_err());
    }

    #[test]
    fn the_refresh_token_is_read_from_any_cookie_header() {
        let req = request(&[
            ("cookie", "a=1; nexify_refresh=tok-en_1"),
            ("cookie", "b=2"),
        ]);
        assert_eq!(refresh_token(&req).as_deref(), Some("tok-en_1"));
        assert_eq!(refresh_token(&request(&[("cookie", "a=1")])), None);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped_to_auth() {
        let set = with_refresh_token(crate::empty(lambda_http::http::StatusCode::OK), "t", 60);
        let cookie = set.headers()[header::SET_COOKIE].to_str().unwrap();
        assert_eq!(
            cookie,
            "nexify_refresh=t; Path=/api/auth/; Max-Age=60; HttpOnly; Secure; SameSite=Strict"
        );
        let cleared = without_refresh_token(crate::empty(lambda_http::http::StatusCode::OK));
        assert!(
            cleared.headers()[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .starts_with("nexify_refresh=; Path=/api/auth/; Max-Age=0;")
        );
    }
}
