//! Never skipped, never twice: 2,000 confirmed subscribers; `paperboy digest send` is killed with
//! SIGKILL at random points several times and restarted; in the end every subscriber has exactly
//! one digest Message-ID for the period at the SMTP server. A message the server accepted just
//! before a kill, and that was not yet marked sent, goes again with the same Message-ID: those
//! repeats are counted and must be at most one per kill (one message in flight at a time).
//! A binary of its own, so its load stays out of the other end-to-end tests.

#[path = "e2e/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "e2e/smtp.rs"]
#[allow(dead_code)]
mod smtp;

use std::time::Duration;

use chrono::Utc;
use paperboy_store::Topics;

use common::*;
use smtp::{mail_command, output_of, SmtpServer};

const SUBSCRIBERS: usize = 2_000;
const KILLS: usize = 5;

fn paperboy(dir: &std::path::Path, smtp: &SmtpServer) -> tokio::process::Command {
    mail_command(dir, &smtp.url(), "http://127.0.0.1:9")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_sender_loses_nothing_and_repeats_at_most_what_was_in_flight() {
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let (dir, mut settings) = temp_settings(true);
    settings.demo_data = true;
    // The demo papers, one fresh vote so something is trending, 2,000 confirmed subscribers.
    let store = import_demo(&settings).await;
    let now = Utc::now();
    smtp::vote_for_the_first_paper(&*store, now).await;
    for n in 0..SUBSCRIBERS {
        let email = format!("reader{n}@example.org");
        confirmed_subscriber(&*store, &email, &Topics::default(), now).await;
    }
    drop(store);

    let out = output_of(paperboy(dir.path(), &smtp), &["digest", "run"]).await;
    assert!(
        out.contains(&format!("{SUBSCRIBERS} digests recorded")),
        "{out}"
    );

    // Kill the sender at random points (a seeded sequence of delays), restarting it each time.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut kills = 0;
    for _ in 0..KILLS {
        let mut child = paperboy(dir.path(), &smtp)
            .args(["digest", "send"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // A random moment in the send, not a wait for anything: the point is to be arbitrary.
        let after = Duration::from_millis(300 + seed % 1200);
        match tokio::time::timeout(after, child.wait()).await {
            Ok(_) => break, // it finished before the kill
            Err(_) => {
                child.start_kill().unwrap();
                child.wait().await.unwrap();
                kills += 1;
            }
        }
    }
    let out = output_of(paperboy(dir.path(), &smtp), &["digest", "send"]).await;
    eprintln!("after {kills} kills, the last send: {}", out.trim());

    let messages = smtp.messages().await;
    let repeats = smtp::one_digest_each(&messages, SUBSCRIBERS);
    eprintln!(
        "{} messages for {SUBSCRIBERS} subscribers: {repeats} repeats after {kills} kills",
        messages.len()
    );
    assert!(repeats <= kills, "{repeats} repeats after {kills} kills");
    let stats = paperboy_cli::open_store(&settings, false)
        .unwrap()
        .mail_stats()
        .await
        .unwrap();
    assert_eq!(
        (stats.sent, stats.pending, stats.failed),
        (SUBSCRIBERS as u64, 0, 0)
    );
}
