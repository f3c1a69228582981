//! Keyword search latency: paperboy's `SearchIndex::search` against SQLite FTS5 with bm25() over
//! the same papers, the same queries, in one process and one run, interleaved query by query so
//! that the machine's noise falls on both alike.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use paperboy_core::Paper;
use paperboy_search::text::{analyzer, distinct_words, TOKENIZER};
use paperboy_search::{SearchIndex, SearchQuery};
use paperboy_store::Store;
use rusqlite::{params, Connection};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, QueryParser, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Index, ReloadPolicy, Term};

use crate::queries::{self, Kind, Query};
use crate::stats::{disk_size, mib, Samples};

pub struct Options {
    pub data_dir: PathBuf,
    pub records: PathBuf,
    pub queries: usize,
    pub seed: u64,
    pub rounds: usize,
    pub limit: usize,
    pub fts_dir: Option<PathBuf>,
    /// paperboy's title boost, mirrored in FTS5's bm25() column weight and the diagnostics.
    pub title_boost: f32,
}

/// Every visible paper in the store, through the same change feed the search index follows.
async fn store_papers(store: &dyn Store) -> anyhow::Result<Vec<Paper>> {
    let mut out = Vec::new();
    let mut seq = 0;
    loop {
        let batch = store.changes_since(seq, 5_000).await?;
        let Some(last) = batch.last().map(|c| c.0) else {
            break;
        };
        seq = last;
        out.extend(batch.into_iter().filter(|c| c.2).map(|c| c.1));
    }
    Ok(out)
}

/// The comparison database: a contentless FTS5 table over title, abstract and authors (so its
/// size is the index alone, like paperboy's tantivy index, which stores only the id), Porter-
/// stemmed like paperboy's English stemmer, merged into one b-tree (`optimize`); ids in a rowid
/// table beside it.
fn build_fts(path: &Path, papers: &[Paper]) -> anyhow::Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;
         CREATE VIRTUAL TABLE docs USING fts5(
             title, abstract, authors, content = '', tokenize = 'porter unicode61');
         CREATE TABLE ids (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL);",
    )?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO docs (rowid, title, abstract, authors) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut insert_id = tx.prepare("INSERT INTO ids (rowid, id) VALUES (?1, ?2)")?;
        for (i, p) in papers.iter().enumerate() {
            let authors = p.author_names();
            let rowid = i as i64 + 1;
            insert.execute(params![rowid, p.title, p.summary, authors.join(", ")])?;
            insert_id.execute(params![rowid, p.id.as_str()])?;
        }
    }
    tx.commit()?;
    conn.execute("INSERT INTO docs (docs) VALUES ('optimize')", [])?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(conn)
}

/// `"w1" OR "w2" ...`: the terms of the query, any of them, as tantivy's default (OR) parser does.
fn fts_match(q: &Query) -> String {
    q.words()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The best `limit` by bm25 (title weighted like paperboy's title boost), then their ids.
fn fts_top_sql(title_boost: f32) -> String {
    format!(
        "SELECT i.id FROM (
             SELECT rowid AS r, bm25(docs, {title_boost:.3}, 1.0, 1.0) AS s FROM docs WHERE docs MATCH ?1
             ORDER BY s LIMIT ?2) m
         JOIN ids i ON i.rowid = m.r ORDER BY m.s"
    )
}
/// How many papers match: what paperboy's search also returns (`total`).
const FTS_COUNT: &str = "SELECT count(*) FROM docs WHERE docs MATCH ?1";

fn fts_top(conn: &Connection, sql: &str, m: &str, limit: usize) -> anyhow::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![m, limit as i64], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn fts_count(conn: &Connection, m: &str) -> anyhow::Result<usize> {
    let mut stmt = conn.prepare_cached(FTS_COUNT)?;
    Ok(stmt.query_row(params![m], |r| r.get::<_, i64>(0))? as usize)
}

/// The shapes of tantivy query the diagnostics time.
#[derive(Clone, Copy)]
enum Shape {
    /// What `SearchIndex::search` built for plain words from commit 88a2873 until common words
    /// were split off: one flat OR of boosted term queries (freqs only) over title, abstract and
    /// authors, inside a `Must` clause.
    PlainOr,
    /// The same flat OR without the `Must` wrapper: the shape tantivy's block-max WAND can prune
    /// when `TopDocs` collects alone.
    Flat,
    /// tantivy's QueryParser over the three fields (paperboy before 88a2873): one nested boolean
    /// per term.
    Parser,
}

/// A read-only second handle on paperboy's own index that builds paperboy's query (and two other
/// shapes) itself, to time the parts of a search apart.
struct Replica {
    index: Index,
    reader: tantivy::IndexReader,
    parser: QueryParser,
    fields: [(tantivy::schema::Field, f32); 3],
}

impl Replica {
    fn open(dir: &Path, title_boost: f32) -> anyhow::Result<Replica> {
        let index = Index::open_in_dir(dir)?;
        index.tokenizers().register(TOKENIZER, analyzer());
        let schema = index.schema();
        let (title, summary, authors) = (
            schema.get_field("title")?,
            schema.get_field("summary")?,
            schema.get_field("authors")?,
        );
        let mut parser = QueryParser::for_index(&index, vec![title, summary, authors]);
        parser.set_field_boost(title, title_boost);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Replica {
            index,
            reader,
            parser,
            fields: [(title, title_boost), (summary, 1.0), (authors, 1.0)],
        })
    }

    fn flat(&self, text: &str) -> anyhow::Result<BooleanQuery> {
        let mut analyzer = self.index.tokenizer_for_field(self.fields[0].0)?;
        let words = distinct_words(&mut analyzer, text);
        let mut clauses: Vec<(Occur, Box<dyn tantivy::query::Query>)> = Vec::new();
        for w in &words {
            for (field, boost) in self.fields {
                let term = TermQuery::new(
                    Term::from_field_text(field, w),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(term), boost)),
                ));
            }
        }
        Ok(BooleanQuery::new(clauses))
    }

    fn query(&self, shape: Shape, text: &str) -> anyhow::Result<BooleanQuery> {
        Ok(match shape {
            Shape::PlainOr => BooleanQuery::new(vec![(Occur::Must, Box::new(self.flat(text)?))]),
            Shape::Flat => self.flat(text)?,
            Shape::Parser => {
                let (q, _) = self.parser.parse_query_lenient(text);
                BooleanQuery::new(vec![(Occur::Must, q)])
            }
        })
    }

    /// Top `limit` (ids not read), and with `count` the total too; returns the total or hits.
    fn run(&self, shape: Shape, count: bool, text: &str, limit: usize) -> anyhow::Result<usize> {
        let q = self.query(shape, text)?;
        let searcher = self.reader.searcher();
        Ok(if count {
            searcher.search(&q, &(TopDocs::with_limit(limit), Count))?.1
        } else {
            searcher.search(&q, &TopDocs::with_limit(limit))?.len()
        })
    }

    /// The arXiv ids of the top `limit` of a shape.
    fn top_ids(&self, shape: Shape, text: &str, limit: usize) -> anyhow::Result<Vec<String>> {
        let q = self.query(shape, text)?;
        let searcher = self.reader.searcher();
        let id = self.index.schema().get_field("id")?;
        let mut out = Vec::new();
        for (_, addr) in searcher.search(&q, &TopDocs::with_limit(limit))? {
            let doc: tantivy::TantivyDocument = searcher.doc(addr)?;
            if let Some(v) = tantivy::schema::Value::as_str(&doc.get_first(id).unwrap()) {
                out.push(v.to_owned());
            }
        }
        Ok(out)
    }

    fn segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }
}

/// The diagnostic rows: (label, shape, with the total count).
const DIAGNOSTICS: [(&str, Shape, bool); 4] = [
    (
        "diagnostic: plain OR of every word (before the common-words split), `(TopDocs, Count)`",
        Shape::PlainOr,
        true,
    ),
    (
        "diagnostic: plain OR of every word, `TopDocs` only (no total)",
        Shape::PlainOr,
        false,
    ),
    (
        "diagnostic: flat OR without the `Must` wrapper, `TopDocs` only",
        Shape::Flat,
        false,
    ),
    (
        "diagnostic: QueryParser's nested query (before 88a2873), `(TopDocs, Count)`",
        Shape::Parser,
        true,
    ),
];

fn timed<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, Duration)> {
    let t = Instant::now();
    let v = f()?;
    Ok((v, t.elapsed()))
}

#[derive(Default)]
struct Series {
    paperboy: Samples,
    hydrated: Samples,
    fts_top: Samples,
    fts_top_count: Samples,
    diagnostics: [Samples; 4],
}

pub fn run(rt: &tokio::runtime::Runtime, o: Options) -> anyhow::Result<()> {
    let db = o.data_dir.join("paperboy.sqlite3");
    let store: Arc<dyn Store> = paperboy_store::open(db.to_str().context("path")?, false)
        .with_context(|| format!("open {} (import first)", db.display()))?;
    let index_dir = o.data_dir.join("index");
    let (index, fresh) = SearchIndex::open(&index_dir)?;
    let caught_up = rt.block_on(index.catch_up(&*store, |_| {}))?;
    if fresh || caught_up > 0 {
        eprintln!("note: the index was missing or behind; {caught_up} papers (re)indexed first");
    }

    let papers = queries::load_papers(&o.records)?;
    let qs = queries::generate(&papers, o.queries, o.seed);
    drop(papers);
    anyhow::ensure!(!qs.is_empty(), "no queries generated");

    let indexed = rt.block_on(store_papers(&*store))?;
    let tmp = tempfile::tempdir()?;
    let fts_path = match &o.fts_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            let p = d.join("fts5.sqlite3");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
            p
        }
        None => tmp.path().join("fts5.sqlite3"),
    };
    let t = Instant::now();
    let fts = build_fts(&fts_path, &indexed)?;
    let fts_build = t.elapsed();
    let fts_size = disk_size(&fts_path);
    let replica = Replica::open(&index_dir, o.title_boost)?;
    let top_sql = fts_top_sql(o.title_boost);

    println!("## Keyword search: paperboy (tantivy) vs SQLite FTS5");
    println!();
    println!(
        "- papers: {} in the store, {} in paperboy's index ({} segments, {}), {} in FTS5 ({}, built in {:.1} s)",
        indexed.len(),
        index.num_docs(),
        replica.segments(),
        mib(disk_size(&index_dir)),
        indexed.len(),
        mib(fts_size),
        fts_build.as_secs_f64()
    );
    let count = |k: Kind| qs.iter().filter(|q| q.kind == k).count();
    println!(
        "- queries: {} (seed {}): {} title phrases, {} single words, {} author names; e.g. {}",
        qs.len(),
        o.seed,
        count(Kind::Phrase),
        count(Kind::Word),
        count(Kind::Author),
        qs.iter()
            .take(4)
            .map(|q| format!("\"{}\"", q.text))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "- title weight {} in FTS5 bm25() and the diagnostics (paperboy's boost), abstract and authors 1.0",
        o.title_boost
    );
    println!(
        "- limit {}, one warm-up pass, then {} rounds of all queries, engines interleaved per query: {} timed calls per row",
        o.limit,
        o.rounds,
        qs.len() * o.rounds
    );

    // Warm-up, and the agreement between the engines' top results.
    let mut overlap = 0.0;
    let mut plain_overlap = 0.0;
    let mut totals_pb = Vec::new();
    let mut totals_fts = Vec::new();
    for q in &qs {
        let res = index.search(&sq(&q.text, o.limit))?;
        let ids: HashSet<String> = res.hits.iter().map(|h| h.id.to_string()).collect();
        let fts_ids = fts_top(&fts, &top_sql, &fts_match(q), o.limit)?;
        let fts_total = fts_count(&fts, &fts_match(q))?;
        let common = fts_ids.iter().filter(|id| ids.contains(*id)).count();
        let denom = ids.len().max(fts_ids.len()).max(1);
        overlap += common as f64 / denom as f64;
        let plain = replica.top_ids(Shape::PlainOr, &q.text, o.limit)?;
        let same = plain.iter().filter(|id| ids.contains(*id)).count();
        plain_overlap += same as f64 / ids.len().max(plain.len()).max(1) as f64;
        totals_pb.push(res.total);
        totals_fts.push(fts_total);
        for (_, shape, count) in DIAGNOSTICS {
            replica.run(shape, count, &q.text, o.limit)?;
        }
    }
    overlap /= qs.len() as f64;
    plain_overlap /= qs.len() as f64;

    let mut all = Series::default();
    let mut by_kind: Vec<(Kind, Series)> = [Kind::Phrase, Kind::Word, Kind::Author]
        .into_iter()
        .map(|k| (k, Series::default()))
        .collect();
    for _ in 0..o.rounds {
        for q in &qs {
            let m = fts_match(q);
            let (res, d_pb) = timed(|| Ok(index.search(&sq(&q.text, o.limit))?))?;
            let ids: Vec<_> = res.hits.into_iter().map(|h| h.id).collect();
            let (_, d_h) = timed(|| Ok(rt.block_on(store.papers(&ids))?))?;
            let (_, d_ft) = timed(|| fts_top(&fts, &top_sql, &m, o.limit))?;
            let (_, d_fc) = timed(|| fts_count(&fts, &m))?;
            let mut d_diag = [Duration::ZERO; 4];
            for (d, (_, shape, count)) in d_diag.iter_mut().zip(DIAGNOSTICS) {
                *d = timed(|| replica.run(shape, count, &q.text, o.limit))?.1;
            }
            let kind = &mut by_kind.iter_mut().find(|(k, _)| *k == q.kind).unwrap().1;
            for s in [&mut all, kind] {
                s.paperboy.push(d_pb);
                s.hydrated.push(d_pb + d_h);
                s.fts_top.push(d_ft);
                s.fts_top_count.push(d_ft + d_fc);
                for (samples, d) in s.diagnostics.iter_mut().zip(d_diag) {
                    samples.push(d);
                }
            }
        }
    }

    println!();
    println!("| engine, call | median ms | p99 ms | mean ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    let row = |name: &str, s: &Samples| {
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.2} |",
            s.median_ms(),
            s.p99_ms(),
            s.mean_ms(),
            s.max_ms()
        )
    };
    row(
        "paperboy `SearchIndex::search` (top 10 ids + total)",
        &all.paperboy,
    );
    row(
        "paperboy search + hydrate (`Store::papers` of the hits)",
        &all.hydrated,
    );
    row("FTS5 bm25 top 10 ids", &all.fts_top);
    row(
        "FTS5 bm25 top 10 ids + total (a second `count(*)` statement)",
        &all.fts_top_count,
    );
    for ((name, _, _), samples) in DIAGNOSTICS.iter().zip(&all.diagnostics) {
        row(name, samples);
    }
    println!();
    let ratio = |a: &Samples, b: &Samples| {
        format!(
            "median {:.1}x, p99 {:.1}x",
            a.median_ms() / b.median_ms(),
            a.p99_ms() / b.p99_ms()
        )
    };
    println!(
        "- FTS5 top 10 / paperboy search: {}",
        ratio(&all.fts_top, &all.paperboy)
    );
    println!(
        "- FTS5 top 10 + total / paperboy search: {}",
        ratio(&all.fts_top_count, &all.paperboy)
    );
    println!(
        "- plain OR of every word with totals / paperboy search (the common-words split's gain): {}",
        ratio(&all.diagnostics[0], &all.paperboy)
    );
    println!(
        "- paperboy search / plain OR with TopDocs only: {}",
        ratio(&all.paperboy, &all.diagnostics[1])
    );
    println!(
        "- paperboy search / flat OR with TopDocs only: {}",
        ratio(&all.paperboy, &all.diagnostics[2])
    );
    println!(
        "- QueryParser's nested query / plain OR (both with totals, ids not read): {}",
        ratio(&all.diagnostics[3], &all.diagnostics[0])
    );
    println!(
        "- paperboy p99 {:.1} ms (goals: under 10 ms at 75k papers, issue 2; under 20 ms at 2.7 M, issue 6); faster than FTS5 at the median: {}",
        all.paperboy.p99_ms(),
        if all.paperboy.median_ms() < all.fts_top.median_ms() { "yes" } else { "no" }
    );
    println!(
        "- agreement: mean overlap of the two engines' top {} = {:.0}%; median matches per query: paperboy {}, FTS5 {}",
        o.limit,
        overlap * 100.0,
        median_usize(&totals_pb),
        median_usize(&totals_fts)
    );
    println!(
        "- paperboy's top {} against the plain OR's (what the common-words split changed): mean overlap {:.0}%",
        o.limit,
        plain_overlap * 100.0
    );
    println!();
    println!("| query kind | n | paperboy median / p99 ms | FTS5 top 10 median / p99 ms | flat OR, TopDocs only median / p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    for (k, s) in &by_kind {
        println!(
            "| {} | {} | {:.3} / {:.3} | {:.3} / {:.3} | {:.3} / {:.3} |",
            k.name(),
            s.paperboy.len() / o.rounds.max(1),
            s.paperboy.median_ms(),
            s.paperboy.p99_ms(),
            s.fts_top.median_ms(),
            s.fts_top.p99_ms(),
            s.diagnostics[2].median_ms(),
            s.diagnostics[2].p99_ms()
        );
    }
    Ok(())
}

fn sq(text: &str, limit: usize) -> SearchQuery {
    SearchQuery {
        text: text.to_string(),
        limit,
        ..Default::default()
    }
}

fn median_usize(v: &[usize]) -> usize {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}
