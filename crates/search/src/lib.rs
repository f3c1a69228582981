//! Search over the papers in the store: a tantivy BM25 index over title (boosted), abstract and
//! authors, with category and date filters and highlighted snippets, its English stemming memoized
//! (`stem`). The index is derived data: it
//! follows the store's change feed, records the last change it applied, and is rebuilt from the
//! database whenever it is missing or of another format. It never holds the only copy of anything.
//! Search by meaning lives beside it: a sentence-embedding model run on the CPU ([`embed`]), an
//! exact vector index ([`vectors`]) and the worker and hybrid fusion that tie them to the store
//! ([`semantic`]). Every caller searches through one [`Searcher`] ([`searcher`]), which embeds the
//! query, falls back to keyword results when it cannot (saying why) and fuses. Without a model,
//! everything here still works in keyword mode.

pub mod bert;
pub mod embed;
pub mod foryou;
pub mod hybrid;
pub mod kernel;
mod pieces;
pub mod reader;
pub mod searcher;
pub mod semantic;
pub mod similar;
mod stem;
pub mod text;
mod union;
pub mod vectors;

pub use searcher::{Answer, Fallback, Searcher, SemanticSlot};
pub use text::{
    shown_total, HighlightField, Hit, SearchError, SearchIndex, SearchQuery, SearchResults,
    MAX_DEPTH, MAX_QUERY_CHARS, TOTAL_CAP,
};
