use nexify_domain::ErrorClass;
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

impl nexify_domain::Classify for StorageError {
    fn class(&self) -> ErrorClass {
        match self {
            StorageError::NotFound => ErrorClass::NotFound,
            StorageError::Conflict { constraint } => {
                ErrorClass::Conflict(describe_constraint(constraint).1.to_owned())
            }
            StorageError::Constraint { constraint } => {
                let (field, detail) = describe_constraint(constraint);
                ErrorClass::Invalid {
                    field: field.unwrap_or("body").to_owned(),
                    detail: detail.to_owned(),
                }
            }
            StorageError::Unavailable(_) => ErrorClass::Unavailable,
            StorageError::Config(_) | StorageError::Database(_) => ErrorClass::Internal,
        }
    }
}

/// Constraint names that map to a field and a message a client can act on. Anything else
/// still becomes a 409 or 422, with a generic message.
fn describe_constraint(constraint: &str) -> (Option<&'static str>, &'static str) {
    match constraint {
        "tickets_org_external_id_unique" => (
            Some("external_id"),
            "a ticket with this external_id already exists",
        ),
        "job_runs_org_key_unique" => (
            Some("idempotency_key"),
            "a job with this idempotency key already exists",
        ),
        "suggestions_job_run_unique" => (None, "this job already has a suggestion"),
        "users_email_unique" => (Some("email"), "a user with this email already exists"),
        "organizations_slug_unique" => (Some("slug"), "an organization with this slug exists"),
        "organization_settings_default_team_known" => {
            (Some("default_team"), "must be one of the teams")
        }
        "organization_settings_default_category_known" => {
            (Some("default_category"), "must be one of the categories")
        }
        c if c.starts_with("tickets_subject") => (Some("subject"), "is not an acceptable subject"),
        c if c.starts_with("tickets_requester_email") => {
            (Some("requester_email"), "is not an acceptable email")
        }
        c if c.starts_with("tickets_assigned_team") => {
            (Some("assigned_team"), "is not an acceptable team")
        }
        c if c.starts_with("organization_settings_auto_apply_threshold") => {
            (Some("auto_apply_threshold"), "must be between 0 and 1")
        }
        c if c.ends_with("_fk") || c.ends_with("_fkey") => {
            (None, "refers to something that does not exist")
        }
        _ => (None, "the request conflicts with the data's rules"),
    }
}
