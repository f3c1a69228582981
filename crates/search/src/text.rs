//! The keyword index (tantivy, BM25).

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
use std::sync::Mutex;

use crate::union::TermUnion;
use chrono::NaiveDate;
use paperboy_core::{ArxivId, Paper};
use paperboy_store::Store;
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::query::Weight;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, QueryParser, RangeQuery,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::{
    doc, DocAddress, DocId, DocSet, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Score,
    SegmentOrdinal, SegmentReader, TantivyDocument, Term, TERMINATED,
};

/// Queries longer than this are refused: they are never a person's search and cost a lot.
pub const MAX_QUERY_CHARS: usize = 250;
/// Bumped whenever the schema or analysis changes; an index of another format is rebuilt.
const FORMAT: &str = "paperboy-text-v1";
const FORMAT_FILE: &str = "paperboy-format";
/// The name the index's text fields are analysed under ([`analyzer`]).
pub const TOKENIZER: &str = "en_stem";
/// Titles count a little more than abstracts. Measured on SciFact (train, `paperboy eval`):
/// nDCG@10 0.678 at 1.0, 0.667 at 1.2, 0.655 at 1.5, 0.625 at 2.0; 1.2 keeps BM25 at its
/// published level while a title match still wins ties on arXiv, where titles are searched for.
const TITLE_BOOST: f32 = 1.2;
/// A query word in more than this share of the papers, and more than [`COMMON_MIN_DOCS`] of them,
/// only adds to scores (see `SearchIndex::plan`).
const COMMON_SHARE: f64 = 0.05;
/// Candidates (at least) that a query's common words are scored on (see `plan`).
const RESCORE_POOL: usize = 100;
/// How many hits past a page's end are read so that ties at its edge are broken by id.
const TIE_MARGIN: usize = 8;

/// `hits` best score first, ties by arXiv id (the same order whatever the index's segment
/// layout, which background merges change), then the window `offset..offset + limit`.
fn best_first(mut hits: Vec<Hit>, offset: usize, limit: usize) -> Vec<Hit> {
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    hits.into_iter().skip(offset).take(limit).collect()
}
/// Postings shorter than this are cheap to walk: below it no word is treated as common, so small
/// collections rank exactly as a plain OR (on 250 SciFact abstracts the split cost 0.01 nDCG).
const COMMON_MIN_DOCS: u64 = 10_000;
const WRITER_HEAP: usize = 200_000_000;

/// What finds and counts a query's papers, and the common words' clauses added to the best of
/// them (see `SearchIndex::plan`).
struct Plan {
    matching: Box<dyn Query>,
    /// The common words' BM25, added to the best matches (None: nothing to add).
    rescore: Option<TermUnion>,
}

impl Plan {
    /// Whether `matching` finds its top hits without scoring every match: a bare [`TermUnion`].
    /// Otherwise (an intersection, filters, phrases) every match is scored anyway, and counted
    /// in the same pass.
    fn prunes(&self) -> bool {
        self.matching.is::<TermUnion>()
    }
}

/// Refuses queries over [`MAX_QUERY_CHARS`].
fn check_length(text: &str) -> Result<(), SearchError> {
    let chars = text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(SearchError::QueryTooLong(chars));
    }
    Ok(())
}
/// Papers read from the store, and committed, per batch when catching up.
const CATCH_UP_BATCH: usize = 5_000;
/// The same when building a fresh index: fewer commits leave fewer segments to merge (with 5,000,
/// the 74,728-paper benchmark spent ~10% of its CPU merging 9 segments).
const FRESH_BATCH: usize = 50_000;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("reading papers for the index: {0}")]
    Store(#[from] paperboy_store::StoreError),
    #[error("the query is {0} characters long; the limit is {MAX_QUERY_CHARS}")]
    QueryTooLong(usize),
    #[error("the search index was opened read-only")]
    ReadOnly,
    /// The blocking task that ran a search (or a query's embedding) panicked or was cancelled.
    #[error("search task failed: {0}")]
    Task(String),
}

impl SearchError {
    /// Another process (a running server) holds the index's writer lock.
    pub fn is_locked(&self) -> bool {
        matches!(
            self,
            SearchError::Index(tantivy::TantivyError::LockFailure(..))
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    /// Only papers in this category (any of their categories).
    pub category: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub offset: usize,
    pub limit: usize,
}

/// How deep into a ranking any query reads: results past this many are never looked at, so a
/// request for page 10^15 cannot make the index allocate `offset + limit` slots. Callers bound
/// their page numbers too; this is the index's own guard.
pub const MAX_DEPTH: usize = 10_000;

impl SearchQuery {
    /// The part of the ranking this query asks for, within [`MAX_DEPTH`]: `(offset, limit)`, the
    /// limit 0 when the offset is at or past the depth (no hits, only the count).
    pub fn window(&self) -> (usize, usize) {
        let offset = self.offset.min(MAX_DEPTH);
        (offset, self.limit.max(1).min(MAX_DEPTH - offset))
    }
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub id: ArxivId,
    pub score: f32,
}

#[derive(Debug, Clone)]
pub struct SearchResults {
    pub hits: Vec<Hit>,
    /// How many papers match in all, counted up to [`TOTAL_CAP`] (a total of `TOTAL_CAP` means
    /// "at least that many").
    pub total: usize,
}

/// Totals are counted up to here: as deep as anyone can page ([`MAX_DEPTH`]). A query of common
/// words matches millions of papers at 2.7 M; counting them all kept tantivy from skipping the
/// blocks that cannot reach the top ten, and cost more than finding them.
pub const TOTAL_CAP: usize = MAX_DEPTH;

/// A total as people read it: `10000+` at the cap, where it means "at least".
pub fn shown_total(total: usize) -> String {
    match total >= TOTAL_CAP {
        true => format!("{TOTAL_CAP}+"),
        false => total.to_string(),
    }
}

/// Counts matching documents, stopping at a cap shared by every segment.
struct CappedCount(usize);

impl Collector for CappedCount {
    type Fruit = usize;
    type Child = SegmentCount;

    fn for_segment(&self, _: SegmentOrdinal, _: &SegmentReader) -> tantivy::Result<SegmentCount> {
        Ok(SegmentCount(0))
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, counts: Vec<usize>) -> tantivy::Result<usize> {
        Ok(counts.into_iter().sum::<usize>().min(self.0))
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<usize> {
        let mut scorer = weight.scorer(reader, 1.0)?;
        let alive = reader.alive_bitset();
        let mut n = 0;
        let mut doc = scorer.doc();
        while doc != TERMINATED && n < self.0 {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                n += 1;
            }
            doc = scorer.advance();
        }
        Ok(n)
    }
}

struct SegmentCount(usize);

impl SegmentCollector for SegmentCount {
    type Fruit = usize;

    fn collect(&mut self, _: DocId, _: Score) {
        self.0 += 1;
    }

    fn harvest(self) -> usize {
        self.0
    }
}

struct Fields {
    id: Field,
    title: Field,
    summary: Field,
    authors: Field,
    category: Field,
    day: Field,
}

pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    /// None when opened read-only (another process, the server, holds the writer).
    writer: Option<Mutex<IndexWriter>>,
    fields: Fields,
    /// The change the reader's view has applied up to: moved only after `reader.reload()`, so
    /// "nothing pending" is never said while searches still see the commit before.
    searchable: AtomicI64,
}

/// The change sequence number the index's last commit carries (0 for a new index).
fn committed_seq(index: &Index) -> Result<i64, SearchError> {
    Ok(index
        .load_metas()?
        .payload
        .and_then(|p| p.parse().ok())
        .unwrap_or(0))
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        title: b.add_text_field("title", text.clone()),
        summary: b.add_text_field("summary", text.clone()),
        authors: b.add_text_field("authors", text),
        category: b.add_text_field("category", STRING),
        day: b.add_i64_field("day", INDEXED | FAST),
    };
    (b.build(), fields)
}

/// Whether `dir` holds an index of the format this build writes.
fn current_format(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(FORMAT_FILE)).is_ok_and(|f| f.trim() == FORMAT)
}

/// The analysis of titles, abstracts, authors and queries: words, lowercased, stemmed (English).
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(crate::stem::MemoStemmer)
        .build()
}

/// The distinct words `analyzer` makes of `text`, in order: the words a query searches for.
pub fn distinct_words(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut words: Vec<String> = Vec::new();
    while stream.advance() {
        let t = &stream.token().text;
        if !words.contains(t) {
            words.push(t.clone());
        }
    }
    words
}

/// Days since 1970-01-01 of the date a paper is filtered by: its first daily list, else published.
fn paper_day(p: &Paper) -> Option<i64> {
    let d = p.daily_date.or(p.published.map(|t| t.date_naive()))?;
    Some(day_number(d))
}

fn day_number(d: NaiveDate) -> i64 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days()
}

/// Threads one query's segments are searched on (0: one per core); see [`set_search_threads`].
static SEARCH_THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many threads each query searches the index's segments on, for indexes opened from now
/// on: 0 (the default) one per core, 1 none but the caller's. Set once at start-up.
pub fn set_search_threads(n: usize) {
    SEARCH_THREADS.store(n, AtomicOrdering::Relaxed);
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (empty) when missing or of another format.
    /// Returns whether it was (re)created, i.e. must be filled from the store.
    pub fn open(dir: &Path) -> Result<(SearchIndex, bool), SearchError> {
        let (schema, _) = schema();
        let (index, fresh) = match current_format(dir).then(|| Index::open_in_dir(dir)) {
            Some(Ok(index)) => (index, false),
            other => {
                if let Some(Err(e)) = other {
                    tracing::warn!(error = %e, "search index unreadable; rebuilding it");
                }
                if dir.exists() {
                    std::fs::remove_dir_all(dir)?;
                }
                std::fs::create_dir_all(dir)?;
                let index = Index::create_in_dir(dir, schema)?;
                std::fs::write(dir.join(FORMAT_FILE), FORMAT)?;
                (index, true)
            }
        };
        Ok((SearchIndex::over(dir, index, true)?, fresh))
    }

    /// Opens an existing index for searching only, beside a process that writes it (the server):
    /// nothing is locked, and it sees the writer's commits as of opening.
    pub fn open_read_only(dir: &Path) -> Result<SearchIndex, SearchError> {
        if !current_format(dir) {
            return Err(SearchError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no search index of this version in {}", dir.display()),
            )));
        }
        SearchIndex::over(dir, Index::open_in_dir(dir)?, false)
    }

    /// The index in `dir` with paperboy's analyser, a reader, and (when `writable`) the writer,
    /// which takes the index's lock.
    fn over(dir: &Path, mut index: Index, writable: bool) -> Result<SearchIndex, SearchError> {
        let (_, fields) = schema();
        index.tokenizers().register(TOKENIZER, analyzer());
        // A query's segments are searched on this many threads at once.
        let threads = match SEARCH_THREADS.load(AtomicOrdering::Relaxed) {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        if threads > 1 {
            index.set_multithread_executor(threads)?;
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = match writable {
            true => Some(Mutex::new(index.writer(WRITER_HEAP)?)),
            false => None,
        };
        let searchable = AtomicI64::new(committed_seq(&index)?);
        Ok(SearchIndex {
            dir: dir.to_owned(),
            index,
            reader,
            writer,
            fields,
            searchable,
        })
    }

    /// Whether this index can apply changes (false when opened read-only).
    pub fn writable(&self) -> bool {
        self.writer.is_some()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store change sequence number this index has applied up to, as searches see it.
    pub fn applied_seq(&self) -> Result<i64, SearchError> {
        Ok(self.searchable.load(AtomicOrdering::Acquire))
    }

    /// Applies every change the store has after the one this index last applied; returns how
    /// many papers were (re)indexed. Safe to call at any time and from several tasks.
    pub async fn catch_up(
        &self,
        store: &dyn Store,
        mut progress: impl FnMut(usize),
    ) -> Result<usize, SearchError> {
        let mut seq = committed_seq(&self.index)?;
        let fresh = seq == 0;
        let mut done = 0;
        loop {
            let batch = if fresh { FRESH_BATCH } else { CATCH_UP_BATCH };
            let changes = store.changes_since(seq, batch).await?;
            let Some(last) = changes.last().map(|c| c.0) else {
                break;
            };
            // A fresh index has none of these papers: nothing to replace.
            self.apply(&changes, |_| !fresh, last)?;
            done += changes.len();
            seq = last;
            progress(done);
        }
        Ok(done)
    }

    /// Builds a fresh (empty) index while an import fills the store, so that indexing and the
    /// import's database writes share the cores instead of taking turns: follows the change feed
    /// in batches of [`FRESH_BATCH`] as the import writes them, until `import` says the import
    /// has ended (or its sender is gone) and the feed is drained. Returns how many changes it
    /// applied, or None, doing nothing, when the index is not fresh ([`Self::catch_up`] then).
    /// A paper the import changes again after it was indexed is replaced, not indexed twice.
    pub async fn follow_fresh(
        &self,
        store: &dyn Store,
        import: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Option<usize>, SearchError> {
        self.follow_fresh_in(store, import, FRESH_BATCH).await
    }

    async fn follow_fresh_in(
        &self,
        store: &dyn Store,
        mut import: tokio::sync::watch::Receiver<bool>,
        batch: usize,
    ) -> Result<Option<usize>, SearchError> {
        let mut seq = committed_seq(&self.index)?;
        if seq != 0 {
            return Ok(None);
        }
        // Hashes of the ids indexed so far (8 bytes a paper; a collision only costs a delete).
        let mut indexed = rustc_hash::FxHashSet::<u64>::default();
        let mut done = 0;
        loop {
            // Read before the feed: once it says "ended", the feed holds every change.
            let ended = *import.borrow_and_update();
            if !ended && store.last_seq().await? - seq < batch as i64 {
                if import.changed().await.is_err() {
                    // The import is gone (it failed): index what it wrote, then stop.
                    import = tokio::sync::watch::channel(true).1;
                }
                continue;
            }
            let changes = store.changes_since(seq, batch).await?;
            let Some(last) = changes.last().map(|c| c.0) else {
                if ended {
                    return Ok(Some(done));
                }
                continue;
            };
            self.apply(
                &changes,
                |id| !indexed.insert(rustc_hash::FxBuildHasher.hash_one(id.as_str())),
                last,
            )?;
            done += changes.len();
            seq = last;
        }
    }

    /// Indexes `changes` (removing first the earlier version of each paper `replace` says may be
    /// indexed), commits them as applied up to the change `last`, and makes them searchable.
    fn apply(
        &self,
        changes: &[(i64, Paper, bool)],
        mut replace: impl FnMut(&ArxivId) -> bool,
        last: i64,
    ) -> Result<(), SearchError> {
        {
            let mut writer = self
                .writer
                .as_ref()
                .ok_or(SearchError::ReadOnly)?
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            for (_, paper, visible) in changes {
                if replace(&paper.id) {
                    writer.delete_term(Term::from_field_text(self.fields.id, paper.id.as_str()));
                }
                if *visible {
                    writer.add_document(self.document(paper))?;
                }
            }
            let mut commit = writer.prepare_commit()?;
            commit.set_payload(&last.to_string());
            commit.commit()?;
        }
        // Searches see a commit before `applied_seq` says it is applied: status pages and
        // tests that wait for "nothing pending" then find it.
        self.reader.reload()?;
        self.searchable.fetch_max(last, AtomicOrdering::AcqRel);
        Ok(())
    }

    fn document(&self, p: &Paper) -> TantivyDocument {
        let f = &self.fields;
        let mut d = doc!(f.id => p.id.as_str(), f.title => p.title.as_str(), f.summary => p.summary.as_str());
        for a in &p.authors {
            d.add_text(f.authors, &a.name);
        }
        for c in &p.categories {
            d.add_text(f.category, c);
        }
        if let Some(day) = paper_day(p) {
            d.add_i64(f.day, day);
        }
        d
    }

    /// The arXiv id stored with a document.
    fn stored_id(
        &self,
        searcher: &tantivy::Searcher,
        addr: tantivy::DocAddress,
    ) -> Result<Option<ArxivId>, SearchError> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        Ok(doc
            .get_first(self.fields.id)
            .and_then(|v| v.as_str())
            .and_then(|s| ArxivId::parse(s).ok()))
    }

    /// The ids stored with the documents of `top`, in order (a document without one is skipped).
    fn stored_ids<S, C: FromIterator<ArxivId>>(
        &self,
        searcher: &tantivy::Searcher,
        top: Vec<(S, DocAddress)>,
    ) -> Result<C, SearchError> {
        top.into_iter()
            .filter_map(|(_, addr)| self.stored_id(searcher, addr).transpose())
            .collect()
    }

    /// Category and date clauses of `q`, without its text.
    fn filter_clauses(&self, q: &SearchQuery) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(cat) = q.category.as_deref().filter(|c| !c.is_empty()) {
            let term = Term::from_field_text(f.category, cat);
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
            ));
        }
        if q.from.is_some() || q.to.is_some() {
            let bound = |d: Option<NaiveDate>| match d {
                Some(d) => Bound::Included(Term::from_field_i64(f.day, day_number(d))),
                None => Bound::Unbounded,
            };
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(bound(q.from), bound(q.to))),
            ));
        }
        clauses
    }

    /// Which of `ids` pass the category and date filters of `q` (its text is ignored).
    pub fn matching_filters(
        &self,
        q: &SearchQuery,
        ids: &[ArxivId],
    ) -> Result<HashSet<ArxivId>, SearchError> {
        let terms = ids
            .iter()
            .map(|id| Term::from_field_text(self.fields.id, id.as_str()));
        let mut clauses = self.filter_clauses(q);
        clauses.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(ids.len().max(1)),
        )?;
        self.stored_ids(&searcher, top)
    }

    /// Every paper passing the category and date filters of `q`, when there are at most `cap`
    /// (None when more, or when `q` has no filters).
    pub fn filtered_ids(
        &self,
        q: &SearchQuery,
        cap: usize,
    ) -> Result<Option<Vec<ArxivId>>, SearchError> {
        let clauses = self.filter_clauses(q);
        if clauses.is_empty() {
            return Ok(None);
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        if searcher.search(&query, &Count)? > cap {
            return Ok(None);
        }
        let found = searcher.search(&query, &TopDocs::with_limit(cap.max(1)))?;
        self.stored_ids(&searcher, found).map(Some)
    }

    /// The query of `q` as written: a phrase query when it has quotes, else every word in every
    /// field, summed. What highlighting marks; searching plain words goes through [`Self::plan`].
    fn parse(&self, q: &SearchQuery) -> Result<Box<dyn Query>, SearchError> {
        check_length(&q.text)?;
        let text_query: Box<dyn Query> = if q.text.contains('"') {
            // Quotes ask for phrases: the query language handles those (leniently, so a stray
            // quote or colon still searches the words).
            let f = &self.fields;
            let mut parser =
                QueryParser::for_index(&self.index, vec![f.title, f.summary, f.authors]);
            parser.set_field_boost(f.title, TITLE_BOOST);
            parser.parse_query_lenient(&q.text).0
        } else {
            // Words such as "non-coding", "AND" or "p:0.05" are text here, never operators.
            let words = self.words(&q.text)?;
            Box::new(self.words_query(&words))
        };
        Ok(self.filtered(text_query, q))
    }

    /// `text_query` restricted by the filters of `q`; the query itself when there are none, so
    /// that a union of term clauses stays one and finds its top hits by MaxScore, skipping papers
    /// that cannot reach the top (wrapped in a boolean query, every match would be scored).
    fn filtered(&self, text_query: Box<dyn Query>, q: &SearchQuery) -> Box<dyn Query> {
        let filters = self.filter_clauses(q);
        if filters.is_empty() {
            return text_query;
        }
        let mut clauses = vec![(Occur::Must, text_query)];
        clauses.extend(filters);
        Box::new(BooleanQuery::new(clauses))
    }

    /// The distinct analysed words of `text`, in order.
    fn words(&self, text: &str) -> Result<Vec<String>, SearchError> {
        let mut analyzer = self.index.tokenizer_for_field(self.fields.title)?;
        Ok(distinct_words(&mut analyzer, text))
    }

    /// `words` in title (boosted), abstract and authors: the sum of their BM25.
    fn words_query(&self, words: &[impl AsRef<str>]) -> TermUnion {
        let f = &self.fields;
        TermUnion::new(
            words
                .iter()
                .flat_map(|w| {
                    [(f.title, TITLE_BOOST), (f.summary, 1.0), (f.authors, 1.0)]
                        .map(|(field, boost)| (Term::from_field_text(field, w.as_ref()), boost))
                })
                .collect(),
        )
    }

    /// How `q` is searched. Small collections, and quoted phrases, get [`Self::parse`]: papers
    /// matching any word, BM25 summed. Past [`COMMON_MIN_DOCS`] papers, plain words keep a
    /// query with a rarer word from walking most of the index (at a million papers a title
    /// query's plain OR took 23 ms at p99, matching 476k papers at the median):
    /// - words in more than [`COMMON_SHARE`] of the papers ("for", "with", "learning" on arXiv)
    ///   do not decide what matches: their BM25 is added to the best [`RESCORE_POOL`] candidates
    ///   only (a query of only common words is the plain OR: nothing cheaper finds its best);
    /// - when at least `offset + limit` papers have every one of the rarer words, the matches are
    ///   those papers (an intersection, driven by the rarest word's postings); otherwise papers
    ///   with any of them.
    fn plan(&self, q: &SearchQuery) -> Result<Plan, SearchError> {
        check_length(&q.text)?;
        let plain = || -> Result<Plan, SearchError> {
            Ok(Plan {
                matching: self.parse(q)?,
                rescore: None,
            })
        };
        let searcher = self.reader.searcher();
        if q.text.contains('"') || searcher.num_docs() <= COMMON_MIN_DOCS {
            return plain();
        }
        let f = &self.fields;
        let words = self.words(&q.text)?;
        let common_above =
            ((searcher.num_docs() as f64 * COMMON_SHARE) as u64).max(COMMON_MIN_DOCS);
        let (mut rare, mut common) = (Vec::new(), Vec::new());
        for w in &words {
            let mut df = 0;
            for field in [f.title, f.summary] {
                df = df.max(searcher.doc_freq(&Term::from_field_text(field, w))?);
            }
            if df > common_above {
                common.push(w.as_str());
            } else {
                rare.push(w.as_str());
            }
        }
        if rare.is_empty() || common.is_empty() && rare.len() < 2 {
            // Only common words ("large language models"): no rarer word to start from, and
            // intersecting or scoring their postings costs what the plain OR costs, or more
            // (at 2.7 M papers an intersection of four such words took 240 ms). One rarer word
            // alone: nothing to intersect or add.
            return plain();
        }
        let rescore = Some(self.words_query(&common));
        if rare.len() > 1 {
            let every: Vec<(Occur, Box<dyn Query>)> = rare
                .iter()
                .map(|w| {
                    let q: Box<dyn Query> = Box::new(self.words_query(&[w]));
                    (Occur::Must, q)
                })
                .collect();
            let all = self.filtered(Box::new(BooleanQuery::new(every)), q);
            let (offset, limit) = q.window();
            let enough = offset + limit.max(1);
            if searcher.search(&all, &CappedCount(enough))? >= enough {
                return Ok(Plan {
                    matching: all,
                    rescore,
                });
            }
        }
        let any = self.words_query(&rare);
        Ok(Plan {
            matching: self.filtered(Box::new(any), q),
            rescore,
        })
    }

    /// BM25 search with filters; hits best first.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults, SearchError> {
        let plan = self.plan(q)?;
        let searcher = self.reader.searcher();
        let (offset, limit) = q.window();
        if limit == 0 {
            return Ok(SearchResults {
                hits: Vec::new(),
                total: searcher.search(&plan.matching, &CappedCount(TOTAL_CAP))?,
            });
        }
        // With the common words to add, the best candidates; otherwise a few more than the
        // window, so that papers tied on score at its edge are ordered by id too, not by which
        // segment the index happened to put them in.
        let depth = match plan.rescore {
            Some(_) => (offset + limit).max(RESCORE_POOL),
            None => offset + limit + TIE_MARGIN,
        };
        let (top, total) = if plan.prunes() {
            // Counted apart, so that the top hits skip the papers that cannot reach them.
            let top = searcher.search(&plan.matching, &TopDocs::with_limit(depth))?;
            (
                top,
                searcher.search(&plan.matching, &CappedCount(TOTAL_CAP))?,
            )
        } else {
            // Every match is scored anyway: counted in the same pass.
            let (top, n) = searcher.search(&plan.matching, &(TopDocs::with_limit(depth), Count))?;
            (top, n.min(TOTAL_CAP))
        };
        let Some(rescore) = plan.rescore else {
            let mut found = Vec::with_capacity(top.len());
            for (score, addr) in top {
                if let Some(id) = self.stored_id(&searcher, addr)? {
                    found.push(Hit { id, score });
                }
            }
            return Ok(SearchResults {
                hits: best_first(found, offset, limit),
                total,
            });
        };
        // The best candidates by the rarer words, then the common words' BM25 added to each: a
        // second query over just those papers (by id, scoring nothing itself).
        let mut found = Vec::with_capacity(top.len());
        for (score, addr) in top {
            if let Some(id) = self.stored_id(&searcher, addr)? {
                found.push((score, addr, id));
            }
        }
        let ids = found
            .iter()
            .map(|(_, _, id)| Term::from_field_text(self.fields.id, id.as_str()));
        let only_these: Box<dyn Query> =
            Box::new(BoostQuery::new(Box::new(TermSetQuery::new(ids)), 0.0));
        let mut clauses = vec![(Occur::Must, only_these)];
        clauses.push((Occur::Should, Box::new(rescore)));
        let extra: HashMap<DocAddress, Score> = searcher
            .search(&BooleanQuery::new(clauses), &TopDocs::with_limit(depth))?
            .into_iter()
            .map(|(score, addr)| (addr, score))
            .collect();
        let found = found
            .into_iter()
            .map(|(score, addr, id)| Hit {
                id,
                score: score + extra.get(&addr).copied().unwrap_or(0.0),
            })
            .collect();
        Ok(SearchResults {
            hits: best_first(found, offset, limit),
            total,
        })
    }

    /// Marks the words of `text` that match the query with `<b>…</b>`, escaping everything else;
    /// `max_chars` bounds the fragment (0 = the whole text).
    pub fn highlight(
        &self,
        q: &SearchQuery,
        field: HighlightField,
        text: &str,
        max_chars: usize,
    ) -> String {
        let field = match field {
            HighlightField::Title => self.fields.title,
            HighlightField::Summary => self.fields.summary,
        };
        let html = self.parse(q).ok().and_then(|query| {
            let searcher = self.reader.searcher();
            let mut generator = SnippetGenerator::create(&searcher, &*query, field).ok()?;
            generator.set_max_num_chars(if max_chars == 0 {
                text.len() + 1
            } else {
                max_chars
            });
            let snippet = generator.snippet(text);
            (!snippet.fragment().is_empty()).then(|| snippet.to_html())
        });
        html.unwrap_or_else(|| {
            let cut: String = if max_chars == 0 {
                text.to_string()
            } else {
                text.chars().take(max_chars).collect()
            };
            escape_html(&cut)
        })
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// How many papers have `word` (as the analyser writes it) in their title or abstract: the
    /// larger of the two fields' counts.
    pub fn doc_freq(&self, word: &str) -> u64 {
        let searcher = self.reader.searcher();
        [self.fields.title, self.fields.summary]
            .into_iter()
            .map(|f| {
                searcher
                    .doc_freq(&Term::from_field_text(f, word))
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
    }

    /// The newest papers (by their filter date: first daily list, else published) in a category
    /// and/or by an author (the name as a phrase), for feeds.
    pub fn newest(
        &self,
        category: Option<&str>,
        author: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ArxivId>, SearchError> {
        self.newest_since(category, author, None, limit)
    }

    /// [`SearchIndex::newest`], only papers whose filter date is `from` or later.
    pub fn newest_since(
        &self,
        category: Option<&str>,
        author: Option<&str>,
        from: Option<NaiveDate>,
        limit: usize,
    ) -> Result<Vec<ArxivId>, SearchError> {
        let f = &self.fields;
        let mut clauses = self.filter_clauses(&SearchQuery {
            category: category.map(str::to_owned),
            from,
            ..Default::default()
        });
        if let Some(name) = author {
            let mut analyzer = self.index.tokenizer_for_field(f.authors)?;
            let mut stream = analyzer.token_stream(name);
            let mut terms = Vec::new();
            while stream.advance() {
                terms.push(Term::from_field_text(f.authors, &stream.token().text));
            }
            let q: Box<dyn Query> = match terms.len() {
                0 => return Ok(Vec::new()),
                1 => Box::new(TermQuery::new(terms.remove(0), IndexRecordOption::Basic)),
                _ => Box::new(PhraseQuery::new(terms)),
            };
            clauses.push((Occur::Must, q));
        }
        if clauses.is_empty() {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(limit.clamp(1, MAX_DEPTH))
                .order_by_fast_field::<i64>("day", Order::Desc),
        )?;
        self.stored_ids(&searcher, top)
    }
}

#[derive(Debug, Clone, Copy)]
pub enum HighlightField {
    Title,
    Summary,
}

pub use paperboy_core::escape_html;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use paperboy_core::Author;

    fn paper(
        id: &str,
        title: &str,
        summary: &str,
        cat: &str,
        day: &str,
    ) -> (Paper, Option<paperboy_core::DailyEntry>) {
        let mut p = Paper::new(ArxivId::parse(id).unwrap(), title);
        p.summary = summary.into();
        p.authors = vec![Author::named("Grace Hopper")];
        p.categories = vec![cat.into()];
        p.daily_date = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok();
        (p, None)
    }

    #[test]
    fn ties_are_ordered_by_id_whatever_order_they_came_in() {
        let hit = |id: &str, score| Hit {
            id: ArxivId::parse(id).unwrap(),
            score,
        };
        let ids = |hits: Vec<Hit>| {
            hits.into_iter()
                .map(|h| h.id.to_string())
                .collect::<Vec<_>>()
        };
        let a = vec![
            hit("2608.17286", 2.0),
            hit("2608.10615", 2.0),
            hit("2608.00001", 3.0),
        ];
        let mut b = a.clone();
        b.reverse();
        assert_eq!(ids(best_first(a, 0, 2)), ["2608.00001", "2608.10615"]);
        assert_eq!(ids(best_first(b, 1, 5)), ["2608.10615", "2608.17286"]);
    }

    pub(crate) async fn fixture() -> (SearchIndex, std::sync::Arc<dyn Store>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            paperboy_store::open(dir.path().join("db.sqlite3").to_str().unwrap(), true).unwrap();
        store
            .import(vec![
                paper(
                    "2501.00001",
                    "Diffusion models for images",
                    "We denoise <b>images</b> step by step.",
                    "cs.CV",
                    "2025-01-02",
                ),
                paper(
                    "2501.00002",
                    "Language models reason",
                    "Chains of thought help models reason about images.",
                    "cs.CL",
                    "2025-01-03",
                ),
                paper(
                    "2501.00003",
                    "Protein folding",
                    "Nothing about the other topics.",
                    "q-bio.BM",
                    "2025-02-01",
                ),
            ])
            .await
            .unwrap();
        let (index, fresh) = SearchIndex::open(&dir.path().join("index")).unwrap();
        assert!(fresh);
        assert_eq!(index.catch_up(&*store, |_| {}).await.unwrap(), 3);
        (index, store, dir)
    }

    #[tokio::test]
    async fn at_scale_common_words_only_add_and_rarer_words_are_all_required_when_enough_match() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            paperboy_store::open(dir.path().join("db.sqlite3").to_str().unwrap(), true).unwrap();
        // Past COMMON_MIN_DOCS, where both rules start.
        let n = COMMON_MIN_DOCS as usize + 500;
        let papers = (0..n)
            .map(|i| {
                let title = match i {
                    0..20 => "Diffusion models for images",
                    20..40 => "Diffusion models for text",
                    40..60 => "Language models for images",
                    _ => "Language models for text",
                };
                paper(
                    &format!("2501.{:05}", i + 1),
                    title,
                    "An abstract.",
                    "cs.LG",
                    "2025-01-02",
                )
            })
            .collect();
        store.import(papers).await.unwrap();
        let (index, _) = SearchIndex::open(&dir.path().join("index")).unwrap();
        index.catch_up(&*store, |_| {}).await.unwrap();
        // "models" and "for" are in every paper: they score, but only where "diffusion" matched.
        let with_common = index.search(&q("diffusion models for")).unwrap();
        assert_eq!(with_common.total, 40);
        let alone = index.search(&q("diffusion")).unwrap();
        assert_eq!(alone.total, 40);
        assert!(
            with_common.hits[0].score > alone.hits[0].score,
            "common words add to the score"
        );
        // Only common words: they match everything, as plain OR did, counted up to the cap.
        assert!(n > TOTAL_CAP);
        assert_eq!(index.search(&q("models for")).unwrap().total, TOTAL_CAP);
        // Filtered, every match is scored and counted in one pass: the total is capped alike.
        let filtered = SearchQuery {
            category: Some("cs.LG".into()),
            ..q("models for")
        };
        assert_eq!(index.search(&filtered).unwrap().total, TOTAL_CAP);
        // 20 papers have both rarer words: enough for a page of 10, so only they are found ...
        let both = index.search(&q("diffusion images")).unwrap();
        assert_eq!(both.total, 20);
        assert!(both.hits.iter().all(|h| h.id.as_str() <= "2501.00020"));
        // ... with the scores the plain OR gives them.
        let one = index
            .search(&SearchQuery {
                limit: 60,
                ..q("diffusion images")
            })
            .unwrap();
        assert_eq!(one.total, 60, "a page of 60 needs papers with either word");
        assert_eq!(one.hits[0].score, both.hits[0].score);
        assert!(one.hits[..20].iter().all(|h| h.id.as_str() <= "2501.00020"));
    }

    /// An index built beside an import ends as a catch-up after it would: every paper once, in
    /// its last version, though one changed after it was indexed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_index_built_beside_an_import_replaces_papers_changed_after_indexing() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            paperboy_store::open(dir.path().join("db.sqlite3").to_str().unwrap(), true).unwrap();
        let p = |id: &str, title: &str| paper(id, title, "An abstract.", "cs.LG", "2025-01-02");
        store
            .import(vec![
                p("2501.00001", "Zebras first"),
                p("2501.00002", "Okapis"),
            ])
            .await
            .unwrap();
        let first = store.last_seq().await.unwrap();
        let (index, fresh) = SearchIndex::open(&dir.path().join("index")).unwrap();
        assert!(fresh);
        let index = std::sync::Arc::new(index);
        let (batches, import) = tokio::sync::watch::channel(false);
        let follower = {
            let (index, store) = (index.clone(), store.clone());
            tokio::spawn(async move { index.follow_fresh_in(&*store, import, 2).await })
        };
        // The first two are indexed (a whole batch) before the import goes on.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while index.applied_seq().unwrap() < first {
            assert!(
                std::time::Instant::now() < deadline,
                "the first batch was not indexed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(index.search(&q("zebras")).unwrap().total, 1);
        store
            .import(vec![p("2501.00001", "Giraffes now")])
            .await
            .unwrap();
        batches.send_replace(false);
        store.import(vec![p("2501.00003", "Tapirs")]).await.unwrap();
        batches.send_replace(true);
        assert_eq!(follower.await.unwrap().unwrap(), Some(4));
        assert_eq!(
            index.num_docs(),
            3,
            "the changed paper is not indexed twice"
        );
        assert_eq!(index.search(&q("zebras")).unwrap().total, 0);
        assert_eq!(index.search(&q("giraffes")).unwrap().total, 1);
        assert_eq!(index.search(&q("tapirs")).unwrap().total, 1);
        assert_eq!(
            index.applied_seq().unwrap(),
            store.last_seq().await.unwrap()
        );
        // An index that is not fresh is left to catch_up.
        let (_, import) = tokio::sync::watch::channel(true);
        assert_eq!(index.follow_fresh(&*store, import).await.unwrap(), None);
    }

    #[tokio::test]
    async fn totals_are_counted_up_to_the_cap() {
        let (index, _store, _dir) = fixture().await;
        let plan = index.plan(&q("models")).unwrap();
        let searcher = index.reader.searcher();
        assert_eq!(searcher.search(&plan.matching, &CappedCount(5)).unwrap(), 2);
        assert_eq!(searcher.search(&plan.matching, &CappedCount(1)).unwrap(), 1);
        assert_eq!(index.search(&q("models")).unwrap().total, 2);
        assert_eq!(shown_total(2), "2");
        assert_eq!(shown_total(TOTAL_CAP), "10000+");
    }

    fn q(text: &str) -> SearchQuery {
        SearchQuery {
            text: text.into(),
            limit: 10,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn title_matches_rank_first_and_stems_match() {
        let (index, _store, _dir) = fixture().await;
        let res = index.search(&q("image")).unwrap();
        let ids: Vec<_> = res.hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(
            ids,
            ["2501.00001", "2501.00002"],
            "title hit (stemmed 'images') outranks abstract hit"
        );
        assert_eq!(res.total, 2);
    }

    #[tokio::test]
    async fn newest_by_category_and_author() {
        let (index, _store, _dir) = fixture().await;
        let ids = |v: Vec<ArxivId>| v.iter().map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(
            ids(index.newest(None, None, 10).unwrap()),
            ["2501.00003", "2501.00002", "2501.00001"],
            "newest day first"
        );
        assert_eq!(
            ids(index.newest(Some("cs.CL"), None, 10).unwrap()),
            ["2501.00002"]
        );
        assert_eq!(
            index.newest(None, Some("Grace Hopper"), 10).unwrap().len(),
            3
        );
        assert!(
            index
                .newest(None, Some("Hopper Grace"), 10)
                .unwrap()
                .is_empty(),
            "a phrase"
        );
        assert!(index.newest(Some("cs.XX"), None, 10).unwrap().is_empty());
        let since = NaiveDate::from_ymd_opt(2025, 1, 3);
        assert_eq!(
            ids(index
                .newest_since(None, Some("Grace Hopper"), since, 10)
                .unwrap()),
            ["2501.00003", "2501.00002"],
            "only from the day on"
        );
    }

    #[tokio::test]
    async fn filtered_ids_are_every_match_up_to_a_cap() {
        let (index, _store, _dir) = fixture().await;
        let mut query = q("");
        assert_eq!(index.filtered_ids(&query, 10).unwrap(), None, "no filter");
        query.from = NaiveDate::from_ymd_opt(2025, 1, 3);
        let mut found = index.filtered_ids(&query, 10).unwrap().unwrap();
        found.sort();
        let found: Vec<_> = found.iter().map(|i| i.to_string()).collect();
        assert_eq!(found, ["2501.00002", "2501.00003"]);
        assert_eq!(index.filtered_ids(&query, 1).unwrap(), None, "over the cap");
    }

    #[tokio::test]
    async fn a_read_only_index_searches_beside_the_writer_and_refuses_changes() {
        let (index, store, dir) = fixture().await;
        let reader = SearchIndex::open_read_only(&dir.path().join("index")).unwrap();
        assert!(index.writable() && !reader.writable());
        assert_eq!(reader.search(&q("protein")).unwrap().hits.len(), 1);
        store
            .import(vec![paper(
                "2501.00004",
                "Protein design",
                "More.",
                "q-bio.BM",
                "2025-02-02",
            )])
            .await
            .unwrap();
        assert!(matches!(
            reader.catch_up(&*store, |_| {}).await,
            Err(SearchError::ReadOnly)
        ));
        assert!(SearchIndex::open_read_only(&dir.path().join("nothing")).is_err());
    }

    #[tokio::test]
    async fn filters_by_category_and_date() {
        let (index, _store, _dir) = fixture().await;
        let mut query = q("models");
        query.category = Some("cs.CL".into());
        assert_eq!(index.search(&query).unwrap().hits.len(), 1);
        let mut query = q("models");
        query.from = NaiveDate::from_ymd_opt(2025, 1, 3);
        let hits = index.search(&query).unwrap().hits;
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].id.as_str(), "2501.00002");
    }

    #[tokio::test]
    async fn matching_filters_checks_candidates_exactly() {
        let (index, _store, _dir) = fixture().await;
        let ids: Vec<ArxivId> = ["2501.00001", "2501.00002", "2501.00003"]
            .iter()
            .map(|s| ArxivId::parse(s).unwrap())
            .collect();
        let mut query = q("");
        query.category = Some("cs.CL".into());
        let keep = index.matching_filters(&query, &ids).unwrap();
        assert_eq!(keep.len(), 1);
        assert!(keep.contains(&ids[1]));
        let mut query = q("");
        query.to = NaiveDate::from_ymd_opt(2025, 1, 31);
        assert_eq!(index.matching_filters(&query, &ids).unwrap().len(), 2);
    }

    #[tokio::test]
    async fn long_queries_are_refused() {
        let (index, _store, _dir) = fixture().await;
        assert!(matches!(
            index.search(&q(&"a".repeat(251))),
            Err(SearchError::QueryTooLong(251))
        ));
    }

    #[tokio::test]
    async fn highlight_escapes_markup() {
        let (index, _store, _dir) = fixture().await;
        let html = index.highlight(
            &q("images"),
            HighlightField::Summary,
            "We denoise <b>images</b> step by step.",
            0,
        );
        assert!(html.contains("&lt;b&gt;<b>images</b>&lt;/b&gt;"), "{html}");
    }

    #[tokio::test]
    async fn catch_up_applies_only_new_changes_and_survives_reopen() {
        let (index, store, dir) = fixture().await;
        let (p, _) = paper(
            "2501.00001",
            "Flow matching for images",
            "Replaced abstract.",
            "cs.CV",
            "2025-01-02",
        );
        let mut p = p;
        p.version = Some(2);
        store.import(vec![(p, None)]).await.unwrap();
        assert_eq!(index.catch_up(&*store, |_| {}).await.unwrap(), 1);
        assert_eq!(
            index.search(&q("diffusion")).unwrap().total,
            0,
            "the old title is gone"
        );
        assert_eq!(index.search(&q("flow")).unwrap().total, 1);
        assert_eq!(index.num_docs(), 3, "updated, not duplicated");
        drop(index);
        let (index, fresh) = SearchIndex::open(&dir.path().join("index")).unwrap();
        assert!(!fresh);
        assert_eq!(
            index.catch_up(&*store, |_| {}).await.unwrap(),
            0,
            "nothing to redo after a restart"
        );
    }

    #[tokio::test]
    async fn an_index_of_another_format_is_rebuilt() {
        let (index, _store, dir) = fixture().await;
        let path = index.dir().to_owned();
        drop(index);
        std::fs::write(path.join(FORMAT_FILE), "paperboy-text-v0").unwrap();
        let (index, fresh) = SearchIndex::open(&path).unwrap();
        assert!(fresh);
        assert_eq!(index.num_docs(), 0);
        drop(dir);
    }
}
