//! The community through HTTP against the real binary: sign in by the emailed link (read from the
//! log), vote and unvote, comment, submit a paper fetched from a replayed arXiv API, moderate,
//! trending, feeds read by Python's feedparser, CSRF and rate limits. (The 50-account voting race
//! is `tests/race.rs`, a binary of its own so that its load does not slow the tests here.)

use serde_json::Value;

use crate::common::*;
use crate::people::{token_in, Process, Visitor};

fn first_paper(items: &Value) -> (String, i64) {
    let first = &items.as_array().expect("items")[0];
    (
        first["paper"]["id"].as_str().unwrap().to_owned(),
        first["paper"]["upvotes"].as_i64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_vote_comment_submit_and_moderate() {
    let Some((arxiv, arxiv_ids)) = replay_arxiv().await else {
        return;
    };
    let server = Process::start(&[
        ("PAPERBOY_ARXIV_API_URL", arxiv),
        ("PAPERBOY_LIMIT_SIGN_IN_MAILS_PER_HOUR", "3".into()),
    ])
    .await;
    let anon = Visitor::new(&server.base);
    let ada = Visitor::new(&server.base);
    let bob = Visitor::new(&server.base);

    // A form posted without its CSRF token is refused, and so is one with another's token.
    anon.get("/papers").await;
    let r = anon
        .post("/login", &[("csrf", ""), ("email", "x@example.org")])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = anon
        .post(
            "/login",
            &[("csrf", &"0".repeat(64)), ("email", "x@example.org")],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = anon.post("/login", &[("email", "not an address")]).await;
    assert_eq!(r.status, 400);

    // Ada signs in by her link: the first account, so an administrator.
    ada.sign_in(&server, "ada@example.org").await;
    assert_eq!(ada.get("/admin").await.status, 200);
    let account = ada.get("/account").await;
    assert!(account.body.contains("ada@example.org"));
    // A used link is refused.
    let eve = Visitor::arrived(&server.base).await;
    let mark = server.log_len();
    eve.post("/login", &[("email", "eve@example.org")]).await;
    let link = server.sign_in_link("eve@example.org", mark).await;
    let token = token_in(&link);
    assert_eq!(
        eve.post("/login/verify", &[("token", &token)]).await.status,
        303
    );
    let again = Visitor::arrived(&server.base).await;
    let r = again.post("/login/verify", &[("token", &token)]).await;
    assert_eq!(r.status, 400, "a link works once");
    assert!(again.cookie("pb_session").is_none());

    // Rate limit on sign-in mails: 3 per address per hour here.
    for _ in 0..2 {
        assert_eq!(
            again
                .post("/login", &[("email", "eve@example.org")])
                .await
                .status,
            200
        );
    }
    let r = again.post("/login", &[("email", "eve@example.org")]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.headers.contains_key("retry-after"));

    bob.sign_in(&server, "bob@example.org").await;
    assert_eq!(
        bob.get("/admin").await.status,
        403,
        "Bob is no administrator"
    );

    // Votes: counted once per account, toggled back, local and imported kept apart.
    let items = Visitor::new(&server.base)
        .get("/api/daily_papers")
        .await
        .json();
    let (pid, before) = first_paper(&items);
    let r = anon
        .post_json(&format!("/papers/{pid}/vote"), &[("up", "1")])
        .await;
    assert_eq!(r.status, 401, "visitors cannot vote: {}", r.body);
    let r = ada
        .post_json(&format!("/papers/{pid}/vote"), &[("up", "1")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["upvotes"], before + 1);
    assert_eq!(r.json()["voted"], true);
    let r = ada
        .post_json(&format!("/papers/{pid}/vote"), &[("up", "1")])
        .await;
    assert_eq!(r.json()["upvotes"], before + 1, "one vote per account");
    bob.post(&format!("/papers/{pid}/vote"), &[("up", "1")])
        .await;
    let paper: Value = anon.get(&format!("/api/papers/{pid}")).await.json();
    assert_eq!(paper["upvotes"], before + 2);
    let r = ada
        .post(&format!("/papers/{pid}/vote"), &[("up", "0")])
        .await;
    assert_eq!(r.status, 303, "a plain form goes back to the page");
    let paper: Value = anon.get(&format!("/api/papers/{pid}")).await.json();
    assert_eq!(paper["upvotes"], before + 1);
    let page = bob.get(&format!("/papers/{pid}")).await.body;
    assert!(page.contains("aria-pressed=\"true\""), "Bob sees his vote");
    let r = bob
        .post(&format!("/papers/{pid}/vote"), &[("csrf", ""), ("up", "0")])
        .await;
    assert_eq!(r.status, 403, "no CSRF token, no vote");

    // Comments: escaped, linked, with math; counted in numComments; editable by their author.
    let comments_before = paper["numComments"].as_i64().unwrap_or(0);
    let comment_id = bob
        .comment(
            &pid,
            "<script>alert(1)</script> see https://example.org/x and $x^2$",
        )
        .await;
    let page = anon.get(&format!("/papers/{pid}")).await.body;
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script>alert(1)"));
    assert!(page.contains("href=\"https://example.org/x\" rel=\"nofollow ugc noopener\""));
    assert!(page.contains("<math"));
    let paper: Value = anon.get(&format!("/api/papers/{pid}")).await.json();
    assert_eq!(paper["numComments"], comments_before + 1);
    let r = ada
        .post(
            &format!("/comments/{comment_id}/edit"),
            &[("body", "Ada edits")],
        )
        .await;
    assert_eq!(r.status, 403, "only the author edits");
    let r = bob
        .post(
            &format!("/comments/{comment_id}/edit"),
            &[("body", "Bob's better words")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(anon
        .get(&format!("/papers/{pid}"))
        .await
        .body
        .contains("Bob&#39;s better words"));
    assert_eq!(
        bob.post(&format!("/papers/{pid}/comments"), &[("body", "  ")])
            .await
            .status,
        400
    );

    // Submissions: fetched from the (replayed) arXiv API onto today's list, duplicates refused.
    let new_id = &arxiv_ids[2];
    let r = bob
        .post(
            "/submit",
            &[("paper", &format!("https://arxiv.org/abs/{new_id}v1"))],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("/papers/{new_id}"));
    let today = chrono::Utc::now().date_naive();
    let listed: Value = anon
        .get(&format!("/api/daily_papers?date={today}"))
        .await
        .json();
    let item = &listed.as_array().unwrap()[0];
    assert_eq!(item["paper"]["id"], new_id.as_str());
    assert_eq!(item["submittedBy"]["name"], "bob");
    let r = ada.post("/submit", &[("paper", new_id)]).await;
    assert_eq!(r.status, 409);
    assert!(
        r.body.contains(&format!("/papers/{new_id}")),
        "links to the existing entry"
    );
    let r = ada.post("/submit", &[("paper", "2501.99999")]).await;
    assert_eq!(r.status, 502, "arXiv does not know it: {}", r.body);
    assert_eq!(
        ada.post("/submit", &[("paper", "not-an-id")]).await.status,
        400
    );

    // Trending: fresh votes on the submitted paper put it first.
    ada.post_json(&format!("/papers/{new_id}/vote"), &[("up", "1")])
        .await;
    eve.post_json(&format!("/papers/{new_id}/vote"), &[("up", "1")])
        .await;
    let trending: Value = anon.get("/api/trending").await.json();
    assert_eq!(trending[0]["paper"]["id"], new_id.as_str());
    assert!(trending[0]["trendingScore"].as_f64().unwrap() > 0.0);
    let page = anon.get("/papers/trending").await.body;
    assert!(page.contains(&format!("/papers/{new_id}")));
    assert!(anon.get("/about/ranking").await.body.contains("1.8"));

    // Moderation: hide a comment, block an account, hide a paper; all in the audit log.
    let r = bob.post(&format!("/comments/{comment_id}/hide"), &[]).await;
    assert_eq!(r.status, 403, "Bob is no moderator");
    assert_eq!(
        ada.post(&format!("/comments/{comment_id}/hide"), &[])
            .await
            .status,
        303
    );
    assert!(!anon
        .get(&format!("/papers/{pid}"))
        .await
        .body
        .contains("better words"));
    assert_eq!(
        ada.post("/admin/block", &[("username", "bob"), ("reason", "test")])
            .await
            .status,
        303
    );
    assert_eq!(
        bob.get("/account").await.status,
        401,
        "blocking signs Bob out"
    );
    assert_eq!(
        ada.post(
            &format!("/papers/{new_id}/hide"),
            &[("reason", "off topic")]
        )
        .await
        .status,
        303
    );
    assert_eq!(anon.get(&format!("/api/papers/{new_id}")).await.status, 404);
    let admin = ada.get("/admin").await.body;
    for action in ["hide comment", "block account", "hide paper", "off topic"] {
        assert!(admin.contains(action), "the audit log has {action:?}");
    }
    // Hidden from search (once the index follows) and feeds.
    let title = item["paper"]["title"].as_str().unwrap().to_owned();
    let q = reqwest::Url::parse_with_params("http://x/api/papers/search", [("q", title.as_str())])
        .unwrap();
    let search_path = format!("/api/papers/search?{}", q.query().unwrap());
    poll("the hidden paper leaves search", || {
        let (anon, path, id) = (anon.clone(), search_path.clone(), new_id.clone());
        async move {
            let r = anon.get(&path).await.json();
            (!item_ids(&r).contains(&id)).then_some(())
        }
    })
    .await;
    assert!(!anon
        .get("/feeds/trending.atom")
        .await
        .body
        .contains(new_id.as_str()));

    // Sign out everywhere ends Ada's session.
    let r = ada.post("/logout/everywhere", &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(ada.get("/admin").await.status, 401);
    server.stop().await;
}

/// Parses the feed on standard input with feedparser; its verdict as JSON.
const FEEDPARSER: &str = "import sys, json, feedparser\nf = feedparser.parse(sys.stdin.buffer.read())\nprint(json.dumps({'bozo': bool(f.bozo), 'why': str(f.get('bozo_exception', '')), 'ids': [e.get('id') for e in f.entries], 'version': f.version}))";

/// feedparser's verdict on a feed: (bozo, entry ids).
async fn feedparser(xml: &str) -> Option<(bool, Vec<String>)> {
    let out = run_python(FEEDPARSER, xml.as_bytes()).await.ok()?;
    if !out.status.success() {
        skip(&format!(
            "python feedparser is unavailable: {}",
            out.stderr.trim()
        ));
        return None;
    }
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["bozo"], false, "feedparser: {}", v["why"]);
    assert!(!v["version"].as_str().unwrap_or("").is_empty());
    Some((
        false,
        v["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap_or("").to_owned())
            .collect(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_validate_and_keep_their_ids() {
    let (dir, settings) = temp_settings(true);
    // arXiv records too: Hugging Face's lists carry no categories.
    let Some(sample) = shared_data("arxiv-listings/sample_1000.jsonl") else {
        return;
    };
    import_file(&settings, &sample).await;
    let store = import_demo(&settings).await;
    drop(store);
    let server = Server::start(settings).await.owning(dir);
    let items = server.json("/api/daily_papers").await;
    let author = items
        .as_array()
        .unwrap()
        .iter()
        .find_map(|i| i["paper"]["authors"][0]["name"].as_str())
        .expect("an item with an author")
        .to_owned();
    let category_feed = "/feeds/category/cs.CL.atom".to_string();
    let author_path = format!("/feeds/author/{}.rss", author.replace(' ', "%20"));
    for path in [
        "/feeds/daily.rss".to_string(),
        "/feeds/daily.atom".to_string(),
        "/feeds/trending.atom".to_string(),
        "/feeds/search.atom?q=language+models".to_string(),
        "/feeds/search.rss?q=language+models".to_string(),
        category_feed,
        author_path,
    ] {
        let (code, ctype, body) = server.text(&path).await;
        assert_eq!(code, 200, "{path}: {body}");
        assert!(ctype.contains("xml"), "{path}: {ctype}");
        let Some((_, ids)) = feedparser(&body).await else {
            return;
        };
        if !path.contains("trending") {
            assert!(!ids.is_empty(), "{path} has items");
        }
        assert!(
            ids.iter().all(|i| i.starts_with("https://arxiv.org/abs/")),
            "{path}: {ids:?}"
        );
        let (_, _, again) = server.text(&path).await;
        let (_, ids_again) = feedparser(&again).await.unwrap();
        assert_eq!(ids, ids_again, "{path}: the same ids every time");
    }
    let (_, _, daily) = server.text("/feeds/daily.rss").await;
    let first = item_ids(&items)[0].clone();
    assert!(
        daily.contains(&first),
        "the daily feed leads with the top paper"
    );
    let page = server.text("/search?q=language+models").await.2;
    assert!(
        page.contains("/feeds/search.atom?q=language+models"),
        "search pages link their feed"
    );
    assert_eq!(server.text("/feeds/nothing.atom").await.0, 404);
    assert_eq!(server.text("/feeds/daily.json").await.0, 404);
    assert_eq!(server.text("/feeds/search.atom").await.0, 400);
    server.stop().await;
}
