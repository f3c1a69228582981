//! What every handler reads: the application's state (the store, the search index, search by
//! meaning once its model is loaded, the services outside, counters) and the settings the web
//! layer knows of.

use std::sync::Arc;
use std::time::Duration;

use paperboy_search::SearchIndex;
pub use paperboy_search::SemanticSlot;
use paperboy_store::Store;

use crate::client_ip::TrustedProxies;
use crate::error::ApiError;
use crate::limits::{Action, Limits};
use crate::metrics::Metrics;
use crate::services::{LogMailer, PaperSource, Postman};
use crate::session::SESSION_DAYS;

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
    /// ([`crate::viewer::resolve_admins`]).
    pub admin_accounts: Vec<paperboy_store::AccountId>,
    /// Sessions last this many days from sign-in.
    pub session_days: u32,
    pub limits: Limits,
    /// Trending ranks papers listed or voted for in this many days.
    pub trending_window_days: i64,
    /// A deleted account's comments stay, as by "deleted account" (else they go).
    pub keep_deleted_comments: bool,
    /// Minutes between live-sync passes (0: no schedule), shown on the status page.
    pub sync_minutes: u64,
    /// `/readyz` fails while the search index is more than this many changes behind the store.
    pub ready_max_lag: u64,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` name the client (none: the TCP peer).
    pub trusted_proxies: TrustedProxies,
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
            session_days: SESSION_DAYS as u32,
            limits: Default::default(),
            trending_window_days: 30,
            keep_deleted_comments: true,
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

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub index: Arc<SearchIndex>,
    pub semantic: Arc<SemanticSlot>,
    pub settings: Arc<WebSettings>,
    pub metrics: Arc<Metrics>,
    /// Sends sign-in links (to the log until SMTP is configured).
    pub mailer: Arc<dyn Postman>,
    /// Fetches submitted papers' metadata; without one, only known papers can be submitted.
    pub paper_source: Option<Arc<dyn PaperSource>>,
    /// Readers' for-you models and papers' term vectors, kept between requests.
    pub foryou: Arc<paperboy_search::reader::Engine>,
}

impl AppState {
    /// Counts one `action` for every key, or refuses it (see [`Limits::check`]).
    pub async fn limit(&self, action: Action, keys: &[String]) -> Result<(), ApiError> {
        self.settings.limits.check(&*self.store, action, keys).await
    }

    pub fn new(store: Arc<dyn Store>, index: Arc<SearchIndex>, settings: WebSettings) -> AppState {
        AppState {
            store,
            index,
            semantic: Arc::new(SemanticSlot::default()),
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::default()),
            mailer: Arc::new(LogMailer),
            paper_source: None,
            foryou: Arc::default(),
        }
    }
}
