//! Embedding speed: documents (title + abstract, as the background worker embeds them) per
//! second in worker-sized rounds, and the latency of embedding one short query.

use std::path::PathBuf;
use std::time::Instant;

use paperboy_search::embed::Embedder;
use paperboy_search::semantic::paper_text;

use crate::queries;
use crate::stats::Samples;

pub struct Options {
    pub model_dir: PathBuf,
    pub records: PathBuf,
    pub docs: usize,
    pub batch: usize,
    pub queries: usize,
    pub seed: u64,
}

pub fn run(o: Options) -> anyhow::Result<()> {
    let embedder = Embedder::load(&o.model_dir)?;
    let papers = queries::load_papers(&o.records)?;
    let texts: Vec<String> = papers.iter().take(o.docs).map(paper_text).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    // Warm-up: page the weights in and size the allocator's pools.
    embedder.embed(&refs[..refs.len().min(8)])?;

    let tokens = embedder.count_tokens(&refs)?;
    let t = Instant::now();
    for chunk in refs.chunks(o.batch.max(1)) {
        embedder.embed(chunk)?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!("| what | value |");
    println!("|---|---|");
    println!(
        "| documents embedded | {} ({} tokens, {:.0} per document, rounds of {}) |",
        refs.len(),
        tokens,
        tokens as f64 / refs.len().max(1) as f64,
        o.batch
    );
    println!("| documents per second | {:.2} |", refs.len() as f64 / secs);
    println!("| tokens per second | {:.0} |", tokens as f64 / secs);

    let qs = queries::generate(&papers, o.queries, o.seed);
    let mut times = Samples::default();
    for q in &qs {
        let t = Instant::now();
        embedder.embed_query(&q.text)?;
        times.push(t.elapsed());
    }
    println!(
        "| query embedding ({} queries) | median {:.2} ms, p99 {:.2} ms |",
        qs.len(),
        times.median_ms(),
        times.p99_ms()
    );
    Ok(())
}
