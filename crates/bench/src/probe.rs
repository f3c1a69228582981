//! One keyword query at a time on an existing index: `SearchIndex::search` (the plan, the top
//! hits and the capped total, ids read; no HTTP, no hydration) for each line of stdin, opened
//! read-only beside a server or without one. For attributing a latency tail to queries and for
//! timing a change to the search code on the same index, query by query.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

use paperboy_search::{SearchIndex, SearchQuery};

use crate::stats::Samples;

pub struct Options {
    /// The index folder (`DATA_DIR/index`).
    pub index: PathBuf,
    pub repeat: usize,
    pub limit: usize,
}

pub fn run(o: Options) -> anyhow::Result<()> {
    let index = SearchIndex::open_read_only(&o.index)?;
    println!("| query | median ms | best ms | total | top 3 (id: score) |");
    println!("|---|---:|---:|---:|---|");
    for line in std::io::stdin().lock().lines() {
        let text = line?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let q = SearchQuery {
            text: text.to_string(),
            category: None,
            from: None,
            to: None,
            offset: 0,
            limit: o.limit,
        };
        let mut times = Samples::default();
        let mut last = None;
        for _ in 0..o.repeat {
            let start = Instant::now();
            last = Some(index.search(&q)?);
            times.push(start.elapsed());
        }
        let results = last.expect("repeat is at least 1");
        let top: Vec<String> = results
            .hits
            .iter()
            .take(3)
            .map(|h| format!("{}: {:.2}", h.id.as_str(), h.score))
            .collect();
        println!(
            "| {text} | {:.2} | {:.2} | {} | {} |",
            times.median_ms(),
            times.percentile_ms(0.0),
            paperboy_search::shown_total(results.total),
            top.join(", ")
        );
    }
    Ok(())
}
