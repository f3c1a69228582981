//! "Get trending papers in your email inbox": sign-up without an account, double opt-in, the
//! preferences and unsubscribe pages that signed links open (no login needed), and the same
//! from the account page, where signing in proved the address. Unsubscribing accepts RFC 8058's
//! one-click POST (`List-Unsubscribe=One-Click`) from mail clients, which carries no CSRF token:
//! the signed link is the proof.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::Response;
use chrono::Utc;
use paperboy_core::signed::{self, CONFIRM, MANAGE, SECRET};
use paperboy_store::{Frequency, SignUp, Subscription, Topics};
use serde::Deserialize;

use crate::client_ip::ClientIp;
use crate::csrf::{CsrfForm, NoFields};
use crate::error::{ApiError, Code};
use crate::limits::Action;
use crate::params::{email_address, Query};
use crate::redirect::see_other;
use crate::services::Mail;
use crate::state::AppState;
use crate::viewer::{SignedIn, Viewer};
use crate::views::layout::html_response;
use crate::views::subscriptions::{self as views, describe_for_mail};

const MAX_TOPICS: usize = 20;

/// The signed link a request came by: the `t` of `?t=`, not yet checked (see
/// [`SignedLink::subscription`]); a request without one is refused.
pub struct SignedLink(String);

#[derive(Debug, Deserialize)]
struct LinkParam {
    t: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedLink {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(q) = Query::<LinkParam>::from_request_parts(parts, state).await?;
        q.t.filter(|t| !t.is_empty())
            .map(SignedLink)
            .ok_or_else(|| {
                ApiError::new(
                    Code::BAD_LINK,
                    "This link is not valid: it may have been cut.",
                )
            })
    }
}

impl SignedLink {
    /// The subscription the link names, if this server signed it for `purpose`.
    async fn subscription(
        &self,
        state: &AppState,
        purpose: &str,
    ) -> Result<Subscription, ApiError> {
        let secret = state.store.secret(SECRET).await?;
        let id = signed::verify(&secret, purpose, self.0.trim()).ok_or_else(|| {
            ApiError::new(
                Code::BAD_LINK,
                "This link is not valid: it may have been cut or changed.",
            )
        })?;
        state
            .store
            .subscription(id.into())
            .await?
            .ok_or_else(|| ApiError::not_found("This subscription no longer exists."))
    }
}

/// The address a link for `purpose` to subscription `id` opens.
pub async fn link(
    state: &AppState,
    purpose: &str,
    id: paperboy_store::SubscriptionId,
) -> Result<String, ApiError> {
    let secret = state.store.secret(SECRET).await?;
    let path = match purpose {
        CONFIRM => "/subscription/confirm",
        _ => "/subscription",
    };
    Ok(format!(
        "{}{path}?t={}",
        state.settings.public_url,
        signed::sign(&secret, purpose, id.get())
    ))
}

/// Comma- or line-separated values, trimmed, without control characters, at most `MAX_TOPICS`.
fn list(s: Option<&str>) -> Result<Vec<String>, ApiError> {
    let items: Vec<String> = s
        .unwrap_or_default()
        .split([',', '\n'])
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if items.len() > MAX_TOPICS {
        return Err(ApiError::invalid(format!(
            "at most {MAX_TOPICS} topics of each kind"
        )));
    }
    if items
        .iter()
        .any(|t| t.chars().any(char::is_control) || t.chars().count() > 200)
    {
        return Err(ApiError::invalid(
            "a topic is one line of at most 200 characters",
        ));
    }
    Ok(items)
}

#[derive(Debug, Deserialize)]
pub struct PreferencesForm {
    email: Option<String>,
    frequency: Option<String>,
    categories: Option<String>,
    authors: Option<String>,
    searches: Option<String>,
}

impl PreferencesForm {
    fn read(&self) -> Result<(Frequency, Topics), ApiError> {
        let frequency = Frequency::parse(self.frequency.as_deref().unwrap_or("daily"))
            .ok_or_else(|| ApiError::invalid("frequency is daily or weekly"))?;
        Ok((
            frequency,
            Topics {
                categories: list(self.categories.as_deref())?,
                authors: list(self.authors.as_deref())?,
                searches: list(self.searches.as_deref())?,
            },
        ))
    }
}

pub async fn subscribe_form(viewer: Viewer) -> Response {
    html_response(views::subscribe(&viewer))
}

pub async fn subscribe(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    CsrfForm(f): CsrfForm<PreferencesForm>,
) -> Result<Response, ApiError> {
    let email = email_address(f.email.as_deref().unwrap_or_default())?;
    let (frequency, topics) = f.read()?;
    let keys = [ip.key(), format!("subscribe:{email}")];
    state.limit(Action::SignInMail, &keys).await?;
    let account = viewer
        .account
        .as_ref()
        .filter(|a| a.email == email)
        .map(|a| a.id);
    let outcome = state
        .store
        .sign_up(&email, frequency, &topics, account, Utc::now())
        .await?;
    if let SignUp::SendConfirmation(sub) = outcome {
        let url = link(&state, CONFIRM, sub.id).await?;
        let mail = Mail::ConfirmSubscription {
            link: &url,
            frequency: frequency.as_str(),
            topics: &describe_for_mail(&topics),
        };
        if let Err(e) = state.mailer.send(&email, mail).await {
            // The same answer as success: the address's state is not revealed. The operator sees it.
            tracing::error!(error = %e, "sending a subscription confirmation failed");
        }
    }
    Ok(html_response(views::check_inbox(&viewer, &email)))
}

pub async fn confirm_form(
    State(state): State<AppState>,
    viewer: Viewer,
    link: SignedLink,
) -> Result<Response, ApiError> {
    let sub = link.subscription(&state, CONFIRM).await?;
    Ok(html_response(views::confirm(&viewer, &sub, &link.0)))
}

pub async fn confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    link: SignedLink,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, ApiError> {
    let sub = link.subscription(&state, CONFIRM).await?;
    if !state.store.confirm_subscription(sub.id, Utc::now()).await? {
        return Err(ApiError::new(
            Code::UNSUBSCRIBED,
            "This subscription was ended; subscribe again to start it anew.",
        ));
    }
    let manage = self::link(&state, MANAGE, sub.id).await?;
    Ok(html_response(views::subscribed(&viewer, &sub, &manage)))
}

/// Preferences, from the link in every mail.
pub async fn manage_form(
    State(state): State<AppState>,
    viewer: Viewer,
    link: SignedLink,
) -> Result<Response, ApiError> {
    let sub = link.subscription(&state, MANAGE).await?;
    Ok(html_response(views::manage(&viewer, &sub, &link.0)))
}

pub async fn manage(
    State(state): State<AppState>,
    link: SignedLink,
    CsrfForm(f): CsrfForm<PreferencesForm>,
) -> Result<Response, ApiError> {
    let sub = link.subscription(&state, MANAGE).await?;
    let (frequency, topics) = f.read()?;
    state
        .store
        .update_subscription(sub.id, frequency, &topics)
        .await?;
    // Back to the page by the link this server signs, not the text the request carried.
    let back = self::link(&state, MANAGE, sub.id).await?;
    let path = back
        .strip_prefix(&state.settings.public_url)
        .unwrap_or("/subscription");
    Ok(see_other(path))
}

/// RFC 8058 one-click unsubscribe, and the page's Unsubscribe button. No CSRF token: a mail
/// client's POST carries none, and the signed link already proves the mail was received.
pub async fn unsubscribe(
    State(state): State<AppState>,
    viewer: Viewer,
    link: SignedLink,
) -> Result<Response, ApiError> {
    let sub = link.subscription(&state, MANAGE).await?;
    state.store.unsubscribe(sub.id, Utc::now()).await?;
    tracing::info!(subscription = sub.id.get(), "unsubscribed");
    Ok(html_response(views::unsubscribed(&viewer, &sub)))
}

/// Subscribes the account's address, or saves its preferences. No confirmation mail: signing in
/// by the link mailed to that address proved it is the reader's.
pub async fn account_digest(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
    CsrfForm(f): CsrfForm<PreferencesForm>,
) -> Result<Response, ApiError> {
    let (frequency, topics) = f.read()?;
    let now = Utc::now();
    let sub = match state
        .store
        .sign_up(&a.email, frequency, &topics, Some(a.id), now)
        .await?
    {
        SignUp::SendConfirmation(s) | SignUp::Quiet(s) => s,
    };
    state.store.confirm_subscription(sub.id, now).await?;
    Ok(see_other("/account#digest"))
}

pub async fn account_digest_stop(
    State(state): State<AppState>,
    SignedIn(a): SignedIn,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, ApiError> {
    if let Some(sub) = state.store.subscription_by_email(&a.email).await? {
        state.store.unsubscribe(sub.id, Utc::now()).await?;
    }
    Ok(see_other("/account#digest"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_lines_without_control_characters() {
        assert_eq!(list(Some("cs.CL, cs.LG,,")).unwrap(), ["cs.CL", "cs.LG"]);
        assert!(list(Some("a\rBcc: x@y")).is_err(), "no CR in a topic");
        assert_eq!(
            list(Some("a\nBcc: x@y")).unwrap(),
            ["a", "Bcc: x@y"],
            "LF splits lines"
        );
        assert!(list(Some("bad\u{7}bell")).is_err());
        assert!(list(Some(&"x,".repeat(30))).is_err());
    }
}
