//! Embedding off the async workers: a model embedder is CPU-bound, so it runs on a blocking
//! thread.

use std::sync::Arc;

use nexify_embed::Embedder;

use crate::ServiceError;

/// Embeds texts on a blocking thread: a model embedder is CPU-bound for milliseconds to
/// seconds, which must not stall the async workers.
pub async fn embed_blocking(
    embedder: &Arc<dyn Embedder>,
    texts: Vec<String>,
) -> Result<Vec<Vec<f32>>, ServiceError> {
    let embedder = embedder.clone();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        embedder.embed(&refs)
    })
    .await?
    .map_err(ServiceError::from)
}
