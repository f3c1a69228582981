//! paperboy's HTTP face: server-rendered pages, the hf.co-compatible JSON API, the OpenAPI
//! document and the operator endpoints (`/healthz`, `/metrics`). It reads through the `Store` trait
//! and the search index and holds no state of its own beyond counters; it never parses source files.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use paperboy_search::semantic::Semantic;
use paperboy_search::SearchIndex;
use paperboy_store::Store;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

pub mod api;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod query;
pub mod render;

pub use error::ApiError;

/// What the web layer needs to know of the settings.
#[derive(Debug, Clone)]
pub struct WebSettings {
    pub site_name: String,
    pub trending: paperboy_core::ranking::Trending,
    pub fusion: paperboy_search::semantic::Fusion,
    /// How long a search waits for its query embedding before serving keyword results.
    pub query_embed_timeout: Duration,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            site_name: "paperboy".into(),
            trending: Default::default(),
            fusion: Default::default(),
            query_embed_timeout: Duration::from_secs(1),
        }
    }
}

/// Search by meaning, once its model has loaded; until then (or without a model) the reason why not.
#[derive(Default)]
pub struct SemanticSlot {
    ready: OnceLock<Arc<Semantic>>,
    unavailable: Mutex<String>,
}

impl SemanticSlot {
    pub fn get(&self) -> Option<&Arc<Semantic>> {
        self.ready.get()
    }

    pub fn set(&self, semantic: Arc<Semantic>) {
        let _ = self.ready.set(semantic);
    }

    pub fn set_unavailable(&self, why: impl Into<String>) {
        *self.unavailable.lock().unwrap_or_else(|p| p.into_inner()) = why.into();
    }

    /// Why search is keyword-only, when it is.
    pub fn unavailable(&self) -> Option<String> {
        if self.ready.get().is_some() {
            return None;
        }
        let why = self
            .unavailable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Some(if why.is_empty() {
            "the embedding model is loading".into()
        } else {
            why
        })
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub index: Arc<SearchIndex>,
    pub semantic: Arc<SemanticSlot>,
    pub settings: Arc<WebSettings>,
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, index: Arc<SearchIndex>, settings: WebSettings) -> AppState {
        AppState {
            store,
            index,
            semantic: Arc::new(SemanticSlot::default()),
            settings: Arc::new(settings),
            metrics: Arc::new(metrics::Metrics::default()),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::front))
        .route("/papers", get(pages::front))
        .route("/papers/date/{day}", get(pages::day))
        .route("/papers/week/{week}", get(pages::week))
        .route("/papers/month/{month}", get(pages::month))
        .route("/papers/{*id}", get(pages::paper))
        .route("/search", get(pages::search))
        .route("/status", get(pages::status))
        .route("/api/daily_papers", get(api::daily_papers))
        .route("/api/papers", get(api::papers))
        .route("/api/papers/search", get(api::search))
        .route("/api/papers/{*id}", get(api::paper))
        .route("/api/status", get(api::status))
        .route("/openapi.json", get(openapi::document))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics::export))
        .fallback(pages::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:",
            ),
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
    axum::serve(listener, app)
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

pub(crate) fn html_response(markup: maud::Markup) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}
