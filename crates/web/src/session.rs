//! Secrets that stand for a person, and the cookies that carry them.
//!
//! - A sign-in link carries 32 random bytes; the store keeps only their SHA-256, for 15 minutes,
//!   and the link works once. Opening it shows a button (mail scanners that follow links must not
//!   use it up); pressing the button signs in.
//! - A session is another 32 random bytes in the `pb_session` cookie (HttpOnly, SameSite=Lax,
//!   Secure when the public URL is https), hashed in the store. It lasts `session_days` from
//!   when it was made, checked on the server at every request (the cookie's Max-Age says the
//!   same); sign-ins remove expired ones. Signing out ends it; "sign out everywhere" ends them all.

use axum::http::{header, HeaderMap, HeaderValue};
use paperboy_core::signed::hex;
use sha2::{Digest, Sha256};

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

/// What the store keeps of a secret token.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
