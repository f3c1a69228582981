//! Lists of papers: the front page and each day's, week's and month's list, trending, search,
//! and how ranking works.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::response::Response;
use chrono::Utc;
use maud::PreEscaped;
use paperboy_core::{ArxivId, Period};
use paperboy_search::{HighlightField, SearchQuery};
use paperboy_store::ListingFilter;
use paperboy_store::PaperView;
use serde::Deserialize;

use crate::error::ApiError;
use crate::params::{page_number, parse_opt_day, Query};
use crate::query::{self, Sort};
use crate::redirect::see_other;
use crate::render::squash;
use crate::state::AppState;
use crate::viewer::Viewer;
use crate::views::entry::{paper_href, Votes};
use crate::views::layout::html_response;
use crate::views::listing::{self, PeriodList, SearchAsked, PAGE_SIZE};

/// `?page=N` of a listing (see [`PAGE_SIZE`]).
#[derive(Debug, Deserialize)]
pub struct ListingParams {
    page: Option<usize>,
    /// `for-you`: the signed-in reader's order (else by votes).
    sort: Option<String>,
}

/// The viewer's votes and saves among the papers `ids`, for their buttons.
pub async fn votes_on<'a>(
    state: &AppState,
    viewer: &'a Viewer,
    ids: impl IntoIterator<Item = ArxivId>,
) -> Result<Votes<'a>, ApiError> {
    let account = viewer.account.as_ref().map(|a| a.id);
    let (voted, saved) = query::voted(state, account, ids).await?;
    Ok(Votes {
        viewer,
        voted,
        saved,
    })
}

/// Page `page` of a period's list.
async fn period_page(
    state: &AppState,
    viewer: &Viewer,
    period: Period,
    page: usize,
    sort: Option<&str>,
) -> Result<Response, ApiError> {
    let account = viewer.account.as_ref().map(|a| a.id);
    let for_you = crate::foryou::asks_for_you(sort, account.is_some())?;
    let mut entries =
        query::ranked_listing(state, period, &ListingFilter::default(), Sort::Votes).await?;
    if let (true, Some(account)) = (for_you, account) {
        crate::foryou::sort_for(state, account, &mut entries, crate::query::listed_view).await?;
    }
    if page > 0 && page.saturating_mul(PAGE_SIZE) >= entries.len() {
        return Err(ApiError::not_found(format!(
            "This list has no page {page}."
        )));
    }
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
    let list = PeriodList {
        period,
        prev,
        next,
        entries: &entries,
        page,
        for_you,
    };
    let ids = entries[list.shown()].iter().map(|l| l.paper.id.clone());
    let votes = votes_on(state, viewer, ids).await?;
    Ok(html_response(listing::period_list(&list, &votes)))
}

pub async fn front(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListingParams>,
) -> Result<Response, ApiError> {
    match state.store.latest_day().await? {
        Some(day) => {
            let page = q.page.unwrap_or(0);
            period_page(&state, &viewer, Period::Day(day), page, q.sort.as_deref()).await
        }
        None => Ok(html_response(listing::no_papers_yet())),
    }
}

/// The period a list's address names: `/papers/date/{day}`, `/papers/week/{week}` or
/// `/papers/month/{month}`.
pub struct PeriodPath(Period);

impl<S: Send + Sync> FromRequestParts<S> for PeriodPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let parse = match parts.uri.path().split('/').nth(2) {
            Some("date") => Period::parse_day,
            Some("week") => Period::parse_week,
            _ => Period::parse_month,
        };
        let Path(value) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid(e.body_text()))?;
        Ok(PeriodPath(parse(&value)?))
    }
}

pub async fn period(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListingParams>,
    PeriodPath(period): PeriodPath,
) -> Result<Response, ApiError> {
    period_page(
        &state,
        &viewer,
        period,
        q.page.unwrap_or(0),
        q.sort.as_deref(),
    )
    .await
}

pub async fn trending(State(state): State<AppState>, viewer: Viewer) -> Result<Response, ApiError> {
    let list = query::trending(&state, 50, Utc::now()).await?;
    let ids = list.papers.iter().map(|(v, _)| v.paper.id.clone());
    let votes = votes_on(&state, &viewer, ids).await?;
    let mut response = html_response(listing::trending(&list, &votes));
    if let Ok(v) = list.window().parse() {
        response.headers_mut().insert("x-trending-window", v);
    }
    Ok(response)
}

pub async fn ranking(State(state): State<AppState>, viewer: Viewer) -> Response {
    html_response(listing::ranking(&viewer, &state.settings))
}

#[derive(Debug, Deserialize)]
pub struct SearchPageParams {
    q: Option<String>,
    category: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
    mode: Option<String>,
    /// `for-you`: the best [`FOR_YOU_DEPTH`] matches in the signed-in reader's order (else by
    /// relevance).
    sort: Option<String>,
}

/// How many of the best matches a for-you sort of search results orders for the reader.
pub const FOR_YOU_DEPTH: usize = 200;

/// `/search.bib?q=...`: one page of search results (the same parameters as `/search`) as BibTeX.
pub async fn search_bibtex(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<SearchPageParams>,
) -> Result<Response, ApiError> {
    let account = viewer.account.as_ref().map(|a| a.id);
    let (found, ..) = q.found(&state, account).await?;
    let papers: Vec<_> = found.results.into_iter().map(|v| v.paper).collect();
    let body = paperboy_core::bib::to_bibtex_all(&papers);
    Ok(crate::views::citation::bibtex_response(body, "search.bib"))
}

/// The filter form sends its empty fields: on the search page they mean "not given".
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

impl SearchPageParams {
    /// The page of results asked for, the mode, and the page number.
    fn search(&self) -> Result<(SearchQuery, paperboy_search::hybrid::Mode, usize), ApiError> {
        let page = page_number("page", given(&self.page))?;
        let query = SearchQuery {
            text: self.q.clone().unwrap_or_default(),
            category: given(&self.category).map(str::to_owned),
            from: parse_opt_day("from", given(&self.from))?,
            to: parse_opt_day("to", given(&self.to))?,
            offset: page * PAGE_SIZE,
            limit: PAGE_SIZE,
        };
        Ok((query, query::parse_mode(given(&self.mode))?, page))
    }

    /// The page of results asked for, sorted for the signed-in reader `account` when asked
    /// (the best [`FOR_YOU_DEPTH`] matches in their order, then paged); with the mode, the
    /// page number and whether it is sorted for the reader.
    async fn found(
        &self,
        state: &AppState,
        account: Option<paperboy_store::AccountId>,
    ) -> Result<(query::Found, paperboy_search::hybrid::Mode, usize, bool), ApiError> {
        let (mut search, mode, page) = self.search()?;
        let for_you = crate::foryou::asks_for_you(given(&self.sort), account.is_some())?;
        let Some(account) = account.filter(|_| for_you) else {
            return Ok((query::search(state, search, mode).await?, mode, page, false));
        };
        if search.offset >= FOR_YOU_DEPTH {
            return Err(ApiError::not_found(format!(
                "Results sorted for you go {FOR_YOU_DEPTH} deep: there is no page {page}."
            )));
        }
        search.offset = 0;
        search.limit = FOR_YOU_DEPTH;
        let mut found = query::search(state, search, mode).await?;
        if !found.exact_id {
            crate::foryou::sort_for(state, account, &mut found.results, PaperView::clone).await?;
            found.total = found.total.min(found.results.len());
            let start = (page * PAGE_SIZE).min(found.results.len());
            found.results.truncate(start + PAGE_SIZE);
            found.results.drain(..start);
        }
        Ok((found, mode, page, true))
    }
}

pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<SearchPageParams>,
) -> Result<Response, ApiError> {
    let account = viewer.account.as_ref().map(|a| a.id);
    let (found, mode, page, for_you) = q.found(&state, account).await?;
    if found.exact_id {
        return Ok(see_other(&paper_href(&found.results[0].paper)));
    }
    let text = q.q.clone().unwrap_or_default();
    let asked = SearchAsked {
        text: &text,
        category: given(&q.category),
        from: q.from.as_deref(),
        to: q.to.as_deref(),
        mode_param: q.mode.as_deref(),
        mode,
        page,
        for_you,
        signed_in: account.is_some(),
    };
    let marked = SearchQuery {
        text: text.clone(),
        limit: 1,
        ..Default::default()
    };
    let highlights = found
        .results
        .iter()
        .map(|v| {
            let mark = |field, text: &str, len| {
                PreEscaped(state.index.highlight(&marked, field, &squash(text), len))
            };
            (
                mark(HighlightField::Title, &v.paper.title, 0),
                mark(HighlightField::Summary, &v.paper.summary, 240),
            )
        })
        .collect();
    let ids = found.results.iter().map(|v| v.paper.id.clone());
    let votes = votes_on(&state, &viewer, ids).await?;
    let mut r = html_response(listing::search(&asked, &found, highlights, &votes));
    r.headers_mut()
        .insert("x-robots-tag", HeaderValue::from_static("noindex"));
    Ok(r)
}
