//! The seam between the store's logic, written once, and the two databases it runs on. A
//! [`Backend`] runs a closure against a [`Tx`] (statements with typed [`Param`]s in, [`Row`]s out)
//! under one of four kinds of [`Access`]; the rest of what a backend does is what SQL cannot say
//! the same way in both: [`Lock`]s (nothing to do under SQLite's single writer), named leases,
//! the outbox claim, backups, identities after a copy.
//!
//! SQL is written once, in PostgreSQL's spelling with `$N` parameters, which SQLite reads as named
//! parameters; what SQLite reads otherwise (`= ANY($N)` over a list, `= TRUE`) it rewrites in one
//! place (`sqlite::dialect`). The capability traits (`Papers`, `Community`, ...) are written
//! against [`Database`], which moves each closure to tokio's blocking pool.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use paperboy_core::{ArxivId, DailyEntry, Paper};

use crate::codec::{bytes_vector, day_str, from_json, parse_day, parse_ts, ts};
use crate::{LockGuard, Result, StoreError};

/// One column value, as both backends can store it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    #[default]
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

/// What a column holds, whatever a backend calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    Text,
    Bytes,
}

impl Value {
    /// The value as a column of `kind` holds it: SQLite keeps flags as integers and may hand
    /// bytes back as text.
    pub(crate) fn of_kind(self, kind: Kind) -> Result<Value> {
        Ok(match (kind, self) {
            (_, Value::Null) => Value::Null,
            (Kind::Bool, Value::Int(n)) => Value::Bool(n != 0),
            (Kind::Bytes, Value::Text(s)) => Value::Bytes(s.into_bytes()),
            (Kind::Int, v @ Value::Int(_))
            | (Kind::Bool, v @ Value::Bool(_))
            | (Kind::Text, v @ Value::Text(_))
            | (Kind::Bytes, v @ Value::Bytes(_)) => v,
            (kind, v) => return Err(mismatch(&format!("{kind:?}"), &v)),
        })
    }

    /// The value as a parameter for a column of `kind` (a NULL keeps the column's type).
    pub(crate) fn into_param(self, kind: Kind) -> Result<Param> {
        Ok(match (kind, self.of_kind(kind)?) {
            (_, Value::Int(n)) => Param::Int(Some(n)),
            (_, Value::Bool(b)) => Param::Bool(Some(b)),
            (_, Value::Text(s)) => Param::Text(Some(s)),
            (_, Value::Bytes(b)) => Param::Bytes(Some(b)),
            (Kind::Int, Value::Null) => Param::Int(None),
            (Kind::Bool, Value::Null) => Param::Bool(None),
            (Kind::Text, Value::Null) => Param::Text(None),
            (Kind::Bytes, Value::Null) => Param::Bytes(None),
        })
    }
}

fn mismatch(wanted: &str, got: &Value) -> StoreError {
    let got: String = format!("{got:?}").chars().take(60).collect();
    StoreError::Corrupt(format!("{wanted} expected, found {got}"))
}

/// A statement's parameter. It carries its type even when NULL: PostgreSQL is told the types, so
/// that `$1 IS NULL` needs no cast and a statement goes in one round trip.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(Option<i64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    /// The list of `= ANY($N)`.
    Texts(Vec<String>),
    Ints(Vec<i64>),
}

macro_rules! param_from {
    ($($t:ty => |$v:ident| $e:expr;)*) => {
        $(impl From<$t> for Param {
            fn from($v: $t) -> Param {
                $e
            }
        })*
    };
}

param_from! {
    i64 => |v| Param::Int(Some(v));
    Option<i64> => |v| Param::Int(v);
    usize => |v| Param::Int(Some(v as i64));
    bool => |v| Param::Bool(Some(v));
    Option<bool> => |v| Param::Bool(v);
    &str => |v| Param::Text(Some(v.to_owned()));
    &String => |v| Param::Text(Some(v.clone()));
    String => |v| Param::Text(Some(v));
    Option<&str> => |v| Param::Text(v.map(str::to_owned));
    Option<String> => |v| Param::Text(v);
    Vec<u8> => |v| Param::Bytes(Some(v));
    &ArxivId => |v| Param::Text(Some(v.to_string()));
    DateTime<Utc> => |v| Param::Text(Some(ts(v)));
    NaiveDate => |v| Param::Text(Some(day_str(v)));
    Option<NaiveDate> => |v| Param::Text(v.map(day_str));
    &[ArxivId] => |v| Param::Texts(v.iter().map(ToString::to_string).collect());
    &[String] => |v| Param::Texts(v.to_vec());
    &[i64] => |v| Param::Ints(v.to_vec());
}

/// `params![a, b]`: a statement's parameters `$1`, `$2`, from anything a [`Param`] is made of.
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        &[$($crate::sql::Param::from($p)),*][..]
    };
}
pub(crate) use params;

/// A row id of its own type (an account's, a comment's, ...), so that two kinds of id cannot be
/// swapped. Displayed, serialised and stored as the plain number.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> $name {
                $name(id)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> std::result::Result<$name, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<$name> for $crate::sql::Param {
            fn from(id: $name) -> $crate::sql::Param {
                $crate::sql::Param::Int(Some(id.0))
            }
        }

        impl From<Option<$name>> for $crate::sql::Param {
            fn from(id: Option<$name>) -> $crate::sql::Param {
                $crate::sql::Param::Int(id.map(|i| i.0))
            }
        }

        impl $crate::sql::FromValue for $name {
            fn from_value(v: $crate::sql::Value) -> $crate::Result<$name> {
                i64::from_value(v).map($name)
            }
        }
    };
}
pub(crate) use id_type;

/// [`FromRow`] for records whose fields are a row's columns, in order.
macro_rules! record_from_row {
    ($($record:ident { $($field:ident),* $(,)? })*) => {
        $(impl $crate::sql::FromRow for $record {
            fn from_row(mut r: $crate::sql::Row) -> $crate::Result<$record> {
                let mut column = 0..;
                Ok($record { $($field: r.take(column.next().expect("a column"))?),* })
            }
        })*
    };
}
pub(crate) use record_from_row;

/// A row as read, column by column; [`Row::take`] reads each column once, as what it should be.
#[derive(Debug)]
pub(crate) struct Row(pub(crate) Vec<Value>);

impl Row {
    pub(crate) fn take<T: FromValue>(&mut self, column: usize) -> Result<T> {
        let v = self.0.get_mut(column).map(std::mem::take).ok_or_else(|| {
            StoreError::Corrupt(format!("a row of {} has no column {column}", self.0.len()))
        })?;
        T::from_value(v).map_err(|e| match e {
            StoreError::Corrupt(m) => StoreError::Corrupt(format!("column {column}: {m}")),
            other => other,
        })
    }
}

/// What a column value reads as.
pub(crate) trait FromValue: Sized {
    fn from_value(v: Value) -> Result<Self>;
}

/// What a row reads as: a value of one column, a tuple of several, or a record of the domain.
pub(crate) trait FromRow: Sized {
    fn from_row(row: Row) -> Result<Self>;
}

impl<T: FromValue> FromRow for T {
    fn from_row(mut row: Row) -> Result<T> {
        row.take(0)
    }
}

macro_rules! tuple_from_row {
    ($(($($t:ident $i:tt),*))*) => {
        $(impl<$($t: FromValue),*> FromRow for ($($t,)*) {
            fn from_row(mut row: Row) -> Result<Self> {
                Ok(($(row.take::<$t>($i)?,)*))
            }
        })*
    };
}

tuple_from_row! {
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
}

impl FromRow for Row {
    fn from_row(row: Row) -> Result<Row> {
        Ok(row)
    }
}

impl FromValue for Value {
    fn from_value(v: Value) -> Result<Value> {
        Ok(v)
    }
}

impl FromValue for i64 {
    fn from_value(v: Value) -> Result<i64> {
        match v {
            Value::Int(n) => Ok(n),
            other => Err(mismatch("an integer", &other)),
        }
    }
}

impl FromValue for u64 {
    fn from_value(v: Value) -> Result<u64> {
        i64::from_value(v).map(|n| n as u64)
    }
}

impl FromValue for bool {
    fn from_value(v: Value) -> Result<bool> {
        match v {
            Value::Bool(b) => Ok(b),
            Value::Int(n) => Ok(n != 0),
            other => Err(mismatch("a flag", &other)),
        }
    }
}

impl FromValue for String {
    fn from_value(v: Value) -> Result<String> {
        match v {
            Value::Text(s) => Ok(s),
            other => Err(mismatch("text", &other)),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: Value) -> Result<Vec<u8>> {
        match v.of_kind(Kind::Bytes)? {
            Value::Bytes(b) => Ok(b),
            other => Err(mismatch("bytes", &other)),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value) -> Result<Option<T>> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl FromValue for ArxivId {
    fn from_value(v: Value) -> Result<ArxivId> {
        ArxivId::parse(&String::from_value(v)?).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

impl FromValue for DateTime<Utc> {
    fn from_value(v: Value) -> Result<DateTime<Utc>> {
        parse_ts(&String::from_value(v)?)
    }
}

impl FromValue for NaiveDate {
    fn from_value(v: Value) -> Result<NaiveDate> {
        parse_day(&String::from_value(v)?)
    }
}

/// Vectors, stored as little-endian bytes.
impl FromValue for Vec<f32> {
    fn from_value(v: Value) -> Result<Vec<f32>> {
        bytes_vector(&Vec::<u8>::from_value(v)?)
    }
}

macro_rules! json_from_value {
    ($($t:ty),*) => {
        $(impl FromValue for $t {
            fn from_value(v: Value) -> Result<$t> {
                from_json(&String::from_value(v)?)
            }
        })*
    };
}

json_from_value!(Paper, DailyEntry, crate::Topics);

/// The rows of a `= ANY($N)` query (which come in no particular order), keyed, in the order the
/// keys were asked for; a key asked twice is answered twice.
pub(crate) fn in_order<K: Eq + std::hash::Hash, T: Clone>(
    asked: &[K],
    found: impl IntoIterator<Item = (K, T)>,
) -> Vec<Option<T>> {
    let found: HashMap<K, T> = found.into_iter().collect();
    asked.iter().map(|k| found.get(k).cloned()).collect()
}

/// What takes a statement's rows, one at a time.
pub(crate) type EachRow<'a> = &'a mut dyn FnMut(Row) -> Result<()>;

/// Statements on one connection of a backend, inside a transaction or not (see [`Access`]).
pub(crate) trait Tx {
    /// Runs a statement and hands its rows to `each`, in order.
    fn query_each(&mut self, sql: &str, params: &[Param], each: EachRow<'_>) -> Result<()>;
    /// Runs a statement; how many rows it changed.
    fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64>;
    /// Holds `lock` until the transaction ends.
    fn lock(&mut self, lock: Lock<'_>) -> Result<()>;
}

impl dyn Tx + '_ {
    pub(crate) fn all<T: FromRow>(&mut self, sql: &str, params: &[Param]) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.query_each(sql, params, &mut |row| {
            out.push(T::from_row(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, if any.
    pub(crate) fn opt<T: FromRow>(&mut self, sql: &str, params: &[Param]) -> Result<Option<T>> {
        Ok(self.all(sql, params)?.into_iter().next())
    }

    /// The row of a statement that always gives one (an aggregate, `RETURNING` of a write that
    /// cannot miss).
    pub(crate) fn one<T: FromRow>(&mut self, sql: &str, params: &[Param]) -> Result<T> {
        self.opt(sql, params)?
            .ok_or_else(|| StoreError::Corrupt(format!("no row from {sql}")))
    }
}

/// What two transactions must not do at once. SQLite has one writer, which holds them all; on
/// PostgreSQL each is a lock held until the transaction ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lock<'a> {
    /// The change feed: sequence numbers are given, and become visible, in order.
    Feed,
    /// The accounts: a new account's free username and whether it is the first.
    Accounts,
    /// A paper's row: a recount of its comments sees every comment committed before.
    Paper(&'a ArxivId),
    /// A subscription's row: the preferences read are the ones applied.
    Subscription(i64),
    /// One key of an activity: a rate-limited action's (its check and its count are one step),
    /// a shared backlog's (the embedding work of a model: claims and their ends in turn).
    Key(&'a str, &'a str),
}

/// How a closure uses the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads, each statement on its own.
    Read,
    /// Reads of one snapshot (the copy's export).
    Snapshot,
    /// One write, committed by itself.
    Statement,
    /// A transaction, committed when the closure succeeds and rolled back when it fails.
    Transaction,
}

/// One database: SQLite or PostgreSQL.
pub(crate) trait Backend: Send + Sync + 'static {
    /// `sqlite`, `postgres`: for logs and the status page.
    fn name(&self) -> &'static str;
    /// How many calls may use the database at once (None: no limit); the others wait their
    /// turn without holding a thread.
    fn connections(&self) -> Option<usize> {
        None
    }
    /// Runs `f` (once) on a connection, as `access` says. Blocks.
    fn run(&self, access: Access, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;
    /// A lock named `name` (letters, digits, `-`) held until the guard drops or the process
    /// ends, however it ends; None when another holder has it.
    fn try_lock(&self, name: &str) -> Result<Option<LockGuard>>;
    /// The outbox rows that `due` selects (pending mail due at `$1`) this process may send now,
    /// at most `limit` (`$2`), in no particular order. With one sender at a time (the
    /// `digest-sender` lock) that is the oldest ones; a shared outbox claims them.
    fn due_mail(&self, due: &str, now: DateTime<Utc>, limit: usize) -> Result<Vec<Row>> {
        let sql = format!("{due} ORDER BY o.next_attempt_at, o.id LIMIT $2");
        self.rows(Access::Read, &sql, params![now, limit])
    }
    /// Whether several processes' senders work the outbox at once.
    fn outbox_is_shared(&self) -> bool {
        false
    }
    /// This process's key in claims on shared work (0 where one process works the database).
    fn node(&self) -> Result<i64> {
        Ok(0)
    }
    /// SQL true when the process whose key is in `column` is gone, so that its claims may be
    /// taken over. Where one process works the database, a claim it finds is one it left before
    /// a restart (or one copied from another database): always.
    fn gone(&self, _column: &str) -> String {
        "TRUE".into()
    }
    /// A mail failed and waits for a retry: any process may take it then.
    fn mail_retried(&self, _tx: &mut dyn Tx, _id: i64) -> Result<()> {
        Ok(())
    }
    /// The statement that writes a copy of the database to the new file `$1`, where the database
    /// has one; others are copied row by row into a new SQLite file.
    fn backup_sql(&self) -> Option<&'static str> {
        None
    }
    /// After rows were copied in with their ids: new rows of these tables take ids after them.
    fn copied(&self, _tx: &mut dyn Tx, _identities: &[&str]) -> Result<()> {
        Ok(())
    }

    /// The rows of one statement.
    fn rows(&self, access: Access, sql: &str, params: &[Param]) -> Result<Vec<Row>> {
        let mut rows = Vec::new();
        self.run(access, &mut |tx| {
            rows = tx.all(sql, params)?;
            Ok(())
        })?;
        Ok(rows)
    }
}

/// Runs `f` on `tx`, in a transaction begun by the statement `begin` if there is one: committed
/// when `f` succeeds, rolled back when it fails.
pub(crate) fn within(
    tx: &mut dyn Tx,
    begin: Option<&str>,
    f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
) -> Result<()> {
    let Some(begin) = begin else {
        return f(tx);
    };
    tx.execute(begin, &[])?;
    let out = f(tx);
    let ended = tx.execute(if out.is_ok() { "COMMIT" } else { "ROLLBACK" }, &[]);
    // A failed statement may have ended the transaction already: its error is the one to tell.
    out.and(ended.map(|_| ()))
}

/// The migrations (a backend's SQL files, in order) still to run on a database where `done` of
/// them ran, numbered from 1; refused when the database is newer than this paperboy.
pub(crate) fn migrations_after(
    done: i64,
    all: &'static [&'static str],
) -> Result<impl Iterator<Item = (i64, &'static str)>> {
    if done as usize > all.len() {
        return Err(StoreError::Config(format!(
            "the database has schema version {done}, newer than this paperboy knows ({}): \
             upgrade paperboy",
            all.len()
        )));
    }
    Ok((1..).zip(all).skip(done as usize).map(|(i, sql)| (i, *sql)))
}

/// The store over one backend: every capability (`Papers`, `Community`, ...) runs on it.
pub struct Database {
    pub(crate) backend: Arc<dyn Backend>,
    permits: Option<Arc<tokio::sync::Semaphore>>,
}

/// Access to the [`Database`] a capability's methods run on. Only this crate makes one.
pub trait Backed: Send + Sync {
    fn db(&self) -> &Database;
}

impl Backed for Database {
    fn db(&self) -> &Database {
        self
    }
}

impl Database {
    pub(crate) fn new(backend: impl Backend) -> Database {
        let permits = backend
            .connections()
            .map(|n| Arc::new(tokio::sync::Semaphore::new(n)));
        Database {
            backend: Arc::new(backend),
            permits,
        }
    }

    /// Runs `f` with the backend on tokio's blocking pool: the server's threads never wait on
    /// the database.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Backend) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let permit = match &self.permits {
            Some(p) => Some(p.clone().acquire_owned().await.map_err(task)?),
            None => None,
        };
        let backend = self.backend.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(&*backend)
        })
        .await
        .map_err(task)?
    }

    pub(crate) async fn run<T: Send + 'static>(
        &self,
        access: Access,
        f: impl FnOnce(&mut dyn Tx) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.blocking(move |backend| {
            let (mut f, mut out) = (Some(f), None);
            backend.run(access, &mut |tx| {
                let f = f.take().expect("a backend runs the closure once");
                out = Some(f(tx)?);
                Ok(())
            })?;
            out.ok_or_else(|| StoreError::Backend("the closure did not run".into()))
        })
        .await
    }

    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.run(Access::Read, f).await
    }

    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.run(Access::Transaction, f).await
    }

    /// One write statement, committed by itself; how many rows it changed.
    pub(crate) async fn execute(&self, sql: &'static str, params: Vec<Param>) -> Result<u64> {
        self.run(Access::Statement, move |tx| tx.execute(sql, &params))
            .await
    }
}

fn task(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("database task failed: {e}"))
}
