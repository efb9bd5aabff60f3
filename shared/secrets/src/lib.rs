//! Secrets from AWS Secrets Manager, never from environment variables: a function's
//! environment names the secret (its ARN or name), and the value is fetched with the
//! function's own IAM role. Locally, LocalStack serves them (`AWS_ENDPOINT_URL`).
//!
//! [`Prefetched`] starts the fetch while the function starts, so a cold start does not wait
//! for it, and the first request that needs the value waits only for what is left of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {id}: Secrets Manager did not answer")]
    Fetch {
        id: String,
        #[source]
        source: Box<aws_sdk_secretsmanager::Error>,
    },
    #[error("secret {id} has no string value")]
    NoString { id: String },
    #[error("secret {id} is not the JSON expected")]
    Format {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    /// The value arrived but could not be used (say, a key that does not parse).
    #[error("secret {id} is not usable")]
    Unusable {
        id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl nexify_domain::Classify for SecretError {
    fn class(&self) -> nexify_domain::ErrorClass {
        match self {
            // Worth another try shortly; the next use fetches again.
            SecretError::Fetch { .. } => nexify_domain::ErrorClass::Unavailable,
            _ => nexify_domain::ErrorClass::Internal,
        }
    }
}

/// A fetch may take this long, retries included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// A Secrets Manager client, built on first use.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    client: Arc<OnceCell<aws_sdk_secretsmanager::Client>>,
}

impl Secrets {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self {
            client: Arc::new(OnceCell::new_with(Some(client))),
        }
    }

    async fn client(&self) -> &aws_sdk_secretsmanager::Client {
        self.client
            .get_or_init(|| async {
                let timeouts = aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(FETCH_TIMEOUT)
                    .build();
                let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .timeout_config(timeouts)
                    .load()
                    .await;
                aws_sdk_secretsmanager::Client::new(&config)
            })
            .await
    }

    /// The secret's string value, parsed as JSON.
    pub async fn json<T: DeserializeOwned>(&self, id: &str) -> Result<T, SecretError> {
        let out = self
            .client()
            .await
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| SecretError::Fetch {
                id: id.to_owned(),
                source: Box::new(e.into()),
            })?;
        let text = out
            .secret_string()
            .ok_or_else(|| SecretError::NoString { id: id.to_owned() })?;
        serde_json::from_str(text).map_err(|source| SecretError::Format {
            id: id.to_owned(),
            source,
        })
    }
}

type Load<T> =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<T, SecretError>> + Send>> + Send + Sync>;

/// A value made from a secret, fetched once per instance. [`Prefetched::start`] begins the
/// fetch at once in the background; [`Prefetched::get`] waits for it, and fetches again if
/// it failed (a transient error does not poison the instance).
pub struct Prefetched<T> {
    cell: Arc<OnceCell<T>>,
    /// None for a value that was there from the start.
    load: Option<Load<T>>,
}

impl<T> Clone for Prefetched<T> {
    fn clone(&self) -> Self {
        Self {
            cell: self.cell.clone(),
            load: self.load.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Prefetched<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefetched")
            .field("ready", &self.cell.initialized())
            .finish_non_exhaustive()
    }
}

impl<T: Send + Sync + 'static> Prefetched<T> {
    /// A value that is already there (local mode, tests).
    pub fn ready(value: T) -> Self {
        Self {
            cell: Arc::new(OnceCell::new_with(Some(value))),
            load: None,
        }
    }

    /// Fetches secret `id` as JSON `S` and makes the value with `make`, starting now.
    pub fn start<S, E>(
        secrets: Secrets,
        id: String,
        make: impl Fn(S) -> Result<T, E> + Send + Sync + 'static,
    ) -> Self
    where
        S: DeserializeOwned + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        let (id, make) = (Arc::new(id), Arc::new(make));
        let load: Load<T> = Arc::new(move || {
            let (secrets, id, make) = (secrets.clone(), id.clone(), make.clone());
            Box::pin(async move {
                let raw: S = secrets.json(&id).await?;
                make(raw).map_err(|e| SecretError::Unusable {
                    id: id.to_string(),
                    source: Box::new(e),
                })
            })
        });
        let value = Self {
            cell: Arc::new(OnceCell::new()),
            load: Some(load),
        };
        let early = value.clone();
        tokio::spawn(async move {
            if let Err(e) = early.get().await {
                tracing::warn!(error = %e, "secret not fetched at start-up; the first use tries again");
            }
        });
        value
    }

    pub async fn get(&self) -> Result<&T, SecretError> {
        match &self.load {
            Some(load) => self.cell.get_or_try_init(|| load()).await,
            None => Ok(self.cell.get().expect("a ready value is set")),
        }
    }
}
