//! "For you": ranking a pool of papers for one reader from the papers of their library, and the
//! offline measure of it (nDCG@10, MRR, Recall@50 over reader cases).
//!
//! Papers are seen through their title, abstract and categories only (never authors). Terms are
//! the keyword index's (the same analyser: lowercase, English stems), weighted TF-IDF with a
//! sublinear term frequency over the papers the ranker is given, rare terms (in one paper only)
//! and common ones (in over [`MAX_DF`] of them) dropped; a paper is a unit vector of those weights.

use std::collections::HashMap;

use paperboy_core::ArxivId;

pub use crate::reader::{centroid, dot, fuse, z, Sparse, FUSION, MAX_DF};
use crate::reader::{Counted, Ranker, Vocab};
use crate::text::analyzer;
use crate::vectors::dot as dense_dot;

/// What a ranker sees of a paper.
#[derive(Debug, Clone)]
pub struct Doc {
    pub id: ArxivId,
    pub title: String,
    pub summary: String,
    /// Primary first.
    pub categories: Vec<String>,
}

/// TF-IDF vectors of a corpus, in a vocabulary weighed by the corpus's own counts.
pub struct Terms {
    pub vectors: HashMap<ArxivId, Sparse>,
    pub vocab: Vocab,
}

impl Terms {
    /// Vectors of `docs` (see [`Vocab::vector`]); terms in fewer than 2 of them are dropped.
    pub fn build(docs: &[Doc]) -> Terms {
        let mut analyzer = analyzer();
        let mut df: HashMap<String, u64> = HashMap::new();
        for d in docs {
            let text = format!("{}. {}", d.title, d.summary);
            for w in crate::text::distinct_words(&mut analyzer, &text) {
                *df.entry(w).or_default() += 1;
            }
        }
        let counted = Counted {
            docs: docs.len() as u64,
            df,
        };
        let mut vocab = Vocab::new(counted.docs);
        let vectors = docs
            .iter()
            .map(|d| {
                let v = vocab.vector(&mut analyzer, &d.title, &d.summary, &counted);
                (d.id.clone(), v)
            })
            .collect();
        Terms { vectors, vocab }
    }
}

/// The ways to rank a pool, from plain baselines to the one paperboy ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A fixed pseudo-random order (the floor).
    Random,
    /// How many of the library's papers have the pool paper's primary category (ties broken by
    /// the TF-IDF centroid, as the benchmark's reference baseline breaks them by its embedding
    /// centroid: alone, the count ties most of a pool).
    Category,
    /// Cosine with the library's TF-IDF centroid.
    TfidfCentroid,
    /// Cosine with the nearest library paper's TF-IDF vector.
    TfidfMax,
    /// Cosine with the normalised mean of the library's embeddings.
    EmbeddingCentroid,
    /// Cosine with the nearest library paper's embedding.
    EmbeddingMax,
    /// paperboy's: the z-scores of the TF-IDF centroid, the nearest library paper and the
    /// category count, summed with weights fixed by cross-validation on the train cases, plus
    /// the nearest library paper and the library's mean by embedding when the papers were
    /// embedded.
    Paperboy,
}

impl Method {
    pub const NAMES: [&'static str; 7] = [
        "random",
        "category",
        "tfidf-centroid",
        "tfidf-max",
        "embedding-centroid",
        "embedding-max",
        "paperboy",
    ];

    /// Whether the method ranks by the papers' embeddings (and so needs a model).
    pub fn embeds(self) -> bool {
        matches!(self, Method::EmbeddingCentroid | Method::EmbeddingMax)
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::Random => "random",
            Method::Category => "category",
            Method::TfidfCentroid => "tfidf-centroid",
            Method::TfidfMax => "tfidf-max",
            Method::EmbeddingCentroid => "embedding-centroid",
            Method::EmbeddingMax => "embedding-max",
            Method::Paperboy => "paperboy",
        }
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Method, String> {
        Ok(match s {
            "random" => Method::Random,
            "category" => Method::Category,
            "tfidf-centroid" => Method::TfidfCentroid,
            "tfidf-max" => Method::TfidfMax,
            "embedding-centroid" => Method::EmbeddingCentroid,
            "embedding-max" => Method::EmbeddingMax,
            "paperboy" => Method::Paperboy,
            other => {
                return Err(format!(
                    "unknown method {other:?}: {}",
                    Method::NAMES.join(", ")
                ))
            }
        })
    }
}

/// Papers' embeddings (unit vectors) by id.
pub type Embeddings = HashMap<ArxivId, Vec<f32>>;

/// What the rankers know of the papers: what they say, their terms and (when a model embedded
/// them) their embeddings.
pub struct Papers {
    pub docs: HashMap<ArxivId, Doc>,
    pub terms: Terms,
    pub embeddings: Embeddings,
}

/// Scores of `pool` for the reader whose library is `library` (best is highest). The embedding
/// methods score a paper without an embedding lowest.
pub fn scores(method: Method, papers: &Papers, library: &[ArxivId], pool: &[ArxivId]) -> Vec<f32> {
    let (terms, docs) = (&papers.terms, &papers.docs);
    let lib: Vec<&Sparse> = library
        .iter()
        .filter_map(|id| terms.vectors.get(id))
        .collect();
    let vector = |id: &ArxivId| terms.vectors.get(id);
    let centroid_scores = || {
        let c = centroid(lib.iter().copied());
        pool.iter()
            .map(|id| vector(id).map_or(0.0, |v| dot(&c, v)))
            .collect::<Vec<f32>>()
    };
    let max_scores = || {
        pool.iter()
            .map(|id| vector(id).map_or(0.0, |v| lib.iter().map(|l| dot(l, v)).fold(0.0, f32::max)))
            .collect::<Vec<f32>>()
    };
    let category_scores = || category_counts(docs, library, pool);
    let embedded: Vec<&[f32]> = match method.embeds() {
        true => library
            .iter()
            .filter_map(|id| papers.embeddings.get(id).map(Vec::as_slice))
            .collect(),
        false => Vec::new(),
    };
    let by_embedding = |score: &dyn Fn(&[f32]) -> f32| {
        pool.iter()
            .map(|id| match papers.embeddings.get(id) {
                Some(v) if !embedded.is_empty() => score(v),
                _ => f32::MIN,
            })
            .collect::<Vec<f32>>()
    };
    match method {
        Method::Random => pool.iter().map(pseudo_random).collect(),
        Method::Category => {
            let tie = centroid_scores();
            category_scores()
                .into_iter()
                .zip(tie)
                .map(|(c, t)| c + 1e-3 * t)
                .collect()
        }
        Method::TfidfCentroid => centroid_scores(),
        Method::TfidfMax => max_scores(),
        Method::EmbeddingCentroid => {
            let mean = crate::reader::mean_direction(embedded.iter().copied());
            by_embedding(&|v| dense_dot(&mean, v))
        }
        Method::EmbeddingMax => by_embedding(&|v| {
            embedded
                .iter()
                .map(|l| dense_dot(l, v))
                .fold(f32::MIN, f32::max)
        }),
        Method::Paperboy => shipped(papers, library, pool, true),
    }
}

/// The scores of the ranker `/for-you` runs, for a reader whose library is `library` (papers it
/// does not rank score lowest); with the papers' embeddings when `embeddings` says so and there
/// are some.
pub fn shipped(
    papers: &Papers,
    library: &[ArxivId],
    pool: &[ArxivId],
    embeddings: bool,
) -> Vec<f32> {
    let (terms, docs) = (&papers.terms, &papers.docs);
    let none = Embeddings::new();
    let vectors = if embeddings {
        &papers.embeddings
    } else {
        &none
    };
    let liked = library
        .iter()
        .filter_map(|id| {
            let d = docs.get(id)?;
            let v = terms.vectors.get(id)?.clone();
            Some((
                id.clone(),
                d.title.clone(),
                d.categories.first().cloned(),
                1.0,
                v,
            ))
        })
        .collect();
    let ranker = Ranker::from_vectors(liked, Vec::new(), &[], &[]);
    let embedded: Vec<Vec<f32>> = ranker
        .liked_ids()
        .filter_map(|id| vectors.get(id).cloned())
        .collect();
    let empty = Sparse::new();
    let candidates: Vec<crate::reader::Candidate> = pool
        .iter()
        .map(|id| crate::reader::Candidate {
            id,
            vector: terms.vectors.get(id).unwrap_or(&empty),
            primary: docs
                .get(id)
                .and_then(|d| d.categories.first())
                .map(String::as_str),
            authors: &[],
            popularity: 0.0,
            embedding: vectors.get(id).map(Vec::as_slice),
        })
        .collect();
    let mut scores = vec![f32::MIN; pool.len()];
    for r in ranker.rank(&candidates, &terms.vocab, &embedded, usize::MAX) {
        scores[r.index] = r.score;
    }
    scores
}

/// The parts paperboy's ranker fuses, as z-scores: TF-IDF centroid, nearest library paper,
/// category count.
pub fn parts(papers: &Papers, library: &[ArxivId], pool: &[ArxivId]) -> [Vec<f32>; 3] {
    [
        z(scores(Method::TfidfCentroid, papers, library, pool)),
        z(scores(Method::TfidfMax, papers, library, pool)),
        z(category_counts(&papers.docs, library, pool)),
    ]
}

fn category_counts(
    docs: &HashMap<ArxivId, Doc>,
    library: &[ArxivId],
    pool: &[ArxivId],
) -> Vec<f32> {
    let mut counts: HashMap<&str, f32> = HashMap::new();
    for id in library {
        if let Some(c) = docs.get(id).and_then(|d| d.categories.first()) {
            *counts.entry(c.as_str()).or_default() += 1.0;
        }
    }
    pool.iter()
        .map(|id| {
            docs.get(id)
                .and_then(|d| d.categories.first())
                .and_then(|c| counts.get(c.as_str()))
                .copied()
                .unwrap_or(0.0)
        })
        .collect()
}

/// A stable number in [0, 1) from an id (splitmix64 of its bytes).
fn pseudo_random(id: &ArxivId) -> f32 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in id.as_str().bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 31;
    }
    (x >> 40) as f32 / (1u64 << 24) as f32
}

/// The pool ordered best first (ties by id, so that runs agree).
pub fn ranked(pool: &[ArxivId], scores: &[f32]) -> Vec<ArxivId> {
    let mut order: Vec<usize> = (0..pool.len()).collect();
    order.sort_by(|&a, &b| {
        scores[b]
            .total_cmp(&scores[a])
            .then_with(|| pool[a].cmp(&pool[b]))
    });
    order.into_iter().map(|i| pool[i].clone()).collect()
}

/// nDCG@10, reciprocal rank and recall@50 of one ranking with binary relevance.
pub fn measure(ranking: &[ArxivId], relevant: &[ArxivId]) -> (f64, f64, f64) {
    if relevant.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let is = |id: &ArxivId| relevant.contains(id);
    let dcg: f64 = ranking
        .iter()
        .take(10)
        .enumerate()
        .filter(|(_, id)| is(id))
        .map(|(i, _)| 1.0 / ((i + 2) as f64).log2())
        .sum();
    let ideal: f64 = (0..relevant.len().min(10))
        .map(|i| 1.0 / ((i + 2) as f64).log2())
        .sum();
    let rr = ranking
        .iter()
        .position(is)
        .map_or(0.0, |p| 1.0 / (p + 1) as f64);
    let found = ranking.iter().take(50).filter(|id| is(id)).count();
    (dcg / ideal, rr, found as f64 / relevant.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, title: &str, cat: &str) -> Doc {
        Doc {
            id: ArxivId::parse(id).unwrap(),
            title: title.into(),
            summary: String::new(),
            categories: vec![cat.into()],
        }
    }

    #[test]
    fn a_library_about_diffusion_ranks_diffusion_first() {
        let docs = vec![
            doc(
                "2501.00001",
                "Diffusion models for image synthesis",
                "cs.CV",
            ),
            doc(
                "2501.00002",
                "Faster diffusion sampling for images",
                "cs.CV",
            ),
            doc(
                "2501.00003",
                "Parsing legal text with language models",
                "cs.CL",
            ),
            doc(
                "2501.00004",
                "Diffusion guidance for image editing",
                "cs.CV",
            ),
            doc("2501.00005", "Language models for legal parsing", "cs.CL"),
        ];
        // Others about other things, as a real corpus has, so that the topic's words are rare
        // enough to count (terms in over MAX_DF of the papers are dropped).
        let mut corpus = docs.clone();
        let topics = [
            "protein folding",
            "galaxy surveys",
            "graph coloring",
            "quantum error correction",
            "traffic forecasting",
        ];
        for (i, t) in topics.iter().cycle().take(15).enumerate() {
            corpus.push(doc(
                &format!("2502.{:05}", i + 1),
                &format!("{t} study {i}"),
                "astro-ph",
            ));
        }
        // Embeddings as a model would give them: an axis per topic, a little of the other.
        let axis = |d: &Doc| match d.title.contains("iffusion") {
            true => vec![0.96f32, 0.28],
            false => vec![0.28f32, 0.96],
        };
        let papers = Papers {
            terms: Terms::build(&corpus),
            docs: docs.iter().map(|d| (d.id.clone(), d.clone())).collect(),
            embeddings: docs.iter().map(|d| (d.id.clone(), axis(d))).collect(),
        };
        let library = [docs[0].id.clone(), docs[1].id.clone()];
        let pool = [docs[2].id.clone(), docs[3].id.clone(), docs[4].id.clone()];
        for method in [
            Method::Category,
            Method::TfidfCentroid,
            Method::TfidfMax,
            Method::EmbeddingCentroid,
            Method::EmbeddingMax,
            Method::Paperboy,
        ] {
            let s = scores(method, &papers, &library, &pool);
            assert_eq!(ranked(&pool, &s)[0], docs[3].id, "{method:?}");
        }
        // A paper the model did not embed comes last by embedding, whatever it says.
        let mut unembedded = papers;
        unembedded.embeddings.remove(&docs[3].id);
        let s = scores(Method::EmbeddingMax, &unembedded, &library, &pool);
        assert_eq!(ranked(&pool, &s)[2], docs[3].id);
        assert!(Method::EmbeddingMax.embeds() && !Method::Paperboy.embeds());
        for name in Method::NAMES {
            assert_eq!(name.parse::<Method>().unwrap().name(), name);
        }
    }

    #[test]
    fn measures_follow_their_definitions() {
        let ids: Vec<ArxivId> = (1..=60)
            .map(|i| ArxivId::parse(&format!("2501.{i:05}")).unwrap())
            .collect();
        let (ndcg, rr, recall) = measure(&ids, &[ids[2].clone()]);
        assert!((ndcg - 0.5).abs() < 1e-9, "{ndcg}");
        assert!((rr - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(recall, 1.0);
        assert_eq!(measure(&ids, &[ids[55].clone()]).2, 0.0);
        assert_eq!(dot(&vec![(1, 0.6), (3, 0.8)], &vec![(3, 1.0)]), 0.8);
    }
}
