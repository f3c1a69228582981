//! What a load balancer and an operator see of a node: `/readyz` follows the search index's lag
//! behind the database (`/healthz` only the process), and a database password never shows, not
//! in `paperboy settings` nor in an error.

use paperboy_core::{ArxivId, Paper};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_index_lag_and_liveness_does_not() {
    let (dir, mut settings) = temp_settings(true);
    // The server looks at the database once at start, then not for an hour: a change made by
    // another process stays unindexed for the whole test.
    settings.index_poll_seconds = 3600;
    settings.ready_max_lag = 0;
    let server = Server::start(settings.clone()).await.owning(dir);
    let (status, _, body) = server.text("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("ready"), "{body}");

    let other = paperboy_cli::open_store(&settings, false).unwrap();
    let mut p = Paper::new(ArxivId::parse("2512.00001").unwrap(), "Imported elsewhere");
    p.summary = "By another process, while the server does not look.".into();
    other.import(vec![(p, None)]).await.unwrap();
    let (status, _, body) = server.text("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("1 changes behind"), "{body}");
    let (status, _, _) = server.text("/healthz").await;
    assert_eq!(status, 200, "alive all the same");
    server.stop().await;
}

#[tokio::test]
async fn database_passwords_never_show() {
    let url = "postgres://paperboy:hunter2@127.0.0.1:1/paperboy";
    let out = paperboy_command()
        .arg("settings")
        .env("PAPERBOY_DATABASE_URL", url)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(
        stdout.contains("database_url = \"postgres://paperboy:***@127.0.0.1:1/paperboy\""),
        "{stdout}"
    );
    // Nothing listens on port 1: a clear error, exit 1, still without the password.
    let out = paperboy_command()
        .args(["search", "anything"])
        .env("PAPERBOY_DATABASE_URL", url)
        .env("PAPERBOY_DATA_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
