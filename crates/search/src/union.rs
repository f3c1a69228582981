//! A sum of BM25 term scores whose top hits are found by MaxScore.
//!
//! paperboy's queries put each word in title, abstract and authors. tantivy's OR of term queries
//! finds its top hits with block-max WAND, but only when every clause reads term frequencies in
//! the segment at hand: a term absent from a segment (a word such as "model" is in no author's
//! name) gets an empty posting list that reads none, and the whole OR falls back to scoring every
//! match. And where WAND applies it re-sorts every term's cursor at each step; with terms of low
//! weight few blocks can be skipped. At 2.7 M papers, "for large language model" (12 terms) took
//! 26 ms with WAND and takes 8.5 ms here; "a model for" 9.5 ms against 3.6 (`paperboy-bench
//! probe`, BENCHMARKS.md "Scale").
//!
//! So [`TermUnion`] finds its top hits by MaxScore (Turtle and Flood; Lucene's choice for
//! disjunctions) in windows of doc ids, as Lucene's `MaxScoreBulkScorer` does: the terms sorted
//! by their score's upper bound, those whose bounds sum to no more than the current threshold are
//! "non-essential" (no paper that has only them can enter the top), so only the papers of the
//! other terms are candidates; each window's candidates are summed in an array, and a candidate
//! stops being scored as soon as what its non-essential terms could add cannot lift it over the
//! threshold. The segments of a search share the threshold (as Lucene's slices do), so each
//! starts from the best the others have found: one query on one thread took up to half the time
//! it took without. Counting, and use inside another query (an intersection, filters), take
//! tantivy's own OR of the terms each segment has.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{
    Bm25Weight, BooleanWeight, BoostWeight, EmptyScorer, EnableScoring, Explanation, Occur, Query,
    Scorer, SumCombiner, TermQuery, Weight,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, SegmentReader, Term, TERMINATED};

/// Doc ids per MaxScore window.
const WINDOW: usize = 4096;

/// An OR of terms, each with a boost, scored as the sum of their BM25.
#[derive(Clone, Debug)]
pub struct TermUnion {
    terms: Vec<(Term, Score)>,
}

impl TermUnion {
    pub fn new(terms: Vec<(Term, Score)>) -> Self {
        TermUnion { terms }
    }
}

impl Query for TermUnion {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let mut terms = Vec::with_capacity(self.terms.len());
        // Each term's BM25 as its term query computes it (the same statistics), for MaxScore.
        let stats = match scoring {
            EnableScoring::Enabled {
                statistics_provider,
                ..
            } => Some(statistics_provider),
            EnableScoring::Disabled { .. } => None,
        };
        let mut bm25 = Vec::with_capacity(self.terms.len());
        for (term, boost) in &self.terms {
            if let Some(stats) = stats {
                bm25.push(
                    Bm25Weight::for_terms(stats, std::slice::from_ref(term))?.boost_by(*boost),
                );
            }
            let weight =
                TermQuery::new(term.clone(), IndexRecordOption::WithFreqs).weight(scoring)?;
            let weight: Box<dyn Weight> = match stats.is_some() && *boost != 1.0 {
                true => Box::new(BoostWeight::new(weight, *boost)),
                false => weight,
            };
            terms.push((term.clone(), Arc::from(weight)));
        }
        Ok(Box::new(TermUnionWeight {
            terms,
            bm25: stats.map(|_| bm25),
            shared: AtomicU32::new(0),
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for (term, _) in &self.terms {
            visitor(term, false);
        }
    }
}

struct TermUnionWeight {
    terms: Vec<(Term, Arc<dyn Weight>)>,
    /// Each term's BM25 weight, boosted, for MaxScore (None when scoring is off).
    bm25: Option<Vec<Bm25Weight>>,
    /// The highest threshold any segment has reached in this search, as f32 bits (0 before any;
    /// only positive, so the bits order as the floats do). A weight serves one search, with one
    /// collector: a paper at or below another segment's k-th best score is not in the top k.
    shared: AtomicU32,
}

impl TermUnionWeight {
    /// tantivy's boolean OR of the terms `reader`'s segment has (None when it has none).
    fn in_segment(
        &self,
        reader: &SegmentReader,
    ) -> tantivy::Result<Option<BooleanWeight<SumCombiner>>> {
        let mut present: Vec<(Occur, Box<dyn Weight>)> = Vec::new();
        for (term, weight) in &self.terms {
            if has_term(reader, term)? {
                present.push((Occur::Should, Box::new(Shared(weight.clone()))));
            }
        }
        Ok((!present.is_empty()).then(|| {
            BooleanWeight::new(present, self.bm25.is_some(), Box::new(SumCombiner::default))
        }))
    }

    /// The top hits by MaxScore in windows (see the module's note): every paper whose sum is
    /// above the threshold, as it rises, goes to `callback`.
    fn max_score(
        &self,
        bm25: &[Bm25Weight],
        mut threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        let mut terms: Vec<(Score, Cursor)> = Vec::with_capacity(self.terms.len());
        for ((term, _), bm25) in self.terms.iter().zip(bm25) {
            if let Some(cursor) = Cursor::open(reader, term, bm25)? {
                terms.push((bm25.max_score(), cursor));
            }
        }
        terms.sort_by(|a, b| a.0.total_cmp(&b.0));
        // bounds[i]: the most terms 0..=i can add together.
        let bounds: Vec<Score> = terms
            .iter()
            .scan(0.0, |sum: &mut Score, (max, _)| {
                *sum += max;
                Some(*sum)
            })
            .collect();
        let mut scorers: Vec<Cursor> = terms.into_iter().map(|(_, s)| s).collect();
        let mut sums = vec![0.0 as Score; WINDOW];
        let mut seen = vec![0u64; WINDOW / 64];
        loop {
            // What other segments of this search have reached (on other threads, or before).
            threshold = threshold.max(f32::from_bits(self.shared.load(Ordering::Relaxed)));
            // Terms before `essential` are non-essential for this whole window.
            let essential = bounds.partition_point(|&b| b <= threshold);
            let start = scorers[essential..]
                .iter()
                .map(|s| s.doc())
                .min()
                .unwrap_or(TERMINATED);
            if start == TERMINATED {
                return Ok(());
            }
            let end = start.saturating_add(WINDOW as DocId);
            for s in &mut scorers[essential..] {
                let mut doc = s.doc();
                while doc < end {
                    let i = (doc - start) as usize;
                    sums[i] += s.score();
                    seen[i / 64] |= 1 << (i % 64);
                    doc = s.advance();
                }
            }
            for (w, word) in seen.iter_mut().enumerate() {
                while *word != 0 {
                    let i = w * 64 + word.trailing_zeros() as usize;
                    *word &= *word - 1;
                    let doc = start + i as DocId;
                    let mut score = std::mem::take(&mut sums[i]);
                    // The non-essential terms, the largest bound first, while they matter.
                    let mut left = essential;
                    while left > 0 && score + bounds[left - 1] > threshold {
                        let s = &mut scorers[left - 1];
                        if s.doc() < doc {
                            s.seek(doc);
                        }
                        if s.doc() == doc {
                            score += s.score();
                        }
                        left -= 1;
                    }
                    if left == 0 && score > threshold {
                        threshold = threshold.max(callback(doc, score));
                        if threshold > 0.0 {
                            self.shared
                                .fetch_max(threshold.to_bits(), Ordering::Relaxed);
                        }
                    }
                }
            }
        }
    }
}

impl Weight for TermUnionWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        match self.in_segment(reader)? {
            Some(w) => w.scorer(reader, boost),
            None => Ok(Box::new(EmptyScorer)),
        }
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        match self.in_segment(reader)? {
            Some(w) => w.explain(reader, doc),
            None => Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            ))),
        }
    }

    fn for_each_pruning(
        &self,
        threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        if let Some(bm25) = &self.bm25 {
            return self.max_score(bm25, threshold, reader, callback);
        }
        match self.in_segment(reader)? {
            Some(w) => w.for_each_pruning(threshold, reader, callback),
            None => Ok(()),
        }
    }
}

/// Whether `reader`'s segment has `term` at all.
fn has_term(reader: &SegmentReader, term: &Term) -> tantivy::Result<bool> {
    Ok(reader
        .inverted_index(term.field())?
        .get_term_info(term)?
        .is_some())
}

/// One term's postings in one segment for MaxScore, scored as tantivy's term scorer scores them
/// (the same BM25 weight and field norms) but called directly, not through `dyn Scorer`: at
/// 2.7 M papers, queries of common words take 15-25% less time than through boxed term scorers.
struct Cursor<'a> {
    postings: SegmentPostings,
    norms: FieldNormReader,
    bm25: &'a Bm25Weight,
}

impl<'a> Cursor<'a> {
    /// None when the segment has no papers with `term`.
    fn open(
        reader: &SegmentReader,
        term: &Term,
        bm25: &'a Bm25Weight,
    ) -> tantivy::Result<Option<Cursor<'a>>> {
        let field = term.field();
        let Some(postings) = reader
            .inverted_index(field)?
            .read_postings(term, IndexRecordOption::WithFreqs)?
        else {
            return Ok(None);
        };
        if postings.doc() == TERMINATED {
            return Ok(None);
        }
        // As tantivy's term weight does for a field without norms.
        let norms = reader
            .fieldnorms_readers()
            .get_field(field)?
            .unwrap_or_else(|| FieldNormReader::constant(reader.max_doc(), 1));
        Ok(Some(Cursor {
            postings,
            norms,
            bm25,
        }))
    }

    #[inline]
    fn doc(&self) -> DocId {
        self.postings.doc()
    }

    #[inline]
    fn advance(&mut self) -> DocId {
        self.postings.advance()
    }

    #[inline]
    fn seek(&mut self, target: DocId) -> DocId {
        self.postings.seek(target)
    }

    #[inline]
    fn score(&self) -> Score {
        let doc = self.postings.doc();
        self.bm25
            .score(self.norms.fieldnorm_id(doc), self.postings.term_freq())
    }
}

/// One term's weight lent to a segment's boolean query.
struct Shared(Arc<dyn Weight>);

impl Weight for Shared {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        self.0.scorer(reader, boost)
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{BooleanQuery, BoostQuery};
    use tantivy::schema::{Schema, TEXT};
    use tantivy::{doc, Index, IndexWriter};

    /// tantivy's own OR of the boosted term queries: what a `TermUnion` must score alike.
    fn boosted_or(terms: &[(Term, Score)]) -> BooleanQuery {
        BooleanQuery::new(
            terms
                .iter()
                .map(|(t, b)| {
                    let q: Box<dyn Query> = Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(t.clone(), IndexRecordOption::WithFreqs)),
                        *b,
                    ));
                    (Occur::Should, q)
                })
                .collect(),
        )
    }

    /// Two segments; "model" is in no author of the first, "hopper" in the second only.
    fn index() -> (Index, tantivy::schema::Field, tantivy::schema::Field) {
        let mut b = Schema::builder();
        let title = b.add_text_field("title", TEXT);
        let authors = b.add_text_field("authors", TEXT);
        let index = Index::create_in_ram(b.build());
        let mut w: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..300 {
            let t = match i % 3 {
                0 => "a model of models",
                1 => "a model",
                _ => "nothing here",
            };
            w.add_document(doc!(title => t, authors => "ada lovelace"))
                .unwrap();
        }
        w.commit().unwrap();
        for i in 0..200 {
            let t = if i % 2 == 0 {
                "model model model"
            } else {
                "other"
            };
            w.add_document(doc!(title => t, authors => "grace hopper model"))
                .unwrap();
        }
        w.commit().unwrap();
        (index, title, authors)
    }

    #[test]
    fn scores_the_same_sum_as_boosted_term_queries() {
        let (index, title, authors) = index();
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(searcher.segment_readers().len(), 2);
        let terms = vec![
            (Term::from_field_text(title, "model"), 1.2),
            (Term::from_field_text(authors, "model"), 1.0),
            (Term::from_field_text(authors, "hopper"), 0.5),
            (Term::from_field_text(title, "absent"), 1.0),
        ];
        let plain = boosted_or(&terms);
        let union = TermUnion::new(terms);
        let top = |q: &dyn Query| searcher.search(q, &TopDocs::with_limit(1000)).unwrap();
        let (a, b) = (top(&plain), top(&union));
        assert_eq!(a.len(), 400);
        assert_eq!(a.len(), b.len());
        for ((sa, da), (sb, db)) in a.iter().zip(&b) {
            assert_eq!(da, db);
            assert!((sa - sb).abs() < 1e-6, "{sa} vs {sb}");
        }
        // The top 5 with pruning are the top 5 of the full list.
        let five = searcher.search(&union, &TopDocs::with_limit(5)).unwrap();
        assert_eq!(five, a[..5].to_vec());
        assert_eq!(searcher.search(&union, &Count).unwrap(), 400);
    }

    #[test]
    fn a_long_union_scores_the_same_as_a_short_one() {
        let (index, title, authors) = index();
        let searcher = index.reader().unwrap().searcher();
        let mut terms = vec![
            (Term::from_field_text(title, "model"), 1.2),
            (Term::from_field_text(authors, "hopper"), 0.5),
        ];
        let short = TermUnion::new(terms.clone());
        terms.extend((0..12).map(|i| (Term::from_field_text(title, &format!("absent{i}")), 1.0)));
        let long = TermUnion::new(terms);
        let top = |q: &dyn Query| searcher.search(q, &TopDocs::with_limit(7)).unwrap();
        assert_eq!(top(&short), top(&long));
        assert_eq!(top(&short).len(), 7);
    }

    /// MaxScore finds the same top hits as scoring every match,
    /// at every depth, over terms of very different weights, documents of every length, and
    /// more documents than one window.
    #[test]
    fn max_score_finds_the_top_hits_of_scoring_every_match() {
        let mut b = Schema::builder();
        let title = b.add_text_field("title", TEXT);
        let index = Index::create_in_ram(b.build());
        let mut w: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let words: Vec<String> = (0..20).map(|i| format!("w{i}")).collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for segment in 0..2 {
            for _ in 0..6000 {
                let mut text = Vec::new();
                for _ in 0..1 + x % 12 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Word i appears about 1/(i+1) as often as word 0: rare words weigh more.
                    let r = (x % 1000) as usize;
                    let i = (0..20).find(|&i| r < 1000 / (i + 1) / 3).unwrap_or(19);
                    text.push(words[i].as_str());
                }
                w.add_document(doc!(title => text.join(" "))).unwrap();
            }
            if segment == 0 {
                w.commit().unwrap();
            }
        }
        w.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let terms: Vec<(Term, Score)> = words
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    Term::from_field_text(title, t),
                    1.0 + (i % 3) as Score * 0.25,
                )
            })
            .collect();
        let long = TermUnion::new(terms.clone());
        let plain = boosted_or(&terms);
        for limit in [1, 10, 100, 1000] {
            let want = searcher
                .search(&plain, &TopDocs::with_limit(limit))
                .unwrap();
            let got = searcher.search(&long, &TopDocs::with_limit(limit)).unwrap();
            assert_eq!(want.len(), got.len());
            for ((sw, _), (sg, _)) in want.iter().zip(&got) {
                assert!((sw - sg).abs() < 1e-4, "top {limit}: {sw} vs {sg}");
            }
            // The same papers, but for ties of (nearly) equal scores at the cut.
            let cut = want.last().unwrap().0;
            let firm = |v: &[(Score, tantivy::DocAddress)]| {
                v.iter()
                    .filter(|(s, _)| *s > cut + 1e-4)
                    .map(|(_, d)| *d)
                    .collect::<std::collections::BTreeSet<_>>()
            };
            assert_eq!(firm(&want), firm(&got), "top {limit}");
        }
    }

    #[test]
    fn a_union_of_absent_terms_matches_nothing() {
        let (index, title, _) = index();
        let searcher = index.reader().unwrap().searcher();
        let union = TermUnion::new(vec![(Term::from_field_text(title, "absent"), 1.0)]);
        assert!(searcher
            .search(&union, &TopDocs::with_limit(5))
            .unwrap()
            .is_empty());
        assert_eq!(searcher.search(&union, &Count).unwrap(), 0);
    }
}
