use sqlx::error::ErrorKind;

/// What can go wrong in storage, classified so the HTTP layer can answer 404, 409, 422
/// or 503 instead of a blanket 500.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("row not found")]
    NotFound,
    /// A unique constraint refused the write; `constraint` names it.
    #[error("conflicts with an existing row ({constraint})")]
    Conflict { constraint: String },
    /// A CHECK, NOT NULL or foreign-key constraint refused the write.
    #[error("violates constraint {constraint}")]
    Constraint { constraint: String },
    /// The database could not be reached or is restarting; worth retrying.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

/// SQLSTATE classes that mean "the server is going away or not yet there".
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || code == "57P01" // admin_shutdown
        || code == "57P02" // crash_shutdown
        || code == "57P03" // cannot_connect_now
        || code == "53300" // too_many_connections
}

impl From<sqlx::Error> for StorageError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StorageError::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StorageError::Unavailable(err),
            sqlx::Error::Database(db) => {
                let constraint = db.constraint().unwrap_or("unknown").to_owned();
                match db.kind() {
                    ErrorKind::UniqueViolation | ErrorKind::ExclusionViolation => {
                        StorageError::Conflict { constraint }
                    }
                    ErrorKind::CheckViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::ForeignKeyViolation => StorageError::Constraint { constraint },
                    _ if db.code().is_some_and(|c| is_unavailable_code(&c)) => {
                        StorageError::Unavailable(err)
                    }
                    _ => StorageError::Database(err),
                }
            }
            _ => StorageError::Database(err),
        }
    }
}

impl StorageError {
    /// Whether retrying the same operation later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StorageError::Unavailable(_))
    }
}
