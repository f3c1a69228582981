//! arXiv's lists by category and announcement day: `/list` (every category and its count),
//! `/list/{category}` (its latest day), `/list/{category}/{day}`, and `/api/list`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use paperboy_store::CategoryListed;
use serde::Deserialize;

use crate::error::ApiError;
use crate::handlers::listings::votes_on;
use crate::params::{checked, parse_opt_day, Query, CATEGORY_PATTERN};
use crate::state::AppState;
use crate::viewer::Viewer;
use crate::views::json::item_json;
use crate::views::layout::html_response;
use crate::views::lists::{self, DayList, ListSort};

/// How long the category index's counts are reused (counting reads every list row).
const COUNTS_FOR: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
pub struct ListParams {
    sort: Option<String>,
}

fn category(s: &str) -> Result<&str, ApiError> {
    checked(
        "category",
        Some(s),
        CATEGORY_PATTERN,
        "an arXiv category such as cs.CV",
    )?;
    Ok(s)
}

fn sort(s: Option<&str>) -> Result<ListSort, ApiError> {
    match s.unwrap_or("feed") {
        "feed" | "" => Ok(ListSort::Feed),
        "votes" => Ok(ListSort::Votes),
        "for-you" => Ok(ListSort::ForYou),
        other => Err(ApiError::invalid(format!(
            "sort must be feed, votes or for-you, not {other:?}"
        ))),
    }
}

/// The list of `cat` on `day` (its latest day when None), sorted; None when it has no list.
async fn day_list(
    state: &AppState,
    cat: &str,
    day: Option<NaiveDate>,
    sort: ListSort,
) -> Result<
    Option<(
        NaiveDate,
        Vec<CategoryListed>,
        Option<NaiveDate>,
        Option<NaiveDate>,
    )>,
    ApiError,
> {
    let day = match day {
        Some(d) => d,
        None => match state.store.category_days_around(cat, None).await?.1 {
            Some(d) => d,
            None => return Ok(None),
        },
    };
    let mut papers = state.store.category_day(cat, day).await?;
    let (prev, next) = state.store.category_days_around(cat, Some(day)).await?;
    if papers.is_empty() && prev.is_none() && next.is_none() {
        return Ok(None);
    }
    if sort == ListSort::Votes {
        // Stable: papers with as many votes keep the list's order.
        papers.sort_by_key(|l| std::cmp::Reverse(l.view.upvotes()));
    }
    Ok(Some((day, papers, prev, next)))
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    cat: &str,
    day: Option<NaiveDate>,
    sort: ListSort,
) -> Result<Response, ApiError> {
    let account = viewer.account.as_ref().map(|a| a.id);
    let sort_name = (sort == ListSort::ForYou).then_some("for-you");
    crate::foryou::asks_for_you(sort_name, account.is_some())?;
    let Some((day, mut papers, prev, next)) = day_list(state, cat, day, sort).await? else {
        return Err(ApiError::not_found(format!(
            "No papers are listed in {cat}."
        )));
    };
    if let (ListSort::ForYou, Some(account)) = (sort, account) {
        crate::foryou::sort_for(state, account, &mut papers, |l| l.view.clone()).await?;
    }
    let ids = papers.iter().map(|l| l.view.paper.id.clone());
    let votes = votes_on(state, viewer, ids).await?;
    let following = match &viewer.account {
        Some(a) => state
            .store
            .follows(a.id)
            .await?
            .iter()
            .any(|f| f.kind == paperboy_store::FollowKind::Category && f.key == cat),
        None => false,
    };
    let list = DayList {
        category: cat,
        day,
        prev,
        next,
        papers: &papers,
        sort,
        following,
    };
    Ok(html_response(lists::day_list(&list, &votes)))
}

pub async fn latest(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(cat): Path<String>,
    Query(q): Query<ListParams>,
) -> Result<Response, ApiError> {
    page(
        &state,
        &viewer,
        category(&cat)?,
        None,
        sort(q.sort.as_deref())?,
    )
    .await
}

pub async fn on_day(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((cat, day)): Path<(String, String)>,
    Query(q): Query<ListParams>,
) -> Result<Response, ApiError> {
    let day = parse_opt_day("day", Some(&day))?;
    page(
        &state,
        &viewer,
        category(&cat)?,
        day,
        sort(q.sort.as_deref())?,
    )
    .await
}

/// Every category with a list and its count, at most [`COUNTS_FOR`] old.
async fn counts(state: &AppState) -> Result<Vec<(String, i64)>, ApiError> {
    type Counted = (Instant, Vec<(String, i64)>);
    static CACHE: Mutex<Option<Counted>> = Mutex::new(None);
    if let Some((at, counts)) = CACHE.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        if at.elapsed() < COUNTS_FOR {
            return Ok(counts.clone());
        }
    }
    let counts = state.store.category_counts().await?;
    *CACHE.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), counts.clone()));
    Ok(counts)
}

pub async fn index(State(state): State<AppState>, viewer: Viewer) -> Result<Response, ApiError> {
    Ok(html_response(lists::index(&viewer, &counts(&state).await?)))
}

#[derive(Debug, Deserialize)]
pub struct ListApiParams {
    category: Option<String>,
    date: Option<String>,
    sort: Option<String>,
}

/// `GET /api/list?category=cs.CV[&date=YYYY-MM-DD][&sort=votes]`: the day's list as hf.co
/// paper items, each with `crossList`; the day is in the `X-List-Date` header.
pub async fn api(
    State(state): State<AppState>,
    Query(q): Query<ListApiParams>,
) -> Result<Response, ApiError> {
    let cat = q
        .category
        .as_deref()
        .ok_or_else(|| ApiError::invalid("category is required, e.g. ?category=cs.CV"))?;
    let cat = category(cat)?;
    let day = parse_opt_day("date", q.date.as_deref())?;
    let sort = sort(q.sort.as_deref())?;
    if sort == ListSort::ForYou {
        return Err(ApiError::invalid(
            "sort=for-you is for signed-in pages; GET /api/for-you ranks a day for a token's reader",
        ));
    }
    let Some((day, papers, _, _)) = day_list(&state, cat, day, sort).await? else {
        return Err(ApiError::not_found(format!(
            "No papers are listed in {cat}."
        )));
    };
    let items: Vec<_> = papers
        .iter()
        .map(|l| {
            let mut item = item_json(&l.view);
            if let Some(o) = item.as_object_mut() {
                o.insert("crossList".into(), l.cross_list.into());
            }
            item
        })
        .collect();
    let mut response = Json(items).into_response();
    if let Ok(v) = day.to_string().parse() {
        response.headers_mut().insert("x-list-date", v);
    }
    Ok(response)
}
