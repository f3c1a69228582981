//! Work on a slice cut into contiguous pieces, one scoped thread each, the results in order:
//! what the vector index's batch searches and a reader's ranking of a large pool share.

/// `f` over `items` cut into `pieces` contiguous pieces, each on a thread of its own (the first
/// on this one); one piece, here, when `pieces` or the items are fewer than two. The pieces'
/// results in the items' order; a panic in a piece is raised again here.
pub(crate) fn map_pieces<I: Sync, T: Send>(
    items: &[I],
    pieces: usize,
    f: impl Fn(&[I]) -> T + Sync,
) -> Vec<T> {
    if pieces < 2 || items.len() < 2 {
        return vec![f(items)];
    }
    let size = items.len().div_ceil(pieces);
    let f = &f;
    std::thread::scope(|scope| {
        let mut chunks = items.chunks(size);
        let here = chunks.next().unwrap_or_default();
        let others: Vec<_> = chunks.map(|c| scope.spawn(move || f(c))).collect();
        let mut out = vec![f(here)];
        out.extend(
            others
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
        );
        out
    })
}

#[cfg(test)]
mod tests {
    use super::map_pieces;

    #[test]
    fn pieces_cover_the_items_in_order() {
        let items: Vec<u32> = (0..1001).collect();
        for pieces in [0, 1, 2, 3, 7, 5000] {
            let got = map_pieces(&items, pieces, |p| p.to_vec());
            assert!(got.len() <= pieces.max(1), "{pieces}: {} pieces", got.len());
            assert_eq!(got.concat(), items, "{pieces} pieces");
        }
        assert_eq!(map_pieces(&[] as &[u32], 4, |p| p.len()), vec![0]);
        assert_eq!(map_pieces(&items, 2, |p| p.len()), vec![501, 500]);
    }
}
