//! paperboy behind a real reverse proxy: Debian's nginx, started by the test on a port of its own,
//! in front of the real `paperboy serve`. With `trusted_proxies`, each client behind nginx has an
//! allowance of its own; without, nginx is one client for the whole site. A forged
//! `X-Forwarded-For` from a peer that is not trusted is not believed, and IPv6 clients share an
//! allowance per /64. Clients are told apart by the loopback address they connect from
//! (127.0.0.2, 127.0.0.3, ...: all of 127/8 is this machine on Linux).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::common::*;
use crate::people::{Process, Visitor};

/// nginx, wherever it is: Debian installs it in /usr/sbin, which not every user has on PATH.
fn nginx_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|p| p.is_file());
    if found.is_none() {
        skip("nginx is not installed (apt-get install nginx)");
    }
    found
}

/// nginx in the foreground with a configuration, pid file, logs and temporary files of its own
/// (none of the package's site or service), proxying to one upstream. Killed when dropped, so a
/// failing test leaves none behind.
struct Nginx {
    base: String,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    async fn start(bin: &Path, upstream: &str) -> Nginx {
        let dir = tempfile::Builder::new()
            .prefix("paperboy-e2e-nginx-")
            .tempdir()
            .expect("temporary directory");
        let d = dir.path().display();
        // nginx binds the port its configuration names, so it gets one the OS just gave out and
        // released; should someone take it in between, nginx exits and another port is tried.
        for _ in 0..5 {
            let port = free_port();
            // One process, no workers: nothing outlives the kill, and as root it needs no
            // `user` to read this directory (only workers change user).
            let conf = format!(
                "daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {upstream};
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"
            );
            let conf_path = dir.path().join("nginx.conf");
            std::fs::write(&conf_path, conf).expect("write nginx.conf");
            let mut child = spawn_quiet(
                tokio::process::Command::new(bin)
                    .arg("-p")
                    .arg(dir.path())
                    .arg("-c")
                    .arg(&conf_path)
                    // Errors before the configuration is read go here too, not to /var/log/nginx.
                    .arg("-e")
                    .arg(dir.path().join("error.log")),
                "nginx",
            );
            let base = format!("http://127.0.0.1:{port}");
            let health = format!("{base}/healthz");
            let http = http();
            let exited = poll("nginx to answer", || {
                let exited = child.try_wait().expect("nginx's status");
                let (http, health) = (http.clone(), health.clone());
                async move {
                    if let Some(status) = exited {
                        return Some(Some(status));
                    }
                    let r = http.get(&health).send().await.ok()?;
                    (r.status() == 200).then_some(None)
                }
            })
            .await;
            let Some(status) = exited else {
                return Nginx {
                    base,
                    _child: child,
                    _dir: dir,
                };
            };
            let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
            assert!(
                log.contains("Address already in use"),
                "nginx exited with {status}:\n{log}"
            );
        }
        panic!("nginx found no free port in five tries");
    }
}

fn addr(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("an address"))
}

/// paperboy that allows two sign-in links per hour per email and per address, and nginx in front
/// of it; None (the test skips) without nginx.
async fn paperboy_behind_nginx(trusted_proxies: Option<&str>) -> Option<(Process, Nginx)> {
    let bin = nginx_binary()?;
    let mut env = vec![
        ("PAPERBOY_LIMIT_SIGN_IN_MAILS_PER_HOUR", "2".to_string()),
        ("PAPERBOY_LIMIT_IP_FACTOR", "1".to_string()),
    ];
    if let Some(t) = trusted_proxies {
        env.push(("PAPERBOY_TRUSTED_PROXIES", t.to_string()));
    }
    let server = Process::start(&env).await;
    let nginx = Nginx::start(&bin, &server.base).await;
    Some((server, nginx))
}

/// Asks for a sign-in link for each of `emails` (new ones, so only the address's allowance can
/// refuse them), with `forwarded_for` as `X-Forwarded-For`; the answers' statuses.
async fn ask_for_links(v: &Visitor, emails: &[&str], forwarded_for: &[&str]) -> Vec<u16> {
    v.get("/login").await;
    assert!(v.cookie("pb_csrf").is_some(), "/login sets the CSRF cookie");
    let mut statuses = Vec::new();
    for (i, email) in emails.iter().enumerate() {
        let headers: Vec<(&str, &str)> = forwarded_for
            .get(i)
            .map(|f| vec![("x-forwarded-for", *f)])
            .unwrap_or_default();
        let r = v
            .post_with_headers("/login", &[("email", email)], &headers)
            .await;
        match r.status {
            200 => assert!(r.body.contains("Check your email"), "{}", r.body),
            429 => assert!(r.body.contains("Too many sign-in links"), "{}", r.body),
            other => panic!("POST /login for {email}: {other}: {}", r.body),
        }
        statuses.push(r.status);
    }
    statuses
}

/// A client that reaches paperboy from an address, asks for links for emails with forwarded
/// addresses, and gets statuses; and why it should get them.
type Asking<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [u16], &'a str);

/// Two clients behind nginx, each from an address of its own: the first has two links of the
/// three it asks for; then the second asks for one, and gets `second_gets`.
async fn two_clients_behind(nginx: &Nginx, second_gets: u16, why: &str) {
    let first = Visitor::connecting_from(&nginx.base, addr("127.0.0.2"));
    let second = Visitor::connecting_from(&nginx.base, addr("127.0.0.3"));
    let emails = ["a1@example.org", "a2@example.org", "a3@example.org"];
    assert_eq!(ask_for_links(&first, &emails, &[]).await, [200, 200, 429]);
    assert_eq!(
        ask_for_links(&second, &["b1@example.org"], &[]).await,
        [second_gets],
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_has_its_own_allowance() {
    let Some((server, nginx)) = paperboy_behind_nginx(Some(r#"["127.0.0.1"]"#)).await else {
        return;
    };
    let why = "the second client behind nginx has an allowance of its own";
    two_clients_behind(&nginx, 200, why).await;

    // Straight to paperboy from an address it does not trust (127.0.0.4): a new forged address
    // each time, and the third is refused all the same. Then the test as the trusted proxy
    // (127.0.0.1): IPv6 clients count by their /64.
    let cases: [Asking; 3] = [
        (
            "127.0.0.4",
            &["c1@example.org", "c2@example.org", "c3@example.org"],
            &["198.51.100.1", "198.51.100.2", "198.51.100.3"],
            &[200, 200, 429],
            "X-Forwarded-For from an untrusted peer is ignored",
        ),
        (
            "127.0.0.1",
            &["d1@example.org", "d2@example.org", "d3@example.org"],
            &["2001:db8:0:1::1", "2001:db8:0:1::1", "2001:db8:0:1::2"],
            &[200, 200, 429],
            "2001:db8:0:1::2 shares 2001:db8:0:1::1's allowance",
        ),
        (
            "127.0.0.1",
            &["e1@example.org"],
            &["2001:db8:0:2::1"],
            &[200],
            "another /64 has an allowance of its own",
        ),
    ];
    for (from, emails, forwarded_for, expected, why) in cases {
        let v = Visitor::connecting_from(&server.base, addr(from));
        assert_eq!(
            ask_for_links(&v, emails, forwarded_for).await,
            expected,
            "{why}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trusted_proxies_the_proxy_is_one_client() {
    let Some((server, nginx)) = paperboy_behind_nginx(None).await else {
        return;
    };
    let why = "every client behind an untrusted proxy is the proxy";
    two_clients_behind(&nginx, 429, why).await;
    server.stop().await;
}

#[tokio::test]
async fn a_bad_trusted_proxy_is_a_settings_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = run_command(
        paperboy_command()
            .arg("settings")
            .current_dir(dir.path())
            .env(
                "PAPERBOY_TRUSTED_PROXIES",
                r#"["127.0.0.1", "10.0.0.0/33"]"#,
            ),
    )
    .await;
    let stderr = &out.stderr;
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("trusted_proxies") && stderr.contains("\"10.0.0.0/33\""),
        "{stderr}"
    );
}
