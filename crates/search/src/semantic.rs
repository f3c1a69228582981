//! Search by meaning: the embedding worker that follows the store's change feed (embedding each
//! paper's title and abstract once, again only when that text or the model changes), the vector
//! index it fills, and hybrid fusion of keyword and vector scores.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paperboy_core::{ArxivId, Paper};
use paperboy_store::Store;

use crate::embed::{EmbedError, Embedder};
use crate::kernel::KernelChoice;
use crate::vectors::{VectorIndex, EXACT_BELOW};

/// Papers read from the change feed per embedding round.
const ROUND: usize = 64;
/// Vectors read from the store per page when loading.
const LOAD_PAGE: usize = 10_000;
/// While embedding goes on, the index file is rewritten at most this often.
const SAVE_EVERY: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum SemanticError {
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error("reading or writing embeddings: {0}")]
    Store(#[from] paperboy_store::StoreError),
    #[error("embedding task failed: {0}")]
    Task(String),
}

pub struct Semantic {
    embedder: Arc<Embedder>,
    vectors: VectorIndex,
    embedded: AtomicU64,
    pending: AtomicU64,
    /// The change-feed position the vectors in memory reflect. The store's cursor says what has
    /// been embedded and stored, by any process; this says what this process has in memory, so
    /// a node sharing a database with others loads the vectors they embedded.
    applied: AtomicI64,
    /// The index file, rewritten after embedding rounds (at most every `SAVE_EVERY` while busy).
    cache: Option<PathBuf>,
    saved_at: Mutex<Instant>,
}

fn cursor_name(embedder: &Embedder) -> String {
    format!("embed:{}", embedder.name())
}

/// `"{model}@{seq}"` -> seq, when the model is `model`.
fn parse_tag(tag: &str, model: &str) -> Option<i64> {
    let (m, seq) = tag.rsplit_once('@')?;
    (m == model).then(|| seq.parse().ok())?
}

/// The index file of a model in a data directory.
pub fn index_file(data_dir: &Path, model: &str) -> PathBuf {
    let safe: String = model
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    data_dir.join("vectors").join(format!("{safe}.idx"))
}

/// The text a paper is embedded from.
pub fn paper_text(p: &Paper) -> String {
    let mut s = String::with_capacity(p.title.len() + p.summary.len() + 2);
    for w in p
        .title
        .split_whitespace()
        .chain(std::iter::once("\n"))
        .chain(p.summary.split_whitespace())
    {
        if w != "\n" && !s.is_empty() && !s.ends_with('\n') {
            s.push(' ');
        }
        s.push_str(w);
    }
    s.replace('\n', ". ").replace(".. ", ". ")
}

/// A stable hash of the embedded text, so unchanged text is never embedded twice.
pub fn text_hash(text: &str) -> i64 {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    h as i64
}

impl Semantic {
    /// Loads the model from `dir` and the vectors of that model: from the index file `cache` when
    /// it is there and consistent with the store (then only papers changed since it was written
    /// are read), else from the store's stored vectors. `cache` is rewritten as embedding goes on.
    pub async fn open(
        dir: &Path,
        store: &dyn Store,
        cache: Option<&Path>,
    ) -> Result<Semantic, SemanticError> {
        Semantic::open_with(dir, KernelChoice::Auto, store, cache).await
    }

    /// `open`, with the model run by the kernels `kernel` names.
    pub async fn open_with(
        dir: &Path,
        kernel: KernelChoice,
        store: &dyn Store,
        cache: Option<&Path>,
    ) -> Result<Semantic, SemanticError> {
        let dir = dir.to_owned();
        let embedder = tokio::task::spawn_blocking(move || Embedder::load_with(&dir, kernel))
            .await
            .map_err(|e| SemanticError::Task(e.to_string()))??;
        let embedder = Arc::new(embedder);
        let cursor = store.cursor(&cursor_name(&embedder)).await?;
        let mut loaded = None;
        if let Some(path) = cache.filter(|p| p.exists()) {
            let p = path.to_owned();
            match tokio::task::spawn_blocking(move || VectorIndex::load(&p, EXACT_BELOW)).await {
                Ok(Ok((index, tag))) => match parse_tag(&tag, embedder.name()) {
                    Some(seq) if seq <= cursor && index.dim() == embedder.dim() => {
                        loaded = Some((index, seq))
                    }
                    _ => {
                        tracing::info!(path = %path.display(), "vector index file is stale; rebuilding it")
                    }
                },
                Ok(Err(e)) => {
                    tracing::warn!(path = %path.display(), error = %e, "vector index file unreadable; rebuilding it")
                }
                Err(e) => return Err(SemanticError::Task(e.to_string())),
            }
        }
        let from_file = loaded.is_some();
        let (vectors, seq) = loaded.unwrap_or_else(|| (VectorIndex::new(embedder.dim()), 0));
        let semantic = Semantic {
            embedder,
            vectors,
            embedded: AtomicU64::new(0),
            pending: AtomicU64::new(0),
            // Everything up to the cursor read above was stored before it moved: loaded now.
            applied: AtomicI64::new(cursor),
            cache: cache.map(Path::to_owned),
            saved_at: Mutex::new(Instant::now()),
        };
        if from_file {
            semantic.replay(store, seq, cursor).await?;
        } else {
            semantic.load(store).await?;
        }
        if semantic.vectors.is_dirty() {
            semantic.save(cursor);
        }
        Ok(semantic)
    }

    pub fn with_embedder(embedder: Arc<Embedder>) -> Semantic {
        let dim = embedder.dim();
        Semantic {
            embedder,
            vectors: VectorIndex::new(dim),
            embedded: AtomicU64::new(0),
            pending: AtomicU64::new(0),
            applied: AtomicI64::new(0),
            cache: None,
            saved_at: Mutex::new(Instant::now()),
        }
    }

    /// A model with an index built elsewhere (benchmarks).
    pub fn with_vectors(embedder: Arc<Embedder>, vectors: VectorIndex) -> Semantic {
        Semantic {
            vectors,
            ..Semantic::with_embedder(embedder)
        }
    }

    /// Every stored vector of this model.
    async fn load(&self, store: &dyn Store) -> Result<(), SemanticError> {
        let mut after: Option<ArxivId> = None;
        loop {
            let page = store
                .embeddings_page(self.embedder.name(), after.as_ref(), LOAD_PAGE)
                .await?;
            let Some(last) = page.last().map(|p| p.0.clone()) else {
                break;
            };
            self.vectors.upsert_many(page);
            after = Some(last);
        }
        Ok(())
    }

    /// Brings the vectors up to date with the changes after `seq` up to `upto`: every paper
    /// changed gets its stored vector (or loses its vector when hidden or never embedded).
    async fn replay(
        &self,
        store: &dyn Store,
        mut seq: i64,
        upto: i64,
    ) -> Result<(), SemanticError> {
        while seq < upto {
            let mut changes = store.changes_since(seq, LOAD_PAGE).await?;
            changes.retain(|c| c.0 <= upto);
            let Some(last) = changes.last().map(|c| c.0) else {
                break;
            };
            let ids: Vec<ArxivId> = changes.iter().map(|c| c.1.id.clone()).collect();
            let stored = store.embeddings(self.embedder.name(), &ids).await?;
            let mut kept = Vec::new();
            for ((_, paper, visible), vector) in changes.into_iter().zip(stored) {
                match vector {
                    Some(v) if visible => kept.push((paper.id, v)),
                    _ => self.vectors.remove(&paper.id),
                }
            }
            self.vectors.upsert_many(kept);
            seq = last;
        }
        Ok(())
    }

    /// Writes the index file (when there is one) tagged with the embedding cursor it matches.
    fn save(&self, cursor: i64) {
        let Some(path) = &self.cache else { return };
        let tag = format!("{}@{cursor}", self.embedder.name());
        let write = || {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            self.vectors.save(path, &tag)
        };
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let result = if multi_thread {
            tokio::task::block_in_place(write)
        } else {
            write()
        };
        match result {
            Ok(()) => tracing::debug!(path = %path.display(), "vector index saved"),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "saving the vector index failed")
            }
        }
        *self.saved_at.lock().expect("saved_at") = Instant::now();
    }

    pub fn embedder(&self) -> &Arc<Embedder> {
        &self.embedder
    }

    pub fn vectors(&self) -> &VectorIndex {
        &self.vectors
    }

    pub fn model_name(&self) -> &str {
        self.embedder.name()
    }

    /// Papers embedded by this process, and store changes not yet looked at (for status pages).
    pub fn progress(&self) -> (u64, u64) {
        (
            self.embedded.load(Ordering::Relaxed),
            self.pending.load(Ordering::Relaxed),
        )
    }

    fn cursor_name(&self) -> String {
        cursor_name(&self.embedder)
    }

    /// Embeds the backlog: claims stretches of the change feed (shared with every process on
    /// the database, see
    /// [`paperboy_store::Embeddings::claim_embedding_work`]), embeds each claimed paper whose
    /// text has no stored vector yet and stores the vectors with the claim's end, one
    /// transaction a stretch, so a crash loses at most the stretch in progress, which another
    /// process (or this one, restarted) takes over. Vectors other processes stored are loaded
    /// as the store's cursor passes them. Returns how many papers this call embedded.
    pub async fn catch_up(
        &self,
        store: &dyn Store,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, SemanticError> {
        let (name, model) = (self.cursor_name(), self.embedder.name());
        let mut done = 0u64;
        loop {
            let last_seq = store.last_seq().await?;
            self.follow(store).await?;
            let applied = self.applied.load(Ordering::Acquire);
            self.pending
                .store((last_seq - applied).max(0) as u64, Ordering::Relaxed);
            let Some(work) = store.claim_embedding_work(model, &name, ROUND).await? else {
                break;
            };
            let changes = store.changes_since(work.after, ROUND).await?;
            let mut visible = Vec::new();
            for (_, paper, shown) in changes.into_iter().filter(|c| c.0 <= work.upto) {
                if shown {
                    visible.push(paper);
                }
            }
            let ids: Vec<ArxivId> = visible.iter().map(|p| p.id.clone()).collect();
            let stored = store.embedding_hashes(model, &ids).await?;
            // Only text without a vector of its own is embedded: a change that left the text
            // alone (a vote, a new version with the same abstract) costs nothing.
            let todo: Vec<(ArxivId, i64, String)> = visible
                .into_iter()
                .zip(stored)
                .filter_map(|(p, old)| {
                    let text = paper_text(&p);
                    let hash = text_hash(&text);
                    (old != Some(hash)).then_some((p.id, hash, text))
                })
                .collect();
            let embedder = self.embedder.clone();
            let texts: Vec<String> = todo.iter().map(|t| t.2.clone()).collect();
            let vectors = tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                embedder.embed(&refs)
            })
            .await
            .map_err(|e| SemanticError::Task(e.to_string()))??;
            let rows: Vec<(ArxivId, i64, Vec<f32>)> = todo
                .into_iter()
                .zip(vectors)
                .map(|((id, hash, _), v)| (id, hash, v))
                .collect();
            let n = rows.len() as u64;
            let fresh: Vec<(ArxivId, Vec<f32>)> = rows
                .iter()
                .map(|(id, _, v)| (id.clone(), v.clone()))
                .collect();
            if !store
                .finish_embedding_work(model, &name, work, rows)
                .await?
            {
                tracing::warn!(
                    after = work.after,
                    upto = work.upto,
                    "another process took this embedding work over; its vectors are the ones kept"
                );
                continue;
            }
            // Count before the vectors become visible, so that a reader who sees a vector also
            // sees it counted (the status page and its tests rely on that order).
            done += n;
            self.embedded.fetch_add(n, Ordering::Relaxed);
            self.vectors.upsert_many(fresh);
            progress(done, (last_seq - work.upto).max(0) as u64);
        }
        let applied = self.applied.load(Ordering::Acquire);
        self.pending.store(
            (store.last_seq().await? - applied).max(0) as u64,
            Ordering::Relaxed,
        );
        if self.vectors.is_dirty() {
            self.save(applied);
        }
        Ok(done)
    }

    /// Loads what the store's cursor passed since this process last looked: the vectors stored
    /// for those changes (by any process), and none for papers hidden since.
    async fn follow(&self, store: &dyn Store) -> Result<(), SemanticError> {
        let cursor = store.cursor(&self.cursor_name()).await?;
        let from = self.applied.load(Ordering::Acquire);
        if cursor <= from {
            return Ok(());
        }
        self.replay(store, from, cursor).await?;
        self.applied.fetch_max(cursor, Ordering::AcqRel);
        if self.vectors.is_dirty() && self.saved_at.lock().expect("saved_at").elapsed() > SAVE_EVERY
        {
            self.save(cursor);
        }
        Ok(())
    }
}

/// How keyword and vector scores are combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fusion {
    /// Weight of the cosine similarity; the max-normalised BM25 score gets `1 - semantic_weight`.
    pub semantic_weight: f32,
    /// Candidates taken from each side before fusing.
    pub candidates: usize,
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion {
            semantic_weight: 0.75,
            candidates: 100,
        }
    }
}

/// Fuses keyword hits (best first, BM25 scores) with vector hits by a convex combination of
/// max-normalised BM25 and cosine similarity. Cosine is computed exactly for every candidate, so a
/// keyword hit that the vector search did not return still gets its true similarity.
pub fn fuse(
    keyword: &[(ArxivId, f32)],
    semantic: &[(ArxivId, f32)],
    cosine: impl Fn(&ArxivId) -> Option<f32>,
    fusion: Fusion,
) -> Vec<(ArxivId, f32)> {
    let max_bm25 = keyword.iter().map(|k| k.1).fold(0f32, f32::max);
    let mut scores: HashMap<ArxivId, (f32, f32)> = HashMap::new();
    for (id, s) in keyword {
        let b = if max_bm25 > 0.0 { s / max_bm25 } else { 0.0 };
        let c = cosine(id).unwrap_or(0.0);
        scores.insert(id.clone(), (b, c));
    }
    for (id, c) in semantic {
        scores.entry(id.clone()).or_insert((0.0, *c));
    }
    let w = fusion.semantic_weight;
    let mut fused: Vec<(ArxivId, f32)> = scores
        .into_iter()
        .map(|(id, (b, c))| (id, w * c + (1.0 - w) * b))
        .collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> ArxivId {
        ArxivId::parse(&format!("2501.{n:05}")).unwrap()
    }

    #[test]
    fn fusion_rewards_agreement_and_rescues_meaning_matches() {
        // 1 is the best keyword hit but unrelated in meaning; 2 is good on both; 3 only by meaning.
        let keyword = vec![(id(1), 10.0), (id(2), 8.0)];
        let semantic = vec![(id(3), 0.9), (id(2), 0.8)];
        let cos = |i: &ArxivId| {
            Some(if *i == id(1) {
                0.1
            } else if *i == id(2) {
                0.8
            } else {
                0.9
            })
        };
        let fused = fuse(&keyword, &semantic, cos, Fusion::default());
        let order: Vec<_> = fused.iter().map(|f| f.0.clone()).collect();
        assert_eq!(order, [id(2), id(3), id(1)]);
        // By hand: 2 = 0.75*0.8 + 0.25*0.8 = 0.8
        assert!((fused[0].1 - 0.8).abs() < 1e-6);
    }

    #[test]
    fn weight_zero_is_keyword_order_and_one_is_vector_order() {
        let keyword = vec![(id(1), 3.0), (id(2), 2.0)];
        let semantic = vec![(id(2), 0.9), (id(1), 0.2)];
        let cos = |i: &ArxivId| Some(if *i == id(1) { 0.2 } else { 0.9 });
        let kw = fuse(
            &keyword,
            &semantic,
            cos,
            Fusion {
                semantic_weight: 0.0,
                candidates: 10,
            },
        );
        assert_eq!(kw[0].0, id(1));
        let sem = fuse(
            &keyword,
            &semantic,
            cos,
            Fusion {
                semantic_weight: 1.0,
                candidates: 10,
            },
        );
        assert_eq!(sem[0].0, id(2));
    }

    #[test]
    fn paper_text_joins_title_and_abstract() {
        let mut p = Paper::new(id(1), "A  title\n  wrapped");
        p.summary = "First line\nsecond line.".into();
        assert_eq!(paper_text(&p), "A title wrapped. First line second line.");
        assert_ne!(text_hash("a"), text_hash("b"));
    }

    /// The index file: written after embedding, read back at the next start, and brought up to
    /// date from the store when vectors were stored after it was written.
    #[tokio::test(flavor = "multi_thread")]
    async fn index_file_is_reused_and_replayed() {
        let Some(model) = crate::embed::tests::model_dir() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let store =
            paperboy_store::open(dir.path().join("db.sqlite3").to_str().unwrap(), true).unwrap();
        let papers = |from: u32, to: u32| -> Vec<(Paper, Option<paperboy_core::DailyEntry>)> {
            (from..to)
                .map(|n| {
                    let mut p = Paper::new(id(n), format!("Paper number {n} on topic {}", n % 3));
                    p.summary = format!("We study problem {n} with method {}.", n % 5);
                    (p, None)
                })
                .collect()
        };
        store.import(papers(1, 9)).await.unwrap();
        let file = dir.path().join("vectors").join("m.idx");

        let first = Semantic::open(&model, &*store, Some(&file)).await.unwrap();
        assert_eq!(first.catch_up(&*store, |_, _| {}).await.unwrap(), 8);
        assert!(file.exists(), "written after embedding");
        drop(first);

        // Another process (no file) embeds more papers: the file is now behind the store.
        store.import(papers(9, 13)).await.unwrap();
        let other = Semantic::open(&model, &*store, None).await.unwrap();
        assert_eq!(other.vectors().len(), 8, "loaded from the store");
        assert_eq!(other.catch_up(&*store, |_, _| {}).await.unwrap(), 4);

        let again = Semantic::open(&model, &*store, Some(&file)).await.unwrap();
        assert_eq!(
            again.vectors().len(),
            12,
            "the file plus the replayed changes"
        );
        assert_eq!(again.catch_up(&*store, |_, _| {}).await.unwrap(), 0);
        let q = other.vectors().vector(&id(11)).unwrap();
        assert_eq!(
            again.vectors().nearest(&q, 3),
            other.vectors().nearest(&q, 3)
        );

        // A file from another model is not used, even when it claims to be up to date.
        let cursor = store.cursor(&again.cursor_name()).await.unwrap();
        let other_model = VectorIndex::new(again.vectors().dim());
        other_model.upsert(id(99), &q);
        other_model
            .save(&file, &format!("some-other-model@{cursor}"))
            .unwrap();
        let fresh = Semantic::open(&model, &*store, Some(&file)).await.unwrap();
        assert!(fresh.vectors().vector(&id(99)).is_none());
        assert_eq!(fresh.vectors().len(), 12, "rebuilt from the store");
    }
}
