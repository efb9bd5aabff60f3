use crate::{Citation, Passage};

/// Minimum retrieval score for a passage to be quoted in a draft.
pub const MIN_CITATION_SCORE: f32 = 0.15;

/// An extractive draft: a greeting, the best passages' opening sentences, and citations for
/// exactly the passages quoted. With no passage good enough, a holding reply and no citations.
pub fn grounded_draft(subject: &str, passages: &[Passage]) -> (String, Vec<Citation>) {
    let used: Vec<&Passage> = passages
        .iter()
        .filter(|p| p.score >= MIN_CITATION_SCORE)
        .take(2)
        .collect();
    let mut draft = format!(
        "Hello,\n\nThank you for contacting us about \"{}\".",
        subject.trim()
    );
    if used.is_empty() {
        draft.push_str(
            " We are looking into it and will come back to you shortly with more information.",
        );
    } else {
        draft.push_str(" Here is what should help:\n");
        for p in &used {
            let excerpt: String = p
                .content
                .split_inclusive(['.', '!', '?'])
                .take(2)
                .collect::<String>()
                .trim()
                .to_owned();
            draft.push_str(&format!("\n- {excerpt} (from \"{}\")", p.title));
        }
        draft.push_str(
            "\n\nIf this does not solve it, reply to this message and we will help further.",
        );
    }
    draft.push_str("\n\nBest regards,\nSupport team");
    let citations = used
        .iter()
        .map(|p| Citation {
            document_id: p.document_id,
            chunk_id: p.chunk_id,
            char_start: p.char_start,
            char_end: p.char_end,
            score: p.score,
        })
        .collect();
    (draft, citations)
}
