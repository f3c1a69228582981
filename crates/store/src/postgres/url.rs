//! Reading a PostgreSQL connection string the way libpq does where the locked tokio-postgres does
//! not: `sslmode` has five values there but three here, and tokio-postgres refuses the options it
//! does not know (`sslrootcert`). [`split`] takes the TLS options out of either form
//! (`postgres://...?sslmode=verify-full` or libpq's `key=value ...`) and leaves the rest for
//! `postgres::Config`. [`redact`] hides the password in both forms.

use std::borrow::Cow;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, certificate not checked (libpq's default).
    Prefer,
    /// TLS or no connection; the certificate is not checked unless a CA file is given (as libpq).
    Require,
    /// TLS, certificate chain checked against the CAs, host name not.
    VerifyCa,
    /// TLS, certificate chain and host name checked.
    VerifyFull,
}

/// Each mode by its name in a connection string.
const MODES: [(&str, SslMode); 5] = [
    ("disable", SslMode::Disable),
    ("prefer", SslMode::Prefer),
    ("require", SslMode::Require),
    ("verify-ca", SslMode::VerifyCa),
    ("verify-full", SslMode::VerifyFull),
];

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, String> {
        // libpq's "allow" tries without TLS first; tokio-postgres cannot, and quietly reading it
        // as another mode would change what the operator asked for.
        if value == "allow" {
            return Err(
                "sslmode=allow is not supported: use prefer (TLS when the server offers \
                 it) or disable"
                    .into(),
            );
        }
        let mode = MODES.iter().find(|(name, _)| *name == value).map(|m| m.1);
        mode.ok_or_else(|| {
            format!(
                "sslmode={value} is not one of disable, prefer, require, verify-ca, verify-full"
            )
        })
    }

    pub fn as_str(self) -> &'static str {
        MODES.iter().find(|m| m.1 == self).expect("every mode").0
    }
}

impl std::fmt::Display for SslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A connection string with its TLS options taken out.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Split {
    /// What `postgres::Config` reads.
    pub rest: String,
    /// `sslmode`, if given (the last one wins, as in libpq).
    pub mode: Option<SslMode>,
    /// `sslrootcert`, if given and not empty: a file, or `system`.
    pub root_cert: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL or a libpq `key=value` string.
pub(crate) fn split(url: &str) -> Result<Split, String> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: &str| -> Result<bool, String> {
        match key {
            "sslmode" => mode = Some(SslMode::parse(value)?),
            "sslrootcert" => root_cert = (!value.is_empty()).then(|| value.to_owned()),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = if let Some((base, query)) = url_query(url) {
        let mut kept = Vec::new();
        for param in query.split('&') {
            // A parameter without `=` is left for tokio-postgres to refuse with its own words.
            let taken = match param.split_once('=') {
                Some((key, value)) => take(&decode(key)?, &decode(value)?)?,
                None => false,
            };
            if !taken {
                kept.push(param);
            }
        }
        if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else if is_url(url) {
        url.to_owned()
    } else {
        let mut kept = Vec::new();
        for (key, value) in keyword_pairs(url)? {
            if !take(&key, &value)? {
                kept.push(format!("{key}={}", quote(&value)));
            }
        }
        kept.join(" ")
    };
    Ok(Split {
        rest,
        mode,
        root_cert,
    })
}

fn is_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// A URL's part before the query string and the query string, if it has one. Where the query
/// starts is read as tokio-postgres reads it: credentials run to the first `@` (a password may
/// hold `?` or `/` unencoded), and the query starts at the first `?` after them.
fn url_query(url: &str) -> Option<(&str, &str)> {
    if !is_url(url) {
        return None;
    }
    let after_scheme = url.find("://")? + 3;
    let after_credentials = url[after_scheme..]
        .find('@')
        .map_or(after_scheme, |i| after_scheme + i + 1);
    let q = after_credentials + url[after_credentials..].find('?')?;
    Some((&url[..q], &url[q + 1..]))
}

fn decode(s: &str) -> Result<Cow<'_, str>, String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map_err(|_| "the connection string's query is not UTF-8 once percent-decoded".to_owned())
}

/// The pairs of a libpq `key=value` string, read as tokio-postgres reads it: values in single
/// quotes or up to the next white space, a backslash escaping the character after it.
fn keyword_pairs(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut it = s.chars().peekable();
    let mut pairs = Vec::new();
    let skip_ws = |it: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
    };
    loop {
        skip_ws(&mut it);
        let mut key = String::new();
        while let Some(&c) = it.peek() {
            if c.is_whitespace() || c == '=' {
                break;
            }
            key.push(c);
            it.next();
        }
        if key.is_empty() {
            if it.peek().is_some() {
                return Err("a connection string parameter has no name before `=`".into());
            }
            return Ok(pairs);
        }
        skip_ws(&mut it);
        if it.next() != Some('=') {
            return Err(format!(
                "connection string parameter `{key}` has no `=` and value"
            ));
        }
        skip_ws(&mut it);
        let mut value = String::new();
        if it.peek() == Some(&'\'') {
            it.next();
            loop {
                match it.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(it.next()),
                    Some(c) => value.push(c),
                    None => {
                        return Err(format!(
                            "connection string parameter `{key}` has an unterminated quoted value"
                        ))
                    }
                }
            }
        } else {
            while let Some(&c) = it.peek() {
                if c.is_whitespace() {
                    break;
                }
                it.next();
                if c == '\\' {
                    value.extend(it.next());
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() {
                return Err(format!("connection string parameter `{key}` has no value"));
            }
        }
        pairs.push((key, value));
    }
}

/// A value in single quotes, as [`keyword_pairs`] reads it back.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// `postgres://user:password@host/db` (or any `scheme://` URL, or libpq's `key=value` form) with
/// the password replaced by `***`, for logs, settings output and errors. A `password` parameter in
/// the query string is hidden too.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return redact_keywords(url);
    };
    // Credentials end at the last `@` before the query string: a password with an unencoded `@`,
    // `/` or `?` is hidden whole rather than cut where the host seems to start.
    let first_at = rest.find('@');
    let query_at = match first_at {
        Some(at) => rest[at..].find('?').map(|q| at + q),
        None => rest.find('?'),
    };
    let (head, query) = match query_at {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };
    let head = match head.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => head.to_owned(),
        },
        None => head.to_owned(),
    };
    match query {
        Some(query) => {
            let params: Vec<Cow<'_, str>> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _)) if is_password(key) => format!("{key}=***").into(),
                    _ => param.into(),
                })
                .collect();
            format!("{scheme}://{head}?{}", params.join("&"))
        }
        None => format!("{scheme}://{head}"),
    }
}

fn is_password(key: &str) -> bool {
    decode(key).is_ok_and(|k| k == "password")
}

/// libpq's `key=value` form with the password's value replaced. A string that does not read as
/// that form but mentions a password is cut there: better too little shown than the secret.
fn redact_keywords(s: &str) -> String {
    if !s.contains('=') {
        return s.to_owned();
    }
    match keyword_pairs(s) {
        Ok(pairs) if !pairs.iter().any(|(k, _)| k == "password") => s.to_owned(),
        Ok(pairs) => pairs
            .into_iter()
            .map(|(k, v)| {
                if k == "password" {
                    format!("{k}=***")
                } else {
                    format!("{k}={}", quote(&v))
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        Err(_) => match s.find("password") {
            Some(i) => format!("{}password=***", &s[..i]),
            None => s.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_ok(url: &str) -> Split {
        split(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn urls_without_tls_options_pass_through() {
        for url in [
            "postgres://u:p@h:5432/db",
            "postgresql://u@h/db?application_name=x&connect_timeout=3",
            "postgres://h",
        ] {
            let s = split_ok(url);
            assert_eq!(s.rest, url);
            assert_eq!((s.mode, s.root_cert), (None, None));
        }
    }

    #[test]
    fn tls_options_leave_the_url_and_the_rest_stays() {
        let s = split_ok("postgres://u:p@db.example:5432/paperboy?sslmode=verify-full&application_name=pb&sslrootcert=/etc/pb/ca.pem");
        assert_eq!(
            s.rest,
            "postgres://u:p@db.example:5432/paperboy?application_name=pb"
        );
        assert_eq!(s.mode, Some(SslMode::VerifyFull));
        assert_eq!(s.root_cert.as_deref(), Some("/etc/pb/ca.pem"));

        let s = split_ok("postgres://u@h/db?sslmode=verify-ca");
        assert_eq!(s.rest, "postgres://u@h/db");
        assert_eq!(s.mode, Some(SslMode::VerifyCa));
        // The modes tokio-postgres knows are taken out too: one place decides.
        for (v, m) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
        ] {
            let s = split_ok(&format!("postgres://h/db?sslmode={v}&port=5433"));
            assert_eq!(s.rest, "postgres://h/db?port=5433");
            assert_eq!(s.mode, Some(m));
        }
    }

    #[test]
    fn the_query_string_is_percent_decoded() {
        let s = split_ok(
            "postgres://h/db?ssl%6Dode=verify%2Dfull&sslrootcert=%2Fsrv%2Fmy%20ca%26more.pem",
        );
        assert_eq!(s.rest, "postgres://h/db");
        assert_eq!(s.mode, Some(SslMode::VerifyFull));
        assert_eq!(s.root_cert.as_deref(), Some("/srv/my ca&more.pem"));
        // Other parameters are left exactly as written, for tokio-postgres to decode.
        let s = split_ok("postgres://h/db?options=-c%20statement_timeout%3D5s&sslmode=require");
        assert_eq!(
            s.rest,
            "postgres://h/db?options=-c%20statement_timeout%3D5s"
        );
    }

    #[test]
    fn a_password_with_a_question_mark_is_not_a_query() {
        let s = split_ok("postgres://u:pa?ss@h/db?sslmode=verify-full");
        assert_eq!(s.rest, "postgres://u:pa?ss@h/db");
        assert_eq!(s.mode, Some(SslMode::VerifyFull));
    }

    #[test]
    fn the_last_sslmode_wins_and_an_empty_rootcert_is_none() {
        let s = split_ok("postgres://h/db?sslmode=disable&sslmode=verify-ca&sslrootcert=");
        assert_eq!(s.mode, Some(SslMode::VerifyCa));
        assert_eq!(s.root_cert, None);
    }

    #[test]
    fn unknown_modes_are_refused_in_words() {
        let e = split("postgres://h/db?sslmode=verify_full").unwrap_err();
        assert!(e.contains("sslmode=verify_full is not one of"), "{e}");
        let e = split("host=h sslmode=allow").unwrap_err();
        assert!(e.contains("allow is not supported"), "{e}");
    }

    #[test]
    fn keyword_strings_lose_their_tls_options_and_keep_the_rest() {
        let s = split_ok(
            "host=db.example port=5432 user=pb sslmode=verify-full sslrootcert = '/etc/my ca.pem' dbname=paperboy",
        );
        assert_eq!(s.mode, Some(SslMode::VerifyFull));
        assert_eq!(s.root_cert.as_deref(), Some("/etc/my ca.pem"));
        assert_eq!(
            s.rest,
            "host='db.example' port='5432' user='pb' dbname='paperboy'"
        );
    }

    #[test]
    fn keyword_values_round_trip() {
        let s = split_ok(r"host=h user=pb password='a b\'c\\d' sslmode=require dbname=x\ y");
        assert_eq!(s.mode, Some(SslMode::Require));
        assert_eq!(
            keyword_pairs(&s.rest).unwrap(),
            vec![
                ("host".to_owned(), "h".to_owned()),
                ("user".to_owned(), "pb".to_owned()),
                ("password".to_owned(), r"a b'c\d".to_owned()),
                ("dbname".to_owned(), "x y".to_owned()),
            ]
        );
        // And tokio-postgres reads the rest to the same values.
        let config: postgres::Config = s.rest.parse().unwrap();
        assert_eq!(config.get_password(), Some(&br"a b'c\d"[..]));
        assert_eq!(config.get_dbname(), Some("x y"));
    }

    #[test]
    fn broken_keyword_strings_are_refused() {
        assert!(split("host=h sslmode").is_err());
        assert!(split("host='h").is_err());
        assert!(split("host=").is_err());
    }

    #[test]
    fn passwords_are_hidden_in_every_form() {
        assert_eq!(
            redact("postgres://paperboy:s3cret@db.internal:5432/paperboy"),
            "postgres://paperboy:***@db.internal:5432/paperboy"
        );
        assert_eq!(
            redact("postgres://paperboy@localhost/paperboy"),
            "postgres://paperboy@localhost/paperboy"
        );
        assert_eq!(redact("paperboy.sqlite3"), "paperboy.sqlite3");
        assert_eq!(
            redact("postgres://pb:s3cret@db/pb?sslmode=verify-full&sslrootcert=/etc/ca.pem"),
            "postgres://pb:***@db/pb?sslmode=verify-full&sslrootcert=/etc/ca.pem"
        );
        // No path before the query, and a path in the query.
        assert_eq!(
            redact("postgres://pb:s3cret@db?sslrootcert=/etc/ca.pem"),
            "postgres://pb:***@db?sslrootcert=/etc/ca.pem"
        );
        // A `@` in the query does not move where the credentials end.
        assert_eq!(
            redact("postgres://pb:s3cret@db/pb?sslrootcert=/srv/a@b/ca.pem"),
            "postgres://pb:***@db/pb?sslrootcert=/srv/a@b/ca.pem"
        );
        // Unencoded `@`, `/` and `?` in the password.
        for secret in ["s3@cret", "s3/cret", "s3?cret"] {
            let shown = redact(&format!("postgres://pb:{secret}@db/pb?sslmode=require"));
            assert!(!shown.contains(secret), "{shown}");
            assert!(!shown.contains("cret"), "{shown}");
        }
        assert_eq!(
            redact("postgres://db/pb?user=pb&pass%77ord=s3cret&sslmode=verify-ca"),
            "postgres://db/pb?user=pb&pass%77ord=***&sslmode=verify-ca"
        );
        let shown = redact("host=db user=pb password='s3 cret' sslmode=verify-full");
        assert!(!shown.contains("s3") && !shown.contains("cret"), "{shown}");
        assert!(shown.contains("sslmode='verify-full'"), "{shown}");
        let shown = redact("host=db password='s3cret");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(
            redact("smtp://mail:pa%40ss@smtp.example:587"),
            "smtp://mail:***@smtp.example:587"
        );
    }
}
