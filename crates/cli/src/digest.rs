//! Digests: `run` records what each due subscriber gets for a period (one outbox row each, in one
//! transaction with the papers it holds, so a crash loses or repeats nothing); `send` delivers the
//! outbox over SMTP, retrying temporary failures with backoff and giving up on permanent ones.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Datelike, Utc};
use paperboy_core::ArxivId;
use paperboy_mail::{Digest, DigestItem, Letter, MailError, Mailer, Section, SectionKind};
use paperboy_search::hybrid::Mode;
use paperboy_search::{SearchQuery, Searcher};
use paperboy_store::{Delivery, Frequency, OutboxMail, PaperView, Store, Subscription};

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
    /// Another process (another node on the same database) held this frequency's recorder
    /// lock, so this run did nothing: one recorder at a time.
    pub busy: bool,
    pub recorded: u64,
    pub nothing_new: u64,
    /// Distinct topics looked up (each once per run, however many subscribers share it).
    pub topics: u64,
}

pub struct DigestContext<'a> {
    pub store: &'a Arc<dyn Store>,
    /// The site's search: saved searches run hybrid through it, by keyword while it has no model.
    pub searcher: &'a Searcher,
    pub mailer: &'a Mailer,
    pub site: &'a str,
    pub public_url: &'a str,
    pub trending: paperboy_core::ranking::Trending,
    /// Woken after each batch of digests is recorded (the sender, so it starts at once).
    pub wake: Option<Arc<tokio::sync::Notify>>,
}

/// A hybrid match below this fused score is left out of a digest: with the default weight, a
/// cosine similarity of 1/3 alone, or the best keyword match alone. Digests carry what matches,
/// not the nearest of whatever is new.
const MIN_HYBRID_SCORE: f32 = 0.25;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Topic {
    /// The latest day's new papers ranked for a signed-in reader.
    ForYou,
    Category(String),
    Author(String),
    Search(String),
}

/// A digest section's candidates: the trending papers (no topic) or a topic's, best first, and
/// how many to take.
type Candidates = (Option<Topic>, Vec<ArxivId>, usize);

/// The mail's words for what a section is about.
fn heading(topic: Option<Topic>) -> (SectionKind, String) {
    match topic {
        None => (SectionKind::Trending, String::new()),
        Some(Topic::ForYou) => (SectionKind::ForYou, String::new()),
        Some(Topic::Category(c)) => (SectionKind::Category, c),
        Some(Topic::Author(a)) => (SectionKind::Author, a),
        Some(Topic::Search(q)) => (SectionKind::Search, q),
    }
}

/// What one run looks up once and shares among subscribers: each topic's new papers, and each
/// paper's line in a digest.
#[derive(Default)]
struct RunCache {
    topics: HashMap<Topic, Vec<ArxivId>>,
    items: HashMap<ArxivId, DigestItem>,
    /// What ranks for readers: one per run, so a day's papers are read and weighed once for
    /// every reader.
    foryou: Option<paperboy_web::state::AppState>,
    /// The latest day's papers by the categories readers follow.
    pools: HashMap<Vec<String>, paperboy_web::foryou::Pool>,
}

fn item(base: &str, v: &PaperView) -> DigestItem {
    DigestItem {
        // Mail cannot typeset TeX: `$\alpha$-stable` reads "α-stable".
        title: paperboy_core::tex::plain(
            &v.paper
                .title
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ),
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
    // The recorder's lease: two recorders would only compose the same digests twice (a period is
    // recorded once per subscriber whatever happens), but that is work wasted on every node.
    let Some(_lease) = cx
        .store
        .try_lock(&format!("digest-recorder-{}", frequency.as_str()))
        .await?
    else {
        return Ok(RunSummary {
            busy: true,
            ..RunSummary::default()
        });
    };
    let period = period(frequency, now);
    let window = match frequency {
        Frequency::Daily => chrono::Duration::days(3),
        Frequency::Weekly => chrono::Duration::days(8),
    };
    let since = now - window;
    // The same trending list the site shows, widened to the newest data's days when the recent
    // ones hold too few votes.
    let trending: Vec<ArxivId> =
        paperboy_web::query::trending_ids(&**cx.store, cx.trending, window, 50, now)
            .await?
            .papers
            .into_iter()
            .map(|(id, _)| id)
            .collect();
    let secret = cx.store.secret("subscription-links").await?;
    let mut cache = RunCache::default();
    let mut summary = RunSummary::default();
    let mut after = 0;
    loop {
        let subs = cx
            .store
            .due_subscriptions(frequency, &period, after, 500)
            .await?;
        let Some(last) = subs.last().map(|s| s.id.get()) else {
            break;
        };
        for sub in &subs {
            let sections = sections(cx, sub, &trending, since, &mut cache).await?;
            if record_one(cx, sub, &period, sections, &secret, &mut cache, now).await? {
                summary.recorded += 1;
            } else {
                // Looked at for this period: the next look at the schedule skips it.
                cx.store.pass_period(sub.id, &period).await?;
                summary.nothing_new += 1;
            }
        }
        if let Some(wake) = &cx.wake {
            wake.notify_one();
        }
        after = last;
    }
    summary.topics = cache.topics.len() as u64;
    Ok(summary)
}

/// A subscriber's candidate sections: trending, then each of its topics.
async fn sections(
    cx: &DigestContext<'_>,
    sub: &Subscription,
    trending: &[ArxivId],
    since: DateTime<Utc>,
    cache: &mut RunCache,
) -> anyhow::Result<Vec<Candidates>> {
    let mut t = sub.topics.clone();
    let mut out = Vec::new();
    // A signed-in reader with signals gets the latest day ranked for them first.
    if let Some(account) = sub.account_id {
        let state = cache.foryou.get_or_insert_with(|| {
            let mut state = paperboy_web::state::AppState::new(
                cx.store.clone(),
                cx.searcher.index().clone(),
                paperboy_web::state::WebSettings::default(),
            );
            state.semantic = cx.searcher.semantic().clone();
            state
        });
        let model = paperboy_web::foryou::model(state, account)
            .await
            .map_err(|e| anyhow::anyhow!("for you: {}", e.message))?;
        // Their followed authors and categories (read with the signals) are topics too.
        for f in &model.signals.follows {
            let into = match f.kind {
                paperboy_store::FollowKind::Author => &mut t.authors,
                paperboy_store::FollowKind::Category => &mut t.categories,
            };
            if !into.contains(&f.shown) {
                into.push(f.shown.clone());
            }
        }
        if !model.signals.is_empty() {
            let categories = model.categories();
            let pool = match cache.pools.get(&categories) {
                Some(p) => p.clone(),
                None => {
                    let p = paperboy_web::foryou::day_pool(state, categories.clone(), None)
                        .await
                        .map_err(|e| anyhow::anyhow!("for you: {}", e.message))?;
                    cache.pools.insert(categories, p.clone());
                    p
                }
            };
            let day = paperboy_web::foryou::rank_pool(state, &model, pool, 30)
                .await
                .map_err(|e| anyhow::anyhow!("for you: {}", e.message))?;
            let ids = day
                .papers
                .iter()
                .take(30)
                .map(|r| r.view.paper.id.clone())
                .collect();
            out.push((Some(Topic::ForYou), ids, PER_TOPIC));
        }
    }
    out.push((None, trending.to_vec(), TRENDING));
    let topics = t
        .categories
        .iter()
        .map(|c| Topic::Category(c.clone()))
        .chain(t.authors.iter().map(|a| Topic::Author(a.clone())))
        .chain(t.searches.iter().map(|q| Topic::Search(q.clone())));
    for topic in topics {
        let ids = match cache.topics.get(&topic) {
            Some(ids) => ids.clone(),
            None => {
                let ids = look_up(cx, &topic, since).await?;
                cache.topics.insert(topic.clone(), ids.clone());
                ids
            }
        };
        out.push((Some(topic), ids, PER_TOPIC));
    }
    Ok(out)
}

/// A topic's papers new since `since`, best first.
async fn look_up(
    cx: &DigestContext<'_>,
    topic: &Topic,
    since: DateTime<Utc>,
) -> anyhow::Result<Vec<ArxivId>> {
    let from = Some(since.date_naive());
    Ok(match topic {
        Topic::ForYou => Vec::new(),
        Topic::Category(c) => cx.searcher.index().newest_since(Some(c), None, from, 30)?,
        Topic::Author(a) => cx.searcher.index().newest_since(None, Some(a), from, 30)?,
        Topic::Search(text) => {
            let q = SearchQuery {
                text: text.clone(),
                from,
                limit: 30,
                ..Default::default()
            };
            let answer = cx.searcher.search(q, Mode::Hybrid).await?;
            if let Some(why) = answer.fallback.as_ref().filter(|f| f.is_failure()) {
                tracing::warn!(error = %why, "a saved search runs by keyword only");
            }
            let keyword = answer.mode == Mode::Keyword;
            answer
                .hits
                .into_iter()
                .filter(|h| keyword || h.score >= MIN_HYBRID_SCORE)
                .map(|h| h.id)
                .collect()
        }
    })
}

async fn record_one(
    cx: &DigestContext<'_>,
    sub: &Subscription,
    period: &str,
    sections: Vec<Candidates>,
    secret: &str,
    cache: &mut RunCache,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    // One look at what this subscriber was sent before, for every candidate at once.
    let mut candidates: Vec<ArxivId> = sections.iter().flat_map(|s| s.1.clone()).collect();
    candidates.sort();
    candidates.dedup();
    let sent: HashSet<ArxivId> = cx
        .store
        .sent_before(sub.id, &candidates)
        .await?
        .into_iter()
        .zip(candidates)
        .filter_map(|(s, id)| s.then_some(id))
        .collect();
    let mut taken: Vec<ArxivId> = Vec::new();
    let mut chosen: Vec<(Option<Topic>, Vec<ArxivId>)> = Vec::new();
    for (topic, ids, n) in sections {
        let pick: Vec<ArxivId> = ids
            .into_iter()
            .filter(|i| !sent.contains(i) && !taken.contains(i))
            .take(n)
            .collect();
        taken.extend(pick.iter().cloned());
        chosen.push((topic, pick));
    }
    if taken.is_empty() {
        return Ok(false);
    }
    let missing: Vec<ArxivId> = taken
        .iter()
        .filter(|i| !cache.items.contains_key(*i))
        .cloned()
        .collect();
    if !missing.is_empty() {
        for v in cx.store.papers(&missing).await? {
            cache
                .items
                .insert(v.paper.id.clone(), item(cx.public_url, &v));
        }
    }
    let sections = chosen
        .into_iter()
        .map(|(topic, ids)| {
            let (kind, topic) = heading(topic);
            Section {
                kind,
                topic,
                // A paper hidden since it was looked up is left out.
                papers: ids
                    .iter()
                    .filter_map(|i| cache.items.get(i).cloned())
                    .collect(),
            }
        })
        .collect();
    let token = paperboy_core::signed::sign(secret, paperboy_core::signed::MANAGE, sub.id.get());
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
        sections,
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

/// An outbox mail decoded and encoded for the wire; the error (a broken row, or a letter lettre
/// cannot build) fails that mail for good.
fn ready(mailer: &Mailer, mail: &OutboxMail) -> Result<paperboy_mail::Ready, String> {
    let letter: Letter = serde_json::from_str(&mail.message).map_err(|e| e.to_string())?;
    mailer.ready(&letter).map_err(|e| e.to_string())
}

/// The lock one sender holds (the server's schedule or `paperboy digest send`): two senders
/// would both send a mail neither had marked sent yet.
pub const SENDER_LOCK: &str = "digest-sender";

/// Sends every outbox mail due at `now`, each at most once per call; a temporary failure waits
/// `retry_base` times 1, 2, 4 ... (at most 60 times) before its next try. None, having sent
/// nothing, when another sender holds [`SENDER_LOCK`]. Where the store shares its outbox
/// (PostgreSQL), senders of every node work at once, each on the mail it claimed.
pub async fn send(
    store: &Arc<dyn Store>,
    mailer: &Mailer,
    now: DateTime<Utc>,
    retry_base: chrono::Duration,
) -> anyhow::Result<Option<SendSummary>> {
    if store.outbox_is_shared() {
        return send_locked(store, mailer, now, retry_base).await.map(Some);
    }
    let Some(_lock) = store.try_lock(SENDER_LOCK).await? else {
        return Ok(None);
    };
    send_locked(store, mailer, now, retry_base).await.map(Some)
}

async fn send_locked(
    store: &Arc<dyn Store>,
    mailer: &Mailer,
    now: DateTime<Utc>,
    retry_base: chrono::Duration,
) -> anyhow::Result<SendSummary> {
    let mut summary = SendSummary::default();
    let mut tried = HashSet::new();
    loop {
        // Sent and failed mail is no longer due; mail retried in this call may be due again (a
        // retry without a wait): read past those, at most `retried` rows.
        let due: Vec<_> = store
            .due_mail(now, 100 + summary.retried as usize)
            .await?
            .into_iter()
            .filter(|m| !tried.contains(&m.id))
            .collect();
        if due.is_empty() {
            break;
        }
        // While the server answers one mail, the next is encoded.
        let mut sent = Vec::with_capacity(due.len());
        let mut due = due.into_iter();
        let mut next = due.next().map(|m| (ready(mailer, &m), m));
        while let Some((prepared, mail)) = next.take() {
            tried.insert(mail.id);
            let attempt = async {
                match &prepared {
                    Ok(r) => mailer.send_ready(r).await,
                    Err(e) => Err(MailError::Build(e.clone())),
                }
            };
            let (result, upcoming) = tokio::join!(attempt, async {
                due.next().map(|m| (ready(mailer, &m), m))
            });
            next = upcoming;
            let outcome = match result {
                Ok(()) => Delivery::Sent,
                Err(MailError::Build(e)) => Delivery::Failed {
                    error: format!("unreadable outbox message: {e}"),
                    bounce: false,
                },
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
            };
            match &outcome {
                Delivery::Sent => summary.sent += 1,
                Delivery::Retry(..) => summary.retried += 1,
                Delivery::Failed { .. } => summary.failed += 1,
            }
            store.mark_mail(mail.id, outcome, now).await?;
            sent.push(mail.id);
        }
        // Once per batch, not per mail: dropping a body frees its overflow pages, page writes
        // that each mail's own commit (the crash window) would otherwise carry.
        store.forget_bodies(&sent).await?;
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

/// The schedule inside `paperboy serve`: every `every`, record what is due (a period is recorded
/// once, so this is idempotent); beside it, a sender delivers the outbox, woken as soon as
/// digests are recorded.
pub async fn schedule(cx: DigestContextOwned, schedule: Schedule) {
    let wake = Arc::new(tokio::sync::Notify::new());
    let recorder = async {
        loop {
            let now = Utc::now();
            // Saved searches run by meaning once the model is loaded; wait for it (or for
            // knowing there is none) rather than send keyword-only matches.
            if !cx.searcher.semantic().is_loading() {
                let borrowed = cx.borrow(Some(wake.clone()));
                for frequency in [Frequency::Daily, Frequency::Weekly] {
                    if !due(schedule, frequency, now) {
                        continue;
                    }
                    match run(&borrowed, frequency, now).await {
                        Ok(s) if s.recorded > 0 => tracing::info!(
                            period = period(frequency, now),
                            recorded = s.recorded,
                            nothing_new = s.nothing_new,
                            topics = s.topics,
                            "digests recorded"
                        ),
                        Ok(s) if s.busy => {
                            tracing::debug!("another node is recording digests")
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::error!(error = %e, "recording digests failed; will retry")
                        }
                    }
                }
            }
            tokio::time::sleep(schedule.every).await;
        }
    };
    let sender = async {
        loop {
            match send(&cx.store, &cx.mailer, Utc::now(), schedule.retry_base).await {
                Ok(Some(s)) if s.sent + s.retried + s.failed > 0 => tracing::info!(
                    sent = s.sent,
                    retry = s.retried,
                    failed = s.failed,
                    "digests sent"
                ),
                Ok(Some(_)) => {}
                Ok(None) => tracing::debug!("another process is sending digests"),
                Err(e) => tracing::error!(error = %e, "sending digests failed; will retry"),
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(schedule.every) => {}
            }
        }
    };
    tokio::join!(recorder, sender);
}

/// What the schedule owns.
pub struct DigestContextOwned {
    pub store: Arc<dyn Store>,
    pub searcher: Searcher,
    pub mailer: Mailer,
    pub site: String,
    pub public_url: String,
    pub trending: paperboy_core::ranking::Trending,
}

impl DigestContextOwned {
    fn borrow(&self, wake: Option<Arc<tokio::sync::Notify>>) -> DigestContext<'_> {
        DigestContext {
            store: &self.store,
            searcher: &self.searcher,
            mailer: &self.mailer,
            site: &self.site,
            public_url: &self.public_url,
            trending: self.trending,
            wake,
        }
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
