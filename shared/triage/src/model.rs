//! Multinomial logistic regression (softmax) over sparse TF-IDF plus optional dense features,
//! trained with AdaGrad SGD and L2 regularisation, with a temperature fitted on held-out
//! labels so that its probabilities are calibrated.
//!
//! Why a small hand-written trainer rather than a crate: the features are hashed, sparse and
//! 16k+ wide, which dense-matrix trainers (linfa-logistic on ndarray) handle poorly, and the
//! whole trainer is about a hundred lines we can test.

use serde::{Deserialize, Serialize};

use crate::features::{Features, Idf, LEGACY_BUCKETS};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
    /// Scales the dense embedding against the two unit-length sparse blocks.
    pub dense_weight: f32,
    /// How [`LinearModel::fit`] calibrates; `None` lets it choose by the label counts
    /// ([`Calibration::for_labels`]). Set only to measure one method against the other.
    pub calibration: Option<Calibration>,
}

impl TrainConfig {
    /// The calibration [`LinearModel::fit`] uses for `labels`: the configured one, or else the
    /// one [`Calibration::for_labels`] chooses.
    pub fn calibration_for(&self, labels: &[&str]) -> Calibration {
        self.calibration
            .unwrap_or_else(|| Calibration::for_labels(labels))
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        // Chosen on a validation split of BANKING77's training data (every fifth row held
        // out, `nexify eval --validation`); the test split played no part. L2 went from 1e-6
        // to 2e-5 together with the wider hashing (features::BUCKETS); either change alone
        // gained half as much or less.
        Self {
            epochs: 30,
            learning_rate: 0.05,
            l2: 2e-5,
            seed: 7,
            dense_weight: 4.0,
            calibration: None,
        }
    }
}

/// A trained model. Weights are feature-major (`weights[j * K + k]`), so one feature's
/// weights for every class sit together in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    pub labels: Vec<String>,
    pub idf: Idf,
    pub dense_dim: usize,
    /// What the dense part was scaled by in training; predictions scale it the same way.
    pub dense_weight: f32,
    /// The embedder that made the dense part (`Embedder::name`); an embedding from any other
    /// embedder is not used.
    pub embedder: Option<String>,
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    /// Divides the logits before the softmax; fitted on held-out data.
    pub temperature: f32,
    /// How much an urgency cue weighs against this (priority) head's own evidence
    /// ([`crate::urgency::weigh`]); 0 for other heads and for models from before it existed.
    pub cue_weight: f32,
}

fn softmax_in_place(logits: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for l in logits.iter_mut() {
        *l = (*l - max).exp();
        sum += *l;
    }
    for l in logits.iter_mut() {
        *l /= sum;
    }
}

/// The temperature that minimises the negative log-likelihood of `(logits, label)` pairs
/// (temperature scaling, Guo et al. 2017), by golden-section search over ln T in [-3, 3].
pub fn fit_temperature(logits: &[(Vec<f32>, usize)]) -> f32 {
    if logits.is_empty() {
        return 1.0;
    }
    let nll = |t: f32| -> f64 {
        logits
            .iter()
            .map(|(l, y)| {
                let mut p: Vec<f32> = l.iter().map(|v| v / t).collect();
                softmax_in_place(&mut p);
                -(f64::from(p[*y]).max(1e-12)).ln()
            })
            .sum()
    };
    let (mut lo, mut hi) = (-3.0f32, 3.0f32);
    let phi = 0.618_034f32;
    for _ in 0..60 {
        let a = hi - phi * (hi - lo);
        let b = lo + phi * (hi - lo);
        if nll(a.exp()) < nll(b.exp()) {
            hi = b;
        } else {
            lo = a;
        }
    }
    ((lo + hi) / 2.0).exp()
}

/// A tiny deterministic PRNG (SplitMix64) for shuffling, so training is reproducible.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            xs.swap(i, j);
        }
    }
}

impl LinearModel {
    fn classes(&self) -> usize {
        self.labels.len()
    }

    /// The raw scores, one per label.
    pub fn logits(&self, f: &Features) -> Vec<f32> {
        let k = self.classes();
        let mut out = self.bias.clone();
        for (&j, &x) in f.sparse.indices.iter().zip(&f.sparse.values) {
            let row = &self.weights[j as usize * k..(j as usize + 1) * k];
            for (o, w) in out.iter_mut().zip(row) {
                *o += w * x;
            }
        }
        for (d, &x) in f.dense.iter().enumerate().take(self.dense_dim) {
            let j = self.idf.dim() + d;
            let row = &self.weights[j * k..(j + 1) * k];
            for (o, w) in out.iter_mut().zip(row) {
                *o += w * x;
            }
        }
        out
    }

    /// The bytes of its arrays, which are nearly all of its memory.
    pub fn size_bytes(&self) -> usize {
        4 * (self.idf.weights.len() + self.weights.len() + self.bias.len())
    }

    /// Calibrated probabilities, one per label.
    pub fn predict_proba(&self, f: &Features) -> Vec<f32> {
        let mut p: Vec<f32> = self
            .logits(f)
            .iter()
            .map(|l| l / self.temperature)
            .collect();
        softmax_in_place(&mut p);
        p
    }

    /// Trains on `(features, label index)` pairs. `dense_dim` is the length of every
    /// example's dense part (0 for sparse only).
    pub fn train(
        labels: Vec<String>,
        idf: Idf,
        dense_dim: usize,
        examples: &[(Features, usize)],
        config: TrainConfig,
    ) -> Self {
        let refs: Vec<&(Features, usize)> = examples.iter().collect();
        Self::train_on(labels, idf, dense_dim, &refs, config)
    }

    /// [`Self::train`] over borrowed examples, so fold models share one featurised set.
    fn train_on(
        labels: Vec<String>,
        idf: Idf,
        dense_dim: usize,
        examples: &[&(Features, usize)],
        config: TrainConfig,
    ) -> Self {
        let k = labels.len();
        let sparse_dim = idf.dim();
        let dim = sparse_dim + dense_dim;
        let mut model = Self {
            labels,
            idf,
            dense_dim,
            dense_weight: config.dense_weight,
            embedder: None,
            weights: vec![0.0; dim * k],
            bias: vec![0.0; k],
            temperature: 1.0,
            cue_weight: 0.0,
        };
        let mut grad_sq = vec![1e-8f32; dim * k];
        let mut bias_sq = vec![1e-8f32; k];
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = SplitMix(config.seed);
        let lr = config.learning_rate;
        for _ in 0..config.epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let (f, y) = examples[i];
                let mut p = model.logits(f);
                softmax_in_place(&mut p);
                // p - onehot(y) is the gradient of the cross-entropy w.r.t. the logits.
                p[*y] -= 1.0;
                let update = |j: usize, x: f32, weights: &mut [f32], grad_sq: &mut [f32]| {
                    let base = j * k;
                    for c in 0..k {
                        let g = p[c] * x + config.l2 * weights[base + c];
                        grad_sq[base + c] += g * g;
                        weights[base + c] -= lr * g / grad_sq[base + c].sqrt();
                    }
                };
                for (&j, &x) in f.sparse.indices.iter().zip(&f.sparse.values) {
                    update(j as usize, x, &mut model.weights, &mut grad_sq);
                }
                for (d, &x) in f.dense.iter().enumerate().take(dense_dim) {
                    update(sparse_dim + d, x, &mut model.weights, &mut grad_sq);
                }
                for c in 0..k {
                    bias_sq[c] += p[c] * p[c];
                    model.bias[c] -= lr * p[c] / bias_sq[c].sqrt();
                }
            }
        }
        model
    }

    /// Fits the temperature on `held_out` with [`fit_temperature`]; leaves it unchanged when
    /// there is nothing to fit on.
    pub fn calibrate(&mut self, held_out: &[(Features, usize)]) {
        if held_out.is_empty() {
            return;
        }
        let logits: Vec<(Vec<f32>, usize)> =
            held_out.iter().map(|(f, y)| (self.logits(f), *y)).collect();
        self.temperature = fit_temperature(&logits);
    }

    /// The most likely label's index and its calibrated probability.
    pub fn predict(&self, f: &Features) -> (usize, f32) {
        let p = self.predict_proba(f);
        let (best, prob) = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("a model has at least one label");
        (best, *prob)
    }
}

/// Share of an org's labelled tickets held out to fit the temperature, when it is not
/// cross-fitted.
pub const CALIBRATION_SHARE: f64 = 0.15;

/// Folds of the cross-fit.
pub const CROSS_FIT_FOLDS: usize = 5;

/// The fewest tickets every label needs for a cross-fit: each fold model then learns every
/// label from at least 20 of its tickets. With a handful, a label's out-of-fold predictions
/// come from a model that saw one fewer of them (none, for a single ticket), so they are
/// underconfident and pull the temperature up, as out-of-fold calibration did for the demo's
/// priority head (docs/triage-model.md, "Calibration"). A judgement, not a tuned value.
pub const CROSS_FIT_MIN_PER_LABEL: usize = 25;

/// How [`LinearModel::fit`] fits the temperature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calibration {
    /// Out-of-fold logits of [`CROSS_FIT_FOLDS`] fold models, whose mean is deployed.
    CrossFit,
    /// A stratified [`CALIBRATION_SHARE`] hold-out, then a retrain on everything.
    HoldOut,
}

impl Calibration {
    /// Cross-fit when every label has at least [`CROSS_FIT_MIN_PER_LABEL`] examples.
    pub fn for_labels(labels: &[&str]) -> Self {
        let mut counts = std::collections::HashMap::<&str, usize>::new();
        for l in labels {
            *counts.entry(l).or_default() += 1;
        }
        if counts.values().all(|&c| c >= CROSS_FIT_MIN_PER_LABEL) {
            Self::CrossFit
        } else {
            Self::HoldOut
        }
    }

    pub const ALL: [Self; 2] = [Self::CrossFit, Self::HoldOut];

    /// The name training metrics record.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CrossFit => "cross-fit",
            Self::HoldOut => "hold-out",
        }
    }

    /// The calibration [`Self::as_str`] names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl LinearModel {
    /// Trains a calibrated model on labelled texts (with optional dense embeddings, one per
    /// text). The same examples in any order give the same model.
    ///
    /// Unless `config.calibration` says otherwise: when every label has at least
    /// [`CROSS_FIT_MIN_PER_LABEL`] tickets, it **cross-fits**:
    /// [`CROSS_FIT_FOLDS`] stratified folds, one model per fold trained on the others, the
    /// temperature fitted on every ticket's out-of-fold logits, and the deployed model the mean
    /// of the fold models (for a linear model, one set of weights whose logits are the mean of
    /// theirs). Otherwise it holds out a stratified [`CALIBRATION_SHARE`] of each label, trains
    /// on the rest, fits the temperature on the held-out part, then retrains on everything and
    /// keeps that temperature.
    pub fn fit(
        texts: &[&str],
        labels: &[&str],
        dense: Option<&[Vec<f32>]>,
        config: TrainConfig,
    ) -> Self {
        Self::fit_with_held_out(texts, labels, dense, config).0
    }

    /// [`Self::fit`], and the calibrated probabilities of the examples the temperature was
    /// fitted on, from models that did not learn from them: `(index into texts,
    /// probabilities)`, every example when cross-fitted, the hold-out otherwise.
    pub fn fit_with_held_out(
        texts: &[&str],
        labels: &[&str],
        dense: Option<&[Vec<f32>]>,
        config: TrainConfig,
    ) -> (Self, Vec<(usize, Vec<f32>)>) {
        assert_eq!(texts.len(), labels.len());
        let calibration = config.calibration_for(labels);
        // The seeded shuffles make training depend on the order of the examples, and callers'
        // order is incidental (the database's, by update time and then random id): sort by
        // content so the same labelled tickets always give the same model.
        let mut by_content: Vec<usize> = (0..texts.len()).collect();
        by_content.sort_by(|&a, &b| (texts[a], labels[a]).cmp(&(texts[b], labels[b])));
        let texts: Vec<&str> = by_content.iter().map(|&i| texts[i]).collect();
        let labels: Vec<&str> = by_content.iter().map(|&i| labels[i]).collect();
        let dense: Option<Vec<Vec<f32>>> =
            dense.map(|d| by_content.iter().map(|&i| d[i].clone()).collect());
        let dense = dense.as_deref();
        let mut names: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
        names.sort();
        names.dedup();
        let ys: Vec<usize> = labels
            .iter()
            .map(|l| {
                names
                    .binary_search_by(|n| n.as_str().cmp(l))
                    .expect("label is known")
            })
            .collect();
        let dense_dim = dense.and_then(|d| d.first()).map_or(0, Vec::len);
        let featurize = |idf: &Idf, i: usize| Features {
            sparse: idf.transform(texts[i]),
            dense: dense
                .map(|d| d[i].iter().map(|x| x * config.dense_weight).collect())
                .unwrap_or_default(),
        };

        // Stratified split: the n-th example of each label (after a seeded shuffle) goes to
        // part n mod `parts`.
        let parts = match calibration {
            Calibration::CrossFit => CROSS_FIT_FOLDS,
            Calibration::HoldOut => (1.0 / CALIBRATION_SHARE).round() as usize,
        };
        let mut order: Vec<usize> = (0..texts.len()).collect();
        SplitMix(config.seed ^ 0xA5A5).shuffle(&mut order);
        let mut seen = vec![0usize; names.len()];
        let mut part = vec![0usize; texts.len()];
        for i in order {
            seen[ys[i]] += 1;
            part[i] = seen[ys[i]] % parts;
        }

        // Hold-out: part 0 (every seventh example of each label) fits the temperature, on a
        // probe trained (with its own IDF) on the other parts.
        let hold_out_temperature = (calibration == Calibration::HoldOut).then(|| {
            let (held_ids, fit_ids): (Vec<usize>, Vec<usize>) =
                (0..texts.len()).partition(|&i| part[i] == 0);
            let idf = Idf::fit(fit_ids.iter().map(|&i| texts[i]));
            let fit_set: Vec<(Features, usize)> = fit_ids
                .iter()
                .map(|&i| (featurize(&idf, i), ys[i]))
                .collect();
            let held_set: Vec<(Features, usize)> = held_ids
                .iter()
                .map(|&i| (featurize(&idf, i), ys[i]))
                .collect();
            let mut probe = Self::train(names.clone(), idf, dense_dim, &fit_set, config);
            probe.calibrate(&held_set);
            let held_out: Vec<(usize, Vec<f32>)> = held_ids
                .iter()
                .zip(&held_set)
                .map(|(&i, (f, _))| (by_content[i], probe.predict_proba(f)))
                .collect();
            (probe.temperature, held_out)
        });

        let idf = Idf::fit(texts.iter().copied());
        let all: Vec<(Features, usize)> = (0..texts.len())
            .map(|i| (featurize(&idf, i), ys[i]))
            .collect();
        match hold_out_temperature {
            None => {
                let (model, out_of_fold) =
                    Self::cross_fit(names, idf, dense_dim, &all, &part, config);
                let held_out = out_of_fold
                    .into_iter()
                    .enumerate()
                    .map(|(i, logits)| {
                        let mut p: Vec<f32> =
                            logits.iter().map(|l| l / model.temperature).collect();
                        softmax_in_place(&mut p);
                        (by_content[i], p)
                    })
                    .collect();
                (model, held_out)
            }
            Some((temperature, held_out)) => {
                let mut model = Self::train(names, idf, dense_dim, &all, config);
                model.temperature = temperature;
                (model, held_out)
            }
        }
    }

    /// Trains one model per fold on the other folds (fold `f` of example `i` is `fold[i]`),
    /// fits the temperature on the out-of-fold logits and returns the fold models' mean, with
    /// each example's out-of-fold logits.
    fn cross_fit(
        names: Vec<String>,
        idf: Idf,
        dense_dim: usize,
        all: &[(Features, usize)],
        fold: &[usize],
        config: TrainConfig,
    ) -> (Self, Vec<Vec<f32>>) {
        let folds = fold.iter().max().map_or(0, |f| f + 1);
        // Folds are independent: train them on separate threads, then combine in fold order
        // so the result does not depend on scheduling.
        let models: Vec<Self> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..folds)
                .map(|f| {
                    let (names, idf) = (names.clone(), idf.clone());
                    scope.spawn(move || {
                        let train: Vec<&(Features, usize)> = all
                            .iter()
                            .zip(fold)
                            .filter(|&(_, &g)| g != f)
                            .map(|(e, _)| e)
                            .collect();
                        let fold_config = TrainConfig {
                            seed: config.seed.wrapping_add(f as u64),
                            ..config
                        };
                        Self::train_on(names, idf, dense_dim, &train, fold_config)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a fold's training does not panic"))
                .collect()
        });
        let out_of_fold: Vec<(Vec<f32>, usize)> = all
            .iter()
            .zip(fold)
            .map(|((f, y), &g)| (models[g].logits(f), *y))
            .collect();
        let mut mean = models[0].clone();
        let share = 1.0 / folds as f32;
        for (i, w) in mean.weights.iter_mut().enumerate() {
            *w = models.iter().map(|m| m.weights[i]).sum::<f32>() * share;
        }
        for (c, b) in mean.bias.iter_mut().enumerate() {
            *b = models.iter().map(|m| m.bias[c]).sum::<f32>() * share;
        }
        mean.temperature = fit_temperature(&out_of_fold);
        (mean, out_of_fold.into_iter().map(|(l, _)| l).collect())
    }

    /// Features for a new text, with its dense embedding when the model uses one.
    pub fn features(&self, text: &str, dense: Option<&[f32]>) -> Features {
        Features {
            sparse: self.idf.transform(text),
            dense: dense
                .filter(|d| d.len() == self.dense_dim)
                .map(|d| d.iter().map(|x| x * self.dense_weight).collect())
                .unwrap_or_default(),
        }
    }
}

const MAGIC: &[u8; 6] = b"NXLM1\0";

#[derive(Serialize, Deserialize)]
struct Header {
    labels: Vec<String>,
    dense_dim: usize,
    temperature: f32,
    #[serde(default = "one")]
    dense_weight: f32,
    #[serde(default)]
    embedder: Option<String>,
    /// Hash buckets per feature block; models from before the field hashed into 8,192.
    #[serde(default = "legacy_buckets")]
    buckets: usize,
    /// Models from before the field weigh no urgency cue.
    #[serde(default)]
    cue_weight: f32,
}

fn one() -> f32 {
    1.0
}

fn legacy_buckets() -> usize {
    LEGACY_BUCKETS
}

fn put_f32s(out: &mut Vec<u8>, xs: &[f32]) {
    for x in xs {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// Why stored bytes are not a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("not a Nexify model")]
    NotAModel,
    #[error("the model's bytes are truncated")]
    Truncated,
    #[error("the model's header is unreadable")]
    Header(#[source] serde_json::Error),
    #[error("the model has no hash buckets")]
    NoBuckets,
    #[error("trailing bytes after the model")]
    TrailingBytes,
}

fn take_f32s(bytes: &[u8], at: &mut usize, n: usize) -> Result<Vec<f32>, ModelError> {
    let end = *at + n * 4;
    let chunk = bytes.get(*at..end).ok_or(ModelError::Truncated)?;
    *at = end;
    Ok(chunk
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

impl LinearModel {
    /// A compact little-endian encoding: magic, a JSON header, then the idf, weight and bias
    /// arrays as raw f32.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&Header {
            labels: self.labels.clone(),
            dense_dim: self.dense_dim,
            temperature: self.temperature,
            dense_weight: self.dense_weight,
            embedder: self.embedder.clone(),
            buckets: self.idf.buckets(),
            cue_weight: self.cue_weight,
        })
        .expect("the header serializes");
        let mut out = Vec::with_capacity(
            16 + header.len() + 4 * (self.idf.weights.len() + self.weights.len() + self.bias.len()),
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        put_f32s(&mut out, &self.idf.weights);
        put_f32s(&mut out, &self.weights);
        put_f32s(&mut out, &self.bias);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        if bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
            return Err(ModelError::NotAModel);
        }
        let mut at = MAGIC.len();
        let len_bytes: [u8; 4] = bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .ok_or(ModelError::Truncated)?;
        at += 4;
        let len = u32::from_le_bytes(len_bytes) as usize;
        let header: Header =
            serde_json::from_slice(bytes.get(at..at + len).ok_or(ModelError::Truncated)?)
                .map_err(ModelError::Header)?;
        at += len;
        let k = header.labels.len();
        if header.buckets == 0 {
            return Err(ModelError::NoBuckets);
        }
        let idf = Idf {
            weights: take_f32s(bytes, &mut at, 2 * header.buckets)?,
        };
        let weights = take_f32s(bytes, &mut at, (idf.dim() + header.dense_dim) * k)?;
        let bias = take_f32s(bytes, &mut at, k)?;
        if at != bytes.len() {
            return Err(ModelError::TrailingBytes);
        }
        Ok(Self {
            labels: header.labels,
            idf,
            dense_dim: header.dense_dim,
            dense_weight: header.dense_weight,
            embedder: header.embedder,
            weights,
            bias,
            temperature: header.temperature,
            cue_weight: header.cue_weight,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Vec<(&'static str, usize)> {
        vec![
            ("my card was declined", 0),
            ("card payment declined at the shop", 0),
            ("payment failed with my card", 0),
            ("why was my card declined", 0),
            ("i want a refund", 1),
            ("please refund my money", 1),
            ("refund the duplicate charge", 1),
            ("can i get my money back", 1),
            ("i forgot my password", 2),
            ("reset my password please", 2),
            ("cannot log in to my account", 2),
            ("login does not work", 2),
        ]
    }

    fn fit(epochs: usize) -> (LinearModel, Vec<(Features, usize)>) {
        fit_with_buckets(epochs, crate::features::BUCKETS)
    }

    fn fit_with_buckets(epochs: usize, buckets: usize) -> (LinearModel, Vec<(Features, usize)>) {
        let rows = data();
        let idf = Idf::fit_with_buckets(buckets, rows.iter().map(|(t, _)| *t));
        let examples: Vec<(Features, usize)> = rows
            .iter()
            .map(|(t, y)| {
                (
                    Features {
                        sparse: idf.transform(t),
                        dense: vec![],
                    },
                    *y,
                )
            })
            .collect();
        let labels = vec!["decline".into(), "refund".into(), "login".into()];
        let config = TrainConfig {
            epochs,
            ..TrainConfig::default()
        };
        (
            LinearModel::train(labels, idf, 0, &examples, config),
            examples,
        )
    }

    #[test]
    fn learns_separable_intents() {
        let (model, examples) = fit(20);
        for (f, y) in &examples {
            assert_eq!(model.predict(f).0, *y);
        }
        let unseen = Features {
            sparse: model.idf.transform("my password reset is broken"),
            dense: vec![],
        };
        assert_eq!(model.labels[model.predict(&unseen).0], "login");
        let p = model.predict_proba(&unseen);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn dense_features_carry_signal_and_survive_the_round_trip() {
        // The texts are identical; only the dense part tells the labels apart.
        let mut dense = Vec::new();
        let mut labels = Vec::new();
        for i in 0..40 {
            let a = i % 2 == 0;
            dense.push(if a { vec![1.0, 0.0] } else { vec![0.0, 1.0] });
            labels.push(if a { "a" } else { "b" });
        }
        let texts = vec!["the same ticket text"; 40];
        let config = TrainConfig {
            dense_weight: 2.0,
            ..TrainConfig::default()
        };
        let mut model = LinearModel::fit(&texts, &labels, Some(&dense), config);
        model.embedder = Some("test-embedder".into());
        assert_eq!(model.dense_dim, 2);
        let predict = |m: &LinearModel, d: &[f32]| {
            let (k, p) = m.predict(&m.features("the same ticket text", Some(d)));
            (m.labels[k].clone(), p)
        };
        let (label, p) = predict(&model, &[1.0, 0.0]);
        assert_eq!((label.as_str(), p > 0.8), ("a", true), "p = {p}");
        assert_eq!(predict(&model, &[0.0, 1.0]).0, "b");
        // A vector of the wrong length is not used.
        assert_eq!(
            model.features("the same ticket text", Some(&[1.0])),
            model.features("the same ticket text", None)
        );

        let restored = LinearModel::from_bytes(&model.to_bytes()).unwrap();
        assert_eq!(restored.dense_weight, 2.0);
        assert_eq!(restored.embedder.as_deref(), Some("test-embedder"));
        assert_eq!(restored, model);
    }

    #[test]
    fn held_out_predictions_name_the_callers_examples() {
        // Texts that sort differently from their order here, so a prediction reported
        // against the sorted position would land on another label's example.
        let mut texts = Vec::new();
        let mut labels = Vec::new();
        for i in 0..30 {
            for (label, text) in [
                ("zeta", "zzz refund please"),
                ("alpha", "aaa password reset"),
            ] {
                texts.push(format!("{text} {i}"));
                labels.push(label);
            }
        }
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        for calibration in Calibration::ALL {
            let config = TrainConfig {
                calibration: Some(calibration),
                ..TrainConfig::default()
            };
            let (model, held) = LinearModel::fit_with_held_out(&texts, &labels, None, config);
            let expected = match calibration {
                Calibration::CrossFit => texts.len(),
                Calibration::HoldOut => texts.len() / 7 + 2,
            };
            assert!(
                held.len() >= expected - 2 && held.len() <= expected,
                "{}",
                held.len()
            );
            for (i, p) in &held {
                let best = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
                assert_eq!(
                    model.labels[best], labels[*i],
                    "{calibration:?} {}",
                    texts[*i]
                );
            }
        }
    }

    #[test]
    fn models_round_trip_through_bytes() {
        let (mut model, _) = fit(3);
        model.cue_weight = 1.5;
        let bytes = model.to_bytes();
        assert_eq!(LinearModel::from_bytes(&bytes).unwrap(), model);
        // A model saved before the cue weight existed weighs no cue.
        let old = with_header(&bytes, |header| {
            assert_eq!(header.remove("cue_weight"), Some(1.5.into()));
        });
        assert_eq!(LinearModel::from_bytes(&old).unwrap().cue_weight, 0.0);
        assert!(LinearModel::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(LinearModel::from_bytes(b"garbage").is_err());
    }

    /// `bytes` of a model with its JSON header changed by `edit`.
    fn with_header(
        bytes: &[u8],
        edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
    ) -> Vec<u8> {
        let header_len = u32::from_le_bytes(bytes[6..10].try_into().unwrap()) as usize;
        let mut header: serde_json::Value =
            serde_json::from_slice(&bytes[10..10 + header_len]).unwrap();
        edit(header.as_object_mut().unwrap());
        let header = serde_json::to_vec(&header).unwrap();
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&bytes[10 + header_len..]);
        out
    }

    #[test]
    fn models_saved_before_the_wider_hashing_still_load_and_predict() {
        // Such a model's header has no `buckets`, and its arrays are 8,192 buckets wide.
        let (legacy, _) = fit_with_buckets(TrainConfig::default().epochs, LEGACY_BUCKETS);
        let old = with_header(&legacy.to_bytes(), |header| {
            assert_eq!(header.remove("buckets"), Some(LEGACY_BUCKETS.into()));
        });

        let restored = LinearModel::from_bytes(&old).unwrap();
        assert_eq!(restored, legacy);
        let text = "my password reset is broken";
        let (label, _) = restored.predict(&restored.features(text, None));
        assert_eq!(restored.labels[label], "login");
    }

    #[test]
    fn a_model_without_hash_buckets_is_refused_rather_than_loaded() {
        // Hashing into no buckets would divide by zero at the first ticket. The arrays match
        // the header (no idf or weights, just the bias), so only the width is wrong.
        let (model, _) = fit(3);
        let bytes = model.to_bytes();
        let bias = bytes[bytes.len() - 4 * model.labels.len()..].to_vec();
        let mut broken = with_header(&bytes, |header| {
            header.insert("buckets".into(), 0.into());
        });
        let header_len = u32::from_le_bytes(broken[6..10].try_into().unwrap()) as usize;
        broken.truncate(10 + header_len);
        broken.extend_from_slice(&bias);
        assert!(LinearModel::from_bytes(&broken).is_err());
    }

    #[test]
    fn training_is_deterministic() {
        assert_eq!(fit(5).0, fit(5).0);
    }

    #[test]
    fn fitting_does_not_depend_on_the_order_of_the_examples() {
        // Both calibrations: the small set is held out, the noisy one cross-fitted.
        let small: Vec<(String, &str)> = data()
            .into_iter()
            .map(|(t, y)| (t.to_owned(), ["decline", "refund", "login"][y]))
            .collect();
        let (texts, labels) = noisy_tickets(120, 3);
        let noisy: Vec<(String, &str)> = texts.into_iter().zip(labels).collect();
        for rows in [small, noisy] {
            let fit = |rows: &[(String, &str)]| {
                let texts: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
                let labels: Vec<&str> = rows.iter().map(|(_, l)| *l).collect();
                let dense: Vec<Vec<f32>> = rows.iter().map(|(t, _)| vec![t.len() as f32]).collect();
                LinearModel::fit(&texts, &labels, Some(&dense), TrainConfig::default())
            };
            let mut shuffled = rows.clone();
            SplitMix(11).shuffle(&mut shuffled);
            assert_ne!(shuffled, rows);
            assert_eq!(fit(&shuffled), fit(&rows));
        }
    }

    #[test]
    fn cross_fits_only_when_every_label_has_enough_tickets() {
        let mut labels = vec!["a"; CROSS_FIT_MIN_PER_LABEL];
        labels.extend(vec!["b"; CROSS_FIT_MIN_PER_LABEL]);
        assert_eq!(Calibration::for_labels(&labels), Calibration::CrossFit);
        assert_eq!(
            Calibration::for_labels(&labels[1..]),
            Calibration::HoldOut,
            "one label short of the minimum"
        );
    }

    /// Two intents, 60 tickets each, with every fifth ticket's label flipped, so the best any
    /// model can do is 80%. Each text also carries a random word of its own, which the model
    /// can memorise but which says nothing about the label.
    fn noisy_tickets(n: usize, seed: u64) -> (Vec<String>, Vec<&'static str>) {
        let mut rng = SplitMix(seed);
        let mut random_word = || -> String {
            (0..8)
                .map(|_| char::from(b'a' + (rng.next_u64() % 26) as u8))
                .collect()
        };
        let mut texts = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let declined = i % 2 == 0;
            let word = random_word();
            texts.push(if declined {
                format!("my card payment was declined {word}")
            } else {
                format!("please refund my money back {word}")
            });
            let flipped = (i / 2) % 5 == 0;
            labels.push(if declined != flipped {
                "decline"
            } else {
                "refund"
            });
        }
        (texts, labels)
    }

    #[test]
    fn cross_fitted_confidence_matches_accuracy_on_noisy_labels() {
        let (texts, labels) = noisy_tickets(120, 3);
        assert_eq!(Calibration::for_labels(&labels), Calibration::CrossFit);
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let config = TrainConfig::default();
        let model = LinearModel::fit(&texts, &labels, None, config);
        // On fresh tickets of the same kind the mean confidence should be the accuracy.
        let (fresh_texts, fresh_labels) = noisy_tickets(1000, 4);
        let calibration_gap = |m: &LinearModel| {
            let (mut right, mut confidence) = (0.0, 0.0);
            for (text, label) in fresh_texts.iter().zip(&fresh_labels) {
                let (k, p) = m.predict(&m.features(text, None));
                right += f32::from(u8::from(m.labels[k] == *label));
                confidence += p;
            }
            let n = fresh_texts.len() as f32;
            (confidence / n - right / n).abs()
        };
        let cross_fit_gap = calibration_gap(&model);
        // The hold-out fits on 17 tickets, scored by a model other than the deployed one.
        let hold_out_config = TrainConfig {
            calibration: Some(Calibration::HoldOut),
            ..config
        };
        let hold_out = LinearModel::fit(&texts, &labels, None, hold_out_config);
        let hold_out_gap = calibration_gap(&hold_out);
        assert!(
            cross_fit_gap < 0.1 && cross_fit_gap < hold_out_gap,
            "gap between mean confidence and accuracy: cross-fit {cross_fit_gap} \
             (temperature {}), hold-out {hold_out_gap} (temperature {})",
            model.temperature,
            hold_out.temperature
        );
        // Threads train the folds; the result must not depend on their scheduling.
        assert_eq!(
            LinearModel::fit(&texts, &labels, None, TrainConfig::default()),
            model
        );
    }

    #[test]
    fn temperature_scaling_softens_an_overconfident_model() {
        let (mut model, examples) = fit(60);
        // Held-out data that disagrees with the model half the time calls for a high temperature.
        let noisy: Vec<(Features, usize)> = examples
            .iter()
            .map(|(f, y)| (f.clone(), if y % 2 == 0 { *y } else { (y + 1) % 3 }))
            .collect();
        model.calibrate(&noisy);
        assert!(model.temperature > 1.5, "{}", model.temperature);
        model.calibrate(&examples);
        assert!(model.temperature < 1.5, "{}", model.temperature);
    }
}
