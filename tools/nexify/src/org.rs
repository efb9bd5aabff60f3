//! `nexify org create`: an org for a new team, and a one-time invite link for its first
//! admin, who sets their own password by accepting it. No password passes through the
//! operator.

use anyhow::Context;
use nexify_domain::{Email, Role};
use nexify_service::invites::{self, INVITE_DAYS};
use nexify_service::mail::Console;
use nexify_service::signup::slug_of;
use nexify_storage::organizations;
use sqlx::PgPool;

/// Creates the org and its first admin's invite in one transaction; returns the message to
/// print, with the link.
pub async fn create(
    pool: &PgPool,
    name: &str,
    slug: Option<&str>,
    admin_email: &str,
    console_url: &str,
) -> anyhow::Result<String> {
    let name = name.trim();
    anyhow::ensure!(!name.is_empty(), "--name must not be empty");
    let slug = slug.map(str::to_owned).unwrap_or_else(|| slug_of(name));
    anyhow::ensure!(
        !slug.is_empty(),
        "--slug is needed: the name has no letters or digits"
    );
    let email = Email::parse("admin-email", admin_email)?;
    let console = Console::new(console_url)?;
    let mut tx = pool.begin().await?;
    let org = organizations::insert(&mut tx, name, &slug)
        .await
        .with_context(|| format!("creating the organization '{slug}'"))?;
    let issued = invites::issue_in_tx(&mut tx, org.id, None, &email, Role::Admin).await?;
    tx.commit().await?;
    Ok(format!(
        "created {name} ({slug}, {id})\n\
         send {email} this link to set their password and join as admin (single use, {INVITE_DAYS} days):\n\
         {link}",
        id = org.id,
        email = email.as_str(),
        link = console.invite_link(&issued.token),
    ))
}
