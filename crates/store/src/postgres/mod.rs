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
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, Config, Statement};

use crate::digests::DUE_MAIL;
use crate::sql::{params, Access, Backend, Lock, Param, Row, Tx, Value};
use crate::{LockGuard, Result, StoreError};

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
const NODE_LOCK_CLASS: i32 = LOCK_CLASS + 2;
/// Rate-limit keys, by a hash of action and key.
const RATE_LOCK_CLASS: i32 = LOCK_CLASS + 3;
const MIGRATE_KEY: i32 = 1;
const SEQ_KEY: i32 = 2;

pub struct Postgres {
    target: Target,
    /// Idle connections.
    pool: Mutex<Vec<Conn>>,
    /// This node's key and the connection holding its liveness lock, once the sender needs it.
    node: Mutex<Option<(i64, Client)>>,
}

/// A pooled connection and the statements it has prepared.
struct Conn {
    client: Client,
    prepared: HashMap<String, Statement>,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // A `postgres::Client` owns a small runtime, which may not be dropped inside an async
        // context: the connections are closed on a thread of their own.
        let pool = std::mem::take(&mut *self.pool.lock().unwrap_or_else(|p| p.into_inner()));
        let node = self.node.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop_off_runtime((pool.into_iter().map(|c| c.client).collect::<Vec<_>>(), node));
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
        let client = std::thread::scope(|s| {
            s.spawn(|| -> Result<Client> {
                let mut client = target.connect()?;
                migrate(&mut client)?;
                Ok(client)
            })
            .join()
        })
        .map_err(|_| StoreError::Backend("PostgreSQL start-up panicked".into()))??;
        let conn = Conn {
            client,
            prepared: HashMap::new(),
        };
        Ok(Postgres {
            target,
            pool: Mutex::new(vec![conn]),
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
                None => {
                    let client = self.target.connect()?;
                    let prepared = HashMap::new();
                    return Ok(Conn { client, prepared });
                }
            }
        }
    }

    /// This node's key, taking its liveness lock on first use (and again after the connection
    /// holding it was lost).
    fn node_key(&self) -> Result<i64> {
        let mut node = self.node.lock().expect("node lock");
        if let Some((key, c)) = node.as_ref() {
            if !c.is_closed() {
                return Ok(*key);
            }
        }
        node.take();
        let mut c = self.target.connect()?;
        loop {
            let mut b = [0u8; 4];
            getrandom::fill(&mut b).map_err(|e| StoreError::Config(format!("random: {e}")))?;
            let key = (u32::from_le_bytes(b) >> 1).max(1) as i32;
            let sql = "SELECT pg_try_advisory_lock($1, $2)";
            if c.query_one(sql, &[&NODE_LOCK_CLASS, &key])?.get(0) {
                *node = Some((key.into(), c));
                return Ok(key.into());
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

impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn connections(&self) -> Option<usize> {
        Some(POOL)
    }

    fn run(&self, access: Access, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut conn = self.checkout()?;
        let begin = match access {
            Access::Read | Access::Statement => None,
            Access::Snapshot => Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
            Access::Transaction => Some("BEGIN"),
        };
        let prepared = matches!(access, Access::Statement | Access::Transaction);
        let mut out = match begin {
            Some(begin) => conn.client.batch_execute(begin).map_err(StoreError::from),
            None => Ok(()),
        };
        out = out.and_then(|()| {
            f(&mut PgTx {
                conn: &mut conn,
                prepared,
            })
        });
        if begin.is_some() {
            let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
            let ended = conn.client.batch_execute(end);
            out = out.and(ended.map_err(StoreError::from));
        }
        if !conn.client.is_closed() {
            self.pool.lock().expect("pool").push(conn);
        }
        out
    }

    fn try_lock(&self, name: &str) -> Result<Option<LockGuard>> {
        // A connection of its own: the lock lives exactly as long as it.
        let mut c = self.target.connect()?;
        let sql = "SELECT pg_try_advisory_lock($1, $2)";
        let got: bool = c
            .query_one(sql, &[&NAMED_LOCK_CLASS, &lock_key(name)])?
            .get(0);
        Ok(got.then(|| LockGuard::new(HeldLock(Mutex::new(Some(c))))))
    }

    /// Claims due mail for this node. A mail goes to one node: unclaimed, claimed by this node, or
    /// claimed by a node that is gone (its liveness lock held in no session of this database).
    /// Rows another node is claiming at this moment are skipped.
    fn due_mail(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Row>> {
        let node = self.node_key()?;
        let sql = format!(
            "WITH due AS ({DUE_MAIL}
                 AND (o.claimed_by IS NULL OR o.claimed_by = $3 OR NOT EXISTS (
                     SELECT 1 FROM pg_locks l
                     WHERE l.locktype = 'advisory'
                       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                       AND l.classid::bigint = {NODE_LOCK_CLASS} AND l.objid::bigint = o.claimed_by
                       AND l.objsubid = 2 AND l.granted))
                 ORDER BY o.next_attempt_at, o.id LIMIT $2
                 FOR UPDATE OF o SKIP LOCKED)
             UPDATE outbox SET claimed_by = $3 FROM due WHERE outbox.id = due.id
             RETURNING due.id, due.subscription_id, due.message, due.attempts, due.next_attempt_at"
        );
        let mut rows = Vec::new();
        self.run(Access::Statement, &mut |tx| {
            rows = tx.all(&sql, params![now, limit, node])?;
            Ok(())
        })?;
        Ok(rows)
    }

    fn outbox_is_shared(&self) -> bool {
        true
    }

    fn mail_retried(&self, tx: &mut dyn Tx, id: i64) -> Result<()> {
        // Unclaimed: whichever node's sender comes first retries it.
        tx.execute(
            "UPDATE outbox SET claimed_by = NULL WHERE id = $1",
            params![id],
        )?;
        Ok(())
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
    fn statement(&mut self, sql: &str, params: &[Param]) -> Result<Statement> {
        if let Some(s) = self.conn.prepared.get(sql) {
            return Ok(s.clone());
        }
        let types: Vec<Type> = params.iter().map(pg_type).collect();
        let s = self.conn.client.prepare_typed(sql, &types)?;
        self.conn.prepared.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

impl Tx for PgTx<'_> {
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Param],
        each: &mut dyn FnMut(Row) -> Result<()>,
    ) -> Result<()> {
        let values = params.iter().map(|p| p as &dyn ToSql);
        let mut rows = if self.prepared {
            let stmt = self.statement(sql, params)?;
            self.conn.client.query_raw(&stmt, values)?
        } else {
            let typed = values.zip(params.iter().map(pg_type));
            self.conn.client.query_typed_raw(sql, typed)?
        };
        while let Some(r) = rows.next()? {
            each(row(&r)?)?;
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64> {
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        if self.prepared {
            let stmt = self.statement(sql, params)?;
            return Ok(self.conn.client.execute(&stmt, &values)?);
        }
        let typed: Vec<_> = values.into_iter().zip(params.iter().map(pg_type)).collect();
        Ok(self.conn.client.execute_typed(sql, &typed)?)
    }

    fn lock(&mut self, lock: Lock<'_>) -> Result<()> {
        let (sql, params) = match lock {
            Lock::Feed => (
                format!("SELECT pg_advisory_xact_lock({LOCK_CLASS}, {SEQ_KEY})"),
                params![].to_vec(),
            ),
            // It conflicts with itself and with every write to accounts, not with reads.
            Lock::Accounts => (
                "LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE".into(),
                params![].to_vec(),
            ),
            Lock::Paper(id) => (
                "SELECT 1 FROM papers WHERE id = $1 FOR NO KEY UPDATE".into(),
                params![id].to_vec(),
            ),
            Lock::Subscription(id) => (
                "SELECT 1 FROM subscriptions WHERE id = $1 FOR UPDATE".into(),
                params![id].to_vec(),
            ),
            Lock::RateKey(action, key) => (
                format!(
                    "SELECT pg_advisory_xact_lock({RATE_LOCK_CLASS}, hashtext($1 || ' ' || $2))"
                ),
                params![action, key].to_vec(),
            ),
        };
        self.execute(&sql, &params)?;
        Ok(())
    }
}

fn pg_type(p: &Param) -> Type {
    match p {
        Param::Int(_) => Type::INT8,
        Param::Bool(_) => Type::BOOL,
        Param::Text(_) => Type::TEXT,
        Param::Bytes(_) => Type::BYTEA,
        Param::Texts(_) => Type::TEXT_ARRAY,
        Param::Ints(_) => Type::INT8_ARRAY,
    }
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Int(v) => v.to_sql(ty, out),
            Param::Bool(v) => v.to_sql(ty, out),
            Param::Text(v) => v.to_sql(ty, out),
            Param::Bytes(v) => v.to_sql(ty, out),
            Param::Texts(v) => v.to_sql(ty, out),
            Param::Ints(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
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
