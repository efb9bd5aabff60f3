//! A passage of the org's knowledge base that a draft reply quotes.

use uuid::Uuid;

/// Where in which document a draft's claim comes from; stored with the suggestion.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Citation {
    pub document_id: Uuid,
    pub chunk_id: Uuid,
    /// Character offsets of the passage in its document.
    pub char_start: i32,
    pub char_end: i32,
    /// The passage's retrieval score.
    pub score: f32,
}
