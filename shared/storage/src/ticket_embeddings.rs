//! Ticket embeddings, one per ticket and embedder, and the nearest labelled tickets.

use nexify_domain::{OrgId, Priority, TicketId};
use pgvector::Vector;
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;

/// Stores (or replaces) the embeddings of several tickets in one statement.
#[tracing::instrument(skip_all, fields(org_id = %org, embedder, count = rows.len()), err)]
pub async fn upsert_many(
    conn: &mut PgConnection,
    org: OrgId,
    embedder: &str,
    rows: &[(TicketId, Vector)],
) -> Result<(), StorageError> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<uuid::Uuid> = rows.iter().map(|(id, _)| id.0).collect();
    let vectors: Vec<&Vector> = rows.iter().map(|(_, v)| v).collect();
    sqlx::query(
        "INSERT INTO ticket_embeddings (organization_id, ticket_id, embedder, embedding)
         SELECT $1, t, $2, e FROM UNNEST($3::uuid[], $4::vector[]) AS u(t, e)
         ON CONFLICT (organization_id, ticket_id, embedder)
         DO UPDATE SET embedding = excluded.embedding",
    )
    .bind(org)
    .bind(embedder)
    .bind(&ids)
    .bind(&vectors)
    .execute(conn)
    .await?;
    Ok(())
}

/// The stored embeddings of `tickets` made by `embedder` (tickets without one are absent).
#[tracing::instrument(skip_all, fields(org_id = %org, embedder), err)]
pub async fn for_tickets(
    conn: &mut PgConnection,
    org: OrgId,
    embedder: &str,
    tickets: &[TicketId],
) -> Result<Vec<(TicketId, Vector)>, StorageError> {
    let ids: Vec<uuid::Uuid> = tickets.iter().map(|t| t.0).collect();
    Ok(sqlx::query_as(
        "SELECT ticket_id, embedding FROM ticket_embeddings
         WHERE organization_id = $1 AND embedder = $2 AND ticket_id = ANY($3)",
    )
    .bind(org)
    .bind(embedder)
    .bind(&ids)
    .fetch_all(conn)
    .await?)
}

/// A labelled ticket near the one being triaged, as the SQL function `nearest_labelled`
/// finds them (exact search over the org's labelled rows: the `labelled` flag, kept by
/// triggers, and its partial index), read by [`crate::triage_steps::context`].
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct Neighbour {
    pub ticket_id: TicketId,
    pub subject: String,
    pub priority: Priority,
    pub assigned_team: Option<String>,
    pub category: Option<String>,
    /// Cosine similarity to the ticket being triaged.
    pub similarity: f64,
    /// The draft reply of its latest accepted suggestion (as the agent approved it).
    pub reply: Option<String>,
}
