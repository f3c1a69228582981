//! A minimal element tree over quick-xml, enough for arXiv's Atom and OAI-PMH responses (pages of
//! at most a few thousand records, so holding one in memory is fine). Names are local names
//! (namespace prefixes dropped); text is the element's own character data with entities resolved.

use paperboy_core::Paper;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::text::{collapse_str, trim_owned, versioned_id, Rejection};
use crate::RejectReason;

#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
    /// False for an element cut off by a syntax error or the end of the document.
    pub complete: bool,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The text of the first child called `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// [`Element::child_text`] as an owned string, `None` when absent.
    pub fn child_string(&self, name: &str) -> Option<String> {
        self.child_text(name).map(str::to_owned)
    }
}

/// What an Atom entry and OAI-PMH metadata say alike of a paper: `id` (which may name a version,
/// returned beside the paper), `el`'s `<title>`, whitespace collapsed, and its abstract, the
/// child `abstract_tag`, trimmed.
pub(crate) fn paper_core(
    el: &Element,
    id: &str,
    abstract_tag: &str,
) -> Result<(Paper, Option<u32>), Rejection> {
    let vid = versioned_id(id)?;
    let title = el
        .child_text("title")
        .map(collapse_str)
        .filter(|t| !t.is_empty());
    let title = title.ok_or((RejectReason::MissingField, format!("{id}: no <title>")))?;
    let mut p = Paper::new(vid.id, title);
    p.summary = el
        .child_string(abstract_tag)
        .map(trim_owned)
        .unwrap_or_default();
    Ok((p, vid.version))
}

/// Elements nested deeper than this end the parse with an error. arXiv's documents are under ten
/// deep; a hostile one of 100,000 would otherwise build a tree whose recursive drop (and any
/// recursive walk) overflows the stack and kills the process.
pub(crate) const MAX_DEPTH: usize = 128;

/// Parses a document into a tree under a synthetic root. On a syntax error the tree holds what was
/// read before it (open elements marked incomplete) and the error is returned beside it.
pub(crate) fn parse(xml: &str) -> (Element, Option<String>) {
    let mut reader = Reader::from_str(xml.strip_prefix('\u{feff}').unwrap_or(xml));
    let mut stack = vec![Element {
        name: "#document".into(),
        ..Element::default()
    }];
    let mut error = None;
    loop {
        let event = reader.read_event();
        let depth = stack.len();
        let top = stack.last_mut().expect("the root is never popped");
        match event {
            Ok(Event::Start(_)) if depth > MAX_DEPTH => {
                error = Some(format!(
                    "elements nested more than {MAX_DEPTH} deep at byte {}",
                    reader.buffer_position()
                ));
                break;
            }
            Ok(Event::Start(e)) => match element(&e) {
                Ok(el) => stack.push(el),
                Err(msg) => {
                    error = Some(format!("{msg} at byte {}", reader.buffer_position()));
                    break;
                }
            },
            Ok(Event::Empty(e)) => match element(&e) {
                Ok(mut el) => {
                    el.complete = true;
                    top.children.push(el);
                }
                Err(msg) => {
                    error = Some(format!("{msg} at byte {}", reader.buffer_position()));
                    break;
                }
            },
            Ok(Event::End(_)) => {
                if stack.len() == 1 {
                    error = Some(format!(
                        "unexpected closing tag at byte {}",
                        reader.buffer_position()
                    ));
                    break;
                }
                let mut el = stack.pop().expect("checked above");
                el.complete = true;
                stack.last_mut().expect("the root stays").children.push(el);
            }
            Ok(Event::Text(t)) => match t.xml_content() {
                Ok(s) => top.text.push_str(&s),
                Err(e) => {
                    error = Some(format!("{e} at byte {}", reader.buffer_position()));
                    break;
                }
            },
            Ok(Event::CData(c)) => match c.decode() {
                Ok(s) => top.text.push_str(&s),
                Err(e) => {
                    error = Some(format!("{e} at byte {}", reader.buffer_position()));
                    break;
                }
            },
            Ok(Event::GeneralRef(r)) => match r.resolve_char_ref() {
                Ok(Some(c)) => top.text.push(c),
                Ok(None) => {
                    let name = r.decode().unwrap_or_default();
                    match predefined_entity(&name) {
                        Some(s) => top.text.push_str(s),
                        None => {
                            // Undeclared entity (HTML's &nbsp; and the like): keep it as written.
                            top.text.push('&');
                            top.text.push_str(&name);
                            top.text.push(';');
                        }
                    }
                }
                Err(e) => {
                    error = Some(format!("{e} at byte {}", reader.buffer_position()));
                    break;
                }
            },
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                error = Some(format!("{e} at byte {}", reader.error_position()));
                break;
            }
        }
    }
    if stack.len() > 1 && error.is_none() {
        error = Some(format!(
            "document ends inside <{}>",
            stack.last().map_or("", |e| e.name.as_str())
        ));
    }
    while stack.len() > 1 {
        let el = stack.pop().expect("len > 1");
        stack.last_mut().expect("len > 0").children.push(el);
    }
    let mut root = stack.pop().expect("the root");
    root.complete = error.is_none();
    (root, error)
}

fn predefined_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => return None,
    })
}

fn element(e: &BytesStart) -> Result<Element, String> {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| format!("bad attribute in <{name}>: {err}"))?;
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|err| format!("bad attribute value in <{name}>: {err}"))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
        complete: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_text_and_entities() {
        let (root, err) = parse(
            "<?xml version=\"1.0\"?><a:feed xmlns:a=\"x\"><t k=\"v&amp;w\">Mendeleev&#39;s &amp; &#x41;&lt;b&gt; &nbsp;<![CDATA[<raw>]]></t><e/></a:feed>",
        );
        assert_eq!(err, None);
        let feed = root.child("feed").unwrap();
        assert!(feed.complete);
        let t = feed.child("t").unwrap();
        assert_eq!(t.text, "Mendeleev's & A<b> &nbsp;<raw>");
        assert_eq!(t.attr("k"), Some("v&w"));
        assert!(feed.child("e").unwrap().complete);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let n = 100_000;
        let doc = format!("<feed>{}{}</feed>", "<a>".repeat(n), "</a>".repeat(n));
        let (root, err) = parse(&doc);
        assert!(err.unwrap().contains("nested more than 128 deep"));
        let mut depth = 0;
        let mut el = &root;
        while let Some(c) = el.children.first() {
            depth += 1;
            el = c;
        }
        assert_eq!(depth, MAX_DEPTH, "what was read before the limit is kept");
        let fine = format!("<feed>{}{}</feed>", "<a>".repeat(100), "</a>".repeat(100));
        assert_eq!(parse(&fine).1, None);
    }

    #[test]
    fn keeps_what_came_before_an_error() {
        let (root, err) =
            parse("<feed><entry><id>1</id></entry><entry><id>2</oops></entry></feed>");
        assert!(err.is_some());
        let feed = root.child("feed").unwrap();
        let entries: Vec<_> = feed.children_named("entry").collect();
        assert_eq!(entries.len(), 2);
        assert!(entries[0].complete);
        assert!(!entries[1].complete);

        let (root, err) = parse("<feed><entry><id>1</id></entry>");
        assert!(err.unwrap().contains("ends inside <feed>"));
        assert!(root.child("feed").unwrap().child("entry").unwrap().complete);
    }
}
