//! 50 accounts vote and unvote at once for a minute against the real binary; in the end the stored
//! counts equal the vote rows and the API shows imported + local. A test binary of its own: cargo
//! runs test binaries one after another, so this load does not starve the end-to-end tests.

#[path = "e2e/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "e2e/people.rs"]
#[allow(dead_code)]
mod people;

use std::time::{Duration, Instant};

use serde_json::Value;

use common::*;
use people::{Process, Visitor};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_accounts_voting_at_once_leave_exact_counts() {
    let server = Process::start(&[
        ("PAPERBOY_LIMIT_SIGN_IN_MAILS_PER_HOUR", "1000".into()),
        ("PAPERBOY_LIMIT_VOTES_PER_MINUTE", "100000".into()),
    ])
    .await;
    let items = Visitor::new(&server.base)
        .get("/api/daily_papers")
        .await
        .json();
    let ids: Vec<String> = item_ids(&items).into_iter().take(3).collect();
    let imported: Vec<i64> = items.as_array().unwrap()[..3]
        .iter()
        .map(|i| i["paper"]["upvotes"].as_i64().unwrap())
        .collect();

    let mut people = Vec::new();
    for n in 0..50 {
        let v = Visitor::signed_in(&server, &format!("voter{n}@example.org")).await;
        people.push(v);
    }
    let run_for = Duration::from_secs(
        std::env::var("E2E_RACE_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (n, v) in people.into_iter().enumerate() {
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut k = n;
            let mut votes = 0u64;
            while started.elapsed() < run_for {
                let id = &ids[k % ids.len()];
                let up = if (k / ids.len()).is_multiple_of(2) {
                    "1"
                } else {
                    "0"
                };
                let r = v
                    .post_json(&format!("/papers/{id}/vote"), &[("up", up)])
                    .await;
                if r.status != 200 {
                    return Err(format!("{}: {}", r.status, r.body));
                }
                k += 1;
                votes += 1;
            }
            Ok(votes)
        }));
    }
    let mut total = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(n) => total += n,
            Err(e) => panic!(
                "a vote failed with {e}; the server's errors:\n{}",
                server.log_matching("rror").join("\n")
            ),
        }
    }
    eprintln!("{total} votes and unvotes in {:?}", started.elapsed());
    assert!(total > 500, "the race ran: {total}");

    // The stored count equals the vote rows, and the API shows imported + that count.
    let db = rusqlite::Connection::open(server.dir.path().join("paperboy.sqlite3")).unwrap();
    for (id, imported) in ids.iter().zip(imported) {
        let (rows, local): (i64, i64) = db
            .query_row(
                "SELECT (SELECT COUNT(*) FROM votes WHERE paper_id = ?1), local_upvotes FROM papers WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(rows, local, "{id}: local_upvotes equals the vote rows");
        let paper: Value = Visitor::new(&server.base)
            .get(&format!("/api/papers/{id}"))
            .await
            .json();
        assert_eq!(
            paper["upvotes"],
            imported + rows,
            "{id}: the API shows the same"
        );
    }
    server.stop().await;
}
