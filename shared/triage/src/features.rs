//! Ticket text to features for the linear model: hashed word 1–2-gram and character 3–5-gram
//! counts, each block TF-IDF weighted (sublinear tf) and L2-normalised, optionally joined with
//! a dense sentence embedding.
//!
//! Hashing keeps the vocabulary unbounded and the model a fixed size: two blocks (words,
//! characters) of [`BUCKETS`] sparse dimensions each, whatever the org's language.

use serde::{Deserialize, Serialize};

/// Buckets per block for new models. 16,384 rather than 8,192 halves hash collisions; with
/// L2 2e-5 it gained the most on BANKING77's validation split (docs/triage-model.md,
/// "Evaluation on BANKING77").
pub const BUCKETS: usize = 16_384;
/// Buckets per block of models trained before [`BUCKETS`] was raised; they keep working,
/// because a model's features are hashed into its own width ([`Idf::buckets`]).
pub const LEGACY_BUCKETS: usize = 8192;

/// A sparse vector: sorted, unique indices with their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sparse {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

fn fnv1a(seed: u8, bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(seed);
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Lowercased alphanumeric words.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Raw hashed counts into two blocks of `buckets` each: (bucket, count), not yet weighted.
fn counts(text: &str, buckets: usize) -> Vec<(u32, f32)> {
    let buckets = buckets as u64;
    let mut out: Vec<(u32, f32)> = Vec::new();
    let words = words(text);
    let mut push = |bucket: u32| out.push((bucket, 1.0));
    for (i, w) in words.iter().enumerate() {
        push((fnv1a(1, w.as_bytes()) % buckets) as u32);
        if let Some(next) = words.get(i + 1) {
            let bigram = format!("{w} {next}");
            push((fnv1a(2, bigram.as_bytes()) % buckets) as u32);
        }
    }
    // Character n-grams over the normalised word sequence, with word boundaries marked.
    let joined: Vec<char> = format!(" {} ", words.join(" ")).chars().collect();
    for n in 3..=5 {
        for gram in joined.windows(n) {
            let s: String = gram.iter().collect();
            if s.trim().is_empty() {
                continue;
            }
            push((buckets + fnv1a(n as u8 + 10, s.as_bytes()) % buckets) as u32);
        }
    }
    out.sort_unstable_by_key(|(i, _)| *i);
    let mut merged: Vec<(u32, f32)> = Vec::with_capacity(out.len());
    for (i, v) in out {
        match merged.last_mut() {
            Some((last, acc)) if *last == i => *acc += v,
            _ => merged.push((i, v)),
        }
    }
    merged
}

/// Inverse document frequencies of the hashed buckets, fitted on a training set. There is
/// one weight per sparse dimension, so their number also fixes the hashing width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Idf {
    pub weights: Vec<f32>,
}

impl Idf {
    /// Smooth idf: ln((1 + n) / (1 + df)) + 1, as scikit-learn computes it, over two blocks
    /// of [`BUCKETS`].
    pub fn fit<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        Self::fit_with_buckets(BUCKETS, texts)
    }

    /// [`Self::fit`] with `buckets` per block.
    pub fn fit_with_buckets<'a>(buckets: usize, texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut df = vec![0u32; 2 * buckets];
        let mut n = 0u32;
        for text in texts {
            n += 1;
            for (i, _) in counts(text, buckets) {
                df[i as usize] += 1;
            }
        }
        let weights = df
            .iter()
            .map(|&d| ((1.0 + n as f32) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        Self { weights }
    }

    /// Buckets per block.
    pub fn buckets(&self) -> usize {
        self.weights.len() / 2
    }

    /// Sparse dimensions: both blocks.
    pub fn dim(&self) -> usize {
        self.weights.len()
    }

    /// The TF-IDF features of `text`: sublinear tf × idf, each block L2-normalised.
    pub fn transform(&self, text: &str) -> Sparse {
        let mut indices = Vec::new();
        let mut values = Vec::new();
        let buckets = self.buckets() as u32;
        for (i, tf) in counts(text, self.buckets()) {
            indices.push(i);
            values.push((1.0 + tf.ln()) * self.weights[i as usize]);
        }
        for (lo, hi) in [(0, buckets), (buckets, 2 * buckets)] {
            let norm: f32 = indices
                .iter()
                .zip(&values)
                .filter(|(i, _)| (lo..hi).contains(*i))
                .map(|(_, v)| v * v)
                .sum::<f32>()
                .sqrt();
            if norm > 0.0 {
                for (i, v) in indices.iter().zip(values.iter_mut()) {
                    if (lo..hi).contains(i) {
                        *v /= norm;
                    }
                }
            }
        }
        Sparse { indices, values }
    }
}

/// One example's full feature vector: the sparse TF-IDF part and an optional dense part
/// (a unit-length sentence embedding, scaled by the model's `dense_weight`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    pub sparse: Sparse,
    pub dense: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_is_deterministic_sorted_and_unit_per_block() {
        let idf = Idf::fit(["my card was declined", "where is my card", "refund please"]);
        let f = idf.transform("My card was DECLINED!");
        assert_eq!(f, idf.transform("my card was declined"));
        assert!(f.indices.windows(2).all(|w| w[0] < w[1]));
        let word_norm: f32 = f
            .indices
            .iter()
            .zip(&f.values)
            .filter(|(i, _)| (**i as usize) < BUCKETS)
            .map(|(_, v)| v * v)
            .sum();
        assert!((word_norm - 1.0).abs() < 1e-4);
    }

    #[test]
    fn legacy_width_hashes_where_models_from_before_the_wider_hashing_did() {
        // The buckets of "Card declined" as the code before `BUCKETS` was raised put them.
        let before: [u32; 39] = [
            2074, 2150, 3541, 8323, 8464, 9123, 9127, 9277, 9317, 9549, 9846, 10534, 10538, 10564,
            11011, 11345, 12073, 12080, 12218, 12448, 12576, 12875, 13043, 13473, 13668, 13991,
            14010, 14228, 14663, 14712, 14977, 15302, 15315, 15661, 15705, 15744, 15756, 16020,
            16206,
        ];
        let legacy = Idf::fit_with_buckets(LEGACY_BUCKETS, ["card declined", "refund"]);
        assert_eq!(legacy.dim(), 2 * LEGACY_BUCKETS);
        assert_eq!(legacy.transform("Card declined").indices, before);

        let wide = Idf::fit(["card declined", "refund"]);
        assert_eq!(wide.buckets(), BUCKETS);
        let indices = wide.transform("Card declined").indices;
        assert_eq!(
            indices.len(),
            before.len(),
            "the same n-grams, spread wider"
        );
        assert!(indices.iter().any(|&i| i as usize >= 2 * LEGACY_BUCKETS));
    }

    #[test]
    fn rarer_terms_weigh_more() {
        let idf = Idf::fit(["card card", "card", "card refund"]);
        let card = (fnv1a(1, b"card") % BUCKETS as u64) as usize;
        let refund = (fnv1a(1, b"refund") % BUCKETS as u64) as usize;
        assert!(idf.weights[refund] > idf.weights[card]);
    }
}
