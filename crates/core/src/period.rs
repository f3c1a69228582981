//! Listing periods: a day (`2025-06-02`), an ISO week (`2025-W23`) or a month (`2025-06`),
//! each a closed range of days with a previous and a next period.

use std::fmt;

use chrono::{Datelike, Duration, IsoWeek, NaiveDate, Weekday};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Day(NaiveDate),
    /// ISO year and week number.
    Week(i32, u32),
    /// Year and month.
    Month(i32, u32),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("invalid date {0:?}: expected YYYY-MM-DD, with a four-digit year")]
    Day(String),
    #[error("invalid week {0:?}: expected YYYY-Www, e.g. 2025-W23, with a four-digit year")]
    Week(String),
    #[error("invalid month {0:?}: expected YYYY-MM, with a four-digit year")]
    Month(String),
}

/// The years a period given by a person may name: four digits, as the formats say. chrono's own
/// range ends near year 262,143, where the arithmetic of the next or previous period overflows.
pub const YEARS: std::ops::RangeInclusive<i32> = 0..=9999;

/// A four-digit year in [`YEARS`].
fn year(s: &str) -> Option<i32> {
    if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|y| YEARS.contains(y))
}

/// One or two ASCII digits (`parse` alone would take a sign).
fn small(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Period {
    pub fn parse_day(s: &str) -> Result<Period, PeriodError> {
        let err = || PeriodError::Day(s.into());
        let t = s.trim();
        let mut parts = t.splitn(3, '-');
        let (y, m, d) = (
            parts.next().and_then(year).ok_or_else(err)?,
            parts.next().and_then(small).ok_or_else(err)?,
            parts.next().and_then(small).ok_or_else(err)?,
        );
        NaiveDate::from_ymd_opt(y, m, d)
            .map(Period::Day)
            .ok_or_else(err)
    }

    pub fn parse_week(s: &str) -> Result<Period, PeriodError> {
        let err = || PeriodError::Week(s.into());
        let (y, w) = s
            .trim()
            .split_once("-W")
            .or_else(|| s.trim().split_once("-w"))
            .ok_or_else(err)?;
        let year = year(y).ok_or_else(err)?;
        let week = small(w).ok_or_else(err)?;
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(err)?;
        Ok(Period::Week(year, week))
    }

    pub fn parse_month(s: &str) -> Result<Period, PeriodError> {
        let err = || PeriodError::Month(s.into());
        let (y, m) = s.trim().split_once('-').ok_or_else(err)?;
        let year = year(y).ok_or_else(err)?;
        let month = small(m).ok_or_else(err)?;
        NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(err)?;
        Ok(Period::Month(year, month))
    }

    pub fn week_of(day: NaiveDate) -> Period {
        let w: IsoWeek = day.iso_week();
        Period::Week(w.year(), w.week())
    }

    pub fn month_of(day: NaiveDate) -> Period {
        Period::Month(day.year(), day.month())
    }

    /// First and last day, inclusive. Total: a period at the end of chrono's calendar (which
    /// parsing never gives, but a week or month of a stored day might) ends on its last day.
    pub fn range(&self) -> (NaiveDate, NaiveDate) {
        match *self {
            Period::Day(d) => (d, d),
            Period::Week(y, w) => {
                let start =
                    NaiveDate::from_isoywd_opt(y, w, Weekday::Mon).unwrap_or(NaiveDate::MIN);
                (
                    start,
                    start
                        .checked_add_signed(Duration::days(6))
                        .unwrap_or(NaiveDate::MAX),
                )
            }
            Period::Month(y, m) => {
                let start = NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MIN);
                let next = if m == 12 {
                    y.checked_add(1)
                        .and_then(|y| NaiveDate::from_ymd_opt(y, 1, 1))
                } else {
                    NaiveDate::from_ymd_opt(y, m + 1, 1)
                };
                let end = next.and_then(|n| n.pred_opt()).unwrap_or(NaiveDate::MAX);
                (start, end)
            }
        }
    }

    /// The period before; the first period of the calendar is its own previous one.
    pub fn prev(&self) -> Period {
        let (start, _) = self.range();
        self.same_kind_at(start.pred_opt().unwrap_or(start))
    }

    /// The period after; the last period of the calendar is its own next one.
    pub fn next(&self) -> Period {
        let (_, end) = self.range();
        self.same_kind_at(end.succ_opt().unwrap_or(end))
    }

    fn same_kind_at(&self, day: NaiveDate) -> Period {
        match self {
            Period::Day(_) => Period::Day(day),
            Period::Week(..) => Period::week_of(day),
            Period::Month(..) => Period::month_of(day),
        }
    }

    /// The path segment of the listing page: `date/2025-06-02`, `week/2025-W23`, `month/2025-06`.
    pub fn path(&self) -> String {
        match self {
            Period::Day(_) => format!("date/{self}"),
            Period::Week(..) => format!("week/{self}"),
            Period::Month(..) => format!("month/{self}"),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Day(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Period::Week(y, w) => write!(f, "{y:04}-W{w:02}"),
            Period::Month(y, m) => write!(f, "{y:04}-{m:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn week_range_and_navigation() {
        let w = Period::parse_week("2025-W01").unwrap();
        assert_eq!(w.range(), (d("2024-12-30"), d("2025-01-05")));
        assert_eq!(w.prev().to_string(), "2024-W52");
        assert_eq!(w.next().to_string(), "2025-W02");
        assert_eq!(Period::week_of(d("2025-06-04")).to_string(), "2025-W23");
        assert!(Period::parse_week("2025-W54").is_err());
        assert!(Period::parse_week("2025-13").is_err());
    }

    #[test]
    fn month_range_and_navigation() {
        let m = Period::parse_month("2024-02").unwrap();
        assert_eq!(m.range(), (d("2024-02-01"), d("2024-02-29")));
        assert_eq!(
            Period::parse_month("2024-12").unwrap().next().to_string(),
            "2025-01"
        );
        assert_eq!(m.prev().to_string(), "2024-01");
        assert!(Period::parse_month("2024-13").is_err());
    }

    #[test]
    fn years_outside_four_digits_are_refused_and_edges_do_not_panic() {
        for bad in [
            "262142-12",
            "+2025-01",
            "-001-01",
            "999-12",
            "10000-01",
            "2025-+1",
            "2025-1-",
        ] {
            assert!(Period::parse_month(bad).is_err(), "{bad}");
        }
        for bad in ["262143-W01", "262142-W52", "999-W01", "2025-W+1", "2025-W"] {
            assert!(Period::parse_week(bad).is_err(), "{bad}");
        }
        for bad in [
            "262142-12-31",
            "+2025-01-01",
            "2025-01-+1",
            "2025-1-1x",
            "99999-01-01",
        ] {
            assert!(Period::parse_day(bad).is_err(), "{bad}");
        }
        assert!(
            Period::parse_day("2025-1-2").is_ok(),
            "one-digit month and day"
        );
        for p in [
            Period::Month(262142, 12),
            Period::Week(262142, 52),
            Period::Day(NaiveDate::MAX),
            Period::Day(NaiveDate::MIN),
            Period::month_of(NaiveDate::MAX),
            Period::week_of(NaiveDate::MIN),
        ] {
            let (a, b) = p.range();
            assert!(a <= b, "{p:?}");
            let _ = (p.prev(), p.next(), p.path());
        }
        assert_eq!(
            Period::parse_month("9999-12").unwrap().next().to_string(),
            "10000-01"
        );
        assert_eq!(
            Period::parse_month("0001-01").unwrap().prev().to_string(),
            "0000-12"
        );
    }

    #[test]
    fn day_navigation_and_path() {
        let p = Period::parse_day("2025-03-01").unwrap();
        assert_eq!(p.prev().to_string(), "2025-02-28");
        assert_eq!(p.path(), "date/2025-03-01");
        assert!(Period::parse_day("2025-02-30").is_err());
    }
}
