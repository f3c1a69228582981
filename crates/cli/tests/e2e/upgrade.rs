//! Upgrades keep working: a database written by paperboy 93e125e (SQLite file, and a PostgreSQL
//! dump), opened by today's code, is migrated and served with the same API answers the old server
//! gave (`tests/fixtures/93e125e/`, its README says how they were made), and what the community
//! kept is still there.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

fn fixture(name: &str) -> PathBuf {
    repo_root()
        .join("crates/cli/tests/fixtures/93e125e")
        .join(name)
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The answers the 93e125e server gave, by request path.
fn old_answers() -> serde_json::Map<String, Value> {
    match serde_json::from_slice(&gunzip(&fixture("answers.json.gz"))).unwrap() {
        Value::Object(m) => m,
        other => panic!("answers: {other}"),
    }
}

/// Every recorded answer again from `server`; the status's store part but its backend.
async fn same_answers(server: &Server) {
    for (path, old) in old_answers() {
        let mut new = server.json(&path).await;
        if path == "/api/status" {
            let mut old = old.clone();
            for v in [&mut new, &mut old] {
                v["store"]["backend"] = Value::Null;
            }
            for part in ["store", "digests", "sync"] {
                assert_eq!(new[part], old[part], "{path}: {part}");
            }
            continue;
        }
        if path.ends_with("/similar") {
            // Similar papers are ranked differently since (terms and embeddings fused, issue
            // 17): the upgrade must still answer with papers of the old database, in the same
            // shape, the paper itself not among them.
            let (new, old) = (new.as_array().unwrap(), old.as_array().unwrap());
            assert_eq!(new.len(), old.len(), "{path}");
            for item in new {
                let id = item["paper"]["id"].as_str().unwrap();
                assert!(!path.contains(id), "{path} lists the paper itself");
                assert_eq!(
                    item.as_object().unwrap().contains_key("paper"),
                    old[0].as_object().unwrap().contains_key("paper")
                );
            }
            continue;
        }
        assert!(
            new == old,
            "GET {path} answers differently after the upgrade:\nold: {old}\nnew: {new}"
        );
    }
    // The community's data is served as before: comments (the hidden one not), votes.
    let (status, _, page) = server.text("/papers/2608.19880").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("A first comment with") && page.contains("edited"),
        "{page}"
    );
    assert!(page.contains("In two paragraphs."));
    let (_, _, page) = server.text("/papers/2608.18580").await;
    assert!(!page.contains("buy pills"), "a hidden comment stays hidden");
}

/// What the store itself holds after the migration.
async fn store_kept_everything(store: &dyn paperboy_store::Store) {
    let account = |username: &'static str| async move {
        store
            .account_by_username(username)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no account is named {username}"))
    };
    // Bob renamed himself.
    assert_eq!(account("bobby").await.email, "bob@example.org");
    assert!(account("ada").await.is_admin, "the first account");
    let reader = store
        .subscription_by_email("reader@example.org")
        .await
        .unwrap()
        .expect("a subscription");
    assert!(reader.active() && reader.pending.is_none());
    assert_eq!(reader.topics.searches, ["diffusion models"]);
    let mail = store.mail_stats().await.unwrap();
    assert_eq!((mail.sent, mail.pending, mail.subscribers), (1, 1, 3));
    let ids: Vec<paperboy_core::ArxivId> = ["2608.19880", "2608.18580"]
        .iter()
        .map(|i| paperboy_core::ArxivId::parse(i).unwrap())
        .collect();
    let stored = store.embeddings("all-MiniLM-L6-v2", &ids).await.unwrap();
    assert!(stored
        .iter()
        .all(|v| v.as_ref().is_some_and(|v| v.len() == 384)));
    assert_eq!(
        store
            .harvest_status("hf-daily")
            .await
            .unwrap()
            .unwrap()
            .state,
        r#"{"next_day":"2026-11-30"}"#
    );
    let audit = store.audit_log(10).await.unwrap();
    assert_eq!(audit[0].action, "hide comment");
    assert_eq!(store.count_votes(&ids[0]).await.unwrap(), 3);
    // New tables work on the migrated database.
    let now = chrono::Utc::now();
    let window = std::time::Duration::from_secs(60);
    assert_eq!(
        store
            .rate_limit("vote", &[("acct:1".into(), 1)], window, now)
            .await
            .unwrap(),
        None
    );
    assert!(store
        .rate_limit("vote", &[("acct:1".into(), 1)], window, now)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_from_93e125e_is_migrated_and_served_the_same() {
    let (dir, settings) = temp_settings(false);
    std::fs::write(
        dir.path().join("paperboy.sqlite3"),
        gunzip(&fixture("paperboy.sqlite3.gz")),
    )
    .unwrap();
    let server = Server::start(settings.clone()).await.owning(dir);
    same_answers(&server).await;
    let store = paperboy_cli::open_store(&settings, false).expect("open the migrated file");
    store_kept_everything(&*store).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_from_93e125e_is_migrated_and_served_the_same() {
    let Some(db) = paperboy_store::postgres::TestDatabase::create() else {
        return;
    };
    // psql reads the dump (its `\restrict` lines included), as an operator restoring one would.
    let restored = run_with_input(
        tokio::process::Command::new("psql").args(["-q", "-v", "ON_ERROR_STOP=1", db.url()]),
        &gunzip(&fixture("paperboy.pg.sql.gz")),
    )
    .await;
    restored
        .expect("psql (Debian's postgresql-client)")
        .assert_success("restoring the dump");
    let (dir, mut settings) = temp_settings(false);
    settings.database_url = db.url().to_owned();
    let server = Server::start(settings.clone()).await.owning(dir);
    same_answers(&server).await;
    let store = paperboy_cli::open_store(&settings, false).expect("open the migrated database");
    store_kept_everything(&*store).await;
    server.stop().await;
    drop(store);
}
