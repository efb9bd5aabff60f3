//! Per-org settings: the teams and categories triage may suggest, auto-triage, the
//! auto-apply threshold, and the webhook secret.

use nexify_domain::{InvalidInput, Label, OrgId, Role, UserId};
use nexify_storage::PgPool;
use nexify_storage::settings::{self, FieldThresholds, OrgSettings, SettingsUpdate, StoredSecret};
use serde::Serialize;

use crate::sealing::Sealer;
use crate::{ServiceError, access};

pub const MAX_TEAMS: usize = 50;
pub const MAX_CATEGORIES: usize = 200;

/// Parses labels, refusing duplicates and overlong lists.
fn labels(field: &'static str, raw: &[String], max: usize) -> Result<Vec<String>, InvalidInput> {
    if raw.len() > max {
        return Err(InvalidInput::new(
            field,
            format!("may hold at most {max} entries"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for item in raw {
        let label = Label::parse(field, item)?.into_inner();
        if out.iter().any(|l| l.eq_ignore_ascii_case(&label)) {
            return Err(InvalidInput::new(field, format!("lists '{label}' twice")));
        }
        out.push(label);
    }
    Ok(out)
}

/// When auto-apply acts, as a person sent it: `whole` accepts the whole suggestion at that
/// overall confidence; each field's threshold sets that field alone at its own confidence.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AutoApply {
    pub whole: Option<f64>,
    pub priority: Option<f64>,
    pub team: Option<f64>,
    pub category: Option<f64>,
}

fn threshold(field: &'static str, value: Option<f64>) -> Result<Option<f32>, InvalidInput> {
    match value {
        Some(t) if !(0.0..=1.0).contains(&t) => {
            Err(InvalidInput::new(field, "must be between 0 and 1"))
        }
        _ => Ok(value.map(|t| t as f32)),
    }
}

/// Validates a full settings document as a person sent it.
pub fn parse_update(
    teams: &[String],
    categories: &[String],
    default_team: Option<&str>,
    default_category: Option<&str>,
    auto_triage_webhook: bool,
    auto_triage_api: bool,
    auto_apply: AutoApply,
) -> Result<SettingsUpdate, InvalidInput> {
    let teams = labels("teams", teams, MAX_TEAMS)?;
    let categories = labels("categories", categories, MAX_CATEGORIES)?;
    let default_team = default_team.map(|t| t.trim().to_owned());
    if let Some(team) = &default_team
        && !teams.contains(team)
    {
        return Err(InvalidInput::new(
            "default_team",
            "must be one of the teams",
        ));
    }
    let default_category = default_category.map(|c| c.trim().to_owned());
    if let Some(category) = &default_category
        && !categories.contains(category)
    {
        return Err(InvalidInput::new(
            "default_category",
            "must be one of the categories",
        ));
    }
    Ok(SettingsUpdate {
        teams,
        categories,
        default_team,
        default_category,
        auto_triage_webhook,
        auto_triage_api,
        auto_apply_threshold: threshold("auto_apply_threshold", auto_apply.whole)?,
        auto_apply_fields: FieldThresholds {
            priority: threshold("auto_apply_fields.priority", auto_apply.priority)?,
            team: threshold("auto_apply_fields.team", auto_apply.team)?,
            category: threshold("auto_apply_fields.category", auto_apply.category)?,
        },
        reply_from: None,
    })
}

/// Any member may read the settings (the console needs the teams); the secret is never in them.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn get(pool: &PgPool, user: UserId, org: OrgId) -> Result<OrgSettings, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Viewer).await?;
    let found = settings::get(&mut tx, org).await?;
    tx.commit().await?;
    Ok(found)
}

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn replace(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    update: &SettingsUpdate,
) -> Result<OrgSettings, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Admin).await?;
    settings::get_for_update(&mut tx, org).await?;
    let saved = settings::update(&mut tx, org, update).await?;
    tx.commit().await?;
    tracing::info!("settings replaced");
    Ok(saved)
}

/// The new secret, shown exactly once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RotatedSecret {
    /// Shown once: Nexify keeps only what verifies signatures.
    #[schema(min_length = 32)]
    pub webhook_secret: String,
    pub settings: OrgSettings,
}

/// How long the replaced secret stays valid when the admin says nothing.
pub const DEFAULT_GRACE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// The longest grace period: a week.
pub const MAX_GRACE_HOURS: u32 = 168;

/// A grace period in hours, as an admin sent it (`None`: the default).
pub fn grace(hours: Option<u32>) -> Result<std::time::Duration, InvalidInput> {
    match hours {
        None => Ok(DEFAULT_GRACE),
        Some(h) if h > MAX_GRACE_HOURS => Err(InvalidInput::new(
            "grace_hours",
            format!("must be between 0 and {MAX_GRACE_HOURS}"),
        )),
        Some(h) => Ok(std::time::Duration::from_secs(u64::from(h) * 3600)),
    }
}

/// A new secret, sealed before it is stored. The one it replaces stays valid for `grace`
/// (zero: it stops at once). Sealing talks to the key service, so it happens between a
/// read and a write transaction; a rotation in between makes this one a 409.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn rotate_webhook_secret(
    pool: &PgPool,
    sealer: &impl Sealer,
    user: UserId,
    org: OrgId,
    grace: std::time::Duration,
) -> Result<RotatedSecret, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Admin).await?;
    let current = settings::webhook_secrets(&mut tx, org).await?;
    tx.commit().await?;

    let secret = nexify_auth::webhook::generate_secret();
    let sealed = sealer.seal(org, secret.as_bytes()).await?;
    let seen_rotated_at = current.as_ref().and_then(|c| c.rotated_at);
    let previous = match current.map(|c| c.current) {
        _ if grace.is_zero() => None,
        Some(StoredSecret::Sealed(blob)) => Some(blob),
        Some(StoredSecret::Plain(plain)) => Some(sealer.seal(org, plain.as_bytes()).await?),
        None => None,
    };

    let (mut tx, _) = access::begin(pool, user, org, Role::Admin).await?;
    let saved = settings::set_webhook_secret(
        &mut tx,
        org,
        &sealed,
        previous.as_deref().map(|blob| (blob, grace)),
        seen_rotated_at,
    )
    .await?
    .ok_or_else(|| {
        ServiceError::Conflict(
            "the webhook secret was rotated at the same time; rotate again".into(),
        )
    })?;
    tx.commit().await?;
    tracing::info!(grace_seconds = grace.as_secs(), "webhook secret rotated");
    Ok(RotatedSecret {
        webhook_secret: secret,
        settings: saved,
    })
}

/// Seals every webhook secret still kept in plain text (once, after upgrading); returns how
/// many. Runs as the schema owner, which sees every org.
pub async fn seal_plain_webhook_secrets(
    pool: &PgPool,
    sealer: &impl Sealer,
) -> Result<usize, ServiceError> {
    // One connection and no transaction: each row is sealed (a KMS call), then written.
    let mut conn = pool.acquire().await?;
    let plain = settings::plain_webhook_secrets(&mut conn).await?;
    let mut sealed_count = 0;
    for (org, secret) in plain {
        let sealed = sealer.seal(org, secret.as_bytes()).await?;
        if settings::seal_plain_webhook_secret(&mut conn, org, &secret, &sealed).await? {
            sealed_count += 1;
        }
    }
    Ok(sealed_count)
}
