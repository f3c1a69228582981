//! The frame every page shares (head, navigation, search box, footer, one inline stylesheet),
//! notices, and the page an error becomes for a browser.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::error::ApiError;
use crate::viewer::Viewer;

const STYLE: &str = include_str!("style.css");

/// What a page's frame shows besides its content: who is signed in, the search box's text, and
/// the feed of this page, if it has one.
pub struct Frame<'a> {
    pub viewer: Option<&'a Viewer>,
    pub query: &'a str,
    /// A feed path without its extension (`/feeds/daily`): linked as RSS and Atom.
    pub feed: Option<String>,
}

impl<'a> Frame<'a> {
    /// A frame that shows nobody signed in (pages every visitor sees alike).
    pub fn plain() -> Frame<'a> {
        Frame {
            viewer: None,
            query: "",
            feed: None,
        }
    }

    pub fn of(viewer: &'a Viewer) -> Frame<'a> {
        Frame {
            viewer: Some(viewer),
            query: "",
            feed: None,
        }
    }
}

pub fn page(frame: &Frame, title: &str, main: Markup) -> Markup {
    let account = frame.viewer.and_then(|v| v.account.as_ref());
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · paperboy" }
                @if let Some(f) = &frame.feed {
                    link rel="alternate" type="application/atom+xml" title={ (title) " (Atom)" } href={ (f) ".atom" };
                    link rel="alternate" type="application/rss+xml" title={ (title) " (RSS)" } href={ (f) ".rss" };
                }
                style { (PreEscaped(STYLE)) }
                script src="/static/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.site {
                    nav aria-label="Main" {
                        a.brand href="/papers" { "paperboy" }
                        a href="/papers" { "Daily" }
                        a href="/papers/week" { "Weekly" }
                        a href="/papers/month" { "Monthly" }
                        a href="/papers/trending" { "Trending" }
                        a href="/list" { "arXiv" }
                    }
                    form.search role="search" aria-label="Search papers" action="/search" method="get" {
                        label.visually-hidden for="q" { "Search papers" }
                        input #q type="search" name="q" value=(frame.query) placeholder="Search papers or paste an arXiv id" maxlength="250";
                        button type="submit" { "Search" }
                    }
                    nav.account aria-label="Account" {
                        @match account {
                            Some(a) => {
                                a href="/for-you" { "For you" }
                                a href="/library" { "Library" }
                                a href="/following" { "Following" }
                                a href="/submit" { "Submit" }
                                @if a.is_admin { a href="/admin" { "Moderation" } }
                                a href="/account" { (a.display_name) }
                            }
                            None => { a href="/login" { "Sign in" } }
                        }
                    }
                }
                main #main { (main) }
                footer.site {
                    p.subscribe { a href="/subscribe" { "Get trending papers in your email inbox" } }
                    p { "Paper metadata from arXiv and Hugging Face Daily Papers. "
                        a href="/about/ranking" { "How ranking works" } " · "
                        @if let Some(f) = &frame.feed { a href={ (f) ".atom" } { "Feed of this page" } " · " }
                        a href="/openapi.json" { "API" } " · " a href="/status" { "Status" } }
                }
            }
        }
    }
}

/// A page with a heading and a few lines: what happened after a form, when it is not an error.
pub fn notice(viewer: &Viewer, title: &str, body: Markup) -> Markup {
    page(&Frame::of(viewer), title, html! { h1 { (title) } (body) })
}

pub fn html_response(markup: Markup) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// [`html_response`] with another status than 200.
pub fn html_status(status: StatusCode, markup: Markup) -> Response {
    let mut r = html_response(markup);
    *r.status_mut() = status;
    r
}

/// An error shown as a page rather than JSON, with its status and `Retry-After`.
pub fn error_page(e: &ApiError) -> Response {
    let title = if e.status() == StatusCode::NOT_FOUND {
        "Not found"
    } else {
        "Something is wrong"
    };
    let body = page(
        &Frame::plain(),
        title,
        html! {
            h1 { (title) }
            p.notice { (e.message) }
            p { a href="/papers" { "Back to today's papers" } }
        },
    );
    let mut r = html_status(e.status(), body);
    if let Some(secs) = e.retry_after {
        r.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
    r
}
