//! How a failure reads to the caller, whichever layer it comes from. Each layer's error says
//! which class it is in; the HTTP edge turns a class into a status and a problem document, in
//! one place, so no layer below it knows HTTP.

/// What the caller is told about a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// Missing, or in an org the caller does not belong to (never told apart).
    NotFound,
    Unauthorized(String),
    Forbidden(String),
    /// A value is not acceptable; `field` names it.
    Invalid {
        field: String,
        detail: String,
    },
    /// Conflicts with an existing row or the current state.
    Conflict(String),
    /// Too many failed attempts: try again after this many seconds.
    Throttled {
        retry_after_seconds: u32,
    },
    /// A dependency is down or restarting: worth retrying shortly.
    Unavailable,
    /// Nobody's input: logged with its sources, never shown.
    Internal,
}

/// An error that knows its [`ErrorClass`].
pub trait Classify: std::error::Error + Send + Sync + 'static {
    fn class(&self) -> ErrorClass;
}

impl Classify for crate::InvalidInput {
    fn class(&self) -> ErrorClass {
        ErrorClass::Invalid {
            field: self.field.to_owned(),
            detail: self.reason.clone(),
        }
    }
}
