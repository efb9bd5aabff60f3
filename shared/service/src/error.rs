use nexify_auth::AuthError;
use nexify_domain::{Classify, ErrorClass, InvalidInput};
use nexify_embed::EmbedError;
use nexify_storage::StorageError;

/// Why a business operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Missing, or in an org the caller does not belong to (never revealed as different).
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Unauthorized(String),
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("{0}")]
    Conflict(String),
    /// Too many failed attempts from this account or address.
    #[error("too many failed attempts")]
    Throttled { retry_after_seconds: u32 },
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Signing or hashing could not run (a configuration fault, not the caller's).
    #[error("authentication is misconfigured")]
    Auth(#[source] AuthError),
    #[error("embedding failed")]
    Embedding(#[from] EmbedError),
    #[error("the embedder returned no vector")]
    NoEmbedding,
    #[error("the chat model could not write a draft")]
    Drafting(#[source] EmbedError),
    #[error("the org's stored {head} model is unreadable")]
    Model {
        head: &'static str,
        #[source]
        source: nexify_triage::model::ModelError,
    },
    #[error(transparent)]
    Triage(#[from] nexify_triage::TriageError),
    #[error("a blocking task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error("a value could not be encoded")]
    Encoding(#[from] serde_json::Error),
    #[error("a secret could not be sealed or opened")]
    Sealing(#[from] crate::sealing::SealError),
}

/// What a failure is, once: its stable code, the sentence anyone who can read the job may
/// see (naming no database, provider or input text), and whether another try may succeed.
struct Described {
    code: &'static str,
    message: &'static str,
    transient: bool,
}

const fn described(code: &'static str, message: &'static str, transient: bool) -> Described {
    Described {
        code,
        message,
        transient,
    }
}

impl ServiceError {
    fn described(&self) -> Described {
        use nexify_triage::TriageError;
        match self {
            ServiceError::NotFound | ServiceError::Storage(StorageError::NotFound) => described(
                "not_found",
                "The ticket or its org no longer exists.",
                false,
            ),
            ServiceError::Storage(StorageError::Unavailable(_)) => described(
                "database_unavailable",
                "The database was unavailable.",
                true,
            ),
            ServiceError::Storage(e) => described(
                "database_error",
                "A database statement failed.",
                matches!(e, StorageError::Database(_)),
            ),
            ServiceError::Embedding(e) | ServiceError::Drafting(e) if e.is_transient() => {
                described(
                    "provider_unavailable",
                    "The AI provider was unavailable or too slow.",
                    true,
                )
            }
            ServiceError::Embedding(EmbedError::Provider(_)) | ServiceError::Drafting(_) => {
                described(
                    "provider_failed",
                    "The AI provider did not give a usable answer.",
                    false,
                )
            }
            ServiceError::Embedding(_) | ServiceError::NoEmbedding => described(
                "embedding_failed",
                "The ticket could not be embedded.",
                false,
            ),
            ServiceError::Model { .. } => described(
                "model_unreadable",
                "A stored triage model could not be read; retrain the org.",
                false,
            ),
            ServiceError::Triage(TriageError::Unavailable(_)) => described(
                "engine_unavailable",
                "The triage engine was unavailable.",
                true,
            ),
            ServiceError::Triage(_) => described(
                "engine_failed",
                "The triage engine failed on this ticket.",
                false,
            ),
            ServiceError::Invalid(_) => described(
                "invalid_input",
                "The ticket holds a value triage cannot use.",
                false,
            ),
            ServiceError::Conflict(_) => described(
                "conflict",
                "The ticket changed in a way that conflicts with triage.",
                false,
            ),
            _ => described("internal", "An internal error occurred.", false),
        }
    }

    /// Whether the same operation may succeed later: the database or a provider was down,
    /// busy or slow. Everything else fails the same way every time.
    pub fn is_transient(&self) -> bool {
        self.described().transient
    }

    /// A stable code for what went wrong, safe to show anyone who can read the job.
    pub fn code(&self) -> &'static str {
        self.described().code
    }

    /// A sentence for [`Self::code`] that names no database, provider or input text.
    pub fn safe_message(&self) -> &'static str {
        self.described().message
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(err: sqlx::Error) -> Self {
        ServiceError::Storage(err.into())
    }
}

impl From<AuthError> for ServiceError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Config(_) | AuthError::Hashing => ServiceError::Auth(err),
            other => ServiceError::Unauthorized(other.to_string()),
        }
    }
}

impl Classify for ServiceError {
    fn class(&self) -> ErrorClass {
        match self {
            ServiceError::NotFound => ErrorClass::NotFound,
            ServiceError::Forbidden(detail) => ErrorClass::Forbidden((*detail).to_owned()),
            ServiceError::Unauthorized(detail) => ErrorClass::Unauthorized(detail.clone()),
            ServiceError::Invalid(invalid) => invalid.class(),
            ServiceError::Conflict(detail) => ErrorClass::Conflict(detail.clone()),
            ServiceError::Throttled {
                retry_after_seconds,
            } => ErrorClass::Throttled {
                retry_after_seconds: *retry_after_seconds,
            },
            ServiceError::Storage(storage) => storage.class(),
            ServiceError::Sealing(crate::sealing::SealError::Unavailable(_)) => {
                ErrorClass::Unavailable
            }
            ServiceError::Embedding(e) | ServiceError::Drafting(e) if e.is_transient() => {
                ErrorClass::Unavailable
            }
            _ => ErrorClass::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexify_embed::openai::ProviderError;

    fn provider(e: ProviderError) -> ServiceError {
        ServiceError::Embedding(EmbedError::Provider(e))
    }

    #[test]
    fn what_may_pass_is_retried_and_what_would_repeat_is_not() {
        let transient = [
            (provider(ProviderError::Timeout), "provider_unavailable"),
            (provider(ProviderError::Status(503)), "provider_unavailable"),
            (provider(ProviderError::Status(429)), "provider_unavailable"),
            (
                ServiceError::Triage(nexify_triage::TriageError::Unavailable("down".into())),
                "engine_unavailable",
            ),
        ];
        for (error, code) in transient {
            assert!(error.is_transient(), "{error:?}");
            assert_eq!(error.code(), code);
        }
        let permanent = [
            (provider(ProviderError::Status(400)), "provider_failed"),
            (
                provider(ProviderError::Malformed("no data")),
                "provider_failed",
            ),
            (ServiceError::NotFound, "not_found"),
            (ServiceError::Storage(StorageError::NotFound), "not_found"),
            (ServiceError::NoEmbedding, "embedding_failed"),
            (
                ServiceError::Triage(nexify_triage::TriageError::Engine("bad".into())),
                "engine_failed",
            ),
        ];
        for (error, code) in permanent {
            assert!(!error.is_transient(), "{error:?}");
            assert_eq!(error.code(), code);
        }
    }

    #[test]
    fn every_code_has_its_own_safe_sentence() {
        let codes = [
            "not_found",
            "database_unavailable",
            "database_error",
            "provider_unavailable",
            "provider_failed",
            "embedding_failed",
            "model_unreadable",
            "engine_unavailable",
            "engine_failed",
            "invalid_input",
            "conflict",
        ];
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let panicked = runtime
            .block_on(async { tokio::spawn(async { panic!("a task panics") }).await })
            .unwrap_err();
        let internal = ServiceError::Task(panicked);
        assert_eq!(internal.code(), "internal");
        let generic = internal.safe_message();
        let mut sentences = std::collections::HashSet::new();
        for code in codes {
            // Built through the same mapping as a real error of that code.
            let sentence = sentence_for(code);
            assert_ne!(sentence, generic, "{code} has no sentence of its own");
            assert!(sentences.insert(sentence), "{code} repeats a sentence");
        }
    }

    /// The sentence `safe_message` gives an error with `code`.
    fn sentence_for(code: &str) -> &'static str {
        let error = match code {
            "not_found" => ServiceError::NotFound,
            "database_unavailable" => {
                ServiceError::Storage(StorageError::Unavailable(sqlx::Error::PoolTimedOut))
            }
            "database_error" => {
                ServiceError::Storage(StorageError::Database(sqlx::Error::Protocol("x".into())))
            }
            "provider_unavailable" => provider(ProviderError::Timeout),
            "provider_failed" => provider(ProviderError::Status(400)),
            "embedding_failed" => ServiceError::NoEmbedding,
            "model_unreadable" => ServiceError::Model {
                head: "team",
                source: nexify_triage::model::ModelError::NotAModel,
            },
            "engine_unavailable" => {
                ServiceError::Triage(nexify_triage::TriageError::Unavailable("x".into()))
            }
            "engine_failed" => ServiceError::Triage(nexify_triage::TriageError::Engine("x".into())),
            "invalid_input" => ServiceError::Invalid(InvalidInput::new("subject", "x")),
            "conflict" => ServiceError::Conflict("x".into()),
            other => panic!("no example for {other}"),
        };
        assert_eq!(error.code(), code);
        error.safe_message()
    }
}
