//! Exact nearest-neighbour search over unit vectors held in one flat array. At 75k papers a full
//! scan is a few milliseconds; the vectors themselves are kept in the store, so this is rebuilt
//! from there at start and updated in place as papers are embedded.

use std::collections::HashMap;
use std::sync::RwLock;

use paperboy_core::ArxivId;

pub struct VectorIndex {
    dim: usize,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    ids: Vec<ArxivId>,
    slot: HashMap<ArxivId, usize>,
    data: Vec<f32>,
}

impl VectorIndex {
    pub fn new(dim: usize) -> VectorIndex {
        VectorIndex {
            dim,
            inner: RwLock::new(Inner::default()),
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.inner.read().expect("vector index").ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds or replaces the vector of `id`. Vectors of the wrong dimension are ignored.
    pub fn upsert(&self, id: ArxivId, vector: &[f32]) {
        if vector.len() != self.dim {
            return;
        }
        let mut g = self.inner.write().expect("vector index");
        match g.slot.get(&id) {
            Some(&i) => g.data[i * self.dim..(i + 1) * self.dim].copy_from_slice(vector),
            None => {
                let i = g.ids.len();
                g.ids.push(id.clone());
                g.slot.insert(id, i);
                g.data.extend_from_slice(vector);
            }
        }
    }

    pub fn remove(&self, id: &ArxivId) {
        let mut g = self.inner.write().expect("vector index");
        let Some(i) = g.slot.remove(id) else { return };
        let last = g.ids.len() - 1;
        if i != last {
            let moved = g.ids[last].clone();
            g.ids.swap(i, last);
            let dim = self.dim;
            g.data.copy_within(last * dim..(last + 1) * dim, i * dim);
            g.slot.insert(moved, i);
        }
        g.ids.pop();
        let new_len = last * self.dim;
        g.data.truncate(new_len);
    }

    /// Cosine similarity of `query` with the stored vector of `id` (vectors are unit length).
    pub fn similarity(&self, query: &[f32], id: &ArxivId) -> Option<f32> {
        let g = self.inner.read().expect("vector index");
        let &i = g.slot.get(id)?;
        Some(dot(query, &g.data[i * self.dim..(i + 1) * self.dim]))
    }

    pub fn vector(&self, id: &ArxivId) -> Option<Vec<f32>> {
        let g = self.inner.read().expect("vector index");
        let &i = g.slot.get(id)?;
        Some(g.data[i * self.dim..(i + 1) * self.dim].to_vec())
    }

    /// The `k` most similar vectors, best first.
    pub fn nearest(&self, query: &[f32], k: usize) -> Vec<(ArxivId, f32)> {
        if query.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let g = self.inner.read().expect("vector index");
        // A bounded min-heap of (score, slot).
        let mut heap: std::collections::BinaryHeap<std::cmp::Reverse<(Score, usize)>> =
            std::collections::BinaryHeap::with_capacity(k + 1);
        for (i, row) in g.data.chunks_exact(self.dim).enumerate() {
            let s = Score(dot(query, row));
            if heap.len() < k {
                heap.push(std::cmp::Reverse((s, i)));
            } else if let Some(std::cmp::Reverse((worst, _))) = heap.peek() {
                if s > *worst {
                    heap.pop();
                    heap.push(std::cmp::Reverse((s, i)));
                }
            }
        }
        let mut out: Vec<(ArxivId, f32)> = heap
            .into_iter()
            .map(|std::cmp::Reverse((s, i))| (g.ids[i].clone(), s.0))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
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

#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent accumulators let the compiler vectorise the loop.
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
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
    fn upsert_replaces_and_remove_keeps_the_rest_addressable() {
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
        assert!((s - 1.0).abs() < 1e-6, "{s}");
        let s4 = index.similarity(&unit(&[4.0, 1.0]), &id(4)).unwrap();
        assert!(
            (s4 - 1.0).abs() < 1e-6,
            "the moved vector is still found: {s4}"
        );
    }

    #[test]
    fn dot_matches_naive() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
    }
}
