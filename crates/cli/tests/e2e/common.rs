//! What every end-to-end test needs: the real server started in-process on port 0 over a real
//! SQLite file in a temporary directory, an HTTP client, polling helpers, the shared data sets and
//! the skip rule (a missing tool or data set is a skip on a developer's machine and a failure
//! under CI).

use std::collections::HashMap;
use std::future::Future;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use paperboy_cli::import::{self, Source, Summary};
use paperboy_cli::settings::Settings;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any condition polled for may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// True when running under CI (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Prints why a test is skipped on a developer's machine; under CI it fails the test instead.
pub fn skip(what: &str) {
    if in_ci() {
        panic!("{what}; CI is set, so this is a failure, not a skip");
    }
    eprintln!("SKIPPED: {what} (under CI this fails)");
}

/// The embedding model the tests use: `PAPERBOY_TEST_MODEL_DIR`, else
/// `target/test-model/all-MiniLM-L6-v2` (which `.ci/run` fills); None, skipped, when absent.
pub fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PAPERBOY_TEST_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/test-model/all-MiniLM-L6-v2"));
    if dir.join("model.safetensors").exists() {
        return Some(dir);
    }
    skip(&format!("no embedding model at {}", dir.display()));
    None
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/`, wherever cargo put it.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR has a parent")
        .to_path_buf()
}

/// A file of the shared data sets (`shared/data` beside the repository), if it is there.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    if path.is_file() {
        Some(path)
    } else {
        skip(&format!("shared data file {} is absent", path.display()));
        None
    }
}

pub const HF_RAW_ARCHIVE: &str = "hf-daily-papers/raw_daily_papers_api_json.tar.gz";
pub const HF_FLAT: &str = "hf-daily-papers/hf_daily_papers_2024-05_2026-08.jsonl.gz";

/// One line of the flattened HF archive.
#[derive(Debug, Clone)]
pub struct FlatLine {
    pub day: String,
    pub id: String,
    pub title: String,
    pub upvotes: i64,
}

/// The flattened HF archive: its lines in file order, which (checked against the raw files in the
/// archive test) is each day's recorded order.
pub fn read_flat(path: &Path) -> Vec<FlatLine> {
    let file = std::fs::File::open(path).expect("open flattened archive");
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    reader
        .lines()
        .map(|line| {
            let line = line.expect("read flattened archive");
            let v: Value = serde_json::from_str(&line).expect("flattened line is JSON");
            FlatLine {
                day: v["daily_date"].as_str().expect("daily_date").to_owned(),
                id: v["arxiv_id"].as_str().expect("arxiv_id").to_owned(),
                title: v["title"].as_str().expect("title").to_owned(),
                upvotes: v["upvotes"].as_i64().expect("upvotes"),
            }
        })
        .collect()
}

/// Day → that day's ids in recorded order.
pub fn days_of(lines: &[FlatLine]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut days: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for l in lines {
        days.entry(l.day.clone()).or_default().push(l.id.clone());
    }
    days
}

/// Ids that are on exactly one day's list (their upvotes are unambiguous).
pub fn single_day_papers(lines: &[FlatLine]) -> HashMap<String, FlatLine> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for l in lines {
        *count.entry(&l.id).or_default() += 1;
    }
    lines
        .iter()
        .filter(|l| count[l.id.as_str()] == 1)
        .map(|l| (l.id.clone(), l.clone()))
        .collect()
}

pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn http() -> reqwest::Client {
    // reqwest is built with rustls and no default crypto provider (see crates/ingest).
    paperboy_ingest::client::install_tls_provider();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

/// Polls `check` every 20 ms until it gives `Some`, failing the test after [`PATIENCE`].
pub async fn poll<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "gave up waiting for {what} after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A port on 127.0.0.1 that the OS just gave out and released, for a server that must be told
/// which port to bind.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
pub async fn wait_listening(what: &str, port: u16) {
    poll(what, || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
}

/// Polls `url` until it answers with JSON for which `check` gives `Some`.
pub async fn poll_json<T>(what: &str, url: &str, check: impl Fn(&Value) -> Option<T>) -> T {
    let http = http();
    poll(what, || {
        let req = http.get(url).send();
        let check = &check;
        async move { check(&req.await.ok()?.json().await.ok()?) }
    })
    .await
}

/// How a command that ran to its end ended, and what it printed (as text).
pub struct Ran {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Ran {
    fn from(out: std::process::Output) -> Ran {
        Ran {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Ran {
    /// Fails the test unless the command exited 0, saying `what` it was for and its standard error.
    pub fn assert_success(&self, what: &str) {
        assert!(self.status.success(), "{what}: {}", self.stderr);
    }
}

/// Runs `cmd` to its end, with no standard input.
pub async fn run_command(cmd: &mut tokio::process::Command) -> Ran {
    let out = cmd.stdin(Stdio::null()).output().await;
    out.expect("run the command").into()
}

/// Starts `cmd` with no standard input or output (a server that logs elsewhere, or not at all),
/// killed when the child is dropped.
pub fn spawn_quiet(cmd: &mut tokio::process::Command, what: &str) -> tokio::process::Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"))
}

/// The Python the tests run (`PYTHON`, else `python3`).
pub fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs `cmd` to its end with `input` as its standard input (its output is read while the input is
/// written, so a child that answers as it reads cannot block). A child that exits before reading
/// all of `input` is no error here: its status and output say why.
pub async fn run_with_input(
    cmd: &mut tokio::process::Command,
    input: &[u8],
) -> std::io::Result<Ran> {
    use tokio::io::AsyncWriteExt;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let write = async move {
        let written = stdin.write_all(input).await;
        drop(stdin);
        written
    };
    let (written, output) = tokio::join!(write, child.wait_with_output());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e),
        _ => output.map(Ran::from),
    }
}

/// Runs the Python `script` with `input` as its standard input.
pub async fn run_python(script: &str, input: &[u8]) -> std::io::Result<Ran> {
    run_with_input(
        tokio::process::Command::new(python()).args(["-c", script]),
        input,
    )
    .await
}

/// Serves `app` on a port the OS chose, for as long as the test runs; its address.
pub async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A fresh temporary data directory and settings for a test server over it.
pub fn temp_settings(demo_data: bool) -> (tempfile::TempDir, Settings) {
    let dir = tempfile::Builder::new()
        .prefix("paperboy-e2e-")
        .tempdir()
        .expect("temporary directory");
    let settings = settings_in(dir.path(), demo_data);
    (dir, settings)
}

/// Settings for a test server whose data lives in `dir`.
pub fn settings_in(dir: &Path, demo_data: bool) -> Settings {
    Settings {
        data_dir: dir.to_path_buf(),
        demo_data,
        index_poll_seconds: 1,
        ..Default::default()
    }
}

/// Imports `path` into the store of `settings` (the server need not be running).
pub async fn import_file(settings: &Settings, path: &Path) -> Summary {
    let store = paperboy_cli::open_store(settings, true).expect("open store");
    import::import(&store, Source::File(path.to_path_buf()), false)
        .await
        .unwrap_or_else(|e| panic!("import {}: {e:#}", path.display()))
}

/// Imports the shipped demo papers into the store of `settings` and returns the store.
pub async fn import_demo(settings: &Settings) -> std::sync::Arc<dyn paperboy_store::Store> {
    let store = paperboy_cli::open_store(settings, true).expect("open store");
    paperboy_cli::import_demo(&store)
        .await
        .expect("import the demo");
    store
}

/// The `paperboy` binary with only the settings a test gives it: the test's own environment may
/// hold other PAPERBOY_* variables. Killed if the test drops it.
pub fn paperboy_command() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_paperboy"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("PAPERBOY_")) {
        cmd.env_remove(k);
    }
    cmd.kill_on_drop(true);
    cmd
}

/// Where a running server answers, and a client for it.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

/// The real server, in-process, on a port the OS chose.
pub struct Server {
    pub api: Api,
    pub settings: Settings,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<u8>>>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Keeps `dir` (the data directory) until the server is dropped.
    pub fn owning(mut self, dir: tempfile::TempDir) -> Server {
        self._dir = Some(dir);
        self
    }

    /// Starts the server on `settings` and waits until `/healthz` answers and the search index
    /// has every change in the database.
    pub async fn start(settings: Settings) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(paperboy_cli::serve_on(settings.clone(), listener, async {
            let _ = rx.await;
        }));
        let server = Server {
            api: Api {
                base: format!("http://{addr}"),
                http: http(),
            },
            settings,
            shutdown: Some(tx),
            task: Some(task),
            _dir: None,
        };
        let url = server.url("/healthz");
        let http = server.http.clone();
        let mut server = server;
        let task = server.task.as_ref().expect("the server's task");
        let up = poll("/healthz", || {
            let (http, url) = (http.clone(), url.clone());
            // A server that stopped will never answer.
            let stopped = task.is_finished();
            async move {
                if stopped {
                    return Some(false);
                }
                let r = http.get(&url).send().await.ok()?;
                (r.status() == 200).then_some(true)
            }
        })
        .await;
        if !up {
            let ended = server.task.take().unwrap().await;
            panic!("the server stopped before it answered /healthz: {ended:?}");
        }
        server.wait_indexed().await;
        server
    }

    /// Asks the server to stop and checks that it shut down cleanly.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let code = tokio::time::timeout(PATIENCE, task)
                .await
                .expect("server stops within the patience")
                .expect("server task did not panic")
                .expect("server returned no error");
            assert_eq!(code, 0, "server exit code");
        }
    }
}

impl std::ops::Deref for Server {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits until `/api/status` reports no change waiting for the search index.
    pub async fn wait_indexed(&self) {
        poll("search.pendingChanges == 0", || async {
            let v = self.try_json("/api/status").await?;
            (v["search"]["pendingChanges"].as_i64()? == 0).then_some(())
        })
        .await;
    }

    /// GET `path` as JSON, or None when the server does not answer it (yet): for polling.
    pub async fn try_json(&self, path: &str) -> Option<Value> {
        self.http
            .get(self.url(path))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// GET `path`, which must answer 200 with JSON.
    pub async fn json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        let status = r.status();
        let body = r.text().await.expect("body");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
    }

    /// GET `path`: (status, content type, body).
    pub async fn text(&self, path: &str) -> (u16, String, String) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        let ctype = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (status, ctype, r.text().await.expect("body"))
    }
}

/// The ids of a JSON array of daily items (`item.paper.id`).
pub fn item_ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("an array")
        .iter()
        .map(|i| i["paper"]["id"].as_str().expect("paper.id").to_owned())
        .collect()
}

/// A new address subscribed to daily digests of `topics` and confirmed; its subscription id.
pub async fn confirmed_subscriber(
    store: &dyn paperboy_store::Store,
    email: &str,
    topics: &paperboy_store::Topics,
    now: chrono::DateTime<chrono::Utc>,
) -> paperboy_store::SubscriptionId {
    let paperboy_store::SignUp::SendConfirmation(s) = store
        .sign_up(email, paperboy_store::Frequency::Daily, topics, None, now)
        .await
        .unwrap()
    else {
        panic!("{email} is a new address")
    };
    store.confirm_subscription(s.id, now).await.unwrap();
    s.id
}

/// A local stand-in for the arXiv API that answers every query with the recorded Atom response
/// (real data); its URL and the ids of the papers in it. None when the data is absent.
pub async fn replay_arxiv() -> Option<(String, Vec<String>)> {
    let path = shared_data("fixtures/atom_api_query_all_science_2019-08-10.xml")?;
    let xml: &'static str = Box::leak(std::fs::read_to_string(path).unwrap().into_boxed_str());
    let ids: Vec<String> = paperboy_ingest::atom::parse_feed(xml)
        .into_iter()
        .filter_map(Result::ok)
        .map(|p| p.id.to_string())
        .collect();
    let app =
        axum::Router::new().route("/api/query", axum::routing::get(move || async move { xml }));
    let addr = serve(app).await;
    Some((format!("http://{addr}/api/query"), ids))
}
