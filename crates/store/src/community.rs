//! What the community adds to the store: accounts, sessions, votes, comments, submissions and
//! moderation, as plain data. The rules that need no database (who may edit what, the trending
//! formula) live in `paperboy_core`; the web layer turns these into pages and JSON.

use chrono::{DateTime, NaiveDate, Utc};
use paperboy_core::ArxivId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    pub blocked: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: i64,
    pub paper_id: ArxivId,
    pub account_id: i64,
    pub username: String,
    pub display_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    /// Hidden by a moderator (only moderators see it, marked as hidden).
    pub hidden: bool,
}

/// The state of one account's vote after a vote or unvote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteOutcome {
    pub voted: bool,
    /// Votes cast on this instance for the paper, now.
    pub local_upvotes: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Put on the daily list of that day.
    Added(NaiveDate),
    /// Already on the daily list of that day: nothing was changed.
    Duplicate(NaiveDate),
}

/// What a moderator can do. Every action is written to the audit log in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moderation {
    HidePaper(ArxivId),
    ShowPaper(ArxivId),
    HideComment(i64),
    ShowComment(i64),
    Block(String),
    Unblock(String),
    /// A moderator deletes another reader's comment (an author deleting their own is no
    /// moderation and leaves no audit row).
    DeleteComment(i64),
}

impl Moderation {
    pub fn action(&self) -> &'static str {
        match self {
            Moderation::HidePaper(_) => "hide paper",
            Moderation::ShowPaper(_) => "show paper",
            Moderation::HideComment(_) => "hide comment",
            Moderation::ShowComment(_) => "show comment",
            Moderation::Block(_) => "block account",
            Moderation::Unblock(_) => "unblock account",
            Moderation::DeleteComment(_) => "delete comment",
        }
    }

    pub fn target(&self) -> String {
        match self {
            Moderation::HidePaper(id) | Moderation::ShowPaper(id) => id.to_string(),
            Moderation::HideComment(id)
            | Moderation::ShowComment(id)
            | Moderation::DeleteComment(id) => format!("comment {id}"),
            Moderation::Block(u) | Moderation::Unblock(u) => u.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// What moderators may want to undo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModerationQueue {
    pub hidden_papers: Vec<(ArxivId, String)>,
    pub hidden_comments: Vec<Comment>,
    pub blocked_accounts: Vec<Account>,
}

/// The inputs of the trending score of one paper: its imported votes (stand-ins cast when it was
/// listed) and the times of its local votes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendInput {
    pub id: ArxivId,
    pub imported: i64,
    /// When it was put on a daily list (its latest), if ever.
    pub listed_at: Option<DateTime<Utc>>,
    pub votes: Vec<DateTime<Utc>>,
}

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
    pub id: i64,
    pub email: String,
    pub account_id: Option<i64>,
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
    pub subscription_id: i64,
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
