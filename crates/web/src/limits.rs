//! Abuse limits: how many sign-in mails, votes, submissions and comments an account or an address
//! may send in a window. Sliding windows held in memory (one server process); a refused request
//! gets a 429 with `Retry-After` and a message.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::ApiError;

// The handlers that count requests by address take it from here with the rest of the limits.
pub use crate::client_ip::ClientIp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    SignInMail,
    Vote,
    Submit,
    Comment,
}

impl Action {
    fn what(self) -> &'static str {
        match self {
            Action::SignInMail => "sign-in links",
            Action::Vote => "votes",
            Action::Submit => "submissions",
            Action::Comment => "comments",
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
            Action::Vote => self.votes,
            Action::Submit => self.submissions,
            Action::Comment => self.comments,
        }
    }
}

#[derive(Default)]
pub struct Limiter {
    hits: Mutex<HashMap<(Action, String), VecDeque<Instant>>>,
}

impl Limiter {
    /// Counts one `action` for every key (e.g. `acct:7` and `ip:192.0.2.1`), or refuses it
    /// without counting when any key is over its allowance (`ip:` keys get `per_ip_factor` times
    /// as much).
    pub fn check(&self, limits: &Limits, action: Action, keys: &[String]) -> Result<(), ApiError> {
        let limit = limits.of(action);
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        if hits.len() > 100_000 {
            hits.retain(|(a, _), q| q.back().is_some_and(|t| now - *t < limits.of(*a).window));
        }
        let mut wait = Duration::ZERO;
        for key in keys {
            let max = if key.starts_with("ip:") {
                limit.max.saturating_mul(limits.per_ip_factor.max(1))
            } else {
                limit.max
            };
            let q = hits.entry((action, key.clone())).or_default();
            while q.front().is_some_and(|t| now - *t >= limit.window) {
                q.pop_front();
            }
            if q.len() >= max as usize {
                let oldest = *q.front().expect("non-empty when full");
                wait = wait.max(limit.window.saturating_sub(now - oldest));
            }
        }
        if !wait.is_zero() {
            let secs = wait.as_secs().max(1);
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "Too many {} for now: try again in {secs} seconds.",
                    action.what()
                ),
            )
            .retry_after(secs));
        }
        for key in keys {
            hits.entry((action, key.clone()))
                .or_default()
                .push_back(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_over_the_allowance_and_counts_every_key() {
        let limits = Limits {
            votes: Limit {
                max: 2,
                window: Duration::from_secs(60),
            },
            per_ip_factor: 2,
            ..Default::default()
        };
        let l = Limiter::default();
        let keys = |a: &str| vec![format!("acct:{a}"), "ip:1".to_string()];
        assert!(l.check(&limits, Action::Vote, &keys("a")).is_ok());
        assert!(l.check(&limits, Action::Vote, &keys("a")).is_ok());
        let err = l.check(&limits, Action::Vote, &keys("a")).unwrap_err();
        assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(err.message.contains("votes"), "{}", err.message);
        // Another account on the same address: the address allows 4 in all.
        assert!(l.check(&limits, Action::Vote, &keys("b")).is_ok());
        assert!(l.check(&limits, Action::Vote, &keys("b")).is_ok());
        assert!(
            l.check(&limits, Action::Vote, &keys("c")).is_err(),
            "the address is spent"
        );
        // Other actions have their own allowance.
        assert!(l.check(&limits, Action::Comment, &keys("a")).is_ok());
    }
}
