//! Values as both backends store them: JSON documents, times and days as sortable text, vectors
//! as little-endian bytes, usernames made from addresses. Pure functions, no database.

use chrono::{DateTime, NaiveDate, Utc};
use paperboy_core::Paper;

use crate::{Result, StoreError};

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("time {s:?}: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain types serialise")
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| {
        StoreError::Corrupt(format!("{e}: {}", s.chars().take(80).collect::<String>()))
    })
}

/// The date a paper sorts by in "all papers": published, else its first daily list, else its id's month.
pub(crate) fn sort_date(p: &Paper) -> String {
    if let Some(d) = p.published {
        return d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    if let Some(d) = p.daily_date {
        return format!("{}T00:00:00Z", d.format("%Y-%m-%d"));
    }
    match p.id.year_month() {
        Some((y, m)) => format!("{y:04}-{m:02}-01T00:00:00Z"),
        None => String::new(),
    }
}

/// How long until a counted event at `oldest` leaves a rate-limit window of `window` (at least
/// a second, so that a refusal always says when to try again).
pub(crate) fn rate_wait(
    oldest: DateTime<Utc>,
    now: DateTime<Utc>,
    window: std::time::Duration,
) -> std::time::Duration {
    let age = (now - oldest).to_std().unwrap_or_default();
    window
        .saturating_sub(age)
        .max(std::time::Duration::from_secs(1))
}

/// Vectors are stored as little-endian f32s.
pub(crate) fn vector_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn bytes_vector(b: &[u8]) -> Result<Vec<f32>> {
    if !b.len().is_multiple_of(4) {
        return Err(StoreError::Corrupt(format!(
            "a vector of {} bytes",
            b.len()
        )));
    }
    Ok(b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

pub(crate) fn day_str(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_day(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| StoreError::Corrupt(format!("day {s:?}: {e}")))
}

/// `Ada.Lovelace+papers@example.org` -> `ada.lovelace`: letters, digits, `.`, `_`, `-`.
pub(crate) fn username_base(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    let local = local.split('+').next().unwrap_or_default();
    let mut name: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(24)
        .collect::<String>()
        .to_lowercase();
    name = name
        .trim_matches(|c| matches!(c, '.' | '_' | '-'))
        .to_owned();
    if name.is_empty() {
        "reader".into()
    } else {
        name
    }
}

/// A submitted paper's entry on `day`'s list at `position`: no imported votes, submitted now.
pub(crate) fn submitted_entry(
    paper: &mut Paper,
    day: NaiveDate,
    position: i64,
    by: paperboy_core::Submitter,
    now: DateTime<Utc>,
) -> paperboy_core::DailyEntry {
    paper.daily_date.get_or_insert(day);
    paperboy_core::DailyEntry {
        day,
        paper_id: paper.id.clone(),
        position: position as u32,
        upvotes: 0,
        num_comments: 0,
        submitted_by: Some(by),
        published_at: Some(now),
        title: None,
        summary: None,
        thumbnail: None,
        is_author_participating: false,
        extra: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_come_from_the_address() {
        assert_eq!(
            username_base("Ada.Lovelace+papers@example.org"),
            "ada.lovelace"
        );
        assert_eq!(username_base("<script>@x"), "script");
        assert_eq!(username_base("...@x"), "reader");
    }

    #[test]
    fn times_round_trip_and_sort_as_text() {
        let a = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_ts(&ts(a)).unwrap(), a);
        let b = a + chrono::Duration::microseconds(1);
        assert!(ts(a) < ts(b));
    }
}
