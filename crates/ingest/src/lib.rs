//! Parsers that turn paper metadata files into paperboy's domain records: Hugging Face daily-papers
//! API responses (raw and flattened), arXiv listings, the Kaggle arXiv snapshot, arXiv Atom API
//! feeds and OAI-PMH `arXiv` records, plain, gzipped or in tar archives; and it fetches them over
//! HTTP, politely ([`harvest`]: OAI-PMH and HF daily harvesters; [`arxiv_api`]: one paper by id).
//! It reports what it read to a [`Sink`]; it never writes to a database or decides how records are
//! merged (that is `paperboy_core::Paper::merge` and the store's job).
//!
//! Entry points: [`read_path`], [`read_bytes`] and [`read_reader`] detect the format from the
//! content and stream [`Record`]s (or per-record [`RecordError`]s) to a sink; [`atom::parse_feed`],
//! [`oai::parse_list_records`] and [`hf::parse_daily_api`] parse one document already in memory,
//! for harvesters.

pub mod arxiv_api;
pub mod atom;
pub mod client;
pub mod harvest;
pub mod hf;
mod input;
mod jsonl;
pub mod oai;
pub mod pyliteral;
mod text;
mod xml;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use paperboy_core::{DailyEntry, Paper};

pub use input::detect_format;

/// One thing read from a source: a paper, or a paper as it stood on one day's Hugging Face list.
// The daily variant is bigger, but records are handed to the sink one at a time, not stored in
// bulk, so boxing would buy an allocation per record for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Paper(Paper),
    Daily { entry: DailyEntry, paper: Paper },
}

impl Record {
    pub fn paper(&self) -> &Paper {
        match self {
            Record::Paper(p) | Record::Daily { paper: p, .. } => p,
        }
    }

    pub fn entry(&self) -> Option<&DailyEntry> {
        match self {
            Record::Paper(_) => None,
            Record::Daily { entry, .. } => Some(entry),
        }
    }

    /// The paper and, for a daily-list record, its entry.
    pub fn into_parts(self) -> (Paper, Option<DailyEntry>) {
        match self {
            Record::Paper(p) => (p, None),
            Record::Daily { entry, paper } => (paper, Some(entry)),
        }
    }
}

/// Why a record was rejected; an import summary counts rejections by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// A line or item that is not valid JSON (or Python literal), or has the wrong shape.
    MalformedJson,
    /// XML that does not parse, or an element of the wrong shape.
    MalformedXml,
    /// A required field (id, title, …) is absent or empty.
    MissingField,
    /// The arXiv id does not parse.
    InvalidId,
    /// A date field is present but unreadable, or an HF file's day cannot be told.
    InvalidDate,
    /// The source reported an error instead of a record (arXiv API error entry, OAI `<error>`).
    ApiError,
    /// An OAI-PMH header with `status="deleted"`: there is no record to import.
    Deleted,
    /// A member of an archive that is not in any known format (or a metadata format not read).
    UnsupportedFormat,
}

impl RejectReason {
    /// A stable snake_case key, for logs and JSON summaries.
    pub fn key(self) -> &'static str {
        match self {
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::MalformedXml => "malformed_xml",
            RejectReason::MissingField => "missing_field",
            RejectReason::InvalidId => "invalid_id",
            RejectReason::InvalidDate => "invalid_date",
            RejectReason::ApiError => "api_error",
            RejectReason::Deleted => "deleted",
            RejectReason::UnsupportedFormat => "unsupported_format",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RejectReason::MalformedJson => "malformed JSON",
            RejectReason::MalformedXml => "malformed XML",
            RejectReason::MissingField => "missing field",
            RejectReason::InvalidId => "invalid arXiv id",
            RejectReason::InvalidDate => "invalid date",
            RejectReason::ApiError => "API error",
            RejectReason::Deleted => "deleted record",
            RejectReason::UnsupportedFormat => "unsupported format",
        })
    }
}

/// A record that was skipped, and where it was: `line 812` (JSON lines, 1-based),
/// `2024-12-11.json item 4` (HF daily files, the 0-based array index, which is also the position),
/// `record 3` (XML, 1-based). Inside an archive the member's file name comes first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub location: String,
    pub reason: RejectReason,
    pub detail: String,
}

impl RecordError {
    pub fn new(
        location: impl Into<String>,
        reason: RejectReason,
        detail: impl Into<String>,
    ) -> RecordError {
        RecordError {
            location: location.into(),
            reason,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.reason, self.detail)
    }
}

impl std::error::Error for RecordError {}

/// The formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// A raw Hugging Face `/api/daily_papers` response: one JSON array per day (`YYYY-MM-DD.json`).
    HfDailyApi,
    /// Hugging Face daily papers flattened to one JSON line per (day, paper).
    HfDailyJsonl,
    /// arXiv listing records, one JSON line each (`id`, `listing_date`, …).
    ArxivListingsJsonl,
    /// Kaggle's `arxiv-metadata-oai-snapshot` JSON lines.
    KaggleSnapshot,
    /// An arXiv API (`/api/query`) Atom feed.
    ArxivAtom,
    /// An OAI-PMH `ListRecords`/`GetRecord` response in arXiv's `arXiv` metadata format.
    OaiPmh,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::HfDailyApi => "Hugging Face daily papers API JSON",
            Format::HfDailyJsonl => "Hugging Face daily papers JSON lines",
            Format::ArxivListingsJsonl => "arXiv listings JSON lines",
            Format::KaggleSnapshot => "Kaggle arXiv metadata snapshot",
            Format::ArxivAtom => "arXiv Atom API feed",
            Format::OaiPmh => "OAI-PMH arXiv records",
        })
    }
}

/// Receives what a reader parsed, one record or rejection at a time, in file order.
pub trait Sink {
    fn record(&mut self, item: Result<Record, RecordError>);
    /// Bytes consumed so far from the underlying file or buffer (compressed bytes for gzip),
    /// reported every few MB and once at the end.
    fn progress(&mut self, bytes_read: u64) {
        let _ = bytes_read;
    }
}

/// Collects everything, in order (handy for tests and small inputs).
impl Sink for Vec<Result<Record, RecordError>> {
    fn record(&mut self, item: Result<Record, RecordError>) {
        self.push(item);
    }
}

/// A failure of a whole file or document; the message names it.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot open {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {name}: {source}")]
    Read {
        name: String,
        source: std::io::Error,
    },
    #[error("{name} is named as gzip but is not gzip data")]
    NotGzip { name: String },
    #[error(
        "{name}: unrecognised format (expected Hugging Face daily papers JSON or JSON lines, arXiv listings or \
         Kaggle snapshot JSON lines, an arXiv Atom feed or OAI-PMH XML)"
    )]
    UnknownFormat { name: String },
    #[error("{name}: malformed XML: {detail}")]
    Xml { name: String, detail: String },
    #[error("{name}: {detail}")]
    Document { name: String, detail: String },
}

/// Opens a path: plain, `.gz`, or a `.tar`/`.tar.gz`/`.tgz` of many files (each member detected
/// separately), and streams its records to the sink. The format is detected from the content
/// (first bytes, first line's keys); the name is only a hint.
pub fn read_path(path: &Path, sink: &mut dyn Sink) -> Result<(), IngestError> {
    let file = std::fs::File::open(path).map_err(|source| IngestError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let mut file = file;
    read_reader(&name, &mut file, sink)
}

/// Same as [`read_path`] for bytes already in memory (an embedded demo `.tar.gz`, a fetched XML
/// page); `name` is the file name, used for the day of an HF file and as a detection hint.
pub fn read_bytes(name: &str, data: &[u8], sink: &mut dyn Sink) -> Result<(), IngestError> {
    let mut data = data;
    read_reader(name, &mut data, sink)
}

/// Same as [`read_path`] for any byte stream (an HTTP body, stdin); progress counts bytes read
/// from `reader`.
pub fn read_reader(
    name: &str,
    reader: &mut dyn Read,
    sink: &mut dyn Sink,
) -> Result<(), IngestError> {
    input::read_stream(name, reader, sink)
}
