//! The triage engine behind one trait. The engine is pure: the caller gathers the ticket,
//! the org's labels and the retrieved knowledge-base passages, and the engine decides.
//! [`RuleEngine`] is the deterministic, keyword-based engine.

mod draft;
pub mod features;
mod learned;
pub mod metrics;
pub mod model;
mod rules;
pub mod urgency;

pub use draft::{Draft, REUSE_REPLY_SIMILARITY, grounded_draft};
pub use learned::{LearnedEngine, OrgModels};
pub use rules::RuleEngine;

use nexify_domain::Priority;
use serde::Serialize;

/// The most characters of a ticket (its subject, then its body) that its embedding reads. A
/// sentence encoder's cost grows faster than the text's length, and a ticket's opening
/// carries its topic; the hashed text features still read all of it. Shorter tickets are
/// embedded whole (every BANKING77 text is).
pub const EMBED_CHARS: usize = 480;

/// What a ticket's embedding is made from: the first [`EMBED_CHARS`] characters of its
/// subject and body. The worker, training and the eval all embed this.
pub fn embedding_text(subject: &str, body: &str) -> String {
    let full = format!("{subject}\n{body}");
    match full.char_indices().nth(EMBED_CHARS) {
        Some((end, _)) => full[..end].to_owned(),
        None => full,
    }
}

/// The labels an org allows; triage never suggests anything outside them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgLabels {
    pub teams: Vec<String>,
    pub categories: Vec<String>,
    pub default_team: Option<String>,
    pub default_category: Option<String>,
    /// The priorities seen in the org's labelled history: urgency cues raise only to these
    /// (any, while it is empty).
    pub priorities_used: Vec<Priority>,
}

/// A knowledge-base passage retrieved for the ticket, best first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Passage {
    pub document_id: uuid::Uuid,
    pub chunk_id: uuid::Uuid,
    pub title: String,
    pub content: String,
    pub char_start: i32,
    pub char_end: i32,
    pub score: f32,
}

/// The ticket's dense embedding, named by the embedder that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct TextEmbedding {
    pub embedder: String,
    pub vector: Vec<f32>,
}

/// A labelled ticket of the org near the one being triaged (by embedding).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarTicket {
    pub ticket_id: uuid::Uuid,
    pub subject: String,
    pub priority: Priority,
    pub team: Option<String>,
    pub category: Option<String>,
    pub similarity: f32,
    /// The reply an agent approved for it (its accepted suggestion's draft), if any. Left
    /// out of suggestion metadata: it can be long, and the ticket id leads to it.
    #[serde(skip_serializing)]
    pub reply: Option<String>,
}

/// What the engine sees.
#[derive(Debug, Clone)]
pub struct TriageInput {
    pub subject: String,
    pub body: String,
    pub current_priority: Priority,
    pub labels: OrgLabels,
    pub passages: Vec<Passage>,
    /// The org's trained models, when it has any.
    pub models: Option<std::sync::Arc<OrgModels>>,
    /// The ticket's embedding (subject and body), used by models trained with one.
    pub embedding: Option<TextEmbedding>,
    /// The nearest labelled tickets, most similar first: they explain a suggestion, and
    /// vote for a head the org has no model for yet.
    pub similar: Vec<SimilarTicket>,
}

pub use nexify_domain::Citation;

/// Each suggested field's own confidence in [0, 1]: a head's calibrated probability, a
/// neighbour vote's scaled share, or the keyword rules' estimate; `None` where nothing
/// estimates it (a priority without a priority head).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct FieldConfidence {
    pub priority: Option<f32>,
    pub team: Option<f32>,
    pub category: Option<f32>,
}

/// What the engine proposes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triage {
    pub priority: Priority,
    pub team: Option<String>,
    pub classification: Option<String>,
    pub draft_reply: String,
    pub citations: Vec<Citation>,
    /// In [0, 1]: the smallest of the fields' confidences, an upper bound on the chance that
    /// every suggested field is right.
    pub confidence: f32,
    pub fields: FieldConfidence,
    pub metadata: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// The engine cannot triage this input, and never will.
    #[error("triage engine failed")]
    Engine(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Something the engine relies on (a remote model, say) is down or slow: try again later.
    #[error("triage engine unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub trait TriageEngine: Send + Sync {
    /// Recorded in each suggestion's metadata.
    fn name(&self) -> &str;

    fn triage(&self, input: &TriageInput) -> Result<Triage, TriageError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_embedded_from_its_opening_characters() {
        assert_eq!(embedding_text("Refund", "please"), "Refund\nplease");
        // Multi-byte characters count as one each and are never split.
        let body = "ü".repeat(EMBED_CHARS * 2);
        let text = embedding_text("Rückerstattung", &body);
        assert_eq!(text.chars().count(), EMBED_CHARS);
        assert!(text.starts_with("Rückerstattung\nüü"));
    }
}
