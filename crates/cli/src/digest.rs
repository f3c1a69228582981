//! Digests: `run` records what each due subscriber gets for a period (one outbox row each, in one
//! transaction with the papers it holds, so a crash loses or repeats nothing); `send` delivers the
//! outbox over SMTP, retrying temporary failures with backoff and giving up on permanent ones.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Datelike, Utc};
use paperboy_core::ArxivId;
use paperboy_mail::{Digest, DigestItem, Letter, MailError, Mailer};
use paperboy_search::{SearchIndex, SearchQuery};
use paperboy_store::{Delivery, Frequency, PaperView, Store, Subscription};

/// Papers per section.
const TRENDING: usize = 10;
const PER_TOPIC: usize = 5;
/// Temporary failures are retried this many times (backoff 1, 2, 4 ... minutes, at most an hour).
const MAX_ATTEMPTS: i64 = 8;
/// Permanent (5xx) refusals are tried this many times before the address is marked bouncing.
const MAX_PERMANENT: i64 = 3;

/// The period a digest of `frequency` covers at `now`: the day, or the ISO week.
pub fn period(frequency: Frequency, now: DateTime<Utc>) -> String {
    match frequency {
        Frequency::Daily => now.date_naive().to_string(),
        Frequency::Weekly => {
            let w = now.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub recorded: u64,
    pub nothing_new: u64,
}

pub struct DigestContext<'a> {
    pub store: &'a Arc<dyn Store>,
    pub index: &'a SearchIndex,
    pub mailer: &'a Mailer,
    pub site: &'a str,
    pub public_url: &'a str,
    pub trending: paperboy_core::ranking::Trending,
}

fn item(base: &str, v: &PaperView) -> DigestItem {
    DigestItem {
        title: v
            .paper
            .title
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        url: format!("{base}/papers/{}", v.paper.id),
        authors: v
            .paper
            .authors
            .iter()
            .filter(|a| !a.hidden)
            .take(4)
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        upvotes: v.upvotes(),
    }
}

/// Records the digests of `frequency` for its current period; returns what it did.
pub async fn run(
    cx: &DigestContext<'_>,
    frequency: Frequency,
    now: DateTime<Utc>,
) -> anyhow::Result<RunSummary> {
    let period = period(frequency, now);
    let window = match frequency {
        Frequency::Daily => chrono::Duration::days(3),
        Frequency::Weekly => chrono::Duration::days(8),
    };
    let mut scored: Vec<(f64, ArxivId)> = cx
        .store
        .trend_inputs(now - window)
        .await?
        .into_iter()
        .map(|i| {
            (
                cx.trending
                    .score_votes(i.imported, i.listed_at, &i.votes, now),
                i.id,
            )
        })
        .filter(|(s, _)| *s > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let trending: Vec<ArxivId> = scored.into_iter().take(50).map(|s| s.1).collect();
    let secret = cx.store.secret("subscription-links").await?;
    let mut summary = RunSummary::default();
    let mut after = 0;
    loop {
        let subs = cx
            .store
            .due_subscriptions(frequency, &period, after, 200)
            .await?;
        let Some(last) = subs.last().map(|s| s.id) else {
            break;
        };
        for sub in &subs {
            if record_one(cx, sub, &period, &trending, &secret, now - window, now).await? {
                summary.recorded += 1;
            } else {
                summary.nothing_new += 1;
            }
        }
        after = last;
    }
    Ok(summary)
}

async fn fresh(
    cx: &DigestContext<'_>,
    sub: &Subscription,
    ids: Vec<ArxivId>,
    taken: &mut Vec<ArxivId>,
    n: usize,
) -> anyhow::Result<Vec<PaperView>> {
    let ids: Vec<ArxivId> = ids.into_iter().filter(|i| !taken.contains(i)).collect();
    let sent = cx.store.sent_before(sub.id, &ids).await?;
    let keep: Vec<ArxivId> = ids
        .into_iter()
        .zip(sent)
        .filter(|(_, s)| !s)
        .map(|(i, _)| i)
        .take(n)
        .collect();
    let views = cx.store.papers(&keep).await?;
    taken.extend(views.iter().map(|v| v.paper.id.clone()));
    Ok(views)
}

async fn record_one(
    cx: &DigestContext<'_>,
    sub: &Subscription,
    period: &str,
    trending: &[ArxivId],
    secret: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let mut taken = Vec::new();
    let top = fresh(cx, sub, trending.to_vec(), &mut taken, TRENDING).await?;
    let mut topics = Vec::new();
    for c in &sub.topics.categories {
        let ids = cx.index.newest(Some(c), None, 30)?;
        topics.push((
            format!("New in {c}"),
            fresh(cx, sub, ids, &mut taken, PER_TOPIC).await?,
        ));
    }
    for a in &sub.topics.authors {
        let ids = cx.index.newest(None, Some(a), 30)?;
        topics.push((
            format!("New by {a}"),
            fresh(cx, sub, ids, &mut taken, PER_TOPIC).await?,
        ));
    }
    for q in &sub.topics.searches {
        let found = cx.index.search(&SearchQuery {
            text: q.clone(),
            from: Some(since.date_naive()),
            limit: 30,
            ..Default::default()
        })?;
        let ids = found.hits.into_iter().map(|h| h.id).collect();
        topics.push((
            format!("Matching “{q}”"),
            fresh(cx, sub, ids, &mut taken, PER_TOPIC).await?,
        ));
    }
    if taken.is_empty() {
        return Ok(false);
    }
    let token = paperboy_web::auth::sign(secret, paperboy_web::subscribe::MANAGE, sub.id);
    let host = cx
        .public_url
        .split("://")
        .nth(1)
        .unwrap_or("paperboy")
        .split(['/', ':'])
        .next()
        .unwrap_or("paperboy");
    let digest = Digest {
        site: cx.site.to_owned(),
        period: period.to_owned(),
        trending: top.iter().map(|v| item(cx.public_url, v)).collect(),
        topics: topics
            .into_iter()
            .map(|(h, vs)| (h, vs.iter().map(|v| item(cx.public_url, v)).collect()))
            .collect(),
        manage_url: format!("{}/subscription?t={token}", cx.public_url),
        unsubscribe_url: format!("{}/subscription/unsubscribe?t={token}", cx.public_url),
        message_id: format!("digest.{}.{period}@{host}", sub.id),
    };
    let letter = cx.mailer.digest_letter(&sub.email, &digest)?;
    let json = serde_json::to_string(&letter)?;
    cx.store
        .record_digest(sub.id, period, &digest.message_id, &json, &taken, now)
        .await
        .context("record the digest")
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendSummary {
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
}

/// Sends every outbox mail due at `now`, each at most once per call; a temporary failure waits
/// `retry_base` times 1, 2, 4 ... (at most 60 times) before its next try.
pub async fn send(
    store: &Arc<dyn Store>,
    mailer: &Mailer,
    now: DateTime<Utc>,
    retry_base: chrono::Duration,
) -> anyhow::Result<SendSummary> {
    let mut summary = SendSummary::default();
    let mut tried = std::collections::HashSet::new();
    loop {
        let due: Vec<_> = store
            .due_mail(now, 100 + tried.len())
            .await?
            .into_iter()
            .filter(|m| !tried.contains(&m.id))
            .collect();
        if due.is_empty() {
            break;
        }
        for mail in due {
            tried.insert(mail.id);
            let outcome = match serde_json::from_str::<Letter>(&mail.message) {
                Err(e) => Delivery::Failed {
                    error: format!("unreadable outbox message: {e}"),
                    bounce: false,
                },
                Ok(letter) => match mailer.send(&letter).await {
                    Ok(()) => Delivery::Sent,
                    Err(MailError::Permanent(e)) if mail.attempts + 1 >= MAX_PERMANENT => {
                        Delivery::Failed {
                            error: e,
                            bounce: true,
                        }
                    }
                    Err(e) if mail.attempts + 1 >= MAX_ATTEMPTS => Delivery::Failed {
                        error: e.to_string(),
                        bounce: false,
                    },
                    Err(e) => {
                        let factor = (1i32 << mail.attempts.min(6)).min(60);
                        Delivery::Retry(now + retry_base * factor, e.to_string())
                    }
                },
            };
            match &outcome {
                Delivery::Sent => summary.sent += 1,
                Delivery::Retry(..) => summary.retried += 1,
                Delivery::Failed { .. } => summary.failed += 1,
            }
            store.mark_mail(mail.id, outcome, now).await?;
        }
    }
    Ok(summary)
}

/// When digests go out.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Hour (UTC) from which the day's digests are recorded and sent.
    pub hour_utc: u32,
    /// Daily digests only Monday to Friday.
    pub weekdays_only: bool,
    /// How often the schedule looks for work.
    pub every: std::time::Duration,
    /// The first retry's wait after a temporary failure (then doubled).
    pub retry_base: chrono::Duration,
}

/// Whether digests of `frequency` are due at `now`.
pub fn due(schedule: Schedule, frequency: Frequency, now: DateTime<Utc>) -> bool {
    use chrono::{Timelike, Weekday};
    let day = now.weekday();
    now.hour() >= schedule.hour_utc
        && match frequency {
            Frequency::Daily => {
                !schedule.weekdays_only || !matches!(day, Weekday::Sat | Weekday::Sun)
            }
            Frequency::Weekly => day == Weekday::Mon,
        }
}

/// The schedule inside `paperboy serve`: every minute, record what is due (a period is recorded
/// once, so this is idempotent) and send what the outbox holds.
pub async fn schedule(cx: DigestContextOwned, schedule: Schedule) {
    loop {
        let now = Utc::now();
        let borrowed = cx.borrow();
        for frequency in [Frequency::Daily, Frequency::Weekly] {
            if due(schedule, frequency, now) {
                match run(&borrowed, frequency, now).await {
                    Ok(s) if s.recorded > 0 => tracing::info!(
                        period = period(frequency, now),
                        recorded = s.recorded,
                        "digests recorded"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "recording digests failed; will retry"),
                }
            }
        }
        match send(cx.store_ref(), &cx.mailer, now, schedule.retry_base).await {
            Ok(s) if s.sent + s.retried + s.failed > 0 => {
                tracing::info!(
                    sent = s.sent,
                    retry = s.retried,
                    failed = s.failed,
                    "digests sent"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "sending digests failed; will retry"),
        }
        tokio::time::sleep(schedule.every).await;
    }
}

/// What the schedule owns.
pub struct DigestContextOwned {
    pub store: Arc<dyn Store>,
    pub index: Arc<SearchIndex>,
    pub mailer: Mailer,
    pub site: String,
    pub public_url: String,
    pub trending: paperboy_core::ranking::Trending,
}

impl DigestContextOwned {
    fn borrow(&self) -> DigestContext<'_> {
        DigestContext {
            store: &self.store,
            index: &self.index,
            mailer: &self.mailer,
            site: &self.site,
            public_url: &self.public_url,
            trending: self.trending,
        }
    }

    fn store_ref(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_on_weekdays_weekly_on_mondays_from_the_hour() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let s = Schedule {
            hour_utc: 6,
            weekdays_only: true,
            every: std::time::Duration::from_secs(60),
            retry_base: chrono::Duration::minutes(1),
        };
        assert!(
            due(s, Frequency::Daily, at("2026-11-30T06:00:00Z")),
            "Monday 06:00"
        );
        assert!(
            !due(s, Frequency::Daily, at("2026-11-30T05:59:00Z")),
            "before the hour"
        );
        assert!(
            !due(s, Frequency::Daily, at("2026-11-28T09:00:00Z")),
            "Saturday"
        );
        assert!(due(
            Schedule {
                weekdays_only: false,
                ..s
            },
            Frequency::Daily,
            at("2026-11-28T09:00:00Z")
        ));
        assert!(due(s, Frequency::Weekly, at("2026-11-30T07:00:00Z")));
        assert!(
            !due(s, Frequency::Weekly, at("2026-12-01T07:00:00Z")),
            "Tuesday"
        );
    }

    #[test]
    fn periods_are_days_and_iso_weeks() {
        let t = DateTime::parse_from_rfc3339("2026-11-30T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(period(Frequency::Daily, t), "2026-11-30");
        assert_eq!(period(Frequency::Weekly, t), "2026-W49");
        let jan = DateTime::parse_from_rfc3339("2027-01-01T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(period(Frequency::Weekly, jan), "2026-W53", "ISO years");
    }
}
