//! Submitting a paper to today's list: by arXiv id or address, fetched from arXiv when this
//! server does not know it yet.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use paperboy_core::{Submitter, VersionedId};
use paperboy_store::SubmitOutcome;
use serde::Deserialize;

use crate::client_ip::ClientIp;
use crate::csrf::CsrfForm;
use crate::error::{ApiError, Code};
use crate::limits::{per_account, Action};
use crate::redirect::see_other;
use crate::state::AppState;
use crate::viewer::{SignedIn, Viewer};
use crate::views::forms;
use crate::views::layout::{html_response, html_status};

pub async fn form(viewer: Viewer, _: SignedIn) -> Response {
    html_response(forms::submit(&viewer))
}

#[derive(Debug, Deserialize)]
pub struct SubmitForm {
    paper: String,
}

pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(account): SignedIn,
    ip: ClientIp,
    CsrfForm(f): CsrfForm<SubmitForm>,
) -> Result<Response, ApiError> {
    let id = VersionedId::parse(&f.paper)
        .map_err(|_| ApiError::invalid(format!("{:?} is not an arXiv id or URL", f.paper.trim())))?
        .id;
    let duplicate = |day| {
        html_status(
            StatusCode::CONFLICT,
            forms::already_submitted(&viewer, &id, day),
        )
    };
    if let Some(e) = state.store.paper(&id).await?.and_then(|v| v.entry) {
        return Ok(duplicate(e.day));
    }
    state
        .limit(Action::Submit, &per_account(&ip, account.id))
        .await?;
    let now = Utc::now();
    let paper = match state.store.paper(&id).await? {
        Some(v) => v.paper,
        None => {
            let Some(source) = &state.paper_source else {
                return Err(ApiError::new(
                    Code::NO_PAPER_SOURCE,
                    "This server cannot fetch papers from arXiv.",
                ));
            };
            match source.fetch(&id).await {
                Ok(p) => p,
                Err(e) => {
                    let page = forms::arxiv_unreachable(&viewer, &e);
                    return Ok(html_status(StatusCode::BAD_GATEWAY, page));
                }
            }
        }
    };
    let by = Submitter {
        name: account.username.clone(),
        fullname: Some(account.display_name.clone()),
        hf_id: None,
        avatar_url: None,
    };
    match state.store.submit(paper, now.date_naive(), by, now).await? {
        SubmitOutcome::Added(_) => {
            tracing::info!(paper = %id, by = account.username, "paper submitted");
            Ok(see_other(&format!("/papers/{id}")))
        }
        SubmitOutcome::Duplicate(day) => Ok(duplicate(day)),
    }
}
