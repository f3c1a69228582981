//! A reader's model for "for you", and the engine that keeps readers' models and papers' term
//! vectors for the server.
//!
//! A [`Profile`] is what training a reader gives: the TF-IDF vectors of the papers they liked
//! (votes, saves, collection items, imported libraries) and of those they turned down ("not
//! interested", "fewer like this"), with the authors and categories they follow. It is plain data,
//! stored as JSON so that a restart keeps it. A [`Ranker`] is a profile made ready to score: the
//! liked papers' centroid, an inverted index of the liked and the disliked papers' terms (the
//! nearest liked paper of a candidate is found by walking its terms, not by comparing it with
//! every liked paper), and the category counts. Its score is the fusion the for-you benchmark
//! chose ([`FUSION`]: the centroid's cosine, the nearest liked paper's, the primary category's
//! count, as z-scores over the pool), minus the nearest disliked paper's, plus a fixed lift for
//! followed authors; with nothing liked yet, popularity stands in for the library. The reason a
//! paper is shown ([`Why`]) is read off the same parts: the liked papers it is nearest, the terms
//! that weighed most in its centroid cosine, the followed authors.
//!
//! Document frequencies come from a [`DocFreq`]: the keyword index's in the server, the
//! benchmark corpus's counts in `paperboy eval foryou`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use paperboy_core::ArxivId;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use tantivy::tokenizer::TextAnalyzer;

use crate::text::analyzer;

/// A unit vector of TF-IDF weights, by term number, sorted.
pub type Sparse = Vec<(u32, f32)>;

/// Terms in more than this share of the papers are dropped (words such as "model" and "we"
/// say nothing of a reader's taste): chosen with the fusion weights by 5-fold cross-validation
/// on the benchmark's train cases (held-out nDCG@10 0.3709 at 0.3, 0.3725 at 0.2, 0.3686 at
/// 0.15, 0.3631 keeping every term).
pub const MAX_DF: f32 = 0.2;

/// The dot product of two sorted sparse vectors.
pub fn dot(a: &Sparse, b: &Sparse) -> f32 {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    // A paper against a centroid of thousands of terms: look each of the paper's terms up in
    // the rest of the centroid rather than walking all of it (the same products, in the same
    // order).
    if long.len() > 16 * short.len() {
        let (mut from, mut sum) = (0, 0.0);
        for &(t, w) in short {
            from += long[from..].partition_point(|x| x.0 < t);
            match long.get(from) {
                None => break,
                Some(&(u, x)) if u == t => {
                    sum += w * x;
                    from += 1;
                }
                Some(_) => {}
            }
        }
        return sum;
    }
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

/// The mean of `vectors`, as a unit vector.
pub fn centroid<'a>(vectors: impl IntoIterator<Item = &'a Sparse>) -> Sparse {
    // Each term's weights are summed in the vectors' order.
    let mut sum: FxHashMap<u32, f32> = FxHashMap::default();
    for v in vectors {
        for &(t, w) in v {
            *sum.entry(t).or_default() += w;
        }
    }
    let mut c: Sparse = sum.into_iter().collect();
    c.sort_unstable_by_key(|(t, _)| *t);
    normalise(&mut c);
    c
}

/// A unit vector keyed by term, for its dot products with many papers: a lookup per term of
/// the paper, where a merging walk would cross all of this vector's terms for each paper. The
/// same products summed in the same order as [`dot`] with the sorted vector.
struct Keyed(FxHashMap<u32, f32>);

impl Keyed {
    /// [`centroid`] of `vectors`, keyed.
    fn centroid<'a>(vectors: impl IntoIterator<Item = &'a Sparse>) -> Keyed {
        Keyed(centroid(vectors).into_iter().collect())
    }

    fn dot(&self, v: &Sparse) -> f32 {
        let mut total = 0.0;
        for (t, w) in v {
            if let Some(x) = self.0.get(t) {
                total += x * w;
            }
        }
        total
    }
}

/// The weights of paperboy's fusion: centroid, nearest library paper, category; chosen by
/// 5-fold cross-validation on the benchmark's train cases with [`MAX_DF`] (`paperboy eval
/// foryou --cross-validate 5`: the weights most folds chose; held-out nDCG@10 0.3725).
pub const FUSION: [f32; 3] = [1.0, 1.0, 0.6];

/// The weighted sum of the parts' scores, paper by paper.
pub fn fuse(parts: &[Vec<f32>; 3], weights: [f32; 3]) -> Vec<f32> {
    let n = parts[0].len();
    (0..n)
        .map(|i| parts.iter().zip(weights).map(|(p, w)| p[i] * w).sum())
        .collect()
}

/// Scores as z-scores (mean 0, deviation 1; all 0 when they do not vary).
pub fn z(scores: Vec<f32>) -> Vec<f32> {
    let n = scores.len().max(1) as f32;
    let mean = scores.iter().sum::<f32>() / n;
    let sd = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / n).sqrt();
    scores
        .into_iter()
        .map(|s| if sd > 0.0 { (s - mean) / sd } else { 0.0 })
        .collect()
}

/// For each of `rows`, its largest dot product with any of `with` (vectors of `dim` floats): one
/// matrix product on the embedder's kernels (AVX2+FMA where the CPU has them), in blocks of
/// rows so that the product stays small.
fn max_dots(rows: &[&[f32]], with: &[Vec<f32>], dim: usize) -> Vec<f32> {
    use crate::kernel::{pack_nk, Buf, Epilogue, Kernel, KernelChoice, Panels};
    static KERNEL: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
    let kernel =
        *KERNEL.get_or_init(|| Kernel::resolve(KernelChoice::Auto).unwrap_or(Kernel::Portable));
    let with: Vec<&Vec<f32>> = with.iter().filter(|w| w.len() == dim).collect();
    if with.is_empty() || dim == 0 {
        return vec![f32::MIN; rows.len()];
    }
    let flat: Vec<f32> = with.iter().flat_map(|w| w.iter().copied()).collect();
    let mut packed = Buf::default();
    pack_nk(&mut packed, &flat, dim, dim, with.len());
    let b = Panels {
        k: dim,
        n: with.len(),
        data: packed.as_slice(),
    };
    const BLOCK: usize = 64;
    let b = &b;
    let pieces = in_parts(rows, rows.len() * with.len(), |rows| {
        let mut out = Vec::with_capacity(rows.len());
        let (mut a, mut c) = (Vec::new(), vec![0.0f32; BLOCK * b.n]);
        for block in rows.chunks(BLOCK) {
            a.clear();
            for r in block {
                a.extend_from_slice(r);
            }
            let c = &mut c[..block.len() * b.n];
            kernel.gemm(block.len(), &a, dim, b, None, c, b.n, Epilogue::None);
            out.extend(
                c.chunks_exact(b.n)
                    .map(|row| row.iter().copied().fold(f32::MIN, f32::max)),
            );
        }
        out
    });
    pieces.concat()
}

/// The mean of dense vectors (the first one's length), as a unit vector: [`centroid`] for
/// embeddings.
pub fn mean_direction<'a>(vectors: impl IntoIterator<Item = &'a [f32]>) -> Vec<f32> {
    let mut mean: Vec<f32> = Vec::new();
    for v in vectors {
        if mean.is_empty() {
            mean = vec![0.0; v.len()];
        }
        for (m, x) in mean.iter_mut().zip(v) {
            *m += x;
        }
    }
    crate::embed::normalize(&mut mean);
    mean
}

/// The z-scores of the scores there are, 0 (the mean) where there is none.
pub fn z_present(scores: Vec<Option<f32>>) -> Vec<f32> {
    let present: Vec<f32> = scores.iter().flatten().copied().collect();
    let mut zs = z(present).into_iter();
    scores
        .into_iter()
        .map(|s| match s {
            Some(_) => zs.next().unwrap_or(0.0),
            None => 0.0,
        })
        .collect()
}

/// How many papers hold a word, out of how many.
pub trait DocFreq {
    fn docs(&self) -> u64;
    fn df(&self, word: &str) -> u64;
}

impl DocFreq for crate::text::SearchIndex {
    fn docs(&self) -> u64 {
        self.num_docs()
    }
    fn df(&self, word: &str) -> u64 {
        self.doc_freq(word)
    }
}

/// Counted words of a corpus.
pub struct Counted {
    pub docs: u64,
    pub df: HashMap<String, u64>,
}

impl DocFreq for Counted {
    fn docs(&self) -> u64 {
        self.docs
    }
    fn df(&self, word: &str) -> u64 {
        self.df.get(word).copied().unwrap_or(0)
    }
}

/// The words seen so far, numbered, with their inverse document frequency (0: dropped as too
/// rare or too common to say anything of a reader's taste).
pub struct Vocab {
    ids: FxHashMap<String, u32>,
    words: Vec<String>,
    idf: Vec<f32>,
    docs: u64,
}

impl Vocab {
    pub fn new(docs: u64) -> Vocab {
        Vocab {
            ids: Default::default(),
            words: Vec::new(),
            idf: Vec::new(),
            docs,
        }
    }

    /// The number of papers the frequencies were counted over when this vocabulary began.
    pub fn docs(&self) -> u64 {
        self.docs
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    fn id(&mut self, word: &str, df: &dyn DocFreq) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let (f, n) = (df.df(word) as f32, self.docs as f32);
        let idf = if f < 2.0 || f > n * MAX_DF {
            0.0
        } else {
            ((n + 1.0) / (f + 1.0)).ln() + 1.0
        };
        let id = self.words.len() as u32;
        self.ids.insert(word.to_owned(), id);
        self.words.push(word.to_owned());
        self.idf.push(idf);
        id
    }

    pub fn word(&self, id: u32) -> &str {
        self.words.get(id as usize).map_or("", String::as_str)
    }

    /// The TF-IDF unit vector of a paper's title and abstract (sublinear term frequency).
    pub fn vector(
        &mut self,
        analyzer: &mut TextAnalyzer,
        title: &str,
        summary: &str,
        df: &dyn DocFreq,
    ) -> Sparse {
        let mut tf: FxHashMap<u32, u32> = FxHashMap::default();
        let text = format!("{title}. {summary}");
        let mut stream = analyzer.token_stream(&text);
        while stream.advance() {
            let id = self.id(&stream.token().text, df);
            *tf.entry(id).or_default() += 1;
        }
        let mut v: Sparse = tf
            .into_iter()
            .filter(|(t, _)| self.idf[*t as usize] > 0.0)
            .map(|(t, c)| (t, (1.0 + (c as f32).ln()) * self.idf[t as usize]))
            .collect();
        v.sort_unstable_by_key(|(t, _)| *t);
        normalise(&mut v);
        v
    }

    /// A stored vector (words and weights) in this vocabulary's numbers.
    fn numbered(&mut self, terms: &[(String, f32)], df: &dyn DocFreq) -> Sparse {
        let mut v: Sparse = terms.iter().map(|(w, x)| (self.id(w, df), *x)).collect();
        v.sort_unstable_by_key(|(t, _)| *t);
        v.dedup_by_key(|(t, _)| *t);
        v
    }

    /// A vector as words and weights, for storing.
    fn named(&self, v: &Sparse) -> Vec<(String, f32)> {
        v.iter()
            .map(|(t, x)| (self.word(*t).to_owned(), *x))
            .collect()
    }
}

pub(crate) fn normalise(v: &mut Sparse) {
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in v.iter_mut() {
            *w /= norm;
        }
    }
}

/// A paper a reader liked or turned down, as the model keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub title: String,
    pub primary: Option<String>,
    /// How much it counts: 1 for liked papers; for turned-down ones, how strongly.
    pub weight: f32,
    pub terms: Vec<(String, f32)>,
}

/// A paper as training sees it.
pub struct Example<'a> {
    pub id: &'a ArxivId,
    pub title: &'a str,
    pub summary: &'a str,
    pub primary: Option<&'a str>,
    pub weight: f32,
}

/// A reader's trained model (see the module's documentation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub liked: Vec<Item>,
    pub disliked: Vec<Item>,
    /// Followed authors: (normalised name, name as shown).
    pub authors: Vec<(String, String)>,
    pub categories: Vec<String>,
}

/// How much of the pool's centroid comes off the library's before the centroid cosine: chosen by
/// 5-fold cross-validation on the for-you train cases (held-out nDCG@10 in BENCHMARKS.md).
pub const BACKGROUND: f32 = 0.45;
/// How much a turned-down paper's likeness takes off, in z-scores.
pub const DISLIKE: f32 = 1.0;
/// What a followed author adds, in z-scores: more than any fusion of three z-scores reaches in
/// a day's pool, so their papers come first.
pub const FOLLOWED_AUTHOR: f32 = 12.0;
/// What the nearest liked paper by embedding and the liked papers' embedding centroid add, in
/// z-scores, to the z-scored fusion of the terms' parts, when the model embedded the papers:
/// chosen by 5-fold cross-validation on the for-you train cases (`paperboy eval foryou
/// --cross-validate 5 --model-dir DIR`, four folds of five chose these; BENCHMARKS.md).
pub const EMBEDDING_NEAR: f32 = 0.7;
pub const EMBEDDING_CENTROID: f32 = 0.3;
/// Below this cosine a liked paper is not named as a reason.
const NEAR_ENOUGH: f32 = 0.08;

impl Profile {
    /// Trains a profile: the term vectors of the liked and turned-down papers.
    pub fn train(
        liked: &[Example],
        disliked: &[Example],
        authors: Vec<(String, String)>,
        categories: Vec<String>,
        vocab: &mut Vocab,
        df: &dyn DocFreq,
    ) -> Profile {
        let mut analyzer = analyzer();
        let mut item = |e: &Example| Item {
            id: e.id.to_string(),
            title: e.title.to_owned(),
            primary: e.primary.map(str::to_owned),
            weight: e.weight,
            terms: {
                let v = vocab.vector(&mut analyzer, e.title, e.summary, df);
                vocab.named(&v)
            },
        };
        let liked = liked.iter().map(&mut item).collect();
        let disliked = disliked.iter().map(&mut item).collect();
        Profile {
            liked,
            disliked,
            authors,
            categories,
        }
    }
}

/// A candidate paper of a pool.
pub struct Candidate<'a> {
    pub id: &'a ArxivId,
    pub vector: &'a Sparse,
    pub primary: Option<&'a str>,
    /// Its authors' normalised names.
    pub authors: &'a [String],
    /// Upvotes, or any count of how much others liked it.
    pub popularity: f32,
    /// Its embedding (unit length), when the model embedded it.
    pub embedding: Option<&'a [f32]>,
}

/// Why a paper was ranked where it is, from the parts that scored it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Why {
    /// The one or two liked papers it is nearest (id, title).
    pub near: Vec<(ArxivId, String)>,
    /// The words that weighed most in its likeness to the liked papers.
    pub terms: Vec<String>,
    /// Followed authors of it, as shown.
    pub authors: Vec<String>,
    /// Its primary category when the reader follows it.
    pub category: Option<String>,
    /// Ranked by popularity (nothing liked yet).
    pub popular: bool,
}

/// One ranked candidate.
#[derive(Debug, Clone)]
pub struct Ranked {
    /// Its place in the pool given.
    pub index: usize,
    pub score: f32,
    pub why: Why,
}

/// A profile ready to score pools.
pub struct Ranker {
    liked: Vec<(ArxivId, String)>,
    centroid: Keyed,
    liked_postings: Postings,
    disliked_postings: Postings,
    disliked_weights: Vec<f32>,
    primary: FxHashMap<String, f32>,
    authors: FxHashMap<String, String>,
    categories: FxHashSet<String>,
    /// Liked and turned-down papers: never ranked.
    known: FxHashSet<ArxivId>,
}

/// An inverted index of a few vectors in three flat arrays: the terms sorted, where each
/// term's entries start, and the entries (item, weight) in item order.
#[derive(Default)]
struct Postings {
    terms: Vec<u32>,
    starts: Vec<u32>,
    entries: Vec<(u32, f32)>,
}

impl Postings {
    fn new(items: &[Sparse]) -> Postings {
        let mut all: Vec<(u32, u32, f32)> = items
            .iter()
            .enumerate()
            .flat_map(|(i, v)| v.iter().map(move |&(t, w)| (t, i as u32, w)))
            .collect();
        all.sort_unstable_by_key(|&(t, i, _)| (t, i));
        let mut p = Postings {
            entries: Vec::with_capacity(all.len()),
            ..Postings::default()
        };
        for (t, i, w) in all {
            if p.terms.last() != Some(&t) {
                p.terms.push(t);
                p.starts.push(p.entries.len() as u32);
            }
            p.entries.push((i, w));
        }
        p.starts.push(p.entries.len() as u32);
        p
    }

    /// Calls `f` with the entries of each of `v`'s terms (both sorted: one merging walk).
    fn each(&self, v: &Sparse, mut f: impl FnMut(f32, &[(u32, f32)])) {
        let mut from = 0;
        for &(t, w) in v {
            // The terms left are sorted: skip ahead to the first not below `t`.
            from += self.terms[from..].partition_point(|&x| x < t);
            if from == self.terms.len() {
                return;
            }
            if self.terms[from] == t {
                let (a, b) = (self.starts[from] as usize, self.starts[from + 1] as usize);
                f(w, &self.entries[a..b]);
                from += 1;
            }
        }
    }
}

/// The largest and second largest accumulated cosines of `v` with the items behind `postings`
/// (index, value); `acc` holds a zero per item, and is left so. The sums go into a dense array and
/// one pass over it finds the two best: no list of the items touched (its push per entry cost
/// more than the pass, at 1,000 liked papers).
fn nearest(
    postings: &Postings,
    weights: Option<&[f32]>,
    v: &Sparse,
    acc: &mut [f32],
) -> [(u32, f32); 2] {
    let mut best = [(u32::MAX, 0.0f32); 2];
    if acc.is_empty() {
        return best;
    }
    postings.each(v, |w, list| {
        for &(i, x) in list {
            acc[i as usize] += w * x;
        }
    });
    let mut consider = |i: usize, s: f32| {
        if s > best[0].1 {
            best[1] = best[0];
            best[0] = (i as u32, s);
        } else if s > best[1].1 {
            best[1] = (i as u32, s);
        }
    };
    match weights {
        None => acc.iter().enumerate().for_each(|(i, &a)| consider(i, a)),
        Some(w) => acc
            .iter()
            .zip(w)
            .enumerate()
            .for_each(|(i, (&a, &w))| consider(i, a * w)),
    }
    acc.fill(0.0);
    best
}

/// Each candidate's parts of the score, in the pool's order.
struct Parts {
    cent: Vec<f32>,
    near: Vec<f32>,
    nearest_liked: Vec<[(u32, f32); 2]>,
    neg: Vec<f32>,
    cat: Vec<f32>,
    pop: Vec<f32>,
}

impl Parts {
    fn with_capacity(n: usize) -> Parts {
        Parts {
            cent: Vec::with_capacity(n),
            near: Vec::with_capacity(n),
            nearest_liked: Vec::with_capacity(n),
            neg: Vec::with_capacity(n),
            cat: Vec::with_capacity(n),
            pop: Vec::with_capacity(n),
        }
    }

    fn concat(pieces: Vec<Parts>, n: usize) -> Parts {
        let mut all = Parts::with_capacity(n);
        for p in pieces {
            all.cent.extend(p.cent);
            all.near.extend(p.near);
            all.nearest_liked.extend(p.nearest_liked);
            all.neg.extend(p.neg);
            all.cat.extend(p.cat);
            all.pop.extend(p.pop);
        }
        all
    }
}

/// Below this much work (candidates times library papers) a ranking stays on its own thread:
/// starting threads costs more than it saves.
const PARALLEL_WORK: usize = 100_000;

/// `f` over `items`, cut into one piece per core (at most 4) when `work` reaches
/// [`PARALLEL_WORK`], else over all of them on this thread: the pieces' results in order. The
/// results do not depend on the cut (each item is computed alone).
fn in_parts<I: Sync, T: Send>(items: &[I], work: usize, f: impl Fn(&[I]) -> T + Sync) -> Vec<T> {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let cores = *CORES.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(4)
    });
    let pieces = if work < PARALLEL_WORK { 1 } else { cores };
    crate::pieces::map_pieces(items, pieces, f)
}

/// A liked or turned-down paper as a ranker takes it: id, title, primary category, weight,
/// vector.
pub type Numbered = (ArxivId, String, Option<String>, f32, Sparse);

impl Ranker {
    pub fn new(profile: &Profile, vocab: &mut Vocab, df: &dyn DocFreq) -> Ranker {
        let mut numbered = |items: &[Item]| -> Vec<Numbered> {
            items
                .iter()
                .filter_map(|i| {
                    Some((
                        ArxivId::parse(&i.id).ok()?,
                        i.title.clone(),
                        i.primary.clone(),
                        i.weight,
                        vocab.numbered(&i.terms, df),
                    ))
                })
                .collect()
        };
        let liked = numbered(&profile.liked);
        let disliked = numbered(&profile.disliked);
        Ranker::from_vectors(liked, disliked, &profile.authors, &profile.categories)
    }

    /// Whether the reader follows any author (else the candidates' authors play no part).
    pub fn follows_authors(&self) -> bool {
        !self.authors.is_empty()
    }

    /// A ranker from vectors already in a vocabulary's numbers.
    pub fn from_vectors(
        liked: Vec<Numbered>,
        disliked: Vec<Numbered>,
        authors: &[(String, String)],
        categories: &[String],
    ) -> Ranker {
        let mut primary: FxHashMap<String, f32> = FxHashMap::default();
        for (_, _, p, _, _) in &liked {
            if let Some(c) = p {
                *primary.entry(c.clone()).or_default() += 1.0;
            }
        }
        let liked_vectors: Vec<Sparse> = liked.iter().map(|l| l.4.clone()).collect();
        let disliked_vectors: Vec<Sparse> = disliked.iter().map(|l| l.4.clone()).collect();
        Ranker {
            centroid: Keyed::centroid(liked_vectors.iter()),
            liked_postings: Postings::new(&liked_vectors),
            disliked_postings: Postings::new(&disliked_vectors),
            disliked_weights: disliked.iter().map(|i| i.3).collect(),
            primary,
            authors: authors.iter().cloned().collect(),
            categories: categories.iter().cloned().collect(),
            known: liked.iter().chain(&disliked).map(|i| i.0.clone()).collect(),
            liked: liked.into_iter().map(|i| (i.0, i.1)).collect(),
        }
    }

    /// How many liked papers the model learnt from.
    pub fn liked(&self) -> usize {
        self.liked.len()
    }

    /// The liked papers' ids (their embeddings are what [`Ranker::rank`] takes).
    pub fn liked_ids(&self) -> impl Iterator<Item = &ArxivId> {
        self.liked.iter().map(|l| &l.0)
    }

    /// Whether a paper is one the reader liked or turned down (it is never ranked).
    pub fn knows(&self, id: &ArxivId) -> bool {
        self.known.contains(id)
    }

    /// The pool's first `limit` papers, best first, without the ones the reader knows; each with
    /// why. `vocab` names the words of the reasons; `embedded` holds the embeddings of the liked
    /// papers the model embedded (none: terms and categories alone).
    pub fn rank(
        &self,
        pool: &[Candidate],
        vocab: &Vocab,
        embedded: &[Vec<f32>],
        limit: usize,
    ) -> Vec<Ranked> {
        let keep: Vec<usize> = (0..pool.len())
            .filter(|&i| !self.known.contains(pool[i].id))
            .collect();
        // Each candidate's parts, the pool cut in one piece per core when it is large.
        let work = keep.len() * (self.liked.len() + self.disliked_weights.len());
        let pieces = in_parts(&keep, work, |piece| {
            let mut acc_liked = vec![0.0f32; self.liked.len()];
            let mut acc_disliked = vec![0.0f32; self.disliked_weights.len()];
            let mut parts = Parts::with_capacity(piece.len());
            for &i in piece {
                let c = &pool[i];
                parts.cent.push(self.centroid.dot(c.vector));
                let best = nearest(&self.liked_postings, None, c.vector, &mut acc_liked);
                parts.near.push(best[0].1);
                parts.nearest_liked.push(best);
                let worst = nearest(
                    &self.disliked_postings,
                    Some(&self.disliked_weights),
                    c.vector,
                    &mut acc_disliked,
                );
                parts.neg.push(worst[0].1);
                parts.cat.push(
                    c.primary
                        .and_then(|p| self.primary.get(p))
                        .copied()
                        .unwrap_or(0.0),
                );
                parts.pop.push(c.popularity.max(0.0).ln_1p());
            }
            parts
        });
        let Parts {
            mut cent,
            near,
            nearest_liked,
            neg,
            cat,
            pop,
        } = Parts::concat(pieces, keep.len());
        let liked = !self.liked.is_empty();
        // Likeness to the library, less likeness to the pool's own centroid: what the whole day
        // is about says nothing of this reader (Rocchio's negative part, the pool as background).
        if liked && BACKGROUND != 0.0 {
            let bg = Keyed::centroid(keep.iter().map(|&i| pool[i].vector));
            for (k, &i) in keep.iter().enumerate() {
                cent[k] -= BACKGROUND * bg.dot(pool[i].vector);
            }
        }
        let mut score = if liked {
            z(fuse(&[z(cent.clone()), z(near), z(cat)], FUSION))
        } else {
            z(pop)
        };
        // Likeness by meaning: the nearest liked paper's embedding cosine and the cosine with
        // the liked papers' mean embedding, for the candidates the model embedded (the others
        // count as average).
        if liked && !embedded.is_empty() {
            let mean = mean_direction(embedded.iter().map(Vec::as_slice));
            let dim = mean.len();
            let embeddings: Vec<Option<&[f32]>> = keep
                .iter()
                .map(|&i| pool[i].embedding.filter(|e| e.len() == dim))
                .collect();
            let rows: Vec<&[f32]> = embeddings.iter().flatten().copied().collect();
            let mut nearest = max_dots(&rows, embedded, dim).into_iter();
            let near: Vec<Option<f32>> = embeddings
                .iter()
                .map(|e| e.and_then(|_| nearest.next()))
                .collect();
            let cent: Vec<Option<f32>> = embeddings
                .iter()
                .map(|e| e.map(|e| crate::vectors::dot_fast(&mean, e)))
                .collect();
            let parts = z_present(near).into_iter().zip(z_present(cent));
            for (s, (n, c)) in score.iter_mut().zip(parts) {
                *s += EMBEDDING_NEAR * n + EMBEDDING_CENTROID * c;
            }
        }
        if !self.disliked_weights.is_empty() {
            for (s, n) in score.iter_mut().zip(z(neg)) {
                *s -= DISLIKE * n;
            }
        }
        for (k, &i) in keep.iter().enumerate() {
            if pool[i].authors.iter().any(|a| self.authors.contains_key(a)) {
                score[k] += FOLLOWED_AUTHOR;
            }
        }
        let mut order: Vec<usize> = (0..keep.len()).collect();
        let by_score = |a: &usize, b: &usize| {
            score[*b]
                .total_cmp(&score[*a])
                .then_with(|| pool[keep[*a]].id.cmp(pool[keep[*b]].id))
        };
        // Only the first `limit` are wanted: select them, then sort those.
        if limit < order.len() {
            order.select_nth_unstable_by(limit, by_score);
            order.truncate(limit);
        }
        order.sort_unstable_by(by_score);
        // The reasons, for the papers returned only.
        let r: Vec<Ranked> = order
            .into_iter()
            .map(|k| {
                let i = keep[k];
                let c = &pool[i];
                let near = nearest_liked[k]
                    .iter()
                    .filter(|(l, x)| *l != u32::MAX && *x >= NEAR_ENOUGH)
                    .filter_map(|(l, _)| self.liked.get(*l as usize).cloned())
                    .collect();
                Ranked {
                    index: i,
                    score: score[k],
                    why: Why {
                        near,
                        terms: if liked {
                            self.top_terms(c.vector, vocab, 3)
                        } else {
                            Vec::new()
                        },
                        authors: c
                            .authors
                            .iter()
                            .filter_map(|a| self.authors.get(a).cloned())
                            .collect(),
                        category: c
                            .primary
                            .filter(|p| self.categories.contains(*p))
                            .map(str::to_owned),
                        popular: !liked,
                    },
                }
            })
            .collect();
        r
    }

    /// The `n` words adding most to `v`'s cosine with the liked papers' centroid.
    fn top_terms(&self, v: &Sparse, vocab: &Vocab, n: usize) -> Vec<String> {
        // In term order, as a merging walk would find them (the sort below is stable).
        let mut parts: Vec<(f32, u32)> = v
            .iter()
            .filter_map(|&(t, w)| Some((self.centroid.0.get(&t)? * w, t)))
            .collect();
        parts.sort_by(|a, b| b.0.total_cmp(&a.0));
        parts
            .into_iter()
            .take(n)
            .map(|(_, t)| vocab.word(t).to_owned())
            .collect()
    }
}

/// Papers' vectors kept at most (about 1 KB each).
const MAX_VECTORS: usize = 200_000;
/// Readers' rankers kept at most.
const MAX_RANKERS: usize = 10_000;

/// What the server keeps for "for you": one vocabulary, the vectors of papers it has ranked, and
/// the rankers of recent readers, each under the fingerprint of the signals it was trained on.
pub struct Engine {
    inner: Mutex<Inner>,
}

struct Inner {
    vocab: Vocab,
    vectors: HashMap<ArxivId, Arc<Sparse>>,
    rankers: HashMap<i64, (String, Arc<Ranker>)>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            inner: Mutex::new(Inner {
                vocab: Vocab::new(0),
                vectors: HashMap::new(),
                rankers: HashMap::new(),
            }),
        }
    }
}

/// A paper to vectorise: (id, title, abstract).
pub type Text<'a> = (&'a ArxivId, &'a str, &'a str);

impl Engine {
    fn lock(&self, df: &dyn DocFreq) -> std::sync::MutexGuard<'_, Inner> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // The frequencies moved by more than a tenth since the words were weighed (the corpus
        // grew, or this is the first use): start again.
        let (then, now) = (inner.vocab.docs() as f64, df.docs() as f64);
        if (now - then).abs() > then * 0.1 || inner.vocab.len() > 5_000_000 {
            inner.vocab = Vocab::new(df.docs());
            inner.vectors.clear();
            inner.rankers.clear();
        }
        inner
    }

    /// The reader's ranker if it was made from signals with this fingerprint.
    pub fn ranker(&self, reader: i64, fingerprint: &str, df: &dyn DocFreq) -> Option<Arc<Ranker>> {
        let inner = self.lock(df);
        match inner.rankers.get(&reader) {
            Some((f, r)) if f == fingerprint => Some(r.clone()),
            _ => None,
        }
    }

    /// Trains a profile in this engine's vocabulary.
    pub fn train(
        &self,
        liked: &[Example],
        disliked: &[Example],
        authors: Vec<(String, String)>,
        categories: Vec<String>,
        df: &dyn DocFreq,
    ) -> Profile {
        let mut inner = self.lock(df);
        Profile::train(liked, disliked, authors, categories, &mut inner.vocab, df)
    }

    /// Makes the reader's ranker from a profile and keeps it under `fingerprint`.
    pub fn compile(
        &self,
        reader: i64,
        fingerprint: &str,
        profile: &Profile,
        df: &dyn DocFreq,
    ) -> Arc<Ranker> {
        let mut inner = self.lock(df);
        let ranker = Arc::new(Ranker::new(profile, &mut inner.vocab, df));
        if inner.rankers.len() >= MAX_RANKERS {
            inner.rankers.clear();
        }
        inner
            .rankers
            .insert(reader, (fingerprint.to_owned(), ranker.clone()));
        ranker
    }

    /// Forgets a reader's ranker.
    pub fn forget(&self, reader: i64) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.rankers.remove(&reader);
    }

    /// The papers' vectors, from the cache or made now.
    pub fn vectors(&self, papers: &[Text], df: &dyn DocFreq) -> Vec<Arc<Sparse>> {
        let mut inner = self.lock(df);
        if inner.vectors.len() + papers.len() > MAX_VECTORS {
            inner.vectors.clear();
        }
        let mut analyzer = analyzer();
        papers
            .iter()
            .map(|(id, title, summary)| {
                if let Some(v) = inner.vectors.get(*id) {
                    return v.clone();
                }
                let v = Arc::new(inner.vocab.vector(&mut analyzer, title, summary, df));
                inner.vectors.insert((*id).clone(), v.clone());
                v
            })
            .collect()
    }

    /// The `n` heaviest words of a vector made by this engine.
    pub fn top_words(&self, v: &Sparse, n: usize, df: &dyn DocFreq) -> Vec<String> {
        let inner = self.lock(df);
        let mut terms: Vec<&(u32, f32)> = v.iter().collect();
        terms.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        terms
            .into_iter()
            .take(n)
            .map(|(t, _)| inner.vocab.word(*t).to_owned())
            .collect()
    }

    /// Ranks a pool with a reader's ranker: the first `limit` (see [`Ranker::rank`]).
    pub fn rank(
        &self,
        ranker: &Ranker,
        pool: &[Candidate],
        embedded: &[Vec<f32>],
        limit: usize,
        df: &dyn DocFreq,
    ) -> Vec<Ranked> {
        let inner = self.lock(df);
        ranker.rank(pool, &inner.vocab, embedded, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ArxivId {
        ArxivId::parse(s).unwrap()
    }

    /// A dot product and an inverted index walk give what a plain walk over both vectors gives,
    /// to the bit, whichever is longer and however far apart their lengths.
    #[test]
    fn sparse_products_match_the_plain_walk() {
        fn plain(a: &Sparse, b: &Sparse) -> f32 {
            let mut sum = 0.0;
            for (t, w) in a {
                if let Ok(j) = b.binary_search_by_key(t, |x| x.0) {
                    sum += w * b[j].1;
                }
            }
            sum
        }
        // Terms drawn by a small congruential generator, sorted and unique.
        let mut seed = 7u64;
        let mut vector = |n: usize, range: u64| -> Sparse {
            let mut v: Sparse = (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((seed >> 33) % range) as u32
                })
                .map(|t| (t, (t % 13) as f32 * 0.37 + 0.01))
                .collect();
            v.sort_unstable_by_key(|x| x.0);
            v.dedup_by_key(|x| x.0);
            v
        };
        for (short, long) in [(3, 5), (40, 3000), (1, 900), (100, 100), (60, 5000)] {
            let a = vector(short, 8000);
            let b = vector(long, 8000);
            assert_eq!(
                dot(&a, &b).to_bits(),
                plain(&a, &b).to_bits(),
                "{short} x {long}"
            );
            assert_eq!(
                dot(&b, &a).to_bits(),
                plain(&a, &b).to_bits(),
                "{long} x {short}"
            );
            assert_eq!(dot(&a, &Vec::new()), 0.0);
            // The inverted index of three vectors finds each one's share of `a`.
            let items = [b.clone(), a.clone(), vector(long / 2 + 1, 8000)];
            let postings = Postings::new(&items);
            let mut acc = [0.0f32; 3];
            postings.each(&a, |w, list| {
                for (i, x) in list {
                    acc[*i as usize] += w * x;
                }
            });
            for (i, item) in items.iter().enumerate() {
                assert_eq!(acc[i].to_bits(), plain(&a, item).to_bits(), "item {i}");
            }
            // A centroid keyed for lookups scores as the sorted centroid does.
            let c = centroid(items.iter());
            let keyed = Keyed::centroid(items.iter());
            assert_eq!(keyed.dot(&a).to_bits(), dot(&c, &a).to_bits());
        }
    }

    struct Flat;
    impl DocFreq for Flat {
        fn docs(&self) -> u64 {
            100
        }
        fn df(&self, _: &str) -> u64 {
            5
        }
    }

    #[test]
    fn liked_neighbours_come_first_with_their_reason_and_dislikes_go_down() {
        let ids = [
            id("2501.00001"),
            id("2501.00002"),
            id("2501.00003"),
            id("2501.00004"),
        ];
        let ex = |i: usize, title: &'static str, summary: &'static str, weight: f32| Example {
            id: &ids[i],
            title,
            summary,
            primary: Some("cs.CL"),
            weight,
        };
        let mut vocab = Vocab::new(100);
        let liked = [ex(
            0,
            "Parsing tweets",
            "dependency parsing of noisy tweets",
            1.0,
        )];
        let disliked = [ex(
            1,
            "Protein folding",
            "protein structure with diffusion",
            1.0,
        )];
        let profile = Profile::train(
            &liked,
            &disliked,
            vec![("ada lovelace".into(), "Ada Lovelace".into())],
            vec!["cs.CL".into()],
            &mut vocab,
            &Flat,
        );
        let json = serde_json::to_string(&profile).unwrap();
        let profile: Profile = serde_json::from_str(&json).unwrap();
        let ranker = Ranker::new(&profile, &mut vocab, &Flat);
        let mut analyzer = analyzer();
        let pool_ids = [
            id("2502.00001"),
            id("2502.00002"),
            id("2502.00003"),
            ids[1].clone(),
        ];
        let texts = [
            (
                "Protein diffusion",
                "protein structure design with diffusion",
            ),
            ("Tweets", "parsing tweets with dependency trees"),
            ("Cooking", "recipes of soups"),
            ("Protein folding", "protein structure with diffusion"),
        ];
        let vectors: Vec<Sparse> = texts
            .iter()
            .map(|(t, s)| vocab.vector(&mut analyzer, t, s, &Flat))
            .collect();
        let none: Vec<String> = Vec::new();
        let followed = vec!["ada lovelace".to_owned()];
        let pool: Vec<Candidate> = (0..4)
            .map(|i| Candidate {
                id: &pool_ids[i],
                vector: &vectors[i],
                primary: Some("cs.CL"),
                authors: if i == 2 { &followed } else { &none },
                popularity: 0.0,
                embedding: None,
            })
            .collect();
        let ranked = ranker.rank(&pool, &vocab, &[], usize::MAX);
        let order: Vec<usize> = ranked.iter().map(|r| r.index).collect();
        // The turned-down paper itself is never ranked; the followed author's comes first, then
        // the liked paper's neighbour, and the one like the disliked paper last.
        assert_eq!(order, vec![2, 1, 0]);
        assert_eq!(ranked[0].why.authors, vec!["Ada Lovelace".to_owned()]);
        assert_eq!(
            ranked[1].why.near,
            vec![(ids[0].clone(), "Parsing tweets".into())]
        );
        assert!(
            ranked[1].why.terms.iter().any(|t| t == "tweet"),
            "{:?}",
            ranked[1].why
        );
        assert_eq!(ranked[1].why.category.as_deref(), Some("cs.CL"));
    }

    #[test]
    fn the_embedding_of_the_nearest_liked_paper_moves_a_paper_up() {
        let mut vocab = Vocab::new(100);
        let mut analyzer = analyzer();
        let liked_id = id("2501.00001");
        let liked = vec![(
            liked_id.clone(),
            "Parsing tweets".to_owned(),
            Some("cs.CL".to_owned()),
            1.0,
            vocab.vector(&mut analyzer, "Parsing tweets", "", &Flat),
        )];
        let ranker = Ranker::from_vectors(liked, Vec::new(), &[], &[]);
        assert_eq!(ranker.liked_ids().collect::<Vec<_>>(), vec![&liked_id]);
        // Three papers the terms cannot tell apart; their meaning can.
        let v = vocab.vector(&mut analyzer, "Galaxy surveys", "", &Flat);
        let ids = [id("2502.00001"), id("2502.00002"), id("2502.00003")];
        let embeddings = [vec![0.6f32, 0.8], vec![1.0, 0.0], vec![0.0, 1.0]];
        let pool: Vec<Candidate> = (0..3)
            .map(|i| Candidate {
                id: &ids[i],
                vector: &v,
                primary: None,
                authors: &[],
                popularity: 0.0,
                embedding: (i > 0).then(|| embeddings[i].as_slice()),
            })
            .collect();
        let order = |embedded: &[Vec<f32>]| -> Vec<usize> {
            ranker
                .rank(&pool, &vocab, embedded, usize::MAX)
                .iter()
                .map(|r| r.index)
                .collect()
        };
        // By id without embeddings; with them, the one nearest the liked paper's meaning first,
        // the one the model did not embed in the middle (average), the farthest last.
        assert_eq!(order(&[]), vec![0, 1, 2]);
        assert_eq!(order(&[vec![1.0, 0.0]]), vec![1, 0, 2]);
        assert_eq!(order(&[vec![0.0, 1.0]]), vec![2, 0, 1]);
    }

    #[test]
    fn pieces_come_back_in_order_and_ranking_does_not_depend_on_the_cut() {
        // Below the threshold one piece, here; above it one piece per core, in order.
        let items: Vec<usize> = (0..1000).collect();
        assert_eq!(in_parts(&items, 10, |p| p.len()), vec![1000]);
        let pieces = in_parts(&items, PARALLEL_WORK, |p| p.to_vec());
        assert_eq!(pieces.concat(), items);
        // max_dots over many rows (cut between threads) gives each row what it gets alone, to
        // the bit.
        let dim = 48;
        let vector = |seed: usize| -> Vec<f32> {
            (0..dim)
                .map(|j| ((seed * 7919 + j * 104_729) % 1999) as f32 / 999.5 - 1.0)
                .collect()
        };
        let rows: Vec<Vec<f32>> = (0..700).map(vector).collect();
        let with: Vec<Vec<f32>> = (5000..5300).map(vector).collect();
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        assert!(refs.len() * with.len() >= PARALLEL_WORK);
        let all = max_dots(&refs, &with, dim);
        for (r, got) in refs.iter().zip(&all) {
            assert_eq!(max_dots(&[r], &with, dim)[0].to_bits(), got.to_bits());
        }
    }

    #[test]
    fn max_dots_is_the_largest_dot_product_of_each_row() {
        // Rows past one block and a library that is not a multiple of the kernel's panel.
        let dim = 40;
        let vector = |seed: usize| -> Vec<f32> {
            (0..dim)
                .map(|j| (((seed * 31 + j * 17) % 23) as f32 - 11.0) / 11.0)
                .collect()
        };
        let rows: Vec<Vec<f32>> = (0..150).map(vector).collect();
        let with: Vec<Vec<f32>> = (1000..1037).map(vector).collect();
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let got = max_dots(&refs, &with, dim);
        for (r, g) in rows.iter().zip(&got) {
            let want = with
                .iter()
                .map(|w| r.iter().zip(w).map(|(a, b)| a * b).sum::<f32>())
                .fold(f32::MIN, f32::max);
            assert!(
                (want - g).abs() < 1e-3 * want.abs().max(1.0),
                "{want} vs {g}"
            );
        }
        assert_eq!(max_dots(&refs, &[], dim), vec![f32::MIN; 150]);
    }

    #[test]
    fn without_liked_papers_popularity_ranks() {
        let mut vocab = Vocab::new(100);
        let ranker = Ranker::new(&Profile::default(), &mut vocab, &Flat);
        let ids = [id("2502.00001"), id("2502.00002")];
        let v: Sparse = Vec::new();
        let pool: Vec<Candidate> = (0..2)
            .map(|i| Candidate {
                id: &ids[i],
                vector: &v,
                primary: None,
                authors: &[],
                popularity: i as f32 * 10.0,
                embedding: None,
            })
            .collect();
        let ranked = ranker.rank(&pool, &vocab, &[], usize::MAX);
        assert_eq!(ranked[0].index, 1);
        assert!(ranked[0].why.popular);
    }

    #[test]
    fn engine_keeps_a_ranker_under_its_fingerprint_only() {
        let engine = Engine::default();
        let r = engine.compile(7, "abc", &Profile::default(), &Flat);
        assert!(Arc::ptr_eq(&engine.ranker(7, "abc", &Flat).unwrap(), &r));
        assert!(engine.ranker(7, "other", &Flat).is_none());
        assert!(engine.ranker(8, "abc", &Flat).is_none());
    }
}
