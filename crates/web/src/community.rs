//! The community's pages and actions: signing in by emailed link, the account page, votes,
//! comments, submissions, moderation, the trending list and the page that explains ranking.
//! Every state-changing request is a POST carrying the visitor's CSRF token, limited per account
//! and per address; every one works as a plain form, and votes also in place from the page's
//! script (`Accept: application/json`).

use std::future::Future;
use std::pin::Pin;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use chrono::Utc;
use maud::{html, Markup, PreEscaped};
use paperboy_core::{ArxivId, Paper, Submitter, VersionedId};
use paperboy_store::{Comment, CommentId, Moderation, PaperView, SubmitOutcome};
use serde::Deserialize;

use crate::auth::{self, Viewer};
use crate::limits::{self, Action, ClientIp};
use crate::pages::{page, Frame, PageError, Votes};
use crate::redirect::{on_site_path, see_other};
use crate::render::{escape, squash, with_math};
use crate::{html_response, ApiError, AppState};

/// Comments may be edited by their author for this long.
pub const EDIT_MINUTES: i64 = 15;
pub const MAX_COMMENT_CHARS: usize = 5_000;

type PageResult = Result<Response, PageError>;

/// Fetches a paper's metadata by id (the arXiv API in production, a replay server in tests).
pub trait PaperSource: Send + Sync {
    fn fetch<'a>(
        &'a self,
        id: &'a ArxivId,
    ) -> Pin<Box<dyn Future<Output = Result<Paper, String>> + Send + 'a>>;
}

pub(crate) fn form<T>(f: Result<Form<T>, FormRejection>) -> Result<T, PageError> {
    f.map(|Form(t)| t)
        .map_err(|e| ApiError::invalid(e.body_text()).into())
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

fn keys(viewer: &Viewer, ip: &ClientIp) -> Vec<String> {
    let mut k = vec![format!("ip:{}", ip.0)];
    if let Some(a) = &viewer.account {
        k.push(format!("acct:{}", a.id));
    }
    k
}

fn notice_page(viewer: &Viewer, status: StatusCode, title: &str, body: Markup) -> Response {
    let mut r = html_response(page(
        &Frame::of(viewer),
        title,
        html! { h1 { (title) } (body) },
    ));
    *r.status_mut() = status;
    r
}

// --- Signing in ---

#[derive(Debug, Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

pub async fn login_form(viewer: Viewer, q: Result<Query<NextParam>, QueryRejection>) -> PageResult {
    let next = q.ok().and_then(|Query(q)| q.next).unwrap_or_default();
    Ok(html_response(page(
        &Frame::of(&viewer),
        "Sign in",
        html! {
            h1 { "Sign in" }
            p { "No password: we email you a link that signs you in. It works once, for "
                (auth::LINK_MINUTES) " minutes. A new address gets a new account." }
            form.stack method="post" action="/login" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="next" value=(next);
                label for="email" { "Email address" }
                input #email type="email" name="email" required autocomplete="email" maxlength="254";
                button type="submit" { "Email me a sign-in link" }
            }
        },
    )))
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    email: String,
    next: Option<String>,
}

pub fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    e.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ','))
}

pub async fn login_send(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    headers: HeaderMap,
    f: Result<Form<LoginForm>, FormRejection>,
) -> PageResult {
    let f = form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    let email = f.email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(ApiError::invalid(format!("{email:?} is not an email address")).into());
    }
    limits::check(
        &state,
        Action::SignInMail,
        &[format!("ip:{}", ip.0), format!("email:{email}")],
    )
    .await?;
    let token = auth::random_token();
    let expires = Utc::now() + chrono::Duration::minutes(auth::LINK_MINUTES);
    state
        .store
        .create_login_token(&auth::token_hash(&token), &email, expires)
        .await?;
    let next = on_site_path(f.next.as_deref(), "/");
    let link = format!(
        "{}/login/verify?{}",
        state.settings.public_url,
        serde_urlencoded::to_string([("token", token.as_str()), ("next", next.as_str())])
            .map_err(ApiError::internal)?
    );
    if let Err(e) = state.mailer.send(&email, &link).await {
        tracing::error!(error = %e, "sending a sign-in link failed");
        return Ok(notice_page(
            &viewer,
            StatusCode::BAD_GATEWAY,
            "The link could not be sent",
            html! { p.notice { "The mail server refused it. Try again in a minute." } },
        ));
    }
    Ok(notice_page(
        &viewer,
        StatusCode::OK,
        "Check your email",
        html! {
            p { "If " strong { (email) } " is yours, a sign-in link is on its way. It works once, for "
                (auth::LINK_MINUTES) " minutes." }
            @if !state.mailer.delivers() {
                p.notice { "This server has no mail server configured: the link is in its log." }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct VerifyParams {
    token: Option<String>,
    next: Option<String>,
}

/// The page a sign-in link opens: one button, so that link scanners cannot use the link up.
pub async fn verify_form(
    viewer: Viewer,
    q: Result<Query<VerifyParams>, QueryRejection>,
) -> PageResult {
    let Query(q) = q.map_err(|e| ApiError::invalid(e.body_text()))?;
    let token = q.token.unwrap_or_default();
    Ok(html_response(page(
        &Frame::of(&viewer),
        "Sign in",
        html! {
            h1 { "Sign in to paperboy" }
            form.stack method="post" action="/login/verify" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="token" value=(token);
                input type="hidden" name="next" value=(q.next.unwrap_or_default());
                button type="submit" { "Sign in" }
            }
        },
    )))
}

#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    csrf: Option<String>,
    token: String,
    next: Option<String>,
}

pub async fn verify(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    f: Result<Form<VerifyForm>, FormRejection>,
) -> PageResult {
    let f = form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    let now = Utc::now();
    let Some(email) = state
        .store
        .redeem_login_token(&auth::token_hash(f.token.trim()), now)
        .await?
    else {
        return Ok(notice_page(
            &viewer,
            StatusCode::BAD_REQUEST,
            "This link does not work any more",
            html! { p.notice { "Sign-in links work once, for " (auth::LINK_MINUTES) " minutes. "
            a href="/login" { "Ask for a new one" } "." } },
        ));
    };
    let account = state
        .store
        .sign_in(&email, &state.settings.admins, now)
        .await?;
    if account.blocked {
        return Err(ApiError::forbidden("blocked", "This account is blocked.").into());
    }
    let session = auth::random_token();
    let lifetime = state.settings.session_lifetime();
    state
        .store
        .create_session(&auth::token_hash(&session), account.id, now, now - lifetime)
        .await?;
    tracing::info!(account = account.username, "signed in");
    let mut r = see_other(&on_site_path(f.next.as_deref(), "/"));
    let secure = state.settings.secure_cookies();
    r.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(
            auth::SESSION_COOKIE,
            &session,
            lifetime.num_seconds(),
            secure,
            true,
        ),
    );
    // A new CSRF token with the new session: one planted or read before sign-in is spent.
    r.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(
            auth::CSRF_COOKIE,
            &auth::random_token(),
            auth::CSRF_COOKIE_DAYS * 24 * 3600,
            secure,
            false,
        ),
    );
    Ok(r)
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    csrf: Option<String>,
}

fn clear_session(state: &AppState, to: &str) -> Response {
    let mut r = see_other(to);
    r.headers_mut().append(
        header::SET_COOKIE,
        auth::set_cookie(
            auth::SESSION_COOKIE,
            "",
            0,
            state.settings.secure_cookies(),
            true,
        ),
    );
    r
}

pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    f: Result<Form<CsrfOnly>, FormRejection>,
) -> PageResult {
    let f = form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    if let Some(token) = auth::cookie(&headers, auth::SESSION_COOKIE) {
        state.store.end_session(&auth::token_hash(token)).await?;
    }
    Ok(clear_session(&state, "/"))
}

pub async fn logout_everywhere(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    f: Result<Form<CsrfOnly>, FormRejection>,
) -> PageResult {
    let f = form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    let account = viewer.require()?;
    let n = state.store.end_all_sessions(account.id).await?;
    tracing::info!(
        account = account.username,
        sessions = n,
        "signed out everywhere"
    );
    Ok(clear_session(&state, "/"))
}

pub async fn account_page(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let a = viewer.require()?.clone();
    let digest = crate::subscribe::account_section(&state, &viewer).await?;
    Ok(html_response(page(
        &Frame::of(&viewer),
        "Your account",
        html! {
            h1 { "Your account" }
            p { "Signed in as " strong { (a.email) } @if a.is_admin { " (administrator)" } "." }
            form.stack method="post" action="/account" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="username" { "Username (letters, digits, . _ -)" }
                input #username name="username" value=(a.username) required minlength="2" maxlength="32" pattern="[A-Za-z0-9._-]+";
                label for="display_name" { "Display name" }
                input #display_name name="display_name" value=(a.display_name) required maxlength="64";
                button type="submit" { "Save" }
            }
            (digest)
            h2 { "Sessions" }
            form.inline method="post" action="/logout" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { "Sign out" }
            }
            form.inline method="post" action="/logout/everywhere" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                button type="submit" { "Sign out everywhere" }
            }
        },
    )))
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    csrf: Option<String>,
    username: String,
    display_name: String,
}

pub async fn account_save(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    f: Result<Form<ProfileForm>, FormRejection>,
) -> PageResult {
    let f = form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    let a = viewer.require()?;
    let username = f.username.trim();
    let display = squash(f.display_name.trim());
    if !(2..=32).contains(&username.len())
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(ApiError::invalid(
            "a username has 2 to 32 letters, digits, dots, underscores or dashes",
        )
        .into());
    }
    if display.is_empty() || display.chars().count() > 64 || display.chars().any(char::is_control) {
        return Err(ApiError::invalid("a display name has 1 to 64 characters").into());
    }
    state.store.update_profile(a.id, username, &display).await?;
    Ok(see_other("/account"))
}

// --- Votes, comments and moderation of one paper: POST /papers/{id}/{action} ---

#[derive(Debug, Deserialize)]
pub struct PaperActionForm {
    csrf: Option<String>,
    /// Votes: "1" to vote, "0" to take the vote back.
    up: Option<String>,
    /// Comments.
    body: Option<String>,
    /// Moderation: why.
    reason: Option<String>,
    next: Option<String>,
}

pub async fn paper_post(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    headers: HeaderMap,
    Path(rest): Path<String>,
    f: Result<Form<PaperActionForm>, FormRejection>,
) -> Result<Response, PageError> {
    let json = wants_json(&headers);
    let result = paper_action(&state, &viewer, &ip, &headers, &rest, f).await;
    match result {
        Err(PageError(e)) if json => Ok(e.into_response()),
        other => other,
    }
}

async fn paper_action(
    state: &AppState,
    viewer: &Viewer,
    ip: &ClientIp,
    headers: &HeaderMap,
    rest: &str,
    f: Result<Form<PaperActionForm>, FormRejection>,
) -> PageResult {
    let (id, action) = rest
        .rsplit_once('/')
        .ok_or_else(|| ApiError::not_found("There is nothing to post to here."))?;
    let id = VersionedId::parse(id)
        .map_err(|e| ApiError::not_found(e.to_string()))?
        .id;
    let f = form(f)?;
    viewer.check_csrf(headers, f.csrf.as_deref())?;
    let account = viewer.require()?;
    let back = format!("/papers/{id}");
    let now = Utc::now();
    match action {
        "vote" => {
            let up = match f.up.as_deref() {
                Some("1") | Some("true") | None => true,
                Some("0") | Some("false") => false,
                Some(other) => {
                    return Err(
                        ApiError::invalid(format!("up must be 1 or 0, not {other:?}")).into(),
                    )
                }
            };
            limits::check(state, Action::Vote, &keys(viewer, ip)).await?;
            state
                .store
                .vote(account.id, &id, up, now)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("No paper {id} here.")))?;
            if wants_json(headers) {
                let view = state
                    .store
                    .paper(&id)
                    .await?
                    .ok_or_else(|| ApiError::not_found(format!("No paper {id} here.")))?;
                return Ok(Json(serde_json::json!({
                    "id": id, "voted": up, "upvotes": view.upvotes(), "localUpvotes": view.local_upvotes,
                }))
                .into_response());
            }
            Ok(see_other(&on_site_path(f.next.as_deref(), &back)))
        }
        "comments" => {
            let body = f.body.as_deref().unwrap_or_default().trim();
            check_comment(body)?;
            limits::check(state, Action::Comment, &keys(viewer, ip)).await?;
            let c = state
                .store
                .add_comment(&id, account.id, body, now)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("No paper {id} here.")))?;
            Ok(see_other(&format!("{back}#comment-{}", c.id)))
        }
        "hide" | "show" => {
            let admin = viewer.require_admin()?;
            let action = if action == "hide" {
                Moderation::HidePaper(id.clone())
            } else {
                Moderation::ShowPaper(id.clone())
            };
            let reason = f.reason.as_deref().unwrap_or_default().trim();
            if !state
                .store
                .moderate(&admin.username, action, reason, now)
                .await?
            {
                return Err(ApiError::not_found(format!("No paper {id} here.")).into());
            }
            Ok(see_other("/admin"))
        }
        _ => Err(ApiError::not_found("There is nothing to post to here.").into()),
    }
}

fn check_comment(body: &str) -> Result<(), ApiError> {
    let n = body.chars().count();
    if n == 0 {
        return Err(ApiError::invalid("a comment needs some text"));
    }
    if n > MAX_COMMENT_CHARS {
        return Err(ApiError::invalid(format!(
            "a comment has at most {MAX_COMMENT_CHARS} characters, not {n}"
        )));
    }
    Ok(())
}

/// Comment text as HTML: escaped, paragraphs at blank lines, `http(s)://` links made links
/// (`rel="nofollow ugc"`), `$…$` as MathML.
pub fn comment_html(body: &str) -> Markup {
    let mut out = String::new();
    for para in body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        out.push_str("<p>");
        let mut text = String::new();
        let flush = |text: &mut String, out: &mut String| {
            out.push_str(&with_math(text).into_string());
            text.clear();
        };
        let mut rest = para;
        while let Some(pos) = rest.find("http://").or_else(|| rest.find("https://")) {
            let pos = match (rest.find("http://"), rest.find("https://")) {
                (Some(a), Some(b)) => a.min(b),
                _ => pos,
            };
            text.push_str(&rest[..pos]);
            let url_len = rest[pos..]
                .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
                .unwrap_or(rest.len() - pos);
            let mut url = &rest[pos..pos + url_len];
            url = url.trim_end_matches(['.', ',', ';', ':', ')', '!', '?', '\'']);
            flush(&mut text, &mut out);
            out.push_str(&format!(
                "<a href=\"{0}\" rel=\"nofollow ugc noopener\">{0}</a>",
                escape(url)
            ));
            rest = &rest[pos + url.len()..];
        }
        text.push_str(rest);
        flush(&mut text, &mut out);
        out.push_str("</p>");
    }
    PreEscaped(out.replace('\n', "<br>"))
}

fn can_edit(c: &Comment, viewer: &Viewer) -> bool {
    viewer
        .account
        .as_ref()
        .is_some_and(|a| a.id == c.account_id && !a.blocked)
        && Utc::now() - c.created_at < chrono::Duration::minutes(EDIT_MINUTES)
}

fn can_delete(c: &Comment, viewer: &Viewer) -> bool {
    viewer.is_admin()
        || viewer
            .account
            .as_ref()
            .is_some_and(|a| a.id == c.account_id && !a.blocked)
}

/// The comments of a paper page, and the form to add one.
pub fn comments_section(view: &PaperView, comments: &[Comment], viewer: &Viewer) -> Markup {
    let id = &view.paper.id;
    html! {
        section.comments #comments aria-labelledby="comments-h" {
            h2 #comments-h { "Comments" }
            @if comments.is_empty() { p.muted { "No comments yet." } }
            ol.comments {
                @for c in comments {
                    li #{ "comment-" (c.id) } class=(if c.hidden { "comment hidden" } else { "comment" }) {
                        p.meta {
                            strong { (c.display_name) } " @" (c.username) " · "
                            time datetime=(c.created_at.to_rfc3339()) { (c.created_at.format("%Y-%m-%d %H:%M UTC")) }
                            @if c.edited_at.is_some() { " · edited" }
                            @if c.hidden { " · " strong { "hidden by a moderator" } }
                        }
                        div.body { (comment_html(&c.body)) }
                        @if can_edit(c, viewer) || can_delete(c, viewer) || viewer.is_admin() {
                            div.actions {
                                @if can_edit(c, viewer) { a href={ "/comments/" (c.id) "/edit" } { "Edit" } }
                                @if can_delete(c, viewer) {
                                    form.inline method="post" action={ "/comments/" (c.id) "/delete" } {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        button type="submit" { "Delete" }
                                    }
                                }
                                @if viewer.is_admin() {
                                    form.inline method="post" action={ "/comments/" (c.id) (if c.hidden { "/show" } else { "/hide" }) } {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        button type="submit" { (if c.hidden { "Show" } else { "Hide" }) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @match &viewer.account {
                Some(a) if !a.blocked => {
                    form.stack method="post" action={ "/papers/" (id) "/comments" } {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        label for="comment-body" { "Add a comment (plain text; links and " code { "$math$" } " work)" }
                        textarea #comment-body name="body" rows="4" required maxlength=(MAX_COMMENT_CHARS) {}
                        button type="submit" { "Comment" }
                    }
                }
                Some(_) => p.muted { "This account is blocked." },
                None => p { a href={ "/login?next=/papers/" (id) } { "Sign in" } " to comment." },
            }
        }
    }
}

/// The administrator's controls on a paper page.
pub fn paper_moderation(view: &PaperView, viewer: &Viewer) -> Markup {
    html! {
        section.moderation aria-label="Moderation" {
            form.inline method="post" action={ "/papers/" (view.paper.id) "/hide" } {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label { "Reason " input name="reason" maxlength="200"; }
                button type="submit" { "Hide this paper" }
            }
        }
    }
}

pub async fn comment_edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<CommentId>,
) -> PageResult {
    let c = state
        .store
        .comment(id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such comment."))?;
    if !can_edit(&c, &viewer) {
        return Err(ApiError::forbidden(
            "not_editable",
            format!("Comments can be edited by their author for {EDIT_MINUTES} minutes."),
        )
        .into());
    }
    Ok(html_response(page(
        &Frame::of(&viewer),
        "Edit comment",
        html! {
            h1 { "Edit your comment" }
            form.stack method="post" action={ "/comments/" (c.id) "/edit" } {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="comment-body" { "Comment" }
                textarea #comment-body name="body" rows="6" required maxlength=(MAX_COMMENT_CHARS) { (c.body) }
                button type="submit" { "Save" }
            }
            p { a href={ "/papers/" (c.paper_id) "#comment-" (c.id) } { "Back to the paper" } }
        },
    )))
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    csrf: Option<String>,
    body: Option<String>,
    reason: Option<String>,
}

pub async fn comment_post(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    headers: HeaderMap,
    Path((id, action)): Path<(CommentId, String)>,
    f: Result<Form<CommentForm>, FormRejection>,
) -> PageResult {
    let f = form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    let account = viewer.require()?;
    let c = state
        .store
        .comment(id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such comment."))?;
    let back = format!("/papers/{}#comments", c.paper_id);
    let now = Utc::now();
    match action.as_str() {
        "edit" => {
            if !can_edit(&c, &viewer) {
                return Err(ApiError::forbidden(
                    "not_editable",
                    format!("Comments can be edited by their author for {EDIT_MINUTES} minutes."),
                )
                .into());
            }
            let body = f.body.as_deref().unwrap_or_default().trim();
            check_comment(body)?;
            // An edit publishes text like a new comment does, and counts the same.
            limits::check(&state, Action::Comment, &keys(&viewer, &ip)).await?;
            state.store.edit_comment(id, body, now).await?;
        }
        "delete" => {
            if !can_delete(&c, &viewer) {
                return Err(ApiError::forbidden(
                    "forbidden",
                    "Only its author or a moderator may delete a comment.",
                )
                .into());
            }
            if c.account_id == account.id {
                state.store.delete_comment(id).await?;
            } else {
                // Someone else's comment: moderation, logged in the same transaction.
                let reason = f.reason.as_deref().unwrap_or_default().trim();
                state
                    .store
                    .moderate(
                        &account.username,
                        Moderation::DeleteComment(id),
                        reason,
                        now,
                    )
                    .await?;
            }
        }
        "hide" | "show" => {
            let admin = viewer.require_admin()?;
            let m = if action == "hide" {
                Moderation::HideComment(id)
            } else {
                Moderation::ShowComment(id)
            };
            let reason = f.reason.as_deref().unwrap_or_default().trim();
            state
                .store
                .moderate(&admin.username, m, reason, now)
                .await?;
        }
        _ => return Err(ApiError::not_found("There is nothing to post to here.").into()),
    }
    Ok(see_other(&back))
}

/// `POST /comments/{id}/edit` (the edit form's own address).
pub async fn comment_edit_post(
    state: State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    headers: HeaderMap,
    Path(id): Path<CommentId>,
    f: Result<Form<CommentForm>, FormRejection>,
) -> PageResult {
    comment_post(state, viewer, ip, headers, Path((id, "edit".to_owned())), f).await
}

// --- Submissions ---

pub async fn submit_form(viewer: Viewer) -> PageResult {
    viewer.require()?;
    Ok(html_response(page(
        &Frame::of(&viewer),
        "Submit a paper",
        html! {
            h1 { "Submit a paper" }
            p { "Found a paper worth reading? Give its arXiv id or address; it goes on today's list with your name." }
            form.stack method="post" action="/submit" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label for="paper" { "arXiv id or URL" }
                input #paper name="paper" required maxlength="200" placeholder="2505.15612 or https://arxiv.org/abs/2505.15612";
                button type="submit" { "Submit" }
            }
        },
    )))
}

#[derive(Debug, Deserialize)]
pub struct SubmitForm {
    csrf: Option<String>,
    paper: String,
}

pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    headers: HeaderMap,
    f: Result<Form<SubmitForm>, FormRejection>,
) -> PageResult {
    let f = form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    let account = viewer.require()?;
    let id = VersionedId::parse(&f.paper)
        .map_err(|_| ApiError::invalid(format!("{:?} is not an arXiv id or URL", f.paper.trim())))?
        .id;
    if let Some(v) = state.store.paper(&id).await? {
        if let Some(e) = &v.entry {
            return Ok(duplicate(&viewer, &id, e.day));
        }
    }
    limits::check(&state, Action::Submit, &keys(&viewer, &ip)).await?;
    let now = Utc::now();
    let paper = match state.store.paper(&id).await? {
        Some(v) => v.paper,
        None => {
            let Some(source) = &state.paper_source else {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "no_source",
                    "This server cannot fetch papers from arXiv.",
                )
                .into());
            };
            match source.fetch(&id).await {
                Ok(p) => p,
                Err(e) => {
                    return Ok(notice_page(
                        &viewer,
                        StatusCode::BAD_GATEWAY,
                        "arXiv did not answer",
                        html! { p.notice { "The paper's details could not be fetched from arXiv: " (e) ". Nothing was submitted; try again later." } },
                    ));
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
        SubmitOutcome::Duplicate(day) => Ok(duplicate(&viewer, &id, day)),
    }
}

fn duplicate(viewer: &Viewer, id: &ArxivId, day: chrono::NaiveDate) -> Response {
    notice_page(
        viewer,
        StatusCode::CONFLICT,
        "Already submitted",
        html! { p.notice { "This paper is already on the " a href={ "/papers/date/" (day) } { (day) } " list: "
        a href={ "/papers/" (id) } { "see it there" } "." } },
    )
}

// --- Moderation ---

pub async fn admin_page(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    viewer.require_admin()?;
    let queue = state.store.moderation_queue().await?;
    let log = state.store.audit_log(100).await?;
    let stats = state.store.stats().await?;
    let csrf = viewer.csrf.clone();
    Ok(html_response(page(
        &Frame::of(&viewer),
        "Moderation",
        html! {
            h1 { "Moderation" }
            p { (stats.accounts) " accounts · " (stats.votes) " votes · " (stats.comments) " comments" }
            h2 { "Block an account" }
            form.inline method="post" action="/admin/block" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Username " input name="username" required maxlength="32"; }
                label { "Reason " input name="reason" maxlength="200"; }
                button type="submit" { "Block" }
            }
            h2 { "Blocked accounts" }
            @if queue.blocked_accounts.is_empty() { p.muted { "None." } }
            ul { @for a in &queue.blocked_accounts {
                li { (a.username) " "
                    form.inline method="post" action="/admin/unblock" {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="username" value=(a.username);
                        button type="submit" { "Unblock" }
                    }
                }
            } }
            h2 { "Hidden papers" }
            @if queue.hidden_papers.is_empty() { p.muted { "None." } }
            ul { @for (id, title) in &queue.hidden_papers {
                li { (id) " · " (squash(title)) " "
                    form.inline method="post" action={ "/papers/" (id) "/show" } {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Show again" }
                    }
                }
            } }
            h2 { "Hidden comments" }
            @if queue.hidden_comments.is_empty() { p.muted { "None." } }
            ul { @for c in &queue.hidden_comments {
                li { a href={ "/papers/" (c.paper_id) "#comment-" (c.id) } { "Comment " (c.id) } " by @" (c.username) ": "
                    (c.body.chars().take(120).collect::<String>()) " "
                    form.inline method="post" action={ "/comments/" (c.id) "/show" } {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Show again" }
                    }
                }
            } }
            h2 { "Audit log" }
            @if log.is_empty() { p.muted { "Nothing yet." } }
            table.audit {
                thead { tr { th { "When" } th { "Who" } th { "What" } th { "Target" } th { "Why" } } }
                tbody { @for e in &log {
                    tr { td { (e.at.format("%Y-%m-%d %H:%M")) } td { (e.actor) } td { (e.action) } td { (e.target) } td { (e.detail) } }
                } }
            }
        },
    )))
}

#[derive(Debug, Deserialize)]
pub struct BlockForm {
    csrf: Option<String>,
    username: String,
    reason: Option<String>,
}

pub async fn admin_account(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(action): Path<String>,
    f: Result<Form<BlockForm>, FormRejection>,
) -> PageResult {
    let f = form(f)?;
    viewer.check_csrf(&headers, f.csrf.as_deref())?;
    let admin = viewer.require_admin()?;
    let name = f.username.trim().to_owned();
    let m = match action.as_str() {
        "block" => Moderation::Block(name.clone()),
        "unblock" => Moderation::Unblock(name.clone()),
        _ => return Err(ApiError::not_found("There is nothing to post to here.").into()),
    };
    if name.eq_ignore_ascii_case(&admin.username) {
        return Err(ApiError::invalid("you cannot block yourself").into());
    }
    let reason = f.reason.as_deref().unwrap_or_default().trim();
    if !state
        .store
        .moderate(&admin.username, m, reason, Utc::now())
        .await?
    {
        return Err(ApiError::not_found(format!("No account {name:?}.")).into());
    }
    Ok(see_other("/admin"))
}

// --- Trending and how ranking works ---

pub async fn trending_page(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let list = crate::query::trending(&state, 50, Utc::now()).await?;
    let votes = Votes::load(
        &state,
        &viewer,
        list.iter().map(|(v, _)| v.paper.id.clone()),
    )
    .await?;
    let frame = Frame {
        feed: Some("/feeds/trending".into()),
        ..Frame::of(&viewer)
    };
    Ok(html_response(page(
        &frame,
        "Trending papers",
        html! {
            h1 { "Trending papers" }
            p.muted { "Recent votes count most. " a href="/about/ranking" { "How ranking works" } }
            @if list.is_empty() { p.notice { "Nothing has been voted for lately." } }
            ol.entries {
                @for (i, (v, score)) in list.iter().enumerate() {
                    (crate::pages::entry_with_score(i + 1, v, &votes, *score))
                }
            }
        },
    )))
}

pub async fn ranking_page(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let t = state.settings.trending;
    Ok(html_response(page(
        &Frame::of(&viewer),
        "How ranking works",
        html! {
            h1 { "How ranking works" }
            h2 { "Daily, weekly and monthly lists" }
            p { "Papers are ordered by upvotes: votes imported from Hugging Face plus votes cast here, shown as one number. "
                "Ties keep the order in which papers were put on the list. A paper on several days of a week or month counts once, on its best day." }
            h2 { "Trending" }
            p { "Every vote is worth less as it ages. A vote cast " i { "h" } " hours ago is worth" }
            p.formula { code { "1 / (h + " (t.offset_hours) ")^" (t.gravity) } }
            p { "and a paper's trending score is the sum over its votes. Votes imported from Hugging Face carry no time, so they count as cast when the paper was put on its daily list. "
                "The offset of " (t.offset_hours) " hours keeps a brand-new vote from counting infinitely; the gravity of " (t.gravity)
                " means a day-old vote is worth about " (format!("{:.0}", (24.0 + t.offset_hours).powf(t.gravity) / t.offset_hours.powf(t.gravity)))
                " times less than a new one. Papers listed or voted for in the last " (state.settings.trending_window_days) " days are ranked." }
            p { "The operator sets both numbers (" code { "trending_gravity" } ", " code { "trending_offset_hours" } "). "
                "Each paper's score is in the API: " a href="/api/trending" { code { "/api/trending" } } " and " code { "/api/daily_papers?sort=trending" } " give " code { "trendingScore" } "." }
            h2 { "Search" }
            p { "Search combines keyword relevance (BM25) with meaning (sentence embeddings): "
                (format!("{:.0}%", state.settings.fusion.semantic_weight * 100.0)) " cosine similarity plus "
                (format!("{:.0}%", (1.0 - state.settings.fusion.semantic_weight) * 100.0)) " BM25 scaled to the best match. Votes do not change search order." }
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_escaped_linked_and_mathed() {
        let html = comment_html(
            "See https://example.org/a?b=1&c=2. And <script>alert(1)</script>\n\n$x^2$ \"quoted\"",
        )
        .into_string();
        assert!(
            html.contains(
                "<a href=\"https://example.org/a?b=1&amp;c=2\" rel=\"nofollow ugc noopener\">"
            ),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("<math"), "{html}");
        assert_eq!(html.matches("<p>").count(), 2);
        let sneaky = comment_html("https://x.org/\"onmouseover=alert(1)").into_string();
        assert!(!sneaky.contains("\"onmouseover"), "{sneaky}");
    }

    #[test]
    fn emails_are_checked_loosely() {
        assert!(valid_email("a@b.org"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("a b@c.org"));
        assert!(!valid_email("<a@b.org>"));
    }
}
