//! What an operator asks of a running server: the status page, readiness for a load balancer,
//! and Prometheus metrics.

use std::fmt::Write;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::query;
use crate::state::AppState;
use crate::views::layout::html_response;

pub async fn status(State(state): State<AppState>) -> Result<Response, ApiError> {
    let status = query::status(&state).await?;
    Ok(html_response(crate::views::status::status(&status)))
}

/// Readiness, for a load balancer: the database answers (within 2 s) and the search index is at
/// most `ready_max_lag` changes behind it. `/healthz` only says the process is up.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let unready = |why: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response()
    };
    let last = match tokio::time::timeout(Duration::from_secs(2), state.store.last_seq()).await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database is unreachable");
            return unready("the database is unreachable".into());
        }
        Err(_) => return unready("the database did not answer within 2 s".into()),
    };
    let applied = match state.index.applied_seq() {
        Ok(n) => n,
        Err(e) => return unready(format!("the search index is unreadable: {e}")),
    };
    let lag = (last - applied).max(0) as u64;
    if lag > state.settings.ready_max_lag {
        return unready(format!(
            "the search index is {lag} changes behind the database (at most {} allowed)",
            state.settings.ready_max_lag
        ));
    }
    format!("ready: search index {lag} changes behind\n").into_response()
}

/// Prometheus metrics: the request series, and gauges of the store, the index and live sync.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
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
