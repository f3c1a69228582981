//! Every setting, declared once with its default and its meaning. They are read from the defaults,
//! then a TOML file (`paperboy.toml` in the working directory, or the file named by `--config` /
//! `PAPERBOY_CONFIG`), then `PAPERBOY_*` environment variables, then command-line flags.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

macro_rules! settings {
    ($( $(#[doc = $doc:literal])* $name:ident : $ty:ty = $default:expr ),* $(,)?) => {
        #[derive(Clone, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Settings { $( $(#[doc = $doc])* pub $name: $ty, )* }

        impl Default for Settings {
            fn default() -> Self { Settings { $( $name: $default, )* } }
        }

        /// (name, default as TOML, documentation) for every setting, for `paperboy settings`.
        pub fn documentation() -> Vec<(&'static str, String, String)> {
            let d = Settings::default();
            vec![$( (
                stringify!($name),
                toml_value(&d.$name),
                [$($doc),*].iter().map(|l| l.trim()).collect::<Vec<_>>().join(" "),
            ), )*]
        }
    };
}

settings! {
    /// Where the database, search index and other state live. Created if missing.
    data_dir: PathBuf = PathBuf::from("./paperboy-data"),
    /// Address and port the web server listens on.
    bind: String = "127.0.0.1:8080".to_string(),
    /// The database: a SQLite file path or `sqlite://PATH` (empty means `DATA_DIR/paperboy.sqlite3`),
    /// or `postgres://USER:PASSWORD@HOST:PORT/DATABASE` for PostgreSQL, where several paperboy
    /// nodes can share one database (the database must exist; paperboy creates its tables). TLS
    /// as libpq's `?sslmode=`: `disable`, `prefer` (the default), `require`, `verify-ca`,
    /// `verify-full`.
    database_url: String = String::new(),
    /// PostgreSQL: a PEM file of the CA certificates that sign the database server's certificate,
    /// checked under `sslmode=verify-ca` (the chain) or `verify-full` (the chain and the host name)
    /// in `database_url`, and under `require` as libpq does. A `sslrootcert=FILE` in the URL wins
    /// over it. Empty: the system's CAs.
    database_ca_file: String = String::new(),
    /// SQLite: MiB of the database file read through a memory map (fast reads beside a writer);
    /// 0 reads through each connection's 64 MiB cache instead. Mapped pages count in the
    /// process's RSS though the kernel drops them at will. `paperboy import` reads without the map.
    sqlite_mmap_mb: u64 = 16384,
    /// Import the bundled demo slice (21 days of real Hugging Face daily papers) when the database is empty.
    demo_data: bool = true,
    /// Name shown in page titles and the header.
    site_name: String = "paperboy".to_string(),
    /// Log format: `text` for people, `json` for log collectors.
    log_format: String = "text".to_string(),
    /// Log filter, e.g. `info` or `paperboy=debug,tower_http=info`. RUST_LOG overrides it.
    log_level: String = "info".to_string(),
    /// Seconds between checks that the search index has every change in the database (with
    /// several nodes on one PostgreSQL database, how soon a node sees another's changes).
    index_poll_seconds: u64 = 5,
    /// Threads each keyword search runs the index's segments on at once: 0 means one per core,
    /// 1 only the request's own (more queries at once on a busy server, slower ones at scale).
    search_threads: usize = 0,
    /// `/readyz` answers 503 while the search index is more than this many changes behind the
    /// database (a node rebuilding its index serves, but a load balancer routes around it).
    ready_max_lag: u64 = 1000,
    /// The sentence-embedding model folder (any BERT-family sentence-transformers model). Empty means
    /// `DATA_DIR/models/all-MiniLM-L6-v2`, which `paperboy model install` fills. Without a model,
    /// search is keyword-only and says so.
    model_dir: String = String::new(),
    /// Hybrid search: weight of the cosine similarity against max-normalised BM25 (0 = keyword only, 1 = semantic only).
    semantic_weight: f32 = 0.75,
    /// Milliseconds a search waits for its query embedding before answering with keyword results.
    query_embed_timeout_ms: u64 = 1000,
    /// The kernels that run the embedding model: `auto` (the fastest this CPU can run), `amx`
    /// (AMX-BF16 tiles, Linux 5.16+: products in bf16 with f32 sums on the tile unit), `avx512`
    /// (AVX-512 F/BW/VL + BF16: products in bf16 with f32 sums), `avx2` (AVX2 + FMA, f32),
    /// `portable` (any CPU, f32). A kernel the CPU cannot run is a settings error that says what it lacks.
    /// The kernel in use is logged when the model loads and shown on `/status`.
    embed_kernel: String = "auto".to_string(),
    /// Trending: `score = votes / (age_hours + trending_offset_hours) ^ trending_gravity`.
    trending_gravity: f64 = 1.8,
    /// Trending: hours added to a vote's age so that a brand-new vote does not count infinitely.
    trending_offset_hours: f64 = 2.0,
    /// Trending ranks papers put on a list or voted for in this many days.
    trending_window_days: i64 = 30,
    /// What happens to a deleted account's comments: `keep` (they stay, shown as by "deleted
    /// account") or `delete` (they go, and leave the papers' counts).
    deleted_account_comments: String = "keep".to_string(),
    /// The address people reach this server at (sign-in links and feeds point there). Empty means
    /// `http://` and the address the server listens on. With `https://`, cookies are marked Secure.
    public_url: String = String::new(),
    /// Administrators besides the first account (always one). An entry with `@` is an email
    /// address; any other entry is a username and names only the account that holds it when
    /// the server starts (logged at start; a name nobody holds is a warning): an account that
    /// renames to it, or signs up with it, later is not an administrator.
    admins: Vec<String> = Vec::new(),
    /// Days a sign-in lasts: a session older than this signs nobody in (checked on the server
    /// at each request; the cookie's Max-Age says the same), and expired sessions are removed.
    session_days: u32 = 30,
    /// The SMTP server mail goes through: `smtp://host:25` (plain), `smtp://host:587?tls=required`
    /// (STARTTLS; `?tls=opportunistic` when offered), `smtps://host:465` (TLS), with
    /// `user:password@` (percent-encoded) before the host for authentication. Empty: no mail is
    /// sent and sign-in links are written to the log.
    smtp_url: String = String::new(),
    /// A PEM file of the CA certificates the SMTP server's certificate must chain to (STARTTLS
    /// and `smtps://`), instead of the system's roots: for a mail server with a certificate from
    /// a private CA. Empty: the system's roots. Read at start; unreadable or without a
    /// certificate, it is a settings error.
    smtp_ca_file: String = String::new(),
    /// The sender of paperboy's mail.
    mail_from: String = "paperboy <paperboy@localhost>".to_string(),
    /// A folder of mail templates (`digest.subject.txt`, `digest.txt`, `digest.html`, the same
    /// for `sign_in` and `confirm`) that replace the built-in ones file by file (README, "Mail
    /// templates"). Empty: the built-in templates.
    mail_templates_dir: String = String::new(),
    /// Digests: the hour (UTC) from which each day's digests are recorded and sent (needs `smtp_url`).
    digest_hour_utc: u32 = 6,
    /// Digests: daily digests only Monday to Friday (weekly ones go on Mondays).
    digest_weekdays_only: bool = true,
    /// Digests: seconds between the server's looks for digests to record and mail to send.
    digest_poll_seconds: u64 = 60,
    /// Digests: seconds before the first retry of a mail the SMTP server refused for now (then
    /// doubled each time, at most 60 times this; 8 tries in all).
    digest_retry_seconds: u64 = 60,
    /// The arXiv API that submissions and `paperboy fetch` get one paper's details from.
    arxiv_api_url: String = paperboy_ingest::arxiv_api::DEFAULT_BASE.to_string(),
    /// Live sync: minutes between passes of every source in `paperboy serve`; 0 turns the schedule
    /// off (then `paperboy harvest` runs a pass by hand).
    sync_minutes: u64 = 0,
    /// Live sync: the sources, `arxiv` (OAI-PMH: new and changed papers) and `hf` (the Hugging
    /// Face daily list, with upvotes, comments, GitHub links and submitters).
    sync_sources: Vec<String> = vec!["arxiv".to_string(), "hf".to_string()],
    /// Live sync: arXiv's OAI-PMH endpoint.
    oai_url: String = paperboy_ingest::harvest::OAI_DEFAULT_BASE.to_string(),
    /// Live sync: the OAI-PMH sets (arXiv's archives) harvested: `cs`, `math`, `stat`,
    /// `physics:hep-th`, ... Empty harvests all of arXiv.
    oai_sets: Vec<String> = vec!["cs".to_string()],
    /// Live sync: Hugging Face's daily papers API.
    hf_api_url: String = paperboy_ingest::harvest::HF_DEFAULT_BASE.to_string(),
    /// Live sync: a source's first pass brings this many days back (OAI datestamps, HF days);
    /// later passes continue from where the last one stopped.
    sync_first_days: u32 = 7,
    /// Live sync: days of the Hugging Face list fetched again on each pass, for their growing votes.
    hf_refresh_days: u32 = 2,
    /// Live sync: milliseconds between two requests to arXiv (OAI-PMH and the API together; arXiv
    /// asks for 3 seconds).
    arxiv_interval_ms: u64 = 3000,
    /// Live sync: milliseconds between two requests to Hugging Face.
    hf_interval_ms: u64 = 1000,
    /// Live sync: tries of one request after the first (on 429/5xx answers, dropped connections,
    /// malformed pages) before the pass stops and records the error; the next pass resumes there.
    sync_retries: u32 = 5,
    /// Live sync: milliseconds before the first retry, doubled each time, unless the server sends
    /// `Retry-After` (honoured up to 10 minutes).
    sync_retry_ms: u64 = 5000,
    /// Live sync: the operator's contact (email or URL) in the User-Agent, so that arXiv and
    /// Hugging Face can reach whoever runs this instance. Empty: the address in `mail_from`.
    sync_contact: String = String::new(),
    /// Abuse limit: sign-in links per email address (and per IP address, times `limit_ip_factor`) per hour.
    limit_sign_in_mails_per_hour: u32 = 5,
    /// Abuse limit: votes and unvotes per account per minute.
    limit_votes_per_minute: u32 = 60,
    /// Abuse limit: paper submissions per account per hour.
    limit_submissions_per_hour: u32 = 20,
    /// Abuse limit: comments per account per hour.
    limit_comments_per_hour: u32 = 30,
    /// An IP address may do this many times what one account may (people share addresses).
    limit_ip_factor: u32 = 5,
    /// Reverse proxies in front of paperboy, as addresses or CIDR ranges (IPv4 or IPv6, e.g.
    /// `["127.0.0.1", "10.0.0.0/8", "fd00::/8"]`). A request from one of them is from the
    /// rightmost address in its `X-Forwarded-For` (without one, `Forwarded`) that is not itself a
    /// trusted proxy. Empty trusts nobody: the TCP peer is the client. The abuse limits count an
    /// IPv4 client by its address, an IPv6 client by its /64.
    trusted_proxies: Vec<String> = Vec::new(),
}

fn toml_value<T: Serialize>(v: &T) -> String {
    match toml_edit_value(v) {
        Some(s) => s,
        None => "?".into(),
    }
}

fn toml_edit_value<T: Serialize>(v: &T) -> Option<String> {
    let json = serde_json::to_value(v).ok()?;
    Some(match json {
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    })
}

impl std::fmt::Debug for Settings {
    /// Every setting, with the passwords in `database_url` and `smtp_url` replaced by `***`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = serde_json::to_value(self.redacted()).map_err(|_| std::fmt::Error)?;
        write!(f, "Settings {shown}")
    }
}

impl Settings {
    /// These settings with passwords hidden: for logs, `paperboy settings` and errors.
    pub fn redacted(&self) -> Settings {
        let mut s = self.clone();
        s.database_url = paperboy_store::postgres::redact(&s.database_url);
        s.smtp_url = paperboy_store::postgres::redact(&s.smtp_url);
        s
    }

    /// Reads defaults, then the settings file, then the environment.
    pub fn load(config: Option<&Path>) -> Result<Settings, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        match config {
            Some(path) => {
                if !path.exists() {
                    return Err(Box::new(figment::Error::from(format!(
                        "settings file {} does not exist",
                        path.display()
                    ))));
                }
                fig = fig.merge(Toml::file(path));
            }
            None => fig = fig.merge(Toml::file("paperboy.toml")),
        }
        let settings: Settings = fig
            .merge(Env::prefixed("PAPERBOY_").ignore(&["config"]))
            .extract()
            .map_err(Box::new)?;
        // A bad entry is a settings error (exit 2) like a misspelt key, whichever command runs.
        settings
            .trusted_proxies()
            .map_err(|e| Box::new(figment::Error::from(format!("trusted_proxies: {e}"))))?;
        if !["keep", "delete"].contains(&settings.deleted_account_comments.as_str()) {
            let e = format!(
                "deleted_account_comments is keep or delete, not {:?}",
                settings.deleted_account_comments
            );
            return Err(Box::new(figment::Error::from(e)));
        }
        // So is a kernel this CPU cannot run: the error names what it lacks and what it can run.
        settings
            .embed_kernel()
            .map_err(|e| format!("embed_kernel: {e}"))
            .and_then(|k| {
                paperboy_search::kernel::Kernel::resolve(k)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| Box::new(figment::Error::from(e)))?;
        Ok(settings)
    }

    /// `trusted_proxies`, read; the error names the entry that is not an address or a range.
    pub fn trusted_proxies(
        &self,
    ) -> Result<paperboy_web::client_ip::TrustedProxies, paperboy_web::client_ip::BadProxyEntry>
    {
        paperboy_web::client_ip::TrustedProxies::parse(&self.trusted_proxies)
    }

    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            self.data_dir
                .join("paperboy.sqlite3")
                .to_string_lossy()
                .into_owned()
        } else {
            self.database_url.clone()
        }
    }

    /// The CA certificates that check PostgreSQL's TLS, when set.
    pub fn database_ca_file(&self) -> Option<PathBuf> {
        (!self.database_ca_file.is_empty()).then(|| PathBuf::from(&self.database_ca_file))
    }

    /// `embed_kernel`, read (not yet checked against the CPU: `Kernel::resolve` does that).
    pub fn embed_kernel(&self) -> Result<paperboy_search::kernel::KernelChoice, String> {
        self.embed_kernel.parse()
    }

    pub fn model_dir(&self) -> PathBuf {
        if self.model_dir.is_empty() {
            self.data_dir.join("models").join(crate::model::MODEL_NAME)
        } else {
            PathBuf::from(&self.model_dir)
        }
    }

    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    pub fn limits(&self) -> paperboy_web::limits::Limits {
        use paperboy_web::limits::{Limit, Limits};
        let hour = std::time::Duration::from_secs(3600);
        Limits {
            sign_in_mails: Limit {
                max: self.limit_sign_in_mails_per_hour,
                window: hour,
            },
            votes: Limit {
                max: self.limit_votes_per_minute,
                window: std::time::Duration::from_secs(60),
            },
            submissions: Limit {
                max: self.limit_submissions_per_hour,
                window: hour,
            },
            comments: Limit {
                max: self.limit_comments_per_hour,
                window: hour,
            },
            per_ip_factor: self.limit_ip_factor,
        }
    }

    pub fn trending(&self) -> paperboy_core::ranking::Trending {
        paperboy_core::ranking::Trending {
            gravity: self.trending_gravity,
            offset_hours: self.trending_offset_hours,
        }
    }

    pub fn fusion(&self) -> paperboy_search::semantic::Fusion {
        paperboy_search::semantic::Fusion {
            semantic_weight: self.semantic_weight.clamp(0.0, 1.0),
            ..Default::default()
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return its own large error
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "bind = \"0.0.0.0:9000\"\nsite_name = \"lab papers\"",
            )?;
            jail.set_env("PAPERBOY_SITE_NAME", "from env");
            let s = Settings::load(Some(Path::new("custom.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.bind, "0.0.0.0:9000");
            assert_eq!(s.site_name, "from env");
            assert_eq!(s.data_dir, PathBuf::from("./paperboy-data"));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "bnid = \"typo\"")?;
            assert!(Settings::load(Some(Path::new("bad.toml"))).is_err());
            assert!(Settings::load(Some(Path::new("missing.toml"))).is_err());
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_are_checked_when_read() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PAPERBOY_TRUSTED_PROXIES", r#"["127.0.0.1", "fd00::/8"]"#);
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.trusted_proxies, ["127.0.0.1", "fd00::/8"]);
            assert!(s
                .trusted_proxies()
                .unwrap()
                .contains("fd00::1".parse().unwrap()));
            jail.set_env(
                "PAPERBOY_TRUSTED_PROXIES",
                r#"["127.0.0.1", "10.0.0.0/33"]"#,
            );
            let e = Settings::load(None).expect_err("a bad entry is an error");
            assert!(e.to_string().contains("trusted_proxies"), "{e}");
            assert!(e.to_string().contains("\"10.0.0.0/33\""), "{e}");
            Ok(())
        });
    }

    #[test]
    fn passwords_never_show() {
        let s = Settings {
            database_url: "postgres://paperboy:hunter2@db:5432/paperboy".into(),
            smtp_url: "smtp://mail:pa%40ss@smtp.example:587".into(),
            ..Settings::default()
        };
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("pa%40ss"),
            "{shown}"
        );
        assert!(
            shown.contains("postgres://paperboy:***@db:5432/paperboy"),
            "{shown}"
        );
        assert_eq!(
            s.database_url(),
            "postgres://paperboy:hunter2@db:5432/paperboy"
        );
        // TLS options after the password do not move where it is found.
        let s = Settings {
            database_url: "postgres://paperboy:hunter2@db/paperboy?sslmode=verify-full&sslrootcert=/etc/paperboy/ca@db.pem".into(),
            database_ca_file: "/etc/paperboy/ca.pem".into(),
            ..Settings::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("postgres://paperboy:***@db/paperboy?sslmode=verify-full"),
            "{shown}"
        );
        assert!(shown.contains("/etc/paperboy/ca.pem"), "{shown}");
    }

    #[test]
    fn every_setting_is_documented() {
        for (name, default, doc) in documentation() {
            assert!(!doc.is_empty(), "{name} has no documentation");
            assert_ne!(default, "?", "{name}");
        }
    }
}
