//! paperboy's domain: arXiv identifiers, papers and daily-list entries, listing periods, and the
//! rules that merge records, rank papers, govern comments and sign subscription links. Pure data
//! and arithmetic: this crate does no I/O, so every other crate can depend on it and its rules
//! are tested in isolation.

pub mod announce;
pub mod arxiv_id;
pub mod bib;
pub mod comment;
pub mod names;
pub mod paper;
pub mod period;
pub mod ranking;
pub mod signed;
pub mod tex;

/// Escapes text for HTML and XML (element content and quoted attribute values). Every crate that
/// writes markup (pages, feeds, mail, search snippets) uses this one.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub use arxiv_id::{ArxivId, IdError, VersionedId};
pub use paper::{Author, DailyEntry, Paper, Submitter};
pub use period::{Period, PeriodError};
