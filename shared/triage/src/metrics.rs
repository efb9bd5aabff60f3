//! Evaluation metrics for a classifier with confidences.

use serde::Serialize;

/// One prediction: the true label, the predicted one and the predicted probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub truth: usize,
    pub predicted: usize,
    pub confidence: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    pub threshold: f32,
    /// Share of predictions at or above the threshold.
    pub coverage: f64,
    /// Accuracy on those predictions (NaN when none).
    pub accuracy: f64,
}

pub fn accuracy(xs: &[Scored]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().filter(|s| s.truth == s.predicted).count() as f64 / xs.len() as f64
}

/// The unweighted mean of per-class F1 over the classes that occur in truth or predictions.
pub fn macro_f1(xs: &[Scored], classes: usize) -> f64 {
    let mut tp = vec![0f64; classes];
    let mut fp = vec![0f64; classes];
    let mut fn_ = vec![0f64; classes];
    for s in xs {
        if s.truth == s.predicted {
            tp[s.truth] += 1.0;
        } else {
            fp[s.predicted] += 1.0;
            fn_[s.truth] += 1.0;
        }
    }
    let f1s: Vec<f64> = (0..classes)
        .filter(|&c| tp[c] + fp[c] + fn_[c] > 0.0)
        .map(|c| {
            let denom = 2.0 * tp[c] + fp[c] + fn_[c];
            if denom == 0.0 {
                0.0
            } else {
                2.0 * tp[c] / denom
            }
        })
        .collect();
    f1s.iter().sum::<f64>() / f1s.len().max(1) as f64
}

/// Expected calibration error over `bins` equal-width confidence bins: the mean, weighted
/// by bin size, of |accuracy − mean confidence|.
pub fn expected_calibration_error(xs: &[Scored], bins: usize) -> f64 {
    let mut count = vec![0f64; bins];
    let mut correct = vec![0f64; bins];
    let mut conf = vec![0f64; bins];
    for s in xs {
        let b = ((s.confidence as f64 * bins as f64) as usize).min(bins - 1);
        count[b] += 1.0;
        conf[b] += s.confidence as f64;
        if s.truth == s.predicted {
            correct[b] += 1.0;
        }
    }
    let n = xs.len() as f64;
    (0..bins)
        .filter(|&b| count[b] > 0.0)
        .map(|b| (count[b] / n) * (correct[b] / count[b] - conf[b] / count[b]).abs())
        .sum()
}

/// One bin of a reliability diagram: the predictions whose confidence fell in
/// `[lower, upper)`, their mean confidence and their accuracy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityBin {
    pub lower: f32,
    pub upper: f32,
    pub count: usize,
    pub confidence: f64,
    pub accuracy: f64,
}

/// The reliability diagram over `bins` equal-width confidence bins, empty bins left out.
pub fn reliability(xs: &[Scored], bins: usize) -> Vec<ReliabilityBin> {
    let mut out: Vec<ReliabilityBin> = (0..bins)
        .map(|b| ReliabilityBin {
            lower: b as f32 / bins as f32,
            upper: (b + 1) as f32 / bins as f32,
            count: 0,
            confidence: 0.0,
            accuracy: 0.0,
        })
        .collect();
    for s in xs {
        let bin = &mut out[((s.confidence as f64 * bins as f64) as usize).min(bins - 1)];
        bin.count += 1;
        bin.confidence += f64::from(s.confidence);
        bin.accuracy += f64::from(u8::from(s.truth == s.predicted));
    }
    out.retain(|b| b.count > 0);
    for b in &mut out {
        b.confidence /= b.count as f64;
        b.accuracy /= b.count as f64;
    }
    out
}

/// Coverage and accuracy at each confidence threshold.
pub fn coverage_at(xs: &[Scored], thresholds: &[f32]) -> Vec<Coverage> {
    thresholds
        .iter()
        .map(|&t| {
            let kept: Vec<Scored> = xs.iter().copied().filter(|s| s.confidence >= t).collect();
            Coverage {
                threshold: t,
                coverage: kept.len() as f64 / xs.len().max(1) as f64,
                accuracy: accuracy(&kept),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(truth: usize, predicted: usize, confidence: f32) -> Scored {
        Scored {
            truth,
            predicted,
            confidence,
        }
    }

    #[test]
    fn accuracy_and_macro_f1() {
        let xs = [s(0, 0, 0.9), s(0, 1, 0.6), s(1, 1, 0.8), s(1, 1, 0.7)];
        assert_eq!(accuracy(&xs), 0.75);
        // class 0: tp1 fp0 fn1 -> 2/3; class 1: tp2 fp1 fn0 -> 4/5.
        assert!((macro_f1(&xs, 2) - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_perfectly_calibrated_set_has_zero_ece_and_an_overconfident_one_does_not() {
        let calibrated: Vec<Scored> = (0..10)
            .map(|i| s(0, if i < 8 { 0 } else { 1 }, 0.8))
            .collect();
        assert!(
            expected_calibration_error(&calibrated, 15) < 1e-6,
            "only f32 rounding"
        );
        let overconfident: Vec<Scored> = (0..10)
            .map(|i| s(0, if i < 5 { 0 } else { 1 }, 0.99))
            .collect();
        assert!((expected_calibration_error(&overconfident, 15) - 0.49).abs() < 1e-6);
    }

    #[test]
    fn reliability_bins_hold_their_predictions_mean_confidence_and_accuracy() {
        let xs = [s(0, 0, 0.95), s(0, 1, 0.91), s(1, 1, 0.15), s(1, 1, 1.0)];
        let bins = reliability(&xs, 10);
        assert_eq!(bins.len(), 2, "empty bins are left out: {bins:?}");
        assert_eq!(
            (bins[0].lower, bins[0].count, bins[0].accuracy),
            (0.1, 1, 1.0)
        );
        assert_eq!((bins[1].lower, bins[1].upper, bins[1].count), (0.9, 1.0, 3));
        assert!((bins[1].confidence - (0.95 + 0.91 + 1.0) / 3.0).abs() < 1e-6);
        assert!((bins[1].accuracy - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn coverage_counts_only_confident_predictions() {
        let xs = [s(0, 0, 0.95), s(0, 1, 0.55), s(1, 1, 0.85)];
        let c = coverage_at(&xs, &[0.5, 0.8, 0.99]);
        assert_eq!(c[0].coverage, 1.0);
        assert!((c[1].coverage - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(c[1].accuracy, 1.0);
        assert_eq!(c[2].coverage, 0.0);
        assert!(c[2].accuracy.is_nan());
    }
}
