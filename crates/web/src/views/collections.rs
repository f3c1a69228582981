//! A collection's page (its papers in order with notes, and for its owner the forms that change
//! it), the collections part of the library page, and a paper's "add to a collection" form.

use maud::{html, Markup};
use paperboy_core::ArxivId;
use paperboy_store::{Collection, CollectionItem};

use crate::params::{
    MAX_COLLECTION_DESCRIPTION_CHARS, MAX_COLLECTION_NOTE_CHARS, MAX_COLLECTION_TITLE_CHARS,
};
use crate::viewer::Viewer;
use crate::views::entry::{entry, Extras, Votes};
use crate::views::layout::{page, Frame};

/// Items a collection's page shows at once.
pub const ITEMS_PAGE: usize = 100;

fn hex(id: paperboy_store::ItemId) -> String {
    format!("{:024x}", id.get())
}

pub fn collection(
    c: &Collection,
    items: &[CollectionItem],
    page_no: usize,
    votes: &Votes,
) -> Markup {
    let viewer = votes.viewer;
    let owner = viewer.account.as_ref().is_some_and(|a| a.id == c.owner);
    let action = |a: &str| format!("/collections/{}/{a}", c.slug());
    let start = page_no * ITEMS_PAGE;
    let total = c.items as usize;
    let end = start + items.len();
    let body = html! {
        h1 { (c.title) }
        p.muted {
            "A collection by " (c.owner_display) " @" (c.owner_name) " · " (c.items) " papers"
            @if c.private { " · private" } @if c.hidden { " · hidden by a moderator" }
            " · " a href={ "/collections/" (c.slug()) ".bib" } download { "BibTeX" }
            " · " a href={ "/collections/" (c.slug()) ".atom" } { "Atom" }
        }
        @if !c.description.is_empty() { p { (c.description) } }
        @if viewer.account.is_some() && !owner {
            form.inline method="post" action=(action("copy")) {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { "Copy to my collections" }
            }
        }
        @if items.is_empty() {
            p.notice { "No papers in this collection yet." }
        } @else {
            ol.entries start=(start + 1) {
                @for (i, item) in items.iter().enumerate() {
                    (entry(start + i + 1, &item.view, votes, Extras::default()))
                    @if !item.note.is_empty() || owner {
                        li.note {
                            @if !item.note.is_empty() { p.note { "Note: " (item.note) } }
                            @if owner { (item_forms(c, item, viewer, total)) }
                        }
                    }
                }
            }
            @if total > ITEMS_PAGE {
                nav.pager aria-label="Collection pages" {
                    @if page_no > 0 { a rel="prev" href={ "?page=" (page_no - 1) } { "← Papers " (start + 1 - ITEMS_PAGE) "–" (start) } }
                    span { "Papers " (start + 1) "–" (end) " of " (total) }
                    @if end < total { a rel="next" href={ "?page=" (page_no + 1) } { "Papers " (end + 1) "–" ((end + ITEMS_PAGE).min(total)) " →" } }
                }
            }
        }
        @if owner {
            h2 { "Edit this collection" }
            form.stack method="post" action=(action("edit")) {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="c-title" { "Title" }
                input #c-title name="title" value=(c.title) required maxlength=(MAX_COLLECTION_TITLE_CHARS);
                label for="c-description" { "Description" }
                input #c-description name="description" value=(c.description) maxlength=(MAX_COLLECTION_DESCRIPTION_CHARS);
                label { input type="checkbox" name="private" value="1" checked[c.private]; " Private (only you see it)" }
                button type="submit" { "Save" }
            }
            form.inline method="post" action=(action("delete")) {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { "Delete this collection" }
            }
        }
        @if viewer.is_admin() && !owner {
            form.inline method="post" action=(action(if c.hidden { "show" } else { "hide" })) {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { (if c.hidden { "Show this collection again" } else { "Hide this collection" }) }
            }
        }
    };
    let frame = Frame {
        feed: Some(format!("/collections/{}", c.slug())),
        ..Frame::of(viewer)
    };
    page(&frame, &c.title, body)
}

fn item_forms(c: &Collection, item: &CollectionItem, viewer: &Viewer, total: usize) -> Markup {
    let action = |a: &str| format!("/collections/{}/{a}", c.slug());
    let id = hex(item.id);
    let label = format!("note-{id}");
    html! {
        form.inline method="post" action=(action("note")) {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="item" value=(id);
            label for=(label) { "Note" }
            input id=(label) name="note" value=(item.note) maxlength=(MAX_COLLECTION_NOTE_CHARS);
            button type="submit" { "Save note" }
        }
        @if item.position > 0 {
            form.inline method="post" action=(action("move")) {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="item" value=(id);
                input type="hidden" name="to" value=(item.position - 1);
                button type="submit" { "Move up" }
            }
        }
        @if (item.position as usize) + 1 < total {
            form.inline method="post" action=(action("move")) {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="item" value=(id);
                input type="hidden" name="to" value=(item.position + 1);
                button type="submit" { "Move down" }
            }
        }
        form.inline method="post" action=(action("remove")) {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="item" value=(id);
            button type="submit" { "Remove" }
        }
    }
}

/// The reader's collections and the form that makes one (the library page).
pub fn mine(viewer: &Viewer, collections: &[Collection]) -> Markup {
    html! {
        h2 #collections { "Your collections" }
        @if collections.is_empty() { p.muted { "None yet." } }
        ul.collections {
            @for c in collections {
                li { a href={ "/collections/" (c.slug()) } { (c.title) } " " span.muted { "(" (c.items) @if c.private { ", private" } ")" } }
            }
        }
        form.inline method="post" action="/collections" {
            input type="hidden" name="csrf" value=(viewer.csrf);
            label for="new-collection" { "New collection" }
            input #new-collection name="title" required maxlength=(MAX_COLLECTION_TITLE_CHARS) placeholder="Title";
            label { input type="checkbox" name="private" value="1"; " Private" }
            button type="submit" { "Make" }
        }
    }
}

/// A paper page's form: add the paper to one of the reader's collections, with a note.
pub fn add_form(viewer: &Viewer, paper: &ArxivId, collections: &[Collection]) -> Markup {
    html! {
        details.add-to-collection {
            summary { "Add to a collection" }
            @if !collections.is_empty() {
                @let c0 = &collections[0];
                form.stack method="post" action={ "/collections/" (c0.slug()) "/add" } data-choose="collection" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    input type="hidden" name="paper" value=(paper);
                    input type="hidden" name="next" value={ "/papers/" (paper) };
                    label for="add-note" { "Note (optional)" }
                    input #add-note name="note" maxlength=(MAX_COLLECTION_NOTE_CHARS);
                    fieldset {
                        legend { "Collection" }
                        @for c in collections {
                            button type="submit" formaction={ "/collections/" (c.slug()) "/add" } { (c.title) }
                        }
                    }
                }
            }
            form.inline method="post" action="/collections" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="paper" value=(paper);
                label for="add-new" { "New collection" }
                input #add-new name="title" required maxlength=(MAX_COLLECTION_TITLE_CHARS);
                button type="submit" { "Make it with this paper" }
            }
        }
    }
}
