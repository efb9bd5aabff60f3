//! How good an org's triage is, for its model page: each head as trained (with its held-out
//! diagnostics), live outcomes of the org's own decisions, what auto-apply would have done
//! at any threshold, and a retraining on request.

use nexify_domain::{OrgId, Role, SuggestionStatus, UserId};
use nexify_storage::PgPool;
use nexify_storage::models::{self, ModelSummary};
use nexify_storage::settings::{self, TrainingStatus};
use nexify_storage::suggestions::{self, DecidedSuggestion};
use serde::Serialize;

use crate::training::QUIET_SECONDS;
use crate::{ServiceError, access};

/// The most decided suggestions one outcomes report reads.
pub const MAX_DECIDED: i64 = 10_000;
/// The longest look-back the outcomes report allows, in days.
pub const MAX_DAYS: i32 = 365;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ModelOverview)]
pub struct Overview {
    pub heads: Vec<ModelSummary>,
    pub training: TrainingStatus,
}

/// The org's current model of each head with its training metrics, and where training stands.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn overview(pool: &PgPool, user: UserId, org: OrgId) -> Result<Overview, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Viewer).await?;
    let heads = models::current_summaries(&mut tx, org).await?;
    let training = settings::training_status(&mut tx, org).await?;
    tx.commit().await?;
    Ok(Overview { heads, training })
}

/// Asks for a retraining at the next sweep (admins). Answers where training then stands.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn request_retraining(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
) -> Result<TrainingStatus, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Admin).await?;
    settings::request_training(&mut tx, org, QUIET_SECONDS).await?;
    let status = settings::training_status(&mut tx, org).await?;
    tx.commit().await?;
    Ok(status)
}

/// At one confidence threshold: how many decided suggestions had the field at or above it,
/// their share, and how many of those were right.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WhatIf {
    pub threshold: f32,
    pub applied: usize,
    pub coverage: f64,
    pub right: usize,
    /// `None` when nothing would have been applied.
    #[schema(required = true)]
    pub accuracy: Option<f64>,
}

/// One suggested field over the decided suggestions.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldOutcome {
    /// Decided suggestions that suggested this field.
    pub decided: usize,
    /// Of those, how many the ticket still has as suggested (accepted and kept, or set the
    /// same way by hand after a rejection).
    pub right: usize,
    #[schema(required = true)]
    pub accuracy: Option<f64>,
    /// Auto-apply at each threshold of [`WHAT_IF_THRESHOLDS`].
    pub what_if: Vec<WhatIf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Outcomes {
    pub days: i32,
    pub decided: usize,
    pub accepted: usize,
    pub rejected: usize,
    #[schema(required = true)]
    pub accept_rate: Option<f64>,
    /// Accepted suggestions whose ticket an agent has since changed in a suggested field.
    pub accepted_then_edited: usize,
    pub priority: FieldOutcome,
    pub team: FieldOutcome,
    pub category: FieldOutcome,
}

/// Thresholds of the what-if curves: every 0.05 from 0 to 1.
pub fn what_if_thresholds() -> Vec<f32> {
    (0..=20).map(|i| i as f32 / 20.0).collect()
}

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// `(confidence, right)` of one field over the suggestions that suggested it.
fn field_outcome(points: &[(Option<f32>, bool)]) -> FieldOutcome {
    let right = points.iter().filter(|(_, r)| *r).count();
    let what_if = what_if_thresholds()
        .into_iter()
        .map(|threshold| {
            let kept: Vec<bool> = points
                .iter()
                .filter(|(c, _)| c.is_some_and(|c| c >= threshold))
                .map(|(_, r)| *r)
                .collect();
            let kept_right = kept.iter().filter(|r| **r).count();
            WhatIf {
                threshold,
                applied: kept.len(),
                coverage: share(kept.len(), points.len()).unwrap_or(0.0),
                right: kept_right,
                accuracy: share(kept_right, kept.len()),
            }
        })
        .collect();
    FieldOutcome {
        decided: points.len(),
        right,
        accuracy: share(right, points.len()),
        what_if,
    }
}

/// Scores decided suggestions against their tickets as they are now: a field is right when
/// the ticket still has (or was given by hand) the suggested value, whether the suggestion
/// was accepted, accepted and later edited, or rejected.
pub fn score(days: i32, decided: &[DecidedSuggestion]) -> Outcomes {
    let accepted = decided
        .iter()
        .filter(|d| d.status == SuggestionStatus::Accepted)
        .count();
    let priority: Vec<(Option<f32>, bool)> = decided
        .iter()
        .map(|d| {
            (
                d.field_confidence.priority,
                d.suggested_priority == d.ticket_priority,
            )
        })
        .collect();
    let team: Vec<(Option<f32>, bool)> = decided
        .iter()
        .filter(|d| d.suggested_team.is_some())
        .map(|d| (d.field_confidence.team, d.suggested_team == d.ticket_team))
        .collect();
    let category: Vec<(Option<f32>, bool)> = decided
        .iter()
        .filter(|d| d.classification.is_some())
        .map(|d| {
            (
                d.field_confidence.category,
                d.classification == d.ticket_category,
            )
        })
        .collect();
    let accepted_then_edited = decided
        .iter()
        .filter(|d| d.status == SuggestionStatus::Accepted)
        .filter(|d| {
            d.suggested_priority != d.ticket_priority
                || (d.suggested_team.is_some() && d.suggested_team != d.ticket_team)
                || (d.classification.is_some() && d.classification != d.ticket_category)
        })
        .count();
    Outcomes {
        days,
        decided: decided.len(),
        accepted,
        rejected: decided.len() - accepted,
        accept_rate: share(accepted, decided.len()),
        accepted_then_edited,
        priority: field_outcome(&priority),
        team: field_outcome(&team),
        category: field_outcome(&category),
    }
}

/// Live outcomes of the org's suggestions decided in the last `days` days.
#[tracing::instrument(skip_all, fields(org_id = %org, days), err)]
pub async fn outcomes(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    days: i32,
) -> Result<Outcomes, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Viewer).await?;
    let decided = suggestions::decided_since(&mut tx, org, days, MAX_DECIDED).await?;
    tx.commit().await?;
    Ok(score(days, &decided))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexify_domain::Priority;
    use nexify_storage::suggestions::FieldConfidences;

    fn decided(
        status: SuggestionStatus,
        team: (&str, f32, &str),
        priority: (Priority, Option<f32>, Priority),
    ) -> DecidedSuggestion {
        DecidedSuggestion {
            status,
            suggested_priority: priority.0,
            suggested_team: Some(team.0.into()),
            classification: None,
            field_confidence: FieldConfidences {
                priority: priority.1,
                team: Some(team.1),
                category: None,
            },
            ticket_priority: priority.2,
            ticket_team: Some(team.2.into()),
            ticket_category: None,
        }
    }

    #[test]
    fn fields_are_scored_against_the_ticket_as_it_is_now() {
        use Priority::*;
        use SuggestionStatus::*;
        let rows = [
            // Accepted and kept.
            decided(
                Accepted,
                ("Billing", 0.95, "Billing"),
                (High, Some(0.9), High),
            ),
            // Accepted, then an agent moved it to another team.
            decided(
                Accepted,
                ("Billing", 0.7, "Accounts"),
                (Low, Some(0.5), Low),
            ),
            // Rejected, but the agent set the same team by hand.
            decided(Rejected, ("Accounts", 0.4, "Accounts"), (Low, None, Medium)),
        ];
        let o = score(30, &rows);
        assert_eq!((o.decided, o.accepted, o.rejected), (3, 2, 1));
        assert_eq!(o.accepted_then_edited, 1);
        assert_eq!((o.team.decided, o.team.right), (3, 2));
        assert_eq!((o.priority.decided, o.priority.right), (3, 2));
        assert_eq!(o.category.decided, 0);
        assert_eq!(o.category.accuracy, None);

        let at = |f: &FieldOutcome, t: f32| {
            f.what_if
                .iter()
                .find(|w| (w.threshold - t).abs() < 1e-6)
                .cloned()
                .unwrap()
        };
        // Team at 0.6: the two accepted ones, one of them right.
        let w = at(&o.team, 0.6);
        assert_eq!((w.applied, w.right, w.accuracy), (2, 1, Some(0.5)));
        assert!((w.coverage - 2.0 / 3.0).abs() < 1e-9);
        // Team at 0.9: the kept one only.
        assert_eq!(at(&o.team, 0.9).accuracy, Some(1.0));
        // Nothing reaches 1.0; a priority with no confidence is never applied.
        assert_eq!(at(&o.team, 1.0).applied, 0);
        assert_eq!(at(&o.team, 1.0).accuracy, None);
        assert_eq!(at(&o.priority, 0.0).applied, 2);
    }
}
