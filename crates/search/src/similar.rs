//! Papers like one paper: the likeness the paper page, `/api/papers/{id}/similar` and
//! `paperboy eval similar` rank by. A paper is a reader whose library is that one paper, so the
//! for-you lesson applies: terms carry likeness as much as the embedding does (on the for-you
//! benchmark TF-IDF beat MiniLM by 0.05-0.09 nDCG@10), and their fusion beats either. The
//! candidates are the keyword index's best matches for the paper's heaviest terms and the vector
//! index's nearest neighbours; each is scored by the z-scores of its TF-IDF cosine and its
//! embedding cosine with the paper, summed with [`EMBEDDING_WEIGHT`].

use crate::foryou::z;

/// How many of a paper's heaviest terms make its keyword query.
pub const QUERY_TERMS: usize = 12;
/// Candidates taken from each index.
pub const CANDIDATES: usize = 200;
/// The embedding cosine's weight beside the TF-IDF cosine's (1): on the for-you train cases
/// with libraries of one paper (the reader's newest; `paperboy eval foryou --library-size 1
/// --cross-validate 5 --model-dir DIR`), the best weight without categories is 2.1 (nDCG@10
/// 0.2117 over all cases) and the folds chose 2.2-2.6 beside the category; 2 ships.
pub const EMBEDDING_WEIGHT: f32 = 2.0;

/// The fused likeness of candidates: `terms[i]` is the TF-IDF cosine of candidate `i`,
/// `embedding[i]` its embedding cosine (None: no embeddings, terms alone).
pub fn fuse(terms: Vec<f32>, embedding: Option<Vec<f32>>) -> Vec<f32> {
    let t = z(terms);
    match embedding {
        Some(e) => t
            .into_iter()
            .zip(z(e))
            .map(|(a, b)| a + EMBEDDING_WEIGHT * b)
            .collect(),
        None => t,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_likenesses_count() {
        // Candidate 0 is nearest by terms, 1 by embedding, 2 good on both: 2 wins.
        let s = super::fuse(vec![0.9, 0.1, 0.7], Some(vec![0.2, 0.9, 0.8]));
        assert!(s[2] > s[0] && s[2] > s[1], "{s:?}");
        assert_eq!(super::fuse(vec![0.1, 0.3], None)[1], 1.0);
    }
}
