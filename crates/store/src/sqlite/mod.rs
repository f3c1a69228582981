//! The embedded backend: one SQLite file, WAL mode, one writer connection and a small pool of
//! readers. Blocking calls run on tokio's blocking pool so the server's threads never wait on disk.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use paperboy_core::{ArxivId, DailyEntry, Paper, Submitter};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::{
    Account, AuditEntry, Change, Comment, Delivery, Frequency, HarvestStatus, Listed,
    ListingFilter, LockGuard, MailStats, Moderation, ModerationQueue, OutboxMail, PaperView,
    Result, SignUp, Store, StoreError, StoreStats, SubmitOutcome, Subscription, Topics, TrendInput,
    VoteOutcome,
};

/// Migrations in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("0001_init.sql"),
    include_str!("0002_embeddings.sql"),
    include_str!("0003_community.sql"),
    include_str!("0004_digests.sql"),
    include_str!("0005_harvests.sql"),
    include_str!("0006_hardening.sql"),
];

mod community;
use crate::codec::{bytes_vector, day_str, from_json, parse_day, sort_date, to_json, vector_bytes};
const READERS: usize = 4;
/// The memory map's default size: 16 GiB, more than most databases.
pub const DEFAULT_MMAP: u64 = 16 << 30;

pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Bytes of the file each connection reads through a memory map (0: none).
    mmap_bytes: u64,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    pub fn open(path: &Path, create: bool) -> Result<SqliteStore> {
        SqliteStore::open_with(path, create, DEFAULT_MMAP)
    }

    /// [`SqliteStore::open`], reading through a memory map of at most `mmap_bytes` (0: no map,
    /// each connection's own 64 MiB cache). Mapped pages count in the process's resident memory
    /// though the kernel may drop them at will; a bulk import that reads the whole file once
    /// does better without.
    pub fn open_with(path: &Path, create: bool, mmap_bytes: u64) -> Result<SqliteStore> {
        if !create && !path.exists() {
            return Err(StoreError::Config(format!(
                "database {} does not exist (give the right path, or let `paperboy serve` create it)",
                path.display()
            )));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut writer = connect(path, true, mmap_bytes)?;
        migrate(&mut writer)?;
        // Writes take the write lock when they begin. A deferred transaction that reads first
        // and writes later can be refused with SQLITE_BUSY at once (no waiting) when its snapshot
        // is stale; 50 accounts voting at once found that.
        writer.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                mmap_bytes,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.readers.lock().expect("reader pool").pop();
            let conn = match conn {
                Some(c) => c,
                None => connect(&inner.path, false, inner.mmap_bytes)?,
            };
            let out = f(&conn);
            let mut pool = inner.readers.lock().expect("reader pool");
            if pool.len() < READERS {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// Opens a connection. Only the writer sets WAL mode (it is stored in the file): a reader opened
/// under load must not ask for a journal-mode change, which can meet a busy database.
fn connect(path: &Path, writer: bool, mmap_bytes: u64) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    if writer {
        conn.execute_batch("PRAGMA journal_mode = WAL;")?;
    }
    // Pages are read through a memory map rather than copied into each connection's cache: a
    // reader's cache is emptied whenever another connection has written, and with a 64 MiB
    // cache that emptying was a tenth of the digest sender's time.
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;
         PRAGMA mmap_size = {mmap_bytes};"
    ))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if done as usize > MIGRATIONS.len() {
        return Err(StoreError::Config(format!(
            "the database has schema version {done}, newer than this paperboy knows ({}): upgrade paperboy",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied database migration");
    }
    Ok(())
}

fn import_tx(
    conn: &mut Connection,
    records: Vec<(Paper, Option<DailyEntry>)>,
) -> Result<Vec<Change>> {
    let tx = conn.transaction()?;
    let changes = import_in(&tx, records)?;
    tx.commit()?;
    Ok(changes)
}

/// The merge of [`import_tx`], inside a transaction the caller commits.
fn import_in(
    tx: &rusqlite::Transaction<'_>,
    records: Vec<(Paper, Option<DailyEntry>)>,
) -> Result<Vec<Change>> {
    let mut seq: i64 =
        tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM papers", [], |r| r.get(0))?;
    let mut changes = Vec::with_capacity(records.len());
    {
        let mut get_paper = tx.prepare_cached("SELECT doc FROM papers WHERE id = ?1")?;
        let mut insert_paper = tx.prepare_cached(
            "INSERT INTO papers (id, seq, sort_date, doc) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut update_paper = tx
            .prepare_cached("UPDATE papers SET seq = ?2, sort_date = ?3, doc = ?4 WHERE id = ?1")?;
        let mut get_entry =
            tx.prepare_cached("SELECT doc FROM daily_entries WHERE day = ?1 AND paper_id = ?2")?;
        let mut upsert_entry = tx.prepare_cached(
            "INSERT INTO daily_entries (day, paper_id, position, submitter, doc) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (day, paper_id) DO UPDATE SET position = ?3, submitter = ?4, doc = ?5",
        )?;
        for (paper, entry) in records {
            let id = paper.id.to_string();
            let stored: Option<String> = get_paper.query_row([&id], |r| r.get(0)).optional()?;
            let paper_change = match stored {
                None => {
                    seq += 1;
                    insert_paper.execute(params![id, seq, sort_date(&paper), to_json(&paper)])?;
                    Change::New
                }
                Some(doc) => {
                    let mut current: Paper = from_json(&doc)?;
                    if current.merge(paper) {
                        seq += 1;
                        update_paper.execute(params![
                            id,
                            seq,
                            sort_date(&current),
                            to_json(&current)
                        ])?;
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
                    let stored: Option<String> = get_entry
                        .query_row(params![day, id], |r| r.get(0))
                        .optional()?;
                    let (merged, change) = match stored {
                        None => (entry, Change::New),
                        Some(doc) => {
                            let mut current: DailyEntry = from_json(&doc)?;
                            let changed = current.merge(entry);
                            (
                                current,
                                if changed {
                                    Change::Updated
                                } else {
                                    Change::Unchanged
                                },
                            )
                        }
                    };
                    if change != Change::Unchanged {
                        let submitter = merged.submitted_by.as_ref().map(|s| s.name.clone());
                        upsert_entry.execute(params![
                            day,
                            id,
                            merged.position,
                            submitter,
                            to_json(&merged)
                        ])?;
                    }
                    change
                }
            };
            changes.push(paper_change.max(entry_change));
        }
    }
    Ok(changes)
}

const HARVEST_COLUMNS: &str = "source, state, papers_total, run_papers, run_started, last_success,
     last_papers, last_error, last_error_at";

fn harvest_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HarvestRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        [r.get(4)?, r.get(5)?, r.get(8)?],
        r.get(6)?,
        r.get(7)?,
    ))
}

type HarvestRow = (
    String,
    String,
    i64,
    i64,
    [Option<String>; 3],
    Option<i64>,
    Option<String>,
);

fn build_harvest(
    (source, state, total, run, [started, success, error_at], last_papers, last_error): HarvestRow,
) -> Result<HarvestStatus> {
    let time = |t: Option<String>| t.as_deref().map(crate::codec::parse_ts).transpose();
    Ok(HarvestStatus {
        source,
        state,
        papers_total: total as u64,
        run_papers: run as u64,
        run_started: time(started)?,
        last_success: time(success)?,
        last_papers: last_papers.map(|n| n as u64),
        last_error,
        last_error_at: time(error_at)?,
    })
}

const VIEW_SELECT: &str = "SELECT p.doc, p.local_upvotes,
        (SELECT e.doc FROM daily_entries e WHERE e.paper_id = p.id ORDER BY e.day DESC LIMIT 1),
        p.sort_date, p.local_comments
     FROM papers p";

type ViewRow = (String, i64, Option<String>, i64);

fn view_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ViewRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(4)?))
}

fn build_view((doc, local_upvotes, entry, local_comments): ViewRow) -> Result<PaperView> {
    Ok(PaperView {
        paper: from_json(&doc)?,
        entry: entry.as_deref().map(from_json).transpose()?,
        local_upvotes,
        local_comments,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn import(&self, records: Vec<(Paper, Option<DailyEntry>)>) -> Result<Vec<Change>> {
        self.write(move |conn| import_tx(conn, records)).await
    }

    async fn paper(&self, id: &ArxivId) -> Result<Option<PaperView>> {
        let id = id.to_string();
        self.read(move |conn| {
            let row = conn
                .prepare_cached(&format!("{VIEW_SELECT} WHERE p.id = ?1 AND p.hidden = 0"))?
                .query_row([id], view_from_row)
                .optional()?;
            row.map(build_view).transpose()
        })
        .await
    }

    async fn papers(&self, ids: &[ArxivId]) -> Result<Vec<PaperView>> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached(&format!("{VIEW_SELECT} WHERE p.id = ?1 AND p.hidden = 0"))?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(row) = stmt.query_row([id], view_from_row).optional()? {
                    out.push(build_view(row)?);
                }
            }
            Ok(out)
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
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT e.doc, p.doc, p.local_upvotes, p.local_comments FROM daily_entries e JOIN papers p ON p.id = e.paper_id
                 WHERE e.day BETWEEN ?1 AND ?2 AND p.hidden = 0 AND (?3 IS NULL OR e.submitter = ?3)
                 ORDER BY e.day, e.position",
            )?;
            let rows = stmt.query_map(params![from, to, submitter], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (entry, paper, local_upvotes, local_comments) = row?;
                out.push(Listed { entry: from_json(&entry)?, paper: from_json(&paper)?, local_upvotes, local_comments });
            }
            Ok(out)
        })
        .await
    }

    async fn latest_day(&self) -> Result<Option<NaiveDate>> {
        self.read(|conn| {
            let day: Option<String> =
                conn.query_row("SELECT MAX(day) FROM daily_entries", [], |r| r.get(0))?;
            day.as_deref().map(parse_day).transpose()
        })
        .await
    }

    async fn neighbour_days(
        &self,
        day: NaiveDate,
    ) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
        let day = day_str(day);
        self.read(move |conn| {
            let prev: Option<String> = conn.query_row(
                "SELECT MAX(day) FROM daily_entries WHERE day < ?1",
                [&day],
                |r| r.get(0),
            )?;
            let next: Option<String> = conn.query_row(
                "SELECT MIN(day) FROM daily_entries WHERE day > ?1",
                [&day],
                |r| r.get(0),
            )?;
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
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{VIEW_SELECT}
                 WHERE p.hidden = 0 AND (?1 IS NULL OR (p.sort_date, p.id) < (?1, ?2))
                 ORDER BY p.sort_date DESC, p.id DESC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![after_date, after_id, limit as i64 + 1], |r| {
                Ok((view_from_row(r)?, r.get::<_, String>(3)?))
            })?;
            let mut out = Vec::new();
            let mut keys = Vec::new();
            for row in rows {
                let (v, date) = row?;
                out.push(build_view(v)?);
                keys.push(date);
            }
            let next = if out.len() > limit {
                out.truncate(limit);
                let last = &out[limit - 1];
                Some(format!("{}~{}", keys[limit - 1], last.paper.id))
            } else {
                None
            };
            Ok((out, next))
        })
        .await
    }

    async fn changes_since(&self, seq: i64, limit: usize) -> Result<Vec<(i64, Paper, bool)>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, doc, hidden FROM papers WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![seq, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, doc, hidden) = row?;
                out.push((seq, from_json(&doc)?, !hidden));
            }
            Ok(out)
        })
        .await
    }

    async fn last_seq(&self) -> Result<i64> {
        self.read(|conn| {
            Ok(conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM papers", [], |r| r.get(0))?)
        })
        .await
    }

    async fn embedding_hashes(&self, model: &str, ids: &[ArxivId]) -> Result<Vec<Option<i64>>> {
        let (model, ids): (String, Vec<String>) = (
            model.to_owned(),
            ids.iter().map(ToString::to_string).collect(),
        );
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT text_hash FROM embeddings WHERE model = ?1 AND paper_id = ?2",
            )?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.push(
                    stmt.query_row(params![model, id], |r| r.get(0))
                        .optional()?,
                );
            }
            Ok(out)
        })
        .await
    }

    async fn embeddings(&self, model: &str, ids: &[ArxivId]) -> Result<Vec<Option<Vec<f32>>>> {
        let (model, ids): (String, Vec<String>) = (
            model.to_owned(),
            ids.iter().map(ToString::to_string).collect(),
        );
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT vector FROM embeddings WHERE model = ?1 AND paper_id = ?2",
            )?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let bytes: Option<Vec<u8>> = stmt
                    .query_row(params![model, id], |r| r.get(0))
                    .optional()?;
                out.push(bytes.map(|b| bytes_vector(&b)).transpose()?);
            }
            Ok(out)
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
        self.write(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut put = tx.prepare_cached(
                    "INSERT INTO embeddings (model, paper_id, text_hash, vector) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (model, paper_id) DO UPDATE SET text_hash = ?3, vector = ?4",
                )?;
                for (id, hash, vector) in rows {
                    put.execute(params![model, id.as_str(), hash, vector_bytes(&vector)])?;
                }
                tx.execute(
                    "INSERT INTO cursors (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = ?2",
                    params![name, value],
                )?;
            }
            tx.commit()?;
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
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT e.paper_id, e.vector FROM embeddings e JOIN papers p ON p.id = e.paper_id
                 WHERE e.model = ?1 AND e.paper_id > ?2 AND p.hidden = 0 ORDER BY e.paper_id LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![model, after, limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, bytes) = row?;
                let id = ArxivId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                out.push((id, bytes_vector(&bytes)?));
            }
            Ok(out)
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
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let changes = import_in(&tx, records)?;
            let brought = changes.iter().filter(|c| **c != Change::Unchanged).count() as i64;
            tx.execute(
                "INSERT INTO harvests (source, state, papers_total, run_papers) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (source) DO UPDATE SET state = ?2,
                     papers_total = papers_total + ?3, run_papers = run_papers + ?3",
                params![source, state, brought],
            )?;
            tx.commit()?;
            Ok(changes)
        })
        .await
    }

    async fn harvest_status(&self, source: &str) -> Result<Option<HarvestStatus>> {
        let source = source.to_owned();
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {HARVEST_COLUMNS} FROM harvests WHERE source = ?1"),
                [source],
                harvest_row,
            )
            .optional()?
            .map(build_harvest)
            .transpose()
        })
        .await
    }

    async fn harvest_statuses(&self) -> Result<Vec<HarvestStatus>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {HARVEST_COLUMNS} FROM harvests ORDER BY source"
            ))?;
            let rows = stmt
                .query_map([], harvest_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(build_harvest).collect()
        })
        .await
    }

    async fn harvest_started(&self, source: &str, now: DateTime<Utc>) -> Result<()> {
        let source = source.to_owned();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO harvests (source, run_started) VALUES (?1, ?2)
                 ON CONFLICT (source) DO UPDATE SET run_started = ?2, run_papers = 0",
                params![source, crate::codec::ts(now)],
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
        let (source, error) = (source.to_owned(), error.map(str::to_owned));
        self.write(move |conn| {
            let now = crate::codec::ts(now);
            match error {
                None => conn.execute(
                    "INSERT INTO harvests (source, last_success, last_papers) VALUES (?1, ?2, 0)
                     ON CONFLICT (source) DO UPDATE SET last_success = ?2, last_papers = run_papers,
                         last_error = NULL, last_error_at = NULL",
                    params![source, now],
                )?,
                Some(e) => conn.execute(
                    "INSERT INTO harvests (source, last_error, last_error_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (source) DO UPDATE SET last_error = ?2, last_error_at = ?3",
                    params![source, e, now],
                )?,
            };
            Ok(())
        })
        .await
    }

    async fn cursor(&self, name: &str) -> Result<i64> {
        let name = name.to_owned();
        self.read(move |conn| {
            Ok(conn
                .query_row("SELECT value FROM cursors WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?
                .unwrap_or(0))
        })
        .await
    }

    async fn set_cursor(&self, name: &str, value: i64) -> Result<()> {
        let name = name.to_owned();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO cursors (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = ?2",
                params![name, value],
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
        self.write(move |c| community::create_login_token(c, &h, &e, expires_at))
            .await
    }

    async fn redeem_login_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let h = token_hash.to_owned();
        self.write(move |c| community::redeem_login_token(c, &h, now))
            .await
    }

    async fn sign_in(&self, email: &str, admins: &[String], now: DateTime<Utc>) -> Result<Account> {
        let (e, a) = (email.to_owned(), admins.to_vec());
        self.write(move |c| community::sign_in(c, &e, &a, now))
            .await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        account_id: i64,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<()> {
        let h = token_hash.to_owned();
        self.write(move |c| community::create_session(c, &h, account_id, now, expired_before))
            .await
    }

    async fn session(
        &self,
        token_hash: &str,
        not_before: DateTime<Utc>,
    ) -> Result<Option<Account>> {
        let h = token_hash.to_owned();
        self.read(move |c| community::session(c, &h, not_before))
            .await
    }

    async fn end_session(&self, token_hash: &str) -> Result<()> {
        let h = token_hash.to_owned();
        self.write(move |c| {
            c.execute("DELETE FROM sessions WHERE token_hash = ?1", [h])?;
            Ok(())
        })
        .await
    }

    async fn end_all_sessions(&self, account_id: i64) -> Result<u64> {
        self.write(move |c| {
            Ok(c.execute("DELETE FROM sessions WHERE account_id = ?1", [account_id])? as u64)
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
        self.write(move |c| community::update_profile(c, account_id, &u, &d))
            .await
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let u = username.to_owned();
        self.read(move |c| community::account_where(c, "username = ?1", &u))
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
        self.write(move |c| community::vote(c, account_id, &p, up, now))
            .await
    }

    async fn votes_of(&self, account_id: i64, papers: &[ArxivId]) -> Result<Vec<bool>> {
        let ids: Vec<String> = papers.iter().map(ToString::to_string).collect();
        self.read(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT 1 FROM votes WHERE account_id = ?1 AND paper_id = ?2")?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.push(
                    stmt.query_row(params![account_id, id], |_| Ok(()))
                        .optional()?
                        .is_some(),
                );
            }
            Ok(out)
        })
        .await
    }

    async fn count_votes(&self, paper: &ArxivId) -> Result<i64> {
        let p = paper.to_string();
        self.read(move |c| {
            Ok(
                c.query_row("SELECT COUNT(*) FROM votes WHERE paper_id = ?1", [p], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
    }

    async fn submit(
        &self,
        paper: Paper,
        day: NaiveDate,
        by: Submitter,
        now: DateTime<Utc>,
    ) -> Result<SubmitOutcome> {
        self.write(move |c| community::submit(c, paper, day, by, now))
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
        self.write(move |c| community::add_comment(c, &p, account_id, &b, now))
            .await
    }

    async fn comments(&self, paper: &ArxivId, moderator: bool) -> Result<Vec<Comment>> {
        let p = paper.to_string();
        self.read(move |c| community::comments(c, &p, moderator))
            .await
    }

    async fn comment(&self, id: i64) -> Result<Option<Comment>> {
        self.read(move |c| community::comment_by_id(c, id)).await
    }

    async fn edit_comment(&self, id: i64, body: &str, now: DateTime<Utc>) -> Result<bool> {
        let b = body.to_owned();
        self.write(move |c| community::edit_comment(c, id, &b, now))
            .await
    }

    async fn delete_comment(&self, id: i64) -> Result<bool> {
        self.write(move |c| community::delete_comment(c, id)).await
    }

    async fn moderate(
        &self,
        actor: &str,
        action: Moderation,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (a, d) = (actor.to_owned(), detail.to_owned());
        self.write(move |c| community::moderate(c, &a, action, &d, now))
            .await
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(move |c| community::audit_log(c, limit)).await
    }

    async fn moderation_queue(&self) -> Result<ModerationQueue> {
        self.read(community::moderation_queue).await
    }

    async fn trend_inputs(&self, since: DateTime<Utc>) -> Result<Vec<TrendInput>> {
        self.read(move |c| community::trend_inputs(c, since)).await
    }

    async fn secret(&self, name: &str) -> Result<String> {
        let name = name.to_owned();
        // Every signed link reads the secret: a read, and a write only the first time.
        let key = format!("secret:{name}");
        let known: Option<String> = self
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT value FROM settings_kv WHERE name = ?1",
                    [key],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .await?;
        if let Some(v) = known {
            return Ok(v);
        }
        let fresh: String = {
            let mut b = [0u8; 32];
            getrandom::fill(&mut b)
                .map_err(|e| StoreError::Config(format!("random source: {e}")))?;
            b.iter().map(|x| format!("{x:02x}")).collect()
        };
        self.write(move |c| community::secret(c, &name, &fresh))
            .await
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
        self.write(move |c| community::sign_up(c, &e, frequency, &t, account_id, now))
            .await
    }

    async fn subscription(&self, id: i64) -> Result<Option<Subscription>> {
        self.read(move |c| community::subscription_where(c, "id = ?1", &id))
            .await
    }

    async fn subscription_by_email(&self, email: &str) -> Result<Option<Subscription>> {
        let e = email.trim().to_lowercase();
        self.read(move |c| community::subscription_where(c, "email = ?1", &e))
            .await
    }

    async fn confirm_subscription(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        self.write(move |c| community::confirm_subscription(c, id, now))
            .await
    }

    async fn update_subscription(
        &self,
        id: i64,
        frequency: Frequency,
        topics: &Topics,
    ) -> Result<bool> {
        let t = topics.clone();
        self.write(move |c| community::update_subscription(c, id, frequency, &t))
            .await
    }

    async fn unsubscribe(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        self.write(move |c| community::unsubscribe(c, id, now))
            .await
    }

    async fn due_subscriptions(
        &self,
        frequency: Frequency,
        period: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Subscription>> {
        let p = period.to_owned();
        self.read(move |c| community::due_subscriptions(c, frequency, &p, after, limit))
            .await
    }

    async fn sent_before(&self, subscription: i64, papers: &[ArxivId]) -> Result<Vec<bool>> {
        let ids: Vec<String> = papers.iter().map(ToString::to_string).collect();
        self.read(move |c| community::sent_before(c, subscription, &ids))
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
        let ids: Vec<String> = papers.iter().map(ToString::to_string).collect();
        self.write(move |c| community::record_digest(c, subscription, &p, &m, &msg, &ids, now))
            .await
    }

    async fn pass_period(&self, subscription: i64, period: &str) -> Result<()> {
        let p = period.to_owned();
        self.write(move |c| community::pass_period(c, subscription, &p))
            .await
    }

    async fn due_mail(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxMail>> {
        self.read(move |c| community::due_mail(c, now, limit)).await
    }

    async fn mark_mail(&self, id: i64, outcome: Delivery, now: DateTime<Utc>) -> Result<()> {
        self.write(move |c| community::mark_mail(c, id, outcome, now))
            .await
    }

    async fn forget_bodies(&self, ids: &[i64]) -> Result<u64> {
        let ids = ids.to_vec();
        self.write(move |c| community::forget_bodies(c, &ids)).await
    }

    async fn mail_stats(&self) -> Result<MailStats> {
        self.read(community::mail_stats).await
    }

    async fn rate_limit(
        &self,
        action: &str,
        keys: &[(String, u32)],
        window: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<std::time::Duration>> {
        let (a, k) = (action.to_owned(), keys.to_vec());
        self.write(move |c| community::rate_limit(c, &a, &k, window, now))
            .await
    }

    async fn try_lock(&self, name: &str) -> Result<Option<LockGuard>> {
        // A file lock beside the database: the kernel releases it when the process dies, so a
        // killed sender never blocks the next one.
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(StoreError::Config(format!("bad lock name {name:?}")));
        }
        let mut path = self.inner.path.clone().into_os_string();
        path.push(format!(".{name}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Config(format!("lock file {path:?}: {e}")))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(LockGuard::new(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(StoreError::Config(format!("lock file {path:?}: {e}")))
            }
        }
    }

    async fn stats(&self) -> Result<StoreStats> {
        self.read(|conn| {
            // All rows counted on the small seq index, minus the few hidden ones on theirs:
            // `WHERE hidden = 0` read the whole table (6.5 GB at 2.7 M papers) on each status
            // page and /metrics scrape.
            let papers: i64 = conn.query_row(
                "SELECT (SELECT COUNT(*) FROM papers)
                      - (SELECT COUNT(*) FROM papers INDEXED BY papers_hidden WHERE hidden = 1)",
                [],
                |r| r.get(0),
            )?;
            let (entries, days, first, last): (i64, i64, Option<String>, Option<String>) = conn
                .query_row(
                    "SELECT COUNT(*), COUNT(DISTINCT day), MIN(day), MAX(day) FROM daily_entries",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?;
            let (accounts, votes, comments): (i64, i64, i64) = conn.query_row(
                "SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM votes),
                        (SELECT COUNT(*) FROM comments WHERE deleted = 0)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            Ok(StoreStats {
                accounts: accounts as u64,
                votes: votes as u64,
                comments: comments as u64,
                papers: papers as u64,
                daily_entries: entries as u64,
                days: days as u64,
                first_day: first.as_deref().map(parse_day).transpose()?,
                last_day: last.as_deref().map(parse_day).transpose()?,
            })
        })
        .await
    }

    async fn backup(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            return Err(StoreError::Config(format!(
                "{} already exists: choose a new file",
                dest.display()
            )));
        }
        let dest = dest.to_string_lossy().into_owned();
        self.read(move |conn| {
            conn.execute("VACUUM INTO ?1", [dest])?;
            Ok(())
        })
        .await
    }

    async fn export(&self, out: crate::copy::RowSender) -> Result<()> {
        self.read(move |conn| {
            // One read transaction: every table from the same snapshot.
            let tx = conn.unchecked_transaction()?;
            for (t, table) in crate::copy::TABLES.iter().enumerate() {
                let mut stmt = tx.prepare(&format!(
                    "SELECT {} FROM {} ORDER BY {}",
                    table.column_list(),
                    table.name,
                    table.key
                ))?;
                let mut rows = stmt.query([])?;
                let mut batch = Vec::with_capacity(crate::copy::BATCH);
                while let Some(r) = rows.next()? {
                    batch.push(crate::copy::sqlite_values(table, r)?);
                    if batch.len() == crate::copy::BATCH {
                        out.send(t, std::mem::take(&mut batch))?;
                    }
                }
                out.send(t, batch)?;
            }
            Ok(())
        })
        .await
    }

    async fn import_rows(
        &self,
        table: &'static crate::copy::Table,
        rows: Vec<Vec<crate::copy::Value>>,
    ) -> Result<()> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(&table.insert_sql(false))?;
                for row in &rows {
                    stmt.execute(rusqlite::params_from_iter(row))?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn finish_import(&self) -> Result<()> {
        // Rowid tables go on after their largest id by themselves.
        Ok(())
    }

    async fn count_rows(&self, table: &'static crate::copy::Table) -> Result<u64> {
        self.read(move |conn| {
            let n: i64 =
                conn.query_row(&format!("SELECT COUNT(*) FROM {}", table.name), [], |r| {
                    r.get(0)
                })?;
            Ok(n as u64)
        })
        .await
    }

    async fn is_empty(&self) -> Result<bool> {
        self.read(|conn| {
            for table in crate::copy::TABLES {
                let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", table.name);
                if conn.query_row(&sql, [], |r| r.get::<_, bool>(0))? {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
