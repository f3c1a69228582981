//! For you: `/for-you` (a day's new papers ranked for the reader), marks on papers ("not
//! interested", "fewer like this", "leave out of my ranking"), the reset, the private feed's
//! secret, and `GET /api/for-you`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use paperboy_core::ArxivId;
use paperboy_store::{Account, Mark};
use serde::Deserialize;
use serde_json::json;

use crate::client_ip::ClientIp;
use crate::csrf::{CsrfForm, NoFields};
use crate::error::ApiError;
use crate::foryou::{model, ranked_day, reason, Ranked};
use crate::limits::{per_account, Action};
use crate::params::{page_number, parse_opt_day, whole, Query};
use crate::redirect::{on_site_path, see_other};
use crate::session::{random_token, token_hash};
use crate::state::AppState;
use crate::viewer::{SignedIn, TokenAccount, Viewer};
use crate::views::foryou as view;
use crate::views::json::paper_json;
use crate::views::layout::html_response;

/// Papers on one page of `/for-you` (each entry carries four small forms: 50 would pass 100 KB).
pub const PAGE: usize = 30;
/// Most papers `GET /api/for-you` gives at once.
pub const MAX_API_LIMIT: usize = 500;

#[derive(Debug, Deserialize)]
pub struct ForYouParams {
    day: Option<String>,
    page: Option<String>,
    /// A paper just marked (the page offers to undo it).
    marked: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(a): SignedIn,
    Query(q): Query<ForYouParams>,
) -> Result<Response, ApiError> {
    let day = parse_opt_day("day", q.day.as_deref())?;
    let page = page_number("page", q.page.as_deref())?;
    let model = model(&state, a.id).await?;
    // The pages up to this one: the reasons are made for those only.
    let ranked = ranked_day(&state, &model, day, (page + 1) * PAGE).await?;
    let ids = ranked
        .papers
        .iter()
        .skip(page * PAGE)
        .take(PAGE)
        .map(|r| r.view.paper.id.clone());
    let votes = super::listings::votes_on(&state, &viewer, ids).await?;
    let marked = match q.marked.as_deref().and_then(|s| ArxivId::parse(s).ok()) {
        Some(id) => {
            let mark = model
                .signals
                .marks
                .iter()
                .find(|(m, _, _)| *m == id)
                .map(|(_, k, _)| *k);
            match (mark, state.store.paper(&id).await?) {
                (Some(k), Some(v)) => Some((v, k)),
                _ => None,
            }
        }
        None => None,
    };
    let shown = view::Shown {
        day: &ranked,
        page,
        per_page: PAGE,
        liked: model.ranker.liked(),
        marked,
    };
    Ok(html_response(view::page(&shown, &votes)))
}

#[derive(Debug, Deserialize)]
pub struct ApiParams {
    day: Option<String>,
    limit: Option<String>,
}

/// `GET /api/for-you`: the day's papers ranked for the token's reader, each with its score and
/// why.
pub async fn api(
    State(state): State<AppState>,
    TokenAccount(a, _): TokenAccount,
    Query(q): Query<ApiParams>,
) -> Result<Response, ApiError> {
    let day = parse_opt_day("day", q.day.as_deref())?;
    let limit = whole("limit", q.limit.as_deref(), (1, MAX_API_LIMIT), 50)?;
    let model = model(&state, a.id).await?;
    let ranked = ranked_day(&state, &model, day, limit).await?;
    let papers: Vec<serde_json::Value> = ranked.papers.iter().map(ranked_json).collect();
    Ok(Json(json!({
        "day": ranked.day,
        "previousDay": ranked.prev,
        "nextDay": ranked.next,
        "categories": ranked.categories,
        "total": ranked.total,
        "papers": papers,
    }))
    .into_response())
}

pub fn ranked_json(r: &Ranked) -> serde_json::Value {
    let mut p = paper_json(&r.view);
    p.insert("score".into(), json!(r.score));
    p.insert("reason".into(), json!(reason(&r.why)));
    p.insert(
        "why".into(),
        json!({
            "near": r.why.near.iter().map(|(id, title)| json!({ "id": id, "title": title })).collect::<Vec<_>>(),
            "terms": r.why.terms,
            "authors": r.why.authors,
            "category": r.why.category,
            "popular": r.why.popular,
        }),
    );
    serde_json::Value::Object(p)
}

/// `POST /papers/{id}/mark`: `mark` is not-interested, fewer, ignored or none (takes the mark
/// off). Scripts get `{id, mark}`; forms go back to `next` (or `/for-you`), which offers to undo.
pub async fn mark(
    state: &AppState,
    account: &Account,
    ip: &ClientIp,
    id: &ArxivId,
    mark: Option<&str>,
    next: Option<&str>,
    json: bool,
) -> Result<Response, ApiError> {
    let mark: Option<Mark> = match mark.unwrap_or("not-interested") {
        "none" | "" => None,
        other => Some(other.parse().map_err(ApiError::invalid)?),
    };
    state
        .limit(Action::Vote, &per_account(ip, account.id))
        .await?;
    if !state.store.mark(account.id, id, mark, Utc::now()).await? {
        return Err(ApiError::not_found(format!("No paper {id} here.")));
    }
    if json {
        return Ok(Json(json!({ "id": id, "mark": mark.map(Mark::as_str) })).into_response());
    }
    let back = on_site_path(next, "/for-you");
    // After marking, the page the form came from says what was marked and offers to undo it.
    let to = match (mark, back.starts_with("/for-you")) {
        (Some(_), true) => {
            let sep = if back.contains('?') { '&' } else { '?' };
            format!("{back}{sep}marked={id}")
        }
        _ => back,
    };
    Ok(see_other(&to))
}

/// `POST /account/for-you/reset`: forgets every mark and stops counting today's library.
pub async fn reset(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, ApiError> {
    state.store.reset_foryou(a.id, Utc::now()).await?;
    state.foryou.forget(a.id.get());
    Ok(see_other("/account#for-you"))
}

/// `POST /account/for-you/feed`: a new secret address for the reader's private feed (the old
/// one stops working); the page shows it once.
pub async fn renew_feed(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(a): SignedIn,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, ApiError> {
    let secret = random_token();
    state
        .store
        .set_feed_hash(a.id, Some(&token_hash(&secret)))
        .await?;
    let url = format!("{}/feeds/for-you/{secret}.atom", state.settings.public_url);
    Ok(html_response(view::feed_made(&viewer, &url)))
}

/// `POST /account/for-you/feed/stop`: the private feed stops working.
pub async fn stop_feed(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, ApiError> {
    state.store.set_feed_hash(a.id, None).await?;
    Ok(see_other("/account#for-you"))
}

/// The reader whose private feed secret this is (feeds/for-you/{secret}).
pub async fn feed_reader(
    state: &AppState,
    secret: &str,
) -> Result<paperboy_store::AccountId, ApiError> {
    let unknown = || ApiError::not_found("No such feed (its address may have been renewed).");
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unknown());
    }
    state
        .store
        .feed_reader(&token_hash(secret))
        .await?
        .ok_or_else(unknown)
}
