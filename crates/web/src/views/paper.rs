//! A paper's page: its facts, abstract and links, the papers like it, its comments, and the
//! administrator's controls.

use chrono::{DateTime, Utc};
use maud::{html, Markup};
use paperboy_core::Period;
use paperboy_store::{Comment, PaperView};

use crate::render::{squash, with_math};
use crate::views::comments;
use crate::views::entry::{entry, links, plural, vote_control, Extras, Votes};
use crate::views::layout::{page, Frame};

/// The paper page; `votes` covers the paper and the similar ones.
pub fn paper(
    view: &PaperView,
    similar: &[PaperView],
    comments: &[Comment],
    votes: &Votes,
    now: DateTime<Utc>,
) -> Markup {
    let viewer = votes.viewer;
    let p = &view.paper;
    let title = squash(&p.title);
    let body = html! {
        article.paper {
            p.kicker { "arXiv:" (p.id) @if let Some(v) = p.version { "v" (v) }
                @for c in &p.categories { " " span.cat { (c) } } }
            h1 { (with_math(&title)) }
            p.authors { (p.authors.iter().filter(|a| !a.hidden).map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")) }
            div.paper-vote { (vote_control(view, votes)) }
            p.meta {
                span.votes-inline { (plural(view.upvotes(), "upvote")) }
                @if let Some(d) = p.published { " · Published " time datetime=(d.date_naive()) { (d.date_naive()) } }
                @if let Some(e) = &view.entry {
                    " · On the " a href={ "/papers/" (Period::Day(e.day).path()) } { (e.day) } " daily list"
                    @if let Some(s) = &e.submitted_by { ", submitted by " (s.fullname.as_deref().unwrap_or(&s.name)) }
                }
                " · " a href="#comments" { (plural(view.num_comments(), "comment")) }
            }
            (links(p))
            h2 { "Abstract" }
            p.abstract { (with_math(&squash(&p.summary))) }
            @if p.comment.is_some() || p.journal_ref.is_some() || p.doi.is_some() {
                dl.facts {
                    @if let Some(c) = &p.comment { dt { "Comment" } dd { (c) } }
                    @if let Some(j) = &p.journal_ref { dt { "Journal reference" } dd { (j) } }
                    @if let Some(d) = &p.doi { dt { "DOI" } dd { a href={ "https://doi.org/" (d) } { (d) } } }
                }
            }
            @if !p.ai_keywords.is_empty() {
                p.keywords { "Keywords: " (p.ai_keywords.join(", ")) }
            }
        }
        @if !similar.is_empty() {
            section.similar aria-labelledby="similar" {
                h2 #similar { "Similar papers" }
                ol.entries {
                    @for (i, v) in similar.iter().enumerate() { (entry(i + 1, v, votes, Extras::default())) }
                }
            }
        }
        (comments::section(view, comments, viewer, now))
        @if viewer.is_admin() {
            section.moderation aria-label="Moderation" {
                form.inline method="post" action={ "/papers/" (view.paper.id) "/hide" } {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    label { "Reason " input name="reason" maxlength="200"; }
                    button type="submit" { "Hide this paper" }
                }
            }
        }
    };
    page(&Frame::of(viewer), &title, body)
}
