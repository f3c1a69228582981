//! The import's parts timed apart, in one process, through the same library calls the `paperboy
//! import` command makes: parse the file, merge the records into SQLite in batches, then build the
//! search index from the store's change feed. (`paperboy import` overlaps parsing with the SQLite
//! writes on a second thread; here they run one after the other so each can be timed.)

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use paperboy_core::{DailyEntry, Paper};
use paperboy_ingest::{Record, RecordError, Sink};
use paperboy_search::SearchIndex;
use paperboy_store::Store;

use crate::stats::{disk_size, mib};

/// The batch size `paperboy import` uses (paperboy_cli::import::BATCH).
const BATCH: usize = 2_000;

pub struct Options {
    pub records: Vec<PathBuf>,
    pub work_dir: PathBuf,
}

pub fn run(rt: &tokio::runtime::Runtime, o: Options) -> anyhow::Result<()> {
    crate::fresh_work_dir(&o.work_dir)?;

    struct Collect(Vec<(Paper, Option<DailyEntry>)>, u64);
    impl Sink for Collect {
        fn record(&mut self, item: Result<Record, RecordError>) {
            match item {
                Ok(r) => self.0.push(r.into_parts()),
                Err(_) => self.1 += 1,
            }
        }
    }
    let t = Instant::now();
    let mut sink = Collect(Vec::new(), 0);
    for path in &o.records {
        paperboy_ingest::read_path(path, &mut sink)
            .with_context(|| format!("read {}", path.display()))?;
    }
    let parse = t.elapsed();
    let (records, rejected) = (sink.0, sink.1);
    let n = records.len();

    let db = o.work_dir.join("paperboy.sqlite3");
    let store: Arc<dyn Store> = paperboy_store::open(db.to_str().context("path")?, true)?;
    let t = Instant::now();
    let mut batches = Vec::new();
    let mut it = records.into_iter().peekable();
    while it.peek().is_some() {
        batches.push(it.by_ref().take(BATCH).collect::<Vec<_>>());
    }
    let mut new = 0;
    for batch in batches {
        let changes = rt.block_on(store.import(batch))?;
        new += changes
            .iter()
            .filter(|c| **c == paperboy_store::Change::New)
            .count();
    }
    let sqlite = t.elapsed();

    let index_dir = o.work_dir.join("index");
    let t = Instant::now();
    let (index, _) = SearchIndex::open(&index_dir)?;
    let indexed = rt.block_on(index.catch_up(&*store, |_| {}))?;
    let tantivy = t.elapsed();
    drop(index);
    drop(store);

    let total = parse + sqlite + tantivy;
    let rate = |d: std::time::Duration| n as f64 / d.as_secs_f64();
    println!(
        "## Import phases, timed apart ({n} records read, {rejected} rejected, {new} new papers)"
    );
    println!();
    println!("| phase | seconds | records/s | share |");
    println!("|---|---:|---:|---:|");
    for (name, d) in [
        ("parse (gunzip + JSON + domain records)", parse),
        ("SQLite merge (`Store::import`, batches of 2,000)", sqlite),
        ("tantivy index build (`SearchIndex::catch_up`)", tantivy),
        ("sum", total),
    ] {
        println!(
            "| {name} | {:.2} | {:.0} | {:.0}% |",
            d.as_secs_f64(),
            rate(d),
            100.0 * d.as_secs_f64() / total.as_secs_f64()
        );
    }
    println!();
    println!(
        "- {indexed} papers indexed; database {}, index {}",
        mib(disk_size(&db) + disk_size(&o.work_dir.join("paperboy.sqlite3-wal"))),
        mib(disk_size(&index_dir))
    );
    Ok(())
}
