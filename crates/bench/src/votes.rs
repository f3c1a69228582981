//! Write throughput of votes through the `Store` trait, on any backend `paperboy_store::open`
//! knows (a SQLite file or a PostgreSQL database): C concurrent tasks cast and retract votes for
//! a fixed time, each vote timed from the call to its answer. Each task owns its own accounts and
//! remembers which of their votes stand, so at the end the expected count of every paper is known
//! exactly; the run fails unless each paper's vote rows (`count_votes`), its kept count
//! (`local_upvotes`) and that expectation agree.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use chrono::Utc;
use paperboy_core::{ArxivId, Paper};
use paperboy_store::Store;

use crate::queries::Rng;
use crate::stats::Samples;

pub struct Options {
    /// A SQLite path (or `sqlite://PATH`) or `postgres://...`; the database must be new or empty.
    pub url: String,
    /// The name shown in the table; default from the URL's scheme.
    pub label: Option<String>,
    pub papers: usize,
    pub accounts: usize,
    pub concurrency: usize,
    pub duration: Duration,
    pub seed: u64,
}

pub fn header() {
    println!("| store | concurrent voters | votes cast and retracted | votes/s | median | p99 | max | counts exact |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
}

/// What one voter did: its latencies and the (account, paper) votes standing at the end.
struct Voter {
    latencies: Vec<Duration>,
    standing: HashSet<(usize, usize)>,
}

pub fn run(rt: &tokio::runtime::Runtime, o: Options) -> anyhow::Result<()> {
    ensure!(o.papers > 0, "--papers must be at least 1");
    ensure!(
        o.concurrency >= 1 && o.accounts >= o.concurrency,
        "need 1 <= --concurrency <= --accounts (each voter owns its accounts)"
    );
    let postgres = o.url.starts_with("postgres://") || o.url.starts_with("postgresql://");
    let label = o
        .label
        .clone()
        .unwrap_or_else(|| if postgres { "PostgreSQL" } else { "SQLite" }.to_string());
    // Opened outside the runtime: the PostgreSQL backend connects on a plain thread.
    let store: Arc<dyn Store> = paperboy_store::open(&o.url, true).context("open the store")?;
    rt.block_on(async move {
        ensure!(
            store.is_empty().await?,
            "the database is not empty: give a new SQLite file or a fresh PostgreSQL database"
        );
        // Setup, not timed: the papers and the accounts.
        let ids: Vec<ArxivId> = (0..o.papers)
            .map(|i| ArxivId::parse(&format!("2601.{:05}", i + 1)).expect("a valid id"))
            .collect();
        let papers = ids
            .iter()
            .map(|id| {
                let mut p = Paper::new(id.clone(), format!("Paper {id} to vote on"));
                p.summary = "A paper the vote benchmark imports.".into();
                (p, None)
            })
            .collect();
        store.import(papers).await?;
        let mut accounts = Vec::with_capacity(o.accounts);
        for i in 0..o.accounts {
            let a = store
                .sign_in(&format!("voter{i}@bench.invalid"), &[], Utc::now())
                .await?;
            accounts.push(a.id);
        }
        let ids = Arc::new(ids);
        let accounts = Arc::new(accounts);

        let start = Instant::now();
        let deadline = start + o.duration;
        let mut tasks = Vec::with_capacity(o.concurrency);
        for t in 0..o.concurrency {
            let (store, ids, accounts) = (store.clone(), ids.clone(), accounts.clone());
            let mut rng = Rng::new(o.seed ^ ((t as u64 + 1) << 32));
            // Voter t owns the accounts t, t + C, t + 2C, ...
            let own: Vec<usize> = (t..accounts.len()).step_by(o.concurrency).collect();
            tasks.push(tokio::spawn(async move {
                let mut v = Voter {
                    latencies: Vec::new(),
                    standing: HashSet::new(),
                };
                while Instant::now() < deadline {
                    let a = own[rng.below(own.len())];
                    let p = rng.below(ids.len());
                    let up = !v.standing.contains(&(a, p));
                    let t0 = Instant::now();
                    let outcome = store.vote(accounts[a], &ids[p], up, Utc::now()).await?;
                    v.latencies.push(t0.elapsed());
                    let outcome = outcome.context("a known paper's vote answered None")?;
                    ensure!(
                        outcome.voted == up,
                        "a vote answered {outcome:?} for up={up}"
                    );
                    if up {
                        v.standing.insert((a, p));
                    } else {
                        v.standing.remove(&(a, p));
                    }
                }
                anyhow::Ok(v)
            }));
        }
        let mut samples = Samples::default();
        let mut expected = vec![0i64; ids.len()];
        for task in tasks {
            let v = task.await??;
            for d in v.latencies {
                samples.push(d);
            }
            for (_, p) in v.standing {
                expected[p] += 1;
            }
        }
        let elapsed = start.elapsed();

        // Every paper: vote rows = kept count = what the voters know they left standing.
        let mut wrong = Vec::new();
        for (p, id) in ids.iter().enumerate() {
            let rows = store.count_votes(id).await?;
            let kept = store
                .paper(id)
                .await?
                .context("an imported paper is missing")?
                .local_upvotes;
            if rows != expected[p] || kept != expected[p] {
                wrong.push(format!(
                    "{id}: {rows} vote rows, local_upvotes {kept}, expected {}",
                    expected[p]
                ));
            }
        }
        let standing: i64 = expected.iter().sum();
        println!(
            "| {label} | {} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.1} ms | {} |",
            o.concurrency,
            samples.len(),
            samples.len() as f64 / elapsed.as_secs_f64(),
            samples.median_ms(),
            samples.p99_ms(),
            samples.max_ms(),
            if wrong.is_empty() {
                format!("yes: {} papers, {standing} votes standing", ids.len())
            } else {
                format!("**NO**: {} of {} papers wrong", wrong.len(), ids.len())
            }
        );
        if !wrong.is_empty() {
            for w in &wrong {
                eprintln!("{w}");
            }
            bail!("counts drifted on {} papers", wrong.len());
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_votes_on_sqlite_keep_exact_counts() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = dir.path().join("votes.sqlite3");
        let voting_for = |ms| Options {
            url: url.to_str().unwrap().to_owned(),
            label: None,
            papers: 3,
            accounts: 8,
            concurrency: 4,
            duration: Duration::from_millis(ms),
            seed: 7,
        };
        run(&rt, voting_for(200)).unwrap();
        // A second run on the same database is refused: its counts could not be checked.
        let again = run(&rt, voting_for(10));
        assert!(again.is_err());
    }
}
