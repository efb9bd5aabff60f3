//! The benchmark report: every figure a benchmark prints is also recorded here, with the
//! baseline measured in the same run, and `nexify-bench report` writes them all as markdown
//! and JSON.

use std::sync::Mutex;

use serde::Serialize;

/// One measured figure beside its same-run baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub benchmark: &'static str,
    pub metric: String,
    pub value: f64,
    pub unit: &'static str,
    /// What the figure is compared with, measured in the same run.
    pub baseline: Option<String>,
    pub baseline_value: Option<f64>,
    /// value / baseline_value.
    pub ratio: Option<f64>,
    pub goal: Option<String>,
    pub met: Option<bool>,
}

impl Figure {
    pub fn new(
        benchmark: &'static str,
        metric: impl Into<String>,
        value: f64,
        unit: &'static str,
    ) -> Self {
        Self {
            benchmark,
            metric: metric.into(),
            value,
            unit,
            baseline: None,
            baseline_value: None,
            ratio: None,
            goal: None,
            met: None,
        }
    }

    pub fn against(mut self, baseline: impl Into<String>, value: f64) -> Self {
        self.baseline = Some(baseline.into());
        self.baseline_value = Some(value);
        self.ratio = Some(self.value / value);
        self
    }

    pub fn goal(mut self, goal: impl Into<String>, met: bool) -> Self {
        self.goal = Some(goal.into());
        self.met = Some(met);
        self
    }
}

static FIGURES: Mutex<Vec<Figure>> = Mutex::new(Vec::new());

pub fn record(figure: Figure) {
    FIGURES.lock().unwrap().push(figure);
}

pub fn take() -> Vec<Figure> {
    std::mem::take(&mut *FIGURES.lock().unwrap())
}

fn number(x: f64) -> String {
    if !x.is_finite() {
        "–".into()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// A ratio as `2.50×`, or as `1/797×` when it is too small for two decimals.
fn ratio(r: f64) -> String {
    if r > 0.0 && r < 0.01 {
        format!("1/{:.0}×", 1.0 / r)
    } else {
        format!("{r:.2}×")
    }
}

/// The report as markdown: a header on where and when it ran, then one table.
pub fn markdown(figures: &[Figure], context: &serde_json::Value) -> String {
    let mut out = String::from("# Nexify benchmark report\n\n");
    out.push_str(&format!(
        "Run {} on {} ({} cores), commit `{}`. Reproduce with `scripts/bench.sh report` \
         (or `make bench`). Every baseline was measured in the same run, on the same machine.\n\n",
        context["date"].as_str().unwrap_or("?"),
        context["cpu"].as_str().unwrap_or("?"),
        context["cores"],
        context["commit"].as_str().unwrap_or("?"),
    ));
    out.push_str("| benchmark | metric | value | baseline (same run) | ratio | goal | met |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for f in figures {
        let baseline = match (&f.baseline, f.baseline_value) {
            (Some(name), Some(v)) => format!("{name}: {}", number(v)),
            _ => "–".into(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            f.benchmark,
            f.metric,
            format!("{} {}", number(f.value), f.unit).trim_end(),
            baseline,
            f.ratio.map_or("–".into(), ratio),
            f.goal.as_deref().unwrap_or("–"),
            match f.met {
                Some(true) => "yes",
                Some(false) => "no",
                None => "–",
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_states_its_ratio_and_the_table_shows_it() {
        let f = Figure::new("api", "p50", 0.6, "ms")
            .against("pgbench -S", 0.2)
            .goal("≤ 3×", true);
        assert!((f.ratio.unwrap() - 3.0).abs() < 1e-9);
        let md = markdown(
            &[f],
            &serde_json::json!({"date": "d", "cpu": "c", "cores": 2, "commit": "x"}),
        );
        assert!(
            md.contains("| api | p50 | 0.600 ms | pgbench -S: 0.200 | 3.00× | ≤ 3× | yes |"),
            "{md}"
        );
        assert_eq!(ratio(1.49 / 1187.0), "1/797×");
        assert_eq!(ratio(0.23), "0.23×");
    }
}
