//! The community tables of the SQLite backend (migration 0003): each function is one
//! transaction or one read, called from the `Store` impl on the blocking pool.

use chrono::{DateTime, NaiveDate, Utc};
use paperboy_core::{ArxivId, Paper, Submitter};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::codec::{day_str, from_json, parse_day, parse_ts, to_json, ts, username_base};
use crate::{
    Account, AuditEntry, Comment, Delivery, Frequency, MailStats, Moderation, ModerationQueue,
    OutboxMail, Preferences, Result, SignUp, StoreError, SubmitOutcome, Subscription, Topics,
    TrendInput, VoteOutcome,
};

const ACCOUNT_COLUMNS: &str = "id, email, username, display_name, is_admin, blocked, created_at";

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Account, String)> {
    Ok((
        Account {
            id: r.get(0)?,
            email: r.get(1)?,
            username: r.get(2)?,
            display_name: r.get(3)?,
            is_admin: r.get(4)?,
            blocked: r.get(5)?,
            created_at: DateTime::<Utc>::MIN_UTC,
        },
        r.get(6)?,
    ))
}

fn finish_account((mut a, created): (Account, String)) -> Result<Account> {
    a.created_at = parse_ts(&created)?;
    Ok(a)
}

pub(super) fn account_where(
    conn: &Connection,
    clause: &str,
    value: &dyn rusqlite::ToSql,
) -> Result<Option<Account>> {
    conn.prepare_cached(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE {clause}"
    ))?
    .query_row([value], account_row)
    .optional()?
    .map(finish_account)
    .transpose()
}

pub(super) fn create_login_token(
    conn: &mut Connection,
    hash: &str,
    email: &str,
    expires: DateTime<Utc>,
) -> Result<()> {
    let tx = conn.transaction()?;
    // Spent and expired tokens are of no further use: clear them on the way.
    tx.execute(
        "DELETE FROM login_tokens WHERE used_at IS NOT NULL OR expires_at < ?1",
        [ts(Utc::now() - chrono::Duration::days(1))],
    )?;
    tx.execute(
        "INSERT INTO login_tokens (token_hash, email, expires_at) VALUES (?1, ?2, ?3)",
        params![hash, email, ts(expires)],
    )?;
    tx.commit()?;
    Ok(())
}

pub(super) fn redeem_login_token(
    conn: &mut Connection,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let tx = conn.transaction()?;
    let email: Option<String> = tx
        .query_row(
            "UPDATE login_tokens SET used_at = ?2
             WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2
             RETURNING email",
            params![hash, ts(now)],
            |r| r.get(0),
        )
        .optional()?;
    tx.commit()?;
    Ok(email)
}

pub(super) fn sign_in(
    conn: &mut Connection,
    email: &str,
    admins: &[String],
    now: DateTime<Utc>,
) -> Result<Account> {
    let email = email.trim().to_lowercase();
    let tx = conn.transaction()?;
    if let Some(a) = account_where(&tx, "email = ?1", &email)? {
        let named_admin = admins.iter().any(|x| x.eq_ignore_ascii_case(&a.email));
        if named_admin && !a.is_admin {
            tx.execute("UPDATE accounts SET is_admin = 1 WHERE id = ?1", [a.id])?;
        }
        let a = account_where(&tx, "id = ?1", &a.id)?.expect("just read");
        tx.commit()?;
        return Ok(a);
    }
    let base = username_base(&email);
    let mut username = base.clone();
    let mut n = 1;
    while tx
        .query_row(
            "SELECT 1 FROM accounts WHERE username = ?1",
            [&username],
            |_| Ok(()),
        )
        .optional()?
        .is_some()
    {
        n += 1;
        username = format!("{base}{n}");
    }
    let first: bool = tx.query_row("SELECT COUNT(*) = 0 FROM accounts", [], |r| r.get(0))?;
    let admin = first || admins.iter().any(|x| x.eq_ignore_ascii_case(&email));
    tx.execute(
        "INSERT INTO accounts (email, username, display_name, is_admin, created_at)
         VALUES (?1, ?2, ?2, ?3, ?4)",
        params![email, username, admin, ts(now)],
    )?;
    let id = tx.last_insert_rowid();
    let a = account_where(&tx, "id = ?1", &id)?.expect("just inserted");
    tx.commit()?;
    Ok(a)
}

pub(super) fn create_session(
    conn: &mut Connection,
    hash: &str,
    account_id: i64,
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
) -> Result<()> {
    let tx = conn.transaction()?;
    // Expired sessions sign nobody in; sign-ins clear them on the way (an index keeps it cheap).
    tx.execute(
        "DELETE FROM sessions WHERE created_at < ?1",
        [ts(expired_before)],
    )?;
    tx.execute(
        "INSERT INTO sessions (token_hash, account_id, created_at) VALUES (?1, ?2, ?3)",
        params![hash, account_id, ts(now)],
    )?;
    tx.commit()?;
    Ok(())
}

pub(super) fn session(
    conn: &Connection,
    hash: &str,
    not_before: DateTime<Utc>,
) -> Result<Option<Account>> {
    conn.prepare_cached(&format!(
        "SELECT {} FROM sessions s JOIN accounts a ON a.id = s.account_id
         WHERE s.token_hash = ?1 AND s.created_at >= ?2",
        ACCOUNT_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))?
    .query_row(params![hash, ts(not_before)], account_row)
    .optional()?
    .map(finish_account)
    .transpose()
}

pub(super) fn update_profile(
    conn: &mut Connection,
    id: i64,
    username: &str,
    display_name: &str,
) -> Result<Account> {
    let tx = conn.transaction()?;
    let taken = tx
        .query_row(
            "SELECT 1 FROM accounts WHERE username = ?1 AND id != ?2",
            params![username, id],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if taken {
        return Err(StoreError::Conflict(format!(
            "the username {username:?} is taken"
        )));
    }
    tx.execute(
        "UPDATE accounts SET username = ?2, display_name = ?3 WHERE id = ?1",
        params![id, username, display_name],
    )?;
    let a = account_where(&tx, "id = ?1", &id)?
        .ok_or_else(|| StoreError::Conflict("no such account".into()))?;
    tx.commit()?;
    Ok(a)
}

pub(super) fn vote(
    conn: &mut Connection,
    account: i64,
    paper: &str,
    up: bool,
    now: DateTime<Utc>,
) -> Result<Option<VoteOutcome>> {
    let tx = conn.transaction()?;
    let visible = tx
        .query_row(
            "SELECT 1 FROM papers WHERE id = ?1 AND hidden = 0",
            [paper],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !visible {
        return Ok(None);
    }
    let changed = if up {
        tx.execute(
            "INSERT INTO votes (account_id, paper_id, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![account, paper, ts(now)],
        )?
    } else {
        tx.execute(
            "DELETE FROM votes WHERE account_id = ?1 AND paper_id = ?2",
            params![account, paper],
        )?
    };
    if changed > 0 {
        tx.execute(
            "UPDATE papers SET local_upvotes = local_upvotes + ?2 WHERE id = ?1",
            params![paper, if up { 1 } else { -1 }],
        )?;
    }
    let local: i64 = tx.query_row(
        "SELECT local_upvotes FROM papers WHERE id = ?1",
        [paper],
        |r| r.get(0),
    )?;
    tx.commit()?;
    Ok(Some(VoteOutcome {
        voted: up,
        local_upvotes: local,
    }))
}

pub(super) fn submit(
    conn: &mut Connection,
    paper: Paper,
    day: NaiveDate,
    by: Submitter,
    now: DateTime<Utc>,
) -> Result<SubmitOutcome> {
    let id = paper.id.to_string();
    {
        let existing: Option<String> = conn
            .query_row(
                "SELECT MAX(day) FROM daily_entries WHERE paper_id = ?1",
                [&id],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if let Some(d) = existing {
            return Ok(SubmitOutcome::Duplicate(parse_day(&d)?));
        }
    }
    let position: i64 = conn.query_row(
        "SELECT COALESCE(MAX(position) + 1, 0) FROM daily_entries WHERE day = ?1",
        [day_str(day)],
        |r| r.get(0),
    )?;
    let mut paper = paper;
    let entry = crate::codec::submitted_entry(&mut paper, day, position, by, now);
    // The duplicate check and the insert share the writer lock, so two submissions of one paper
    // cannot both pass the check; the import merges the paper like any other record.
    super::import_tx(conn, vec![(paper, Some(entry))])?;
    Ok(SubmitOutcome::Added(day))
}

const COMMENT_SELECT: &str = "SELECT c.id, c.paper_id, c.account_id, a.username, a.display_name,
        c.body, c.created_at, c.edited_at, c.hidden OR a.blocked
     FROM comments c JOIN accounts a ON a.id = c.account_id";

fn comment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<[Option<String>; 4]> {
    // Parsed after the row is read: ids and times need checking.
    Ok([
        Some(r.get::<_, i64>(0)?.to_string()),
        Some(r.get(1)?),
        Some(r.get(6)?),
        r.get(7)?,
    ])
}

fn read_comment(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Comment, [Option<String>; 4])> {
    let raw = comment_row(r)?;
    Ok((
        Comment {
            id: r.get(0)?,
            paper_id: ArxivId::parse("0704.0001").expect("placeholder id"),
            account_id: r.get(2)?,
            username: r.get(3)?,
            display_name: r.get(4)?,
            body: r.get(5)?,
            created_at: DateTime::<Utc>::MIN_UTC,
            edited_at: None,
            hidden: r.get(8)?,
        },
        raw,
    ))
}

fn finish_comment((mut c, raw): (Comment, [Option<String>; 4])) -> Result<Comment> {
    let paper = raw[1].as_deref().unwrap_or_default();
    c.paper_id = ArxivId::parse(paper).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    c.created_at = parse_ts(raw[2].as_deref().unwrap_or_default())?;
    c.edited_at = raw[3].as_deref().map(parse_ts).transpose()?;
    Ok(c)
}

/// Sets a paper's shown-comment count from its rows.
fn recount_comments(tx: &Transaction<'_>, paper: &str) -> Result<()> {
    tx.execute(
        "UPDATE papers SET local_comments = (
            SELECT COUNT(*) FROM comments c JOIN accounts a ON a.id = c.account_id
            WHERE c.paper_id = ?1 AND c.hidden = 0 AND c.deleted = 0 AND a.blocked = 0)
         WHERE id = ?1",
        [paper],
    )?;
    Ok(())
}

pub(super) fn add_comment(
    conn: &mut Connection,
    paper: &str,
    account: i64,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Option<Comment>> {
    let tx = conn.transaction()?;
    let visible = tx
        .query_row(
            "SELECT 1 FROM papers WHERE id = ?1 AND hidden = 0",
            [paper],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !visible {
        return Ok(None);
    }
    tx.execute(
        "INSERT INTO comments (paper_id, account_id, body, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![paper, account, body, ts(now)],
    )?;
    let id = tx.last_insert_rowid();
    recount_comments(&tx, paper)?;
    let c = comment_by_id(&tx, id)?;
    tx.commit()?;
    Ok(c)
}

pub(super) fn comment_by_id(conn: &Connection, id: i64) -> Result<Option<Comment>> {
    conn.prepare_cached(&format!(
        "{COMMENT_SELECT} WHERE c.id = ?1 AND c.deleted = 0"
    ))?
    .query_row([id], read_comment)
    .optional()?
    .map(finish_comment)
    .transpose()
}

pub(super) fn comments(conn: &Connection, paper: &str, moderator: bool) -> Result<Vec<Comment>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{COMMENT_SELECT} WHERE c.paper_id = ?1 AND c.deleted = 0
           AND (?2 OR (c.hidden = 0 AND a.blocked = 0))
         ORDER BY c.id"
    ))?;
    let rows = stmt.query_map(params![paper, moderator], read_comment)?;
    rows.map(|r| finish_comment(r?)).collect()
}

pub(super) fn edit_comment(
    conn: &mut Connection,
    id: i64,
    body: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = conn.execute(
        "UPDATE comments SET body = ?2, edited_at = ?3 WHERE id = ?1 AND deleted = 0",
        params![id, body, ts(now)],
    )?;
    Ok(n > 0)
}

pub(super) fn delete_comment(conn: &mut Connection, id: i64) -> Result<bool> {
    let tx = conn.transaction()?;
    let paper: Option<String> = tx
        .query_row(
            "UPDATE comments SET deleted = 1, body = '' WHERE id = ?1 AND deleted = 0 RETURNING paper_id",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(paper) = paper else {
        return Ok(false);
    };
    recount_comments(&tx, &paper)?;
    tx.commit()?;
    Ok(true)
}

pub(super) fn moderate(
    conn: &mut Connection,
    actor: &str,
    action: Moderation,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let tx = conn.transaction()?;
    let done = match &action {
        Moderation::HidePaper(id) | Moderation::ShowPaper(id) => {
            let hide = matches!(action, Moderation::HidePaper(_));
            // A new seq puts the paper on the change feed, so search indexes drop or restore it.
            let seq: i64 =
                tx.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM papers", [], |r| {
                    r.get(0)
                })?;
            tx.execute(
                "UPDATE papers SET hidden = ?2, seq = ?3 WHERE id = ?1",
                params![id.to_string(), hide, seq],
            )? > 0
        }
        Moderation::HideComment(id) | Moderation::ShowComment(id) => {
            let hide = matches!(action, Moderation::HideComment(_));
            let paper: Option<String> = tx
                .query_row(
                    "UPDATE comments SET hidden = ?2 WHERE id = ?1 AND deleted = 0 RETURNING paper_id",
                    params![id, hide],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(p) = &paper {
                recount_comments(&tx, p)?;
            }
            paper.is_some()
        }
        Moderation::DeleteComment(id) => {
            let paper: Option<String> = tx
                .query_row(
                    "UPDATE comments SET deleted = 1, body = '' WHERE id = ?1 AND deleted = 0
                     RETURNING paper_id",
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(p) = &paper {
                recount_comments(&tx, p)?;
            }
            paper.is_some()
        }
        Moderation::Block(name) | Moderation::Unblock(name) => {
            let block = matches!(action, Moderation::Block(_));
            let id: Option<i64> = tx
                .query_row(
                    "UPDATE accounts SET blocked = ?2 WHERE username = ?1 RETURNING id",
                    params![name, block],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = id {
                if block {
                    tx.execute("DELETE FROM sessions WHERE account_id = ?1", [id])?;
                }
                let papers: Vec<String> = tx
                    .prepare("SELECT DISTINCT paper_id FROM comments WHERE account_id = ?1")?
                    .query_map([id], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for p in papers {
                    recount_comments(&tx, &p)?;
                }
            }
            id.is_some()
        }
    };
    if done {
        tx.execute(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![ts(now), actor, action.action(), action.target(), detail],
        )?;
    }
    tx.commit()?;
    Ok(done)
}

pub(super) fn audit_log(conn: &Connection, limit: usize) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    rows.map(|r| {
        let (id, at, actor, action, target, detail) = r?;
        Ok(AuditEntry {
            id,
            at: parse_ts(&at)?,
            actor,
            action,
            target,
            detail,
        })
    })
    .collect()
}

pub(super) fn moderation_queue(conn: &Connection) -> Result<ModerationQueue> {
    let mut q = ModerationQueue::default();
    let mut stmt = conn.prepare_cached(
        "SELECT id, doc FROM papers WHERE hidden = 1 ORDER BY seq DESC LIMIT 200",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (id, doc) = row?;
        let paper: Paper = from_json(&doc)?;
        let id = ArxivId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        q.hidden_papers.push((id, paper.title));
    }
    let mut stmt = conn.prepare_cached(&format!(
        "{COMMENT_SELECT} WHERE c.hidden = 1 AND c.deleted = 0 ORDER BY c.id DESC LIMIT 200"
    ))?;
    let rows = stmt.query_map([], read_comment)?;
    for row in rows {
        q.hidden_comments.push(finish_comment(row?)?);
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE blocked = 1 ORDER BY username"
    ))?;
    let rows = stmt.query_map([], account_row)?;
    for row in rows {
        q.blocked_accounts.push(finish_account(row?)?);
    }
    Ok(q)
}

pub(super) fn trend_inputs(conn: &Connection, since: DateTime<Utc>) -> Result<Vec<TrendInput>> {
    let since_day = day_str(since.date_naive());
    let mut stmt = conn.prepare_cached(
        "SELECT p.id, p.doc,
                (SELECT e.doc FROM daily_entries e WHERE e.paper_id = p.id ORDER BY e.day DESC LIMIT 1),
                (SELECT group_concat(v.created_at, ' ') FROM votes v WHERE v.paper_id = p.id)
         FROM papers p
         WHERE p.hidden = 0 AND (
             p.id IN (SELECT paper_id FROM daily_entries WHERE day >= ?1)
             OR p.id IN (SELECT paper_id FROM votes WHERE created_at >= ?2))",
    )?;
    let rows = stmt.query_map(params![since_day, ts(since)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    rows.map(|row| {
        let (id, doc, entry, votes) = row?;
        crate::codec::trend_input(&id, &doc, entry.as_deref(), votes.as_deref())
    })
    .collect()
}

// --- Digests (migration 0004) ---

pub(super) fn secret(conn: &mut Connection, name: &str, fresh: &str) -> Result<String> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO settings_kv (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        params![format!("secret:{name}"), fresh],
    )?;
    let v: String = tx.query_row(
        "SELECT value FROM settings_kv WHERE name = ?1",
        [format!("secret:{name}")],
        |r| r.get(0),
    )?;
    tx.commit()?;
    Ok(v)
}

const SUB_COLUMNS: &str = "id, email, account_id, frequency, topics, created_at, confirmed_at,
    unsubscribed_at, bouncing, last_period, pending";

type SubRow = (
    i64,
    String,
    Option<i64>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    Option<String>,
    Option<String>,
);

fn sub_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SubRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

fn finish_sub(row: SubRow) -> Result<Subscription> {
    let (id, email, account_id, freq, topics, created, confirmed, unsub, bouncing, last, pending) =
        row;
    Ok(Subscription {
        id,
        email,
        account_id,
        frequency: Frequency::parse(&freq)
            .ok_or_else(|| StoreError::Corrupt(format!("frequency {freq:?}")))?,
        topics: from_json(&topics)?,
        created_at: parse_ts(&created)?,
        confirmed_at: confirmed.as_deref().map(parse_ts).transpose()?,
        unsubscribed_at: unsub.as_deref().map(parse_ts).transpose()?,
        bouncing,
        last_period: last,
        pending: pending.as_deref().map(Preferences::from_json).transpose()?,
    })
}

pub(super) fn subscription_where(
    conn: &Connection,
    clause: &str,
    value: &dyn rusqlite::ToSql,
) -> Result<Option<Subscription>> {
    conn.prepare_cached(&format!(
        "SELECT {SUB_COLUMNS} FROM subscriptions WHERE {clause}"
    ))?
    .query_row([value], sub_row)
    .optional()?
    .map(finish_sub)
    .transpose()
}

pub(super) fn sign_up(
    conn: &mut Connection,
    email: &str,
    frequency: Frequency,
    topics: &Topics,
    account_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<SignUp> {
    let email = email.trim().to_lowercase();
    let topics = to_json(topics);
    let tx = conn.transaction()?;
    let existing = subscription_where(&tx, "email = ?1", &email)?;
    let id = match &existing {
        None => {
            tx.execute(
                "INSERT INTO subscriptions (email, account_id, frequency, topics, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![email, account_id, frequency.as_str(), topics, ts(now)],
            )?;
            tx.last_insert_rowid()
        }
        Some(s) if s.confirmed_at.is_some() && s.unsubscribed_at.is_none() => {
            // A confirmed address: whoever asks, nothing changes until its owner confirms.
            let pending = Preferences {
                frequency,
                topics: from_json(&topics)?,
            };
            tx.execute(
                "UPDATE subscriptions SET pending = ?2 WHERE id = ?1",
                params![s.id, pending.to_json()],
            )?;
            s.id
        }
        Some(s) => {
            // Not confirmed yet: nothing is sent until it is, so the latest sign-up's
            // preferences stand. An unsubscribed address starts over and must confirm again.
            tx.execute(
                "UPDATE subscriptions SET frequency = ?2, topics = ?3,
                    account_id = COALESCE(?4, account_id), pending = NULL,
                    confirmed_at = NULL, unsubscribed_at = NULL
                 WHERE id = ?1",
                params![s.id, frequency.as_str(), topics, account_id],
            )?;
            s.id
        }
    };
    let confirm_sent: Option<String> = tx.query_row(
        "SELECT confirm_sent_at FROM subscriptions WHERE id = ?1",
        [id],
        |r| r.get(0),
    )?;
    let sub = subscription_where(&tx, "id = ?1", &id)?.expect("just written");
    let recently = confirm_sent
        .as_deref()
        .map(parse_ts)
        .transpose()?
        .is_some_and(|t| now - t < chrono::Duration::hours(1));
    let due = (sub.confirmed_at.is_none() || sub.pending.is_some()) && !recently;
    if due {
        tx.execute(
            "UPDATE subscriptions SET confirm_sent_at = ?2 WHERE id = ?1",
            params![id, ts(now)],
        )?;
    }
    tx.commit()?;
    Ok(if due {
        SignUp::SendConfirmation(sub)
    } else {
        SignUp::Quiet(sub)
    })
}

pub(super) fn confirm_subscription(
    conn: &mut Connection,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let tx = conn.transaction()?;
    let Some(sub) = subscription_where(&tx, "id = ?1 AND unsubscribed_at IS NULL", &id)? else {
        return Ok(false);
    };
    let prefs = sub.pending.unwrap_or(Preferences {
        frequency: sub.frequency,
        topics: sub.topics,
    });
    tx.execute(
        "UPDATE subscriptions SET confirmed_at = COALESCE(confirmed_at, ?2), bouncing = 0,
            frequency = ?3, topics = ?4, pending = NULL
         WHERE id = ?1",
        params![
            id,
            ts(now),
            prefs.frequency.as_str(),
            to_json(&prefs.topics)
        ],
    )?;
    tx.commit()?;
    Ok(true)
}

pub(super) fn update_subscription(
    conn: &mut Connection,
    id: i64,
    frequency: Frequency,
    topics: &Topics,
) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE subscriptions SET frequency = ?2, topics = ?3 WHERE id = ?1",
        params![id, frequency.as_str(), to_json(topics)],
    )? > 0)
}

pub(super) fn unsubscribe(conn: &mut Connection, id: i64, now: DateTime<Utc>) -> Result<bool> {
    let tx = conn.transaction()?;
    let n = tx.execute(
        "UPDATE subscriptions SET unsubscribed_at = COALESCE(unsubscribed_at, ?2) WHERE id = ?1",
        params![id, ts(now)],
    )?;
    // Mail recorded but not yet sent is not sent.
    tx.execute(
        "UPDATE outbox SET status = 'cancelled', message = X''
         WHERE subscription_id = ?1 AND status = 'pending'",
        [id],
    )?;
    tx.commit()?;
    Ok(n > 0)
}

pub(super) fn due_subscriptions(
    conn: &Connection,
    frequency: Frequency,
    period: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<Subscription>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SUB_COLUMNS} FROM subscriptions
         WHERE frequency = ?1 AND id > ?2 AND confirmed_at IS NOT NULL AND unsubscribed_at IS NULL
           AND bouncing = 0 AND (last_period IS NULL OR last_period < ?3)
         ORDER BY id LIMIT ?4"
    ))?;
    let rows = stmt.query_map(
        params![frequency.as_str(), after, period, limit as i64],
        sub_row,
    )?;
    rows.map(|r| finish_sub(r?)).collect()
}

pub(super) fn sent_before(conn: &Connection, sub: i64, papers: &[String]) -> Result<Vec<bool>> {
    // One statement for all of them: SQLite probes the primary key for each listed id.
    let list = serde_json::to_string(papers).expect("strings serialise");
    let mut stmt = conn.prepare_cached(
        "SELECT paper_id FROM digest_papers
         WHERE subscription_id = ?1 AND paper_id IN (SELECT value FROM json_each(?2))",
    )?;
    let sent: std::collections::HashSet<String> = stmt
        .query_map(params![sub, list], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(papers.iter().map(|p| sent.contains(p)).collect())
}

pub(super) fn record_digest(
    conn: &mut Connection,
    sub: i64,
    period: &str,
    message_id: &str,
    message: &str,
    papers: &[String],
    now: DateTime<Utc>,
) -> Result<bool> {
    let tx = conn.transaction()?;
    let n = tx.prepare_cached(
        "INSERT INTO outbox (subscription_id, period, message_id, message, status, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5) ON CONFLICT DO NOTHING",
    )?
    .execute(params![sub, period, message_id, message.as_bytes(), ts(now)])?;
    if n == 0 {
        return Ok(false);
    }
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO digest_papers (subscription_id, paper_id, period) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?;
        for p in papers {
            insert.execute(params![sub, p, period])?;
        }
    }
    tx.prepare_cached("UPDATE subscriptions SET last_period = ?2 WHERE id = ?1")?
        .execute(params![sub, period])?;
    tx.commit()?;
    Ok(true)
}

pub(super) fn pass_period(conn: &mut Connection, sub: i64, period: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE subscriptions SET last_period = ?2
         WHERE id = ?1 AND (last_period IS NULL OR last_period < ?2)",
    )?
    .execute(params![sub, period])?;
    Ok(())
}

pub(super) fn due_mail(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<OutboxMail>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.id, o.subscription_id, o.message, o.attempts FROM outbox o
         JOIN subscriptions s ON s.id = o.subscription_id
         WHERE o.status = 'pending' AND o.next_attempt_at <= ?1
           AND s.unsubscribed_at IS NULL AND s.bouncing = 0
         ORDER BY o.next_attempt_at, o.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![ts(now), limit as i64], |r| {
        Ok(OutboxMail {
            id: r.get(0)?,
            subscription_id: r.get(1)?,
            message: String::from_utf8_lossy(&r.get::<_, Vec<u8>>(2)?).into_owned(),
            attempts: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn mark_mail(
    conn: &mut Connection,
    id: i64,
    outcome: Delivery,
    now: DateTime<Utc>,
) -> Result<()> {
    let tx = conn.transaction()?;
    match outcome {
        Delivery::Sent => {
            tx.prepare_cached(
                "UPDATE outbox SET status = 'sent', sent_at = ?2, attempts = attempts + 1 WHERE id = ?1",
            )?
            .execute(params![id, ts(now)])?;
        }
        Delivery::Retry(at, error) => {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
                params![id, ts(at), error],
            )?;
        }
        Delivery::Failed { error, bounce } => {
            tx.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
                params![id, error],
            )?;
            if bounce {
                tx.execute(
                    "UPDATE subscriptions SET bouncing = 1
                     WHERE id = (SELECT subscription_id FROM outbox WHERE id = ?1)",
                    [id],
                )?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn forget_bodies(conn: &mut Connection, ids: &[i64]) -> Result<u64> {
    let tx = conn.transaction()?;
    let mut n = 0;
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE outbox SET message = X'' WHERE id = ?1 AND status = 'sent' AND length(message) > 0",
        )?;
        for id in ids {
            n += stmt.execute([id])? as u64;
        }
    }
    tx.commit()?;
    Ok(n)
}

pub(super) fn mail_stats(conn: &Connection) -> Result<MailStats> {
    let (subscribers, confirmed): (i64, i64) = conn.query_row(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL AND bouncing = 0)
         FROM subscriptions WHERE unsubscribed_at IS NULL",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (pending, sent, failed, last): (i64, i64, i64, Option<String>) = conn.query_row(
        "SELECT COUNT(*) FILTER (WHERE status = 'pending'), COUNT(*) FILTER (WHERE status = 'sent'),
                COUNT(*) FILTER (WHERE status = 'failed'), MAX(period) FROM outbox",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    Ok(MailStats {
        subscribers: subscribers as u64,
        confirmed: confirmed as u64,
        pending: pending as u64,
        sent: sent as u64,
        failed: failed as u64,
        last_period: last,
    })
}

// --- Rate limits (migration 0006) ---

pub(super) fn rate_limit(
    conn: &mut Connection,
    action: &str,
    keys: &[(String, u32)],
    window: std::time::Duration,
    now: DateTime<Utc>,
) -> Result<Option<std::time::Duration>> {
    let start = now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    // SQLite's single writer makes the check and the count one step for every process.
    let tx = conn.transaction()?;
    let mut wait = std::time::Duration::ZERO;
    for (key, max) in keys {
        tx.prepare_cached("DELETE FROM rate_events WHERE action = ?1 AND key = ?2 AND at <= ?3")?
            .execute(params![action, key, ts(start)])?;
        let (count, oldest): (i64, Option<String>) = tx
            .prepare_cached(
                "SELECT COUNT(*), MIN(at) FROM rate_events WHERE action = ?1 AND key = ?2",
            )?
            .query_row(params![action, key], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if count >= i64::from(*max) {
            let oldest = oldest.as_deref().map(parse_ts).transpose()?.unwrap_or(now);
            wait = wait.max(crate::codec::rate_wait(oldest, now, window));
        }
    }
    if !wait.is_zero() {
        return Ok(Some(wait));
    }
    for (key, _) in keys {
        tx.prepare_cached("INSERT INTO rate_events (action, key, at) VALUES (?1, ?2, ?3)")?
            .execute(params![action, key, ts(now)])?;
    }
    tx.commit()?;
    Ok(None)
}
