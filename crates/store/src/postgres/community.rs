//! The community tables of the PostgreSQL backend (accounts, sessions, votes, comments,
//! moderation, digests): each function is one transaction or one statement, called from the
//! `Store` impl on the blocking pool. A port of `sqlite/community.rs`; where SQLite's single
//! writer serialised two transactions, a row or table lock does it here (see the comments).

use chrono::{DateTime, NaiveDate, Utc};
use paperboy_core::{ArxivId, Paper, Submitter};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, Row};

use crate::codec::{day_str, from_json, parse_day, parse_ts, to_json, ts, username_base};
use crate::{
    Account, AuditEntry, Comment, Delivery, Frequency, MailStats, Moderation, ModerationQueue,
    OutboxMail, Preferences, Result, SignUp, StoreError, SubmitOutcome, Subscription, Topics,
    TrendInput, VoteOutcome,
};

const ACCOUNT_COLUMNS: &str = "id, email, username, display_name, is_admin, blocked, created_at";

fn account_row(r: &Row) -> Result<Account> {
    Ok(Account {
        id: r.try_get(0)?,
        email: r.try_get(1)?,
        username: r.try_get(2)?,
        display_name: r.try_get(3)?,
        is_admin: r.try_get(4)?,
        blocked: r.try_get(5)?,
        created_at: parse_ts(&r.try_get::<_, String>(6)?)?,
    })
}

fn parse_id(s: &str) -> Result<ArxivId> {
    ArxivId::parse(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn account_where(
    c: &mut impl GenericClient,
    clause: &str,
    value: &(dyn ToSql + Sync),
) -> Result<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE {clause}");
    c.query_opt(sql.as_str(), &[value])?
        .as_ref()
        .map(account_row)
        .transpose()
}

pub(super) fn create_login_token(
    c: &mut Client,
    hash: &str,
    email: &str,
    expires: DateTime<Utc>,
) -> Result<()> {
    let mut tx = c.transaction()?;
    // Spent and expired tokens are of no further use: clear them on the way.
    tx.execute(
        "DELETE FROM login_tokens WHERE used_at IS NOT NULL OR expires_at < $1",
        &[&ts(Utc::now() - chrono::Duration::days(1))],
    )?;
    tx.execute(
        "INSERT INTO login_tokens (token_hash, email, expires_at) VALUES ($1, $2, $3)",
        &[&hash, &email, &ts(expires)],
    )?;
    tx.commit()?;
    Ok(())
}

pub(super) fn redeem_login_token(
    c: &mut Client,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let mut tx = c.transaction()?;
    // The row lock of the UPDATE makes a second redeemer wait and then find the token used.
    let email: Option<String> = tx
        .query_opt(
            "UPDATE login_tokens SET used_at = $2
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
             RETURNING email",
            &[&hash, &ts(now)],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    tx.commit()?;
    Ok(email)
}

pub(super) fn sign_in(
    c: &mut Client,
    email: &str,
    admins: &[String],
    now: DateTime<Utc>,
) -> Result<Account> {
    let email = email.trim().to_lowercase();
    let mut tx = c.transaction()?;
    let mut locked = false;
    loop {
        if let Some(a) = account_where(&mut tx, "email = $1", &email)? {
            let named_admin = admins.iter().any(|x| x.eq_ignore_ascii_case(&a.email));
            if named_admin && !a.is_admin {
                tx.execute(
                    "UPDATE accounts SET is_admin = true WHERE id = $1",
                    &[&a.id],
                )?;
            }
            let a = account_where(&mut tx, "id = $1", &a.id)?.expect("just read");
            tx.commit()?;
            return Ok(a);
        }
        if locked {
            break;
        }
        // A new account: SQLite's single writer made the choice of a free username and of the
        // first account (the admin) safe; here the table lock does (it conflicts with itself and
        // with every write to accounts, not with reads). Then look for the address again: a
        // sign-in that held the lock before may have created it.
        tx.execute("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE", &[])?;
        locked = true;
    }
    let base = username_base(&email);
    let mut username = base.clone();
    let mut n = 1;
    while tx
        .query_opt("SELECT 1 FROM accounts WHERE username = $1", &[&username])?
        .is_some()
    {
        n += 1;
        username = format!("{base}{n}");
    }
    let first: bool = tx
        .query_one("SELECT COUNT(*) = 0 FROM accounts", &[])?
        .try_get(0)?;
    let admin = first || admins.iter().any(|x| x.eq_ignore_ascii_case(&email));
    let id: i64 = tx
        .query_one(
            "INSERT INTO accounts (email, username, display_name, is_admin, created_at)
             VALUES ($1, $2, $2, $3, $4) RETURNING id",
            &[&email, &username, &admin, &ts(now)],
        )?
        .try_get(0)?;
    let a = account_where(&mut tx, "id = $1", &id)?.expect("just inserted");
    tx.commit()?;
    Ok(a)
}

pub(super) fn create_session(
    c: &mut Client,
    hash: &str,
    account_id: i64,
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
) -> Result<()> {
    let mut tx = c.transaction()?;
    // Expired sessions sign nobody in; sign-ins clear them on the way (an index keeps it cheap).
    tx.execute(
        "DELETE FROM sessions WHERE created_at < $1",
        &[&ts(expired_before)],
    )?;
    tx.execute(
        "INSERT INTO sessions (token_hash, account_id, created_at) VALUES ($1, $2, $3)",
        &[&hash, &account_id, &ts(now)],
    )?;
    tx.commit()?;
    Ok(())
}

pub(super) fn session(
    c: &mut Client,
    hash: &str,
    not_before: DateTime<Utc>,
) -> Result<Option<Account>> {
    let sql = format!(
        "SELECT {} FROM sessions s JOIN accounts a ON a.id = s.account_id
         WHERE s.token_hash = $1 AND s.created_at >= $2",
        ACCOUNT_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Every signed-in request reads its session: one round trip (see `super::TEXT`).
    c.query_typed(
        sql.as_str(),
        &[(&hash, super::TEXT), (&ts(not_before), super::TEXT)],
    )?
    .first()
    .map(account_row)
    .transpose()
}

pub(super) fn update_profile(
    c: &mut Client,
    id: i64,
    username: &str,
    display_name: &str,
) -> Result<Account> {
    let taken_err = || StoreError::Conflict(format!("the username {username:?} is taken"));
    let mut tx = c.transaction()?;
    let taken = tx
        .query_opt(
            "SELECT 1 FROM accounts WHERE username = $1 AND id != $2",
            &[&username, &id],
        )?
        .is_some();
    if taken {
        return Err(taken_err());
    }
    // The check can miss a concurrent rename to the same name: the unique index then refuses it.
    tx.execute(
        "UPDATE accounts SET username = $2, display_name = $3 WHERE id = $1",
        &[&id, &username, &display_name],
    )
    .map_err(|e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            taken_err()
        } else {
            e.into()
        }
    })?;
    let a = account_where(&mut tx, "id = $1", &id)?
        .ok_or_else(|| StoreError::Conflict("no such account".into()))?;
    tx.commit()?;
    Ok(a)
}

pub(super) fn vote(
    c: &mut Client,
    account: i64,
    paper: &str,
    up: bool,
    now: DateTime<Utc>,
) -> Result<Option<VoteOutcome>> {
    let mut tx = c.transaction()?;
    let visible = tx
        .query_opt(
            "SELECT 1 FROM papers WHERE id = $1 AND hidden = false",
            &[&paper],
        )?
        .is_some();
    if !visible {
        return Ok(None);
    }
    let changed = if up {
        tx.execute(
            "INSERT INTO votes (account_id, paper_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&account, &paper, &ts(now)],
        )?
    } else {
        tx.execute(
            "DELETE FROM votes WHERE account_id = $1 AND paper_id = $2",
            &[&account, &paper],
        )?
    };
    if changed > 0 {
        // An increment: a concurrent vote's UPDATE waits for the row and adds to its new value.
        tx.execute(
            "UPDATE papers SET local_upvotes = local_upvotes + $2 WHERE id = $1",
            &[&paper, &if up { 1i64 } else { -1i64 }],
        )?;
    }
    let local: i64 = tx
        .query_one("SELECT local_upvotes FROM papers WHERE id = $1", &[&paper])?
        .try_get(0)?;
    tx.commit()?;
    Ok(Some(VoteOutcome {
        voted: up,
        local_upvotes: local,
    }))
}

pub(super) fn submit(
    c: &mut Client,
    paper: Paper,
    day: NaiveDate,
    by: Submitter,
    now: DateTime<Utc>,
) -> Result<SubmitOutcome> {
    let id = paper.id.to_string();
    let mut tx = c.transaction()?;
    // The change feed's lock, taken before the duplicate check, serialises submissions across
    // nodes as SQLite's single writer did: two submissions of one paper cannot both pass the
    // check. The import merges the paper like any other record.
    super::lock_seq(&mut tx)?;
    let existing: Option<String> = tx
        .query_one(
            "SELECT MAX(day) FROM daily_entries WHERE paper_id = $1",
            &[&id],
        )?
        .try_get(0)?;
    if let Some(d) = existing {
        return Ok(SubmitOutcome::Duplicate(parse_day(&d)?));
    }
    let position: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(position) + 1, 0) FROM daily_entries WHERE day = $1",
            &[&day_str(day)],
        )?
        .try_get(0)?;
    let mut paper = paper;
    let entry = crate::codec::submitted_entry(&mut paper, day, position, by, now);
    super::import_in(&mut tx, vec![(paper, Some(entry))])?;
    tx.commit()?;
    Ok(SubmitOutcome::Added(day))
}

const COMMENT_SELECT: &str = "SELECT c.id, c.paper_id, c.account_id, a.username, a.display_name,
        c.body, c.created_at, c.edited_at, c.hidden OR a.blocked
     FROM comments c JOIN accounts a ON a.id = c.account_id";

fn read_comment(r: &Row) -> Result<Comment> {
    Ok(Comment {
        id: r.try_get(0)?,
        paper_id: parse_id(&r.try_get::<_, String>(1)?)?,
        account_id: r.try_get(2)?,
        username: r.try_get(3)?,
        display_name: r.try_get(4)?,
        body: r.try_get(5)?,
        created_at: parse_ts(&r.try_get::<_, String>(6)?)?,
        edited_at: r
            .try_get::<_, Option<String>>(7)?
            .as_deref()
            .map(parse_ts)
            .transpose()?,
        hidden: r.try_get(8)?,
    })
}

/// Locks a paper's row until the transaction ends, so that the count that follows sees the
/// comments of every transaction that recounted before (an UPDATE alone would count with the
/// snapshot it started with, before it waited for the row).
const LOCK_PAPER: &str = "SELECT 1 FROM papers WHERE id = $1 FOR NO KEY UPDATE";

const RECOUNT: &str = "UPDATE papers SET local_comments = (
        SELECT COUNT(*) FROM comments c JOIN accounts a ON a.id = c.account_id
        WHERE c.paper_id = $1 AND c.hidden = false AND c.deleted = false AND a.blocked = false)
     WHERE id = $1";

/// Sets a paper's shown-comment count from its rows.
fn recount_comments(c: &mut impl GenericClient, paper: &str) -> Result<()> {
    c.execute(LOCK_PAPER, &[&paper])?;
    c.execute(RECOUNT, &[&paper])?;
    Ok(())
}

pub(super) fn add_comment(
    c: &mut Client,
    paper: &str,
    account: i64,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Option<Comment>> {
    let mut tx = c.transaction()?;
    let visible = tx
        .query_opt(
            "SELECT 1 FROM papers WHERE id = $1 AND hidden = false",
            &[&paper],
        )?
        .is_some();
    if !visible {
        return Ok(None);
    }
    let id: i64 = tx
        .query_one(
            "INSERT INTO comments (paper_id, account_id, body, created_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[&paper, &account, &body, &ts(now)],
        )?
        .try_get(0)?;
    recount_comments(&mut tx, paper)?;
    let comment = comment_by_id(&mut tx, id)?;
    tx.commit()?;
    Ok(comment)
}

pub(super) fn comment_by_id(c: &mut impl GenericClient, id: i64) -> Result<Option<Comment>> {
    let sql = format!("{COMMENT_SELECT} WHERE c.id = $1 AND c.deleted = false");
    c.query_opt(sql.as_str(), &[&id])?
        .as_ref()
        .map(read_comment)
        .transpose()
}

pub(super) fn comments(c: &mut Client, paper: &str, moderator: bool) -> Result<Vec<Comment>> {
    let sql = format!(
        "{COMMENT_SELECT} WHERE c.paper_id = $1 AND c.deleted = false
           AND ($2::boolean OR (c.hidden = false AND a.blocked = false))
         ORDER BY c.id"
    );
    c.query(sql.as_str(), &[&paper, &moderator])?
        .iter()
        .map(read_comment)
        .collect()
}

pub(super) fn edit_comment(
    c: &mut Client,
    id: i64,
    body: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = c.execute(
        "UPDATE comments SET body = $2, edited_at = $3 WHERE id = $1 AND deleted = false",
        &[&id, &body, &ts(now)],
    )?;
    Ok(n > 0)
}

pub(super) fn delete_comment(c: &mut Client, id: i64) -> Result<bool> {
    let mut tx = c.transaction()?;
    let paper: Option<String> = tx
        .query_opt(
            "UPDATE comments SET deleted = true, body = '' WHERE id = $1 AND deleted = false
             RETURNING paper_id",
            &[&id],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    let Some(paper) = paper else {
        return Ok(false);
    };
    recount_comments(&mut tx, &paper)?;
    tx.commit()?;
    Ok(true)
}

pub(super) fn moderate(
    c: &mut Client,
    actor: &str,
    action: Moderation,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let mut tx = c.transaction()?;
    let done = match &action {
        Moderation::HidePaper(id) | Moderation::ShowPaper(id) => {
            let hide = matches!(action, Moderation::HidePaper(_));
            // A new seq puts the paper on the change feed, so search indexes drop or restore it.
            let seq = super::next_seq(&mut tx)?;
            tx.execute(
                "UPDATE papers SET hidden = $2, seq = $3 WHERE id = $1",
                &[&id.to_string(), &hide, &seq],
            )? > 0
        }
        Moderation::HideComment(id) | Moderation::ShowComment(id) => {
            let hide = matches!(action, Moderation::HideComment(_));
            let paper: Option<String> = tx
                .query_opt(
                    "UPDATE comments SET hidden = $2 WHERE id = $1 AND deleted = false
                     RETURNING paper_id",
                    &[id, &hide],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            if let Some(p) = &paper {
                recount_comments(&mut tx, p)?;
            }
            paper.is_some()
        }
        Moderation::DeleteComment(id) => {
            let paper: Option<String> = tx
                .query_opt(
                    "UPDATE comments SET deleted = true, body = '' WHERE id = $1 AND deleted = false
                     RETURNING paper_id",
                    &[id],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            if let Some(p) = &paper {
                recount_comments(&mut tx, p)?;
            }
            paper.is_some()
        }
        Moderation::Block(name) | Moderation::Unblock(name) => {
            let block = matches!(action, Moderation::Block(_));
            let id: Option<i64> = tx
                .query_opt(
                    "UPDATE accounts SET blocked = $2 WHERE username = $1 RETURNING id",
                    &[name, &block],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            if let Some(id) = id {
                if block {
                    tx.execute("DELETE FROM sessions WHERE account_id = $1", &[&id])?;
                }
                // In id order, so that two moderators' recounts lock papers in the same order.
                let papers: Vec<String> = tx
                    .query(
                        "SELECT DISTINCT paper_id FROM comments WHERE account_id = $1
                         ORDER BY paper_id",
                        &[&id],
                    )?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, postgres::Error>>()?;
                let lock = tx.prepare(LOCK_PAPER)?;
                let recount = tx.prepare(RECOUNT)?;
                for p in &papers {
                    tx.execute(&lock, &[p])?;
                    tx.execute(&recount, &[p])?;
                }
            }
            id.is_some()
        }
    };
    if done {
        tx.execute(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
            &[
                &ts(now),
                &actor,
                &action.action(),
                &action.target(),
                &detail,
            ],
        )?;
    }
    tx.commit()?;
    Ok(done)
}

pub(super) fn audit_log(c: &mut Client, limit: usize) -> Result<Vec<AuditEntry>> {
    c.query(
        "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        &[&(limit as i64)],
    )?
    .iter()
    .map(|r| {
        Ok(AuditEntry {
            id: r.try_get(0)?,
            at: parse_ts(&r.try_get::<_, String>(1)?)?,
            actor: r.try_get(2)?,
            action: r.try_get(3)?,
            target: r.try_get(4)?,
            detail: r.try_get(5)?,
        })
    })
    .collect()
}

pub(super) fn moderation_queue(c: &mut Client) -> Result<ModerationQueue> {
    let mut q = ModerationQueue::default();
    for r in c.query(
        "SELECT id, doc FROM papers WHERE hidden = true ORDER BY seq DESC LIMIT 200",
        &[],
    )? {
        let paper: Paper = from_json(&r.try_get::<_, String>(1)?)?;
        let id = parse_id(&r.try_get::<_, String>(0)?)?;
        q.hidden_papers.push((id, paper.title));
    }
    let sql = format!(
        "{COMMENT_SELECT} WHERE c.hidden = true AND c.deleted = false ORDER BY c.id DESC LIMIT 200"
    );
    for r in c.query(sql.as_str(), &[])? {
        q.hidden_comments.push(read_comment(&r)?);
    }
    let sql =
        format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE blocked = true ORDER BY username");
    for r in c.query(sql.as_str(), &[])? {
        q.blocked_accounts.push(account_row(&r)?);
    }
    Ok(q)
}

pub(super) fn trend_inputs(c: &mut Client, since: DateTime<Utc>) -> Result<Vec<TrendInput>> {
    let since_day = day_str(since.date_naive());
    let rows = c.query(
        "SELECT p.id, p.doc,
                (SELECT e.doc FROM daily_entries e WHERE e.paper_id = p.id ORDER BY e.day DESC LIMIT 1),
                (SELECT string_agg(v.created_at, ' ') FROM votes v WHERE v.paper_id = p.id)
         FROM papers p
         WHERE p.hidden = false AND (
             p.id IN (SELECT paper_id FROM daily_entries WHERE day >= $1)
             OR p.id IN (SELECT paper_id FROM votes WHERE created_at >= $2))",
        &[&since_day, &ts(since)],
    )?;
    rows.iter()
        .map(|r| {
            crate::codec::trend_input(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)
        })
        .collect()
}

// --- Digests ---

pub(super) fn secret(c: &mut Client, name: &str, fresh: &str) -> Result<String> {
    let key = format!("secret:{name}");
    let mut tx = c.transaction()?;
    // A concurrent first use waits on the other's row and then reads the value it committed.
    tx.execute(
        "INSERT INTO settings_kv (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        &[&key, &fresh],
    )?;
    let v: String = tx
        .query_one("SELECT value FROM settings_kv WHERE name = $1", &[&key])?
        .try_get(0)?;
    tx.commit()?;
    Ok(v)
}

const SUB_COLUMNS: &str = "id, email, account_id, frequency, topics, created_at, confirmed_at,
    unsubscribed_at, bouncing, last_period, pending";

fn sub_row(r: &Row) -> Result<Subscription> {
    let freq: String = r.try_get(3)?;
    Ok(Subscription {
        id: r.try_get(0)?,
        email: r.try_get(1)?,
        account_id: r.try_get(2)?,
        frequency: Frequency::parse(&freq)
            .ok_or_else(|| StoreError::Corrupt(format!("frequency {freq:?}")))?,
        topics: from_json(&r.try_get::<_, String>(4)?)?,
        created_at: parse_ts(&r.try_get::<_, String>(5)?)?,
        confirmed_at: r
            .try_get::<_, Option<String>>(6)?
            .as_deref()
            .map(parse_ts)
            .transpose()?,
        unsubscribed_at: r
            .try_get::<_, Option<String>>(7)?
            .as_deref()
            .map(parse_ts)
            .transpose()?,
        bouncing: r.try_get(8)?,
        last_period: r.try_get(9)?,
        pending: r
            .try_get::<_, Option<String>>(10)?
            .as_deref()
            .map(Preferences::from_json)
            .transpose()?,
    })
}

pub(super) fn subscription_where(
    c: &mut impl GenericClient,
    clause: &str,
    value: &(dyn ToSql + Sync),
) -> Result<Option<Subscription>> {
    let sql = format!("SELECT {SUB_COLUMNS} FROM subscriptions WHERE {clause}");
    c.query_opt(sql.as_str(), &[value])?
        .as_ref()
        .map(sub_row)
        .transpose()
}

pub(super) fn sign_up(
    c: &mut Client,
    email: &str,
    frequency: Frequency,
    topics: &Topics,
    account_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<SignUp> {
    let email = email.trim().to_lowercase();
    let topics = to_json(topics);
    let mut tx = c.transaction()?;
    let mut existing = subscription_where(&mut tx, "email = $1", &email)?;
    let mut inserted = None;
    if existing.is_none() {
        // A concurrent sign-up of the same address makes this insert wait for it and then do
        // nothing: the address is then read again and updated, as if this one had come second.
        inserted = tx
            .query_opt(
                "INSERT INTO subscriptions (email, account_id, frequency, topics, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING RETURNING id",
                &[&email, &account_id, &frequency.as_str(), &topics, &ts(now)],
            )?
            .map(|r| r.try_get::<_, i64>(0))
            .transpose()?;
        if inserted.is_none() {
            existing = subscription_where(&mut tx, "email = $1", &email)?;
        }
    }
    let id = match (inserted, &existing) {
        (Some(id), _) => id,
        (None, Some(s)) if s.confirmed_at.is_some() && s.unsubscribed_at.is_none() => {
            // A confirmed address: whoever asks, nothing changes until its owner confirms.
            let pending = Preferences {
                frequency,
                topics: from_json(&topics)?,
            };
            tx.execute(
                "UPDATE subscriptions SET pending = $2 WHERE id = $1",
                &[&s.id, &pending.to_json()],
            )?;
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
                &[&s.id, &frequency.as_str(), &topics, &account_id],
            )?;
            s.id
        }
        (None, None) => {
            return Err(StoreError::Conflict(format!(
                "the address {email:?} is being signed up by another request"
            )))
        }
    };
    let confirm_sent: Option<String> = tx
        .query_one(
            "SELECT confirm_sent_at FROM subscriptions WHERE id = $1",
            &[&id],
        )?
        .try_get(0)?;
    let sub = subscription_where(&mut tx, "id = $1", &id)?.expect("just written");
    let recently = confirm_sent
        .as_deref()
        .map(parse_ts)
        .transpose()?
        .is_some_and(|t| now - t < chrono::Duration::hours(1));
    let due = (sub.confirmed_at.is_none() || sub.pending.is_some()) && !recently;
    if due {
        tx.execute(
            "UPDATE subscriptions SET confirm_sent_at = $2 WHERE id = $1",
            &[&id, &ts(now)],
        )?;
    }
    tx.commit()?;
    Ok(if due {
        SignUp::SendConfirmation(sub)
    } else {
        SignUp::Quiet(sub)
    })
}

pub(super) fn confirm_subscription(c: &mut Client, id: i64, now: DateTime<Utc>) -> Result<bool> {
    let mut tx = c.transaction()?;
    // FOR UPDATE: a sign-up changing `pending` meanwhile waits, so what is applied is what was read.
    let Some(sub) = subscription_where(
        &mut tx,
        "id = $1 AND unsubscribed_at IS NULL FOR UPDATE",
        &id,
    )?
    else {
        return Ok(false);
    };
    let prefs = sub.pending.unwrap_or(Preferences {
        frequency: sub.frequency,
        topics: sub.topics,
    });
    tx.execute(
        "UPDATE subscriptions SET confirmed_at = COALESCE(confirmed_at, $2), bouncing = false,
            frequency = $3, topics = $4, pending = NULL
         WHERE id = $1",
        &[
            &id,
            &ts(now),
            &prefs.frequency.as_str(),
            &to_json(&prefs.topics),
        ],
    )?;
    tx.commit()?;
    Ok(true)
}

pub(super) fn update_subscription(
    c: &mut Client,
    id: i64,
    frequency: Frequency,
    topics: &Topics,
) -> Result<bool> {
    Ok(c.execute(
        "UPDATE subscriptions SET frequency = $2, topics = $3 WHERE id = $1",
        &[&id, &frequency.as_str(), &to_json(topics)],
    )? > 0)
}

pub(super) fn unsubscribe(c: &mut Client, id: i64, now: DateTime<Utc>) -> Result<bool> {
    let mut tx = c.transaction()?;
    let n = tx.execute(
        "UPDATE subscriptions SET unsubscribed_at = COALESCE(unsubscribed_at, $2) WHERE id = $1",
        &[&id, &ts(now)],
    )?;
    // Mail recorded but not yet sent is not sent.
    tx.execute(
        "UPDATE outbox SET status = 'cancelled', message = ''::bytea
         WHERE subscription_id = $1 AND status = 'pending'",
        &[&id],
    )?;
    tx.commit()?;
    Ok(n > 0)
}

pub(super) fn due_subscriptions(
    c: &mut Client,
    frequency: Frequency,
    period: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<Subscription>> {
    let sql = format!(
        "SELECT {SUB_COLUMNS} FROM subscriptions
         WHERE frequency = $1 AND id > $2 AND confirmed_at IS NOT NULL AND unsubscribed_at IS NULL
           AND bouncing = false AND (last_period IS NULL OR last_period < $3)
         ORDER BY id LIMIT $4"
    );
    c.query(
        sql.as_str(),
        &[&frequency.as_str(), &after, &period, &(limit as i64)],
    )?
    .iter()
    .map(sub_row)
    .collect()
}

pub(super) fn sent_before(c: &mut Client, sub: i64, papers: &[String]) -> Result<Vec<bool>> {
    // One statement for all of them: the primary key is probed for each listed id.
    let sent: std::collections::HashSet<String> = c
        .query(
            "SELECT paper_id FROM digest_papers WHERE subscription_id = $1 AND paper_id = ANY($2)",
            &[&sub, &papers],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, postgres::Error>>()?;
    Ok(papers.iter().map(|p| sent.contains(p)).collect())
}

pub(super) fn record_digest(
    c: &mut Client,
    sub: i64,
    period: &str,
    message_id: &str,
    message: &str,
    papers: &[String],
    now: DateTime<Utc>,
) -> Result<bool> {
    let mut tx = c.transaction()?;
    // A concurrent record of the same period waits for this one and then inserts nothing.
    let n = tx.execute(
        "INSERT INTO outbox (subscription_id, period, message_id, message, status, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $5) ON CONFLICT DO NOTHING",
        &[&sub, &period, &message_id, &message.as_bytes(), &ts(now)],
    )?;
    if n == 0 {
        return Ok(false);
    }
    let insert = tx.prepare(
        "INSERT INTO digest_papers (subscription_id, paper_id, period) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )?;
    for p in papers {
        tx.execute(&insert, &[&sub, p, &period])?;
    }
    tx.execute(
        "UPDATE subscriptions SET last_period = $2 WHERE id = $1",
        &[&sub, &period],
    )?;
    tx.commit()?;
    Ok(true)
}

pub(super) fn pass_period(c: &mut Client, sub: i64, period: &str) -> Result<()> {
    c.execute(
        "UPDATE subscriptions SET last_period = $2
         WHERE id = $1 AND (last_period IS NULL OR last_period < $2)",
        &[&sub, &period],
    )?;
    Ok(())
}

/// Claims due mail for `node` and returns it. A mail goes to one node: unclaimed, claimed by this
/// node, or claimed by a node that is gone (its liveness lock, class `NODE_LOCK_CLASS` and key the
/// node id, held in no session of this database). Rows another node is claiming at this moment
/// are skipped.
pub(super) fn due_mail(
    c: &mut Client,
    node: i64,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<OutboxMail>> {
    let rows = c.query(
        "UPDATE outbox SET claimed_by = $3 WHERE id IN (
             SELECT o.id FROM outbox o JOIN subscriptions s ON s.id = o.subscription_id
             WHERE o.status = 'pending' AND o.next_attempt_at <= $1
               AND s.unsubscribed_at IS NULL AND NOT s.bouncing
               AND (o.claimed_by IS NULL OR o.claimed_by = $3 OR NOT EXISTS (
                   SELECT 1 FROM pg_locks l
                   WHERE l.locktype = 'advisory'
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                     AND l.classid::bigint = $4 AND l.objid::bigint = o.claimed_by
                     AND l.objsubid = 2 AND l.granted))
             ORDER BY o.next_attempt_at, o.id LIMIT $2
             FOR UPDATE OF o SKIP LOCKED)
         RETURNING id, subscription_id, message, attempts, next_attempt_at",
        &[&ts(now), &(limit as i64), &node, &super::NODE_LOCK_CLASS],
    )?;
    let mut mail = rows
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<_, String>(4)?,
                OutboxMail {
                    id: r.try_get(0)?,
                    subscription_id: r.try_get(1)?,
                    message: String::from_utf8_lossy(r.try_get::<_, &[u8]>(2)?).into_owned(),
                    attempts: r.try_get(3)?,
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    // RETURNING keeps no order: the subquery's.
    mail.sort_by(|a, b| (&a.0, a.1.id).cmp(&(&b.0, b.1.id)));
    Ok(mail.into_iter().map(|(_, m)| m).collect())
}

pub(super) fn mark_mail(
    c: &mut Client,
    id: i64,
    outcome: Delivery,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut tx = c.transaction()?;
    match outcome {
        Delivery::Sent => {
            tx.execute(
                "UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1
                 WHERE id = $1",
                &[&id, &ts(now)],
            )?;
        }
        Delivery::Retry(at, error) => {
            // Unclaimed: whichever node's sender comes first retries it.
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3,
                    claimed_by = NULL
                 WHERE id = $1",
                &[&id, &ts(at), &error],
            )?;
        }
        Delivery::Failed { error, bounce } => {
            tx.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2
                 WHERE id = $1",
                &[&id, &error],
            )?;
            if bounce {
                tx.execute(
                    "UPDATE subscriptions SET bouncing = true
                     WHERE id = (SELECT subscription_id FROM outbox WHERE id = $1)",
                    &[&id],
                )?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn forget_bodies(c: &mut Client, ids: &[i64]) -> Result<u64> {
    Ok(c.execute(
        "UPDATE outbox SET message = ''::bytea
         WHERE id = ANY($1) AND status = 'sent' AND octet_length(message) > 0",
        &[&ids],
    )?)
}

pub(super) fn mail_stats(c: &mut Client) -> Result<MailStats> {
    let r = c.query_one(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL AND bouncing = false)
         FROM subscriptions WHERE unsubscribed_at IS NULL",
        &[],
    )?;
    let (subscribers, confirmed): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
    let r = c.query_one(
        "SELECT COUNT(*) FILTER (WHERE status = 'pending'), COUNT(*) FILTER (WHERE status = 'sent'),
                COUNT(*) FILTER (WHERE status = 'failed'), MAX(period) FROM outbox",
        &[],
    )?;
    let (pending, sent, failed, last): (i64, i64, i64, Option<String>) =
        (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
    Ok(MailStats {
        subscribers: subscribers as u64,
        confirmed: confirmed as u64,
        pending: pending as u64,
        sent: sent as u64,
        failed: failed as u64,
        last_period: last,
    })
}

// --- Rate limits (migration 0002) ---

/// Advisory lock class of rate-limit keys: the check and the count are one step across nodes.
const RATE_LOCK_CLASS: i32 = super::LOCK_CLASS + 3;

pub(super) fn rate_limit(
    c: &mut Client,
    action: &str,
    keys: &[(String, u32)],
    window: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<Option<std::time::Duration>> {
    let start = now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    let mut tx = c.transaction()?;
    // Keys in one order, so that two requests sharing two keys never wait on each other crosswise.
    let mut order: Vec<&(String, u32)> = keys.iter().collect();
    order.sort();
    let mut wait = std::time::Duration::ZERO;
    for (key, max) in order {
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2 || ' ' || $3))",
            &[&RATE_LOCK_CLASS, &action, key],
        )?;
        tx.execute(
            "DELETE FROM rate_events WHERE action = $1 AND key = $2 AND at <= $3",
            &[&action, key, &ts(start)],
        )?;
        let row = tx.query_one(
            "SELECT COUNT(*), MIN(at) FROM rate_events WHERE action = $1 AND key = $2",
            &[&action, key],
        )?;
        let (count, oldest): (i64, Option<String>) = (row.try_get(0)?, row.try_get(1)?);
        if count >= i64::from(*max) {
            let oldest = oldest.as_deref().map(parse_ts).transpose()?.unwrap_or(now);
            wait = wait.max(crate::codec::rate_wait(oldest, now, window));
        }
    }
    if !wait.is_zero() {
        return Ok(Some(wait));
    }
    for (key, _) in keys {
        tx.execute(
            "INSERT INTO rate_events (action, key, at) VALUES ($1, $2, $3)",
            &[&action, key, &ts(now)],
        )?;
    }
    tx.commit()?;
    Ok(None)
}
