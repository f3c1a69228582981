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
    collections: &[paperboy_store::Collection],
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
            p.authors {
                @for (i, a) in p.authors.iter().filter(|a| !a.hidden).enumerate() {
                    @if i > 0 { ", " }
                    a href={ "/authors/" (crate::render::path_escape(&a.name)) } { (a.name) }
                }
            }
            div.paper-vote { (vote_control(view, votes)) }
            p.meta {
                span.votes-inline { (plural(view.upvotes(), "upvote")) }
                @if let Some(d) = p.published { " · Published " time datetime=(d.date_naive()) { (d.date_naive()) } }
                @if let Some(e) = &view.entry {
                    " · On the " a href={ "/papers/" (Period::Day(e.day).path()) } { (e.day) } " daily list"
                    @if let Some(s) = &e.submitted_by { ", submitted by " (s.fullname.as_deref().unwrap_or(&s.name)) }
                }
                " · " a href="#comments" { (plural(view.local_comments, "comment")) " here" }
                @let hf = view.num_comments() - view.local_comments;
                @if hf > 0 {
                    " · " a href={ "https://huggingface.co/papers/" (p.id) "#community" } { (plural(hf, "comment")) " on Hugging Face" }
                }
            }
            (links(p))
            @if viewer.account.is_some() { (crate::views::collections::add_form(viewer, &p.id, collections)) }
            p.cite { "Cite: " a href={ "/papers/" (p.id) ".bib" } { "BibTeX" } " · " a href={ "/papers/" (p.id) ".ris" } { "RIS" } " · " a href={ "/papers/" (p.id) ".md" } { "Markdown" } }
            h2 id="abstract" { "Abstract" }
            p.abstract { (with_math(&squash(&p.summary))) }
            @if let Some(summary) = &p.ai_summary {
                section.ai-summary aria-labelledby="ai-summary" {
                    h2 #ai-summary { "AI-generated summary" }
                    p { (with_math(&squash(summary))) }
                    p.muted { "Written by a language model, from Hugging Face's paper data; it may be wrong. The abstract above is the authors'." }
                }
            }
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

/// The paper as Markdown (`/papers/{id}.md`, what `hf papers read` asks for): title, authors,
/// dates, links and abstract (paperboy holds no full text), and Hugging Face's AI summary,
/// labelled, where the data has one.
pub fn markdown(view: &PaperView, base: &str) -> String {
    use std::fmt::Write;
    let p = &view.paper;
    let mut md = format!("# {}\n\n", squash(&p.title));
    let authors: Vec<&str> = p
        .authors
        .iter()
        .filter(|a| !a.hidden)
        .map(|a| a.name.as_str())
        .collect();
    if !authors.is_empty() {
        let _ = writeln!(md, "**Authors:** {}\n", authors.join(", "));
    }
    let _ = write!(
        md,
        "**arXiv:** [{id}]({abs}) · [PDF]({pdf}) · [on this site]({base}/papers/{id})",
        id = p.id,
        abs = p.id.abs_url(),
        pdf = p.id.pdf_url()
    );
    md.push_str("\n\n");
    if let Some(d) = p.published {
        let _ = write!(md, "**Published:** {}", d.date_naive());
        if let Some(day) = p.announced_day() {
            let _ = write!(md, " · **Announced:** {day}");
        }
        md.push_str("\n\n");
    }
    if !p.categories.is_empty() {
        let _ = writeln!(md, "**Categories:** {}\n", p.categories.join(", "));
    }
    for (label, value) in [
        ("Comment", &p.comment),
        ("Journal reference", &p.journal_ref),
        ("DOI", &p.doi),
    ] {
        if let Some(v) = value {
            let _ = writeln!(md, "**{label}:** {}\n", squash(v));
        }
    }
    if let Some(repo) = &p.github_repo {
        let _ = writeln!(md, "**Code:** {repo}\n");
    }
    let _ = writeln!(md, "## Abstract\n\n{}\n", squash(&p.summary));
    if let Some(s) = &p.ai_summary {
        let _ = writeln!(
            md,
            "## AI-generated summary (from Hugging Face)\n\n{}\n",
            squash(s)
        );
    }
    md
}
