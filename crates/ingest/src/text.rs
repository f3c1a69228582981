//! Small text, id and date helpers shared by the parsers.

use std::borrow::Cow;
use std::fmt::Display;

use chrono::{DateTime, NaiveDate, Utc};
use paperboy_core::VersionedId;
use serde::Deserialize;

use crate::RejectReason;

/// Why one record was rejected, before its location is known.
pub(crate) type Rejection = (RejectReason, String);

/// A record's arXiv id, with the version when it names one; an id that does not parse rejects
/// the record.
pub(crate) fn versioned_id(id: &str) -> Result<VersionedId, Rejection> {
    VersionedId::parse(id).map_err(|e| (RejectReason::InvalidId, e.to_string()))
}

/// An optional date field: absent or blank is `None`; anything else (trimmed) `parse` must read,
/// or the record is rejected as an invalid date, the error after `what`.
pub(crate) fn optional_date<T, E: Display>(
    value: Option<&str>,
    what: impl Display,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, Rejection> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => parse(s)
            .map(Some)
            .map_err(|e| (RejectReason::InvalidDate, format!("{what}: {e}"))),
        None => Ok(None),
    }
}

/// Collapses every run of whitespace to one space and trims the ends, reusing the string when it
/// is already clean (the common case for one-line fields).
pub(crate) fn collapse_ws(s: String) -> String {
    if is_collapsed(&s) {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// [`collapse_ws`] for a borrowed string.
pub(crate) fn collapse_str(s: &str) -> String {
    if is_collapsed(s) {
        return s.to_owned();
    }
    collapse_ws(s.to_owned())
}

fn is_collapsed(s: &str) -> bool {
    let mut prev_space = true; // a leading space is not clean either
    for c in s.chars() {
        if c == ' ' {
            if prev_space {
                return false;
            }
            prev_space = true;
        } else if c.is_whitespace() {
            return false;
        } else {
            prev_space = false;
        }
    }
    !prev_space || s.is_empty()
}

/// Trims both ends in place (no new allocation).
pub(crate) fn trim_owned(mut s: String) -> String {
    let end = s.trim_end().len();
    s.truncate(end);
    let start = s.len() - s.trim_start().len();
    if start > 0 {
        s.drain(..start);
    }
    s
}

/// Collapses whitespace and turns an empty result into `None` (for optional one-line fields such
/// as comments, journal references and DOIs).
pub(crate) fn opt_line(s: Option<String>) -> Option<String> {
    s.map(collapse_ws).filter(|s| !s.is_empty())
}

/// Trims and turns an empty result into `None`.
pub(crate) fn opt_trimmed(s: Option<String>) -> Option<String> {
    s.map(trim_owned).filter(|s| !s.is_empty())
}

/// An RFC 3339 timestamp (`2025-06-09T17:59:53.000Z`), or a bare date taken as 00:00 UTC.
pub(crate) fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(d) = t.parse::<NaiveDate>() {
        return Ok(midnight(d));
    }
    Err(format!("not a timestamp: {:?}", truncate(t, 60)))
}

/// An RFC 2822 date as in arXiv's version history (`Mon, 2 Apr 2007 19:18:42 GMT`).
pub(crate) fn parse_rfc2822(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc2822(s.trim())
        .map(|dt| dt.with_timezone(&Utc))
        .map_err(|_| format!("not an RFC 2822 date: {:?}", truncate(s, 60)))
}

/// A `YYYY-MM-DD` date.
pub(crate) fn parse_day(s: &str) -> Result<NaiveDate, String> {
    s.trim()
        .parse::<NaiveDate>()
        .map_err(|_| format!("not a YYYY-MM-DD date: {:?}", truncate(s, 60)))
}

pub(crate) fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0)
        .expect("00:00:00 is a valid time")
        .and_utc()
}

/// Splits an arXiv author string (`A. One, B. Two and C. Three`) into names, ignoring commas and
/// "and" inside parentheses (affiliations).
pub(crate) fn split_author_list(s: &str) -> Vec<String> {
    let flat = collapse_str(s);
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let bytes = flat.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                parts.push(&flat[start..i]);
                start = i + 1;
            }
            b' ' if depth == 0 && flat[i..].starts_with(" and ") => {
                parts.push(&flat[start..i]);
                i += 5;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&flat[start..]);
    parts
        .into_iter()
        .map(|p| p.trim().strip_prefix("and ").unwrap_or(p.trim()).trim())
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// At most `max` characters of `s`, for error messages.
pub(crate) fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        Some((i, _)) => Cow::Owned(format!("{}…", &s[..i])),
        None => Cow::Borrowed(s),
    }
}

/// The last path component (`Paper_metadata_download/2024-12-11.json` -> `2024-12-11.json`).
pub(crate) fn basename(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// A string that borrows from the input line when it has no escapes (serde only borrows a `Cow`
/// that is a field itself, hence the newtype for use inside `Option` and `Vec`).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct BStr<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::ops::Deref for BStr<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f` turns each input into the output beside it.
    fn assert_maps(f: fn(String) -> String, cases: &[(&str, &str)]) {
        for &(input, output) in cases {
            assert_eq!(f(input.into()), output, "{input:?}");
        }
    }

    #[test]
    fn collapse_whitespace() {
        assert_maps(
            collapse_ws,
            &[
                (
                    "Calculation of X at Tevatron and\n  LHC energies",
                    "Calculation of X at Tevatron and LHC energies",
                ),
                ("  a \t b  ", "a b"),
                ("clean title", "clean title"),
                ("", ""),
                ("   ", ""),
                ("a\u{a0}b", "a b"),
            ],
        );
        assert!(is_collapsed("a b c"));
        assert!(!is_collapsed("a b "));
        assert!(!is_collapsed(" a"));
        assert!(!is_collapsed("a  b"));
    }

    #[test]
    fn trim_in_place_keeps_inner_breaks() {
        assert_maps(
            trim_owned,
            &[
                (
                    "  A fully\ndifferential calculation.\n",
                    "A fully\ndifferential calculation.",
                ),
                ("x", "x"),
                (" \n ", ""),
            ],
        );
    }

    #[test]
    fn dates() {
        for (input, utc) in [
            ("2025-06-09T17:59:53.000Z", "2025-06-09T17:59:53+00:00"),
            ("2019-08-10T00:00:00-04:00", "2019-08-10T04:00:00+00:00"),
            ("2025-04-15", "2025-04-15T00:00:00+00:00"),
        ] {
            assert_eq!(parse_timestamp(input).unwrap().to_rfc3339(), utc, "{input}");
        }
        assert!(parse_timestamp("yesterday").is_err());
        assert_eq!(
            parse_rfc2822("Mon, 2 Apr 2007 19:18:42 GMT")
                .unwrap()
                .to_rfc3339(),
            "2007-04-02T19:18:42+00:00"
        );
        assert!(parse_day("2025-13-01").is_err());
        assert_eq!(basename("a/b/2024-12-11.json"), "2024-12-11.json");
        assert_eq!(truncate("abcdef", 3), "abc…");
    }

    #[test]
    fn author_lists() {
        assert_eq!(
            split_author_list("C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan"),
            [
                "C. Bal\\'azs",
                "E. L. Berger",
                "P. M. Nadolsky",
                "C.-P. Yuan"
            ]
        );
        assert_eq!(
            split_author_list("Ileana Streinu and Louis Theran"),
            ["Ileana Streinu", "Louis Theran"]
        );
        assert_eq!(
            split_author_list("A. One, B. Two, and C.\n  Three"),
            ["A. One", "B. Two", "C. Three"]
        );
        assert_eq!(
            split_author_list("A. One (MIT, and Harvard), B. Two"),
            ["A. One (MIT, and Harvard)", "B. Two"]
        );
        assert!(split_author_list("  ").is_empty());
    }
}
