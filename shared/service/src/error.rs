use nexify_auth::AuthError;
use nexify_domain::InvalidInput;
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
    /// A failure that is nobody's input: logged, shown only as an internal error.
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for ServiceError {
    fn from(err: sqlx::Error) -> Self {
        ServiceError::Storage(err.into())
    }
}

impl From<AuthError> for ServiceError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Config(_) | AuthError::Hashing => {
                ServiceError::Storage(StorageError::Config(err.to_string()))
            }
            other => ServiceError::Unauthorized(other.to_string()),
        }
    }
}
