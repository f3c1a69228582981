//! Lists of papers: a day's, week's or month's ranked list, trending, search results, and the
//! page that explains how ranking works.

use maud::{html, Markup};
use paperboy_core::Period;
use paperboy_search::hybrid::Mode;
use paperboy_store::{Listed, PaperView};

use crate::query::{listed_view, Found, TrendingList};
use crate::state::WebSettings;
use crate::viewer::Viewer;
use crate::views::entry::{entry, Extras, Votes};
use crate::views::layout::{page, Frame};

/// A week or a month holds hundreds of papers, so listings are shown this many at a time to
/// keep every page light.
pub const PAGE_SIZE: usize = 25;

/// One page of a period's ranked list.
pub struct PeriodList<'a> {
    pub period: Period,
    pub prev: Option<Period>,
    pub next: Option<Period>,
    /// The whole list, ranked.
    pub entries: &'a [Listed],
    /// Which page of it, from 0.
    pub page: usize,
    /// Sorted for the signed-in reader (else by votes).
    pub for_you: bool,
}

impl PeriodList<'_> {
    /// The entries this page shows, as positions in the list.
    pub fn shown(&self) -> std::ops::Range<usize> {
        let start = self.page.saturating_mul(PAGE_SIZE);
        let end = (start + PAGE_SIZE).min(self.entries.len());
        start.min(end)..end
    }
}

fn heading(period: Period) -> String {
    match period {
        Period::Day(d) => format!("Daily papers · {}", d.format("%A %-d %B %Y")),
        Period::Week(..) => format!("Papers of the week · {period}"),
        Period::Month(..) => format!("Papers of the month · {}", period.range().0.format("%B %Y")),
    }
}

pub fn period_list(list: &PeriodList, votes: &Votes) -> Markup {
    let period = list.period;
    let heading = heading(period);
    let (page_no, entries) = (list.page, list.entries);
    let shown = list.shown();
    let (start, end) = (shown.start, shown.end);
    let body = html! {
        h1 { (heading) }
        nav.pager aria-label="Periods" {
            @if let Some(p) = list.prev { a rel="prev" href={ "/papers/" (p.path()) } { "← " (p) } }
            span.kinds {
                @let d = period.range().0;
                {
                    a href={ "/papers/" (Period::Day(d).path()) } { "day" } " · "
                    a href={ "/papers/" (Period::week_of(d).path()) } { "week" } " · "
                    a href={ "/papers/" (Period::month_of(d).path()) } { "month" }
                }
            }
            @if let Some(n) = list.next { a rel="next" href={ "/papers/" (n.path()) } { (n) " →" } }
        }
        @if votes.viewer.account.is_some() {
            p.muted {
                "Sorted " @if list.for_you { "for you · " a href="?" { "sort by votes" } } @else { "by votes · " a href="?sort=for-you" { "sort for you" } }
            }
        }
        @if entries.is_empty() {
            p.notice { "No papers on this list." }
        } @else {
            ol.entries start=(start + 1) {
                @for (i, l) in entries[shown].iter().enumerate() { (entry(start + i + 1, &listed_view(l), votes, Extras::default())) }
            }
            @if entries.len() > PAGE_SIZE {
                nav.pager aria-label="List pages" {
                    @let sort = if list.for_you { "&sort=for-you" } else { "" };
                    @if page_no > 0 { a href={ "?page=" (page_no - 1) (sort) } { "← Papers " (start + 1 - PAGE_SIZE) "–" (start) } }
                    span { "Papers " (start + 1) "–" (end) " of " (entries.len()) }
                    @if end < entries.len() { a href={ "?page=" (page_no + 1) (sort) } { "Papers " (end + 1) "–" ((end + PAGE_SIZE).min(entries.len())) " →" } }
                }
            }
        }
    };
    let frame = Frame {
        feed: matches!(period, Period::Day(_)).then(|| "/feeds/daily".to_string()),
        ..Frame::of(votes.viewer)
    };
    page(&frame, &heading, body)
}

/// The front page of an empty database.
pub fn no_papers_yet() -> Markup {
    page(
        &Frame::plain(),
        "Daily papers",
        html! { h1 { "Daily papers" } p.notice { "No papers yet. Import some with " code { "paperboy import FILE" } "." } },
    )
}

pub fn trending(trending: &TrendingList<PaperView>, votes: &Votes) -> Markup {
    let list = &trending.papers;
    let frame = Frame {
        feed: Some("/feeds/trending".into()),
        ..Frame::of(votes.viewer)
    };
    page(
        &frame,
        "Trending papers",
        html! {
            h1 { "Trending papers" }
            p.muted { "Recent votes count most. " a href="/about/ranking" { "How ranking works" } }
            @if trending.widened {
                p.notice {
                    "Too few papers were voted for or listed lately, so this list reaches back to "
                    time datetime=(trending.from.date_naive()) { (trending.from.date_naive()) }
                    ", the start of the newest days with votes here."
                }
            }
            @if list.is_empty() { p.notice { "Nothing has been voted for lately." } }
            ol.entries {
                @for (i, (v, score)) in list.iter().enumerate() {
                    (entry(i + 1, v, votes, Extras { score: Some(*score), ..Default::default() }))
                }
            }
        },
    )
}

pub fn ranking(viewer: &Viewer, settings: &WebSettings) -> Markup {
    let t = settings.trending;
    page(
        &Frame::of(viewer),
        "How ranking works",
        html! {
            h1 { "How ranking works" }
            h2 { "Daily, weekly and monthly lists" }
            p { "Papers are ordered by upvotes: votes imported from Hugging Face plus votes cast here, shown as one number. "
                "Ties keep the order in which papers were put on the list. A paper on several days of a week or month counts once, on its best day." }
            h2 { "Trending" }
            p { "Every vote is worth less as it ages. A vote cast " i { "h" } " hours ago is worth" }
            p.formula { code { "1 / (h + " (t.offset_hours) ")^" (t.gravity) } }
            p { "and a paper's trending score is the sum over its votes. Votes imported from Hugging Face carry no time, so they count as cast when the paper was put on its daily list. "
                "The offset of " (t.offset_hours) " hours keeps a brand-new vote from counting infinitely; the gravity of " (t.gravity)
                " means a day-old vote is worth about " (format!("{:.0}", (24.0 + t.offset_hours).powf(t.gravity) / t.offset_hours.powf(t.gravity)))
                " times less than a new one. Papers listed or voted for in the last " (settings.trending_window_days) " days are ranked." }
            p { "The operator sets both numbers (" code { "trending_gravity" } ", " code { "trending_offset_hours" } "). "
                "Each paper's score is in the API: " a href="/api/trending" { code { "/api/trending" } } " and " code { "/api/daily_papers?sort=trending" } " give " code { "trendingScore" } "." }
            h2 { "Search" }
            p { "Search combines keyword relevance (BM25) with meaning (sentence embeddings): "
                (format!("{:.0}%", settings.fusion.semantic_weight * 100.0)) " cosine similarity plus "
                (format!("{:.0}%", (1.0 - settings.fusion.semantic_weight) * 100.0)) " BM25 scaled to the best match. Votes do not change search order." }
        },
    )
}

/// A search as the visitor typed it: the page echoes these back into its form and links.
pub struct SearchAsked<'a> {
    pub text: &'a str,
    pub category: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    /// `mode` as sent (kept in page links), and as understood.
    pub mode_param: Option<&'a str>,
    pub mode: Mode,
    pub page: usize,
    /// Sorted for the reader (`sort=for-you`).
    pub for_you: bool,
    /// Whether the viewer is signed in (and may sort for themselves).
    pub signed_in: bool,
}

impl SearchAsked<'_> {
    /// The address of page `n` of these results.
    pub fn page_link(&self, n: usize) -> String {
        let n = n.to_string();
        let pairs = [
            ("q", Some(self.text)),
            ("category", self.category),
            ("from", self.from),
            ("to", self.to),
            ("mode", self.mode_param),
            ("sort", self.for_you.then_some("for-you")),
            ("page", Some(n.as_str())),
        ];
        let kept: Vec<(&str, &str)> = pairs
            .into_iter()
            .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
            .collect();
        format!(
            "/search?{}",
            serde_urlencoded::to_string(kept).unwrap_or_default()
        )
    }
}

/// Search results; `highlights` holds each result's title and abstract passage with the query's
/// words marked.
pub fn search(
    asked: &SearchAsked,
    found: &Found,
    highlights: Vec<(Markup, Markup)>,
    votes: &Votes,
) -> Markup {
    let (text, page_no) = (asked.text, asked.page);
    // Search reads no deeper than MAX_DEPTH results: no link to a page past it.
    let more = found.total.min(paperboy_search::MAX_DEPTH) > (page_no + 1) * PAGE_SIZE;
    let follow = serde_urlencoded::to_string([("q", text)]).unwrap_or_default();
    let body = html! {
        h1 { @if text.is_empty() { "Search" } @else { "Results for “" (text) "”" } }
        form.filters action="/search" method="get" {
            input type="hidden" name="q" value=(text);
            label { "Category " input type="text" name="category" value=(asked.category.unwrap_or_default()) placeholder="cs.CL" size="8"; }
            label { "From " input type="date" name="from" value=(asked.from.unwrap_or_default()); }
            label { "To " input type="date" name="to" value=(asked.to.unwrap_or_default()); }
            label { "Mode "
                select name="mode" {
                    @for m in [Mode::Hybrid, Mode::Keyword, Mode::Semantic] {
                        option value=(m) selected[m == asked.mode] { (m) }
                    }
                }
            }
            @if asked.signed_in {
                label { "Sort "
                    select name="sort" {
                        option value="" selected[!asked.for_you] { "relevance" }
                        option value="for-you" selected[asked.for_you] { "for you" }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        @if let Some(why) = &found.fallback {
            p.notice role="status" { "Showing keyword results only: " (why) "." }
        }
        @if !text.is_empty() {
            p.count { (paperboy_search::shown_total(found.total)) " papers · " (found.mode) " search" @if asked.for_you { " · the best sorted for you" } }
            @if found.results.is_empty() { p.notice { "Nothing matched. Try fewer or other words." } }
            ol.entries start=(page_no * PAGE_SIZE + 1) {
                @for (i, (v, (title, snippet))) in found.results.iter().zip(highlights).enumerate() {
                    (entry(page_no * PAGE_SIZE + i + 1, v, votes, Extras { title: Some(title), snippet: Some(snippet), score: None }))
                }
            }
            nav.pager aria-label="Result pages" {
                @if page_no > 0 { a rel="prev" href=(asked.page_link(page_no - 1)) { "← Previous" } }
                @if more { a rel="next" href=(asked.page_link(page_no + 1)) { "Next →" } }
            }
            p.feeds {
                "Follow this search: " a href={ "/feeds/search.atom?" (follow) } { "Atom" } " · " a href={ "/feeds/search.rss?" (follow) } { "RSS" }
                @if !found.results.is_empty() { " · This page as " a href=(asked.page_link(page_no).replacen("/search?", "/search.bib?", 1)) download { "BibTeX" } }
            }
        }
    };
    let frame = Frame {
        viewer: Some(votes.viewer),
        query: text,
        feed: None,
    };
    page(&frame, if text.is_empty() { "Search" } else { text }, body)
}
