//! Harvesters: the HTTP side of live sync. [`Client`] is a polite HTTP client (one request per
//! interval per source, a User-Agent with the operator's contact, retries with backoff on 429/5xx,
//! dropped connections and malformed pages, honouring `Retry-After`, one log line per request).
//! [`OaiHarvester`] pages through arXiv's OAI-PMH `ListRecords`; [`HfHarvester`] walks Hugging
//! Face's `/api/daily_papers` day by day. Both are state machines: `step(state)` fetches one page
//! and returns its records with the state to resume from after them, which the caller stores in
//! the same transaction as the records. Nothing here touches a database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{Record, RecordError};

/// arXiv's OAI-PMH endpoint.
pub const OAI_DEFAULT_BASE: &str = "https://oaipmh.arxiv.org/oai";
/// Hugging Face's daily papers API.
pub const HF_DEFAULT_BASE: &str = "https://huggingface.co/api/daily_papers";
/// Items per page asked of the daily papers API (its maximum).
const HF_PAGE: usize = 100;

/// How a [`Client`] treats the server it asks.
#[derive(Debug, Clone)]
pub struct Politeness {
    /// At least this long between the starts of two requests (arXiv asks for 3 seconds).
    pub interval: Duration,
    /// Retries of one request before the pass gives up (and resumes there next time).
    pub retries: u32,
    /// The first retry's wait, doubled for each further one, unless the server says `Retry-After`.
    pub retry_base: Duration,
    /// The longest wait, `Retry-After` included.
    pub max_wait: Duration,
    /// Per request, body included.
    pub timeout: Duration,
    /// Names paperboy and the operator's contact.
    pub user_agent: String,
}

impl Politeness {
    /// `paperboy/VERSION (+contact)`; the contact is the operator's address or URL.
    pub fn user_agent(contact: &str) -> String {
        let contact = contact.trim();
        if contact.is_empty() {
            format!("paperboy/{}", env!("CARGO_PKG_VERSION"))
        } else {
            format!("paperboy/{} (+{contact})", env!("CARGO_PKG_VERSION"))
        }
    }
}

impl Default for Politeness {
    fn default() -> Self {
        Politeness {
            interval: Duration::from_secs(3),
            retries: 5,
            retry_base: Duration::from_secs(5),
            max_wait: Duration::from_secs(600),
            timeout: Duration::from_secs(60),
            user_agent: Politeness::user_agent(""),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum HarvestError {
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: gave up after {attempts} attempts; last: {last}")]
    GaveUp {
        url: String,
        attempts: u32,
        last: String,
    },
    #[error("OAI-PMH error {code}: {message}")]
    Oai { code: String, message: String },
    #[error("HTTP client: {0}")]
    Client(String),
}

/// A polite HTTP client for one source. Clones share the pacing, so the OAI harvester and the
/// Atom fetcher given clones of one client never ask arXiv more often than the interval together.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    http: reqwest::Client,
    politeness: Politeness,
    /// The source's name in log lines (`arxiv`, `hf`).
    name: &'static str,
    /// When the last request started; held while waiting for a turn, so callers queue.
    last: tokio::sync::Mutex<Option<Instant>>,
}

/// Why one attempt failed, and how long the server asked us to wait.
struct Failed {
    why: String,
    retry_after: Option<Duration>,
}

impl Client {
    pub fn new(name: &'static str, politeness: Politeness) -> Result<Client, HarvestError> {
        crate::arxiv_api::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(politeness.timeout)
            .user_agent(politeness.user_agent.clone())
            .build()
            .map_err(|e| HarvestError::Client(e.to_string()))?;
        Ok(Client {
            inner: Arc::new(ClientInner {
                http,
                politeness,
                name,
                last: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// Waits until the interval since the last request has passed, and takes the turn.
    async fn take_turn(&self) {
        let mut last = self.inner.last.lock().await;
        if let Some(t) = *last {
            tokio::time::sleep_until((t + self.inner.politeness.interval).into()).await;
        }
        *last = Some(Instant::now());
    }

    /// GETs `url?query` and parses the body with `parse`. Network errors, a connection dropped
    /// mid-body, 429 and 5xx answers and bodies `parse` refuses are retried; other 4xx are not.
    pub async fn get<T>(
        &self,
        url: &str,
        query: &[(&str, &str)],
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, HarvestError> {
        let p = &self.inner.politeness;
        let request = self
            .inner
            .http
            .get(url)
            .query(query)
            .build()
            .map_err(|e| HarvestError::Client(e.to_string()))?;
        let full = request.url().to_string();
        let mut attempt = 0u32;
        loop {
            self.take_turn().await;
            let started = Instant::now();
            let req = request.try_clone().expect("a GET has no streaming body");
            let failed = match self.inner.http.execute(req).await {
                Err(e) => Failed {
                    why: crate::arxiv_api::without_url(&e),
                    retry_after: None,
                },
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = retry_after(response.headers(), Utc::now());
                    if response.status().is_success() {
                        match response.text().await {
                            Err(e) => Failed {
                                why: format!(
                                    "body cut short: {}",
                                    crate::arxiv_api::without_url(&e)
                                ),
                                retry_after: None,
                            },
                            Ok(body) => {
                                tracing::info!(
                                    source = self.inner.name,
                                    url = %full,
                                    status,
                                    bytes = body.len(),
                                    ms = started.elapsed().as_millis() as u64,
                                    "harvest request"
                                );
                                match parse(&body) {
                                    Ok(t) => return Ok(t),
                                    Err(e) => Failed {
                                        why: format!("malformed response: {e}"),
                                        retry_after: None,
                                    },
                                }
                            }
                        }
                    } else if matches!(status, 429 | 500 | 502 | 503 | 504) {
                        Failed {
                            why: format!("HTTP status {status}"),
                            retry_after,
                        }
                    } else {
                        tracing::warn!(source = self.inner.name, url = %full, status, "harvest request refused");
                        return Err(HarvestError::Status { url: full, status });
                    }
                }
            };
            attempt += 1;
            if attempt > p.retries {
                tracing::warn!(source = self.inner.name, url = %full, attempts = attempt, reason = %failed.why, "harvest request failed: giving up for this pass");
                return Err(HarvestError::GaveUp {
                    url: full,
                    attempts: attempt,
                    last: failed.why,
                });
            }
            let backoff = p.retry_base.saturating_mul(1 << (attempt - 1).min(16));
            let wait = failed.retry_after.unwrap_or(backoff).min(p.max_wait);
            tracing::warn!(
                source = self.inner.name,
                url = %full,
                attempt,
                wait_ms = wait.as_millis() as u64,
                reason = %failed.why,
                "harvest request failed: retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// One page of a harvest: its records, where to resume after them, and whether the pass is over.
#[derive(Debug)]
pub struct Step<S> {
    pub records: Vec<Result<Record, RecordError>>,
    pub state: S,
    /// The pass has nothing more to fetch.
    pub done: bool,
}

/// Where an OAI-PMH harvest stands. At rest (between passes) only `from` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OaiState {
    /// The first datestamp this pass asks for (inclusive).
    pub from: Option<NaiveDate>,
    /// Index of the set being harvested in the configured list.
    #[serde(default)]
    pub set: usize,
    /// The resumption token of the next page of this set.
    #[serde(default)]
    pub token: Option<String>,
    /// The newest datestamp seen in this pass: the next pass's `from`.
    #[serde(default)]
    pub newest: Option<NaiveDate>,
}

/// arXiv's OAI-PMH `ListRecords` in the `arXiv` metadata format, incremental by datestamp,
/// following resumption tokens, one configured set after another.
pub struct OaiHarvester {
    client: Client,
    base: String,
    /// Sets (`cs`, `physics:hep-th`, ...); none means the whole archive.
    sets: Vec<String>,
}

impl OaiHarvester {
    pub fn new(client: Client, base: &str, sets: Vec<String>) -> OaiHarvester {
        OaiHarvester {
            client,
            base: base.trim_end_matches('/').to_owned(),
            sets,
        }
    }

    /// The state a pass starts from: a first harvest asks from `first_from`.
    pub fn begin(&self, state: OaiState, first_from: NaiveDate) -> OaiState {
        OaiState {
            from: state.from.or(Some(first_from)),
            ..state
        }
    }

    /// Fetches the next page.
    pub async fn step(&self, state: &OaiState) -> Result<Step<OaiState>, HarvestError> {
        let set_count = self.sets.len().max(1);
        if state.set >= set_count {
            return Ok(self.end_of_pass(state, Vec::new()));
        }
        let set = self.sets.get(state.set).map(String::as_str);
        let from = state.from.map(|d| d.to_string());
        let mut query = vec![("verb", "ListRecords")];
        match &state.token {
            Some(token) => query.push(("resumptionToken", token)),
            None => {
                query.push(("metadataPrefix", "arXiv"));
                if let Some(from) = &from {
                    query.push(("from", from));
                }
                if let Some(set) = set {
                    query.push(("set", set));
                }
            }
        }
        let page = self
            .client
            .get(&self.base, &query, |body| {
                crate::oai::parse_list_records(body).map_err(|e| e.to_string())
            })
            .await?;
        let mut next = state.clone();
        next.newest = next.newest.max(page.latest_datestamp);
        if let Some((code, message)) = page.error {
            match code.as_str() {
                // Nothing changed in this set since `from`.
                "noRecordsMatch" => next.token = None,
                // The token expired (a long pause): the set starts again from `from`; records
                // already stored merge as unchanged.
                "badResumptionToken" if state.token.is_some() => {
                    tracing::warn!(set, "OAI-PMH resumption token expired: restarting the set");
                    next.token = None;
                    return Ok(Step {
                        records: Vec::new(),
                        state: next,
                        done: false,
                    });
                }
                _ => return Err(HarvestError::Oai { code, message }),
            }
        } else {
            next.token = page.resumption_token;
        }
        let records = page
            .records
            .into_iter()
            .map(|r| r.map(Record::Paper))
            .collect();
        if next.token.is_some() {
            return Ok(Step {
                records,
                state: next,
                done: false,
            });
        }
        next.set += 1;
        if next.set < set_count {
            return Ok(Step {
                records,
                state: next,
                done: false,
            });
        }
        Ok(self.end_of_pass(&next, records))
    }

    fn end_of_pass(
        &self,
        state: &OaiState,
        records: Vec<Result<Record, RecordError>>,
    ) -> Step<OaiState> {
        Step {
            records,
            state: OaiState {
                from: state.newest.max(state.from),
                ..OaiState::default()
            },
            done: true,
        }
    }
}

/// Where the daily-papers walk stands: the first day not yet final.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HfState {
    pub next_day: Option<NaiveDate>,
}

/// Hugging Face's `/api/daily_papers?date=`, one day per step, up to today (UTC). Upvotes and
/// comments keep growing after a day's list appears, so each pass fetches the last
/// `refresh_days` days again.
pub struct HfHarvester {
    client: Client,
    base: String,
    refresh_days: u32,
}

impl HfHarvester {
    pub fn new(client: Client, base: &str, refresh_days: u32) -> HfHarvester {
        HfHarvester {
            client,
            base: base.trim_end_matches('/').to_owned(),
            refresh_days,
        }
    }

    /// The state a pass starts from: a first harvest starts at `first_day`; later ones go back
    /// `refresh_days` from today if they stopped later than that.
    pub fn begin(&self, state: HfState, first_day: NaiveDate, today: NaiveDate) -> HfState {
        let refresh_from = today - chrono::Days::new(u64::from(self.refresh_days));
        HfState {
            next_day: Some(state.next_day.map_or(first_day, |d| d.min(refresh_from))),
        }
    }

    /// Fetches the list of the state's day (every page of it).
    pub async fn step(
        &self,
        state: &HfState,
        today: NaiveDate,
    ) -> Result<Step<HfState>, HarvestError> {
        let Some(day) = state.next_day.filter(|d| *d <= today) else {
            return Ok(Step {
                records: Vec::new(),
                state: state.clone(),
                done: true,
            });
        };
        let date = day.to_string();
        let name = format!("{date}.json");
        let limit = HF_PAGE.to_string();
        let mut records = Vec::new();
        for p in 0.. {
            let page = p.to_string();
            let query = [
                ("date", date.as_str()),
                ("limit", limit.as_str()),
                ("p", page.as_str()),
            ];
            let items = self
                .client
                .get(&self.base, &query, |body| {
                    // A document that is not a JSON list is a bad page to fetch again; a bad
                    // item inside a good list is a rejected record.
                    match serde_json::from_str::<serde_json::Value>(body) {
                        Ok(serde_json::Value::Array(items)) => Ok(items.len()),
                        Ok(serde_json::Value::Object(o)) if o.contains_key("data") => Ok(0),
                        Ok(_) => Err("not a JSON list of papers".to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                    .map(|n| (n, crate::hf::parse_daily_api(&name, body.as_bytes())))
                })
                .await?;
            let (count, mut parsed) = items;
            // Positions restart on each page: continue them.
            if p > 0 {
                for r in parsed.iter_mut().flatten() {
                    if let Record::Daily { entry, .. } = r {
                        entry.position += (p * HF_PAGE) as u32;
                    }
                }
            }
            records.append(&mut parsed);
            if count < HF_PAGE {
                break;
            }
        }
        let (next_day, done) = if day < today {
            (
                day + chrono::Days::new(1),
                day + chrono::Days::new(1) > today,
            )
        } else {
            (day, true)
        };
        Ok(Step {
            records,
            state: HfState {
                next_day: Some(next_day),
            },
            done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn fast() -> Politeness {
        Politeness {
            interval: Duration::from_millis(50),
            retries: 3,
            retry_base: Duration::from_millis(10),
            max_wait: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            user_agent: Politeness::user_agent("ops@example.org"),
        }
    }

    async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/")
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = DateTime::parse_from_rfc3339("2026-01-05T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h, now), None);
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            "Mon, 05 Jan 2026 10:00:30 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h, now), None);
    }

    #[tokio::test]
    async fn requests_are_spaced_and_name_the_operator() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::<(Instant, String)>::new()));
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap| {
            let log = log.clone();
            async move {
                let ua = headers
                    .get("user-agent")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                log.lock().unwrap().push((Instant::now(), ua));
                "ok"
            }
        });
        let base = serve(app).await;
        let client = Client::new("test", fast()).unwrap();
        let (a, b) = (client.clone(), client.clone());
        let (x, y, z) = tokio::join!(
            a.get(&base, &[], |b| Ok::<_, String>(b.to_owned())),
            b.get(&base, &[], |b| Ok::<_, String>(b.to_owned())),
            client.get(&base, &[], |b| Ok::<_, String>(b.to_owned())),
        );
        assert_eq!(
            (x.unwrap(), y.unwrap(), z.unwrap().len()),
            ("ok".into(), "ok".into(), 2)
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        for pair in seen.windows(2) {
            let gap = pair[1].0 - pair[0].0;
            assert!(gap >= Duration::from_millis(45), "requests {gap:?} apart");
        }
        assert!(
            seen[0].1.starts_with("paperboy/") && seen[0].1.contains("ops@example.org"),
            "{}",
            seen[0].1
        );
    }

    #[tokio::test]
    async fn busy_answers_and_bad_bodies_are_retried_until_they_pass() {
        let calls = Arc::new(AtomicUsize::new(0));
        let n = calls.clone();
        let app = axum::Router::new().fallback(move || {
            let n = n.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        [("retry-after", "1")],
                        "busy",
                    )
                        .into_response(),
                    1 => (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response(),
                    2 => "<not json".into_response(),
                    _ => "[1, 2]".into_response(),
                }
            }
        });
        use axum::response::IntoResponse;
        let base = serve(app).await;
        let client = Client::new("test", fast()).unwrap();
        let started = Instant::now();
        let got = client
            .get(&base, &[], |b| {
                serde_json::from_str::<Vec<u32>>(b).map_err(|e| e.to_string())
            })
            .await
            .unwrap();
        assert_eq!(got, vec![1, 2]);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After: 1 was honoured"
        );
    }

    #[tokio::test]
    async fn client_errors_are_not_retried_and_retries_end() {
        let calls = Arc::new(AtomicUsize::new(0));
        let n = calls.clone();
        let app = axum::Router::new()
            .route(
                "/missing",
                axum::routing::get(|| async { (StatusCode::NOT_FOUND, "no") }),
            )
            .fallback(move || {
                n.fetch_add(1, Ordering::SeqCst);
                async { (StatusCode::BAD_GATEWAY, "down") }
            });
        let base = serve(app).await;
        let client = Client::new("test", fast()).unwrap();
        let err = client
            .get(&format!("{base}missing"), &[], |b| {
                Ok::<_, String>(b.to_owned())
            })
            .await
            .unwrap_err();
        assert!(
            matches!(err, HarvestError::Status { status: 404, .. }),
            "{err}"
        );
        let err = client
            .get(&base, &[], |b| Ok::<_, String>(b.to_owned()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, HarvestError::GaveUp { attempts: 4, .. }),
            "{err}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 4, "one try and three retries");
    }

    #[test]
    fn a_pass_resumes_where_the_last_one_stopped() {
        let client = Client::new("test", fast()).unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let hf = HfHarvester::new(client.clone(), "http://127.0.0.1:9/", 2);
        let first = hf.begin(HfState::default(), d("2026-01-01"), d("2026-01-20"));
        assert_eq!(first.next_day, Some(d("2026-01-01")));
        let later = HfState {
            next_day: Some(d("2026-01-20")),
        };
        assert_eq!(
            hf.begin(later, d("2026-01-01"), d("2026-01-20")).next_day,
            Some(d("2026-01-18")),
            "the last two days are fetched again for their votes"
        );
        let oai = OaiHarvester::new(client, "http://127.0.0.1:9/", vec![]);
        let at_rest = OaiState {
            from: Some(d("2026-01-05")),
            ..Default::default()
        };
        assert_eq!(oai.begin(at_rest.clone(), d("2025-01-01")), at_rest);
        assert_eq!(
            oai.begin(OaiState::default(), d("2025-01-01")).from,
            Some(d("2025-01-01"))
        );
    }
}
