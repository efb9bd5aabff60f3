//! - `nexify-bench api`: warm latency and throughput of the ticket-list handler (50 rows and
//!   counts, JWT verified, RLS transaction) beside a pgbench script of the same statements at
//!   the same concurrency; its database round trips and Postgres time per request.
//! - `nexify-bench triage`: the worker's own throughput and end-to-end triage throughput
//!   (enqueue through LocalStack SQS to suggestion) beside pgbench TPC-B.
//! - `nexify-bench outbound`: a ticket change to the local receiver's 200 through the outbox,
//!   SQS and the deliverer, p50 and p99, beside the signed post alone.
//! - `nexify-bench embed`: MiniLM throughput beside the naive batching loop.
//! - `nexify-bench retrieval`: vector retrieval over 100k chunks (10 and 100 orgs): recall@10
//!   and latency beside exact search.
//! - `nexify-bench coldstart`: each function's init time beside a bare `lambda_runtime`
//!   function (needs `scripts/build-zips.sh` first).
//! - `nexify-bench zips`: each function's zip size (from `scripts/build-zips.sh`).
//! - `nexify-bench report <dir> [benchmarks...]`: runs them all (or the ones named) and
//!   writes `<dir>/report.md` and `<dir>/report.json`, every figure beside its same-run
//!   baseline.
//!
//! Needs `DATABASE_URL` (the schema owner) and `PGBENCH` (path to pgbench); `scripts/bench.sh`
//! sets both. Works in scratch databases it creates and drops.

// The SDK send futures nested in the benchmarks are deeper than the default limit allows.
#![recursion_limit = "256"]

mod api;
mod coldstart;
mod django;
mod embed;
mod outbound;
mod pgbench;
mod pgstat;
mod report;
mod retrieval;
mod roundtrips;
mod scratch;
mod triage;

const ALL: [&str; 7] = [
    "api",
    "triage",
    "outbound",
    "embed",
    "retrieval",
    "coldstart",
    "zips",
];

async fn run(name: &str) -> anyhow::Result<()> {
    match name {
        "api" => api::run().await,
        "triage" => triage::run().await,
        "outbound" => outbound::run().await,
        "embed" => embed::run(),
        "retrieval" => retrieval::run().await,
        "coldstart" => coldstart::run().await,
        "zips" => zips(),
        _ => anyhow::bail!("usage: nexify-bench {}|report <dir> [names]", ALL.join("|")),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("report") => {
            let dir = std::path::PathBuf::from(args.get(1).map_or("bench/latest", String::as_str));
            let names: Vec<&str> = if args.len() > 2 {
                args[2..].iter().map(String::as_str).collect()
            } else {
                ALL.to_vec()
            };
            for name in &names {
                run(name).await?;
            }
            write_report(&dir, &report::take())
        }
        Some(name) => run(name).await,
        None => run("").await,
    }
}

/// Each function's zip, as `scripts/build-zips.sh` left it in `target/lambda/`.
fn zips() -> anyhow::Result<()> {
    let root =
        std::path::PathBuf::from(std::env::var("NEXIFY_ROOT").unwrap_or_else(|_| ".".into()));
    println!("\n## Lambda zips (scripts/build-zips.sh)\n");
    println!("| function | zip (MB) | goal |");
    println!("|---|---|---|");
    for name in coldstart::FUNCTIONS {
        let zip = root.join(format!("target/lambda/{name}/bootstrap.zip"));
        let mb = std::fs::metadata(&zip)
            .map_err(|e| anyhow::anyhow!("{}: {e}; run scripts/build-zips.sh", zip.display()))?
            .len() as f64
            / 1_048_576.0;
        println!("| {name} | {mb:.2} | ≤ 5 MB |");
        report::record(report::Figure::new("zip size", name, mb, "MB").goal("≤ 5 MB", mb <= 5.0));
    }
    Ok(())
}

fn write_report(dir: &std::path::Path, figures: &[report::Figure]) -> anyhow::Result<()> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let context = serde_json::json!({
        "date": std::env::var("NEXIFY_BENCH_DATE").unwrap_or_default(),
        "commit": std::env::var("NEXIFY_COMMIT").unwrap_or_default(),
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
    });
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.md"), report::markdown(figures, &context))?;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(
            &serde_json::json!({ "context": context, "figures": figures }),
        )?,
    )?;
    println!("\nwrote {0}/report.md and {0}/report.json", dir.display());
    Ok(())
}

/// The value at quantile `q` of sorted `xs`.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[idx]
}
