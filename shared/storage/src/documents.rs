use chrono::{DateTime, Utc};
use nexify_domain::{ChunkId, DocumentId, OrgId, UserId};
use pgvector::Vector;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::StorageError;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Document {
    pub id: DocumentId,
    pub organization_id: OrgId,
    pub title: String,
    pub content_type: String,
    pub body: String,
    #[schema(required = true)]
    pub source_url: Option<String>,
    #[schema(required = true)]
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDocument {
    pub title: String,
    pub content_type: String,
    pub body: String,
    pub source_url: Option<String>,
    pub created_by: Option<UserId>,
}

/// A stored chunk; the embedding stays in the database unless a caller asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Chunk {
    pub id: ChunkId,
    pub organization_id: OrgId,
    pub document_id: DocumentId,
    #[schema(minimum = 0)]
    pub chunk_index: i32,
    #[schema(minimum = 0)]
    pub char_start: i32,
    #[schema(minimum = 0)]
    pub char_end: i32,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewChunk {
    pub chunk_index: i32,
    pub char_start: i32,
    pub char_end: i32,
    pub content: String,
    pub embedding: Vector,
}

/// A chunk found by vector search, with its cosine distance (0 = same direction).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ChunkHit {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub chunk: Chunk,
    pub distance: f64,
}

const DOCUMENT_COLUMNS: &str = "id, organization_id, title, content_type, body, source_url, created_by, created_at, updated_at";
const CHUNK_COLUMNS: &str =
    "id, organization_id, document_id, chunk_index, char_start, char_end, content";

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn insert_document(
    conn: &mut PgConnection,
    org: OrgId,
    doc: &NewDocument,
) -> Result<Document, StorageError> {
    Ok(sqlx::query_as(sql!(
        "INSERT INTO documents (organization_id, title, content_type, body, source_url, created_by)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {DOCUMENT_COLUMNS}"
    ))
    .bind(org)
    .bind(&doc.title)
    .bind(&doc.content_type)
    .bind(&doc.body)
    .bind(&doc.source_url)
    .bind(doc.created_by)
    .fetch_one(conn)
    .await?)
}

/// Stores a document's chunks in one statement.
#[tracing::instrument(skip_all, fields(org_id = %org, document_id = %document, chunks = chunks.len()), err)]
pub async fn insert_chunks(
    conn: &mut PgConnection,
    org: OrgId,
    document: DocumentId,
    chunks: &[NewChunk],
) -> Result<Vec<Chunk>, StorageError> {
    let indexes: Vec<i32> = chunks.iter().map(|c| c.chunk_index).collect();
    let starts: Vec<i32> = chunks.iter().map(|c| c.char_start).collect();
    let ends: Vec<i32> = chunks.iter().map(|c| c.char_end).collect();
    let contents: Vec<&str> = chunks.iter().map(|c| c.content.as_str()).collect();
    let embeddings: Vec<&Vector> = chunks.iter().map(|c| &c.embedding).collect();
    Ok(sqlx::query_as(sql!(
        "INSERT INTO document_chunks (organization_id, document_id, chunk_index, char_start,
             char_end, content, embedding)
         SELECT $1, $2, t.* FROM UNNEST($3::int4[], $4::int4[], $5::int4[], $6::text[], $7::vector[]) AS t
         RETURNING {CHUNK_COLUMNS}"
    ))
    .bind(org)
    .bind(document)
    .bind(indexes)
    .bind(starts)
    .bind(ends)
    .bind(contents)
    .bind(embeddings)
    .fetch_all(conn)
    .await?)
}

#[tracing::instrument(skip_all, fields(org_id = %org, document_id = %id), err)]
pub async fn get_document(
    conn: &mut PgConnection,
    org: OrgId,
    id: DocumentId,
) -> Result<Document, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE organization_id = $1 AND id = $2"
    ))
    .bind(org)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

#[tracing::instrument(skip_all, fields(org_id = %org, document_id = %document), err)]
pub async fn list_chunks(
    conn: &mut PgConnection,
    org: OrgId,
    document: DocumentId,
) -> Result<Vec<Chunk>, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {CHUNK_COLUMNS} FROM document_chunks
         WHERE organization_id = $1 AND document_id = $2 ORDER BY chunk_index"
    ))
    .bind(org)
    .bind(document)
    .fetch_all(conn)
    .await?)
}

/// The org's `k` chunks nearest to `embedding` by cosine distance, nearest first: exact for
/// orgs up to [`EXACT_SEARCH_MAX_CHUNKS`] chunks, HNSW beyond (the SQL functions
/// `prepare_vector_scan` and `nearest_chunks`). Runs in the caller's transaction.
#[tracing::instrument(skip_all, fields(org_id = %org, k), err)]
pub async fn nearest_chunks(
    conn: &mut PgConnection,
    org: OrgId,
    embedding: &Vector,
    k: i64,
) -> Result<Vec<ChunkHit>, StorageError> {
    // The HNSW scan options for this transaction (large orgs), then the search.
    sqlx::query("SELECT prepare_vector_scan()")
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_as(sql!(
        "SELECT {CHUNK_COLUMNS_C}, v.distance FROM nearest_chunks($1, $2, $3) v
         JOIN document_chunks c ON c.id = v.id AND c.organization_id = $1
         ORDER BY v.distance, c.id"
    ))
    .bind(org)
    .bind(embedding)
    .bind(k)
    .fetch_all(conn)
    .await?)
}

/// A chunk found by hybrid search: its fused rank score and its cosine similarity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SearchHit {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub chunk: Chunk,
    pub title: String,
    /// Reciprocal-rank fusion of the vector and full-text rankings (higher is better).
    pub score: f64,
    /// Cosine similarity to the query embedding, in [-1, 1].
    pub similarity: f64,
}

/// Orgs with at most this many chunks are searched exactly (their chunks through the org
/// B-tree, every distance computed): full recall, and a few milliseconds at this size
/// (`nexify-bench retrieval`). Larger orgs go through the HNSW index of their partition
/// (the table is hash-partitioned by org, see migration `chunks_partitioned_by_org`) with
/// pgvector's iterative scan. A partition holds the org and the few that hash alongside it,
/// so the filter keeps a large share of what the graph walk meets. Why not HNSW for all: a
/// small org can share its partition with a large one, and a filtered HNSW scan of a small
/// slice loses recall, while exact search over a small org is cheap. The SQL function
/// `nearest_chunks` (migration `triage_steps`) holds the same number.
pub const EXACT_SEARCH_MAX_CHUNKS: i64 = 2_000;

/// How many candidates each ranking of [`hybrid_search`] takes for the best `k`.
pub fn hybrid_candidates(k: i64) -> i64 {
    (k * 4).max(40)
}

/// Hybrid retrieval within one org (the SQL functions `prepare_vector_scan` and
/// `hybrid_search`), in the caller's transaction: the nearest chunks by
/// embedding (as [`nearest_chunks`] finds them) and a Postgres full-text search, each taking
/// [`hybrid_candidates`], fused by reciprocal rank; the best `k`.
#[tracing::instrument(skip_all, fields(org_id = %org, k), err)]
pub async fn hybrid_search(
    conn: &mut PgConnection,
    org: OrgId,
    embedding: &Vector,
    query: &str,
    k: i64,
) -> Result<Vec<SearchHit>, StorageError> {
    sqlx::query("SELECT prepare_vector_scan()")
        .execute(&mut *conn)
        .await?;
    Ok(
        sqlx::query_as("SELECT * FROM hybrid_search($1, $2, $3, $4, $5)")
            .bind(org)
            .bind(embedding)
            .bind(query)
            .bind(hybrid_candidates(k))
            .bind(k)
            .fetch_all(conn)
            .await?,
    )
}

const CHUNK_COLUMNS_C: &str =
    "c.id, c.organization_id, c.document_id, c.chunk_index, c.char_start, c.char_end, c.content";

/// One page of the org's documents, newest first, after the keyset `before`.
#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn list_documents(
    conn: &mut PgConnection,
    org: OrgId,
    before: Option<(DateTime<Utc>, DocumentId)>,
    limit: i64,
) -> Result<Vec<Document>, StorageError> {
    let (at, id) = before.unzip();
    Ok(sqlx::query_as(sql!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE organization_id = $1
           AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
         ORDER BY created_at DESC, id DESC LIMIT $4"
    ))
    .bind(org)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Deletes a document and (by cascade) its chunks.
#[tracing::instrument(skip_all, fields(org_id = %org, document_id = %id), err)]
pub async fn delete_document(
    conn: &mut PgConnection,
    org: OrgId,
    id: DocumentId,
) -> Result<(), StorageError> {
    let deleted = sqlx::query("DELETE FROM documents WHERE organization_id = $1 AND id = $2")
        .bind(org)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}
