//! The urgency rule: phrases in English and German that call for a higher priority, matched
//! as whole words, and how they weigh against an org's own priority head.
//!
//! - An outage affecting many people, or a security incident: `urgent`.
//! - A payment failure or a legal threat: at least `high`.
//!
//! A cue never lowers a priority and never raises it to a value the org does not use. Until
//! the org has a priority head, a cue raises the priority directly ([`raise`]). Once it has
//! one, the cue is evidence the head weighs ([`weigh`]): a weight per org, fitted at training
//! time on the head's held-out predictions ([`fit_cue_weight`]), zero when the cue did not help
//! there.

use nexify_domain::Priority;

/// Cues of an outage affecting many people or of a security incident.
const URGENT_CUES: &[&str] = &[
    // English
    "outage",
    "outages",
    "is down",
    "are down",
    "went down",
    "nobody can",
    "no one can",
    "all users",
    "all our users",
    "cannot reach",
    "can't reach",
    "unreachable",
    "hacked",
    "breach",
    "data breach",
    "compromised",
    "account takeover",
    "ransomware",
    "data leak",
    // German
    "ausfall",
    "totalausfall",
    "systemausfall",
    "serverausfall",
    "ist ausgefallen",
    "sind ausgefallen",
    "nicht erreichbar",
    "niemand kann",
    "keiner kann",
    "alle benutzer",
    "alle nutzer",
    "gehackt",
    "sicherheitsvorfall",
    "datenleck",
    "datenpanne",
    "kompromittiert",
    "kontoübernahme",
];

/// Cues of a payment failure or a legal threat. "declined" alone is no cue: people decline
/// invitations; "sue" alone is no cue: it is a name.
const HIGH_CUES: &[&str] = &[
    // English
    "payment failed",
    "payment failure",
    "payment was declined",
    "card declined",
    "card was declined",
    "card has been declined",
    "transaction declined",
    "charge failed",
    "lawyer",
    "lawyers",
    "legal action",
    "attorney",
    "lawsuit",
    "will sue",
    "sue you",
    "to court",
    "in court",
    // German
    "zahlung fehlgeschlagen",
    "zahlung abgelehnt",
    "karte abgelehnt",
    "karte wurde abgelehnt",
    "abbuchung fehlgeschlagen",
    "anwalt",
    "rechtsanwalt",
    "anwältin",
    "rechtliche schritte",
    "klage",
    "verklagen",
    "gericht",
];

/// An urgency cue found in a ticket: the priority it calls for and the phrase that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cue {
    pub level: Priority,
    pub phrase: &'static str,
}

/// Lowercased words, split at anything that is not a letter, digit or apostrophe
/// (typographic apostrophes count as `'`), so that cues match whole words only.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace('\u{2019}', "'")
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn contains_phrase(words: &[String], phrase: &str) -> bool {
    let cue: Vec<&str> = phrase.split(' ').collect();
    words
        .windows(cue.len())
        .any(|w| w.iter().zip(&cue).all(|(a, b)| a == b))
}

/// The strongest cue in `text`, if any.
pub fn find_cue(text: &str) -> Option<Cue> {
    let words = words(text);
    [(Priority::Urgent, URGENT_CUES), (Priority::High, HIGH_CUES)]
        .into_iter()
        .find_map(|(level, cues)| {
            cues.iter()
                .find(|c| contains_phrase(&words, c))
                .map(|&phrase| Cue { level, phrase })
        })
}

/// The priority a cue may raise to: the highest one the org uses (`used`) at or below the
/// cue's level. With nothing known of the org's priorities (`used` empty), the cue's level.
fn target(cue: &Cue, used: &[Priority]) -> Option<Priority> {
    if used.is_empty() {
        return Some(cue.level);
    }
    used.iter().copied().filter(|p| *p <= cue.level).max()
}

/// `current`, raised (never lowered) by the cue to a priority the org uses.
pub fn raise(current: Priority, cue: Option<&Cue>, used: &[Priority]) -> Priority {
    cue.and_then(|c| target(c, used))
        .map_or(current, |t| t.max(current))
}

/// The head's probabilities over `labels` (priority names) with the cue's evidence: a factor
/// of e^weight on every label at or above what the cue calls for (as adding `weight` to their
/// logits), renormalised. No cue, or weight 0, leaves them as they are.
pub fn weigh(probabilities: &[f32], labels: &[String], cue: Option<&Cue>, weight: f32) -> Vec<f32> {
    let used: Vec<Priority> = labels.iter().filter_map(|l| l.parse().ok()).collect();
    let Some(target) = cue.filter(|_| weight > 0.0).and_then(|c| target(c, &used)) else {
        return probabilities.to_vec();
    };
    let factor = weight.exp();
    let raised: Vec<f32> = labels
        .iter()
        .zip(probabilities)
        .map(|(l, p)| match l.parse::<Priority>() {
            Ok(priority) if priority >= target => p * factor,
            _ => *p,
        })
        .collect();
    let sum: f32 = raised.iter().sum();
    raised.iter().map(|p| p / sum).collect()
}

/// The cue weights [`fit_cue_weight`] chooses from.
pub const CUE_WEIGHTS: &[f32] = &[0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0];

/// A held-out prediction of the priority head: its calibrated probabilities, the true label's
/// index, and the ticket's cue.
pub struct HeldOutPriority {
    pub probabilities: Vec<f32>,
    pub label: usize,
    pub cue: Option<Cue>,
}

/// The weight the org's cues get against its priority head: of [`CUE_WEIGHTS`], the one
/// most accurate on the head's held-out predictions, then the one with the lowest negative
/// log-likelihood, then the smallest. 0 is among them, so on those predictions the weighed
/// priority is never less accurate than the head alone; it is 0 when no held-out ticket
/// has a cue.
pub fn fit_cue_weight(held_out: &[HeldOutPriority], labels: &[String]) -> f32 {
    let score = |weight: f32| -> (usize, f64) {
        held_out.iter().fold((0, 0.0), |(right, nll), h| {
            let p = weigh(&h.probabilities, labels, h.cue.as_ref(), weight);
            let best = p
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i);
            let right = right + usize::from(best == Some(h.label));
            (right, nll - f64::from(p[h.label].max(1e-12)).ln())
        })
    };
    let mut best = (0.0, score(0.0));
    for &weight in &CUE_WEIGHTS[1..] {
        let s = score(weight);
        // More right, or as many right with a clearly lower log-loss.
        if s.0 > best.1.0 || (s.0 == best.1.0 && s.1 < best.1.1 - 1e-6) {
            best = (weight, s);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(text: &str) -> Option<Priority> {
        find_cue(text).map(|c| c.level)
    }

    #[test]
    fn cues_match_whole_words_only() {
        // Each of these once matched a cue inside another word or meaning.
        for text in [
            "I have an issue with my invoice",
            "The issue persists",
            "Please send a tissue sample",
            "Sue from accounting asked me to write",
            "Your agent was very courteous",
            "How do I decline an invitation to a shared folder?",
            "I declined the meeting invitation by mistake",
            "The download finished",
            "Die Klagenfurt-Filiale hat eine Frage", // a place, not "Klage"
        ] {
            assert_eq!(find_cue(text), None, "{text}");
        }
    }

    #[test]
    fn cues_match_in_english_and_german() {
        assert_eq!(
            level("Our site is down for everyone"),
            Some(Priority::Urgent)
        );
        assert_eq!(level("We were HACKED last night"), Some(Priority::Urgent));
        assert_eq!(level("Der Server ist ausgefallen"), Some(Priority::Urgent));
        assert_eq!(
            level("Das Portal ist nicht erreichbar."),
            Some(Priority::Urgent)
        );
        assert_eq!(level("Unser Konto wurde gehackt!"), Some(Priority::Urgent));
        assert_eq!(level("My card was declined twice"), Some(Priority::High));
        assert_eq!(level("Our lawyer will be in touch"), Some(Priority::High));
        assert_eq!(level("We can’t reach the API"), Some(Priority::Urgent));
        assert_eq!(
            level("Die Zahlung fehlgeschlagen, bitte prüfen"),
            Some(Priority::High)
        );
        assert_eq!(
            level("Wir leiten rechtliche Schritte ein"),
            Some(Priority::High)
        );
        assert_eq!(level("Mein Anwalt meldet sich"), Some(Priority::High));
        // The strongest cue wins.
        assert_eq!(
            level("payment failed because the service is down"),
            Some(Priority::Urgent)
        );
    }

    #[test]
    fn a_cue_raises_only_to_a_priority_the_org_uses_and_never_lowers() {
        let urgent = find_cue("total outage").unwrap();
        let high = find_cue("legal action").unwrap();
        let used = [Priority::Low, Priority::Medium, Priority::High];
        assert_eq!(raise(Priority::Low, Some(&urgent), &used), Priority::High);
        assert_eq!(raise(Priority::Low, Some(&high), &used), Priority::High);
        assert_eq!(
            raise(
                Priority::Low,
                Some(&urgent),
                &[Priority::Low, Priority::Medium]
            ),
            Priority::Medium
        );
        assert_eq!(
            raise(Priority::Urgent, Some(&high), &used),
            Priority::Urgent
        );
        assert_eq!(raise(Priority::Medium, None, &used), Priority::Medium);
        // An org whose history says nothing yet: the cue's own level.
        assert_eq!(raise(Priority::Low, Some(&urgent), &[]), Priority::Urgent);
    }

    fn labels() -> Vec<String> {
        ["high", "low", "medium"].map(String::from).to_vec()
    }

    #[test]
    fn weighing_moves_mass_to_the_cued_priorities_the_head_knows() {
        let high = find_cue("card declined").unwrap();
        let p = weigh(&[0.2, 0.5, 0.3], &labels(), Some(&high), 1.0);
        let e = 1f32.exp();
        let sum = 0.2 * e + 0.5 + 0.3;
        assert!((p[0] - 0.2 * e / sum).abs() < 1e-6, "{p:?}");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        // No urgent label: an urgent cue weighs for high, the highest the org uses.
        let urgent = find_cue("outage").unwrap();
        assert_eq!(weigh(&[0.2, 0.5, 0.3], &labels(), Some(&urgent), 1.0), p);
        assert_eq!(
            weigh(&[0.2, 0.5, 0.3], &labels(), None, 1.0),
            vec![0.2, 0.5, 0.3]
        );
        assert_eq!(
            weigh(&[0.2, 0.5, 0.3], &labels(), Some(&high), 0.0),
            vec![0.2, 0.5, 0.3]
        );
    }

    fn held(p: [f32; 3], label: usize, cue: Option<&str>) -> HeldOutPriority {
        HeldOutPriority {
            probabilities: p.to_vec(),
            label,
            cue: cue.and_then(find_cue),
        }
    }

    #[test]
    fn the_cue_weight_is_zero_unless_it_helps_on_held_out_tickets() {
        // Cued tickets that really are high, which the head puts second: a weight helps.
        let helps = vec![
            held([0.4, 0.5, 0.1], 0, Some("our lawyer")),
            held([0.3, 0.6, 0.1], 0, Some("card declined")),
            held([0.1, 0.8, 0.1], 1, None),
        ];
        assert!(fit_cue_weight(&helps, &labels()) > 0.0);
        // Cued tickets that are not high: any weight would only hurt.
        let hurts = vec![
            held([0.4, 0.5, 0.1], 1, Some("our lawyer")),
            held([0.3, 0.6, 0.1], 1, Some("card declined")),
        ];
        assert_eq!(fit_cue_weight(&hurts, &labels()), 0.0);
        // No cue among them: nothing to learn from.
        let silent = vec![held([0.4, 0.5, 0.1], 0, None)];
        assert_eq!(fit_cue_weight(&silent, &labels()), 0.0);
    }
}
