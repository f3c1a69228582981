//! Rate limits kept in the database: a sliding log per action and key (an account, an address),
//! so that restarts and every node of a cluster see the same counts.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::codec::rate_wait;
use crate::sql::{params, Backed, Lock};
use crate::Result;

#[async_trait]
pub trait RateLimits: Backed {
    /// Counts one `action` for each key against its allowance `max` per `window`, or refuses
    /// without counting anything when a key has used its allowance: then the answer is how long
    /// until the oldest counted one leaves the window. Every node of a cluster sees the same
    /// counts (the check and the count are one step across nodes).
    async fn rate_limit(
        &self,
        action: &str,
        keys: &[(String, u32)],
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Duration>> {
        let (action, mut keys) = (action.to_owned(), keys.to_vec());
        let start = now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        // Keys in one order, so that two requests sharing two keys never wait on each other
        // crosswise.
        keys.sort();
        self.db()
            .write(move |tx| {
                let mut wait = Duration::ZERO;
                for (key, max) in &keys {
                    tx.lock(Lock::Key(&action, key))?;
                    tx.execute(
                        "DELETE FROM rate_events WHERE action = $1 AND key = $2 AND at <= $3",
                        params![&action, key, start],
                    )?;
                    let (count, oldest): (i64, Option<DateTime<Utc>>) = tx.one(
                        "SELECT COUNT(*), MIN(at) FROM rate_events WHERE action = $1 AND key = $2",
                        params![&action, key],
                    )?;
                    if count >= i64::from(*max) {
                        wait = wait.max(rate_wait(oldest.unwrap_or(now), now, window));
                    }
                }
                if !wait.is_zero() {
                    return Ok(Some(wait));
                }
                for (key, _) in &keys {
                    tx.execute(
                        "INSERT INTO rate_events (action, key, at) VALUES ($1, $2, $3)",
                        params![&action, key, now],
                    )?;
                }
                Ok(None)
            })
            .await
    }
}

impl RateLimits for crate::Database {}
