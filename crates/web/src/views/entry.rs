//! A paper as a list shows it: its vote control, rank, title, authors, links and abstract.

use std::collections::HashSet;

use maud::{html, Markup};
use paperboy_core::{ArxivId, Paper};
use paperboy_store::PaperView;

use crate::render::{squash, with_math};
use crate::viewer::Viewer;

/// Authors shown in a listing before "+N more".
const LIST_AUTHORS: usize = 6;

/// Who is voting, which of the papers on this page they have voted for and which they saved.
pub struct Votes<'a> {
    pub viewer: &'a Viewer,
    pub voted: HashSet<ArxivId>,
    pub saved: HashSet<ArxivId>,
}

/// What a list entry shows besides the paper: search highlights, a trending score.
#[derive(Default)]
pub struct Extras {
    /// The title with the query's words marked (already escaped).
    pub title: Option<Markup>,
    /// A passage of the abstract with the query's words marked (already escaped).
    pub snippet: Option<Markup>,
    pub score: Option<f64>,
}

pub fn authors_line(p: &Paper, max: usize) -> Markup {
    let names: Vec<&str> = p
        .authors
        .iter()
        .filter(|a| !a.hidden)
        .map(|a| a.name.as_str())
        .collect();
    let shown = names.len().min(max);
    html! {
        p.authors {
            (names[..shown].join(", "))
            @if names.len() > shown { " +" (names.len() - shown) " more" }
        }
    }
}

pub fn links(p: &Paper) -> Markup {
    html! {
        ul.links {
            li { a href=(p.id.abs_url()) { "arXiv" } }
            li { a href=(p.id.pdf_url()) { "PDF" } }
            @if let Some(repo) = p.github_repo.as_deref().filter(|r| r.starts_with("https://")) {
                li { a href=(repo) { "GitHub" @if let Some(stars) = p.github_stars { " ★ " (stars) } } }
            }
            @if let Some(page) = p.project_page.as_deref().filter(|r| r.starts_with("https://") || r.starts_with("http://")) {
                li { a href=(page) { "Project page" } }
            }
        }
    }
}

pub fn plural(n: i64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub fn paper_href(p: &Paper) -> String {
    format!("/papers/{}", p.id)
}

/// The upvote control: a form that toggles the vote (the page's script does it in place), or,
/// for visitors, a link to sign in.
pub fn vote_control(view: &PaperView, votes: &Votes) -> Markup {
    let id = &view.paper.id;
    html! {
        @if votes.viewer.account.is_some() {
            @let voted = votes.voted.contains(id);
            form.vote method="post" action={ "/papers/" (id) "/vote" } {
                input type="hidden" name="csrf" value=(votes.viewer.csrf);
                input type="hidden" name="up" value=(if voted { "0" } else { "1" });
                button.votes type="submit" aria-pressed=(voted) title=(if voted { "Remove your upvote" } else { "Upvote" }) {
                    span aria-hidden="true" { "▲" } " " span.n { (view.upvotes()) } span.visually-hidden { " upvotes" }
                }
            }
        } @else {
            a.votes href="/login" title="Sign in to upvote" { span aria-hidden="true" { "▲" } " " (view.upvotes()) span.visually-hidden { " upvotes" } }
        }
        (save_control(id, votes))
    }
}

/// The save control: a form that saves the paper to the reader's library or takes it out (the
/// page's script does it in place); nothing for visitors.
pub fn save_control(id: &ArxivId, votes: &Votes) -> Markup {
    html! {
        @if votes.viewer.account.is_some() {
            @let saved = votes.saved.contains(id);
            form.save method="post" action={ "/papers/" (id) "/save" } {
                input type="hidden" name="csrf" value=(votes.viewer.csrf);
                input type="hidden" name="save" value=(if saved { "0" } else { "1" });
                button type="submit" aria-pressed=(saved) title=(if saved { "Remove from your library" } else { "Save to your library" }) {
                    (if saved { "Saved" } else { "Save" })
                }
            }
        }
    }
}

/// The `rank`th entry of a list.
pub fn entry(rank: usize, view: &PaperView, votes: &Votes, extras: Extras) -> Markup {
    let p = &view.paper;
    let e = view.entry.as_ref();
    html! {
        li.entry {
            (vote_control(view, votes))
            article {
                h2 {
                    span.rank { (rank) ". " }
                    a href=(paper_href(p)) { @if let Some(t) = extras.title { (t) } @else { (with_math(&squash(&p.title))) } }
                }
                (authors_line(p, LIST_AUTHORS))
                p.meta {
                    @if let Some(e) = e {
                        @if let Some(s) = &e.submitted_by { "Submitted by " (s.fullname.as_deref().unwrap_or(&s.name)) " · " }
                        a href={ (paper_href(p)) "#comments" } { (plural(view.num_comments(), "comment")) } " · " time datetime=(e.day) { (e.day) }
                    } @else if let Some(d) = p.published { "Published " time datetime=(d.date_naive()) { (d.date_naive()) } }
                    @if let Some(cat) = p.primary_category() { " · " span.cat { (cat) } }
                    @if let Some(s) = extras.score { " · trending score " (format!("{s:.4}")) }
                }
                (links(p))
                @if let Some(s) = extras.snippet { p.snippet { (s) } }
                @if !p.summary.is_empty() {
                    details { summary { "Abstract" } p { (with_math(&squash(&p.summary))) } }
                }
            }
        }
    }
}
