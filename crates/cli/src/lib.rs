//! The `paperboy` program as a library: settings, import orchestration and the server's start-up,
//! so that integration tests run exactly what the binary runs (the real server on port 0).

use std::future::Future;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use paperboy_search::SearchIndex;
use paperboy_store::Store;

pub mod digest;
pub mod eval;
pub mod foryou;
pub mod harvest;
pub mod import;
pub mod migrate;
pub mod model;
pub mod settings;
pub mod similar;

use import::Source;
use settings::Settings;

/// The demo slice imported into an empty database: 21 days of real Hugging Face daily papers.
pub static DEMO: &[u8] = include_bytes!("../../../demo/hf-daily-papers-demo.tar.gz");
/// With it, four days of arXiv's own lists (cs.CV, cs.CL, cs.AI and their cross-lists), so that
/// `/list` shows categories on a fresh demo.
pub static DEMO_LISTINGS: &[u8] = include_bytes!("../../../demo/arxiv-listings-demo.jsonl.gz");

/// Imports the demo slices into `store`.
pub async fn import_demo(store: &Arc<dyn Store>) -> anyhow::Result<import::Summary> {
    let listings = import::import(
        store,
        Source::Bytes {
            name: "arxiv-listings-demo.jsonl.gz".into(),
            data: DEMO_LISTINGS,
        },
        false,
    )
    .await?;
    tracing::info!(%listings, "imported the demo's arXiv lists");
    import::import(
        store,
        Source::Bytes {
            name: "hf-daily-papers-demo.tar.gz".into(),
            data: DEMO,
        },
        false,
    )
    .await
}

pub fn open_store(settings: &Settings, create: bool) -> anyhow::Result<Arc<dyn Store>> {
    open_store_mapping(settings, create, settings.sqlite_mmap_mb << 20)
}

/// The store for `paperboy import` and `reindex`: they read the whole database once to index it,
/// so they read without the memory map, whose pages would all count as their memory.
pub fn open_store_for_bulk(settings: &Settings, create: bool) -> anyhow::Result<Arc<dyn Store>> {
    open_store_mapping(settings, create, 0)
}

fn open_store_mapping(
    settings: &Settings,
    create: bool,
    mmap_bytes: u64,
) -> anyhow::Result<Arc<dyn Store>> {
    if create {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("create data directory {}", settings.data_dir.display()))?;
    }
    let url = settings.database_url();
    let options = paperboy_store::OpenOptions {
        create,
        sqlite_mmap_bytes: mmap_bytes,
        ca_file: settings.database_ca_file(),
    };
    paperboy_store::open_with(&url, &options)
        .with_context(|| format!("open database {}", paperboy_store::postgres::redact(&url)))
}

pub async fn open_index(
    settings: &Settings,
    store: &Arc<dyn Store>,
) -> anyhow::Result<Arc<SearchIndex>> {
    let (index, fresh) = SearchIndex::open(&settings.index_dir())?;
    if fresh {
        tracing::info!("search index missing or of an older format: rebuilding from the database");
    }
    let index = Arc::new(index);
    index.catch_up(&**store, |_| {}).await?;
    Ok(index)
}

/// The search index for work beside a running server: opened for writing and brought up to date
/// when no server holds it, else read as the server keeps it.
pub async fn open_index_beside_server(
    settings: &Settings,
    store: &Arc<dyn Store>,
) -> anyhow::Result<Arc<SearchIndex>> {
    // Only a try: the index (and its lock) is dropped at the end of this statement.
    let locked = matches!(SearchIndex::open(&settings.index_dir()), Err(e) if e.is_locked());
    if locked {
        tracing::info!("the server holds the search index; reading it as the server keeps it");
        return Ok(Arc::new(SearchIndex::open_read_only(
            &settings.index_dir(),
        )?));
    }
    open_index(settings, store).await
}

/// The embedding model in `dir` and its vectors (from the index file in `data_dir` when that is
/// this model's); None when no model is installed there.
async fn semantic_in(
    dir: &std::path::Path,
    kernel: paperboy_search::kernel::KernelChoice,
    data_dir: &std::path::Path,
    store: &dyn Store,
) -> Result<Option<paperboy_search::semantic::Semantic>, paperboy_search::semantic::SemanticError> {
    if !dir.join("model.safetensors").exists() {
        return Ok(None);
    }
    // The index file is named after the model folder; Semantic checks that it is this model's.
    let model = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cache = paperboy_search::semantic::index_file(data_dir, &model);
    paperboy_search::semantic::Semantic::open_with(dir, kernel, store, Some(&cache))
        .await
        .map(Some)
}

/// The `embed_kernel` setting (`Settings::load` refused one that does not parse).
pub fn embed_kernel(settings: &Settings) -> paperboy_search::kernel::KernelChoice {
    settings.embed_kernel().unwrap_or_default()
}

/// The embedding model and its vectors for work beside the server (digests): loaded now, or
/// unavailable with the reason, so that saved searches run by keyword.
pub async fn open_semantic(
    settings: &Settings,
    store: &Arc<dyn Store>,
) -> Arc<paperboy_search::SemanticSlot> {
    let dir = settings.model_dir();
    let slot = paperboy_search::SemanticSlot::default();
    match semantic_in(&dir, embed_kernel(settings), &settings.data_dir, &**store).await {
        Ok(Some(s)) => {
            tracing::info!(
                model = s.model_name(),
                kernel = s.embedder().kernel(),
                "the embedding model is loaded"
            );
            slot.set(Arc::new(s))
        }
        Ok(None) => {
            tracing::warn!(dir = %dir.display(), "no embedding model: saved searches run by keyword");
            slot.set_unavailable(format!("no embedding model in {}", dir.display()));
        }
        Err(e) => {
            tracing::error!(error = %e, "the embedding model failed to load: saved searches run by keyword");
            slot.set_unavailable(format!("the embedding model failed to load: {e}"));
        }
    }
    Arc::new(slot)
}

pub async fn catch_up_index(settings: &Settings, store: &Arc<dyn Store>) -> anyhow::Result<u64> {
    let (index, _) = SearchIndex::open(&settings.index_dir())?;
    let pending = (store.last_seq().await? - index.applied_seq()?).max(0) as u64;
    let bar = if std::io::stderr().is_terminal() && pending > 0 {
        indicatif::ProgressBar::new(pending)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{msg:>12} [{bar:30}] {pos}/{len} {per_sec} eta {eta}",
    )?);
    bar.set_message("indexing");
    index
        .catch_up(&**store, |n| bar.set_position(n as u64))
        .await?;
    bar.finish_and_clear();
    Ok(index.num_docs())
}

/// Opens the store and index, imports the demo when the store is empty, and serves on
/// `settings.bind` until `shutdown` resolves.
pub async fn serve(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<u8> {
    let listener = tokio::net::TcpListener::bind(&settings.bind)
        .await
        .with_context(|| format!("listen on {}", settings.bind))?;
    serve_on(settings, listener, shutdown).await
}

/// [`serve`] on a listener the caller bound (tests bind port 0).
pub async fn serve_on(
    settings: Settings,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<u8> {
    // Mail settings first: a bad one stops the server before it imports or indexes anything.
    let smtp = mailer(&settings)?;
    let store = open_store(&settings, true)?;
    if settings.demo_data && store.stats().await?.papers == 0 {
        let summary = import_demo(&store).await?;
        tracing::info!(%summary, "imported the demo papers into the empty database");
    }
    let (index, fresh) = SearchIndex::open(&settings.index_dir())?;
    if fresh {
        tracing::info!("search index missing or of an older format: rebuilding it while serving");
    }
    let web_settings = paperboy_web::WebSettings {
        site_name: settings.site_name.clone(),
        trending: settings.trending(),
        fusion: settings.fusion(),
        query_embed_timeout: Duration::from_millis(settings.query_embed_timeout_ms.max(1)),
        public_url: public_url(&settings, listener.local_addr()?),
        admins: settings.admins.clone(),
        admin_accounts: paperboy_web::viewer::resolve_admins(&*store, &settings.admins).await?,
        session_days: settings.session_days,
        limits: settings.limits(),
        trending_window_days: settings.trending_window_days,
        keep_deleted_comments: settings.deleted_account_comments == "keep",
        sync_minutes: settings.sync_minutes,
        ready_max_lag: settings.ready_max_lag,
        trusted_proxies: settings
            .trusted_proxies()
            .context("the trusted_proxies setting")?,
    };
    let index = Arc::new(index);
    let weak_index = Arc::downgrade(&index);
    let mut state = paperboy_web::AppState::new(store.clone(), index, web_settings);
    let sources = harvest::Sources::new(&settings, &[])?;
    state.paper_source = Some(Arc::new(ArxivSource(sources.arxiv_api())));
    if let Some(mailer) = &smtp {
        state.mailer = Arc::new(SmtpSignIn {
            mailer: mailer.clone(),
            site: settings.site_name.clone(),
        });
    }
    // Background work ends with the server, so that nothing (the index writer's lock above all)
    // outlives it when a server is stopped and started again in one process.
    let mut background = vec![
        tokio::spawn(load_semantic(
            settings.model_dir(),
            embed_kernel(&settings),
            settings.data_dir.clone(),
            store,
            state.semantic.clone(),
        )),
        tokio::spawn(paperboy_web::follow_store(
            state.clone(),
            Duration::from_secs(settings.index_poll_seconds.max(1)),
        )),
    ];
    if settings.sync_minutes > 0 {
        background.push(tokio::spawn(harvest::schedule(
            state.store.clone(),
            sources,
            Duration::from_secs(settings.sync_minutes.saturating_mul(60)),
        )));
    }
    if let Some(mailer) = smtp {
        background.push(tokio::spawn(digest::schedule(
            digest::DigestContextOwned {
                store: state.store.clone(),
                searcher: paperboy_search::Searcher::new(
                    state.index.clone(),
                    state.semantic.clone(),
                )
                .with_fusion(state.settings.fusion),
                mailer,
                site: settings.site_name.clone(),
                public_url: state.settings.public_url.clone(),
                trending: settings.trending(),
            },
            digest::Schedule {
                hour_utc: settings.digest_hour_utc,
                weekdays_only: settings.digest_weekdays_only,
                every: Duration::from_secs(settings.digest_poll_seconds.max(1)),
                retry_base: chrono::Duration::seconds(settings.digest_retry_seconds as i64),
            },
        )));
    }
    let addr = listener.local_addr()?;
    println!(
        "paperboy is serving at http://{addr}/ (data in {})",
        settings.data_dir.display()
    );
    tracing::info!(%addr, "listening");
    let served = paperboy_web::serve(listener, state, shutdown).await;
    for task in background {
        task.abort();
        let _ = task.await;
    }
    // The connections' tasks let go of the state a moment after the server stops waiting for
    // them: the search index (its writer's lock) is released before this returns, so that a
    // server started again on the same data directory can take it.
    let stopped = std::time::Instant::now();
    while weak_index.strong_count() > 0 && stopped.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    served?;
    tracing::info!("shut down cleanly");
    Ok(0)
}

/// The address in links: the setting, else the address the server listens on.
fn public_url(settings: &Settings, addr: std::net::SocketAddr) -> String {
    let url = settings.public_url.trim().trim_end_matches('/');
    if url.is_empty() {
        format!("http://{addr}")
    } else {
        url.to_owned()
    }
}

/// A setting paperboy cannot work with, found after the settings were read (an SMTP URL, a CA
/// file): the binary exits with 2 for it, as for a malformed settings file.
#[derive(Debug)]
pub struct BadSetting(pub String);

impl std::fmt::Display for BadSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadSetting {}

/// The SMTP mailer, when `smtp_url` is set. Its settings are all checked here ([`BadSetting`]).
pub fn mailer(settings: &Settings) -> anyhow::Result<Option<paperboy_mail::Mailer>> {
    if settings.smtp_url.trim().is_empty() {
        return Ok(None);
    }
    let dir = (!settings.mail_templates_dir.is_empty())
        .then(|| std::path::PathBuf::from(&settings.mail_templates_dir));
    let ca_file = Some(settings.smtp_ca_file.trim())
        .filter(|f| !f.is_empty())
        .map(std::path::Path::new);
    let mailer = paperboy_mail::Mailer::with_ca_file(
        settings.smtp_url.trim(),
        &settings.mail_from,
        paperboy_mail::Templates::new(dir.as_deref()),
        ca_file,
    )
    .map_err(|e| BadSetting(e.to_string()))?;
    Ok(Some(mailer))
}

/// Sign-in links by mail.
struct SmtpSignIn {
    mailer: paperboy_mail::Mailer,
    site: String,
}

impl paperboy_web::services::Postman for SmtpSignIn {
    fn send<'a>(
        &'a self,
        to: &'a str,
        mail: paperboy_web::services::Mail<'a>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        use paperboy_web::services::Mail;
        Box::pin(async move {
            let letter = match mail {
                Mail::SignIn { link } => self.mailer.sign_in_letter(
                    &self.site,
                    to,
                    link,
                    paperboy_web::session::LINK_MINUTES,
                ),
                Mail::ConfirmSubscription {
                    link,
                    frequency,
                    topics,
                } => self
                    .mailer
                    .confirm_letter(&self.site, to, link, frequency, topics),
            }
            .map_err(|e| e.to_string())?;
            self.mailer.send(&letter).await.map_err(|e| e.to_string())
        })
    }

    fn delivers(&self) -> bool {
        true
    }
}

/// Submissions fetch paper details from the arXiv API.
struct ArxivSource(paperboy_ingest::arxiv_api::ArxivApi);

impl paperboy_web::services::PaperSource for ArxivSource {
    fn fetch<'a>(
        &'a self,
        id: &'a paperboy_core::ArxivId,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<paperboy_core::Paper, String>> + Send + 'a>>
    {
        Box::pin(async move { self.0.fetch(id).await.map_err(|e| e.to_string()) })
    }
}

/// Loads the embedding model and its stored vectors; search is keyword-only until this is done,
/// and stays so, saying why, when there is no model.
async fn load_semantic(
    dir: std::path::PathBuf,
    kernel: paperboy_search::kernel::KernelChoice,
    data_dir: std::path::PathBuf,
    store: Arc<dyn Store>,
    slot: Arc<paperboy_search::SemanticSlot>,
) {
    match semantic_in(&dir, kernel, &data_dir, &*store).await {
        Ok(Some(semantic)) => {
            tracing::info!(
                model = semantic.model_name(),
                kernel = semantic.embedder().kernel(),
                vectors = semantic.vectors().len(),
                "search by meaning is ready"
            );
            slot.set(Arc::new(semantic));
        }
        Ok(None) => {
            let why = format!(
                "no embedding model in {} (install one with `paperboy model install`)",
                dir.display()
            );
            tracing::warn!("{why}: search is keyword-only");
            slot.set_unavailable(why);
        }
        Err(e) => {
            tracing::error!(error = %e, "the embedding model failed to load: search is keyword-only");
            slot.set_unavailable(format!("the embedding model failed to load: {e}"));
        }
    }
}
