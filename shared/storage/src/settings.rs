use chrono::{DateTime, Utc};
use nexify_domain::OrgId;
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;
pub use crate::sealed::StoredSecret;

/// An org's triage and intake settings. The webhook secret itself is not here: it is read
/// only where a signature is checked ([`webhook_secrets`]) and shown once when rotated.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = Settings)]
pub struct OrgSettings {
    pub organization_id: OrgId,
    pub teams: Vec<String>,
    pub categories: Vec<String>,
    #[schema(required = true)]
    pub default_team: Option<String>,
    #[schema(required = true)]
    pub default_category: Option<String>,
    pub auto_triage_webhook: bool,
    pub auto_triage_api: bool,
    #[schema(minimum = 0, maximum = 1)]
    #[schema(required = true)]
    pub auto_apply_threshold: Option<f32>,
    #[sqlx(flatten)]
    pub auto_apply_fields: FieldThresholds,
    pub webhook_secret_set: bool,
    #[schema(required = true)]
    pub webhook_secret_rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation is still accepted; `null`: it is not.
    #[schema(required = true)]
    pub webhook_secret_previous_expires_at: Option<DateTime<Utc>>,
    /// The address replies are mailed to requesters from; `null`: replies are not mailed.
    #[schema(required = true)]
    pub reply_from: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Per suggested field, the confidence at which auto-apply sets it on the ticket; `None`:
/// never.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FieldThresholds {
    #[sqlx(rename = "auto_apply_priority_threshold")]
    #[schema(required = true)]
    pub priority: Option<f32>,
    #[sqlx(rename = "auto_apply_team_threshold")]
    #[schema(required = true)]
    pub team: Option<f32>,
    #[sqlx(rename = "auto_apply_category_threshold")]
    #[schema(required = true)]
    pub category: Option<f32>,
}

/// The writable part of [`OrgSettings`], already validated by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsUpdate {
    pub teams: Vec<String>,
    pub categories: Vec<String>,
    pub default_team: Option<String>,
    pub default_category: Option<String>,
    pub auto_triage_webhook: bool,
    pub auto_triage_api: bool,
    pub auto_apply_threshold: Option<f32>,
    pub auto_apply_fields: FieldThresholds,
    pub reply_from: Option<String>,
}

const COLUMNS: &str = "organization_id, teams, categories, default_team, default_category,
    auto_triage_webhook, auto_triage_api, auto_apply_threshold, auto_apply_priority_threshold,
    auto_apply_team_threshold, auto_apply_category_threshold, (webhook_secret IS NOT NULL OR webhook_secret_sealed IS NOT NULL) AS webhook_secret_set,
    webhook_secret_rotated_at,
    CASE WHEN webhook_secret_previous_expires_at > now() THEN webhook_secret_previous_expires_at END
        AS webhook_secret_previous_expires_at,
    reply_from, updated_at";

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn get(conn: &mut PgConnection, org: OrgId) -> Result<OrgSettings, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM organization_settings WHERE organization_id = $1"
    ))
    .bind(org)
    .fetch_one(conn)
    .await?)
}

/// Same as [`get`], locking the row so a read-modify-write cannot interleave with another.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn get_for_update(
    conn: &mut PgConnection,
    org: OrgId,
) -> Result<OrgSettings, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {COLUMNS} FROM organization_settings WHERE organization_id = $1 FOR UPDATE"
    ))
    .bind(org)
    .fetch_one(conn)
    .await?)
}

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn update(
    conn: &mut PgConnection,
    org: OrgId,
    update: &SettingsUpdate,
) -> Result<OrgSettings, StorageError> {
    Ok(sqlx::query_as(sql!(
        "UPDATE organization_settings SET teams = $2, categories = $3, default_team = $4,
             default_category = $5, auto_triage_webhook = $6, auto_triage_api = $7,
             auto_apply_threshold = $8, auto_apply_priority_threshold = $9,
             auto_apply_team_threshold = $10, auto_apply_category_threshold = $11,
             reply_from = $12
         WHERE organization_id = $1 RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(&update.teams)
    .bind(&update.categories)
    .bind(&update.default_team)
    .bind(&update.default_category)
    .bind(update.auto_triage_webhook)
    .bind(update.auto_triage_api)
    .bind(update.auto_apply_threshold)
    .bind(update.auto_apply_fields.priority)
    .bind(update.auto_apply_fields.team)
    .bind(update.auto_apply_fields.category)
    .bind(&update.reply_from)
    .fetch_one(conn)
    .await?)
}

/// The secrets a signature may be checked against: the current one, and the one before
/// while its grace period lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSecrets {
    pub current: StoredSecret,
    /// The previous secret, sealed, and until when it is accepted.
    pub previous: Option<(Vec<u8>, DateTime<Utc>)>,
    pub rotated_at: Option<DateTime<Utc>>,
}

/// The org's webhook secrets, for checking a signature; `None` when webhooks are not set up.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn webhook_secrets(
    conn: &mut PgConnection,
    org: OrgId,
) -> Result<Option<WebhookSecrets>, StorageError> {
    type Row = (
        Option<Vec<u8>>,
        Option<String>,
        Option<Vec<u8>>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT webhook_secret_sealed, webhook_secret,
                CASE WHEN webhook_secret_previous_expires_at > now() THEN webhook_secret_previous_sealed END,
                CASE WHEN webhook_secret_previous_expires_at > now() THEN webhook_secret_previous_expires_at END,
                webhook_secret_rotated_at
         FROM organization_settings WHERE organization_id = $1",
    )
    .bind(org)
    .fetch_optional(conn)
    .await?;
    let Some((sealed, plain, previous, expires, rotated_at)) = row else {
        return Ok(None);
    };
    let current = match (sealed, plain) {
        (Some(sealed), _) => StoredSecret::Sealed(sealed),
        (None, Some(plain)) => StoredSecret::Plain(plain),
        (None, None) => return Ok(None),
    };
    Ok(Some(WebhookSecrets {
        current,
        previous: previous.zip(expires),
        rotated_at,
    }))
}

/// Replaces the webhook secret with `sealed`, unless it was rotated since `seen_rotated_at`
/// (then `None`: the caller read a stale secret). With `previous`, the secret replaced
/// stays valid for `grace` (sealed by the caller); without, it stops at once. The caller
/// shows the new secret once; it is never read back through the API.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn set_webhook_secret(
    conn: &mut PgConnection,
    org: OrgId,
    sealed: &[u8],
    previous: Option<(&[u8], std::time::Duration)>,
    seen_rotated_at: Option<DateTime<Utc>>,
) -> Result<Option<OrgSettings>, StorageError> {
    let (previous_sealed, grace_seconds) = match previous {
        Some((blob, grace)) => (Some(blob), Some(grace.as_secs_f64())),
        None => (None, None),
    };
    Ok(sqlx::query_as(sql!(
        "UPDATE organization_settings SET webhook_secret_sealed = $2, webhook_secret = NULL,
             webhook_secret_previous_sealed = $3,
             webhook_secret_previous_expires_at = now() + make_interval(secs => $4),
             webhook_secret_rotated_at = now()
         WHERE organization_id = $1 AND webhook_secret_rotated_at IS NOT DISTINCT FROM $5
         RETURNING {COLUMNS}"
    ))
    .bind(org)
    .bind(sealed)
    .bind(previous_sealed)
    .bind(grace_seconds)
    .bind(seen_rotated_at)
    .fetch_optional(conn)
    .await?)
}

/// Every org whose webhook secret is still in plain text (for the schema owner's sealing
/// run: row-level security hides other orgs from the function role).
pub async fn plain_webhook_secrets(
    conn: &mut PgConnection,
) -> Result<Vec<(OrgId, String)>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT organization_id, webhook_secret FROM organization_settings
         WHERE webhook_secret IS NOT NULL ORDER BY organization_id",
    )
    .fetch_all(conn)
    .await?)
}

/// Seals a secret kept in plain text: replaces it with `sealed` if it is still `plain`.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn seal_plain_webhook_secret(
    conn: &mut PgConnection,
    org: OrgId,
    plain: &str,
    sealed: &[u8],
) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "UPDATE organization_settings SET webhook_secret_sealed = $3, webhook_secret = NULL
         WHERE organization_id = $1 AND webhook_secret = $2",
    )
    .bind(org)
    .bind(plain)
    .bind(sealed)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Notes that the org's labelled history changed, so its models should be retrained soon.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn touch_labels(conn: &mut PgConnection, org: OrgId) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE organization_settings SET labels_changed_at = now() WHERE organization_id = $1",
    )
    .bind(org)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks the org's settings row for the rest of the transaction and says whether its models
/// were last trained on labels as of a time before `as_of` (or never trained): whether a
/// training of the labels as of `as_of` is newer than what is stored. Two runs storing models
/// for one org thus go one after the other, and the one that read later wins.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn lock_if_trained_before(
    conn: &mut PgConnection,
    org: OrgId,
    as_of: DateTime<Utc>,
) -> Result<bool, StorageError> {
    Ok(sqlx::query_scalar(
        "SELECT models_trained_at IS NULL OR models_trained_at < $2
         FROM organization_settings WHERE organization_id = $1 FOR UPDATE",
    )
    .bind(org)
    .bind(as_of)
    .fetch_one(conn)
    .await?)
}

/// Records a finished training of the labels as they were at `as_of`, how long it took, and
/// releases the sweep's claim on the org. A label changed after `as_of` leaves the org due
/// for training.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn mark_trained(
    conn: &mut PgConnection,
    org: OrgId,
    as_of: DateTime<Utc>,
    seconds: f32,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE organization_settings
         SET models_trained_at = $2, training_seconds = $3, training_lease_until = NULL
         WHERE organization_id = $1",
    )
    .bind(org)
    .bind(as_of)
    .bind(seconds.max(0.0))
    .execute(conn)
    .await?;
    Ok(())
}

/// A sweep's claim on training an org.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingClaim {
    /// How long the org's last training took, if it has been trained.
    pub last_seconds: Option<f32>,
}

/// Claims the org's training for `lease_seconds`, unless another claim is still running.
/// A claim ends early when [`mark_trained`] or [`release_training`] releases it.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn claim_training(
    conn: &mut PgConnection,
    org: OrgId,
    lease_seconds: i64,
) -> Result<Option<TrainingClaim>, StorageError> {
    let claimed: Option<Option<f32>> = sqlx::query_scalar(
        "UPDATE organization_settings
         SET training_lease_until = clock_timestamp() + make_interval(secs => $2)
         WHERE organization_id = $1
           AND (training_lease_until IS NULL OR training_lease_until <= clock_timestamp())
         RETURNING training_seconds",
    )
    .bind(org)
    .bind(lease_seconds as f64)
    .fetch_optional(conn)
    .await?;
    Ok(claimed.map(|last_seconds| TrainingClaim { last_seconds }))
}

/// Ends the sweep's claim on the org without training it, so the next sweep takes it up.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn release_training(conn: &mut PgConnection, org: OrgId) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE organization_settings SET training_lease_until = NULL WHERE organization_id = $1",
    )
    .bind(org)
    .execute(conn)
    .await?;
    Ok(())
}

/// Orgs whose labels changed since their last training and then stayed quiet for
/// `quiet_seconds` (the debounce), across orgs.
#[tracing::instrument(skip_all, err)]
pub async fn due_for_training(
    conn: &mut PgConnection,
    quiet_seconds: i64,
    limit: i64,
) -> Result<Vec<OrgId>, StorageError> {
    Ok(sqlx::query_scalar(
        "SELECT organization_id FROM orgs_due_for_training(make_interval(secs => $1), $2::int)",
    )
    .bind(quiet_seconds as f64)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Where an org's training stands: when its labels last changed, what the newest training
/// saw (as of), how long it took, and whether a sweep holds it now.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TrainingStatus {
    #[schema(required = true)]
    pub labels_changed_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub models_trained_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub training_seconds: Option<f32>,
    pub training_now: bool,
    /// The org's labelled tickets, and how many of them have an embedding (training makes
    /// the missing ones first): the progress of a large import.
    #[schema(minimum = 0)]
    pub labelled_tickets: i64,
    #[schema(minimum = 0)]
    pub embedded_tickets: i64,
}

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn training_status(
    conn: &mut PgConnection,
    org: OrgId,
) -> Result<TrainingStatus, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT labels_changed_at, models_trained_at, training_seconds,
                coalesce(training_lease_until > now(), false) AS training_now,
                (SELECT count(*) FROM tickets t
                 WHERE t.organization_id = $1 AND {}) AS labelled_tickets,
                (SELECT count(DISTINCT e.ticket_id) FROM ticket_embeddings e
                 WHERE e.organization_id = $1 AND e.labelled) AS embedded_tickets
         FROM organization_settings WHERE organization_id = $1",
        crate::tickets::LABELLED
    ))
    .bind(org)
    .fetch_one(conn)
    .await?)
}

/// Makes the org due for training at the next sweep, as if its labels had changed and then
/// stayed quiet for `quiet_seconds`. A training counts as having seen the labels a while
/// before it read them, which can be later than that change; it is moved back before it,
/// which only ever makes a training count as having seen less.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn request_training(
    conn: &mut PgConnection,
    org: OrgId,
    quiet_seconds: i64,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE organization_settings
         SET labels_changed_at = now() - make_interval(secs => $2 + 1),
             models_trained_at = LEAST(models_trained_at, now() - make_interval(secs => $2 + 2))
         WHERE organization_id = $1",
    )
    .bind(org)
    .bind(quiet_seconds as f64)
    .execute(conn)
    .await?;
    Ok(())
}
