//! A decision on a suggestion: accept (by a person, or by `ai` when confident enough),
//! reject, and per-field auto-apply.

use nexify_domain::{MessageKind, OrgId, Role, SuggestionId, SuggestionStatus, UserId};
use nexify_storage::events::{self, Actor, NewEvent};
use nexify_storage::settings::FieldThresholds;
use nexify_storage::suggestions::{self, Suggestion};
use nexify_storage::tickets::TicketChanges;
use nexify_storage::{PgConnection, PgPool};

use crate::tickets::apply_changes;
use crate::{ServiceError, access};

/// Locks the suggestion; a decision needs it pending (else 409).
async fn pending_for_update(
    conn: &mut PgConnection,
    org: OrgId,
    id: SuggestionId,
) -> Result<Suggestion, ServiceError> {
    let suggestion = suggestions::get_for_update(conn, org, id).await?;
    if suggestion.status != SuggestionStatus::Pending {
        return Err(ServiceError::Conflict(format!(
            "this suggestion was already {}",
            suggestion.status
        )));
    }
    Ok(suggestion)
}

/// Applies a pending suggestion's priority and team to its ticket, sends its draft (as
/// edited) as a reply, and marks it accepted, with `suggestion_approved` and the
/// field-change events, on the caller's transaction.
pub async fn accept_in_tx(
    conn: &mut PgConnection,
    org: OrgId,
    id: SuggestionId,
    actor: Actor,
    draft_reply: Option<&str>,
) -> Result<Suggestion, ServiceError> {
    let suggestion = pending_for_update(conn, org, id).await?;
    let changes = TicketChanges {
        status: None,
        priority: Some(suggestion.suggested_priority),
        assigned_team: suggestion.suggested_team.clone().map(Some),
        category: suggestion.classification.clone().map(Some),
    };
    apply_changes(
        conn,
        org,
        suggestion.ticket_id,
        &changes,
        actor,
        Some(suggestion.job_run_id),
    )
    .await?;
    let decided = suggestions::decide(
        conn,
        org,
        id,
        SuggestionStatus::Accepted,
        actor.user_id(),
        None,
        draft_reply,
    )
    .await?;
    // The draft, as edited, goes to the requester.
    let reply = draft_reply.unwrap_or(&suggestion.draft_reply);
    if !reply.trim().is_empty() {
        crate::conversations::add_in_tx(
            conn,
            org,
            suggestion.ticket_id,
            MessageKind::Reply,
            actor,
            reply,
        )
        .await?;
    }
    events::insert(
        conn,
        org,
        &NewEvent {
            ticket_id: suggestion.ticket_id,
            job_run_id: Some(suggestion.job_run_id),
            event_type: "suggestion_approved",
            actor,
            payload: serde_json::json!({
                "suggestion_id": id,
                "applied": {
                    "priority": decided.suggested_priority,
                    "assigned_team": decided.suggested_team,
                    "category": decided.classification,
                },
                "draft_reply_edited": draft_reply.is_some_and(|d| d != suggestion.draft_reply),
                "confidence": decided.confidence,
            }),
        },
    )
    .await?;
    crate::outbound::emit(conn, org, "suggestion.accepted", &decided).await?;
    Ok(decided)
}

/// The fields of `suggestion` whose own confidence reaches the org's threshold for that field
/// (a field with no value or no confidence never does).
pub fn confident_fields(
    suggestion: &Suggestion,
    thresholds: &FieldThresholds,
) -> Vec<&'static str> {
    let c = &suggestion.field_confidence;
    [
        ("priority", thresholds.priority, c.priority, true),
        (
            "team",
            thresholds.team,
            c.team,
            suggestion.suggested_team.is_some(),
        ),
        (
            "category",
            thresholds.category,
            c.category,
            suggestion.classification.is_some(),
        ),
    ]
    .into_iter()
    .filter(|(_, threshold, confidence, has_value)| {
        *has_value && matches!((threshold, confidence), (Some(t), Some(c)) if c >= t)
    })
    .map(|(field, ..)| field)
    .collect()
}

/// Per-field auto-apply, on the caller's transaction: sets on the ticket only the fields
/// confident enough by the org's per-field thresholds, with their change events (actor `ai`)
/// and one `suggestion_fields_applied` event naming them. The suggestion stays pending for
/// an agent to accept (with its draft) or reject.
pub async fn apply_confident_fields(
    conn: &mut PgConnection,
    org: OrgId,
    suggestion: Suggestion,
    thresholds: &FieldThresholds,
) -> Result<Suggestion, ServiceError> {
    let fields = confident_fields(&suggestion, thresholds);
    if fields.is_empty() {
        return Ok(suggestion);
    }
    let has = |f: &str| fields.contains(&f);
    let changes = TicketChanges {
        status: None,
        priority: has("priority").then_some(suggestion.suggested_priority),
        assigned_team: has("team").then(|| suggestion.suggested_team.clone()),
        category: has("category").then(|| suggestion.classification.clone()),
    };
    apply_changes(
        conn,
        org,
        suggestion.ticket_id,
        &changes,
        Actor::Ai,
        Some(suggestion.job_run_id),
    )
    .await?;
    let recorded = suggestions::record_auto_applied(conn, org, suggestion.id, &fields).await?;
    events::insert(
        conn,
        org,
        &NewEvent {
            ticket_id: suggestion.ticket_id,
            job_run_id: Some(suggestion.job_run_id),
            event_type: "suggestion_fields_applied",
            actor: Actor::Ai,
            payload: serde_json::json!({
                "suggestion_id": suggestion.id,
                "fields": fields,
                "field_confidence": suggestion.field_confidence,
                "thresholds": thresholds,
            }),
        },
    )
    .await?;
    Ok(recorded)
}

#[tracing::instrument(skip_all, fields(org_id = %org, suggestion_id = %id), err)]
pub async fn accept(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    id: SuggestionId,
    draft_reply: Option<&str>,
) -> Result<Suggestion, ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Agent).await?;
    let decided = accept_in_tx(&mut tx, org, id, Actor::User(caller.user), draft_reply).await?;
    tx.commit().await?;
    Ok(decided)
}

#[tracing::instrument(skip_all, fields(org_id = %org, suggestion_id = %id), err)]
pub async fn reject(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    id: SuggestionId,
    reason: Option<&str>,
) -> Result<Suggestion, ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Agent).await?;
    let suggestion = pending_for_update(&mut tx, org, id).await?;
    let decided = suggestions::decide(
        &mut tx,
        org,
        id,
        SuggestionStatus::Rejected,
        Some(caller.user),
        reason,
        None,
    )
    .await?;
    events::insert(
        &mut tx,
        org,
        &NewEvent {
            ticket_id: suggestion.ticket_id,
            job_run_id: Some(suggestion.job_run_id),
            event_type: "suggestion_rejected",
            actor: Actor::User(caller.user),
            payload: serde_json::json!({ "suggestion_id": id, "reason": reason }),
        },
    )
    .await?;
    crate::outbound::emit(&mut tx, org, "suggestion.rejected", &decided).await?;
    tx.commit().await?;
    Ok(decided)
}
