//! Mail over real SMTP: an `aiosmtpd` server (Python, from pip) started by the test delivers to a
//! maildir; paperboy sends its sign-in link there, and the test signs in with the link it finds
//! in the received mail (plain text and HTML parts, decoded by Python's `email` package).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::common::*;
use crate::people::{Process, Visitor};

/// A real SMTP server delivering into a maildir; stopped when dropped.
pub struct SmtpServer {
    child: tokio::process::Child,
    pub port: u16,
    pub maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub async fn start() -> Option<SmtpServer> {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let check = tokio::process::Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .await
            .ok()?;
        if !check.status.success() {
            skip("python aiosmtpd is unavailable (pip install aiosmtpd)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox", maildir.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start aiosmtpd");
        poll("the SMTP server listens", || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        Some(SmtpServer {
            child,
            port,
            maildir,
            _dir: dir,
        })
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every delivered message, decoded: to, subject, message_id, text, html, headers.
    pub async fn messages(&self) -> Vec<Value> {
        read_maildir(&self.maildir).await
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn read_maildir(dir: &Path) -> Vec<Value> {
    if !dir.join("new").exists() {
        return Vec::new();
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import json, mailbox, sys
out = []
for key, m in sorted(mailbox.Maildir(sys.argv[1], create=False).items()):
    msg = m
    parts = {}
    for p in msg.walk():
        if p.get_content_maintype() == 'text':
            parts[p.get_content_subtype()] = p.get_payload(decode=True).decode(p.get_content_charset() or 'utf-8')
    out.append({'to': msg['To'], 'subject': msg['Subject'], 'message_id': msg['Message-ID'],
                'content_type': msg.get_content_type(), 'text': parts.get('plain', ''),
                'html': parts.get('html', ''), 'headers': {k: str(v) for k, v in msg.items()}})
print(json.dumps(out))
"#;
    let out = tokio::process::Command::new(&python)
        .args(["-c", script, dir.to_str().unwrap()])
        .output()
        .await
        .expect("python reads the maildir");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_links_arrive_by_real_smtp() {
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let server = Process::start(&[
        ("PAPERBOY_SMTP_URL", smtp.url()),
        ("PAPERBOY_MAIL_FROM", "paperboy <papers@example.org>".into()),
    ])
    .await;
    let ada = Visitor::new(&server.base);
    ada.get("/papers").await;
    let r = ada.post("/login", &[("email", "ada@example.org")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.contains("in its log"),
        "with SMTP the page does not point at the log"
    );
    let mail = poll("the sign-in mail", || {
        let smtp = &smtp;
        async move { smtp.messages().await.into_iter().next() }
    })
    .await;
    assert_eq!(mail["to"], "ada@example.org");
    assert_eq!(mail["subject"], "Sign in to paperboy");
    assert_eq!(mail["content_type"], "multipart/alternative");
    let text = mail["text"].as_str().unwrap();
    let html = mail["html"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/login/verify?token="))
        .expect("the link in the text part")
        .to_owned();
    assert!(
        html.contains(&link.replace('&', "&amp;")),
        "the HTML part has the same link"
    );
    assert!(
        link.starts_with(&server.base),
        "{link} points at this server"
    );
    let token = link
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert_eq!(ada.get(&link).await.status, 200);
    let r = ada.post("/login/verify", &[("token", token)]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        ada.get("/account").await.status,
        200,
        "signed in by the mailed link"
    );
    assert!(
        !server.log_contains(token),
        "with SMTP configured, the link is not written to the log"
    );
    server.stop().await;
}
