//! A real SMTP server for tests: Python's `aiosmtpd` (from pip) delivering into a maildir, in
//! plain text, with STARTTLS or with TLS from the first byte (certificates from a CA the test
//! makes), and the delivered messages decoded by Python's `email` package.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

/// A CA made for one test and the server certificates it signs, as PEM files.
pub struct TestCa {
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
    /// The CA's certificate, for `smtp_ca_file`.
    pub cert_file: PathBuf,
    made: std::cell::Cell<usize>,
    dir: tempfile::TempDir,
}

/// A server's certificate and private key (PEM files).
pub struct ServerCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    pub fn new() -> TestCa {
        let dir = tempfile::tempdir().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "paperboy test CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let cert_file = dir.path().join("ca.pem");
        std::fs::write(&cert_file, cert.pem()).unwrap();
        TestCa {
            ca: cert,
            ca_key: key,
            cert_file,
            made: Default::default(),
            dir,
        }
    }

    /// A certificate for `names` (IP addresses or host names) signed by this CA; `expired`: one
    /// that was valid in 2020 only.
    pub fn server_cert(&self, names: &[&str], expired: bool) -> ServerCert {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "paperboy test mail server");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let n = self.made.get() + 1;
        self.made.set(n);
        let files = ServerCert {
            cert: self.dir.path().join(format!("server-{n}.pem")),
            key: self.dir.path().join(format!("server-{n}.key")),
        };
        std::fs::write(&files.cert, cert.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    }
}

impl ServerCert {
    /// aiosmtpd's options for this certificate and key: `{prefix}cert` and `{prefix}key`.
    fn args(&self, prefix: &str) -> Vec<std::ffi::OsString> {
        vec![
            format!("{prefix}cert").into(),
            self.cert.clone().into(),
            format!("{prefix}key").into(),
            self.key.clone().into(),
        ]
    }
}

/// How a test SMTP server secures its connections.
pub enum Tls<'a> {
    /// STARTTLS, which the server requires before anything else (aiosmtpd's default).
    StartTls(&'a ServerCert),
    /// TLS from the first byte (`smtps://`).
    Implicit(&'a ServerCert),
}

/// A real SMTP server delivering into a maildir; stopped when dropped.
pub struct SmtpServer {
    child: tokio::process::Child,
    pub port: u16,
    pub maildir: PathBuf,
    url: String,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub async fn start() -> Option<SmtpServer> {
        SmtpServer::launch(None).await
    }

    /// A server that speaks only TLS, by STARTTLS or from the start, with `cert`.
    pub async fn start_tls(tls: Tls<'_>) -> Option<SmtpServer> {
        SmtpServer::launch(Some(tls)).await
    }

    async fn launch(tls: Option<Tls<'_>>) -> Option<SmtpServer> {
        let check = tokio::process::Command::new(python())
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
        let port = free_port();
        let (tls_args, url) = match tls {
            None => (Vec::new(), format!("smtp://127.0.0.1:{port}")),
            Some(Tls::StartTls(c)) => (
                c.args("--tls"),
                format!("smtp://127.0.0.1:{port}?tls=required"),
            ),
            Some(Tls::Implicit(c)) => (c.args("--smtps"), format!("smtps://127.0.0.1:{port}")),
        };
        let child = spawn_quiet(
            tokio::process::Command::new(python())
                .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
                .args(tls_args)
                .args(["-c", "aiosmtpd.handlers.Mailbox", maildir.to_str().unwrap()]),
            "aiosmtpd",
        );
        wait_listening("the SMTP server listens", port).await;
        Some(SmtpServer {
            child,
            port,
            maildir,
            url,
            _dir: dir,
        })
    }

    /// `smtp://`, `smtp://...?tls=required` or `smtps://`, as the server speaks.
    pub fn url(&self) -> String {
        self.url.clone()
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

/// `paperboy` for mail work over the data directory `dir`: mail goes through `smtp_url`, links
/// point at `base`, and there is no embedding model.
pub fn mail_command(dir: &Path, smtp_url: &str, base: &str) -> tokio::process::Command {
    let mut cmd = paperboy_command();
    cmd.env("PAPERBOY_DATA_DIR", dir)
        .env("PAPERBOY_SMTP_URL", smtp_url)
        .env("PAPERBOY_PUBLIC_URL", base)
        .env("PAPERBOY_MODEL_DIR", dir.join("no-model"));
    cmd
}

/// Runs `cmd` with `args`, which must succeed; its standard output.
pub async fn output_of(mut cmd: tokio::process::Command, args: &[&str]) -> String {
    let out = cmd.args(args).output().await.expect("run paperboy");
    assert!(
        out.status.success(),
        "paperboy {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Checks that each of `subscribers` recipients got exactly one digest Message-ID (a message
/// sent again after a crash keeps its Message-ID); returns how many messages were such repeats.
pub fn one_digest_each(messages: &[Value], subscribers: usize) -> usize {
    let mut per_recipient: std::collections::HashMap<&str, Vec<&str>> = Default::default();
    for m in messages {
        per_recipient
            .entry(m["to"].as_str().unwrap())
            .or_default()
            .push(m["message_id"].as_str().unwrap());
    }
    assert_eq!(
        per_recipient.len(),
        subscribers,
        "every subscriber got the digest"
    );
    let mut repeats = 0;
    for (to, ids) in &per_recipient {
        let distinct: std::collections::HashSet<&&str> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            1,
            "{to}: one digest for the period, not two different ones"
        );
        repeats += ids.len() - 1;
    }
    repeats
}

pub async fn read_maildir(dir: &Path) -> Vec<Value> {
    if !dir.join("new").exists() {
        return Vec::new();
    }
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
    let out = run_command(tokio::process::Command::new(python()).args([
        "-c",
        script,
        dir.to_str().unwrap(),
    ]))
    .await;
    out.assert_success("python reads the maildir");
    serde_json::from_str::<Vec<Value>>(&out.stdout).unwrap()
}

/// One fresh vote (by a new account) for the first paper of the latest list, so that something is
/// trending in a digest (for the digest tests); that paper's id.
pub async fn vote_for_the_first_paper(
    store: &dyn paperboy_store::Store,
    now: chrono::DateTime<chrono::Utc>,
) -> paperboy_core::ArxivId {
    let voter = store.sign_in("voter@example.org", &[], now).await.unwrap();
    let latest = store.latest_day().await.unwrap().unwrap();
    let first = store
        .listing(latest, latest, &Default::default())
        .await
        .unwrap()[0]
        .paper
        .id
        .clone();
    store.vote(voter.id, &first, true, now).await.unwrap();
    first
}
