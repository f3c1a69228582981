//! TLS to PostgreSQL against a real server of the test's own: a CA and certificates made here,
//! a server started on a free port with `ssl = on` and a `pg_hba.conf` that takes TLS
//! connections only, then every `sslmode` and CA source against it. One server serves every
//! case (they run in order in one test) and is stopped and removed at the end, panic or not.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use paperboy_core::{ArxivId, Paper};
use paperboy_store::postgres as pg;
use paperboy_store::{OpenOptions, Store};

/// The role's password: no error may show it.
const PASSWORD: &str = "tls-Test-s3cret";

#[test]
fn every_sslmode_against_a_server_that_takes_tls_only() {
    let Some(bin) = postgres_bin() else {
        return;
    };
    let started = Instant::now();
    let certs = Certs::make();
    let server = Server::start(&bin, &certs);
    let boot = started.elapsed();
    let cases = Instant::now();
    let url = |host: &str, db: &str, query: &str| {
        format!(
            "postgres://paperboy:{PASSWORD}@{host}:{}/{db}?{query}",
            server.port
        )
    };
    let ca = Some(certs.ca.as_path());
    let other_ca = Some(certs.other_ca.as_path());
    encrypted(&url("127.0.0.1", "postgres", ""), None)
        .batch_execute("CREATE DATABASE paperboy_tls")
        .unwrap();

    // require: encrypted, nothing checked.
    encrypted(&url("127.0.0.1", "postgres", "sslmode=require"), None);
    // No sslmode is libpq's prefer: TLS, since the server offers it.
    encrypted(&url("127.0.0.1", "postgres", ""), None);
    // The channel binding paperboy computes is the one the server computes, or SCRAM fails.
    encrypted(
        &url(
            "127.0.0.1",
            "postgres",
            "sslmode=require&channel_binding=require",
        ),
        None,
    );

    // verify-full with the CA from the setting: the store opens (migrations) and round-trips.
    let full = url("localhost", "paperboy_tls", "sslmode=verify-full");
    let id = ArxivId::parse("2501.00001").unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    {
        let store = open(&full, ca).unwrap_or_else(|e| panic!("verify-full with the CA: {e}"));
        let paper = Paper::new(id.clone(), "Certificates all the way down");
        runtime.block_on(store.import(vec![(paper, None)])).unwrap();
        encrypted(&full, ca);
    }
    // ... and with the CA from sslrootcert (percent-encoded, as a URL may carry a path).
    let in_url = format!(
        "{full}&sslrootcert={}",
        certs.ca.to_str().unwrap().replace('/', "%2F")
    );
    {
        let store = open(&in_url, None).unwrap_or_else(|e| panic!("sslrootcert: {e}"));
        let read = runtime.block_on(store.paper(&id)).unwrap().expect("stored");
        assert_eq!(read.paper.title, "Certificates all the way down");
    }
    // sslrootcert wins over the setting, both ways.
    encrypted(&in_url, other_ca);
    let wrong_in_url = format!("{full}&sslrootcert={}", certs.other_ca.display());
    let e = refused(&wrong_in_url, ca);
    assert!(e.contains("not signed by a trusted CA"), "{e}");

    // verify-full with the system's CAs, or with another CA: refused, and says why.
    let e = refused(&full, None);
    assert!(
        e.contains("not signed by a trusted CA (database_ca_file / sslrootcert)")
            && e.contains("the system's CAs")
            || e.contains("no trusted CA certificates"),
        "{e}"
    );
    let e = match open(&full, other_ca) {
        Ok(_) => panic!("verify-full with another CA opened the store"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("not signed by a trusted CA") && e.contains("other-ca.pem (database_ca_file)"),
        "{e}"
    );
    assert!(!e.contains(PASSWORD), "{e}");
    // As libpq, require given a CA checks the chain.
    let e = refused(&url("127.0.0.1", "postgres", "sslmode=require"), other_ca);
    assert!(e.contains("not signed by a trusted CA"), "{e}");

    // The certificate names localhost only: verify-full to 127.0.0.1 is refused, verify-ca not.
    let e = refused(&url("127.0.0.1", "postgres", "sslmode=verify-full"), ca);
    assert!(
        e.contains("not valid for host 127.0.0.1 (it names localhost)"),
        "{e}"
    );
    assert!(e.contains("sslmode=verify-ca"), "{e}");
    encrypted(&url("127.0.0.1", "postgres", "sslmode=verify-ca"), ca);
    let e = refused(&url("127.0.0.1", "postgres", "sslmode=verify-ca"), other_ca);
    assert!(e.contains("not signed by a trusted CA"), "{e}");

    // pg_hba.conf takes TLS connections only.
    let e = refused(&url("127.0.0.1", "postgres", "sslmode=disable"), None);
    assert!(e.contains("refuses connections without TLS"), "{e}");
    assert!(e.contains("no encryption"), "{e}");

    // Last, as it ends TLS: a server that does not offer TLS at all.
    let mut admin = encrypted(&url("127.0.0.1", "postgres", "sslmode=require"), None);
    admin.batch_execute("ALTER SYSTEM SET ssl = off").unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let e = loop {
        match pg::connect(&url("127.0.0.1", "postgres", "sslmode=require"), None) {
            Err(e) => break e.to_string(),
            Ok(_) if Instant::now() < deadline => continue,
            Ok(_) => panic!("the server still offers TLS 10 s after ssl = off"),
        }
    };
    assert!(
        e.contains("the server does not support TLS but sslmode=require"),
        "{e}"
    );
    let e = refused(&full, ca);
    assert!(
        e.contains("the server does not support TLS but sslmode=verify-full"),
        "{e}"
    );
    eprintln!(
        "server made and started in {boot:.2?}, cases ran in {:.2?}",
        cases.elapsed()
    );
}

fn open(url: &str, ca_file: Option<&Path>) -> paperboy_store::Result<std::sync::Arc<dyn Store>> {
    paperboy_store::open_with(
        url,
        &OpenOptions {
            ca_file: ca_file.map(Path::to_path_buf),
            ..OpenOptions::default()
        },
    )
}

/// A connection to `url` that must be up and encrypted.
fn encrypted(url: &str, ca_file: Option<&Path>) -> postgres::Client {
    let mut c = pg::connect(url, ca_file).unwrap_or_else(|e| panic!("{}: {e}", pg::redact(url)));
    let ssl: bool = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ssl, "{} is not encrypted", pg::redact(url));
    c
}

/// The error of a connection to `url` that must fail; it must not show the password.
fn refused(url: &str, ca_file: Option<&Path>) -> String {
    let e = match pg::connect(url, ca_file) {
        Ok(_) => panic!("{} connected", pg::redact(url)),
        Err(e) => e.to_string(),
    };
    assert!(!e.contains(PASSWORD), "{e}");
    e
}

/// The directory of PostgreSQL's server programs, or None (skipped; a failure under CI=true).
fn postgres_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    });
    // Debian keeps them out of PATH, one directory per major version: the newest.
    let debian = || {
        let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| {
                let e = e.ok()?;
                let version = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").is_file().then_some((version, bin))
            })
            .collect();
        dirs.sort();
        dirs.pop().map(|(_, bin)| bin)
    };
    let found = on_path.or_else(debian);
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but PostgreSQL's initdb and pg_ctl are not installed: .ci/run installs postgresql");
        }
        eprintln!("skipped: PostgreSQL's server programs (initdb, pg_ctl) are not installed");
    }
    found
}

/// A CA, a server certificate it signed for `localhost` only, and another CA.
struct Certs {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    other_ca: PathBuf,
    server_cert: String,
    server_key: String,
}

impl Certs {
    fn make() -> Certs {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let ca = |name: &str| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            (params.self_signed(&key).unwrap(), key)
        };
        let (ca_cert, ca_key) = ca("paperboy test CA");
        let (other_cert, _) = ca("another CA");
        let server_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = params.signed_by(&server_key, &ca_cert, &ca_key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, pem: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        Certs {
            ca: write("ca.pem", &ca_cert.pem()),
            other_ca: write("other-ca.pem", &other_cert.pem()),
            server_cert: server_cert.pem(),
            server_key: server_key.serialize_pem(),
            _dir: dir,
        }
    }
}

/// A PostgreSQL server in a temporary directory, stopped and removed when dropped.
struct Server {
    dir: tempfile::TempDir,
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// initdb and postgres refuse to run as root: then they run as the `postgres` user.
    as_postgres: bool,
}

impl Server {
    fn start(bin: &Path, certs: &Certs) -> Server {
        let as_postgres = std::fs::metadata("/proc/self").unwrap().uid() == 0;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Server {
            bin: bin.to_owned(),
            data,
            port,
            as_postgres,
            dir,
        };
        let path = |name: &str| server.dir.path().join(name);
        std::fs::write(path("server.crt"), &certs.server_cert).unwrap();
        std::fs::write(path("server.key"), &certs.server_key).unwrap();
        // PostgreSQL refuses a key others may read.
        std::fs::set_permissions(path("server.key"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        std::fs::write(path("password"), PASSWORD).unwrap();
        server.give_to_postgres();
        server.run(
            "initdb",
            &[
                "-D",
                server.data.to_str().unwrap(),
                "-U",
                "paperboy",
                &format!("--pwfile={}", path("password").display()),
                "--auth=scram-sha-256",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            ],
        );
        // TLS connections only, and passwords, so that SCRAM's channel binding is exercised.
        std::fs::write(
            server.data.join("pg_hba.conf"),
            "hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n",
        )
        .unwrap();
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(server.data.join("postgresql.conf"))
            .unwrap();
        std::io::Write::write_all(
            &mut conf,
            format!(
                "port = {port}\nlisten_addresses = '127.0.0.1,::1'\nunix_socket_directories = '{}'\n\
                 ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nfsync = off\n",
                server.dir.path().display(),
                path("server.crt").display(),
                path("server.key").display(),
            )
            .as_bytes(),
        )
        .unwrap();
        server.give_to_postgres();
        // -w: pg_ctl itself waits until the server takes connections.
        server.run(
            "pg_ctl",
            &[
                "-D",
                server.data.to_str().unwrap(),
                "-l",
                path("log").to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        server
    }

    fn give_to_postgres(&self) {
        if self.as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(self.dir.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown to postgres");
        }
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.current_dir(self.dir.path());
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().unwrap();
        if !out.status.success() {
            let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
            panic!(
                "{program} failed: {}\n{}\n{log}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            let stopped = self
                .command("pg_ctl")
                .args([
                    "-D",
                    self.data.to_str().unwrap(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ])
                .output();
            if !stopped.is_ok_and(|o| o.status.success()) {
                eprintln!(
                    "could not stop the test PostgreSQL in {}",
                    self.data.display()
                );
            }
        }
    }
}
