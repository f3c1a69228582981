//! "Get trending papers in your email inbox": sign-up without an account, double opt-in, and the
//! preferences and unsubscribe pages that signed links open (no login needed). Unsubscribing
//! accepts RFC 8058's one-click POST (`List-Unsubscribe=One-Click`) from mail clients, which
//! carries no CSRF token: the signed link is the proof.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use chrono::Utc;
use maud::{html, Markup};
use paperboy_store::{Frequency, SignUp, Subscription, Topics};
use serde::Deserialize;

use crate::auth::{self, Viewer};
use crate::limits::{self, Action, ClientIp};
use crate::pages::{page, Frame, PageError};
use crate::redirect::see_other;
use crate::{html_response, ApiError, AppState};

type PageResult = Result<Response, PageError>;

/// The secret that signs subscription links.
const SECRET: &str = "subscription-links";
const MAX_TOPICS: usize = 20;

/// Link purposes: confirming the address, and managing the subscription (preferences and
/// unsubscribing).
pub const CONFIRM: &str = "confirm";
pub const MANAGE: &str = "manage";

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
        auth::sign(&secret, purpose, id.get())
    ))
}

async fn subscription_of(
    state: &AppState,
    purpose: &str,
    token: &str,
) -> Result<Subscription, ApiError> {
    let secret = state.store.secret(SECRET).await?;
    let id = auth::verify(&secret, purpose, token.trim()).ok_or_else(|| {
        ApiError::forbidden(
            "bad_link",
            "This link is not valid: it may have been cut or changed.",
        )
    })?;
    state
        .store
        .subscription(id.into())
        .await?
        .ok_or_else(|| ApiError::not_found("This subscription no longer exists."))
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

/// The most of a stranger's topic text a confirmation mail carries: anyone may sign any address
/// up, and the mail must not become a way to send 12,000 characters of their choosing to it.
/// The confirmation page shows the whole list to the address's owner.
pub const MAIL_TOPICS_CHARS: usize = 200;

/// [`describe`], cut to [`MAIL_TOPICS_CHARS`] for a confirmation mail.
fn describe_for_mail(t: &Topics) -> String {
    let text = describe(t);
    if text.chars().count() <= MAIL_TOPICS_CHARS {
        return text;
    }
    let cut: String = text.chars().take(MAIL_TOPICS_CHARS).collect();
    format!("{cut}… (the confirmation page lists them all)")
}

fn describe(t: &Topics) -> String {
    let mut parts = Vec::new();
    if !t.categories.is_empty() {
        parts.push(format!("in {}", t.categories.join(", ")));
    }
    if !t.authors.is_empty() {
        parts.push(format!("by {}", t.authors.join(", ")));
    }
    if !t.searches.is_empty() {
        parts.push(format!("matching “{}”", t.searches.join("”, “")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(", plus new papers {}", parts.join("; "))
    }
}

fn preferences_form(
    action: &str,
    csrf: Option<&str>,
    s: Option<&Subscription>,
    with_email: bool,
    submit: &str,
) -> Markup {
    let t = s.map(|s| s.topics.clone()).unwrap_or_default();
    let weekly = s.is_some_and(|s| s.frequency == Frequency::Weekly);
    html! {
        form.stack method="post" action=(action) {
            @if let Some(c) = csrf { input type="hidden" name="csrf" value=(c); }
            @if with_email {
                label for="sub-email" { "Email address" }
                input #sub-email type="email" name="email" required maxlength="254" autocomplete="email";
            }
            fieldset {
                legend { "How often" }
                label { input type="radio" name="frequency" value="daily" checked[!weekly]; " Every weekday morning" }
                label { input type="radio" name="frequency" value="weekly" checked[weekly]; " Monday mornings" }
            }
            label for="sub-categories" { "Categories (optional, comma-separated, e.g. cs.CL, cs.LG)" }
            input #sub-categories name="categories" value=(t.categories.join(", ")) maxlength="400";
            label for="sub-authors" { "Authors (optional, comma-separated)" }
            input #sub-authors name="authors" value=(t.authors.join(", ")) maxlength="800";
            label for="sub-searches" { "Searches (optional, one per line)" }
            textarea #sub-searches name="searches" rows="3" maxlength="2000" { (t.searches.join("\n")) }
            button type="submit" { (submit) }
        }
    }
}

pub async fn subscribe_form(viewer: Viewer) -> PageResult {
    Ok(html_response(page(
        &Frame::of(&viewer),
        "Get trending papers in your email inbox",
        html! {
            h1 { "Get trending papers in your email inbox" }
            p { "The papers people are voting for, and new papers on your topics, by email. No account needed; "
                "we first send a link to confirm the address, and every mail has a one-click unsubscribe." }
            (preferences_form("/subscribe", Some(&viewer.csrf), None, true, "Subscribe"))
        },
    )))
}

#[derive(Debug, Deserialize)]
pub struct SubscribeForm {
    csrf: Option<String>,
    email: Option<String>,
    frequency: Option<String>,
    categories: Option<String>,
    authors: Option<String>,
    searches: Option<String>,
}

fn read_prefs(f: &SubscribeForm) -> Result<(Frequency, Topics), ApiError> {
    let frequency = Frequency::parse(f.frequency.as_deref().unwrap_or("daily"))
        .ok_or_else(|| ApiError::invalid("frequency is daily or weekly"))?;
    Ok((
        frequency,
        Topics {
            categories: list(f.categories.as_deref())?,
            authors: list(f.authors.as_deref())?,
            searches: list(f.searches.as_deref())?,
        },
    ))
}

pub async fn subscribe(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    headers: HeaderMap,
    f: Result<Form<SubscribeForm>, FormRejection>,
) -> PageResult {
    let f = crate::community::form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    let email = f.email.as_deref().unwrap_or_default().trim().to_lowercase();
    if !crate::community::valid_email(&email) {
        return Err(ApiError::invalid(format!("{email:?} is not an email address")).into());
    }
    let (frequency, topics) = read_prefs(&f)?;
    limits::check(
        &state,
        Action::SignInMail,
        &[format!("ip:{}", ip.0), format!("subscribe:{email}")],
    )
    .await?;
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
        if let Err(e) = state
            .mailer
            .confirm_subscription(
                &email,
                &url,
                frequency.as_str(),
                &describe_for_mail(&topics),
            )
            .await
        {
            // The same answer as success: the address's state is not revealed. The operator sees it.
            tracing::error!(error = %e, "sending a subscription confirmation failed");
        }
    }
    Ok(html_response(page(
        &Frame::of(&viewer),
        "Check your inbox",
        html! {
            h1 { "Check your inbox" }
            p { "If " strong { (email) } " still needs confirming, a confirmation link is on its way. "
                "Nothing is sent to the address until its owner follows that link." }
        },
    )))
}

#[derive(Debug, Deserialize)]
pub struct TokenParam {
    t: Option<String>,
}

fn token(q: Result<Query<TokenParam>, QueryRejection>) -> Result<String, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::invalid(e.body_text()))?;
    q.t.filter(|t| !t.is_empty()).ok_or_else(|| {
        ApiError::forbidden("bad_link", "This link is not valid: it may have been cut.")
    })
}

/// The confirmation link's page: one button, so link scanners do not confirm for people.
pub async fn confirm_form(
    State(state): State<AppState>,
    viewer: Viewer,
    q: Result<Query<TokenParam>, QueryRejection>,
) -> PageResult {
    let t = token(q)?;
    let sub = subscription_of(&state, CONFIRM, &t).await?;
    let change = sub.pending.as_ref().filter(|_| sub.confirmed_at.is_some());
    let (title, button) = match change {
        Some(_) => ("Confirm the change to your digest", "Confirm the change"),
        None => ("Confirm your subscription", "Confirm"),
    };
    Ok(html_response(page(
        &Frame::of(&viewer),
        title,
        html! {
            h1 { (title) }
            @match change {
                Some(p) => {
                    p { "Someone asked to change the digests sent to " strong { (sub.email) } ". Nothing changes unless you confirm." }
                    p { "Now: " (sub.frequency.as_str()) " digests of trending papers" (describe(&sub.topics)) "." }
                    p { "After the change: " (p.frequency.as_str()) " digests of trending papers" (describe(&p.topics)) "." }
                }
                None => p { "Send " (sub.frequency.as_str()) " digests of trending papers" (describe(&sub.topics)) " to " strong { (sub.email) } "?" },
            }
            form.stack method="post" action={ "/subscription/confirm?t=" (t) } {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { (button) }
            }
        },
    )))
}

#[derive(Debug, Deserialize)]
pub struct CsrfField {
    csrf: Option<String>,
}

pub async fn confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    q: Result<Query<TokenParam>, QueryRejection>,
    f: Result<Form<CsrfField>, FormRejection>,
) -> PageResult {
    let t = token(q)?;
    let f = crate::community::form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    let sub = subscription_of(&state, CONFIRM, &t).await?;
    if !state.store.confirm_subscription(sub.id, Utc::now()).await? {
        return Err(ApiError::new(
            StatusCode::GONE,
            "unsubscribed",
            "This subscription was ended; subscribe again to start it anew.",
        )
        .into());
    }
    let manage = link(&state, MANAGE, sub.id).await?;
    Ok(html_response(page(
        &Frame::of(&viewer),
        "Subscribed",
        html! {
            h1 { "You are subscribed" }
            p { "The first digest comes with the next " (sub.frequency.as_str()) " run. "
                a href=(manage) { "Change what you get or unsubscribe" } " at any time; every mail has the link too." }
        },
    )))
}

/// Preferences, from the link in every mail.
pub async fn manage_form(
    State(state): State<AppState>,
    viewer: Viewer,
    q: Result<Query<TokenParam>, QueryRejection>,
) -> PageResult {
    let t = token(q)?;
    let sub = subscription_of(&state, MANAGE, &t).await?;
    Ok(html_response(page(
        &Frame::of(&viewer),
        "Your digest",
        html! {
            h1 { "Your digest" }
            p { "For " strong { (sub.email) } ". "
                @if sub.unsubscribed_at.is_some() { "You are unsubscribed: nothing is sent." }
                @else if sub.confirmed_at.is_none() { "Not confirmed yet: nothing is sent until you follow the confirmation link." }
                @else if sub.bouncing { "Mail to this address bounces, so nothing is sent." }
            }
            (preferences_form(&format!("/subscription?t={t}"), Some(&viewer.csrf), Some(&sub), false, "Save"))
            @if sub.unsubscribed_at.is_none() {
                form.stack method="post" action={ "/subscription/unsubscribe?t=" (t) } {
                    button type="submit" { "Unsubscribe" }
                }
            }
        },
    )))
}

pub async fn manage(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    q: Result<Query<TokenParam>, QueryRejection>,
    f: Result<Form<SubscribeForm>, FormRejection>,
) -> PageResult {
    let t = token(q)?;
    let f = crate::community::form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    let sub = subscription_of(&state, MANAGE, &t).await?;
    let (frequency, topics) = read_prefs(&f)?;
    state
        .store
        .update_subscription(sub.id, frequency, &topics)
        .await?;
    // Back to the page by the link this server signs, not the text the request carried.
    let back = link(&state, MANAGE, sub.id).await?;
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
    q: Result<Query<TokenParam>, QueryRejection>,
) -> PageResult {
    let t = token(q)?;
    let sub = subscription_of(&state, MANAGE, &t).await?;
    state.store.unsubscribe(sub.id, Utc::now()).await?;
    tracing::info!(subscription = sub.id.get(), "unsubscribed");
    Ok(html_response(page(
        &Frame::of(&viewer),
        "Unsubscribed",
        html! {
            h1 { "Unsubscribed" }
            p { "Nothing more will be sent to " strong { (sub.email) } ". Changed your mind? "
                a href="/subscribe" { "Subscribe again" } "." }
        },
    )))
}

// --- The same, from the account page: the address is the account's, proven by signing in ---

/// The "Your digest" part of the account page.
pub async fn account_section(state: &AppState, viewer: &Viewer) -> Result<Markup, ApiError> {
    let a = viewer.require()?;
    let sub = state.store.subscription_by_email(&a.email).await?;
    let active = sub.as_ref().is_some_and(Subscription::active);
    Ok(html! {
        h2 #digest { "Your digest" }
        @match &sub {
            Some(s) if active => p { "Digests go to " strong { (s.email) } ", "
                @if s.frequency == Frequency::Weekly { "on Monday mornings" } @else { "every weekday morning" } "." }
            Some(s) if s.bouncing => p { "Mail to " strong { (s.email) } " bounced, so digests stopped. Save to start them again." }
            _ => p { "Trending papers, and new papers on your topics, by email to " strong { (a.email) } "." }
        }
        (preferences_form("/account/digest", Some(&viewer.csrf), sub.as_ref().filter(|_| active), false,
            if active { "Save" } else { "Subscribe" }))
        @if active {
            form.stack method="post" action="/account/digest/stop" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { "Stop digests" }
            }
        }
    })
}

/// Subscribes the account's address, or saves its preferences. No confirmation mail: signing in
/// by the link mailed to that address proved it is the reader's.
pub async fn account_digest(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    f: Result<Form<SubscribeForm>, FormRejection>,
) -> PageResult {
    let f = crate::community::form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    let a = viewer.require()?;
    let (frequency, topics) = read_prefs(&f)?;
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
    viewer: Viewer,
    headers: HeaderMap,
    f: Result<Form<CsrfField>, FormRejection>,
) -> PageResult {
    let f = crate::community::form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    let a = viewer.require()?;
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
        assert_eq!(describe(&Topics::default()), "");
        let loud = Topics {
            searches: vec!["x".repeat(200); 20],
            ..Default::default()
        };
        let mail = describe_for_mail(&loud);
        assert!(mail.chars().count() < MAIL_TOPICS_CHARS + 60, "{mail}");
        assert!(mail.ends_with("lists them all)"));
    }
}
