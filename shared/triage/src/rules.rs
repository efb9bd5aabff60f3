//! A deterministic keyword engine: each configured team or category is matched through its own
//! name and a small built-in vocabulary of helpdesk concepts; urgency cues raise the priority.

use nexify_domain::Priority;

use crate::{Triage, TriageEngine, TriageError, TriageInput, grounded_draft};

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

/// The documented urgency rule. Cues that raise a ticket's priority, strongest first:
/// - an outage affecting many people, or a security incident: `urgent`;
/// - a payment failure or a legal threat: at least `high`.
const URGENT_CUES: &[&str] = &[
    "outage",
    "is down",
    "nobody can",
    "all users",
    "cannot reach",
    "can't reach",
    "hacked",
    "breach",
    "compromised",
    "account takeover",
    "ransomware",
    "data leak",
];
const HIGH_CUES: &[&str] = &[
    "payment failed",
    "card declined",
    "declined",
    "charge failed",
    "payment failure",
    "lawyer",
    "legal action",
    "sue ",
    "court",
    "attorney",
];

/// The priority urgency cues call for, if any. Never lowers a priority.
pub fn urgency(text: &str, current: Priority) -> (Priority, Option<&'static str>) {
    let lower = text.to_lowercase();
    if let Some(cue) = URGENT_CUES.iter().find(|c| lower.contains(*c)) {
        return (Priority::Urgent.max(current), Some(cue));
    }
    if let Some(cue) = HIGH_CUES.iter().find(|c| lower.contains(*c)) {
        return (Priority::High.max(current), Some(cue));
    }
    (current, None)
}

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
        let (priority, cue) = urgency(&text, input.current_priority);
        // Confidence grows with evidence and with the margin over the runner-up.
        let confidence = match team {
            Some((_, best, second)) => {
                (0.45 + 0.08 * best.min(4) as f32 + 0.05 * (best - second).min(3) as f32).min(0.9)
            }
            None => 0.25,
        };
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
            metadata: serde_json::json!({
                "engine": self.name(),
                "draft_reply_from_ticket": draft.reply_from,
                "urgency_cue": cue,
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
    fn urgency_cues_raise_but_never_lower_priority() {
        assert_eq!(
            urgency("our whole office: nobody can reach the app", Priority::Low).0,
            Priority::Urgent
        );
        assert_eq!(
            urgency("we were hacked", Priority::Medium).0,
            Priority::Urgent
        );
        assert_eq!(
            urgency("my card declined again", Priority::Low).0,
            Priority::High
        );
        assert_eq!(
            urgency("our lawyer will take legal action", Priority::Medium).0,
            Priority::High
        );
        assert_eq!(
            urgency("a calm question", Priority::Urgent).0,
            Priority::Urgent
        );
        assert_eq!(
            urgency("a calm question", Priority::Low),
            (Priority::Low, None)
        );
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
