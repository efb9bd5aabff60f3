//! A deterministic keyword engine: each configured team or category is matched through its own
//! name and a small built-in vocabulary of helpdesk concepts; urgency cues raise the priority
//! to one the org uses ([`crate::urgency`]).

use crate::urgency::{find_cue, raise};
use crate::{FieldConfidence, Triage, TriageEngine, TriageError, TriageInput, grounded_draft};

/// Helpdesk concepts and the words that signal them. A label matches a concept when the
/// label's name contains the concept's key.
const CONCEPTS: &[(&str, &[&str])] = &[
    (
        "bill",
        &[
            "invoice",
            "charge",
            "charged",
            "billing",
            "payment",
            "card",
            "refund",
            "price",
            "plan",
            "vat",
            "renewal",
            "subscription",
        ],
    ),
    (
        "payment",
        &[
            "payment", "card", "declined", "charge", "failed", "bank", "overdue",
        ],
    ),
    (
        "refund",
        &[
            "refund",
            "money back",
            "charged twice",
            "cancelled",
            "cancel",
        ],
    ),
    (
        "account",
        &[
            "account",
            "password",
            "login",
            "log in",
            "sign in",
            "2fa",
            "two-factor",
            "locked",
            "reset",
        ],
    ),
    (
        "login",
        &[
            "password",
            "login",
            "log in",
            "sign in",
            "2fa",
            "two-factor",
            "locked",
            "reset",
        ],
    ),
    (
        "tech",
        &[
            "sync", "error", "bug", "crash", "api", "slow", "upload", "desktop", "app", "outage",
            "down",
        ],
    ),
    (
        "engineer",
        &[
            "sync", "error", "bug", "crash", "api", "slow", "outage", "down",
        ],
    ),
    ("sync", &["sync", "upload", "desktop", "stuck", "slow"]),
    (
        "outage",
        &[
            "outage",
            "down",
            "cannot reach",
            "can't reach",
            "unreachable",
            "nobody can",
            "all users",
            "status page",
        ],
    ),
    (
        "incident",
        &["outage", "down", "hacked", "breach", "incident"],
    ),
    (
        "secur",
        &[
            "hacked",
            "breach",
            "suspicious",
            "phishing",
            "compromised",
            "takeover",
            "unknown sign-in",
            "security",
        ],
    ),
    (
        "data",
        &[
            "gdpr",
            "export",
            "personal data",
            "article 15",
            "delete my data",
        ],
    ),
    ("bug", &["bug", "error", "429", "500", "broken", "crash"]),
    ("question", &["how do i", "how can i", "question", "?"]),
    ("support", &["help", "question", "how"]),
];

fn label_score(label: &str, text: &str) -> usize {
    let name = label.to_lowercase();
    let mut score = 0;
    for word in name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
    {
        if text.contains(word) {
            score += 2;
        }
    }
    for (key, words) in CONCEPTS {
        if name.contains(key) {
            score += words.iter().filter(|w| text.contains(*w)).count();
        }
    }
    score
}

/// The best-scoring label, its score and the runner-up's score.
fn pick<'a>(labels: &'a [String], text: &str) -> Option<(&'a String, usize, usize)> {
    let mut scored: Vec<(&String, usize)> =
        labels.iter().map(|l| (l, label_score(l, text))).collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.1));
    let (best, best_score) = *scored.first()?;
    let runner_up = scored.get(1).map(|s| s.1).unwrap_or(0);
    (best_score > 0).then_some((best, best_score, runner_up))
}

/// A keyword pick's confidence: it grows with the evidence and with the margin over the
/// runner-up; low when nothing matched and a default stands.
fn keyword_confidence(pick: Option<(&String, usize, usize)>) -> f32 {
    match pick {
        Some((_, best, second)) => {
            (0.45 + 0.08 * best.min(4) as f32 + 0.05 * (best - second).min(3) as f32).min(0.9)
        }
        None => 0.25,
    }
}

#[derive(Debug, Clone, Default)]
pub struct RuleEngine;

impl TriageEngine for RuleEngine {
    fn name(&self) -> &str {
        "rules-v1"
    }

    fn triage(&self, input: &TriageInput) -> Result<Triage, TriageError> {
        let text = format!("{}\n{}", input.subject, input.body).to_lowercase();
        let team = pick(&input.labels.teams, &text);
        let category = pick(&input.labels.categories, &text);
        let cue = find_cue(&text);
        let priority = raise(
            input.current_priority,
            cue.as_ref(),
            &input.labels.priorities_used,
        );
        let confidence = keyword_confidence(team);
        let draft = grounded_draft(&input.subject, &input.passages, &input.similar);
        Ok(Triage {
            priority,
            team: team
                .map(|t| t.0.clone())
                .or_else(|| input.labels.default_team.clone()),
            classification: category
                .map(|c| c.0.clone())
                .or_else(|| input.labels.default_category.clone()),
            draft_reply: draft.text,
            citations: draft.citations,
            confidence,
            fields: FieldConfidence {
                // Keywords estimate no priority; a cue only raises it.
                priority: None,
                team: Some(confidence),
                category: Some(keyword_confidence(category)),
            },
            metadata: serde_json::json!({
                "engine": self.name(),
                "draft_reply_from_ticket": draft.reply_from,
                "urgency_cue": cue.map(|c| c.phrase),
                "team_used_default": team.is_none(),
                "category_used_default": category.is_none(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OrgLabels;
    use nexify_domain::Priority;

    fn input(subject: &str, body: &str) -> TriageInput {
        TriageInput {
            subject: subject.into(),
            body: body.into(),
            current_priority: Priority::Medium,
            labels: OrgLabels {
                teams: vec![
                    "Billing".into(),
                    "Technical".into(),
                    "Accounts".into(),
                    "Security".into(),
                ],
                categories: vec![
                    "refund".into(),
                    "login".into(),
                    "outage".into(),
                    "security".into(),
                ],
                default_team: Some("Technical".into()),
                default_category: None,
                priorities_used: vec![],
            },
            passages: vec![],
            models: None,
            embedding: None,
            similar: vec![],
        }
    }

    #[test]
    fn routes_by_configured_labels_only() {
        let e = RuleEngine;
        let t = e
            .triage(&input(
                "Charged twice",
                "Please refund the duplicate charge on my card",
            ))
            .unwrap();
        assert_eq!(t.team.as_deref(), Some("Billing"));
        assert_eq!(t.classification.as_deref(), Some("refund"));
        let t = e
            .triage(&input("Can't log in", "Password reset email never arrives"))
            .unwrap();
        assert_eq!(t.team.as_deref(), Some("Accounts"));
        assert_eq!(t.classification.as_deref(), Some("login"));
    }

    #[test]
    fn unknown_topics_fall_back_to_the_default_with_low_confidence() {
        let t = RuleEngine.triage(&input("Hello", "Lorem ipsum")).unwrap();
        assert_eq!(t.team.as_deref(), Some("Technical"));
        assert!(t.confidence < 0.3);
        assert!(t.citations.is_empty());
    }

    #[test]
    fn urgency_cues_raise_only_to_a_priority_the_org_uses() {
        let mut i = input("Outage", "nobody can reach the app");
        i.current_priority = Priority::Low;
        assert_eq!(RuleEngine.triage(&i).unwrap().priority, Priority::Urgent);
        i.labels.priorities_used = vec![Priority::Low, Priority::High];
        let t = RuleEngine.triage(&i).unwrap();
        assert_eq!(t.priority, Priority::High);
        assert_eq!(t.metadata["urgency_cue"], "outage");
        let calm = RuleEngine
            .triage(&input("An issue", "a courteous question"))
            .unwrap();
        assert_eq!(calm.priority, Priority::Medium);
        assert_eq!(calm.metadata["urgency_cue"], serde_json::Value::Null);
    }

    #[test]
    fn drafts_cite_exactly_the_passages_they_quote() {
        let mut i = input("Refund", "refund please");
        let passage = |score: f32| crate::Passage {
            document_id: uuid::Uuid::new_v4(),
            chunk_id: uuid::Uuid::new_v4(),
            title: "Refunds".into(),
            content: "Annual plans are refunded within 30 days. Monthly plans are not.".into(),
            char_start: 0,
            char_end: 64,
            score,
        };
        i.passages = vec![passage(0.9), passage(0.01)];
        let t = RuleEngine.triage(&i).unwrap();
        assert_eq!(t.citations.len(), 1, "the weak passage is not cited");
        assert!(
            t.draft_reply
                .contains("Annual plans are refunded within 30 days.")
        );
        assert_eq!(t.citations[0].chunk_id, i.passages[0].chunk_id);
    }
}
