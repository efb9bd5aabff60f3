//! An OpenAI-compatible provider (OpenAI itself, or any server that speaks its
//! `/embeddings` and `/chat/completions` API): a small JSON client, and the embedder on it.
//!
//! Configured by `NEXIFY_OPENAI_BASE_URL` (e.g. `https://api.openai.com/v1`),
//! `NEXIFY_OPENAI_API_KEY_SECRET` (the Secrets Manager secret holding `{"api_key": "…"}`),
//! `NEXIFY_OPENAI_EMBEDDING_MODEL` (default `text-embedding-3-small`, asked for [`DIM`]
//! dimensions) and `NEXIFY_OPENAI_CHAT_MODEL` (default `gpt-4o-mini`). Only
//! `NEXIFY_ENV=local` may give the key itself, in `NEXIFY_OPENAI_API_KEY`: anywhere else an
//! environment variable is readable by whoever may read the function's configuration. The
//! key is never logged.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use nexify_secrets::{Prefetched, SecretError, Secrets, Source};

use crate::{DIM, EmbedError, Embedder, l2_normalize};

const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Debug)]
pub struct OpenAiConfig {
    pub base_url: String,
    pub api_key: Option<ApiKey>,
    pub embedding_model: String,
    pub chat_model: String,
}

/// Where the provider's key comes from.
#[derive(Clone)]
pub enum ApiKey {
    /// The key itself: tests, and `NEXIFY_ENV=local`.
    Plain(String),
    /// A Secrets Manager secret `{"api_key": "…"}`, fetched once per instance, starting at
    /// init.
    Secret(Prefetched<String>),
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApiKey::Plain(_) => "Plain(<redacted>)",
            ApiKey::Secret(_) => "Secret(<redacted>)",
        })
    }
}

#[derive(serde::Deserialize)]
struct KeySecret {
    api_key: String,
}

impl ApiKey {
    /// The key in Secrets Manager secret `id`, fetched from now on.
    pub fn from_secret(secrets: Secrets, id: String) -> Self {
        ApiKey::Secret(Prefetched::start(secrets, id, |s: KeySecret| {
            Ok::<_, std::convert::Infallible>(s.api_key)
        }))
    }

    async fn get(&self) -> Result<&str, ProviderError> {
        match self {
            ApiKey::Plain(key) => Ok(key),
            ApiKey::Secret(key) => Ok(key.get().await.map_err(ProviderError::Key)?),
        }
    }
}

impl OpenAiConfig {
    /// The provider the environment configures, if any (`NEXIFY_OPENAI_BASE_URL` set). The
    /// secret's fetch starts here, so this runs inside the function's Tokio runtime.
    pub fn from_env() -> Result<Option<Self>, EmbedError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let Some(base_url) = var("NEXIFY_OPENAI_BASE_URL") else {
            return Ok(None);
        };
        let key = Source::from_env("NEXIFY_OPENAI_API_KEY", "NEXIFY_OPENAI_API_KEY_SECRET")?.map(
            |source| match source {
                Source::Plain(key) => ApiKey::Plain(key),
                Source::Secret(id) => ApiKey::from_secret(Secrets::default(), id),
            },
        );
        Ok(Some(Self {
            base_url,
            api_key: key,
            embedding_model: var("NEXIFY_OPENAI_EMBEDDING_MODEL")
                .unwrap_or_else(|| "text-embedding-3-small".into()),
            chat_model: var("NEXIFY_OPENAI_CHAT_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
        }))
    }
}

/// A JSON-over-HTTPS client for the provider.
#[derive(Clone)]
pub struct OpenAiClient {
    config: OpenAiConfig,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// Why the provider gave no usable answer. Its error bodies are never kept: they can echo
/// the request.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("the provider answered HTTP {0}")]
    Status(u16),
    #[error("the request to the provider failed")]
    Request(#[source] crate::BoxError),
    #[error("the provider's answer is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("the provider's answer is malformed: {0}")]
    Malformed(&'static str),
    #[error("the provider's embeddings have {got} dimensions, not {DIM}")]
    Dimensions { got: usize },
    #[error("the provider's key could not be read")]
    Key(#[source] SecretError),
}

impl ProviderError {
    /// A timeout, a failed connection, throttling (429) or a server error (5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            ProviderError::Timeout | ProviderError::Request(_) => true,
            ProviderError::Status(code) => *code == 429 || *code >= 500,
            // Secrets Manager did not answer: the next use fetches again.
            ProviderError::Key(SecretError::Fetch { .. }) => true,
            _ => false,
        }
    }
}

fn request_failed(e: impl Into<crate::BoxError>) -> ProviderError {
    ProviderError::Request(e.into())
}

impl OpenAiClient {
    pub fn new(config: OpenAiConfig) -> Self {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            config,
            http: Client::builder(TokioExecutor::new()).build(https),
        }
    }

    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// POSTs `body` to `{base_url}/{path}` and returns the JSON answer.
    async fn post(&self, path: &str, body: &Value) -> Result<Value, EmbedError> {
        let url = format!("{}/{path}", self.config.base_url.trim_end_matches('/'));
        let mut request = hyper::Request::post(url).header("content-type", "application/json");
        if let Some(key) = &self.config.api_key {
            let key = key.get().await?;
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(request_failed)?;
        let response = tokio::time::timeout(TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| ProviderError::Timeout)?
            .map_err(request_failed)?;
        let status = response.status();
        let bytes = tokio::time::timeout(TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| ProviderError::Timeout)?
            .map_err(request_failed)?
            .to_bytes();
        if !status.is_success() {
            // The status only: an error body can echo the request.
            return Err(ProviderError::Status(status.as_u16()).into());
        }
        Ok(serde_json::from_slice(&bytes).map_err(ProviderError::NotJson)?)
    }

    /// Unit-length embeddings of `texts`, in order.
    pub async fn embeddings(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let answer = self
            .post(
                "embeddings",
                &json!({ "model": self.config.embedding_model, "input": texts, "dimensions": DIM }),
            )
            .await?;
        let data = answer["data"]
            .as_array()
            .ok_or(ProviderError::Malformed("no data in the answer"))?;
        let mut out = vec![Vec::new(); texts.len()];
        for (position, item) in data.iter().enumerate() {
            let index = item["index"].as_u64().map_or(position, |i| i as usize);
            let mut vector: Vec<f32> = item["embedding"]
                .as_array()
                .ok_or(ProviderError::Malformed("an item has no embedding"))?
                .iter()
                .map(|x| x.as_f64().unwrap_or(0.0) as f32)
                .collect();
            if vector.len() != DIM {
                return Err(ProviderError::Dimensions { got: vector.len() }.into());
            }
            l2_normalize(&mut vector);
            *out.get_mut(index)
                .ok_or(ProviderError::Malformed("an index out of range"))? = vector;
        }
        if out.iter().any(Vec::is_empty) {
            return Err(ProviderError::Malformed("some texts got no embedding").into());
        }
        Ok(out)
    }

    /// The assistant's answer to a system and a user message.
    pub async fn chat(&self, system: &str, user: &str) -> Result<String, EmbedError> {
        let answer = self
            .post(
                "chat/completions",
                &json!({
                    "model": self.config.chat_model,
                    "temperature": 0,
                    "messages": [
                        { "role": "system", "content": system },
                        { "role": "user", "content": user },
                    ],
                }),
            )
            .await?;
        answer["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ProviderError::Malformed("no message in the answer").into())
    }
}

/// The provider's embeddings behind the synchronous [`Embedder`] trait. Call it off the
/// async workers (as `spawn_blocking` does): it blocks on the request.
pub struct OpenAiEmbedder {
    client: OpenAiClient,
    runtime: tokio::runtime::Handle,
    name: String,
}

impl OpenAiEmbedder {
    /// Needs a Tokio runtime (the function's).
    pub fn new(client: OpenAiClient) -> Result<Self, EmbedError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| EmbedError::Config("the openai embedder needs a Tokio runtime".into()))?;
        let name = format!("openai:{}", client.config().embedding_model);
        Ok(Self {
            client,
            runtime,
            name,
        })
    }
}

impl Embedder for OpenAiEmbedder {
    fn name(&self) -> &str {
        &self.name
    }

    fn calls_network(&self) -> bool {
        true
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.runtime.block_on(self.client.embeddings(texts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let config = OpenAiConfig {
            base_url: "http://provider".into(),
            api_key: Some(ApiKey::Plain("sk-secret-value".into())),
            embedding_model: "m".into(),
            chat_model: "c".into(),
        };
        assert!(!format!("{config:?}").contains("sk-secret-value"));
    }
}
