//! The learned engine: the org's own calibrated softmax models pick the team and the
//! category; the rule engine still supplies urgency cues and the grounded draft, and stands
//! in for a head the org has no model for yet (too few labels).

use nexify_domain::Priority;

use crate::model::LinearModel;
use crate::urgency;
use crate::{RuleEngine, Triage, TriageEngine, TriageError, TriageInput};

/// An org's current models, one per head, as loaded by the worker.
#[derive(Debug, Clone, Default)]
pub struct OrgModels {
    pub team: Option<LinearModel>,
    pub category: Option<LinearModel>,
    pub priority: Option<LinearModel>,
    /// `(head, version)` of what is loaded, for the suggestion's metadata and cache checks.
    pub versions: Vec<(String, i32)>,
}

/// Stateless: the org's models arrive with each [`TriageInput`].
#[derive(Debug, Clone, Default)]
pub struct LearnedEngine;

/// The model's best label among `allowed` (the org's current labels), with its probability.
/// Labels the org has since removed are never suggested.
fn best_allowed(model: &LinearModel, text: &str, allowed: &[String]) -> Option<(String, f32)> {
    let probabilities = model.predict_proba(&model.features(text, None));
    model
        .labels
        .iter()
        .zip(probabilities)
        .filter(|(label, _)| allowed.is_empty() || allowed.contains(label))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(label, p)| (label.clone(), p))
}

impl TriageEngine for LearnedEngine {
    fn name(&self) -> &str {
        "learned-v1"
    }

    fn triage(&self, input: &TriageInput) -> Result<Triage, TriageError> {
        let mut triage = RuleEngine.triage(input)?;
        let Some(models) = &input.models else {
            return Ok(triage);
        };
        let text = format!("{}\n{}", input.subject, input.body);
        let mut confidences = Vec::new();
        let mut heads = serde_json::Map::new();
        if let Some(model) = &models.team
            && let Some((team, p)) = best_allowed(model, &text, &input.labels.teams)
        {
            heads.insert(
                "team".into(),
                serde_json::json!({ "label": team, "probability": p }),
            );
            triage.team = Some(team);
            confidences.push(p);
        }
        if let Some(model) = &models.category
            && let Some((category, p)) = best_allowed(model, &text, &input.labels.categories)
        {
            heads.insert(
                "category".into(),
                serde_json::json!({ "label": category, "probability": p }),
            );
            triage.classification = Some(category);
            confidences.push(p);
        }
        if let Some(model) = &models.priority {
            let allowed: Vec<String> = Priority::ALL.iter().map(|p| p.to_string()).collect();
            if let Some((label, p)) = best_allowed(model, &text, &allowed)
                && let Ok(learned) = label.parse::<Priority>()
            {
                // Urgency cues still raise a learned priority, never lower it.
                let (priority, cue) = urgency(&text, learned);
                heads.insert(
                    "priority".into(),
                    serde_json::json!({ "label": learned, "probability": p, "urgency_cue": cue }),
                );
                triage.priority = priority;
                confidences.push(p);
            }
        }
        if !confidences.is_empty() {
            // Both heads must be right for the suggestion to be right; the smaller
            // probability is the honest (upper-bound) summary.
            triage.confidence = confidences.iter().copied().fold(1.0, f32::min);
        }
        if let Some(m) = triage.metadata.as_object_mut() {
            m.insert("engine".into(), serde_json::json!(self.name()));
            m.insert("heads".into(), serde_json::Value::Object(heads));
            m.insert("model_versions".into(), serde_json::json!(models.versions));
        }
        Ok(triage)
    }
}
