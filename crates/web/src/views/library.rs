//! A reader's library page (saved papers, the filter, exports, the import form and its report),
//! and the page that shows a new API token once.

use maud::{html, Markup};
use paperboy_core::{bib, ArxivId};
use paperboy_store::{ApiToken, Saved};
use serde::Serialize;

use crate::viewer::Viewer;
use crate::views::entry::{entry, Extras, Votes};
use crate::views::layout::{page, Frame};

/// Papers a library page shows at once.
pub const LIBRARY_PAGE: usize = 50;

/// What an import did, as `POST /api/library/import` answers it.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Entries whose paper was found (those already saved included).
    pub matched: usize,
    /// Of those, the ones already in the library.
    pub already: usize,
    /// Entries with no paper here: their key, or title, or line.
    pub not_found: Vec<String>,
    pub errors: Vec<bib::EntryError>,
    /// The papers found, in the file's order.
    #[serde(skip)]
    pub papers: Vec<ArxivId>,
}

/// One page of the library.
pub struct Shown<'a> {
    pub saved: &'a [Saved],
    /// Papers matching the filter.
    pub total: usize,
    pub page: usize,
    /// The filter, "" for none.
    pub text: &'a str,
}

pub fn library(
    shown: &Shown,
    votes: &Votes,
    report: Option<&ImportReport>,
    collections: &[paperboy_store::Collection],
) -> Markup {
    let start = shown.page * LIBRARY_PAGE;
    let end = start + shown.saved.len();
    let href = |page: usize| {
        let q = serde_urlencoded::to_string([("q", shown.text), ("page", &page.to_string())])
            .unwrap_or_default();
        format!("/library?{q}")
    };
    let body = html! {
        h1 { "Your library" }
        @if let Some(r) = report { (import_report(r)) }
        form.inline role="search" aria-label="Filter your library" method="get" action="/library" {
            label for="library-q" { "Filter by title, author or abstract" }
            input #library-q type="search" name="q" value=(shown.text) maxlength="300";
            button type="submit" { "Filter" }
        }
        p.muted {
            (shown.total) " saved papers" @if !shown.text.is_empty() { " match" } ". Export: "
            a href="/library.bib" download { "BibTeX" } " · " a href="/library.ris" download { "RIS" }
        }
        @if shown.saved.is_empty() {
            p.notice { @if shown.text.is_empty() { "Nothing saved yet: use Save on any paper." } @else { "No saved paper matches." } }
        } @else {
            ol.entries start=(start + 1) {
                @for (i, s) in shown.saved.iter().enumerate() { (entry(start + i + 1, &s.view, votes, Extras::default())) }
            }
            @if shown.total > LIBRARY_PAGE {
                nav.pager aria-label="Library pages" {
                    @if shown.page > 0 { a rel="prev" href=(href(shown.page - 1)) { "← Newer" } }
                    span { "Papers " (start + 1) "–" (end) " of " (shown.total) }
                    @if end < shown.total { a rel="next" href=(href(shown.page + 1)) { "Older →" } }
                }
            }
        }
        (crate::views::collections::mine(votes.viewer, collections))
        h2 #import { "Import a BibTeX or RIS file" }
        p.muted { "Paste a .bib or .ris export (Zotero, Mendeley, JabRef, Google Scholar). Papers are found by arXiv id, DOI, then title; entries not found are listed." }
        form.stack method="post" action="/library/import" {
            input type="hidden" name="csrf" value=(votes.viewer.csrf);
            label for="import-text" { "File contents" }
            textarea #import-text name="text" rows="8" required {}
            button type="submit" { "Import" }
        }
    };
    page(&Frame::of(votes.viewer), "Your library", body)
}

fn import_report(r: &ImportReport) -> Markup {
    html! {
        section.notice aria-live="polite" {
            h2 { "Import" }
            p { (r.matched) " found (" (r.already) " already in your library), " (r.not_found.len()) " not found, " (r.errors.len()) " not read." }
            @if !r.not_found.is_empty() {
                details { summary { "Not found" } ul { @for n in &r.not_found { li { (n) } } } }
            }
            @if !r.errors.is_empty() {
                details open { summary { "Not read" } ul { @for e in &r.errors { li { "line " (e.line) ": " (e.message) } } } }
            }
        }
    }
}

/// The account page's list of API tokens and the form that makes one.
pub fn tokens_section(viewer: &Viewer, tokens: &[ApiToken]) -> Markup {
    html! {
        h2 #tokens { "API tokens" }
        p.muted { "For scripts: send " code { "Authorization: Bearer TOKEN" } ". Read tokens list your library; write tokens also save, vote and import." }
        @if !tokens.is_empty() {
            table {
                thead { tr { th { "Name" } th { "Scope" } th { "Made" } th { "Last used" } th { span.visually-hidden { "Revoke" } } } }
                tbody {
                    @for t in tokens {
                        tr {
                            td { (t.name) } td { (t.scope.as_str()) }
                            td { (t.created_at.format("%Y-%m-%d")) }
                            td { @match t.last_used_at { Some(u) => (u.format("%Y-%m-%d %H:%M UTC")), None => "never" } }
                            td {
                                form.inline method="post" action={ "/account/tokens/" (t.id) "/revoke" } {
                                    input type="hidden" name="csrf" value=(viewer.csrf);
                                    button type="submit" { "Revoke" span.visually-hidden { " " (t.name) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        form.inline method="post" action="/account/tokens" {
            input type="hidden" name="csrf" value=(viewer.csrf);
            label for="token-name" { "Name" }
            input #token-name name="name" required maxlength="64" placeholder="laptop script";
            label for="token-scope" { "Scope" }
            select #token-scope name="scope" { option value="read" { "read" } option value="write" { "write" } }
            button type="submit" { "Make a token" }
        }
    }
}

/// A new token, shown this once.
pub fn token_made(viewer: &Viewer, name: &str, secret: &str, tokens: &[ApiToken]) -> Markup {
    let body = html! {
        h1 { "Your new API token" }
        p { "The token " strong { (name) } " is below. Copy it now: it is not shown again (only its hash is kept)." }
        p { code #new-token { (secret) } }
        (tokens_section(viewer, tokens))
        p { a href="/account" { "Back to your account" } }
    };
    page(&Frame::of(viewer), "Your new API token", body)
}
