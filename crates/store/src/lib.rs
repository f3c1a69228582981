//! The database behind paperboy: the `Store` trait, which is everything the rest of the program may
//! ask of storage, and one module per backend, each with its own migrations. The backend is chosen
//! once, from the database URL, by [`open`]; callers only ever see `Arc<dyn Store>`. The store holds
//! the truth; search indexes are derived from it through the change feed ([`Store::changes_since`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use paperboy_core::{ArxivId, DailyEntry, Paper};

mod codec;
pub mod community;
pub mod copy;
pub mod postgres;
pub mod sqlite;

pub use community::{
    Account, AuditEntry, Comment, Delivery, Frequency, MailStats, Moderation, ModerationQueue,
    OutboxMail, Preferences, SignUp, SubmitOutcome, Subscription, Topics, TrendInput, VoteOutcome,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database: {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Config(String),
    /// No connection to the database server (it is down, refused us, or failed a TLS check).
    #[error("{0}")]
    Connect(String),
    #[error("database task failed: {0}")]
    Task(String),
    /// A uniqueness rule refused the write (a username already taken, ...).
    #[error("{0}")]
    Conflict(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What an import did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    Unchanged,
    Updated,
    New,
}

/// A paper with what the community did with it.
#[derive(Debug, Clone, PartialEq)]
pub struct PaperView {
    pub paper: Paper,
    /// The paper's most recent daily-list entry, if it was ever on one.
    pub entry: Option<DailyEntry>,
    /// Votes cast on this instance (kept apart from imported hf.co votes).
    pub local_upvotes: i64,
    /// Comments shown on this instance (kept apart from hf.co's comment counts).
    pub local_comments: i64,
}

impl PaperView {
    /// Imported plus local comments.
    pub fn num_comments(&self) -> i64 {
        self.entry.as_ref().map_or(0, |e| e.num_comments) + self.local_comments
    }

    /// Imported plus local votes: what pages and the API show.
    pub fn upvotes(&self) -> i64 {
        let imported = self
            .entry
            .as_ref()
            .map(|e| e.upvotes)
            .into_iter()
            .chain(self.paper.hf_upvotes)
            .max()
            .unwrap_or(0);
        imported + self.local_upvotes
    }
}

/// One row of a listing: a daily entry with its paper.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub entry: DailyEntry,
    pub paper: Paper,
    pub local_upvotes: i64,
    pub local_comments: i64,
}

impl Listed {
    pub fn upvotes(&self) -> i64 {
        self.entry.upvotes + self.local_upvotes
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListingFilter {
    /// Only entries submitted by this account name.
    pub submitter: Option<String>,
}

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

/// Where a live-sync source stands: its resume point and how its passes went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HarvestStatus {
    /// `arxiv-oai`, `hf-daily`, ...
    pub source: String,
    /// The harvester's resume point (JSON only it reads); `{}` before the first page.
    pub state: String,
    /// Papers new or changed by this source, all time.
    pub papers_total: u64,
    /// Papers new or changed by the pass under way, or by the last one once it ended.
    pub run_papers: u64,
    /// When the pass under way (or the last one) began.
    pub run_started: Option<DateTime<Utc>>,
    /// When the last pass that finished without error ended, and what it brought.
    pub last_success: Option<DateTime<Utc>>,
    pub last_papers: Option<u64>,
    /// The last pass's error; cleared by the next pass that succeeds.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// Counts for the status page and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub papers: u64,
    pub daily_entries: u64,
    pub days: u64,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub accounts: u64,
    pub votes: u64,
    pub comments: u64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Merges records into the store in one transaction and says, per record, what changed.
    /// Importing the same records again reports `Unchanged` and writes nothing.
    async fn import(&self, records: Vec<(Paper, Option<DailyEntry>)>) -> Result<Vec<Change>>;

    async fn paper(&self, id: &ArxivId) -> Result<Option<PaperView>>;
    /// Papers in the order asked for; unknown or hidden ids are left out.
    async fn papers(&self, ids: &[ArxivId]) -> Result<Vec<PaperView>>;

    /// Daily entries of the days `from..=to`, in feed order (day, then position).
    async fn listing(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        filter: &ListingFilter,
    ) -> Result<Vec<Listed>>;
    /// The latest day that has a daily list.
    async fn latest_day(&self) -> Result<Option<NaiveDate>>;
    /// The nearest days before and after `day` that have a daily list.
    async fn neighbour_days(
        &self,
        day: NaiveDate,
    ) -> Result<(Option<NaiveDate>, Option<NaiveDate>)>;

    /// All papers, newest published first, by keyset pagination: pass the returned cursor back.
    async fn papers_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<PaperView>, Option<String>)>;

    /// Papers changed after sequence number `seq`, in sequence order, at most `limit`: the change
    /// feed that derived indexes follow. Returns `(seq, paper, visible)`.
    async fn changes_since(&self, seq: i64, limit: usize) -> Result<Vec<(i64, Paper, bool)>>;
    /// The sequence number of the latest change (0 when empty).
    async fn last_seq(&self) -> Result<i64>;

    /// The text hashes of the stored embeddings of these papers for `model` (absent: none stored).
    async fn embedding_hashes(&self, model: &str, ids: &[ArxivId]) -> Result<Vec<Option<i64>>>;
    /// Stores embeddings and, in the same transaction, moves the named cursor to `cursor`.
    async fn put_embeddings(
        &self,
        model: &str,
        rows: Vec<(ArxivId, i64, Vec<f32>)>,
        cursor: (&str, i64),
    ) -> Result<()>;
    /// Stored embeddings of `model` in id order after `after`, at most `limit`.
    async fn embeddings_page(
        &self,
        model: &str,
        after: Option<&ArxivId>,
        limit: usize,
    ) -> Result<Vec<(ArxivId, Vec<f32>)>>;
    /// The stored embeddings of `model` for these papers, in the same order (absent: none stored).
    async fn embeddings(&self, model: &str, ids: &[ArxivId]) -> Result<Vec<Option<Vec<f32>>>>;
    /// A cursor saved by a background worker (0 when never saved).
    /// Merges a harvested batch like [`Store::import`] and, in the same transaction, sets the
    /// source's resume point to `state` and counts the papers it made new or changed; a crash
    /// keeps both or neither.
    async fn import_harvested(
        &self,
        source: &str,
        records: Vec<(Paper, Option<DailyEntry>)>,
        state: &str,
    ) -> Result<Vec<Change>>;
    /// One source's status; None before its first pass.
    async fn harvest_status(&self, source: &str) -> Result<Option<HarvestStatus>>;
    /// Every source that ever ran, by name.
    async fn harvest_statuses(&self) -> Result<Vec<HarvestStatus>>;
    /// A pass of `source` begins: its paper count for the pass starts at zero.
    async fn harvest_started(&self, source: &str, now: DateTime<Utc>) -> Result<()>;
    /// A pass of `source` ended, well (`error` None) or not.
    async fn harvest_ended(
        &self,
        source: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn cursor(&self, name: &str) -> Result<i64>;
    async fn set_cursor(&self, name: &str, value: i64) -> Result<()>;

    // --- The community (see `community`) ---

    /// Stores a sign-in link's token (hashed) for `email`, valid until `expires_at`.
    async fn create_login_token(
        &self,
        token_hash: &str,
        email: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// Uses a sign-in token: the email it was made for, if it exists, is unused and unexpired.
    /// A token works once.
    async fn redeem_login_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>>;
    /// The account of `email`, created when new (username from the address, made unique). The
    /// first account, and any whose email is in `admins`, is an administrator. Only addresses
    /// count: a username in `admins` is resolved by the web layer once, at start, because a
    /// reader may take a free name or rename to one.
    async fn sign_in(&self, email: &str, admins: &[String], now: DateTime<Utc>) -> Result<Account>;
    /// Stores a new session and removes every session created before `expired_before`.
    async fn create_session(
        &self,
        token_hash: &str,
        account_id: i64,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<()>;
    /// The account a session token (hashed) belongs to, if the session was created at or after
    /// `not_before` (older ones have expired).
    async fn session(&self, token_hash: &str, not_before: DateTime<Utc>)
        -> Result<Option<Account>>;
    async fn end_session(&self, token_hash: &str) -> Result<()>;
    /// Ends every session of an account; returns how many there were.
    async fn end_all_sessions(&self, account_id: i64) -> Result<u64>;
    /// Changes a username and display name; `Conflict` when the username is taken.
    async fn update_profile(
        &self,
        account_id: i64,
        username: &str,
        display_name: &str,
    ) -> Result<Account>;
    async fn account_by_username(&self, username: &str) -> Result<Option<Account>>;

    /// Adds (`up`) or removes an account's vote; `None` when the paper is unknown or hidden.
    /// The paper's local count and the vote rows change in one transaction.
    async fn vote(
        &self,
        account_id: i64,
        paper: &ArxivId,
        up: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<VoteOutcome>>;
    /// Whether the account has voted for each of these papers.
    async fn votes_of(&self, account_id: i64, papers: &[ArxivId]) -> Result<Vec<bool>>;
    /// Counts the vote rows of a paper (the truth `local_upvotes` must equal).
    async fn count_votes(&self, paper: &ArxivId) -> Result<i64>;

    /// Puts a paper on `day`'s daily list as submitted by `by`, unless it is on a list already.
    async fn submit(
        &self,
        paper: Paper,
        day: NaiveDate,
        by: paperboy_core::Submitter,
        now: DateTime<Utc>,
    ) -> Result<SubmitOutcome>;

    /// Adds a comment; `None` when the paper is unknown or hidden.
    async fn add_comment(
        &self,
        paper: &ArxivId,
        account_id: i64,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Comment>>;
    /// A paper's comments, oldest first: shown ones, or with `moderator` the hidden ones too.
    async fn comments(&self, paper: &ArxivId, moderator: bool) -> Result<Vec<Comment>>;
    async fn comment(&self, id: i64) -> Result<Option<Comment>>;
    async fn edit_comment(&self, id: i64, body: &str, now: DateTime<Utc>) -> Result<bool>;
    async fn delete_comment(&self, id: i64) -> Result<bool>;

    /// Applies a moderator's action and logs it; false when its target does not exist.
    async fn moderate(
        &self,
        actor: &str,
        action: Moderation,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// The newest `limit` audit-log entries, newest first.
    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>>;
    async fn moderation_queue(&self) -> Result<ModerationQueue>;

    /// Trending inputs of papers listed or voted for since `since`.
    async fn trend_inputs(&self, since: DateTime<Utc>) -> Result<Vec<TrendInput>>;

    // --- Digests ---

    /// A server-wide secret (64 hex digits), made on first use and kept: it signs links.
    async fn secret(&self, name: &str) -> Result<String>;
    /// Records a sign-up. A new or unconfirmed address takes the preferences at once and needs
    /// confirming; re-subscribing after unsubscribing starts over. For an address already
    /// confirmed, nothing changes: the preferences are kept as `pending` until the owner
    /// confirms them ([`Store::confirm_subscription`]). A confirmation mail is due unless one
    /// went out in the last hour.
    async fn sign_up(
        &self,
        email: &str,
        frequency: Frequency,
        topics: &Topics,
        account_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<SignUp>;
    async fn subscription(&self, id: i64) -> Result<Option<Subscription>>;
    /// The subscription of an address (any case), ended or not.
    async fn subscription_by_email(&self, email: &str) -> Result<Option<Subscription>>;
    /// Confirms an address (double opt-in) and applies its pending preferences, if any; false
    /// when there is no such subscription or it was ended.
    async fn confirm_subscription(&self, id: i64, now: DateTime<Utc>) -> Result<bool>;
    async fn update_subscription(
        &self,
        id: i64,
        frequency: Frequency,
        topics: &Topics,
    ) -> Result<bool>;
    /// Ends a subscription at once: nothing is sent to it after this returns.
    async fn unsubscribe(&self, id: i64, now: DateTime<Utc>) -> Result<bool>;
    /// Active subscriptions of `frequency` without a digest for `period` yet, by id after `after`.
    async fn due_subscriptions(
        &self,
        frequency: Frequency,
        period: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Subscription>>;
    /// Which of `papers` this subscriber was sent before.
    async fn sent_before(&self, subscription: i64, papers: &[ArxivId]) -> Result<Vec<bool>>;
    /// Records one subscriber's digest for a period, in one transaction: the outbox row, the papers
    /// it holds, the subscriber's last period. False (and nothing written) when that period was
    /// recorded already.
    async fn record_digest(
        &self,
        subscription: i64,
        period: &str,
        message_id: &str,
        message: &str,
        papers: &[ArxivId],
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Records that a subscriber had nothing new for `period`: it is not due again until the
    /// next period (without this, every look at the schedule would compose it again).
    async fn pass_period(&self, subscription: i64, period: &str) -> Result<()>;
    /// Outbox mail due now for subscriptions still active, oldest first.
    async fn due_mail(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxMail>>;
    async fn mark_mail(&self, id: i64, outcome: Delivery, now: DateTime<Utc>) -> Result<()>;
    /// Drops the bodies of these outbox mails where they were sent (12 KB a digest: 1.2 GB a day
    /// for 100,000 subscribers); rows keep their Message-ID and status, digest_papers what each
    /// held. Cancelled mail loses its body when cancelled. Returns how many were dropped.
    async fn forget_bodies(&self, ids: &[i64]) -> Result<u64>;
    async fn mail_stats(&self) -> Result<MailStats>;

    /// Counts one `action` for each key against its allowance `max` per `window`, or refuses
    /// without counting anything when a key has used its allowance: then the answer is how long
    /// until the oldest counted one leaves the window. Every node of a cluster sees the same
    /// counts (the check and the count are one step across nodes).
    async fn rate_limit(
        &self,
        action: &str,
        keys: &[(String, u32)],
        window: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<std::time::Duration>>;

    /// An exclusive lock named `name` held until the guard drops or the process ends (however
    /// it ends): one digest sender at a time. None when another holder has it.
    async fn try_lock(&self, name: &str) -> Result<Option<LockGuard>>;

    async fn stats(&self) -> Result<StoreStats>;
    /// Writes a consistent copy of the whole database to `dest` (which must not exist).
    async fn backup(&self, dest: &Path) -> Result<()>;
    /// A short name for logs and the status page: `sqlite`, `postgres`.
    fn backend(&self) -> &'static str;

    /// Whether digest senders of several processes may work the outbox at once, each
    /// [`Store::due_mail`] claiming its rows for its process (PostgreSQL). Otherwise one sender at
    /// a time holds the `digest-sender` lock (SQLite).
    fn outbox_is_shared(&self) -> bool {
        false
    }

    // --- Moving house (see `copy`) ---

    /// Sends every row of every table in [`copy::TABLES`], in that order and in batches, read in
    /// one consistent snapshot.
    async fn export(&self, out: copy::RowSender) -> Result<()>;
    /// Inserts rows as they are (ids included) into `table`, in one transaction.
    async fn import_rows(
        &self,
        table: &'static copy::Table,
        rows: Vec<Vec<copy::Value>>,
    ) -> Result<()>;
    /// After the last [`Store::import_rows`]: new ids continue after the copied ones.
    async fn finish_import(&self) -> Result<()>;
    async fn count_rows(&self, table: &'static copy::Table) -> Result<u64>;
    /// No row in any table.
    async fn is_empty(&self) -> Result<bool>;
}

/// What opening a store needs besides its URL.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Whether a missing database may be created: the server creates its default database, but
    /// a mistyped path given explicitly should fail rather than start empty.
    pub create: bool,
    /// SQLite: bytes of the file read through a memory map (0: none); see
    /// [`sqlite::SqliteStore::open_with`].
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
        return Ok(Arc::new(sqlite::SqliteStore::open_with(
            path,
            options.create,
            options.sqlite_mmap_bytes,
        )?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(postgres::PgStore::open_with(
            url,
            options.ca_file.as_deref(),
        )?));
    }
    Err(StoreError::Config(format!(
        "unknown database URL scheme in {}: use sqlite://PATH or postgres://...",
        postgres::redact(url)
    )))
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
