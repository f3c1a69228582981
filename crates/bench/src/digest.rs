//! Digests for many subscribers: real arXiv records (their last days are "new"), a few hundred
//! votes on new papers so something trends, N confirmed subscribers with one category, one author
//! and one saved search each (drawn from the real categories and authors of the new papers and
//! from generated research queries), composed by `paperboy_cli::digest::run` and handed by
//! `paperboy_cli::digest::send` to a real local SMTP server (Python's aiosmtpd delivering into a
//! maildir), recorder and sender running side by side as in `paperboy serve`. With `--readers
//! N` the first N subscribers are signed-in readers who follow their category and saved papers
//! of it: their digests open with a "For you" section, ranked by their stored models.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{NaiveTime, TimeZone, Utc};
use paperboy_cli::digest::{self, DigestContext};
use paperboy_cli::import::{self, Source};

use paperboy_search::semantic::Semantic;
use paperboy_search::{SearchIndex, Searcher, SemanticSlot};
use paperboy_store::{Frequency, SignUp, Topics};

use crate::queries::Rng;

// The arguments of `paperboy-bench digest` (a `//` comment: a doc comment would be its help).
#[derive(clap::Args)]
pub struct Options {
    /// Records to import (any format `paperboy import` reads), e.g. the arXiv listings.
    #[arg(long)]
    pub records: PathBuf,
    #[arg(long, default_value_t = 100_000)]
    pub subscribers: usize,
    /// Distinct saved searches subscribers draw from (at most 1,000).
    #[arg(long, default_value_t = 1_000)]
    pub queries: usize,
    /// Embedding model folder: saved searches run hybrid (else keyword).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// An empty (or absent) directory for the database, index and maildir.
    #[arg(long)]
    pub work_dir: PathBuf,
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// A running SMTP server to hand the mail to (e.g. smtp://127.0.0.1:25, a local Postfix);
    /// without it, aiosmtpd is started and delivers into a maildir that is then counted.
    #[arg(long)]
    pub smtp_url: Option<String>,
    /// How many of the subscribers are signed-in readers with a for-you model (they follow
    /// their category and saved --saves earlier papers of it; models trained before the run).
    #[arg(long, default_value_t = 0)]
    pub readers: usize,
    /// Papers each reader saved.
    #[arg(long, default_value_t = 30)]
    pub saves: usize,
}

const METHODS: &[&str] = &[
    "diffusion models",
    "large language models",
    "vision transformers",
    "reinforcement learning",
    "graph neural networks",
    "retrieval augmented generation",
    "mixture of experts",
    "state space models",
    "contrastive learning",
    "knowledge distillation",
    "chain of thought reasoning",
    "instruction tuning",
    "preference optimization",
    "speculative decoding",
    "quantization",
    "neural radiance fields",
    "gaussian splatting",
    "flow matching",
    "autoregressive image generation",
    "multimodal agents",
    "world models",
    "sparse attention",
    "low-rank adaptation",
    "tokenizers",
    "reward models",
    "video generation",
    "speech recognition",
    "text-to-speech",
    "code generation",
    "mathematical reasoning",
    "tool use",
    "long context",
    "in-context learning",
    "self-supervised learning",
    "federated learning",
    "uncertainty estimation",
    "interpretability",
    "adversarial robustness",
    "data curation",
    "synthetic data",
];

const DOMAINS: &[&str] = &[
    "robotics",
    "medical imaging",
    "autonomous driving",
    "protein design",
    "drug discovery",
    "weather forecasting",
    "education",
    "software engineering",
    "scientific discovery",
    "recommendation",
    "music",
    "3D scenes",
    "mobile devices",
    "low-resource languages",
    "legal documents",
    "finance",
    "remote sensing",
    "video understanding",
    "dialogue systems",
    "web agents",
    "chemistry",
    "materials science",
    "healthcare",
    "games",
    "translation",
];

fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

pub fn run(rt: &tokio::runtime::Runtime, o: Options) -> anyhow::Result<()> {
    rt.block_on(run_async(o))
}

async fn run_async(o: Options) -> anyhow::Result<()> {
    std::fs::create_dir_all(&o.work_dir)?;
    let db = o.work_dir.join("paperboy.sqlite3");
    anyhow::ensure!(
        !db.exists(),
        "{} exists: give an empty --work-dir",
        db.display()
    );
    let store = paperboy_store::open(db.to_str().context("path")?, true)?;
    let setup = Instant::now();
    import::import(&store, Source::File(o.records.clone()), false).await?;
    let (index, _) = SearchIndex::open(&o.work_dir.join("index"))?;
    let index = Arc::new(index);
    index.catch_up(&*store, |_| {}).await?;
    let papers = store.stats().await?.papers;
    eprintln!(
        "imported and indexed {papers} papers in {:.0} s",
        setup.elapsed().as_secs_f64()
    );
    // The newest papers: those of the last three days are what digests bring.
    let mut categories = std::collections::BTreeSet::new();
    let mut authors = std::collections::BTreeSet::new();
    let mut fresh = Vec::new();
    // Earlier papers by primary category: what readers saved.
    let mut earlier: std::collections::HashMap<String, Vec<paperboy_core::ArxivId>> =
        Default::default();
    let mut last_day = None;
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = store.papers_page(cursor.as_deref(), 1000).await?;
        for v in &page {
            let day = v
                .paper
                .published
                .context("a record without a date")?
                .date_naive();
            let last = *last_day.get_or_insert(day);
            if last - day >= chrono::Duration::days(3) {
                if let Some(c) = v.paper.primary_category() {
                    earlier
                        .entry(c.to_owned())
                        .or_default()
                        .push(v.paper.id.clone());
                }
                continue;
            }
            categories.extend(v.paper.categories.iter().cloned());
            authors.extend(v.paper.authors.iter().map(|a| a.name.clone()));
            fresh.push(v.paper.id.clone());
        }
        match next {
            Some(n) if !page.is_empty() => cursor = Some(n),
            _ => break,
        }
    }
    let last_day = last_day.context("no papers")?;
    let now = Utc.from_utc_datetime(
        &(last_day + chrono::Duration::days(1))
            .and_time(NaiveTime::from_hms_opt(7, 0, 0).expect("time")),
    );
    // Saved searches rank by meaning only among papers passing their date filter (the new
    // ones), so only those need vectors: embedding all 74,728 would take hours here.
    let semantic = match &o.model_dir {
        Some(dir) => {
            let embedder = Arc::new(paperboy_search::embed::Embedder::load(dir)?);
            let s = Semantic::with_embedder(embedder.clone());
            let t = Instant::now();
            for chunk in fresh.chunks(32) {
                let views = store.papers(chunk).await?;
                let texts: Vec<String> = views
                    .iter()
                    .map(|v| paperboy_search::semantic::paper_text(&v.paper))
                    .collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                for (v, e) in views.iter().zip(embedder.embed(&refs)?) {
                    s.vectors().upsert(v.paper.id.clone(), &e);
                }
            }
            eprintln!(
                "embedded the {} new papers in {:.0} s",
                fresh.len(),
                t.elapsed().as_secs_f64()
            );
            Some(Arc::new(s))
        }
        None => None,
    };
    // 300 votes from 100 accounts on the new papers, over the last day.
    let mut rng = Rng::new(7);
    for a in 0..100 {
        let account = store
            .sign_in(&format!("voter{a}@example.org"), &[], now)
            .await?;
        for _ in 0..3 {
            let at = now - chrono::Duration::minutes(rng.below(1440) as i64);
            store
                .vote(account.id, &fresh[rng.below(fresh.len())], true, at)
                .await?;
        }
    }
    let categories: Vec<String> = categories.into_iter().collect();
    let authors: Vec<String> = authors.into_iter().collect();
    let queries: Vec<String> = METHODS
        .iter()
        .flat_map(|m| DOMAINS.iter().map(move |d| format!("{m} for {d}")))
        .take(o.queries.max(1))
        .collect();
    let mut rng = Rng::new(42);
    let mut readers = Vec::new();
    // Readers save papers of categories with a history.
    let with_history: Vec<&String> = categories
        .iter()
        .filter(|c| {
            earlier
                .get(*c)
                .is_some_and(|e| e.len() >= o.saves.max(1) * 4)
        })
        .collect();
    anyhow::ensure!(
        o.readers == 0 || !with_history.is_empty(),
        "no category has enough earlier papers for readers"
    );
    for n in 0..o.subscribers {
        let reader = n < o.readers;
        let category = match reader {
            true => with_history[rng.below(with_history.len())].clone(),
            false => categories[rng.below(categories.len())].clone(),
        };
        let topics = Topics {
            categories: vec![category.clone()],
            authors: vec![authors[rng.below(authors.len())].clone()],
            searches: vec![queries[rng.below(queries.len())].clone()],
        };
        let email = format!("reader{n}@example.org");
        let account = match reader {
            true => {
                let a = store.sign_in(&email, &[], now).await?;
                let key = category.as_str();
                let cat = paperboy_store::FollowKind::Category;
                store.follow(a.id, cat, key, key, true, now).await?;
                let pool = &earlier[&category];
                for _ in 0..o.saves {
                    store
                        .save(a.id, &pool[rng.below(pool.len())], true, now)
                        .await?;
                }
                readers.push(a.id);
                Some(a.id)
            }
            false => None,
        };
        let SignUp::SendConfirmation(s) = store
            .sign_up(&email, Frequency::Daily, &topics, account, now)
            .await?
        else {
            anyhow::bail!("reader{n} was not new");
        };
        store.confirm_subscription(s.id, now).await?;
    }
    // Each reader's model, trained and stored as a visit to /for-you would.
    let trained = Instant::now();
    {
        let mut state = paperboy_web::state::AppState::new(
            store.clone(),
            index.clone(),
            paperboy_web::state::WebSettings::default(),
        );
        if let Some(s) = &semantic {
            state.semantic = Arc::new(SemanticSlot::loaded(s.clone()));
        }
        for a in &readers {
            paperboy_web::foryou::model(&state, *a)
                .await
                .map_err(|e| anyhow::anyhow!("train: {}", e.message))?;
        }
        if !readers.is_empty() {
            eprintln!(
                "trained {} readers' models in {:.1} s",
                readers.len(),
                trained.elapsed().as_secs_f64()
            );
        }
        // What a digest's for-you section costs a reader, part by part, on a fresh engine (as
        // the digest run has): up to 1,000 readers.
        let mut state = state.clone();
        state.foryou = Default::default();
        let (mut load, mut pool, mut rank) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        let sample = &readers[..readers.len().min(1000)];
        for a in sample {
            let t = Instant::now();
            let model = paperboy_web::foryou::model(&state, *a)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            load += t.elapsed();
            let t = Instant::now();
            let p = paperboy_web::foryou::day_pool(&state, model.categories(), None)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            pool += t.elapsed();
            let t = Instant::now();
            paperboy_web::foryou::rank_pool(&state, &model, p, 30)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            rank += t.elapsed();
        }
        if !sample.is_empty() {
            let ms = |d: Duration| d.as_secs_f64() * 1000.0 / sample.len() as f64;
            eprintln!(
                "for you, per reader ({} readers): model loaded {:.2} ms, day's papers read {:.2} ms, ranked {:.2} ms",
                sample.len(),
                ms(load),
                ms(pool),
                ms(rank)
            );
        }
    }
    eprintln!(
        "set up {papers} papers ({} new), {} subscribers in {:.0} s",
        fresh.len(),
        o.subscribers,
        setup.elapsed().as_secs_f64()
    );

    // A real SMTP server: the one given, else aiosmtpd delivering into a maildir.
    let maildir = o.work_dir.join("maildir");
    let (url, mut smtp) = match &o.smtp_url {
        Some(url) => (url.clone(), None),
        None => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let child = tokio::process::Command::new(&o.python)
                .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(&maildir)
                .kill_on_drop(true)
                .spawn()
                .context("start python3 -m aiosmtpd (pip install aiosmtpd)")?;
            let started = Instant::now();
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                anyhow::ensure!(
                    started.elapsed() < Duration::from_secs(20),
                    "aiosmtpd did not start"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (format!("smtp://127.0.0.1:{port}"), Some(child))
        }
    };
    let mailer = paperboy_mail::Mailer::new(
        &url,
        "paperboy <digest@example.org>",
        paperboy_mail::Templates::new(None),
    )?;

    let wake = Arc::new(tokio::sync::Notify::new());
    let recording = Arc::new(AtomicBool::new(true));
    let t0 = Instant::now();
    let sender = {
        let (store, mailer, wake, recording) = (
            store.clone(),
            mailer.clone(),
            wake.clone(),
            recording.clone(),
        );
        tokio::spawn(async move {
            let mut sent = 0;
            loop {
                let still_recording = recording.load(Ordering::SeqCst);
                let s = digest::send(&store, &mailer, now, chrono::Duration::seconds(60))
                    .await?
                    .context("the sender lock is free")?;
                sent += s.sent;
                anyhow::ensure!(s.retried + s.failed == 0, "delivery failed: {s:?}");
                if !still_recording && s.sent == 0 {
                    return Ok::<_, anyhow::Error>(sent);
                }
                if s.sent == 0 {
                    wake.notified().await;
                }
            }
        })
    };
    let slot = match &semantic {
        Some(s) => SemanticSlot::loaded(s.clone()),
        None => {
            let slot = SemanticSlot::default();
            slot.set_unavailable("no --model-dir");
            slot
        }
    };
    // The site's search, as `paperboy serve` hands it to digests.
    let searcher = Searcher::new(index.clone(), Arc::new(slot));
    let cx = DigestContext {
        store: &store,
        searcher: &searcher,
        mailer: &mailer,
        site: "paperboy",
        public_url: "http://paperboy.example.org",
        trending: Default::default(),
        wake: Some(wake.clone()),
    };
    let summary = digest::run(&cx, Frequency::Daily, now).await?;
    let recorded_in = t0.elapsed();
    recording.store(false, Ordering::SeqCst);
    wake.notify_one();
    let sent = sender.await??;
    let total = t0.elapsed();
    anyhow::ensure!(
        sent == summary.recorded,
        "recorded {}, sent {sent}",
        summary.recorded
    );
    let server = match smtp.as_mut() {
        Some(child) => {
            let delivered = count_files(&maildir.join("new"));
            let _ = child.kill().await;
            anyhow::ensure!(
                delivered as u64 == sent,
                "sent {sent}, delivered {delivered}"
            );
            "aiosmtpd (maildir)".to_owned()
        }
        None => url.clone(),
    };
    let mode = if semantic.is_some() {
        "hybrid (MiniLM)"
    } else {
        "keyword"
    };
    println!("| subscribers | for-you readers | topics each (distinct) | saved searches | SMTP server | recorded | nothing new | composed in | all handed to SMTP in | mails/s | peak RSS |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} ({} saves each) | 3 ({} categories, {} authors, {} queries; {} looked up) | {mode} | {server} | {} | {} | {:.1} s | {:.1} s | {:.0} | {:.0} MiB |",
        o.subscribers,
        o.readers,
        o.saves,
        categories.len(),
        authors.len(),
        queries.len(),
        summary.topics,
        summary.recorded,
        summary.nothing_new,
        recorded_in.as_secs_f64(),
        total.as_secs_f64(),
        sent as f64 / total.as_secs_f64(),
        crate::stats::rss_peak_mib()
    );
    Ok(())
}
