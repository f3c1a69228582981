//! The whole Hugging Face daily-papers archive (580 days of raw API responses) goes in, and every
//! day comes back out of `/api/daily_papers` exactly as recorded. The expectation is taken from the
//! separately flattened copy of the archive, not from anything paperboy parsed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::common::*;

/// The ids of one raw API response (a JSON array of items) in the tar, in the order recorded.
fn raw_day_ids(archive: &Path, day: &str) -> Vec<String> {
    let file = std::fs::File::open(archive).expect("open raw archive");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let wanted = format!("{day}.json");
    for entry in tar.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let path = entry.path().expect("member path").into_owned();
        if path.file_name().and_then(|n| n.to_str()) != Some(wanted.as_str()) {
            continue;
        }
        let mut body = String::new();
        entry.read_to_string(&mut body).expect("read member");
        let v: Value = serde_json::from_str(&body).expect("raw day is JSON");
        return v
            .as_array()
            .expect("an array of items")
            .iter()
            .map(|i| i["paper"]["id"].as_str().expect("paper.id").to_owned())
            .collect();
    }
    panic!("{wanted} is not in {}", archive.display());
}

/// `/api/daily_papers` without a period: newest day first, each day in community order, a paper
/// that was on several days counted once, on its best-voted day.
fn expected_all_days(lines: &[FlatLine]) -> Vec<String> {
    let mut best: HashMap<&str, (i64, &str)> = HashMap::new();
    for l in lines {
        let e = best.entry(&l.id).or_insert((l.upvotes, &l.day));
        if l.upvotes > e.0 {
            *e = (l.upvotes, &l.day);
        }
    }
    let mut by_day: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for l in lines {
        if best[l.id.as_str()].1 == l.day {
            by_day.entry(&l.day).or_default().push(&l.id);
        }
    }
    by_day
        .into_iter()
        .rev()
        .flat_map(|(_, ids)| ids)
        .map(str::to_owned)
        .collect()
}

/// Asks for every day (four requests at a time) and compares it with the recorded list; returns
/// the number of days checked.
async fn check_every_day(server: &Server, days: &BTreeMap<String, Vec<String>>) -> usize {
    const WORKERS: usize = 4;
    let all: Vec<(String, Vec<String>)> = days.clone().into_iter().collect();
    let all = std::sync::Arc::new(all);
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (api, all) = (server.api.clone(), all.clone());
        tasks.push(tokio::spawn(async move {
            let mut wrong = Vec::new();
            for (day, want) in all.iter().skip(w).step_by(WORKERS) {
                let got = item_ids(
                    &api.json(&format!("/api/daily_papers?date={day}&limit=100"))
                        .await,
                );
                if &got != want {
                    wrong.push(format!("{day}: got {got:?}, recorded {want:?}"));
                }
            }
            wrong
        }));
    }
    let mut wrong = Vec::new();
    for t in tasks {
        wrong.extend(t.await.expect("a day-checking task panicked"));
    }
    wrong.sort();
    assert!(
        wrong.is_empty(),
        "{} of {} days differ from the recorded lists; first: {}",
        wrong.len(),
        days.len(),
        wrong.iter().take(3).cloned().collect::<Vec<_>>().join("\n")
    );
    days.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_hf_archive_round_trips_through_the_api() {
    let (Some(raw), Some(flat)) = (shared_data(HF_RAW_ARCHIVE), shared_data(HF_FLAT)) else {
        return;
    };
    let lines = read_flat(&flat);
    let days = days_of(&lines);
    assert_eq!(days.len(), 580, "days in the flattened archive");
    assert_eq!(lines.len(), 9_881, "lines in the flattened archive");
    // The flattened file's order is the recorded order: check it against raw responses (the ones
    // of 2024-12-11..2025-01-10 hold Python-repr strings and are not read here).
    for day in ["2024-05-27", "2025-06-02", "2026-08-21"] {
        assert_eq!(
            raw_day_ids(&raw, day),
            days[day],
            "{day}: flattened order is not the raw order"
        );
    }

    let started = std::time::Instant::now();
    let (dir, settings) = temp_settings(false);
    let first = import_file(&settings, &raw).await;
    let server = Server::start(settings).await.owning(dir);
    eprintln!(
        "archive: {first} in {:?} (import and index)",
        started.elapsed()
    );
    assert_eq!(first.rejected_total(), 0, "{first}");
    assert_eq!(first.read, 9_881, "{first}");
    assert_eq!(first.unchanged, 0, "{first}");

    let status = server.json("/api/status").await;
    assert_eq!(status["store"]["days"], 580, "{status}");
    assert_eq!(status["store"]["dailyEntries"], 9_881, "{status}");
    assert_eq!(status["store"]["papers"], 9_877, "{status}");
    assert_eq!(status["store"]["firstDay"], "2024-05-27", "{status}");
    assert_eq!(status["store"]["lastDay"], "2026-08-21", "{status}");

    let t = std::time::Instant::now();
    let checked = check_every_day(&server, &days).await;
    eprintln!("archive: {checked} days checked in {:?}", t.elapsed());

    // Single papers: title and upvotes as recorded.
    let singles = single_day_papers(&lines);
    let mut sample: Vec<&FlatLine> = ["2024-05-27", "2024-12-11", "2025-01-10", "2026-08-21"]
        .iter()
        .filter_map(|d| days[*d].iter().find_map(|id| singles.get(id)))
        .collect();
    sample.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(sample.len(), 4);
    for l in sample {
        let p = server.json(&format!("/api/papers/{}", l.id)).await;
        assert_eq!(p["id"], l.id.as_str(), "{p}");
        assert_eq!(
            squash(p["title"].as_str().expect("title")),
            squash(&l.title),
            "/api/papers/{}",
            l.id
        );
        assert_eq!(
            p["upvotes"].as_i64(),
            Some(l.upvotes),
            "/api/papers/{}",
            l.id
        );
    }

    // Without a period: pages of 20 linked by rel="next", disjoint, in the documented order.
    let all = expected_all_days(&lines);
    let r = server.get("/api/daily_papers?limit=20").await;
    assert_eq!(r.status(), 200);
    let link = r
        .headers()
        .get(reqwest::header::LINK)
        .expect("a Link header on a full page")
        .to_str()
        .expect("ASCII Link header")
        .to_owned();
    let page0 = item_ids(&r.json().await.expect("JSON page"));
    let next = link
        .strip_prefix('<')
        .and_then(|l| l.split_once(">; rel=\"next\""))
        .map(|(url, _)| url.to_owned())
        .unwrap_or_else(|| panic!("Link header {link:?} has no rel=\"next\""));
    assert!(next.contains("p=1"), "{next}");
    assert!(next.contains("limit=20"), "{next}");
    let page1 = item_ids(&server.json(&next).await);
    assert_eq!(page0.len(), 20);
    assert_eq!(page1.len(), 20);
    let seen: HashSet<&String> = page0.iter().collect();
    assert!(
        page1.iter().all(|id| !seen.contains(id)),
        "pages overlap: {page0:?} / {page1:?}"
    );
    assert_eq!(page0, all[..20], "first page of all days");
    assert_eq!(page1, all[20..40], "second page of all days");

    // The same archive again changes nothing.
    let again = import_file(&server.settings, &raw).await;
    server.wait_indexed().await;
    check_every_day(&server, &days).await;
    let status_again = server.json("/api/status").await;
    assert_eq!(status_again["store"], status["store"]);
    server.stop().await;
    assert_eq!(again.read, first.read, "second import: {again}");
    assert_eq!(again.rejected_total(), 0, "second import: {again}");
    assert_eq!(
        (again.new, again.updated),
        (0, 0),
        "importing the same archive again must change nothing: {again}"
    );
}
