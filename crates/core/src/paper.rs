//! Papers and daily-list entries, and the rule for merging two records of one paper.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ArxivId;

/// One author, in the paper's order. `hf_id` is Hugging Face's author record id when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hf_id: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

impl Author {
    pub fn named(name: impl Into<String>) -> Author {
        Author {
            name: name.into(),
            hf_id: None,
            hidden: false,
        }
    }
}

/// A Hugging Face account as it appears in `submittedBy` / `submittedOnDailyBy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitter {
    /// The account name (`user` or `name` in hf.co's JSON).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fullname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hf_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

/// Everything paperboy knows about one paper. Optional fields are `None` when no source said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paper {
    pub id: ArxivId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub authors: Vec<Author>,
    /// Primary category first.
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_stars: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_summary: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ai_keywords: Vec<String>,
    /// Upvotes as imported from hf.co (local votes are counted apart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hf_upvotes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hf_discussion_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_on_daily_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_on_daily_by: Option<Submitter>,
    /// The day arXiv announced the paper (its first "new" list), when a source said so: a
    /// listing's date, the datestamp of a first version harvested by OAI-PMH. The earliest seen
    /// wins on merge. [`Paper::announced_day`] falls back on the submission time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announced: Option<NaiveDate>,
    /// The first daily list the paper appeared on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_date: Option<NaiveDate>,
    /// The latest daily list whose snapshot of this paper was merged in: between two snapshots
    /// without versions, the later day's wins (its counts are newer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_daily_date: Option<NaiveDate>,
    /// hf.co fields paperboy does not model (organization, mediaUrls, …), passed through to the API.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Paper {
    pub fn new(id: ArxivId, title: impl Into<String>) -> Paper {
        Paper {
            id,
            version: None,
            title: title.into(),
            summary: String::new(),
            authors: Vec::new(),
            categories: Vec::new(),
            published: None,
            updated: None,
            comment: None,
            journal_ref: None,
            doi: None,
            license: None,
            github_repo: None,
            github_stars: None,
            project_page: None,
            ai_summary: None,
            ai_keywords: Vec::new(),
            hf_upvotes: None,
            hf_discussion_id: None,
            submitted_on_daily_at: None,
            submitted_on_daily_by: None,
            announced: None,
            daily_date: None,
            latest_daily_date: None,
            extra: serde_json::Map::new(),
        }
    }

    /// The authors' names, in the paper's order.
    pub fn author_names(&self) -> Vec<&str> {
        self.authors.iter().map(|a| a.name.as_str()).collect()
    }

    pub fn primary_category(&self) -> Option<&str> {
        self.categories.first().map(String::as_str)
    }

    /// The day of arXiv's list the paper was announced on: [`Paper::announced`] when a source
    /// said; else `published` mapped by arXiv's schedule ([`crate::announce`]), except that a
    /// `published` of exactly midnight UTC is a listing's date (how records read before
    /// `announced` existed kept it) and is taken as the day.
    pub fn announced_day(&self) -> Option<NaiveDate> {
        if self.announced.is_some() {
            return self.announced;
        }
        let published = self.published?;
        Some(match published.time() == chrono::NaiveTime::MIN {
            true => published.date_naive(),
            false => crate::announce::announcement_day(published),
        })
    }

    /// Merges a newly read record of the same paper into this one and says whether anything changed.
    ///
    /// The newer record (by version, then by `updated`) wins field by field where it has a value;
    /// the older one only fills gaps. A field is never emptied because a later source lacks it.
    /// Merging the same record twice changes nothing the second time.
    pub fn merge(&mut self, incoming: Paper) -> bool {
        debug_assert_eq!(self.id, incoming.id);
        let before = self.clone();
        let snapshot = |p: &Paper| p.latest_daily_date.or(p.daily_date);
        let incoming_is_older = match (incoming.version, self.version) {
            (Some(a), Some(b)) if a != b => a < b,
            _ => match (incoming.updated, self.updated) {
                (Some(a), Some(b)) if a != b => a < b,
                _ => match (snapshot(&incoming), snapshot(self)) {
                    (Some(a), Some(b)) => a < b,
                    _ => false,
                },
            },
        };
        let latest_daily = snapshot(&incoming).max(snapshot(self));
        let (mut winner, loser) = if incoming_is_older {
            (self.clone(), incoming)
        } else {
            (incoming, self.clone())
        };
        fill(&mut winner.version, loser.version);
        if winner.title.trim().is_empty() {
            winner.title = loser.title;
        }
        if winner.summary.trim().is_empty() {
            winner.summary = loser.summary;
        }
        if winner.authors.is_empty() {
            winner.authors = loser.authors;
        } else if winner.authors.len() == loser.authors.len() {
            // Keep Hugging Face's author ids when the other source has the same author list.
            for (w, l) in winner.authors.iter_mut().zip(loser.authors) {
                if w.hf_id.is_none() && w.name == l.name {
                    w.hf_id = l.hf_id;
                    w.hidden |= l.hidden;
                }
            }
        }
        if winner.categories.is_empty() {
            winner.categories = loser.categories;
        }
        if winner.ai_keywords.is_empty() {
            winner.ai_keywords = loser.ai_keywords;
        }
        fill(&mut winner.published, loser.published);
        fill(&mut winner.updated, loser.updated);
        fill(&mut winner.comment, loser.comment);
        fill(&mut winner.journal_ref, loser.journal_ref);
        fill(&mut winner.doi, loser.doi);
        fill(&mut winner.license, loser.license);
        fill(&mut winner.github_repo, loser.github_repo);
        fill(&mut winner.github_stars, loser.github_stars);
        fill(&mut winner.project_page, loser.project_page);
        fill(&mut winner.ai_summary, loser.ai_summary);
        fill(&mut winner.hf_upvotes, loser.hf_upvotes);
        fill(&mut winner.hf_discussion_id, loser.hf_discussion_id);
        fill(
            &mut winner.submitted_on_daily_at,
            loser.submitted_on_daily_at,
        );
        fill(
            &mut winner.submitted_on_daily_by,
            loser.submitted_on_daily_by,
        );
        winner.announced = match (winner.announced, loser.announced) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // The first daily list a paper was on stays the first, whichever record is newer.
        winner.daily_date = match (winner.daily_date, loser.daily_date) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        winner.latest_daily_date = latest_daily.filter(|d| Some(*d) != winner.daily_date);
        for (k, v) in loser.extra {
            winner.extra.entry(k).or_insert(v);
        }
        *self = winner;
        *self != before
    }
}

fn fill<T>(slot: &mut Option<T>, other: Option<T>) {
    if slot.is_none() {
        *slot = other;
    }
}

/// One paper on one day's list, as the community ranked it that day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyEntry {
    pub day: NaiveDate,
    pub paper_id: ArxivId,
    /// Position in that day's feed as recorded (0 = first).
    pub position: u32,
    /// Upvotes imported with this day's list.
    pub upvotes: i64,
    pub num_comments: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<Submitter>,
    /// When the paper was put on the list (`publishedAt` of the item on hf.co).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    /// The item's own title and summary, which hf.co sometimes words differently from the paper's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    #[serde(default)]
    pub is_author_participating: bool,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl DailyEntry {
    /// Merges a newly read copy of the same entry: its values win where present (counts move on
    /// between snapshots), the stored ones fill its gaps. Returns whether anything changed.
    pub fn merge(&mut self, incoming: DailyEntry) -> bool {
        let before = self.clone();
        let old = std::mem::replace(self, incoming);
        fill(&mut self.submitted_by, old.submitted_by);
        fill(&mut self.published_at, old.published_at);
        fill(&mut self.title, old.title);
        fill(&mut self.summary, old.summary);
        fill(&mut self.thumbnail, old.thumbnail);
        for (k, v) in old.extra {
            self.extra.entry(k).or_insert(v);
        }
        *self != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper(version: Option<u32>, title: &str) -> Paper {
        let mut p = Paper::new(ArxivId::parse("2505.15612").unwrap(), title);
        p.version = version;
        p
    }

    #[test]
    fn newer_version_replaces_older_fields() {
        let mut stored = paper(Some(1), "Old title");
        stored.doi = Some("10.1/x".into());
        let incoming = paper(Some(2), "New title");
        assert!(stored.merge(incoming));
        assert_eq!(stored.title, "New title");
        assert_eq!(stored.version, Some(2));
        assert_eq!(
            stored.doi.as_deref(),
            Some("10.1/x"),
            "a later record lacking a field loses nothing"
        );
    }

    #[test]
    fn the_earliest_announcement_day_wins_and_submission_times_are_scheduled() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // A listing record: published at the listing's midnight, announced that day.
        let mut listed = paper(None, "T");
        listed.published = Some(day("2025-07-16").and_hms_opt(0, 0, 0).unwrap().and_utc());
        assert_eq!(listed.announced_day(), Some(day("2025-07-16")));
        listed.announced = Some(day("2025-07-16"));
        // An OAI or Kaggle record of v2 with the v1 submission time: the listing day stays.
        let mut kaggle = paper(Some(2), "T");
        let submitted = chrono::DateTime::parse_from_rfc3339("2025-07-14T18:30:00Z").unwrap();
        kaggle.published = Some(submitted.with_timezone(&Utc));
        assert_eq!(
            kaggle.announced_day(),
            Some(day("2025-07-16")),
            "Monday 14:30 EDT"
        );
        let mut merged = listed.clone();
        assert!(merged.merge(kaggle.clone()));
        assert_eq!(merged.announced_day(), Some(day("2025-07-16")));
        kaggle.announced = Some(day("2025-07-17"));
        kaggle.merge(listed);
        assert_eq!(kaggle.announced, Some(day("2025-07-16")), "earliest wins");
        assert_eq!(paper(None, "T").announced_day(), None);
    }

    #[test]
    fn older_version_only_fills_gaps() {
        let mut stored = paper(Some(3), "Current title");
        let mut incoming = paper(Some(1), "Ancient title");
        incoming.github_repo = Some("https://github.com/a/b".into());
        assert!(stored.merge(incoming));
        assert_eq!(stored.title, "Current title");
        assert_eq!(stored.version, Some(3));
        assert_eq!(
            stored.github_repo.as_deref(),
            Some("https://github.com/a/b")
        );
    }

    #[test]
    fn merging_twice_is_idempotent() {
        let mut stored = paper(Some(1), "A");
        let mut incoming = paper(None, "A");
        incoming.hf_upvotes = Some(12);
        incoming.daily_date = NaiveDate::from_ymd_opt(2025, 1, 2);
        assert!(stored.merge(incoming.clone()));
        assert!(
            !stored.merge(incoming),
            "second merge of the same record changes nothing"
        );
    }

    #[test]
    fn the_later_daily_snapshot_wins_in_either_order() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 4, d);
        let mut early = paper(None, "A");
        early.daily_date = day(10);
        early.hf_upvotes = Some(2);
        let mut late = paper(None, "A");
        late.daily_date = day(16);
        late.hf_upvotes = Some(42);
        let mut a = early.clone();
        a.merge(late.clone());
        let mut b = late.clone();
        b.merge(early.clone());
        assert_eq!(a, b, "order of import does not matter");
        assert_eq!(a.hf_upvotes, Some(42));
        assert_eq!(a.daily_date, day(10));
        // Importing both again changes nothing.
        assert!(!a.merge(early));
        assert!(!a.merge(late));
    }

    #[test]
    fn first_daily_date_is_kept() {
        let mut stored = paper(None, "A");
        stored.daily_date = NaiveDate::from_ymd_opt(2025, 1, 2);
        let mut incoming = paper(None, "A");
        incoming.daily_date = NaiveDate::from_ymd_opt(2025, 3, 4);
        stored.merge(incoming);
        assert_eq!(stored.daily_date, NaiveDate::from_ymd_opt(2025, 1, 2));
    }
}
