//! Runs pgbench as the same-run baseline.

use std::process::Command;

use anyhow::{Context, bail};

#[derive(Debug, Clone, Copy)]
pub struct PgbenchResult {
    pub tps: f64,
    pub latency_ms: f64,
}

fn pgbench() -> String {
    std::env::var("PGBENCH").unwrap_or_else(|_| "pgbench".into())
}

/// `pgbench -i` into `url`'s database at scale `scale`.
pub fn init(url: &str, scale: u32) -> anyhow::Result<()> {
    let out = Command::new(pgbench())
        .args(["-i", "-q", "-s", &scale.to_string(), url])
        .output()
        .context("running pgbench -i (set PGBENCH)")?;
    if !out.status.success() {
        bail!(
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Runs the custom `script` (prepared statements, as sqlx runs them) with its `:variables`
/// set from `defines`: the database's own floor for the same statements.
pub fn run_script(
    url: &str,
    clients: u32,
    seconds: u32,
    script: &str,
    defines: &[(&str, String)],
) -> anyhow::Result<PgbenchResult> {
    let path = std::env::temp_dir().join(format!("nexify-bench-{}.sql", std::process::id()));
    std::fs::write(&path, script)?;
    let path_arg = path.display().to_string();
    let defines: Vec<String> = defines.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut extra = vec!["-M", "prepared", "-f", path_arg.as_str()];
    for d in &defines {
        extra.extend(["-D", d.as_str()]);
    }
    let result = run(url, clients, seconds, &extra);
    let _ = std::fs::remove_file(&path);
    result
}

/// Runs pgbench with `extra` args (e.g. `-S` for select-only, none for TPC-B) for `seconds`.
pub fn run(url: &str, clients: u32, seconds: u32, extra: &[&str]) -> anyhow::Result<PgbenchResult> {
    let clients_s = clients.to_string();
    let seconds_s = seconds.to_string();
    let mut args = vec![
        "-n",
        "-c",
        clients_s.as_str(),
        "-j",
        clients_s.as_str(),
        "-T",
        seconds_s.as_str(),
    ];
    args.extend_from_slice(extra);
    args.push(url);
    let out = Command::new(pgbench())
        .args(&args)
        .output()
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("pgbench failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let grab = |prefix: &str| -> anyhow::Result<f64> {
        let line = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .with_context(|| format!("no '{prefix}' in pgbench output:\n{text}"))?;
        let value = line[prefix.len()..].split_whitespace().next().unwrap_or("");
        value.parse().with_context(|| format!("parsing '{line}'"))
    };
    Ok(PgbenchResult {
        tps: grab("tps = ")?,
        latency_ms: grab("latency average = ")?,
    })
}
