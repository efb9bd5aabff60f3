//! Nexify's domain: the seed's value sets as enums, typed ids, and the newtypes that
//! input is parsed into at the edge ("parse, don't validate"). Past the edge, code
//! holding an [`Email`] or a [`Subject`] never re-checks it.

mod citation;
mod class;
mod ids;
mod text;
mod values;

pub use citation::Citation;
pub use class::{Classify, ErrorClass};
pub use ids::*;
pub use text::*;
pub use values::*;

/// Why a piece of input was refused. `field` names the input field, so the HTTP layer
/// can tell the client exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    pub field: &'static str,
    pub reason: String,
}

impl InvalidInput {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}
