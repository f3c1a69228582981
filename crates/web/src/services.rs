//! What the web layer asks of the world outside, as traits the binary fills in: a postman for
//! the mails people ask for, and a source of papers' metadata for submissions.

use std::future::Future;
use std::pin::Pin;

use paperboy_core::{ArxivId, Paper};

/// A mail someone asked for; each carries a link that does what the mail offers.
#[derive(Debug, Clone, Copy)]
pub enum Mail<'a> {
    /// A sign-in link, working once for `session::LINK_MINUTES`.
    SignIn { link: &'a str },
    /// The double opt-in mail: how often digests come and their topics, described.
    ConfirmSubscription {
        link: &'a str,
        frequency: &'a str,
        topics: &'a str,
    },
}

impl Mail<'_> {
    pub fn link(&self) -> &str {
        match self {
            Mail::SignIn { link } | Mail::ConfirmSubscription { link, .. } => link,
        }
    }
}

/// Sends the mails people ask for. The default writes them to the log, so a server without SMTP
/// still works (the operator passes links on).
pub trait Postman: Send + Sync {
    fn send<'a>(
        &'a self,
        to: &'a str,
        mail: Mail<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
    /// Whether links leave the machine (false: they are in the server log).
    fn delivers(&self) -> bool;
}

pub struct LogMailer;

impl Postman for LogMailer {
    fn send<'a>(
        &'a self,
        to: &'a str,
        mail: Mail<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        let what = match mail {
            Mail::SignIn { .. } => "sign-in link",
            Mail::ConfirmSubscription { .. } => "subscription confirmation link",
        };
        tracing::info!(
            to,
            link = mail.link(),
            "{what} (no SMTP server configured, so it is logged)"
        );
        Box::pin(async { Ok(()) })
    }

    fn delivers(&self) -> bool {
        false
    }
}

/// Fetches a paper's metadata by id (the arXiv API in production, a replay server in tests).
pub trait PaperSource: Send + Sync {
    fn fetch<'a>(
        &'a self,
        id: &'a ArxivId,
    ) -> Pin<Box<dyn Future<Output = Result<Paper, String>> + Send + 'a>>;
}
