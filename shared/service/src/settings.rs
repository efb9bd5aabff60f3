//! Per-org settings: the teams and categories triage may suggest, auto-triage, the
//! auto-apply threshold, and the webhook secret.

use nexify_domain::{InvalidInput, Label, OrgId, Role, UserId};
use nexify_storage::PgPool;
use nexify_storage::settings::{self, OrgSettings, SettingsUpdate};
use serde::Serialize;

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

/// Validates a full settings document as a person sent it.
pub fn parse_update(
    teams: &[String],
    categories: &[String],
    default_team: Option<&str>,
    default_category: Option<&str>,
    auto_triage_webhook: bool,
    auto_triage_api: bool,
    auto_apply_threshold: Option<f64>,
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
    if let Some(t) = auto_apply_threshold
        && !(0.0..=1.0).contains(&t)
    {
        return Err(InvalidInput::new(
            "auto_apply_threshold",
            "must be between 0 and 1",
        ));
    }
    Ok(SettingsUpdate {
        teams,
        categories,
        default_team,
        default_category,
        auto_triage_webhook,
        auto_triage_api,
        auto_apply_threshold: auto_apply_threshold.map(|t| t as f32),
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
#[derive(Debug, Clone, Serialize)]
pub struct RotatedSecret {
    pub webhook_secret: String,
    pub settings: OrgSettings,
}

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn rotate_webhook_secret(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
) -> Result<RotatedSecret, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Admin).await?;
    let secret = nexify_auth::webhook::generate_secret();
    let saved = settings::set_webhook_secret(&mut tx, org, &secret).await?;
    tx.commit().await?;
    tracing::info!("webhook secret rotated");
    Ok(RotatedSecret {
        webhook_secret: secret,
        settings: saved,
    })
}
