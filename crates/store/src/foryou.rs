//! For you: what a reader's ranking learns from. Their library (votes, saves, collection items)
//! and follows are kept where they always were; this adds the marks a reader puts on papers
//! ("not interested", "fewer like this", "leave out of my ranking"), a reset, the trained model
//! (opaque JSON with the fingerprint of the signals it came from), the private feed's secret
//! (its SHA-256), and the pools a ranking orders: the papers announced on a day in some
//! categories.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use paperboy_core::ArxivId;

use crate::community::AccountId;
use crate::library::Follow;
use crate::papers::{PaperView, VIEW};
use crate::sql::{params, Backed, FromValue, Value};
use crate::Result;

/// Most marks one reader holds; past it the oldest go first.
pub const MAX_MARKS: usize = 5_000;
/// Most papers of one pool (a busy day of all arXiv has about 2,500).
pub const MAX_POOL: usize = 6_000;

/// A reader's mark on a paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mark {
    /// Not interested in this paper: never shown again, a weak negative.
    NotInterested,
    /// Fewer papers like this one: never shown again, a strong negative.
    Fewer,
    /// A library paper left out of the ranking (it stays in the library).
    Ignored,
}

impl Mark {
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::NotInterested => "not-interested",
            Mark::Fewer => "fewer",
            Mark::Ignored => "ignored",
        }
    }
}

impl std::str::FromStr for Mark {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Mark, String> {
        match s {
            "not-interested" => Ok(Mark::NotInterested),
            "fewer" => Ok(Mark::Fewer),
            "ignored" => Ok(Mark::Ignored),
            other => Err(format!(
                "a mark is not-interested, fewer or ignored, not {other:?}"
            )),
        }
    }
}

impl FromValue for Mark {
    fn from_value(v: Value) -> Result<Mark> {
        String::from_value(v)?
            .parse()
            .map_err(crate::StoreError::Corrupt)
    }
}

/// Where a positive signal comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Vote,
    Save,
    Collection,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Vote => "vote",
            Source::Save => "save",
            Source::Collection => "collection",
        }
    }
}

/// Everything a reader's ranking learns from, as read in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    /// Papers the reader liked (voted, saved, put in a collection) since the last reset and not
    /// marked: each paper once, with every source and the latest time, newest first.
    pub positives: Vec<(ArxivId, Vec<Source>, DateTime<Utc>)>,
    /// Every mark, newest first.
    pub marks: Vec<(ArxivId, Mark, DateTime<Utc>)>,
    /// Followed authors and categories.
    pub follows: Vec<Follow>,
    pub reset_at: Option<DateTime<Utc>>,
}

impl Signals {
    /// A short digest of the signals: equal signals, equal fingerprint. A stored model whose
    /// fingerprint differs from the reader's signals' is stale.
    pub fn fingerprint(&self) -> String {
        let mut h = ring::digest::Context::new(&ring::digest::SHA256);
        for (id, sources, _) in &self.positives {
            h.update(b"+");
            h.update(id.as_str().as_bytes());
            for s in sources {
                h.update(s.as_str().as_bytes());
            }
        }
        for (id, mark, _) in &self.marks {
            h.update(b"-");
            h.update(id.as_str().as_bytes());
            h.update(mark.as_str().as_bytes());
        }
        for f in &self.follows {
            h.update(b"@");
            h.update(f.kind.as_str().as_bytes());
            h.update(f.key.as_bytes());
        }
        let d = h.finish();
        d.as_ref()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Marked papers (never shown in a ranking).
    pub fn marked(&self) -> impl Iterator<Item = &ArxivId> {
        self.marks.iter().map(|(id, _, _)| id)
    }

    /// How many signals there are, follows included.
    pub fn len(&self) -> usize {
        self.positives.len() + self.marks.len() + self.follows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A reader's stored model.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredModel {
    pub fingerprint: String,
    pub model: String,
    pub trained_at: DateTime<Utc>,
}

#[async_trait]
pub trait ForYou: Backed {
    /// Puts `mark` on a visible paper for the reader, replacing any mark it had (None takes the
    /// mark off); false when there is no such paper. Past [`MAX_MARKS`] the oldest mark goes.
    async fn mark(
        &self,
        account: AccountId,
        paper: &ArxivId,
        mark: Option<Mark>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let paper = paper.clone();
        self.db()
            .write(move |tx| {
                let sql = "SELECT 1 FROM papers WHERE id = $1 AND hidden = FALSE";
                if tx.opt::<i64>(sql, params![&paper])?.is_none() {
                    return Ok(false);
                }
                tx.execute(
                    "DELETE FROM foryou_marks WHERE account_id = $1 AND paper_id = $2",
                    params![account, &paper],
                )?;
                let Some(mark) = mark else {
                    return Ok(true);
                };
                tx.execute(
                    "INSERT INTO foryou_marks (account_id, paper_id, kind, created_at)
                     VALUES ($1, $2, $3, $4)",
                    params![account, &paper, mark.as_str(), now],
                )?;
                let held: i64 = tx.one(
                    "SELECT COUNT(*) FROM foryou_marks WHERE account_id = $1",
                    params![account],
                )?;
                if held as usize > MAX_MARKS {
                    tx.execute(
                        "DELETE FROM foryou_marks WHERE account_id = $1 AND paper_id IN
                         (SELECT paper_id FROM foryou_marks WHERE account_id = $1
                          ORDER BY created_at, paper_id LIMIT $2)",
                        params![account, held - MAX_MARKS as i64],
                    )?;
                }
                Ok(true)
            })
            .await
    }

    /// The reader's signals (see [`Signals`]).
    async fn signals(&self, account: AccountId) -> Result<Signals> {
        self.db()
            .read(move |tx| {
                let reset_at: Option<DateTime<Utc>> = tx
                    .opt::<Option<DateTime<Utc>>>(
                        "SELECT reset_at FROM foryou_readers WHERE account_id = $1",
                        params![account],
                    )?
                    .flatten();
                let since = reset_at.map(crate::codec::ts);
                let rows: Vec<(ArxivId, String, DateTime<Utc>)> = tx.all(
                    "SELECT paper_id, 'vote', created_at FROM votes
                       WHERE account_id = $1 AND ($2 IS NULL OR created_at > $2)
                     UNION ALL
                     SELECT paper_id, 'save', saved_at FROM saves
                       WHERE account_id = $1 AND ($2 IS NULL OR saved_at > $2)
                     UNION ALL
                     SELECT i.paper_id, 'collection', i.added_at FROM collection_items i
                       JOIN collections c ON c.id = i.collection_id
                       WHERE c.account_id = $1 AND ($2 IS NULL OR i.added_at > $2)",
                    params![account, since],
                )?;
                let marks: Vec<(ArxivId, Mark, DateTime<Utc>)> = tx.all(
                    "SELECT paper_id, kind, created_at FROM foryou_marks WHERE account_id = $1
                     ORDER BY created_at DESC, paper_id",
                    params![account],
                )?;
                let follows: Vec<Follow> = tx.all(
                    "SELECT kind, key, shown, created_at FROM follows WHERE account_id = $1
                     ORDER BY kind, key",
                    params![account],
                )?;
                let marked: std::collections::HashSet<&ArxivId> =
                    marks.iter().map(|(id, _, _)| id).collect();
                let mut by_paper: std::collections::HashMap<ArxivId, (Vec<Source>, DateTime<Utc>)> =
                    std::collections::HashMap::new();
                for (id, source, at) in rows {
                    if marked.contains(&id) {
                        continue;
                    }
                    let source = match source.as_str() {
                        "vote" => Source::Vote,
                        "save" => Source::Save,
                        _ => Source::Collection,
                    };
                    let e = by_paper.entry(id).or_insert((Vec::new(), at));
                    if !e.0.contains(&source) {
                        e.0.push(source);
                    }
                    e.1 = e.1.max(at);
                }
                let mut positives: Vec<(ArxivId, Vec<Source>, DateTime<Utc>)> = by_paper
                    .into_iter()
                    .map(|(id, (mut s, at))| {
                        s.sort_by_key(|s| s.as_str());
                        (id, s, at)
                    })
                    .collect();
                positives.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
                Ok(Signals {
                    positives,
                    marks,
                    follows,
                    reset_at,
                })
            })
            .await
    }

    /// Forgets what the ranking learnt: marks go, and votes, saves and collection items made
    /// until now stop being signals (they stay in the library). Follows stay (they are listed
    /// and undone on their own page). The stored model goes with them.
    async fn reset_foryou(&self, account: AccountId, now: DateTime<Utc>) -> Result<()> {
        self.db()
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM foryou_marks WHERE account_id = $1",
                    params![account],
                )?;
                upsert_reader(tx, account)?;
                tx.execute(
                    "UPDATE foryou_readers SET reset_at = $2, fingerprint = NULL, model = NULL,
                     trained_at = NULL WHERE account_id = $1",
                    params![account, now],
                )?;
                Ok(())
            })
            .await
    }

    /// The reader's stored model, if any.
    async fn stored_model(&self, account: AccountId) -> Result<Option<StoredModel>> {
        self.db()
            .read(move |tx| {
                let row: Option<(Option<String>, Option<String>, Option<DateTime<Utc>>)> = tx.opt(
                    "SELECT fingerprint, model, trained_at FROM foryou_readers
                         WHERE account_id = $1",
                    params![account],
                )?;
                Ok(match row {
                    Some((Some(fingerprint), Some(model), Some(trained_at))) => Some(StoredModel {
                        fingerprint,
                        model,
                        trained_at,
                    }),
                    _ => None,
                })
            })
            .await
    }

    /// Stores the reader's model.
    async fn store_model(&self, account: AccountId, model: StoredModel) -> Result<()> {
        self.db()
            .write(move |tx| {
                upsert_reader(tx, account)?;
                tx.execute(
                    "UPDATE foryou_readers SET fingerprint = $2, model = $3, trained_at = $4
                     WHERE account_id = $1",
                    params![account, model.fingerprint, model.model, model.trained_at],
                )?;
                Ok(())
            })
            .await
    }

    /// Sets the SHA-256 of the reader's private feed secret (None: no feed).
    async fn set_feed_hash(&self, account: AccountId, hash: Option<&str>) -> Result<()> {
        let hash = hash.map(str::to_owned);
        self.db()
            .write(move |tx| {
                upsert_reader(tx, account)?;
                tx.execute(
                    "UPDATE foryou_readers SET feed_hash = $2 WHERE account_id = $1",
                    params![account, hash],
                )?;
                Ok(())
            })
            .await
    }

    /// Whether the reader has a private feed.
    async fn has_feed(&self, account: AccountId) -> Result<bool> {
        self.db()
            .read(move |tx| {
                let h: Option<Option<String>> = tx.opt(
                    "SELECT feed_hash FROM foryou_readers WHERE account_id = $1",
                    params![account],
                )?;
                Ok(h.flatten().is_some())
            })
            .await
    }

    /// The reader whose private feed secret hashes to `hash`.
    async fn feed_reader(&self, hash: &str) -> Result<Option<AccountId>> {
        let hash = hash.to_owned();
        self.db()
            .read(move |tx| {
                tx.opt(
                    "SELECT r.account_id FROM foryou_readers r
                     JOIN accounts a ON a.id = r.account_id
                     WHERE r.feed_hash = $1 AND a.blocked = FALSE",
                    params![hash],
                )
            })
            .await
    }

    /// The visible papers first announced on `day` in any of `categories` (every category when
    /// empty), in id order, at most [`MAX_POOL`].
    async fn announced(&self, day: NaiveDate, categories: &[String]) -> Result<Vec<PaperView>> {
        let categories = categories.to_vec();
        self.db()
            .read(move |tx| {
                if categories.is_empty() {
                    // The ids sorted apart, then the rows read in their order: sorting the whole
                    // rows (documents of 2 KB) cost SQLite 6-10 ms at 554 papers, this 2-3 ms.
                    let sql = format!(
                        "{VIEW} WHERE p.id IN (SELECT id FROM papers
                           WHERE announced = $1 AND hidden = FALSE ORDER BY id LIMIT {MAX_POOL})
                         ORDER BY p.id"
                    );
                    return tx.all(&sql, params![day]);
                }
                let sql = format!(
                    "{VIEW} WHERE p.id IN (SELECT paper_id FROM paper_categories
                       WHERE category = ANY($1) AND announced = $2)
                     AND p.hidden = FALSE ORDER BY p.id LIMIT {MAX_POOL}"
                );
                tx.all(&sql, params![&categories[..], day])
            })
            .await
    }

    /// The announcement days in `categories` (every category when empty) nearest `day`: the
    /// latest before it and the earliest after it (`day` None: the latest day, as "after").
    async fn announced_around(
        &self,
        day: Option<NaiveDate>,
        categories: &[String],
    ) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
        let categories = categories.to_vec();
        self.db()
            .read(move |tx| {
                let all = categories.is_empty();
                match (day, all) {
                    (None, true) => Ok((
                        None,
                        tx.one("SELECT MAX(announced) FROM papers", params![])?,
                    )),
                    (None, false) => Ok((
                        None,
                        tx.one(
                            "SELECT MAX(announced) FROM paper_categories
                             WHERE category = ANY($1)",
                            params![&categories[..]],
                        )?,
                    )),
                    (Some(day), true) => tx.one(
                        "SELECT (SELECT MAX(announced) FROM papers WHERE announced < $1),
                                (SELECT MIN(announced) FROM papers WHERE announced > $1)",
                        params![day],
                    ),
                    (Some(day), false) => tx.one(
                        "SELECT (SELECT MAX(announced) FROM paper_categories
                                 WHERE category = ANY($1) AND announced < $2),
                                (SELECT MIN(announced) FROM paper_categories
                                 WHERE category = ANY($1) AND announced > $2)",
                        params![&categories[..], day],
                    ),
                }
            })
            .await
    }
}

fn upsert_reader(tx: &mut dyn crate::sql::Tx, account: AccountId) -> Result<()> {
    tx.execute(
        "INSERT INTO foryou_readers (account_id) VALUES ($1) ON CONFLICT DO NOTHING",
        params![account],
    )?;
    Ok(())
}

impl ForYou for crate::Database {}
