//! An author's page and the reader's "following" page.

use maud::{html, Markup};
use paperboy_store::{Follow, FollowKind, PaperView};

use crate::render::path_escape;
use crate::viewer::Viewer;
use crate::views::entry::{entry, Extras, Votes};
use crate::views::layout::{page, Frame};

/// What an author's page knows.
pub struct Author {
    /// The name as asked.
    pub name: String,
    pub papers: Vec<PaperView>,
    /// Their papers' categories, most frequent first.
    pub categories: Vec<(String, usize)>,
    /// Their co-authors, most frequent first (at most ten).
    pub coauthors: Vec<(String, usize)>,
    /// Other spellings of the name found on their papers.
    pub spellings: Vec<String>,
}

/// The follow or unfollow button of an author or category.
pub fn follow_button(viewer: &Viewer, kind: FollowKind, name: &str, following: bool) -> Markup {
    html! {
        @if viewer.account.is_some() {
            form.inline.follow method="post" action="/follows" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="kind" value=(kind.as_str());
                input type="hidden" name="name" value=(name);
                input type="hidden" name="follow" value=(if following { "0" } else { "1" });
                button type="submit" aria-pressed=(following) { (if following { "Following" } else { "Follow" }) }
            }
        }
    }
}

pub fn author(a: &Author, following: bool, votes: &Votes) -> Markup {
    let viewer = votes.viewer;
    let body = html! {
        h1 { (a.name) }
        (follow_button(viewer, FollowKind::Author, &a.name, following))
        p.muted {
            "Papers whose author list has this name. Names are compared without case, accents or the dots and spaces of initials, so "
            em { "J. R. Smith" } ", " em { "JR Smith" } " and " em { "j.r. smith" } " are one name; a first name is not matched to its initial. "
            "The same name may belong to several people."
        }
        @if !a.spellings.is_empty() { p.muted { "Also written: " (a.spellings.join("; ")) } }
        @if !a.categories.is_empty() {
            p { "Categories: "
                @for (i, (c, n)) in a.categories.iter().take(8).enumerate() {
                    @if i > 0 { ", " } a href={ "/list/" (c) } { (c) } " (" (n) ")"
                }
            }
        }
        @if !a.coauthors.is_empty() {
            p { "Frequent co-authors: "
                @for (i, (c, n)) in a.coauthors.iter().enumerate() {
                    @if i > 0 { ", " } a href={ "/authors/" (path_escape(c)) } { (c) } " (" (n) ")"
                }
            }
        }
        @if a.papers.is_empty() {
            p.notice { "No papers by this name here." }
        } @else {
            ol.entries {
                @for (i, v) in a.papers.iter().enumerate() { (entry(i + 1, v, votes, Extras::default())) }
            }
        }
    };
    let frame = Frame {
        feed: Some(format!("/authors/{}", path_escape(&a.name))),
        ..Frame::of(viewer)
    };
    page(&frame, &a.name, body)
}

pub fn following(follows: &[Follow], papers: &[PaperView], votes: &Votes) -> Markup {
    let viewer = votes.viewer;
    let body = html! {
        h1 { "Following" }
        @if follows.is_empty() {
            p.notice { "You follow no one yet: follow authors from their pages and categories from their lists." }
        }
        ul.follows {
            @for f in follows {
                li {
                    @match f.kind {
                        FollowKind::Author => { a href={ "/authors/" (path_escape(&f.shown)) } { (f.shown) } }
                        FollowKind::Category => { a href={ "/list/" (f.key) } { (f.key) } " (category)" }
                    }
                    " " (follow_button(viewer, f.kind, &f.shown, true))
                }
            }
        }
        @if !papers.is_empty() {
            h2 { "Newest papers by the authors you follow" }
            ol.entries { @for (i, v) in papers.iter().enumerate() { (entry(i + 1, v, votes, Extras::default())) } }
        }
    };
    page(&Frame::of(viewer), "Following", body)
}
