//! JSON-lines formats from arXiv: listing records and Kaggle's metadata snapshot.

use paperboy_core::{Author, Paper, VersionedId};
use serde::Deserialize;

use crate::text::{
    collapse_ws, midnight, opt_line, opt_trimmed, parse_day, parse_rfc2822, split_author_list,
    trim_owned, versioned_id, BStr, Rejection,
};
use crate::{Record, RejectReason};

fn malformed(e: serde_json::Error) -> Rejection {
    (RejectReason::MalformedJson, e.to_string())
}

fn parse_id(id: Option<&str>) -> Result<VersionedId, Rejection> {
    let id = id
        .filter(|s| !s.trim().is_empty())
        .ok_or((RejectReason::MissingField, "no id".to_string()))?;
    versioned_id(id)
}

fn required_title(t: Option<String>) -> Result<String, Rejection> {
    t.map(collapse_ws)
        .filter(|t| !t.is_empty())
        .ok_or((RejectReason::MissingField, "no title".to_string()))
}

/// `{"id", "listing_date", "title", "authors": [], "categories": [], "comment", "abstract", …}`
#[derive(Deserialize)]
struct ListingLine<'a> {
    #[serde(borrow)]
    id: Option<BStr<'a>>,
    #[serde(borrow)]
    listing_date: Option<BStr<'a>>,
    title: Option<String>,
    authors: Option<Vec<String>>,
    categories: Option<Vec<String>>,
    comment: Option<String>,
    #[serde(rename = "abstract")]
    abstract_: Option<String>,
}

/// An arXiv listing record; `published` is the listing date at 00:00 UTC (the only date there is).
pub(crate) fn listing_line(line: &[u8]) -> Result<Record, Rejection> {
    let l: ListingLine = serde_json::from_slice(line).map_err(malformed)?;
    let vid = parse_id(l.id.as_deref())?;
    let title = required_title(l.title)?;
    let mut p = Paper::new(vid.id, title);
    p.version = vid.version;
    p.summary = l.abstract_.map(trim_owned).unwrap_or_default();
    p.authors = names(l.authors.unwrap_or_default());
    p.categories = l
        .categories
        .unwrap_or_default()
        .into_iter()
        .map(collapse_ws)
        .filter(|c| !c.is_empty())
        .collect();
    p.comment = opt_line(l.comment);
    if let Some(d) = l.listing_date.as_deref().filter(|d| !d.trim().is_empty()) {
        let d =
            parse_day(d).map_err(|e| (RejectReason::InvalidDate, format!("listing_date: {e}")))?;
        p.published = Some(midnight(d));
        p.announced = Some(d);
    }
    Ok(Record::Paper(p))
}

fn names(list: Vec<String>) -> Vec<Author> {
    list.into_iter()
        .map(collapse_ws)
        .filter(|n| !n.is_empty())
        .map(Author::named)
        .collect()
}

/// A line of Kaggle's `arxiv-metadata-oai-snapshot`.
#[derive(Deserialize)]
struct KaggleLine<'a> {
    #[serde(borrow)]
    id: Option<BStr<'a>>,
    title: Option<String>,
    #[serde(rename = "abstract")]
    abstract_: Option<String>,
    comments: Option<String>,
    #[serde(rename = "journal-ref")]
    journal_ref: Option<String>,
    doi: Option<String>,
    license: Option<String>,
    #[serde(borrow)]
    categories: Option<BStr<'a>>,
    #[serde(borrow)]
    versions: Option<Vec<KaggleVersion<'a>>>,
    #[serde(borrow)]
    authors_parsed: Option<Vec<Vec<BStr<'a>>>>,
    #[serde(borrow)]
    authors: Option<BStr<'a>>,
}

#[derive(Deserialize)]
struct KaggleVersion<'a> {
    #[serde(borrow)]
    version: Option<BStr<'a>>,
    #[serde(borrow)]
    created: Option<BStr<'a>>,
}

/// A Kaggle snapshot record: version and `updated` from the last entry of `versions`, `published`
/// from v1, authors from `authors_parsed` as "first last suffix".
pub(crate) fn kaggle_line(line: &[u8]) -> Result<Record, Rejection> {
    let l: KaggleLine = serde_json::from_slice(line).map_err(malformed)?;
    let vid = parse_id(l.id.as_deref())?;
    let title = required_title(l.title)?;
    let mut p = Paper::new(vid.id, title);
    p.summary = l.abstract_.map(trim_owned).unwrap_or_default();
    p.comment = opt_line(l.comments);
    p.journal_ref = opt_line(l.journal_ref);
    p.doi = opt_line(l.doi);
    p.license = opt_trimmed(l.license);
    if let Some(c) = l.categories {
        p.categories = c.split_whitespace().map(str::to_owned).collect();
    }
    p.authors = match l.authors_parsed {
        Some(parsed) if !parsed.is_empty() => parsed
            .iter()
            .filter_map(|parts| parsed_author(parts))
            .collect(),
        _ => l
            .authors
            .map(|a| {
                split_author_list(&a)
                    .into_iter()
                    .map(Author::named)
                    .collect()
            })
            .unwrap_or_default(),
    };
    let versions = l.versions.unwrap_or_default();
    if let Some(last) = versions.last() {
        p.version = match last.version.as_deref() {
            Some(v) => Some(version_number(v)?),
            None => None,
        };
        p.updated = created(last)?;
        let first = versions
            .iter()
            .find(|v| v.version.as_deref().map(str::trim) == Some("v1"))
            .unwrap_or(&versions[0]);
        p.published = created(first)?;
    } else {
        p.version = vid.version;
    }
    Ok(Record::Paper(p))
}

fn version_number(v: &str) -> Result<u32, Rejection> {
    let t = v.trim();
    t.strip_prefix(['v', 'V'])
        .unwrap_or(t)
        .parse()
        .map_err(|_| (RejectReason::MalformedJson, format!("not a version: {v:?}")))
}

fn created(v: &KaggleVersion) -> Result<Option<chrono::DateTime<chrono::Utc>>, Rejection> {
    match v.created.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(c) => parse_rfc2822(c)
            .map(Some)
            .map_err(|e| (RejectReason::InvalidDate, format!("versions.created: {e}"))),
        None => Ok(None),
    }
}

/// `[last, first, suffix, …]` -> "first last suffix", whitespace collapsed.
fn parsed_author(parts: &[BStr]) -> Option<Author> {
    let (last, first, suffix) = (parts.first()?, parts.get(1), parts.get(2));
    let mut name = String::with_capacity(last.len() + first.map_or(0, |f| f.len()) + 2);
    for piece in [first.map(|s| &**s), Some(&**last), suffix.map(|s| &**s)]
        .into_iter()
        .flatten()
    {
        for word in piece.split_whitespace() {
            if !name.is_empty() {
                name.push(' ');
            }
            name.push_str(word);
        }
    }
    (!name.is_empty()).then(|| Author::named(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper(r: Result<Record, Rejection>) -> Paper {
        match r {
            Ok(Record::Paper(p)) => p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn listing_record() {
        let line = br#"{"id": "2310.15741", "listing_date": "2026-02-25", "title": "Interpretable  Medical\n Image", "authors": ["Luisa Gallee", " Meinrad Beer "], "categories": ["cs.CV", "cs.AI"], "comment": "MICCAI\n  2023", "abstract": "Interpretability is\nessential. ", "abs_url": "https://arxiv.org/abs/2310.15741", "pdf_url": "https://arxiv.org/pdf/2310.15741"}"#;
        let p = paper(listing_line(line));
        assert_eq!(p.id.as_str(), "2310.15741");
        assert_eq!(p.title, "Interpretable Medical Image");
        assert_eq!(p.author_names(), ["Luisa Gallee", "Meinrad Beer"]);
        assert_eq!(p.categories, ["cs.CV", "cs.AI"]);
        assert_eq!(p.comment.as_deref(), Some("MICCAI 2023"));
        assert_eq!(p.summary, "Interpretability is\nessential.");
        assert_eq!(
            p.published.unwrap().to_rfc3339(),
            "2026-02-25T00:00:00+00:00"
        );
        assert_eq!(p.version, None);
        assert_eq!(
            listing_line(br#"{"id": "2310.15741", "title": "T", "listing_date": "soon"}"#)
                .unwrap_err()
                .0,
            RejectReason::InvalidDate
        );
        assert_eq!(
            listing_line(br#"{"title": "T"}"#).unwrap_err().0,
            RejectReason::MissingField
        );
        assert_eq!(
            listing_line(br#"{"id": "x", "title": "T"}"#).unwrap_err().0,
            RejectReason::InvalidId
        );
        assert_eq!(
            listing_line(br#"{"id": "2310.15741", "title": " "}"#)
                .unwrap_err()
                .0,
            RejectReason::MissingField
        );
        assert_eq!(
            listing_line(br#"{"id": "2310.15741", "title": "T""#)
                .unwrap_err()
                .0,
            RejectReason::MalformedJson
        );
    }

    #[test]
    fn kaggle_record() {
        let line = br#"{"id":"0704.0001","submitter":"Pavel Nadolsky","authors":"C. Bal\\'azs, E. L. Berger","title":"Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies","comments":"37 pages, 15 figures; published version","journal-ref":"Phys.Rev.D76:013009,2007","doi":"10.1103/PhysRevD.76.013009","report-no":"ANL-HEP-PR-07-12","categories":"hep-ph","license":null,"abstract":"  A fully differential calculation\nis presented.\n","versions":[{"version":"v1","created":"Mon, 2 Apr 2007 19:18:42 GMT"},{"version":"v2","created":"Tue, 24 Jul 2007 20:10:27 GMT"}],"update_date":"2008-11-26","authors_parsed":[["Bal\u00e1zs","C.",""],["Berger","E. L.",""],["Yuan","C. -P.",""],["Collaboration","The  ATLAS","Jr"]]}"#;
        let p = paper(kaggle_line(line));
        assert_eq!(p.id.as_str(), "0704.0001");
        assert_eq!(p.version, Some(2));
        assert_eq!(
            p.title,
            "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
        );
        assert_eq!(p.summary, "A fully differential calculation\nis presented.");
        assert_eq!(
            p.author_names(),
            [
                "C. Balázs",
                "E. L. Berger",
                "C. -P. Yuan",
                "The ATLAS Collaboration Jr"
            ]
        );
        assert_eq!(p.categories, ["hep-ph"]);
        assert_eq!(
            p.published.unwrap().to_rfc3339(),
            "2007-04-02T19:18:42+00:00"
        );
        assert_eq!(p.updated.unwrap().to_rfc3339(), "2007-07-24T20:10:27+00:00");
        assert_eq!(p.journal_ref.as_deref(), Some("Phys.Rev.D76:013009,2007"));
        assert_eq!(p.doi.as_deref(), Some("10.1103/PhysRevD.76.013009"));
        assert_eq!(
            p.comment.as_deref(),
            Some("37 pages, 15 figures; published version")
        );
        assert_eq!(p.license, None);

        let no_parsed = br#"{"id":"0704.0002","title":"T","authors":"Ileana Streinu and Louis Theran","categories":"math.CO  cs.CG","versions":[]}"#;
        let p = paper(kaggle_line(no_parsed));
        assert_eq!(p.author_names(), ["Ileana Streinu", "Louis Theran"]);
        assert_eq!(p.categories, ["math.CO", "cs.CG"]);
        assert_eq!((p.version, p.published), (None, None));

        let bad_date =
            br#"{"id":"0704.0002","title":"T","versions":[{"version":"v1","created":"2 April"}]}"#;
        assert_eq!(
            kaggle_line(bad_date).unwrap_err().0,
            RejectReason::InvalidDate
        );
    }
}
