//! Several paperboy nodes on one PostgreSQL database, as behind a load balancer: the real binary
//! three times on loopback ports over a fresh database each test (dropped after it).
//!
//! - Votes spread over three nodes while one is SIGKILLed and restarted: every node ends with
//!   the same counts, equal to the votes cast; a paper submitted on one node is found by search
//!   on the others within seconds.
//! - A digest run with three nodes sending to a real SMTP server, the recording node SIGKILLed
//!   mid-run: every subscriber gets exactly one digest.
//! - Three nodes embed one backlog together, one SIGKILLed midway: every paper is embedded
//!   exactly once (a trigger counts the embedding writes), and all nodes answer a search by
//!   meaning alike.
//! - `paperboy migrate` SQLite -> PostgreSQL -> SQLite leaves every row as it was.
//! - A rate limit holds for the nodes together, not per node.
//!
//! A binary of its own: cargo runs test binaries one after another, so three servers' load does
//! not starve the other end-to-end tests. Skipped without `POSTGRES_TEST_URL` (failing
//! under `CI=true`, where `.ci/run` starts PostgreSQL).

#[path = "e2e/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "e2e/people.rs"]
#[allow(dead_code)]
mod people;
#[path = "e2e/smtp.rs"]
#[allow(dead_code)]
mod smtp;

use std::time::{Duration, Instant};

use paperboy_store::postgres::TestDatabase;
use serde_json::Value;

use common::*;
use people::{Process, Visitor};

fn node_env(db: &TestDatabase, extra: &[(&str, String)]) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> = vec![
        ("PAPERBOY_DATABASE_URL", db.url().to_owned()),
        ("PAPERBOY_LIMIT_SIGN_IN_MAILS_PER_HOUR", "1000".into()),
        ("PAPERBOY_LIMIT_VOTES_PER_MINUTE", "100000".into()),
    ];
    for (k, v) in extra {
        env.push((Box::leak(k.to_string().into_boxed_str()), v.clone()));
    }
    env
}

/// Starts the first node (which imports the demo into the empty database), then two more.
async fn three_nodes(env: &[(&str, String)]) -> Vec<Process> {
    let first = Process::start(env).await;
    let (b, c) = tokio::join!(Process::start(env), Process::start(env));
    vec![first, b, c]
}

/// The demo papers imported into `store` before any node starts.
async fn demo_into(
    store: &std::sync::Arc<dyn paperboy_store::Store>,
) -> paperboy_cli::import::Summary {
    paperboy_cli::import::import(
        store,
        paperboy_cli::import::Source::Bytes {
            name: "demo.tar.gz".into(),
            data: paperboy_cli::DEMO,
        },
        false,
    )
    .await
    .unwrap()
}

/// `/api/papers/{id}` on the node at `base`.
async fn paper_on(base: &str, id: &str) -> Value {
    http()
        .get(format!("{base}/api/papers/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn upvotes_on(base: &str, id: &str) -> i64 {
    let v = paper_on(base, id).await;
    v["upvotes"].as_i64().unwrap_or_else(|| panic!("{v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_for_two_nodes_together() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    // Three sign-in mails per address, and per client address (the factor is 1), per hour.
    let env = vec![
        ("PAPERBOY_DATABASE_URL", db.url().to_owned()),
        ("PAPERBOY_LIMIT_SIGN_IN_MAILS_PER_HOUR", "3".to_string()),
        ("PAPERBOY_LIMIT_IP_FACTOR", "1".to_string()),
    ];
    let a = Process::start(&env).await;
    let b = Process::start(&env).await;
    let v = Visitor::arrived(&a.base).await;
    let mut statuses = Vec::new();
    for n in 0..5 {
        // Alternate nodes, as a load balancer would; a new address each time, so only the
        // client's own allowance counts.
        let node = if n % 2 == 0 { &a } else { &b };
        let r = v
            .at(&node.base)
            .post("/login", &[("email", &format!("reader{n}@example.org"))])
            .await;
        statuses.push(r.status);
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429],
        "two nodes allow what one does, not twice as much"
    );
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_count_every_vote_while_one_is_killed_and_restarted() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let Some((arxiv, arxiv_ids)) = replay_arxiv().await else {
        return;
    };
    let env = node_env(&db, &[("PAPERBOY_ARXIV_API_URL", arxiv)]);
    let mut nodes = three_nodes(&env).await;
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();

    let items = Visitor::new(&bases[0])
        .get("/api/daily_papers")
        .await
        .json();
    let papers: Vec<String> = item_ids(&items).into_iter().take(5).collect();
    let mut before = Vec::new();
    for id in &papers {
        before.push(upvotes_on(&bases[0], id).await);
    }

    // Twelve people, each signed in on one node; their session works on every node.
    let mut people = Vec::new();
    for n in 0..12 {
        let node = &nodes[n % 3];
        let v = Visitor::signed_in(node, &format!("voter{n}@example.org")).await;
        people.push(v);
    }

    // Each person votes for every paper, takes one vote back and casts it again, each request
    // to the next node in turn; a request to a node that is down goes to the next one, as a load
    // balancer would send it. Meanwhile node 1 is killed and started again.
    let load: Vec<_> = people
        .iter()
        .enumerate()
        .map(|(n, person)| {
            let (person, bases, papers) = (person.clone(), bases.clone(), papers.clone());
            tokio::spawn(async move {
                let mut plan: Vec<(String, &str)> =
                    papers.iter().map(|p| (p.clone(), "1")).collect();
                plan.push((papers[0].clone(), "0"));
                plan.push((papers[0].clone(), "1"));
                let mut turn = n;
                let mut failovers = 0;
                for (paper, up) in plan {
                    let started = Instant::now();
                    loop {
                        turn += 1;
                        let node = person.at(&bases[turn % 3]);
                        match node
                            .try_post_json(&format!("/papers/{paper}/vote"), &[("up", up)])
                            .await
                        {
                            Ok(r) if r.status == 200 => break,
                            Ok(r) if r.status >= 500 => failovers += 1,
                            Ok(r) => panic!("vote refused: {} {}", r.status, r.body),
                            Err(_) => failovers += 1,
                        }
                        assert!(started.elapsed() < PATIENCE, "no node took the vote");
                    }
                    // A person's pace, so the load is still going when the node dies.
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
                failovers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let killed = nodes.remove(1);
    let dir = killed.kill().await;
    let restarted = Process::start_in(dir, &env).await;
    let mut failovers = 0;
    for task in load {
        failovers += task.await.unwrap();
    }
    nodes.insert(1, restarted);
    eprintln!("votes done; {failovers} requests went to another node");

    // Every node shows imported + 12 for every paper: the votes cast, each counted once.
    for node in &nodes {
        for (id, imported) in papers.iter().zip(&before) {
            assert_eq!(
                upvotes_on(&node.base, id).await,
                imported + 12,
                "{id} on {}",
                node.base
            );
        }
    }
    let store = paperboy_store::open(db.url(), false).unwrap();
    for id in &papers {
        let id = paperboy_core::ArxivId::parse(id).unwrap();
        assert_eq!(store.count_votes(&id).await.unwrap(), 12);
    }

    // A comment made on node 2 is on the paper's page of node 0 at once.
    let r = people[1]
        .at(&nodes[2].base)
        .post(
            &format!("/papers/{}/comments", papers[1]),
            &[("body", "Seen from every node")],
        )
        .await;
    assert!(r.status < 400, "{} {}", r.status, r.body);
    let page = Visitor::new(&nodes[0].base)
        .get(&format!("/papers/{}", papers[1]))
        .await;
    assert!(page.body.contains("Seen from every node"), "{}", page.body);

    // A paper submitted on node 0 is found by search on nodes 1 and 2 within seconds.
    let new_id = &arxiv_ids[1];
    let r = people[0]
        .at(&nodes[0].base)
        .post("/submit", &[("paper", new_id)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let submitted = Instant::now();
    let title = paper_on(&nodes[0].base, new_id).await;
    let words: String = title["title"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .take(6)
        .collect::<Vec<_>>()
        .join(" ");
    for node in &nodes[1..] {
        let url = format!(
            "{}/api/papers/search?q={}&mode=keyword",
            node.base,
            urlencode(&words)
        );
        poll_json(
            "the submitted paper in another node's search",
            &url,
            |hits| {
                hits.as_array()?
                    .iter()
                    .any(|h| h["paper"]["id"] == new_id.as_str())
                    .then_some(())
            },
        )
        .await;
    }
    let seen_in = submitted.elapsed();
    eprintln!("the submission was found on the other nodes after {seen_in:?}");
    assert!(seen_in < Duration::from_secs(10), "{seen_in:?}");

    for node in &nodes {
        let r = http()
            .get(format!("{}/readyz", node.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    for node in nodes {
        node.stop().await;
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Files delivered into the maildir so far (read without parsing, to poll cheaply).
fn delivered(maildir: &std::path::Path) -> usize {
    std::fs::read_dir(maildir.join("new")).map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_send_each_digest_once_though_one_dies_mid_run() {
    const SUBSCRIBERS: usize = 1_500;
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let Some(smtp) = smtp::SmtpServer::start().await else {
        return;
    };
    // The demo papers, one fresh vote so something is trending, confirmed subscribers.
    let store = paperboy_store::open(db.url(), true).unwrap();
    let summary = demo_into(&store).await;
    assert!(summary.to_string().contains("new"), "{summary}");
    let now = chrono::Utc::now();
    smtp::vote_for_the_first_paper(&*store, now).await;
    for n in 0..SUBSCRIBERS {
        let email = format!("reader{n}@example.org");
        confirmed_subscriber(&*store, &email, &Default::default(), now).await;
    }

    let env = node_env(
        &db,
        &[
            ("PAPERBOY_SMTP_URL", smtp.url()),
            ("PAPERBOY_DIGEST_HOUR_UTC", "0".into()),
            ("PAPERBOY_DIGEST_WEEKDAYS_ONLY", "false".into()),
            ("PAPERBOY_DIGEST_POLL_SECONDS", "1".into()),
        ],
    );
    // All three at once, so that all are up while the digests go out.
    let (a, b, c) = tokio::join!(
        Process::start(&env),
        Process::start(&env),
        Process::start(&env)
    );
    let mut nodes = vec![a, b, c];
    // Mid-run: some mail is out, most is not. Kill the node that records the digests (it holds
    // the recorder's lease) if it is known, else the first.
    let started = Instant::now();
    while delivered(&smtp.maildir) < 100 {
        assert!(started.elapsed() < PATIENCE, "no digest was delivered");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let recorder = nodes
        .iter()
        .position(|n| n.log_contains("digests recorded"))
        .unwrap_or(0);
    let at_kill = delivered(&smtp.maildir);
    let killed = nodes.remove(recorder);
    killed.kill().await;
    eprintln!("killed node {recorder} after {at_kill} deliveries");

    poll("every digest sent", || {
        let store = store.clone();
        async move {
            let s = store.mail_stats().await.ok()?;
            (s.sent == SUBSCRIBERS as u64 && s.pending == 0).then_some(())
        }
    })
    .await;
    assert!(
        at_kill < SUBSCRIBERS,
        "the node died mid-run ({at_kill} of {SUBSCRIBERS} delivered)"
    );
    let messages = smtp.messages().await;
    let repeats = smtp::one_digest_each(&messages, SUBSCRIBERS);
    eprintln!(
        "{} messages for {SUBSCRIBERS} subscribers, {repeats} repeated",
        messages.len()
    );
    // A mail the killed node had handed to the SMTP server but not yet marked sent goes again,
    // with the same Message-ID: at most the one it had in flight.
    assert!(repeats <= 1, "{repeats} repeats after one kill");
    // The survivors both sent: the outbox was shared, not taken by one sender.
    let senders = nodes
        .iter()
        .filter(|n| n.log_contains("digests sent"))
        .count();
    assert_eq!(senders, 2, "both surviving nodes sent digests");
    for node in nodes {
        node.stop().await;
    }
}

/// SQL run by psql on `db`, which must succeed.
async fn psql(db: &TestDatabase, sql: &str) -> String {
    let ran = run_with_input(
        tokio::process::Command::new("psql").args(["-qAt", "-v", "ON_ERROR_STOP=1", db.url()]),
        sql.as_bytes(),
    )
    .await
    .expect("psql (Debian's postgresql-client)");
    ran.assert_success(sql);
    ran.stdout.trim().to_owned()
}

/// The semantic index's vectors, and those it embedded since it started, on the node at `base`.
async fn vectors_on(base: &str) -> (u64, u64) {
    let v = Visitor::new(base).get("/api/status").await.json();
    let s = &v["search"]["semantic"];
    (
        s["vectors"].as_u64().unwrap_or(0),
        s["embeddedSinceStart"].as_u64().unwrap_or(0),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_embed_one_backlog_once_though_one_dies_midway() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let Some(model) = model_dir() else { return };
    // The demo papers in the database before any node starts: one backlog for all three.
    let store = paperboy_store::open(db.url(), true).unwrap();
    demo_into(&store).await;
    let papers = store.stats().await.unwrap().papers;
    // Every write of an embedding, committed, counted by the database itself.
    psql(
        &db,
        "CREATE TABLE embedding_writes (paper_id TEXT NOT NULL);
         CREATE FUNCTION count_embedding_write() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN INSERT INTO embedding_writes VALUES (NEW.paper_id); RETURN NEW; END $$;
         CREATE TRIGGER embedding_written AFTER INSERT OR UPDATE ON embeddings
             FOR EACH ROW EXECUTE FUNCTION count_embedding_write();",
    )
    .await;
    let writes = || async { psql(&db, "SELECT COUNT(*) FROM embedding_writes").await };

    let env = node_env(&db, &[("PAPERBOY_MODEL_DIR", model.display().to_string())]);
    let (a, b, c) = tokio::join!(
        Process::start(&env),
        Process::start(&env),
        Process::start(&env)
    );
    let mut nodes = vec![a, b, c];
    // Midway: some papers are embedded, most are not.
    poll("the first embeddings", || async {
        let n: u64 = writes().await.parse().ok()?;
        (n >= 40).then_some(())
    })
    .await;
    let killed = nodes.remove(0);
    killed.kill().await;
    let at_kill: u64 = writes().await.parse().unwrap();
    eprintln!("killed a node after {at_kill} of {papers} embeddings");
    assert!(at_kill < papers, "the node died midway");

    // Embedding takes what the CPU makes it take (a debug build on a 2-core machine without
    // AVX-512 does a few papers a second, beside the other tests): wait while the writes go on,
    // and fail when they stop for PATIENCE before every node has every vector.
    let (mut last, mut moved) = (at_kill, Instant::now());
    for node in &nodes {
        while vectors_on(&node.base).await.0 != papers {
            let now: u64 = writes().await.parse().unwrap();
            if now > last {
                (last, moved) = (now, Instant::now());
            }
            assert!(
                moved.elapsed() < PATIENCE,
                "{}: {} of {papers} vectors, and no embedding written for {PATIENCE:?} ({last} in all)",
                node.base,
                vectors_on(&node.base).await.0
            );
            // psql is a process per look: look less often than `poll` does.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let total: u64 = writes().await.parse().unwrap();
    let twice = psql(
        &db,
        "SELECT COUNT(*) FROM (SELECT paper_id FROM embedding_writes
             GROUP BY paper_id HAVING COUNT(*) > 1) t",
    )
    .await;
    assert_eq!(
        (total, twice.as_str()),
        (papers, "0"),
        "each paper embedded once"
    );
    // Both survivors embedded part of the backlog: it was shared, not taken by one.
    for node in &nodes {
        let (_, embedded) = vectors_on(&node.base).await;
        assert!(embedded > 0, "{}: embedded nothing", node.base);
    }
    // Every node answers a search by meaning alike.
    let search = "/api/papers/search?q=robots%20that%20learn%20from%20video&mode=semantic&limit=10";
    let mut answers = Vec::new();
    for node in &nodes {
        answers.push(item_ids(&Visitor::new(&node.base).get(search).await.json()));
    }
    assert_eq!(answers[0].len(), 10, "{answers:?}");
    assert_eq!(answers[0], answers[1]);
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_to_postgres_and_back_leaves_every_row_as_it_was() {
    let Some(db) = TestDatabase::create() else {
        return;
    };
    let (dir, settings) = temp_settings(true);
    let store = import_demo(&settings).await;
    // The community's rows too: accounts, votes, a comment, a subscription and its digest.
    let now = chrono::Utc::now();
    let ada = store.sign_in("ada@example.org", &[], now).await.unwrap();
    let latest = store.latest_day().await.unwrap().unwrap();
    let listed = store
        .listing(latest, latest, &Default::default())
        .await
        .unwrap();
    for l in listed.iter().take(3) {
        store.vote(ada.id, &l.paper.id, true, now).await.unwrap();
    }
    store
        .add_comment(&listed[0].paper.id, ada.id, "A comment", now)
        .await
        .unwrap();
    let sub = confirmed_subscriber(&*store, "reader@example.org", &Default::default(), now).await;
    store
        .record_digest(
            sub,
            "2026-01-05",
            "<m@x>",
            "Subject: x\r\n\r\nbody",
            &[],
            now,
        )
        .await
        .unwrap();
    let original = paperboy_store::copy::dump(&*store).await.unwrap();
    drop(store);

    let source = settings.database_url();
    let back = dir.path().join("back.sqlite3");
    let migrate = |from: &str, to: &str| {
        let mut cmd = paperboy_command();
        cmd.args(["migrate", "--from", from, "--to", to]);
        cmd
    };
    let out = migrate(&source, db.url()).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("every table's count checked"), "{stdout}");
    assert!(
        !stdout.contains("paperboy:paperboy@"),
        "no password shown: {stdout}"
    );
    // Into a database that holds data: refused, exit 1, nothing changed.
    let again = migrate(&source, db.url()).output().await.unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let pg = paperboy_store::open(db.url(), false).unwrap();
    assert_eq!(paperboy_store::copy::dump(&*pg).await.unwrap(), original);
    drop(pg);
    let out = migrate(db.url(), back.to_str().unwrap())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = paperboy_store::open(back.to_str().unwrap(), false).unwrap();
    assert_eq!(paperboy_store::copy::dump(&*copy).await.unwrap(), original);
    // The copy is a working database: search it, sign in a new account after the copied ones.
    let bob = copy.sign_in("bob@example.org", &[], now).await.unwrap();
    assert_eq!(bob.id.get(), ada.id.get() + 1);
}
