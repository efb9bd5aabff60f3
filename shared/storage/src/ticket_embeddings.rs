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

/// A labelled ticket near the one being triaged.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
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

/// The `k` labelled tickets (resolved, or with an accepted suggestion) nearest to
/// `embedding`, other than `exclude`, most similar first. Exact search over the org's
/// labelled rows only (the `labelled` flag, kept by triggers, and its partial index); the
/// tickets and their replies are read for the `k` found.
#[tracing::instrument(skip_all, fields(org_id = %org, embedder, k), err)]
pub async fn nearest_labelled(
    conn: &mut PgConnection,
    org: OrgId,
    embedder: &str,
    embedding: &Vector,
    exclude: TicketId,
    k: i64,
) -> Result<Vec<Neighbour>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT t.id AS ticket_id, t.subject, t.priority, t.assigned_team, t.category,
                (1 - n.distance)::float8 AS similarity,
                (SELECT s.draft_reply FROM suggestions s
                 WHERE s.organization_id = t.organization_id AND s.ticket_id = t.id
                   AND s.status = 'accepted'
                 ORDER BY s.decided_at DESC NULLS LAST LIMIT 1) AS reply
         FROM (SELECT e.ticket_id, e.embedding <=> $3 AS distance FROM ticket_embeddings e
               WHERE e.organization_id = $1 AND e.embedder = $2 AND e.labelled
                 AND e.ticket_id <> $4
               ORDER BY e.embedding <=> $3, e.ticket_id LIMIT $5) n
         JOIN tickets t ON t.organization_id = $1 AND t.id = n.ticket_id
         ORDER BY n.distance, t.id",
    )
    .bind(org)
    .bind(embedder)
    .bind(embedding)
    .bind(exclude)
    .bind(k)
    .fetch_all(conn)
    .await?)
}
