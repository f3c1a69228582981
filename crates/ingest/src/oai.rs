//! OAI-PMH responses from arXiv (`ListRecords`/`GetRecord`) in the `arXiv` metadata format
//! (and `arXivRaw`, which carries the version history).

use paperboy_core::{Author, Paper};

use crate::text::{
    collapse_str, midnight, opt_line, opt_trimmed, optional_date, parse_day, parse_rfc2822,
    split_author_list, Rejection,
};
use crate::xml::{self, Element};
use crate::{IngestError, RecordError, RejectReason};

/// One page of an OAI-PMH harvest.
#[derive(Debug, Clone, PartialEq)]
pub struct OaiPage {
    /// One result per `<record>`, located as `record N` (1-based); deleted records are
    /// [`RejectReason::Deleted`] errors naming the identifier.
    pub records: Vec<Result<Paper, RecordError>>,
    /// The token for the next page; `None` on the last page (an empty `<resumptionToken/>`).
    pub resumption_token: Option<String>,
    pub complete_list_size: Option<u64>,
    pub cursor: Option<u64>,
    /// An OAI `<error code="…">message</error>` (`noRecordsMatch`, `badResumptionToken`, …).
    pub error: Option<(String, String)>,
    /// The newest header `<datestamp>` on the page (deleted records included): where an
    /// incremental harvest may start next time.
    pub latest_datestamp: Option<chrono::NaiveDate>,
}

const DOC_NAME: &str = "OAI-PMH response";

/// Parses one OAI-PMH response. A document that is not well-formed XML or not OAI-PMH is an
/// [`IngestError`] (a harvester should retry the page rather than advance past it).
pub fn parse_list_records(xml: &str) -> Result<OaiPage, IngestError> {
    parse_named(DOC_NAME, xml)
}

pub(crate) fn parse_named(name: &str, xml: &str) -> Result<OaiPage, IngestError> {
    let (root, error) = xml::parse(xml);
    if let Some(detail) = error {
        return Err(IngestError::Xml {
            name: name.to_string(),
            detail,
        });
    }
    let Some(oai) = root.child("OAI-PMH") else {
        let found = root
            .children
            .first()
            .map_or("nothing".to_string(), |e| format!("<{}>", e.name));
        return Err(IngestError::Document {
            name: name.to_string(),
            detail: format!("not an OAI-PMH response: found {found}"),
        });
    };
    let mut page = OaiPage {
        records: Vec::new(),
        resumption_token: None,
        complete_list_size: None,
        cursor: None,
        error: None,
        latest_datestamp: None,
    };
    if let Some(err) = oai.child("error") {
        page.error = Some((
            err.attr("code").unwrap_or("").to_string(),
            collapse_str(&err.text),
        ));
    }
    let Some(list) = oai.child("ListRecords").or_else(|| oai.child("GetRecord")) else {
        return Ok(page);
    };
    for (i, record) in list.children_named("record").enumerate() {
        let stamp = record
            .child("header")
            .and_then(|h| h.child_text("datestamp"))
            .and_then(|s| parse_day(s.trim().get(..10).unwrap_or(s)).ok());
        page.latest_datestamp = page.latest_datestamp.max(stamp);
        let paper = record_to_paper(record).map(|mut p| {
            // A first version's datestamp is the day arXiv announced it (later versions move
            // the datestamp; `<arXiv>` records say no version, but a first one has no update).
            if p.version == Some(1) || p.version.is_none() && p.updated.is_none() {
                p.announced = stamp;
            }
            p
        });
        page.records.push(paper.map_err(|(reason, detail)| {
            RecordError::new(format!("record {}", i + 1), reason, detail)
        }));
    }
    if let Some(token) = list.child("resumptionToken") {
        page.resumption_token = Some(token.text.trim().to_string()).filter(|t| !t.is_empty());
        page.complete_list_size = token
            .attr("completeListSize")
            .and_then(|v| v.trim().parse().ok());
        page.cursor = token.attr("cursor").and_then(|v| v.trim().parse().ok());
    }
    Ok(page)
}

fn record_to_paper(record: &Element) -> Result<Paper, Rejection> {
    let header = record.child("header");
    let identifier = header
        .and_then(|h| h.child_text("identifier"))
        .map(str::trim)
        .unwrap_or("");
    if header.and_then(|h| h.attr("status")) == Some("deleted") {
        let stamp = header
            .and_then(|h| h.child_text("datestamp"))
            .map(str::trim)
            .unwrap_or("");
        return Err((
            RejectReason::Deleted,
            format!("{identifier} deleted (datestamp {stamp})"),
        ));
    }
    let metadata = record.child("metadata").ok_or((
        RejectReason::MissingField,
        format!("{identifier}: no <metadata>"),
    ))?;
    if let Some(m) = metadata.child("arXiv") {
        arxiv_format(m, identifier)
    } else if let Some(m) = metadata.child("arXivRaw") {
        arxiv_raw_format(m, identifier)
    } else {
        let found = metadata
            .children
            .first()
            .map_or("nothing".to_string(), |e| format!("<{}>", e.name));
        Err((
            RejectReason::UnsupportedFormat,
            format!("{identifier}: metadata is {found}, expected <arXiv> or <arXivRaw>"),
        ))
    }
}

/// Fields both formats share.
fn common(m: &Element, identifier: &str) -> Result<Paper, Rejection> {
    let id = m
        .child_text("id")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(identifier);
    if id.is_empty() {
        return Err((RejectReason::MissingField, "no <id>".into()));
    }
    // A version in `<id>` is not taken: `<arXivRaw>` has its version history, `<arXiv>` none.
    let (mut p, _) = xml::paper_core(m, id, "abstract")?;
    p.categories = m
        .child_text("categories")
        .map(|c| c.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    p.comment = opt_line(m.child_string("comments"));
    p.journal_ref = opt_line(m.child_string("journal-ref"));
    p.doi = opt_line(m.child_string("doi"));
    p.license = opt_trimmed(m.child_string("license"));
    Ok(p)
}

/// `<arXiv>`: dates are days (taken at 00:00 UTC); there is no version.
fn arxiv_format(m: &Element, identifier: &str) -> Result<Paper, Rejection> {
    let mut p = common(m, identifier)?;
    if let Some(authors) = m.child("authors") {
        p.authors = authors
            .children_named("author")
            .filter_map(oai_author)
            .collect();
    }
    let day = |name: &str| {
        optional_date(m.child_text(name), format_args!("<{name}>"), |s| {
            parse_day(s).map(midnight)
        })
    };
    p.published = day("created")?;
    p.updated = day("updated")?;
    Ok(p)
}

/// "forenames keyname suffix".
fn oai_author(a: &Element) -> Option<Author> {
    let parts = [
        a.child_text("forenames"),
        a.child_text("keyname"),
        a.child_text("suffix"),
    ];
    let name = collapse_str(&parts.into_iter().flatten().collect::<Vec<_>>().join(" "));
    (!name.is_empty()).then(|| Author::named(name))
}

/// `<arXivRaw>`: authors as one string, a `<version version="vN"><date>RFC 2822</date>` history.
fn arxiv_raw_format(m: &Element, identifier: &str) -> Result<Paper, Rejection> {
    let mut p = common(m, identifier)?;
    p.authors = m
        .child_text("authors")
        .map(|a| {
            split_author_list(a)
                .into_iter()
                .map(Author::named)
                .collect()
        })
        .unwrap_or_default();
    let versions: Vec<&Element> = m.children_named("version").collect();
    let created =
        |v: &Element| optional_date(v.child_text("date"), "<version><date>", parse_rfc2822);
    if let Some(last) = versions.last() {
        p.version = last
            .attr("version")
            .and_then(|v| v.trim().trim_start_matches('v').parse().ok());
        p.updated = created(last)?;
        let first = versions
            .iter()
            .find(|v| v.attr("version").map(str::trim) == Some("v1"))
            .unwrap_or(&versions[0]);
        p.published = created(first)?;
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_records_tokens_and_errors() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
  <ListRecords>
    <record><header status="deleted"><identifier>oai:arXiv.org:0704.0005</identifier><datestamp>2020-01-01</datestamp></header></record>
    <record><header><identifier>oai:arXiv.org:0704.0001</identifier></header>
      <metadata><arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"><id>0704.0001</id>
        <version version="v1"><date>Mon, 2 Apr 2007 19:18:42 GMT</date></version>
        <version version="v2"><date>Tue, 24 Jul 2007 20:10:27 GMT</date></version>
        <title>Calculation of prompt diphoton production cross sections at Tevatron and
  LHC energies</title>
        <authors>C. Bal\'azs, E. L. Berger, P. M. Nadolsky and C.-P. Yuan</authors>
        <categories>hep-ph</categories></arXivRaw></metadata></record>
    <record><header><identifier>oai:arXiv.org:0704.0002</identifier></header><metadata><dc/></metadata></record>
    <resumptionToken cursor="0" completeListSize="12345">6154043|1001</resumptionToken>
  </ListRecords>
</OAI-PMH>"#;
        let page = parse_list_records(xml).unwrap();
        assert_eq!(page.records.len(), 3);
        let e = page.records[0].as_ref().unwrap_err();
        assert_eq!(
            (e.location.as_str(), e.reason),
            ("record 1", RejectReason::Deleted)
        );
        assert!(e.detail.contains("oai:arXiv.org:0704.0005"));
        let p = page.records[1].as_ref().unwrap();
        assert_eq!((p.id.as_str(), p.version), ("0704.0001", Some(2)));
        assert_eq!(p.authors.len(), 4);
        assert_eq!(
            p.published.unwrap().to_rfc3339(),
            "2007-04-02T19:18:42+00:00"
        );
        assert_eq!(
            page.records[2].as_ref().unwrap_err().reason,
            RejectReason::UnsupportedFormat
        );
        assert_eq!(page.resumption_token.as_deref(), Some("6154043|1001"));
        assert_eq!(
            (page.cursor, page.complete_list_size),
            (Some(0), Some(12345))
        );
        assert_eq!(page.error, None);

        let last = parse_list_records(r#"<OAI-PMH><ListRecords><resumptionToken cursor="1000" completeListSize="1001"/></ListRecords></OAI-PMH>"#).unwrap();
        assert_eq!(
            (last.resumption_token, last.cursor, last.complete_list_size),
            (None, Some(1000), Some(1001))
        );

        let err = parse_list_records(r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><request verb="ListRecords">http://oaipmh.arxiv.org/oai</request><error code="badResumptionToken">The value of the
  resumptionToken argument is invalid or expired.</error></OAI-PMH>"#)
        .unwrap();
        assert_eq!(
            err.error,
            Some((
                "badResumptionToken".into(),
                "The value of the resumptionToken argument is invalid or expired.".into()
            ))
        );
        assert!(err.records.is_empty());

        assert!(matches!(
            parse_list_records("<OAI-PMH><ListRecords>"),
            Err(IngestError::Xml { .. })
        ));
        assert!(matches!(
            parse_list_records("<feed/>"),
            Err(IngestError::Document { .. })
        ));
    }
}
