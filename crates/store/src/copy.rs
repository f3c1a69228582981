//! Moving house: every table copied row by row between two stores of any backends
//! (`paperboy migrate`), and PostgreSQL's `paperboy backup` (a copy into a new SQLite file). Both
//! schemas have these tables with these columns; a source is read in one snapshot
//! ([`Store::export`]) and streamed in batches, so memory stays flat at any size.

use std::path::Path;

use crate::{Result, Store, StoreError};

/// One column value, as both backends can store it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    Text,
    Bytes,
}

/// A table as copied: its columns and the order rows are read in.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    /// `ORDER BY` of the export.
    pub key: &'static str,
    /// Has an `id` that new rows take from a sequence (PostgreSQL identity).
    pub identity: bool,
}

impl Table {
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `INSERT INTO t (a, b) VALUES ($1, $2)` (`numbered`) or `(?1, ?2)`.
    pub fn insert_sql(&self, numbered: bool) -> String {
        let marks: Vec<String> = (1..=self.columns.len())
            .map(|i| {
                if numbered {
                    format!("${i}")
                } else {
                    format!("?{i}")
                }
            })
            .collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.name,
            self.column_list(),
            marks.join(", ")
        )
    }
}

use Kind::{Bool, Bytes, Int, Text};

/// Every table, parents before children (foreign keys hold at each step).
pub static TABLES: &[Table] = &[
    Table {
        name: "papers",
        columns: &[
            ("id", Text),
            ("seq", Int),
            ("sort_date", Text),
            ("hidden", Bool),
            ("local_upvotes", Int),
            ("doc", Text),
            ("local_comments", Int),
        ],
        key: "id",
        identity: false,
    },
    Table {
        name: "daily_entries",
        columns: &[
            ("day", Text),
            ("paper_id", Text),
            ("position", Int),
            ("submitter", Text),
            ("doc", Text),
        ],
        key: "day, paper_id",
        identity: false,
    },
    Table {
        name: "embeddings",
        columns: &[
            ("model", Text),
            ("paper_id", Text),
            ("text_hash", Int),
            ("vector", Bytes),
        ],
        key: "model, paper_id",
        identity: false,
    },
    Table {
        name: "cursors",
        columns: &[("name", Text), ("value", Int)],
        key: "name",
        identity: false,
    },
    Table {
        name: "accounts",
        columns: &[
            ("id", Int),
            ("email", Text),
            ("username", Text),
            ("display_name", Text),
            ("is_admin", Bool),
            ("blocked", Bool),
            ("created_at", Text),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "login_tokens",
        columns: &[
            ("token_hash", Text),
            ("email", Text),
            ("expires_at", Text),
            ("used_at", Text),
        ],
        key: "token_hash",
        identity: false,
    },
    Table {
        name: "sessions",
        columns: &[
            ("token_hash", Text),
            ("account_id", Int),
            ("created_at", Text),
        ],
        key: "token_hash",
        identity: false,
    },
    Table {
        name: "votes",
        columns: &[
            ("account_id", Int),
            ("paper_id", Text),
            ("created_at", Text),
        ],
        key: "paper_id, account_id",
        identity: false,
    },
    Table {
        name: "comments",
        columns: &[
            ("id", Int),
            ("paper_id", Text),
            ("account_id", Int),
            ("body", Text),
            ("created_at", Text),
            ("edited_at", Text),
            ("hidden", Bool),
            ("deleted", Bool),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "audit_log",
        columns: &[
            ("id", Int),
            ("at", Text),
            ("actor", Text),
            ("action", Text),
            ("target", Text),
            ("detail", Text),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "subscriptions",
        columns: &[
            ("id", Int),
            ("email", Text),
            ("account_id", Int),
            ("frequency", Text),
            ("topics", Text),
            ("created_at", Text),
            ("confirm_sent_at", Text),
            ("confirmed_at", Text),
            ("unsubscribed_at", Text),
            ("bouncing", Bool),
            ("last_period", Text),
            ("pending", Text),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "outbox",
        columns: &[
            ("id", Int),
            ("subscription_id", Int),
            ("period", Text),
            ("message_id", Text),
            ("message", Bytes),
            ("status", Text),
            ("attempts", Int),
            ("next_attempt_at", Text),
            ("last_error", Text),
            ("created_at", Text),
            ("sent_at", Text),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "digest_papers",
        columns: &[
            ("subscription_id", Int),
            ("paper_id", Text),
            ("period", Text),
        ],
        key: "subscription_id, paper_id",
        identity: false,
    },
    Table {
        name: "settings_kv",
        columns: &[("name", Text), ("value", Text)],
        key: "name",
        identity: false,
    },
    Table {
        name: "rate_events",
        columns: &[("action", Text), ("key", Text), ("at", Text)],
        key: "action, key, at",
        identity: false,
    },
    Table {
        name: "harvests",
        columns: &[
            ("source", Text),
            ("state", Text),
            ("papers_total", Int),
            ("run_papers", Int),
            ("run_started", Text),
            ("last_success", Text),
            ("last_papers", Int),
            ("last_error", Text),
            ("last_error_at", Text),
        ],
        key: "source",
        identity: false,
    },
];

/// Rows per batch of an export.
pub const BATCH: usize = 1000;

/// Where an export sends its batches: (index into [`TABLES`], rows). Used from blocking code.
pub struct RowSender(pub(crate) tokio::sync::mpsc::Sender<(usize, Vec<Vec<Value>>)>);

impl RowSender {
    pub(crate) fn send(&self, table: usize, rows: Vec<Vec<Value>>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.0
            .blocking_send((table, rows))
            .map_err(|_| StoreError::Task("the copy's destination stopped".into()))
    }
}

/// Rows copied per table, in [`TABLES`] order.
pub type Counts = Vec<(&'static str, u64)>;

/// Copies everything in `from` into `to`, which must be empty, and checks that `to` then holds
/// as many rows per table as were read. `progress` hears each table's running count.
pub async fn copy(
    from: &dyn Store,
    to: &dyn Store,
    progress: &(dyn Fn(&'static str, u64) + Sync),
) -> Result<Counts> {
    if !to.is_empty().await? {
        return Err(StoreError::Config(
            "the destination database is not empty: copy into a new one".into(),
        ));
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let mut counts: Counts = TABLES.iter().map(|t| (t.name, 0)).collect();
    let export = from.export(RowSender(tx));
    let load = async {
        while let Some((t, rows)) = rx.recv().await {
            counts[t].1 += rows.len() as u64;
            to.import_rows(&TABLES[t], rows).await?;
            progress(TABLES[t].name, counts[t].1);
        }
        Ok::<_, StoreError>(())
    };
    let (exported, loaded) = tokio::join!(export, load);
    // A failed load closes the channel, which fails the export: report the cause.
    loaded?;
    exported?;
    to.finish_import().await?;
    for (table, (name, n)) in TABLES.iter().zip(&counts) {
        let there = to.count_rows(table).await?;
        if there != *n {
            return Err(StoreError::Corrupt(format!(
                "{name}: copied {n} rows but the destination holds {there}"
            )));
        }
    }
    Ok(counts)
}

/// Every row of every table, each table's rows sorted: two stores hold the same data exactly when
/// their dumps are equal (whatever order each backend reads rows in).
pub async fn dump(store: &dyn Store) -> Result<Vec<Vec<Vec<Value>>>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(usize, Vec<Vec<Value>>)>(4);
    let mut tables: Vec<Vec<Vec<Value>>> = vec![Vec::new(); TABLES.len()];
    let collect = async {
        while let Some((t, rows)) = rx.recv().await {
            tables[t].extend(rows);
        }
    };
    let (exported, ()) = tokio::join!(store.export(RowSender(tx)), collect);
    exported?;
    for t in &mut tables {
        t.sort();
    }
    Ok(tables)
}

/// A backup of any store as a new SQLite file at `dest` (which must not exist).
pub async fn backup_to_sqlite(from: &dyn Store, dest: &Path) -> Result<()> {
    if dest.exists() {
        return Err(StoreError::Config(format!(
            "{} already exists: choose a new file",
            dest.display()
        )));
    }
    let to = crate::sqlite::SqliteStore::open_with(dest, true, 0)?;
    copy(from, &to, &|_, _| {}).await?;
    Ok(())
}

// --- Values in and out of each backend ---

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        match self {
            Value::Null => Ok(postgres::types::IsNull::Yes),
            Value::Int(v) => v.to_sql(ty, out),
            Value::Bool(v) => v.to_sql(ty, out),
            Value::Text(v) => v.to_sql(ty, out),
            Value::Bytes(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A PostgreSQL row of `table` as values.
pub(crate) fn pg_values(table: &Table, r: &postgres::Row) -> Vec<Value> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| match kind {
            Int => r.get::<_, Option<i64>>(i).map_or(Value::Null, Value::Int),
            Bool => r.get::<_, Option<bool>>(i).map_or(Value::Null, Value::Bool),
            Text => r
                .get::<_, Option<String>>(i)
                .map_or(Value::Null, Value::Text),
            Bytes => r
                .get::<_, Option<Vec<u8>>>(i)
                .map_or(Value::Null, Value::Bytes),
        })
        .collect()
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Bool(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v as i64)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

/// A SQLite row of `table` as values (SQLite's flags are integers).
pub(crate) fn sqlite_values(table: &Table, r: &rusqlite::Row<'_>) -> rusqlite::Result<Vec<Value>> {
    use rusqlite::types::ValueRef;
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (name, kind))| {
            let v = r.get_ref(i)?;
            Ok(match (kind, v) {
                (_, ValueRef::Null) => Value::Null,
                (Int, ValueRef::Integer(n)) => Value::Int(n),
                (Bool, ValueRef::Integer(n)) => Value::Bool(n != 0),
                (Text, ValueRef::Text(t)) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                (Bytes, ValueRef::Blob(b) | ValueRef::Text(b)) => Value::Bytes(b.to_vec()),
                (_, other) => {
                    return Err(rusqlite::Error::InvalidColumnType(
                        i,
                        format!("{}.{name}", table.name),
                        other.data_type(),
                    ))
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_name_every_column() {
        let t = &TABLES[3];
        assert_eq!(
            t.insert_sql(true),
            "INSERT INTO cursors (name, value) VALUES ($1, $2)"
        );
        assert_eq!(
            t.insert_sql(false),
            "INSERT INTO cursors (name, value) VALUES (?1, ?2)"
        );
    }

    #[test]
    fn every_sqlite_table_is_copied() {
        // A table added to the schema but not here would be left behind by `migrate`.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sqlite3");
        drop(crate::sqlite::SqliteStore::open(&path, true).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        let mut names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut ours: Vec<String> = TABLES.iter().map(|t| t.name.to_string()).collect();
        names.sort();
        ours.sort();
        assert_eq!(names, ours);
        for t in TABLES {
            let cols: Vec<String> = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{}')", t.name))
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let want: Vec<String> = t.columns.iter().map(|(c, _)| c.to_string()).collect();
            assert_eq!(cols, want, "{}", t.name);
        }
    }
}
