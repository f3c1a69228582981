//! Live sync's state, one row per source: the harvester's resume point moves in the transaction
//! of the records it brought, so a pass killed anywhere resumes at the page it was on.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use paperboy_core::{DailyEntry, Paper};

use crate::papers::{import, Change};
use crate::sql::{params, record_from_row, Backed};
use crate::Result;

/// Where a live-sync source stands: its resume point and how its passes went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HarvestStatus {
    /// `arxiv-oai`, `hf-daily`, ...
    pub source: String,
    /// The harvester's resume point (JSON only it reads); `{}` before the first page.
    pub state: String,
    /// Papers new or changed by this source, all time.
    pub papers_total: u64,
    /// Papers new or changed by the pass under way, or by the last one once it ended.
    pub run_papers: u64,
    /// When the pass under way (or the last one) began.
    pub run_started: Option<DateTime<Utc>>,
    /// When the last pass that finished without error ended, and what it brought.
    pub last_success: Option<DateTime<Utc>>,
    pub last_papers: Option<u64>,
    /// The last pass's error; cleared by the next pass that succeeds.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

const STATUS: &str = "SELECT source, state, papers_total, run_papers, run_started, last_success,
        last_papers, last_error, last_error_at
     FROM harvests";

record_from_row! {
    HarvestStatus {
        source, state, papers_total, run_papers, run_started, last_success, last_papers,
        last_error, last_error_at
    }
}

#[async_trait]
pub trait Harvests: Backed {
    /// Merges a harvested batch like [`crate::Papers::import`] and, in the same transaction, sets
    /// the source's resume point to `state` and counts the papers it made new or changed; a
    /// crash keeps both or neither.
    async fn import_harvested(
        &self,
        source: &str,
        records: Vec<(Paper, Option<DailyEntry>)>,
        state: &str,
    ) -> Result<Vec<Change>> {
        let (source, state) = (source.to_owned(), state.to_owned());
        self.db()
            .write(move |tx| {
                let changes = import(tx, records)?;
                let brought = changes.iter().filter(|c| **c != Change::Unchanged).count();
                tx.execute(
                    "INSERT INTO harvests (source, state, papers_total, run_papers)
                     VALUES ($1, $2, $3, $3)
                     ON CONFLICT (source) DO UPDATE SET state = $2,
                         papers_total = harvests.papers_total + $3,
                         run_papers = harvests.run_papers + $3",
                    params![source, state, brought],
                )?;
                Ok(changes)
            })
            .await
    }

    /// One source's status; None before its first pass.
    async fn harvest_status(&self, source: &str) -> Result<Option<HarvestStatus>> {
        let (source, sql) = (source.to_owned(), format!("{STATUS} WHERE source = $1"));
        self.db()
            .read(move |tx| tx.opt(&sql, params![source]))
            .await
    }

    /// Every source that ever ran, by name.
    async fn harvest_statuses(&self) -> Result<Vec<HarvestStatus>> {
        let sql = format!("{STATUS} ORDER BY source");
        self.db().read(move |tx| tx.all(&sql, params![])).await
    }

    /// A pass of `source` begins: its paper count for the pass starts at zero.
    async fn harvest_started(&self, source: &str, now: DateTime<Utc>) -> Result<()> {
        let sql = "INSERT INTO harvests (source, run_started, run_papers) VALUES ($1, $2, 0)
             ON CONFLICT (source) DO UPDATE SET run_started = $2, run_papers = 0";
        self.db()
            .execute(sql, params![source, now].to_vec())
            .await?;
        Ok(())
    }

    /// A pass of `source` ended, well (`error` None) or not.
    async fn harvest_ended(
        &self,
        source: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (sql, params) = match error {
            None => (
                "INSERT INTO harvests (source, last_success, last_papers) VALUES ($1, $2, 0)
                 ON CONFLICT (source) DO UPDATE SET last_success = $2,
                     last_papers = harvests.run_papers, last_error = NULL, last_error_at = NULL",
                params![source, now].to_vec(),
            ),
            Some(e) => (
                "INSERT INTO harvests (source, last_error, last_error_at) VALUES ($1, $3, $2)
                 ON CONFLICT (source) DO UPDATE SET last_error = $3, last_error_at = $2",
                params![source, now, e].to_vec(),
            ),
        };
        self.db().execute(sql, params).await?;
        Ok(())
    }
}

impl Harvests for crate::Database {}
