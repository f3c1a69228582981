//! Search by meaning at scale: a corpus of N papers (the real records, repeated under shifted ids
//! when N is larger than the file), its keyword index, and one vector per paper. Real embeddings
//! cost ~130 ms each here, so only `seeds` real abstracts are embedded; every paper's vector is a
//! random convex mix of three seeds' vectors plus a little noise (a stated synthetic distribution
//! over the region real embeddings occupy). Queries are real query texts embedded by the real model.
//!
//! Reports: the embedding rate, query embedding latency, the vector index's build time, memory,
//! file size and load time, HNSW recall@10 against an exact scan, and the latency of vector-only
//! and hybrid search with and without the query's embedding.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use paperboy_core::{ArxivId, Paper};
use paperboy_search::embed::Embedder;
use paperboy_search::hybrid::{self, Mode};
use paperboy_search::semantic::{paper_text, Fusion, Semantic};
use paperboy_search::vectors::VectorIndex;
use paperboy_search::{SearchIndex, SearchQuery};
use paperboy_store::Store;

use crate::queries::{self, Rng};
use crate::stats::{disk_size, mib, Samples};

pub struct Options {
    pub model_dir: PathBuf,
    pub records: PathBuf,
    pub work_dir: PathBuf,
    pub papers: usize,
    pub seeds: usize,
    pub seed_cache: Option<PathBuf>,
    /// Build the vector index with `upsert` in a loop rather than `upsert_many`.
    pub one_at_a_time: bool,
    pub queries: usize,
    pub seed: u64,
}

/// `2503.01234` repeated as `2403.01234`, `2303.01234`, ...: new ids, same text.
fn shifted(id: &ArxivId, r: usize) -> Option<ArxivId> {
    let s = id.as_str();
    let yy: usize = s.get(0..2)?.parse().ok()?;
    if s.contains('/') || yy < r + 8 {
        return None;
    }
    ArxivId::parse(&format!("{:02}{}", yy - r, &s[2..])).ok()
}

fn corpus(real: &[Paper], n: usize) -> Vec<Paper> {
    let mut out: Vec<Paper> = real.iter().take(n).cloned().collect();
    let mut r = 1;
    while out.len() < n && r < 16 {
        for p in real {
            if out.len() >= n {
                break;
            }
            if let Some(id) = shifted(&p.id, r) {
                let mut q = p.clone();
                q.id = id;
                out.push(q);
            }
        }
        r += 1;
    }
    out
}

fn gaussian(rng: &mut Rng) -> f32 {
    // Box-Muller
    let u1 = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let u2 = ((rng.next_u64() >> 11) as f64) / (1u64 << 53) as f64;
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
}

/// A random convex mix of three real embeddings plus a little isotropic noise: vectors spread
/// over the region real abstracts occupy, with neighbours at every distance.
fn synthetic(seeds: &[Vec<f32>], rng: &mut Rng) -> Vec<f32> {
    let picks: Vec<(&Vec<f32>, f32)> = (0..3)
        .map(|_| {
            let w = ((rng.next_u64() >> 40) as f32 + 1.0) / (1u64 << 24) as f32;
            (&seeds[rng.below(seeds.len())], w)
        })
        .collect();
    let mut v = vec![0f32; seeds[0].len()];
    for (seed, w) in picks {
        for (x, y) in v.iter_mut().zip(seed) {
            *x += w * y;
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    for x in &mut v {
        *x += 0.01 * norm * gaussian(rng);
    }
    paperboy_search::embed::normalize(&mut v);
    v
}

pub fn run(rt: &tokio::runtime::Runtime, o: Options) -> anyhow::Result<()> {
    crate::fresh_work_dir(&o.work_dir)?;
    let embedder = Arc::new(Embedder::load(&o.model_dir)?);
    let real = queries::load_papers(&o.records)?;
    let papers = corpus(&real, o.papers);
    println!(
        "## Search by meaning over {} papers ({} real records{})",
        papers.len(),
        real.len().min(papers.len()),
        if papers.len() > real.len() {
            ", repeated under shifted ids"
        } else {
            ""
        }
    );
    println!();
    println!("| what | value |");
    println!("|---|---|");

    // Keyword side: the store and tantivy index, as `paperboy import` builds them.
    let db = o.work_dir.join("paperboy.sqlite3");
    let store: Arc<dyn Store> = paperboy_store::open(db.to_str().context("path")?, true)?;
    let t = Instant::now();
    for chunk in papers.chunks(2_000) {
        rt.block_on(store.import(chunk.iter().map(|p| (p.clone(), None)).collect()))?;
    }
    let (index, _) = SearchIndex::open(&o.work_dir.join("index"))?;
    rt.block_on(index.catch_up(&*store, |_| {}))?;
    println!(
        "| keyword side built (SQLite + tantivy) | {:.0} s |",
        t.elapsed().as_secs_f64()
    );

    // Seeds: real embeddings of real abstracts (cached between runs).
    let dim = embedder.dim();
    let seeds: Vec<Vec<f32>> = match o.seed_cache.as_ref().filter(|p| p.exists()) {
        Some(p) => {
            let bytes = std::fs::read(p)?;
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect::<Vec<f32>>()
                .chunks_exact(dim)
                .map(<[f32]>::to_vec)
                .collect()
        }
        None => {
            let texts: Vec<String> = real.iter().take(o.seeds).map(paper_text).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let t = Instant::now();
            let mut out = Vec::new();
            for chunk in refs.chunks(64) {
                out.extend(embedder.embed(chunk)?);
            }
            println!(
                "| real abstracts embedded | {} at {:.2}/s |",
                out.len(),
                out.len() as f64 / t.elapsed().as_secs_f64()
            );
            if let Some(p) = &o.seed_cache {
                let bytes: Vec<u8> = out.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
                std::fs::write(p, bytes)?;
            }
            out
        }
    };
    anyhow::ensure!(!seeds.is_empty(), "no seed vectors");

    let vectors = VectorIndex::new(dim);
    let mut rng = Rng::new(o.seed);
    let t = Instant::now();
    let how = if o.one_at_a_time {
        for p in &papers {
            vectors.upsert(p.id.clone(), &synthetic(&seeds, &mut rng));
        }
        "one at a time"
    } else {
        for page in papers.chunks(10_000) {
            vectors.upsert_many(
                page.iter()
                    .map(|p| (p.id.clone(), synthetic(&seeds, &mut rng))),
            );
        }
        "in batches on every core"
    };
    let build = t.elapsed().as_secs_f64();
    let (nodes, bytes) = vectors.footprint();
    println!(
        "| vector index build ({nodes} vectors {how}, HNSW M={}, ef_construction={}) | {build:.0} s ({:.0} inserts/s) |",
        paperboy_search::vectors::M,
        paperboy_search::vectors::EF_CONSTRUCTION,
        nodes as f64 / build
    );
    println!(
        "| vector index memory (int8 codes + graph + ids) | {} ({:.0} bytes per paper; f32 alone would be {}) |",
        mib(bytes as u64),
        bytes as f64 / nodes as f64,
        mib((nodes * dim * 4) as u64)
    );
    let file = o.work_dir.join("vectors.idx");
    let t = Instant::now();
    vectors.save(&file, "bench@0")?;
    let save = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (vectors, _) = VectorIndex::load(&file, paperboy_search::vectors::EXACT_BELOW)?;
    println!(
        "| index file | {}; saved in {save:.1} s, loaded in {:.1} s |",
        mib(disk_size(&file)),
        t.elapsed().as_secs_f64()
    );

    // Queries: real texts, embedded by the model.
    let qs = queries::generate(&real, o.queries, o.seed);
    let mut embed_t = Samples::default();
    let mut qv = Vec::with_capacity(qs.len());
    for q in &qs {
        let t = Instant::now();
        qv.push(embedder.embed_query(&q.text)?);
        embed_t.push(t.elapsed());
    }
    println!(
        "| query embedding ({} queries) | median {:.2} ms, p99 {:.2} ms |",
        qs.len(),
        embed_t.median_ms(),
        embed_t.p99_ms()
    );

    // Two query sets: real query texts embedded by the model (short, unlike abstracts), and
    // held-out vectors from the corpus's own distribution (what "similar papers" asks).
    let held_out: Vec<Vec<f32>> = (0..qv.len()).map(|_| synthetic(&seeds, &mut rng)).collect();
    for (label, set) in [("query texts", &qv), ("held-out papers", &held_out)] {
        let mut exact_t = Samples::default();
        let mut exact = Vec::with_capacity(set.len());
        for v in set.iter() {
            let t = Instant::now();
            exact.push(vectors.nearest_exact(v, 10));
            exact_t.push(t.elapsed());
        }
        println!(
            "| {label}: exact scan, k=10 | median {:.2} ms, p99 {:.2} ms |",
            exact_t.median_ms(),
            exact_t.p99_ms()
        );
        for ef in [128, 256, 512] {
            let mut graph_t = Samples::default();
            let mut hit = 0usize;
            for (v, want) in set.iter().zip(&exact) {
                let t = Instant::now();
                let got = vectors.nearest_graph(v, 10, ef);
                graph_t.push(t.elapsed());
                hit += got
                    .iter()
                    .filter(|g| want.iter().any(|e| e.0 == g.0))
                    .count();
            }
            println!(
                "| {label}: HNSW, k=10, ef={ef} | median {:.2} ms, p99 {:.2} ms; recall@10 {:.4} |",
                graph_t.median_ms(),
                graph_t.p99_ms(),
                hit as f64 / (10 * set.len()) as f64
            );
        }
    }

    let semantic = Semantic::with_vectors(embedder.clone(), vectors);
    let fusion = Fusion::default();
    let (mut hybrid_t, mut total_t) = (Samples::default(), Samples::default());
    for (q, v) in qs.iter().zip(&qv) {
        let sq = SearchQuery {
            text: q.text.clone(),
            limit: 10,
            ..SearchQuery::default()
        };
        let t = Instant::now();
        hybrid::search(&index, Some(&semantic), &sq, Mode::Hybrid, Some(v), fusion)?;
        hybrid_t.push(t.elapsed());
        let t = Instant::now();
        let v = embedder.embed_query(&q.text)?;
        hybrid::search(&index, Some(&semantic), &sq, Mode::Hybrid, Some(&v), fusion)?;
        total_t.push(t.elapsed());
    }
    println!(
        "| hybrid search, limit 10 (vector index: {}) | median {:.2} ms, p99 {:.2} ms |",
        if semantic.vectors().len() < paperboy_search::vectors::EXACT_BELOW {
            "exact".to_string()
        } else {
            format!("HNSW, ef={}", paperboy_search::vectors::EF_SEARCH)
        },
        hybrid_t.median_ms(),
        hybrid_t.p99_ms()
    );
    println!(
        "| hybrid search including the query's embedding | median {:.2} ms, p99 {:.2} ms |",
        total_t.median_ms(),
        total_t.p99_ms()
    );
    println!(
        "| peak RSS of this process | {:.0} MiB |",
        crate::stats::rss_peak_mib()
    );
    Ok(())
}
