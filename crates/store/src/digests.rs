//! Email digests: subscriptions (double opt-in), the outbox every composed mail goes through,
//! and what each subscriber was sent. A period is recorded once per subscriber; senders take due
//! mail from the outbox (several at once on PostgreSQL, each claiming its own).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use paperboy_core::ArxivId;

use crate::codec::to_json;
use crate::community::AccountId;
use crate::sql::{
    id_type, in_order, params, record_from_row, Backed, FromRow, FromValue, Lock, Row, Tx, Value,
};
use crate::{Result, StoreError};

id_type!(
    /// A subscription's id.
    SubscriptionId
);

/// How often a subscriber gets a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// Every weekday morning.
    Daily,
    /// Monday mornings.
    Weekly,
}

impl Frequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
        }
    }

    pub fn parse(s: &str) -> Option<Frequency> {
        match s {
            "daily" => Some(Frequency::Daily),
            "weekly" => Some(Frequency::Weekly),
            _ => None,
        }
    }
}

/// What a subscriber follows besides trending papers.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Topics {
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub searches: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub email: String,
    pub account_id: Option<AccountId>,
    pub frequency: Frequency,
    pub topics: Topics,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub bouncing: bool,
    pub last_period: Option<String>,
    /// Preferences a sign-up asked for while the address was already confirmed: they replace
    /// the current ones only when the owner follows the link mailed to the address.
    pub pending: Option<Preferences>,
}

/// How often and about what: what a sign-up asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    pub frequency: Frequency,
    pub topics: Topics,
}

/// How [`Preferences`] are stored (the `pending` column): JSON with the frequency by name.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredPreferences {
    frequency: String,
    topics: Topics,
}

impl Preferences {
    pub(crate) fn to_json(&self) -> String {
        crate::codec::to_json(&StoredPreferences {
            frequency: self.frequency.as_str().to_owned(),
            topics: self.topics.clone(),
        })
    }

    pub(crate) fn from_json(s: &str) -> crate::Result<Preferences> {
        let p: StoredPreferences = crate::codec::from_json(s)?;
        Ok(Preferences {
            frequency: Frequency::parse(&p.frequency).ok_or_else(|| {
                crate::StoreError::Corrupt(format!("frequency {:?}", p.frequency))
            })?,
            topics: p.topics,
        })
    }
}

impl Subscription {
    /// Confirmed, not unsubscribed, not bouncing: digests go to it.
    pub fn active(&self) -> bool {
        self.confirmed_at.is_some() && self.unsubscribed_at.is_none() && !self.bouncing
    }
}

/// What a sign-up did. The web layer answers the same whatever it was, so that the answer does not
/// tell whether an address is subscribed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignUp {
    /// A confirmation mail should go to the address now: to confirm it, or, for an address
    /// already confirmed, to confirm the change of preferences held in `pending`.
    SendConfirmation(Subscription),
    /// Nothing to send (a confirmation went out within the hour).
    Quiet(Subscription),
}

/// One composed mail waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    pub id: i64,
    pub subscription_id: SubscriptionId,
    /// The message as the mail crate serialised it (sent byte for byte the same on retries).
    pub message: String,
    pub attempts: i64,
}

/// What became of one attempt to send an outbox mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Try again at that time.
    Retry(DateTime<Utc>, String),
    /// Given up; `bounce` marks the address as bouncing.
    Failed {
        error: String,
        bounce: bool,
    },
}

/// Counts for the status page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailStats {
    pub subscribers: u64,
    pub confirmed: u64,
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub last_period: Option<String>,
}

impl FromValue for Frequency {
    fn from_value(v: Value) -> Result<Frequency> {
        let name = String::from_value(v)?;
        Frequency::parse(&name).ok_or_else(|| StoreError::Corrupt(format!("frequency {name:?}")))
    }
}

impl FromValue for Preferences {
    fn from_value(v: Value) -> Result<Preferences> {
        Preferences::from_json(&String::from_value(v)?)
    }
}

const SUBSCRIPTION: &str = "SELECT id, email, account_id, frequency, topics, created_at,
        confirmed_at, unsubscribed_at, bouncing, last_period, pending
     FROM subscriptions";

record_from_row! {
    Subscription {
        id, email, account_id, frequency, topics, created_at, confirmed_at, unsubscribed_at,
        bouncing, last_period, pending
    }
    MailStats { subscribers, confirmed, pending, sent, failed, last_period }
}

/// Outbox mail due at `$1` for subscriptions still active: what a backend's `due_mail` takes.
const DUE_MAIL: &str = "SELECT o.id, o.subscription_id, o.message, o.attempts,
        o.next_attempt_at
     FROM outbox o JOIN subscriptions s ON s.id = o.subscription_id
     WHERE o.status = 'pending' AND o.next_attempt_at <= $1
       AND s.unsubscribed_at IS NULL AND s.bouncing = FALSE";

/// A row of [`DUE_MAIL`], with the time it was due (the order it is sent in).
impl FromRow for (String, OutboxMail) {
    fn from_row(mut r: Row) -> Result<(String, OutboxMail)> {
        let message: Vec<u8> = r.take(2)?;
        let mail = OutboxMail {
            id: r.take(0)?,
            subscription_id: r.take(1)?,
            message: String::from_utf8_lossy(&message).into_owned(),
            attempts: r.take(3)?,
        };
        Ok((r.take(4)?, mail))
    }
}

#[async_trait]
pub trait Digests: Backed {
    /// A server-wide secret (64 hex digits), made on first use and kept: it signs links.
    async fn secret(&self, name: &str) -> Result<String> {
        let key = format!("secret:{name}");
        let sql = "SELECT value FROM settings_kv WHERE name = $1";
        // Every signed link reads the secret: a read, and a write only the first time.
        let known = key.clone();
        if let Some(v) = self
            .db()
            .read(move |tx| tx.opt(sql, params![known]))
            .await?
        {
            return Ok(v);
        }
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh)
            .map_err(|e| StoreError::Config(format!("random source: {e}")))?;
        let fresh: String = fresh.iter().map(|x| format!("{x:02x}")).collect();
        self.db()
            .write(move |tx| {
                // A concurrent first use waits on the other's row and then reads the value it
                // committed.
                tx.execute(
                    "INSERT INTO settings_kv (name, value) VALUES ($1, $2)
                     ON CONFLICT (name) DO NOTHING",
                    params![&key, fresh],
                )?;
                tx.one(sql, params![&key])
            })
            .await
    }

    /// Records a sign-up. A new or unconfirmed address takes the preferences at once and needs
    /// confirming; re-subscribing after unsubscribing starts over. For an address already
    /// confirmed, nothing changes: the preferences are kept as `pending` until the owner
    /// confirms them ([`Digests::confirm_subscription`]). A confirmation mail is due unless one
    /// went out in the last hour.
    async fn sign_up(
        &self,
        email: &str,
        frequency: Frequency,
        topics: &Topics,
        account: Option<AccountId>,
        now: DateTime<Utc>,
    ) -> Result<SignUp> {
        let (email, topics) = (email.trim().to_lowercase(), topics.clone());
        self.db()
            .write(move |tx| sign_up(tx, &email, frequency, topics, account, now))
            .await
    }

    async fn subscription(&self, id: SubscriptionId) -> Result<Option<Subscription>> {
        self.db().read(move |tx| subscription(tx, id)).await
    }

    /// The subscription of an address (any case), ended or not.
    async fn subscription_by_email(&self, email: &str) -> Result<Option<Subscription>> {
        let email = email.trim().to_lowercase();
        let sql = format!("{SUBSCRIPTION} WHERE email = $1");
        self.db().read(move |tx| tx.opt(&sql, params![email])).await
    }

    /// Confirms an address (double opt-in) and applies its pending preferences, if any; false
    /// when there is no such subscription or it was ended.
    async fn confirm_subscription(&self, id: SubscriptionId, now: DateTime<Utc>) -> Result<bool> {
        self.db()
            .write(move |tx| {
                // A sign-up changing `pending` meanwhile waits: what is applied is what is read.
                tx.lock(Lock::Subscription(id.get()))?;
                let sub = subscription(tx, id)?.filter(|s| s.unsubscribed_at.is_none());
                let Some(sub) = sub else {
                    return Ok(false);
                };
                let prefs = sub.pending.unwrap_or(Preferences {
                    frequency: sub.frequency,
                    topics: sub.topics,
                });
                tx.execute(
                    "UPDATE subscriptions SET confirmed_at = COALESCE(confirmed_at, $2),
                        bouncing = FALSE, frequency = $3, topics = $4, pending = NULL
                     WHERE id = $1",
                    params![id, now, prefs.frequency.as_str(), to_json(&prefs.topics)],
                )?;
                Ok(true)
            })
            .await
    }

    async fn update_subscription(
        &self,
        id: SubscriptionId,
        frequency: Frequency,
        topics: &Topics,
    ) -> Result<bool> {
        let sql = "UPDATE subscriptions SET frequency = $2, topics = $3 WHERE id = $1";
        let params = params![id, frequency.as_str(), to_json(topics)];
        Ok(self.db().execute(sql, params.to_vec()).await? > 0)
    }

    /// Ends a subscription at once: nothing is sent to it after this returns.
    async fn unsubscribe(&self, id: SubscriptionId, now: DateTime<Utc>) -> Result<bool> {
        self.db()
            .write(move |tx| {
                let n = tx.execute(
                    "UPDATE subscriptions SET unsubscribed_at = COALESCE(unsubscribed_at, $2)
                     WHERE id = $1",
                    params![id, now],
                )?;
                // Mail recorded but not yet sent is not sent.
                tx.execute(
                    "UPDATE outbox SET status = 'cancelled', message = $2
                     WHERE subscription_id = $1 AND status = 'pending'",
                    params![id, Vec::new()],
                )?;
                Ok(n > 0)
            })
            .await
    }

    /// Active subscriptions of `frequency` without a digest for `period` yet, by id after `after`.
    async fn due_subscriptions(
        &self,
        frequency: Frequency,
        period: &str,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Subscription>> {
        let sql = format!(
            "{SUBSCRIPTION}
             WHERE frequency = $1 AND id > $2 AND confirmed_at IS NOT NULL
               AND unsubscribed_at IS NULL AND bouncing = FALSE
               AND (last_period IS NULL OR last_period < $3)
             ORDER BY id LIMIT $4"
        );
        let params = params![frequency.as_str(), after, period, limit].to_vec();
        self.db().read(move |tx| tx.all(&sql, &params)).await
    }

    /// Which of `papers` this subscriber was sent before.
    async fn sent_before(
        &self,
        subscription: SubscriptionId,
        papers: &[ArxivId],
    ) -> Result<Vec<bool>> {
        let papers = papers.to_vec();
        // One statement for all of them: the primary key is probed for each listed id.
        let sql = "SELECT paper_id, TRUE FROM digest_papers
             WHERE subscription_id = $1 AND paper_id = ANY($2)";
        self.db()
            .read(move |tx| {
                let sent = tx.all::<(ArxivId, bool)>(sql, params![subscription, &papers[..]])?;
                Ok(in_order(&papers, sent)
                    .into_iter()
                    .map(|s| s.is_some())
                    .collect())
            })
            .await
    }

    /// Records one subscriber's digest for a period, in one transaction: the outbox row, the papers
    /// it holds, the subscriber's last period. False (and nothing written) when that period was
    /// recorded already.
    async fn record_digest(
        &self,
        subscription: SubscriptionId,
        period: &str,
        message_id: &str,
        message: &str,
        papers: &[ArxivId],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (period, message_id) = (period.to_owned(), message_id.to_owned());
        let (message, papers) = (message.as_bytes().to_vec(), papers.to_vec());
        self.db()
            .write(move |tx| {
                // A concurrent record of the same period waits for this one, then inserts nothing.
                let n = tx.execute(
                    "INSERT INTO outbox (subscription_id, period, message_id, message, status,
                         next_attempt_at, created_at)
                     VALUES ($1, $2, $3, $4, 'pending', $5, $5) ON CONFLICT DO NOTHING",
                    params![subscription, &period, message_id, message, now],
                )?;
                if n == 0 {
                    return Ok(false);
                }
                for paper in &papers {
                    tx.execute(
                        "INSERT INTO digest_papers (subscription_id, paper_id, period)
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        params![subscription, paper, &period],
                    )?;
                }
                let sql = "UPDATE subscriptions SET last_period = $2 WHERE id = $1";
                tx.execute(sql, params![subscription, &period])?;
                Ok(true)
            })
            .await
    }

    /// Records that a subscriber had nothing new for `period`: it is not due again until the
    /// next period (without this, every look at the schedule would compose it again).
    async fn pass_period(&self, subscription: SubscriptionId, period: &str) -> Result<()> {
        let sql = "UPDATE subscriptions SET last_period = $2
             WHERE id = $1 AND (last_period IS NULL OR last_period < $2)";
        self.db()
            .execute(sql, params![subscription, period].to_vec())
            .await?;
        Ok(())
    }

    /// Outbox mail due now for subscriptions still active, oldest first. Where the outbox is
    /// shared ([`Digests::outbox_is_shared`]), the mail returned is claimed for this process.
    async fn due_mail(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxMail>> {
        let rows = self
            .db()
            .blocking(move |b| b.due_mail(DUE_MAIL, now, limit));
        let rows = rows.await?;
        let mut mail = rows
            .into_iter()
            .map(<(String, OutboxMail)>::from_row)
            .collect::<Result<Vec<_>>>()?;
        mail.sort_by(|a, b| (&a.0, a.1.id).cmp(&(&b.0, b.1.id)));
        Ok(mail.into_iter().map(|(_, m)| m).collect())
    }

    async fn mark_mail(&self, id: i64, outcome: Delivery, now: DateTime<Utc>) -> Result<()> {
        let backend = self.db().backend.clone();
        self.db()
            .write(move |tx| mark_mail(tx, &*backend, id, outcome, now))
            .await
    }

    /// Drops the bodies of these outbox mails where they were sent (12 KB a digest: 1.2 GB a day
    /// for 100,000 subscribers); rows keep their Message-ID and status, digest_papers what each
    /// held. Cancelled mail loses its body when cancelled. Returns how many were dropped.
    async fn forget_bodies(&self, ids: &[i64]) -> Result<u64> {
        let sql = "UPDATE outbox SET message = $2
             WHERE id = ANY($1) AND status = 'sent' AND octet_length(message) > 0";
        self.db()
            .execute(sql, params![ids, Vec::new()].to_vec())
            .await
    }

    async fn mail_stats(&self) -> Result<MailStats> {
        let sql = "SELECT
                COUNT(*) FILTER (WHERE unsubscribed_at IS NULL),
                COUNT(*) FILTER (WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL
                                   AND bouncing = FALSE),
                (SELECT COUNT(*) FROM outbox WHERE status = 'pending'),
                (SELECT COUNT(*) FROM outbox WHERE status = 'sent'),
                (SELECT COUNT(*) FROM outbox WHERE status = 'failed'),
                (SELECT MAX(period) FROM outbox)
             FROM subscriptions";
        self.db().read(move |tx| tx.one(sql, params![])).await
    }

    /// Whether digest senders of several processes may work the outbox at once, each
    /// [`Digests::due_mail`] claiming its rows for its process (PostgreSQL). Otherwise one sender
    /// at a time holds the `digest-sender` lock (SQLite).
    fn outbox_is_shared(&self) -> bool {
        self.db().backend.outbox_is_shared()
    }
}

impl Digests for crate::Database {}

fn subscription(tx: &mut dyn Tx, id: SubscriptionId) -> Result<Option<Subscription>> {
    tx.opt(&format!("{SUBSCRIPTION} WHERE id = $1"), params![id])
}

fn sign_up(
    tx: &mut dyn Tx,
    email: &str,
    frequency: Frequency,
    topics: Topics,
    account: Option<AccountId>,
    now: DateTime<Utc>,
) -> Result<SignUp> {
    let by_email = format!("{SUBSCRIPTION} WHERE email = $1");
    let mut existing: Option<Subscription> = tx.opt(&by_email, params![email])?;
    let mut inserted = None;
    if existing.is_none() {
        // A concurrent sign-up of the same address makes this insert wait for it and then do
        // nothing: the address is then read again and updated, as if this one had come second.
        inserted = tx.opt::<SubscriptionId>(
            "INSERT INTO subscriptions (email, account_id, frequency, topics, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING RETURNING id",
            params![email, account, frequency.as_str(), to_json(&topics), now],
        )?;
        if inserted.is_none() {
            existing = tx.opt(&by_email, params![email])?;
        }
    }
    let id = match (inserted, existing) {
        (Some(id), _) => id,
        (None, Some(s)) if s.confirmed_at.is_some() && s.unsubscribed_at.is_none() => {
            // A confirmed address: whoever asks, nothing changes until its owner confirms.
            let pending = Preferences { frequency, topics }.to_json();
            let sql = "UPDATE subscriptions SET pending = $2 WHERE id = $1";
            tx.execute(sql, params![s.id, pending])?;
            s.id
        }
        (None, Some(s)) => {
            // Not confirmed yet: nothing is sent until it is, so the latest sign-up's
            // preferences stand. An unsubscribed address starts over and must confirm again.
            tx.execute(
                "UPDATE subscriptions SET frequency = $2, topics = $3,
                    account_id = COALESCE($4, account_id), pending = NULL,
                    confirmed_at = NULL, unsubscribed_at = NULL
                 WHERE id = $1",
                params![s.id, frequency.as_str(), to_json(&topics), account],
            )?;
            s.id
        }
        (None, None) => {
            return Err(StoreError::Conflict(format!(
                "the address {email:?} is being signed up by another request"
            )))
        }
    };
    let sql = "SELECT confirm_sent_at FROM subscriptions WHERE id = $1";
    let confirm_sent: Option<DateTime<Utc>> = tx.one(sql, params![id])?;
    let sub =
        subscription(tx, id)?.ok_or_else(|| StoreError::Corrupt("a sign-up is gone".into()))?;
    let recently = confirm_sent.is_some_and(|t| now - t < chrono::Duration::hours(1));
    let due = (sub.confirmed_at.is_none() || sub.pending.is_some()) && !recently;
    if due {
        let sql = "UPDATE subscriptions SET confirm_sent_at = $2 WHERE id = $1";
        tx.execute(sql, params![id, now])?;
    }
    Ok(if due {
        SignUp::SendConfirmation(sub)
    } else {
        SignUp::Quiet(sub)
    })
}

fn mark_mail(
    tx: &mut dyn Tx,
    backend: &dyn crate::sql::Backend,
    id: i64,
    outcome: Delivery,
    now: DateTime<Utc>,
) -> Result<()> {
    match outcome {
        Delivery::Sent => {
            tx.execute(
                "UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1
                 WHERE id = $1",
                params![id, now],
            )?;
        }
        Delivery::Retry(at, error) => {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3
                 WHERE id = $1",
                params![id, at, error],
            )?;
            backend.mail_retried(tx, id)?;
        }
        Delivery::Failed { error, bounce } => {
            tx.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2
                 WHERE id = $1",
                params![id, error],
            )?;
            if bounce {
                tx.execute(
                    "UPDATE subscriptions SET bouncing = TRUE
                     WHERE id = (SELECT subscription_id FROM outbox WHERE id = $1)",
                    params![id],
                )?;
            }
        }
    }
    Ok(())
}
