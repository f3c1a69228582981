//! paperboy's domain: arXiv identifiers, papers and daily-list entries, listing periods, and the
//! rules that merge records and rank papers. Pure data and arithmetic: this crate does no I/O, so
//! every other crate can depend on it and its rules are tested in isolation.

pub mod arxiv_id;
pub mod paper;
pub mod period;
pub mod ranking;

pub use arxiv_id::{ArxivId, IdError, VersionedId};
pub use paper::{Author, DailyEntry, Paper, Submitter};
pub use period::{Period, PeriodError};
