use crate::{Citation, Passage, SimilarTicket};

/// Minimum retrieval score for a passage to be quoted in a draft.
pub const MIN_CITATION_SCORE: f32 = 0.15;
/// A resolved ticket at least this similar lends the draft the reply an agent approved for
/// it: a near-repeat of a request usually wants the same answer.
pub const REUSE_REPLY_SIMILARITY: f32 = 0.7;
/// How much of an earlier reply is quoted.
const REUSED_REPLY_MAX_CHARS: usize = 700;

/// An extractive draft and what it drew on.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub text: String,
    /// Exactly the knowledge-base passages quoted.
    pub citations: Vec<Citation>,
    /// The similar resolved ticket whose approved reply is quoted, if any.
    pub reply_from: Option<uuid::Uuid>,
}

/// The body of an approved reply: without its greeting and sign-off paragraphs (the first
/// and last, when it has at least three), at most [`REUSED_REPLY_MAX_CHARS`], cut at a
/// sentence end where possible.
fn reply_core(reply: &str) -> String {
    let paragraphs: Vec<&str> = reply
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let core = if paragraphs.len() >= 3 {
        paragraphs[1..paragraphs.len() - 1].join("\n\n")
    } else {
        paragraphs.join("\n\n")
    };
    if core.chars().count() <= REUSED_REPLY_MAX_CHARS {
        return core;
    }
    let cut: String = core.chars().take(REUSED_REPLY_MAX_CHARS).collect();
    match cut.rfind(['.', '!', '?']) {
        Some(end) => cut[..=end].to_owned(),
        None => format!("{}…", cut.trim_end()),
    }
}

/// An extractive draft: a greeting, the best passages' opening sentences with citations for
/// exactly the passages quoted, and, when a resolved ticket is very similar, the reply an
/// agent approved for it. With neither, a holding reply and no citations.
pub fn grounded_draft(subject: &str, passages: &[Passage], similar: &[SimilarTicket]) -> Draft {
    let earlier = similar
        .iter()
        .filter(|s| s.similarity >= REUSE_REPLY_SIMILARITY)
        .find_map(|s| Some((s, reply_core(s.reply.as_deref()?))))
        .filter(|(_, core)| !core.is_empty());
    let used: Vec<&Passage> = passages
        .iter()
        .filter(|p| p.score >= MIN_CITATION_SCORE)
        .take(2)
        .collect();
    let mut draft = format!(
        "Hello,\n\nThank you for contacting us about \"{}\".",
        subject.trim()
    );
    if used.is_empty() && earlier.is_none() {
        draft.push_str(
            " We are looking into it and will come back to you shortly with more information.",
        );
    } else {
        draft.push_str(" Here is what should help:\n");
        if let Some((ticket, core)) = &earlier {
            draft.push_str(&format!(
                "\nWe answered a very similar request (\"{}\") like this:\n\n{}\n",
                ticket.subject.trim(),
                core.lines()
                    .map(|l| format!("> {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
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
    Draft {
        text: draft,
        citations,
        reply_from: earlier.map(|(s, _)| s.ticket_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexify_domain::Priority;

    fn passage(score: f32) -> Passage {
        Passage {
            document_id: uuid::Uuid::new_v4(),
            chunk_id: uuid::Uuid::new_v4(),
            title: "Refunds".into(),
            content: "Refunds take five days. They go to the original card. Other text.".into(),
            char_start: 10,
            char_end: 76,
            score,
        }
    }

    fn resolved(similarity: f32, reply: Option<&str>) -> SimilarTicket {
        SimilarTicket {
            ticket_id: uuid::Uuid::new_v4(),
            subject: "Refund for a double charge".into(),
            priority: Priority::Medium,
            team: Some("Billing".into()),
            category: None,
            similarity,
            reply: reply.map(str::to_owned),
        }
    }

    const APPROVED: &str =
        "Hello,\n\nWe refunded the second charge; it shows within five days.\n\nBest regards,\nAda";

    #[test]
    fn the_draft_quotes_and_cites_only_good_passages() {
        let good = passage(0.6);
        let draft = grounded_draft("Refund?", &[good.clone(), passage(0.05)], &[]);
        assert_eq!(draft.citations.len(), 1);
        assert_eq!(draft.citations[0].chunk_id, good.chunk_id);
        assert!(
            draft
                .text
                .contains("Refunds take five days. They go to the original card.")
        );
        assert!(!draft.text.contains("Other text"));
        assert_eq!(draft.reply_from, None);
    }

    #[test]
    fn a_very_similar_resolved_ticket_lends_its_approved_reply_without_greeting_or_sign_off() {
        let near = resolved(0.9, Some(APPROVED));
        let draft = grounded_draft(
            "Charged twice",
            &[passage(0.6)],
            &[resolved(0.95, None), near.clone()],
        );
        assert_eq!(
            draft.reply_from,
            Some(near.ticket_id),
            "the most similar one with a reply"
        );
        assert!(
            draft
                .text
                .contains("> We refunded the second charge; it shows within five days."),
            "{}",
            draft.text
        );
        assert!(
            !draft.text.contains("Ada"),
            "the sign-off is not quoted: {}",
            draft.text
        );
        assert!(draft.text.contains("(\"Refund for a double charge\")"));
        assert_eq!(
            draft.citations.len(),
            1,
            "the knowledge base is still cited"
        );
    }

    #[test]
    fn a_reply_alone_is_enough_for_a_draft_and_a_distant_one_is_not_used() {
        let draft = grounded_draft("Charged twice", &[], &[resolved(0.9, Some(APPROVED))]);
        assert!(draft.text.contains("> We refunded"));
        assert!(draft.citations.is_empty());
        let draft = grounded_draft("Charged twice", &[], &[resolved(0.5, Some(APPROVED))]);
        assert_eq!(draft.reply_from, None);
        assert!(draft.text.contains("We are looking into it"));
    }

    #[test]
    fn a_long_reply_is_cut_at_a_sentence_end() {
        let long = format!(
            "Hi,\n\n{}\n\nBye",
            "This sentence is eleven words long and ends right here now. ".repeat(30)
        );
        let core = reply_core(&long);
        assert!(core.chars().count() <= REUSED_REPLY_MAX_CHARS);
        assert!(core.ends_with('.'), "{core}");
    }
}
