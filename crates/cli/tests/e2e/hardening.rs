//! The audit's findings (issue 13), one class each, against the real binary: a name a reader can
//! take makes nobody an administrator; `next` never leaves the site nor breaks a redirect after
//! the state changed; sessions expire on the server and sign-in rotates the CSRF token; a
//! moderator's deletion is audited; pages cannot be framed; comment edits are rate limited;
//! deeply nested XML is a rejected record, not a dead process; feeds stay XML.

use serde_json::{json, Value};

use crate::common::*;
use crate::people::{token_in, Process, Visitor};

fn db(server: &Process) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(server.dir.path().join("paperboy.sqlite3")).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    c
}

/// Renames `v`'s account.
async fn rename(v: &Visitor, username: &str) {
    let r = v
        .post(
            "/account",
            &[("username", username), ("display_name", username)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrator_rights_never_follow_a_name_a_reader_can_take() {
    let admins = r#"["chief", "keeper", "Boss@Example.org"]"#.to_string();
    let server = Process::start(&[("PAPERBOY_ADMINS", admins.clone())]).await;
    for name in ["chief", "keeper"] {
        assert!(
            server
                .log_matching("a username no account holds")
                .iter()
                .any(|l| l.contains(&format!("\"entry\":\"{name}\""))),
            "an unmatched username entry is a warning at start"
        );
    }
    let first = Visitor::signed_in(&server, "first@example.org").await;
    assert_eq!(first.get("/admin").await.status, 200, "the first account");

    // The name from the address's local part: chief@anywhere.example becomes "chief".
    let chief = Visitor::signed_in(&server, "chief@anywhere.example").await;
    assert!(chief.get("/account").await.body.contains("chief"));
    assert_eq!(
        chief.get("/admin").await.status,
        403,
        "took the name by signing up"
    );

    // Renaming to a listed name (in another case) and signing in again.
    let mallory = Visitor::signed_in(&server, "mallory@example.org").await;
    rename(&mallory, "KEEPER").await;
    mallory.sign_in(&server, "mallory@example.org").await;
    assert_eq!(
        mallory.get("/admin").await.status,
        403,
        "took the name by renaming"
    );

    // An email entry is an administrator on signing in.
    let boss = Visitor::signed_in(&server, "boss@example.org").await;
    assert_eq!(boss.get("/admin").await.status, 200);

    // After a restart, a listed username names the account holding it then, and the log says
    // which; renaming away afterwards keeps the rights with the account, not the name.
    let dir = server.stop().await;
    let server = Process::start_in(dir, &[("PAPERBOY_ADMINS", admins)]).await;
    let resolved = server.log_matching("administrator by username");
    assert!(
        resolved
            .iter()
            .any(|l| l.contains("chief@anywhere.example"))
            && resolved.iter().any(|l| l.contains("mallory@example.org")),
        "{resolved:?}"
    );
    let chief = chief.at(&server.base);
    assert_eq!(chief.get("/admin").await.status, 200);
    rename(&chief, "someone").await;
    let thief = Visitor::signed_in(&server, "thief@example.org").await;
    rename(&thief, "chief").await;
    assert_eq!(
        thief.get("/admin").await.status,
        403,
        "the name is free again, the rights are not"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_stays_on_the_site_and_a_hostile_next_never_breaks_a_redirect() {
    let server = Process::start(&[("PAPERBOY_LIMIT_SIGN_IN_MAILS_PER_HOUR", "100".into())]).await;
    let v = Visitor::arrived(&server.base).await;
    // Each sign-in link carries `next`; following it must land on this site, with the
    // session set, whatever `next` held (a control character made a 500 after the token
    // was spent and the cookie set). A refused `next` lands where a plain sign-in does: on the
    // reader's own papers, /for-you.
    for (next, lands) in [
        ("/%09/evil.example/x", "/for-you"),
        ("/\t/evil.example/x", "/for-you"),
        ("/a\nb", "/for-you"),
        ("/a%0Ab", "/for-you"),
        ("//evil.example", "/for-you"),
        ("/\\evil.example", "/for-you"),
        ("https://evil.example/", "/for-you"),
        ("/papers/trending", "/papers/trending"),
    ] {
        let email = "nexter@example.org";
        let mark = server.log_len();
        let r = v.post("/login", &[("email", email), ("next", next)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let link = server.sign_in_link(email, mark).await;
        let r = v
            .post(
                "/login/verify",
                &[("token", &token_in(&link)), ("next", next)],
            )
            .await;
        assert_eq!(r.status, 303, "next={next:?}: {}", r.body);
        assert_eq!(r.location(), lands, "next={next:?}");
        assert!(r
            .headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("pb_session=")));
    }
    // A vote's `next` too.
    let id = item_ids(&v.get("/api/daily_papers?limit=1").await.json())[0].clone();
    for next in [
        "//evil.example",
        "/%09/evil.example",
        "/x\r\nSet-Cookie: a=b",
    ] {
        let r = v
            .post(
                &format!("/papers/{id}/vote"),
                &[("up", "1"), ("next", next)],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location(), format!("/papers/{id}"), "next={next:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_on_the_server_and_sign_in_gives_a_new_csrf_token() {
    let server = Process::start(&[("PAPERBOY_SESSION_DAYS", "2".into())]).await;
    let v = Visitor::arrived(&server.base).await;
    let before = v.csrf();
    let mark = server.log_len();
    v.post("/login", &[("email", "old@example.org")]).await;
    let link = server.sign_in_link("old@example.org", mark).await;
    let r = v
        .post("/login/verify", &[("token", &token_in(&link))])
        .await;
    assert_eq!(r.status, 303);
    let cookies: Vec<String> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("pb_session=") && c.contains("Max-Age=172800")),
        "the cookie lasts session_days: {cookies:?}"
    );
    assert_ne!(v.csrf(), before, "signing in rotates the CSRF token");
    assert_eq!(v.get("/account").await.status, 200);
    // The old token no longer passes.
    let r = v.post("/logout", &[("csrf", &before)]).await;
    assert_eq!(r.status, 403);

    // The session was made three days ago: the server no longer takes it.
    db(&server)
        .execute(
            "UPDATE sessions SET created_at = '2019-06-01T00:00:00.000000Z'",
            [],
        )
        .unwrap();
    assert_eq!(v.get("/account").await.status, 401, "expired on the server");
    // And the next sign-in (anyone's) removes it.
    Visitor::signed_in(&server, "someone@example.org").await;
    let old: i64 = db(&server)
        .query_row(
            "SELECT COUNT(*) FROM sessions WHERE created_at < '2020'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0, "expired rows are removed");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_is_audited_edits_are_limited_and_pages_cannot_be_framed() {
    let server = Process::start(&[("PAPERBOY_LIMIT_COMMENTS_PER_HOUR", "3".into())]).await;
    let admin = Visitor::signed_in(&server, "admin@example.org").await;
    let reader = Visitor::signed_in(&server, "reader@example.org").await;
    let id = item_ids(&reader.get("/api/daily_papers?limit=1").await.json())[0].clone();

    // Comment edits count with comments: one comment and two edits use the three.
    let comment = reader.comment(&id, "first").await;
    let edit = |body: String| {
        let reader = &reader;
        async move {
            let path = format!("/comments/{comment}/edit");
            reader.post(&path, &[("body", &body)]).await
        }
    };
    for n in 0..2 {
        let r = edit(format!("edit {n}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    let r = edit("one edit too many".into()).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.headers.contains_key("retry-after"));

    // The administrator deletes the reader's comment: the audit log says so.
    let r = admin
        .post(
            &format!("/comments/{comment}/delete"),
            &[("reason", "off topic")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let log: (String, String, String) = db(&server)
        .query_row(
            "SELECT action, target, detail FROM audit_log ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("an audit row");
    assert_eq!(
        log,
        (
            "delete comment".into(),
            format!("comment {comment}"),
            "off topic".into()
        )
    );
    assert!(admin.get("/admin").await.body.contains("delete comment"));

    // No page, API answer or feed may be framed, nor tell other sites where it came from.
    for path in [
        "/papers",
        "/login",
        "/api/daily_papers",
        "/feeds/daily.atom",
        "/nope",
    ] {
        let r = reader.get(path).await;
        let h = |name: &str| {
            r.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        assert!(
            h("content-security-policy").contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(h("x-frame-options"), "DENY", "{path}");
        assert_eq!(h("referrer-policy"), "same-origin", "{path}");
    }
    server.stop().await;
}

/// `levels` nested elements inside an Atom feed.
fn nested_feed(levels: usize) -> String {
    format!(
        "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>{}{}</entry></feed>",
        "<x>".repeat(levels),
        "</x>".repeat(levels)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_xml_is_a_rejected_record_not_a_dead_process() {
    // `paperboy import` reports the document and exits 3 (records rejected), not 134.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.xml");
    std::fs::write(&file, nested_feed(100_000)).unwrap();
    let out = run_command(
        paperboy_command()
            .arg("import")
            .arg(&file)
            .env("PAPERBOY_DATA_DIR", dir.path().join("data"))
            .env("PAPERBOY_DEMO_DATA", "false"),
    )
    .await;
    let said = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("nested more than 128 deep"), "{said}");

    // The server asks a (replayed) arXiv API that answers the same: a 502 page, and it lives on.
    let deep: &'static str = Box::leak(nested_feed(100_000).into_boxed_str());
    let app = axum::Router::new().route(
        "/api/query",
        axum::routing::get(move || async move { deep }),
    );
    let addr = serve(app).await;
    let server =
        Process::start(&[("PAPERBOY_ARXIV_API_URL", format!("http://{addr}/api/query"))]).await;
    let v = Visitor::signed_in(&server, "submitter@example.org").await;
    let r = v.post("/submit", &[("paper", "2501.99999")]).await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.contains("arXiv did not answer"), "{}", r.body);
    assert_eq!(v.get("/healthz").await.status, 200, "still alive");
    server.stop().await;
}

/// Parses the document on standard input with Python's strict XML parser.
const PARSE_XML: &str = "import sys, xml.dom.minidom as m; m.parseString(sys.stdin.buffer.read())";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_stay_xml_whatever_the_text_holds() {
    let (dir, settings) = temp_settings(false);
    let line = json!({
        "id": "2501.00001",
        "listing_date": "2025-01-02",
        "title": "Zebrafish \u{FFFE}under \u{FFFF}stress\u{1}",
        "authors": ["Ann \u{FFFF}Other"],
        "categories": ["q-bio.NC"],
        "comment": null,
        "abstract": "Nonc\u{FFFE}haracters \u{0085}in text.",
    });
    let file = dir.path().join("odd.jsonl");
    std::fs::write(&file, format!("{line}\n")).unwrap();
    import_file(&settings, &file).await;
    let server = Server::start(settings).await.owning(dir);
    for path in [
        "/feeds/search.atom?q=zebrafish",
        "/feeds/search.rss?q=zebrafish",
        "/feeds/search.atom?q=%EF%BF%BF",
        "/feeds/search.rss?q=%EF%BF%BE%01",
        "/feeds/category/q-bio.NC.atom",
        "/feeds/author/Ann%20%EF%BF%BFOther.rss",
        "/feeds/daily.atom",
    ] {
        let (status, _, body) = server.text(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        // Python's strict XML parser refuses a document with one forbidden character.
        let out = run_python(PARSE_XML, body.as_bytes()).await;
        out.expect("python3")
            .assert_success(&format!("{path} is not XML ({body})"));
    }
    let (_, _, body) = server.text("/feeds/search.atom?q=zebrafish").await;
    assert!(body.contains("Zebrafish under stress"), "{body}");
    let v: Value = server.json("/api/papers/2501.00001").await;
    assert!(
        v["title"].as_str().unwrap().contains('\u{FFFE}'),
        "the data itself is kept"
    );
    server.stop().await;
}
