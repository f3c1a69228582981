//! arXiv's lists by category and day, and the index of categories. A day's list shows every
//! paper on one page (up to `paperboy_store::MAX_DAY_LIST`), so entries are compact: the abstract
//! is one click away on the paper's page, not inline.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use maud::{html, Markup};
use paperboy_store::CategoryListed;

use crate::render::{squash, with_math};
use crate::viewer::Viewer;
use crate::views::entry::{authors_line, paper_href, plural, vote_control, Votes};
use crate::views::layout::{page, Frame};

/// Authors shown in a list entry before "+N more".
const LIST_AUTHORS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSort {
    /// arXiv's order: new papers, then cross-lists, each by id.
    Feed,
    /// Most votes first.
    Votes,
    /// The signed-in reader's order (`crate::foryou`).
    ForYou,
}

/// One category's list of one day.
pub struct DayList<'a> {
    pub category: &'a str,
    pub day: NaiveDate,
    pub prev: Option<NaiveDate>,
    pub next: Option<NaiveDate>,
    pub papers: &'a [CategoryListed],
    pub sort: ListSort,
    /// The viewer follows this category.
    pub following: bool,
}

fn day_href(cat: &str, day: NaiveDate, sort: ListSort) -> String {
    match sort {
        ListSort::Feed => format!("/list/{cat}/{day}"),
        ListSort::Votes => format!("/list/{cat}/{day}?sort=votes"),
        ListSort::ForYou => format!("/list/{cat}/{day}?sort=for-you"),
    }
}

pub fn day_list(list: &DayList, votes: &Votes) -> Markup {
    let (cat, day, sort) = (list.category, list.day, list.sort);
    let heading = format!("{cat} · {}", day.format("%A %-d %B %Y"));
    let new = list.papers.iter().filter(|l| !l.cross_list).count();
    let cross = list.papers.len() - new;
    let body = html! {
        h1 { (heading) }
        (crate::views::authors::follow_button(votes.viewer, paperboy_store::FollowKind::Category, cat, list.following))
        p.muted {
            (plural(new as i64, "new paper")) " and " (plural(cross as i64, "cross-list"))
            " announced by arXiv for this day (days in UTC, as arXiv dates its lists). "
            "Sorted " @match sort {
                ListSort::Feed => { "as arXiv lists them · " a href=(day_href(cat, day, ListSort::Votes)) { "sort by votes" } }
                ListSort::Votes => { "by votes · " a href=(day_href(cat, day, ListSort::Feed)) { "sort as arXiv lists them" } }
                ListSort::ForYou => { "for you · " a href=(day_href(cat, day, ListSort::Feed)) { "sort as arXiv lists them" } }
            }
            @if votes.viewer.account.is_some() && sort != ListSort::ForYou {
                " · " a href=(day_href(cat, day, ListSort::ForYou)) { "sort for you" }
            }
        }
        nav.pager aria-label="Days" {
            @if let Some(p) = list.prev { a rel="prev" href=(day_href(cat, p, sort)) { "← " (p) } }
            a href="/list" { "All categories" }
            @if let Some(n) = list.next { a rel="next" href=(day_href(cat, n, sort)) { (n) " →" } }
        }
        @if list.papers.is_empty() {
            p.notice { "No papers were announced in " (cat) " on this day." }
        } @else {
            ol.entries.compact {
                @for l in list.papers { (entry(l, votes)) }
            }
        }
    };
    let frame = Frame {
        feed: Some(format!("/feeds/list/{cat}")),
        ..Frame::of(votes.viewer)
    };
    page(&frame, &heading, body)
}

fn entry(l: &CategoryListed, votes: &Votes) -> Markup {
    let p = &l.view.paper;
    html! {
        li.entry {
            (vote_control(&l.view, votes))
            article {
                h2 {
                    a href=(paper_href(p)) { (with_math(&squash(&p.title))) }
                    @if l.cross_list { " " span.tag title="Cross-listed from another category" { "cross-list" } }
                }
                (authors_line(p, LIST_AUTHORS))
                p.meta {
                    // The page is the category's: only a cross-list says where it is from.
                    @if l.cross_list { span.cat { (p.primary_category().unwrap_or("")) } " · " }
                    @if l.view.num_comments() > 0 {
                        a href={ (paper_href(p)) "#comments" } { (plural(l.view.num_comments(), "comment")) } " · "
                    }
                    a href={ (paper_href(p)) "#abstract" } { "Abstract" } " · "
                    a href=(p.id.pdf_url()) { "PDF" }
                }
            }
        }
    }
}

/// Every category with a list, grouped by archive (`cs`, `math`, `hep-th`, ...).
pub fn index(viewer: &Viewer, counts: &[(String, i64)]) -> Markup {
    let mut archives: BTreeMap<&str, Vec<(&str, i64)>> = BTreeMap::new();
    for (cat, n) in counts {
        let archive = cat.split('.').next().unwrap_or(cat);
        archives.entry(archive).or_default().push((cat, *n));
    }
    let body = html! {
        h1 { "arXiv lists by category" }
        p.muted { "Each category's papers by the day arXiv announced them; counts include cross-lists." }
        @if archives.is_empty() { p.notice { "No papers with an announcement day yet." } }
        @for (archive, cats) in &archives {
            section {
                h2 { (archive) }
                ul.categories {
                    @for (cat, n) in cats {
                        li { a href={ "/list/" (cat) } { (cat) } " " span.muted { "(" (n) ")" } }
                    }
                }
            }
        }
    };
    page(&Frame::of(viewer), "arXiv lists by category", body)
}
