//! A local stand-in for arXiv and Hugging Face, so harvesters are tested over real HTTP without
//! the internet. It replays real data from `../shared/data`: the recorded `/api/daily_papers`
//! responses, the real Atom API response, and OAI-PMH `ListRecords` pages in arXiv's `arXiv`
//! format holding the real OAI records plus the 1,000 sampled arXiv listings (written in the same
//! shape), paged with resumption tokens. Faults are injected on chosen OAI requests: a 503 with
//! `Retry-After`, a page cut in half (malformed XML) and a connection dropped mid-body.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::common::shared_data;

/// What goes wrong on one OAI request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 503 with `Retry-After: 1`.
    Busy,
    /// The first half of the page: not well-formed XML.
    Malformed,
    /// Headers and half the body, then the connection closes.
    Dropped,
}

pub struct OaiRecord {
    pub id: String,
    pub datestamp: String,
    pub categories: Vec<String>,
    pub xml: String,
}

pub struct Data {
    pub oai: Vec<OaiRecord>,
    /// Raw `/api/daily_papers` responses by day.
    pub hf_days: BTreeMap<String, Vec<u8>>,
    pub atom: String,
}

impl Data {
    /// None (and the test skips) when `../shared/data` is absent.
    pub fn load() -> Option<Data> {
        let oai_xml = std::fs::read_to_string(shared_data(
            "fixtures/oaipmh_listrecords_arXiv_plasm-ph_2026-01-05.xml",
        )?)
        .ok()?;
        let mut oai = Vec::new();
        let mut rest = oai_xml.as_str();
        while let Some(start) = rest.find("<record>") {
            let end = rest[start..].find("</record>").expect("closed record") + start + 9;
            let xml = rest[start..end].to_string();
            let inner = |tag: &str| -> String {
                let open = format!("<{tag}>");
                let a = xml.find(&open).expect(tag) + open.len();
                let b = xml[a..].find(&format!("</{tag}>")).expect(tag) + a;
                xml[a..b].trim().to_string()
            };
            oai.push(OaiRecord {
                id: inner("id"),
                datestamp: inner("datestamp"),
                categories: inner("categories")
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                xml: xml.clone(),
            });
            rest = &rest[end..];
        }
        let sample =
            std::fs::read_to_string(shared_data("arxiv-listings/sample_1000.jsonl")?).ok()?;
        for line in sample.lines() {
            let v: Value = serde_json::from_str(line).expect("listing JSON");
            oai.push(listing_to_oai(&v));
        }
        oai.sort_by(|a, b| (&a.datestamp, &a.id).cmp(&(&b.datestamp, &b.id)));

        let tar_gz = std::fs::read(shared_data(crate::common::HF_RAW_ARCHIVE)?).ok()?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&tar_gz[..]));
        let mut hf_days = BTreeMap::new();
        for entry in archive.entries().expect("tar") {
            let mut entry = entry.expect("tar entry");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            let Some(name) = path
                .rsplit('/')
                .next()
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut body).expect("read member");
            hf_days.insert(name.to_string(), body);
        }
        let atom = std::fs::read_to_string(shared_data(
            "fixtures/atom_api_query_all_science_2019-08-10.xml",
        )?)
        .ok()?;
        Some(Data { oai, hf_days, atom })
    }

    /// The ids an OAI harvest of `sets` from `from` brings.
    pub fn oai_ids(&self, sets: &[&str], from: &str) -> std::collections::BTreeSet<String> {
        self.oai
            .iter()
            .filter(|r| r.datestamp.as_str() >= from && sets.iter().any(|s| in_set(r, s)))
            .map(|r| r.id.clone())
            .collect()
    }

    /// The arXiv ids on the HF lists of days `from..=to`.
    pub fn hf_ids(&self, from: &str, to: &str) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for (day, body) in self.hf_days.range(from.to_string()..=to.to_string()) {
            for r in paperboy_ingest::hf::parse_daily_api(&format!("{day}.json"), body)
                .into_iter()
                .flatten()
            {
                out.insert(r.paper().id.to_string());
            }
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An arXiv listing record written as an OAI-PMH `arXiv` record (as arXiv's OAI server does).
fn listing_to_oai(v: &Value) -> OaiRecord {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let id = s("id");
    let day = s("listing_date");
    let categories: Vec<String> = v["categories"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut authors = String::new();
    for a in v["authors"].as_array().into_iter().flatten() {
        let name = a.as_str().unwrap_or("");
        let (fore, key) = name.rsplit_once(' ').unwrap_or(("", name));
        authors.push_str(&format!(
            "<author><keyname>{}</keyname><forenames>{}</forenames></author>",
            escape(key),
            escape(fore)
        ));
    }
    let comment = match v["comment"].as_str() {
        Some(c) if !c.is_empty() => format!("<comments>{}</comments>", escape(c)),
        _ => String::new(),
    };
    let archive = categories
        .first()
        .map(|c| c.split('.').next().unwrap_or(c).to_string())
        .unwrap_or_default();
    let xml = format!(
        "<record><header><identifier>oai:arXiv.org:{id}</identifier><datestamp>{day}</datestamp>\
         <setSpec>{archive}</setSpec></header><metadata>\
         <arXiv xmlns=\"http://arxiv.org/OAI/arXiv/\"><id>{id}</id><created>{day}</created>\
         <authors>{authors}</authors><title>{}</title><categories>{}</categories>{comment}\
         <abstract>{}</abstract></arXiv></metadata></record>",
        escape(&s("title")),
        escape(&categories.join(" ")),
        escape(&s("abstract")),
    );
    OaiRecord {
        id,
        datestamp: day,
        categories,
        xml,
    }
}

/// `cs` holds cs.*; `physics:physics:plasm-ph` holds physics.plasm-ph.
fn in_set(r: &OaiRecord, set: &str) -> bool {
    let last = set.rsplit(':').next().unwrap_or(set);
    r.categories.iter().any(|c| {
        c == last || c.starts_with(&format!("{last}.")) || c.ends_with(&format!(".{last}"))
    })
}

pub struct Replay {
    pub base: String,
    pub state: Arc<ReplayState>,
}

pub struct ReplayState {
    data: Data,
    page_size: usize,
    /// Faults by OAI request number (1-based), each fired once.
    faults: Mutex<HashMap<usize, Fault>>,
    pub oai_requests: AtomicUsize,
    pub hf_requests: AtomicUsize,
    pub user_agents: Mutex<Vec<String>>,
    /// Added to every answer, so a harvest takes long enough to be killed in the middle.
    delay: Duration,
    /// Answers wait until this is true.
    gate: tokio::sync::watch::Sender<bool>,
}

impl Replay {
    pub async fn start(
        data: Data,
        page_size: usize,
        faults: &[(usize, Fault)],
        delay: Duration,
    ) -> Replay {
        let (gate, _) = tokio::sync::watch::channel(true);
        let state = Arc::new(ReplayState {
            data,
            page_size,
            faults: Mutex::new(faults.iter().copied().collect()),
            oai_requests: AtomicUsize::new(0),
            hf_requests: AtomicUsize::new(0),
            user_agents: Mutex::new(Vec::new()),
            delay,
            gate,
        });
        let app = axum::Router::new()
            .route("/oai", axum::routing::get(oai))
            .route("/api/daily_papers", axum::routing::get(hf))
            .route("/api/query", axum::routing::get(atom))
            .layer(axum::middleware::from_fn_with_state(state.clone(), wait))
            .with_state(state.clone());
        let addr = crate::common::serve(app).await;
        Replay {
            base: format!("http://{addr}"),
            state,
        }
    }

    /// Holds every answer until [`Replay::open`].
    pub fn close(&self) {
        self.state.gate.send_replace(false);
    }

    pub fn open(&self) {
        self.state.gate.send_replace(true);
    }

    /// Settings that point paperboy's harvesters here, fast and without pauses, as environment
    /// variables for the `paperboy` binary.
    pub fn env(&self, sets: &[&str], first_days: u32) -> Vec<(&'static str, String)> {
        let sets: Vec<String> = sets.iter().map(|s| format!("{s:?}")).collect();
        vec![
            ("PAPERBOY_OAI_URL", format!("{}/oai", self.base)),
            (
                "PAPERBOY_HF_API_URL",
                format!("{}/api/daily_papers", self.base),
            ),
            ("PAPERBOY_ARXIV_API_URL", format!("{}/api/query", self.base)),
            ("PAPERBOY_OAI_SETS", format!("[{}]", sets.join(","))),
            ("PAPERBOY_SYNC_FIRST_DAYS", first_days.to_string()),
            ("PAPERBOY_ARXIV_INTERVAL_MS", "0".into()),
            ("PAPERBOY_HF_INTERVAL_MS", "0".into()),
            ("PAPERBOY_SYNC_RETRY_MS", "20".into()),
            ("PAPERBOY_SYNC_CONTACT", "ops@lab.example".into()),
        ]
    }

    /// The same for an in-process server's settings.
    pub fn apply(
        &self,
        settings: &mut paperboy_cli::settings::Settings,
        sets: &[&str],
        first_days: u32,
    ) {
        settings.oai_url = format!("{}/oai", self.base);
        settings.hf_api_url = format!("{}/api/daily_papers", self.base);
        settings.arxiv_api_url = format!("{}/api/query", self.base);
        settings.oai_sets = sets.iter().map(|s| s.to_string()).collect();
        settings.sync_first_days = first_days;
        settings.arxiv_interval_ms = 0;
        settings.hf_interval_ms = 0;
        settings.sync_retry_ms = 20;
        settings.sync_contact = "ops@lab.example".into();
    }
}

/// Days from `day` (YYYY-MM-DD) to today (UTC): a `sync_first_days` that starts there.
pub fn days_since(day: &str) -> u32 {
    let d: chrono::NaiveDate = day.parse().unwrap();
    (chrono::Utc::now().date_naive() - d).num_days() as u32
}

/// Before every answer: waits until the gate is open, notes the User-Agent, adds the delay.
async fn wait(State(s): State<Arc<ReplayState>>, request: Request, next: Next) -> Response {
    let mut gate = s.gate.subscribe();
    let _ = gate.wait_for(|open| *open).await;
    if let Some(ua) = request
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
    {
        s.user_agents.lock().unwrap().push(ua.to_owned());
    }
    if !s.delay.is_zero() {
        tokio::time::sleep(s.delay).await;
    }
    next.run(request).await
}

fn xml_response(body: String) -> Response {
    ([("content-type", "text/xml; charset=utf-8")], body).into_response()
}

async fn oai(
    State(s): State<Arc<ReplayState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let n = s.oai_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let fault = s.faults.lock().unwrap().remove(&n);
    if fault == Some(Fault::Busy) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "1")],
            "busy",
        )
            .into_response();
    }
    let (set, from, offset) = match q.get("resumptionToken") {
        Some(token) => {
            let mut parts = token.splitn(3, '|');
            let set = parts.next().unwrap_or("").to_string();
            let from = parts.next().unwrap_or("").to_string();
            let Some(offset) = parts.next().and_then(|o| o.parse::<usize>().ok()) else {
                return xml_response(envelope(
                    "<error code=\"badResumptionToken\">unknown token</error>",
                ));
            };
            (set, from, offset)
        }
        None => {
            if q.get("metadataPrefix").map(String::as_str) != Some("arXiv") {
                return xml_response(envelope(
                    "<error code=\"cannotDisseminateFormat\">arXiv only</error>",
                ));
            }
            (
                q.get("set").cloned().unwrap_or_default(),
                q.get("from").cloned().unwrap_or_default(),
                0,
            )
        }
    };
    let matching: Vec<&OaiRecord> = s
        .data
        .oai
        .iter()
        .filter(|r| r.datestamp >= from && (set.is_empty() || in_set(r, &set)))
        .collect();
    if matching.is_empty() {
        return xml_response(envelope("<error code=\"noRecordsMatch\">nothing</error>"));
    }
    let page: String = matching
        .iter()
        .skip(offset)
        .take(s.page_size)
        .map(|r| r.xml.as_str())
        .collect();
    let next = offset + s.page_size;
    let token = if next < matching.len() {
        format!(
            "<resumptionToken cursor=\"{offset}\" completeListSize=\"{}\">{set}|{from}|{next}</resumptionToken>",
            matching.len()
        )
    } else {
        format!(
            "<resumptionToken cursor=\"{offset}\" completeListSize=\"{}\"/>",
            matching.len()
        )
    };
    let body = envelope(&format!("<ListRecords>{page}{token}</ListRecords>"));
    match fault {
        Some(Fault::Malformed) => xml_response(body[..body.len() / 2].to_string()),
        Some(Fault::Dropped) => {
            let half = body.as_bytes()[..body.len() / 2].to_vec();
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "dropped",
                )),
            ];
            Response::builder()
                .header("content-type", "text/xml")
                // The error comes a moment after the first half, so the headers and that half
                // have gone out: the client sees a body cut short.
                .body(Body::from_stream(futures_util::StreamExt::then(
                    futures_util::stream::iter(chunks),
                    |chunk| async move {
                        if chunk.is_err() {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        chunk
                    },
                )))
                .unwrap()
        }
        _ => xml_response(body),
    }
}

fn envelope(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\">\
         <responseDate>2026-01-05T00:00:00Z</responseDate><request verb=\"ListRecords\">replay</request>{inner}</OAI-PMH>"
    )
}

async fn hf(
    State(s): State<Arc<ReplayState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    s.hf_requests.fetch_add(1, Ordering::SeqCst);
    let day = q.get("date").cloned().unwrap_or_default();
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(50);
    let p: usize = q.get("p").and_then(|p| p.parse().ok()).unwrap_or(0);
    let Some(body) = s.data.hf_days.get(&day) else {
        return ([("content-type", "application/json")], "[]").into_response();
    };
    let page = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => {
            Value::Array(items.into_iter().skip(p * limit).take(limit).collect()).to_string()
        }
        _ if p == 0 => String::from_utf8_lossy(body).into_owned(),
        _ => "[]".to_string(),
    };
    ([("content-type", "application/json")], page).into_response()
}

async fn atom(State(s): State<Arc<ReplayState>>) -> Response {
    (
        [("content-type", "application/atom+xml")],
        s.data.atom.clone(),
    )
        .into_response()
}
