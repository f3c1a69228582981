//! Forms that only this site's pages can post. Every visitor gets a random `pb_csrf` cookie;
//! every form carries the same value in a hidden `csrf` field (scripts send it as
//! `X-CSRF-Token`), and a POST whose value does not match is refused. Another site can make a
//! browser send the cookie, but cannot read it. Signing in gives a new one, so a token planted
//! before sign-in is worthless after it.
//!
//! A handler takes its form as a [`CsrfForm`], which checks the token before parsing anything;
//! the route table takes only POST handlers whose body is one ([`EndsInCsrfForm`]).

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use paperboy_core::signed::same;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{ApiError, Code};
use crate::session::{cookie, random_token, set_cookie, CSRF_COOKIE, CSRF_COOKIE_DAYS};
use crate::state::AppState;

/// The request's CSRF token (from its cookie, or new), stored by [`csrf_cookie`].
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Gives every visitor a CSRF cookie: reads it, or makes one and sets it on the response.
pub async fn csrf_cookie(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    let (token, fresh) = match existing {
        Some(t) => (t, false),
        None => (random_token(), true),
    };
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(req).await;
    if fresh {
        // Readable by the page's script (it sends it back as a header), like the form field.
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(
                CSRF_COOKIE,
                &token,
                CSRF_COOKIE_DAYS * 24 * 3600,
                state.settings.secure_cookies(),
                false,
            ),
        );
    }
    response
}

/// A form posted from one of this site's pages: its token matched the visitor's cookie, and the
/// rest of its fields parsed as `T` (a form that does not is the `invalid_parameter` error).
pub struct CsrfForm<T>(pub T);

/// The fields of a form that carries nothing but its token (sign out, confirm, stop).
#[derive(Debug, Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct TokenField {
    csrf: Option<String>,
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| ApiError::invalid(e.body_text()))?;
        // axum's own form reading, twice over the same bytes: once for the token, once for `T`.
        let form = |bytes: &Bytes| Request::from_parts(parts.clone(), Body::from(bytes.clone()));
        let field = axum::Form::<TokenField>::from_request(form(&bytes), state)
            .await
            .ok()
            .and_then(|axum::Form(f)| f.csrf);
        check(&parts, field.as_deref())?;
        let axum::Form(fields) = axum::Form::<T>::from_request(form(&bytes), state)
            .await
            .map_err(|e| ApiError::invalid(e.body_text()))?;
        Ok(CsrfForm(fields))
    }
}

/// Refuses a request whose token (form field, else `X-CSRF-Token`) is not the visitor's.
fn check(parts: &Parts, field: Option<&str>) -> Result<(), ApiError> {
    let sent = field.filter(|f| !f.is_empty()).or_else(|| {
        parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
    });
    let visitors = parts.extensions.get::<CsrfToken>();
    match (sent, visitors) {
        (Some(s), Some(CsrfToken(v)))
            if same(s, v) && cookie(&parts.headers, CSRF_COOKIE).is_some() =>
        {
            Ok(())
        }
        _ => Err(ApiError::new(
            Code::CSRF,
            "This form has expired or did not come from this site: reload the page and try again.",
        )),
    }
}

/// The argument lists of handlers whose body is a [`CsrfForm`]: axum names a handler's
/// arguments `(M, T1, …, Tn)`, the body last.
pub trait EndsInCsrfForm {}

macro_rules! ends_in_csrf_form {
    ($($t:ident),*) => {
        impl<M, $($t,)* F> EndsInCsrfForm for (M, $($t,)* CsrfForm<F>,) {}
    };
}

ends_in_csrf_form!();
ends_in_csrf_form!(T1);
ends_in_csrf_form!(T1, T2);
ends_in_csrf_form!(T1, T2, T3);
ends_in_csrf_form!(T1, T2, T3, T4);
ends_in_csrf_form!(T1, T2, T3, T4, T5);
ends_in_csrf_form!(T1, T2, T3, T4, T5, T6);
ends_in_csrf_form!(T1, T2, T3, T4, T5, T6, T7);
