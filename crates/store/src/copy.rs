//! Moving house: every table copied row by row between two stores of any backends
//! (`paperboy migrate`), and PostgreSQL's `paperboy backup` (a copy into a new SQLite file). Both
//! schemas have these tables with these columns; a source is read in one snapshot
//! ([`Store::export`]) and streamed in batches, so memory stays flat at any size.

use std::path::Path;

use async_trait::async_trait;

use crate::sql::{params, Access, Backed, Database, Param};
pub use crate::sql::{Kind, Value};
use crate::{Result, Store, StoreError};

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

    /// `INSERT INTO t (a, b) VALUES ($1, $2)`.
    pub fn insert_sql(&self) -> String {
        let marks: Vec<String> = (1..=self.columns.len()).map(|i| format!("${i}")).collect();
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
            ("announced", Text),
            ("doi", Text),
        ],
        key: "id",
        identity: false,
    },
    Table {
        name: "paper_categories",
        columns: &[
            ("category", Text),
            ("announced", Text),
            ("paper_id", Text),
            ("cross_list", Bool),
        ],
        key: "category, announced, paper_id",
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
        name: "embedding_work",
        columns: &[
            ("model", Text),
            ("after_seq", Int),
            ("upto_seq", Int),
            ("claimed_by", Int),
            ("done", Bool),
        ],
        key: "model, after_seq",
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
        name: "saves",
        columns: &[("account_id", Int), ("paper_id", Text), ("saved_at", Text)],
        key: "account_id, paper_id",
        identity: false,
    },
    Table {
        name: "follows",
        columns: &[
            ("account_id", Int),
            ("kind", Text),
            ("key", Text),
            ("shown", Text),
            ("created_at", Text),
        ],
        key: "account_id, kind, key",
        identity: false,
    },
    Table {
        name: "api_tokens",
        columns: &[
            ("id", Int),
            ("account_id", Int),
            ("name", Text),
            ("token_hash", Text),
            ("scope", Text),
            ("created_at", Text),
            ("last_used_at", Text),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "collections",
        columns: &[
            ("id", Int),
            ("account_id", Int),
            ("key", Text),
            ("title", Text),
            ("description", Text),
            ("private", Bool),
            ("theme", Text),
            ("position", Int),
            ("hidden", Bool),
            ("created_at", Text),
            ("updated_at", Text),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "collection_items",
        columns: &[
            ("id", Int),
            ("collection_id", Int),
            ("paper_id", Text),
            ("position", Int),
            ("note", Text),
            ("added_at", Text),
        ],
        key: "id",
        identity: true,
    },
    Table {
        name: "foryou_marks",
        columns: &[
            ("account_id", Int),
            ("paper_id", Text),
            ("kind", Text),
            ("created_at", Text),
        ],
        key: "account_id, paper_id",
        identity: false,
    },
    Table {
        name: "foryou_readers",
        columns: &[
            ("account_id", Int),
            ("reset_at", Text),
            ("fingerprint", Text),
            ("model", Text),
            ("trained_at", Text),
            ("feed_hash", Text),
        ],
        key: "account_id",
        identity: false,
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
            .map_err(|_| StoreError::Backend("the copy's destination stopped".into()))
    }
}

/// Moving house: every row out, rows in as they are, a copy of the whole database.
#[async_trait]
pub trait Copying: Backed {
    /// Sends every row of every table in [`TABLES`], in that order and in batches, read in one
    /// consistent snapshot.
    async fn export(&self, out: RowSender) -> Result<()> {
        self.db()
            .run(Access::Snapshot, move |tx| {
                for (t, table) in TABLES.iter().enumerate() {
                    let sql = format!(
                        "SELECT {} FROM {} ORDER BY {}",
                        table.column_list(),
                        table.name,
                        table.key
                    );
                    let mut batch = Vec::with_capacity(BATCH);
                    tx.query_each(&sql, params![], &mut |row| {
                        let kinds = table.columns.iter().map(|(_, kind)| *kind);
                        let values = row.0.into_iter().zip(kinds).map(|(v, k)| v.of_kind(k));
                        batch.push(values.collect::<Result<_>>()?);
                        if batch.len() == BATCH {
                            out.send(t, std::mem::take(&mut batch))?;
                        }
                        Ok(())
                    })?;
                    out.send(t, batch)?;
                }
                Ok(())
            })
            .await
    }

    /// Inserts rows as they are (ids included) into `table`, in one transaction.
    async fn import_rows(&self, table: &'static Table, rows: Vec<Vec<Value>>) -> Result<()> {
        self.db()
            .write(move |tx| {
                let sql = table.insert_sql();
                for row in rows {
                    let kinds = table.columns.iter().map(|(_, kind)| *kind);
                    let params = row.into_iter().zip(kinds).map(|(v, k)| v.into_param(k));
                    tx.execute(&sql, &params.collect::<Result<Vec<Param>>>()?)?;
                }
                Ok(())
            })
            .await
    }

    /// After the last [`Copying::import_rows`]: new ids continue after the copied ones.
    async fn finish_import(&self) -> Result<()> {
        let backend = self.db().backend.clone();
        self.db()
            .write(move |tx| {
                let identities: Vec<&str> = TABLES
                    .iter()
                    .filter(|t| t.identity)
                    .map(|t| t.name)
                    .collect();
                backend.copied(tx, &identities)
            })
            .await
    }

    async fn count_rows(&self, table: &'static Table) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name);
        self.db().read(move |tx| tx.one(&sql, params![])).await
    }

    /// No row in any table.
    async fn is_empty(&self) -> Result<bool> {
        self.db()
            .read(|tx| {
                for table in TABLES {
                    let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", table.name);
                    if tx.one::<bool>(&sql, params![])? {
                        return Ok(false);
                    }
                }
                Ok(true)
            })
            .await
    }

    /// Writes a consistent copy of the whole database to `dest` (which must not exist): a
    /// SQLite file.
    async fn backup(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            return Err(StoreError::Config(format!(
                "{} already exists: choose a new file",
                dest.display()
            )));
        }
        let Some(sql) = self.db().backend.backup_sql() else {
            return backup_to_sqlite(self.db(), dest).await;
        };
        let dest = dest.to_string_lossy().into_owned();
        self.db()
            .read(move |tx| tx.execute(sql, params![dest]))
            .await?;
        Ok(())
    }
}

impl Copying for Database {}

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

/// A backup of any store as a new SQLite file at `dest`, row by row.
async fn backup_to_sqlite(from: &dyn Store, dest: &Path) -> Result<()> {
    let to = Database::new(crate::sqlite::Sqlite::open(dest, true, 0)?);
    copy(from, &to, &|_, _| {}).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_name_every_column() {
        let t = TABLES.iter().find(|t| t.name == "cursors").unwrap();
        assert_eq!(
            t.insert_sql(),
            "INSERT INTO cursors (name, value) VALUES ($1, $2)"
        );
    }

    #[test]
    fn every_sqlite_table_is_copied() {
        // A table added to the schema but not here would be left behind by `migrate`.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sqlite3");
        drop(crate::sqlite::Sqlite::open(&path, true, 0).unwrap());
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
