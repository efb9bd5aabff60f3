//! A feature-hashing embedder: words, word bigrams and character trigrams, each hashed with
//! FNV-1a into one of [`DIM`] signed buckets, then L2-normalised. No model, no downloads,
//! identical output on every machine, which makes it the default for tests.

use crate::{DIM, EmbedError, Embedder, l2_normalize};

#[derive(Debug, Clone, Default)]
pub struct HashingEmbedder;

const WORD_WEIGHT: f32 = 1.0;
const BIGRAM_WEIGHT: f32 = 0.7;
const TRIGRAM_WEIGHT: f32 = 0.4;

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separator, so ("ab","c") and ("a","bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn add(v: &mut [f32], hash: u64, weight: f32) {
    let index = (hash % DIM as u64) as usize;
    // The top bit picks a sign, so collisions cancel out on average instead of piling up.
    let sign = if hash >> 63 == 1 { -1.0 } else { 1.0 };
    v[index] += sign * weight;
}

impl HashingEmbedder {
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let mut v = vec![0.0f32; DIM];
        for (i, word) in words.iter().enumerate() {
            add(&mut v, fnv1a(&[b"w", word.as_bytes()]), WORD_WEIGHT);
            if let Some(next) = words.get(i + 1) {
                add(
                    &mut v,
                    fnv1a(&[b"b", word.as_bytes(), next.as_bytes()]),
                    BIGRAM_WEIGHT,
                );
            }
            let padded: Vec<char> = format!("<{word}>").chars().collect();
            for gram in padded.windows(3) {
                let gram: String = gram.iter().collect();
                add(&mut v, fnv1a(&[b"c", gram.as_bytes()]), TRIGRAM_WEIGHT);
            }
        }
        l2_normalize(&mut v);
        v
    }
}

impl Embedder for HashingEmbedder {
    fn name(&self) -> &str {
        "hashing-v1"
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn vectors_are_unit_length_and_deterministic() {
        let e = HashingEmbedder;
        let a = e.embed_one("My card payment was declined");
        assert_eq!(a.len(), DIM);
        assert!((cos(&a, &a) - 1.0).abs() < 1e-5);
        assert_eq!(a, e.embed_one("My card payment was declined"));
    }

    #[test]
    fn similar_texts_are_closer_than_unrelated_ones() {
        let e = HashingEmbedder;
        let q = e.embed_one("card payment declined");
        let near = e.embed_one("Why was my card payment declined at the shop?");
        let far = e.embed_one("How do I change my postal address?");
        assert!(cos(&q, &near) > cos(&q, &far) + 0.2);
    }

    #[test]
    fn empty_text_gives_a_zero_vector() {
        assert!(HashingEmbedder.embed_one("  ").iter().all(|x| *x == 0.0));
    }
}
