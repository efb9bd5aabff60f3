//! Posts outbound webhooks: HTTPS (plain HTTP only to this machine, in local mode), 10 s
//! for the whole exchange, no redirects followed, and no private, loopback, link-local or
//! metadata address, checked on the addresses DNS returns, which are the ones connected
//! to (so a name cannot pass the check and then resolve elsewhere).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use nexify_service::outbound::{
    Answer, EXCERPT_BYTES, SendError, Sender, address_allowed, check_url,
};

/// The whole exchange, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an answer read (the excerpt keeps less).
const READ_LIMIT: usize = 64 * 1024;

/// A resolver that refuses names resolving to any address the SSRF rules forbid.
#[derive(Clone, Debug)]
struct GuardedResolver {
    local: bool,
}

type Resolving =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, std::io::Error>> + Send>>;

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let local = self.local;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !address_allowed(a.ip(), local)) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "{host} resolves to {}, which webhooks may not reach",
                        bad.ip()
                    ),
                ));
            }
            Ok(addrs.into_iter())
        })
    }
}

/// The HTTP side of outbound webhooks.
#[derive(Clone, Debug)]
pub struct HttpSender {
    local: bool,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector<GuardedResolver>>, Full<Bytes>>,
}

impl HttpSender {
    /// `local`: `NEXIFY_ENV=local`, where plain HTTP to this machine is allowed.
    pub fn new(local: bool) -> Self {
        let mut http = HttpConnector::new_with_resolver(GuardedResolver { local });
        http.enforce_http(false);
        http.set_connect_timeout(Some(TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Self {
            local,
            http: Client::builder(TokioExecutor::new()).build(https),
        }
    }

    pub fn from_env() -> Self {
        Self::new(std::env::var("NEXIFY_ENV").as_deref() == Ok("local"))
    }
}

impl Sender for HttpSender {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> Result<Answer, SendError> {
        // The stored URL passed these rules when it was saved; a literal address skips DNS,
        // so they are checked again here.
        check_url(url, self.local).map_err(|e| SendError::Refused(e.reason))?;
        let mut request = hyper::Request::post(url);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .header("user-agent", "Nexify-Webhooks/1")
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|e| SendError::Transport(e.to_string()))?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| {
                let text = nexify_telemetry::error_chain(&e);
                if text.contains("which webhooks may not reach") {
                    SendError::Refused(text)
                } else {
                    SendError::Transport(text)
                }
            })?;
            let status = response.status().as_u16();
            // Redirects are answers like any other: a 3xx is a failed delivery, not followed.
            let bytes = Limited::new(response.into_body(), READ_LIMIT)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let mut end = bytes.len().min(EXCERPT_BYTES);
            while end > 0 && std::str::from_utf8(&bytes[..end]).is_err() {
                end -= 1;
            }
            let excerpt = String::from_utf8_lossy(&bytes[..end]).into_owned();
            Ok(Answer { status, excerpt })
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| SendError::Timeout)?
    }
}
