//! `/for-you`: a day's new papers ranked for the reader, each with the line that says why and
//! the two buttons that say "not this" ("Not interested", "Fewer like this"), in place with the
//! page's script and by a round trip without it; and the pieces of `/account` about it.

use maud::{html, Markup};
use paperboy_store::{Mark, PaperView, Signals, Source};

use crate::foryou::{reason, Day, Ranked};
use crate::render::{squash, with_math};
use crate::viewer::Viewer;
use crate::views::entry::{authors_line, paper_href, plural, vote_control, Votes};
use crate::views::layout::{page as frame_page, Frame};

/// What `/for-you` shows.
pub struct Shown<'a> {
    pub day: &'a Day,
    pub page: usize,
    pub per_page: usize,
    /// How many liked papers the model learnt from.
    pub liked: usize,
    /// A paper just marked, to undo.
    pub marked: Option<(PaperView, Mark)>,
}

fn href(day: Option<chrono::NaiveDate>, page: usize) -> String {
    let mut h = String::from("/for-you");
    let mut sep = '?';
    if let Some(d) = day {
        h.push_str(&format!("{sep}day={d}"));
        sep = '&';
    }
    if page > 0 {
        h.push_str(&format!("{sep}page={page}"));
    }
    h
}

fn mark_word(m: Mark) -> &'static str {
    match m {
        Mark::NotInterested => "not interested",
        Mark::Fewer => "fewer like this",
        Mark::Ignored => "left out of your ranking",
    }
}

pub fn page(shown: &Shown, votes: &Votes) -> Markup {
    let d = shown.day;
    let here = href(d.day, shown.page);
    // `papers` holds the pages up to this one (of `total` in all); a page past the end is empty.
    let end = ((shown.page + 1) * shown.per_page).min(d.papers.len());
    let start = (shown.page * shown.per_page).min(end);
    let heading = match d.day {
        Some(day) => format!("For you · {}", day.format("%A %-d %B %Y")),
        None => "For you".to_owned(),
    };
    let body = html! {
        h1 { (heading) }
        @if let Some((v, m)) = &shown.marked {
            section.notice aria-live="polite" {
                p { "Marked " a href=(paper_href(&v.paper)) { (squash(&v.paper.title)) } " " (mark_word(*m)) ": it will not be shown again. " }
                (mark_form(votes.viewer, &v.paper.id, None, "Undo", &here))
            }
        }
        p.muted {
            @if d.categories.is_empty() {
                "New papers in every category (follow categories on " a href="/list" { "the lists" } " to narrow this). "
            } @else {
                "New papers in " (d.categories.join(", ")) ". "
            }
            @if shown.liked == 0 {
                "Ranked by popularity until you save or upvote papers; then by your library. "
            } @else {
                "Ranked by likeness to the " (plural(shown.liked as i64, "paper")) " you saved, upvoted or collected. "
            }
            a href="/account#for-you" { "What the ranking uses" }
        }
        nav.pager aria-label="Days" {
            @if let Some(p) = d.prev { a rel="prev" href=(href(Some(p), 0)) { "← " (p) } }
            @if let Some(n) = d.next { a rel="next" href=(href(Some(n), 0)) { (n) " →" } }
        }
        @if d.total == 0 {
            p.notice { "No new papers for this day." }
        } @else {
            ol.entries.compact start=(start + 1) {
                @for r in &d.papers[start..end] { (entry(r, votes, &here)) }
            }
            @if d.total > shown.per_page {
                nav.pager aria-label="Pages of this day" {
                    @if shown.page > 0 { a href=(href(d.day, shown.page - 1)) { "← Better matches" } }
                    @if start < end { span { "Papers " (start + 1) "–" (end) " of " (d.total) } }
                    @if end < d.total { a href=(href(d.day, shown.page + 1)) { "Weaker matches →" } }
                }
            }
        }
    };
    frame_page(&Frame::of(votes.viewer), &heading, body)
}

/// A form that puts `mark` on a paper (None: takes it off), then comes back to `next`.
fn mark_form(
    viewer: &Viewer,
    id: &paperboy_core::ArxivId,
    mark: Option<Mark>,
    label: &str,
    next: &str,
) -> Markup {
    html! {
        form.mark method="post" action={ "/papers/" (id) "/mark" } {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="mark" value=(mark.map_or("none", Mark::as_str));
            input type="hidden" name="next" value=(next);
            button type="submit" { (label) }
        }
    }
}

fn entry(r: &Ranked, votes: &Votes, here: &str) -> Markup {
    let p = &r.view.paper;
    html! {
        li.entry {
            (vote_control(&r.view, votes))
            article {
                h2 { a href=(paper_href(p)) { (with_math(&squash(&p.title))) } }
                (authors_line(p, 4))
                p.why { (why_line(r)) }
                p.meta {
                    @if let Some(c) = p.primary_category() { span.cat { (c) } " · " }
                    a href={ (paper_href(p)) "#abstract" } { "Abstract" } " · "
                    a href=(p.id.pdf_url()) { "PDF" }
                }
                div.marks {
                    (mark_form(votes.viewer, &p.id, Some(Mark::NotInterested), "Not interested", here))
                    (mark_form(votes.viewer, &p.id, Some(Mark::Fewer), "Fewer like this", here))
                }
            }
        }
    }
}

/// The reason line (the words of [`reason`]), with the nearest library papers linked.
fn why_line(r: &Ranked) -> Markup {
    let w = &r.why;
    let mut parts: Vec<Markup> = Vec::new();
    if !w.authors.is_empty() {
        parts.push(html! { "By " (w.authors.join(", ")) ", whom you follow" });
    }
    if !w.near.is_empty() {
        parts.push(html! {
            "Close to "
            @for (i, (id, title)) in w.near.iter().enumerate() {
                @if i > 0 { " and " }
                a href={ "/papers/" (id) } { "“" (squash(title)) "”" }
            }
        });
    }
    if !w.terms.is_empty() {
        parts.push(html! { "shares " (w.terms.join(", ")) });
    }
    if parts.is_empty() {
        parts.push(html! { (reason(w)) });
    } else if w.popular {
        parts.push(html! { (reason(&paperboy_search::reader::Why { popular: true, ..Default::default() })) });
    }
    html! {
        @for (i, p) in parts.into_iter().enumerate() {
            @if i > 0 { " · " }
            (p)
        }
    }
}

/// The for-you part of `/account`: every signal, each removable, the reset, the private feed.
pub fn account_section(
    viewer: &Viewer,
    signals: &Signals,
    titles: &std::collections::HashMap<paperboy_core::ArxivId, String>,
    has_feed: bool,
) -> Markup {
    let title = |id: &paperboy_core::ArxivId| {
        titles
            .get(id)
            .map(|t| squash(t))
            .unwrap_or_else(|| id.to_string())
    };
    let source = |s: &Source| match s {
        Source::Vote => "upvoted",
        Source::Save => "saved",
        Source::Collection => "in a collection",
    };
    html! {
        h2 #for-you { "For you" }
        p {
            a href="/for-you" { "For you" } " ranks new papers by what is listed here, and only for you: nobody else sees it. "
            "Upvotes, saves and collection items count from when you make them"
            @if let Some(t) = signals.reset_at { " (since your reset on " (t.date_naive()) ")" } "."
        }
        details {
            summary { "Papers you liked (" (signals.positives.len()) ")" }
            @if signals.positives.is_empty() { p.muted { "None yet." } }
            ul.signals {
                @for (id, sources, _) in &signals.positives {
                    li {
                        a href={ "/papers/" (id) } { (title(id)) } " "
                        span.muted { "(" (sources.iter().map(source).collect::<Vec<_>>().join(", ")) ")" } " "
                        (mark_form(viewer, id, Some(Mark::Ignored), "Leave out of the ranking", "/account#for-you"))
                    }
                }
            }
        }
        details {
            summary { "Papers you turned down or left out (" (signals.marks.len()) ")" }
            @if signals.marks.is_empty() { p.muted { "None." } }
            ul.signals {
                @for (id, m, _) in &signals.marks {
                    li {
                        a href={ "/papers/" (id) } { (title(id)) } " " span.muted { "(" (mark_word(*m)) ")" } " "
                        (mark_form(viewer, id, None, "Remove", "/account#for-you"))
                    }
                }
            }
        }
        p {
            (plural(signals.follows.len() as i64, "followed author or category")) " also count: "
            a href="/following" { "change what you follow" } "."
        }
        form.inline method="post" action="/account/for-you/reset" {
            input type="hidden" name="csrf" value=(viewer.csrf);
            button type="submit" { "Reset: forget marks and start from new likes" }
        }
        h3 { "Private feed" }
        p.muted { "An Atom feed of your for-you papers at a secret address, for a feed reader." }
        form.inline method="post" action="/account/for-you/feed" {
            input type="hidden" name="csrf" value=(viewer.csrf);
            button type="submit" { @if has_feed { "Make a new address (the old one stops)" } @else { "Make a feed address" } }
        }
        @if has_feed {
            form.inline method="post" action="/account/for-you/feed/stop" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { "Stop the feed" }
            }
        }
    }
}

/// The page that shows a new private feed address, once.
pub fn feed_made(viewer: &Viewer, url: &str) -> Markup {
    let body = html! {
        h1 { "Your private for-you feed" }
        p { "Add this address to your feed reader. It is shown only now; keep it private (anyone with it can read your recommendations). Making a new one stops this one." }
        p { input.token readonly value=(url) aria-label="Feed address" size="80"; }
        p { a href="/account#for-you" { "Back to your account" } }
    };
    frame_page(&Frame::of(viewer), "Your private feed", body)
}
