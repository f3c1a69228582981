//! Every POST route refuses a form that lacks the visitor's CSRF token, even from a signed-in
//! administrator whose cookies the browser sends along; the one exception is RFC 8058's
//! one-click unsubscribe, whose signed link is the proof. The routes come from the route table
//! itself, so a new one is walked as soon as it exists. The real server, on port 0.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Utc;
use paperboy_core::signed::{self, MANAGE, SECRET};
use paperboy_search::SearchIndex;
use paperboy_store::{Frequency, Store, Topics};
use paperboy_web::routes::{self, Proof};
use paperboy_web::session::{random_token, token_hash};
use paperboy_web::{AppState, WebSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REFUSED: &str = "did not come from this site";

/// `(status, whole response)` of a form POST with these header lines (each ending in CRLF).
async fn post(server: SocketAddr, path: &str, headers: &str, form: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(server).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {server}\r\n{headers}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{form}",
        form.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    (status, answer)
}

/// `path` with each `{param}` filled in; a parameter without a sample fails the test, so that
/// a new kind of route is looked at rather than skipped.
fn filled(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{*id}" => "2501.00001/vote",
            "{id}" => "1",
            "{owner}" => "ada",
            "{key}" => "reading-list",
            "{name}" => "reading-list",
            "{action}" => "delete",
            s if s.starts_with('{') => panic!("no sample value for {s} in {path}"),
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_post_route_but_one_click_unsubscribe_refuses_a_form_without_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite3");
    let store: Arc<dyn Store> = paperboy_store::open(db.to_str().unwrap(), true).unwrap();
    let (index, _) = SearchIndex::open(&dir.path().join("index")).unwrap();
    let state = AppState::new(store.clone(), Arc::new(index), WebSettings::default());

    // The first account is an administrator: no route can refuse it for want of rights.
    let now = Utc::now();
    let admin = store.sign_in("ada@example.org", &[], now).await.unwrap();
    assert!(admin.is_admin);
    let session = random_token();
    let lifetime = state.settings.session_lifetime();
    store
        .create_session(&token_hash(&session), admin.id, now, now - lifetime)
        .await
        .unwrap();
    let csrf = random_token();
    let cookies = format!("Cookie: pb_csrf={csrf}; pb_session={session}\r\n");
    // Routes that open by a signed link get one that works.
    let email = "ada@example.org";
    let topics = Topics::default();
    let signed_up = store.sign_up(email, Frequency::Daily, &topics, None, now);
    signed_up.await.unwrap();
    let sub = store.subscription_by_email(email).await.unwrap().unwrap();
    let secret = store.secret(SECRET).await.unwrap();
    let link = signed::sign(&secret, MANAGE, sub.id.get());

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(paperboy_web::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let table = routes::table();
    let posts = table.posts();
    assert!(posts.len() > 10, "{posts:?}");
    let exempt: Vec<&str> = posts
        .iter()
        .filter(|r| r.proof != Proof::CsrfToken)
        .map(|r| r.path)
        .collect();
    assert_eq!(
        exempt,
        [
            "/subscription/unsubscribe",
            "/api/collections",
            "/api/collections/{owner}/{name}/items",
            "/api/library/import"
        ],
        "only one-click unsubscribe, and API routes that read no cookie"
    );
    // The API routes read a personal token and nothing else: the session cookie alone is refused.
    for route in &exempt[1..] {
        let (status, answer) = post(server, &filled(route), &cookies, "").await;
        assert_eq!(status, 401, "POST {route}: {answer}");
        assert!(answer.contains("Authorization: Bearer"), "{answer}");
    }

    let checked: Vec<&str> = posts
        .iter()
        .filter(|r| r.proof == Proof::CsrfToken)
        .map(|r| r.path)
        .collect();
    for route in &checked {
        let path = format!("{}?t={link}", filled(route));
        for form in ["", "csrf=", &format!("csrf={}", "0".repeat(64))] {
            let (status, answer) = post(server, &path, &cookies, form).await;
            assert_eq!(status, 403, "POST {path} with {form:?}: {answer}");
            assert!(answer.contains(REFUSED), "POST {path}: {answer}");
        }
    }
    // The refusal, like any error, is a page for a form and JSON for the page's script.
    let vote = "/papers/2501.00001/vote";
    let (_, page) = post(server, vote, &cookies, "").await;
    assert!(page.contains("content-type: text/html"), "{page}");
    let asks_json = format!("{cookies}Accept: application/json\r\n");
    let (status, json) = post(server, vote, &asks_json, "").await;
    assert_eq!(status, 403);
    assert!(json.contains("content-type: application/json"), "{json}");
    assert!(json.contains(r#""code":"csrf""#), "{json}");

    // The refusals were the token's: carrying it, the same requests pass the check (the
    // session-ending ones last, so the others still come from a signed-in administrator).
    let mut with_token = checked.clone();
    with_token.sort_by_key(|p| p.starts_with("/logout"));
    for route in with_token {
        let path = format!("{}?t={link}", filled(route));
        let (_, answer) = post(server, &path, &cookies, &format!("csrf={csrf}")).await;
        assert!(
            !answer.contains(REFUSED),
            "POST {path} with the token: {answer}"
        );
    }

    let path = format!("/subscription/unsubscribe?t={link}");
    let (status, answer) = post(server, &path, "", "").await;
    assert_eq!(status, 200, "{answer}");
    let sub = store.subscription(sub.id).await.unwrap().unwrap();
    assert!(
        sub.unsubscribed_at.is_some(),
        "the signed link alone unsubscribes"
    );

    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
