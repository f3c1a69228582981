//! Embedding speed: documents (title + abstract, as the background worker embeds them) per
//! second in worker-sized rounds, and the latency of embedding one short query, per kernel.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use paperboy_search::embed::Embedder;
use paperboy_search::kernel::{Kernel, KernelChoice};
use paperboy_search::semantic::paper_text;

use crate::queries;
use crate::stats::Samples;

pub struct Options {
    pub model_dir: PathBuf,
    pub records: PathBuf,
    pub docs: usize,
    pub batch: usize,
    pub kernels: Vec<KernelChoice>,
    pub texts_out: Option<PathBuf>,
    pub vectors_out: Option<PathBuf>,
    /// Timed passes over the documents per kernel.
    pub rounds: usize,
    pub queries: usize,
    pub seed: u64,
}

/// `--kernel`: a comma-separated list of settings, or `all` (every kernel this CPU runs).
pub fn kernels(arg: &str) -> anyhow::Result<Vec<KernelChoice>> {
    if arg.trim() == "all" {
        return Kernel::available()
            .into_iter()
            .map(|k| k.name().parse().map_err(anyhow::Error::msg))
            .collect();
    }
    arg.split(',')
        .map(|k| k.parse().map_err(anyhow::Error::msg))
        .collect()
}

pub fn run(o: Options) -> anyhow::Result<()> {
    let papers = queries::load_papers(&o.records)?;
    let texts: Vec<String> = papers.iter().take(o.docs).map(paper_text).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    if let Some(path) = &o.texts_out {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for t in &texts {
            writeln!(f, "{}", serde_json::to_string(t)?)?;
        }
        f.flush()?;
    }
    let qs = queries::generate(&papers, o.queries, o.seed);
    let embedders = o
        .kernels
        .iter()
        .map(|&choice| Embedder::load_with(&o.model_dir, choice))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = embedders.first() else {
        anyhow::bail!("no kernel to measure");
    };
    let tokens = first.count_tokens(&refs)?;
    for e in &embedders {
        // Warm-up: page the weights in and size the allocator's pools.
        e.embed(&refs[..refs.len().min(8)])?;
    }
    // Passes interleaved (each kernel once, then again), so that a slower stretch of a noisy
    // machine weighs on every kernel alike; each kernel's median pass is reported.
    let mut passes = vec![Vec::new(); embedders.len()];
    for round in 0..o.rounds.max(1) {
        for (i, embedder) in embedders.iter().enumerate() {
            let mut vectors = Vec::with_capacity(refs.len());
            let t = Instant::now();
            for chunk in refs.chunks(o.batch.max(1)) {
                vectors.extend(embedder.embed(chunk)?);
            }
            passes[i].push(t.elapsed().as_secs_f64());
            if let (0, Some(dir)) = (round, &o.vectors_out) {
                std::fs::create_dir_all(dir)?;
                let path = dir.join(format!("{}.jsonl", embedder.kernel()));
                let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
                for v in &vectors {
                    writeln!(f, "{}", serde_json::to_string(v)?)?;
                }
                f.flush()?;
            }
        }
    }
    let mut rows = Vec::new();
    for (embedder, mut secs) in embedders.iter().zip(passes) {
        secs.sort_by(f64::total_cmp);
        let secs = secs[secs.len() / 2];
        let mut times = Samples::default();
        for q in &qs {
            let t = Instant::now();
            embedder.embed_query(&q.text)?;
            times.push(t.elapsed());
        }
        rows.push((embedder.kernel(), secs, times));
    }
    println!(
        "{} documents ({} tokens, {:.0} per document, rounds of {}), the median of {} interleaved passes; {} short queries one at a time",
        refs.len(),
        tokens,
        tokens as f64 / refs.len().max(1) as f64,
        o.batch,
        o.rounds.max(1),
        qs.len()
    );
    println!();
    println!("| kernel | documents/s | tokens/s | query median | query p99 |");
    println!("|---|---:|---:|---:|---:|");
    for (kernel, secs, times) in &rows {
        println!(
            "| {kernel} | {:.2} | {:.0} | {:.2} ms | {:.2} ms |",
            refs.len() as f64 / secs,
            tokens as f64 / secs,
            times.median_ms(),
            times.p99_ms()
        );
    }
    Ok(())
}
