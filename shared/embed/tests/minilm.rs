//! The candle MiniLM embedder against sentence-transformers' own vectors (made once by
//! `fixtures/make_minilm_reference.py`). Needs the weights: `NEXIFY_MINILM_PATH`, which
//! `make test` sets.

use std::path::PathBuf;

use nexify_embed::{DIM, Embedder, LazyMiniLm, MiniLmEmbedder};

fn model_dir() -> PathBuf {
    PathBuf::from(std::env::var("NEXIFY_MINILM_PATH").expect(
        "NEXIFY_MINILM_PATH must name the all-MiniLM-L6-v2 folder (make test installs and sets it)",
    ))
}

fn reference() -> Vec<(String, Vec<f32>)> {
    let text = include_str!("fixtures/minilm_reference.json");
    let rows: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
    rows.into_iter()
        .map(|r| {
            let v = r["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            (r["text"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn matches_sentence_transformers_in_one_batch_and_one_by_one() {
    let embedder = MiniLmEmbedder::load(&model_dir()).unwrap();
    let reference = reference();
    let texts: Vec<&str> = reference.iter().map(|(t, _)| t.as_str()).collect();
    let batched = embedder.embed(&texts).unwrap();
    assert_eq!(batched.len(), reference.len());
    for ((text, want), got) in reference.iter().zip(&batched) {
        assert_eq!(got.len(), DIM);
        let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-4,
            "{text:?} is not unit length: {norm}"
        );
        let delta = (1.0 - cosine(got, want)).abs();
        assert!(delta < 1e-3, "{text:?}: |Δcos| = {delta}");
        // Padding inside a batch must not change a text's vector.
        let alone = embedder.embed(&[text.as_str()]).unwrap().remove(0);
        let drift = (1.0 - cosine(&alone, got)).abs();
        assert!(drift < 1e-4, "{text:?}: batched vs alone |Δcos| = {drift}");
    }
    // Different texts really differ (a constant output would pass the checks above only if
    // the fixture were constant too).
    assert!(cosine(&batched[0], &batched[1]) < 0.9);
}

#[test]
fn a_missing_model_folder_is_a_load_error() {
    let err = MiniLmEmbedder::load(std::path::Path::new("/nonexistent/minilm")).unwrap_err();
    assert!(err.to_string().contains("config.json"), "{err}");
}

#[test]
fn the_lazy_embedder_reads_the_weights_on_first_use_and_matches_the_eager_one() {
    let lazy = LazyMiniLm::new(&model_dir()).unwrap();
    assert!(!lazy.is_loaded(), "nothing is read at start-up");
    assert_eq!(lazy.name(), "minilm-l6-v2");
    assert!(!lazy.is_loaded(), "its name needs no weights");
    let texts = ["my card was declined", "how do I reset my password?"];
    let got = lazy.embed(&texts).unwrap();
    assert!(lazy.is_loaded());
    let want = MiniLmEmbedder::load(&model_dir())
        .unwrap()
        .embed(&texts)
        .unwrap();
    assert_eq!(got, want);
    // A wrong folder still fails at start-up, naming the missing file.
    let err = LazyMiniLm::new(std::path::Path::new("/nonexistent/minilm")).unwrap_err();
    assert!(err.to_string().contains("config.json"), "{err}");
}
