//! The knowledge base: documents are chunked and embedded as they are written.

use std::sync::Arc;

use nexify_domain::{DocumentId, InvalidInput, OrgId, Role, UserId};
use nexify_embed::{ChunkConfig, Embedder, chunk_text};
use nexify_storage::documents::{self, Chunk, Document, NewChunk, NewDocument, SearchHit};
use nexify_storage::{PgConnection, PgPool, Vector};

pub use crate::embedding::embed_blocking;
use crate::paging::{Cursor, MAX_PAGE, keyset_page};
use crate::{ServiceError, access};

/// Splits a document body into chunks with exact character offsets and embeds them.
pub async fn chunks_for(
    body: &str,
    embedder: &Arc<dyn Embedder>,
) -> Result<Vec<NewChunk>, ServiceError> {
    let chunks = chunk_text(body, ChunkConfig::default());
    let texts: Vec<String> = chunks.iter().map(|c| c.content.clone()).collect();
    let vectors = embed_blocking(embedder, texts).await?;
    Ok(chunks
        .into_iter()
        .zip(vectors)
        .map(|(c, v)| NewChunk {
            chunk_index: c.index as i32,
            char_start: c.char_start as i32,
            char_end: c.char_end as i32,
            content: c.content,
            embedding: v.into(),
        })
        .collect())
}

/// Stores a document with its embedded chunks on the caller's transaction.
pub async fn store_document(
    conn: &mut PgConnection,
    org: OrgId,
    doc: &NewDocument,
    embedder: &Arc<dyn Embedder>,
) -> Result<(Document, Vec<Chunk>), ServiceError> {
    let stored = documents::insert_document(conn, org, doc).await?;
    let chunks = chunks_for(&stored.body, embedder).await?;
    let chunks = documents::insert_chunks(conn, org, stored.id, &chunks).await?;
    Ok((stored, chunks))
}

/// What a person submits as a knowledge-base document, already parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentInput {
    pub title: String,
    pub body: String,
    pub content_type: String,
    pub source_url: Option<String>,
}

impl DocumentInput {
    pub fn parse(
        title: &str,
        body: &str,
        content_type: Option<&str>,
        source_url: Option<&str>,
    ) -> Result<Self, InvalidInput> {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 300 {
            return Err(InvalidInput::new("title", "must be 1 to 300 characters"));
        }
        if body.trim().is_empty() {
            return Err(InvalidInput::new("body", "must not be empty"));
        }
        if body.len() > 1024 * 1024 || body.contains('\0') {
            return Err(InvalidInput::new("body", "must be at most 1 MiB of text"));
        }
        let content_type = content_type.unwrap_or("markdown");
        if !matches!(content_type, "text" | "markdown") {
            return Err(InvalidInput::new(
                "content_type",
                "must be text or markdown",
            ));
        }
        let source_url = source_url.map(str::trim).filter(|u| !u.is_empty());
        if let Some(url) = source_url
            && (!(url.starts_with("https://") || url.starts_with("http://"))
                || url.len() > 2000
                || url.contains(char::is_whitespace))
        {
            return Err(InvalidInput::new("source_url", "must be an http(s) URL"));
        }
        Ok(Self {
            title: title.to_owned(),
            body: body.to_owned(),
            content_type: content_type.to_owned(),
            source_url: source_url.map(str::to_owned),
        })
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DocumentWithChunks {
    #[serde(flatten)]
    pub document: Document,
    pub chunks: Vec<Chunk>,
}

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn create(
    pool: &PgPool,
    embedder: &Arc<dyn Embedder>,
    user: UserId,
    org: OrgId,
    input: &DocumentInput,
) -> Result<DocumentWithChunks, ServiceError> {
    let (mut tx, caller) = access::begin(pool, user, org, Role::Admin).await?;
    let new = NewDocument {
        title: input.title.clone(),
        content_type: input.content_type.clone(),
        body: input.body.clone(),
        source_url: input.source_url.clone(),
        created_by: Some(caller.user),
    };
    let (document, chunks) = store_document(&mut tx, org, &new, embedder).await?;
    tx.commit().await?;
    tracing::info!(document_id = %document.id, chunks = chunks.len(), "document stored");
    Ok(DocumentWithChunks { document, chunks })
}

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn list(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<Document>, Option<String>), ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Viewer).await?;
    let before = Cursor::position::<DocumentId>(cursor.as_ref(), "documents")?;
    let limit = limit.clamp(1, MAX_PAGE);
    let items = documents::list_documents(&mut tx, org, before, limit + 1).await?;
    let (items, next) = keyset_page(items, limit, |d| Cursor {
        order: "documents".into(),
        at: d.created_at,
        id: d.id.0,
    });
    tx.commit().await?;
    Ok((items, next))
}

#[tracing::instrument(skip_all, fields(org_id = %org, document_id = %id), err)]
pub async fn get(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    id: DocumentId,
) -> Result<DocumentWithChunks, ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Viewer).await?;
    let document = documents::get_document(&mut tx, org, id).await?;
    let chunks = documents::list_chunks(&mut tx, org, id).await?;
    tx.commit().await?;
    Ok(DocumentWithChunks { document, chunks })
}

#[tracing::instrument(skip_all, fields(org_id = %org, document_id = %id), err)]
pub async fn delete(
    pool: &PgPool,
    user: UserId,
    org: OrgId,
    id: DocumentId,
) -> Result<(), ServiceError> {
    let (mut tx, _) = access::begin(pool, user, org, Role::Admin).await?;
    documents::delete_document(&mut tx, org, id).await?;
    tx.commit().await?;
    Ok(())
}

/// Hybrid retrieval over the org's chunks, on the caller's transaction.
pub async fn retrieve(
    conn: &mut PgConnection,
    embedder: &Arc<dyn Embedder>,
    org: OrgId,
    query: &str,
    k: i64,
) -> Result<Vec<SearchHit>, ServiceError> {
    let vector = embed_blocking(embedder, vec![query.to_owned()])
        .await?
        .pop()
        .ok_or(ServiceError::NoEmbedding)?;
    retrieve_by_vector(conn, org, &Vector::from(vector), query, k).await
}

/// [`retrieve`] with the query already embedded (the worker embeds a ticket once, for
/// retrieval and for its models).
pub async fn retrieve_by_vector(
    conn: &mut PgConnection,
    org: OrgId,
    vector: &Vector,
    query: &str,
    k: i64,
) -> Result<Vec<SearchHit>, ServiceError> {
    Ok(documents::hybrid_search(conn, org, vector, query, k).await?)
}

#[tracing::instrument(skip_all, fields(org_id = %org), err)]
pub async fn search(
    pool: &PgPool,
    embedder: &Arc<dyn Embedder>,
    user: UserId,
    org: OrgId,
    query: &str,
    k: i64,
) -> Result<Vec<SearchHit>, ServiceError> {
    let query = query.trim();
    if query.is_empty() || query.chars().count() > 500 {
        return Err(InvalidInput::new("q", "must be 1 to 500 characters").into());
    }
    let (mut tx, _) = access::begin(pool, user, org, Role::Viewer).await?;
    let hits = retrieve(&mut tx, embedder, org, query, k.clamp(1, 50)).await?;
    tx.commit().await?;
    Ok(hits)
}
