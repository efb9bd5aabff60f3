//! The knowledge base: documents are chunked and embedded as they are written.

use nexify_domain::OrgId;
use nexify_embed::{ChunkConfig, Embedder, chunk_text};
use nexify_storage::PgConnection;
use nexify_storage::documents::{self, Chunk, Document, NewChunk, NewDocument};

use crate::ServiceError;

/// Splits a document body into chunks with exact character offsets and embeds them.
pub fn chunks_for(body: &str, embedder: &dyn Embedder) -> Result<Vec<NewChunk>, ServiceError> {
    let chunks = chunk_text(body, ChunkConfig::default());
    let texts: Vec<&str> = chunks.iter().map(|c| c.content.as_str()).collect();
    let vectors = embedder
        .embed(&texts)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
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
    embedder: &dyn Embedder,
) -> Result<(Document, Vec<Chunk>), ServiceError> {
    let stored = documents::insert_document(conn, org, doc).await?;
    let chunks = chunks_for(&stored.body, embedder)?;
    let chunks = documents::insert_chunks(conn, org, stored.id, &chunks).await?;
    Ok((stored, chunks))
}
