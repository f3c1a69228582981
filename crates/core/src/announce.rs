//! arXiv's announcement schedule: on which day's "new" list a paper submitted at a given time
//! appears.
//!
//! arXiv takes submissions until 14:00 US Eastern time on each weekday and announces them that
//! evening at 20:00 ET; the list is dated the next weekday (arXiv's own "new submissions for
//! Tuesday" go out on Monday evening), so a paper submitted Monday 14:00 to Tuesday 14:00 ET is
//! on Wednesday's list, and one submitted Thursday 14:00 to Friday 14:00 on Monday's. The dates of
//! the shared listing data agree: 99.7% of them fall on Monday to Friday.
//!
//! Caveat: arXiv skips announcements on some holidays (a few days around Christmas and New Year,
//! US Thanksgiving and others, announced on its site each year) and then moves the deadlines.
//! This mapping knows no holidays: a paper submitted around one is dated by the regular
//! schedule, a day or two early. Sources that tell the day (a listing's `listing_date`, an
//! OAI-PMH datestamp of a first version) are taken over it.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};

/// The day of the list a submission at `at` appears on.
pub fn announcement_day(at: DateTime<Utc>) -> NaiveDate {
    let local = eastern(at);
    let before_deadline = local.time() < NaiveTime::from_hms_opt(14, 0, 0).expect("valid");
    // The weekday whose 14:00 deadline the submission makes.
    let mut deadline = local.date();
    if !(is_weekday(deadline) && before_deadline) {
        deadline = next_weekday(deadline);
    }
    next_weekday(deadline)
}

fn is_weekday(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

fn next_weekday(d: NaiveDate) -> NaiveDate {
    let mut next = d + Duration::days(1);
    while !is_weekday(next) {
        next += Duration::days(1);
    }
    next
}

/// US Eastern local time of `at`: UTC-4 from the second Sunday of March, 02:00 local, to the
/// first Sunday of November, 02:00 local (the rule since 2007), else UTC-5. Earlier years are
/// given the same rule: a paper of 2006 may be dated an hour off around the changes.
fn eastern(at: DateTime<Utc>) -> NaiveDateTime {
    let year = at.year();
    let start = nth_sunday(year, 3, 2).and_hms_opt(7, 0, 0).expect("valid"); // 02:00 EST
    let end = nth_sunday(year, 11, 1).and_hms_opt(6, 0, 0).expect("valid"); // 02:00 EDT
    let utc = at.naive_utc();
    let offset = if utc >= start && utc < end { 4 } else { 5 };
    utc - Duration::hours(offset)
}

/// The `n`th Sunday of `month` in `year`.
fn nth_sunday(year: i32, month: u32, n: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("valid month");
    let to_sunday = (7 - first.weekday().num_days_from_sunday()) % 7;
    first + Duration::days(i64::from(to_sunday + 7 * (n - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn submissions_before_the_deadline_are_on_the_next_weekdays_list() {
        // Monday 2025-07-14, 13:59 EDT = 17:59 UTC: announced Monday evening, dated Tuesday.
        assert_eq!(
            announcement_day(at("2025-07-14T17:59:00Z")),
            day("2025-07-15")
        );
        // 14:00 EDT: missed it, announced Tuesday evening, dated Wednesday.
        assert_eq!(
            announcement_day(at("2025-07-14T18:00:00Z")),
            day("2025-07-16")
        );
    }

    #[test]
    fn thursday_afternoon_to_friday_deadline_is_on_mondays_list() {
        assert_eq!(
            announcement_day(at("2025-07-17T19:00:00Z")),
            day("2025-07-21")
        );
        assert_eq!(
            announcement_day(at("2025-07-18T17:00:00Z")),
            day("2025-07-21")
        );
        // Friday after the deadline, the weekend, and Monday morning: Tuesday's list.
        assert_eq!(
            announcement_day(at("2025-07-18T19:00:00Z")),
            day("2025-07-22")
        );
        assert_eq!(
            announcement_day(at("2025-07-19T12:00:00Z")),
            day("2025-07-22")
        );
        assert_eq!(
            announcement_day(at("2025-07-21T13:00:00Z")),
            day("2025-07-22")
        );
    }

    #[test]
    fn the_deadline_follows_daylight_saving_time() {
        // January (EST, UTC-5): 18:30 UTC is 13:30 local, before the deadline.
        assert_eq!(
            announcement_day(at("2026-01-06T18:30:00Z")),
            day("2026-01-07")
        );
        // July (EDT, UTC-4): 18:30 UTC is 14:30 local, after it.
        assert_eq!(
            announcement_day(at("2025-07-08T18:30:00Z")),
            day("2025-07-10")
        );
        // Changes of 2026: 8 March and 1 November.
        assert_eq!(nth_sunday(2026, 3, 2), day("2026-03-08"));
        assert_eq!(nth_sunday(2026, 11, 1), day("2026-11-01"));
    }

    #[test]
    fn late_evening_utc_is_still_the_same_eastern_day() {
        // Tuesday 2025-07-15 02:00 UTC is Monday 22:00 EDT: after Monday's deadline.
        assert_eq!(
            announcement_day(at("2025-07-15T02:00:00Z")),
            day("2025-07-16")
        );
    }
}
