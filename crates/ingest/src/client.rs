//! The polite HTTP client every request to arXiv and Hugging Face goes through: one request per
//! interval per source (clones share the pacing), a User-Agent with the operator's contact,
//! retries with backoff on 429/5xx, dropped connections and malformed pages, honouring
//! `Retry-After`, one log line per request. The harvesters and the arXiv API client use it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Makes rustls use the ring provider (once per process; later calls do nothing).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

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
        install_tls_provider();
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
                    why: without_url(&e),
                    retry_after: None,
                },
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = retry_after(response.headers(), Utc::now());
                    if response.status().is_success() {
                        match response.text().await {
                            Err(e) => Failed {
                                why: format!("body cut short: {}", without_url(&e)),
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

/// The error and its causes, one line ("error sending request: connection refused").
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub(crate) fn fast() -> Politeness {
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
}
