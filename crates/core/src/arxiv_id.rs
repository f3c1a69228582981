//! arXiv identifiers, parsed and normalised in one place.
//!
//! Accepted: new-style ids (`2505.15612`, `0704.0001`, with an optional `v2`), old-style ids
//! (`quant-ph/0210005v1`, `math.GT/0309136`), an `arXiv:` prefix, OAI identifiers
//! (`oai:arXiv.org:2504.11237`) and pasted URLs (`https://arxiv.org/abs/…`, `/pdf/….pdf`,
//! hf.co `/papers/…`). The normal form has no version and is what the store keys papers by.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A normalised arXiv identifier without a version, e.g. `2505.15612` or `quant-ph/0210005`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArxivId(String);

/// An identifier as written, with the version if one was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedId {
    pub id: ArxivId,
    pub version: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an arXiv id: {0:?}")]
pub struct IdError(pub String);

impl ArxivId {
    /// Parses anything a user may paste; the version, if any, is dropped.
    pub fn parse(input: &str) -> Result<ArxivId, IdError> {
        VersionedId::parse(input).map(|v| v.id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `yymm` of a new-style id (`2505.15612` -> (2025, 5)); old-style ids carry it after the slash.
    pub fn year_month(&self) -> Option<(i32, u32)> {
        let digits = match self.0.split_once('/') {
            Some((_, num)) => num,
            None => &self.0,
        };
        let yy: i32 = digits.get(0..2)?.parse().ok()?;
        let mm: u32 = digits.get(2..4)?.parse().ok()?;
        let year = if yy >= 91 { 1900 + yy } else { 2000 + yy };
        (1..=12).contains(&mm).then_some((year, mm))
    }

    pub fn abs_url(&self) -> String {
        format!("https://arxiv.org/abs/{}", self.0)
    }

    pub fn pdf_url(&self) -> String {
        format!("https://arxiv.org/pdf/{}", self.0)
    }
}

impl VersionedId {
    pub fn parse(input: &str) -> Result<VersionedId, IdError> {
        let err = || IdError(input.chars().take(120).collect());
        let mut s = input.trim();
        // URLs: keep the part after a known path segment.
        if let Some(pos) = s.find("://") {
            s = &s[pos + 3..];
        }
        for marker in ["/abs/", "/pdf/", "/papers/", "/html/", "/format/"] {
            if let Some(pos) = s.find(marker) {
                s = &s[pos + marker.len()..];
                break;
            }
        }
        s = s.split(['?', '#']).next().unwrap_or(s);
        s = s.trim_end_matches('/');
        s = s.strip_suffix(".pdf").unwrap_or(s);
        for prefix in [
            "oai:arXiv.org:",
            "oai:arxiv.org:",
            "arXiv:",
            "arxiv:",
            "ARXIV:",
        ] {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest;
            }
        }
        let s = s.trim();
        let (body, version) = split_version(s);
        let version = match version {
            Some(v) => Some(v.parse::<u32>().map_err(|_| err())?),
            None => None,
        };
        if is_new_style(body) || is_old_style(body) {
            Ok(VersionedId {
                id: ArxivId(normalise_case(body)),
                version,
            })
        } else {
            Err(err())
        }
    }
}

fn split_version(s: &str) -> (&str, Option<&str>) {
    if let Some(pos) = s.rfind('v') {
        let (body, v) = (&s[..pos], &s[pos + 1..]);
        if !v.is_empty()
            && v.bytes().all(|b| b.is_ascii_digit())
            && body.ends_with(|c: char| c.is_ascii_digit())
        {
            return (body, Some(v));
        }
    }
    (s, None)
}

/// `YYMM.NNNN` (2007-2014) or `YYMM.NNNNN` (2015 on).
fn is_new_style(s: &str) -> bool {
    let Some((yymm, num)) = s.split_once('.') else {
        return false;
    };
    yymm.len() == 4
        && yymm.bytes().all(|b| b.is_ascii_digit())
        && (4..=5).contains(&num.len())
        && num.bytes().all(|b| b.is_ascii_digit())
        && (1..=12).contains(&yymm[2..4].parse::<u32>().unwrap_or(0))
}

/// `archive(.SUBJ)?/YYMMNNN`, e.g. `quant-ph/0210005`, `math.GT/0309136`.
fn is_old_style(s: &str) -> bool {
    let Some((archive, num)) = s.split_once('/') else {
        return false;
    };
    let (arch, subj) = match archive.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (archive, None),
    };
    !arch.is_empty()
        && arch
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_uppercase())
        && subj.is_none_or(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic()))
        && num.len() == 7
        && num.bytes().all(|b| b.is_ascii_digit())
}

/// Archive names are lower case; a subject class keeps its upper case (`math.GT`).
fn normalise_case(s: &str) -> String {
    match s.split_once('/') {
        Some((archive, num)) => {
            let archive = match archive.split_once('.') {
                Some((a, subj)) => {
                    format!("{}.{}", a.to_ascii_lowercase(), subj.to_ascii_uppercase())
                }
                None => archive.to_ascii_lowercase(),
            };
            format!("{archive}/{num}")
        }
        None => s.to_string(),
    }
}

impl fmt::Display for ArxivId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ArxivId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ArxivId::parse(s)
    }
}

impl TryFrom<String> for ArxivId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ArxivId::parse(&s)
    }
}

impl From<ArxivId> for String {
    fn from(id: ArxivId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_and_versions() {
        for (input, id, version) in [
            // New style, with and without a version.
            ("2505.15612", "2505.15612", None),
            ("2505.15612v2", "2505.15612", Some(2)),
            ("0704.0001", "0704.0001", None),
            (" arXiv:2505.15612v10 ", "2505.15612", Some(10)),
            // Old style.
            ("quant-ph/0210005v1", "quant-ph/0210005", Some(1)),
            ("math.GT/0309136", "math.GT/0309136", None),
            ("physics/0507092v1", "physics/0507092", Some(1)),
            // URLs and OAI identifiers.
            ("https://arxiv.org/abs/2505.15612v3", "2505.15612", Some(3)),
            (
                "https://arxiv.org/pdf/2505.15612v1.pdf",
                "2505.15612",
                Some(1),
            ),
            ("http://arxiv.org/pdf/2505.15612", "2505.15612", None),
            (
                "https://huggingface.co/papers/2505.15612",
                "2505.15612",
                None,
            ),
            ("hf.co/papers/2505.15612#community", "2505.15612", None),
            (
                "http://arxiv.org/abs/quant-ph/0210005v1",
                "quant-ph/0210005",
                Some(1),
            ),
            ("oai:arXiv.org:2504.11237", "2504.11237", None),
            ("https://arxiv.org/abs/2505.15612/", "2505.15612", None),
        ] {
            let p = VersionedId::parse(input).expect(input);
            assert_eq!(
                (p.id.to_string(), p.version),
                (id.to_string(), version),
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "hello",
            "2505.156",
            "2513.15612",
            "2505.156123",
            "quant-ph/021",
            "v2",
            "<script>",
            "2505.15612vx",
        ] {
            assert!(VersionedId::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn year_month() {
        for (id, year_month) in [
            ("2505.15612", (2025, 5)),
            ("quant-ph/0210005", (2002, 10)),
            ("hep-th/9901001", (1999, 1)),
        ] {
            assert_eq!(ArxivId::parse(id).unwrap().year_month(), Some(year_month));
        }
    }

    #[test]
    fn serde_round_trip_normalises() {
        let id: ArxivId = serde_json::from_str("\"2505.15612v2\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"2505.15612\"");
        assert!(serde_json::from_str::<ArxivId>("\"nope\"").is_err());
    }
}
