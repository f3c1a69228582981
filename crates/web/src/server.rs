//! The running server: the route table under the layers every request passes through (the
//! visitor's CSRF cookie, counting and logging, errors as pages, compression, security
//! headers), serving until shutdown, and keeping the search index following the store.

use std::future::Future;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::csrf::csrf_cookie;
use crate::face::errors_as_pages;
use crate::routes::{method_not_allowed, not_found, table};
use crate::state::AppState;

/// Scripts and styles from this site only, images from anywhere secure, and never inside
/// another site's frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

pub fn router(state: AppState) -> Router {
    table()
        .into_router()
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(errors_as_pages))
        .layer(middleware::from_fn_with_state(state.clone(), csrf_cookie))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        // No page may be framed (clickjacking a vote or a sign-in), and links to other sites
        // do not tell them which page, search or token-bearing link they came from.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .with_state(state)
}

/// Counts and times every request by its route, and logs it.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().clone();
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    state
        .metrics
        .observe(&route, response.status().as_u16(), elapsed);
    tracing::debug!(%method, route, status = response.status().as_u16(), ms = elapsed.as_secs_f64() * 1e3, "request");
    response
}

/// Runs the server on `listener` until `shutdown` resolves, then finishes the requests in flight.
/// Tests bind port 0 and call this in-process.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    // With the peer's address, for per-address limits.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Keeps the search index, and the vectors once a model is loaded, following the store: catches
/// up now, then every `every`.
pub async fn follow_store(state: AppState, every: Duration) {
    loop {
        match state.index.catch_up(&*state.store, |_| {}).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(papers = n, "search index caught up"),
            Err(e) => tracing::warn!(error = %e, "search index catch-up failed; will retry"),
        }
        if let Some(semantic) = state.semantic.get() {
            let mut last_log = std::time::Instant::now();
            let result = semantic
                .catch_up(&*state.store, |done, pending| {
                    if last_log.elapsed() > Duration::from_secs(10) {
                        last_log = std::time::Instant::now();
                        tracing::info!(
                            embedded = done,
                            pending_changes = pending,
                            "embedding papers"
                        );
                    }
                })
                .await;
            match result {
                Ok(0) => {}
                Ok(n) => tracing::info!(papers = n, "embeddings caught up"),
                Err(e) => tracing::warn!(error = %e, "embedding failed; will retry"),
            }
        }
        tokio::time::sleep(every).await;
    }
}
