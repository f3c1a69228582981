//! arXiv API (`/api/query`) Atom feeds.

use paperboy_core::{Author, Paper};

use crate::text::{collapse_str, opt_line, optional_date, parse_timestamp};
use crate::xml::{self, Element};
use crate::{RecordError, RejectReason};

/// Parses an arXiv Atom feed into one result per `<entry>`, in order, located as `record N`
/// (1-based). An error entry (id `http://arxiv.org/api/errors#…`) is an [`RejectReason::ApiError`]
/// with the API's message; a document that breaks off or is not a feed adds one
/// [`RejectReason::MalformedXml`] error after the entries read before the break.
pub fn parse_feed(xml: &str) -> Vec<Result<Paper, RecordError>> {
    let (root, error) = xml::parse(xml);
    let mut out = Vec::new();
    let Some(feed) = root.child("feed") else {
        let detail = error.unwrap_or_else(|| match root.children.first() {
            Some(el) => format!("expected an Atom <feed>, found <{}>", el.name),
            None => "no XML element".to_string(),
        });
        out.push(Err(RecordError::new(
            "document",
            RejectReason::MalformedXml,
            detail,
        )));
        return out;
    };
    let mut broken_at = None;
    for (i, entry) in feed.children_named("entry").enumerate() {
        let location = format!("record {}", i + 1);
        if !entry.complete {
            broken_at = Some(location);
            break;
        }
        out.push(
            entry_to_paper(entry)
                .map_err(|(reason, detail)| RecordError::new(location, reason, detail)),
        );
    }
    if let Some(e) = error {
        out.push(Err(RecordError::new(
            broken_at.unwrap_or_else(|| "document".into()),
            RejectReason::MalformedXml,
            e,
        )));
    }
    out
}

fn entry_to_paper(entry: &Element) -> Result<Paper, (RejectReason, String)> {
    let id = entry
        .child_text("id")
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let id = id.ok_or((RejectReason::MissingField, "entry without <id>".to_string()))?;
    if id.contains("/api/errors") {
        let msg = entry
            .child_text("summary")
            .map(str::trim)
            .filter(|s| !s.is_empty());
        return Err((
            RejectReason::ApiError,
            format!("{} ({id})", msg.unwrap_or("arXiv API error")),
        ));
    }
    let (mut p, version) = xml::paper_core(entry, id, "summary")?;
    p.version = version;
    p.authors = entry
        .children_named("author")
        .filter_map(|a| a.child_text("name"))
        .map(collapse_str)
        .filter(|n| !n.is_empty())
        .map(Author::named)
        .collect();
    let date = |name: &str| {
        optional_date(
            entry.child_text(name),
            format_args!("<{name}>"),
            parse_timestamp,
        )
    };
    p.published = date("published")?;
    p.updated = date("updated")?;
    let primary = entry.child("primary_category").and_then(|c| c.attr("term"));
    for term in primary.into_iter().chain(
        entry
            .children_named("category")
            .filter_map(|c| c.attr("term")),
    ) {
        let term = term.trim();
        if !term.is_empty() && !p.categories.iter().any(|c| c == term) {
            p.categories.push(term.to_owned());
        }
    }
    p.doi = opt_line(entry.child_string("doi"));
    p.journal_ref = opt_line(entry.child_string("journal_ref"));
    p.comment = opt_line(entry.child_string("comment"));
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERROR_FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">ArXiv Query: search_query=&amp;id_list=1234.12345x</title>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345x</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.12345x</summary>
    <updated>2019-08-10T00:00:00-04:00</updated>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>"#;

    #[test]
    fn api_error_entry_is_a_record_error() {
        let got = parse_feed(ERROR_FEED);
        assert_eq!(got.len(), 1);
        let e = got[0].as_ref().unwrap_err();
        assert_eq!(e.reason, RejectReason::ApiError);
        assert_eq!(e.location, "record 1");
        assert!(
            e.detail.contains("incorrect id format for 1234.12345x"),
            "{}",
            e.detail
        );
    }

    #[test]
    fn entry_fields_and_category_order() {
        let xml = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <entry>
    <id>http://arxiv.org/abs/2505.15612v3</id>
    <updated>2025-05-22T10:00:00Z</updated>
    <published>2025-05-21T17:59:59Z</published>
    <title>A  wrapped
  title</title>
    <summary>  Line one
line two.
</summary>
    <author><name>Ann  Author</name><arxiv:affiliation>MIT</arxiv:affiliation></author>
    <author><name>Bo B</name></author>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <arxiv:primary_category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <arxiv:comment>12 pages,
  3 figures</arxiv:comment>
  </entry>
  <entry><id>http://arxiv.org/abs/nonsense</id><title>x</title></entry>
  <entry><id>http://arxiv.org/abs/2505.15613v1</id><title>x</title><published>Tuesday</published></entry>
  <entry><id>http://arxiv.org/abs/2505.15614v1</id></entry>
</feed>"#;
        let got = parse_feed(xml);
        assert_eq!(got.len(), 4);
        let p = got[0].as_ref().unwrap();
        assert_eq!((p.id.as_str(), p.version), ("2505.15612", Some(3)));
        assert_eq!(p.title, "A wrapped title");
        assert_eq!(p.summary, "Line one\nline two.");
        assert_eq!(p.author_names(), ["Ann Author", "Bo B"]);
        assert_eq!(p.categories, ["cs.CL", "cs.LG"]);
        assert_eq!(p.comment.as_deref(), Some("12 pages, 3 figures"));
        assert_eq!(
            p.published.unwrap().to_rfc3339(),
            "2025-05-21T17:59:59+00:00"
        );
        let reasons: Vec<_> = got[1..]
            .iter()
            .map(|r| r.as_ref().unwrap_err().reason)
            .collect();
        assert_eq!(
            reasons,
            [
                RejectReason::InvalidId,
                RejectReason::InvalidDate,
                RejectReason::MissingField
            ]
        );
        assert_eq!(got[2].as_ref().unwrap_err().location, "record 3");
    }

    #[test]
    fn broken_documents() {
        let got = parse_feed("<feed><entry><id>http://arxiv.org/abs/2505.15612v1</id><title>T</title></entry><entry><id>x</i></entry></feed>");
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        let e = got[1].as_ref().unwrap_err();
        assert_eq!(
            (e.location.as_str(), e.reason),
            ("record 2", RejectReason::MalformedXml)
        );

        let got = parse_feed("<OAI-PMH/>");
        assert_eq!(
            got[0].as_ref().unwrap_err().reason,
            RejectReason::MalformedXml
        );
        let got = parse_feed("");
        assert_eq!(
            got[0].as_ref().unwrap_err().reason,
            RejectReason::MalformedXml
        );
    }
}
