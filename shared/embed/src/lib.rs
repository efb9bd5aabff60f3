//! Text to vectors for retrieval and triage.
//!
//! - [`chunk_text`] splits a document into overlapping chunks along paragraphs and
//!   sentences, with exact character offsets into the original text.
//! - [`Embedder`] turns texts into unit-length vectors of [`DIM`] floats.
//!   [`HashingEmbedder`] is the dependency-free, deterministic implementation.

mod chunk;
mod hashing;
#[cfg(feature = "minilm")]
mod minilm;
pub mod openai;

pub use chunk::{Chunk, ChunkConfig, chunk_text};
pub use hashing::HashingEmbedder;
#[cfg(feature = "minilm")]
pub use minilm::{LazyMiniLm, MAX_TOKENS, MiniLmEmbedder};

/// Every embedder's output dimension (all-MiniLM-L6-v2's), matching `vector(384)`.
pub const DIM: usize = 384;

/// Any error, kept as the source of ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The environment names no usable embedder (the message says which setting).
    #[error("embedder misconfigured: {0}")]
    Config(String),
    #[error("embedding model could not be loaded from {what}")]
    Load {
        what: String,
        #[source]
        source: BoxError,
    },
    /// A lazily loaded model failed to load, on this or an earlier use.
    #[error("embedding model could not be loaded")]
    LoadFailed(#[source] std::sync::Arc<EmbedError>),
    #[error("embedding failed")]
    Inference(#[source] BoxError),
    #[error("the embedding provider failed")]
    Provider(#[from] openai::ProviderError),
    /// The environment names the provider's key wrongly (the message says which setting).
    #[error("the provider's key is misconfigured")]
    KeySource(#[from] nexify_secrets::SourceError),
}

impl EmbedError {
    /// Whether trying again later may succeed: a provider that timed out or was busy.
    pub fn is_transient(&self) -> bool {
        matches!(self, EmbedError::Provider(p) if p.is_transient())
    }
}

/// Turns texts into L2-normalised vectors of [`DIM`] floats, one per text, in order.
pub trait Embedder: Send + Sync {
    /// A short name recorded with what it produced, e.g. `hashing-v1`.
    fn name(&self) -> &str;

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;

    /// Whether embedding waits on another service (and so may take seconds): callers then
    /// hold no database connection meanwhile.
    fn calls_network(&self) -> bool {
        false
    }
}

/// Scales `v` to unit length; a zero vector stays zero.
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The embedder the environment names, made once at start-up (MiniLM's weights are read on
/// its first use, see [`LazyMiniLm`]):
/// `NEXIFY_EMBEDDER=hashing` (the default), `minilm` (weights in `NEXIFY_MINILM_PATH`) or
/// `openai` (an OpenAI-compatible endpoint, see [`openai::OpenAiConfig::from_env`]).
pub fn from_env() -> Result<std::sync::Arc<dyn Embedder>, EmbedError> {
    by_name(&std::env::var("NEXIFY_EMBEDDER").unwrap_or_else(|_| "hashing".into()))
}

/// The embedder called `choice` (`hashing`, `minilm` or `openai`), as [`from_env`] loads it.
pub fn by_name(choice: &str) -> Result<std::sync::Arc<dyn Embedder>, EmbedError> {
    match choice {
        "hashing" => Ok(std::sync::Arc::new(HashingEmbedder)),
        #[cfg(not(feature = "minilm"))]
        "minilm" => Err(EmbedError::Config(
            "NEXIFY_EMBEDDER=minilm, but this build has no MiniLM (the `minilm` feature)".into(),
        )),
        #[cfg(feature = "minilm")]
        "minilm" => {
            let dir = std::env::var("NEXIFY_MINILM_PATH").map_err(|_| {
                EmbedError::Config("NEXIFY_EMBEDDER=minilm needs NEXIFY_MINILM_PATH".into())
            })?;
            Ok(std::sync::Arc::new(LazyMiniLm::new(std::path::Path::new(
                &dir,
            ))?))
        }
        "openai" => {
            let config = openai::OpenAiConfig::from_env()?.ok_or_else(|| {
                EmbedError::Config("NEXIFY_EMBEDDER=openai needs NEXIFY_OPENAI_BASE_URL".into())
            })?;
            Ok(std::sync::Arc::new(openai::OpenAiEmbedder::new(
                openai::OpenAiClient::new(config),
            )?))
        }
        other => Err(EmbedError::Config(format!(
            "NEXIFY_EMBEDDER must be hashing, minilm or openai, not {other:?}"
        ))),
    }
}
