//! One search, three modes: keyword (BM25), semantic (vectors) and hybrid (both, fused). Filters
//! apply to both sides. The ranking step of [`crate::Searcher`], which every caller goes through;
//! public so that benchmarks can time it without the query's embedding.

use std::fmt;
use std::str::FromStr;

use paperboy_core::ArxivId;

use crate::semantic::{fuse, Fusion, Semantic};
use crate::vectors::VectorIndex;
use crate::{Hit, SearchError, SearchIndex, SearchQuery};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    Keyword,
    Semantic,
    #[default]
    Hybrid,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "keyword" => Ok(Mode::Keyword),
            "semantic" => Ok(Mode::Semantic),
            "hybrid" => Ok(Mode::Hybrid),
            other => Err(format!(
                "mode must be keyword, semantic or hybrid, not {other:?}"
            )),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Keyword => "keyword",
            Mode::Semantic => "semantic",
            Mode::Hybrid => "hybrid",
        })
    }
}

#[derive(Debug, Clone)]
pub struct Ranked {
    pub hits: Vec<Hit>,
    /// Matching papers in all (for keyword mode, every BM25 match; otherwise the fused candidates).
    pub total: usize,
    /// The mode actually used: keyword when the semantic side was unavailable.
    pub mode: Mode,
}

/// Filters passed by at most this many papers are searched exactly on the vector side.
pub const EXACT_FILTERED: usize = 20_000;

/// `ids` by cosine similarity to `vector`, best first (papers without a vector left out).
fn nearest_among(vectors: &VectorIndex, vector: &[f32], ids: Vec<ArxivId>) -> Vec<(ArxivId, f32)> {
    let mut scored: Vec<(ArxivId, f32)> = ids
        .into_iter()
        .filter_map(|id| {
            let s = vectors.similarity(vector, &id)?;
            Some((id, s))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    scored
}

/// Runs `q` in `mode`. `query_vector` is the embedded query ([`crate::Searcher`] embeds it, with
/// a deadline); when it or `semantic` is missing, the answer is keyword results and says so in
/// `mode`.
pub fn search(
    index: &SearchIndex,
    semantic: Option<&Semantic>,
    q: &SearchQuery,
    mode: Mode,
    query_vector: Option<&[f32]>,
    fusion: Fusion,
) -> Result<Ranked, SearchError> {
    let vector = match (mode, semantic, query_vector) {
        (Mode::Keyword, _, _) | (_, None, _) | (_, _, None) => None,
        (_, Some(s), Some(v)) => Some((s, v)),
    };
    let Some((semantic, vector)) = vector else {
        let res = index.search(q)?;
        return Ok(Ranked {
            hits: res.hits,
            total: res.total,
            mode: Mode::Keyword,
        });
    };
    let (offset, limit) = q.window();
    let wanted = offset + limit;
    let candidates = fusion.candidates.max(wanted);
    let filtered = q.category.is_some() || q.from.is_some() || q.to.is_some();
    // With filters, look deeper into the vector ranking: the filters then drop what does not match.
    let depth = if filtered {
        candidates * 10
    } else {
        candidates
    };
    let mut near = match filtered {
        true => match index.filtered_ids(q, EXACT_FILTERED)? {
            // Few papers pass the filters (a day, a week, a small category): score them all, so
            // nothing that matches is missed for being far down the unfiltered ranking.
            Some(ids) => nearest_among(semantic.vectors(), vector, ids),
            None => {
                let mut near = semantic.vectors().nearest(vector, depth);
                let ids: Vec<ArxivId> = near.iter().map(|n| n.0.clone()).collect();
                let keep = index.matching_filters(q, &ids)?;
                near.retain(|n| keep.contains(&n.0));
                near
            }
        },
        false => semantic.vectors().nearest(vector, depth),
    };
    near.truncate(candidates);
    let fused: Vec<(ArxivId, f32)> = match mode {
        Mode::Semantic => near,
        _ => {
            let keyword = index.search(&SearchQuery {
                offset: 0,
                limit: candidates,
                ..q.clone()
            })?;
            let keyword: Vec<(ArxivId, f32)> =
                keyword.hits.into_iter().map(|h| (h.id, h.score)).collect();
            fuse(
                &keyword,
                &near,
                |id| semantic.vectors().similarity(vector, id),
                fusion,
            )
        }
    };
    let total = fused.len();
    let hits = fused
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(id, score)| Hit { id, score })
        .collect();
    Ok(Ranked { hits, total, mode })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filtered_papers_are_ranked_exactly_and_those_without_vectors_left_out() {
        let vectors = VectorIndex::new(2);
        let id = |n: u32| ArxivId::parse(&format!("2501.{n:05}")).unwrap();
        vectors.upsert(id(1), &[1.0, 0.0]);
        vectors.upsert(id(2), &[0.6, 0.8]);
        vectors.upsert(id(3), &[0.0, 1.0]);
        let ranked = nearest_among(&vectors, &[0.0, 1.0], vec![id(1), id(2), id(3), id(4)]);
        let order: Vec<_> = ranked.iter().map(|r| r.0.clone()).collect();
        assert_eq!(order, [id(3), id(2), id(1)]);
        assert!(
            (ranked[1].1 - 0.8).abs() < 0.02,
            "int8 cosine: {}",
            ranked[1].1
        );
    }
}
