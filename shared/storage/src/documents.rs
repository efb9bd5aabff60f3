use chrono::{DateTime, Utc};
use nexify_domain::{ChunkId, DocumentId, OrgId, UserId};
use pgvector::Vector;
use serde::Serialize;
use sqlx::PgConnection;

use crate::StorageError;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Document {
    pub id: DocumentId,
    pub organization_id: OrgId,
    pub title: String,
    pub content_type: String,
    pub body: String,
    pub source_url: Option<String>,
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
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Chunk {
    pub id: ChunkId,
    pub organization_id: OrgId,
    pub document_id: DocumentId,
    pub chunk_index: i32,
    pub char_start: i32,
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

/// The org's `k` chunks nearest to `embedding` by cosine distance, nearest first.
#[tracing::instrument(skip_all, fields(org_id = %org, k), err)]
pub async fn nearest_chunks(
    conn: &mut PgConnection,
    org: OrgId,
    embedding: &Vector,
    k: i64,
) -> Result<Vec<ChunkHit>, StorageError> {
    Ok(sqlx::query_as(sql!(
        "SELECT {CHUNK_COLUMNS}, embedding <=> $2 AS distance FROM document_chunks
         WHERE organization_id = $1 ORDER BY embedding <=> $2 LIMIT $3"
    ))
    .bind(org)
    .bind(embedding)
    .bind(k)
    .fetch_all(conn)
    .await?)
}
