//! Signing in by emailed link, and out: the form, the mail, the link's page and its button,
//! and ending one session or all of an account's.

use axum::extract::rejection::QueryRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;

use crate::client_ip::ClientIp;
use crate::csrf::{CsrfForm, NoFields};
use crate::error::{ApiError, Code};
use crate::limits::Action;
use crate::params::{email_address, Query};
use crate::redirect::{on_site_path, see_other};
use crate::services::Mail;
use crate::session::{
    cookie, random_token, set_cookie, token_hash, CSRF_COOKIE, CSRF_COOKIE_DAYS, LINK_MINUTES,
    SESSION_COOKIE,
};
use crate::state::AppState;
use crate::viewer::{SignedIn, Viewer};
use crate::views::forms;
use crate::views::layout::{html_response, html_status};

#[derive(Debug, Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// A malformed `next` is ignored: the form still signs in, to the front page.
pub async fn login_form(
    viewer: Viewer,
    q: Result<axum::extract::Query<NextParam>, QueryRejection>,
) -> Response {
    let next = q.ok().and_then(|q| q.0.next).unwrap_or_default();
    html_response(forms::sign_in(&viewer, &next))
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    next: Option<String>,
}

pub async fn login_send(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    CsrfForm(f): CsrfForm<LoginForm>,
) -> Result<Response, ApiError> {
    let email = email_address(&f.email)?;
    let keys = [ip.key(), format!("email:{email}")];
    state.limit(Action::SignInMail, &keys).await?;
    let token = random_token();
    let expires = Utc::now() + chrono::Duration::minutes(LINK_MINUTES);
    state
        .store
        .create_login_token(&token_hash(&token), &email, expires)
        .await?;
    let next = on_site_path(f.next.as_deref(), "/");
    let link = format!(
        "{}/login/verify?{}",
        state.settings.public_url,
        serde_urlencoded::to_string([("token", token.as_str()), ("next", next.as_str())])
            .map_err(ApiError::internal)?
    );
    if let Err(e) = state
        .mailer
        .send(&email, Mail::SignIn { link: &link })
        .await
    {
        tracing::error!(error = %e, "sending a sign-in link failed");
        return Ok(html_status(
            StatusCode::BAD_GATEWAY,
            forms::link_not_sent(&viewer),
        ));
    }
    Ok(html_response(forms::link_sent(
        &viewer,
        &email,
        state.mailer.delivers(),
    )))
}

#[derive(Debug, Deserialize)]
pub struct VerifyParams {
    token: Option<String>,
    next: Option<String>,
}

/// The page a sign-in link opens: one button, so that link scanners cannot use the link up.
pub async fn verify_form(viewer: Viewer, Query(q): Query<VerifyParams>) -> Response {
    let (token, next) = (q.token.unwrap_or_default(), q.next.unwrap_or_default());
    html_response(forms::sign_in_button(&viewer, &token, &next))
}

#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    token: String,
    next: Option<String>,
}

pub async fn verify(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(f): CsrfForm<VerifyForm>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let Some(email) = state
        .store
        .redeem_login_token(&token_hash(f.token.trim()), now)
        .await?
    else {
        return Ok(html_status(
            StatusCode::BAD_REQUEST,
            forms::link_spent(&viewer),
        ));
    };
    let account = state
        .store
        .sign_in(&email, &state.settings.admins, now)
        .await?;
    if account.blocked {
        return Err(ApiError::new(Code::BLOCKED, "This account is blocked."));
    }
    let session = random_token();
    let lifetime = state.settings.session_lifetime();
    state
        .store
        .create_session(&token_hash(&session), account.id, now, now - lifetime)
        .await?;
    tracing::info!(account = account.username, "signed in");
    // Signed-in readers land on the papers ranked for them, unless they came from elsewhere.
    let next = on_site_path(f.next.as_deref(), "/for-you");
    let next = if next == "/" {
        "/for-you".to_owned()
    } else {
        next
    };
    let mut r = see_other(&next);
    let secure = state.settings.secure_cookies();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &session,
            lifetime.num_seconds(),
            secure,
            true,
        ),
    );
    // A new CSRF token with the new session: one planted or read before sign-in is spent.
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            CSRF_COOKIE,
            &random_token(),
            CSRF_COOKIE_DAYS * 24 * 3600,
            secure,
            false,
        ),
    );
    Ok(r)
}

/// To the front page, without the session cookie.
pub fn signed_out(state: &AppState) -> Response {
    let mut r = see_other("/");
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, state.settings.secure_cookies(), true),
    );
    r
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, ApiError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.store.end_session(&token_hash(token)).await?;
    }
    Ok(signed_out(&state))
}

pub async fn logout_everywhere(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, ApiError> {
    let n = state.store.end_all_sessions(account.id).await?;
    tracing::info!(
        account = account.username,
        sessions = n,
        "signed out everywhere"
    );
    Ok(signed_out(&state))
}
