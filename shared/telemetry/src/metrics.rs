//! CloudWatch metrics as Embedded Metric Format (EMF): one JSON line on stdout per
//! measurement, which CloudWatch Logs turns into metrics with no API call and no agent.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//!
//! Metrics, all in the `Nexify` namespace:
//! - `ApiLatency` (Milliseconds) and `ApiRequests` (Count), by `Function`, `Route` and
//!   `StatusClass` (`2xx`…`5xx`), and `ApiErrors5xx`;
//! - `TriageDuration` (Milliseconds), `TriageJobs` (Count) by `Outcome` (`succeeded`,
//!   `failed`, `already_done`), and `TriageConfidence` (None);
//! - `QueueAge` (Milliseconds): how long a triage message waited in SQS before the worker.

use std::sync::Mutex;

pub const NAMESPACE: &str = "Nexify";

/// One value to record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric<'a> {
    pub name: &'a str,
    pub value: f64,
    /// One of CloudWatch's units, e.g. `Milliseconds`, `Count`, `None`.
    pub unit: &'a str,
}

/// The EMF line for `metrics` under one set of `dimensions` (name, value).
pub fn emf_line(dimensions: &[(&str, &str)], metrics: &[Metric<'_>], timestamp_ms: u64) -> String {
    let line = Line {
        dimensions,
        metrics,
        timestamp_ms,
    };
    serde_json::to_string(&line).expect("an EMF line has string keys and finite numbers")
}

/// One EMF line, serialized as it is walked: every API request writes one, so it builds no
/// JSON tree first.
struct Line<'a> {
    dimensions: &'a [(&'a str, &'a str)],
    metrics: &'a [Metric<'a>],
    timestamp_ms: u64,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Aws<'a> {
    timestamp: u64,
    cloud_watch_metrics: [Directive<'a>; 1],
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive<'a> {
    namespace: &'static str,
    dimensions: DimensionSets<'a>,
    #[serde(serialize_with = "metric_definitions")]
    metrics: &'a [Metric<'a>],
}

/// The named set, and the empty set: the total over all values, which the template's
/// alarms watch.
struct DimensionSets<'a>(&'a [(&'a str, &'a str)]);

impl serde::Serialize for DimensionSets<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let named: Vec<&str> = self.0.iter().map(|(k, _)| *k).collect();
        if named.is_empty() {
            s.collect_seq([named])
        } else {
            s.collect_seq([named, Vec::new()])
        }
    }
}

fn metric_definitions<S: serde::Serializer>(
    metrics: &&[Metric<'_>],
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Definition<'a> {
        name: &'a str,
        unit: &'a str,
    }
    s.collect_seq(metrics.iter().map(|m| Definition {
        name: m.name,
        unit: m.unit,
    }))
}

impl serde::Serialize for Line<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1 + self.dimensions.len() + self.metrics.len()))?;
        map.serialize_entry(
            "_aws",
            &Aws {
                timestamp: self.timestamp_ms,
                cloud_watch_metrics: [Directive {
                    namespace: NAMESPACE,
                    dimensions: DimensionSets(self.dimensions),
                    metrics: self.metrics,
                }],
            },
        )?;
        for (key, value) in self.dimensions {
            map.serialize_entry(key, value)?;
        }
        for m in self.metrics {
            // EMF values must be numbers; a NaN or infinity would make the line invalid.
            let value = if m.value.is_finite() { m.value } else { 0.0 };
            map.serialize_entry(m.name, &value)?;
        }
        map.end()
    }
}

/// Lines captured instead of printed, while a test holds [`capture`].
static CAPTURED: Mutex<Option<Vec<String>>> = Mutex::new(None);

/// Writes one EMF line to stdout (where Lambda sends it to CloudWatch Logs).
pub fn emit(dimensions: &[(&str, &str)], metrics: &[Metric<'_>]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let line = emf_line(dimensions, metrics, now);
    if let Some(lines) = CAPTURED.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        lines.push(line);
        return;
    }
    println!("{line}");
}

/// For tests: collects the lines emitted until [`take_captured`] instead of printing them.
pub fn capture() {
    *CAPTURED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Vec::new());
}

/// The lines captured since [`capture`]; capturing goes on.
pub fn take_captured() -> Vec<String> {
    CAPTURED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
        .map(std::mem::take)
        .unwrap_or_default()
}

/// The literal path segments of the API's routes (template.yaml; a test in the gateway keeps
/// them in step). Any other segment is an id, or noise.
pub const ROUTE_WORDS: &[&str] = &[
    "api",
    "auth",
    "token",
    "refresh",
    "me",
    "orgs",
    "tickets",
    "events",
    "messages",
    "triage",
    "jobs",
    "suggestions",
    "accept",
    "reject",
    "settings",
    "webhook-secret",
    "members",
    "invites",
    "logout",
    "password",
    "password-reset",
    "confirm",
    "signup",
    "webhooks",
    "documents",
    "kb",
    "search",
    "imports",
    "models",
    "outcomes",
    "retrain",
    "health",
    "openapi.json",
    "webhook-endpoints",
    "deliveries",
    "redeliver",
    "test",
];

/// The most segments a route has; a longer path is one dimension value, `{other}`.
const MAX_ROUTE_SEGMENTS: usize = 8;

/// `/api/orgs/0b7c…/tickets/x1/` → `/api/orgs/{id}/tickets/{id}/`: a route, not a path,
/// so a metric's dimension values stay few whatever paths a caller invents. API Gateway's
/// own route key is preferred where there is one (`nexify_http::serve`); this shapes the
/// rest (direct invocations).
pub fn route_of(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() > MAX_ROUTE_SEGMENTS + 2 {
        return "{other}".into();
    }
    segments
        .into_iter()
        .map(|segment| {
            if segment.is_empty() || ROUTE_WORDS.contains(&segment) {
                segment
            } else {
                "{id}"
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Why a line is not valid EMF.
#[derive(Debug, thiserror::Error)]
pub enum EmfError {
    #[error("not JSON")]
    NotJson(#[source] serde_json::Error),
    /// The rule of the specification the line breaks.
    #[error("{0}")]
    Rule(std::borrow::Cow<'static, str>),
}

impl From<&'static str> for EmfError {
    fn from(rule: &'static str) -> Self {
        EmfError::Rule(rule.into())
    }
}

impl From<String> for EmfError {
    fn from(rule: String) -> Self {
        EmfError::Rule(rule.into())
    }
}

/// Checks a line against the EMF specification's rules (for tests, here and elsewhere).
pub fn check_emf(line: &str) -> Result<serde_json::Value, EmfError> {
    const UNITS: [&str; 5] = ["Milliseconds", "Count", "None", "Seconds", "Percent"];
    let v: serde_json::Value = serde_json::from_str(line).map_err(EmfError::NotJson)?;
    let aws = &v["_aws"];
    if !aws["Timestamp"].is_u64() {
        return Err(EmfError::from("_aws.Timestamp must be epoch milliseconds"));
    }
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .filter(|d| !d.is_empty())
        .ok_or("_aws.CloudWatchMetrics must be a non-empty array")?;
    for d in directives {
        if d["Namespace"].as_str().is_none_or(|n| n.is_empty()) {
            return Err(EmfError::from("Namespace must be a non-empty string"));
        }
        for set in d["Dimensions"]
            .as_array()
            .ok_or("Dimensions must be an array")?
        {
            let set = set.as_array().ok_or("a dimension set must be an array")?;
            if set.len() > 30 {
                return Err(EmfError::from("at most 30 dimensions"));
            }
            for key in set {
                let key = key.as_str().ok_or("dimension names are strings")?;
                if !v[key].is_string() {
                    return Err(EmfError::from(format!(
                        "dimension {key} must be a string at the root"
                    )));
                }
            }
        }
        let metrics = d["Metrics"]
            .as_array()
            .filter(|m| !m.is_empty() && m.len() <= 100)
            .ok_or("Metrics must hold 1 to 100 metrics")?;
        for m in metrics {
            let name = m["Name"].as_str().ok_or("a metric needs a Name")?;
            if !v[name].is_number() {
                return Err(EmfError::from(format!(
                    "metric {name} must be a number at the root"
                )));
            }
            if !UNITS.contains(&m["Unit"].as_str().unwrap_or("None")) {
                return Err(EmfError::from(format!("metric {name} has an unknown unit")));
            }
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_valid_emf(line: &str) {
        if let Err(e) = check_emf(line) {
            panic!("{e}: {line}");
        }
    }

    #[test]
    fn lines_follow_the_emf_specification() {
        let line = emf_line(
            &[
                ("Function", "tickets"),
                ("Route", "GET /api/orgs/{id}/tickets/"),
            ],
            &[
                Metric {
                    name: "ApiLatency",
                    value: 3.5,
                    unit: "Milliseconds",
                },
                Metric {
                    name: "ApiRequests",
                    value: 1.0,
                    unit: "Count",
                },
            ],
            1_764_000_000_000,
        );
        assert_valid_emf(&line);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ApiLatency"], 3.5);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Nexify");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Function", "Route"], []])
        );
        // A non-finite value would break the line; it is written as 0.
        assert_valid_emf(&emf_line(
            &[],
            &[Metric {
                name: "X",
                value: f64::NAN,
                unit: "None",
            }],
            1,
        ));
        // The checker really rejects what is not EMF.
        assert!(check_emf(r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["Route"]],"Metrics":[{"Name":"X","Unit":"Count"}]}]},"X":1}"#).is_err());
        assert!(check_emf(r#"{"X":1}"#).is_err());
    }

    #[test]
    fn routes_hide_ids() {
        assert_eq!(
            route_of(
                "/api/orgs/0b7c2f1e-1234-4cde-8f00-000000000001/tickets/9f1e2f1e-1234-4cde-8f00-000000000002/"
            ),
            "/api/orgs/{id}/tickets/{id}/"
        );
        assert_eq!(route_of("/api/health/"), "/api/health/");
        // Made-up segments never become dimension values of their own.
        assert_eq!(route_of("/api/orgs/x1/tickets/"), "/api/orgs/{id}/tickets/");
        assert_eq!(route_of("/api/orgs/x2/tickets/"), "/api/orgs/{id}/tickets/");
        assert_eq!(route_of("/wp-admin/setup.php"), "/{id}/{id}");
        assert_eq!(route_of(&"/a".repeat(50)), "{other}");
    }
}
