//! What the API reads and writes, as Rust types, and the OpenAPI document generated from
//! them with `utoipa`. The functions parse their bodies into [`bodies`] and answer with
//! [`responses`] or the service's own types, so the document cannot drift from the code.

pub mod bodies;
mod doc;
pub mod params;
pub mod responses;
mod routes;

pub use doc::{ApiDoc, document};
