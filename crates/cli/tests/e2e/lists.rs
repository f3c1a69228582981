//! arXiv's lists by category and day, over the shared listing records: every paper of a day on
//! its category's page, new papers before cross-lists, neighbouring days, the API and the feed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::{import_file, shared_data, temp_settings, Server};

/// (category, day) -> (new ids, cross-listed ids), from the records themselves.
type Lists = BTreeMap<(String, String), (BTreeSet<String>, BTreeSet<String>)>;

fn lists_of(path: &std::path::Path) -> Lists {
    let mut lists = Lists::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap().to_owned();
        let day = v["listing_date"].as_str().unwrap().to_owned();
        let mut seen = BTreeSet::new();
        for (i, c) in v["categories"].as_array().unwrap().iter().enumerate() {
            let c = c.as_str().unwrap().to_owned();
            if !seen.insert(c.clone()) {
                continue;
            }
            let slot = lists.entry((c, day.clone())).or_default();
            if i == 0 { &mut slot.0 } else { &mut slot.1 }.insert(id.clone());
        }
    }
    lists
}

#[tokio::test]
async fn every_paper_of_a_day_is_on_its_categorys_list() {
    let Some(path) = shared_data("arxiv-listings/sample_1000.jsonl") else {
        return;
    };
    let lists = lists_of(&path);
    let (dir, settings) = temp_settings(false);
    import_file(&settings, &path).await;
    let server = Server::start(settings).await.owning(dir);
    let api = &server.api;

    // The busiest cs.CV day, with cross-lists.
    let ((cat, day), (new, cross)) = lists
        .iter()
        .filter(|((c, _), (_, x))| c == "cs.CV" && !x.is_empty())
        .max_by_key(|(_, (n, x))| n.len() + x.len())
        .unwrap();
    let r = api.get(&format!("/list/{cat}/{day}")).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.len() < 100_000, "a day's page is {} bytes", html.len());
    let position = |id: &str| {
        html.find(&format!("href=\"/papers/{id}\""))
            .unwrap_or_else(|| panic!("{id} is not on /list/{cat}/{day}"))
    };
    let last_new = new.iter().map(|id| position(id)).max().unwrap();
    let first_cross = cross.iter().map(|id| position(id)).min().unwrap();
    assert!(last_new < first_cross, "new papers come before cross-lists");
    assert_eq!(html.matches("cross-list</span>").count(), cross.len());
    // Neighbouring days of the category, skipping days without a list.
    let days: Vec<&String> = lists
        .keys()
        .filter(|(c, _)| c == cat)
        .map(|(_, d)| d)
        .collect();
    let at = days.iter().position(|d| *d == day).unwrap();
    if at > 0 {
        assert!(html.contains(&format!(
            "rel=\"prev\" href=\"/list/{cat}/{}\"",
            days[at - 1]
        )));
    }
    if let Some(next) = days.get(at + 1) {
        assert!(html.contains(&format!("rel=\"next\" href=\"/list/{cat}/{next}\"")));
    }

    // The API: the same papers, flagged, in the same order; the day in a header.
    let r = api
        .get(&format!("/api/list?category={cat}&date={day}"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-list-date"], day.as_str());
    let items: Vec<Value> = r.json().await.unwrap();
    let flagged: Vec<(String, bool)> = items
        .iter()
        .map(|i| {
            (
                i["paper"]["id"].as_str().unwrap().to_owned(),
                i["crossList"].as_bool().unwrap(),
            )
        })
        .collect();
    let mut want: Vec<(String, bool)> = new.iter().map(|i| (i.clone(), false)).collect();
    want.extend(cross.iter().map(|i| (i.clone(), true)));
    assert_eq!(flagged, want);

    // Without a day: the category's latest.
    let latest = days.last().unwrap();
    let r = api.get(&format!("/api/list?category={cat}")).await;
    assert_eq!(r.headers()["x-list-date"], latest.as_str());
    let html = api.get(&format!("/list/{cat}")).await.text().await.unwrap();
    let latest_day = chrono::NaiveDate::parse_from_str(latest, "%Y-%m-%d").unwrap();
    assert!(html.contains(&latest_day.format("%A %-d %B %Y").to_string()));

    // The index counts every listed paper of the category, cross-lists included.
    let total: usize = lists
        .iter()
        .filter(|((c, _), _)| c == cat)
        .map(|(_, (n, x))| n.len() + x.len())
        .sum();
    let index = api.get("/list").await.text().await.unwrap();
    assert!(index.contains(&format!(
        "href=\"/list/{cat}\">{cat}</a> <span class=\"muted\">({total})"
    )));

    // The feed carries the latest day.
    let r = api.get(&format!("/feeds/list/{cat}.atom")).await;
    assert_eq!(r.status(), 200);
    let feed = r.text().await.unwrap();
    let (_, (latest_new, _)) = lists
        .iter()
        .find(|((c, d), _)| c == cat && d == *latest)
        .unwrap();
    for id in latest_new {
        assert!(feed.contains(id.as_str()), "{id} missing from the feed");
    }

    // Bad requests are 4xx with a message.
    for (path, status) in [
        ("/list/cs.CV%20OR%201/2025-07-15", 400),
        ("/list/cs.CV/2025-13-01", 400),
        ("/list/cs.CV?sort=random", 400),
        ("/api/list", 400),
        ("/api/list?category=no.such", 404),
        ("/list/no.such", 404),
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status(), status, "{path}");
    }
    server.stop().await;
}
