//! Abuse limits: how many sign-in mails, votes, submissions and comments an account or an address
//! may send in a window. The counts live in the store (sliding windows, one row per counted
//! action), so every node of a cluster sees the same counts and N nodes allow what one does; a
//! refused request gets a 429 with `Retry-After` and a message.

use std::time::Duration;

use chrono::Utc;
use paperboy_store::Store;

use crate::client_ip::ClientIp;
use crate::error::{ApiError, Code};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    SignInMail,
    Vote,
    Submit,
    /// New comments and edits of comments.
    Comment,
    /// Saves to the library (the votes' allowance, counted apart).
    Save,
    /// Library imports of BibTeX or RIS files (the submissions' allowance, counted apart).
    Import,
}

impl Action {
    fn what(self) -> &'static str {
        match self {
            Action::SignInMail => "sign-in links",
            Action::Vote => "votes",
            Action::Submit => "submissions",
            Action::Comment => "comments and edits",
            Action::Save => "saves",
            Action::Import => "library imports",
        }
    }

    /// The name its counts are kept under.
    fn key(self) -> &'static str {
        match self {
            Action::SignInMail => "sign-in-mail",
            Action::Vote => "vote",
            Action::Submit => "submit",
            Action::Comment => "comment",
            Action::Save => "save",
            Action::Import => "import",
        }
    }
}

/// Allowance per key (an account, or an IP address) and window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub sign_in_mails: Limit,
    pub votes: Limit,
    pub submissions: Limit,
    pub comments: Limit,
    /// Addresses get this many times an account's allowance (several people may share one).
    pub per_ip_factor: u32,
}

impl Default for Limits {
    fn default() -> Self {
        let hour = Duration::from_secs(3600);
        Limits {
            sign_in_mails: Limit {
                max: 5,
                window: hour,
            },
            votes: Limit {
                max: 60,
                window: Duration::from_secs(60),
            },
            submissions: Limit {
                max: 20,
                window: hour,
            },
            comments: Limit {
                max: 30,
                window: hour,
            },
            per_ip_factor: 5,
        }
    }
}

impl Limits {
    fn of(&self, a: Action) -> Limit {
        match a {
            Action::SignInMail => self.sign_in_mails,
            Action::Vote | Action::Save => self.votes,
            Action::Submit | Action::Import => self.submissions,
            Action::Comment => self.comments,
        }
    }

    /// Counts one `action` for every key (e.g. `acct:7` and `ip:192.0.2.1`), or refuses it
    /// without counting when any key has used its allowance.
    pub async fn check(
        &self,
        store: &dyn Store,
        action: Action,
        keys: &[String],
    ) -> Result<(), ApiError> {
        let window = self.of(action).window;
        let allowances = self.allowances(action, keys);
        let Some(wait) = store
            .rate_limit(action.key(), &allowances, window, Utc::now())
            .await?
        else {
            return Ok(());
        };
        let secs = wait.as_secs().max(1);
        Err(ApiError::new(
            Code::RATE_LIMITED,
            format!(
                "Too many {} for now: try again in {secs} seconds.",
                action.what()
            ),
        )
        .retry_after(secs))
    }

    /// Each key with its allowance: `ip:` keys get `per_ip_factor` times an account's.
    fn allowances(&self, action: Action, keys: &[String]) -> Vec<(String, u32)> {
        let max = self.of(action).max;
        keys.iter()
            .map(|k| {
                let m = if k.starts_with("ip:") {
                    max.saturating_mul(self.per_ip_factor.max(1))
                } else {
                    max
                };
                (k.clone(), m)
            })
            .collect()
    }
}

/// The keys a signed-in reader's action is counted under: their address and their account.
pub fn per_account(ip: &ClientIp, account: paperboy_store::AccountId) -> [String; 2] {
    [ip.key(), format!("acct:{account}")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_get_the_factor_and_accounts_the_allowance() {
        let limits = Limits {
            votes: Limit {
                max: 2,
                window: Duration::from_secs(60),
            },
            per_ip_factor: 3,
            ..Default::default()
        };
        assert_eq!(
            limits.allowances(Action::Vote, &["acct:1".into(), "ip:192.0.2.1".into()]),
            [("acct:1".to_string(), 2), ("ip:192.0.2.1".to_string(), 6)]
        );
        let huge = Limits {
            per_ip_factor: u32::MAX,
            ..limits
        };
        assert_eq!(
            huge.allowances(Action::Vote, &["ip:x".into()])[0].1,
            u32::MAX,
            "no overflow"
        );
    }
}
