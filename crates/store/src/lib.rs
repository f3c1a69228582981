//! The database behind paperboy: what the rest of the program may ask of storage, as capabilities
//! ([`Papers`], [`Embeddings`], [`Harvests`], [`Community`], [`Library`], [`Collections`],
//! [`ForYou`], [`Digests`], [`RateLimits`],
//! [`Copying`]) that [`Store`] gathers, written once over a small seam (`sql`) with one module
//! per database (`sqlite`, `postgres`: connections, migrations, and what SQL cannot say the same
//! way in both). The backend is chosen once, from the database URL, by [`open`]; callers only
//! ever see `Arc<dyn Store>`. The store holds the truth; search indexes are derived from it
//! through the change feed ([`Papers::changes_since`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

mod codec;
pub mod collections;
pub mod community;
pub mod copy;
pub mod digests;
pub mod embeddings;
pub mod foryou;
pub mod harvests;
pub mod library;
pub mod limits;
pub mod papers;
pub mod postgres;
mod sql;
pub mod sqlite;

pub use collections::{
    Added, Collection, CollectionChange, CollectionId, CollectionItem, Collections, ItemId, Looking,
};
pub use community::{
    Account, AccountId, AuditEntry, Comment, CommentId, Community, Moderation, ModerationQueue,
    SubmitOutcome, TrendInput, VoteOutcome,
};
pub use copy::Copying;
pub use digests::{
    Delivery, Digests, Frequency, MailStats, OutboxMail, Preferences, SignUp, Subscription,
    SubscriptionId, Topics,
};
pub use embeddings::{EmbeddingWork, Embeddings};
pub use foryou::{ForYou, Mark, Signals, Source, StoredModel};
pub use harvests::{HarvestStatus, Harvests};
pub use library::{ApiToken, Follow, FollowKind, Library, Saved, Scope, TokenId};
pub use limits::RateLimits;
pub use papers::{
    CategoryListed, Change, Listed, ListingFilter, PaperView, Papers, StoreStats, MAX_DAY_LIST,
};
pub use sql::{Backed, Database};

/// What went wrong, whichever database said it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (a username already taken, ...).
    #[error("{0}")]
    Conflict(String),
    /// A stored value does not read as what it should be.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    /// A file beside the database (a lock file, a backup) could not be used.
    #[error("{0}")]
    Io(String),
    /// The database cannot be reached: it is down, refused us, failed a TLS check, or the
    /// connection was lost.
    #[error("{0}")]
    Unavailable(String),
    /// The database refused or failed a statement.
    #[error("database: {0}")]
    Backend(String),
    /// The store was asked for something its settings cannot give (a missing file, a bad URL,
    /// a schema newer than this paperboy).
    #[error("{0}")]
    Config(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Holds a [`Store::try_lock`] lock; dropping it releases the lock.
pub struct LockGuard(#[allow(dead_code)] Box<dyn Send + Sync>);

impl LockGuard {
    pub fn new(held: impl Send + Sync + 'static) -> LockGuard {
        LockGuard(Box::new(held))
    }
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LockGuard")
    }
}

/// Everything the rest of the program may ask of storage.
#[async_trait]
pub trait Store:
    Papers
    + Embeddings
    + Harvests
    + Community
    + Library
    + Collections
    + ForYou
    + Digests
    + RateLimits
    + Copying
{
    /// An exclusive lock named `name` held until the guard drops or the process ends (however
    /// it ends): one harvester per source, one digest sender. None when another holder has it.
    async fn try_lock(&self, name: &str) -> Result<Option<LockGuard>> {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(StoreError::Config(format!("bad lock name {name:?}")));
        }
        let name = name.to_owned();
        self.db().blocking(move |b| b.try_lock(&name)).await
    }

    /// A short name for logs and the status page: `sqlite`, `postgres`.
    fn backend(&self) -> &'static str {
        self.db().backend.name()
    }
}

impl Store for Database {}

/// What opening a store needs besides its URL.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Whether a missing database may be created: the server creates its default database, but
    /// a mistyped path given explicitly should fail rather than start empty.
    pub create: bool,
    /// SQLite: bytes of the file read through a memory map (0: none); see [`sqlite::Sqlite::open`].
    pub sqlite_mmap_bytes: u64,
    /// PostgreSQL: a PEM file of the CA certificates that check the server's certificate
    /// (`sslmode=verify-ca`/`verify-full`, and `require` as in libpq). `sslrootcert` in the URL
    /// wins over it; without either, the system's CAs are used.
    pub ca_file: Option<PathBuf>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            create: false,
            sqlite_mmap_bytes: sqlite::DEFAULT_MMAP,
            ca_file: None,
        }
    }
}

/// Opens the store named by `url`: `sqlite://PATH`, `sqlite:PATH` or a plain file path, or
/// `postgres://USER:PASSWORD@HOST:PORT/DB` (`postgresql://` too) for PostgreSQL.
///
/// `create` says whether a missing database may be created (see [`OpenOptions::create`]).
pub fn open(url: &str, create: bool) -> Result<Arc<dyn Store>> {
    open_with(
        url,
        &OpenOptions {
            create,
            ..OpenOptions::default()
        },
    )
}

/// [`open`], with every option.
pub fn open_with(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    if let Some(path) = sqlite_path(url) {
        let sqlite = sqlite::Sqlite::open(path, options.create, options.sqlite_mmap_bytes)?;
        return opened(Database::new(sqlite));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let postgres = postgres::Postgres::open(url, options.ca_file.as_deref())?;
        return opened(Database::new(postgres));
    }
    Err(StoreError::Config(format!(
        "unknown database URL scheme in {}: use sqlite://PATH or postgres://...",
        postgres::redact(url)
    )))
}

/// A database just opened, with what its migrations left to Rust done.
fn opened(db: Database) -> Result<Arc<dyn Store>> {
    // On a thread of its own: PostgreSQL's blocking client may not run on an async runtime's.
    let backend = &*db.backend;
    let filled = std::thread::scope(|s| {
        s.spawn(|| papers::backfill_announced(backend))
            .join()
            .unwrap_or_else(|_| Err(StoreError::Backend("the backfill panicked".into())))
    })?;
    if filled > 0 {
        tracing::info!(papers = filled, "filled in announcement days");
    }
    Ok(Arc::new(db))
}

/// The file a SQLite database URL names (`sqlite://PATH`, `sqlite:PATH` or a plain path); None
/// for a URL of another scheme.
pub fn sqlite_path(url: &str) -> Option<&Path> {
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        return Some(Path::new(rest));
    }
    (!url.contains("://")).then(|| Path::new(url))
}

#[cfg(test)]
mod conformance;
