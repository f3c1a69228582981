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

/// A paper on arXiv's list of one category and day.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryListed {
    pub view: PaperView,
    /// Listed in this category as a cross-list (another category is its primary one).
    pub cross_list: bool,
}

/// Most papers one category's list of one day shows (arXiv's busiest lists have about 1,000).
pub const MAX_DAY_LIST: usize = 2_000;

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
pub(crate) const VIEW: &str = "SELECT p.doc,
        (SELECT e.doc FROM daily_entries e WHERE e.paper_id = p.id ORDER BY e.day DESC LIMIT 1),
        p.local_upvotes, p.local_comments, p.sort_date
     FROM papers p";

record_from_row! {
    PaperView { paper, entry, local_upvotes, local_comments }
    Listed { entry, paper, local_upvotes, local_comments }
    StoreStats { papers, daily_entries, days, first_day, last_day, accounts, votes, comments }
}

/// A [`PaperView`] and whether it is a cross-list.
impl FromRow for CategoryListed {
    fn from_row(mut r: Row) -> Result<CategoryListed> {
        let cross_list = r.take(4)?;
        Ok(CategoryListed {
            view: PaperView::from_row(r)?,
            cross_list,
        })
    }
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

    /// arXiv's list of `category` on `day`: its new papers first, then cross-lists, each in id
    /// order (arXiv's order), at most [`MAX_DAY_LIST`].
    async fn category_day(&self, category: &str, day: NaiveDate) -> Result<Vec<CategoryListed>> {
        let category = category.to_owned();
        let sql = format!(
            "SELECT p.doc,
                (SELECT e.doc FROM daily_entries e WHERE e.paper_id = p.id ORDER BY e.day DESC LIMIT 1),
                p.local_upvotes, p.local_comments, c.cross_list
             FROM paper_categories c JOIN papers p ON p.id = c.paper_id
             WHERE c.category = $1 AND c.announced = $2 AND p.hidden = FALSE
             ORDER BY c.cross_list, c.paper_id LIMIT {MAX_DAY_LIST}"
        );
        self.db()
            .read(move |tx| tx.all(&sql, params![category, day]))
            .await
    }

    /// The announcement days of `category` nearest `day`: the latest one before it and the
    /// earliest one after it (`day` None: the latest one, as "after").
    async fn category_days_around(
        &self,
        category: &str,
        day: Option<NaiveDate>,
    ) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
        let category = category.to_owned();
        self.db()
            .read(move |tx| match day {
                Some(day) => tx.one(
                    "SELECT (SELECT MAX(announced) FROM paper_categories
                             WHERE category = $1 AND announced < $2),
                            (SELECT MIN(announced) FROM paper_categories
                             WHERE category = $1 AND announced > $2)",
                    params![category, day],
                ),
                None => {
                    let sql = "SELECT MAX(announced) FROM paper_categories WHERE category = $1";
                    Ok((None, tx.one(sql, params![category])?))
                }
            })
            .await
    }

    /// The visible papers with these DOIs (as [`doi_key`] writes them), with the DOI of each.
    async fn papers_by_doi(&self, dois: &[String]) -> Result<Vec<(String, ArxivId)>> {
        let dois = dois.to_vec();
        let sql = "SELECT doi, id FROM papers WHERE doi = ANY($1) AND hidden = FALSE";
        self.db()
            .read(move |tx| tx.all(sql, params![&dois[..]]))
            .await
    }

    /// Every category with a list, and how many papers it lists (cross-lists included).
    async fn category_counts(&self) -> Result<Vec<(String, i64)>> {
        let sql =
            "SELECT category, COUNT(*) FROM paper_categories GROUP BY category ORDER BY category";
        self.db().read(move |tx| tx.all(sql, params![])).await
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
        let (paper, paper_change, listed_before) = match stored {
            None => (paper, Change::New, None),
            Some(mut current) => {
                let before = listed_as(&current);
                let change = if current.merge(paper) {
                    Change::Updated
                } else {
                    Change::Unchanged
                };
                (current, change, Some(before))
            }
        };
        if paper_change != Change::Unchanged {
            seq += 1;
            let announced = paper.announced_day();
            tx.execute(
                "INSERT INTO papers (id, seq, sort_date, doc, announced, doi)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO UPDATE
                 SET seq = $2, sort_date = $3, doc = $4, announced = $5, doi = $6",
                params![
                    &id,
                    seq,
                    sort_date(&paper),
                    to_json(&paper),
                    announced,
                    doi_key(&paper)
                ],
            )?;
            let listed = listed_as(&paper);
            if listed_before.as_ref() != Some(&listed) {
                list(tx, &id, listed, listed_before.is_some())?;
            }
        }
        let entry_change = match entry {
            Some(entry) => merge_entry(tx, &id, entry)?,
            None => Change::Unchanged,
        };
        changes.push(paper_change.max(entry_change));
    }
    Ok(changes)
}

/// A paper's DOI as `papers.doi` keeps it: lowercased, without a resolver's address.
pub fn doi_key(p: &Paper) -> Option<String> {
    let doi = p.doi.as_deref()?.trim().to_lowercase();
    let doi = [
        "https://doi.org/",
        "http://doi.org/",
        "https://dx.doi.org/",
        "doi:",
    ]
    .iter()
    .fold(doi.as_str(), |d, prefix| {
        d.strip_prefix(prefix).unwrap_or(d)
    })
    .to_owned();
    (!doi.is_empty()).then_some(doi)
}

/// What a paper's rows in `paper_categories` are made of: its announcement day and categories.
fn listed_as(p: &Paper) -> (Option<NaiveDate>, Vec<String>) {
    (p.announced_day(), p.categories.clone())
}

/// Puts a paper on its categories' lists of its announcement day (none without a day), in the
/// caller's transaction; `replace`: take it off the lists it was on first.
fn list(
    tx: &mut dyn Tx,
    id: &ArxivId,
    (day, categories): (Option<NaiveDate>, Vec<String>),
    replace: bool,
) -> Result<()> {
    if replace {
        tx.execute(
            "DELETE FROM paper_categories WHERE paper_id = $1",
            params![id],
        )?;
    }
    let Some(day) = day else {
        return Ok(());
    };
    let mut seen = std::collections::HashSet::new();
    for (i, category) in categories.iter().enumerate() {
        if category.is_empty() || !seen.insert(category.as_str()) {
            continue;
        }
        tx.execute(
            "INSERT INTO paper_categories (category, announced, paper_id, cross_list)
             VALUES ($1, $2, $3, $4)",
            params![category, day, id, i > 0],
        )?;
    }
    Ok(())
}

/// The cursor of [`backfill_announced`]: the last `seq` done; no row when there is nothing to do.
const BACKFILL: &str = "announced backfill";

/// Fills `papers.announced`, `papers.doi` and `paper_categories` for papers stored before they
/// existed (the migrations that made them set the cursor to 0), in transactions of 2,000 papers that each
/// move the cursor, so an interrupted backfill goes on where it stopped. Blocks; run at open.
pub(crate) fn backfill_announced(backend: &dyn crate::sql::Backend) -> Result<u64> {
    let mut filled = 0u64;
    loop {
        let mut done = false;
        backend.run(Access::Transaction, &mut |tx| {
            tx.lock(Lock::Feed)?;
            let cursor: Option<i64> = tx.opt(
                "SELECT value FROM cursors WHERE name = $1",
                params![BACKFILL],
            )?;
            let Some(after) = cursor else {
                done = true;
                return Ok(());
            };
            let rows: Vec<(i64, Paper)> = tx.all(
                "SELECT seq, doc FROM papers WHERE seq > $1 ORDER BY seq LIMIT 2000",
                params![after],
            )?;
            let Some(last) = rows.last().map(|r| r.0) else {
                tx.execute("DELETE FROM cursors WHERE name = $1", params![BACKFILL])?;
                done = true;
                return Ok(());
            };
            for (_, paper) in &rows {
                let day = paper.announced_day();
                tx.execute(
                    "UPDATE papers SET announced = $2, doi = $3 WHERE id = $1",
                    params![&paper.id, day, doi_key(paper)],
                )?;
                list(tx, &paper.id, listed_as(paper), true)?;
            }
            filled += rows.len() as u64;
            save_cursor(tx, BACKFILL, last)
        })?;
        if done {
            return Ok(filled);
        }
        if filled % 100_000 < 2_000 {
            tracing::info!(papers = filled, "filling in announcement days and DOIs");
        }
    }
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

#[cfg(test)]
mod tests {
    use paperboy_core::{ArxivId, Paper};

    #[tokio::test]
    async fn papers_stored_before_announcement_days_are_listed_after_an_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        {
            let store = crate::open(path.to_str().unwrap(), true).unwrap();
            // As the listing reader made them before `announced`: its date at midnight.
            let mut listed = Paper::new(ArxivId::parse("2507.00001").unwrap(), "Listed");
            listed.published = Some(day("2025-07-15").and_hms_opt(0, 0, 0).unwrap().and_utc());
            listed.categories = vec!["cs.CV".into(), "cs.AI".into()];
            let mut timed = Paper::new(ArxivId::parse("2507.00002").unwrap(), "Timed");
            let at = chrono::DateTime::parse_from_rfc3339("2025-07-14T17:00:00Z").unwrap();
            timed.published = Some(at.to_utc());
            timed.categories = vec!["cs.CV".into()];
            timed.doi = Some("10.1/ABC".into());
            store
                .import(vec![(listed, None), (timed, None)])
                .await
                .unwrap();
        }
        // What a database of schema 7 holds once migration 8 ran: no days, no lists.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "UPDATE papers SET announced = NULL, doi = NULL; DELETE FROM paper_categories;
             INSERT INTO cursors (name, value) VALUES ('announced backfill', 0);",
        )
        .unwrap();
        drop(conn);
        let store = crate::open(path.to_str().unwrap(), false).unwrap();
        let listed = store
            .category_day("cs.CV", day("2025-07-15"))
            .await
            .unwrap();
        let ids: Vec<String> = listed.iter().map(|l| l.view.paper.id.to_string()).collect();
        assert_eq!(ids, ["2507.00001", "2507.00002"]);
        assert!(
            store
                .category_day("cs.AI", day("2025-07-15"))
                .await
                .unwrap()[0]
                .cross_list
        );
        assert_eq!(store.cursor("announced backfill").await.unwrap(), 0);
        let found = store.papers_by_doi(&["10.1/abc".into()]).await.unwrap();
        assert_eq!(found.len(), 1, "DOIs are filled too");
        let conn = rusqlite::Connection::open(&path).unwrap();
        let left: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM cursors WHERE name = 'announced backfill'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0, "the backfill's cursor goes when it is done");
    }
}
