//! The server backend: PostgreSQL, for several paperboy nodes on one database. A small pool of
//! connections (synchronous `postgres` clients, used on tokio's blocking pool like the SQLite
//! backend's); migrations run at start under an advisory lock, so nodes starting together do not
//! race. What SQLite's single writer gave for free is made explicit here:
//!
//! - **The change feed stays in order.** Every transaction that gives a paper a new `seq` first
//!   takes a transaction-level advisory lock ([`lock_seq`]) and only then reads `MAX(seq)`, so
//!   sequence numbers commit in the order they are given: a follower that has read up to `n` can
//!   never later find a change below `n` (a plain sequence would let a slow transaction commit a
//!   smaller number after a faster one).
//! - **Named locks** ([`Store::try_lock`]: one harvester per source, one digest recorder) are
//!   session advisory locks on a connection of their own; they go when the guard drops or the
//!   process dies and its connection with it.
//! - **The outbox is shared.** Each node holds a session advisory lock on its own node key; its
//!   digest sender claims due mail with `FOR UPDATE SKIP LOCKED`, writing its key on the rows.
//!   Mail claimed by a node whose lock is gone (it died) is claimed by the next sender that looks.
//! - **TLS** as libpq's `sslmode` has it, through rustls: `url` reads the options the driver does
//!   not know, `tls` makes the handshakes and says in words why one failed.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use paperboy_core::{ArxivId, DailyEntry, Paper, Submitter};
use postgres::types::ToSql;
use postgres::{Client, Config, GenericClient, Transaction};

use crate::codec::{bytes_vector, day_str, from_json, parse_day, sort_date, to_json, ts};
use crate::{
    Account, AuditEntry, Change, Comment, Delivery, Frequency, HarvestStatus, Listed,
    ListingFilter, LockGuard, MailStats, Moderation, ModerationQueue, OutboxMail, PaperView,
    Result, SignUp, Store, StoreError, StoreStats, SubmitOutcome, Subscription, Topics, TrendInput,
    VoteOutcome,
};

mod community;
mod tls;
mod url;

pub use url::{redact, SslMode};

/// Migrations in order; the table `paperboy_schema` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("0001_init.sql"),
    include_str!("0002_hardening.sql"),
];

/// Connections a node keeps open for queries (named locks and the node lock have their own).
const POOL: usize = 8;

/// Advisory lock classes (the first key of `pg_advisory_lock(int, int)`): "pb" and neighbours.
const LOCK_CLASS: i32 = 0x7062;
/// Named locks (`try_lock`), keyed by a hash of the name.
const NAMED_LOCK_CLASS: i32 = LOCK_CLASS + 1;
/// Node liveness locks, keyed by node; `outbox.claimed_by` holds the key.
pub(crate) const NODE_LOCK_CLASS: i64 = (LOCK_CLASS + 2) as i64;
const MIGRATE_KEY: i32 = 1;
const SEQ_KEY: i32 = 2;

pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    target: Target,
    /// Idle connections.
    pool: Mutex<Vec<Client>>,
    /// At most `POOL` queries at once.
    permits: Arc<tokio::sync::Semaphore>,
    /// This node's key and the connection holding its liveness lock, once the sender needs it.
    node: Mutex<Option<(i64, Client)>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A `postgres::Client` owns a small runtime, which may not be dropped inside an async
        // context: the connections are closed on a thread of their own.
        let pool = std::mem::take(&mut *self.pool.lock().unwrap_or_else(|p| p.into_inner()));
        let node = self.node.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop_off_runtime((pool, node));
    }
}

/// Drops `v` on a plain thread: clients may be dropped from async code without a panic.
fn drop_off_runtime<T: Send + 'static>(v: T) {
    let _ = std::thread::Builder::new()
        .name("pg-close".into())
        .spawn(move || drop(v));
}

/// A client held by a [`LockGuard`]: closing the connection releases its session locks.
struct HeldLock(Mutex<Option<Client>>);

impl Drop for HeldLock {
    fn drop(&mut self) {
        if let Some(c) = self.0.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            drop_off_runtime(c);
        }
    }
}

/// Where a store connects and how: the connection string as the driver reads it, and its TLS.
struct Target {
    config: Config,
    tls: tls::Tls,
    /// The URL without its password, for errors.
    shown: String,
}

impl Target {
    fn new(url: &str, ca_file: Option<&Path>) -> Result<Target> {
        let shown = redact(url);
        let bad = |e: String| StoreError::Config(format!("bad PostgreSQL URL {shown}: {e}"));
        let split = url::split(url).map_err(bad)?;
        let mut config: Config = split.rest.parse().map_err(|e| bad(tls::chain(&e)))?;
        let tls = tls::Tls::new(&split, ca_file)
            .map_err(|e| StoreError::Config(format!("TLS to {shown}: {e}")))?;
        // The driver knows three modes; the certificate checks of the other two are `tls`'s.
        config.ssl_mode(match tls.mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        });
        config.application_name("paperboy");
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        Ok(Target { config, tls, shown })
    }

    fn connect(&self) -> Result<Client> {
        self.config.connect(self.tls.clone()).map_err(|e| {
            StoreError::Connect(format!(
                "cannot connect to {}: {}",
                self.shown,
                self.tls.explain(&e)
            ))
        })
    }
}

/// A connection to `url` made as the store makes its own (TLS included, `ca_file` as in
/// [`PgStore::open_with`]), for tools and tests. It blocks: not for async code.
pub fn connect(url: &str, ca_file: Option<&Path>) -> Result<Client> {
    Target::new(url, ca_file)?.connect()
}

impl PgStore {
    /// Connects to `url` (`postgres://...` or libpq's `key=value` form) and brings the schema up
    /// to date. The database itself must exist.
    pub fn open(url: &str) -> Result<PgStore> {
        PgStore::open_with(url, None)
    }

    /// [`PgStore::open`], with the CA certificates (a PEM file) that check the server under
    /// `sslmode=verify-ca` and `verify-full` (and `require`, as libpq does) when the URL names
    /// none with `sslrootcert`. Without either, the system's CAs check it.
    pub fn open_with(url: &str, ca_file: Option<&Path>) -> Result<PgStore> {
        let inner = Arc::new(Inner {
            target: Target::new(url, ca_file)?,
            pool: Mutex::new(Vec::new()),
            permits: Arc::new(tokio::sync::Semaphore::new(POOL)),
            node: Mutex::new(None),
        });
        // The synchronous client blocks on a runtime of its own, which tokio refuses inside an
        // async context: connect and migrate on a plain thread.
        let worker = inner.clone();
        std::thread::spawn(move || -> Result<()> {
            let mut c = worker.connect()?;
            migrate(&mut c)?;
            worker.pool.lock().expect("pool").push(c);
            Ok(())
        })
        .join()
        .map_err(|_| StoreError::Task("PostgreSQL start-up panicked".into()))??;
        Ok(PgStore { inner })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut client = inner.checkout()?;
            let out = f(&mut client);
            if client.is_closed() {
                drop(client);
            } else {
                inner.pool.lock().expect("pool").push(client);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// [`PgStore::run`] inside one transaction, committed when `f` succeeds.
    async fn tx<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.run(move |c| {
            let mut tx = c.transaction()?;
            let out = f(&mut tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// This node's key, taking its liveness lock on first use (and again after the connection
    /// holding it was lost).
    fn node_key(inner: &Inner) -> Result<i64> {
        let mut node = inner.node.lock().expect("node lock");
        if let Some((key, c)) = node.as_ref() {
            if !c.is_closed() {
                return Ok(*key);
            }
        }
        if let Some(old) = node.take() {
            drop(old);
        }
        let mut c = inner.connect()?;
        loop {
            let mut b = [0u8; 4];
            getrandom::fill(&mut b).map_err(|e| StoreError::Config(format!("random: {e}")))?;
            let key = (u32::from_le_bytes(b) >> 1).max(1) as i32;
            let got: bool = c
                .query_one(
                    "SELECT pg_try_advisory_lock($1, $2)",
                    &[&(NODE_LOCK_CLASS as i32), &key],
                )?
                .get(0);
            if got {
                *node = Some((key as i64, c));
                return Ok(key as i64);
            }
        }
    }
}

impl Inner {
    fn connect(&self) -> Result<Client> {
        self.target.connect()
    }

    /// An idle connection that is still open, or a new one.
    fn checkout(&self) -> Result<Client> {
        loop {
            let idle = self.pool.lock().expect("pool").pop();
            match idle {
                Some(c) if !c.is_closed() => return Ok(c),
                Some(_) => continue,
                None => return self.connect(),
            }
        }
    }
}

fn migrate(c: &mut Client) -> Result<()> {
    let mut tx = c.transaction()?;
    // Nodes starting at once wait here for the first one's migrations.
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&LOCK_CLASS, &MIGRATE_KEY],
    )?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS paperboy_schema (version BIGINT NOT NULL)")?;
    let done: Option<i64> = tx
        .query_opt("SELECT version FROM paperboy_schema", &[])?
        .map(|r| r.get(0));
    if done.is_none() {
        tx.execute("INSERT INTO paperboy_schema (version) VALUES (0)", &[])?;
    }
    let done = done.unwrap_or(0) as usize;
    if done > MIGRATIONS.len() {
        return Err(StoreError::Config(format!(
            "the database has schema version {done}, newer than this paperboy knows ({}): upgrade paperboy",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.batch_execute(sql)?;
        tx.execute(
            "UPDATE paperboy_schema SET version = $1",
            &[&((i + 1) as i64)],
        )?;
        tracing::info!(version = i + 1, "applied database migration");
    }
    tx.commit()?;
    Ok(())
}

/// Takes the change feed's lock for the rest of the transaction (see the module comment).
pub(super) fn lock_seq(tx: &mut Transaction<'_>) -> Result<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&LOCK_CLASS, &SEQ_KEY],
    )?;
    Ok(())
}

/// The next sequence number, under the change feed's lock.
pub(super) fn next_seq(tx: &mut Transaction<'_>) -> Result<i64> {
    lock_seq(tx)?;
    let max: i64 = tx
        .query_one("SELECT COALESCE(MAX(seq), 0) FROM papers", &[])?
        .get(0);
    Ok(max + 1)
}

/// Merges records in a transaction the caller commits; see [`Store::import`].
pub(super) fn import_in(
    tx: &mut Transaction<'_>,
    records: Vec<(Paper, Option<DailyEntry>)>,
) -> Result<Vec<Change>> {
    let mut seq = next_seq(tx)? - 1;
    let mut changes = Vec::with_capacity(records.len());
    let get_paper = tx.prepare("SELECT doc FROM papers WHERE id = $1")?;
    let insert_paper =
        tx.prepare("INSERT INTO papers (id, seq, sort_date, doc) VALUES ($1, $2, $3, $4)")?;
    let update_paper =
        tx.prepare("UPDATE papers SET seq = $2, sort_date = $3, doc = $4 WHERE id = $1")?;
    let get_entry = tx.prepare("SELECT doc FROM daily_entries WHERE day = $1 AND paper_id = $2")?;
    let upsert_entry = tx.prepare(
        "INSERT INTO daily_entries (day, paper_id, position, submitter, doc) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (day, paper_id) DO UPDATE SET position = $3, submitter = $4, doc = $5",
    )?;
    for (paper, entry) in records {
        let id = paper.id.to_string();
        let stored: Option<String> = tx.query_opt(&get_paper, &[&id])?.map(|r| r.get(0));
        let paper_change = match stored {
            None => {
                seq += 1;
                tx.execute(
                    &insert_paper,
                    &[&id, &seq, &sort_date(&paper), &to_json(&paper)],
                )?;
                Change::New
            }
            Some(doc) => {
                let mut current: Paper = from_json(&doc)?;
                if current.merge(paper) {
                    seq += 1;
                    tx.execute(
                        &update_paper,
                        &[&id, &seq, &sort_date(&current), &to_json(&current)],
                    )?;
                    Change::Updated
                } else {
                    Change::Unchanged
                }
            }
        };
        let entry_change = match entry {
            None => Change::Unchanged,
            Some(entry) => {
                let day = day_str(entry.day);
                let stored: Option<String> =
                    tx.query_opt(&get_entry, &[&day, &id])?.map(|r| r.get(0));
                let (merged, change) = match stored {
                    None => (entry, Change::New),
                    Some(doc) => {
                        let mut current: DailyEntry = from_json(&doc)?;
                        let changed = current.merge(entry);
                        let change = if changed {
                            Change::Updated
                        } else {
                            Change::Unchanged
                        };
                        (current, change)
                    }
                };
                if change != Change::Unchanged {
                    let submitter = merged.submitted_by.as_ref().map(|s| s.name.clone());
                    tx.execute(
                        &upsert_entry,
                        &[
                            &day,
                            &id,
                            &(merged.position as i64),
                            &submitter,
                            &to_json(&merged),
                        ],
                    )?;
                }
                change
            }
        };
        changes.push(paper_change.max(entry_change));
    }
    Ok(changes)
}

const VIEW_SELECT: &str = "SELECT p.doc, p.local_upvotes,
        (SELECT e.doc FROM daily_entries e WHERE e.paper_id = p.id ORDER BY e.day DESC LIMIT 1),
        p.local_comments, p.sort_date
     FROM papers p";

fn build_view(r: &postgres::Row) -> Result<PaperView> {
    Ok(PaperView {
        paper: from_json(r.get(0))?,
        entry: r.get::<_, Option<&str>>(2).map(from_json).transpose()?,
        local_upvotes: r.get(1),
        local_comments: r.get(3),
    })
}

/// Parameter types for [`Client::query_typed`]. The client's plain `query` prepares a named
/// statement, executes it and closes it: two round trips and a parse per query. The reads every
/// page makes (listings, papers, sessions) name their parameters' types instead and go in one
/// round trip (parse, bind and execute of an unnamed statement together).
pub(super) const TEXT: postgres::types::Type = postgres::types::Type::TEXT;
const INT8: postgres::types::Type = postgres::types::Type::INT8;
const TEXT_ARRAY: postgres::types::Type = postgres::types::Type::TEXT_ARRAY;

const HARVEST_COLUMNS: &str = "source, state, papers_total, run_papers, run_started, last_success,
     last_papers, last_error, last_error_at";

fn build_harvest(r: &postgres::Row) -> Result<HarvestStatus> {
    let time = |i: usize| {
        r.get::<_, Option<&str>>(i)
            .map(crate::codec::parse_ts)
            .transpose()
    };
    Ok(HarvestStatus {
        source: r.get(0),
        state: r.get(1),
        papers_total: r.get::<_, i64>(2) as u64,
        run_papers: r.get::<_, i64>(3) as u64,
        run_started: time(4)?,
        last_success: time(5)?,
        last_papers: r.get::<_, Option<i64>>(6).map(|n| n as u64),
        last_error: r.get(7),
        last_error_at: time(8)?,
    })
}

fn ids(ids: &[ArxivId]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

/// A stable 32-bit key for a lock name (FNV-1a).
fn lock_key(name: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h as i32
}

fn count(c: &mut impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<i64> {
    Ok(c.query_one(sql, params)?.get(0))
}

#[async_trait]
impl Store for PgStore {
    async fn import(&self, records: Vec<(Paper, Option<DailyEntry>)>) -> Result<Vec<Change>> {
        self.tx(move |tx| import_in(tx, records)).await
    }

    async fn paper(&self, id: &ArxivId) -> Result<Option<PaperView>> {
        let id = id.to_string();
        self.run(move |c| {
            c.query_typed(
                &format!("{VIEW_SELECT} WHERE p.id = $1 AND NOT p.hidden"),
                &[(&id, TEXT)],
            )?
            .first()
            .map(build_view)
            .transpose()
        })
        .await
    }

    async fn papers(&self, ids_in: &[ArxivId]) -> Result<Vec<PaperView>> {
        let wanted = ids(ids_in);
        self.run(move |c| {
            let rows = c.query_typed(
                &format!("{VIEW_SELECT} WHERE p.id = ANY($1) AND NOT p.hidden"),
                &[(&wanted, TEXT_ARRAY)],
            )?;
            let mut by_id = std::collections::HashMap::with_capacity(rows.len());
            for r in &rows {
                let v = build_view(r)?;
                by_id.insert(v.paper.id.to_string(), v);
            }
            // In the order asked for; an id asked twice is shown twice, as SQLite does.
            Ok(wanted
                .iter()
                .filter_map(|id| by_id.get(id).cloned())
                .collect())
        })
        .await
    }

    async fn listing(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        filter: &ListingFilter,
    ) -> Result<Vec<Listed>> {
        let (from, to, submitter) = (day_str(from), day_str(to), filter.submitter.clone());
        self.run(move |c| {
            let rows = c.query_typed(
                "SELECT e.doc, p.doc, p.local_upvotes, p.local_comments
                 FROM daily_entries e JOIN papers p ON p.id = e.paper_id
                 WHERE e.day BETWEEN $1 AND $2 AND NOT p.hidden
                   AND ($3::text IS NULL OR e.submitter = $3)
                 ORDER BY e.day, e.position",
                &[(&from, TEXT), (&to, TEXT), (&submitter, TEXT)],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(Listed {
                        entry: from_json(r.get(0))?,
                        paper: from_json(r.get(1))?,
                        local_upvotes: r.get(2),
                        local_comments: r.get(3),
                    })
                })
                .collect()
        })
        .await
    }

    async fn latest_day(&self) -> Result<Option<NaiveDate>> {
        self.run(|c| {
            let day: Option<String> = c
                .query_typed("SELECT MAX(day) FROM daily_entries", &[])?
                .first()
                .and_then(|r| r.get(0));
            day.as_deref().map(parse_day).transpose()
        })
        .await
    }

    async fn neighbour_days(
        &self,
        day: NaiveDate,
    ) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
        let day = day_str(day);
        self.run(move |c| {
            let rows = c.query_typed(
                "SELECT (SELECT MAX(day) FROM daily_entries WHERE day < $1),
                        (SELECT MIN(day) FROM daily_entries WHERE day > $1)",
                &[(&day, TEXT)],
            )?;
            let r = rows
                .first()
                .ok_or_else(|| StoreError::Corrupt("no row from an aggregate".into()))?;
            let (prev, next): (Option<String>, Option<String>) = (r.get(0), r.get(1));
            Ok((
                prev.as_deref().map(parse_day).transpose()?,
                next.as_deref().map(parse_day).transpose()?,
            ))
        })
        .await
    }

    async fn papers_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<PaperView>, Option<String>)> {
        let (after_date, after_id) = match cursor.and_then(|c| c.split_once('~')) {
            Some((d, i)) => (Some(d.to_string()), Some(i.to_string())),
            None => (None, None),
        };
        self.run(move |c| {
            let rows = c.query(
                &format!(
                    "{VIEW_SELECT}
                     WHERE NOT p.hidden AND ($1::text IS NULL OR (p.sort_date, p.id) < ($1, $2::text))
                     ORDER BY p.sort_date DESC, p.id DESC LIMIT $3"
                ),
                &[&after_date, &after_id, &(limit as i64 + 1)],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            let mut keys = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(build_view(r)?);
                keys.push(r.get::<_, String>(4));
            }
            let next = if out.len() > limit {
                out.truncate(limit);
                Some(format!("{}~{}", keys[limit - 1], out[limit - 1].paper.id))
            } else {
                None
            };
            Ok((out, next))
        })
        .await
    }

    async fn changes_since(&self, seq: i64, limit: usize) -> Result<Vec<(i64, Paper, bool)>> {
        self.run(move |c| {
            let rows = c.query_typed(
                "SELECT seq, doc, hidden FROM papers WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[(&seq, INT8), (&(limit as i64), INT8)],
            )?;
            rows.iter()
                .map(|r| Ok((r.get(0), from_json(r.get(1))?, !r.get::<_, bool>(2))))
                .collect()
        })
        .await
    }

    async fn last_seq(&self) -> Result<i64> {
        self.run(|c| count(c, "SELECT COALESCE(MAX(seq), 0) FROM papers", &[]))
            .await
    }

    async fn embedding_hashes(&self, model: &str, ids_in: &[ArxivId]) -> Result<Vec<Option<i64>>> {
        let (model, wanted) = (model.to_owned(), ids(ids_in));
        self.run(move |c| {
            let rows = c.query(
                "SELECT paper_id, text_hash FROM embeddings WHERE model = $1 AND paper_id = ANY($2)",
                &[&model, &wanted],
            )?;
            let found: std::collections::HashMap<String, i64> =
                rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            Ok(wanted.iter().map(|id| found.get(id).copied()).collect())
        })
        .await
    }

    async fn put_embeddings(
        &self,
        model: &str,
        rows: Vec<(ArxivId, i64, Vec<f32>)>,
        cursor: (&str, i64),
    ) -> Result<()> {
        let (model, name, value) = (model.to_owned(), cursor.0.to_owned(), cursor.1);
        self.tx(move |tx| {
            let put = tx.prepare(
                "INSERT INTO embeddings (model, paper_id, text_hash, vector) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (model, paper_id) DO UPDATE SET text_hash = $3, vector = $4",
            )?;
            for (id, hash, vector) in rows {
                tx.execute(
                    &put,
                    &[
                        &model,
                        &id.as_str(),
                        &hash,
                        &crate::codec::vector_bytes(&vector),
                    ],
                )?;
            }
            tx.execute(
                "INSERT INTO cursors (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = $2",
                &[&name, &value],
            )?;
            Ok(())
        })
        .await
    }

    async fn embeddings_page(
        &self,
        model: &str,
        after: Option<&ArxivId>,
        limit: usize,
    ) -> Result<Vec<(ArxivId, Vec<f32>)>> {
        let (model, after) = (
            model.to_owned(),
            after.map(ToString::to_string).unwrap_or_default(),
        );
        self.run(move |c| {
            let rows = c.query(
                "SELECT e.paper_id, e.vector FROM embeddings e JOIN papers p ON p.id = e.paper_id
                 WHERE e.model = $1 AND e.paper_id > $2 AND NOT p.hidden
                 ORDER BY e.paper_id LIMIT $3",
                &[&model, &after, &(limit as i64)],
            )?;
            rows.iter()
                .map(|r| {
                    let id: &str = r.get(0);
                    Ok((
                        ArxivId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        bytes_vector(r.get(1))?,
                    ))
                })
                .collect()
        })
        .await
    }

    async fn embeddings(&self, model: &str, ids_in: &[ArxivId]) -> Result<Vec<Option<Vec<f32>>>> {
        let (model, wanted) = (model.to_owned(), ids(ids_in));
        self.run(move |c| {
            let rows = c.query(
                "SELECT paper_id, vector FROM embeddings WHERE model = $1 AND paper_id = ANY($2)",
                &[&model, &wanted],
            )?;
            let mut found = std::collections::HashMap::with_capacity(rows.len());
            for r in &rows {
                found.insert(r.get::<_, String>(0), bytes_vector(r.get(1))?);
            }
            Ok(wanted.iter().map(|id| found.get(id).cloned()).collect())
        })
        .await
    }

    async fn import_harvested(
        &self,
        source: &str,
        records: Vec<(Paper, Option<DailyEntry>)>,
        state: &str,
    ) -> Result<Vec<Change>> {
        let (source, state) = (source.to_owned(), state.to_owned());
        self.tx(move |tx| {
            let changes = import_in(tx, records)?;
            let papers = changes.iter().filter(|c| **c != Change::Unchanged).count() as i64;
            tx.execute(
                "INSERT INTO harvests (source, state, papers_total, run_papers) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (source) DO UPDATE SET state = $2,
                     papers_total = harvests.papers_total + $3, run_papers = harvests.run_papers + $3",
                &[&source, &state, &papers],
            )?;
            Ok(changes)
        })
        .await
    }

    async fn harvest_status(&self, source: &str) -> Result<Option<HarvestStatus>> {
        let source = source.to_owned();
        self.run(move |c| {
            c.query_opt(
                &format!("SELECT {HARVEST_COLUMNS} FROM harvests WHERE source = $1"),
                &[&source],
            )?
            .as_ref()
            .map(build_harvest)
            .transpose()
        })
        .await
    }

    async fn harvest_statuses(&self) -> Result<Vec<HarvestStatus>> {
        self.run(|c| {
            c.query(
                &format!("SELECT {HARVEST_COLUMNS} FROM harvests ORDER BY source"),
                &[],
            )?
            .iter()
            .map(build_harvest)
            .collect()
        })
        .await
    }

    async fn harvest_started(&self, source: &str, now: DateTime<Utc>) -> Result<()> {
        let (source, now) = (source.to_owned(), ts(now));
        self.run(move |c| {
            c.execute(
                "INSERT INTO harvests (source, run_started, run_papers) VALUES ($1, $2, 0)
                 ON CONFLICT (source) DO UPDATE SET run_started = $2, run_papers = 0",
                &[&source, &now],
            )?;
            Ok(())
        })
        .await
    }

    async fn harvest_ended(
        &self,
        source: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (source, error, now) = (source.to_owned(), error.map(str::to_owned), ts(now));
        self.run(move |c| {
            match error {
                None => c.execute(
                    "INSERT INTO harvests (source, last_success, last_papers) VALUES ($1, $2, 0)
                     ON CONFLICT (source) DO UPDATE SET last_success = $2,
                         last_papers = harvests.run_papers, last_error = NULL, last_error_at = NULL",
                    &[&source, &now],
                )?,
                Some(e) => c.execute(
                    "INSERT INTO harvests (source, last_error, last_error_at) VALUES ($1, $2, $3)
                     ON CONFLICT (source) DO UPDATE SET last_error = $2, last_error_at = $3",
                    &[&source, &e, &now],
                )?,
            };
            Ok(())
        })
        .await
    }

    async fn cursor(&self, name: &str) -> Result<i64> {
        let name = name.to_owned();
        self.run(move |c| {
            Ok(
                c.query_opt("SELECT value FROM cursors WHERE name = $1", &[&name])?
                    .map_or(0, |r| r.get(0)),
            )
        })
        .await
    }

    async fn set_cursor(&self, name: &str, value: i64) -> Result<()> {
        let name = name.to_owned();
        self.run(move |c| {
            c.execute(
                "INSERT INTO cursors (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = $2",
                &[&name, &value],
            )?;
            Ok(())
        })
        .await
    }

    async fn create_login_token(
        &self,
        token_hash: &str,
        email: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let (h, e) = (token_hash.to_owned(), email.to_owned());
        self.run(move |c| community::create_login_token(c, &h, &e, expires_at))
            .await
    }

    async fn redeem_login_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let h = token_hash.to_owned();
        self.run(move |c| community::redeem_login_token(c, &h, now))
            .await
    }

    async fn sign_in(&self, email: &str, admins: &[String], now: DateTime<Utc>) -> Result<Account> {
        let (e, a) = (email.to_owned(), admins.to_vec());
        self.run(move |c| community::sign_in(c, &e, &a, now)).await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        account_id: i64,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<()> {
        let h = token_hash.to_owned();
        self.run(move |c| community::create_session(c, &h, account_id, now, expired_before))
            .await
    }

    async fn session(
        &self,
        token_hash: &str,
        not_before: DateTime<Utc>,
    ) -> Result<Option<Account>> {
        let h = token_hash.to_owned();
        self.run(move |c| community::session(c, &h, not_before))
            .await
    }

    async fn end_session(&self, token_hash: &str) -> Result<()> {
        let h = token_hash.to_owned();
        self.run(move |c| {
            c.execute("DELETE FROM sessions WHERE token_hash = $1", &[&h])?;
            Ok(())
        })
        .await
    }

    async fn end_all_sessions(&self, account_id: i64) -> Result<u64> {
        self.run(move |c| {
            Ok(c.execute("DELETE FROM sessions WHERE account_id = $1", &[&account_id])?)
        })
        .await
    }

    async fn update_profile(
        &self,
        account_id: i64,
        username: &str,
        display_name: &str,
    ) -> Result<Account> {
        let (u, d) = (username.to_owned(), display_name.to_owned());
        self.run(move |c| community::update_profile(c, account_id, &u, &d))
            .await
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let u = username.to_owned();
        self.run(move |c| community::account_where(c, "username = $1", &u))
            .await
    }

    async fn vote(
        &self,
        account_id: i64,
        paper: &ArxivId,
        up: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<VoteOutcome>> {
        let p = paper.to_string();
        self.run(move |c| community::vote(c, account_id, &p, up, now))
            .await
    }

    async fn votes_of(&self, account_id: i64, papers: &[ArxivId]) -> Result<Vec<bool>> {
        let wanted = ids(papers);
        self.run(move |c| {
            let rows = c.query_typed(
                "SELECT paper_id FROM votes WHERE account_id = $1 AND paper_id = ANY($2)",
                &[(&account_id, INT8), (&wanted, TEXT_ARRAY)],
            )?;
            let voted: std::collections::HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
            Ok(wanted.iter().map(|id| voted.contains(id)).collect())
        })
        .await
    }

    async fn count_votes(&self, paper: &ArxivId) -> Result<i64> {
        let p = paper.to_string();
        self.run(move |c| count(c, "SELECT COUNT(*) FROM votes WHERE paper_id = $1", &[&p]))
            .await
    }

    async fn submit(
        &self,
        paper: Paper,
        day: NaiveDate,
        by: Submitter,
        now: DateTime<Utc>,
    ) -> Result<SubmitOutcome> {
        self.run(move |c| community::submit(c, paper, day, by, now))
            .await
    }

    async fn add_comment(
        &self,
        paper: &ArxivId,
        account_id: i64,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Comment>> {
        let (p, b) = (paper.to_string(), body.to_owned());
        self.run(move |c| community::add_comment(c, &p, account_id, &b, now))
            .await
    }

    async fn comments(&self, paper: &ArxivId, moderator: bool) -> Result<Vec<Comment>> {
        let p = paper.to_string();
        self.run(move |c| community::comments(c, &p, moderator))
            .await
    }

    async fn comment(&self, id: i64) -> Result<Option<Comment>> {
        self.run(move |c| community::comment_by_id(c, id)).await
    }

    async fn edit_comment(&self, id: i64, body: &str, now: DateTime<Utc>) -> Result<bool> {
        let b = body.to_owned();
        self.run(move |c| community::edit_comment(c, id, &b, now))
            .await
    }

    async fn delete_comment(&self, id: i64) -> Result<bool> {
        self.run(move |c| community::delete_comment(c, id)).await
    }

    async fn moderate(
        &self,
        actor: &str,
        action: Moderation,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (a, d) = (actor.to_owned(), detail.to_owned());
        self.run(move |c| community::moderate(c, &a, action, &d, now))
            .await
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.run(move |c| community::audit_log(c, limit)).await
    }

    async fn moderation_queue(&self) -> Result<ModerationQueue> {
        self.run(community::moderation_queue).await
    }

    async fn trend_inputs(&self, since: DateTime<Utc>) -> Result<Vec<TrendInput>> {
        self.run(move |c| community::trend_inputs(c, since)).await
    }

    async fn secret(&self, name: &str) -> Result<String> {
        let fresh: String = {
            let mut b = [0u8; 32];
            getrandom::fill(&mut b)
                .map_err(|e| StoreError::Config(format!("random source: {e}")))?;
            b.iter().map(|x| format!("{x:02x}")).collect()
        };
        let name = name.to_owned();
        self.run(move |c| community::secret(c, &name, &fresh)).await
    }

    async fn sign_up(
        &self,
        email: &str,
        frequency: Frequency,
        topics: &Topics,
        account_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<SignUp> {
        let (e, t) = (email.to_owned(), topics.clone());
        self.run(move |c| community::sign_up(c, &e, frequency, &t, account_id, now))
            .await
    }

    async fn subscription(&self, id: i64) -> Result<Option<Subscription>> {
        self.run(move |c| community::subscription_where(c, "id = $1", &id))
            .await
    }

    async fn subscription_by_email(&self, email: &str) -> Result<Option<Subscription>> {
        let e = email.trim().to_lowercase();
        self.run(move |c| community::subscription_where(c, "email = $1", &e))
            .await
    }

    async fn confirm_subscription(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        self.run(move |c| community::confirm_subscription(c, id, now))
            .await
    }

    async fn update_subscription(
        &self,
        id: i64,
        frequency: Frequency,
        topics: &Topics,
    ) -> Result<bool> {
        let t = topics.clone();
        self.run(move |c| community::update_subscription(c, id, frequency, &t))
            .await
    }

    async fn unsubscribe(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        self.run(move |c| community::unsubscribe(c, id, now)).await
    }

    async fn due_subscriptions(
        &self,
        frequency: Frequency,
        period: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Subscription>> {
        let p = period.to_owned();
        self.run(move |c| community::due_subscriptions(c, frequency, &p, after, limit))
            .await
    }

    async fn sent_before(&self, subscription: i64, papers: &[ArxivId]) -> Result<Vec<bool>> {
        let wanted = ids(papers);
        self.run(move |c| community::sent_before(c, subscription, &wanted))
            .await
    }

    async fn record_digest(
        &self,
        subscription: i64,
        period: &str,
        message_id: &str,
        message: &str,
        papers: &[ArxivId],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (p, m, msg) = (period.to_owned(), message_id.to_owned(), message.to_owned());
        let wanted = ids(papers);
        self.run(move |c| community::record_digest(c, subscription, &p, &m, &msg, &wanted, now))
            .await
    }

    async fn pass_period(&self, subscription: i64, period: &str) -> Result<()> {
        let p = period.to_owned();
        self.run(move |c| community::pass_period(c, subscription, &p))
            .await
    }

    async fn due_mail(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxMail>> {
        let inner = self.inner.clone();
        self.run(move |c| {
            let node = PgStore::node_key(&inner)?;
            community::due_mail(c, node, now, limit)
        })
        .await
    }

    async fn mark_mail(&self, id: i64, outcome: Delivery, now: DateTime<Utc>) -> Result<()> {
        self.run(move |c| community::mark_mail(c, id, outcome, now))
            .await
    }

    async fn forget_bodies(&self, ids: &[i64]) -> Result<u64> {
        let ids = ids.to_vec();
        self.run(move |c| community::forget_bodies(c, &ids)).await
    }

    async fn mail_stats(&self) -> Result<MailStats> {
        self.run(community::mail_stats).await
    }

    fn outbox_is_shared(&self) -> bool {
        true
    }

    async fn rate_limit(
        &self,
        action: &str,
        keys: &[(String, u32)],
        window: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<std::time::Duration>> {
        let (a, k) = (action.to_owned(), keys.to_vec());
        self.run(move |c| community::rate_limit(c, &a, &k, window, now))
            .await
    }

    async fn try_lock(&self, name: &str) -> Result<Option<LockGuard>> {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(StoreError::Config(format!("bad lock name {name:?}")));
        }
        let key = lock_key(name);
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            // A connection of its own: the lock lives exactly as long as it.
            let mut c = inner.connect()?;
            let got: bool = c
                .query_one(
                    "SELECT pg_try_advisory_lock($1, $2)",
                    &[&NAMED_LOCK_CLASS, &key],
                )?
                .get(0);
            Ok(got.then(|| LockGuard::new(HeldLock(Mutex::new(Some(c))))))
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn stats(&self) -> Result<StoreStats> {
        self.run(|c| {
            let r = c.query_one(
                "SELECT (SELECT COUNT(*) FROM papers) - (SELECT COUNT(*) FROM papers WHERE hidden),
                        (SELECT COUNT(*) FROM daily_entries),
                        (SELECT COUNT(DISTINCT day) FROM daily_entries),
                        (SELECT MIN(day) FROM daily_entries), (SELECT MAX(day) FROM daily_entries),
                        (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM votes),
                        (SELECT COUNT(*) FROM comments WHERE NOT deleted)",
                &[],
            )?;
            let n = |i: usize| r.get::<_, i64>(i) as u64;
            let d = |i: usize| r.get::<_, Option<&str>>(i).map(parse_day).transpose();
            Ok(StoreStats {
                papers: n(0),
                daily_entries: n(1),
                days: n(2),
                first_day: d(3)?,
                last_day: d(4)?,
                accounts: n(5),
                votes: n(6),
                comments: n(7),
            })
        })
        .await
    }

    async fn backup(&self, dest: &Path) -> Result<()> {
        crate::copy::backup_to_sqlite(self, dest).await
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn export(&self, out: crate::copy::RowSender) -> Result<()> {
        self.run(move |c| {
            let mut tx = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            for (t, table) in crate::copy::TABLES.iter().enumerate() {
                let sql = format!(
                    "SELECT {} FROM {} ORDER BY {}",
                    table.column_list(),
                    table.name,
                    table.key
                );
                let mut rows = tx.query_raw(&sql, std::iter::empty::<i64>())?;
                let mut batch = Vec::with_capacity(crate::copy::BATCH);
                while let Some(r) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)?
                {
                    batch.push(crate::copy::pg_values(table, &r));
                    if batch.len() == crate::copy::BATCH {
                        out.send(t, std::mem::take(&mut batch))?;
                    }
                }
                drop(rows);
                out.send(t, batch)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn import_rows(
        &self,
        table: &'static crate::copy::Table,
        rows: Vec<Vec<crate::copy::Value>>,
    ) -> Result<()> {
        self.tx(move |tx| {
            let stmt = tx.prepare(&table.insert_sql(true))?;
            for row in &rows {
                let params: Vec<&(dyn ToSql + Sync)> =
                    row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                tx.execute(&stmt, &params)?;
            }
            Ok(())
        })
        .await
    }

    async fn finish_import(&self) -> Result<()> {
        self.tx(|tx| {
            // Ids were copied as they were: identities continue after the largest.
            for table in crate::copy::TABLES.iter().filter(|t| t.identity) {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{0}', 'id'), COALESCE((SELECT MAX(id) FROM {0}), 0) + 1, false)",
                        table.name
                    ),
                    &[],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn count_rows(&self, table: &'static crate::copy::Table) -> Result<u64> {
        self.run(move |c| {
            Ok(count(c, &format!("SELECT COUNT(*) FROM {}", table.name), &[])? as u64)
        })
        .await
    }

    async fn is_empty(&self) -> Result<bool> {
        self.run(|c| {
            for table in crate::copy::TABLES {
                let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", table.name);
                if c.query_one(&sql, &[])?.get::<_, bool>(0) {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await
    }
}

/// A database of its own for one test, dropped (with its connections) when this is dropped.
/// Made on the server named by `POSTGRES_TEST_URL` (a URL whose role may create databases).
pub struct TestDatabase {
    admin: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// The server to test against, if one is configured. Under `CI=true` a missing server is a
    /// failure, not a skip.
    pub fn server() -> Option<String> {
        match std::env::var("POSTGRES_TEST_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true but POSTGRES_TEST_URL is not set: .ci/run starts PostgreSQL")
            }
            _ => {
                eprintln!("skipped: POSTGRES_TEST_URL is not set");
                None
            }
        }
    }

    /// A fresh database on the configured server; None (skipped) without one.
    pub fn create() -> Option<TestDatabase> {
        let admin = TestDatabase::server()?;
        let mut b = [0u8; 6];
        getrandom::fill(&mut b).expect("random");
        let name = format!(
            "paperboy_test_{}",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        );
        let url = with_database(&admin, &name);
        let (a, n) = (admin.clone(), name.clone());
        std::thread::spawn(move || -> Result<()> {
            let mut c = connect(&a, None)?;
            c.batch_execute(&format!("CREATE DATABASE {n}"))?;
            Ok(())
        })
        .join()
        .expect("create database")
        .expect("create the test database");
        Some(TestDatabase { admin, name, url })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || -> Result<()> {
            let mut c = connect(&admin, None)?;
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
            Ok(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two nodes on one database: their senders claim disjoint mail, and the mail a node had
    /// claimed is taken over once that node is gone (its liveness lock with it).
    #[tokio::test]
    async fn nodes_share_the_outbox_and_take_over_a_dead_nodes_mail() {
        let Some(db) = TestDatabase::create() else {
            return;
        };
        let a: Arc<dyn Store> = Arc::new(PgStore::open(db.url()).unwrap());
        let b: Arc<dyn Store> = Arc::new(PgStore::open(db.url()).unwrap());
        let now = Utc::now();
        for i in 0..10 {
            let email = format!("reader{i}@example.org");
            let sub = match a
                .sign_up(&email, Frequency::Daily, &Topics::default(), None, now)
                .await
                .unwrap()
            {
                SignUp::SendConfirmation(s) | SignUp::Quiet(s) => s,
            };
            a.confirm_subscription(sub.id, now).await.unwrap();
            let mid = format!("<{i}@test>");
            assert!(a
                .record_digest(sub.id, "2026-01-05", &mid, "m", &[], now)
                .await
                .unwrap());
        }
        let taken_a: Vec<i64> = a
            .due_mail(now, 4)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(taken_a.len(), 4);
        let taken_b: Vec<i64> = b
            .due_mail(now, 100)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(taken_b.len(), 6, "b gets what a did not claim");
        assert!(taken_b.iter().all(|id| !taken_a.contains(id)));
        // a asks again: its own claims, nothing of b's.
        let again: Vec<i64> = a
            .due_mail(now, 100)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(again, taken_a);
        a.mark_mail(taken_a[0], Delivery::Sent, now).await.unwrap();
        drop(a);
        // The node's connections close on a thread of their own: poll until its lock is gone.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let got: Vec<i64> = b
                .due_mail(now, 100)
                .await
                .unwrap()
                .iter()
                .map(|m| m.id)
                .collect();
            if got.len() == 9 {
                assert!(!got.contains(&taken_a[0]), "sent mail is not claimed again");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "a's claims never freed: {got:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres", "t1"),
            "postgres://u:p@h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
    }

    #[test]
    fn lock_keys_are_stable() {
        assert_eq!(lock_key("digest-sender"), lock_key("digest-sender"));
        assert_ne!(lock_key("harvest-arxiv"), lock_key("harvest-hf"));
    }
}
