//! Moderation: the administrators' page, blocking or unblocking an account
//! (`/admin/{block,unblock}`), and acting on a paper (posted to the paper).

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use paperboy_store::{Account, Moderation};
use serde::Deserialize;

use crate::csrf::CsrfForm;
use crate::error::ApiError;
use crate::redirect::see_other;
use crate::state::AppState;
use crate::viewer::{Admin, Viewer};
use crate::views::admin;
use crate::views::layout::html_response;

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    _: Admin,
) -> Result<Response, ApiError> {
    let queue = state.store.moderation_queue().await?;
    let log = state.store.audit_log(100).await?;
    let stats = state.store.stats().await?;
    Ok(html_response(admin::moderation(
        &viewer, &stats, &queue, &log,
    )))
}

#[derive(Debug, Deserialize)]
pub struct BlockForm {
    username: String,
    reason: Option<String>,
}

pub async fn account(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(action): Path<String>,
    CsrfForm(f): CsrfForm<BlockForm>,
) -> Result<Response, ApiError> {
    let name = f.username.trim().to_owned();
    let m = match action.as_str() {
        "block" => Moderation::Block(name.clone()),
        "unblock" => Moderation::Unblock(name.clone()),
        _ => return Err(ApiError::not_found("There is nothing to post to here.")),
    };
    if name.eq_ignore_ascii_case(&admin.username) {
        return Err(ApiError::invalid("you cannot block yourself"));
    }
    let missing = || ApiError::not_found(format!("No account {name:?}."));
    moderate(&state, &admin, m, f.reason.as_deref(), missing).await
}

/// An administrator's action on a paper or an account, with its reason in the audit log; back
/// to the moderation page, or `missing` when there is no such paper or account.
pub async fn moderate(
    state: &AppState,
    admin: &Account,
    action: Moderation,
    reason: Option<&str>,
    missing: impl FnOnce() -> ApiError,
) -> Result<Response, ApiError> {
    let reason = reason.unwrap_or_default().trim();
    if !state
        .store
        .moderate(&admin.username, action, reason, Utc::now())
        .await?
    {
        return Err(missing());
    }
    Ok(see_other("/admin"))
}
