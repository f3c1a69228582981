//! The one way to search, for every caller: the site's pages and API, digests' saved searches and
//! `paperboy eval`, so that what is measured and mailed is what is served. A [`Searcher`] embeds
//! the query (within a deadline when someone waits for the answer), answers by keyword when it
//! cannot and says why ([`Fallback`]), and fuses both sides ([`hybrid::search`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::hybrid::{self, Mode};
use crate::semantic::{Fusion, Semantic};
use crate::{Hit, SearchError, SearchIndex, SearchQuery};

/// Search by meaning, once its model has loaded; until then (or without a model) the reason why not.
#[derive(Default)]
pub struct SemanticSlot {
    ready: OnceLock<Arc<Semantic>>,
    unavailable: Mutex<String>,
}

impl SemanticSlot {
    /// A slot holding `semantic` from the start (work that loads the model before it searches).
    pub fn loaded(semantic: Arc<Semantic>) -> SemanticSlot {
        let slot = SemanticSlot::default();
        slot.set(semantic);
        slot
    }

    pub fn get(&self) -> Option<&Arc<Semantic>> {
        self.ready.get()
    }

    pub fn set(&self, semantic: Arc<Semantic>) {
        let _ = self.ready.set(semantic);
    }

    pub fn set_unavailable(&self, why: impl Into<String>) {
        *self.unavailable.lock().unwrap_or_else(|p| p.into_inner()) = why.into();
    }

    /// Neither loaded nor known to be unavailable yet.
    pub fn is_loading(&self) -> bool {
        self.ready.get().is_none()
            && self
                .unavailable
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty()
    }

    /// Why search is keyword-only, when it is.
    pub fn unavailable(&self) -> Option<String> {
        if self.ready.get().is_some() {
            return None;
        }
        let why = self
            .unavailable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Some(if why.is_empty() {
            "the embedding model is loading".into()
        } else {
            why
        })
    }
}

/// Why an answer is keyword-only although another mode was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// No model to embed with: none installed, it failed to load, or it is still loading (in the
    /// slot's words).
    NoModel(String),
    /// The model could not embed this query (its error).
    EmbeddingFailed(String),
    /// The query's embedding missed the deadline.
    TooSlow,
}

impl Fallback {
    /// The model is there but failed this query. A missing model was said once, when it was
    /// found missing; this is news at every query.
    pub fn is_failure(&self) -> bool {
        !matches!(self, Fallback::NoModel(_))
    }
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fallback::NoModel(why) => f.write_str(why),
            Fallback::EmbeddingFailed(e) => write!(f, "embedding the query failed: {e}"),
            Fallback::TooSlow => f.write_str("embedding the query took too long"),
        }
    }
}

/// A search's answer: a page of hits, how many matched, and which mode served them.
#[derive(Debug, Clone)]
pub struct Answer {
    pub hits: Vec<Hit>,
    /// Matching papers in all (for keyword mode, every BM25 match; otherwise the fused candidates).
    pub total: usize,
    /// The mode that served the hits: keyword when the semantic side could not.
    pub mode: Mode,
    /// Why the hits are keyword-only although another mode was asked for.
    pub fallback: Option<Fallback>,
}

/// Query texts and their embeddings, kept by a searcher that remembers queries.
type QueryVectors = Arc<Mutex<HashMap<String, Vec<f32>>>>;

/// The keyword index, the semantic side once it is loaded, how the two are fused, and how long a
/// query's embedding may take. Cheap to clone and to make per request (shared parts are `Arc`s).
#[derive(Clone)]
pub struct Searcher {
    index: Arc<SearchIndex>,
    semantic: Arc<SemanticSlot>,
    fusion: Fusion,
    deadline: Option<Duration>,
    remembered: Option<QueryVectors>,
}

impl Searcher {
    /// Default fusion, and no deadline: a batch (a digest, an evaluation) waits for its
    /// embeddings, since an answer by keyword alone would be a different answer, not a faster one.
    pub fn new(index: Arc<SearchIndex>, semantic: Arc<SemanticSlot>) -> Searcher {
        Searcher {
            index,
            semantic,
            fusion: Fusion::default(),
            deadline: None,
            remembered: None,
        }
    }

    pub fn with_fusion(mut self, fusion: Fusion) -> Searcher {
        self.fusion = fusion;
        self
    }

    /// Answers by keyword when the query's embedding takes longer than `deadline`: someone is
    /// waiting for the page.
    pub fn with_deadline(mut self, deadline: Duration) -> Searcher {
        self.deadline = Some(deadline);
        self
    }

    /// Embeds each distinct query text once for this searcher and its clones: an evaluation
    /// asks the same queries once per mode and fusion setting.
    pub fn remembering_queries(mut self) -> Searcher {
        self.remembered = Some(Arc::default());
        self
    }

    pub fn index(&self) -> &Arc<SearchIndex> {
        &self.index
    }

    pub fn semantic(&self) -> &Arc<SemanticSlot> {
        &self.semantic
    }

    /// Runs `query` in `mode`: an empty query matches nothing; a semantic or hybrid query is
    /// answered by keyword, saying why, when the query cannot be embedded (in time).
    pub async fn search(&self, query: SearchQuery, mode: Mode) -> Result<Answer, SearchError> {
        if query.text.trim().is_empty() {
            return Ok(Answer {
                hits: Vec::new(),
                total: 0,
                mode,
                fallback: None,
            });
        }
        let (semantic, fallback) = match (mode, self.semantic.get()) {
            (Mode::Keyword, _) => (None, None),
            (_, None) => (None, self.semantic.unavailable().map(Fallback::NoModel)),
            (_, Some(s)) => match self.embed(s, &query.text).await {
                Ok(v) => (Some((s.clone(), v)), None),
                Err(why) => (None, Some(why)),
            },
        };
        let index = self.index.clone();
        let fusion = self.fusion;
        let ranked = tokio::task::spawn_blocking(move || {
            let (semantic, vector) = match &semantic {
                Some((s, v)) => (Some(&**s), Some(v.as_slice())),
                None => (None, None),
            };
            hybrid::search(&index, semantic, &query, mode, vector, fusion)
        })
        .await
        .map_err(|e| SearchError::Task(e.to_string()))??;
        Ok(Answer {
            hits: ranked.hits,
            total: ranked.total,
            mode: ranked.mode,
            fallback,
        })
    }

    async fn embed(&self, semantic: &Arc<Semantic>, text: &str) -> Result<Vec<f32>, Fallback> {
        let remembered = |m: &QueryVectors| {
            m.lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(text)
                .cloned()
        };
        if let Some(v) = self.remembered.as_ref().and_then(remembered) {
            return Ok(v);
        }
        if self.deadline == Some(Duration::ZERO) {
            // No wait at all: not even a query embedded in microseconds makes it.
            return Err(Fallback::TooSlow);
        }
        let embedder = semantic.embedder().clone();
        let owned = text.to_owned();
        let job = tokio::task::spawn_blocking(move || embedder.embed_query(&owned));
        let done = match self.deadline {
            Some(d) => tokio::time::timeout(d, job)
                .await
                .map_err(|_| Fallback::TooSlow)?,
            None => job.await,
        };
        let v = match done {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Err(Fallback::EmbeddingFailed(e.to_string())),
            Err(e) => return Err(Fallback::EmbeddingFailed(e.to_string())),
        };
        if let Some(m) = &self.remembered {
            m.lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(text.to_owned(), v.clone());
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::tests::model_dir;
    use crate::text::tests::fixture;

    fn query(text: &str) -> SearchQuery {
        SearchQuery {
            text: text.into(),
            limit: 10,
            ..Default::default()
        }
    }

    fn ids(a: &Answer) -> Vec<String> {
        a.hits.iter().map(|h| h.id.to_string()).collect()
    }

    #[tokio::test]
    async fn without_a_model_the_answer_is_keyword_and_says_why() {
        let (index, _store, _dir) = fixture().await;
        let slot = Arc::new(SemanticSlot::default());
        let searcher = Searcher::new(Arc::new(index), slot.clone());
        let keyword = searcher
            .search(query("images"), Mode::Keyword)
            .await
            .unwrap();
        assert_eq!(
            (keyword.mode, keyword.fallback.clone()),
            (Mode::Keyword, None)
        );
        assert_eq!(ids(&keyword), ["2501.00001", "2501.00002"]);

        let loading = searcher
            .search(query("images"), Mode::Hybrid)
            .await
            .unwrap();
        assert_eq!(loading.mode, Mode::Keyword);
        assert_eq!(
            loading.fallback,
            Some(Fallback::NoModel("the embedding model is loading".into()))
        );
        assert_eq!(ids(&loading), ids(&keyword), "the same keyword answer");

        slot.set_unavailable("no embedding model in /nowhere");
        let missing = searcher
            .search(query("images"), Mode::Semantic)
            .await
            .unwrap();
        let why = missing.fallback.unwrap();
        assert_eq!(why.to_string(), "no embedding model in /nowhere");
        assert!(!why.is_failure());
    }

    #[tokio::test]
    async fn an_empty_query_matches_nothing_in_the_mode_asked() {
        let (index, _store, _dir) = fixture().await;
        let searcher = Searcher::new(Arc::new(index), Arc::default());
        let a = searcher.search(query("  "), Mode::Hybrid).await.unwrap();
        assert_eq!((a.hits.len(), a.total, a.mode), (0, 0, Mode::Hybrid));
        assert_eq!(a.fallback, None, "nothing was asked of the model");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_embedded_too_slowly_is_answered_by_keyword_unless_remembered() {
        let Some(dir) = model_dir() else { return };
        let (index, store, _dir) = fixture().await;
        let semantic = Semantic::open(&dir, &*store, None).await.unwrap();
        semantic.catch_up(&*store, |_, _| {}).await.unwrap();
        let searcher = Searcher::new(
            Arc::new(index),
            Arc::new(SemanticSlot::loaded(Arc::new(semantic))),
        )
        .remembering_queries();

        let hybrid = searcher
            .search(query("protein structure"), Mode::Hybrid)
            .await
            .unwrap();
        assert_eq!((hybrid.mode, &hybrid.fallback), (Mode::Hybrid, &None));

        // No wait at all: embedding cannot finish before the deadline...
        let hurried = searcher.clone().with_deadline(Duration::ZERO);
        let slow = hurried
            .search(query("folded proteins"), Mode::Hybrid)
            .await
            .unwrap();
        assert_eq!(slow.mode, Mode::Keyword);
        assert_eq!(slow.fallback, Some(Fallback::TooSlow));
        assert!(slow.fallback.unwrap().is_failure());
        // ...but a query this searcher embedded before needs no embedding.
        let again = hurried
            .search(query("protein structure"), Mode::Hybrid)
            .await
            .unwrap();
        assert_eq!((again.mode, &again.fallback), (Mode::Hybrid, &None));
        assert_eq!(ids(&again), ids(&hybrid));
    }
}
