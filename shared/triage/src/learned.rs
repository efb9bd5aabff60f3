//! The learned engine: the org's own calibrated softmax models pick the team, the category
//! and the priority; the rule engine still supplies the grounded draft. An urgency cue is
//! evidence the priority head weighs by the org's fitted cue weight, never an override.
//! For a head the org has no model for yet (too few labels), the nearest labelled tickets
//! vote, and without enough of them the rule engine's keywords decide.

use nexify_domain::Priority;

use crate::model::LinearModel;
use crate::urgency::{find_cue, weigh};
use crate::{
    RuleEngine, SimilarTicket, TextEmbedding, Triage, TriageEngine, TriageError, TriageInput,
};

/// A neighbour vote needs at least this many similar labelled tickets.
pub const MIN_NEIGHBOURS: usize = 3;
/// Neighbours less similar than this do not vote.
pub const MIN_NEIGHBOUR_SIMILARITY: f32 = 0.3;
/// Neighbour votes are not calibrated like a model's probabilities, so their confidence is
/// the winning share of the vote scaled down by this, keeping it under any sensible
/// auto-apply threshold.
pub const NEIGHBOUR_CONFIDENCE_SCALE: f32 = 0.7;

/// The similarity-weighted vote of the neighbours for a label in `allowed`, with its
/// (scaled) share of the vote.
pub fn neighbour_vote(
    similar: &[SimilarTicket],
    pick: impl Fn(&SimilarTicket) -> Option<&String>,
    allowed: &[String],
) -> Option<(String, f32)> {
    let voters: Vec<(&String, f32)> = similar
        .iter()
        .filter(|s| s.similarity >= MIN_NEIGHBOUR_SIMILARITY)
        .filter_map(|s| Some((pick(s).filter(|l| allowed.contains(l))?, s.similarity)))
        .collect();
    if voters.len() < MIN_NEIGHBOURS {
        return None;
    }
    let total: f32 = voters.iter().map(|(_, w)| w).sum();
    let mut tally: Vec<(&String, f32)> = Vec::new();
    for (label, w) in voters {
        match tally.iter_mut().find(|(l, _)| *l == label) {
            Some((_, sum)) => *sum += w,
            None => tally.push((label, w)),
        }
    }
    // Ties go to the label of the nearer neighbour, which was pushed first.
    let (label, weight) = tally
        .into_iter()
        .reduce(|best, next| if next.1 > best.1 { next } else { best })?;
    Some((label.clone(), NEIGHBOUR_CONFIDENCE_SCALE * weight / total))
}

/// An org's current models, one per head, as loaded by the worker.
#[derive(Debug, Clone, Default)]
pub struct OrgModels {
    pub team: Option<LinearModel>,
    pub category: Option<LinearModel>,
    pub priority: Option<LinearModel>,
    /// `(head, version)` of what is loaded, for the suggestion's metadata and cache checks.
    pub versions: Vec<(String, i32)>,
}

impl OrgModels {
    /// What the loaded heads take in memory, about.
    pub fn size_bytes(&self) -> usize {
        [&self.team, &self.category, &self.priority]
            .into_iter()
            .flatten()
            .map(LinearModel::size_bytes)
            .sum()
    }
}

/// Stateless: the org's models arrive with each [`TriageInput`].
#[derive(Debug, Clone, Default)]
pub struct LearnedEngine;

/// The model's best label among `allowed` (the org's current labels), with its probability.
/// Labels the org has since removed are never suggested.
fn best_allowed(
    model: &LinearModel,
    text: &str,
    embedding: Option<&TextEmbedding>,
    allowed: &[String],
) -> Option<(String, f32)> {
    let probabilities = model.predict_proba(&model.features(text, dense_for(model, embedding)));
    best_of(model, probabilities, allowed)
}

fn best_of(
    model: &LinearModel,
    probabilities: Vec<f32>,
    allowed: &[String],
) -> Option<(String, f32)> {
    model
        .labels
        .iter()
        .zip(probabilities)
        .filter(|(label, _)| allowed.is_empty() || allowed.contains(label))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(label, p)| (label.clone(), p))
}

/// The embedding when it is the kind the model was trained on; otherwise the model runs on
/// its sparse features alone (its dense weights see zeros).
fn dense_for<'a>(model: &LinearModel, embedding: Option<&'a TextEmbedding>) -> Option<&'a [f32]> {
    embedding
        .filter(|e| {
            model.dense_dim == e.vector.len() && model.embedder.as_deref() == Some(&e.embedder)
        })
        .map(|e| e.vector.as_slice())
}

impl TriageEngine for LearnedEngine {
    fn name(&self) -> &str {
        "learned-v1"
    }

    fn triage(&self, input: &TriageInput) -> Result<Triage, TriageError> {
        let mut triage = RuleEngine.triage(input)?;
        let fallback = OrgModels::default();
        let models = input.models.as_deref().unwrap_or(&fallback);
        let text = format!("{}\n{}", input.subject, input.body);
        let embedding = input.embedding.as_ref();
        let mut confidences = Vec::new();
        let mut heads = serde_json::Map::new();
        if let Some(model) = &models.team
            && let Some((team, p)) = best_allowed(model, &text, embedding, &input.labels.teams)
        {
            heads.insert(
                "team".into(),
                serde_json::json!({ "label": team, "probability": p }),
            );
            triage.team = Some(team);
            triage.fields.team = Some(p);
            confidences.push(p);
        }
        if let Some(model) = &models.category
            && let Some((category, p)) =
                best_allowed(model, &text, embedding, &input.labels.categories)
        {
            heads.insert(
                "category".into(),
                serde_json::json!({ "label": category, "probability": p }),
            );
            triage.classification = Some(category);
            triage.fields.category = Some(p);
            confidences.push(p);
        }
        if models.team.is_none()
            && let Some((team, p)) =
                neighbour_vote(&input.similar, |s| s.team.as_ref(), &input.labels.teams)
        {
            heads.insert(
                "team".into(),
                serde_json::json!({ "label": team, "probability": p, "source": "neighbours" }),
            );
            triage.team = Some(team);
            triage.fields.team = Some(p);
            confidences.push(p);
        }
        if models.category.is_none()
            && let Some((category, p)) = neighbour_vote(
                &input.similar,
                |s| s.category.as_ref(),
                &input.labels.categories,
            )
        {
            heads.insert(
                "category".into(),
                serde_json::json!({ "label": category, "probability": p, "source": "neighbours" }),
            );
            triage.classification = Some(category);
            triage.fields.category = Some(p);
            confidences.push(p);
        }
        if let Some(model) = &models.priority {
            let allowed: Vec<String> = Priority::ALL.iter().map(|p| p.to_string()).collect();
            let head = model.predict_proba(&model.features(&text, dense_for(model, embedding)));
            let cue = find_cue(&text);
            let weighed = weigh(&head, &model.labels, cue.as_ref(), model.cue_weight);
            if let Some((label, p)) = best_of(model, weighed, &allowed)
                && let Ok(priority) = label.parse::<Priority>()
            {
                let head_label = best_of(model, head, &allowed).map(|(l, _)| l);
                heads.insert(
                    "priority".into(),
                    serde_json::json!({
                        "label": priority,
                        "probability": p,
                        "urgency_cue": cue.map(|c| c.phrase),
                        "cue_weight": model.cue_weight,
                        "head_label": head_label,
                    }),
                );
                triage.priority = priority;
                triage.fields.priority = Some(p);
                confidences.push(p);
            }
        }
        if !confidences.is_empty() {
            // Both heads must be right for the suggestion to be right; the smaller
            // probability is the honest (upper-bound) summary.
            triage.confidence = confidences.iter().copied().fold(1.0, f32::min);
        }
        if let Some(m) = triage.metadata.as_object_mut() {
            m.insert("similar_tickets".into(), serde_json::json!(input.similar));
            // Without a model or a neighbour vote, the rule engine decided alone and its
            // name stays on the suggestion.
            if !heads.is_empty() {
                m.insert("engine".into(), serde_json::json!(self.name()));
                m.insert("heads".into(), serde_json::Value::Object(heads));
                m.insert("model_versions".into(), serde_json::json!(models.versions));
                let dense_used = [&models.team, &models.category, &models.priority]
                    .into_iter()
                    .flatten()
                    .any(|model| dense_for(model, embedding).is_some());
                m.insert("dense_features".into(), serde_json::json!(dense_used));
            }
        }
        Ok(triage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neighbour(team: &str, similarity: f32) -> SimilarTicket {
        SimilarTicket {
            ticket_id: uuid::Uuid::new_v4(),
            subject: "s".into(),
            priority: Priority::Medium,
            team: Some(team.into()),
            category: None,
            similarity,
            reply: None,
        }
    }

    #[test]
    fn neighbours_vote_by_similarity_within_the_allowed_labels() {
        let allowed = vec!["Billing".to_owned(), "Technical".to_owned()];
        let similar = vec![
            neighbour("Technical", 0.9),
            neighbour("Billing", 0.5),
            neighbour("Billing", 0.5),
            neighbour("Retired team", 0.95),
            neighbour("Technical", 0.2), // too dissimilar to vote
        ];
        let (team, confidence) = neighbour_vote(&similar, |s| s.team.as_ref(), &allowed).unwrap();
        assert_eq!(team, "Billing", "1.0 of weight against 0.9");
        let expected = NEIGHBOUR_CONFIDENCE_SCALE * 1.0 / 1.9;
        assert!((confidence - expected).abs() < 1e-5, "{confidence}");
    }

    #[test]
    fn too_few_neighbours_do_not_vote() {
        let allowed = vec!["Billing".to_owned()];
        let similar = vec![neighbour("Billing", 0.9), neighbour("Billing", 0.8)];
        assert_eq!(
            neighbour_vote(&similar, |s| s.team.as_ref(), &allowed),
            None
        );
    }
}
