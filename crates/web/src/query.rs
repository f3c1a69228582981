//! What pages and the API both ask: a period's ranked listing, trending, a search with its
//! papers, papers like one, the server's status. Kept here once so the HTML and the JSON can
//! never disagree.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use paperboy_core::ranking::rank_by_votes;

use paperboy_core::{ArxivId, Period, VersionedId};
use paperboy_search::hybrid::Mode;
use paperboy_search::{SearchQuery, Searcher, MAX_QUERY_CHARS};
use paperboy_store::{
    HarvestStatus, Listed, ListingFilter, MailStats, PaperView, StoreStats, TrendInput,
};

use crate::error::{ApiError, Code};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Community votes, feed order for ties (the default).
    Votes,
    /// When the paper was put on the list, newest first.
    PublishedAt,
    Trending,
}

impl Sort {
    pub fn parse(s: Option<&str>) -> Result<Sort, ApiError> {
        match s {
            None | Some("upvotes") => Ok(Sort::Votes),
            Some("publishedAt") => Ok(Sort::PublishedAt),
            Some("trending") => Ok(Sort::Trending),
            Some(other) => Err(ApiError::invalid(format!(
                "sort must be upvotes, publishedAt or trending, not {other:?}"
            ))),
        }
    }
}

/// The entries of a period, one per paper (its best day), ranked.
pub async fn ranked_listing(
    state: &AppState,
    period: Period,
    filter: &ListingFilter,
    sort: Sort,
) -> Result<Vec<Listed>, ApiError> {
    let (from, to) = period.range();
    let mut entries = state.store.listing(from, to, filter).await?;
    dedupe_papers(&mut entries);
    order(state, &mut entries, sort).await?;
    Ok(entries)
}

/// All entries, newest day first, each day ranked: the API's answer when no period is given.
pub async fn all_days(
    state: &AppState,
    filter: &ListingFilter,
    sort: Sort,
    days: u32,
) -> Result<Vec<Listed>, ApiError> {
    let Some(last) = state.store.latest_day().await? else {
        return Ok(Vec::new());
    };
    let from = last - chrono::Duration::days(i64::from(days));
    let mut entries = state.store.listing(from, last, filter).await?;
    dedupe_papers(&mut entries);
    if sort == Sort::Votes {
        // Newest day first; within a day the community order.
        entries.sort_by_key(|e| std::cmp::Reverse(e.entry.day));
        let mut start = 0;
        while start < entries.len() {
            let day = entries[start].entry.day;
            let end = start
                + entries[start..]
                    .iter()
                    .take_while(|e| e.entry.day == day)
                    .count();
            rank_by_votes(&mut entries[start..end], Listed::upvotes);
            start = end;
        }
    } else {
        order(state, &mut entries, sort).await?;
    }
    Ok(entries)
}

/// A listed entry as the paper view pages and the API show.
pub fn listed_view(l: &Listed) -> PaperView {
    PaperView {
        paper: l.paper.clone(),
        entry: Some(l.entry.clone()),
        local_upvotes: l.local_upvotes,
        local_comments: l.local_comments,
    }
}

fn dedupe_papers(entries: &mut Vec<Listed>) {
    // A paper listed on two days of the period counts once, on the day it had most votes.
    let mut by_votes: Vec<usize> = (0..entries.len()).collect();
    by_votes.sort_by_key(|&i| std::cmp::Reverse(entries[i].upvotes()));
    let mut seen = HashSet::new();
    let mut keep = vec![false; entries.len()];
    for i in by_votes {
        keep[i] = seen.insert(entries[i].paper.id.clone());
    }
    let mut i = 0;
    entries.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

async fn order(state: &AppState, entries: &mut [Listed], sort: Sort) -> Result<(), ApiError> {
    match sort {
        Sort::Votes => rank_by_votes(entries, Listed::upvotes),
        Sort::PublishedAt => entries.sort_by_key(|e| std::cmp::Reverse(listed_at(e))),
        Sort::Trending => {
            let now = Utc::now();
            let scores = trending_scores(state, entries, now).await?;
            let mut scored: Vec<(f64, usize)> =
                (0..entries.len()).map(|i| (scores[i], i)).collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let sorted: Vec<Listed> = scored.iter().map(|&(_, i)| entries[i].clone()).collect();
            entries.clone_from_slice(&sorted);
        }
    }
    Ok(())
}

/// The trending score of each entry: its imported votes as cast when it was listed, plus its
/// local votes at their own times.
pub async fn trending_scores(
    state: &AppState,
    entries: &[Listed],
    now: DateTime<Utc>,
) -> Result<Vec<f64>, ApiError> {
    let Some(earliest) = entries.iter().map(listed_at).min() else {
        return Ok(Vec::new());
    };
    let inputs: HashMap<ArxivId, TrendInput> = state
        .store
        .trend_inputs(earliest - chrono::Duration::days(1))
        .await?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    let t = state.settings.trending;
    Ok(entries
        .iter()
        .map(|e| match inputs.get(&e.paper.id) {
            Some(i) => t.score_votes(e.entry.upvotes, Some(listed_at(e)), &i.votes, now),
            None => t.score(e.upvotes(), listed_at(e), now),
        })
        .collect())
}

/// Fewer trending papers than this in the window widen it (see [`trending_ids`]).
pub const MIN_TRENDING: usize = 10;

/// A trending list, best first, and the window its votes and listings came from.
#[derive(Debug, Clone)]
pub struct TrendingList<T> {
    pub papers: Vec<(T, f64)>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The window was moved back to the newest data's, the recent one holding too few votes.
    pub widened: bool,
}

impl<T> TrendingList<T> {
    /// The window as an ISO 8601 interval of days (`X-Trending-Window`).
    pub fn window(&self) -> String {
        format!("{}/{}", self.from.date_naive(), self.to.date_naive())
    }
}

/// The `limit` most trending papers listed or voted for in the `window` before `now`, scored as
/// of `now`. When that window holds fewer than [`MIN_TRENDING`] papers with votes (a quiet
/// instance, a demo whose data is months old), it is widened back to the `window` before the
/// newest daily list's day, still scored as of `now` (old votes count for little against a
/// fresh one, but rank among themselves as ever), so that trending is never empty while papers
/// have votes.
pub async fn trending_ids(
    store: &dyn paperboy_store::Store,
    t: paperboy_core::ranking::Trending,
    window: chrono::Duration,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<TrendingList<ArxivId>, paperboy_store::StoreError> {
    let scored_between = |inputs: Vec<paperboy_store::TrendInput>, at: DateTime<Utc>| {
        let mut scored: Vec<(f64, ArxivId)> = inputs
            .into_iter()
            .map(|i| (t.score_votes(i.imported, i.listed_at, &i.votes, at), i.id))
            .filter(|(s, _)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        scored.truncate(limit);
        scored
            .into_iter()
            .map(|(s, id)| (id, s))
            .collect::<Vec<_>>()
    };
    let papers = scored_between(store.trend_inputs(now - window).await?, now);
    let recent = TrendingList {
        papers,
        from: now - window,
        to: now,
        widened: false,
    };
    if recent.papers.len() >= MIN_TRENDING.min(limit) {
        return Ok(recent);
    }
    let Some(last) = store.latest_day().await? else {
        return Ok(recent);
    };
    let end = (last + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    if end >= now - window {
        return Ok(recent);
    }
    let papers = scored_between(store.trend_inputs(end - window).await?, now);
    if papers.len() <= recent.papers.len() {
        return Ok(recent);
    }
    Ok(TrendingList {
        papers,
        from: end - window,
        to: now,
        widened: true,
    })
}

/// The most trending papers (see [`trending_ids`]) over `trending_window_days`, as views.
pub async fn trending(
    state: &AppState,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<TrendingList<PaperView>, ApiError> {
    let window = chrono::Duration::days(state.settings.trending_window_days.max(1));
    let found = trending_ids(&*state.store, state.settings.trending, window, limit, now).await?;
    let ids: Vec<ArxivId> = found.papers.iter().map(|s| s.0.clone()).collect();
    let views = state.store.papers(&ids).await?;
    let score: HashMap<ArxivId, f64> = found.papers.into_iter().collect();
    Ok(TrendingList {
        papers: views
            .into_iter()
            .map(|v| {
                let s = score.get(&v.paper.id).copied().unwrap_or(0.0);
                (v, s)
            })
            .collect(),
        from: found.from,
        to: found.to,
        widened: found.widened,
    })
}

/// When an entry was put on its list: hf.co's `publishedAt` of the item, else the day at midnight.
pub fn listed_at(e: &Listed) -> chrono::DateTime<Utc> {
    e.entry.published_at.unwrap_or_else(|| {
        e.entry
            .day
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
    })
}

pub struct Found {
    pub results: Vec<PaperView>,
    pub total: usize,
    /// The query named one paper by its arXiv id or URL.
    pub exact_id: bool,
    /// The mode that answered (keyword when the semantic side was unavailable or too slow).
    pub mode: Mode,
    /// Why the answer is keyword-only although another mode was asked for.
    pub fallback: Option<String>,
}

pub fn parse_mode(s: Option<&str>) -> Result<Mode, ApiError> {
    match s {
        None => Ok(Mode::default()),
        Some(s) => s.parse().map_err(ApiError::invalid),
    }
}

pub fn check_query(text: &str) -> Result<(), ApiError> {
    let n = text.chars().count();
    if n > MAX_QUERY_CHARS {
        return Err(ApiError::new(
            Code::QUERY_TOO_LONG,
            format!("the query is {n} characters long; the limit is {MAX_QUERY_CHARS}"),
        ));
    }
    Ok(())
}

/// Runs a search: an arXiv id or URL goes straight to that paper; anything else runs in the mode
/// asked for through the [`Searcher`] (keyword results when the model is missing, fails or is slow).
pub async fn search(state: &AppState, query: SearchQuery, mode: Mode) -> Result<Found, ApiError> {
    check_query(&query.text)?;
    if let Ok(v) = VersionedId::parse(&query.text) {
        if let Some(view) = state.store.paper(&v.id).await? {
            return Ok(Found {
                results: vec![view],
                total: 1,
                exact_id: true,
                mode,
                fallback: None,
            });
        }
    }
    let answer = Searcher::new(state.index.clone(), state.semantic.clone())
        .with_fusion(state.settings.fusion)
        .with_deadline(state.settings.query_embed_timeout)
        .search(query, mode)
        .await?;
    if let Some(why) = answer.fallback.as_ref().filter(|f| f.is_failure()) {
        tracing::warn!(reason = %why, "serving keyword results");
    }
    let ids: Vec<_> = answer.hits.into_iter().map(|h| h.id).collect();
    let results = state.store.papers(&ids).await?;
    Ok(Found {
        results,
        total: answer.total,
        exact_id: false,
        mode: answer.mode,
        fallback: answer.fallback.map(|f| f.to_string()),
    })
}

/// Papers like `view`'s, best first (see `paperboy_search::similar`): the keyword index's best
/// matches for its heaviest terms and the vector index's nearest neighbours, ranked by their fused
/// TF-IDF and embedding cosines with it. Without embeddings, terms alone.
pub async fn similar(
    state: &AppState,
    view: &PaperView,
    limit: usize,
) -> Result<Vec<PaperView>, ApiError> {
    use paperboy_search::similar::{fuse, CANDIDATES, QUERY_TERMS};
    let id = view.paper.id.clone();
    let paper = view.paper.clone();
    let (engine, index, slot) = (
        state.foryou.clone(),
        state.index.clone(),
        state.semantic.clone(),
    );
    // Candidates, from both indexes.
    let (query_terms, query_embedding, mut ids) = tokio::task::spawn_blocking(move || {
        let v = engine.vectors(&[(&paper.id, &paper.title, &paper.summary)], &*index);
        let words = engine.top_words(&v[0], QUERY_TERMS, &*index);
        let mut ids: Vec<ArxivId> = Vec::new();
        if !words.is_empty() {
            let text: String = words.join(" ").chars().take(MAX_QUERY_CHARS).collect();
            let q = SearchQuery {
                text,
                limit: CANDIDATES,
                ..Default::default()
            };
            ids.extend(
                index
                    .search(&q)
                    .map(|r| r.hits)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|h| h.id),
            );
        }
        let embedding = slot.get().and_then(|s| s.vectors().vector(&paper.id));
        if let (Some(s), Some(e)) = (slot.get(), &embedding) {
            ids.extend(
                s.vectors()
                    .nearest(e, CANDIDATES)
                    .into_iter()
                    .map(|(i, _)| i),
            );
        }
        (v[0].clone(), embedding, ids)
    })
    .await
    .map_err(ApiError::internal)?;
    let mut seen = HashSet::new();
    ids.retain(|i| *i != id && seen.insert(i.clone()));
    let candidates = state.store.papers(&ids).await?;
    let (engine, index, slot) = (
        state.foryou.clone(),
        state.index.clone(),
        state.semantic.clone(),
    );
    let order = tokio::task::spawn_blocking(move || {
        let texts: Vec<_> = candidates.iter().map(crate::foryou::text_of).collect();
        let vectors = engine.vectors(&texts, &*index);
        let terms: Vec<f32> = vectors
            .iter()
            .map(|v| paperboy_search::foryou::dot(&query_terms, v))
            .collect();
        let embedding = match (slot.get(), &query_embedding) {
            (Some(s), Some(q)) => Some(
                candidates
                    .iter()
                    .map(|v| {
                        s.vectors()
                            .vector(&v.paper.id)
                            .map_or(0.0, |e| cosine(q, &e))
                    })
                    .collect(),
            ),
            _ => None,
        };
        let scores = fuse(terms, embedding);
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|&a, &b| {
            scores[b]
                .total_cmp(&scores[a])
                .then_with(|| candidates[a].paper.id.cmp(&candidates[b].paper.id))
        });
        let mut slots: Vec<Option<PaperView>> = candidates.into_iter().map(Some).collect();
        order
            .into_iter()
            .take(limit)
            .filter_map(|i| slots[i].take())
            .collect::<Vec<_>>()
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(order)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa > 0.0 && bb > 0.0 {
        ab / (aa.sqrt() * bb.sqrt())
    } else {
        0.0
    }
}

/// Which of `ids` the account has voted for.
pub async fn voted(
    state: &AppState,
    account: Option<paperboy_store::AccountId>,
    ids: impl IntoIterator<Item = ArxivId>,
) -> Result<(HashSet<ArxivId>, HashSet<ArxivId>), ApiError> {
    let Some(account) = account else {
        return Ok(Default::default());
    };
    let ids: Vec<ArxivId> = ids.into_iter().collect();
    let votes = state.store.votes_of(account, &ids).await?;
    let saves = state.store.saved_of(account, &ids).await?;
    let among = |flags: Vec<bool>| {
        ids.iter()
            .zip(flags)
            .filter(|(_, v)| *v)
            .map(|(id, _)| id.clone())
            .collect()
    };
    Ok((among(votes), among(saves)))
}

/// What an operator wants to know: the data, the search index, search by meaning, digests and
/// live sync.
pub struct Status {
    pub backend: &'static str,
    pub stats: StoreStats,
    /// The store's last change, and the last the search index applied.
    pub store_seq: i64,
    pub index_seq: i64,
    pub indexed: u64,
    /// How far search by meaning has come, or why search is keyword-only.
    pub semantic: Result<SemanticProgress, String>,
    pub mail: MailStats,
    pub sync_minutes: u64,
    pub sources: Vec<HarvestStatus>,
}

pub struct SemanticProgress {
    pub model: String,
    /// The kernels that run the model (`amx`, `avx512`, `avx2`, `portable`).
    pub kernel: &'static str,
    pub vectors: usize,
    pub embedded: u64,
    pub pending: u64,
}

impl Status {
    /// Changes the search index has not applied yet.
    pub fn index_lag(&self) -> i64 {
        (self.store_seq - self.index_seq).max(0)
    }
}

pub async fn status(state: &AppState) -> Result<Status, ApiError> {
    let semantic = match state.semantic.get() {
        Some(s) => {
            let (embedded, pending) = s.progress();
            Ok(SemanticProgress {
                model: s.model_name().to_owned(),
                kernel: s.embedder().kernel(),
                vectors: s.vectors().len(),
                embedded,
                pending,
            })
        }
        None => Err(state.semantic.unavailable().unwrap_or_default()),
    };
    Ok(Status {
        backend: state.store.backend(),
        stats: state.store.stats().await?,
        store_seq: state.store.last_seq().await?,
        index_seq: state.index.applied_seq()?,
        indexed: state.index.num_docs(),
        semantic,
        mail: state.store.mail_stats().await?,
        sync_minutes: state.settings.sync_minutes,
        sources: state.store.harvest_statuses().await?,
    })
}
