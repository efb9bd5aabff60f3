//! MiniLM embedding throughput on this machine's cores: short texts, full 256-token tickets,
//! and a realistic mix, each beside the naive loop (batches of 32 in input order, padded to
//! the longest) run in the same process on the same texts.

use std::time::Instant;

use nexify_embed::{Embedder, LazyMiniLm, MiniLmEmbedder};

const SHORT: [&str; 12] = [
    "My card was declined at checkout.",
    "How do I reset my password?",
    "I was charged twice this month.",
    "Where is my refund?",
    "The app will not sync since yesterday.",
    "Can I change the email on my account?",
    "Why is there a fee on my transfer?",
    "My top-up has not arrived yet.",
    "Please close my account.",
    "The export keeps failing with a timeout.",
    "Is there a limit on cash withdrawals?",
    "I need an invoice for last month.",
];

fn short_texts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{} (ref {i})", SHORT[i % SHORT.len()]))
        .collect()
}

/// Ticket bodies long enough to fill the model's 256-token window.
fn full_tickets(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut body = format!("Ticket {i}: ");
            for j in 0..48 {
                body.push_str(SHORT[(i + j) % SHORT.len()]);
                body.push(' ');
            }
            body
        })
        .collect()
}

/// What a queue of real tickets looks like: mostly short, some long.
fn mixed(n: usize) -> Vec<String> {
    let long = full_tickets(n);
    short_texts(n)
        .into_iter()
        .zip(long)
        .enumerate()
        .map(|(i, (s, l))| match i % 10 {
            0 => l,
            1 | 2 => format!("{s} {}", &l[..l.len() / 3]),
            _ => s,
        })
        .collect()
}

fn rate(
    texts: &[String],
    run: impl Fn(&[&str]) -> anyhow::Result<Vec<Vec<f32>>>,
) -> anyhow::Result<f64> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    run(&refs[..refs.len().min(8)])?; // warm-up
    let started = Instant::now();
    let out = run(&refs)?;
    anyhow::ensure!(out.len() == refs.len());
    Ok(refs.len() as f64 / started.elapsed().as_secs_f64())
}

/// What a function's start-up pays for `NEXIFY_EMBEDDER=minilm`: the lazy embedder checks
/// the files; reading and building the weights, as start-up did before, waits for the
/// first text.
fn load_times(dir: &std::path::Path) -> anyhow::Result<()> {
    let time = |f: &dyn Fn() -> anyhow::Result<()>| -> anyhow::Result<f64> {
        let mut ms = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            f()?;
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        Ok(ms[ms.len() / 2])
    };
    let eager = time(&|| MiniLmEmbedder::load(dir).map(drop).map_err(Into::into))?;
    let lazy = time(&|| LazyMiniLm::new(dir).map(drop).map_err(Into::into))?;
    println!("\n## MiniLM at start-up (median of 5, same run)\n");
    println!("| what start-up does | ms |\n|---|---|");
    println!("| read and build the weights (eager load) | {eager:.2} |");
    println!("| check the files, load on first use (`LazyMiniLm`) | {lazy:.3} |");
    crate::report::record(
        crate::report::Figure::new("embedding", "MiniLM at a function's start-up", lazy, "ms")
            .against("loading the weights at start-up", eager),
    );
    Ok(())
}

pub fn run() -> anyhow::Result<()> {
    let dir = std::env::var("NEXIFY_MINILM_PATH")
        .map_err(|_| anyhow::anyhow!("NEXIFY_MINILM_PATH is not set (scripts/bench.sh sets it)"))?;
    let dir = std::path::Path::new(&dir);
    load_times(dir)?;
    let model = MiniLmEmbedder::load(dir)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let full = full_tickets(64);
    anyhow::ensure!(
        model.token_count(&full[0])? == nexify_embed::MAX_TOKENS,
        "the long texts must fill the window"
    );
    println!("\n## MiniLM embedding throughput ({cores} cores, same run)\n");
    println!("| texts | naive: batches of 32, input order (texts/s) | nexify (texts/s) | ratio |");
    println!("|---|---|---|---|");
    for (name, texts) in [
        ("short sentences (~10 tokens)", short_texts(1024)),
        ("full tickets (256 tokens)", full),
        ("mix: 70% short, 20% medium, 10% full", mixed(512)),
    ] {
        let naive = rate(&texts, |t| Ok(model.embed_in_input_order(t, 32)?))?;
        let ours = rate(&texts, |t| Ok(model.embed(t)?))?;
        println!("| {name} | {naive:.1} | {ours:.1} | {:.2}x |", ours / naive);
        crate::report::record(
            crate::report::Figure::new("embedding", format!("MiniLM, {name}"), ours, "texts/s")
                .against("naive loop (batches of 32, input order)", naive)
                .goal("faster than naive", ours > naive),
        );
    }
    first_training_embeddings(&model)
}

/// A new org's first training embeds its whole imported history: 1,500 ticket-length texts,
/// embedded whole (up to the model's 256 tokens) and as the product embeds a ticket, from
/// its opening characters (`nexify_triage::embedding_text`).
fn first_training_embeddings(model: &MiniLmEmbedder) -> anyhow::Result<()> {
    const TICKETS: usize = 1_500;
    const GOAL_SECONDS: f64 = 120.0;
    let long = full_tickets(96);
    let opening: Vec<String> = long
        .iter()
        .map(|t| nexify_triage::embedding_text("Subject of the ticket", t))
        .collect();
    let whole = rate(&long, |t| Ok(model.embed(t)?))?;
    let prefix = rate(&opening, |t| Ok(model.embed(t)?))?;
    let (whole_s, prefix_s) = (TICKETS as f64 / whole, TICKETS as f64 / prefix);
    println!("\n## A first training's embeddings: {TICKETS} ticket-length texts (same run)\n");
    println!("| embedded | texts/s | {TICKETS} tickets (s) |\n|---|---|---|");
    println!("| whole, up to 256 tokens | {whole:.1} | {whole_s:.0} |");
    println!(
        "| the first {} characters | {prefix:.1} | {prefix_s:.0} |",
        nexify_triage::EMBED_CHARS
    );
    crate::report::record(
        crate::report::Figure::new(
            "embedding",
            format!("MiniLM, a first training's {TICKETS} ticket-length texts"),
            prefix_s,
            "s",
        )
        .against("embedding each whole ticket", whole_s)
        .goal("≤ 120 s on two cores", prefix_s <= GOAL_SECONDS),
    );
    Ok(())
}
