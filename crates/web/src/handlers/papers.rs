//! One paper: its page (`/papers/week` and `/papers/month` lead to the latest period's list),
//! and what readers post to it (`/papers/{id}/{action}`): votes, comments, and administrators
//! hiding or showing it. Votes answer in JSON too, for the page's script.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use paperboy_core::{ArxivId, Period, VersionedId};
use paperboy_store::{Account, Moderation};
use serde::Deserialize;

use crate::client_ip::ClientIp;
use crate::csrf::CsrfForm;
use crate::error::ApiError;
use crate::face::AsksForJson;
use crate::handlers::listings::votes_on;
use crate::handlers::{admin, comments};
use crate::limits::{per_account, Action};
use crate::query;
use crate::redirect::{on_site_path, see_other};
use crate::state::AppState;
use crate::viewer::{SignedIn, Viewer};
use crate::views;
use crate::views::layout::html_response;

/// `/papers/{id}`, and `/papers/week` / `/papers/month` without a period (the latest).
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
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
    // `/papers/ID.bib`, `.ris` and `.md`: the paper as a citation or as Markdown.
    let (id, format) = match id.rsplit_once('.') {
        Some((id, f @ ("bib" | "ris" | "md"))) => (id.to_owned(), Some(f)),
        _ => (id, None),
    };
    let vid = VersionedId::parse(&id).map_err(|e| ApiError::not_found(e.to_string()))?;
    let view = state
        .store
        .paper(&vid.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No paper {} here yet.", vid.id)))?;
    let file = |ext: &str| format!("{}.{ext}", view.paper.id.as_str().replace('/', "_"));
    match format {
        Some("bib") => {
            let body = paperboy_core::bib::to_bibtex(&view.paper);
            return Ok(crate::views::citation::bibtex_response(body, &file("bib")));
        }
        Some("ris") => {
            let body = paperboy_core::bib::to_ris(&view.paper);
            return Ok(crate::views::citation::ris_response(body, &file("ris")));
        }
        Some(_) => {
            let body = views::paper::markdown(&view, &state.settings.public_url);
            let content_type = "text/markdown; charset=utf-8";
            return Ok(([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response());
        }
        None => {}
    }
    let similar = query::similar(&state, &view, 5).await?;
    let ids =
        std::iter::once(view.paper.id.clone()).chain(similar.iter().map(|v| v.paper.id.clone()));
    let votes = votes_on(&state, &viewer, ids).await?;
    let comments = state
        .store
        .comments(&view.paper.id, viewer.is_admin())
        .await?;
    let collections = match &viewer.account {
        Some(a) => super::collections::mine(&state, a).await?,
        None => Vec::new(),
    };
    Ok(html_response(views::paper::paper(
        &view,
        &similar,
        &comments,
        &votes,
        &collections,
        Utc::now(),
    )))
}

/// `{id}/{action}` of `/papers/{*id}` (the id may hold a slash: `hep-th/9901001/vote`).
pub struct PaperAction {
    pub id: ArxivId,
    pub action: String,
}

impl<S: Send + Sync> FromRequestParts<S> for PaperAction {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let nothing = || ApiError::not_found("There is nothing to post to here.");
        let Path(rest) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| nothing())?;
        let (id, action) = rest.rsplit_once('/').ok_or_else(nothing)?;
        let id = VersionedId::parse(id)
            .map_err(|e| ApiError::not_found(e.to_string()))?
            .id;
        Ok(PaperAction {
            id,
            action: action.to_owned(),
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct PaperActionForm {
    /// Votes: "1" to vote, "0" to take the vote back.
    up: Option<String>,
    /// Saves: "1" to save to the library, "0" to take it out.
    save: Option<String>,
    /// Comments.
    body: Option<String>,
    /// Moderation: why.
    reason: Option<String>,
    /// Marks: not-interested, fewer, ignored, or none.
    mark: Option<String>,
    next: Option<String>,
}

pub async fn act(
    State(state): State<AppState>,
    PaperAction { id, action }: PaperAction,
    signed_in: SignedIn,
    ip: ClientIp,
    AsksForJson(json): AsksForJson,
    CsrfForm(f): CsrfForm<PaperActionForm>,
) -> Result<Response, ApiError> {
    let account = &signed_in.0;
    match action.as_str() {
        "vote" => vote(&state, account, &ip, &id, &f, json).await,
        "save" => save(&state, account, &ip, &id, &f, json).await,
        "mark" => {
            let (mark, next) = (f.mark.as_deref(), f.next.as_deref());
            super::foryou::mark(&state, account, &ip, &id, mark, next, json).await
        }
        "comments" => {
            let body = f.body.as_deref().unwrap_or_default();
            comments::add(&state, account, &ip, &id, body).await
        }
        "hide" | "show" => {
            let admin = signed_in.admin()?;
            let m = if action == "hide" {
                Moderation::HidePaper(id.clone())
            } else {
                Moderation::ShowPaper(id.clone())
            };
            let missing = || ApiError::not_found(format!("No paper {id} here."));
            admin::moderate(&state, admin, m, f.reason.as_deref(), missing).await
        }
        _ => Err(ApiError::not_found("There is nothing to post to here.")),
    }
}

/// A form's on/off field: "1" (or absent) is on, "0" off.
fn switch(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        Some("1") | Some("true") | None => Ok(true),
        Some("0") | Some("false") => Ok(false),
        Some(other) => Err(ApiError::invalid(format!(
            "{name} must be 1 or 0, not {other:?}"
        ))),
    }
}

async fn save(
    state: &AppState,
    account: &Account,
    ip: &ClientIp,
    id: &ArxivId,
    f: &PaperActionForm,
    json: bool,
) -> Result<Response, ApiError> {
    let save = switch("save", f.save.as_deref())?;
    let saved = super::library::save_paper(state, account, ip, id, save).await?;
    if json {
        return Ok(Json(serde_json::json!({ "id": id, "saved": saved })).into_response());
    }
    let back = format!("/papers/{id}");
    Ok(see_other(&on_site_path(f.next.as_deref(), &back)))
}

async fn vote(
    state: &AppState,
    account: &Account,
    ip: &ClientIp,
    id: &ArxivId,
    f: &PaperActionForm,
    json: bool,
) -> Result<Response, ApiError> {
    let up = switch("up", f.up.as_deref())?;
    state
        .limit(Action::Vote, &per_account(ip, account.id))
        .await?;
    let no_paper = || ApiError::not_found(format!("No paper {id} here."));
    state
        .store
        .vote(account.id, id, up, Utc::now())
        .await?
        .ok_or_else(no_paper)?;
    if json {
        let view = state.store.paper(id).await?.ok_or_else(no_paper)?;
        return Ok(Json(serde_json::json!({
            "id": id, "voted": up, "upvotes": view.upvotes(), "localUpvotes": view.local_upvotes,
        }))
        .into_response());
    }
    let back = format!("/papers/{id}");
    Ok(see_other(&on_site_path(f.next.as_deref(), &back)))
}
