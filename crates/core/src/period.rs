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
    #[error("invalid date {0:?}: expected YYYY-MM-DD")]
    Day(String),
    #[error("invalid week {0:?}: expected YYYY-Www, e.g. 2025-W23")]
    Week(String),
    #[error("invalid month {0:?}: expected YYYY-MM")]
    Month(String),
}

impl Period {
    pub fn parse_day(s: &str) -> Result<Period, PeriodError> {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map(Period::Day)
            .map_err(|_| PeriodError::Day(s.into()))
    }

    pub fn parse_week(s: &str) -> Result<Period, PeriodError> {
        let err = || PeriodError::Week(s.into());
        let (y, w) = s
            .trim()
            .split_once("-W")
            .or_else(|| s.trim().split_once("-w"))
            .ok_or_else(err)?;
        let year: i32 = y.parse().map_err(|_| err())?;
        let week: u32 = w.parse().map_err(|_| err())?;
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(err)?;
        Ok(Period::Week(year, week))
    }

    pub fn parse_month(s: &str) -> Result<Period, PeriodError> {
        let err = || PeriodError::Month(s.into());
        let (y, m) = s.trim().split_once('-').ok_or_else(err)?;
        let year: i32 = y.parse().map_err(|_| err())?;
        let month: u32 = m.parse().map_err(|_| err())?;
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

    /// First and last day, inclusive.
    pub fn range(&self) -> (NaiveDate, NaiveDate) {
        match *self {
            Period::Day(d) => (d, d),
            Period::Week(y, w) => {
                let start = NaiveDate::from_isoywd_opt(y, w, Weekday::Mon).expect("validated week");
                (start, start + Duration::days(6))
            }
            Period::Month(y, m) => {
                let start = NaiveDate::from_ymd_opt(y, m, 1).expect("validated month");
                let next = if m == 12 {
                    NaiveDate::from_ymd_opt(y + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(y, m + 1, 1)
                };
                (start, next.expect("valid") - Duration::days(1))
            }
        }
    }

    pub fn prev(&self) -> Period {
        let (start, _) = self.range();
        self.same_kind_at(start - Duration::days(1))
    }

    pub fn next(&self) -> Period {
        let (_, end) = self.range();
        self.same_kind_at(end + Duration::days(1))
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
            Period::Week(y, w) => write!(f, "{y}-W{w:02}"),
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
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
    fn day_navigation_and_path() {
        let p = Period::parse_day("2025-03-01").unwrap();
        assert_eq!(p.prev().to_string(), "2025-02-28");
        assert_eq!(p.path(), "date/2025-03-01");
        assert!(Period::parse_day("2025-02-30").is_err());
    }
}
