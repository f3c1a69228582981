//! A reader's library: the papers an account saved, and the personal API tokens that let scripts
//! act for it. Token secrets are never stored: only their SHA-256, as for sessions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use paperboy_core::ArxivId;

use crate::community::{Account, AccountId};
use crate::papers::PaperView;
use crate::sql::{id_type, params, record_from_row, Backed, FromRow, FromValue, Row, Value};
use crate::Result;

id_type!(
    /// A personal API token's id.
    TokenId
);

/// Most papers one library holds.
pub const MAX_SAVES: usize = 20_000;
/// Most tokens one account holds.
pub const MAX_TOKENS: usize = 50;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read what the account can read.
    Read,
    /// Read, and act for the account: vote, save, import, collections.
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Scope, String> {
        match s {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            other => Err(format!("a scope is read or write, not {other:?}")),
        }
    }
}

/// A token as its owner's account page lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl FromValue for Scope {
    fn from_value(v: Value) -> Result<Scope> {
        String::from_value(v)?
            .parse()
            .map_err(crate::StoreError::Corrupt)
    }
}

/// A token found by its hash: whose it is, and when it was last used.
struct TokenUse {
    id: i64,
    account: AccountId,
    scope: Scope,
    last_used_at: Option<DateTime<Utc>>,
}

record_from_row! {
    ApiToken { id, name, scope, created_at, last_used_at }
    TokenUse { id, account, scope, last_used_at }
}

/// Most authors and categories one account follows.
pub const MAX_FOLLOWS: usize = 1_000;

/// What a reader follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowKind {
    Author,
    Category,
}

impl FollowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FollowKind::Author => "author",
            FollowKind::Category => "category",
        }
    }
}

impl FromValue for FollowKind {
    fn from_value(v: Value) -> Result<FollowKind> {
        match String::from_value(v)?.as_str() {
            "author" => Ok(FollowKind::Author),
            "category" => Ok(FollowKind::Category),
            other => Err(crate::StoreError::Corrupt(format!("follow kind {other:?}"))),
        }
    }
}

/// One author or category a reader follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follow {
    pub kind: FollowKind,
    /// The author's normalised name, or the category.
    pub key: String,
    /// The name as the reader first followed it.
    pub shown: String,
    pub created_at: DateTime<Utc>,
}

record_from_row! {
    Follow { kind, key, shown, created_at }
}

/// A saved paper and when it was saved.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub view: PaperView,
    pub saved_at: DateTime<Utc>,
}

impl FromRow for Saved {
    fn from_row(mut r: Row) -> Result<Saved> {
        let saved_at = r.take(4)?;
        Ok(Saved {
            view: PaperView::from_row(r)?,
            saved_at,
        })
    }
}

/// `%`, `_` and `\` escaped for `LIKE ... ESCAPE '\'`, lowercased.
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[async_trait]
pub trait Library: Backed {
    /// Saves (`save`) or unsaves a paper; the paper's saved state after, None when there is no
    /// such visible paper. A library full at [`MAX_SAVES`] refuses new saves (`Some(false)`).
    async fn save(
        &self,
        account: AccountId,
        paper: &ArxivId,
        save: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<bool>> {
        let paper = paper.clone();
        self.db()
            .write(move |tx| {
                let sql = "SELECT 1 FROM papers WHERE id = $1 AND hidden = FALSE";
                if tx.opt::<i64>(sql, params![&paper])?.is_none() {
                    return Ok(None);
                }
                if !save {
                    let sql = "DELETE FROM saves WHERE account_id = $1 AND paper_id = $2";
                    tx.execute(sql, params![account, &paper])?;
                    return Ok(Some(false));
                }
                let sql = "SELECT COUNT(*) FROM saves WHERE account_id = $1";
                let held: i64 = tx.one(sql, params![account])?;
                if held as usize >= MAX_SAVES {
                    let sql = "SELECT 1 FROM saves WHERE account_id = $1 AND paper_id = $2";
                    return Ok(Some(
                        tx.opt::<i64>(sql, params![account, &paper])?.is_some(),
                    ));
                }
                tx.execute(
                    "INSERT INTO saves (account_id, paper_id, saved_at) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    params![account, &paper, now],
                )?;
                Ok(Some(true))
            })
            .await
    }

    /// Saves every visible paper of `papers` in one transaction (those saved already keep their
    /// time), as far as [`MAX_SAVES`] allows; how many were added.
    async fn save_all(
        &self,
        account: AccountId,
        papers: &[ArxivId],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let papers = papers.to_vec();
        self.db()
            .write(move |tx| {
                let sql = "SELECT COUNT(*) FROM saves WHERE account_id = $1";
                let mut held = tx.one::<i64>(sql, params![account])? as usize;
                let mut added = 0;
                for paper in &papers {
                    if held >= MAX_SAVES {
                        break;
                    }
                    let n = tx.execute(
                        "INSERT INTO saves (account_id, paper_id, saved_at)
                         SELECT $1, id, $3 FROM papers WHERE id = $2 AND hidden = FALSE
                         ON CONFLICT DO NOTHING",
                        params![account, paper, now],
                    )? as usize;
                    held += n;
                    added += n;
                }
                Ok(added)
            })
            .await
    }

    /// Which of `papers` the account saved, in their order.
    async fn saved_of(&self, account: AccountId, papers: &[ArxivId]) -> Result<Vec<bool>> {
        let papers = papers.to_vec();
        let sql = "SELECT paper_id, TRUE FROM saves WHERE account_id = $1 AND paper_id = ANY($2)";
        self.db()
            .read(move |tx| {
                let saved = tx.all::<(ArxivId, bool)>(sql, params![account, &papers[..]])?;
                Ok(crate::sql::in_order(&papers, saved)
                    .into_iter()
                    .map(|v| v.is_some())
                    .collect())
            })
            .await
    }

    /// The account's saved papers, newest saved first, those whose title, authors or abstract
    /// contain `text` (any case) when given: `limit` of them from `offset`, and how many match.
    async fn library(
        &self,
        account: AccountId,
        text: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Saved>, usize)> {
        let pattern = text.filter(|t| !t.trim().is_empty()).map(like_pattern);
        let filter = "s.account_id = $1 AND p.hidden = FALSE
             AND ($2 IS NULL OR LOWER(p.doc) LIKE $2 ESCAPE '\\')";
        let page = format!(
            "SELECT p.doc,
                (SELECT e.doc FROM daily_entries e WHERE e.paper_id = p.id ORDER BY e.day DESC LIMIT 1),
                p.local_upvotes, p.local_comments, s.saved_at
             FROM saves s JOIN papers p ON p.id = s.paper_id
             WHERE {filter} ORDER BY s.saved_at DESC, s.paper_id LIMIT $3 OFFSET $4"
        );
        let count = format!(
            "SELECT COUNT(*) FROM saves s JOIN papers p ON p.id = s.paper_id WHERE {filter}"
        );
        self.db()
            .read(move |tx| {
                let rows = tx.all(&page, params![account, pattern.clone(), limit, offset])?;
                let total: i64 = tx.one(&count, params![account, pattern])?;
                Ok((rows, total as usize))
            })
            .await
    }

    /// Follows (`follow`) or unfollows an author or category; whether it is followed after.
    /// Past [`MAX_FOLLOWS`] nothing new is followed.
    async fn follow(
        &self,
        account: AccountId,
        kind: FollowKind,
        key: &str,
        shown: &str,
        follow: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (key, shown) = (key.to_owned(), shown.to_owned());
        self.db()
            .write(move |tx| {
                if !follow {
                    tx.execute(
                        "DELETE FROM follows WHERE account_id = $1 AND kind = $2 AND key = $3",
                        params![account, kind.as_str(), key],
                    )?;
                    return Ok(false);
                }
                let held: i64 = tx.one(
                    "SELECT COUNT(*) FROM follows WHERE account_id = $1",
                    params![account],
                )?;
                if held as usize >= MAX_FOLLOWS {
                    let sql =
                        "SELECT 1 FROM follows WHERE account_id = $1 AND kind = $2 AND key = $3";
                    return Ok(tx
                        .opt::<i64>(sql, params![account, kind.as_str(), key])?
                        .is_some());
                }
                tx.execute(
                    "INSERT INTO follows (account_id, kind, key, shown, created_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    params![account, kind.as_str(), key, shown, now],
                )?;
                Ok(true)
            })
            .await
    }

    /// Everything the account follows, authors first, each kind by name.
    async fn follows(&self, account: AccountId) -> Result<Vec<Follow>> {
        let sql = "SELECT kind, key, shown, created_at FROM follows WHERE account_id = $1
             ORDER BY kind, key";
        self.db()
            .read(move |tx| tx.all(sql, params![account]))
            .await
    }

    /// The account's votes, newest first: (paper, when).
    async fn votes_by(&self, account: AccountId) -> Result<Vec<(ArxivId, DateTime<Utc>)>> {
        let sql = "SELECT paper_id, created_at FROM votes WHERE account_id = $1
             ORDER BY created_at DESC, paper_id";
        self.db()
            .read(move |tx| tx.all(sql, params![account]))
            .await
    }

    /// The account's comments that are not deleted, newest first: (paper, body, when).
    async fn comments_by(
        &self,
        account: AccountId,
    ) -> Result<Vec<(ArxivId, String, DateTime<Utc>)>> {
        let sql = "SELECT paper_id, body, created_at FROM comments
             WHERE account_id = $1 AND deleted = FALSE ORDER BY id DESC";
        self.db()
            .read(move |tx| tx.all(sql, params![account]))
            .await
    }

    /// Deletes an account and what is its: sessions, tokens, saves, collections, follows, its
    /// digest subscription, and its votes (taken off the papers' counts). Its comments stay,
    /// shown as by a "deleted account" (`keep_comments`), or go (and are taken off the counts).
    /// False when there is no such account.
    async fn delete_account(
        &self,
        account: AccountId,
        keep_comments: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.db()
            .write(move |tx| {
                let email: Option<String> =
                    tx.opt("SELECT email FROM accounts WHERE id = $1", params![account])?;
                let Some(email) = email else {
                    return Ok(false);
                };
                let voted: Vec<ArxivId> = tx.all(
                    "SELECT paper_id FROM votes WHERE account_id = $1",
                    params![account],
                )?;
                tx.execute("DELETE FROM votes WHERE account_id = $1", params![account])?;
                for paper in &voted {
                    tx.execute(
                        "UPDATE papers SET local_upvotes = local_upvotes - 1 WHERE id = $1",
                        params![paper],
                    )?;
                }
                let commented: Vec<ArxivId> = tx.all(
                    "SELECT DISTINCT paper_id FROM comments WHERE account_id = $1",
                    params![account],
                )?;
                if keep_comments && !commented.is_empty() {
                    let placeholder = deleted_account(tx, now)?;
                    tx.execute(
                        "UPDATE comments SET account_id = $2 WHERE account_id = $1",
                        params![account, placeholder],
                    )?;
                } else {
                    tx.execute(
                        "DELETE FROM comments WHERE account_id = $1",
                        params![account],
                    )?;
                }
                for paper in &commented {
                    crate::community::recount_comments(tx, paper)?;
                }
                tx.execute(
                    "DELETE FROM subscriptions WHERE account_id = $1 OR LOWER(email) = LOWER($2)",
                    params![account, email],
                )?;
                // Sessions, tokens, saves, follows and collections (their items with them) go by
                // their foreign keys' ON DELETE CASCADE.
                tx.execute("DELETE FROM accounts WHERE id = $1", params![account])?;
                Ok(true)
            })
            .await
    }

    /// Makes a token for the account with the secret's hash `hash`; None when the account has
    /// [`MAX_TOKENS`] already.
    async fn create_token(
        &self,
        account: AccountId,
        name: &str,
        scope: Scope,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenId>> {
        let (name, hash) = (name.to_owned(), hash.to_owned());
        self.db()
            .write(move |tx| {
                let sql = "SELECT COUNT(*) FROM api_tokens WHERE account_id = $1";
                let held: i64 = tx.one(sql, params![account])?;
                if held as usize >= MAX_TOKENS {
                    return Ok(None);
                }
                tx.one(
                    "INSERT INTO api_tokens (account_id, name, token_hash, scope, created_at)
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    params![account, name, hash, scope.as_str(), now],
                )
                .map(Some)
            })
            .await
    }

    /// The account's tokens, newest first.
    async fn tokens(&self, account: AccountId) -> Result<Vec<ApiToken>> {
        let sql = "SELECT id, name, scope, created_at, last_used_at FROM api_tokens
             WHERE account_id = $1 ORDER BY id DESC";
        self.db()
            .read(move |tx| tx.all(sql, params![account]))
            .await
    }

    /// Deletes one of the account's tokens; false when it has no such token.
    async fn revoke_token(&self, account: AccountId, id: TokenId) -> Result<bool> {
        let sql = "DELETE FROM api_tokens WHERE id = $1 AND account_id = $2";
        let n = self
            .db()
            .run(crate::sql::Access::Statement, move |tx| {
                tx.execute(sql, params![id, account])
            })
            .await?;
        Ok(n > 0)
    }

    /// Deletes the token whose secret hashes to `hash`; false when there is none.
    async fn revoke_token_hash(&self, hash: &str) -> Result<bool> {
        let hash = hash.to_owned();
        let sql = "DELETE FROM api_tokens WHERE token_hash = $1";
        let n = self
            .db()
            .run(crate::sql::Access::Statement, move |tx| {
                tx.execute(sql, params![hash])
            })
            .await?;
        Ok(n > 0)
    }

    /// The account with this email address (any case) or username.
    async fn account_named(&self, name: &str) -> Result<Option<Account>> {
        let name = name.to_owned();
        let sql = format!(
            "{} FROM accounts a WHERE LOWER(a.email) = LOWER($1) OR a.username = $1
             ORDER BY a.id LIMIT 1",
            crate::community::ACCOUNT
        );
        self.db().read(move |tx| tx.opt(&sql, params![name])).await
    }

    /// The account (not blocked) and scope a token's hash belongs to, marking the token used at
    /// `now` (at most once a minute, so that reads stay reads).
    async fn token_account(
        &self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(Account, Scope)>> {
        let hash = hash.to_owned();
        // A read, as most API requests are; the write of the last use only once a minute.
        let found = self
            .db()
            .read(move |tx| {
                let found: Option<TokenUse> = tx.opt(
                    "SELECT t.id, t.account_id, t.scope, t.last_used_at FROM api_tokens t
                     JOIN accounts a ON a.id = t.account_id
                     WHERE t.token_hash = $1 AND a.blocked = FALSE",
                    params![hash],
                )?;
                let Some(used) = found else {
                    return Ok(None);
                };
                let sql = format!(
                    "{} FROM accounts a WHERE a.id = $1",
                    crate::community::ACCOUNT
                );
                let account: Account = tx.one(&sql, params![used.account])?;
                Ok(Some((used, account)))
            })
            .await?;
        let Some((used, account)) = found else {
            return Ok(None);
        };
        if used
            .last_used_at
            .is_none_or(|l| now - l > chrono::Duration::minutes(1))
        {
            let sql = "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1";
            let id = used.id;
            self.db()
                .run(crate::sql::Access::Statement, move |tx| {
                    tx.execute(sql, params![id, now])
                })
                .await?;
        }
        Ok(Some((account, used.scope)))
    }
}

impl Library for crate::Database {}

/// The account that comments of deleted accounts are kept under (made the first time).
fn deleted_account(tx: &mut dyn crate::sql::Tx, now: DateTime<Utc>) -> Result<AccountId> {
    const EMAIL: &str = "deleted-account@invalid";
    if let Some(id) = tx.opt("SELECT id FROM accounts WHERE email = $1", params![EMAIL])? {
        return Ok(id);
    }
    tx.one(
        "INSERT INTO accounts (email, username, display_name, created_at)
         VALUES ($1, '~deleted', 'deleted account', $2) RETURNING id",
        params![EMAIL, now],
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_match_the_text_literally() {
        assert_eq!(super::like_pattern("50%_A\\b"), "%50\\%\\_a\\\\b%");
    }
}
