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
    Ok(html_response(forms::account(&viewer, &a, digest.as_ref())))
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
