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
use axum::routing::{get, post};
use axum::Router;
use paperboy_search::semantic::Semantic;
use paperboy_search::SearchIndex;
use paperboy_store::Store;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

pub mod api;
pub mod auth;
pub mod client_ip;
pub mod community;
pub mod error;
pub mod feeds;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod params;
pub mod query;
pub mod redirect;
pub mod render;
pub mod subscribe;

pub use error::ApiError;

/// What the web layer needs to know of the settings.
#[derive(Debug, Clone)]
pub struct WebSettings {
    pub site_name: String,
    pub trending: paperboy_core::ranking::Trending,
    pub fusion: paperboy_search::semantic::Fusion,
    /// How long a search waits for its query embedding before serving keyword results.
    pub query_embed_timeout: Duration,
    /// The address people reach this server at, without a trailing slash (sign-in links, feeds).
    pub public_url: String,
    /// Emails that are administrators (besides the first account); username entries are
    /// resolved at start into `admin_accounts`.
    pub admins: Vec<String>,
    /// The accounts that held a username listed in `admins` when the server started
    /// ([`auth::resolve_admins`]).
    pub admin_accounts: Vec<paperboy_store::AccountId>,
    /// Sessions last this many days from sign-in.
    pub session_days: u32,
    pub limits: limits::Limits,
    /// Trending ranks papers listed or voted for in this many days.
    pub trending_window_days: i64,
    /// Minutes between live-sync passes (0: no schedule), shown on the status page.
    pub sync_minutes: u64,
    /// `/readyz` fails while the search index is more than this many changes behind the store.
    pub ready_max_lag: u64,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` name the client (none: the TCP peer).
    pub trusted_proxies: client_ip::TrustedProxies,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            site_name: "paperboy".into(),
            trending: Default::default(),
            fusion: Default::default(),
            query_embed_timeout: Duration::from_secs(1),
            public_url: "http://127.0.0.1:8080".into(),
            admins: Vec::new(),
            admin_accounts: Vec::new(),
            session_days: auth::SESSION_DAYS as u32,
            limits: Default::default(),
            trending_window_days: 30,
            sync_minutes: 0,
            ready_max_lag: 1000,
            trusted_proxies: Default::default(),
        }
    }
}

impl WebSettings {
    /// Cookies are marked Secure when people reach the server over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// How long a session lasts (at least a day).
    pub fn session_lifetime(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.session_days.max(1)))
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

    /// Neither loaded nor known to be unavailable yet.
    pub fn is_loading(&self) -> bool {
        self.ready.get().is_none()
            && self
                .unavailable
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty()
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
    /// Sends sign-in links (to the log until SMTP is configured).
    pub mailer: Arc<dyn auth::Postman>,
    /// Fetches submitted papers' metadata; without one, only known papers can be submitted.
    pub paper_source: Option<Arc<dyn community::PaperSource>>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, index: Arc<SearchIndex>, settings: WebSettings) -> AppState {
        AppState {
            store,
            index,
            semantic: Arc::new(SemanticSlot::default()),
            settings: Arc::new(settings),
            metrics: Arc::new(metrics::Metrics::default()),
            mailer: Arc::new(auth::LogMailer),
            paper_source: None,
        }
    }
}

const APP_JS: &str = include_str!("app.js");

/// Scripts and styles from this site only, images from anywhere secure, and never inside
/// another site's frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::front))
        .route("/papers", get(pages::front))
        .route("/papers/date/{day}", get(pages::day))
        .route("/papers/week/{week}", get(pages::week))
        .route("/papers/month/{month}", get(pages::month))
        .route("/papers/trending", get(community::trending_page))
        .route(
            "/papers/{*id}",
            get(pages::paper).post(community::paper_post),
        )
        .route("/search", get(pages::search))
        .route(
            "/login",
            get(community::login_form).post(community::login_send),
        )
        .route(
            "/login/verify",
            get(community::verify_form).post(community::verify),
        )
        .route("/logout", post(community::logout))
        .route("/logout/everywhere", post(community::logout_everywhere))
        .route(
            "/account",
            get(community::account_page).post(community::account_save),
        )
        .route("/account/digest", post(subscribe::account_digest))
        .route("/account/digest/stop", post(subscribe::account_digest_stop))
        .route(
            "/submit",
            get(community::submit_form).post(community::submit),
        )
        .route(
            "/comments/{id}/edit",
            get(community::comment_edit_form).post(community::comment_edit_post),
        )
        .route("/comments/{id}/{action}", post(community::comment_post))
        .route("/admin", get(community::admin_page))
        .route("/admin/{action}", post(community::admin_account))
        .route("/about/ranking", get(community::ranking_page))
        .route(
            "/subscribe",
            get(subscribe::subscribe_form).post(subscribe::subscribe),
        )
        .route(
            "/subscription",
            get(subscribe::manage_form).post(subscribe::manage),
        )
        .route(
            "/subscription/confirm",
            get(subscribe::confirm_form).post(subscribe::confirm),
        )
        .route(
            "/subscription/unsubscribe",
            get(subscribe::manage_form).post(subscribe::unsubscribe),
        )
        .route("/feeds/{*path}", get(feeds::feed))
        .route("/api/trending", get(api::trending))
        .route(
            "/static/app.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    APP_JS,
                )
            }),
        )
        .route("/status", get(pages::status))
        .route("/api/daily_papers", get(api::daily_papers))
        .route("/api/papers", get(api::papers))
        .route("/api/papers/search", get(api::search))
        .route("/api/papers/{*id}", get(api::paper))
        .route("/api/status", get(api::status))
        .route("/openapi.json", get(openapi::document))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::export))
        .fallback(pages::not_found)
        .method_not_allowed_fallback(pages::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::csrf_cookie,
        ))
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

/// Readiness, for a load balancer: the database answers (within 2 s) and the search index is at
/// most `ready_max_lag` changes behind it. `/healthz` only says the process is up.
async fn readyz(State(state): State<AppState>) -> Response {
    use axum::http::StatusCode;
    let unready = |why: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
    };
    let last = match tokio::time::timeout(Duration::from_secs(2), state.store.last_seq()).await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database is unreachable");
            return unready("the database is unreachable".into()).into_response();
        }
        Err(_) => return unready("the database did not answer within 2 s".into()).into_response(),
    };
    let applied = match state.index.applied_seq() {
        Ok(n) => n,
        Err(e) => return unready(format!("the search index is unreadable: {e}")).into_response(),
    };
    let lag = (last - applied).max(0) as u64;
    if lag > state.settings.ready_max_lag {
        return unready(format!(
            "the search index is {lag} changes behind the database (at most {} allowed)",
            state.settings.ready_max_lag
        ))
        .into_response();
    }
    format!("ready: search index {lag} changes behind\n").into_response()
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

pub(crate) fn html_response(markup: maud::Markup) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}
