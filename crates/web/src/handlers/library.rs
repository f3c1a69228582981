//! A reader's library: saved papers (`/library`, its BibTeX and RIS), imports of BibTeX and RIS
//! files, personal API tokens (made and revoked on `/account`), and the library's API.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use paperboy_core::bib::{self, Library};
use paperboy_core::{ArxivId, VersionedId};
use paperboy_search::SearchQuery;
use paperboy_store::{Account, Scope, TokenId};
use serde::Deserialize;

use crate::client_ip::ClientIp;
use crate::csrf::{CsrfForm, NoFields};
use crate::error::{ApiError, Code};
use crate::limits::{per_account, Action};
use crate::params::{page_number, plain_text, Query};
use crate::redirect::see_other;
use crate::session::{random_token, token_hash};
use crate::state::AppState;
use crate::viewer::{SignedIn, TokenAccount, TokenWriter, Viewer};
use crate::views::json::paper_json;
use crate::views::layout::html_response;
use crate::views::library as view;

/// The largest BibTeX or RIS file an import reads.
pub const MAX_IMPORT_BYTES: usize = 5 << 20;
/// Most entries an import reports as not found, one by one.
const MAX_NOT_FOUND_LISTED: usize = 1_000;
/// Most papers a library export or `GET /api/library` gives at once.
pub const MAX_EXPORT: usize = paperboy_store::library::MAX_SAVES;

#[derive(Debug, Deserialize)]
pub struct LibraryParams {
    q: Option<String>,
    page: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(a): SignedIn,
    Query(q): Query<LibraryParams>,
) -> Result<Response, ApiError> {
    let text = plain_text("q", q.q.as_deref(), paperboy_search::MAX_QUERY_CHARS)?;
    let page = page_number("page", q.page.as_deref())?;
    let (saved, total) = state
        .store
        .library(a.id, text, page * view::LIBRARY_PAGE, view::LIBRARY_PAGE)
        .await?;
    let ids = saved.iter().map(|s| s.view.paper.id.clone());
    let votes = super::listings::votes_on(&state, &viewer, ids).await?;
    let shown = view::Shown {
        saved: &saved,
        total,
        page,
        text: text.unwrap_or(""),
    };
    let collections = super::collections::mine(&state, &a).await?;
    Ok(html_response(view::library(
        &shown,
        &votes,
        None,
        &collections,
    )))
}

/// Every saved paper of the account, newest saved first (up to [`MAX_EXPORT`]).
async fn everything(
    state: &AppState,
    account: &Account,
) -> Result<Vec<paperboy_store::Saved>, ApiError> {
    Ok(state
        .store
        .library(account.id, None, 0, MAX_EXPORT)
        .await?
        .0)
}

/// Every saved paper, newest saved first.
async fn saved_papers(
    state: &AppState,
    account: &Account,
) -> Result<Vec<paperboy_core::Paper>, ApiError> {
    Ok(everything(state, account)
        .await?
        .into_iter()
        .map(|s| s.view.paper)
        .collect())
}

/// `/library.bib`.
pub async fn export_bibtex(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
) -> Result<Response, ApiError> {
    let papers = saved_papers(&state, &a).await?;
    Ok(crate::views::citation::bibtex_response(
        bib::to_bibtex_all(&papers),
        "library.bib",
    ))
}

/// `/library.ris`.
pub async fn export_ris(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
) -> Result<Response, ApiError> {
    let papers = saved_papers(&state, &a).await?;
    Ok(crate::views::citation::ris_response(
        bib::to_ris_all(&papers),
        "library.ris",
    ))
}

/// Reads a BibTeX or RIS file and saves every paper of it found here: by arXiv id, then DOI, then
/// the normalised title (a keyword search for it, kept only when the titles are equal).
pub async fn import_text(
    state: &AppState,
    account: &Account,
    text: &str,
) -> Result<view::ImportReport, ApiError> {
    let Library {
        entries, errors, ..
    } = bib::parse_library(text);
    let mut report = view::ImportReport {
        errors,
        ..Default::default()
    };
    // By arXiv id.
    let ids: Vec<ArxivId> = entries.iter().filter_map(|e| e.arxiv_id.clone()).collect();
    let known: HashSet<ArxivId> = state
        .store
        .papers(&ids)
        .await?
        .into_iter()
        .map(|v| v.paper.id)
        .collect();
    let mut found: Vec<Option<ArxivId>> = entries
        .iter()
        .map(|e| e.arxiv_id.clone().filter(|id| known.contains(id)))
        .collect();
    // By DOI.
    let dois: Vec<String> = entries
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .filter_map(|(e, _)| e.doi.clone())
        .collect();
    if !dois.is_empty() {
        let by_doi: HashMap<String, ArxivId> = state
            .store
            .papers_by_doi(&dois)
            .await?
            .into_iter()
            .collect();
        for (e, f) in entries.iter().zip(found.iter_mut()) {
            if f.is_none() {
                *f = e.doi.as_ref().and_then(|d| by_doi.get(d).cloned());
            }
        }
    }
    // By title.
    let titles: Vec<(usize, String)> = entries
        .iter()
        .zip(&found)
        .enumerate()
        .filter(|(_, (_, f))| f.is_none())
        .filter_map(|(i, (e, _))| e.title.clone().map(|t| (i, t)))
        .collect();
    if !titles.is_empty() {
        let index = state.index.clone();
        let store = state.store.clone();
        let candidates = tokio::task::spawn_blocking(move || {
            titles
                .into_iter()
                .map(|(i, title)| {
                    let text: String = title
                        .replace('"', " ")
                        .chars()
                        .take(paperboy_search::MAX_QUERY_CHARS)
                        .collect();
                    let q = SearchQuery {
                        text,
                        limit: 5,
                        ..Default::default()
                    };
                    let hits = index.search(&q).map(|r| r.hits).unwrap_or_default();
                    (
                        i,
                        bib::normalise_title(&title),
                        hits.into_iter().map(|h| h.id).collect::<Vec<_>>(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(ApiError::internal)?;
        let ids: Vec<ArxivId> = candidates.iter().flat_map(|c| c.2.clone()).collect();
        let titles: HashMap<ArxivId, String> = store
            .papers(&ids)
            .await?
            .into_iter()
            .map(|v| (v.paper.id.clone(), bib::normalise_title(&v.paper.title)))
            .collect();
        for (i, wanted, hits) in candidates {
            found[i] = hits.into_iter().find(|id| {
                titles
                    .get(id)
                    .is_some_and(|t| !wanted.is_empty() && *t == wanted)
            });
        }
    }
    let matched: Vec<ArxivId> = found.iter().flatten().cloned().collect();
    let before = state.store.saved_of(account.id, &matched).await?;
    report.matched = matched.len();
    report.already = before.iter().filter(|b| **b).count();
    state
        .store
        .save_all(account.id, &matched, Utc::now())
        .await?;
    report.papers = matched;
    for (e, f) in entries.iter().zip(&found) {
        if f.is_none() && report.not_found.len() < MAX_NOT_FOUND_LISTED {
            let name = e
                .key
                .clone()
                .or_else(|| e.title.clone())
                .unwrap_or_else(|| format!("line {}", e.line));
            report.not_found.push(name);
        }
    }
    Ok(report)
}

/// The import form of `/library`: a file's text pasted in.
#[derive(Debug, Deserialize)]
pub struct ImportForm {
    text: String,
}

pub async fn import_form(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(a): SignedIn,
    ip: ClientIp,
    CsrfForm(f): CsrfForm<ImportForm>,
) -> Result<Response, ApiError> {
    if f.text.len() > MAX_IMPORT_BYTES {
        return Err(too_large());
    }
    state.limit(Action::Import, &per_account(&ip, a.id)).await?;
    let report = import_text(&state, &a, &f.text).await?;
    let (saved, total) = state
        .store
        .library(a.id, None, 0, view::LIBRARY_PAGE)
        .await?;
    let ids = saved.iter().map(|s| s.view.paper.id.clone());
    let votes = super::listings::votes_on(&state, &viewer, ids).await?;
    let shown = view::Shown {
        saved: &saved,
        total,
        page: 0,
        text: "",
    };
    let collections = super::collections::mine(&state, &a).await?;
    Ok(html_response(view::library(
        &shown,
        &votes,
        Some(&report),
        &collections,
    )))
}

fn too_large() -> ApiError {
    ApiError::new(
        Code::TOO_LARGE,
        format!(
            "A library file may have at most {} MB.",
            MAX_IMPORT_BYTES >> 20
        ),
    )
}

/// `POST /api/library/import`: the file as the body; `?collection=OWNER/NAME` (one of the
/// token's account) adds the papers found to that collection too, in the file's order.
#[derive(Debug, Deserialize)]
pub struct ImportParams {
    collection: Option<String>,
}

pub async fn api_import(
    State(state): State<AppState>,
    TokenWriter(a): TokenWriter,
    ip: ClientIp,
    Query(q): Query<ImportParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let collection = match q.collection.as_deref() {
        Some(slug) => Some(super::collections::own_slug(&state, slug, &a).await?),
        None => None,
    };
    if body.len() > MAX_IMPORT_BYTES {
        return Err(too_large());
    }
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::invalid(format!("the file is not UTF-8 text: {e}")))?;
    state.limit(Action::Import, &per_account(&ip, a.id)).await?;
    let report = import_text(&state, &a, text).await?;
    if let Some(c) = collection {
        let now = Utc::now();
        for id in &report.papers {
            state.store.add_item(c.id, id, "", now).await?;
        }
    }
    Ok(Json(report).into_response())
}

/// `GET /api/library`: the saved papers, newest saved first, as hf.co papers.
pub async fn api_list(
    State(state): State<AppState>,
    TokenAccount(a, _): TokenAccount,
) -> Result<Response, ApiError> {
    let papers: Vec<_> = everything(&state, &a)
        .await?
        .iter()
        .map(|s| {
            let mut p = paper_json(&s.view);
            p.insert(
                "savedAt".into(),
                crate::views::json::timestamp(s.saved_at).into(),
            );
            serde_json::Value::Object(p)
        })
        .collect();
    Ok(Json(papers).into_response())
}

/// `PUT` (save) or `DELETE` (unsave) `/api/library/{id}` with a write token.
pub async fn api_save(
    State(state): State<AppState>,
    TokenWriter(a): TokenWriter,
    ip: ClientIp,
    method: axum::http::Method,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = VersionedId::parse(&id)
        .map_err(|e| ApiError::not_found(e.to_string()))?
        .id;
    let save = method == axum::http::Method::PUT;
    state.limit(Action::Save, &per_account(&ip, a.id)).await?;
    let saved = state
        .store
        .save(a.id, &id, save, Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No paper {id} here.")))?;
    Ok(Json(serde_json::json!({ "id": id, "saved": saved })).into_response())
}

/// Saves or unsaves from a page's form (`/papers/{id}/save`), in place with the page's script.
pub async fn save_paper(
    state: &AppState,
    account: &Account,
    ip: &ClientIp,
    id: &ArxivId,
    save: bool,
) -> Result<bool, ApiError> {
    state
        .limit(Action::Save, &per_account(ip, account.id))
        .await?;
    state
        .store
        .save(account.id, id, save, Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No paper {id} here.")))
}

#[derive(Debug, Deserialize)]
pub struct NewTokenForm {
    name: String,
    scope: String,
}

/// Makes a token and shows it, once.
pub async fn create_token(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(a): SignedIn,
    CsrfForm(f): CsrfForm<NewTokenForm>,
) -> Result<Response, ApiError> {
    let name = token_name(&f.name)?;
    let scope: Scope = f.scope.parse().map_err(ApiError::invalid)?;
    let secret = new_token();
    state
        .store
        .create_token(a.id, &name, scope, &token_hash(&secret), Utc::now())
        .await?
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "An account has at most {} tokens: revoke one first.",
                paperboy_store::library::MAX_TOKENS
            ))
        })?;
    let tokens = state.store.tokens(a.id).await?;
    Ok(html_response(view::token_made(
        &viewer, &name, &secret, &tokens,
    )))
}

/// A token's name: 1 to 64 characters without control characters.
pub fn token_name(name: &str) -> Result<String, ApiError> {
    let bounds = (1, crate::params::MAX_TOKEN_NAME_CHARS);
    Ok(crate::params::typed_text("a token's name", name, bounds, false)?.to_owned())
}

/// A new token's secret: `pb_` and 64 hex digits.
pub fn new_token() -> String {
    format!("pb_{}", random_token())
}

pub async fn revoke_token(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
    Path(id): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found("No such token."))?;
    if !state.store.revoke_token(a.id, TokenId(id)).await? {
        return Err(ApiError::not_found("No such token."));
    }
    Ok(see_other("/account#tokens"))
}
