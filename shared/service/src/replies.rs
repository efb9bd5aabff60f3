//! Replies mailed to requesters. A reply written while the org has a reply address starts
//! `pending` (see `messages::insert`); the sweep mails pending replies after their commit
//! and records `sent`, or keeps them pending with the reason, and after
//! [`MAX_ATTEMPTS`] records `failed`. Mail goes out at least once: a sweep that dies
//! between sending and recording sends that reply again.

use nexify_storage::messages;
use nexify_storage::{PgPool, StorageError, begin_tenant};

use crate::ServiceError;
use crate::mail::{self, Mailer};

/// Mailings a reply gets before it is `failed`.
pub const MAX_ATTEMPTS: i32 = 5;

/// Mails up to `limit` pending replies, across orgs; how many were sent.
#[tracing::instrument(skip_all, err)]
pub async fn mail_pending(
    pool: &PgPool,
    mailer: &impl Mailer,
    limit: i64,
) -> Result<usize, ServiceError> {
    let mut conn = pool.acquire().await.map_err(StorageError::from)?;
    let due = messages::due_reply_emails(&mut conn, limit).await?;
    drop(conn);
    let mut sent = 0;
    for (id, org) in due {
        let mut tx = begin_tenant(pool, org, None).await?;
        let found = messages::pending_reply(&mut tx, org, id).await?;
        tx.commit().await?;
        let Some(reply) = found else { continue };
        let outcome = match &reply.reply_from {
            None => Err("the org no longer mails replies".to_owned()),
            Some(from) => {
                let mail = mail::reply(from, &reply.requester_email, &reply.subject, &reply.body);
                mailer
                    .send(&mail)
                    .await
                    .map_err(|e| nexify_telemetry::error_chain(&e))
            }
        };
        let (state, error) = match &outcome {
            Ok(()) => ("sent", None),
            Err(e) if reply.delivery_attempts + 1 >= MAX_ATTEMPTS || reply.reply_from.is_none() => {
                ("failed", Some(e.as_str()))
            }
            Err(e) => ("pending", Some(e.as_str())),
        };
        let mut tx = begin_tenant(pool, org, None).await?;
        messages::record_mailing(&mut tx, org, id, state, error).await?;
        tx.commit().await?;
        if outcome.is_ok() {
            sent += 1;
        }
        tracing::info!(org_id = %org, message_id = %id, state, "reply mailing recorded");
    }
    Ok(sent)
}
