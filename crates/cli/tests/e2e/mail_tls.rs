//! Mail over TLS to a real server: `aiosmtpd` with a certificate from a CA the test makes, by
//! STARTTLS or TLS from the first byte (`smtps://`), through the `paperboy` binary. The test CA is
//! no system root, so only `smtp_ca_file` makes paperboy trust the server; a certificate that does
//! not verify keeps a digest in the outbox (to be retried, not failed) and a sign-in link unsent.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::common::*;
use crate::people::{Process, Visitor};
use crate::smtp::{mail_command, output_of, SmtpServer, TestCa, Tls};

/// Where links in the mail point; nothing needs to answer there.
const BASE: &str = "http://127.0.0.1:9";

/// A data directory whose outbox holds one digest, to reader@example.org. Recorded through the
/// store: what is under test is sending it, and `paperboy digest run` would first import and
/// index papers (seconds; e2e/mail.rs tests that path).
async fn one_digest_in_the_outbox() -> tempfile::TempDir {
    let (dir, settings) = temp_settings(false);
    let store = paperboy_cli::open_store(&settings, true).unwrap();
    let now = Utc::now();
    let id = confirmed_subscriber(&*store, "reader@example.org", &Default::default(), now).await;
    let period = now.date_naive().to_string();
    let message_id = format!("digest.{id}.{period}@paperboy");
    let letter = paperboy_mail::Letter {
        to: "reader@example.org".into(),
        subject: format!("paperboy: trending papers, {period}"),
        text: "Trending\n--------\n".into(),
        html: "<h2>Trending</h2>".into(),
        headers: Vec::new(),
        message_id: Some(message_id.clone()),
    };
    let json = serde_json::to_string(&letter).unwrap();
    assert!(store
        .record_digest(id, &period, &message_id, &json, &[], now)
        .await
        .unwrap());
    dir
}

/// `paperboy digest send` through `url`, trusting `ca_file` when given; its output.
async fn send(dir: &Path, url: &str, ca_file: Option<&Path>, retry_seconds: u64) -> String {
    let mut cmd = mail_command(dir, url, BASE);
    cmd.env("PAPERBOY_DIGEST_RETRY_SECONDS", retry_seconds.to_string());
    if let Some(ca) = ca_file {
        cmd.env("PAPERBOY_SMTP_CA_FILE", ca);
    }
    output_of(cmd, &["digest", "send"]).await
}

#[derive(Debug)]
struct OutboxRow {
    status: String,
    attempts: i64,
    next_attempt_at: DateTime<Utc>,
    last_error: String,
}

/// The outbox's only row, read from the SQLite file.
fn the_outbox_row(dir: &Path) -> OutboxRow {
    let db = rusqlite::Connection::open(dir.join("paperboy.sqlite3")).unwrap();
    let mut rows: Vec<OutboxRow> = db
        .prepare("SELECT status, attempts, next_attempt_at, last_error FROM outbox")
        .unwrap()
        .query_map([], |r| {
            Ok(OutboxRow {
                status: r.get(0)?,
                attempts: r.get(1)?,
                next_attempt_at: r.get::<_, String>(2)?.parse().unwrap(),
                last_error: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.remove(0)
}

/// A refused attempt: nothing delivered, the mail pending with `error` and one more attempt.
async fn refused(
    dir: &Path,
    smtp: &SmtpServer,
    out: &str,
    attempts: i64,
    error: &str,
) -> OutboxRow {
    assert!(out.starts_with("0 sent, 1 to retry, 0 given up"), "{out}");
    assert!(smtp.messages().await.is_empty(), "nothing was delivered");
    let row = the_outbox_row(dir);
    assert_eq!(
        (row.status.as_str(), row.attempts),
        ("pending", attempts),
        "{row:?}"
    );
    assert!(row.last_error.contains(error), "{row:?}");
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_waits_in_the_outbox_until_smtp_ca_file_trusts_the_starttls_server() {
    let ca = TestCa::new();
    let cert = ca.server_cert(&["127.0.0.1", "localhost"], false);
    let (smtp, dir) = tokio::join!(
        SmtpServer::start_tls(Tls::StartTls(&cert)),
        one_digest_in_the_outbox()
    );
    let Some(smtp) = smtp else {
        return;
    };

    let before = Utc::now();
    let out = send(dir.path(), &smtp.url(), None, 1).await;
    let row = refused(
        dir.path(),
        &smtp,
        &out,
        1,
        "the SMTP server's certificate is not trusted (smtp_ca_file): it is not signed by a trusted CA",
    )
    .await;
    assert!(
        row.next_attempt_at >= before + chrono::Duration::seconds(1),
        "retried later, not at once: {row:?}"
    );

    // With the CA trusted, the next send that finds the mail due delivers it; until then a send
    // finds nothing to do.
    let out = poll("the digest is due again and sent", || {
        let (dir, smtp, ca) = (dir.path(), &smtp, &ca.cert_file);
        async move {
            let out = send(dir, &smtp.url(), Some(ca.as_path()), 1).await;
            if out.starts_with("0 sent, 0 to retry, 0 given up") {
                return None;
            }
            Some(out)
        }
    })
    .await;
    assert!(out.starts_with("1 sent, 0 to retry, 0 given up"), "{out}");
    let out = send(dir.path(), &smtp.url(), Some(&ca.cert_file), 1).await;
    assert!(out.starts_with("0 sent, 0 to retry"), "{out}");
    let mails = smtp.messages().await;
    assert_eq!(mails.len(), 1, "exactly once: {mails:?}");
    assert_eq!(mails[0]["to"], "reader@example.org");
    assert!(mails[0]["subject"]
        .as_str()
        .unwrap()
        .contains("trending papers"));
    let row = the_outbox_row(dir.path());
    assert_eq!(
        (row.status.as_str(), row.attempts),
        ("sent", 2),
        "one refused attempt, one delivery: {row:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtps_refuses_expired_or_misnamed_certificates_and_starttls_missing_then_delivers() {
    let ca = TestCa::new();
    let expired = ca.server_cert(&["127.0.0.1", "localhost"], true);
    let misnamed = ca.server_cert(&["mail.example.org"], false);
    let good = ca.server_cert(&["127.0.0.1", "localhost"], false);
    // Four servers, each with its own fault, started while the outbox is filled.
    let (dir, expired, misnamed, plain, good) = tokio::join!(
        one_digest_in_the_outbox(),
        SmtpServer::start_tls(Tls::Implicit(&expired)),
        SmtpServer::start_tls(Tls::Implicit(&misnamed)),
        SmtpServer::start(),
        SmtpServer::start_tls(Tls::Implicit(&good)),
    );
    let (Some(expired), Some(misnamed), Some(plain), Some(smtp)) = (expired, misnamed, plain, good)
    else {
        return;
    };
    let trusted = Some(ca.cert_file.as_path());

    let mut attempts = 0;
    for (server, error) in [
        (
            &expired,
            "certificate is not trusted (smtp_ca_file): certificate expired",
        ),
        (
            &misnamed,
            "certificate is not trusted (smtp_ca_file): certificate not valid for name \"127.0.0.1\"",
        ),
    ] {
        let out = send(dir.path(), &server.url(), trusted, 0).await;
        attempts += 1;
        refused(dir.path(), server, &out, attempts, error).await;
    }

    // tls=required against a server that offers no STARTTLS: nothing goes in the clear.
    let url = format!("{}?tls=required", plain.url());
    let out = send(dir.path(), &url, trusted, 0).await;
    attempts += 1;
    refused(
        dir.path(),
        &plain,
        &out,
        attempts,
        "does not offer STARTTLS, which smtp_url requires (tls=required)",
    )
    .await;

    assert!(smtp.url().starts_with("smtps://"));
    let out = send(dir.path(), &smtp.url(), trusted, 0).await;
    assert!(out.starts_with("1 sent, 0 to retry, 0 given up"), "{out}");
    let mails = smtp.messages().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["to"], "reader@example.org");
    assert_eq!(the_outbox_row(dir.path()).status, "sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_link_to_an_untrusted_server_is_a_could_not_be_sent_page() {
    let ca = TestCa::new();
    let cert = ca.server_cert(&["127.0.0.1", "localhost"], false);
    let Some(smtp) = SmtpServer::start_tls(Tls::Implicit(&cert)).await else {
        return;
    };
    let server = Process::start(&[("PAPERBOY_SMTP_URL", smtp.url())]).await;
    let ada = Visitor::arrived(&server.base).await;
    let r = ada.post("/login", &[("email", "ada@example.org")]).await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.contains("The link could not be sent"), "{}", r.body);
    server
        .wait_log("the reason in the log", |l| {
            l.contains("sending a sign-in link failed")
                && l.contains("certificate is not trusted (smtp_ca_file)")
        })
        .await;
    assert!(smtp.messages().await.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_or_empty_smtp_ca_file_is_a_settings_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let data = dir.path().join("data");
    let cases: [(&PathBuf, &str, &[&str]); 3] = [
        (&missing, "No such file", &["digest", "send"]),
        (&empty, "no certificate in it", &["digest", "send"]),
        (&missing, "No such file", &["serve"]),
    ];
    for (file, says, args) in cases {
        let mut cmd = mail_command(&data, "smtps://127.0.0.1:9", BASE);
        let out = cmd
            .env("PAPERBOY_SMTP_CA_FILE", file)
            .env("PAPERBOY_BIND", "127.0.0.1:0")
            .args(args)
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("smtp_ca_file {}", file.display())) && stderr.contains(says),
            "{args:?}: {stderr}"
        );
        assert!(
            !data.join("paperboy.sqlite3").exists(),
            "{args:?} stopped before opening the database"
        );
    }
}
