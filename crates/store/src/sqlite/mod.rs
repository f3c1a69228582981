//! The embedded backend: one SQLite file, WAL mode, one writer connection and a small pool of
//! readers. Its single writer serialises every write, so [`Lock`]s cost nothing here.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, Statement};

use crate::sql::{migrations_after, within, Access, Backend, EachRow, Lock, Param, Row, Tx, Value};
use crate::{LockGuard, Result, StoreError};

/// Migrations in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("0001_init.sql"),
    include_str!("0002_embeddings.sql"),
    include_str!("0003_community.sql"),
    include_str!("0004_digests.sql"),
    include_str!("0005_harvests.sql"),
    include_str!("0006_hardening.sql"),
    include_str!("0007_embedding_work.sql"),
    include_str!("0008_listings.sql"),
    include_str!("0009_library.sql"),
    include_str!("0010_doi.sql"),
    include_str!("0011_collections.sql"),
    include_str!("0012_follows.sql"),
    include_str!("0013_foryou.sql"),
];

const READERS: usize = 4;
/// The memory map's default size: 16 GiB, more than most databases.
pub const DEFAULT_MMAP: u64 = 16 << 30;

pub struct Sqlite {
    path: PathBuf,
    /// Bytes of the file each connection reads through a memory map (0: none).
    mmap_bytes: u64,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl Sqlite {
    /// Opens (with `create`, makes) the database at `path` and brings its schema up to date. It
    /// reads through a memory map of at most `mmap_bytes` (0: no map, each connection's own
    /// 64 MiB cache). Mapped pages count in the process's resident memory though the kernel may
    /// drop them at will; a bulk import that reads the whole file once does better without.
    pub fn open(path: &Path, create: bool, mmap_bytes: u64) -> Result<Sqlite> {
        if !create && !path.exists() {
            return Err(StoreError::Config(format!(
                "database {} does not exist (give the right path, or let `paperboy serve` create it)",
                path.display()
            )));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Io(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut writer = connect(path, true, mmap_bytes)?;
        migrate(&mut writer)?;
        Ok(Sqlite {
            path: path.to_owned(),
            mmap_bytes,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
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
    // Every statement of the store stays prepared.
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let done: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (version, sql) in migrations_after(done, MIGRATIONS)? {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "applied database migration");
    }
    Ok(())
}

impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn run(&self, access: Access, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let begin = match access {
            Access::Read | Access::Statement => None,
            Access::Snapshot => Some("BEGIN"),
            // Writes take the write lock when they begin: a deferred transaction that reads
            // first and writes later can be refused with SQLITE_BUSY at once (no waiting) when
            // its snapshot is stale; 50 accounts voting at once found that.
            Access::Transaction => Some("BEGIN IMMEDIATE"),
        };
        if matches!(access, Access::Statement | Access::Transaction) {
            let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            return within(&mut Conn(&conn), begin, f);
        }
        let idle = self.readers.lock().expect("reader pool").pop();
        let conn = match idle {
            Some(c) => c,
            None => connect(&self.path, false, self.mmap_bytes)?,
        };
        let out = within(&mut Conn(&conn), begin, f);
        let mut pool = self.readers.lock().expect("reader pool");
        if pool.len() < READERS {
            pool.push(conn);
        }
        out
    }

    fn try_lock(&self, name: &str) -> Result<Option<LockGuard>> {
        // A file lock beside the database: the kernel releases it when the process dies, so a
        // killed holder never blocks the next one.
        let mut path = self.path.clone().into_os_string();
        path.push(format!(".{name}.lock"));
        let io = |e: std::io::Error| StoreError::Io(format!("lock file {path:?}: {e}"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(LockGuard::new(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    fn backup_sql(&self) -> Option<&'static str> {
        Some("VACUUM INTO $1")
    }
}

struct Conn<'c>(&'c Connection);

impl Conn<'_> {
    fn prepare(&self, sql: &str, params: &[Param]) -> Result<rusqlite::CachedStatement<'_>> {
        let mut stmt = self.0.prepare_cached(&dialect(sql))?;
        bind(&mut stmt, params)?;
        Ok(stmt)
    }
}

impl Tx for Conn<'_> {
    fn query_each(&mut self, sql: &str, params: &[Param], each: EachRow<'_>) -> Result<()> {
        let mut stmt = self.prepare(sql, params)?;
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next()? {
            let values = (0..r.as_ref().column_count()).map(|i| value(r.get_ref(i)?));
            each(Row(values.collect::<Result<_>>()?))?;
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64> {
        Ok(self.prepare(sql, params)?.raw_execute()? as u64)
    }

    fn lock(&mut self, _lock: Lock<'_>) -> Result<()> {
        Ok(())
    }
}

/// SQL as SQLite reads it. The store's SQL is PostgreSQL's: SQLite has no `= ANY($N)` (a list is
/// bound as a JSON array here, and read back with `json_each`), and its planner uses the partial
/// index on `hidden = 1` only for a query that says `= 1`, not `= TRUE` (the same value).
fn dialect(sql: &str) -> Cow<'_, str> {
    if !sql.contains("= ANY(") && !sql.contains("= TRUE") && !sql.contains("= FALSE") {
        return Cow::Borrowed(sql);
    }
    let mut sql = sql.replace("= TRUE", "= 1").replace("= FALSE", "= 0");
    while let Some(at) = sql.find("= ANY(") {
        let end = at + sql[at..].find(')').expect("= ANY($N) closes");
        let list = &sql[at + "= ANY(".len()..end];
        sql = format!(
            "{}IN (SELECT value FROM json_each({list})){}",
            &sql[..at],
            &sql[end + 1..]
        );
    }
    Cow::Owned(sql)
}

/// Binds `$N` to the N-th parameter: SQLite numbers named parameters in the order they first
/// appear, not by their names.
fn bind(stmt: &mut Statement<'_>, params: &[Param]) -> Result<()> {
    for i in 1..=stmt.parameter_count() {
        let name = stmt.parameter_name(i).unwrap_or_default();
        let param = name
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| params.get(n.wrapping_sub(1)))
            .ok_or_else(|| StoreError::Backend(format!("no value for parameter {name}")))?;
        match param {
            Param::Int(v) => stmt.raw_bind_parameter(i, v)?,
            Param::Bool(v) => stmt.raw_bind_parameter(i, v)?,
            Param::Text(v) => stmt.raw_bind_parameter(i, v)?,
            Param::Bytes(v) => stmt.raw_bind_parameter(i, v)?,
            Param::Texts(v) => stmt.raw_bind_parameter(i, crate::codec::to_json(v))?,
            Param::Ints(v) => stmt.raw_bind_parameter(i, crate::codec::to_json(v))?,
        }
    }
    Ok(())
}

fn value(v: ValueRef<'_>) -> Result<Value> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec()).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
        ValueRef::Real(x) => return Err(StoreError::Corrupt(format!("a real number {x}"))),
    })
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
        let text = e.to_string();
        let (code, extended) = match &e {
            rusqlite::Error::SqliteFailure(f, _) => (Some(f.code), f.extended_code),
            _ => (None, 0),
        };
        match code {
            _ if [SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY].contains(&extended) => {
                StoreError::Conflict(text)
            }
            Some(ErrorCode::CannotOpen) => StoreError::Unavailable(text),
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt(text),
            Some(ErrorCode::SystemIoFailure | ErrorCode::DiskFull) => StoreError::Io(text),
            _ => StoreError::Backend(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::params;

    #[test]
    fn lists_and_flags_are_read_as_sqlite_reads_them() {
        assert_eq!(
            dialect("SELECT 1 FROM t WHERE a = ANY($2) AND b = TRUE AND c = FALSE"),
            "SELECT 1 FROM t WHERE a IN (SELECT value FROM json_each($2)) AND b = 1 AND c = 0"
        );
        assert!(matches!(dialect("SELECT $1"), Cow::Borrowed(_)));
    }

    #[test]
    fn parameters_bind_by_their_number_whatever_their_order() {
        let conn = Connection::open_in_memory().unwrap();
        let sql = "SELECT $3 || $1, $2 IN (SELECT value FROM json_each($4)), $3";
        let params = params!["b", 7i64, "a", &[5i64, 7][..],];
        let rows = (&mut Conn(&conn) as &mut dyn Tx)
            .all::<Row>(sql, params)
            .unwrap();
        let want = [
            Value::Text("ab".into()),
            Value::Int(1),
            Value::Text("a".into()),
        ];
        assert_eq!(rows[0].0, want);
    }
}
