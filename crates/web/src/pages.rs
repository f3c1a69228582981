//! Server-rendered pages: listings by day, week and month, paper pages and search. Plain HTML and
//! one small inline stylesheet (light and dark by system preference); no script is needed.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use paperboy_core::{Paper, Period, VersionedId};
use paperboy_search::hybrid::Mode;
use paperboy_search::{HighlightField, SearchQuery};
use paperboy_store::{ListingFilter, PaperView};
use serde::Deserialize;

use std::collections::HashSet;

use paperboy_core::ArxivId;

use crate::api::listed_view;
use crate::auth::Viewer;
use crate::query::{self, Sort};
use crate::redirect::see_other;
use crate::render::{squash, with_math};
use crate::{html_response, ApiError, AppState};

const STYLE: &str = include_str!("style.css");
const PAGE_SIZE: usize = 25;
/// Authors shown in a listing before "+N more".
const LIST_AUTHORS: usize = 6;

/// An error shown as a page rather than JSON.
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError(e)
    }
}

impl From<paperboy_store::StoreError> for PageError {
    fn from(e: paperboy_store::StoreError) -> Self {
        PageError(e.into())
    }
}

impl From<paperboy_core::PeriodError> for PageError {
    fn from(e: paperboy_core::PeriodError) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = if self.0.status == StatusCode::NOT_FOUND {
            "Not found"
        } else {
            "Something is wrong"
        };
        let body = layout(
            title,
            "",
            html! {
                h1 { (title) }
                p.notice { (self.0.message) }
                p { a href="/papers" { "Back to today's papers" } }
            },
        );
        let mut r = html_response(body);
        *r.status_mut() = self.0.status;
        if let Some(secs) = self.0.retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        r
    }
}

type PageResult = Result<Response, PageError>;

fn layout(title: &str, query: &str, main: Markup) -> Markup {
    page(&Frame::plain(query), title, main)
}

/// What a page's frame shows besides its content: who is signed in, the search box's text, and
/// the feed of this page, if it has one.
pub(crate) struct Frame<'a> {
    pub viewer: Option<&'a Viewer>,
    pub query: &'a str,
    /// A feed path without its extension (`/feeds/daily`): linked as RSS and Atom.
    pub feed: Option<String>,
}

impl<'a> Frame<'a> {
    pub fn plain(query: &'a str) -> Frame<'a> {
        Frame {
            viewer: None,
            query,
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

pub(crate) fn page(frame: &Frame, title: &str, main: Markup) -> Markup {
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
                    }
                    form.search role="search" action="/search" method="get" {
                        label.visually-hidden for="q" { "Search papers" }
                        input #q type="search" name="q" value=(frame.query) placeholder="Search papers or paste an arXiv id" maxlength="250";
                        button type="submit" { "Search" }
                    }
                    nav.account aria-label="Account" {
                        @match account {
                            Some(a) => {
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

fn authors_line(p: &Paper, max: usize) -> Markup {
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

fn links(p: &Paper) -> Markup {
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

fn plural(n: i64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn paper_href(p: &Paper) -> String {
    format!("/papers/{}", p.id)
}

/// Who is voting, and for which of the papers on this page they have voted already.
pub(crate) struct Votes<'a> {
    pub viewer: Option<&'a Viewer>,
    pub voted: HashSet<ArxivId>,
}

impl<'a> Votes<'a> {
    /// Looks up the viewer's votes for `ids`.
    pub async fn load(
        state: &AppState,
        viewer: &'a Viewer,
        ids: impl IntoIterator<Item = ArxivId>,
    ) -> Result<Votes<'a>, PageError> {
        let mut voted = HashSet::new();
        if let Some(a) = &viewer.account {
            let ids: Vec<ArxivId> = ids.into_iter().collect();
            let flags = state.store.votes_of(a.id, &ids).await?;
            voted = ids
                .into_iter()
                .zip(flags)
                .filter_map(|(id, v)| v.then_some(id))
                .collect();
        }
        Ok(Votes {
            viewer: Some(viewer),
            voted,
        })
    }
}

/// The upvote control: a form that toggles the vote (the page's script does it in place), or,
/// for visitors, a link to sign in.
pub(crate) fn vote_control(view: &PaperView, votes: &Votes) -> Markup {
    let id = &view.paper.id;
    let signed_in = votes.viewer.filter(|v| v.account.is_some());
    html! {
        @match signed_in {
            Some(v) => {
                @let voted = votes.voted.contains(id);
                form.vote method="post" action={ "/papers/" (id) "/vote" } {
                    input type="hidden" name="csrf" value=(v.csrf);
                    input type="hidden" name="up" value=(if voted { "0" } else { "1" });
                    button.votes type="submit" aria-pressed=(voted) title=(if voted { "Remove your upvote" } else { "Upvote" }) {
                        span aria-hidden="true" { "▲" } " " span.n { (view.upvotes()) } span.visually-hidden { " upvotes" }
                    }
                }
            }
            None => {
                a.votes href="/login" title="Sign in to upvote" { span aria-hidden="true" { "▲" } " " (view.upvotes()) span.visually-hidden { " upvotes" } }
            }
        }
    }
}

fn entry(
    rank: usize,
    view: &PaperView,
    title_html: Option<Markup>,
    snippet: Option<Markup>,
    votes: &Votes,
) -> Markup {
    entry_inner(rank, view, title_html, snippet, votes, None)
}

/// A listing entry that also shows its trending score.
pub(crate) fn entry_with_score(rank: usize, view: &PaperView, votes: &Votes, score: f64) -> Markup {
    entry_inner(rank, view, None, None, votes, Some(score))
}

fn entry_inner(
    rank: usize,
    view: &PaperView,
    title_html: Option<Markup>,
    snippet: Option<Markup>,
    votes: &Votes,
    score: Option<f64>,
) -> Markup {
    let p = &view.paper;
    let e = view.entry.as_ref();
    html! {
        li.entry {
            (vote_control(view, votes))
            article {
                h2 {
                    span.rank { (rank) ". " }
                    a href=(paper_href(p)) { @if let Some(t) = title_html { (t) } @else { (with_math(&squash(&p.title))) } }
                }
                (authors_line(p, LIST_AUTHORS))
                p.meta {
                    @if let Some(e) = e {
                        @if let Some(s) = &e.submitted_by { "Submitted by " (s.fullname.as_deref().unwrap_or(&s.name)) " · " }
                        a href={ (paper_href(p)) "#comments" } { (plural(view.num_comments(), "comment")) } " · " time datetime=(e.day) { (e.day) }
                    } @else if let Some(d) = p.published { "Published " time datetime=(d.date_naive()) { (d.date_naive()) } }
                    @if let Some(cat) = p.primary_category() { " · " span.cat { (cat) } }
                    @if let Some(s) = score { " · trending score " (format!("{s:.4}")) }
                }
                (links(p))
                @if let Some(s) = snippet { p.snippet { (s) } }
                @if !p.summary.is_empty() {
                    details { summary { "Abstract" } p { (with_math(&squash(&p.summary))) } }
                }
            }
        }
    }
}

/// `?page=N` of a listing: a week or a month holds hundreds of papers, so listings are shown
/// `PAGE_SIZE` at a time to keep every page light.
#[derive(Debug, Deserialize)]
pub struct ListingParams {
    page: Option<usize>,
}

fn listing_page_number(
    q: Result<Query<ListingParams>, QueryRejection>,
) -> Result<usize, PageError> {
    let Query(q) = q.map_err(|e| ApiError::invalid(e.body_text()))?;
    Ok(q.page.unwrap_or(0))
}

async fn listing_page(
    state: &AppState,
    viewer: &Viewer,
    period: Period,
    heading: String,
    page: usize,
) -> PageResult {
    let entries =
        query::ranked_listing(state, period, &ListingFilter::default(), Sort::Votes).await?;
    let start = page.saturating_mul(PAGE_SIZE);
    if page > 0 && start >= entries.len() {
        return Err(ApiError::not_found(format!("This list has no page {page}.")).into());
    }
    let end = (start + PAGE_SIZE).min(entries.len());
    let shown = &entries[start.min(end)..end];
    let votes = Votes::load(state, viewer, shown.iter().map(|l| l.paper.id.clone())).await?;
    let (prev, next) = match period {
        Period::Day(d) => {
            let (p, n) = state.store.neighbour_days(d).await?;
            (p.map(Period::Day), n.map(Period::Day))
        }
        _ => {
            // Only weeks and months need it: a day's neighbours come from the store.
            let latest = state.store.latest_day().await?;
            let next = period.next();
            let has_next = latest.is_some_and(|l| next.range().0 <= l);
            (Some(period.prev()), has_next.then_some(next))
        }
    };
    let body = html! {
        h1 { (heading) }
        nav.pager aria-label="Periods" {
            @if let Some(p) = prev { a rel="prev" href={ "/papers/" (p.path()) } { "← " (p) } }
            span.kinds {
                @let d = period.range().0;
                {
                    a href={ "/papers/" (Period::Day(d).path()) } { "day" } " · "
                    a href={ "/papers/" (Period::week_of(d).path()) } { "week" } " · "
                    a href={ "/papers/" (Period::month_of(d).path()) } { "month" }
                }
            }
            @if let Some(n) = next { a rel="next" href={ "/papers/" (n.path()) } { (n) " →" } }
        }
        @if entries.is_empty() {
            p.notice { "No papers on this list." }
        } @else {
            ol.entries start=(start + 1) {
                @for (i, l) in shown.iter().enumerate() { (entry(start + i + 1, &listed_view(l), None, None, &votes)) }
            }
            @if entries.len() > PAGE_SIZE {
                nav.pager aria-label="List pages" {
                    @if page > 0 { a href={ "?page=" (page - 1) } { "← Papers " (start + 1 - PAGE_SIZE) "–" (start) } }
                    span { "Papers " (start + 1) "–" (end) " of " (entries.len()) }
                    @if end < entries.len() { a href={ "?page=" (page + 1) } { "Papers " (end + 1) "–" ((end + PAGE_SIZE).min(entries.len())) " →" } }
                }
            }
        }
    };
    let frame = Frame {
        feed: matches!(period, Period::Day(_)).then(|| "/feeds/daily".to_string()),
        ..Frame::of(viewer)
    };
    Ok(html_response(self::page(&frame, &heading, body)))
}

pub async fn front(
    State(state): State<AppState>,
    viewer: Viewer,
    q: Result<Query<ListingParams>, QueryRejection>,
) -> PageResult {
    let page = listing_page_number(q)?;
    match state.store.latest_day().await? {
        Some(day) => {
            listing_page(
                &state,
                &viewer,
                Period::Day(day),
                format!("Daily papers · {}", day.format("%A %-d %B %Y")),
                page,
            )
            .await
        }
        None => Ok(html_response(layout(
            "Daily papers",
            "",
            html! { h1 { "Daily papers" } p.notice { "No papers yet. Import some with " code { "paperboy import FILE" } "." } },
        ))),
    }
}

pub async fn day(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(day): Path<String>,
    q: Result<Query<ListingParams>, QueryRejection>,
) -> PageResult {
    let page = listing_page_number(q)?;
    let period = Period::parse_day(&day)?;
    let Period::Day(d) = period else {
        unreachable!("parse_day gives a day")
    };
    listing_page(
        &state,
        &viewer,
        period,
        format!("Daily papers · {}", d.format("%A %-d %B %Y")),
        page,
    )
    .await
}

pub async fn week(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(week): Path<String>,
    q: Result<Query<ListingParams>, QueryRejection>,
) -> PageResult {
    let page = listing_page_number(q)?;
    let period = Period::parse_week(&week)?;
    listing_page(
        &state,
        &viewer,
        period,
        format!("Papers of the week · {period}"),
        page,
    )
    .await
}

pub async fn month(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(month): Path<String>,
    q: Result<Query<ListingParams>, QueryRejection>,
) -> PageResult {
    let page = listing_page_number(q)?;
    let period = Period::parse_month(&month)?;
    let (start, _) = period.range();
    listing_page(
        &state,
        &viewer,
        period,
        format!("Papers of the month · {}", start.format("%B %Y")),
        page,
    )
    .await
}

/// `/papers/{id}`, and `/papers/week` / `/papers/month` without a period (the latest).
pub async fn paper(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    if id == "week" || id == "month" {
        let Some(day) = state.store.latest_day().await? else {
            return Ok(see_other("/papers"));
        };
        let period = if id == "week" {
            Period::week_of(day)
        } else {
            Period::month_of(day)
        };
        return Ok(see_other(&format!("/papers/{}", period.path())));
    }
    let vid = VersionedId::parse(&id).map_err(|e| ApiError::not_found(e.to_string()))?;
    let view = state
        .store
        .paper(&vid.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No paper {} here yet.", vid.id)))?;
    let similar = query::similar(&state, &view, 5).await?;
    let votes = Votes::load(
        &state,
        &viewer,
        std::iter::once(view.paper.id.clone()).chain(similar.iter().map(|v| v.paper.id.clone())),
    )
    .await?;
    let comments = state
        .store
        .comments(&view.paper.id, viewer.is_admin())
        .await?;
    let p = &view.paper;
    let title = squash(&p.title);
    let body = html! {
        article.paper {
            p.kicker { "arXiv:" (p.id) @if let Some(v) = p.version { "v" (v) }
                @for c in &p.categories { " " span.cat { (c) } } }
            h1 { (with_math(&title)) }
            p.authors { (p.authors.iter().filter(|a| !a.hidden).map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")) }
            div.paper-vote { (vote_control(&view, &votes)) }
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
                    @for (i, v) in similar.iter().enumerate() { (entry(i + 1, v, None, None, &votes)) }
                }
            }
        }
        (crate::community::comments_section(&view, &comments, &viewer))
        @if viewer.is_admin() {
            (crate::community::paper_moderation(&view, &viewer))
        }
    };
    Ok(html_response(page(&Frame::of(&viewer), &title, body)))
}

#[derive(Debug, Deserialize)]
pub struct SearchPageParams {
    q: Option<String>,
    category: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
    mode: Option<String>,
}

pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    q: Result<Query<SearchPageParams>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|e| ApiError::invalid(e.body_text()))?;
    let text = q.q.clone().unwrap_or_default();
    // The filter form sends its empty fields: on this page they mean "not given".
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().filter(|s| !s.is_empty())
    }
    let page = crate::params::page_number("page", given(&q.page))?;
    let category = q.category.clone().filter(|c| !c.is_empty());
    let from = crate::params::parse_opt_day("from", given(&q.from))?;
    let to = crate::params::parse_opt_day("to", given(&q.to))?;
    let mode = query::parse_mode(given(&q.mode))?;
    let found = query::search(
        &state,
        SearchQuery {
            text: text.clone(),
            category: category.clone(),
            from,
            to,
            offset: page * PAGE_SIZE,
            limit: PAGE_SIZE,
        },
        mode,
    )
    .await?;
    if found.exact_id {
        return Ok(see_other(&paper_href(&found.results[0].paper)));
    }
    let sq = SearchQuery {
        text: text.clone(),
        limit: 1,
        ..Default::default()
    };
    // Search reads no deeper than MAX_DEPTH results: no link to a page past it.
    let more = found.total.min(paperboy_search::MAX_DEPTH) > (page + 1) * PAGE_SIZE;
    let votes = Votes::load(
        &state,
        &viewer,
        found.results.iter().map(|v| v.paper.id.clone()),
    )
    .await?;
    let page_link = |n: usize| {
        let pairs = [
            ("q", Some(text.clone())),
            ("category", category.clone()),
            ("from", q.from.clone()),
            ("to", q.to.clone()),
            ("mode", q.mode.clone()),
            ("page", Some(n.to_string())),
        ];
        let kept: Vec<(&str, String)> = pairs
            .into_iter()
            .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
            .collect();
        format!(
            "/search?{}",
            serde_urlencoded::to_string(kept).unwrap_or_default()
        )
    };
    let body = html! {
        h1 { @if text.is_empty() { "Search" } @else { "Results for “" (text) "”" } }
        form.filters action="/search" method="get" {
            input type="hidden" name="q" value=(text);
            label { "Category " input type="text" name="category" value=(category.clone().unwrap_or_default()) placeholder="cs.CL" size="8"; }
            label { "From " input type="date" name="from" value=(q.from.clone().unwrap_or_default()); }
            label { "To " input type="date" name="to" value=(q.to.clone().unwrap_or_default()); }
            label { "Mode "
                select name="mode" {
                    @for m in [Mode::Hybrid, Mode::Keyword, Mode::Semantic] {
                        option value=(m) selected[m == mode] { (m) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        @if let Some(why) = &found.fallback {
            p.notice role="status" { "Showing keyword results only: " (why) "." }
        }
        @if !text.is_empty() {
            p.count { (found.total) " papers · " (found.mode) " search" }
            @if found.results.is_empty() { p.notice { "Nothing matched. Try fewer or other words." } }
            ol.entries start=(page * PAGE_SIZE + 1) {
                @for (i, v) in found.results.iter().enumerate() {
                    @let title = PreEscaped(state.index.highlight(&sq, HighlightField::Title, &squash(&v.paper.title), 0));
                    @let snippet = PreEscaped(state.index.highlight(&sq, HighlightField::Summary, &squash(&v.paper.summary), 240));
                    (entry(page * PAGE_SIZE + i + 1, v, Some(title), Some(snippet), &votes))
                }
            }
            nav.pager aria-label="Result pages" {
                @if page > 0 { a rel="prev" href=(page_link(page - 1)) { "← Previous" } }
                @if more { a rel="next" href=(page_link(page + 1)) { "Next →" } }
            }
        }
    };
    let feed = (!text.is_empty()).then(|| {
        format!(
            "/feeds/search?{}",
            serde_urlencoded::to_string([("q", text.as_str())]).unwrap_or_default()
        )
    });
    let frame = Frame {
        viewer: Some(&viewer),
        query: &text,
        feed: None,
    };
    let body = html! {
        (body)
        @if let Some(f) = &feed {
            p.feeds { "Follow this search: " a href=(f.replacen("/feeds/search?", "/feeds/search.atom?", 1)) { "Atom" } " · " a href=(f.replacen("/feeds/search?", "/feeds/search.rss?", 1)) { "RSS" } }
        }
    };
    let mut r = html_response(self::page(
        &frame,
        if text.is_empty() { "Search" } else { &text },
        body,
    ));
    r.headers_mut().insert(
        "x-robots-tag",
        axum::http::HeaderValue::from_static("noindex"),
    );
    Ok(r)
}

/// What an operator wants to know at a glance: data, search index, search by meaning.
pub async fn status(State(state): State<AppState>) -> PageResult {
    let stats = state.store.stats().await?;
    let store_seq = state.store.last_seq().await?;
    let index_seq = state.index.applied_seq().map_err(ApiError::from)?;
    let body = html! {
        h1 { "Status" }
        h2 { "Papers" }
        dl.facts {
            dt { "Database" } dd { (state.store.backend()) }
            dt { "Papers" } dd { (stats.papers) }
            dt { "Daily-list entries" } dd { (stats.daily_entries) " on " (stats.days) " days" }
            @if let (Some(a), Some(b)) = (stats.first_day, stats.last_day) { dt { "Days" } dd { (a) " to " (b) } }
        }
        h2 { "Keyword search" }
        dl.facts {
            dt { "Indexed papers" } dd { (state.index.num_docs()) }
            dt { "Changes not yet indexed" } dd { ((store_seq - index_seq).max(0)) }
        }
        h2 { "Search by meaning" }
        @match state.semantic.get() {
            Some(s) => {
                @let (embedded, pending) = s.progress();
                dl.facts {
                    dt { "Model" } dd { (s.model_name()) }
                    dt { "Papers with vectors" } dd { (s.vectors().len()) " of " (stats.papers) }
                    dt { "Embedded since start" } dd { (embedded) }
                    dt { "Changes still to look at" } dd { (pending) }
                }
                @if s.vectors().len() < stats.papers as usize {
                    p { progress max=(stats.papers) value=(s.vectors().len()) { (s.vectors().len()) " of " (stats.papers) } }
                }
            }
            None => p.notice { "Search is keyword-only: " (state.semantic.unavailable().unwrap_or_default()) "." },
        }
        h2 { "Digests" }
        @let mail = state.store.mail_stats().await?;
        dl.facts {
            dt { "Subscribers" } dd { (mail.subscribers) " (" (mail.confirmed) " confirmed)" }
            dt { "Last period" } dd { (mail.last_period.clone().unwrap_or_else(|| "none yet".into())) }
            dt { "Mails" } dd { (mail.sent) " sent, " (mail.pending) " pending, " (mail.failed) " failed" }
        }
        h2 { "Live sync" }
        @let sources = state.store.harvest_statuses().await?;
        @if state.settings.sync_minutes > 0 {
            p { "Every " (state.settings.sync_minutes) " minutes." }
        } @else {
            p { "No schedule: sources sync when " code { "paperboy harvest" } " runs." }
        }
        @if !sources.is_empty() {
            div.wide { table.sync {
                thead { tr { th scope="col" { "Source" } th scope="col" { "Last success" } th scope="col" { "Papers then" } th scope="col" { "All time" } th scope="col" { "Last error" } } }
                tbody {
                    @for h in &sources {
                        tr {
                            th scope="row" { (h.source) }
                            td { (h.last_success.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "never".into())) }
                            td { (h.last_papers.map(|n| n.to_string()).unwrap_or_else(|| "-".into())) }
                            td { (h.papers_total) }
                            td {
                                @match (&h.last_error, h.last_error_at) {
                                    (Some(e), Some(at)) => { (at.format("%Y-%m-%d %H:%M UTC")) ": " (e) }
                                    _ => "none",
                                }
                            }
                        }
                    }
                }
            } }
        }
        p { a href="/api/status" { "The same as JSON" } }
    };
    Ok(html_response(layout("Status", "", body)))
}

/// Any address no route takes: the API's JSON error under `/api/`, a page elsewhere.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if is_api(uri.path()) {
        return ApiError::not_found(format!("There is no API endpoint at {}.", uri.path()))
            .into_response();
    }
    PageError(ApiError::not_found("There is no page at this address.")).into_response()
}

/// A method a route does not take, said in the API's JSON under `/api/`.
pub async fn method_not_allowed(uri: axum::http::Uri) -> Response {
    let e = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This address does not take that method.",
    );
    if is_api(uri.path()) {
        e.into_response()
    } else {
        PageError(e).into_response()
    }
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}
