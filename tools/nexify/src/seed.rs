//! The demo data: two organizations (so isolation is visible), one user of each role, a
//! knowledge base about a fictional product (Acme Drive) and a mix of open and resolved,
//! labelled tickets. Written through the same storage functions the product uses, in one
//! transaction, and only once.

use anyhow::Context;
use argon2::password_hash::PasswordHasher;
use nexify_domain::{Email, Priority, Role, Subject, TicketBody, TicketStatus};
use nexify_service::knowledge;
use nexify_storage::events::{Actor, NewEvent};
use nexify_storage::settings::SettingsUpdate;
use nexify_storage::tickets::{NewTicket, TicketChanges};
use nexify_storage::{
    PgConnection, PgPool, documents, events, memberships, organizations, settings, tickets, users,
};
use serde::Deserialize;

/// Every demo user's password. Printed by `make run`; local use only.
pub const DEMO_PASSWORD: &str = "nexify-demo";

const TEAMS: [&str; 4] = ["Billing", "Technical", "Accounts", "Security"];
const CATEGORIES: [&str; 9] = [
    "billing_question",
    "payment_failure",
    "refund",
    "login",
    "sync",
    "outage",
    "security",
    "data_request",
    "bug",
];

const ARTICLES: [&str; 21] = [
    include_str!("../demo/kb/01-update-payment-method.md"),
    include_str!("../demo/kb/02-understanding-your-invoice.md"),
    include_str!("../demo/kb/03-refunds.md"),
    include_str!("../demo/kb/04-password-reset.md"),
    include_str!("../demo/kb/05-two-factor-authentication.md"),
    include_str!("../demo/kb/06-account-locked.md"),
    include_str!("../demo/kb/07-sync-problems.md"),
    include_str!("../demo/kb/08-outages-and-status.md"),
    include_str!("../demo/kb/09-security-incidents.md"),
    include_str!("../demo/kb/10-data-export.md"),
    include_str!("../demo/kb/11-sharing-and-permissions.md"),
    include_str!("../demo/kb/12-plans-and-seats.md"),
    include_str!("../demo/kb/13-api-errors.md"),
    include_str!("../demo/kb/14-desktop-app-install.md"),
    include_str!("../demo/kb/15-mobile-app.md"),
    include_str!("../demo/kb/16-version-history.md"),
    include_str!("../demo/kb/17-ransomware-recovery.md"),
    include_str!("../demo/kb/18-storage-limits.md"),
    include_str!("../demo/kb/19-adding-members.md"),
    include_str!("../demo/kb/20-sso-setup.md"),
    include_str!("../demo/kb/21-contacting-support.md"),
];

#[derive(Deserialize)]
struct DemoTicket {
    requester_email: String,
    subject: String,
    body: String,
    status: TicketStatus,
    priority: Priority,
    team: Option<String>,
    category: Option<String>,
}

fn hash_password(password: &str) -> anyhow::Result<String> {
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("hashing the demo password: {e}"))?
        .to_string())
}

pub async fn run(pool: &PgPool) -> anyhow::Result<String> {
    let mut tx = pool.begin().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organizations WHERE slug = 'acme')")
            .fetch_one(&mut *tx)
            .await?;
    if exists {
        return Ok("demo data already present; nothing to do".into());
    }
    let hash = hash_password(DEMO_PASSWORD)?;

    let acme = organizations::insert(&mut tx, "Acme Drive Support", "acme").await?;
    let globex = organizations::insert(&mut tx, "Globex Helpdesk", "globex").await?;
    let user = async |tx: &mut PgConnection, email: &str, name: &str| {
        users::insert(tx, &Email::parse("email", email)?, name, &hash)
            .await
            .context("creating a demo user")
    };
    let admin = user(&mut tx, "admin@acme.test", "Ada Admin").await?;
    let agent = user(&mut tx, "agent@acme.test", "Alex Agent").await?;
    let viewer = user(&mut tx, "viewer@acme.test", "Vic Viewer").await?;
    let globex_admin = user(&mut tx, "admin@globex.test", "Grace Globex").await?;
    memberships::upsert(&mut tx, acme.id, admin.id, Role::Admin).await?;
    memberships::upsert(&mut tx, acme.id, agent.id, Role::Agent).await?;
    memberships::upsert(&mut tx, acme.id, viewer.id, Role::Viewer).await?;
    memberships::upsert(&mut tx, globex.id, globex_admin.id, Role::Admin).await?;
    // The demo agent also watches Globex, so the console's org switcher has something to do.
    memberships::upsert(&mut tx, globex.id, agent.id, Role::Viewer).await?;

    let owned = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    settings::update(
        &mut tx,
        acme.id,
        &SettingsUpdate {
            teams: owned(&TEAMS),
            categories: owned(&CATEGORIES),
            default_team: Some("Technical".into()),
            default_category: Some("bug".into()),
            auto_triage_webhook: false,
            auto_triage_api: false,
            auto_apply_threshold: None,
            auto_apply_fields: Default::default(),
            reply_from: None,
        },
    )
    .await?;
    settings::update(
        &mut tx,
        globex.id,
        &SettingsUpdate {
            teams: owned(&["Support", "Engineering"]),
            categories: owned(&["question", "incident"]),
            default_team: Some("Support".into()),
            default_category: Some("question".into()),
            auto_triage_webhook: false,
            auto_triage_api: false,
            auto_apply_threshold: None,
            auto_apply_fields: Default::default(),
            reply_from: None,
        },
    )
    .await?;

    let demo: Vec<DemoTicket> = serde_json::from_str(include_str!("../demo/tickets.json"))?;
    for (age, t) in demo.iter().enumerate() {
        let ticket = tickets::insert(
            &mut tx,
            acme.id,
            &NewTicket {
                requester_email: Email::parse("requester_email", &t.requester_email)?,
                subject: Subject::parse(&t.subject)?,
                body: TicketBody::parse(&t.body)?,
                priority: t.priority,
                assigned_team: None,
                external_id: None,
                category: None,
            },
        )
        .await?;
        events::insert(
            &mut tx,
            acme.id,
            &NewEvent {
                ticket_id: ticket.id,
                job_run_id: None,
                event_type: "ticket_created",
                actor: Actor::System,
                payload: serde_json::json!({ "source": "seed", "after": {
                    "status": ticket.status, "priority": ticket.priority } }),
            },
        )
        .await?;
        // Spread the demo over the past weeks, oldest first, so lists read like a real queue.
        sqlx::query(
            "UPDATE tickets SET created_at = now() - make_interval(hours => $2)
             WHERE id = $1",
        )
        .bind(ticket.id)
        .bind(((demo.len() - age) * 9) as i32)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE ticket_events e SET created_at = t.created_at FROM tickets t
             WHERE t.id = $1 AND e.ticket_id = t.id",
        )
        .bind(ticket.id)
        .execute(&mut *tx)
        .await?;
        if t.status != TicketStatus::Open || t.team.is_some() {
            let changes = TicketChanges {
                status: Some(t.status),
                priority: None,
                assigned_team: Some(t.team.clone()),
                category: Some(t.category.clone()),
            };
            tickets::update(&mut tx, acme.id, ticket.id, &changes).await?;
            events::insert(
                &mut tx,
                acme.id,
                &NewEvent {
                    ticket_id: ticket.id,
                    job_run_id: None,
                    event_type: "ticket_updated",
                    actor: Actor::User(agent.id),
                    payload: serde_json::json!({
                        "before": { "status": "open", "assigned_team": null },
                        "after": { "status": t.status, "assigned_team": t.team },
                        "category": t.category,
                    }),
                },
            )
            .await?;
        }
    }
    let globex_ticket = NewTicket {
        requester_email: Email::parse("requester_email", "someone@initech.example")?,
        subject: Subject::parse("Globex-only ticket: printer on fire")?,
        body: TicketBody::parse("Only Globex members may ever see this ticket.")?,
        priority: Priority::High,
        assigned_team: None,
        external_id: None,
        category: None,
    };
    tickets::insert(&mut tx, globex.id, &globex_ticket).await?;

    // The functions' embedder (NEXIFY_EMBEDDER), so stored vectors match their queries.
    let embedder = nexify_embed::from_env()?;
    let mut chunk_count = 0;
    for article in ARTICLES {
        let (title_line, body) = article.split_once('\n').unwrap_or((article, ""));
        let body = body.trim_start_matches('\n');
        let doc = documents::NewDocument {
            title: title_line.trim_start_matches('#').trim().to_owned(),
            content_type: "markdown".into(),
            body: body.to_owned(),
            source_url: None,
            created_by: Some(admin.id),
        };
        let (_, chunks) = knowledge::store_document(&mut tx, acme.id, &doc, &embedder).await?;
        chunk_count += chunks.len();
    }
    tx.commit().await?;
    // The demo org's labelled history is enough to train its own triage models.
    let reports = nexify_service::training::train_org(pool, acme.id, &embedder).await?;
    let trained: Vec<String> = reports
        .iter()
        .map(|r| {
            format!(
                "{} v{} on {} tickets",
                r.head,
                r.version.unwrap_or(0),
                r.examples
            )
        })
        .collect();
    Ok(format!(
        "seeded: 2 organizations, 4 users, {} tickets, {} articles in {chunk_count} chunks; trained {}",
        demo.len() + 1,
        ARTICLES.len(),
        trained.join(", ")
    ))
}
