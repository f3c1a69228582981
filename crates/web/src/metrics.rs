//! Request counters and latency histograms in Prometheus' text format, plus store and index gauges.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), Series>>,
}

impl Metrics {
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.entry((route.to_owned(), status)).or_default();
        s.count += 1;
        s.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    fn render(&self, out: &mut String) {
        let map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP paperboy_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE paperboy_http_requests_total counter\n");
        for ((route, status), s) in map.iter() {
            let _ = writeln!(
                out,
                "paperboy_http_requests_total{{route=\"{}\",status=\"{status}\"}} {}",
                label(route),
                s.count
            );
        }
        out.push_str("# HELP paperboy_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE paperboy_http_request_duration_seconds histogram\n");
        let mut by_route: BTreeMap<&str, Series> = BTreeMap::new();
        for ((route, _), s) in map.iter() {
            let agg = by_route.entry(route).or_default();
            agg.count += s.count;
            agg.sum += s.sum;
            for i in 0..BUCKETS.len() {
                agg.buckets[i] += s.buckets[i];
            }
        }
        for (route, s) in by_route {
            let route = label(route);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "paperboy_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}", s.buckets[i]);
            }
            let _ = writeln!(
                out,
                "paperboy_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "paperboy_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "paperboy_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                s.count
            );
        }
    }
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

pub async fn export(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    state.metrics.render(&mut out);
    if let Ok(stats) = state.store.stats().await {
        let _ = writeln!(
            out,
            "# TYPE paperboy_papers gauge\npaperboy_papers {}",
            stats.papers
        );
        let _ = writeln!(
            out,
            "# TYPE paperboy_daily_entries gauge\npaperboy_daily_entries {}",
            stats.daily_entries
        );
    }
    let _ = writeln!(
        out,
        "# TYPE paperboy_search_index_documents gauge\npaperboy_search_index_documents {}",
        state.index.num_docs()
    );
    if let (Ok(store), Ok(index)) = (state.store.last_seq().await, state.index.applied_seq()) {
        let _ = writeln!(
            out,
            "# HELP paperboy_search_index_lag Store changes the search index has not applied yet."
        );
        let _ = writeln!(
            out,
            "# TYPE paperboy_search_index_lag gauge\npaperboy_search_index_lag {}",
            (store - index).max(0)
        );
    }
    if let Ok(sources) = state.store.harvest_statuses().await {
        if !sources.is_empty() {
            let _ = writeln!(
                out,
                "# HELP paperboy_sync_papers_total Papers a live-sync source made new or changed.
                 # TYPE paperboy_sync_papers_total counter"
            );
            for h in &sources {
                let _ = writeln!(
                    out,
                    "paperboy_sync_papers_total{{source=\"{}\"}} {}",
                    h.source, h.papers_total
                );
            }
            let _ = writeln!(
                out,
                "# HELP paperboy_sync_last_success_seconds When a source's last pass succeeded (Unix time).
                 # TYPE paperboy_sync_last_success_seconds gauge"
            );
            for h in &sources {
                if let Some(t) = h.last_success {
                    let _ = writeln!(
                        out,
                        "paperboy_sync_last_success_seconds{{source=\"{}\"}} {}",
                        h.source,
                        t.timestamp()
                    );
                }
            }
            let _ = writeln!(
                out,
                "# HELP paperboy_sync_failing 1 when a source's last pass ended in an error.
                 # TYPE paperboy_sync_failing gauge"
            );
            for h in &sources {
                let _ = writeln!(
                    out,
                    "paperboy_sync_failing{{source=\"{}\"}} {}",
                    h.source,
                    u8::from(h.last_error.is_some())
                );
            }
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
