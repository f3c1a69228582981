//! What the community adds to the store: accounts, sign-in links and sessions, votes, comments,
//! submissions and moderation. The rules that need no database (who may edit what, the trending
//! formula) live in `paperboy_core`; the web layer turns these into pages and JSON.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use paperboy_core::{ArxivId, DailyEntry, Paper, Submitter};

use crate::codec::{submitted_entry, username_base};
use crate::papers::{import, next_seq};
use crate::sql::{id_type, params, record_from_row, Backed, FromRow, Lock, Row, Tx};
use crate::{Result, StoreError};

id_type!(
    /// An account's id.
    AccountId
);
id_type!(
    /// A comment's id.
    CommentId
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    pub blocked: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: CommentId,
    pub paper_id: ArxivId,
    pub account_id: AccountId,
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
    HideComment(CommentId),
    ShowComment(CommentId),
    Block(String),
    Unblock(String),
    /// A moderator deletes another reader's comment (an author deleting their own is no
    /// moderation and leaves no audit row).
    DeleteComment(CommentId),
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

/// What moderators may want to undo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModerationQueue {
    pub hidden_papers: Vec<(ArxivId, String)>,
    pub hidden_comments: Vec<Comment>,
    pub blocked_accounts: Vec<Account>,
}

/// An [`Account`]'s columns, the table called `a`.
pub(crate) const ACCOUNT: &str =
    "SELECT a.id, a.email, a.username, a.display_name, a.is_admin, a.blocked, a.created_at";

/// A [`Comment`]'s columns: the comment `c` by the account `a`.
const COMMENT: &str = "SELECT c.id, c.paper_id, c.account_id, a.username, a.display_name,
        c.body, c.created_at, c.edited_at, c.hidden OR a.blocked
     FROM comments c JOIN accounts a ON a.id = c.account_id";

record_from_row! {
    Account { id, email, username, display_name, is_admin, blocked, created_at }
    Comment { id, paper_id, account_id, username, display_name, body, created_at, edited_at, hidden }
    AuditEntry { id, at, actor, action, target, detail }
}

/// A paper's id, document, newest daily entry and vote times (space-separated).
impl FromRow for TrendInput {
    fn from_row(mut r: Row) -> Result<TrendInput> {
        let (paper, entry): (Paper, Option<DailyEntry>) = (r.take(1)?, r.take(2)?);
        let imported = entry.as_ref().map(|e| e.upvotes);
        let votes: Option<String> = r.take(3)?;
        Ok(TrendInput {
            id: r.take(0)?,
            imported: imported
                .into_iter()
                .chain(paper.hf_upvotes)
                .max()
                .unwrap_or(0),
            listed_at: entry.map(|e| {
                e.published_at
                    .unwrap_or_else(|| e.day.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
            }),
            votes: votes
                .unwrap_or_default()
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(crate::codec::parse_ts)
                .collect::<Result<_>>()?,
        })
    }
}

#[async_trait]
pub trait Community: Backed {
    /// Stores a sign-in link's token (hashed) for `email`, valid until `expires_at`.
    async fn create_login_token(
        &self,
        token_hash: &str,
        email: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let (hash, email) = (token_hash.to_owned(), email.to_owned());
        self.db()
            .write(move |tx| {
                // Spent and expired tokens are of no further use: clear them on the way.
                tx.execute(
                    "DELETE FROM login_tokens WHERE used_at IS NOT NULL OR expires_at < $1",
                    params![Utc::now() - chrono::Duration::days(1)],
                )?;
                tx.execute(
                    "INSERT INTO login_tokens (token_hash, email, expires_at) VALUES ($1, $2, $3)",
                    params![hash, email, expires_at],
                )?;
                Ok(())
            })
            .await
    }

    /// Uses a sign-in token: the email it was made for, if it exists, is unused and unexpired.
    /// A token works once.
    async fn redeem_login_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let hash = token_hash.to_owned();
        // The row lock of the UPDATE makes a second redeemer wait and then find the token used.
        let sql = "UPDATE login_tokens SET used_at = $2
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
             RETURNING email";
        self.db()
            .write(move |tx| tx.opt(sql, params![hash, now]))
            .await
    }

    /// The account of `email`, created when new (username from the address, made unique). The
    /// first account, and any whose email is in `admins`, is an administrator. Only addresses
    /// count: a username in `admins` is resolved by the web layer once, at start, because a
    /// reader may take a free name or rename to one.
    async fn sign_in(&self, email: &str, admins: &[String], now: DateTime<Utc>) -> Result<Account> {
        let (email, admins) = (email.trim().to_lowercase(), admins.to_vec());
        self.db()
            .write(move |tx| {
                let named = admins.iter().any(|x| x.eq_ignore_ascii_case(&email));
                let by_email = format!("{ACCOUNT} FROM accounts a WHERE a.email = $1");
                for lock in [None, Some(Lock::Accounts)] {
                    if let Some(lock) = lock {
                        // A new account: its free username and whether it is the first (the
                        // administrator) are chosen under the lock; then the address is looked
                        // for again, as a sign-in that held the lock before may have made it.
                        tx.lock(lock)?;
                    }
                    if let Some(mut a) = tx.opt::<Account>(&by_email, params![&email])? {
                        if named && !a.is_admin {
                            let sql = "UPDATE accounts SET is_admin = TRUE WHERE id = $1";
                            tx.execute(sql, params![a.id])?;
                            a.is_admin = true;
                        }
                        return Ok(a);
                    }
                }
                let base = username_base(&email);
                let mut username = base.clone();
                let taken = "SELECT 1 FROM accounts WHERE username = $1";
                for n in 2.. {
                    if tx.opt::<i64>(taken, params![&username])?.is_none() {
                        break;
                    }
                    username = format!("{base}{n}");
                }
                let first: bool = tx.one("SELECT COUNT(*) = 0 FROM accounts", params![])?;
                let id: AccountId = tx.one(
                    "INSERT INTO accounts (email, username, display_name, is_admin, created_at)
                     VALUES ($1, $2, $2, $3, $4) RETURNING id",
                    params![&email, username, first || named, now],
                )?;
                account(tx, id)?.ok_or_else(|| StoreError::Corrupt("a new account is gone".into()))
            })
            .await
    }

    /// The account a session token (hashed) belongs to, if the session was created at or after
    /// `not_before` (older ones have expired).
    async fn session(&self, hash: &str, not_before: DateTime<Utc>) -> Result<Option<Account>> {
        let hash = hash.to_owned();
        let sql = format!(
            "{ACCOUNT} FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = $1 AND s.created_at >= $2"
        );
        self.db()
            .read(move |tx| tx.opt(&sql, params![hash, not_before]))
            .await
    }

    /// Stores a new session and removes every session created before `expired_before`.
    async fn create_session(
        &self,
        token_hash: &str,
        account: AccountId,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<()> {
        let hash = token_hash.to_owned();
        self.db()
            .write(move |tx| {
                // Expired sessions sign nobody in; sign-ins clear them on the way (an index keeps
                // it cheap).
                let sql = "DELETE FROM sessions WHERE created_at < $1";
                tx.execute(sql, params![expired_before])?;
                let insert = "INSERT INTO sessions (token_hash, account_id, created_at)
                     VALUES ($1, $2, $3)";
                tx.execute(insert, params![hash, account, now])?;
                Ok(())
            })
            .await
    }

    async fn end_session(&self, token_hash: &str) -> Result<()> {
        let sql = "DELETE FROM sessions WHERE token_hash = $1";
        self.db().execute(sql, params![token_hash].to_vec()).await?;
        Ok(())
    }

    /// Ends every session of an account; returns how many there were.
    async fn end_all_sessions(&self, account: AccountId) -> Result<u64> {
        let sql = "DELETE FROM sessions WHERE account_id = $1";
        self.db().execute(sql, params![account].to_vec()).await
    }

    /// Changes a username and display name; `Conflict` when the username is taken.
    async fn update_profile(
        &self,
        account: AccountId,
        username: &str,
        display_name: &str,
    ) -> Result<Account> {
        let (username, display_name) = (username.to_owned(), display_name.to_owned());
        self.db()
            .write(move |tx| {
                let taken = || StoreError::Conflict(format!("the username {username:?} is taken"));
                let sql = "SELECT 1 FROM accounts WHERE username = $1 AND id != $2";
                if tx.opt::<i64>(sql, params![&username, account])?.is_some() {
                    return Err(taken());
                }
                // The check can miss a concurrent rename to the same name: the unique index
                // then refuses it.
                let sql = "UPDATE accounts SET username = $2, display_name = $3 WHERE id = $1";
                match tx.execute(sql, params![account, &username, display_name]) {
                    Err(StoreError::Conflict(_)) => return Err(taken()),
                    other => other?,
                };
                account_or_conflict(tx, account)
            })
            .await
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let (username, sql) = (
            username.to_owned(),
            format!("{ACCOUNT} FROM accounts a WHERE a.username = $1"),
        );
        self.db()
            .read(move |tx| tx.opt(&sql, params![username]))
            .await
    }

    /// Adds (`up`) or removes an account's vote; `None` when the paper is unknown or hidden.
    /// The paper's local count and the vote rows change in one transaction.
    async fn vote(
        &self,
        account: AccountId,
        paper: &ArxivId,
        up: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<VoteOutcome>> {
        let paper = paper.clone();
        self.db()
            .write(move |tx| {
                if !visible(tx, &paper)? {
                    return Ok(None);
                }
                let changed = if up {
                    tx.execute(
                        "INSERT INTO votes (account_id, paper_id, created_at) VALUES ($1, $2, $3)
                         ON CONFLICT DO NOTHING",
                        params![account, &paper, now],
                    )?
                } else {
                    let sql = "DELETE FROM votes WHERE account_id = $1 AND paper_id = $2";
                    tx.execute(sql, params![account, &paper])?
                };
                // An increment: a concurrent vote's UPDATE waits for the row and adds to its new
                // value.
                let local_upvotes = if changed > 0 {
                    tx.one(
                        "UPDATE papers SET local_upvotes = local_upvotes + $2 WHERE id = $1
                         RETURNING local_upvotes",
                        params![&paper, if up { 1i64 } else { -1 }],
                    )?
                } else {
                    let sql = "SELECT local_upvotes FROM papers WHERE id = $1";
                    tx.one(sql, params![&paper])?
                };
                Ok(Some(VoteOutcome {
                    voted: up,
                    local_upvotes,
                }))
            })
            .await
    }

    /// Whether the account has voted for each of these papers.
    async fn votes_of(&self, account: AccountId, papers: &[ArxivId]) -> Result<Vec<bool>> {
        let papers = papers.to_vec();
        let sql = "SELECT paper_id, TRUE FROM votes WHERE account_id = $1 AND paper_id = ANY($2)";
        self.db()
            .read(move |tx| {
                let voted = tx.all::<(ArxivId, bool)>(sql, params![account, &papers[..]])?;
                Ok(crate::sql::in_order(&papers, voted)
                    .into_iter()
                    .map(|v| v.is_some())
                    .collect())
            })
            .await
    }

    /// Counts the vote rows of a paper (the truth `local_upvotes` must equal).
    async fn count_votes(&self, paper: &ArxivId) -> Result<i64> {
        let paper = paper.clone();
        let sql = "SELECT COUNT(*) FROM votes WHERE paper_id = $1";
        self.db().read(move |tx| tx.one(sql, params![&paper])).await
    }

    /// Puts a paper on `day`'s daily list as submitted by `by`, unless it is on a list already.
    async fn submit(
        &self,
        paper: Paper,
        day: NaiveDate,
        by: Submitter,
        now: DateTime<Utc>,
    ) -> Result<SubmitOutcome> {
        self.db()
            .write(move |tx| {
                // The change feed's lock, taken before the duplicate check, makes two submissions
                // of one paper one after the other, on every node: they cannot both pass it.
                tx.lock(Lock::Feed)?;
                let sql = "SELECT MAX(day) FROM daily_entries WHERE paper_id = $1";
                if let Some(listed) = tx.one::<Option<NaiveDate>>(sql, params![&paper.id])? {
                    return Ok(SubmitOutcome::Duplicate(listed));
                }
                let position: i64 = tx.one(
                    "SELECT COALESCE(MAX(position) + 1, 0) FROM daily_entries WHERE day = $1",
                    params![day],
                )?;
                let mut paper = paper;
                let entry = submitted_entry(&mut paper, day, position, by, now);
                import(tx, vec![(paper, Some(entry))])?;
                Ok(SubmitOutcome::Added(day))
            })
            .await
    }

    /// Adds a comment; `None` when the paper is unknown or hidden.
    async fn add_comment(
        &self,
        paper: &ArxivId,
        account: AccountId,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Comment>> {
        let (paper, body) = (paper.clone(), body.to_owned());
        self.db()
            .write(move |tx| {
                if !visible(tx, &paper)? {
                    return Ok(None);
                }
                let id: CommentId = tx.one(
                    "INSERT INTO comments (paper_id, account_id, body, created_at)
                     VALUES ($1, $2, $3, $4) RETURNING id",
                    params![&paper, account, body, now],
                )?;
                recount_comments(tx, &paper)?;
                comment(tx, id)
            })
            .await
    }

    /// A paper's comments, oldest first: shown ones, or with `moderator` the hidden ones too.
    async fn comments(&self, paper: &ArxivId, moderator: bool) -> Result<Vec<Comment>> {
        let paper = paper.clone();
        let sql = format!(
            "{COMMENT} WHERE c.paper_id = $1 AND c.deleted = FALSE
               AND ($2 OR (c.hidden = FALSE AND a.blocked = FALSE))
             ORDER BY c.id"
        );
        self.db()
            .read(move |tx| tx.all(&sql, params![&paper, moderator]))
            .await
    }

    async fn comment(&self, id: CommentId) -> Result<Option<Comment>> {
        self.db().read(move |tx| comment(tx, id)).await
    }

    async fn edit_comment(&self, id: CommentId, body: &str, now: DateTime<Utc>) -> Result<bool> {
        let sql = "UPDATE comments SET body = $2, edited_at = $3 WHERE id = $1 AND deleted = FALSE";
        Ok(self
            .db()
            .execute(sql, params![id, body, now].to_vec())
            .await?
            > 0)
    }

    async fn delete_comment(&self, id: CommentId) -> Result<bool> {
        self.db().write(move |tx| delete_comment(tx, id)).await
    }

    /// Applies a moderator's action and logs it; false when its target does not exist.
    async fn moderate(
        &self,
        actor: &str,
        action: Moderation,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (actor, detail) = (actor.to_owned(), detail.to_owned());
        self.db()
            .write(move |tx| {
                let done = moderate(tx, &action)?;
                if done {
                    tx.execute(
                        "INSERT INTO audit_log (at, actor, action, target, detail)
                         VALUES ($1, $2, $3, $4, $5)",
                        params![now, actor, action.action(), action.target(), detail],
                    )?;
                }
                Ok(done)
            })
            .await
    }

    /// The newest `limit` audit-log entries, newest first.
    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let sql =
            "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1";
        self.db().read(move |tx| tx.all(sql, params![limit])).await
    }

    async fn moderation_queue(&self) -> Result<ModerationQueue> {
        let comments = format!(
            "{COMMENT} WHERE c.hidden = TRUE AND c.deleted = FALSE ORDER BY c.id DESC LIMIT 200"
        );
        let accounts =
            format!("{ACCOUNT} FROM accounts a WHERE a.blocked = TRUE ORDER BY a.username");
        self.db()
            .read(move |tx| {
                let papers =
                    "SELECT id, doc FROM papers WHERE hidden = TRUE ORDER BY seq DESC LIMIT 200";
                let papers = tx.all::<(ArxivId, Paper)>(papers, params![])?;
                Ok(ModerationQueue {
                    hidden_papers: papers.into_iter().map(|(id, p)| (id, p.title)).collect(),
                    hidden_comments: tx.all(&comments, params![])?,
                    blocked_accounts: tx.all(&accounts, params![])?,
                })
            })
            .await
    }

    /// Trending inputs of papers listed or voted for since `since`.
    async fn trend_inputs(&self, since: DateTime<Utc>) -> Result<Vec<TrendInput>> {
        self.db()
            .read(move |tx| {
                tx.all(
                    "SELECT p.id, p.doc,
                        (SELECT e.doc FROM daily_entries e WHERE e.paper_id = p.id
                         ORDER BY e.day DESC LIMIT 1),
                        (SELECT string_agg(v.created_at, ' ') FROM votes v WHERE v.paper_id = p.id)
                     FROM papers p
                     WHERE p.hidden = FALSE AND (
                         p.id IN (SELECT paper_id FROM daily_entries WHERE day >= $1)
                         OR p.id IN (SELECT paper_id FROM votes WHERE created_at >= $2))",
                    params![since.date_naive(), since],
                )
            })
            .await
    }
}

impl Community for crate::Database {}

fn account(tx: &mut dyn Tx, id: AccountId) -> Result<Option<Account>> {
    let sql = format!("{ACCOUNT} FROM accounts a WHERE a.id = $1");
    tx.opt(&sql, params![id])
}

fn account_or_conflict(tx: &mut dyn Tx, id: AccountId) -> Result<Account> {
    account(tx, id)?.ok_or_else(|| StoreError::Conflict("no such account".into()))
}

fn comment(tx: &mut dyn Tx, id: CommentId) -> Result<Option<Comment>> {
    let sql = format!("{COMMENT} WHERE c.id = $1 AND c.deleted = FALSE");
    tx.opt(&sql, params![id])
}

/// Whether a paper is known and not hidden.
fn visible(tx: &mut dyn Tx, paper: &ArxivId) -> Result<bool> {
    let sql = "SELECT 1 FROM papers WHERE id = $1 AND hidden = FALSE";
    Ok(tx.opt::<i64>(sql, params![paper])?.is_some())
}

/// Sets a paper's shown-comment count from its rows. The paper's row is locked first, so that the
/// count sees the comments of every transaction that recounted before (an UPDATE alone would
/// count with the snapshot it started with, before it waited for the row).
pub(crate) fn recount_comments(tx: &mut dyn Tx, paper: &ArxivId) -> Result<()> {
    tx.lock(Lock::Paper(paper))?;
    tx.execute(
        "UPDATE papers SET local_comments = (
            SELECT COUNT(*) FROM comments c JOIN accounts a ON a.id = c.account_id
            WHERE c.paper_id = $1 AND c.hidden = FALSE AND c.deleted = FALSE AND a.blocked = FALSE)
         WHERE id = $1",
        params![paper],
    )?;
    Ok(())
}

/// Deletes a comment (its body with it) and recounts its paper; false when there is none.
fn delete_comment(tx: &mut dyn Tx, id: CommentId) -> Result<bool> {
    let sql = "UPDATE comments SET deleted = TRUE, body = '' WHERE id = $1 AND deleted = FALSE
         RETURNING paper_id";
    let paper: Option<ArxivId> = tx.opt(sql, params![id])?;
    if let Some(paper) = &paper {
        recount_comments(tx, paper)?;
    }
    Ok(paper.is_some())
}

/// Carries out a moderator's action; false when its target does not exist.
fn moderate(tx: &mut dyn Tx, action: &Moderation) -> Result<bool> {
    Ok(match action {
        Moderation::HidePaper(id) | Moderation::ShowPaper(id) => {
            let hide = matches!(action, Moderation::HidePaper(_));
            // A new seq puts the paper on the change feed, so search indexes drop or restore it.
            let seq = next_seq(tx)?;
            let sql = "UPDATE papers SET hidden = $2, seq = $3 WHERE id = $1";
            tx.execute(sql, params![id, hide, seq])? > 0
        }
        Moderation::HideComment(id) | Moderation::ShowComment(id) => {
            let hide = matches!(action, Moderation::HideComment(_));
            let sql = "UPDATE comments SET hidden = $2 WHERE id = $1 AND deleted = FALSE
                 RETURNING paper_id";
            let paper: Option<ArxivId> = tx.opt(sql, params![*id, hide])?;
            if let Some(paper) = &paper {
                recount_comments(tx, paper)?;
            }
            paper.is_some()
        }
        Moderation::DeleteComment(id) => delete_comment(tx, *id)?,
        Moderation::Block(name) | Moderation::Unblock(name) => {
            let block = matches!(action, Moderation::Block(_));
            let sql = "UPDATE accounts SET blocked = $2 WHERE username = $1 RETURNING id";
            let Some(id) = tx.opt::<AccountId>(sql, params![name, block])? else {
                return Ok(false);
            };
            if block {
                tx.execute("DELETE FROM sessions WHERE account_id = $1", params![id])?;
            }
            // In id order, so that two moderators' recounts lock papers in the same order.
            let sql =
                "SELECT DISTINCT paper_id FROM comments WHERE account_id = $1 ORDER BY paper_id";
            for paper in tx.all::<ArxivId>(sql, params![id])? {
                recount_comments(tx, &paper)?;
            }
            true
        }
    })
}
