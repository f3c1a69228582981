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
    let mut tokens = 0;
    let mut rows = Vec::new();
    for &choice in &o.kernels {
        let embedder = Embedder::load_with(&o.model_dir, choice)?;
        tokens = embedder.count_tokens(&refs)?;
        // Warm-up: page the weights in and size the allocator's pools.
        embedder.embed(&refs[..refs.len().min(8)])?;
        let t = Instant::now();
        for chunk in refs.chunks(o.batch.max(1)) {
            embedder.embed(chunk)?;
        }
        let secs = t.elapsed().as_secs_f64();
        let mut times = Samples::default();
        for q in &qs {
            let t = Instant::now();
            embedder.embed_query(&q.text)?;
            times.push(t.elapsed());
        }
        rows.push((embedder.kernel(), secs, times));
    }
    println!(
        "{} documents ({} tokens, {:.0} per document, rounds of {}); {} short queries one at a time",
        refs.len(),
        tokens,
        tokens as f64 / refs.len().max(1) as f64,
        o.batch,
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
