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

/// Where a secret setting comes from: the value itself, in an environment variable
/// (`NEXIFY_ENV=local` only: anywhere else whoever may read a function's configuration could
/// read it), or the Secrets Manager secret that holds it, named in another variable.
#[derive(Clone, PartialEq)]
pub enum Source {
    Plain(String),
    Secret(String),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Plain(_) => f.write_str("Plain(<redacted>)"),
            Source::Secret(id) => f.debug_tuple("Secret").field(id).finish(),
        }
    }
}

/// Why the environment names no usable source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("set {secret_var} or {plain_var}, not both")]
    Both {
        plain_var: &'static str,
        secret_var: &'static str,
    },
    #[error(
        "{plain_var} is for NEXIFY_ENV=local only: put the value in Secrets Manager and name \
         the secret in {secret_var}"
    )]
    PlainOutsideLocal {
        plain_var: &'static str,
        secret_var: &'static str,
    },
    #[error("neither {secret_var} nor {plain_var} is set")]
    Missing {
        plain_var: &'static str,
        secret_var: &'static str,
    },
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl Source {
    /// The source that `secret_var` (a secret's ARN or name) or `plain_var` names, if any.
    pub fn from_env(
        plain_var: &'static str,
        secret_var: &'static str,
    ) -> Result<Option<Self>, SourceError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let local = var("NEXIFY_ENV").as_deref() == Some("local");
        Self::choose(
            var(secret_var),
            var(plain_var),
            local,
            plain_var,
            secret_var,
        )
    }

    fn choose(
        secret: Option<String>,
        plain: Option<String>,
        local: bool,
        plain_var: &'static str,
        secret_var: &'static str,
    ) -> Result<Option<Self>, SourceError> {
        match (secret, plain) {
            (Some(_), Some(_)) => Err(SourceError::Both {
                plain_var,
                secret_var,
            }),
            (Some(id), None) => Ok(Some(Source::Secret(id))),
            (None, Some(value)) if local => Ok(Some(Source::Plain(value))),
            (None, Some(_)) => Err(SourceError::PlainOutsideLocal {
                plain_var,
                secret_var,
            }),
            (None, None) => Ok(None),
        }
    }

    /// [`Source::from_env`], required: the value, fetched now when it is a secret (JSON
    /// whose `field` holds it). For start-up settings a function cannot run without.
    pub async fn required(
        plain_var: &'static str,
        secret_var: &'static str,
        field: &'static str,
    ) -> Result<String, SourceError> {
        Self::from_env(plain_var, secret_var)?
            .ok_or(SourceError::Missing {
                plain_var,
                secret_var,
            })?
            .value(&Secrets::default(), field)
            .await
    }

    /// The value: the plain one, or the secret's JSON `field`.
    pub async fn value(&self, secrets: &Secrets, field: &str) -> Result<String, SourceError> {
        match self {
            Source::Plain(value) => Ok(value.clone()),
            Source::Secret(id) => {
                let mut json: serde_json::Map<String, serde_json::Value> = secrets.json(id).await?;
                match json.remove(field) {
                    Some(serde_json::Value::String(value)) => Ok(value),
                    _ => Err(SecretError::Unusable {
                        id: id.clone(),
                        source: format!("the secret has no string \"{field}\"").into(),
                    }
                    .into()),
                }
            }
        }
    }
}

/// A function's database URL, fetched at start-up: from the secret `DATABASE_URL_SECRET`
/// names (JSON with a `url`), or in local mode from `DATABASE_URL`.
pub async fn database_url() -> Result<String, SourceError> {
    Source::required("DATABASE_URL", "DATABASE_URL_SECRET", "url").await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(
        secret: Option<&str>,
        plain: Option<&str>,
        local: bool,
    ) -> Result<Option<Source>, SourceError> {
        Source::choose(
            secret.map(str::to_owned),
            plain.map(str::to_owned),
            local,
            "THING",
            "THING_SECRET",
        )
    }

    #[test]
    fn a_plain_value_is_for_local_mode_only() {
        assert_eq!(
            choose(None, Some("v"), true).unwrap(),
            Some(Source::Plain("v".into()))
        );
        assert!(matches!(
            choose(None, Some("v"), false),
            Err(SourceError::PlainOutsideLocal { .. })
        ));
        for local in [true, false] {
            assert_eq!(
                choose(Some("arn"), None, local).unwrap(),
                Some(Source::Secret("arn".into()))
            );
            assert!(matches!(
                choose(Some("arn"), Some("v"), local),
                Err(SourceError::Both { .. })
            ));
            assert_eq!(choose(None, None, local).unwrap(), None);
        }
    }

    #[test]
    fn a_plain_value_never_shows_in_debug_output() {
        assert!(!format!("{:?}", Source::Plain("s3cr3t".into())).contains("s3cr3t"));
    }
}
