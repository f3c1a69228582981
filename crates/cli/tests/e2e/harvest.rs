//! Live sync end to end: `paperboy harvest`, `paperboy fetch` and the server's schedule against
//! the local replay server (`replay.rs`), with real data and injected faults.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::*;
use crate::replay::{days_since, Data, Fault, Replay};

const SETS: [&str; 2] = ["cs", "physics:physics:plasm-ph"];
const FROM: &str = "2026-01-01";

fn paperboy(dir: &std::path::Path, replay: &Replay) -> tokio::process::Command {
    let mut cmd = paperboy_command();
    cmd.env("PAPERBOY_DATA_DIR", dir)
        .env("PAPERBOY_MODEL_DIR", dir.join("no-model"));
    for (k, v) in replay.env(&SETS, days_since(FROM)) {
        cmd.env(k, v);
    }
    cmd
}

fn stored_ids(dir: &std::path::Path) -> BTreeSet<String> {
    let db = rusqlite::Connection::open(dir.join("paperboy.sqlite3")).unwrap();
    let mut stmt = db.prepare("SELECT id FROM papers").unwrap();
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    ids
}

#[tokio::test]
async fn a_harvest_through_busy_malformed_and_dropped_pages_brings_every_record_once() {
    let Some(data) = Data::load() else {
        return skip("the shared data is absent");
    };
    let today = chrono::Utc::now().date_naive().to_string();
    let pages: usize = SETS
        .iter()
        .map(|set| data.oai_ids(&[set], FROM).len().div_ceil(50).max(1))
        .sum();
    let mut expected = data.oai_ids(&SETS, FROM);
    let oai_count = expected.len();
    expected.extend(data.hf_ids(FROM, &today));
    // OAI requests 2, 4 and 6 fail: a 503 with Retry-After, half a page, a dropped connection.
    let faults = [(2, Fault::Busy), (4, Fault::Malformed), (6, Fault::Dropped)];
    let replay = Replay::start(data, 50, &faults, Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();

    let out = run_command(paperboy(dir.path(), &replay).arg("harvest")).await;
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        stored_ids(dir.path()),
        expected,
        "every record, nothing else"
    );
    assert!(
        stdout.contains(&format!(
            "arxiv-oai: {pages} pages, new {oai_count}, updated 0, unchanged 0, rejected 0"
        )),
        "{stdout}"
    );
    assert_eq!(
        replay.state.oai_requests.load(Ordering::SeqCst),
        pages + 3,
        "each failed request retried once"
    );
    for why in ["HTTP status 503", "malformed response", "body cut short"] {
        assert!(
            stderr.contains(why) && stderr.contains("retrying"),
            "the log says {why:?}: {stderr}"
        );
    }
    // One log line per answered request (all but the 503 and the dropped one).
    let answered = replay.state.oai_requests.load(Ordering::SeqCst) - 2
        + replay.state.hf_requests.load(Ordering::SeqCst);
    let logged = stderr
        .lines()
        .filter(|l| l.contains("harvest request") && l.contains("status=200"))
        .count();
    assert_eq!(logged, answered, "{stderr}");
    let agents = replay.state.user_agents.lock().unwrap().clone();
    assert!(
        agents
            .iter()
            .all(|a| a.starts_with("paperboy/") && a.contains("ops@lab.example")),
        "{agents:?}"
    );

    // The next pass asks only for what changed since: nothing is new.
    let before = replay.state.oai_requests.load(Ordering::SeqCst);
    let out =
        run_command(paperboy(dir.path(), &replay).args(["harvest", "--source", "arxiv"])).await;
    let stdout = &out.stdout;
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("new 0, updated 0"), "{stdout}");
    assert!(
        !stdout.contains("hf-daily"),
        "only the source asked for: {stdout}"
    );
    assert!(
        replay.state.oai_requests.load(Ordering::SeqCst) - before < pages,
        "an incremental pass starts from the newest datestamp seen"
    );
    assert_eq!(stored_ids(dir.path()), expected);

    let store = paperboy_cli::open_store(&settings_in(dir.path(), false), false).unwrap();
    let status = store.harvest_status("arxiv-oai").await.unwrap().unwrap();
    assert_eq!(status.papers_total, oai_count as u64);
    assert_eq!(status.last_error, None);
    assert!(status.last_success.is_some());
}

#[tokio::test]
async fn a_failing_source_is_reported_and_resumed_by_the_next_pass() {
    let Some(data) = Data::load() else {
        return skip("the shared data is absent");
    };
    // Request 3 fails three times over: more than the two retries allowed.
    let faults = [(3, Fault::Busy), (4, Fault::Malformed), (5, Fault::Dropped)];
    let expected = data.oai_ids(&SETS, FROM);
    let replay = Replay::start(data, 50, &faults, Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let out = run_command(
        paperboy(dir.path(), &replay)
            .args(["harvest", "--source", "arxiv"])
            .env("PAPERBOY_SYNC_RETRIES", "2"),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = &out.stderr;
    assert!(stderr.contains("gave up after 3 attempts"), "{stderr}");
    let partial = stored_ids(dir.path());
    assert_eq!(
        partial.len(),
        100,
        "the two pages before the failure are kept"
    );

    let out =
        run_command(paperboy(dir.path(), &replay).args(["harvest", "--source", "arxiv"])).await;
    assert!(out.status.success());
    let stdout = &out.stdout;
    assert!(
        stdout.contains(&format!("new {}", expected.len() - 100)),
        "it went on from the page that failed: {stdout}"
    );
    assert_eq!(stored_ids(dir.path()), expected);
}

#[tokio::test]
async fn fetch_adds_one_paper_by_id() {
    let Some(data) = Data::load() else {
        return skip("the shared data is absent");
    };
    let replay = Replay::start(data, 50, &[], Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let out =
        run_command(paperboy(dir.path(), &replay).args(["fetch", "arXiv:1501.05039v1"])).await;
    let stdout = &out.stdout;
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.starts_with("1501.05039: new: "), "{stdout}");
    assert_eq!(
        stored_ids(dir.path()),
        BTreeSet::from(["1501.05039".to_string()])
    );
    let out = run_command(paperboy(dir.path(), &replay).args(["fetch", "2501.99999"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.contains("arXiv has no paper 2501.99999"));
    let out = run_command(paperboy(dir.path(), &replay).args(["fetch", "not-an-id"])).await;
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test]
async fn with_sync_on_new_papers_reach_the_pages_and_search_of_a_running_server() {
    let Some(data) = Data::load() else {
        return skip("the shared data is absent");
    };
    let last_day = data.hf_days.keys().next_back().unwrap().clone();
    let body = data.hf_days[&last_day].clone();
    let first: serde_json::Value =
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()[0].clone();
    let (id, title) = (
        first["paper"]["id"].as_str().unwrap().to_owned(),
        first["paper"]["title"].as_str().unwrap().to_owned(),
    );
    let replay = Replay::start(data, 100, &[], Duration::ZERO).await;
    replay.close();
    let (dir, mut settings) = temp_settings(false);
    replay.apply(&mut settings, &SETS, days_since(&last_day));
    settings.sync_minutes = 60;
    let server = Server::start(settings).await.owning(dir);
    // Serving, and empty: the sources have not answered yet.
    assert_eq!(server.json("/api/status").await["store"]["papers"], 0);
    replay.open();

    let query = title
        .split_whitespace()
        .take(6)
        .collect::<Vec<_>>()
        .join(" ");
    let q = reqwest::Url::parse_with_params("http://x/api/papers/search", [("q", &query)]).unwrap();
    let path = format!("/api/papers/search?{}", q.query().unwrap());
    poll("the harvested paper in search", || async {
        let found = server.json(&path).await;
        item_ids(&found).contains(&id).then_some(())
    })
    .await;
    let (status, _, page) = server.text("/papers").await;
    assert_eq!(status, 200);
    assert!(page.contains(&id), "the day's list shows {id}");
    let status = poll("the pass to finish", || async {
        let s = server.json("/api/status").await;
        let sources = s["sync"]["sources"].as_array().cloned().unwrap_or_default();
        (sources.len() == 2 && sources.iter().all(|s| s["lastSuccess"].is_string())).then_some(s)
    })
    .await;
    assert_eq!(status["sync"]["everyMinutes"], 60);
    let (_, _, page) = server.text("/status").await;
    assert!(
        page.contains("Every 60 minutes") && page.contains("hf-daily"),
        "{page}"
    );
    let (_, _, metrics) = server.text("/metrics").await;
    let brought = status["sync"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "hf-daily")
        .unwrap()["papersTotal"]
        .clone();
    assert!(
        metrics.contains(&format!(
            "paperboy_sync_papers_total{{source=\"hf-daily\"}} {brought}"
        )) && metrics.contains("paperboy_sync_failing{source=\"hf-daily\"} 0"),
        "{metrics}"
    );
    server.stop().await;
}
