//! RSS 2.0 and Atom feeds: the daily list, trending, each category, each author and any search.
//! `/feeds/{name}.rss` or `.atom`. An item's id is its arXiv abstract address, which never
//! changes, so a feed reader shows each paper once whatever happens to titles or rankings.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use paperboy_core::{Paper, Period};
use paperboy_search::SearchQuery;
use paperboy_store::{ListingFilter, PaperView};
use serde::Deserialize;

use crate::api::listed_view;
use crate::api::MAX_CATEGORY_CHARS;
use crate::pages::PageError;
use crate::query::{self, Sort};
use crate::{ApiError, AppState};

const ITEMS: usize = 50;
/// Longest author name an author feed takes.
pub const MAX_AUTHOR_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rss,
    Atom,
}

struct Feed {
    title: String,
    /// The page this feed follows.
    page: String,
    items: Vec<PaperView>,
}

#[derive(Debug, Deserialize)]
pub struct FeedParams {
    q: Option<String>,
}

pub async fn feed(
    State(state): State<AppState>,
    Path(path): Path<String>,
    q: Result<Query<FeedParams>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = q.map_err(|e| ApiError::invalid(e.body_text()))?;
    let (name, kind) = match path.rsplit_once('.') {
        Some((n, "rss")) => (n, Kind::Rss),
        Some((n, "atom")) => (n, Kind::Atom),
        _ => return Err(ApiError::not_found("Feeds end in .rss or .atom.").into()),
    };
    let base = &state.settings.public_url;
    let search_q = params.q.clone().unwrap_or_default();
    let feed = match name.split_once('/') {
        None if name == "daily" => {
            let items = match state.store.latest_day().await? {
                Some(day) => {
                    query::ranked_listing(&state, Period::Day(day), &ListingFilter::default(), Sort::Votes)
                        .await?
                        .iter()
                        .take(ITEMS)
                        .map(listed_view)
                        .collect()
                }
                None => Vec::new(),
            };
            Feed {
                title: format!("{}: daily papers", state.settings.site_name),
                page: format!("{base}/papers"),
                items,
            }
        }
        None if name == "trending" => Feed {
            title: format!("{}: trending papers", state.settings.site_name),
            page: format!("{base}/papers/trending"),
            items: query::trending(&state, ITEMS, Utc::now())
                .await?
                .into_iter()
                .map(|(v, _)| v)
                .collect(),
        },
        None if name == "search" => {
            let text = params.q.unwrap_or_default();
            if text.is_empty() {
                return Err(ApiError::invalid("a search feed needs ?q=").into());
            }
            let found = query::search(
                &state,
                SearchQuery {
                    text: text.clone(),
                    limit: ITEMS,
                    ..Default::default()
                },
                Default::default(),
            )
            .await?;
            Feed {
                title: format!("{}: search for “{text}”", state.settings.site_name),
                page: format!(
                    "{base}/search?{}",
                    serde_urlencoded::to_string([("q", text.as_str())]).unwrap_or_default()
                ),
                items: found.results,
            }
        }
        Some(("category", cat)) if cat.chars().count() > MAX_CATEGORY_CHARS => {
            return Err(ApiError::invalid(format!(
                "a category has at most {MAX_CATEGORY_CHARS} characters"
            ))
            .into())
        }
        Some(("author", name)) if name.chars().count() > MAX_AUTHOR_CHARS => {
            return Err(ApiError::invalid(format!(
                "an author's name has at most {MAX_AUTHOR_CHARS} characters"
            ))
            .into())
        }
        Some(("category", cat)) if !cat.is_empty() => {
            let ids = state.index.newest(Some(cat), None, ITEMS).map_err(ApiError::from)?;
            Feed {
                title: format!("{}: newest in {cat}", state.settings.site_name),
                page: format!(
                    "{base}/search?{}",
                    serde_urlencoded::to_string([("category", cat)]).unwrap_or_default()
                ),
                items: state.store.papers(&ids).await?,
            }
        }
        Some(("author", name)) if !name.trim().is_empty() => {
            let ids = state.index.newest(None, Some(name), ITEMS).map_err(ApiError::from)?;
            Feed {
                title: format!("{}: papers by {name}", state.settings.site_name),
                page: format!(
                    "{base}/search?{}",
                    serde_urlencoded::to_string([("q", format!("\"{name}\""))]).unwrap_or_default()
                ),
                items: state.store.papers(&ids).await?,
            }
        }
        _ => {
            return Err(ApiError::not_found(
                "Feeds: daily, trending, search?q=, category/{category}, author/{name}, each .rss or .atom.",
            )
            .into())
        }
    };
    let self_url = {
        let mut u = format!("{base}/feeds/{}", path_escape(&path));
        if name == "search" {
            u.push('?');
            u.push_str(
                &serde_urlencoded::to_string([("q", search_q.as_str())]).unwrap_or_default(),
            );
        }
        u
    };
    let (body, ctype) = match kind {
        Kind::Rss => (
            rss(&feed, &self_url, base),
            "application/rss+xml; charset=utf-8",
        ),
        Kind::Atom => (
            atom(&feed, &self_url, base),
            "application/atom+xml; charset=utf-8",
        ),
    };
    Ok(([(header::CONTENT_TYPE, ctype)], body).into_response())
}

/// Percent-escapes what may not stand in a URL path (author names have spaces).
fn path_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    crate::render::escape(&clean)
}

fn guid(p: &Paper) -> String {
    p.id.abs_url()
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

fn rss(feed: &Feed, self_url: &str, base: &str) -> String {
    let updated = feed
        .items
        .iter()
        .map(date_of)
        .max()
        .unwrap_or_else(Utc::now);
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
    for v in &feed.items {
        let p = &v.paper;
        out.push_str("<item>\n");
        out.push_str(&format!(
            "<title>{}</title>\n",
            x(&paperboy_core::tex::plain(&crate::render::squash(&p.title)))
        ));
        out.push_str(&format!("<link>{}/papers/{}</link>\n", x(base), p.id));
        out.push_str(&format!(
            "<guid isPermaLink=\"false\">{}</guid>\n",
            x(&guid(p))
        ));
        out.push_str(&format!("<pubDate>{}</pubDate>\n", date_of(v).to_rfc2822()));
        for a in p.authors.iter().filter(|a| !a.hidden) {
            out.push_str(&format!("<dc:creator>{}</dc:creator>\n", x(&a.name)));
        }
        for c in &p.categories {
            out.push_str(&format!("<category>{}</category>\n", x(c)));
        }
        out.push_str(&format!(
            "<description>{}</description>\n",
            x(&format!(
                "{} upvotes. {}",
                v.upvotes(),
                crate::render::squash(&p.summary)
            ))
        ));
        out.push_str("</item>\n");
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

fn atom(feed: &Feed, self_url: &str, base: &str) -> String {
    let updated = feed
        .items
        .iter()
        .map(date_of)
        .max()
        .unwrap_or_else(Utc::now);
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
    for v in &feed.items {
        let p = &v.paper;
        let when = date_of(v);
        out.push_str("<entry>\n");
        out.push_str(&format!("<id>{}</id>\n", x(&guid(p))));
        out.push_str(&format!(
            "<title>{}</title>\n",
            x(&paperboy_core::tex::plain(&crate::render::squash(&p.title)))
        ));
        out.push_str(&format!(
            "<updated>{}</updated>\n",
            p.updated.unwrap_or(when).max(when).to_rfc3339()
        ));
        out.push_str(&format!("<published>{}</published>\n", when.to_rfc3339()));
        out.push_str(&format!(
            "<link rel=\"alternate\" type=\"text/html\" href=\"{}/papers/{}\"/>\n",
            x(base),
            p.id
        ));
        let mut any_author = false;
        for a in p.authors.iter().filter(|a| !a.hidden) {
            out.push_str(&format!("<author><name>{}</name></author>\n", x(&a.name)));
            any_author = true;
        }
        if !any_author {
            out.push_str("<author><name>unknown</name></author>\n");
        }
        for c in &p.categories {
            out.push_str(&format!("<category term=\"{}\"/>\n", x(c)));
        }
        out.push_str(&format!(
            "<summary>{}</summary>\n",
            x(&format!(
                "{} upvotes. {}",
                v.upvotes(),
                crate::render::squash(&p.summary)
            ))
        ));
        out.push_str("</entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use paperboy_core::ArxivId;

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

    #[test]
    fn feeds_escape_and_carry_stable_ids() {
        let f = Feed {
            title: "t".into(),
            page: "http://h/papers".into(),
            items: vec![view("A <script> & B")],
        };
        for body in [
            rss(&f, "http://h/feeds/daily.rss", "http://h"),
            atom(&f, "http://h/feeds/daily.atom", "http://h"),
        ] {
            assert!(body.contains("A &lt;script&gt; &amp; B"), "{body}");
            assert!(!body.contains('\u{1}'));
            assert!(body.contains("https://arxiv.org/abs/2501.00001"));
            assert!(body.contains("2 upvotes."));
        }
        let odd = Feed {
            title: "search for \u{FFFF}\u{FFFE}\u{0}\u{85}ok".into(),
            page: "http://h/search?q=%EF%BF%BF".into(),
            items: vec![view("T\u{FFFE}itle\u{1b}")],
        };
        for body in [
            rss(&odd, "http://h/f", "http://h"),
            atom(&odd, "http://h/f", "http://h"),
        ] {
            assert!(body.chars().all(xml_char), "{body:?}");
            assert!(
                body.contains("search for ok") && body.contains("Title"),
                "{body}"
            );
        }
        assert_eq!(
            path_escape("author/Grace Hopper.atom"),
            "author/Grace%20Hopper.atom"
        );
    }
}
