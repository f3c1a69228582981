//! `paperboy-bench`: the harness behind BENCHMARKS.md. Each subcommand measures one thing and
//! prints a Markdown table; `crates/bench/run.sh` runs them all end to end with the real
//! `paperboy` binary, `/usr/bin/time` and `wrk`.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

/// mimalloc: the embedder's large short-lived tensors made glibc's malloc fault pages in and out.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod analysis;
mod digest;
mod embed;
mod generate;
mod http;
mod hybrid;
mod phases;
mod probe;
mod queries;
mod search;
mod stats;
mod votes;

#[derive(Parser)]
#[command(
    name = "paperboy-bench",
    about = "Speed benchmarks for paperboy (see BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct QuerySet {
    /// Records file the queries are drawn from (any format `paperboy import` reads).
    #[arg(long)]
    records: PathBuf,
    /// How many queries.
    #[arg(long, default_value_t = 300)]
    queries: usize,
    /// Seed of the sample (splitmix64; the same seed gives the same queries everywhere).
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Write N Kaggle-format records (arxiv-metadata-oai-snapshot) mixed from real records: the
    /// scale data set (2.7 million by default, about 4 GB).
    Generate(generate::Options),
    /// Digests for many subscribers, composed and handed to a local SMTP server (aiosmtpd).
    Digest(digest::Options),
    /// Time the import's parts apart: parse, SQLite merge, tantivy index build.
    Phases {
        /// An empty (or absent) directory for the database and index.
        #[arg(long)]
        work_dir: PathBuf,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// paperboy's keyword search against SQLite FTS5 bm25() over the same papers and queries.
    Search {
        /// paperboy data directory (after `paperboy import`); only read.
        #[arg(long)]
        data_dir: PathBuf,
        #[command(flatten)]
        set: QuerySet,
        /// Timed passes over all queries after one warm-up pass.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Keep the FTS5 database here instead of a temporary directory.
        #[arg(long)]
        fts_dir: Option<PathBuf>,
        /// paperboy's title boost (TITLE_BOOST in crates/search/src/text.rs), used as FTS5's
        /// bm25() title weight and in the diagnostic queries.
        #[arg(long, default_value_t = 1.2)]
        title_boost: f32,
    },
    /// Sequential latency of one search endpoint of a running server (127.0.0.1 only).
    Http {
        /// e.g. http://127.0.0.1:8080
        #[arg(long)]
        url: String,
        #[command(flatten)]
        set: QuerySet,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[arg(long, default_value = "/api/papers/search")]
        path: String,
        /// Extra query-string parameters, e.g. `limit=10`.
        #[arg(long, default_value = "")]
        params: String,
        /// Print the table header first.
        #[arg(long)]
        header: bool,
        /// Also list the N slowest queries (slowest round of each) on stderr.
        #[arg(long, default_value_t = 0)]
        slowest: usize,
    },
    /// Time keyword queries read from stdin (one a line) on an existing index, one at a time,
    /// without HTTP: the median and best of `--repeat` runs each, the total and the top hits.
    Probe {
        /// The index folder: `DATA_DIR/index` of `paperboy import` or `serve`.
        #[arg(long)]
        index: PathBuf,
        /// Runs of each query.
        #[arg(long, default_value_t = 7)]
        repeat: usize,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Threads each query searches the index's segments on (0: one per core).
        #[arg(long, default_value_t = 0)]
        search_threads: usize,
    },
    /// Time the index's text analysis, the stemmer apart, and a memoizing stemmer.
    Analysis {
        /// Records file (any format `paperboy import` reads).
        #[arg(long)]
        records: PathBuf,
    },
    /// Search by meaning at scale: vector index build, memory, HNSW recall@10, hybrid latency.
    Hybrid {
        #[arg(long)]
        model_dir: PathBuf,
        /// An empty (or absent) directory for the database, indexes and vector file.
        #[arg(long)]
        work_dir: PathBuf,
        #[command(flatten)]
        set: QuerySet,
        /// Papers in the corpus (the records, repeated under shifted ids beyond their number).
        #[arg(long, default_value_t = 75_000)]
        papers: usize,
        /// Real abstracts embedded as seeds of the synthetic vectors.
        #[arg(long, default_value_t = 1_000)]
        seeds: usize,
        /// Keep the seed vectors in this file (reused when it exists).
        #[arg(long)]
        seed_cache: Option<PathBuf>,
        /// Build the vector index one insert at a time under the write lock (as before batches),
        /// for comparison with the default: `upsert_many` in pages of 10,000, as a start-up
        /// loading vectors from the store does.
        #[arg(long)]
        one_at_a_time: bool,
    },
    /// Embedding speed: documents per second and the latency of one query's embedding.
    Embed {
        /// A sentence-transformers model folder (`paperboy model install --dir DIR`).
        #[arg(long)]
        model_dir: PathBuf,
        #[command(flatten)]
        set: QuerySet,
        /// How many documents (the first N records) to embed.
        #[arg(long, default_value_t = 256)]
        docs: usize,
        /// Documents per call, as the background worker sends them.
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// The kernels to measure, comma-separated (`auto`, `avx2`, `portable`, ...), or `all`:
        /// every kernel this CPU can run, one after another in this run.
        #[arg(long, default_value = "all")]
        kernel: String,
        /// Also write the embedded texts here, one JSON string a line (for comparisons).
        #[arg(long)]
        texts_out: Option<PathBuf>,
        /// Also write each kernel's vectors of the timed run here, as KERNEL.jsonl (one JSON
        /// array a line, in the texts' order), for comparisons.
        #[arg(long)]
        vectors_out: Option<PathBuf>,
        /// Timed passes per kernel, interleaved across kernels; the median pass is reported.
        #[arg(long, default_value_t = 1)]
        rounds: usize,
    },
    /// Write throughput of votes through the store: concurrent voters cast and retract votes for
    /// a fixed time on a SQLite file or a PostgreSQL database; checks every paper's count after.
    Votes {
        /// A new SQLite file (path or sqlite://PATH) or an empty PostgreSQL database
        /// (postgres://USER:PASSWORD@HOST:PORT/DB).
        #[arg(long)]
        url: String,
        /// Name of the store in the table (default: SQLite or PostgreSQL, from the URL).
        #[arg(long)]
        label: Option<String>,
        /// Papers voted on.
        #[arg(long, default_value_t = 50)]
        papers: usize,
        /// Accounts signed in to vote (shared out among the voters).
        #[arg(long, default_value_t = 1_000)]
        accounts: usize,
        /// Voters: tokio tasks voting at once, each waiting for its vote's answer.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// How long the voters vote.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Print the table header first.
        #[arg(long)]
        header: bool,
    },
    /// Print the query set, one per line, or write it as a wrk Lua script.
    Queries {
        #[command(flatten)]
        set: QuerySet,
        /// Write a wrk script requesting PATH?q=QUERY for each query in turn.
        #[arg(long)]
        lua: Option<PathBuf>,
        #[arg(long, default_value = "/search")]
        path: String,
        /// Extra query-string parameters for the Lua script, e.g. `limit=10`.
        #[arg(long, default_value = "")]
        params: String,
    },
}

/// Creates a benchmark's work directory, which must be empty or absent: old files would be
/// measured with the new ones.
fn fresh_work_dir(dir: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !dir.exists() || std::fs::read_dir(dir)?.next().is_none(),
        "{} must be empty or absent",
        dir.display()
    );
    std::fs::create_dir_all(dir)?;
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Generate(o) => generate::run(o),
        Command::Digest(o) => digest::run(&runtime()?, o),
        Command::Phases { work_dir, files } => phases::run(
            &runtime()?,
            phases::Options {
                records: files,
                work_dir,
            },
        ),
        Command::Search {
            data_dir,
            set,
            rounds,
            limit,
            fts_dir,
            title_boost,
        } => search::run(
            &runtime()?,
            search::Options {
                data_dir,
                records: set.records,
                queries: set.queries,
                seed: set.seed,
                rounds: rounds.max(1),
                limit,
                fts_dir,
                title_boost,
            },
        ),
        Command::Http {
            url,
            set,
            rounds,
            path,
            params,
            header,
            slowest,
        } => {
            if header {
                http::header();
            }
            http::run(http::Options {
                url,
                records: set.records,
                queries: set.queries,
                seed: set.seed,
                rounds: rounds.max(1),
                path,
                params,
                slowest,
            })
        }
        Command::Hybrid {
            model_dir,
            work_dir,
            set,
            papers,
            seeds,
            seed_cache,
            one_at_a_time,
        } => hybrid::run(
            &runtime()?,
            hybrid::Options {
                model_dir,
                records: set.records,
                work_dir,
                papers,
                seeds,
                seed_cache,
                one_at_a_time,
                queries: set.queries,
                seed: set.seed,
            },
        ),
        Command::Embed {
            model_dir,
            set,
            docs,
            batch,
            kernel,
            texts_out,
            vectors_out,
            rounds,
        } => embed::run(embed::Options {
            model_dir,
            records: set.records,
            docs,
            batch,
            kernels: embed::kernels(&kernel)?,
            texts_out,
            vectors_out,
            rounds,
            queries: set.queries,
            seed: set.seed,
        }),
        Command::Votes {
            url,
            label,
            papers,
            accounts,
            concurrency,
            seconds,
            seed,
            header,
        } => {
            if header {
                votes::header();
            }
            votes::run(
                &runtime()?,
                votes::Options {
                    url,
                    label,
                    papers,
                    accounts,
                    concurrency,
                    duration: std::time::Duration::from_secs_f64(seconds),
                    seed,
                },
            )
        }
        Command::Probe {
            index,
            repeat,
            limit,
            search_threads,
        } => {
            paperboy_search::text::set_search_threads(search_threads);
            probe::run(probe::Options {
                index,
                repeat: repeat.max(1),
                limit,
            })
        }
        Command::Analysis { records } => analysis::run(analysis::Options { records }),
        Command::Queries {
            set,
            lua,
            path,
            params,
        } => {
            let papers = queries::load_papers(&set.records)?;
            let qs = queries::generate(&papers, set.queries, set.seed);
            match lua {
                Some(file) => {
                    let extra = if params.is_empty() {
                        String::new()
                    } else {
                        format!("&{}", params.trim_start_matches('&'))
                    };
                    std::fs::write(&file, queries::wrk_lua(&qs, &path, &extra))?;
                    eprintln!("wrote {} requests to {}", qs.len(), file.display());
                }
                None => {
                    for q in qs {
                        println!("{}\t{}", q.kind.name(), q.text);
                    }
                }
            }
            Ok(())
        }
    }
}
