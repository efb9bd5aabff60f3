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
}

impl ServiceError {
    /// Whether the same operation may succeed later: the database or a provider was down,
    /// busy or slow. Everything else fails the same way every time.
    pub fn is_transient(&self) -> bool {
        match self {
            ServiceError::Storage(e) => e.is_transient() || matches!(e, StorageError::Database(_)),
            ServiceError::Embedding(e) | ServiceError::Drafting(e) => e.is_transient(),
            ServiceError::Triage(nexify_triage::TriageError::Unavailable(_)) => true,
            _ => false,
        }
    }

    /// A stable code for what went wrong, safe to show anyone who can read the job.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound | ServiceError::Storage(StorageError::NotFound) => "not_found",
            ServiceError::Storage(StorageError::Unavailable(_)) => "database_unavailable",
            ServiceError::Storage(_) => "database_error",
            ServiceError::Embedding(EmbedError::Provider(_)) | ServiceError::Drafting(_) => {
                "provider_failed"
            }
            ServiceError::Embedding(_) | ServiceError::NoEmbedding => "embedding_failed",
            ServiceError::Model { .. } => "model_unreadable",
            ServiceError::Triage(nexify_triage::TriageError::Unavailable(_)) => {
                "engine_unavailable"
            }
            ServiceError::Triage(_) => "engine_failed",
            ServiceError::Invalid(_) => "invalid_input",
            ServiceError::Conflict(_) => "conflict",
            _ => "internal",
        }
    }

    /// A sentence for [`Self::code`] that names no database, provider or input text.
    pub fn safe_message(&self) -> &'static str {
        match self.code() {
            "not_found" => "The ticket or its org no longer exists.",
            "database_unavailable" => "The database was unavailable.",
            "database_error" => "A database statement failed.",
            "provider_failed" => "The AI provider did not give a usable answer.",
            "embedding_failed" => "The ticket could not be embedded.",
            "model_unreadable" => "A stored triage model could not be read; retrain the org.",
            "engine_unavailable" => "The triage engine was unavailable.",
            "engine_failed" => "The triage engine failed on this ticket.",
            "invalid_input" => "The ticket holds a value triage cannot use.",
            "conflict" => "The ticket changed in a way that conflicts with triage.",
            _ => "An internal error occurred.",
        }
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
            ServiceError::Storage(storage) => storage.class(),
            ServiceError::Embedding(e) | ServiceError::Drafting(e) if e.is_transient() => {
                ErrorClass::Unavailable
            }
            _ => ErrorClass::Internal,
        }
    }
}
