//! What tests of the community need: the real `paperboy serve` binary as a child process (so its
//! log, where sign-in links go without SMTP, can be read), and visitors that keep cookies like a
//! browser: the CSRF cookie every page sets and the session cookie signing in sets.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::*;

/// `paperboy serve` in a child process, with its log lines collected.
pub struct Process {
    pub base: String,
    child: tokio::process::Child,
    log: Arc<Mutex<Vec<String>>>,
    pub dir: tempfile::TempDir,
}

impl Process {
    /// Starts the binary on port 0 over a new data directory, with `env` (PAPERBOY_* settings).
    pub async fn start(env: &[(&str, String)]) -> Process {
        let dir = tempfile::Builder::new()
            .prefix("paperboy-e2e-proc-")
            .tempdir()
            .expect("temporary directory");
        Process::start_in(dir, env).await
    }

    /// [`Process::start`] over the data directory `dir` (a node restarted where it was).
    pub async fn start_in(dir: tempfile::TempDir, env: &[(&str, String)]) -> Process {
        let mut cmd = paperboy_command();
        cmd.arg("serve")
            .env("PAPERBOY_DATA_DIR", dir.path())
            .env("PAPERBOY_BIND", "127.0.0.1:0")
            .env("PAPERBOY_LOG_FORMAT", "json")
            .env("PAPERBOY_LOG_LEVEL", "info")
            .env("PAPERBOY_INDEX_POLL_SECONDS", "1")
            .env("PAPERBOY_MODEL_DIR", dir.path().join("no-model"))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start paperboy serve");
        let log = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout"))
                as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    log.lock().unwrap().push(line);
                }
            });
        }
        let mut p = Process {
            base: String::new(),
            child,
            log,
            dir,
        };
        let line = p
            .wait_log("the serving address", |l| {
                l.contains("paperboy is serving at ")
            })
            .await;
        let url = line
            .split("serving at ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .expect("an address")
            .trim_end_matches('/')
            .to_owned();
        p.base = url;
        let status = format!("{}/api/status", p.base);
        poll_json("the search index caught up", &status, |v| {
            (v["search"]["pendingChanges"].as_i64()? == 0
                && v["search"]["indexedPapers"].as_u64()? > 0)
                .then_some(())
        })
        .await;
        p
    }

    /// The first log line matching `pred`, waiting for it.
    pub async fn wait_log(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| pred(l)).cloned() {
                return line;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "gave up waiting for {what}; the log so far:\n{}",
                self.log.lock().unwrap().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The newest sign-in link logged for `email`.
    pub async fn sign_in_link(&self, email: &str, after: usize) -> String {
        let line = poll(&format!("a sign-in link for {email}"), || {
            let log = self.log.lock().unwrap();
            let found = log
                .iter()
                .skip(after)
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|v| v["fields"]["to"] == email)
                .filter_map(|v| v["fields"]["link"].as_str().map(str::to_owned))
                .next_back();
            async move { found }
        })
        .await;
        line
    }

    pub fn log_matching(&self, needle: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }

    pub fn log_contains(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    pub fn log_len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// Kills the server with SIGKILL (no shutdown at all); gives back the data directory.
    pub async fn kill(mut self) -> tempfile::TempDir {
        self.child.start_kill().expect("kill");
        self.child.wait().await.expect("wait");
        self.dir
    }

    /// Stops the server with SIGTERM and checks that it exits 0; gives back the data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("exits within the patience")
            .expect("wait");
        assert!(status.success(), "paperboy serve exited with {status}");
        self.dir
    }
}

/// One person with a cookie jar. Redirects are not followed, so tests see them.
#[derive(Clone)]
pub struct Visitor {
    base: String,
    http: reqwest::Client,
    cookies: Arc<Mutex<HashMap<String, String>>>,
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl Visitor {
    pub fn new(base: &str) -> Visitor {
        Visitor::connecting_from(base, None)
    }

    /// A new visitor of `base` who has opened the list of papers, so holds the CSRF cookie that
    /// forms need.
    pub async fn arrived(base: &str) -> Visitor {
        let v = Visitor::new(base);
        v.get("/papers").await;
        v
    }

    /// A visitor whose connections leave from `local` (127.0.0.2, 127.0.0.3, ...: another
    /// machine, as far as the server can tell), or from wherever the OS picks.
    pub fn connecting_from(base: &str, local: Option<std::net::IpAddr>) -> Visitor {
        paperboy_ingest::client::install_tls_provider();
        Visitor {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .local_address(local)
                .build()
                .expect("client"),
            cookies: Default::default(),
        }
    }

    /// The same person (same cookies) talking to another server: another node of a cluster.
    pub fn at(&self, base: &str) -> Visitor {
        Visitor {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub fn csrf(&self) -> String {
        self.cookie("pb_csrf")
            .expect("a CSRF cookie (visit a page first)")
    }

    fn jar_header(&self) -> Option<HeaderValue> {
        let jar = self.cookies.lock().unwrap();
        (!jar.is_empty()).then(|| {
            let s: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            HeaderValue::from_str(&s.join("; ")).unwrap()
        })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        self.try_send(req).await.expect("request")
    }

    async fn try_send(&self, req: reqwest::RequestBuilder) -> reqwest::Result<Reply> {
        let req = match self.jar_header() {
            Some(h) => req.header(COOKIE, h),
            None => req,
        };
        let r = req.send().await?;
        for v in r.headers().get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let first = v.split(';').next().unwrap();
            let (k, val) = first.split_once('=').unwrap();
            let max_age_zero = v.contains("Max-Age=0");
            let mut jar = self.cookies.lock().unwrap();
            if max_age_zero {
                jar.remove(k);
            } else {
                jar.insert(k.to_owned(), val.to_owned());
            }
        }
        Ok(Reply {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await?,
        })
    }

    pub async fn get(&self, path: &str) -> Reply {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        self.send(self.http.get(url)).await
    }

    /// POSTs a form; `csrf` is added unless the fields carry their own.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.post_with_headers(path, fields, &[]).await
    }

    /// [`Visitor::post`] with these headers besides.
    pub async fn post_with_headers(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            form.push(("csrf".into(), self.cookie("pb_csrf").unwrap_or_default()));
        }
        let mut req = self.http.post(format!("{}{path}", self.base)).form(&form);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.send(req).await
    }

    /// [`Visitor::post_json`], with the connection's failure as an error (a node went down).
    pub async fn try_post_json(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Result<Reply> {
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        form.push(("csrf".into(), self.csrf()));
        self.try_send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("accept", "application/json")
                .form(&form),
        )
        .await
    }

    /// POSTs a form asking for JSON, as the page's script does.
    pub async fn post_json(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.try_post_json(path, fields).await.expect("request")
    }

    /// A new visitor of `server`, signed in as `email` (see [`Visitor::sign_in`]).
    pub async fn signed_in(server: &Process, email: &str) -> Visitor {
        let v = Visitor::new(&server.base);
        v.sign_in(server, email).await;
        v
    }

    /// Comments `body` on the paper `paper`; the new comment's id, from the anchor the answer
    /// redirects to.
    pub async fn comment(&self, paper: &str, body: &str) -> i64 {
        let r = self
            .post(&format!("/papers/{paper}/comments"), &[("body", body)])
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        r.location()
            .rsplit("comment-")
            .next()
            .and_then(|n| n.parse().ok())
            .expect("the new comment's anchor")
    }

    /// Signs in as `email` through the emailed link (read from the server's log).
    pub async fn sign_in(&self, server: &Process, email: &str) {
        self.get("/papers").await;
        let mark = server.log_len();
        let r = self.post("/login", &[("email", email)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("Check your email"));
        let link = server.sign_in_link(email, mark).await;
        let page = self.get(&link).await;
        assert_eq!(page.status, 200);
        let r = self
            .post("/login/verify", &[("token", &token_in(&link))])
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(self.cookie("pb_session").is_some(), "signed in");
    }
}

/// The `token` parameter of a sign-in link.
pub fn token_in(link: &str) -> String {
    link.split("token=")
        .nth(1)
        .and_then(|t| t.split('&').next())
        .expect("token in link")
        .to_owned()
}
