//! Opening inputs: gzip and tar unwrapping, format detection, and dispatch to the parsers, with
//! progress counted on the bytes read from the underlying source.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;

use crate::hf::{self, FlatState};
use crate::text::{basename, Rejection};
use crate::{atom, jsonl, oai, Format, IngestError, Record, RecordError, RejectReason, Sink};

/// Bytes looked at to recognise compression, archives and formats.
const HEAD_LEN: usize = 64 * 1024;
/// Read buffer for JSON lines.
const BUF_LEN: usize = 1 << 20;
/// Progress is reported each time this many more source bytes have been read.
const PROGRESS_STEP: u64 = 4 << 20;
/// gzip inside tar inside gzip… stops here.
const MAX_NESTING: u32 = 4;
const BOM: &[u8] = b"\xEF\xBB\xBF";
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// Counts the bytes read through it.
struct Counting<'a> {
    inner: &'a mut dyn Read,
    count: Rc<Cell<u64>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

struct Ctx<'s> {
    sink: &'s mut dyn Sink,
    count: Rc<Cell<u64>>,
    last_reported: u64,
}

impl Ctx<'_> {
    fn emit(&mut self, item: Result<Record, RecordError>) {
        self.sink.record(item);
    }

    fn tick(&mut self) {
        let c = self.count.get();
        if c >= self.last_reported + PROGRESS_STEP {
            self.sink.progress(c);
            self.last_reported = c;
        }
    }
}

pub(crate) fn read_stream(
    name: &str,
    reader: &mut dyn Read,
    sink: &mut dyn Sink,
) -> Result<(), IngestError> {
    let count = Rc::new(Cell::new(0));
    let mut counting = Counting {
        inner: reader,
        count: Rc::clone(&count),
    };
    let mut ctx = Ctx {
        sink,
        count,
        last_reported: 0,
    };
    read_any(name, "", &mut counting, &mut ctx, 0)?;
    let total = ctx.count.get();
    ctx.sink.progress(total);
    Ok(())
}

fn read_err(name: &str) -> impl Fn(io::Error) -> IngestError + '_ {
    move |source| IngestError::Read {
        name: name.to_string(),
        source,
    }
}

/// `prefix` goes before record locations (a tar member's name).
fn read_any(
    name: &str,
    prefix: &str,
    r: &mut dyn Read,
    ctx: &mut Ctx,
    depth: u32,
) -> Result<(), IngestError> {
    let mut head = Vec::with_capacity(HEAD_LEN);
    r.take(HEAD_LEN as u64)
        .read_to_end(&mut head)
        .map_err(read_err(name))?;
    let lower = name.to_ascii_lowercase();
    if head.starts_with(GZIP_MAGIC) {
        if depth >= MAX_NESTING {
            return Err(IngestError::Document {
                name: name.to_string(),
                detail: "archives nested too deep".into(),
            });
        }
        let inner_name = if lower.ends_with(".tgz") {
            format!("{}.tar", &name[..name.len() - 4])
        } else if lower.ends_with(".gz") {
            name[..name.len() - 3].to_string()
        } else {
            name.to_string()
        };
        let mut gz = MultiGzDecoder::new(Cursor::new(head).chain(r));
        return read_any(&inner_name, prefix, &mut gz, ctx, depth + 1).map_err(|e| match e {
            // Name the file the user gave, not the name inside the compression.
            IngestError::Read { source, .. } => IngestError::Read {
                name: name.to_string(),
                source,
            },
            other => other,
        });
    }
    if lower.ends_with(".gz") || lower.ends_with(".tgz") {
        return Err(IngestError::NotGzip {
            name: name.to_string(),
        });
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        if depth >= MAX_NESTING {
            return Err(IngestError::Document {
                name: name.to_string(),
                detail: "archives nested too deep".into(),
            });
        }
        return read_tar(name, prefix, Cursor::new(head).chain(r), ctx, depth);
    }
    let bom = head.starts_with(BOM);
    let body = if bom { &head[3..] } else { &head[..] };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(()); // an empty file holds no records
    }
    let format = detect_format(name, body).ok_or_else(|| IngestError::UnknownFormat {
        name: name.to_string(),
    })?;
    let mut cursor = Cursor::new(head);
    if bom {
        cursor.set_position(3);
    }
    let mut buf = BufReader::with_capacity(BUF_LEN, cursor.chain(r));
    dispatch(format, name, prefix, &mut buf, ctx)
}

fn read_tar(
    name: &str,
    prefix: &str,
    r: impl Read,
    ctx: &mut Ctx,
    depth: u32,
) -> Result<(), IngestError> {
    let mut archive = tar::Archive::new(r);
    for entry in archive.entries().map_err(read_err(name))? {
        let mut entry = entry.map_err(read_err(name))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(read_err(name))?;
        let base = basename(&path).to_string();
        if base.is_empty() || base.starts_with('.') {
            continue; // hidden files, macOS `._` resource forks
        }
        let member_prefix = format!("{prefix}{base} ");
        match read_any(&path, &member_prefix, &mut entry, ctx, depth + 1) {
            Ok(()) => {}
            // A member that cannot be read as data is reported and skipped; the archive goes on.
            Err(e @ (IngestError::UnknownFormat { .. } | IngestError::NotGzip { .. })) => {
                ctx.emit(Err(RecordError::new(
                    format!("{prefix}{base}"),
                    RejectReason::UnsupportedFormat,
                    e.to_string(),
                )));
            }
            Err(e @ (IngestError::Xml { .. } | IngestError::Document { .. })) => {
                ctx.emit(Err(RecordError::new(
                    format!("{prefix}{base}"),
                    RejectReason::MalformedXml,
                    e.to_string(),
                )));
            }
            Err(e) => return Err(e),
        }
        ctx.tick();
    }
    Ok(())
}

fn dispatch(
    format: Format,
    name: &str,
    prefix: &str,
    buf: &mut dyn BufRead,
    ctx: &mut Ctx,
) -> Result<(), IngestError> {
    match format {
        Format::HfDailyApi => {
            let mut bytes = Vec::new();
            buf.read_to_end(&mut bytes).map_err(read_err(name))?;
            // Locations already start with the file name ("2024-12-11.json item 4").
            hf::parse_daily_api_into(name, &bytes, &mut |r| ctx.sink.record(r));
            ctx.tick();
        }
        Format::HfDailyJsonl => {
            let mut state = FlatState::default();
            read_lines(name, prefix, buf, ctx, |line| {
                hf::flat_line(line, &mut state)
            })?;
        }
        Format::ArxivListingsJsonl => read_lines(name, prefix, buf, ctx, jsonl::listing_line)?,
        Format::KaggleSnapshot => read_lines(name, prefix, buf, ctx, jsonl::kaggle_line)?,
        Format::ArxivAtom => {
            let text = read_text(name, buf)?;
            for r in atom::parse_feed(&text) {
                ctx.emit(r.map(Record::Paper).map_err(|e| prefixed(prefix, e)));
            }
            ctx.tick();
        }
        Format::OaiPmh => {
            let text = read_text(name, buf)?;
            let page = oai::parse_named(name, &text)?;
            for r in page.records {
                ctx.emit(r.map(Record::Paper).map_err(|e| prefixed(prefix, e)));
            }
            if let Some((code, message)) = page.error {
                // noRecordsMatch is how OAI-PMH says "an empty page", not a failure.
                if code != "noRecordsMatch" {
                    ctx.emit(Err(RecordError::new(
                        format!("{prefix}OAI-PMH error"),
                        RejectReason::ApiError,
                        format!("{code}: {message}"),
                    )));
                }
            }
            ctx.tick();
        }
    }
    Ok(())
}

fn prefixed(prefix: &str, mut e: RecordError) -> RecordError {
    if !prefix.is_empty() {
        e.location = format!("{prefix}{}", e.location);
    }
    e
}

fn read_text(name: &str, buf: &mut dyn BufRead) -> Result<String, IngestError> {
    let mut bytes = Vec::new();
    buf.read_to_end(&mut bytes).map_err(read_err(name))?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Streams a JSON-lines body line by line (never holding more than one line), numbering lines
/// from 1; blank lines are skipped.
fn read_lines(
    name: &str,
    prefix: &str,
    buf: &mut dyn BufRead,
    ctx: &mut Ctx,
    mut parse: impl FnMut(&[u8]) -> Result<Record, Rejection>,
) -> Result<(), IngestError> {
    let mut line = Vec::with_capacity(64 * 1024);
    let mut n = 0u64;
    loop {
        line.clear();
        if buf.read_until(b'\n', &mut line).map_err(read_err(name))? == 0 {
            break;
        }
        n += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let item = parse(text).map_err(|(reason, detail)| {
            RecordError::new(format!("{prefix}line {n}"), reason, detail)
        });
        ctx.emit(item);
        ctx.tick();
    }
    Ok(())
}

/// Tells the format from the first bytes of a (decompressed) file: XML root element, a JSON
/// array, or the keys of the first JSON object; the file name is only a fallback hint
/// (`2024-12-11.json`, `*oai*.xml`, `*kaggle*.jsonl`, …). `None` when neither tells.
pub fn detect_format(name: &str, head: &[u8]) -> Option<Format> {
    let head = head.strip_prefix(BOM).unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    let from_content = start.and_then(|i| match head[i] {
        b'<' => detect_xml(&head[i..]),
        b'[' => Some(Format::HfDailyApi),
        b'{' => detect_json_object(&head[i..]),
        _ => None,
    });
    from_content.or_else(|| detect_from_name(name))
}

fn detect_xml(head: &[u8]) -> Option<Format> {
    let text = String::from_utf8_lossy(&head[..head.len().min(16 * 1024)]);
    let oai = text.find("<OAI-PMH");
    let feed = ["<feed", ":feed"].iter().filter_map(|t| text.find(t)).min();
    match (oai, feed) {
        (Some(o), Some(f)) => Some(if o < f {
            Format::OaiPmh
        } else {
            Format::ArxivAtom
        }),
        (Some(_), None) => Some(Format::OaiPmh),
        (None, Some(_)) => Some(Format::ArxivAtom),
        (None, None) => None,
    }
}

fn detect_json_object(head: &[u8]) -> Option<Format> {
    // A JSON-lines file shows all its keys on the first line; a pretty-printed document (the
    // wrapped HF day) needs more of the head.
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    let region = if first_line.trim_ascii().len() > 1 {
        first_line
    } else {
        head
    };
    let has = |key: &str| has_key(region, key);
    if has("daily_date") || (has("arxiv_id") && has("upvotes")) {
        Some(Format::HfDailyJsonl)
    } else if has("listing_date") {
        Some(Format::ArxivListingsJsonl)
    } else if has("authors_parsed")
        || has("update_date")
        || has("journal-ref")
        || (has("versions") && has("id"))
    {
        Some(Format::KaggleSnapshot)
    } else if has("data") && (has("date") || has("status") || has("count")) {
        Some(Format::HfDailyApi)
    } else if has("id") && has("abstract") && has("categories") {
        Some(Format::ArxivListingsJsonl)
    } else {
        None
    }
}

/// Whether `"key"` followed by `:` occurs (not inside an escaped string).
fn has_key(text: &[u8], key: &str) -> bool {
    let pat = format!("\"{key}\"");
    let pat = pat.as_bytes();
    let mut from = 0;
    while let Some(i) = find(&text[from..], pat) {
        let at = from + i;
        let after = text[at + pat.len()..]
            .iter()
            .find(|b| !b.is_ascii_whitespace());
        let escaped = at > 0 && text[at - 1] == b'\\';
        if after == Some(&b':') && !escaped {
            return true;
        }
        from = at + 1;
    }
    false
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn detect_from_name(name: &str) -> Option<Format> {
    let base = basename(name).to_ascii_lowercase();
    let base = base.strip_suffix(".gz").unwrap_or(&base);
    if base.ends_with(".xml") || base.ends_with(".atom") {
        return Some(if base.contains("oai") {
            Format::OaiPmh
        } else {
            Format::ArxivAtom
        });
    }
    if base.ends_with(".json") && hf::day_from_name(base).is_some() {
        return Some(Format::HfDailyApi);
    }
    if [".jsonl", ".ndjson", ".json"]
        .iter()
        .any(|ext| base.ends_with(ext))
    {
        if base.contains("kaggle") || base.contains("arxiv-metadata") || base.contains("snapshot") {
            return Some(Format::KaggleSnapshot);
        }
        if base.contains("hf_daily")
            || base.contains("daily_papers")
            || base.contains("daily-papers")
        {
            return Some(Format::HfDailyJsonl);
        }
        if base.contains("listing") {
            return Some(Format::ArxivListingsJsonl);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_by_content() {
        let d = |head: &str| detect_format("data.bin", head.as_bytes());
        assert_eq!(d("[\n    \"{'paper': {}}\"]"), Some(Format::HfDailyApi));
        assert_eq!(d("\u{feff}  [{\"paper\": {}}]"), Some(Format::HfDailyApi));
        assert_eq!(d("{\n    \"status\": \"success\",\n    \"date\": \"2025-01-10\",\n    \"count\": 9,\n    \"data\": [\n"), Some(Format::HfDailyApi));
        assert_eq!(
            d("{\"daily_date\": \"2024-05-27\", \"arxiv_id\": \"2405.15738\"}\n{"),
            Some(Format::HfDailyJsonl)
        );
        assert_eq!(
            d("{\"id\": \"2310.15741\", \"listing_date\": \"2026-02-25\", \"title\": \"x\"}\n"),
            Some(Format::ArxivListingsJsonl)
        );
        assert_eq!(
            d("{\"id\":\"0704.0001\",\"journal-ref\":null,\"versions\":[],\"authors_parsed\":[]}"),
            Some(Format::KaggleSnapshot)
        );
        assert_eq!(
            d("<?xml version=\"1.0\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"),
            Some(Format::ArxivAtom)
        );
        assert_eq!(
            d("<?xml version=\"1.0\"?>\n<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\">"),
            Some(Format::OaiPmh)
        );
        assert_eq!(d("{\"title\": \"has \\\"daily_date\\\": inside\"}"), None);
        assert_eq!(d("hello"), None);
        assert_eq!(d(""), None);
    }

    #[test]
    fn detection_falls_back_to_the_name() {
        assert_eq!(
            detect_format("2024-12-11.json", b"garbage"),
            Some(Format::HfDailyApi)
        );
        assert_eq!(
            detect_format("dump/oai_page_3.xml", b""),
            Some(Format::OaiPmh)
        );
        assert_eq!(detect_format("query.xml", b""), Some(Format::ArxivAtom));
        assert_eq!(
            detect_format("arxiv-metadata-oai-snapshot.json", b"{}"),
            Some(Format::KaggleSnapshot)
        );
        assert_eq!(detect_format("notes.txt", b"{}"), None);
        // Content wins over the name.
        assert_eq!(
            detect_format("2024-12-11.json", b"{\"daily_date\": \"x\"}"),
            Some(Format::HfDailyJsonl)
        );
    }
}
