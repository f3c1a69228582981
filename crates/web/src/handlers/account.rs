//! A reader's own account: the page, and changing the name it shows.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::csrf::CsrfForm;
use crate::error::ApiError;
use crate::redirect::see_other;
use crate::render::squash;
use crate::state::AppState;
use crate::viewer::{SignedIn, Viewer};
use crate::views::forms;
use crate::views::layout::html_response;

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    SignedIn(a): SignedIn,
) -> Result<Response, ApiError> {
    let digest = state.store.subscription_by_email(&a.email).await?;
    let tokens = state.store.tokens(a.id).await?;
    let signals = state.store.signals(a.id).await?;
    let ids: Vec<paperboy_core::ArxivId> = signals
        .positives
        .iter()
        .map(|(id, _, _)| id.clone())
        .chain(signals.marked().cloned())
        .collect();
    let titles = state
        .store
        .papers(&ids)
        .await?
        .into_iter()
        .map(|v| (v.paper.id, v.paper.title))
        .collect();
    let has_feed = state.store.has_feed(a.id).await?;
    let foryou = crate::views::foryou::account_section(&viewer, &signals, &titles, has_feed);
    Ok(html_response(forms::account(
        &viewer,
        &a,
        digest.as_ref(),
        &tokens,
        foryou,
    )))
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    username: String,
    display_name: String,
}

pub async fn save_profile(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
    CsrfForm(f): CsrfForm<ProfileForm>,
) -> Result<Response, ApiError> {
    let username = f.username.trim();
    let display = squash(f.display_name.trim());
    if !(2..=32).contains(&username.len())
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(ApiError::invalid(
            "a username has 2 to 32 letters, digits, dots, underscores or dashes",
        ));
    }
    if display.is_empty() || display.chars().count() > 64 || display.chars().any(char::is_control) {
        return Err(ApiError::invalid("a display name has 1 to 64 characters"));
    }
    state.store.update_profile(a.id, username, &display).await?;
    Ok(see_other("/account"))
}

/// `/account/export.json`: everything the reader has here, as JSON.
pub async fn export(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
) -> Result<Response, ApiError> {
    use axum::response::IntoResponse;
    use paperboy_store::Looking;
    use serde_json::json;
    let ts = crate::views::json::timestamp;
    let votes = state.store.votes_by(a.id).await?;
    let comments = state.store.comments_by(a.id).await?;
    let saves = state
        .store
        .library(a.id, None, 0, paperboy_store::library::MAX_SAVES)
        .await?
        .0;
    let follows = state.store.follows(a.id).await?;
    let tokens = state.store.tokens(a.id).await?;
    let signals = state.store.signals(a.id).await?;
    let model = state.store.stored_model(a.id).await?;
    let looking = Looking {
        account: Some(a.id),
        moderator: false,
    };
    let mut collections = Vec::new();
    for c in state
        .store
        .list_collections(
            Some(&a.username),
            None,
            looking,
            paperboy_store::collections::MAX_COLLECTIONS,
        )
        .await?
    {
        let items = state
            .store
            .collection_items(c.id, 0, paperboy_store::collections::MAX_ITEMS)
            .await?;
        collections.push(json!({
            "slug": c.slug(), "title": c.title, "description": c.description, "private": c.private,
            "created": ts(c.created_at), "updated": ts(c.updated_at),
            "items": items.iter().map(|i| json!({ "paper": i.view.paper.id, "position": i.position, "note": i.note, "added": ts(i.added_at) })).collect::<Vec<_>>(),
        }));
    }
    let subscription = state.store.subscription_by_email(&a.email).await?.map(|s| json!({
        "email": s.email, "frequency": s.frequency.as_str(), "topics": s.topics,
        "created": ts(s.created_at), "confirmed": s.confirmed_at.map(ts), "unsubscribed": s.unsubscribed_at.map(ts),
    }));
    let body = json!({
        "account": { "email": a.email, "username": a.username, "displayName": a.display_name, "created": ts(a.created_at) },
        "votes": votes.iter().map(|(p, at)| json!({ "paper": p, "at": ts(*at) })).collect::<Vec<_>>(),
        "comments": comments.iter().map(|(p, body, at)| json!({ "paper": p, "body": body, "at": ts(*at) })).collect::<Vec<_>>(),
        "saves": saves.iter().map(|s| json!({ "paper": s.view.paper.id, "at": ts(s.saved_at) })).collect::<Vec<_>>(),
        "collections": collections,
        "follows": follows.iter().map(|f| json!({ "kind": f.kind.as_str(), "name": f.shown, "at": ts(f.created_at) })).collect::<Vec<_>>(),
        "subscription": subscription,
        "forYou": {
            "resetAt": signals.reset_at.map(ts),
            "liked": signals.positives.iter().map(|(p, sources, at)| json!({ "paper": p, "sources": sources, "at": ts(*at) })).collect::<Vec<_>>(),
            "marks": signals.marks.iter().map(|(p, m, at)| json!({ "paper": p, "mark": m.as_str(), "at": ts(*at) })).collect::<Vec<_>>(),
            "model": model.map(|m| json!({ "trainedAt": ts(m.trained_at), "fingerprint": m.fingerprint, "profile": serde_json::from_str::<serde_json::Value>(&m.model).unwrap_or(serde_json::Value::Null) })),
        },
        "tokens": tokens.iter().map(|t| json!({ "name": t.name, "scope": t.scope.as_str(), "created": ts(t.created_at), "lastUsed": t.last_used_at.map(ts) })).collect::<Vec<_>>(),
    });
    let disposition = format!("attachment; filename=\"paperboy-{}.json\"", a.username);
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/json".to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        body.to_string(),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    /// The account's username, typed again.
    confirm: String,
}

/// `POST /account/delete`: deletes the account once its username is typed again.
pub async fn delete(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
    CsrfForm(f): CsrfForm<DeleteForm>,
) -> Result<Response, ApiError> {
    if f.confirm.trim() != a.username {
        return Err(ApiError::invalid(
            "Type your username to delete your account.",
        ));
    }
    let keep = state.settings.keep_deleted_comments;
    state
        .store
        .delete_account(a.id, keep, chrono::Utc::now())
        .await?;
    tracing::info!(account = a.id.get(), "an account was deleted by its owner");
    Ok(super::session::signed_out(&state))
}
