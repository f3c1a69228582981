//! Comments: adding one to a paper, and editing, deleting, hiding or showing one
//! (`/comments/{id}/{action}`), each as the rules in `paperboy_core::comment` allow.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use paperboy_core::{comment, ArxivId};
use paperboy_store::{Account, Comment, CommentId, Moderation};
use serde::Deserialize;

use crate::client_ip::ClientIp;
use crate::csrf::CsrfForm;
use crate::error::{ApiError, Code};
use crate::limits::{per_account, Action};
use crate::redirect::see_other;
use crate::state::AppState;
use crate::viewer::{SignedIn, Viewer};
use crate::views;
use crate::views::comments::reader;
use crate::views::layout::html_response;

/// Text that may be published as a comment, trimmed.
fn checked(body: &str) -> Result<&str, ApiError> {
    let body = body.trim();
    comment::check_body(body).map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(body)
}

fn not_editable() -> ApiError {
    ApiError::new(
        Code::NOT_EDITABLE,
        format!(
            "Comments can be edited by their author for {} minutes.",
            comment::EDIT_MINUTES
        ),
    )
}

/// A new comment on `paper` (`POST /papers/{id}/comments`).
pub async fn add(
    state: &AppState,
    account: &Account,
    ip: &ClientIp,
    paper: &ArxivId,
    body: &str,
) -> Result<Response, ApiError> {
    let body = checked(body)?;
    state
        .limit(Action::Comment, &per_account(ip, account.id))
        .await?;
    let c = state
        .store
        .add_comment(paper, account.id, body, Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("No paper {paper} here.")))?;
    Ok(see_other(&format!("/papers/{paper}#comment-{}", c.id)))
}

async fn comment(state: &AppState, id: CommentId) -> Result<Comment, ApiError> {
    state
        .store
        .comment(id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such comment."))
}

pub async fn edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<CommentId>,
) -> Result<Response, ApiError> {
    let c = comment(&state, id).await?;
    let reader = viewer.account.as_ref().map(reader);
    if !reader.is_some_and(|r| r.may_edit(c.account_id.get(), c.created_at, Utc::now())) {
        return Err(not_editable());
    }
    Ok(html_response(views::comments::edit_form(&c, &viewer)))
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    body: Option<String>,
    reason: Option<String>,
}

pub async fn act(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ip: ClientIp,
    Path((id, action)): Path<(CommentId, String)>,
    CsrfForm(f): CsrfForm<CommentForm>,
) -> Result<Response, ApiError> {
    let account = &signed_in.0;
    let c = comment(&state, id).await?;
    let rules = reader(account);
    let now = Utc::now();
    let reason = f.reason.as_deref().unwrap_or_default().trim();
    match action.as_str() {
        "edit" => {
            if !rules.may_edit(c.account_id.get(), c.created_at, now) {
                return Err(not_editable());
            }
            let body = checked(f.body.as_deref().unwrap_or_default())?;
            // An edit publishes text like a new comment does, and counts the same.
            state
                .limit(Action::Comment, &per_account(&ip, account.id))
                .await?;
            state.store.edit_comment(id, body, now).await?;
        }
        "delete" => {
            if !rules.may_delete(c.account_id.get()) {
                return Err(ApiError::new(
                    Code::FORBIDDEN,
                    "Only its author or a moderator may delete a comment.",
                ));
            }
            if c.account_id == account.id {
                state.store.delete_comment(id).await?;
            } else {
                // Someone else's comment: moderation, logged in the same transaction.
                let m = Moderation::DeleteComment(id);
                state
                    .store
                    .moderate(&account.username, m, reason, now)
                    .await?;
            }
        }
        "hide" | "show" => {
            let admin = signed_in.admin()?;
            let m = if action == "hide" {
                Moderation::HideComment(id)
            } else {
                Moderation::ShowComment(id)
            };
            state
                .store
                .moderate(&admin.username, m, reason, now)
                .await?;
        }
        _ => return Err(ApiError::not_found("There is nothing to post to here.")),
    }
    Ok(see_other(&format!("/papers/{}#comments", c.paper_id)))
}

/// `POST /comments/{id}/edit` (the edit form's own address).
pub async fn edit(
    state: State<AppState>,
    signed_in: SignedIn,
    ip: ClientIp,
    Path(id): Path<CommentId>,
    form: CsrfForm<CommentForm>,
) -> Result<Response, ApiError> {
    let path = Path((id, "edit".to_owned()));
    act(state, signed_in, ip, path, form).await
}
