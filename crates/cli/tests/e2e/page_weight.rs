//! Pages stay light: every listing (front, day, week, month), a paper page and a search page of
//! the demo data is under 100 KB of uncompressed HTML. Listings longer than a page are split into
//! `?page=N` pages that together show the whole period, each paper once.

use std::collections::HashSet;

use crate::common::*;

const BUDGET: usize = 100 * 1024;

/// The ids of a period from the JSON API, every page of it.
async fn api_period(server: &Server, param: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for p in 0.. {
        let page = item_ids(
            &server
                .json(&format!("/api/daily_papers?{param}&limit=100&p={p}"))
                .await,
        );
        if page.is_empty() {
            break;
        }
        ids.extend(page);
    }
    ids
}

/// The paper ids listed on an HTML listing page, in order.
fn listed_ids(html: &str) -> Vec<String> {
    html.split("<li class=\"entry\">")
        .skip(1)
        .map(|entry| {
            let (_, rest) = entry
                .split_once("<h2>")
                .and_then(|(_, h2)| h2.split_once("href=\"/papers/"))
                .expect("an entry links its paper");
            rest.split('"').next().expect("an id").to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_under_100_kb() {
    let (dir, settings) = temp_settings(true);
    let server = Server::start(settings).await.owning(dir);
    let status = server.json("/api/status").await;
    let last = status["store"]["lastDay"]
        .as_str()
        .expect("lastDay")
        .to_owned();
    let first = status["store"]["firstDay"]
        .as_str()
        .expect("firstDay")
        .to_owned();

    // The biggest day of the demo, from the API, and its week and month.
    let mut biggest_day = (0, String::new());
    let mut day = chrono::NaiveDate::parse_from_str(&first, "%Y-%m-%d").expect("firstDay");
    let last_day = chrono::NaiveDate::parse_from_str(&last, "%Y-%m-%d").expect("lastDay");
    while day <= last_day {
        let n = item_ids(
            &server
                .json(&format!("/api/daily_papers?date={day}&limit=100"))
                .await,
        )
        .len();
        if n > biggest_day.0 {
            biggest_day = (n, day.to_string());
        }
        day = day.succ_opt().expect("next day");
    }
    let busiest = chrono::NaiveDate::parse_from_str(&biggest_day.1, "%Y-%m-%d").expect("day");
    let week = busiest.format("%G-W%V").to_string();
    let top = server
        .json(&format!("/api/daily_papers?date={last}&limit=1"))
        .await;
    let id = item_ids(&top)[0].clone();

    // Listings, each walked page by page: (path, the API's query for the same period).
    let mut listings = vec![
        ("/".to_owned(), format!("date={last}")),
        ("/papers".to_owned(), format!("date={last}")),
        (
            format!("/papers/date/{}", biggest_day.1),
            format!("date={}", biggest_day.1),
        ),
        (format!("/papers/week/{week}"), format!("week={week}")),
        (
            format!("/papers/month/{}", &last[..7]),
            format!("month={}", &last[..7]),
        ),
    ];
    if first[..7] != last[..7] {
        listings.push((
            format!("/papers/month/{}", &first[..7]),
            format!("month={}", &first[..7]),
        ));
    }
    let mut report = Vec::new();
    let mut over = Vec::new();
    let mut weigh = |path: &str, body: &str| {
        report.push(format!("{path}: {} bytes", body.len()));
        if body.len() >= BUDGET {
            over.push(format!("{path}: {} bytes", body.len()));
        }
    };
    for (path, period) in &listings {
        let want = api_period(&server, period).await;
        assert!(!want.is_empty(), "{period} has papers");
        let mut shown = Vec::new();
        for page in 0.. {
            let url = if page == 0 {
                path.clone()
            } else {
                format!("{path}?page={page}")
            };
            // reqwest here sends no Accept-Encoding: the body is the uncompressed HTML.
            let (status, ctype, body) = server.text(&url).await;
            if page > 0 && status == 404 {
                break;
            }
            assert_eq!(status, 200, "GET {url}");
            assert!(ctype.starts_with("text/html"), "GET {url}: {ctype}");
            let ids = listed_ids(&body);
            assert!(!ids.is_empty(), "GET {url} lists no paper");
            weigh(&url, &body);
            let more = body.contains(&format!("href=\"?page={}\"", page + 1));
            shown.extend(ids);
            if !more {
                break;
            }
        }
        assert_eq!(
            shown, want,
            "{path}, all pages, against /api/daily_papers?{period}"
        );
        let unique: HashSet<&String> = shown.iter().collect();
        assert_eq!(unique.len(), shown.len(), "{path} shows a paper twice");
    }

    for path in [
        format!("/papers/{id}"),
        "/search?q=language+models".to_owned(),
        "/search?q=diffusion".to_owned(),
    ] {
        let (status, ctype, body) = server.text(&path).await;
        assert_eq!(status, 200, "GET {path}");
        assert!(ctype.starts_with("text/html"), "GET {path}: {ctype}");
        assert!(
            body.contains(&id) || path.starts_with("/search"),
            "GET {path}"
        );
        assert!(
            path.starts_with("/papers/") || !listed_ids(&body).is_empty(),
            "GET {path} found nothing"
        );
        weigh(&path, &body);
    }
    eprintln!("page weight:\n  {}", report.join("\n  "));
    assert!(
        over.is_empty(),
        "pages of {BUDGET} bytes or more: {over:?} (busiest day {} with {} papers)",
        biggest_day.1,
        biggest_day.0
    );
    server.stop().await;
}
