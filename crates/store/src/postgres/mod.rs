//! The server backend: PostgreSQL, for several paperboy nodes on one database. A small pool of
//! connections (synchronous `postgres` clients, used on tokio's blocking pool); migrations run at
//! start under an advisory lock, so nodes starting together do not race. What SQLite's single
//! writer gave for free is explicit here:
//!
//! - **[`Lock`]s** are transaction-level locks: advisory ones for the change feed (so sequence
//!   numbers commit in the order they are given: a follower that has read up to `n` never later
//!   finds a change below `n`) and rate-limit keys, row and table locks for the rest.
//! - **Named locks** (`Store::try_lock`: one harvester per source, one digest recorder) are
//!   session advisory locks on a connection of their own; they go when the guard drops or the
//!   process dies and its connection with it.
//! - **The outbox is shared.** Each node holds a session advisory lock on its own node key; its
//!   digest sender claims due mail with `FOR UPDATE SKIP LOCKED`, writing its key on the rows.
//!   Mail claimed by a node whose lock is gone (it died) is claimed by the next sender that looks.
//!   So is the embedding backlog (stretches of the change feed).
//! - **Round trips.** Reads go in one round trip each with their parameters' types named
//!   (`query_typed`: planned for the values given, as an unnamed statement). Writes are prepared
//!   once per connection and then cost one round trip each.
//! - **TLS** as libpq's `sslmode` has it, through rustls: `url` reads the options the driver does
//!   not know, `tls` makes the handshakes and says in words why one failed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, Statement};

use crate::sql::{
    migrations_after, params, within, Access, Backend, EachRow, Lock, Param, Row, Tx, Value,
};
use crate::{LockGuard, Result, StoreError};

mod tls;
mod url;

pub use url::{redact, SslMode};

/// Migrations in order; the table `paperboy_schema` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("0001_init.sql"),
    include_str!("0002_hardening.sql"),
    include_str!("0003_embedding_work.sql"),
    include_str!("0004_listings.sql"),
    include_str!("0005_library.sql"),
    include_str!("0006_doi.sql"),
    include_str!("0007_collections.sql"),
    include_str!("0008_follows.sql"),
    include_str!("0009_foryou.sql"),
];

/// Connections a node keeps open for queries (named locks and the node lock have their own).
const POOL: usize = 8;

/// Advisory lock classes (the first key of `pg_advisory_lock(int, int)`): "pb" and neighbours.
const LOCK_CLASS: i32 = 0x7062;
/// Named locks (`try_lock`), keyed by a hash of the name.
const NAMED_LOCK_CLASS: i32 = LOCK_CLASS + 1;
/// Node liveness locks, keyed by node; `outbox.claimed_by` holds the key.
const NODE_LOCK_CLASS: i32 = LOCK_CLASS + 2;
/// Keys of an activity (rate limits, shared backlogs), by a hash of activity and key.
const KEY_LOCK_CLASS: i32 = LOCK_CLASS + 3;
const MIGRATE_KEY: i32 = 1;
const SEQ_KEY: i32 = 2;

pub struct Postgres {
    target: Target,
    /// Idle connections.
    pool: Mutex<Vec<Conn>>,
    /// This node's key and the connection holding its liveness lock, once the sender needs it.
    node: Mutex<Option<(i64, Session)>>,
}

/// A pooled connection and the statements it has prepared.
struct Conn {
    client: Client,
    prepared: HashMap<String, Statement>,
}

impl From<Client> for Conn {
    fn from(client: Client) -> Conn {
        let prepared = HashMap::new();
        Conn { client, prepared }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let pool = std::mem::take(&mut *self.pool.lock().unwrap_or_else(|p| p.into_inner()));
        drop_off_runtime(pool.into_iter().map(|c| c.client).collect::<Vec<_>>());
    }
}

/// Drops `v` on a plain thread: a `postgres::Client` owns a small runtime, which tokio forbids
/// dropping inside async code.
fn drop_off_runtime<T: Send + 'static>(v: T) {
    let _ = std::thread::Builder::new()
        .name("pg-close".into())
        .spawn(move || drop(v));
}

/// A connection holding session locks (a [`LockGuard`]'s, this node's): closing it releases them.
struct Session(Mutex<Option<Client>>);

impl Drop for Session {
    fn drop(&mut self) {
        drop_off_runtime(self.0.get_mut().unwrap_or_else(|p| p.into_inner()).take());
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
            StoreError::Unavailable(format!(
                "cannot connect to {}: {}",
                self.shown,
                self.tls.explain(&e)
            ))
        })
    }
}

/// A connection to `url` made as the store makes its own (TLS included, `ca_file` as in
/// [`Postgres::open`]), for tools and tests. It blocks: not for async code.
pub fn connect(url: &str, ca_file: Option<&Path>) -> Result<Client> {
    Target::new(url, ca_file)?.connect()
}

impl Postgres {
    /// Connects to `url` (`postgres://...` or libpq's `key=value` form) and brings the schema up
    /// to date; the database itself must exist. `ca_file` holds the CA certificates (PEM) that
    /// check the server under `sslmode=verify-ca` and `verify-full` (and `require`, as libpq
    /// does) when the URL names none with `sslrootcert`; without either, the system's CAs do.
    pub fn open(url: &str, ca_file: Option<&Path>) -> Result<Postgres> {
        let target = Target::new(url, ca_file)?;
        // The synchronous client blocks on a runtime of its own, which tokio refuses inside an
        // async context: connect and migrate on a plain thread.
        let start = || -> Result<Client> {
            let mut client = target.connect()?;
            migrate(&mut client)?;
            Ok(client)
        };
        let client =
            std::thread::scope(|s| s.spawn(start).join()).map_err(|_| task_panicked())??;
        Ok(Postgres {
            target,
            pool: Mutex::new(vec![client.into()]),
            node: Mutex::new(None),
        })
    }

    /// An idle connection that is still open, or a new one.
    fn checkout(&self) -> Result<Conn> {
        loop {
            let idle = self.pool.lock().expect("pool").pop();
            match idle {
                Some(c) if !c.client.is_closed() => return Ok(c),
                Some(_) => continue,
                None => return Ok(self.target.connect()?.into()),
            }
        }
    }

    /// A connection of its own holding the session advisory lock (`class`, `key`), if free: the
    /// lock lives exactly as long as the connection.
    fn session_lock(&self, class: i32, key: i32) -> Result<Option<Session>> {
        let mut c = self.target.connect()?;
        let got: bool = c
            .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&class, &key])?
            .get(0);
        Ok(got.then(|| Session(Mutex::new(Some(c)))))
    }
}

fn migrate(c: &mut Client) -> Result<()> {
    let mut tx = c.transaction()?;
    // Nodes starting at once wait here for the first one's migrations.
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&LOCK_CLASS, &MIGRATE_KEY],
    )?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS paperboy_schema (version BIGINT NOT NULL);
         INSERT INTO paperboy_schema SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM paperboy_schema)",
    )?;
    let done: i64 = tx
        .query_one("SELECT version FROM paperboy_schema", &[])?
        .get(0);
    for (version, sql) in migrations_after(done, MIGRATIONS)? {
        tx.batch_execute(sql)?;
        tx.execute("UPDATE paperboy_schema SET version = $1", &[&version])?;
        tracing::info!(version, "applied database migration");
    }
    tx.commit()?;
    Ok(())
}

impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn connections(&self) -> Option<usize> {
        Some(POOL)
    }

    fn run(&self, access: Access, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let begin = match access {
            Access::Read | Access::Statement => None,
            Access::Snapshot => Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
            Access::Transaction => Some("BEGIN"),
        };
        let prepared = matches!(access, Access::Statement | Access::Transaction);
        let mut conn = self.checkout()?;
        let out = within(
            &mut PgTx {
                conn: &mut conn,
                prepared,
            },
            begin,
            f,
        );
        if !conn.client.is_closed() {
            self.pool.lock().expect("pool").push(conn);
        }
        out
    }

    fn try_lock(&self, name: &str) -> Result<Option<LockGuard>> {
        let held = self.session_lock(NAMED_LOCK_CLASS, lock_key(name))?;
        Ok(held.map(LockGuard::new))
    }

    /// Claims due mail for this node. A mail goes to one node: unclaimed, claimed by this node, or
    /// claimed by a node that is gone (its liveness lock held in no session of this database).
    /// Rows another node is claiming at this moment are skipped.
    fn due_mail(&self, due: &str, now: DateTime<Utc>, limit: usize) -> Result<Vec<Row>> {
        let node = self.node()?;
        let gone = self.gone("o.claimed_by");
        let sql = format!(
            "WITH due AS ({due}
                 AND (o.claimed_by IS NULL OR o.claimed_by = $3 OR {gone})
                 ORDER BY o.next_attempt_at, o.id LIMIT $2
                 FOR UPDATE OF o SKIP LOCKED)
             UPDATE outbox SET claimed_by = $3 FROM due WHERE outbox.id = due.id
             RETURNING due.id, due.subscription_id, due.message, due.attempts, due.next_attempt_at"
        );
        self.rows(Access::Statement, &sql, params![now, limit, node])
    }

    fn outbox_is_shared(&self) -> bool {
        true
    }

    /// This node's key, taking its liveness lock on first use (and again after the connection
    /// holding it was lost).
    fn node(&self) -> Result<i64> {
        let mut node = self.node.lock().expect("node lock");
        let open = |s: &Session| {
            s.0.lock()
                .is_ok_and(|c| c.as_ref().is_some_and(|c| !c.is_closed()))
        };
        match node.as_ref() {
            Some((key, session)) if open(session) => return Ok(*key),
            _ => *node = None,
        }
        loop {
            let mut b = [0u8; 4];
            getrandom::fill(&mut b).map_err(|e| StoreError::Config(format!("random: {e}")))?;
            let key = (u32::from_le_bytes(b) >> 1).max(1) as i32;
            if let Some(c) = self.session_lock(NODE_LOCK_CLASS, key)? {
                *node = Some((key.into(), c));
                return Ok(key.into());
            }
        }
    }

    /// The node's liveness lock is held in no session of this database.
    fn gone(&self, column: &str) -> String {
        format!(
            "NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND l.classid::bigint = {NODE_LOCK_CLASS} AND l.objid::bigint = {column}
                AND l.objsubid = 2)"
        )
    }

    fn mail_retried(&self, tx: &mut dyn Tx, id: i64) -> Result<()> {
        // Unclaimed: whichever node's sender comes first retries it.
        let sql = "UPDATE outbox SET claimed_by = NULL WHERE id = $1";
        tx.execute(sql, params![id]).map(drop)
    }

    fn copied(&self, tx: &mut dyn Tx, identities: &[&str]) -> Result<()> {
        for table in identities {
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                        COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                ),
                params![],
            )?;
        }
        Ok(())
    }
}

struct PgTx<'c> {
    conn: &'c mut Conn,
    /// Statements are prepared once per connection (writes), or go unnamed with their
    /// parameters' types (reads, planned for the values given).
    prepared: bool,
}

impl PgTx<'_> {
    fn statement(&mut self, sql: &str, types: &[Type]) -> Result<Statement> {
        if let Some(s) = self.conn.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.conn.client.prepare_typed(sql, types)?;
        self.conn.prepared.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

impl Param {
    /// The value as the driver writes it, and the type PostgreSQL is told it has.
    fn pg(&self) -> (&(dyn ToSql + Sync), Type) {
        match self {
            Param::Int(v) => (v, Type::INT8),
            Param::Bool(v) => (v, Type::BOOL),
            Param::Text(v) => (v, Type::TEXT),
            Param::Bytes(v) => (v, Type::BYTEA),
            Param::Texts(v) => (v, Type::TEXT_ARRAY),
            Param::Ints(v) => (v, Type::INT8_ARRAY),
        }
    }
}

impl Tx for PgTx<'_> {
    fn query_each(&mut self, sql: &str, params: &[Param], each: EachRow<'_>) -> Result<()> {
        let (values, types): (Vec<_>, Vec<_>) = params.iter().map(Param::pg).unzip();
        let mut rows = if self.prepared {
            let stmt = self.statement(sql, &types)?;
            self.conn.client.query_raw(&stmt, values)?
        } else {
            let typed = values.into_iter().zip(types);
            self.conn.client.query_typed_raw(sql, typed)?
        };
        while let Some(r) = rows.next()? {
            each(row(&r)?)?;
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64> {
        if self.prepared {
            let (values, types): (Vec<_>, Vec<_>) = params.iter().map(Param::pg).unzip();
            let stmt = self.statement(sql, &types)?;
            return Ok(self.conn.client.execute(&stmt, &values)?);
        }
        let typed: Vec<_> = params.iter().map(Param::pg).collect();
        Ok(self.conn.client.execute_typed(sql, &typed)?)
    }

    fn lock(&mut self, lock: Lock<'_>) -> Result<()> {
        let advisory =
            |class: i32, key: &str| format!("SELECT pg_advisory_xact_lock({class}, {key})");
        match lock {
            Lock::Feed => self.execute(&advisory(LOCK_CLASS, &SEQ_KEY.to_string()), params![]),
            // It conflicts with itself and with every write to accounts, not with reads.
            Lock::Accounts => self.execute("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE", &[]),
            Lock::Paper(id) => {
                let sql = "SELECT 1 FROM papers WHERE id = $1 FOR NO KEY UPDATE";
                self.execute(sql, params![id])
            }
            Lock::Subscription(id) => {
                let sql = "SELECT 1 FROM subscriptions WHERE id = $1 FOR UPDATE";
                self.execute(sql, params![id])
            }
            Lock::Key(action, key) => {
                let sql = advisory(KEY_LOCK_CLASS, "hashtext($1 || ' ' || $2)");
                self.execute(&sql, params![action, key])
            }
        }?;
        Ok(())
    }
}

fn row(r: &postgres::Row) -> Result<Row> {
    let value = |i: usize, ty: &Type| -> Result<Option<Value>> {
        Ok(match *ty {
            Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => r
                .try_get::<_, Option<i32>>(i)?
                .map(|n| Value::Int(n.into())),
            Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map(Value::Bool),
            Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Bytes),
            _ => r.try_get::<_, Option<String>>(i)?.map(Value::Text),
        })
    };
    let columns = r.columns().iter().enumerate();
    let values = columns.map(|(i, c)| Ok(value(i, c.type_())?.unwrap_or_default()));
    Ok(Row(values.collect::<Result<_>>()?))
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        let text = tls::chain(&e);
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            StoreError::Conflict(text)
        } else if e.is_closed() {
            StoreError::Unavailable(text)
        } else {
            StoreError::Backend(text)
        }
    }
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
        let name: String = b.iter().map(|x| format!("{x:02x}")).collect();
        let name = format!("paperboy_test_{name}");
        on_server(&admin, &format!("CREATE DATABASE {name}")).expect("create the test database");
        let url = with_database(&admin, &name);
        Some(TestDatabase { admin, name, url })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if on_server(&self.admin, &sql).is_err() {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Runs `sql` on the server `url` names, from a plain thread (the client blocks on a runtime of
/// its own).
fn on_server(url: &str, sql: &str) -> Result<()> {
    let run = || Ok(connect(url, None)?.batch_execute(sql)?);
    std::thread::scope(|s| s.spawn(run).join()).unwrap_or_else(|_| Err(task_panicked()))
}

fn task_panicked() -> StoreError {
    StoreError::Backend("a PostgreSQL task panicked".into())
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
    use crate::{Delivery, Frequency, SignUp, Topics};

    /// Two nodes on one database: their senders claim disjoint mail, and the mail a node had
    /// claimed is taken over once that node is gone (its liveness lock with it).
    #[tokio::test]
    async fn nodes_share_the_outbox_and_take_over_a_dead_nodes_mail() {
        let Some(db) = TestDatabase::create() else {
            return;
        };
        let a = crate::open(db.url(), false).unwrap();
        let b = crate::open(db.url(), false).unwrap();
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
        let taken_a = claimed(&*a, now, 4).await;
        assert_eq!(taken_a.len(), 4);
        let taken_b = claimed(&*b, now, 100).await;
        assert_eq!(taken_b.len(), 6, "b gets what a did not claim");
        assert!(taken_b.iter().all(|id| !taken_a.contains(id)));
        // a asks again: its own claims, nothing of b's.
        let again = claimed(&*a, now, 100).await;
        assert_eq!(again, taken_a);
        a.mark_mail(taken_a[0], Delivery::Sent, now).await.unwrap();
        drop(a);
        // The node's connections close on a thread of their own: poll until its lock is gone.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let got = claimed(&*b, now, 100).await;
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

    /// The ids of the mail a node's sender takes now.
    async fn claimed(node: &dyn crate::Store, now: DateTime<Utc>, limit: usize) -> Vec<i64> {
        let mail = node.due_mail(now, limit).await.unwrap();
        mail.iter().map(|m| m.id).collect()
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
