//! paperboy's email: messages as data ([`Letter`]: recipient, subject, a plain-text and an HTML
//! part, extra headers), rendered from template files an operator can override, and sent over
//! SMTP ([`Mailer`]: lettre's protocol over one connection of ours, reused for many mails,
//! STARTTLS or TLS through rustls). It knows nothing of papers or the database: callers give it
//! the values.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;

mod smtp;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail settings: {0}")]
    Config(String),
    #[error("template {0}: {1}")]
    Template(String, String),
    #[error("building the message: {0}")]
    Build(String),
    /// The server refused for now (4xx) or could not be reached: try again later.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// The server refused for good (5xx).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Built-in templates; a file of the same name in the operator's template folder wins.
const BUILT_IN: &[(&str, &str)] = &[
    ("sign_in.txt", include_str!("../templates/sign_in.txt")),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    ("confirm.txt", include_str!("../templates/confirm.txt")),
    ("confirm.html", include_str!("../templates/confirm.html")),
    ("digest.txt", include_str!("../templates/digest.txt")),
    ("digest.html", include_str!("../templates/digest.html")),
];

/// Template files: `{{name}}` placeholders filled from values (HTML-escaped in `.html` files).
#[derive(Debug, Clone, Default)]
pub struct Templates {
    dir: Option<PathBuf>,
}

impl Templates {
    /// Built-in templates, overridden by files in `dir` when given.
    pub fn new(dir: Option<&Path>) -> Templates {
        Templates {
            dir: dir.map(Path::to_owned),
        }
    }

    fn source(&self, name: &str) -> Result<String, MailError> {
        if let Some(dir) = &self.dir {
            let path = dir.join(name);
            if path.is_file() {
                return std::fs::read_to_string(&path)
                    .map_err(|e| MailError::Template(path.display().to_string(), e.to_string()));
            }
        }
        BUILT_IN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s.to_string())
            .ok_or_else(|| MailError::Template(name.into(), "no such template".into()))
    }

    /// Renders `name`; an unknown placeholder is an error (a typo in an override shows at once).
    pub fn render(&self, name: &str, values: &HashMap<&str, String>) -> Result<String, MailError> {
        let src = self.source(name)?;
        let html = name.ends_with(".html");
        let mut out = String::with_capacity(src.len() + 256);
        let mut rest = src.as_str();
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            // `{{{name}}}`: a value the caller already made safe (lists of escaped items).
            if rest[start..].starts_with("{{{") {
                let end = rest[start..]
                    .find("}}}")
                    .ok_or_else(|| MailError::Template(name.into(), "unclosed {{{".into()))?;
                let key = rest[start + 3..start + end].trim();
                let value = values.get(key).ok_or_else(|| {
                    MailError::Template(name.into(), format!("unknown value {{{{{{{key}}}}}}}"))
                })?;
                out.push_str(value);
                rest = &rest[start + end + 3..];
                continue;
            }
            let end = rest[start..]
                .find("}}")
                .ok_or_else(|| MailError::Template(name.into(), "unclosed {{".into()))?;
            let key = rest[start + 2..start + end].trim();
            let value = values.get(key).ok_or_else(|| {
                MailError::Template(name.into(), format!("unknown value {{{{{key}}}}}"))
            })?;
            if html {
                out.push_str(&escape_html(value));
            } else {
                out.push_str(value);
            }
            rest = &rest[start + end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

pub use paperboy_core::escape_html;

/// One paper in a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestItem {
    pub title: String,
    pub url: String,
    pub authors: String,
    pub upvotes: i64,
}

/// What one subscriber's digest holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub site: String,
    /// "2026-11-30" or "2026-W49".
    pub period: String,
    pub trending: Vec<DigestItem>,
    /// (heading, papers) per topic.
    pub topics: Vec<(String, Vec<DigestItem>)>,
    pub manage_url: String,
    pub unsubscribe_url: String,
    pub message_id: String,
}

/// One email as data (serialised as JSON in the outbox, so a retry sends the same mail).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Letter {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Extra headers (`List-Unsubscribe`, ...). Values with CR or LF are refused.
    pub headers: Vec<(String, String)>,
    /// A stable Message-ID (without angle brackets), or a fresh one when `None`.
    pub message_id: Option<String>,
}

fn no_breaks(what: &str, s: &str) -> Result<(), MailError> {
    if s.contains(['\r', '\n']) {
        Err(MailError::Build(format!("{what} contains a line break")))
    } else {
        Ok(())
    }
}

impl Letter {
    /// The message as lettre builds it: multipart/alternative, text first.
    pub fn message(&self, from: &Mailbox) -> Result<Message, MailError> {
        no_breaks("the subject", &self.subject)?;
        let to: Mailbox = self
            .to
            .parse()
            .map_err(|e| MailError::Build(format!("recipient {:?}: {e}", self.to)))?;
        let mut b = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(self.subject.clone());
        if let Some(id) = &self.message_id {
            no_breaks("the Message-ID", id)?;
            b = b.message_id(Some(format!("<{id}>")));
        }
        let mut m = b
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(self.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(self.html.clone()),
                    ),
            )
            .map_err(|e| MailError::Build(e.to_string()))?;
        for (name, value) in &self.headers {
            no_breaks(name, name)?;
            no_breaks(name, value)?;
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|e| MailError::Build(format!("header {name:?}: {e}")))?;
            m.headers_mut()
                .insert_raw(HeaderValue::new(name, value.clone()));
        }
        Ok(m)
    }
}

/// A message as it goes over the wire, with its envelope.
pub struct Ready {
    envelope: lettre::address::Envelope,
    bytes: Vec<u8>,
}

/// SMTP delivery over one reused connection. `url`: `smtp://host:port` (plain;
/// `?tls=required` for STARTTLS, `?tls=opportunistic` for STARTTLS when offered),
/// `smtps://host:465` (TLS), with `user:password@` (percent-encoded) for authentication.
#[derive(Clone)]
pub struct Mailer {
    smtp: std::sync::Arc<smtp::Smtp>,
    from: Mailbox,
    pub templates: Templates,
}

impl Mailer {
    /// Mail through `url` from `from`; TLS trusts the system's roots.
    pub fn new(url: &str, from: &str, templates: Templates) -> Result<Mailer, MailError> {
        Mailer::with_ca_file(url, from, templates, None)
    }

    /// [`Mailer::new`], trusting for the server's certificate (STARTTLS and TLS) only the CA
    /// certificates in the PEM file `ca_file` when given, the system's roots otherwise. An
    /// unreadable file, or one without a certificate, is an error here, not at the first mail.
    pub fn with_ca_file(
        url: &str,
        from: &str,
        templates: Templates,
        ca_file: Option<&Path>,
    ) -> Result<Mailer, MailError> {
        let endpoint =
            smtp::Endpoint::parse(url).map_err(|e| MailError::Config(format!("smtp_url: {e}")))?;
        let from: Mailbox = from
            .parse()
            .map_err(|e| MailError::Config(format!("mail_from {from:?}: {e}")))?;
        Ok(Mailer {
            smtp: std::sync::Arc::new(smtp::Smtp::new(
                endpoint,
                ca_file,
                std::time::Duration::from_secs(30),
            )?),
            from,
            templates,
        })
    }

    /// Sends one letter; the error says whether trying again may help.
    pub async fn send(&self, letter: &Letter) -> Result<(), MailError> {
        self.send_ready(&self.ready(letter)?).await
    }

    /// A letter encoded for sending (MIME parts, headers): work a sender can do for the next mail
    /// while the server answers the current one.
    pub fn ready(&self, letter: &Letter) -> Result<Ready, MailError> {
        let message = letter.message(&self.from)?;
        Ok(Ready {
            envelope: message.envelope().clone(),
            bytes: message.formatted(),
        })
    }

    pub async fn send_ready(&self, ready: &Ready) -> Result<(), MailError> {
        self.smtp.send(&ready.envelope, &ready.bytes).await
    }

    /// A letter from the `{name}.txt` and `{name}.html` templates.
    pub fn letter(
        &self,
        name: &str,
        to: &str,
        subject: &str,
        values: &HashMap<&str, String>,
    ) -> Result<Letter, MailError> {
        Ok(Letter {
            to: to.to_owned(),
            subject: subject.to_owned(),
            text: self.templates.render(&format!("{name}.txt"), values)?,
            html: self.templates.render(&format!("{name}.html"), values)?,
            headers: Vec::new(),
            message_id: None,
        })
    }

    /// A digest: its sections as text and HTML lists, headers for one-click unsubscribe, and a
    /// Message-ID fixed by subscription and period.
    pub fn digest_letter(&self, to: &str, d: &Digest) -> Result<Letter, MailError> {
        let mut text = String::new();
        let mut html = String::new();
        for (heading, items) in std::iter::once(("Trending".to_string(), &d.trending))
            .chain(d.topics.iter().map(|(h, i)| (h.clone(), i)))
            .filter(|(_, items)| !items.is_empty())
        {
            text.push_str(&format!(
                "\n{heading}\n{}\n",
                "-".repeat(heading.chars().count())
            ));
            html.push_str(&format!(
                "<h2 style=\"font-size:1.1rem\">{}</h2><ol>",
                escape_html(&heading)
            ));
            for it in items.iter() {
                text.push_str(&format!(
                    "* {} ({} upvotes)\n  {}\n  {}\n",
                    it.title, it.upvotes, it.authors, it.url
                ));
                html.push_str(&format!(
                    "<li style=\"margin:.4rem 0\"><a href=\"{}\" style=\"font-weight:600\">{}</a><br><span style=\"color:#5b6270;font-size:.9rem\">{} · {} upvotes</span></li>",
                    escape_html(&it.url),
                    escape_html(&it.title),
                    escape_html(&it.authors),
                    it.upvotes
                ));
            }
            html.push_str("</ol>");
        }
        let values: HashMap<&str, String> = [
            ("site", d.site.clone()),
            ("period", d.period.clone()),
            ("manage", d.manage_url.clone()),
            ("unsubscribe", d.unsubscribe_url.clone()),
            ("sections_text", text),
            ("sections_html", html),
        ]
        .into_iter()
        .collect();
        Ok(Letter {
            to: to.to_owned(),
            subject: format!("{}: trending papers, {}", d.site, d.period),
            text: self.templates.render("digest.txt", &values)?,
            html: self.templates.render("digest.html", &values)?,
            headers: vec![
                (
                    "List-Unsubscribe".into(),
                    format!("<{}>", d.unsubscribe_url),
                ),
                (
                    "List-Unsubscribe-Post".into(),
                    "List-Unsubscribe=One-Click".into(),
                ),
            ],
            message_id: Some(d.message_id.clone()),
        })
    }

    /// The sign-in mail.
    pub fn sign_in_letter(
        &self,
        site: &str,
        to: &str,
        link: &str,
        minutes: i64,
    ) -> Result<Letter, MailError> {
        let values: HashMap<&str, String> = [
            ("site", site.to_owned()),
            ("link", link.to_owned()),
            ("minutes", minutes.to_string()),
        ]
        .into_iter()
        .collect();
        Ok(Letter {
            to: to.to_owned(),
            subject: format!("Sign in to {site}"),
            text: self.templates.render("sign_in.txt", &values)?,
            html: self.templates.render("sign_in.html", &values)?,
            headers: Vec::new(),
            message_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> HashMap<&'static str, String> {
        [
            ("site", "paperboy".to_string()),
            ("link", "https://x/?a=1&b=<2>".to_string()),
            ("minutes", "15".to_string()),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn templates_fill_escape_and_can_be_overridden() {
        let t = Templates::new(None);
        let text = t.render("sign_in.txt", &values()).unwrap();
        assert!(text.contains("https://x/?a=1&b=<2>"));
        let html = t.render("sign_in.html", &values()).unwrap();
        assert!(html.contains("https://x/?a=1&amp;b=&lt;2&gt;"));
        assert!(!html.contains("{{"));

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sign_in.txt"), "Hi from {{site}}: {{link}}").unwrap();
        let t = Templates::new(Some(dir.path()));
        assert_eq!(
            t.render("sign_in.txt", &values()).unwrap(),
            "Hi from paperboy: https://x/?a=1&b=<2>"
        );
        std::fs::write(dir.path().join("sign_in.txt"), "{{sight}}").unwrap();
        assert!(
            t.render("sign_in.txt", &values()).is_err(),
            "a typo is an error"
        );
    }

    #[test]
    fn header_injection_is_refused() {
        let from: Mailbox = "paperboy <pb@example.org>".parse().unwrap();
        let mut l = Letter {
            to: "a@example.org".into(),
            subject: "Hello".into(),
            text: "t".into(),
            html: "<p>h</p>".into(),
            headers: vec![("List-Unsubscribe".into(), "<https://x/u>".into())],
            message_id: Some("digest.1.2026-11-28@paperboy".into()),
        };
        let m = l.message(&from).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            raw.contains("Message-ID: <digest.1.2026-11-28@paperboy>"),
            "{raw}"
        );
        assert!(raw.contains("List-Unsubscribe: <https://x/u>"));
        assert!(raw.contains("multipart/alternative"));
        l.subject = "Hi\r\nBcc: victim@example.org".into();
        assert!(l.message(&from).is_err());
        l.subject = "Hi".into();
        l.headers = vec![("X-Topic".into(), "a\nBcc: b@example.org".into())];
        assert!(l.message(&from).is_err());
        l.headers.clear();
        l.to = "a@example.org\r\nBcc: b@example.org".into();
        assert!(l.message(&from).is_err());
    }
}
