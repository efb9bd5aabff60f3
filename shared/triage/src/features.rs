//! Ticket text to features for the linear model: hashed word 1–2-gram and character 3–5-gram
//! counts, each block TF-IDF weighted (sublinear tf) and L2-normalised, optionally joined with
//! a dense sentence embedding.
//!
//! Hashing keeps the vocabulary unbounded and the model a fixed size: `WORD_BUCKETS` +
//! `CHAR_BUCKETS` sparse dimensions, whatever the org's language.

use serde::{Deserialize, Serialize};

pub const WORD_BUCKETS: usize = 8192;
pub const CHAR_BUCKETS: usize = 8192;
pub const SPARSE_DIM: usize = WORD_BUCKETS + CHAR_BUCKETS;

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

/// Raw hashed counts: (bucket, count), not yet weighted.
fn counts(text: &str) -> Vec<(u32, f32)> {
    let mut out: Vec<(u32, f32)> = Vec::new();
    let words = words(text);
    let mut push = |bucket: u32| out.push((bucket, 1.0));
    for (i, w) in words.iter().enumerate() {
        push((fnv1a(1, w.as_bytes()) % WORD_BUCKETS as u64) as u32);
        if let Some(next) = words.get(i + 1) {
            let bigram = format!("{w} {next}");
            push((fnv1a(2, bigram.as_bytes()) % WORD_BUCKETS as u64) as u32);
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
            push(
                WORD_BUCKETS as u32
                    + (fnv1a(n as u8 + 10, s.as_bytes()) % CHAR_BUCKETS as u64) as u32,
            );
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

/// Inverse document frequencies of the hashed buckets, fitted on a training set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Idf {
    pub weights: Vec<f32>,
}

impl Idf {
    /// Smooth idf: ln((1 + n) / (1 + df)) + 1, as scikit-learn computes it.
    pub fn fit<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut df = vec![0u32; SPARSE_DIM];
        let mut n = 0u32;
        for text in texts {
            n += 1;
            for (i, _) in counts(text) {
                df[i as usize] += 1;
            }
        }
        let weights = df
            .iter()
            .map(|&d| ((1.0 + n as f32) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        Self { weights }
    }

    /// The TF-IDF features of `text`: sublinear tf × idf, each block L2-normalised.
    pub fn transform(&self, text: &str) -> Sparse {
        let mut indices = Vec::new();
        let mut values = Vec::new();
        for (i, tf) in counts(text) {
            indices.push(i);
            values.push((1.0 + tf.ln()) * self.weights[i as usize]);
        }
        for (lo, hi) in [
            (0u32, WORD_BUCKETS as u32),
            (WORD_BUCKETS as u32, SPARSE_DIM as u32),
        ] {
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
            .filter(|(i, _)| (**i as usize) < WORD_BUCKETS)
            .map(|(_, v)| v * v)
            .sum();
        assert!((word_norm - 1.0).abs() < 1e-4);
    }

    #[test]
    fn rarer_terms_weigh_more() {
        let idf = Idf::fit(["card card", "card", "card refund"]);
        let card = (fnv1a(1, b"card") % WORD_BUCKETS as u64) as usize;
        let refund = (fnv1a(1, b"refund") % WORD_BUCKETS as u64) as usize;
        assert!(idf.weights[refund] > idf.weights[card]);
    }
}
