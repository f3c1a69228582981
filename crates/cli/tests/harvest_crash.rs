//! Killing a harvest loses nothing and duplicates nothing: `paperboy harvest` over a multi-page
//! OAI-PMH harvest and a walk of Hugging Face days (the local replay server, slowed a little so
//! there is a middle to kill it in) is SIGKILLed at random moments several times and restarted;
//! after the last run its database holds exactly what an uninterrupted harvest's does: the same
//! papers, daily entries and resume points, every page counted once.

#[path = "e2e/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "e2e/replay.rs"]
#[allow(dead_code)]
mod replay;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::*;
use replay::{days_since, Data, Replay};

const KILLS: usize = 6;
const SETS: [&str; 2] = ["cs", "physics:physics:plasm-ph"];

fn harvest(dir: &Path, replay: &Replay) -> tokio::process::Command {
    let mut cmd = paperboy_command();
    cmd.env("PAPERBOY_DATA_DIR", dir)
        .env("PAPERBOY_MODEL_DIR", dir.join("no-model"))
        .arg("harvest")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in replay.env(&SETS, days_since("2026-01-01")) {
        cmd.env(k, v);
    }
    cmd
}

/// Everything a harvest writes, by key (sequence numbers aside: they count writes, not content).
fn contents(dir: &Path) -> BTreeMap<String, String> {
    let db = rusqlite::Connection::open(dir.join("paperboy.sqlite3")).unwrap();
    let mut out = BTreeMap::new();
    for (table, sql) in [
        ("paper", "SELECT id, doc FROM papers"),
        (
            "entry",
            "SELECT day || ' ' || paper_id, doc FROM daily_entries",
        ),
        (
            "harvest",
            "SELECT source, state || ' ' || papers_total FROM harvests",
        ),
    ] {
        let mut stmt = db.prepare(sql).unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap();
        for row in rows {
            let (k, v) = row.unwrap();
            assert!(
                out.insert(format!("{table} {k}"), v).is_none(),
                "{table} {k} twice"
            );
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_harvest_killed_at_random_moments_ends_as_if_never_interrupted() {
    let Some(data) = Data::load() else {
        return skip("the shared data is absent");
    };
    let replay = Replay::start(data, 20, &[], Duration::from_millis(8)).await;

    let reference = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let status = harvest(reference.path(), &replay).status().await.unwrap();
    assert!(status.success());
    let whole = started.elapsed();
    let expected = contents(reference.path());

    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut kills = 0;
    for _ in 0..KILLS {
        let mut child = harvest(dir.path(), &replay).spawn().unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // A random moment within this run's share of an uninterrupted harvest (each run goes on
        // from where the last was killed): arbitrary on purpose.
        let share = (whole.as_millis() as u64 / KILLS as u64).max(100);
        let after = Duration::from_millis(50 + seed % share);
        match tokio::time::timeout(after, child.wait()).await {
            Ok(status) => assert!(status.unwrap().success()),
            Err(_) => {
                child.start_kill().unwrap();
                child.wait().await.unwrap();
                kills += 1;
            }
        }
    }
    assert!(
        kills >= KILLS / 2,
        "only {kills} of {KILLS} runs were killed"
    );
    let status = harvest(dir.path(), &replay).status().await.unwrap();
    assert!(status.success());
    let got = contents(dir.path());
    eprintln!(
        "{} rows after {kills} kills (an uninterrupted harvest takes {whole:?})",
        got.len()
    );
    assert_eq!(got.len(), expected.len(), "as many rows");
    for (k, v) in &expected {
        assert_eq!(got.get(k), Some(v), "{k}");
    }
}
