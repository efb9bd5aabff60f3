//! Tickets from other systems, over signed webhooks.

use nexify_auth::webhook;
use nexify_domain::OrgId;
use nexify_storage::events::Actor;
use nexify_storage::settings;
use nexify_storage::tickets::{self, NewTicket, Ticket};
use nexify_storage::{PgPool, begin_tenant, webhook_replays};

use crate::ServiceError;
use crate::sealing::{Sealer, reveal};
use crate::tickets::record_created;

const UNAUTHORIZED: &str = "the webhook signature is missing, stale or does not match";

/// Checks the signature against the org's secret, or the previous one during its grace
/// period. An org that does not exist or has no secret answers exactly like a bad
/// signature, so webhooks reveal nothing. Headers that are missing, malformed or stale are
/// refused before the secret is looked up: junk costs no database round trip. The sealed
/// secrets are opened after the read transaction, as opening may ask the key service.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn authenticate(
    pool: &PgPool,
    sealer: &impl Sealer,
    org: OrgId,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<Signature, ServiceError> {
    let refused = |e: nexify_auth::AuthError| {
        tracing::warn!(reason = %e, "webhook refused");
        ServiceError::Unauthorized(UNAUTHORIZED.into())
    };
    let headers = webhook::precheck(timestamp, signature, now).map_err(refused)?;
    let mut tx = begin_tenant(pool, org, None).await?;
    let secrets = settings::webhook_secrets(&mut tx, org).await?;
    tx.commit().await?;
    let secrets = secrets.ok_or_else(|| ServiceError::Unauthorized(UNAUTHORIZED.into()))?;
    let current = reveal(sealer, org, secrets.current).await?;
    let verified = match webhook::verify_with(&current, &headers, body) {
        Ok(()) => Ok(()),
        Err(e) => match &secrets.previous {
            Some((blob, _)) => {
                let previous = sealer.open(org, blob).await?;
                webhook::verify_with(&previous, &headers, body)
                    .inspect(|()| tracing::info!("webhook signed with the previous secret"))
            }
            None => Err(e),
        },
    };
    verified.map_err(refused)?;
    Ok(Signature(headers.tag().to_vec()))
}

/// A verified request's signature: the same request again is refused ([`once`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature(Vec<u8>);

/// Refuses a signed request already received (409), on the caller's transaction: what
/// the request writes and the note that it was received commit together, so a request that
/// failed can be sent again as it was.
pub async fn once(
    conn: &mut nexify_storage::PgConnection,
    org: OrgId,
    signature: &Signature,
) -> Result<(), ServiceError> {
    let window = 2 * webhook::MAX_SKEW_SECONDS;
    if webhook_replays::remember(conn, org, &signature.0, window).await? {
        Ok(())
    } else {
        tracing::warn!("a signed webhook request was replayed");
        Err(ServiceError::Conflict(
            "this signed request was already received; sign it again (a new timestamp) to send it again".into(),
        ))
    }
}

/// Creates the ticket, or returns the one already made for the same `external_id`; the flag
/// says whether it was created now. Concurrent duplicates are settled by the unique
/// constraint, and only the creating call writes the `ticket_created` event.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn create_ticket<D: crate::triage::jobs::Dispatch>(
    pool: &PgPool,
    dispatcher: &D,
    org: OrgId,
    new: &NewTicket,
    signature: &Signature,
) -> Result<(Ticket, bool), ServiceError> {
    let mut tx = begin_tenant(pool, org, None).await?;
    once(&mut tx, org, signature).await?;
    let (ticket, created) = match &new.external_id {
        Some(external_id) => {
            tickets::insert_or_get_by_external_id(&mut tx, org, new, external_id).await?
        }
        None => (tickets::insert(&mut tx, org, new).await?, true),
    };
    let mut job = None;
    if created {
        record_created(&mut tx, org, &ticket, Actor::Webhook, "webhook").await?;
        let auto = settings::get(&mut tx, org).await?.auto_triage_webhook;
        job = crate::triage::jobs::auto_triage(&mut tx, org, &ticket, auto).await?;
    }
    tx.commit().await?;
    tracing::info!(ticket_id = %ticket.id, created, "webhook ticket");
    if let Some(job) = job {
        crate::triage::jobs::dispatch(pool, dispatcher, &job).await;
    }
    Ok((ticket, created))
}
