//! The JSON API, with hf.co's paths and parameters (the shapes are `views::json`): daily
//! papers, papers by id or cursor, search, similar papers, trending, status. Every bound a
//! handler checks is a constant `/openapi.json` states.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use paperboy_core::{Period, VersionedId};
use paperboy_search::SearchQuery;
use paperboy_store::ListingFilter;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::params::{
    self, checked, plain_text, shaped, Query, CURSOR_PATTERN, DATE_PATTERN, DEFAULT_LIMIT,
    MAX_CATEGORY_CHARS, MAX_CURSOR_CHARS, MAX_DAILY_LIMIT, MAX_SEARCH_LIMIT, MAX_SUBMITTER_CHARS,
    MONTH_PATTERN, PAPER_ID_PATTERN, WEEK_PATTERN,
};
use crate::query::{self, listed_view, Sort};
use crate::state::AppState;
use crate::views::json::{self, item_json, paper_json};

/// How far back `/api/daily_papers` without a period reaches.
const ALL_DAYS_WINDOW: u32 = 3650;

fn limit(s: Option<&str>, max: usize, default: usize) -> Result<usize, ApiError> {
    params::whole("limit", s, (1, max), default)
}

#[derive(Debug, Deserialize)]
pub struct DailyParams {
    p: Option<String>,
    limit: Option<String>,
    date: Option<String>,
    week: Option<String>,
    month: Option<String>,
    submitter: Option<String>,
    sort: Option<String>,
}

pub async fn daily_papers(
    State(state): State<AppState>,
    Query(q): Query<DailyParams>,
) -> Result<Response, ApiError> {
    let page = params::page_number("p", q.p.as_deref())?;
    let limit = limit(q.limit.as_deref(), MAX_DAILY_LIMIT, DEFAULT_LIMIT)?;
    let sort = Sort::parse(q.sort.as_deref())?;
    let submitter = plain_text("submitter", q.submitter.as_deref(), MAX_SUBMITTER_CHARS)?;
    let filter = ListingFilter {
        submitter: submitter.filter(|s| !s.is_empty()).map(str::to_owned),
    };
    let date = checked("date", q.date.as_deref(), DATE_PATTERN, "a date YYYY-MM-DD")?;
    let week = checked(
        "week",
        q.week.as_deref(),
        WEEK_PATTERN,
        "an ISO week YYYY-Www",
    )?;
    let month = checked(
        "month",
        q.month.as_deref(),
        MONTH_PATTERN,
        "a month YYYY-MM",
    )?;
    let period = match (date, week, month) {
        (None, None, None) => None,
        (Some(d), None, None) => Some(Period::parse_day(d)?),
        (None, Some(w), None) => Some(Period::parse_week(w).map_err(|e| {
            // Well formed, but the year has no such week (W53 of a 52-week year).
            ApiError::not_found(e.to_string())
        })?),
        (None, None, Some(m)) => Some(Period::parse_month(m)?),
        _ => {
            return Err(ApiError::invalid(
                "give at most one of date, week and month",
            ))
        }
    };
    let entries = match period {
        Some(period) => query::ranked_listing(&state, period, &filter, sort).await?,
        None => query::all_days(&state, &filter, sort, ALL_DAYS_WINDOW).await?,
    };
    let start = page.saturating_mul(limit).min(entries.len());
    let end = (start + limit).min(entries.len());
    let mut items: Vec<Value> = entries[start..end]
        .iter()
        .map(|l| item_json(&listed_view(l)))
        .collect();
    if sort == Sort::Trending {
        let scores = query::trending_scores(&state, &entries[start..end], Utc::now()).await?;
        for (item, score) in items.iter_mut().zip(scores) {
            item["trendingScore"] = json!(score);
        }
    }
    let mut response = Json(items).into_response();
    if end < entries.len() {
        let mut next: Vec<(&str, String)> =
            vec![("p", (page + 1).to_string()), ("limit", limit.to_string())];
        for (k, v) in [
            ("date", &q.date),
            ("week", &q.week),
            ("month", &q.month),
            ("submitter", &q.submitter),
            ("sort", &q.sort),
        ] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                next.push((k, v.clone()));
            }
        }
        let qs = serde_urlencoded::to_string(&next).map_err(ApiError::internal)?;
        if let Ok(v) = format!("</api/daily_papers?{qs}>; rel=\"next\"").parse() {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(response)
}

/// `/api/papers/{id}` and `/api/papers/{id}/similar`; the id may carry a version or be an
/// old-style id with a slash.
pub async fn paper(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (raw, similar) = match path.strip_suffix("/similar") {
        Some(raw) => (raw, true),
        None => (path.as_str(), false),
    };
    let id = match VersionedId::parse(raw) {
        Ok(v) => v.id,
        // Shaped like an id but impossible (`9999.99999`: month 99): no such paper.
        Err(_) if shaped(PAPER_ID_PATTERN, raw) => {
            return Err(ApiError::not_found(format!("paper {raw} not found")))
        }
        Err(e) => return Err(ApiError::invalid(e.to_string())),
    };
    let view = state
        .store
        .paper(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("paper {id} not found")))?;
    if similar {
        let views = query::similar(&state, &view, SIMILAR).await?;
        return Ok(Json(Value::Array(views.iter().map(item_json).collect())));
    }
    Ok(Json(Value::Object(paper_json(&view))))
}

/// Similar papers returned by the API.
pub const SIMILAR: usize = 10;

#[derive(Debug, Deserialize)]
pub struct SearchApiParams {
    q: Option<String>,
    limit: Option<String>,
    category: Option<String>,
    from: Option<String>,
    to: Option<String>,
    p: Option<String>,
    mode: Option<String>,
}

pub async fn search(
    State(state): State<AppState>,
    Query(q): Query<SearchApiParams>,
) -> Result<Response, ApiError> {
    let limit = limit(q.limit.as_deref(), MAX_SEARCH_LIMIT, DEFAULT_LIMIT)?;
    let page = params::page_number("p", q.p.as_deref())?;
    let category = plain_text("category", q.category.as_deref(), MAX_CATEGORY_CHARS)?;
    let found = query::search(
        &state,
        SearchQuery {
            text: q.q.clone().unwrap_or_default(),
            category: category.filter(|c| !c.is_empty()).map(str::to_owned),
            from: params::parse_opt_day("from", q.from.as_deref())?,
            to: params::parse_opt_day("to", q.to.as_deref())?,
            offset: page.saturating_mul(limit),
            limit,
        },
        query::parse_mode(q.mode.as_deref())?,
    )
    .await?;
    let mut response =
        Json(found.results.iter().map(item_json).collect::<Vec<_>>()).into_response();
    // Which mode answered, so a client can tell a keyword fallback from a hybrid answer.
    if let Ok(v) = found.mode.to_string().parse() {
        response.headers_mut().insert("x-search-mode", v);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct TrendingParams {
    limit: Option<String>,
}

/// The trending list, best first, each item with its `trendingScore` (see /about/ranking).
pub async fn trending(
    State(state): State<AppState>,
    Query(q): Query<TrendingParams>,
) -> Result<Response, ApiError> {
    let limit = limit(q.limit.as_deref(), MAX_DAILY_LIMIT, DEFAULT_LIMIT)?;
    let list = query::trending(&state, limit, Utc::now()).await?;
    let items: Vec<Value> = list
        .papers
        .iter()
        .map(|(v, score)| {
            let mut item = item_json(v);
            item["trendingScore"] = json!(score);
            item
        })
        .collect();
    let mut response = Json(items).into_response();
    // The days whose votes and lists ranked it: the recent window, or the newest data's when
    // that held too few votes.
    if let Ok(v) = list.window().parse() {
        response.headers_mut().insert("x-trending-window", v);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct PapersParams {
    cursor: Option<String>,
    limit: Option<String>,
}

/// Every paper, newest first, by cursor; the next page's URL is in the `Link` header.
pub async fn papers(
    State(state): State<AppState>,
    Query(q): Query<PapersParams>,
) -> Result<Response, ApiError> {
    let limit = limit(q.limit.as_deref(), MAX_DAILY_LIMIT, DEFAULT_LIMIT)?;
    // A cursor is `SORT-DATE~ID` as the previous page's Link gave it; anything else is refused
    // rather than silently read as page one.
    if let Some(c) = &q.cursor {
        if !shaped(CURSOR_PATTERN, c) || c.chars().count() > MAX_CURSOR_CHARS {
            return Err(ApiError::invalid(format!(
                "cursor must be the one a Link header gave (DATE~ID, at most {MAX_CURSOR_CHARS} characters)"
            )));
        }
    }
    let (views, next) = state.store.papers_page(q.cursor.as_deref(), limit).await?;
    let body: Vec<Value> = views.iter().map(|v| Value::Object(paper_json(v))).collect();
    let mut response = Json(body).into_response();
    if let Some(cursor) = next {
        let qs = serde_urlencoded::to_string([("cursor", cursor), ("limit", limit.to_string())])
            .map_err(ApiError::internal)?;
        if let Ok(v) = format!("</api/papers?{qs}>; rel=\"next\"").parse() {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(response)
}

pub async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json::status(&query::status(&state).await?)))
}
