//! The JSON API, with hf.co's paths, parameters and field names so that `huggingface_hub` and
//! scripts written for hf.co read paperboy unchanged. Dates are `YYYY-MM-DDTHH:MM:SS.mmmZ`, the
//! only form that client parses.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use paperboy_core::{ArxivId, Author, Paper, Period, Submitter, VersionedId};
use paperboy_search::SearchQuery;
use paperboy_store::{Listed, ListingFilter, PaperView};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::params::{
    self, checked, plain_text, shaped, CURSOR_PATTERN, DATE_PATTERN, MONTH_PATTERN, WEEK_PATTERN,
};
use crate::query::{self, Sort};
use crate::{ApiError, AppState};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_DAILY_LIMIT: usize = 100;
pub const MAX_SEARCH_LIMIT: usize = 120;
/// How far back `/api/daily_papers` without a period reaches.
const ALL_DAYS_WINDOW: u32 = 3650;

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn params<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::invalid(e.body_text()))
}

fn limit(s: Option<&str>, max: usize, default: usize) -> Result<usize, ApiError> {
    params::whole("limit", s, (1, max), default)
}

/// Longest cursor `/api/papers` takes: a timestamp, `~` and an arXiv id fit in 60.
pub const MAX_CURSOR_CHARS: usize = 200;
/// Longest `submitter` name `/api/daily_papers` takes.
pub const MAX_SUBMITTER_CHARS: usize = 100;
/// Longest `category` a search or a category feed takes (arXiv's are under 20).
pub const MAX_CATEGORY_CHARS: usize = 64;

/// hf.co gives every author a 24-hex id; papers from arXiv have none, so derive a stable one.
fn author_id(paper: &ArxivId, index: usize, author: &Author) -> String {
    author.hf_id.clone().unwrap_or_else(|| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in paper
            .as_str()
            .bytes()
            .chain(author.name.bytes())
            .chain(index.to_le_bytes())
        {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{:08x}{:016x}", index as u32, h)
    })
}

fn authors_json(p: &Paper) -> Value {
    Value::Array(
        p.authors
            .iter()
            .enumerate()
            .map(|(i, a)| json!({ "_id": author_id(&p.id, i, a), "name": a.name, "hidden": a.hidden }))
            .collect(),
    )
}

fn submitter_json(s: &Submitter) -> Value {
    let mut m = Map::new();
    if let Some(id) = &s.hf_id {
        m.insert("_id".into(), json!(id));
    }
    m.insert(
        "avatarUrl".into(),
        json!(s.avatar_url.clone().unwrap_or_default()),
    );
    m.insert(
        "fullname".into(),
        json!(s.fullname.clone().unwrap_or_else(|| s.name.clone())),
    );
    m.insert("name".into(), json!(s.name));
    m.insert("user".into(), json!(s.name));
    m.insert("type".into(), json!("user"));
    m.insert("isPro".into(), json!(false));
    Value::Object(m)
}

fn put<T: serde::Serialize>(m: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        m.insert(key.into(), json!(v));
    }
}

/// The paper object, as in hf.co's `/api/papers/{id}` and the `paper` of a daily item, plus
/// paperboy's own arXiv fields (categories, comment, journalRef, doi).
pub fn paper_json(view: &PaperView) -> Map<String, Value> {
    let p = &view.paper;
    let mut m = Map::new();
    m.insert("id".into(), json!(p.id));
    m.insert("authors".into(), authors_json(p));
    put(&mut m, "publishedAt", p.published.map(timestamp));
    put(
        &mut m,
        "submittedOnDailyAt",
        p.submitted_on_daily_at.map(timestamp),
    );
    m.insert("title".into(), json!(p.title));
    m.insert("summary".into(), json!(p.summary));
    m.insert("upvotes".into(), json!(view.upvotes()));
    put(&mut m, "discussionId", p.hf_discussion_id.as_ref());
    put(
        &mut m,
        "submittedOnDailyBy",
        p.submitted_on_daily_by.as_ref().map(submitter_json),
    );
    put(&mut m, "ai_summary", p.ai_summary.as_ref());
    if !p.ai_keywords.is_empty() {
        m.insert("ai_keywords".into(), json!(p.ai_keywords));
    }
    put(&mut m, "githubRepo", p.github_repo.as_ref());
    put(&mut m, "githubStars", p.github_stars);
    put(&mut m, "projectPage", p.project_page.as_ref());
    for (k, v) in &p.extra {
        m.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if view.entry.is_some() || view.local_comments > 0 {
        m.insert("numComments".into(), json!(view.num_comments()));
    }
    m.insert("categories".into(), json!(p.categories));
    put(&mut m, "arxivVersion", p.version);
    put(&mut m, "updatedAt", p.updated.map(timestamp));
    put(&mut m, "comment", p.comment.as_ref());
    put(&mut m, "journalRef", p.journal_ref.as_ref());
    put(&mut m, "doi", p.doi.as_ref());
    put(&mut m, "dailyDate", p.daily_date.map(|d| d.to_string()));
    m
}

/// A daily-list item as hf.co sends it. The paper's upvotes and links are repeated at the top
/// level because `huggingface_hub` reads them there.
pub fn item_json(view: &PaperView) -> Value {
    let p = &view.paper;
    let mut m = Map::new();
    m.insert("paper".into(), Value::Object(paper_json(view)));
    let e = view.entry.as_ref();
    let listed = e
        .and_then(|e| e.published_at)
        .or(p.submitted_on_daily_at)
        .or(p.published);
    put(&mut m, "publishedAt", listed.map(timestamp));
    m.insert(
        "title".into(),
        json!(e
            .and_then(|e| e.title.clone())
            .unwrap_or_else(|| p.title.clone())),
    );
    m.insert(
        "summary".into(),
        json!(e
            .and_then(|e| e.summary.clone())
            .unwrap_or_else(|| p.summary.clone())),
    );
    put(&mut m, "thumbnail", e.and_then(|e| e.thumbnail.as_ref()));
    m.insert("numComments".into(), json!(view.num_comments()));
    put(
        &mut m,
        "submittedBy",
        e.and_then(|e| e.submitted_by.as_ref()).map(submitter_json),
    );
    m.insert(
        "isAuthorParticipating".into(),
        json!(e.is_some_and(|e| e.is_author_participating)),
    );
    if let Some(e) = e {
        for (k, v) in &e.extra {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    m.insert("upvotes".into(), json!(view.upvotes()));
    put(&mut m, "githubRepo", p.github_repo.as_ref());
    put(&mut m, "githubStars", p.github_stars);
    put(&mut m, "projectPage", p.project_page.as_ref());
    put(&mut m, "ai_summary", p.ai_summary.as_ref());
    if !p.ai_keywords.is_empty() {
        m.insert("ai_keywords".into(), json!(p.ai_keywords));
    }
    Value::Object(m)
}

pub fn listed_view(l: &Listed) -> PaperView {
    PaperView {
        paper: l.paper.clone(),
        entry: Some(l.entry.clone()),
        local_upvotes: l.local_upvotes,
        local_comments: l.local_comments,
    }
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
    q: Result<Query<DailyParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = params(q)?;
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

/// The shape of the `{id}` the OpenAPI document promises to take: a new-style id
/// (`2505.15612`) or an old-style one (`hep-th/9901001`, `math.GT/0309136`), with an optional
/// version. A shaped id that names no possible paper is a 404; anything else is a 400.
pub const PAPER_ID_PATTERN: &str =
    r"^([0-9]{4}\.[0-9]{4,5}|[a-z]+(-[a-z]+)*(\.[A-Za-z]{2})?/[0-9]{7})(v[0-9]+)?$";

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
    q: Result<Query<SearchApiParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = params(q)?;
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
    q: Result<Query<TrendingParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = params(q)?;
    let limit = limit(q.limit.as_deref(), MAX_DAILY_LIMIT, DEFAULT_LIMIT)?;
    let list = query::trending(&state, limit, Utc::now()).await?;
    let items: Vec<Value> = list
        .iter()
        .map(|(v, score)| {
            let mut item = item_json(v);
            item["trendingScore"] = json!(score);
            item
        })
        .collect();
    Ok(Json(items).into_response())
}

#[derive(Debug, Deserialize)]
pub struct PapersParams {
    cursor: Option<String>,
    limit: Option<String>,
}

/// Every paper, newest first, by cursor; the next page's URL is in the `Link` header.
pub async fn papers(
    State(state): State<AppState>,
    q: Result<Query<PapersParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = params(q)?;
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
    let stats = state.store.stats().await?;
    let store_seq = state.store.last_seq().await?;
    let index_seq = state.index.applied_seq()?;
    let mail = state.store.mail_stats().await?;
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339());
    let sources: Vec<Value> = state
        .store
        .harvest_statuses()
        .await?
        .into_iter()
        .map(|h| {
            json!({
                "source": h.source, "lastRunStarted": time(h.run_started),
                "lastSuccess": time(h.last_success), "lastPapers": h.last_papers,
                "runPapers": h.run_papers, "papersTotal": h.papers_total,
                "lastError": h.last_error, "lastErrorAt": time(h.last_error_at),
            })
        })
        .collect();
    Ok(Json(json!({
        "sync": {
            "everyMinutes": (state.settings.sync_minutes > 0).then_some(state.settings.sync_minutes),
            "sources": sources,
        },
        "digests": {
            "subscribers": mail.subscribers, "confirmed": mail.confirmed, "pending": mail.pending,
            "sent": mail.sent, "failed": mail.failed, "lastPeriod": mail.last_period,
        },
        "version": env!("CARGO_PKG_VERSION"),
        "store": {
            "backend": state.store.backend(),
            "papers": stats.papers,
            "dailyEntries": stats.daily_entries,
            "days": stats.days,
            "firstDay": stats.first_day.map(|d| d.to_string()),
            "lastDay": stats.last_day.map(|d| d.to_string()),
        },
        "search": {
            "mode": if state.semantic.get().is_some() { "hybrid" } else { "keyword" },
            "indexedPapers": state.index.num_docs(),
            "pendingChanges": (store_seq - index_seq).max(0),
            "semantic": match state.semantic.get() {
                Some(s) => {
                    let (embedded, pending) = s.progress();
                    json!({ "available": true, "model": s.model_name(), "vectors": s.vectors().len(),
                            "embeddedSinceStart": embedded, "pendingChanges": pending })
                }
                None => json!({ "available": false, "reason": state.semantic.unavailable() }),
            },
        },
    })))
}
