//! BibTeX and RIS, out and in. This module owns the citation formats paperboy speaks: it writes a
//! paper as a BibTeX `@misc` entry (the shape arXiv and Google Scholar export) or as an RIS record
//! (the shape Zotero exports), and it reads a user's library file in either format just far enough
//! to tell which papers it names: each entry's citation key, arXiv id, DOI and title, with the line
//! the entry starts on, so that other crates can match it against stored papers (titles through
//! [`normalise_title`]). Reading never panics and its work is linear in the input; an entry that
//! cannot be read becomes an [`EntryError`] with its line and the rest of the file is still read.
//! Pure functions on strings: no I/O.

use std::collections::{HashMap, HashSet};
use std::iter::Peekable;
use std::str::Chars;

use chrono::Datelike;
use serde::Serialize;

use crate::{ArxivId, Paper, VersionedId};

/// Which format [`parse_library`] read a file as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Bibtex,
    Ris,
}

/// A library file as read: its entries in file order, and the entries that had to be skipped.
///
/// A file that is neither format reads as BibTeX with no entries and one error at line 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Library {
    pub format: Format,
    pub entries: Vec<Entry>,
    pub errors: Vec<EntryError>,
}

/// What one library entry says about which paper it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The 1-based line of the entry's `@` (BibTeX) or `TY` line (RIS).
    pub line: usize,
    /// The BibTeX citation key, or the RIS `ID` field.
    pub key: Option<String>,
    pub arxiv_id: Option<ArxivId>,
    /// Lowercased and without a resolver prefix: `10.48550/arxiv.1706.03762`.
    pub doi: Option<String>,
    /// The title as plain text: TeX accents become accented letters, braces and markup go.
    pub title: Option<String>,
}

/// An entry that could not be read, and was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryError {
    /// The 1-based line the entry starts on.
    pub line: usize,
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// BibTeX out

/// BibTeX's month macros, which styles expand to the month's name.
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Title words a citation key passes over when it takes the first word, as Google Scholar does.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how",
    "in", "into", "is", "it", "its", "of", "on", "or", "our", "the", "this", "to", "toward",
    "towards", "via", "we", "what", "when", "which", "why", "with",
];

/// Words after a family name that are not the family name.
const NAME_SUFFIXES: &[&str] = &["jr", "jr.", "sr", "sr.", "ii", "iii", "iv"];

/// The paper as one BibTeX `@misc` entry, shaped like arXiv's and Google Scholar's exports:
/// title, authors, year and month, `eprint`/`archivePrefix`/`primaryClass`, the abstract page,
/// the DOI and journal reference when known, and the abstract.
///
/// Text fields are escaped for TeX (`& % $ # _ { } ~ ^ \`), except that math written between
/// dollars is kept as math when it is safe to: arXiv titles and abstracts carry TeX math, and
/// `$O(n^2)$` should typeset, not print its dollars. TeX accents become UTF-8 letters.
pub fn to_bibtex(p: &Paper) -> String {
    bibtex_entry(p, &citation_key(p))
}

/// Entries for several papers, separated by blank lines. A key that is already taken gets `a`,
/// `b`, … appended (`vaswani2017attention`, `vaswani2017attentiona`).
pub fn to_bibtex_all(papers: &[Paper]) -> String {
    let mut keys = KeySet::default();
    papers
        .iter()
        .map(|p| bibtex_entry(p, &keys.claim(citation_key(p))))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Citation keys handed out so far, and the next suffix to try for each.
#[derive(Default)]
struct KeySet {
    used: HashSet<String>,
    next_suffix: HashMap<String, usize>,
}

impl KeySet {
    /// `key` if it is free, else `key` with the first free letter suffix.
    fn claim(&mut self, key: String) -> String {
        if self.used.insert(key.clone()) {
            return key;
        }
        loop {
            let n = self.next_suffix.entry(key.clone()).or_insert(0);
            let candidate = format!("{key}{}", letter_suffix(*n));
            *n += 1;
            if self.used.insert(candidate.clone()) {
                return candidate;
            }
        }
    }
}

/// `a`, `b`, …, `z`, `aa`, `ab`, … for 0, 1, …
fn letter_suffix(mut n: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(char::from(b'a' + (n % 26) as u8));
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    letters.iter().rev().collect()
}

/// Google Scholar's key: first author's family name, year, first significant title word
/// (`vaswani2017attention`); `arxiv` and the id's digits when there is no usable name.
fn citation_key(p: &Paper) -> String {
    let name = p
        .authors
        .first()
        .map(|a| ascii_letters(&family_name(&a.name)))
        .unwrap_or_default();
    if name.is_empty() {
        return format!("arxiv{}", id_digits(&p.id));
    }
    let year = year_month(p)
        .map(|(year, _)| year.to_string())
        .unwrap_or_default();
    format!("{name}{year}{}", first_significant_word(&p.title))
}

fn id_digits(id: &ArxivId) -> String {
    id.as_str().chars().filter(char::is_ascii_digit).collect()
}

/// The year and month the paper appeared: `published`, else the month its id was issued in.
fn year_month(p: &Paper) -> Option<(i32, u32)> {
    p.published
        .map(|d| (d.year(), d.month()))
        .or_else(|| p.id.year_month())
}

/// The family name of "Given Family", "Given Family Jr." or "Family, Given".
fn family_name(name: &str) -> String {
    let plain = detex(name);
    if let Some((family, _)) = plain.split_once(',') {
        return family.trim().to_string();
    }
    split_name(&plain).1
}

/// `(given, family, suffix)` of a name written "Given Family" or "Given Family Jr.".
fn split_name(name: &str) -> (String, String, Option<String>) {
    let mut words: Vec<&str> = name.split_whitespace().collect();
    let suffix = match words.last() {
        Some(w) if words.len() > 2 && NAME_SUFFIXES.contains(&w.to_lowercase().as_str()) => {
            words.pop().map(str::to_string)
        }
        _ => None,
    };
    let family = words.pop().unwrap_or_default().to_string();
    (words.join(" "), family, suffix)
}

/// The lowercase ASCII letters of `s` once accents are folded (`Łukasz` -> `lukasz`).
fn ascii_letters(s: &str) -> String {
    fold(&detex(s))
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The first title word that is not a stopword, in lowercase ASCII letters.
fn first_significant_word(title: &str) -> String {
    let folded = fold(&detex(title)).to_ascii_lowercase();
    folded
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| !w.is_empty() && !STOPWORDS.contains(w))
        .unwrap_or_default()
        .to_string()
}

fn bibtex_entry(p: &Paper, key: &str) -> String {
    let mut out = format!("@misc{{{key},\n");
    for (name, value) in bibtex_fields(p) {
        out.push_str("  ");
        out.push_str(name);
        out.push_str(" = ");
        out.push_str(&value);
        out.push_str(",\n");
    }
    out.push_str("}\n");
    out
}

/// The entry's fields, values written as they go in the file (braced, or a month macro).
fn bibtex_fields(p: &Paper) -> Vec<(&'static str, String)> {
    let mut fields = vec![("title", braced(&tex_text(&p.title)))];
    let authors: Vec<String> = p
        .authors
        .iter()
        .map(|a| bibtex_author(&a.name))
        .filter(|a| !a.is_empty())
        .collect();
    if !authors.is_empty() {
        fields.push(("author", braced(&authors.join(" and "))));
    }
    if let Some((year, month)) = year_month(p) {
        fields.push(("year", braced(&year.to_string())));
        let macro_name = month.checked_sub(1).and_then(|i| MONTHS.get(i as usize));
        if let Some(m) = macro_name {
            fields.push(("month", (*m).to_string()));
        }
    }
    fields.push(("eprint", braced(&verbatim(p.id.as_str()))));
    fields.push(("archivePrefix", braced("arXiv")));
    if let Some(class) = p.primary_category() {
        fields.push(("primaryClass", braced(&verbatim(class))));
    }
    fields.push(("url", braced(&verbatim(&p.id.abs_url()))));
    if let Some(doi) = non_blank(p.doi.as_deref()) {
        fields.push(("doi", braced(&verbatim(doi))));
    }
    if let Some(journal) = non_blank(p.journal_ref.as_deref()) {
        fields.push(("journal", braced(&tex_text(journal))));
    }
    if let Some(summary) = non_blank(Some(&p.summary)) {
        fields.push(("abstract", braced(&tex_text(summary))));
    }
    fields
}

fn non_blank(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

fn braced(s: &str) -> String {
    format!("{{{s}}}")
}

/// An author for the `author` list; a name that contains the word "and" is braced so that
/// BibTeX does not split it.
fn bibtex_author(name: &str) -> String {
    let text = tex_text(name);
    if text
        .split_whitespace()
        .any(|w| w.eq_ignore_ascii_case("and"))
    {
        braced(&text)
    } else {
        text
    }
}

/// A URL, DOI or identifier, written as it is (biblatex reads these fields verbatim); braces
/// go if they would unbalance the entry.
fn verbatim(s: &str) -> String {
    let s = collapse_ws(s);
    if braces_nest(&s) {
        s
    } else {
        s.replace(['{', '}'], "")
    }
}

/// Whether every brace in `s` closes one opened before it, and all are closed.
fn braces_nest(s: &str) -> bool {
    let mut depth = 0usize;
    for b in s.bytes() {
        match b {
            b'{' => depth += 1,
            b'}' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 0
}

/// Plain text with TeX math, made safe for a BibTeX field (see [`to_bibtex`]).
fn tex_text(s: &str) -> String {
    let s = collapse_ws(s);
    let mut out = String::with_capacity(s.len() + 16);
    for segment in split_math(&s) {
        match segment {
            Segment::Math(m) if math_is_safe(m) => out.push_str(m),
            Segment::Math(t) | Segment::Text(t) => escape_tex(&detex(t), &mut out),
        }
    }
    collapse_ws(&out)
}

/// A piece of text with TeX math: plain text, or math with its dollars.
enum Segment<'a> {
    Text(&'a str),
    Math(&'a str),
}

/// `s` cut into text and `$…$` / `$$…$$` math; an unclosed dollar stays in the text.
fn split_math(s: &str) -> Vec<Segment<'_>> {
    let b = s.as_bytes();
    let mut segments = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'$' => {
                let open = if b.get(i + 1) == Some(&b'$') { 2 } else { 1 };
                let Some(end) = math_end(b, i + open, open) else {
                    break;
                };
                if start < i {
                    segments.push(Segment::Text(&s[start..i]));
                }
                segments.push(Segment::Math(&s[i..end]));
                (start, i) = (end, end);
            }
            _ => i += 1,
        }
    }
    if start < b.len() {
        segments.push(Segment::Text(&s[start..]));
    }
    segments
}

/// The index just past the `$` (or `$$`) that closes math opened before `from`.
fn math_end(b: &[u8], from: usize, open: usize) -> Option<usize> {
    let mut j = from;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'$' if open == 1 => return Some(j + 1),
            b'$' if b.get(j + 1) == Some(&b'$') => return Some(j + 2),
            _ => j += 1,
        }
    }
    None
}

/// Math can go into the file as it is when its braces nest (BibTeX counts every brace) and it
/// has no bare `%`, `#` or `&`, which would break the TeX around it.
fn math_is_safe(m: &str) -> bool {
    if !braces_nest(m) {
        return false;
    }
    let b = m.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 == b.len() => return false,
            b'\\' => i += 2,
            b'%' | b'#' | b'&' => return false,
            _ => i += 1,
        }
    }
    true
}

/// Appends plain `text` to `out` with TeX's special characters escaped.
fn escape_tex(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' | '%' | '$' | '#' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '{' => out.push_str("\\textbraceleft{}"),
            '}' => out.push_str("\\textbraceright{}"),
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '\\' => out.push_str("\\textbackslash{}"),
            c => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// RIS out

const CRLF: &str = "\r\n";

/// The paper as one RIS record, in the tag order and with the line ends (CRLF, "from spec", in
/// Zotero's RIS translator) that Zotero's export has, ending `ER  - ` and a blank line.
///
/// The type is `GEN`: RIS has no type for a preprint, and Zotero's translator writes its default
/// export type, `GEN`, for item types it cannot map (and reads `GEN` back as a journal article).
/// `ELEC` would come back into Zotero as a web page, `JOUR` claims a journal the preprint does
/// not have. The arXiv id goes in a note (`N1  - arXiv:ID`), not in `M3`, which Zotero reads
/// back as the DOI.
pub fn to_ris(p: &Paper) -> String {
    let mut out = String::new();
    ris_line(&mut out, "TY", "GEN");
    ris_line(&mut out, "TI", &ris_text(&p.title));
    for a in &p.authors {
        ris_line(&mut out, "AU", &ris_name(&a.name));
    }
    ris_line(&mut out, "AB", &ris_text(&p.summary));
    if let Some((date, year)) = ris_dates(p) {
        ris_line(&mut out, "DA", &date);
        ris_line(&mut out, "PY", &year);
    }
    ris_line(&mut out, "DO", p.doi.as_deref().unwrap_or_default());
    ris_line(&mut out, "PB", "arXiv");
    ris_line(&mut out, "UR", &p.id.abs_url());
    ris_line(&mut out, "N1", &format!("arXiv:{}", p.id));
    if let Some(comment) = non_blank(p.comment.as_deref()) {
        ris_line(&mut out, "N1", &format!("Comment: {comment}"));
    }
    for category in &p.categories {
        ris_line(&mut out, "KW", category);
    }
    out.push_str("ER  - ");
    out.push_str(CRLF);
    out.push_str(CRLF);
    out
}

/// Records for several papers, one after another.
pub fn to_ris_all(papers: &[Paper]) -> String {
    papers.iter().map(to_ris).collect()
}

/// Appends `TAG  - value` unless the value is blank; RIS values are one line.
fn ris_line(out: &mut String, tag: &str, value: &str) {
    let value = collapse_ws(value);
    if value.is_empty() {
        return;
    }
    out.push_str(tag);
    out.push_str("  - ");
    out.push_str(&value);
    out.push_str(CRLF);
}

/// RIS is plain text: TeX accents and markup outside math become plain, math stays as written
/// (Zotero keeps arXiv's `$…$` in titles too).
fn ris_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for segment in split_math(s) {
        match segment {
            Segment::Math(m) => out.push_str(m),
            Segment::Text(t) => out.push_str(&detex(t)),
        }
    }
    collapse_ws(&out)
}

/// RIS's "Family, Given, Suffix" for a name written "Given Family". A name that already has a
/// comma, or that reads as a collaboration (the word "and", or many words), is written as it is,
/// which Zotero reads as a single-field name.
fn ris_name(name: &str) -> String {
    let name = collapse_ws(&detex(name));
    let words = name.split_whitespace().count();
    let collaboration = name
        .split_whitespace()
        .any(|w| w.eq_ignore_ascii_case("and"));
    if name.contains(',') || collaboration || words > 4 {
        return name;
    }
    match split_name(&name) {
        (given, family, _) if given.is_empty() => family,
        (given, family, None) => format!("{family}, {given}"),
        (given, family, Some(suffix)) => format!("{family}, {given}, {suffix}"),
    }
}

/// Zotero's `DA` (`2017/06/12/`, or `2017/06//` when only the month is known) and `PY`.
fn ris_dates(p: &Paper) -> Option<(String, String)> {
    let (year, month, day) = match p.published {
        Some(d) => (d.year(), d.month(), format!("{:02}", d.day())),
        None => {
            let (year, month) = p.id.year_month()?;
            (year, month, String::new())
        }
    };
    Some((format!("{year:04}/{month:02}/{day}/"), format!("{year:04}")))
}

// ---------------------------------------------------------------------------------------------
// Reading a library

/// Reads a BibTeX or RIS library, the format told from the content: RIS when the first
/// non-blank line is a `TY  - ` line, BibTeX when an `@type{` entry appears. Entries that cannot
/// be read are reported in [`Library::errors`] with their line and skipped.
pub fn parse_library(text: &str) -> Library {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if starts_like_ris(text) {
        return parse_ris(text);
    }
    if has_bibtex_entry(text.as_bytes()) {
        return BibReader::new(text).run();
    }
    Library {
        format: Format::Bibtex,
        entries: Vec::new(),
        errors: vec![EntryError {
            line: 1,
            message: "the file is neither BibTeX (it has no `@type{…}` entry) nor RIS (its \
                      first line is not `TY  - …`)"
                .to_string(),
        }],
    }
}

fn starts_like_ris(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| ris_tag(l.trim_start()))
        .is_some_and(|(tag, _)| tag == "TY")
}

fn has_bibtex_entry(b: &[u8]) -> bool {
    b.iter()
        .enumerate()
        .any(|(i, &c)| c == b'@' && entry_head_at(b, i))
}

/// Whether `@`, a type name and `{` or `(` start at `i` (blanks allowed between them).
fn entry_head_at(b: &[u8], i: usize) -> bool {
    if b.get(i) != Some(&b'@') {
        return false;
    }
    let j = skip_blanks(b, i + 1);
    let k = j + b[j..].iter().take_while(|&&c| is_ident_byte(c)).count();
    k > j && matches!(b.get(skip_blanks(b, k)), Some(b'{' | b'('))
}

/// The first index from `i` that is not a space or tab.
fn skip_blanks(b: &[u8], i: usize) -> usize {
    let i = i.min(b.len());
    i + b[i..]
        .iter()
        .take_while(|&&c| c == b' ' || c == b'\t')
        .count()
}

/// Bytes of BibTeX names (entry types, field names, string macros).
fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_graphic() && !b"\"#%'(),={}@\\".contains(&c)
}

/// Bytes of citation keys: anything but blanks and BibTeX's delimiters.
fn is_key_byte(c: u8) -> bool {
    !c.is_ascii_whitespace() && !b",{}()\"=#%@\\".contains(&c)
}

fn find_byte(b: &[u8], c: u8, from: usize) -> Option<usize> {
    b.get(from..)?
        .iter()
        .position(|&x| x == c)
        .map(|i| i + from)
}

/// Byte offsets of line starts, to turn an offset into a 1-based line number.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex(starts)
    }

    fn line_of(&self, pos: usize) -> usize {
        self.0.partition_point(|&start| start <= pos)
    }
}

// ---------------------------------------------------------------------------------------------
// The BibTeX reader

/// The fields an [`Entry`] is made from; others are read (for their syntax) and dropped.
const WANTED_FIELDS: &[&str] = &[
    "title",
    "doi",
    "eprint",
    "archiveprefix",
    "eprinttype",
    "url",
    "howpublished",
    "note",
    "journal",
    "journaltitle",
    "booktitle",
    "volume",
];

/// BibTeX's predefined month macros.
const MONTH_NAMES: [(&str, &str); 12] = [
    ("jan", "January"),
    ("feb", "February"),
    ("mar", "March"),
    ("apr", "April"),
    ("may", "May"),
    ("jun", "June"),
    ("jul", "July"),
    ("aug", "August"),
    ("sep", "September"),
    ("oct", "October"),
    ("nov", "November"),
    ("dec", "December"),
];

/// Where a scan for the end of a value stopped without finding it.
enum Stop {
    /// The file ended.
    End,
    /// A line at this offset starts the next entry (`@type{`), which no value may run into.
    NextEntry(usize),
    /// A `}` at this offset closes nothing.
    StrayBrace(usize),
}

/// Reads BibTeX the way BibTeX does: text outside entries is a comment; `@comment` and
/// `@preamble` are skipped; `@string` macros are expanded; values are braced, quoted, numbers
/// or macros, joined with `#`. A value may not run past a line that starts a new entry, so an
/// unclosed brace costs one entry, and reading resumes at the next line that starts with `@`.
struct BibReader<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    lines: LineIndex,
    macros: HashMap<String, String>,
    /// Bytes that macro expansion may still produce: macros defined from macros can double
    /// at each step, and this keeps the work linear in the input.
    budget: usize,
    entries: Vec<Entry>,
    errors: Vec<EntryError>,
}

impl<'a> BibReader<'a> {
    fn new(src: &'a str) -> BibReader<'a> {
        BibReader {
            src,
            b: src.as_bytes(),
            pos: 0,
            lines: LineIndex::new(src),
            macros: HashMap::new(),
            budget: src.len().saturating_mul(4).saturating_add(1 << 16),
            entries: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn run(mut self) -> Library {
        while let Some(at) = find_byte(self.b, b'@', self.pos) {
            self.pos = at;
            if let Err(message) = self.item() {
                let line = self.lines.line_of(at);
                self.errors.push(EntryError { line, message });
                self.pos = self.next_at_line_start(at + 1).unwrap_or(self.b.len());
            }
        }
        Library {
            format: Format::Bibtex,
            entries: self.entries,
            errors: self.errors,
        }
    }

    /// The next `@` after `from` that is the first non-blank character of its line.
    fn next_at_line_start(&self, from: usize) -> Option<usize> {
        let mut i = from;
        loop {
            let line_start = find_byte(self.b, b'\n', i)? + 1;
            let j = skip_blanks(self.b, line_start);
            if self.b.get(j) == Some(&b'@') {
                return Some(j);
            }
            i = line_start;
        }
    }

    /// Whether the line starting at `i` starts an entry: blanks, `@`, a type name, `{` or `(`.
    fn entry_starts_on_line(&self, i: usize) -> bool {
        entry_head_at(self.b, skip_blanks(self.b, i))
    }

    /// One `@…` item at `self.pos`.
    fn item(&mut self) -> Result<(), String> {
        let at = self.pos;
        self.pos += 1;
        self.skip_ws();
        let kind = self
            .ident()
            .ok_or_else(|| self.unexpected("an entry type after `@`"))?
            .to_ascii_lowercase();
        if kind == "comment" {
            self.skip_comment();
            return Ok(());
        }
        self.skip_ws();
        let close = self
            .open()
            .ok_or_else(|| self.unexpected(&format!("`{{` or `(` after `@{kind}`")))?;
        match kind.as_str() {
            "preamble" => self.preamble(close),
            "string" => self.string_definition(close),
            _ => self.entry(at, close),
        }
    }

    /// `@comment{…}` is skipped whole when its braces balance; otherwise only the word is,
    /// as BibTeX does.
    fn skip_comment(&mut self) {
        let after_word = self.pos;
        self.skip_ws();
        let end = match self.open() {
            Some(b'}') => self.matching_brace(self.pos).ok(),
            Some(close) => self.at_depth_zero(self.pos, close).ok(),
            None => None,
        };
        self.pos = end.map_or(after_word, |e| e + 1);
    }

    fn preamble(&mut self, close: u8) -> Result<(), String> {
        self.value("@preamble")?;
        self.skip_ws();
        if self.eat(close) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{}` closing the @preamble", char::from(close))))
        }
    }

    /// `@string{name = value}`; later values may use earlier names.
    fn string_definition(&mut self, close: u8) -> Result<(), String> {
        loop {
            self.skip_ws();
            let name = self
                .ident()
                .ok_or_else(|| self.unexpected("a macro name in @string"))?
                .to_ascii_lowercase();
            self.skip_ws();
            if !self.eat(b'=') {
                return Err(self.unexpected(&format!("`=` after the macro name `{name}`")));
            }
            let value = self.value(&name)?;
            self.macros.insert(name, value);
            if self.end_of_list(close)? {
                return Ok(());
            }
        }
    }

    /// A regular entry: its key, then `name = value` fields separated by commas.
    fn entry(&mut self, at: usize, close: u8) -> Result<(), String> {
        self.skip_ws();
        let key = self.key(close)?;
        let mut fields: HashMap<String, String> = HashMap::new();
        self.skip_ws();
        if !self.eat(close) {
            if !self.eat(b',') {
                return Err(self.unexpected("`,` after the citation key"));
            }
            loop {
                self.skip_ws();
                if self.eat(close) {
                    break;
                }
                let name = self
                    .ident()
                    .ok_or_else(|| self.unexpected("a field name"))?
                    .to_ascii_lowercase();
                self.skip_ws();
                if !self.eat(b'=') {
                    return Err(self.unexpected(&format!("`=` after the field name `{name}`")));
                }
                let value = self.value(&name)?;
                if WANTED_FIELDS.contains(&name.as_str()) {
                    fields.entry(name).or_insert(value);
                }
                if self.end_of_list(close)? {
                    break;
                }
            }
        }
        let line = self.lines.line_of(at);
        self.entries.push(bibtex_entry_ids(line, key, &fields));
        Ok(())
    }

    /// The citation key, which must be followed by `,` or the closing delimiter.
    fn key(&mut self, close: u8) -> Result<String, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| is_key_byte(c) && c != close) {
            self.pos += 1;
        }
        let key = self
            .src
            .get(start..self.pos)
            .unwrap_or_default()
            .to_string();
        if key.is_empty() {
            return Err(self.unexpected("a citation key"));
        }
        self.skip_ws();
        match self.peek() {
            Some(b',') => Ok(key),
            Some(c) if c == close => Ok(key),
            Some(b'=') => Err(format!(
                "the entry has no citation key (`{key} =` starts a field)"
            )),
            _ => Err(self.unexpected(&format!("`,` after the citation key `{key}`"))),
        }
    }

    /// After a value: `,` (then maybe the close) or the close. Whether the list has ended.
    fn end_of_list(&mut self, close: u8) -> Result<bool, String> {
        self.skip_ws();
        if self.eat(close) {
            return Ok(true);
        }
        if !self.eat(b',') {
            let what = format!("`,` or `{}` after a value", char::from(close));
            return Err(self.unexpected(&what));
        }
        self.skip_ws();
        Ok(self.eat(close))
    }

    /// A value: parts joined with `#`, each braced, quoted, a number or a macro name.
    fn value(&mut self, field: &str) -> Result<String, String> {
        let mut out = String::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'{') => out.push_str(self.braced(field)?),
                Some(b'"') => out.push_str(self.quoted(field)?),
                Some(c) if c.is_ascii_digit() => {
                    let start = self.pos;
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.pos += 1;
                    }
                    out.push_str(self.src.get(start..self.pos).unwrap_or_default());
                }
                _ => {
                    let name = self
                        .ident()
                        .ok_or_else(|| self.unexpected(&format!("a value for `{field}`")))?;
                    let text = self.expand(name)?;
                    out.push_str(&text);
                }
            }
            self.skip_ws();
            if !self.eat(b'#') {
                return Ok(out);
            }
        }
    }

    /// A macro's text; an undefined macro is empty (BibTeX warns and goes on).
    fn expand(&mut self, name: &str) -> Result<String, String> {
        let name = name.to_ascii_lowercase();
        let text = match self.macros.get(&name) {
            Some(text) => text.as_str(),
            None => MONTH_NAMES
                .iter()
                .find(|(m, _)| *m == name)
                .map_or("", |(_, full)| full),
        };
        self.budget = self.budget.checked_sub(text.len()).ok_or_else(|| {
            format!("the @string macro `{name}` expands to more text than the whole file")
        })?;
        Ok(text.to_string())
    }

    /// The inside of a `{…}` value at `self.pos`.
    fn braced(&mut self, field: &str) -> Result<&'a str, String> {
        let open = self.pos;
        let end = self
            .matching_brace(open + 1)
            .map_err(|stop| self.unclosed(stop, field, open))?;
        self.pos = end + 1;
        Ok(self.src.get(open + 1..end).unwrap_or_default())
    }

    /// The inside of a `"…"` value at `self.pos`; braces inside it must balance.
    fn quoted(&mut self, field: &str) -> Result<&'a str, String> {
        let open = self.pos;
        let end = self
            .at_depth_zero(open + 1, b'"')
            .map_err(|stop| self.unclosed(stop, field, open))?;
        self.pos = end + 1;
        Ok(self.src.get(open + 1..end).unwrap_or_default())
    }

    /// The offset of the `}` that closes a brace opened just before `from`.
    fn matching_brace(&self, from: usize) -> Result<usize, Stop> {
        let mut depth = 1usize;
        for (i, &c) in self.b.iter().enumerate().skip(from) {
            match c {
                b'{' => depth += 1,
                b'}' if depth == 1 => return Ok(i),
                b'}' => depth -= 1,
                b'\n' if self.entry_starts_on_line(i + 1) => return Err(Stop::NextEntry(i + 1)),
                _ => {}
            }
        }
        Err(Stop::End)
    }

    /// The offset of the first `terminator` from `from` outside braces.
    fn at_depth_zero(&self, from: usize, terminator: u8) -> Result<usize, Stop> {
        let mut depth = 0usize;
        for (i, &c) in self.b.iter().enumerate().skip(from) {
            match c {
                c if c == terminator && depth == 0 => return Ok(i),
                b'{' => depth += 1,
                b'}' if depth == 0 => return Err(Stop::StrayBrace(i)),
                b'}' => depth -= 1,
                b'\n' if self.entry_starts_on_line(i + 1) => return Err(Stop::NextEntry(i + 1)),
                _ => {}
            }
        }
        Err(Stop::End)
    }

    /// Says why the value of `field` opened at `open` has no end.
    fn unclosed(&self, stop: Stop, field: &str, open: usize) -> String {
        let opened = self.lines.line_of(open);
        match stop {
            Stop::End => format!(
                "unbalanced braces: the value of `{field}` opened on line {opened} is never closed"
            ),
            Stop::NextEntry(at) => format!(
                "unbalanced braces: the value of `{field}` opened on line {opened} is not closed \
                 before the entry on line {}",
                self.lines.line_of(at)
            ),
            Stop::StrayBrace(at) => format!(
                "unbalanced braces: a `}}` on line {} closes nothing in the value of `{field}`",
                self.lines.line_of(at)
            ),
        }
    }

    /// Says what was expected at `self.pos` and what is there instead.
    fn unexpected(&self, what: &str) -> String {
        match self.src.get(self.pos..).and_then(|s| s.chars().next()) {
            None => format!("expected {what}, but the file ends (is a closing brace missing?)"),
            Some('@') => format!(
                "expected {what}, but found the `@` of line {} (is a closing brace missing?)",
                self.lines.line_of(self.pos)
            ),
            Some(c) => format!(
                "expected {what}, found `{c}` on line {}",
                self.lines.line_of(self.pos)
            ),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Consumes `{` or `(` and returns the byte that will close it.
    fn open(&mut self) -> Option<u8> {
        if self.eat(b'{') {
            Some(b'}')
        } else if self.eat(b'(') {
            Some(b')')
        } else {
            None
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(is_ident_byte) {
            self.pos += 1;
        }
        self.src.get(start..self.pos).filter(|s| !s.is_empty())
    }
}

/// What a BibTeX entry's fields say about which paper it is.
///
/// The arXiv id is looked for in this order: `eprint` when `archivePrefix`/`eprinttype` says
/// arXiv (or, with neither, when it is a new-style id); arXiv URLs in `url`, `howpublished`,
/// `note`; "arXiv:ID" in `journal`, `note`, `howpublished`, `booktitle` (Google Scholar writes
/// `journal={arXiv preprint arXiv:1706.03762}`); DBLP's `journal = {CoRR}, volume = {abs/ID}`;
/// a DOI `10.48550/arXiv.ID`.
fn bibtex_entry_ids(line: usize, key: String, fields: &HashMap<String, String>) -> Entry {
    let get = |name: &str| fields.get(name).map(String::as_str);
    let doi = get("doi")
        .and_then(clean_doi)
        .or_else(|| get("url").and_then(doi_in_url));
    let archive = get("archiveprefix").or_else(|| get("eprinttype"));
    let arxiv_id = eprint_id(get("eprint"), archive)
        .or_else(|| first_id(&[get("url"), get("howpublished"), get("note")], id_in_url))
        .or_else(|| {
            let texts = [
                get("journal"),
                get("journaltitle"),
                get("note"),
                get("howpublished"),
                get("booktitle"),
            ];
            first_id(&texts, id_after_arxiv_prefix)
        })
        .or_else(|| corr_id(get("journal"), get("volume")))
        .or_else(|| doi.as_deref().and_then(id_in_doi));
    let title = get("title")
        .map(|t| collapse_ws(&detex(t)))
        .filter(|t| !t.is_empty());
    Entry {
        line,
        key: Some(key),
        arxiv_id,
        doi,
        title,
    }
}

// ---------------------------------------------------------------------------------------------
// The RIS reader

/// Reads RIS line by line: a record runs from `TY` to `ER`; a line without a tag continues the
/// previous value. A record with no `ER` is reported and skipped, and so is text outside records
/// (once per run of such lines).
fn parse_ris(text: &str) -> Library {
    let mut reader = RisReader::default();
    for (i, line) in text.split('\n').enumerate() {
        reader.line(i + 1, line.strip_suffix('\r').unwrap_or(line));
    }
    reader.finish()
}

#[derive(Default)]
struct RisReader {
    record: Option<RisRecord>,
    /// Whether text outside records has been reported since the last `TY` line.
    in_stray_text: bool,
    entries: Vec<Entry>,
    errors: Vec<EntryError>,
}

struct RisRecord {
    line: usize,
    fields: Vec<(String, String)>,
}

impl RisReader {
    fn line(&mut self, n: usize, line: &str) {
        match ris_tag(line.trim_start()) {
            Some(("TY", _)) => self.start(n),
            Some(("ER", _)) => self.end(n),
            Some((tag, value)) => self.field(n, tag, value),
            None if line.trim().is_empty() => {}
            None => self.continuation(n, line),
        }
    }

    fn start(&mut self, n: usize) {
        if let Some(open) = self.record.take() {
            self.errors.push(EntryError {
                line: open.line,
                message: format!(
                    "the record has no `ER  - ` line before the next record (line {n})"
                ),
            });
        }
        self.in_stray_text = false;
        self.record = Some(RisRecord {
            line: n,
            fields: Vec::new(),
        });
    }

    fn end(&mut self, n: usize) {
        match self.record.take() {
            Some(record) => self.entries.push(record.into_entry()),
            None => self.stray(
                n,
                "an `ER` line with no record open (records start with `TY  - `)",
            ),
        }
    }

    fn field(&mut self, n: usize, tag: &str, value: &str) {
        match &mut self.record {
            Some(record) => record.fields.push((tag.to_string(), value.to_string())),
            None => self.stray(
                n,
                "a tagged line outside a record (records start with `TY  - `)",
            ),
        }
    }

    fn continuation(&mut self, n: usize, line: &str) {
        match &mut self.record {
            Some(record) => {
                if let Some((_, value)) = record.fields.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            }
            None => self.stray(n, "text outside a record (records start with `TY  - `)"),
        }
    }

    fn stray(&mut self, n: usize, message: &str) {
        if !self.in_stray_text {
            self.errors.push(EntryError {
                line: n,
                message: message.to_string(),
            });
            self.in_stray_text = true;
        }
    }

    fn finish(mut self) -> Library {
        if let Some(open) = self.record.take() {
            self.errors.push(EntryError {
                line: open.line,
                message: "the record is not closed: the file ends before its `ER  - ` line"
                    .to_string(),
            });
        }
        Library {
            format: Format::Ris,
            entries: self.entries,
            errors: self.errors,
        }
    }
}

/// RIS fields where an "arXiv:ID" may be written: notes, journal names, volume, `ID`.
const RIS_TEXT_TAGS: &[&str] = &["N1", "M3", "JO", "T2", "JF", "JA", "J2", "T3", "VL", "ID"];

impl RisRecord {
    /// The non-empty values of the given tags, tag by tag.
    fn values<'r>(&'r self, tags: &'r [&'r str]) -> impl Iterator<Item = &'r str> + 'r {
        tags.iter().flat_map(move |tag| {
            self.fields
                .iter()
                .filter(move |(t, v)| t == tag && !v.is_empty())
                .map(|(_, v)| v.as_str())
        })
    }

    /// Like [`bibtex_entry_ids`]: the arXiv id from URLs (`UR`, `L1`, `L2`, `L4`, `LK`), then an
    /// arXiv DOI (`DO`, or `M3` where some exporters put it), then "arXiv:ID" in notes, journal
    /// names and `ID`.
    fn into_entry(self) -> Entry {
        let doi = self
            .values(&["DO", "M3"])
            .find_map(clean_doi)
            .or_else(|| self.values(&["UR"]).find_map(doi_in_url));
        let arxiv_id = self
            .values(&["UR", "L1", "L2", "L4", "LK"])
            .find_map(id_in_url)
            .or_else(|| doi.as_deref().and_then(id_in_doi))
            .or_else(|| self.values(RIS_TEXT_TAGS).find_map(id_after_arxiv_prefix));
        let title = self
            .values(&["TI", "T1"])
            .map(|t| collapse_ws(&detex(t)))
            .find(|t| !t.is_empty());
        let key = self.values(&["ID"]).next().map(str::to_string);
        Entry {
            line: self.line,
            key,
            arxiv_id,
            doi,
            title,
        }
    }
}

/// `(tag, value)` of an RIS line `XX  - value` (one or two spaces before the dash, as Zotero
/// accepts).
fn ris_tag(line: &str) -> Option<(&str, &str)> {
    let b = line.as_bytes();
    let (t0, t1) = (*b.first()?, *b.get(1)?);
    if !t0.is_ascii_uppercase() || !(t1.is_ascii_uppercase() || t1.is_ascii_digit()) {
        return None;
    }
    let rest = line.get(2..)?;
    let spaces = rest.len() - rest.trim_start_matches(' ').len();
    if !(1..=2).contains(&spaces) {
        return None;
    }
    let rest = rest.get(spaces..)?.strip_prefix('-')?;
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    Some((line.get(..2)?, rest.trim()))
}

// ---------------------------------------------------------------------------------------------
// Identifiers in field values

/// The first id `find` sees in the given values, in order.
fn first_id(values: &[Option<&str>], find: fn(&str) -> Option<ArxivId>) -> Option<ArxivId> {
    values.iter().flatten().find_map(|v| find(v))
}

/// `eprint` is an arXiv id when the archive says arXiv, or when no archive is named and it is a
/// new-style id (old-style ids look too much like other archives' numbers).
fn eprint_id(eprint: Option<&str>, archive: Option<&str>) -> Option<ArxivId> {
    let eprint = unescape_verbatim(eprint?);
    match archive.map(|a| unescape_verbatim(a).trim().to_ascii_lowercase()) {
        Some(a) if a == "arxiv" => ArxivId::parse(&eprint).ok(),
        Some(_) => None,
        None => VersionedId::parse(&eprint)
            .ok()
            .map(|v| v.id)
            .filter(|id| !id.as_str().contains('/')),
    }
}

/// The id in an arXiv abstract or PDF link (`arxiv.org/abs/…`, `/pdf/…`, any host ending in
/// arxiv.org, with or without a version or `.pdf`).
fn id_in_url(text: &str) -> Option<ArxivId> {
    const HOST: &str = "arxiv.org/";
    let lower = text.to_ascii_lowercase();
    lower.match_indices(HOST).find_map(|(i, _)| {
        let path = lower.get(i + HOST.len()..)?;
        if !path.starts_with("abs/") && !path.starts_with("pdf/") {
            return None;
        }
        let url = take_while(text.get(i..)?, |c| {
            !c.is_whitespace() && !"{}\"'<>,;()[]\\".contains(c)
        });
        let url = url.trim_end_matches('.');
        VersionedId::parse(url).ok().map(|v| v.id)
    })
}

/// The id after "arXiv:" in free text ("arXiv preprint arXiv:1706.03762", "arXiv: 1705.10762
/// [cs, stat]"), or after "arXiv preprint", which is how Google Scholar cites old-style ids
/// ("arXiv preprint hep-th/9711200").
fn id_after_arxiv_prefix(text: &str) -> Option<ArxivId> {
    let lower = text.to_ascii_lowercase();
    ["arxiv:", "arxiv preprint "].iter().find_map(|prefix| {
        lower.match_indices(prefix).find_map(|(i, _)| {
            let rest = text.get(i + prefix.len()..)?.trim_start();
            let token = take_while(rest, |c| c.is_ascii_alphanumeric() || ".-/".contains(c));
            VersionedId::parse(token.trim_end_matches('.'))
                .ok()
                .map(|v| v.id)
        })
    })
}

/// DBLP's form: `journal = {CoRR}, volume = {abs/1706.03762}`.
fn corr_id(journal: Option<&str>, volume: Option<&str>) -> Option<ArxivId> {
    if !unescape_verbatim(journal?)
        .trim()
        .eq_ignore_ascii_case("corr")
    {
        return None;
    }
    let volume = unescape_verbatim(volume?);
    ArxivId::parse(volume.trim().strip_prefix("abs/")?).ok()
}

/// The id in arXiv's own DOI, `10.48550/arxiv.ID` (lowercased).
fn id_in_doi(doi: &str) -> Option<ArxivId> {
    ArxivId::parse(doi.strip_prefix("10.48550/arxiv.")?).ok()
}

/// A DOI lowercased and without `https://doi.org/`, `http://dx.doi.org/`, `doi:` or other
/// resolver prefixes; `None` unless it has the `10.prefix/suffix` form.
fn clean_doi(raw: &str) -> Option<String> {
    let s = unescape_verbatim(raw).trim().to_lowercase();
    let s = match s.split_once("://") {
        Some((_, rest)) => rest.split_once('/')?.1,
        None => s
            .strip_prefix("dx.doi.org/")
            .or_else(|| s.strip_prefix("doi.org/"))
            .unwrap_or(&s),
    };
    let s = s.strip_prefix("doi:").unwrap_or(s).trim_start();
    let s = take_while(s, |c| !c.is_whitespace()).trim_end_matches(['.', ',', ';']);
    (s.starts_with("10.") && s.contains('/')).then(|| s.to_string())
}

/// A DOI given as a `doi.org` link in a URL field.
fn doi_in_url(url: &str) -> Option<String> {
    if url.to_ascii_lowercase().contains("doi.org/") {
        clean_doi(url)
    } else {
        None
    }
}

/// A verbatim BibTeX value without its braces and with `\_`, `\%`, … unescaped.
fn unescape_verbatim(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' => {}
            '\\' if chars.peek().is_some_and(|n| "_%&#$".contains(*n)) => {}
            c => out.push(c),
        }
    }
    out
}

/// The longest prefix of `s` whose characters all satisfy `keep`.
fn take_while(s: &str, keep: impl Fn(char) -> bool) -> &str {
    let end = s.find(|c: char| !keep(c)).unwrap_or(s.len());
    s.get(..end).unwrap_or(s)
}

fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// TeX text made plain, and titles made comparable

/// A title reduced for matching: TeX markup and braces removed (accent commands folded into
/// their letter, formatting commands dropped, other commands leave their name: `\alpha` ->
/// "alpha"), accents folded (é -> e, ß -> ss, ﬁ -> fi), lowercase, punctuation turned into
/// spaces and whitespace collapsed. `Schr{\"o}dinger's equation` and "Schrödinger’s Equation"
/// both give "schrodinger s equation".
pub fn normalise_title(t: &str) -> String {
    let folded = fold(&detex(t));
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Accent commands written `\'e`, `\'{e}`, `{\'e}`: the character after the backslash.
const SYMBOL_ACCENTS: &str = "'\"^`~=.";

/// Accent commands that are letters: `\c{c}`, `\v{s}`, `\H{o}`, `\k{a}`, `\r{a}`, `\u{g}`, and
/// `\d`, `\b`, `\t`, which only keep their letter.
const LETTER_ACCENTS: &str = "cvuHkrdbt";

/// Accent and base letter -> precomposed letter, as pairs of characters.
const ACCENTS: &[(char, &str)] = &[
    ('`', "AÀEÈIÌOÒUÙaàeèiìoòuù"),
    ('\'', "AÁEÉIÍOÓUÚYÝaáeéiíoóuúyýCĆcćNŃnńSŚsśZŹzźLĹlĺRŔrŕ"),
    ('^', "AÂEÊIÎOÔUÛaâeêiîoôuûCĈcĉGĜgĝHĤhĥJĴjĵSŜsŝWŴwŵYŶyŷ"),
    ('"', "AÄEËIÏOÖUÜaäeëiïoöuüyÿYŸ"),
    ('~', "AÃNÑOÕaãnñoõIĨiĩUŨuũ"),
    ('=', "AĀaāEĒeēIĪiīOŌoōUŪuū"),
    ('.', "CĊcċEĖeėGĠgġIİZŻzż"),
    ('u', "AĂaăEĔeĕGĞgğIĬiĭOŎoŏUŬuŭ"),
    ('v', "CČcčDĎdďEĚeěNŇnňRŘrřSŠsšTŤtťZŽzžLĽlľ"),
    ('H', "OŐoőUŰuű"),
    ('c', "CÇcçSŞsşTŢtţGĢgģKĶkķLĻlļNŅnņRŖrŗ"),
    ('k', "AĄaąEĘeęIĮiįUŲuų"),
    ('r', "AÅaåUŮuů"),
];

/// Formatting commands that vanish, leaving their argument.
const FORMATTING: &[&str] = &[
    "emph",
    "textit",
    "textbf",
    "textsc",
    "texttt",
    "textrm",
    "textsf",
    "textsl",
    "textup",
    "textmd",
    "textnormal",
    "textsuperscript",
    "textsubscript",
    "mathrm",
    "mathbf",
    "mathit",
    "mathsf",
    "mathtt",
    "mathcal",
    "mathbb",
    "mathfrak",
    "mathscr",
    "boldsymbol",
    "bm",
    "text",
    "mbox",
    "hbox",
    "ensuremath",
    "em",
    "it",
    "bf",
    "sc",
    "rm",
    "tt",
    "sf",
    "sl",
    "up",
    "normalfont",
    "protect",
    "relax",
    "url",
    "noopsort",
    "tiny",
    "scriptsize",
    "footnotesize",
    "small",
    "normalsize",
    "large",
    "Large",
    "LARGE",
    "huge",
    "Huge",
];

/// TeX markup made plain text: accents become accented letters (`{\"u}`, `\'{e}`, `\c c`),
/// `\ss`, `\o`, `\L`, … their letters, escaped specials (`\&`, `\%`, `\_`) their character,
/// formatting commands and braces and dollars vanish, `~` is a space, and other commands leave
/// their name. Iterative, so no nesting of braces can exhaust the stack.
fn detex(s: &str) -> String {
    let mut d = Detex {
        out: String::with_capacity(s.len()),
        accent: None,
    };
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => d.command(&mut chars),
            '{' | '}' | '$' => {}
            '~' => d.push(' '),
            c => d.push(c),
        }
    }
    d.out
}

/// The output of [`detex`] and the accent waiting for its letter.
struct Detex {
    out: String,
    accent: Option<char>,
}

impl Detex {
    /// Appends `c`, composed with the waiting accent if there is one.
    fn push(&mut self, c: char) {
        match self.accent.take() {
            Some(accent) => {
                let base = match c {
                    'ı' => 'i',
                    'ȷ' => 'j',
                    c => c,
                };
                self.out.push(compose(accent, base).unwrap_or(base));
            }
            None => self.out.push(c),
        }
    }

    fn push_str(&mut self, s: &str) {
        s.chars().for_each(|c| self.push(c));
    }

    /// What follows a backslash.
    fn command(&mut self, chars: &mut Peekable<Chars<'_>>) {
        let Some(&next) = chars.peek() else {
            return;
        };
        if next.is_ascii_alphabetic() {
            let mut name = String::new();
            while let Some(c) = chars.next_if(char::is_ascii_alphabetic) {
                name.push(c);
            }
            self.word(&name, chars);
            return;
        }
        chars.next();
        if SYMBOL_ACCENTS.contains(next) {
            self.accent = Some(next);
            skip_spaces(chars);
            return;
        }
        match next {
            '\\' | ',' | ';' | ':' | ' ' | '\t' | '\n' | '\r' => self.push(' '),
            '-' | '/' | '@' | '!' => {}
            other => self.push(other),
        }
    }

    /// A control word such as `\ss`, `\c`, `\emph` or `\alpha`.
    fn word(&mut self, name: &str, chars: &mut Peekable<Chars<'_>>) {
        skip_spaces(chars);
        let takes_letter = chars
            .peek()
            .is_some_and(|c| *c == '{' || *c == '\\' || c.is_alphabetic());
        if name.len() == 1 && LETTER_ACCENTS.contains(name) && takes_letter {
            self.accent = name.chars().next();
        } else if let Some(letter) = special_letter(name) {
            self.push_str(letter);
        } else if let Some(symbol) = text_symbol(name) {
            self.push_str(symbol);
        } else if !FORMATTING.contains(&name) {
            if self.out.ends_with(char::is_alphanumeric) {
                self.out.push(' ');
            }
            self.push_str(name);
            if chars.peek().is_some_and(|c| c.is_alphanumeric()) {
                self.out.push(' ');
            }
        }
    }
}

fn skip_spaces(chars: &mut Peekable<Chars<'_>>) {
    while chars.next_if(|c| c.is_whitespace()).is_some() {}
}

fn special_letter(name: &str) -> Option<&'static str> {
    Some(match name {
        "ss" => "ß",
        "o" => "ø",
        "O" => "Ø",
        "ae" => "æ",
        "AE" => "Æ",
        "oe" => "œ",
        "OE" => "Œ",
        "aa" => "å",
        "AA" => "Å",
        "l" => "ł",
        "L" => "Ł",
        "i" => "ı",
        "j" => "ȷ",
        "dh" => "ð",
        "DH" => "Ð",
        "th" => "þ",
        "TH" => "Þ",
        "ng" => "ŋ",
        "NG" => "Ŋ",
        _ => return None,
    })
}

fn text_symbol(name: &str) -> Option<&'static str> {
    Some(match name {
        "textbraceleft" => "{",
        "textbraceright" => "}",
        "textbackslash" => "\\",
        "textasciitilde" => "~",
        "textasciicircum" => "^",
        "textunderscore" => "_",
        "textendash" => "–",
        "textemdash" => "—",
        "textquoteright" => "’",
        "textquoteleft" => "‘",
        "ldots" | "dots" | "textellipsis" => "…",
        _ => return None,
    })
}

/// The precomposed letter for `accent` over `base`, when there is one.
fn compose(accent: char, base: char) -> Option<char> {
    let (_, pairs) = ACCENTS.iter().find(|(a, _)| *a == accent)?;
    let mut chars = pairs.chars();
    while let (Some(b), Some(composed)) = (chars.next(), chars.next()) {
        if b == base {
            return Some(composed);
        }
    }
    None
}

/// ASCII letters for U+00C0..=U+00FF; `*` marks the ones [`fold_char`] spells out or keeps.
const LATIN_1: &str = concat!(
    "AAAAAA*CEEEEIIII",
    "DNOOOOO*OUUUUY**",
    "aaaaaa*ceeeeiiii",
    "dnooooo*ouuuuy*y"
);

/// ASCII letters for U+0100..=U+017F (Latin Extended-A), `*` as in [`LATIN_1`].
const LATIN_EXTENDED_A: &str = concat!(
    "AaAaAa",
    "CcCcCcCc",
    "DdDd",
    "EeEeEeEeEe",
    "GgGgGgGg",
    "HhHh",
    "IiIiIiIiIi",
    "**",
    "Jj",
    "Kkk",
    "LlLlLlLlLl",
    "NnNnNnnNn",
    "OoOoOo",
    "**",
    "RrRrRr",
    "SsSsSsSs",
    "TtTtTt",
    "UuUuUuUuUuUu",
    "Ww",
    "YyY",
    "ZzZzZz",
    "s"
);

/// `s` with Latin accents folded away (é -> e, ł -> l, ß -> ss, ﬁ -> fi); other characters stay.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        fold_char(c, &mut out);
    }
    out
}

fn fold_char(c: char, out: &mut String) {
    let spelled = match c {
        'Æ' => "AE",
        'æ' => "ae",
        'Þ' => "TH",
        'þ' => "th",
        'ß' => "ss",
        'Ĳ' => "IJ",
        'ĳ' => "ij",
        'Œ' => "OE",
        'œ' => "oe",
        'ȷ' => "j",
        'ﬀ' => "ff",
        'ﬁ' => "fi",
        'ﬂ' => "fl",
        'ﬃ' => "ffi",
        'ﬄ' => "ffl",
        'ﬅ' | 'ﬆ' => "st",
        '\u{300}'..='\u{36f}' => "",
        _ => {
            out.push(table_fold(c).unwrap_or(c));
            return;
        }
    };
    out.push_str(spelled);
}

/// The base letter of `c` from the Latin-1 and Latin Extended-A tables.
fn table_fold(c: char) -> Option<char> {
    let code = c as usize;
    let letter = match code {
        0xC0..=0xFF => LATIN_1.as_bytes().get(code - 0xC0),
        0x100..=0x17F => LATIN_EXTENDED_A.as_bytes().get(code - 0x100),
        _ => None,
    }?;
    (*letter != b'*').then_some(char::from(*letter))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::Author;

    const MULTIVAE: &str = include_str!("../tests/fixtures/bib/multivae_paper_excerpt.bib");
    const JABREF: &str = include_str!("../tests/fixtures/bib/jabref_complex_excerpt.bib");
    const FEATURES2: &str = include_str!("../tests/fixtures/bib/bibtexparser_features2.bib");
    const TRAPS: &str = include_str!("../tests/fixtures/bib/bibtexparser_traps.bib");
    const ZOTERO_RIS: &str =
        include_str!("../tests/fixtures/bib/asreview_pubmed_zotero_excerpt.ris");

    fn id(s: &str) -> ArxivId {
        ArxivId::parse(s).unwrap()
    }

    fn paper(arxiv_id: &str, title: &str, authors: &[&str]) -> Paper {
        let mut p = Paper::new(id(arxiv_id), title);
        p.authors = authors.iter().map(|a| Author::named(*a)).collect();
        p
    }

    fn attention() -> Paper {
        let mut p = paper(
            "1706.03762",
            "Attention Is All You Need",
            &["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"],
        );
        p.categories = vec!["cs.CL".into(), "cs.LG".into()];
        p.published = Some(Utc.with_ymd_and_hms(2017, 6, 12, 17, 57, 34).unwrap());
        p.summary = "The dominant sequence transduction models are based on complex recurrent or\n\
                     convolutional neural networks. We reach 28.4 BLEU, 100% better & cheaper."
            .into();
        p.comment = Some("15 pages, 5 figures".into());
        p
    }

    /// (line, key, arXiv id, DOI) of an entry.
    type Ids<'a> = (usize, Option<&'a str>, Option<&'a str>, Option<&'a str>);

    fn ids(lib: &Library) -> Vec<Ids<'_>> {
        lib.entries
            .iter()
            .map(|e| {
                (
                    e.line,
                    e.key.as_deref(),
                    e.arxiv_id.as_ref().map(ArxivId::as_str),
                    e.doi.as_deref(),
                )
            })
            .collect()
    }

    fn titles(lib: &Library) -> Vec<&str> {
        lib.entries
            .iter()
            .map(|e| e.title.as_deref().unwrap_or_default())
            .collect()
    }

    fn error_lines(lib: &Library) -> Vec<usize> {
        lib.errors.iter().map(|e| e.line).collect()
    }

    #[test]
    fn bibtex_entry_has_the_arxiv_export_shape() {
        let expected = "@misc{vaswani2017attention,\n\
                        \x20 title = {Attention Is All You Need},\n\
                        \x20 author = {Ashish Vaswani and Noam Shazeer and Niki Parmar},\n\
                        \x20 year = {2017},\n\
                        \x20 month = jun,\n\
                        \x20 eprint = {1706.03762},\n\
                        \x20 archivePrefix = {arXiv},\n\
                        \x20 primaryClass = {cs.CL},\n\
                        \x20 url = {https://arxiv.org/abs/1706.03762},\n\
                        \x20 abstract = {The dominant sequence transduction models are based on \
                        complex recurrent or convolutional neural networks. We reach 28.4 BLEU, \
                        100\\% better \\& cheaper.},\n\
                        }\n";
        assert_eq!(to_bibtex(&attention()), expected);

        let mut p = attention();
        p.doi = Some("10.1000/a_b".into());
        p.journal_ref = Some("Phys. Rev. D 99 & 100 (2019)".into());
        p.summary.clear();
        let out = to_bibtex(&p);
        assert!(out.contains("  doi = {10.1000/a_b},\n"), "{out}");
        assert!(
            out.contains("  journal = {Phys. Rev. D 99 \\& 100 (2019)},\n"),
            "{out}"
        );
        assert!(!out.contains("abstract"), "{out}");
    }

    #[test]
    fn tex_specials_are_escaped_and_math_is_kept() {
        for (raw, tex) in [
            (
                "50% of $O(n^{2})$ & a_b #1 {BERT}",
                "50\\% of $O(n^{2})$ \\& a\\_b \\#1 BERT",
            ),
            ("Schr\\\"odinger's cat", "Schrödinger's cat"),
            ("$50%$ gains", "50\\% gains"),
            ("costs \\$5 or $", "costs \\$5 or"),
            (
                "set \\{x\\} and a^b",
                "set \\textbraceleft{}x\\textbraceright{} and a\\textasciicircum{}b",
            ),
            ("a } b { c", "a b c"),
            ("$$E = mc^2$$ and $x_{ij}$", "$$E = mc^2$$ and $x_{ij}$"),
            ("$\\{a$ unbalanced", "\\textbraceleft{}a unbalanced"),
        ] {
            assert_eq!(tex_text(raw), tex, "{raw}");
        }
        // Authors whose name has the word "and" are kept whole.
        assert_eq!(
            bibtex_author("LIGO Scientific Collaboration and Virgo Collaboration"),
            "{LIGO Scientific Collaboration and Virgo Collaboration}"
        );
        assert_eq!(verbatim("10.1000/{odd"), "10.1000/odd");
    }

    #[test]
    fn citation_keys_follow_google_scholar() {
        assert_eq!(citation_key(&attention()), "vaswani2017attention");
        let mut p = paper(
            "2108.07258",
            "On the Opportunities and Risks of Foundation Models",
            &["Rishi Bommasani"],
        );
        assert_eq!(
            citation_key(&p),
            "bommasani2021opportunities",
            "year from the id"
        );
        p.published = Some(Utc.with_ymd_and_hms(2022, 1, 2, 0, 0, 0).unwrap());
        assert_eq!(
            citation_key(&p),
            "bommasani2022opportunities",
            "published wins"
        );
        for (author, title, key) in [
            (
                "Łukasz Kaiser",
                "Depthwise Separable Convolutions",
                "kaiser2017depthwise",
            ),
            ("Vaswani, Ashish", "BERT: Pre-training", "vaswani2017bert"),
            ("John Smith Jr.", "The {GPT-4} Report", "smith2017gpt"),
            ("Gustav Bostr\\\"{o}m", "Über alles", "bostrom2017uber"),
            ("Noam Shazeer", "On The", "shazeer2017"),
            ("李明", "Attention", "arxiv170603762"),
        ] {
            assert_eq!(
                citation_key(&paper("1706.03762", title, &[author])),
                key,
                "{author}"
            );
        }
        assert_eq!(
            citation_key(&paper("1706.03762", "T", &[])),
            "arxiv170603762"
        );
        assert_eq!(
            citation_key(&paper("hep-th/9901001", "T", &[])),
            "arxiv9901001"
        );
    }

    #[test]
    fn duplicate_keys_get_letter_suffixes() {
        let papers: Vec<Paper> = ["1706.03762", "1706.03763", "1706.03764"]
            .iter()
            .map(|i| paper(i, "Attention Is All You Need", &["Ashish Vaswani"]))
            .collect();
        let out = to_bibtex_all(&papers);
        let keys: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("@misc{"))
            .collect();
        assert_eq!(
            keys,
            [
                "vaswani2017attention,",
                "vaswani2017attentiona,",
                "vaswani2017attentionb,"
            ]
        );
        assert_eq!(out.matches("}\n\n@misc{").count(), 2, "blank lines between");
        for (n, suffix) in [
            (0, "a"),
            (25, "z"),
            (26, "aa"),
            (27, "ab"),
            (701, "zz"),
            (702, "aaa"),
        ] {
            assert_eq!(letter_suffix(n), suffix);
        }
    }

    #[test]
    fn ris_record_has_zoteros_shape() {
        let expected = [
            "TY  - GEN",
            "TI  - Attention Is All You Need",
            "AU  - Vaswani, Ashish",
            "AU  - Shazeer, Noam",
            "AU  - Parmar, Niki",
            "AB  - The dominant sequence transduction models are based on complex recurrent or \
             convolutional neural networks. We reach 28.4 BLEU, 100% better & cheaper.",
            "DA  - 2017/06/12/",
            "PY  - 2017",
            "PB  - arXiv",
            "UR  - https://arxiv.org/abs/1706.03762",
            "N1  - arXiv:1706.03762",
            "N1  - Comment: 15 pages, 5 figures",
            "KW  - cs.CL",
            "KW  - cs.LG",
            "ER  - ",
            "",
            "",
        ]
        .join("\r\n");
        assert_eq!(to_ris(&attention()), expected);

        let mut p = paper(
            "2501.00001",
            "Schr\\\"odinger \\emph{bridges} in $O(n^{2})$",
            &[
                "Plato",
                "John Smith Jr.",
                "Curie, Marie",
                "LIGO Scientific Collaboration and Virgo",
            ],
        );
        p.doi = Some("10.1000/x".into());
        let out = to_ris(&p);
        for line in [
            "TI  - Schrödinger bridges in $O(n^{2})$\r\n",
            "AU  - LIGO Scientific Collaboration and Virgo\r\n",
            "AU  - Plato\r\n",
            "AU  - Smith, John, Jr.\r\n",
            "AU  - Curie, Marie\r\n",
            "DA  - 2025/01//\r\n",
            "DO  - 10.1000/x\r\n",
        ] {
            assert!(out.contains(line), "{line:?} in {out}");
        }
        assert_eq!(
            to_ris_all(&[attention(), p.clone()]),
            to_ris(&attention()) + &to_ris(&p)
        );
    }

    #[test]
    fn exports_read_back_as_the_same_paper() {
        let tricky = [
            "Attention Is All You Need",
            "Schr\\\"odinger bridges & 50% of $O(n^{2})$ costs: a_b #1 {BERT}",
            "Über die Ableitung — naïve café, ﬁne-tuned",
            "Mixed $x_{ij}$ and unbalanced $ dollar and } brace {",
            "\\emph{Deep} learning~with \\LaTeX and $\\alpha$-stable laws",
            "Quotes \"inside\" and a trailing backslash \\",
        ];
        let papers: Vec<Paper> = tricky
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut p = paper(&format!("2501.{:05}", i + 1), t, &["Ada Lovelace"]);
                p.categories = vec!["cs.LG".into()];
                p.summary = format!("Abstract of {t} with 100% & $x$.");
                p
            })
            .collect();
        let old_style = paper("hep-th/9901001", "An old-style id", &["Edward Witten"]);
        let all: Vec<Paper> = papers.into_iter().chain([old_style]).collect();
        for (text, format) in [
            (to_bibtex_all(&all), Format::Bibtex),
            (to_ris_all(&all), Format::Ris),
        ] {
            let lib = parse_library(&text);
            assert_eq!(lib.format, format);
            assert!(lib.errors.is_empty(), "{:?}\n{text}", lib.errors);
            assert_eq!(lib.entries.len(), all.len(), "{text}");
            for (p, e) in all.iter().zip(&lib.entries) {
                assert_eq!(e.arxiv_id.as_ref(), Some(&p.id), "{text}");
                assert_eq!(
                    normalise_title(e.title.as_deref().unwrap_or_default()),
                    normalise_title(&p.title),
                    "{format:?}: {}",
                    p.title
                );
            }
        }
        // Single entries too, with a DOI.
        let mut p = attention();
        p.doi = Some("10.1000/ABC".into());
        for text in [to_bibtex(&p), to_ris(&p)] {
            let e = &parse_library(&text).entries[0];
            assert_eq!(e.arxiv_id, Some(id("1706.03762")));
            assert_eq!(e.doi.as_deref(), Some("10.1000/abc"));
            assert_eq!(e.title.as_deref(), Some("Attention Is All You Need"));
        }
    }

    #[test]
    fn reads_a_mixed_real_bibliography() {
        let lib = parse_library(MULTIVAE);
        assert_eq!(lib.format, Format::Bibtex);
        assert!(lib.errors.is_empty(), "{:?}", lib.errors);
        assert_eq!(
            ids(&lib),
            [
                (1, Some("wu:2018"), None, None),
                (
                    14,
                    Some("suzuki:2016"),
                    Some("1611.01891"),
                    Some("10.48550/arxiv.1611.01891")
                ),
                (25, Some("vedantam:2018"), Some("1705.10762"), None),
                (
                    40,
                    Some("kingma"),
                    Some("1312.6114"),
                    Some("10.61603/ceas.v2i1.33")
                ),
                (
                    56,
                    Some("wang_deep_2017"),
                    Some("1610.03454"),
                    Some("10.48550/arxiv.1610.03454")
                ),
                // Google Scholar's form: journal={arXiv preprint arXiv:2305.11832}.
                (71, Some("senellart:2023"), Some("2305.11832"), None),
                (78, Some("Aguila2023"), None, Some("10.21105/joss.05093")),
                (88, Some("huggingface"), None, None),
                (
                    95,
                    Some("chadebec_DA"),
                    None,
                    Some("10.1109/tpami.2022.3185773")
                ),
                (115, Some("sejnova:2024"), Some("2209.03048"), None),
                (125, Some("palumbo2024deep"), None, None),
                (134, Some("suzuki:2023:mitigating"), None, None),
                (142, Some("sutter:mmjsd"), Some("2006.08242"), None),
            ]
        );
        assert_eq!(
            titles(&lib)[..3],
            [
                "Multimodal Generative Models for Scalable Weakly-Supervised Learning",
                "Joint Multimodal Learning with Deep Generative Models",
                "Generative Models of Visually Grounded Imagination",
            ]
        );
        assert_eq!(
            titles(&lib)[11],
            "Mitigating the Limitations of Multimodal VAEs with Coordination-Based Approach"
        );
        assert_eq!(
            normalise_title(titles(&lib)[0]),
            "multimodal generative models for scalable weakly supervised learning"
        );
    }

    #[test]
    fn reads_jabrefs_strings_comments_and_doi_links() {
        let lib = parse_library(JABREF);
        assert_eq!(lib.format, Format::Bibtex);
        assert!(
            lib.errors.is_empty(),
            "free text, @preamble, @string and @comment are not errors: {:?}",
            lib.errors
        );
        assert_eq!(
            ids(&lib),
            [
                (11, Some("1102917"), None, Some("10.1007/s00779-005-0347-6")),
                (27, Some("1137631"), None, Some("10.1145/1137627.1137631")),
                (44, Some("10250999"), None, Some("10.1109/msp.2004.81")),
            ]
        );
        assert_eq!(
            titles(&lib),
            [
                "The trouble with login: on usability and computer security in ubiquitous \
                 computing",
                "Extending XP practices to support security requirements engineering",
                "Article with complex Authornames",
            ]
        );
    }

    #[test]
    fn reads_bibtexparsers_macro_and_trap_files() {
        let lib = parse_library(FEATURES2);
        assert!(lib.errors.is_empty(), "{:?}", lib.errors);
        assert_eq!(ids(&lib), [(5, Some("mykey"), None, None)]);
        assert_eq!(titles(&lib), ["Cool Stuff"]);

        let lib = parse_library(TRAPS);
        assert!(lib.errors.is_empty(), "{:?}", lib.errors);
        assert_eq!(ids(&lib), [(1, Some("Laide2013"), None, None)]);
        assert_eq!(titles(&lib), ["An amazing title"]);
    }

    #[test]
    fn reads_a_zotero_ris_export_with_either_line_end() {
        let crlf = ZOTERO_RIS.replace('\n', "\r\n");
        for text in [ZOTERO_RIS, crlf.as_str()] {
            let lib = parse_library(text);
            assert_eq!(lib.format, Format::Ris);
            assert!(lib.errors.is_empty(), "{:?}", lib.errors);
            assert_eq!(
                ids(&lib),
                [
                    (1, None, None, Some("10.5114/pg.2018.81081")),
                    (26, None, None, Some("10.1007/s10151-019-02080-0")),
                    (50, None, None, Some("10.1097/md.0000000000016231")),
                ]
            );
            assert_eq!(
                titles(&lib),
                [
                    "The importance of cognitive flexibility and flexibility in coping with \
                     stress for the quality of life in inflammatory bowel disease patients \
                     during biological therapy. A preliminary report.",
                    "Outcomes of inflammatory bowel disease surgery in obese versus non-obese \
                     patients: a meta-analysis.",
                    "Efficacy and safety of Tripterygium wilfordii Hook F preparations for the \
                     treatment of Crohn disease: A systemic review and meta-analysis protocol.",
                ]
            );
        }
    }

    #[test]
    fn finds_arxiv_ids_where_exporters_put_them() {
        let text = r"
@misc{eprint_new, eprint = {2501.00001v2}}
@misc{eprint_old, eprint = {hep-th/9901001}, archivePrefix = {arXiv}}
@misc{eprint_hal, eprint = {2501.00001}, eprinttype = {HAL}}
@misc{old_without_prefix, eprint = {hep-th/9901001}}
@misc{howpublished, howpublished = {\url{https://export.arxiv.org/pdf/2501.00002v3.pdf}}}
@misc{note_url, note = {see http://arxiv.org/abs/math.GT/0309136v1.}}
@misc{booktitle, booktitle = {arXiv preprint arXiv:2501.00003}}
@misc{scholar_old, journal = {arXiv preprint hep-th/9711200}}
@misc{note_text, note = {arXiv: 2501.00004 [cs.LG]}}
@misc{dblp, journal = {CoRR}, volume = {abs/2501.00005}}
@misc{doi, doi = {https://doi.org/10.48550/arXiv.2501.00006}}
@misc{doi_url, url = {https://doi.org/10.48550/arXiv.2501.00013}}
@misc{order, url = {https://arxiv.org/abs/2501.00008}, eprint = {2501.00007}, archiveprefix = {arXiv}}
@misc{listing, url = {https://arxiv.org/list/cs.LG/recent}, journal = {arXiv}}
";
        let lib = parse_library(text);
        assert!(lib.errors.is_empty(), "{:?}", lib.errors);
        let found: Vec<(&str, Option<&str>)> = lib
            .entries
            .iter()
            .map(|e| {
                (
                    e.key.as_deref().unwrap_or_default(),
                    e.arxiv_id.as_ref().map(ArxivId::as_str),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("eprint_new", Some("2501.00001")),
                ("eprint_old", Some("hep-th/9901001")),
                ("eprint_hal", None),
                ("old_without_prefix", None),
                ("howpublished", Some("2501.00002")),
                ("note_url", Some("math.GT/0309136")),
                ("booktitle", Some("2501.00003")),
                ("scholar_old", Some("hep-th/9711200")),
                ("note_text", Some("2501.00004")),
                ("dblp", Some("2501.00005")),
                ("doi", Some("2501.00006")),
                ("doi_url", Some("2501.00013")),
                ("order", Some("2501.00007")),
                ("listing", None),
            ]
        );
        assert_eq!(
            lib.entries[11].doi.as_deref(),
            Some("10.48550/arxiv.2501.00013")
        );
    }

    #[test]
    fn bibtex_syntax_macros_parentheses_and_accents() {
        let text = r#"@STRING{ arx = "arXiv preprint " }
@String(pre = "ar" # "Xiv:")
@Comment{ this is {ignored}, even @misc{not_an_entry, title = {No}} }
@preamble{ "\newcommand{\noopsort}[1]{}" }
@Misc(paren_key,
  TITLE = "Schr{\"o}dinger {\'E}quations " # "and {\"u}ber \c{c}a",
  Journal = arx # pre # "2501.00009",
  YEAR = 2025
)
@comment this line is a comment too
@article{quoted, title = "A {"}quoted{"} title", note = "x" # {y} # 42}
"#;
        let lib = parse_library(text);
        assert!(lib.errors.is_empty(), "{:?}", lib.errors);
        assert_eq!(
            ids(&lib),
            [
                (5, Some("paren_key"), Some("2501.00009"), None),
                (11, Some("quoted"), None, None)
            ]
        );
        assert_eq!(
            titles(&lib),
            ["Schrödinger Équations and über ça", "A \"quoted\" title"]
        );
        assert_eq!(
            normalise_title(titles(&lib)[0]),
            "schrodinger equations and uber ca"
        );
    }

    #[test]
    fn malformed_entries_are_reported_with_their_line_and_skipped() {
        let lines = [
            "@misc{good1, title = {One}}",                     // 1
            "@misc{bad_end, title = {Closed value,",           // 2: its `}` is missing
            "  year = 2020}",                                  // 3
            "@misc{good2, title = \"Two\"}",                   // 4
            "garbage text with a stray @ sign",                // 5
            "@misc{good3, title = {Three}}",                   // 6
            "@misc{, title = {no key}}",                       // 7
            "@misc{nocomma title = {x}}",                      // 8
            "@article{title = {field first}}",                 // 9
            "@misc{bad_value, title = {x} junk, year = 2020}", // 10
            "@misc{open_value, title = {Open {brace}",         // 11
            "@misc{good4, title = {Four}}",                    // 12
            "@misc{stray, title = \"a } b\"}",                 // 13
            "@misc{truncated, title = {Unfinished",            // 14
        ];
        let lib = parse_library(&lines.join("\n"));
        assert_eq!(
            ids(&lib),
            [
                (1, Some("good1"), None, None),
                (4, Some("good2"), None, None),
                (6, Some("good3"), None, None),
                (12, Some("good4"), None, None),
            ]
        );
        assert_eq!(error_lines(&lib), [2, 5, 7, 8, 9, 10, 11, 13, 14]);
        let message = |line: usize| {
            lib.errors
                .iter()
                .find(|e| e.line == line)
                .map(|e| e.message.as_str())
                .unwrap_or_default()
        };
        assert!(
            message(2).contains("found the `@` of line 4"),
            "{}",
            message(2)
        );
        assert!(
            message(5).contains("`{` or `(` after `@sign`"),
            "{}",
            message(5)
        );
        assert!(message(7).contains("citation key"), "{}", message(7));
        assert!(
            message(8).contains("`,` after the citation key `nocomma`"),
            "{}",
            message(8)
        );
        assert!(message(9).contains("no citation key"), "{}", message(9));
        assert!(message(10).contains("found `j`"), "{}", message(10));
        assert!(
            message(11).contains("unbalanced braces")
                && message(11).contains("before the entry on line 12"),
            "{}",
            message(11)
        );
        assert!(message(13).contains("closes nothing"), "{}", message(13));
        assert!(message(14).contains("never closed"), "{}", message(14));
    }

    #[test]
    fn ris_records_notes_continuations_and_errors() {
        let text = [
            "TY  - GEN", // 1
            "TI  - Attention Is All You Need",
            "AU  - Vaswani, Ashish",
            "DO  - 10.48550/arXiv.1706.03762",
            "UR  - http://arxiv.org/abs/1706.03762",
            "ER  -",
            "",
            "TY  - JOUR", // 8
            "T1  - Only an",
            "  arXiv note",
            "N1  - arXiv:2501.00010 [cs.LG]",
            "ID  - note2025",
            "ER  - ",
            "TY  - JOUR", // 14
            "TI  - From the journal name",
            "JO  - arXiv preprint arXiv:2501.00011",
            "ER  - ",
            "TY  - GEN", // 18
            "TI  - From ID",
            "ID  - arXiv:2010.03525 [cs.SE]",
            "ER  - ",
            "TY  - GEN", // 22
            "TI  - PDF link",
            "L1  - https://arxiv.org/pdf/2501.00012v2.pdf",
            "ER  - ",
            "stray text between records", // 26
            "  AU  - More, Stray",
            "TY  - GEN", // 28
            "TI  - Never closed",
            "TY  - GEN", // 30
            "TI  - Last, also never closed",
        ]
        .join("\n");
        let lib = parse_library(&text);
        assert_eq!(lib.format, Format::Ris);
        assert_eq!(
            ids(&lib),
            [
                (
                    1,
                    None,
                    Some("1706.03762"),
                    Some("10.48550/arxiv.1706.03762")
                ),
                (8, Some("note2025"), Some("2501.00010"), None),
                (14, None, Some("2501.00011"), None),
                (
                    18,
                    Some("arXiv:2010.03525 [cs.SE]"),
                    Some("2010.03525"),
                    None
                ),
                (22, None, Some("2501.00012"), None),
            ]
        );
        assert_eq!(titles(&lib)[1], "Only an arXiv note");
        assert_eq!(error_lines(&lib), [26, 28, 30]);
        assert!(lib.errors[1].message.contains("no `ER  - ` line"));
        assert!(lib.errors[2].message.contains("file ends"));
    }

    #[test]
    fn the_format_is_told_from_the_content() {
        for text in ["", "hello world\n", "  \n\t\n", "name@example.com wrote"] {
            let lib = parse_library(text);
            assert!(lib.entries.is_empty());
            assert_eq!(error_lines(&lib), [1], "{text:?}");
            assert!(lib.errors[0].message.contains("neither BibTeX"));
        }
        let lib = parse_library("\u{feff}\n  \nTY  - GEN\r\nTI  - X\r\nER  - \r\n");
        assert_eq!((lib.format, lib.entries.len()), (Format::Ris, 1));
        assert_eq!(lib.entries[0].line, 3);
        let lib = parse_library("% a comment\n@misc{k,}\n");
        assert_eq!((lib.format, lib.entries.len()), (Format::Bibtex, 1));
        assert_eq!(lib.entries[0].line, 2);
    }

    #[test]
    fn titles_normalise_for_matching() {
        for (title, normal) in [
            (
                "Schr{\\\"o}dinger's \\'{e}quation",
                "schrodinger s equation",
            ),
            ("Schrödinger’s Équation", "schrodinger s equation"),
            (
                "{\\L}{\\'o}d{\\'z} and \\v{S}koda, \\c{c}a \\c c \\ss{} \\o{}",
                "lodz and skoda ca c ss o",
            ),
            (
                "  Attention   is ALL you need!  ",
                "attention is all you need",
            ),
            (
                "$\\alpha$-Stable \\emph{Laws} via \\LaTeX",
                "alpha stable laws via latex",
            ),
            (
                "Naïve ﬁne-tuning na\\\"{\\i}vely",
                "naive fine tuning naively",
            ),
            (
                "Multimodal {Generative} {Models}",
                "multimodal generative models",
            ),
            ("日本語のタイトル", "日本語のタイトル"),
            ("C\u{327}a", "ca"),
            ("", ""),
        ] {
            assert_eq!(normalise_title(title), normal, "{title}");
        }
        assert_eq!(LATIN_1.len(), 64);
        assert_eq!(LATIN_EXTENDED_A.len(), 128);
        assert_eq!(fold("ÀÉÎÕÜÇÑØÅŁŽőŸæßĳ×"), "AEIOUCNOALZoYaessij×");
    }

    #[test]
    fn five_thousand_entries_parse() {
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&format!(
                "@article{{key{i},\n  title = {{Title {i} with {{Braces}} and {{\\\"u}}mlauts}},\n  \
                 author = {{Doe, John and Roe, Jane}},\n  journal = {{arXiv preprint \
                 arXiv:2401.{i:05}}},\n  year = 2024,\n}}\n"
            ));
        }
        let lib = parse_library(&text);
        assert!(lib.errors.is_empty(), "{:?}", lib.errors.first());
        assert_eq!(lib.entries.len(), 5000);
        let last = &lib.entries[4999];
        assert_eq!(last.line, 6 * 4999 + 1);
        assert_eq!(last.arxiv_id, Some(id("2401.04999")));
        assert_eq!(
            last.title.as_deref(),
            Some("Title 4999 with Braces and ümlauts")
        );
    }

    /// Lines of `text` as `parse_library` counts them.
    fn line_count(text: &str) -> usize {
        text.split('\n').count()
    }

    fn parse_sanely(text: &str) {
        let lib = parse_library(text);
        let lines = line_count(text);
        for line in lib
            .entries
            .iter()
            .map(|e| e.line)
            .chain(lib.errors.iter().map(|e| e.line))
        {
            assert!(
                (1..=lines).contains(&line),
                "line {line} of {lines}: {text:?}"
            );
        }
    }

    /// A small deterministic generator (xorshift64*), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn never_panics_on_truncated_or_random_input() {
        for text in [MULTIVAE, JABREF, FEATURES2, TRAPS, ZOTERO_RIS] {
            let step = if text.len() > 1000 { 11 } else { 1 };
            let cuts = (0..=text.len()).filter(|&i| text.is_char_boundary(i));
            for cut in cuts.step_by(step) {
                parse_sanely(&text[..cut]);
                parse_sanely(&text[cut..]);
            }
        }

        let pieces = [
            "@",
            "{",
            "}",
            "(",
            ")",
            "\"",
            "=",
            ",",
            "#",
            "\\",
            "\n",
            "\r\n",
            " ",
            "\t",
            "a",
            "Z",
            "1",
            ".",
            "$",
            "%",
            "é",
            "ı",
            "~",
            "^",
            "'",
            ":",
            "/",
            "@misc{",
            "@string{",
            "@comment",
            "TY  - ",
            "ER  - ",
            "AU  - ",
            "arXiv:",
            "https://arxiv.org/abs/",
            "2501.00001",
            "{\\\"",
            "\\'",
            "\\c",
            "doi.org/10.",
            "10.48550/arXiv.",
            "\u{feff}",
            "\u{301}",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let len = rng.below(80);
            let text: String = (0..len).map(|_| pieces[rng.below(pieces.len())]).collect();
            parse_sanely(&text);
            let bytes: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
            parse_sanely(&String::from_utf8_lossy(&bytes));
        }

        // Deep nesting and long runs stay linear and use no recursion.
        parse_sanely(&format!("@misc{{k, title = {}}}", "{".repeat(100_000)));
        parse_sanely(&format!(
            "@misc{{k, title = {{{}}}}}",
            "\\'{".repeat(50_000)
        ));
        parse_sanely(&"@".repeat(100_000));
        parse_sanely(&"@a{".repeat(30_000));
        parse_sanely(&"TY  - GEN\n".repeat(30_000));
        let _ = normalise_title(&"\\\"{".repeat(100_000));
    }

    #[test]
    fn macro_expansion_is_bounded() {
        let mut text = String::from("@string{a0 = \"xxxxxxxxxxxxxxxx\"}\n");
        for i in 1..=48 {
            text.push_str(&format!("@string{{a{i} = a{} # a{}}}\n", i - 1, i - 1));
        }
        text.push_str("@misc{k, title = a48}\n@misc{after, title = {Still read}}\n");
        let lib = parse_library(&text);
        assert!(
            lib.errors.iter().any(|e| e
                .message
                .contains("expands to more text than the whole file")),
            "{:?}",
            lib.errors
        );
        assert_eq!(
            lib.entries.last().and_then(|e| e.key.as_deref()),
            Some("after")
        );
    }
}
