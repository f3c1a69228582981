//! Where a response may send the browser next. Every redirect goes through [`see_other`], and
//! every address that came from a request (`next` after signing in, voting or a form) through
//! [`on_site_path`]: only a path on this site, never another site, and never a value that cannot
//! stand in a `Location` header (which would fail after the request had already changed state).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Longest `next` kept; a longer one falls back.
const MAX_NEXT: usize = 2_000;

/// `next` when it is a path on this site, else `fallback`.
///
/// Accepted: a path starting with one `/`, then no second `/` or `\` (browsers read `//host`
/// and `/\host` as another site), with no backslash, whitespace or control character anywhere,
/// also after one round of percent-decoding (browsers drop or rewrite `%09`, `\t`, `\n` before
/// resolving, so `/\t/evil.example` becomes `//evil.example`), at most 2,000 bytes. Characters
/// outside ASCII are percent-encoded so that the result is always a valid header value.
pub fn on_site_path(next: Option<&str>, fallback: &str) -> String {
    match next.and_then(checked) {
        Some(p) => p,
        None => fallback.to_owned(),
    }
}

fn checked(next: &str) -> Option<String> {
    if next.len() > MAX_NEXT {
        return None;
    }
    let decoded = percent_decoded(next);
    for s in [next, decoded.as_str()] {
        let b = s.as_bytes();
        let bad = |c: char| c.is_control() || c.is_whitespace() || c == '\\';
        if b.first() != Some(&b'/') || matches!(b.get(1), Some(b'/')) || s.chars().any(bad) {
            return None;
        }
    }
    Some(encode_non_ascii(next))
}

/// One round of `%XX` decoding, lossy: enough to see what a browser would see.
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode_non_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// A 303 See Other to `to`, a path this server made or [`on_site_path`] checked. Never panics:
/// a value that cannot be a header (it would be a bug) sends the browser to `/` instead.
pub fn see_other(to: &str) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or_else(|_| {
        tracing::error!(to, "a redirect target is not a valid header value");
        HeaderValue::from_static("/")
    });
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_kept() {
        for good in [
            "/",
            "/papers/1",
            "/search?q=a+b&page=2",
            "/papers/2501.00001#comments",
        ] {
            assert_eq!(on_site_path(Some(good), "/x"), good);
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example/x",
            "/%09/evil.example/x",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "/a\nb",
            "/a%0Ab",
            "/a%0d%0aSet-Cookie:x=1",
            "https://evil.example",
            "evil.example",
            "javascript:alert(1)",
            " /papers",
            "/pa pers",
            "/\u{85}x",
            "",
        ] {
            assert_eq!(on_site_path(Some(bad), "/x"), "/x", "{bad:?}");
        }
        assert_eq!(on_site_path(None, "/x"), "/x");
        assert_eq!(
            on_site_path(Some(&format!("/{}", "a".repeat(3000))), "/x"),
            "/x"
        );
        assert_eq!(on_site_path(Some("/é%"), "/x"), "/%C3%A9%");
    }

    #[test]
    fn redirects_never_panic() {
        let r = see_other("/a\nb");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[header::LOCATION], "/");
        assert_eq!(see_other("/papers").headers()[header::LOCATION], "/papers");
    }
}
