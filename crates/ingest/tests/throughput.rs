//! Parse-speed measurements on the real files. Ignored by default; run with
//! `cargo test -p paperboy-ingest --release --test throughput -- --ignored --nocapture`.

use std::path::Path;
use std::time::Instant;

use paperboy_ingest::{read_bytes, read_path, Record, RecordError, Sink};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

#[derive(Default)]
struct Count {
    ok: u64,
    err: u64,
    authors: u64,
}

impl Sink for Count {
    fn record(&mut self, item: Result<Record, RecordError>) {
        match item {
            Ok(r) => {
                self.ok += 1;
                self.authors += r.paper().authors.len() as u64;
            }
            Err(_) => self.err += 1,
        }
    }
}

fn report(what: &str, c: &Count, secs: f64, bytes: u64) {
    println!(
        "{what}: {} records ({} rejected) in {:.3} s = {:.0} records/s, {:.1} MB/s of input",
        c.ok,
        c.err,
        secs,
        c.ok as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}

#[test]
#[ignore = "a measurement, not a check; run in --release"]
fn throughput() {
    let data = Path::new(DATA);
    if !data.exists() {
        eprintln!("skipping: {} is absent", data.display());
        return;
    }
    for rel in [
        "arxiv-listings/arxiv_listings_2025-03_2026-07.jsonl.gz",
        "hf-daily-papers/raw_daily_papers_api_json.tar.gz",
        "hf-daily-papers/hf_daily_papers_2024-05_2026-08.jsonl.gz",
    ] {
        let path = data.join(rel);
        let t = Instant::now();
        let mut c = Count::default();
        read_path(&path, &mut c).unwrap();
        report(
            rel,
            &c,
            t.elapsed().as_secs_f64(),
            std::fs::metadata(&path).unwrap().len(),
        );
    }

    // Kaggle: the 200-line fixture repeated to 100,000 lines, parsed from memory (plain, as the
    // 4.5 GB snapshot ships).
    let lines =
        std::fs::read(data.join("fixtures/kaggle_arxiv_metadata_oai_snapshot_first200.jsonl"))
            .unwrap();
    let big = lines.repeat(500);
    let t = Instant::now();
    let mut c = Count::default();
    read_bytes("arxiv-metadata-oai-snapshot.json", &big, &mut c).unwrap();
    report(
        "kaggle snapshot x500 (in memory)",
        &c,
        t.elapsed().as_secs_f64(),
        big.len() as u64,
    );
}
