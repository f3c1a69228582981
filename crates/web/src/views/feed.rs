//! Feeds as XML: RSS 2.0 and Atom. An item's id is its arXiv abstract address, which never
//! changes, so a feed reader shows each paper once whatever happens to titles or rankings.

use chrono::{DateTime, Utc};
use paperboy_store::PaperView;

use crate::render::{escape, squash};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rss,
    Atom,
}

impl Kind {
    /// The kind a feed's address ends in (`.rss`, `.atom`), and the name before it.
    pub fn of_path(path: &str) -> Option<(&str, Kind)> {
        match path.rsplit_once('.') {
            Some((n, "rss")) => Some((n, Kind::Rss)),
            Some((n, "atom")) => Some((n, Kind::Atom)),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Rss => "application/rss+xml; charset=utf-8",
            Kind::Atom => "application/atom+xml; charset=utf-8",
        }
    }

    /// The feed as a document of this kind; `self_url` is its own address, `base` the site's.
    /// An empty feed was last updated `now`.
    pub fn render(self, feed: &Feed, self_url: &str, base: &str, now: DateTime<Utc>) -> String {
        let updated = feed.items.iter().map(date_of).max().unwrap_or(now);
        match self {
            Kind::Rss => rss(feed, updated, self_url, base),
            Kind::Atom => atom(feed, updated, self_url, base),
        }
    }
}

pub struct Feed {
    pub title: String,
    /// The page this feed follows.
    pub page: String,
    pub items: Vec<PaperView>,
}

/// Whether XML 1.0 allows `c` in a document (its production `Char`), less the C1 controls
/// it discourages. Rust strings hold no surrogates, so what is left to drop are the C0 controls
/// but tab and newlines, C1 controls, and U+FFFE and U+FFFF.
fn xml_char(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => true,
        '\u{FFFE}' | '\u{FFFF}' => false,
        c => !c.is_control(),
    }
}

/// XML text: escaped, and without the characters XML 1.0 forbids (a parser rejects the whole
/// document for one of them).
fn x(s: &str) -> String {
    let clean: String = s.chars().filter(|&c| xml_char(c)).collect();
    escape(&clean)
}

/// When the item appeared: put on a daily list, else published.
fn date_of(v: &PaperView) -> DateTime<Utc> {
    v.entry
        .as_ref()
        .and_then(|e| {
            e.published_at
                .or_else(|| e.day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()))
        })
        .or(v.paper.published)
        .or(v.paper.updated)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// What both kinds say of a paper, escaped.
struct Item {
    id: String,
    title: String,
    link: String,
    appeared: DateTime<Utc>,
    /// Changed last: its arXiv version's date, or when it appeared if later.
    updated: DateTime<Utc>,
    authors: Vec<String>,
    categories: Vec<String>,
    summary: String,
}

impl Item {
    fn of(v: &PaperView, base: &str) -> Item {
        let p = &v.paper;
        let appeared = date_of(v);
        Item {
            id: x(&p.id.abs_url()),
            title: x(&paperboy_core::tex::plain(&squash(&p.title))),
            link: format!("{}/papers/{}", x(base), p.id),
            appeared,
            updated: p.updated.unwrap_or(appeared).max(appeared),
            authors: p
                .authors
                .iter()
                .filter(|a| !a.hidden)
                .map(|a| x(&a.name))
                .collect(),
            categories: p.categories.iter().map(|c| x(c)).collect(),
            summary: x(&format!("{} upvotes. {}", v.upvotes(), squash(&p.summary))),
        }
    }
}

impl Feed {
    fn items<'a>(&'a self, base: &'a str) -> impl Iterator<Item = Item> + 'a {
        self.items.iter().map(move |v| Item::of(v, base))
    }
}

/// `open` and `close` around each of `values`, one a line.
fn each(values: &[String], open: &str, close: &str) -> String {
    values
        .iter()
        .map(|v| format!("{open}{v}{close}\n"))
        .collect()
}

fn rss(feed: &Feed, updated: DateTime<Utc>, self_url: &str, base: &str) -> String {
    let mut out = String::with_capacity(4096 + feed.items.len() * 1500);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<channel>\n");
    out.push_str(&format!(
        "<title>{}</title>\n<link>{}</link>\n<description>{}</description>\n<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n<lastBuildDate>{}</lastBuildDate>\n",
        x(&feed.title),
        x(&feed.page),
        x(&feed.title),
        x(self_url),
        updated.to_rfc2822()
    ));
    for i in feed.items(base) {
        out.push_str(&format!(
            "<item>\n<title>{}</title>\n<link>{}</link>\n<guid isPermaLink=\"false\">{}</guid>\n<pubDate>{}</pubDate>\n{}{}<description>{}</description>\n</item>\n",
            i.title,
            i.link,
            i.id,
            i.appeared.to_rfc2822(),
            each(&i.authors, "<dc:creator>", "</dc:creator>"),
            each(&i.categories, "<category>", "</category>"),
            i.summary
        ));
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

fn atom(feed: &Feed, updated: DateTime<Utc>, self_url: &str, base: &str) -> String {
    let mut out = String::with_capacity(4096 + feed.items.len() * 1500);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    out.push_str(&format!(
        "<id>{}</id>\n<title>{}</title>\n<updated>{}</updated>\n<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n<author><name>paperboy</name></author>\n",
        x(self_url),
        x(&feed.title),
        updated.to_rfc3339(),
        x(self_url),
        x(&feed.page)
    ));
    for mut i in feed.items(base) {
        if i.authors.is_empty() {
            i.authors.push("unknown".into());
        }
        out.push_str(&format!(
            "<entry>\n<id>{}</id>\n<title>{}</title>\n<updated>{}</updated>\n<published>{}</published>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n{}{}<summary>{}</summary>\n</entry>\n",
            i.id,
            i.title,
            i.updated.to_rfc3339(),
            i.appeared.to_rfc3339(),
            i.link,
            each(&i.authors, "<author><name>", "</name></author>"),
            each(&i.categories, "<category term=\"", "\"/>"),
            i.summary
        ));
    }
    out.push_str("</feed>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use paperboy_core::{ArxivId, Paper};

    fn view(title: &str) -> PaperView {
        let mut p = Paper::new(ArxivId::parse("2501.00001").unwrap(), title);
        p.summary = "About <b>bold</b> & \u{1} things".into();
        p.published = DateTime::parse_from_rfc3339("2025-01-02T03:04:05Z")
            .ok()
            .map(|t| t.with_timezone(&Utc));
        PaperView {
            paper: p,
            entry: None,
            local_upvotes: 2,
            local_comments: 0,
        }
    }

    /// A feed titled `title` following `page`, of one paper titled `item`, at `self_url`, as RSS
    /// and as Atom.
    fn rendered(title: &str, page: &str, item: &str, self_url: &str) -> [String; 2] {
        let f = Feed {
            title: title.into(),
            page: page.into(),
            items: vec![view(item)],
        };
        [Kind::Rss, Kind::Atom].map(|kind| kind.render(&f, self_url, "http://h", Utc::now()))
    }

    #[test]
    fn feeds_escape_and_carry_stable_ids() {
        for body in rendered(
            "t",
            "http://h/papers",
            "A <script> & B",
            "http://h/feeds/daily",
        ) {
            assert!(body.contains("A &lt;script&gt; &amp; B"), "{body}");
            assert!(!body.contains('\u{1}'));
            assert!(body.contains("https://arxiv.org/abs/2501.00001"));
            assert!(body.contains("2 upvotes."));
        }
        for body in rendered(
            "search for \u{FFFF}\u{FFFE}\u{0}\u{85}ok",
            "http://h/search?q=%EF%BF%BF",
            "T\u{FFFE}itle\u{1b}",
            "http://h/f",
        ) {
            assert!(body.chars().all(xml_char), "{body:?}");
            assert!(
                body.contains("search for ok") && body.contains("Title"),
                "{body}"
            );
        }
    }
}
