//! Nearest-neighbour search over the papers' unit vectors.
//!
//! Vectors are held quantised to int8 (one scale per vector): 388 bytes for a 384-dimension model
//! instead of 1,536, and cosine similarity moves by about 1e-3 (the query stays f32). Below
//! `exact_below` vectors (100,000 by default) a query scans them all, which is exact; from there on
//! it walks an HNSW graph (Malkov & Yashunin 2016) that is kept up to date on every insert, so
//! crossing the threshold costs nothing. Replaced or removed vectors stay in the graph as
//! tombstones that route but are never returned.
//!
//! The index is derived data: the store holds the f32 vectors, and the index is rebuilt from there
//! when its file (see [`VectorIndex::save`]) is missing, stale or unreadable.

use std::cell::RefCell;
use std::collections::{BinaryHeap, HashMap};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::RwLock;

use paperboy_core::ArxivId;

/// Links per node on the upper layers; twice as many on layer 0. With 200,000 vectors, M=24 and
/// ef_construction=200 against M=16 and 128 raised recall@10 at ef=256 from 0.94 to 0.98 for
/// query texts, for twice the build time and 10% more memory (`paperboy-bench hybrid`).
pub const M: usize = 24;
const M0: usize = 2 * M;
/// Candidate list size while inserting.
pub const EF_CONSTRUCTION: usize = 200;
/// Candidate list size while searching (at least `k`): recall@10 0.9965 at 200,000 vectors for
/// query texts, 2.5 ms (BENCHMARKS.md).
pub const EF_SEARCH: usize = 512;
/// Largest batch of [`VectorIndex::upsert_many`]: nodes searched for at once.
const BATCH: usize = 1024;
/// Below this many vectors a query is answered by an exact scan.
pub const EXACT_BELOW: usize = 100_000;
const MAGIC: &[u8; 8] = b"PBVEC\x00\x00\x01";

pub struct VectorIndex {
    dim: usize,
    exact_below: usize,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Per node (a node is never reused; a replaced vector gets a new node).
    ids: Vec<ArxivId>,
    codes: Vec<i8>,
    scales: Vec<f32>,
    live: Vec<bool>,
    /// Live node of each id.
    node: HashMap<ArxivId, u32>,
    graph: Graph,
    rng: u64,
    /// Changed since the last save.
    dirty: bool,
}

#[derive(Default)]
struct Graph {
    levels: Vec<u8>,
    /// Layer-0 links, `M0` slots per node, the first `l0_len[node]` used.
    l0: Vec<u32>,
    l0_len: Vec<u8>,
    /// Links of layers 1.. for nodes above layer 0: `upper[&node][layer - 1]`.
    upper: HashMap<u32, Vec<Vec<u32>>>,
    entry: Option<u32>,
    top: u8,
}

/// Quantises a vector: codes in -127..=127 and the scale that maps them back.
pub fn quantise(v: &[f32]) -> (Vec<i8>, f32) {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; v.len()], 0.0);
    }
    let scale = max / 127.0;
    (v.iter().map(|x| (x / scale).round() as i8).collect(), scale)
}

/// Dot product of two int8 codes. Compiled twice: for AVX2 (chosen at run time when the CPU has
/// it; the default x86-64 target only assumes SSE2) and portably.
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { dot_i8_avx2(a, b) };
    }
    dot_i8_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    dot_i8_portable(a, b)
}

#[inline(always)]
fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..16 {
            acc[j] += i32::from(x[j]) * i32::from(y[j]);
        }
    }
    let tail: i32 = ra
        .iter()
        .zip(rb)
        .map(|(x, y)| i32::from(*x) * i32::from(*y))
        .sum();
    acc.iter().sum::<i32>() + tail
}

/// A query quantised like the vectors, for fast approximate comparisons; results are rescored
/// with the f32 query.
struct Probe<'a> {
    f32: &'a [f32],
    code: Vec<i8>,
    scale: f32,
}

impl<'a> Probe<'a> {
    fn new(q: &'a [f32]) -> Probe<'a> {
        let (code, scale) = quantise(q);
        Probe {
            f32: q,
            code,
            scale,
        }
    }
}

/// Dot product of an f32 query with an int8 code (times the code's scale separately).
#[inline]
pub fn dot_code(q: &[f32], code: &[i8]) -> f32 {
    dot_with(q, code, f32::from)
}

#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_with(a, b, |y| y)
}

/// [`dot`] compiled for AVX2 too, chosen at run time when the CPU has it: for loops that
/// compare many vectors one by one.
#[inline]
pub fn dot_fast(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { dot_avx2(a, b) };
    }
    dot(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_with(a, b, |y| y)
}

/// `a · b`, each element of `b` read as an f32 by `f`. Always inlined: each caller's loop is
/// vectorised as if written out for its element type.
#[inline(always)]
fn dot_with<T: Copy>(a: &[f32], b: &[T], f: impl Fn(T) -> f32) -> f32 {
    // Eight independent accumulators let the compiler vectorise the loop.
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            acc[j] += x[j] * f(y[j]);
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * f(*y)).sum();
    acc.iter().sum::<f32>() + tail
}

/// A similarity ordered by `total_cmp`, so it can live in a heap.
#[derive(Debug, Clone, Copy)]
struct Score(f32);
impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

thread_local! {
    /// Visited marks for graph walks: `marks[node] == epoch` means visited in this walk.
    static VISITED: RefCell<(Vec<u32>, u32)> = const { RefCell::new((Vec::new(), 0)) };
}

fn with_visited<R>(nodes: usize, f: impl FnOnce(&mut dyn FnMut(u32) -> bool) -> R) -> R {
    VISITED.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (marks, epoch) = &mut *guard;
        if marks.len() < nodes {
            marks.resize(nodes, 0);
        }
        *epoch = epoch.wrapping_add(1);
        if *epoch == 0 {
            marks.iter_mut().for_each(|m| *m = 0);
            *epoch = 1;
        }
        let e = *epoch;
        let mut first_visit = |n: u32| {
            let m = &mut marks[n as usize];
            if *m == e {
                false
            } else {
                *m = e;
                true
            }
        };
        f(&mut first_visit)
    })
}

impl Inner {
    fn code(&self, dim: usize, node: u32) -> &[i8] {
        let n = node as usize;
        &self.codes[n * dim..(n + 1) * dim]
    }

    /// Cosine with the f32 query.
    fn score(&self, dim: usize, q: &[f32], node: u32) -> f32 {
        dot_code(q, self.code(dim, node)) * self.scales[node as usize]
    }

    /// Cosine with the quantised query: about 4x cheaper, within about 2e-3.
    fn approx(&self, dim: usize, q: &Probe, node: u32) -> f32 {
        dot_i8(&q.code, self.code(dim, node)) as f32 * q.scale * self.scales[node as usize]
    }

    /// Cosine of two stored vectors.
    fn between(&self, dim: usize, a: u32, b: u32) -> f32 {
        dot_i8(self.code(dim, a), self.code(dim, b)) as f32
            * self.scales[a as usize]
            * self.scales[b as usize]
    }

    fn decode(&self, dim: usize, node: u32) -> Vec<f32> {
        let s = self.scales[node as usize];
        self.code(dim, node)
            .iter()
            .map(|&c| f32::from(c) * s)
            .collect()
    }

    fn links(&self, node: u32, layer: u8) -> &[u32] {
        if layer == 0 {
            let n = node as usize;
            &self.graph.l0[n * M0..n * M0 + self.graph.l0_len[n] as usize]
        } else {
            &self.graph.upper[&node][layer as usize - 1]
        }
    }

    fn set_links(&mut self, node: u32, layer: u8, links: &[u32]) {
        if layer == 0 {
            let n = node as usize;
            self.graph.l0[n * M0..n * M0 + links.len()].copy_from_slice(links);
            self.graph.l0_len[n] = links.len() as u8;
        } else {
            let l = self.graph.upper.get_mut(&node).expect("upper links");
            l[layer as usize - 1] = links.to_vec();
        }
    }

    /// Greedy best-first search of one layer: the `ef` best nodes found, best first.
    fn search_layer(
        &self,
        sim: impl Fn(u32) -> f32,
        entries: &[(f32, u32)],
        ef: usize,
        layer: u8,
    ) -> Vec<(f32, u32)> {
        with_visited(self.ids.len(), |first_visit| {
            // Candidates to expand (best first) and the results so far (worst on top).
            let mut candidates: BinaryHeap<(Score, u32)> = BinaryHeap::new();
            let mut results: BinaryHeap<std::cmp::Reverse<(Score, u32)>> = BinaryHeap::new();
            for &(s, n) in entries {
                if first_visit(n) {
                    candidates.push((Score(s), n));
                    results.push(std::cmp::Reverse((Score(s), n)));
                }
            }
            while let Some((Score(s), n)) = candidates.pop() {
                let worst = results.peek().map(|r| r.0 .0 .0).unwrap_or(f32::MIN);
                if s < worst && results.len() >= ef {
                    break;
                }
                for &m in self.links(n, layer) {
                    if !first_visit(m) {
                        continue;
                    }
                    let sm = sim(m);
                    let worst = results.peek().map(|r| r.0 .0 .0).unwrap_or(f32::MIN);
                    if results.len() < ef || sm > worst {
                        candidates.push((Score(sm), m));
                        results.push(std::cmp::Reverse((Score(sm), m)));
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
            let mut out: Vec<(f32, u32)> = results
                .into_iter()
                .map(|std::cmp::Reverse((Score(s), n))| (s, n))
                .collect();
            out.sort_by(|a, b| b.0.total_cmp(&a.0));
            out
        })
    }

    /// HNSW's neighbour-selection heuristic: keep a candidate only if it is closer to the base
    /// than to every neighbour already kept, which spreads links across directions.
    fn select(&self, dim: usize, candidates: &[(f32, u32)], m: usize) -> Vec<u32> {
        let mut kept: Vec<u32> = Vec::with_capacity(m);
        for &(s, c) in candidates {
            if kept.len() >= m {
                break;
            }
            if kept.iter().all(|&k| self.between(dim, c, k) < s) {
                kept.push(c);
            }
        }
        // Fill up with the nearest of those left out, so sparse regions still get m links.
        for &(_, c) in candidates {
            if kept.len() >= m {
                break;
            }
            if !kept.contains(&c) {
                kept.push(c);
            }
        }
        kept
    }

    fn random_level(&mut self) -> u8 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let u = ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let level = (-u.ln() / (M as f64).ln()).floor();
        level.min(15.0) as u8
    }

    /// Appends a node for `v` and links it into the graph.
    fn insert(&mut self, dim: usize, id: ArxivId, v: &[f32]) {
        let had_entry = self.graph.entry.is_some();
        let node = self.append(id, v);
        if had_entry {
            let found = self.neighbours(dim, node);
            self.link(dim, node, found, &[]);
        }
    }

    /// Appends a node for `v` with no links yet (the entry point of an empty graph).
    fn append(&mut self, id: ArxivId, v: &[f32]) -> u32 {
        let (code, scale) = quantise(v);
        let node = self.ids.len() as u32;
        self.ids.push(id.clone());
        self.codes.extend_from_slice(&code);
        self.scales.push(scale);
        self.live.push(true);
        self.node.insert(id, node);
        let level = self.random_level();
        self.graph.levels.push(level);
        self.graph.l0.extend(std::iter::repeat_n(0, M0));
        self.graph.l0_len.push(0);
        if level > 0 {
            self.graph
                .upper
                .insert(node, vec![Vec::new(); level as usize]);
        }
        if self.graph.entry.is_none() {
            self.graph.entry = Some(node);
            self.graph.top = level;
        }
        node
    }

    /// The candidates for `node`'s links on each of its layers the graph has (`[layer]`, best
    /// first), searched from the entry point down. Reads the graph only: a batch's nodes are
    /// searched for on all cores at once.
    fn neighbours(&self, dim: usize, node: u32) -> Vec<Vec<(f32, u32)>> {
        let Some(entry) = self.graph.entry.filter(|&e| e != node) else {
            return Vec::new();
        };
        let (level, top) = (self.graph.levels[node as usize], self.graph.top);
        // Compare as every later search will: code against code.
        let sim = |m| self.between(dim, node, m);
        let mut best = vec![(sim(entry), entry)];
        for layer in (level.saturating_add(1)..=top).rev() {
            best = self.search_layer(sim, &best[..1], 1, layer);
        }
        let mut found = vec![Vec::new(); level.min(top) as usize + 1];
        for layer in (0..=level.min(top)).rev() {
            best = self.search_layer(sim, &best, EF_CONSTRUCTION, layer);
            found[layer as usize] = best.clone();
        }
        found
    }

    /// Links `node` to the best of `found` (from [`Inner::neighbours`]) and of `mates` (nodes
    /// linked since that search), and them back to it, pruning their links by the heuristic.
    fn link(&mut self, dim: usize, node: u32, mut found: Vec<Vec<(f32, u32)>>, mates: &[u32]) {
        let (level, top) = (self.graph.levels[node as usize], self.graph.top);
        for layer in (0..=level.min(top)).rev() {
            let mut candidates = found
                .get_mut(layer as usize)
                .map(std::mem::take)
                .unwrap_or_default();
            for &m in mates {
                if self.graph.levels[m as usize] >= layer {
                    candidates.push((self.between(dim, node, m), m));
                }
            }
            candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
            candidates.truncate(EF_CONSTRUCTION);
            let cap = if layer == 0 { M0 } else { M };
            let chosen = self.select(dim, &candidates, M);
            self.set_links(node, layer, &chosen);
            for &n in &chosen {
                let mut links = self.links(n, layer).to_vec();
                if links.len() < cap {
                    links.push(node);
                } else {
                    let mut scored: Vec<(f32, u32)> = links
                        .iter()
                        .chain(std::iter::once(&node))
                        .map(|&l| (self.between(dim, n, l), l))
                        .collect();
                    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
                    links = self.select(dim, &scored, cap);
                }
                self.set_links(n, layer, &links);
            }
        }
        if level > top {
            self.graph.entry = Some(node);
            self.graph.top = level;
        }
    }

    /// Appends `batch` and links it: the neighbours of every node are searched for at once on
    /// `threads` threads against the graph as the batch found it, then each node is linked in
    /// turn, its batch's earlier nodes among its candidates (they were not in the graph yet).
    fn insert_batch(&mut self, dim: usize, batch: Vec<(ArxivId, Vec<f32>)>, threads: usize) {
        let nodes: Vec<u32> = batch
            .into_iter()
            .map(|(id, v)| self.append(id, &v))
            .collect();
        let this = &*self;
        let found = crate::pieces::map_pieces(&nodes, threads, |part| {
            part.iter()
                .map(|&n| this.neighbours(dim, n))
                .collect::<Vec<_>>()
        })
        .concat();
        for (i, (node, found)) in nodes.iter().zip(found).enumerate() {
            self.link(dim, *node, found, &nodes[..i]);
        }
    }

    /// The best `k` of `nodes` by cosine with the f32 query, best first (ties by id).
    fn rescore(&self, dim: usize, q: &Probe, nodes: Vec<u32>, k: usize) -> Vec<(ArxivId, f32)> {
        let mut out: Vec<(ArxivId, f32)> = nodes
            .into_iter()
            .map(|n| (self.ids[n as usize].clone(), self.score(dim, q.f32, n)))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.truncate(k);
        out
    }

    /// Whether `v` must be inserted for `id`: false when `id` already holds it (after
    /// quantisation); otherwise the vector `id` held, if any, is removed first.
    fn clear_for(&mut self, dim: usize, id: &ArxivId, v: &[f32]) -> bool {
        if let Some(&n) = self.node.get(id) {
            let (code, scale) = quantise(v);
            if self.code(dim, n) == code.as_slice() && self.scales[n as usize] == scale {
                return false;
            }
            self.kill(id);
        }
        true
    }

    fn kill(&mut self, id: &ArxivId) -> bool {
        match self.node.remove(id) {
            Some(n) => {
                self.live[n as usize] = false;
                true
            }
            None => false,
        }
    }
}

impl VectorIndex {
    pub fn new(dim: usize) -> VectorIndex {
        VectorIndex::with_exact_below(dim, EXACT_BELOW)
    }

    /// An index that scans exactly below `exact_below` vectors and walks the graph from there.
    pub fn with_exact_below(dim: usize, exact_below: usize) -> VectorIndex {
        VectorIndex {
            dim,
            exact_below,
            inner: RwLock::new(Inner {
                rng: 0x5EED,
                ..Inner::default()
            }),
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Live vectors.
    pub fn len(&self) -> usize {
        self.inner.read().expect("vector index").node.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Graph nodes, tombstones included, and the bytes the vectors and graph take in memory.
    pub fn footprint(&self) -> (usize, usize) {
        let g = self.inner.read().expect("vector index");
        let nodes = g.ids.len();
        let upper: usize = g
            .graph
            .upper
            .values()
            .map(|l| l.iter().map(|v| 24 + v.capacity() * 4).sum::<usize>() + 48)
            .sum();
        let bytes = g.codes.capacity()
            + g.scales.capacity() * 4
            + g.live.capacity()
            + g.graph.levels.capacity()
            + g.graph.l0.capacity() * 4
            + g.graph.l0_len.capacity()
            + upper
            + g.ids.capacity() * std::mem::size_of::<ArxivId>()
            + g.node.capacity() * (std::mem::size_of::<ArxivId>() + 4 + 8);
        (nodes, bytes)
    }

    /// Adds or replaces the vector of `id`. Vectors of the wrong dimension are ignored. A vector
    /// equal (after quantisation) to the stored one changes nothing.
    pub fn upsert(&self, id: ArxivId, vector: &[f32]) {
        if vector.len() != self.dim {
            return;
        }
        let mut g = self.inner.write().expect("vector index");
        if g.clear_for(self.dim, &id, vector) {
            g.insert(self.dim, id, vector);
            g.dirty = true;
        }
    }

    /// [`VectorIndex::upsert`] of many vectors at once, as loading them from the store does:
    /// the graph is built in batches whose searches run on every core (see `insert_batch`),
    /// with the recall of one-at-a-time inserts (tested).
    pub fn upsert_many(&self, items: impl IntoIterator<Item = (ArxivId, Vec<f32>)>) {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut g = self.inner.write().expect("vector index");
        let mut batch = Vec::new();
        let mut items = items
            .into_iter()
            .filter(|(_, v)| v.len() == self.dim)
            .peekable();
        while items.peek().is_some() {
            // A batch's nodes do not find each other by search, only as mates: a small share of
            // the graph, so that searches still find their true neighbours.
            let size = (g.live.len() / 16).clamp(1, BATCH);
            // Where each id of the batch is: an id given twice keeps its last vector, once.
            let mut at: HashMap<ArxivId, usize> = HashMap::new();
            for (id, v) in items.by_ref() {
                if let Some(&i) = at.get(&id) {
                    batch[i] = (id, v);
                    continue;
                }
                if !g.clear_for(self.dim, &id, &v) {
                    continue;
                }
                at.insert(id.clone(), batch.len());
                batch.push((id, v));
                if batch.len() == size {
                    break;
                }
            }
            if !batch.is_empty() {
                g.insert_batch(self.dim, std::mem::take(&mut batch), threads);
                g.dirty = true;
            }
        }
    }

    pub fn remove(&self, id: &ArxivId) {
        let mut g = self.inner.write().expect("vector index");
        if g.kill(id) {
            g.dirty = true;
        }
    }

    /// Live ids (for reconciling with the store).
    pub fn ids(&self) -> Vec<ArxivId> {
        let g = self.inner.read().expect("vector index");
        g.node.keys().cloned().collect()
    }

    /// Cosine similarity of `query` with the stored vector of `id` (vectors are unit length).
    pub fn similarity(&self, query: &[f32], id: &ArxivId) -> Option<f32> {
        let g = self.inner.read().expect("vector index");
        let &n = g.node.get(id)?;
        Some(g.score(self.dim, query, n))
    }

    pub fn vector(&self, id: &ArxivId) -> Option<Vec<f32>> {
        let g = self.inner.read().expect("vector index");
        let &n = g.node.get(id)?;
        Some(g.decode(self.dim, n))
    }

    /// The `k` most similar vectors, best first: exact below the threshold, HNSW above.
    pub fn nearest(&self, query: &[f32], k: usize) -> Vec<(ArxivId, f32)> {
        if self.len() < self.exact_below {
            self.nearest_exact(query, k)
        } else {
            self.nearest_graph(query, k, EF_SEARCH)
        }
    }

    /// The `k` most similar vectors by a full scan: every vector compared with the quantised
    /// query, the best `2k + 16` rescored with the f32 query.
    pub fn nearest_exact(&self, query: &[f32], k: usize) -> Vec<(ArxivId, f32)> {
        // No caller's k sizes an allocation past what the index holds.
        let k = k.min(self.len());
        if query.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let probe = Probe::new(query);
        let g = self.inner.read().expect("vector index");
        let keep = 2 * k + 16;
        let mut heap: BinaryHeap<std::cmp::Reverse<(i32, u32)>> =
            BinaryHeap::with_capacity(keep + 1);
        // Comparing raw integer dot products needs a common scale: fold each vector's scale in
        // only for the candidates, and rank the scan by dot * scale in fixed point.
        for (i, code) in g.codes.chunks_exact(self.dim).enumerate() {
            if !g.live[i] {
                continue;
            }
            let s = (dot_i8(&probe.code, code) as f32 * g.scales[i] * 1e6) as i32;
            if heap.len() < keep {
                heap.push(std::cmp::Reverse((s, i as u32)));
            } else if heap.peek().is_some_and(|w| s > w.0 .0) {
                heap.pop();
                heap.push(std::cmp::Reverse((s, i as u32)));
            }
        }
        let candidates: Vec<u32> = heap.into_iter().map(|r| r.0 .1).collect();
        g.rescore(self.dim, &probe, candidates, k)
    }

    /// The `k` most similar vectors found by walking the graph with a candidate list of
    /// `max(ef, k)`.
    pub fn nearest_graph(&self, query: &[f32], k: usize, ef: usize) -> Vec<(ArxivId, f32)> {
        let k = k.min(self.len());
        if query.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let g = self.inner.read().expect("vector index");
        let Some(entry) = g.graph.entry else {
            return Vec::new();
        };
        let probe = Probe::new(query);
        let sim = |m: u32| g.approx(self.dim, &probe, m);
        let mut best = vec![(sim(entry), entry)];
        for layer in (1..=g.graph.top).rev() {
            best = g.search_layer(sim, &best[..1], 1, layer);
        }
        // Tombstones take places in the candidate list, so widen it by their share.
        let dead = g.ids.len() - g.node.len();
        let ef = ef.max(k) + ef.max(k) * dead / g.ids.len().max(1);
        let found = g.search_layer(sim, &best, ef, 0);
        let live: Vec<u32> = found
            .into_iter()
            .map(|(_, n)| n)
            .filter(|&n| g.live[n as usize])
            .collect();
        g.rescore(self.dim, &probe, live, k)
    }

    /// Whether anything changed since the last [`save`](Self::save) or [`load`](Self::load).
    pub fn is_dirty(&self) -> bool {
        self.inner.read().expect("vector index").dirty
    }

    /// Writes the index to `path` (atomically: a temporary file renamed over it), tagged with
    /// `tag` (what it is consistent with, e.g. the model and the store's cursor).
    pub fn save(&self, path: &Path, tag: &str) -> std::io::Result<()> {
        // A name of this process's own: another process may be saving the same index.
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        {
            let g = self.inner.read().expect("vector index");
            let mut w = BufWriter::new(std::fs::File::create(&tmp)?);
            w.write_all(MAGIC)?;
            write_bytes(&mut w, tag.as_bytes())?;
            w.write_all(&(self.dim as u32).to_le_bytes())?;
            w.write_all(&(g.ids.len() as u64).to_le_bytes())?;
            w.write_all(&g.rng.to_le_bytes())?;
            w.write_all(&g.graph.entry.map_or(u32::MAX, |e| e).to_le_bytes())?;
            w.write_all(&[g.graph.top])?;
            for n in 0..g.ids.len() {
                write_bytes(&mut w, g.ids[n].to_string().as_bytes())?;
                w.write_all(&[u8::from(g.live[n]), g.graph.levels[n]])?;
                w.write_all(&g.scales[n].to_le_bytes())?;
                let code = g.code(self.dim, n as u32);
                w.write_all(&code.iter().map(|&c| c as u8).collect::<Vec<u8>>())?;
                for layer in 0..=g.graph.levels[n] {
                    let links = g.links(n as u32, layer);
                    w.write_all(&[links.len() as u8])?;
                    for l in links {
                        w.write_all(&l.to_le_bytes())?;
                    }
                }
            }
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        self.inner.write().expect("vector index").dirty = false;
        Ok(())
    }

    /// Reads an index written by [`save`](Self::save); returns it with its tag.
    pub fn load(path: &Path, exact_below: usize) -> std::io::Result<(VectorIndex, String)> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
        let mut r = BufReader::new(std::fs::File::open(path)?);
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(bad("not a paperboy vector index"));
        }
        let tag = String::from_utf8(read_bytes(&mut r)?).map_err(|_| bad("tag"))?;
        let dim = read_u32(&mut r)? as usize;
        let nodes = read_u64(&mut r)? as usize;
        let mut g = Inner {
            rng: read_u64(&mut r)?,
            ..Inner::default()
        };
        let entry = read_u32(&mut r)?;
        g.graph.entry = (entry != u32::MAX).then_some(entry);
        g.graph.top = read_u8(&mut r)?;
        g.codes.reserve(nodes * dim);
        let mut code = vec![0u8; dim];
        for n in 0..nodes {
            let id = String::from_utf8(read_bytes(&mut r)?).map_err(|_| bad("id"))?;
            let id = ArxivId::parse(&id).map_err(|_| bad("id"))?;
            let live = read_u8(&mut r)? == 1;
            let level = read_u8(&mut r)?;
            g.scales.push(f32::from_le_bytes(read_array(&mut r)?));
            r.read_exact(&mut code)?;
            g.codes.extend(code.iter().map(|&c| c as i8));
            if live {
                g.node.insert(id.clone(), n as u32);
            }
            g.ids.push(id);
            g.live.push(live);
            g.graph.levels.push(level);
            let mut upper = Vec::new();
            for layer in 0..=level {
                let len = read_u8(&mut r)? as usize;
                let mut links = Vec::with_capacity(len);
                for _ in 0..len {
                    let l = read_u32(&mut r)?;
                    if l as usize >= nodes {
                        return Err(bad("link out of range"));
                    }
                    links.push(l);
                }
                if layer == 0 {
                    if len > M0 {
                        return Err(bad("too many links"));
                    }
                    g.graph.l0.extend_from_slice(&links);
                    g.graph.l0.extend(std::iter::repeat_n(0, M0 - len));
                    g.graph.l0_len.push(len as u8);
                } else {
                    upper.push(links);
                }
            }
            if level > 0 {
                g.graph.upper.insert(n as u32, upper);
            }
        }
        if g.graph.entry.is_some_and(|e| e as usize >= nodes) {
            return Err(bad("entry out of range"));
        }
        Ok((
            VectorIndex {
                dim,
                exact_below,
                inner: RwLock::new(g),
            },
            tag,
        ))
    }
}

fn write_bytes(w: &mut impl Write, b: &[u8]) -> std::io::Result<()> {
    w.write_all(&(b.len() as u32).to_le_bytes())?;
    w.write_all(b)
}

fn read_array<const N: usize>(r: &mut impl Read) -> std::io::Result<[u8; N]> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

fn read_u8(r: &mut impl Read) -> std::io::Result<u8> {
    Ok(read_array::<1>(r)?[0])
}

fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    Ok(u32::from_le_bytes(read_array(r)?))
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    Ok(u64::from_le_bytes(read_array(r)?))
}

fn read_bytes(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let len = read_u32(r)? as usize;
    if len > 1 << 20 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "string too long",
        ));
    }
    let mut b = vec![0u8; len];
    r.read_exact(&mut b)?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> ArxivId {
        ArxivId::parse(&format!("2501.{n:05}")).unwrap()
    }

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        crate::embed::normalize(&mut v);
        v
    }

    /// Clustered random unit vectors, like embeddings (which are far from uniform).
    fn clustered(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut s = seed;
        let mut next = move || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        let centres: Vec<Vec<f32>> = (0..20)
            .map(|_| (0..dim).map(|_| next()).collect())
            .collect();
        (0..n)
            .map(|i| {
                let c = &centres[i % centres.len()];
                unit(&c.iter().map(|x| x + 0.8 * next()).collect::<Vec<f32>>())
            })
            .collect()
    }

    /// An index searched by its graph however small, holding `vs` under ids numbered in order.
    fn graph_index(dim: usize, vs: &[Vec<f32>]) -> VectorIndex {
        let index = VectorIndex::with_exact_below(dim, 0);
        for (i, v) in vs.iter().enumerate() {
            index.upsert(id(i as u32), v);
        }
        index
    }

    #[test]
    fn nearest_is_exact_and_ordered() {
        let index = VectorIndex::new(3);
        index.upsert(id(1), &unit(&[1.0, 0.0, 0.0]));
        index.upsert(id(2), &unit(&[0.0, 1.0, 0.0]));
        index.upsert(id(3), &unit(&[1.0, 1.0, 0.0]));
        let got = index.nearest(&unit(&[1.0, 0.2, 0.0]), 2);
        assert_eq!(
            got.iter().map(|g| g.0.clone()).collect::<Vec<_>>(),
            [id(1), id(3)]
        );
        assert!(got[0].1 > got[1].1);
    }

    #[test]
    fn quantisation_keeps_cosine_within_a_thousandth() {
        let vs = clustered(50, 384, 7);
        for w in vs.windows(2) {
            let (code, scale) = quantise(&w[1]);
            let approx = dot_code(&w[0], &code) * scale;
            assert!((approx - dot(&w[0], &w[1])).abs() < 1e-3);
        }
    }

    #[test]
    fn upsert_replaces_and_remove_hides() {
        let index = VectorIndex::new(2);
        for n in 1..=4 {
            index.upsert(id(n), &unit(&[n as f32, 1.0]));
        }
        index.upsert(id(2), &unit(&[0.0, 1.0]));
        assert_eq!(index.len(), 4);
        index.remove(&id(1));
        assert_eq!(index.len(), 3);
        assert!(index.similarity(&[0.0, 1.0], &id(1)).is_none());
        let s = index.similarity(&[0.0, 1.0], &id(2)).unwrap();
        assert!((s - 1.0).abs() < 1e-2, "{s}");
        let all = index.nearest(&[0.0, 1.0], 10);
        assert_eq!(
            all.len(),
            3,
            "removed and replaced vectors are not returned"
        );
        assert_eq!(all[0].0, id(2));
        let graph = index.nearest_graph(&[0.0, 1.0], 10, 16);
        assert_eq!(graph, all, "the graph agrees, tombstones skipped");
    }

    /// The share of each query's exact 10 nearest in `index` that `search` finds.
    fn recall_at_10(
        index: &VectorIndex,
        queries: &[Vec<f32>],
        search: impl Fn(&[f32]) -> Vec<(ArxivId, f32)>,
    ) -> f64 {
        let mut hit = 0;
        for q in queries {
            let exact: Vec<ArxivId> = index
                .nearest_exact(q, 10)
                .into_iter()
                .map(|h| h.0)
                .collect();
            hit += search(q).iter().filter(|g| exact.contains(&g.0)).count();
        }
        hit as f64 / (10 * queries.len()) as f64
    }

    #[test]
    fn an_id_given_twice_in_one_call_keeps_its_last_vector() {
        let index = VectorIndex::new(2);
        index.upsert(id(1), &unit(&[1.0, 0.0]));
        index.upsert_many([
            (id(1), unit(&[0.0, 1.0])),
            (id(2), unit(&[1.0, 1.0])),
            (id(1), unit(&[-1.0, 0.0])),
        ]);
        assert_eq!(index.len(), 2);
        let s = index.similarity(&[-1.0, 0.0], &id(1)).unwrap();
        assert!((s - 1.0).abs() < 1e-2, "{s}");
        let all = index.nearest(&[-1.0, 0.0], 10);
        assert_eq!(all.len(), 2, "one live vector per id: {all:?}");
    }

    #[test]
    fn graph_search_recalls_the_exact_neighbours() {
        let dim = 48;
        let vs = clustered(3000, dim, 1);
        let index = graph_index(dim, &vs);
        // Replace a tenth, so tombstones are in the way.
        let fresh = clustered(300, dim, 2);
        for (i, v) in fresh.iter().enumerate() {
            index.upsert(id(i as u32 * 10), v);
        }
        let queries = clustered(100, dim, 3);
        let recall = recall_at_10(&index, &queries, |q| index.nearest(q, 10));
        assert!(recall >= 0.95, "recall@10 {recall}");
    }

    /// The graph built in parallel batches finds the exact neighbours as well as the one built
    /// one insert at a time, replacements included.
    #[test]
    fn a_graph_built_in_batches_recalls_as_well() {
        let dim = 48;
        let vs = clustered(6000, dim, 1);
        let one = graph_index(dim, &vs);
        let many = VectorIndex::with_exact_below(dim, 0);
        many.upsert_many(
            vs.iter()
                .enumerate()
                .map(|(i, v)| (id(i as u32), v.clone())),
        );
        let fresh = clustered(300, dim, 2);
        many.upsert_many(
            fresh
                .iter()
                .enumerate()
                .map(|(i, v)| (id(i as u32 * 10), v.clone())),
        );
        for (i, v) in fresh.iter().enumerate() {
            one.upsert(id(i as u32 * 10), v);
        }
        assert_eq!(many.len(), 6000);
        let queries = clustered(200, dim, 3);
        let recall =
            |index: &VectorIndex| recall_at_10(index, &queries, |q| index.nearest_graph(q, 10, 64));
        let (r_one, r_many) = (recall(&one), recall(&many));
        eprintln!("recall@10 at ef 64: one at a time {r_one}, in batches {r_many}");
        assert!(
            r_many >= 0.95 && r_many >= r_one - 0.01,
            "recall@10: one at a time {r_one}, in batches {r_many}"
        );
    }

    #[test]
    fn save_and_load_round_trip() {
        let dim = 16;
        let vs = clustered(500, dim, 9);
        let index = graph_index(dim, &vs);
        index.remove(&id(3));
        assert!(index.is_dirty());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.idx");
        index.save(&path, "model:7").unwrap();
        assert!(!index.is_dirty());
        let (loaded, tag) = VectorIndex::load(&path, 0).unwrap();
        assert_eq!(tag, "model:7");
        assert_eq!(loaded.len(), 499);
        for q in vs.iter().take(20) {
            assert_eq!(loaded.nearest(q, 5), index.nearest(q, 5));
        }
        // A damaged file is an error, not a panic or a wrong index.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(VectorIndex::load(&path, 0).is_err());
        std::fs::write(&path, b"something else entirely").unwrap();
        assert!(VectorIndex::load(&path, 0).is_err());
    }
}
