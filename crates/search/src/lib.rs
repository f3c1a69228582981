//! Search over the papers in the store: a tantivy BM25 index over title (boosted), abstract and
//! authors, with category and date filters and highlighted snippets. The index is derived data: it
//! follows the store's change feed, records the last change it applied, and is rebuilt from the
//! database whenever it is missing or of another format. It never holds the only copy of anything.

pub mod text;

pub use text::{
    HighlightField, Hit, SearchError, SearchIndex, SearchQuery, SearchResults, MAX_QUERY_CHARS,
};
