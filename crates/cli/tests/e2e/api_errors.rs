//! Bad requests get a 4xx with a useful body, never a 500: JSON `{message, code}` from the API,
//! an HTML page with the message from the site.

use serde_json::Value;

use crate::common::*;

async fn expect_api_error(server: &Server, path: &str, status: u16, code: Option<&str>) {
    let (got, ctype, body) = server.text(path).await;
    assert_eq!(got, status, "GET {path}: {body}");
    assert!(
        ctype.starts_with("application/json"),
        "GET {path}: content type {ctype:?}"
    );
    let v: Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"));
    let message = v["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "GET {path}: no message in {body}");
    let got_code = v["code"].as_str().unwrap_or_default();
    assert!(!got_code.is_empty(), "GET {path}: no code in {body}");
    if let Some(code) = code {
        assert_eq!(got_code, code, "GET {path}: {body}");
    }
    // huggingface_hub reads the message from "error".
    assert_eq!(v["error"].as_str(), Some(message), "GET {path}: {body}");
}

async fn expect_page_error(server: &Server, path: &str, status: u16, says: &str) {
    let (got, ctype, body) = server.text(path).await;
    assert_eq!(got, status, "GET {path}: {body}");
    assert!(
        ctype.starts_with("text/html"),
        "GET {path}: content type {ctype:?}"
    );
    assert!(body.starts_with("<!DOCTYPE html>"), "GET {path}: {body}");
    assert!(
        body.contains(says),
        "GET {path}: the page does not say {says:?}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_4xx_with_a_message_never_500() {
    let (dir, settings) = temp_settings(true);
    let server = Server::start(settings).await.owning(dir);
    let long = "a".repeat(251);

    let day = server.json("/api/status").await["store"]["lastDay"]
        .as_str()
        .expect("the demo has days")
        .to_owned();
    // Sanity: the same endpoints answer well-formed requests.
    assert!(!server
        .json(&format!("/api/daily_papers?date={day}&limit=100"))
        .await
        .as_array()
        .expect("array")
        .is_empty());
    assert!(server
        .json(&format!("/api/papers/search?q={}", "a".repeat(250)))
        .await
        .is_array());

    for (path, status, code) in [
        (
            "/api/daily_papers?limit=0".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            "/api/daily_papers?limit=101".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            "/api/daily_papers?limit=ten".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            "/api/daily_papers?p=-1".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            "/api/daily_papers?date=2025-13-01".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            "/api/daily_papers?date=2025-02-30".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            "/api/daily_papers?week=2025-W60".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            "/api/daily_papers?month=2025-00".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            "/api/daily_papers?week=2025-W10&month=2025-03".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            "/api/daily_papers?sort=random".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            format!("/api/papers/search?q={long}"),
            400,
            Some("query_too_long"),
        ),
        (
            "/api/papers/search?q=x&limit=0".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            "/api/papers/search?q=x&from=yesterday".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        ("/api/papers/9999.99999".to_owned(), 404, Some("not_found")),
        ("/api/papers/2412.99999".to_owned(), 404, Some("not_found")),
        (
            "/api/papers/2412.99999v2".to_owned(),
            404,
            Some("not_found"),
        ),
        (
            "/api/papers/not-an-id".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            "/api/papers/9999.99999vx".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
        (
            "/api/papers?limit=0".to_owned(),
            400,
            Some("invalid_parameter"),
        ),
    ] {
        expect_api_error(&server, &path, status, code).await;
    }

    expect_page_error(&server, &format!("/search?q={long}"), 400, "250").await;
    expect_page_error(&server, "/papers/date/2025-02-30", 400, "2025-02-30").await;
    expect_page_error(&server, "/papers/week/2025-W60", 400, "2025-W60").await;
    expect_page_error(&server, "/papers/month/2025-13", 400, "2025-13").await;
    expect_page_error(&server, "/search?q=x&from=yesterday", 400, "yesterday").await;
    expect_page_error(&server, "/papers/9999.99999", 404, "9999.99999").await;
    expect_page_error(&server, &format!("/papers/date/{day}?page=x"), 400, "page").await;
    expect_page_error(
        &server,
        &format!("/papers/date/{day}?page=99"),
        404,
        "no page 99",
    )
    .await;
    expect_page_error(&server, "/no/such/page", 404, "There is no page").await;
    expect_api_error(&server, "/api/no/such/endpoint", 404, Some("not_found")).await;
    expect_api_error(&server, "/api", 404, Some("not_found")).await;

    no_server_errors(&server).await;
    server.stop().await;
}

/// Nothing the server answered so far was a 5xx, and the errors were counted.
async fn no_server_errors(server: &Server) {
    let (status, _, metrics) = server.text("/metrics").await;
    assert_eq!(status, 200);
    let five_hundreds: Vec<&str> = metrics
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains("status=\"5"))
        .collect();
    assert!(five_hundreds.is_empty(), "server errors: {five_hundreds:?}");
    assert!(
        metrics.contains("status=\"400\"") && metrics.contains("status=\"404\""),
        "the errors above were not counted: {metrics}"
    );
}

/// Class 1 of the audit: a page, offset or limit from a request never sizes an allocation or a
/// loop. Before, `p=10^15` made the index allocate `offset + limit` slots and the process abort;
/// the server here must still answer afterwards. Class 7: periods past chrono's calendar panicked.
/// Class 12: the API answers its own JSON for paths and methods it does not have, and refuses
/// what its document calls invalid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_numbers_and_periods_get_a_4xx_and_the_server_lives_on() {
    let (dir, settings) = temp_settings(true);
    let server = Server::start(settings).await.owning(dir);
    let huge = "1000000000000000";
    let beyond = "99999999999999999999999999";
    for (path, status) in [
        (format!("/api/papers/search?q=model&p={huge}&limit=1"), 400),
        (format!("/api/papers/search?q=model&p={beyond}"), 400),
        (
            format!("/api/papers/search?q=model&mode=semantic&p={huge}"),
            400,
        ),
        (format!("/api/daily_papers?p={huge}"), 400),
        (format!("/api/daily_papers?p={beyond}&limit=100"), 400),
        ("/api/daily_papers?limit=".to_owned(), 400),
        ("/api/daily_papers?p=".to_owned(), 400),
        ("/api/daily_papers?p=%2B1".to_owned(), 400),
        ("/api/daily_papers?date=".to_owned(), 400),
        ("/api/daily_papers?week=262143-W01".to_owned(), 400),
        ("/api/daily_papers?month=262142-12".to_owned(), 400),
        ("/api/daily_papers?date=262142-12-31".to_owned(), 400),
        ("/api/daily_papers?week=2025-W1".to_owned(), 400),
        ("/api/daily_papers?week=2025-W53".to_owned(), 404),
        ("/api/daily_papers?submitter=%00".to_owned(), 400),
        ("/api/papers/search?q=x&category=%00".to_owned(), 400),
        ("/api/papers/search?q=x&mode=".to_owned(), 400),
        ("/api/papers/search?q=x&mode=fuzzy".to_owned(), 400),
        ("/api/papers?cursor=2025-01-01".to_owned(), 400),
        ("/api/papers?cursor=a~%00".to_owned(), 400),
        (format!("/api/papers?cursor={}~x", "9".repeat(300)), 400),
        ("/api/trending?limit=0".to_owned(), 400),
        (format!("/api/trending?limit={huge}"), 400),
    ] {
        expect_api_error(&server, &path, status, None).await;
    }
    // Past the last result is an empty page, not an error, for a page number in range.
    let deep = server
        .json("/api/papers/search?q=model&p=10000&limit=120")
        .await;
    assert_eq!(deep.as_array().map(Vec::len), Some(0));
    let deep = server.json("/api/daily_papers?p=10000&limit=100").await;
    assert_eq!(deep.as_array().map(Vec::len), Some(0));
    assert_eq!(
        server
            .json("/api/daily_papers?sort=upvotes&limit=1")
            .await
            .as_array()
            .map(Vec::len),
        Some(1),
        "sort=upvotes is the documented default"
    );

    expect_page_error(&server, "/search?q=model&page=40000000000000", 400, "page").await;
    expect_page_error(
        &server,
        &format!("/search?q=model&page={beyond}"),
        400,
        "page",
    )
    .await;
    let (status, _, body) = server.text("/search?q=model&page=10000").await;
    assert_eq!(status, 200, "{body}");
    expect_page_error(&server, "/papers/month/262142-12", 400, "262142-12").await;
    expect_page_error(&server, "/papers/week/262143-W01", 400, "262143-W01").await;
    expect_page_error(&server, "/papers/date/262142-12-31", 400, "262142-12-31").await;
    expect_page_error(&server, "/papers/month/+2025-01", 400, "+2025-01").await;
    for path in [
        "/papers/month/9999-12",
        "/papers/week/9999-W52",
        "/papers/month/0000-01",
    ] {
        let (status, _, body) = server.text(path).await;
        assert_eq!(
            status, 200,
            "GET {path}: the edges of the calendar are pages: {body}"
        );
    }

    // Methods the API does not take: its JSON error, with Allow.
    let r = server
        .http
        .delete(server.url("/api/daily_papers"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers().contains_key("allow"), "{:?}", r.headers());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "method_not_allowed");

    // Still alive, and nothing above was a server error.
    assert_eq!(server.text("/healthz").await.0, 200);
    no_server_errors(&server).await;
    server.stop().await;
}
