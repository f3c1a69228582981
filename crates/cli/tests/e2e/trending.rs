//! Trending on a quiet instance: the demo's votes are months old, yet the trending page, its
//! feed and the API show the newest data's trending papers, and say the window was widened.

use crate::common::{temp_settings, Server};

#[tokio::test]
async fn a_quiet_instance_widens_trending_to_its_newest_votes_and_says_so() {
    let (dir, settings) = temp_settings(true);
    let server = Server::start(settings).await.owning(dir);
    let api = &server.api;

    let r = api.get("/api/trending?limit=20").await;
    assert_eq!(r.status(), 200);
    let window = r.headers()["x-trending-window"]
        .to_str()
        .unwrap()
        .to_owned();
    let items: Vec<serde_json::Value> = r.json().await.unwrap();
    assert_eq!(
        items.len(),
        20,
        "trending is never empty while papers have votes"
    );
    let scores: Vec<f64> = items
        .iter()
        .map(|i| i["trendingScore"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );
    let (from, to) = window.split_once('/').unwrap();
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(to, today, "{window}");
    let latest: String = api
        .get("/api/status")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["store"]["lastDay"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        from < latest.as_str(),
        "the window reaches back before {latest}: {window}"
    );

    let page = api.get("/papers/trending").await.text().await.unwrap();
    assert!(
        page.contains("so this list reaches back to"),
        "the page says so"
    );
    assert!(!page.contains("Nothing has been voted for lately"));
    let first = items[0]["paper"]["id"].as_str().unwrap();
    assert!(page.contains(&format!("href=\"/papers/{first}\"")));
    let feed = api.get("/feeds/trending.atom").await.text().await.unwrap();
    assert!(
        feed.contains("little voted for lately") && feed.contains(first),
        "the feed says so"
    );
    server.stop().await;
}
