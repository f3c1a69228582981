//! Papers, their daily lists and the change feed: the import merge, the reads pages make, the feed
//! derived indexes follow (and the cursors they keep on it), the counts of the status page.

use async_trait::async_trait;
use chrono::NaiveDate;
use paperboy_core::{ArxivId, DailyEntry, Paper};

use crate::codec::{sort_date, to_json};
use crate::sql::{in_order, params, record_from_row, Access, Backed, FromRow, Lock, Row, Tx};
use crate::Result;

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

/// A [`PaperView`]'s columns, then the key "all papers" pages by.
const VIEW: &str = "SELECT p.doc,
        (SELECT e.doc FROM daily_entries e WHERE e.paper_id = p.id ORDER BY e.day DESC LIMIT 1),
        p.local_upvotes, p.local_comments, p.sort_date
     FROM papers p";

record_from_row! {
    PaperView { paper, entry, local_upvotes, local_comments }
    Listed { entry, paper, local_upvotes, local_comments }
    StoreStats { papers, daily_entries, days, first_day, last_day, accounts, votes, comments }
}

/// A [`PaperView`] and its key in "all papers".
impl FromRow for (PaperView, String) {
    fn from_row(mut r: Row) -> Result<(PaperView, String)> {
        let key = r.take(4)?;
        Ok((PaperView::from_row(r)?, key))
    }
}

#[async_trait]
pub trait Papers: Backed {
    /// Merges records into the store in one transaction and says, per record, what changed.
    /// Importing the same records again reports `Unchanged` and writes nothing.
    async fn import(&self, records: Vec<(Paper, Option<DailyEntry>)>) -> Result<Vec<Change>> {
        self.db().write(move |tx| import(tx, records)).await
    }

    async fn paper(&self, id: &ArxivId) -> Result<Option<PaperView>> {
        let id = id.clone();
        let sql = format!("{VIEW} WHERE p.id = $1 AND p.hidden = FALSE");
        self.db().read(move |tx| tx.opt(&sql, params![&id])).await
    }

    /// Papers in the order asked for; unknown or hidden ids are left out.
    async fn papers(&self, ids: &[ArxivId]) -> Result<Vec<PaperView>> {
        let ids = ids.to_vec();
        let sql = format!("{VIEW} WHERE p.id = ANY($1) AND p.hidden = FALSE");
        self.db()
            .read(move |tx| {
                let found = tx.all::<PaperView>(&sql, params![&ids[..]])?;
                let found = found.into_iter().map(|v| (v.paper.id.clone(), v));
                Ok(in_order(&ids, found).into_iter().flatten().collect())
            })
            .await
    }

    /// Daily entries of the days `from..=to`, in feed order (day, then position).
    async fn listing(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        f: &ListingFilter,
    ) -> Result<Vec<Listed>> {
        let submitter = f.submitter.clone();
        self.db()
            .read(move |tx| {
                tx.all(
                    "SELECT e.doc, p.doc, p.local_upvotes, p.local_comments
                     FROM daily_entries e JOIN papers p ON p.id = e.paper_id
                     WHERE e.day BETWEEN $1 AND $2 AND p.hidden = FALSE
                       AND ($3 IS NULL OR e.submitter = $3)
                     ORDER BY e.day, e.position",
                    params![from, to, submitter],
                )
            })
            .await
    }

    /// The latest day that has a daily list.
    async fn latest_day(&self) -> Result<Option<NaiveDate>> {
        let sql = "SELECT MAX(day) FROM daily_entries";
        self.db().read(move |tx| tx.one(sql, params![])).await
    }

    /// The nearest days before and after `day` that have a daily list.
    async fn neighbour_days(
        &self,
        day: NaiveDate,
    ) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
        self.db()
            .read(move |tx| {
                tx.one(
                    "SELECT (SELECT MAX(day) FROM daily_entries WHERE day < $1),
                            (SELECT MIN(day) FROM daily_entries WHERE day > $1)",
                    params![day],
                )
            })
            .await
    }

    /// All papers, newest published first, by keyset pagination: pass the returned cursor back.
    async fn papers_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<PaperView>, Option<String>)> {
        let after = cursor.and_then(|c| c.split_once('~'));
        let (date, id) = (after.map(|a| a.0.to_owned()), after.map(|a| a.1.to_owned()));
        let sql = format!(
            "{VIEW} WHERE p.hidden = FALSE AND ($1 IS NULL OR (p.sort_date, p.id) < ($1, $2))
             ORDER BY p.sort_date DESC, p.id DESC LIMIT $3"
        );
        self.db()
            .read(move |tx| {
                let rows = tx.all::<(PaperView, String)>(&sql, params![date, id, limit + 1])?;
                let mut next = None;
                if rows.len() > limit {
                    let (last, key) = &rows[limit - 1];
                    next = Some(format!("{key}~{}", last.paper.id));
                }
                Ok((rows.into_iter().take(limit).map(|r| r.0).collect(), next))
            })
            .await
    }

    /// Papers changed after sequence number `seq`, in sequence order, at most `limit`: the change
    /// feed that derived indexes follow. Returns `(seq, paper, visible)`.
    async fn changes_since(&self, seq: i64, limit: usize) -> Result<Vec<(i64, Paper, bool)>> {
        let sql =
            "SELECT seq, doc, hidden = FALSE FROM papers WHERE seq > $1 ORDER BY seq LIMIT $2";
        self.db()
            .read(move |tx| tx.all(sql, params![seq, limit]))
            .await
    }

    /// The sequence number of the latest change (0 when empty).
    async fn last_seq(&self) -> Result<i64> {
        let sql = "SELECT COALESCE(MAX(seq), 0) FROM papers";
        self.db().read(move |tx| tx.one(sql, params![])).await
    }

    /// A cursor saved by a background worker (0 when never saved).
    async fn cursor(&self, name: &str) -> Result<i64> {
        let name = name.to_owned();
        let sql = "SELECT value FROM cursors WHERE name = $1";
        let value = self.db().read(move |tx| tx.opt(sql, params![name]));
        Ok(value.await?.unwrap_or(0))
    }

    async fn set_cursor(&self, name: &str, value: i64) -> Result<()> {
        let name = name.to_owned();
        let save = move |tx: &mut dyn Tx| save_cursor(tx, &name, value);
        self.db().run(Access::Statement, save).await
    }

    async fn stats(&self) -> Result<StoreStats> {
        // All papers counted on a small index, minus the few hidden ones on theirs: counting the
        // visible ones read the whole table (6.5 GB at 2.7 M papers) on each status page and
        // /metrics scrape.
        let sql = "SELECT
                (SELECT COUNT(*) FROM papers) - (SELECT COUNT(*) FROM papers WHERE hidden = TRUE),
                COUNT(*), COUNT(DISTINCT day), MIN(day), MAX(day),
                (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM votes),
                (SELECT COUNT(*) FROM comments WHERE deleted = FALSE)
             FROM daily_entries";
        self.db().read(move |tx| tx.one(sql, params![])).await
    }
}

impl Papers for crate::Database {}

/// Moves a background worker's cursor, in the caller's transaction.
pub(crate) fn save_cursor(tx: &mut dyn Tx, name: &str, value: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO cursors (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = $2",
        params![name, value],
    )?;
    Ok(())
}

/// The next sequence number of the change feed, under its lock: a follower that has read up to
/// `n` never later finds a change below `n` (see [`Lock::Feed`]).
pub(crate) fn next_seq(tx: &mut dyn Tx) -> Result<i64> {
    tx.lock(Lock::Feed)?;
    tx.one("SELECT COALESCE(MAX(seq), 0) + 1 FROM papers", params![])
}

/// The merge of [`Papers::import`], in the caller's transaction: the newer record wins field by
/// field, and nothing is written for a record that changes nothing.
pub(crate) fn import(
    tx: &mut dyn Tx,
    records: Vec<(Paper, Option<DailyEntry>)>,
) -> Result<Vec<Change>> {
    let mut seq = next_seq(tx)? - 1;
    let mut changes = Vec::with_capacity(records.len());
    for (paper, entry) in records {
        let id = paper.id.clone();
        let stored: Option<Paper> = tx.opt("SELECT doc FROM papers WHERE id = $1", params![&id])?;
        let (paper, paper_change) = match stored {
            None => (paper, Change::New),
            Some(mut current) => {
                let change = if current.merge(paper) {
                    Change::Updated
                } else {
                    Change::Unchanged
                };
                (current, change)
            }
        };
        if paper_change != Change::Unchanged {
            seq += 1;
            tx.execute(
                "INSERT INTO papers (id, seq, sort_date, doc) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET seq = $2, sort_date = $3, doc = $4",
                params![&id, seq, sort_date(&paper), to_json(&paper)],
            )?;
        }
        let entry_change = match entry {
            Some(entry) => merge_entry(tx, &id, entry)?,
            None => Change::Unchanged,
        };
        changes.push(paper_change.max(entry_change));
    }
    Ok(changes)
}

/// Merges a paper's daily entry into the stored one of its day.
fn merge_entry(tx: &mut dyn Tx, id: &ArxivId, entry: DailyEntry) -> Result<Change> {
    let day = entry.day;
    let sql = "SELECT doc FROM daily_entries WHERE day = $1 AND paper_id = $2";
    let (merged, change) = match tx.opt::<DailyEntry>(sql, params![day, id])? {
        None => (entry, Change::New),
        Some(mut current) => {
            if !current.merge(entry) {
                return Ok(Change::Unchanged);
            }
            (current, Change::Updated)
        }
    };
    let submitter = merged.submitted_by.as_ref().map(|s| s.name.clone());
    tx.execute(
        "INSERT INTO daily_entries (day, paper_id, position, submitter, doc)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (day, paper_id) DO UPDATE SET position = $3, submitter = $4, doc = $5",
        params![
            day,
            id,
            i64::from(merged.position),
            submitter,
            to_json(&merged)
        ],
    )?;
    Ok(change)
}
