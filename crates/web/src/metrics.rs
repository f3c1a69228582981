//! Request counters and latency histograms, kept per route and status and written in Prometheus'
//! text format (`/metrics` adds the store's and the index's gauges).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

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

    /// The request series in Prometheus' text format.
    pub fn render(&self, out: &mut String) {
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
