//! paperboy's email: messages as data ([`Letter`]: recipient, subject, a plain-text and an HTML
//! part, extra headers), rendered from template files an operator can override, and sent over
//! SMTP ([`Mailer`]: lettre's protocol over one connection of ours, reused for many mails,
//! STARTTLS or TLS through rustls). It knows nothing of papers or the database: callers give it
//! the values.

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
    (
        "sign_in.subject.txt",
        include_str!("../templates/sign_in.subject.txt"),
    ),
    ("sign_in.txt", include_str!("../templates/sign_in.txt")),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    (
        "confirm.subject.txt",
        include_str!("../templates/confirm.subject.txt"),
    ),
    ("confirm.txt", include_str!("../templates/confirm.txt")),
    ("confirm.html", include_str!("../templates/confirm.html")),
    (
        "digest.subject.txt",
        include_str!("../templates/digest.subject.txt"),
    ),
    ("digest.txt", include_str!("../templates/digest.txt")),
    ("digest.html", include_str!("../templates/digest.html")),
];

/// Jinja templates (minijinja): each mail is `NAME.subject.txt`, `NAME.txt` and `NAME.html`,
/// values are HTML-escaped in `.html` files, and an unknown value is an error (a typo in an
/// override shows at its first mail). The built-in templates are compiled once; an operator's
/// file is read at every mail, so an edit applies to the next one without a restart.
#[derive(Clone)]
pub struct Templates {
    env: std::sync::Arc<minijinja::Environment<'static>>,
    dir: Option<PathBuf>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Default for Templates {
    fn default() -> Templates {
        Templates::new(None)
    }
}

/// `name` from the operator's folder, when it is there.
fn override_source(dir: Option<&Path>, name: &str) -> Result<Option<String>, minijinja::Error> {
    // Names come from this crate or from `{% include %}` in an override: never outside `dir`.
    if name.contains(['/', '\\']) || name.starts_with('.') {
        return Ok(None);
    }
    match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
        Some(path) => std::fs::read_to_string(&path).map(Some).map_err(|e| {
            minijinja::Error::new(
                minijinja::ErrorKind::TemplateNotFound,
                format!("{}: {e}", path.display()),
            )
        }),
        None => Ok(None),
    }
}

fn built_in(name: &str) -> Option<&'static str> {
    BUILT_IN.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Values in HTML escaped as the site escapes them ([`escape_html`]), so a mail reads as it did
/// before templates were Jinja (whose own escaping also rewrites `/`).
fn format_value(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    if *state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() {
        let escaped = match value.as_str() {
            Some(s) => escape_html(s),
            None => escape_html(&value.to_string()),
        };
        return out.write_str(&escaped).map_err(minijinja::Error::from);
    }
    minijinja::escape_formatter(out, state, value)
}

impl Templates {
    /// Built-in templates, overridden by files in `dir` when given.
    pub fn new(dir: Option<&Path>) -> Templates {
        let mut env = minijinja::Environment::new();
        let dir = dir.map(Path::to_owned);
        let folder = dir.clone();
        // Serves the built-in templates, and what an override includes or imports.
        env.set_loader(move |name| {
            Ok(override_source(folder.as_deref(), name)?
                .or_else(|| built_in(name).map(str::to_owned)))
        });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        env.set_formatter(format_value);
        // Mail is line by line: a line holding only a `{% tag %}` leaves nothing behind, and a
        // file's last line break is kept, as it is written.
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("a valid template syntax"),
        );
        Templates {
            env: std::sync::Arc::new(env),
            dir,
        }
    }

    /// Renders template `name` (a file name: `digest.html`) with `values`.
    pub fn render(&self, name: &str, values: impl serde::Serialize) -> Result<String, MailError> {
        let failed = |e: minijinja::Error| MailError::Template(name.into(), format!("{e:#}"));
        let values = minijinja::Value::from(minijinja::value::Serde(values));
        match override_source(self.dir.as_deref(), name).map_err(failed)? {
            Some(source) => self.env.render_named_str(name, &source, values),
            None => self.env.get_template(name).and_then(|t| t.render(values)),
        }
        .map_err(failed)
    }

    /// The mail `name` to `to`: subject, text and HTML part from its three templates.
    pub fn letter(
        &self,
        name: &str,
        to: &str,
        values: impl serde::Serialize,
    ) -> Result<Letter, MailError> {
        let values = minijinja::Value::from(minijinja::value::Serde(values));
        // An editor's final line break is no part of a subject; a break inside one is refused.
        let subject = self
            .render(&format!("{name}.subject.txt"), &values)?
            .trim()
            .to_owned();
        no_breaks("the subject", &subject)?;
        Ok(Letter {
            to: to.to_owned(),
            subject,
            text: self.render(&format!("{name}.txt"), &values)?,
            html: self.render(&format!("{name}.html"), &values)?,
            headers: Vec::new(),
            message_id: None,
        })
    }
}

pub use paperboy_core::escape_html;

/// One paper in a digest.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DigestItem {
    pub title: String,
    pub url: String,
    pub authors: String,
    pub upvotes: i64,
}

/// What a digest section brings: the trending papers, or the new papers of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionKind {
    /// New papers ranked for a signed-in reader (`/for-you`).
    ForYou,
    Trending,
    Category,
    Author,
    Search,
}

/// One section of a digest; the templates word its heading and may leave it out when empty.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Section {
    pub kind: SectionKind,
    /// The category, the author or the saved search; empty for trending.
    pub topic: String,
    pub papers: Vec<DigestItem>,
}

/// What one subscriber's digest holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Digest {
    pub site: String,
    /// "2026-11-30" or "2026-W49".
    pub period: String,
    /// Trending first, then one per topic of the subscriber's, in their order.
    pub sections: Vec<Section>,
    #[serde(rename = "manage")]
    pub manage_url: String,
    #[serde(rename = "unsubscribe")]
    pub unsubscribe_url: String,
    #[serde(skip)]
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

    /// A digest from the `digest` templates, with headers for one-click unsubscribe and a
    /// Message-ID fixed by subscription and period.
    pub fn digest_letter(&self, to: &str, d: &Digest) -> Result<Letter, MailError> {
        Ok(Letter {
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
            ..self.templates.letter("digest", to, d)?
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
        self.templates
            .letter("sign_in", to, minijinja::context! { site, link, minutes })
    }

    /// The mail that asks to confirm a subscription: `topics` is the sentence that names them.
    pub fn confirm_letter(
        &self,
        site: &str,
        to: &str,
        confirm: &str,
        frequency: &str,
        topics: &str,
    ) -> Result<Letter, MailError> {
        self.templates.letter(
            "confirm",
            to,
            minijinja::context! { site, confirm, frequency, topics },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
        let text = t.render("sign_in.txt", values()).unwrap();
        assert!(text.contains("https://x/?a=1&b=<2>"));
        let html = t.render("sign_in.html", values()).unwrap();
        assert!(html.contains("https://x/?a=1&amp;b=&lt;2&gt;"));
        assert!(!html.contains("{{"));

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sign_in.txt"), "Hi from {{site}}: {{link}}").unwrap();
        let t = Templates::new(Some(dir.path()));
        assert_eq!(
            t.render("sign_in.txt", values()).unwrap(),
            "Hi from paperboy: https://x/?a=1&b=<2>"
        );
        std::fs::write(dir.path().join("sign_in.txt"), "{{sight}}").unwrap();
        assert!(
            t.render("sign_in.txt", values()).is_err(),
            "a typo is an error"
        );
    }

    #[test]
    fn an_override_restyles_the_subject_and_escapes_what_it_shows_in_html() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, body: &str| std::fs::write(dir.path().join(name), body).unwrap();
        write("sign_in.subject.txt", "{{ site|upper }}: your link\n");
        write("sign_in.html", "<a href=\"{{ link }}\">{{ site }}</a>");
        let t = Templates::new(Some(dir.path()));
        let l = t.letter("sign_in", "a@example.org", values()).unwrap();
        assert_eq!(
            l.subject, "PAPERBOY: your link",
            "the editor's last line break is dropped"
        );
        assert_eq!(
            l.html,
            "<a href=\"https://x/?a=1&amp;b=&lt;2&gt;\">paperboy</a>"
        );
        assert!(
            l.text.starts_with("Sign in to paperboy"),
            "the built-in text part"
        );

        write("sign_in.subject.txt", "Hi\nBcc: victim@example.org");
        assert!(
            t.letter("sign_in", "a@example.org", values()).is_err(),
            "a subject of two lines is refused"
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
