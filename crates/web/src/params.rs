//! The shapes of request parameters, as `/openapi.json` states them: page numbers, whole
//! numbers, days, email addresses and the patterns of the rest, and the query extractor whose
//! refusal is the `invalid_parameter` error. Handlers check their parameters here and the
//! document is written from the same constants, so the two cannot drift.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::NaiveDate;
use paperboy_core::Period;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A request's query parameters as `T`; a query that does not parse is refused with the
/// `invalid_parameter` error, shown as the route shows its errors.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(t)| Query(t))
            .map_err(|e| ApiError::invalid(e.body_text()))
    }
}

/// The highest page number any route takes. Search never reads past
/// [`paperboy_search::MAX_DEPTH`] results, so deeper pages would be empty anyway; refusing them
/// keeps every `page * size` far from overflowing.
pub const MAX_PAGE: usize = 10_000;

/// A whole number parameter from `min` to `max`; absent means `default`. Empty, signed, fractional
/// or out-of-range values are refused with a message naming the parameter.
pub fn whole(
    name: &str,
    s: Option<&str>,
    (min, max): (usize, usize),
    default: usize,
) -> Result<usize, ApiError> {
    let Some(s) = s else {
        return Ok(default);
    };
    match s.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) && s.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(ApiError::invalid(format!(
            "{name} must be a whole number from {min} to {max}, not {s:?}"
        ))),
    }
}

/// A page number from 0 to [`MAX_PAGE`]; absent means 0.
pub fn page_number(name: &str, s: Option<&str>) -> Result<usize, ApiError> {
    whole(name, s, (0, MAX_PAGE), 0)
}

/// Items per page of the API's lists, unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_DAILY_LIMIT: usize = 100;
pub const MAX_SEARCH_LIMIT: usize = 120;
/// Longest cursor `/api/papers` takes: a timestamp, `~` and an arXiv id fit in 60.
pub const MAX_CURSOR_CHARS: usize = 200;
/// Longest `submitter` name `/api/daily_papers` takes.
pub const MAX_SUBMITTER_CHARS: usize = 100;
/// Longest `category` a search or a category feed takes (arXiv's are under 20).
pub const MAX_CATEGORY_CHARS: usize = 64;
/// Longest author name an author feed takes.
pub const MAX_AUTHOR_CHARS: usize = 200;
/// A personal API token's name.
pub const MAX_TOKEN_NAME_CHARS: usize = 64;
/// A collection's title, description and an item's note, as hf.co bounds the first two.
pub const MAX_COLLECTION_TITLE_CHARS: usize = 60;
pub const MAX_COLLECTION_DESCRIPTION_CHARS: usize = 150;
pub const MAX_COLLECTION_NOTE_CHARS: usize = 500;

/// The shape of the `{id}` the OpenAPI document promises to take: a new-style id
/// (`2505.15612`) or an old-style one (`hep-th/9901001`, `math.GT/0309136`), with an optional
/// version. A shaped id that names no possible paper is a 404; anything else is a 400.
pub const PAPER_ID_PATTERN: &str =
    r"^([0-9]{4}\.[0-9]{4,5}|[a-z]+(-[a-z]+)*(\.[A-Za-z]{2})?/[0-9]{7})(v[0-9]+)?$";

/// The shapes of parameters, as `/openapi.json` states them; the code checks the same patterns.
pub const DATE_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
pub const WEEK_PATTERN: &str = "^[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$";
pub const MONTH_PATTERN: &str = "^[0-9]{4}-(0[1-9]|1[0-2])$";
/// Text without control characters (PostgreSQL refuses NUL in what it compares).
pub const NO_CONTROLS: &str = "^[^\\x00-\\x1f\\x7f]*$";
pub const CURSOR_PATTERN: &str = "^[^\\x00-\\x1f\\x7f]*~[^\\x00-\\x1f\\x7f]*$";
/// An arXiv category or archive as lists name them: `cs.CV`, `hep-th`, `q-bio.BM`.
pub const CATEGORY_PATTERN: &str = "^[A-Za-z][A-Za-z-]{0,31}(\\.[A-Za-z][A-Za-z-]{0,31})?$";

/// Whether `s` has the shape `pattern` describes, read as the document's readers read it:
/// Python's JSON Schema validators let `$` match before one final newline.
pub fn shaped(pattern: &'static str, s: &str) -> bool {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static COMPILED: OnceLock<Mutex<HashMap<&'static str, regex::Regex>>> = OnceLock::new();
    let mut cache = COMPILED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let re = cache
        .entry(pattern)
        .or_insert_with(|| regex::Regex::new(pattern).expect("the document's patterns compile"));
    re.is_match(s.strip_suffix('\n').unwrap_or(s))
}

/// An optional day: absent is None; anything but a date `YYYY-MM-DD` (with a four-digit year,
/// as listings take) is refused.
pub fn parse_opt_day(name: &str, s: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    match s {
        None => Ok(None),
        Some(s) => match Period::parse_day(s) {
            Ok(Period::Day(d)) if shaped(DATE_PATTERN, s) => Ok(Some(d)),
            _ => Err(ApiError::invalid(format!(
                "{name} must be a date YYYY-MM-DD, not {s:?}"
            ))),
        },
    }
}

/// A parameter that must have a documented shape.
pub fn checked<'a>(
    name: &str,
    s: Option<&'a str>,
    pattern: &'static str,
    what: &str,
) -> Result<Option<&'a str>, ApiError> {
    match s {
        Some(v) if !shaped(pattern, v) => Err(ApiError::invalid(format!(
            "{name} must be {what}, not {v:?}"
        ))),
        other => Ok(other),
    }
}

/// Free text without control characters, at most `max` characters.
pub fn plain_text<'a>(
    name: &str,
    s: Option<&'a str>,
    max: usize,
) -> Result<Option<&'a str>, ApiError> {
    match s {
        Some(v) if v.chars().count() > max || !shaped(NO_CONTROLS, v) => Err(ApiError::invalid(
            format!("{name} is at most {max} characters, without control characters"),
        )),
        other => Ok(other),
    }
}

/// Text a reader typed (a name, a title, a note), trimmed: `min` to `max` characters and no
/// control characters, line breaks aside where `newlines`.
pub fn typed_text<'a>(
    what: &str,
    s: &'a str,
    (min, max): (usize, usize),
    newlines: bool,
) -> Result<&'a str, ApiError> {
    let s = s.trim();
    let n = s.chars().count();
    let control = |c: char| c.is_control() && !(newlines && c == '\n');
    if n < min || n > max || s.chars().any(control) {
        return Err(ApiError::invalid(format!(
            "{what} has {min} to {max} characters"
        )));
    }
    Ok(s)
}

/// An email address as a form sent it: trimmed and lowercased, refused unless [`valid_email`].
pub fn email_address(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(ApiError::invalid(format!(
            "{email:?} is not an email address"
        )));
    }
    Ok(email)
}

/// Loosely an email address: something, `@`, a dotted domain, and nothing that would break a
/// mail header.
pub fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    e.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ','))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_is_trimmed_and_bounded() {
        assert_eq!(
            typed_text("title", "  A title ", (1, 10), false).unwrap(),
            "A title"
        );
        assert!(typed_text("title", "   ", (1, 10), false).is_err());
        assert_eq!(typed_text("note", "", (0, 10), true).unwrap(), "");
        assert!(typed_text("title", "eleven char", (1, 10), false).is_err());
        assert!(typed_text("title", "two\nlines", (1, 20), false).is_err());
        assert_eq!(
            typed_text("note", "two\nlines", (0, 20), true).unwrap(),
            "two\nlines"
        );
        assert!(typed_text("note", "a\u{7}bell", (0, 20), true).is_err());
        let e = typed_text("an author's name", "", (1, 200), false).unwrap_err();
        assert_eq!(e.message, "an author's name has 1 to 200 characters");
    }

    #[test]
    fn emails_are_checked_loosely() {
        assert!(valid_email("a@b.org"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("a b@c.org"));
        assert!(!valid_email("<a@b.org>"));
    }
}
