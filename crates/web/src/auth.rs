//! Who is asking, and may they: sign-in by emailed link, sessions in cookies, CSRF tokens.
//!
//! - A sign-in link carries 32 random bytes; the store keeps only their SHA-256, for 15 minutes,
//!   and the link works once. Opening it shows a button (mail scanners that follow links must not
//!   use it up); pressing the button signs in.
//! - A session is another 32 random bytes in the `pb_session` cookie (HttpOnly, SameSite=Lax,
//!   Secure when the public URL is https), hashed in the store. It lasts `session_days` from
//!   when it was made, checked on the server at every request (the cookie's Max-Age says the
//!   same); sign-ins remove expired ones. Signing out ends it; "sign out everywhere" ends them all.
//! - Every visitor gets a random `pb_csrf` cookie; every form carries the same value in a hidden
//!   `csrf` field (scripts send it as `X-CSRF-Token`), and a POST whose value does not match is
//!   refused. Another site can make a browser send the cookie, but cannot read it. Signing in
//!   gives a new one, so a token planted before sign-in is worthless after it.
//! - Administrators are the first account, accounts whose email is in `admins`, and the accounts
//!   that held a username in `admins` when the server started ([`resolve_admins`]): a name a
//!   reader can take later makes nobody an administrator.

use std::future::Future;
use std::pin::Pin;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use paperboy_store::Account;
use sha2::{Digest, Sha256};

use crate::{ApiError, AppState};

pub const SESSION_COOKIE: &str = "pb_session";
pub const CSRF_COOKIE: &str = "pb_csrf";
/// How long a sign-in link works.
pub const LINK_MINUTES: i64 = 15;
/// How long a session lasts without signing in again, unless `session_days` says otherwise.
pub const SESSION_DAYS: i64 = 30;
/// How long a visitor's CSRF cookie is kept (the longest browsers allow).
pub const CSRF_COOKIE_DAYS: i64 = 400;

/// 32 random bytes as 64 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the store keeps of a secret token.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Compares without stopping at the first difference.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value. `max_age` 0 deletes the cookie.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_secs: i64,
    secure: bool,
    http_only: bool,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; Max-Age={max_age_secs}; SameSite=Lax");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are hex")
}

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

/// The signed-in account, if any, and the CSRF token forms must carry.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub account: Option<Account>,
    pub csrf: String,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.account
            .as_ref()
            .is_some_and(|a| a.is_admin && !a.blocked)
    }

    /// The account, or a 401 that tells how to sign in.
    pub fn require(&self) -> Result<&Account, ApiError> {
        match &self.account {
            Some(a) if !a.blocked => Ok(a),
            Some(_) => Err(ApiError::forbidden("blocked", "This account is blocked.")),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "sign_in_required",
                "Sign in first: /login",
            )),
        }
    }

    pub fn require_admin(&self) -> Result<&Account, ApiError> {
        let a = self.require()?;
        if a.is_admin {
            Ok(a)
        } else {
            Err(ApiError::forbidden(
                "forbidden",
                "Only administrators may do this.",
            ))
        }
    }

    /// Refuses a state-changing request whose token (form field or `X-CSRF-Token`) is not the
    /// visitor's.
    pub fn check_csrf(&self, headers: &HeaderMap, field: Option<&str>) -> Result<(), ApiError> {
        let sent = field
            .filter(|f| !f.is_empty())
            .or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()));
        match sent {
            Some(s) if same(s, &self.csrf) && cookie(headers, CSRF_COOKIE).is_some() => Ok(()),
            _ => Err(ApiError::forbidden(
                "csrf",
                "This form has expired or did not come from this site: reload the page and try again.",
            )),
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let mut account = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) if !token.is_empty() => {
                let not_before = chrono::Utc::now() - state.settings.session_lifetime();
                state.store.session(&token_hash(token), not_before).await?
            }
            _ => None,
        };
        if let Some(a) = &mut account {
            a.is_admin |= state.settings.admin_accounts.contains(&a.id);
        }
        Ok(Viewer { account, csrf })
    }
}

/// The accounts that hold the usernames listed in `admins` (entries without `@`) now, at start:
/// only they are administrators by name. Each is logged; a name that matches nobody is a
/// warning (the operator may have mistyped it), never an error.
pub async fn resolve_admins(
    store: &dyn paperboy_store::Store,
    admins: &[String],
) -> Result<Vec<paperboy_store::AccountId>, paperboy_store::StoreError> {
    let mut ids = Vec::new();
    for name in admins.iter().map(|a| a.trim()).filter(|a| !a.contains('@')) {
        match store.account_by_username(name).await? {
            Some(a) => {
                tracing::info!(
                    entry = name,
                    account = a.id.get(),
                    username = a.username,
                    email = a.email,
                    "administrator by username (the account holding it now, at start)"
                );
                ids.push(a.id);
            }
            None => tracing::warn!(
                entry = name,
                "admins names a username no account holds: it makes nobody an administrator \
                 (an account that takes the name later is not one either; list emails to be sure)"
            ),
        }
    }
    Ok(ids)
}

/// Sends the mails people ask for: sign-in links and subscription confirmations. The default
/// writes them to the log, so a server without SMTP still works (the operator passes links on).
pub trait Postman: Send + Sync {
    fn send<'a>(
        &'a self,
        to: &'a str,
        link: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
    /// The double opt-in mail: `what` describes the subscription ("daily ... about cs.CL").
    fn confirm_subscription<'a>(
        &'a self,
        to: &'a str,
        link: &'a str,
        frequency: &'a str,
        topics: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
    /// Whether links leave the machine (false: they are in the server log).
    fn delivers(&self) -> bool;
}

pub struct LogMailer;

impl Postman for LogMailer {
    fn send<'a>(
        &'a self,
        to: &'a str,
        link: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            tracing::info!(
                to,
                link,
                "sign-in link (no SMTP server configured, so it is logged)"
            );
            Ok(())
        })
    }

    fn confirm_subscription<'a>(
        &'a self,
        to: &'a str,
        link: &'a str,
        _frequency: &'a str,
        _topics: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            tracing::info!(
                to,
                link,
                "subscription confirmation link (no SMTP server configured, so it is logged)"
            );
            Ok(())
        })
    }

    fn delivers(&self) -> bool {
        false
    }
}

/// HMAC-SHA-256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// A link token for a subscription: `{id}.{mac}`, the MAC over the purpose and the id with the
/// server's secret. It needs no login and works as long as the subscription and secret exist.
pub fn sign(secret: &str, purpose: &str, id: i64) -> String {
    let mac = hmac_sha256(secret.as_bytes(), format!("{purpose}:{id}").as_bytes());
    format!("{id}.{}", hex(&mac[..16]))
}

/// The subscription id a token names, if its MAC is right for `purpose`.
pub fn verify(secret: &str, purpose: &str, token: &str) -> Option<i64> {
    let (id, _) = token.split_once('.')?;
    let id: i64 = id.parse().ok()?;
    same(&sign(secret, purpose, id), token).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_and_tokens_refuse_tampering() {
        // RFC 4231 test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let t = sign("s3cret", "manage", 42);
        assert_eq!(verify("s3cret", "manage", &t), Some(42));
        assert_eq!(verify("s3cret", "confirm", &t), None, "another purpose");
        assert_eq!(verify("other", "manage", &t), None, "another secret");
        for i in 0..t.len() {
            let mut b = t.clone().into_bytes();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            let changed = String::from_utf8(b).unwrap();
            if changed != t {
                assert_eq!(
                    verify("s3cret", "manage", &changed),
                    None,
                    "byte {i} changed"
                );
            }
        }
    }

    #[test]
    fn tokens_are_random_and_hashes_fixed() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; pb_session=xyz; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, CSRF_COOKIE), None);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
