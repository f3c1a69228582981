//! For you, between the store and the ranker: a reader's model (from the engine's memory, else
//! the store, else trained now from their signals and stored), and a day's papers ranked with it.
//! Pages, the API, the private feed and the digest all rank through [`ranked_day`] and
//! [`rank_views`], so that what one surface says of a paper every other says too.

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use paperboy_core::ArxivId;
use paperboy_search::reader::{Candidate, Example, Profile, Ranker, Why};
use paperboy_store::{AccountId, FollowKind, Mark, PaperView, Signals, StoredModel};

use crate::error::ApiError;
use crate::state::AppState;

/// The newest liked papers a model learns from.
pub const MAX_LIKED: usize = 2_000;
/// How strongly "not interested" and "fewer like this" push likeness down (see
/// `paperboy_search::reader::DISLIKE`).
fn dislike_weight(mark: Mark) -> Option<f32> {
    match mark {
        Mark::NotInterested => Some(0.5),
        Mark::Fewer => Some(1.0),
        Mark::Ignored => None,
    }
}

/// A reader's signals and the ranker made from them.
pub struct Model {
    pub signals: Signals,
    pub ranker: Arc<Ranker>,
}

impl Model {
    /// The categories the reader follows.
    pub fn categories(&self) -> Vec<String> {
        self.signals
            .follows
            .iter()
            .filter(|f| f.kind == FollowKind::Category)
            .map(|f| f.key.clone())
            .collect()
    }
}

/// The reader's model, trained now when their signals changed since it was stored.
pub async fn model(state: &AppState, account: AccountId) -> Result<Model, ApiError> {
    let signals = state.store.signals(account).await?;
    let fingerprint = signals.fingerprint();
    let reader = account.get();
    if let Some(ranker) = state.foryou.ranker(reader, &fingerprint, &*state.index) {
        return Ok(Model { signals, ranker });
    }
    let stored = state.store.stored_model(account).await?;
    let kept = stored
        .filter(|m| m.fingerprint == fingerprint)
        .and_then(|m| serde_json::from_str::<Profile>(&m.model).ok());
    let profile = match kept {
        Some(p) => p,
        None => {
            let profile = train(state, &signals).await?;
            let model = StoredModel {
                fingerprint: fingerprint.clone(),
                model: serde_json::to_string(&profile)
                    .map_err(|e| ApiError::internal(e.to_string()))?,
                trained_at: Utc::now(),
            };
            state.store.store_model(account, model).await?;
            profile
        }
    };
    let (engine, index) = (state.foryou.clone(), state.index.clone());
    let ranker = blocking(move || engine.compile(reader, &fingerprint, &profile, &*index)).await?;
    Ok(Model { signals, ranker })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("for you: {e}")))
}

/// A profile trained from the reader's signals.
async fn train(state: &AppState, signals: &Signals) -> Result<Profile, ApiError> {
    let liked_ids: Vec<ArxivId> = signals
        .positives
        .iter()
        .take(MAX_LIKED)
        .map(|(id, _, _)| id.clone())
        .collect();
    let disliked: Vec<(ArxivId, f32)> = signals
        .marks
        .iter()
        .filter_map(|(id, m, _)| Some((id.clone(), dislike_weight(*m)?)))
        .collect();
    let liked = state.store.papers(&liked_ids).await?;
    let disliked_ids: Vec<ArxivId> = disliked.iter().map(|d| d.0.clone()).collect();
    let disliked_views = state.store.papers(&disliked_ids).await?;
    let weights: std::collections::HashMap<ArxivId, f32> = disliked.into_iter().collect();
    let authors: Vec<(String, String)> = signals
        .follows
        .iter()
        .filter(|f| f.kind == FollowKind::Author)
        .map(|f| (f.key.clone(), f.shown.clone()))
        .collect();
    let categories: Vec<String> = signals
        .follows
        .iter()
        .filter(|f| f.kind == FollowKind::Category)
        .map(|f| f.key.clone())
        .collect();
    let (engine, index) = (state.foryou.clone(), state.index.clone());
    blocking(move || {
        fn example(v: &PaperView, weight: f32) -> Example<'_> {
            Example {
                id: &v.paper.id,
                title: &v.paper.title,
                summary: &v.paper.summary,
                primary: v.paper.primary_category(),
                weight,
            }
        }
        let liked: Vec<Example> = liked.iter().map(|v| example(v, 1.0)).collect();
        let disliked: Vec<Example> = disliked_views
            .iter()
            .map(|v| example(v, weights.get(&v.paper.id).copied().unwrap_or(0.5)))
            .collect();
        engine.train(&liked, &disliked, authors, categories, &*index)
    })
    .await
}

/// What the ranker reads of a paper: its id, title and abstract.
pub fn text_of(v: &PaperView) -> paperboy_search::reader::Text<'_> {
    (
        &v.paper.id,
        v.paper.title.as_str(),
        v.paper.summary.as_str(),
    )
}

/// One paper ranked for a reader.
pub struct Ranked {
    pub view: PaperView,
    pub score: f32,
    pub why: Why,
}

/// Papers as the ranker reads them (terms, authors' names, stored embeddings): made once, ranked
/// for any number of readers.
pub struct Prepared {
    views: Vec<PaperView>,
    vectors: Vec<Arc<paperboy_search::foryou::Sparse>>,
    /// The papers' authors' normalised names, made when a reader who follows authors first
    /// needs them (most readers follow none).
    authors: std::sync::OnceLock<Vec<Vec<String>>>,
    embeddings: Vec<Option<Vec<f32>>>,
}

impl Prepared {
    pub fn views(&self) -> &[PaperView] {
        &self.views
    }

    fn authors(&self) -> &[Vec<String>] {
        self.authors.get_or_init(|| {
            self.views
                .iter()
                .map(|v| {
                    v.paper
                        .authors
                        .iter()
                        .map(|a| paperboy_core::names::normalise(&a.name))
                        .collect()
                })
                .collect()
        })
    }
}

/// `views` made ready for ranking.
pub async fn prepare(state: &AppState, views: Vec<PaperView>) -> Result<Arc<Prepared>, ApiError> {
    let (engine, index) = (state.foryou.clone(), state.index.clone());
    let semantic = state.semantic.get().cloned();
    blocking(move || {
        let texts: Vec<_> = views.iter().map(text_of).collect();
        let vectors = engine.vectors(&texts, &*index);
        // The stored embeddings, when the model has embedded the papers.
        let embeddings = match &semantic {
            Some(s) => views
                .iter()
                .map(|v| s.vectors().vector(&v.paper.id))
                .collect(),
            None => Vec::new(),
        };
        Arc::new(Prepared {
            views,
            vectors,
            authors: Default::default(),
            embeddings,
        })
    })
    .await
}

/// The papers of `prepared` ranked for the reader, best first, leaving out the papers they
/// marked or liked: the first `limit` of them, and how many were ranked in all.
pub async fn rank_prepared(
    state: &AppState,
    model: &Model,
    prepared: Arc<Prepared>,
    limit: usize,
) -> Result<(Vec<Ranked>, usize), ApiError> {
    let marked: std::collections::HashSet<ArxivId> = model.signals.marked().cloned().collect();
    let (engine, index, ranker) = (
        state.foryou.clone(),
        state.index.clone(),
        model.ranker.clone(),
    );
    let semantic = state.semantic.get().cloned();
    blocking(move || {
        let p = &*prepared;
        let embedded: Vec<Vec<f32>> = match &semantic {
            Some(s) if !p.embeddings.is_empty() => ranker
                .liked_ids()
                .filter_map(|id| s.vectors().vector(id))
                .collect(),
            _ => Vec::new(),
        };
        let keep: Vec<usize> = (0..p.views.len())
            .filter(|&i| !marked.contains(&p.views[i].paper.id))
            .collect();
        let authors = ranker.follows_authors().then(|| p.authors());
        let pool: Vec<Candidate> = keep
            .iter()
            .map(|&i| {
                let v = &p.views[i];
                Candidate {
                    id: &v.paper.id,
                    vector: &p.vectors[i],
                    primary: v.paper.primary_category(),
                    authors: authors.map_or(&[][..], |a| &a[i]),
                    popularity: v.upvotes() as f32,
                    embedding: p.embeddings.get(i).and_then(|e| e.as_deref()),
                }
            })
            .collect();
        let total = pool.iter().filter(|c| !ranker.knows(c.id)).count();
        let ranked = engine
            .rank(&ranker, &pool, &embedded, limit, &*index)
            .into_iter()
            .map(|r| Ranked {
                view: p.views[keep[r.index]].clone(),
                score: r.score,
                why: r.why,
            })
            .collect::<Vec<_>>();
        (ranked, total)
    })
    .await
}

/// `views` ranked for the reader, best first, leaving out the papers they marked or liked.
pub async fn rank_views(
    state: &AppState,
    model: &Model,
    views: Vec<PaperView>,
) -> Result<Vec<Ranked>, ApiError> {
    let prepared = prepare(state, views).await?;
    Ok(rank_prepared(state, model, prepared, usize::MAX).await?.0)
}

/// A day of new papers ranked for a reader.
pub struct Day {
    /// None when nothing was ever announced in the reader's categories.
    pub day: Option<NaiveDate>,
    pub prev: Option<NaiveDate>,
    pub next: Option<NaiveDate>,
    /// The categories followed (empty: every category).
    pub categories: Vec<String>,
    /// The first papers of the ranking, best first (as many as asked for).
    pub papers: Vec<Ranked>,
    /// How many papers the whole ranking holds.
    pub total: usize,
}

/// The papers announced on one day in some categories, ready to be ranked for any reader.
#[derive(Clone)]
pub struct Pool {
    /// None when nothing was ever announced in the categories.
    pub day: Option<NaiveDate>,
    pub prev: Option<NaiveDate>,
    pub next: Option<NaiveDate>,
    /// The categories (empty: every category).
    pub categories: Vec<String>,
    pub papers: Arc<Prepared>,
}

/// The papers announced on `day` (the latest day when None) in `categories` (every category
/// when empty).
pub async fn day_pool(
    state: &AppState,
    categories: Vec<String>,
    day: Option<NaiveDate>,
) -> Result<Pool, ApiError> {
    let day = match day {
        Some(d) => Some(d),
        None => state.store.announced_around(None, &categories).await?.1,
    };
    let (prev, next, views) = match day {
        Some(d) => {
            let (prev, next) = state.store.announced_around(Some(d), &categories).await?;
            (prev, next, state.store.announced(d, &categories).await?)
        }
        None => (None, None, Vec::new()),
    };
    Ok(Pool {
        day,
        prev,
        next,
        categories,
        papers: prepare(state, views).await?,
    })
}

/// A day's pool ranked for a reader: the first `limit` papers.
pub async fn rank_pool(
    state: &AppState,
    model: &Model,
    pool: Pool,
    limit: usize,
) -> Result<Day, ApiError> {
    let (papers, total) = rank_prepared(state, model, pool.papers, limit).await?;
    Ok(Day {
        day: pool.day,
        prev: pool.prev,
        next: pool.next,
        categories: pool.categories,
        papers,
        total,
    })
}

/// The papers announced on `day` (the latest day when None) in the reader's followed categories
/// (every category when none), ranked for them: the first `limit` (only those get their reasons
/// made).
pub async fn ranked_day(
    state: &AppState,
    model: &Model,
    day: Option<NaiveDate>,
    limit: usize,
) -> Result<Day, ApiError> {
    let pool = day_pool(state, model.categories(), day).await?;
    rank_pool(state, model, pool, limit).await
}

/// The reason line of a ranked paper, as plain text.
pub fn reason(why: &Why) -> String {
    let quote = |t: &str| format!("“{}”", crate::render::squash(t));
    let mut parts = Vec::new();
    if !why.authors.is_empty() {
        parts.push(format!("By {}, whom you follow", why.authors.join(", ")));
    }
    match why.near.as_slice() {
        [] => {}
        [a] => parts.push(format!("Close to {}", quote(&a.1))),
        [a, b, ..] => parts.push(format!("Close to {} and {}", quote(&a.1), quote(&b.1))),
    }
    if !why.terms.is_empty() {
        parts.push(format!("shares {}", why.terms.join(", ")));
    }
    if why.popular {
        parts
            .push("Popular with readers here (save or upvote papers to rank by your taste)".into());
    }
    if let Some(c) = &why.category {
        if parts.is_empty() {
            parts.push(format!("New in {c}, which you follow"));
        }
    }
    if parts.is_empty() {
        return "New today".into();
    }
    parts.join(" · ")
}

/// The papers of `views` in the order of the reader's ranking: ranked ones best first, then the
/// ones it does not rank (liked or marked) in their order.
pub async fn order_for(
    state: &AppState,
    account: AccountId,
    views: Vec<PaperView>,
) -> Result<Vec<ArxivId>, ApiError> {
    let model = model(state, account).await?;
    let all: Vec<ArxivId> = views.iter().map(|v| v.paper.id.clone()).collect();
    let mut order: Vec<ArxivId> = rank_views(state, &model, views)
        .await?
        .into_iter()
        .map(|r| r.view.paper.id)
        .collect();
    let ranked: std::collections::HashSet<ArxivId> = order.iter().cloned().collect();
    order.extend(all.into_iter().filter(|id| !ranked.contains(id)));
    Ok(order)
}

/// Sorts `items` into the reader's order (see [`order_for`]); `view` gives each item's paper.
pub async fn sort_for<T>(
    state: &AppState,
    account: AccountId,
    items: &mut [T],
    view: impl Fn(&T) -> PaperView,
) -> Result<(), ApiError> {
    let views: Vec<PaperView> = items.iter().map(&view).collect();
    let order = order_for(state, account, views).await?;
    let place: std::collections::HashMap<&ArxivId, usize> =
        order.iter().enumerate().map(|(i, id)| (id, i)).collect();
    let keys: Vec<usize> = items
        .iter()
        .map(|t| place.get(&view(t).paper.id).copied().unwrap_or(usize::MAX))
        .collect();
    let mut idx: Vec<usize> = (0..items.len()).collect();
    idx.sort_by_key(|&i| keys[i]);
    apply_order(items, &idx);
    Ok(())
}

/// Puts `items[order[k]]` at position k.
fn apply_order<T>(items: &mut [T], order: &[usize]) {
    // What was at order[i] may have been swapped away already: follow where it went.
    for i in 0..order.len() {
        let mut j = order[i];
        while j < i {
            j = order[j];
        }
        items.swap(i, j);
    }
}

/// Whether `sort` asks for the reader's order ("for-you"); refused for visitors.
pub fn asks_for_you(sort: Option<&str>, signed_in: bool) -> Result<bool, ApiError> {
    match sort {
        Some("for-you") if signed_in => Ok(true),
        Some("for-you") => Err(ApiError::new(
            crate::error::Code::SIGN_IN_REQUIRED,
            "Sign in to sort papers for you.",
        )),
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn apply_order_permutes() {
        for order in [
            vec![2, 0, 1],
            vec![1, 2, 0],
            vec![0, 1, 2],
            vec![3, 2, 1, 0],
            vec![1, 3, 0, 2],
        ] {
            let mut items: Vec<usize> = (0..order.len()).map(|i| i * 10).collect();
            super::apply_order(&mut items, &order);
            let want: Vec<usize> = order.iter().map(|&i| i * 10).collect();
            assert_eq!(items, want, "{order:?}");
        }
    }
}
