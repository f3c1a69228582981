//! One search, three modes: keyword (BM25), semantic (vectors) and hybrid (both, fused). Filters
//! apply to both sides. Used by the web API and by `paperboy eval`, so what is measured is what
//! is served.

use std::fmt;
use std::str::FromStr;

use paperboy_core::ArxivId;

use crate::semantic::{fuse, Fusion, Semantic};
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

/// Runs `q` in `mode`. `query_vector` is the embedded query (the caller embeds it, with a deadline);
/// when it or `semantic` is missing, the answer is keyword results and says so in `mode`.
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
    let wanted = q.offset + q.limit.max(1);
    let candidates = fusion.candidates.max(wanted);
    let filtered = q.category.is_some() || q.from.is_some() || q.to.is_some();
    // With filters, look deeper into the vector ranking: the filters then drop what does not match.
    let depth = if filtered {
        candidates * 10
    } else {
        candidates
    };
    let mut near = semantic.vectors().nearest(vector, depth);
    if filtered {
        let ids: Vec<ArxivId> = near.iter().map(|n| n.0.clone()).collect();
        let keep = index.matching_filters(q, &ids)?;
        near.retain(|n| keep.contains(&n.0));
    }
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
        .skip(q.offset)
        .take(q.limit.max(1))
        .map(|(id, score)| Hit { id, score })
        .collect();
    Ok(Ranked { hits, total, mode })
}
