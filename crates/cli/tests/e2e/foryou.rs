//! `paperboy eval foryou` on a slice of the for-you benchmark (the first 40 reader cases and the
//! records they need), through the binary: the three figures of the shipped ranker first, a line
//! per method after, and the shipped ranker well above random. `paperboy eval` alone still asks
//! for the BEIR files.

use std::collections::HashSet;
use std::io::{BufRead, Write};

use crate::common::{paperboy_command, run_command, shared_data};

#[tokio::test]
async fn eval_foryou_prints_the_shipped_rankers_figures_first() {
    let (Some(records), Some(cases)) = (
        shared_data("arxiv-listings/arxiv_listings_2025-03_2026-07.jsonl.gz"),
        shared_data("foryou/cases-train.jsonl"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = std::fs::read_to_string(&cases)
        .unwrap()
        .lines()
        .take(40)
        .map(str::to_owned)
        .collect();
    let (mut days, mut library) = (HashSet::new(), HashSet::new());
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        days.insert(v["day"].as_str().unwrap().to_owned());
        for id in v["library"].as_array().unwrap() {
            library.insert(id.as_str().unwrap().to_owned());
        }
    }
    let sub_cases = dir.path().join("cases.jsonl");
    std::fs::write(&sub_cases, lines.join("\n")).unwrap();
    let sub_records = dir.path().join("records.jsonl");
    let mut out = std::fs::File::create(&sub_records).unwrap();
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&records).unwrap());
    for line in std::io::BufReader::new(gz).lines() {
        let line = line.unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if days.contains(v["listing_date"].as_str().unwrap_or(""))
            || library.contains(v["id"].as_str().unwrap_or(""))
        {
            writeln!(out, "{line}").unwrap();
        }
    }
    drop(out);

    let ran = run_command(
        paperboy_command()
            .args(["eval", "foryou", "--records"])
            .arg(&sub_records)
            .arg("--cases")
            .arg(&sub_cases)
            .args(["--method", "random,paperboy"]),
    )
    .await;
    ran.assert_success("eval foryou");
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert!(
        lines[0].starts_with("nDCG@10 0.")
            && lines[1].starts_with("MRR 0.")
            && lines[2].starts_with("Recall@50 0."),
        "{}",
        ran.stdout
    );
    let figure = |line: &str| -> f64 { line.split_whitespace().nth(2).unwrap().parse().unwrap() };
    let shipped: f64 = lines[0]["nDCG@10 ".len()..].parse().unwrap();
    assert!(
        lines[3].starts_with("random ") && lines[4].starts_with("paperboy "),
        "{}",
        ran.stdout
    );
    assert_eq!(
        figure(lines[4]),
        shipped,
        "the paperboy method is the shipped ranker"
    );
    assert!(
        shipped > figure(lines[3]) + 0.1,
        "well above random: {}",
        ran.stdout
    );

    let bad = run_command(
        paperboy_command()
            .args(["eval", "foryou", "--records"])
            .arg(&sub_records)
            .arg("--cases")
            .arg(&sub_cases)
            .args(["--method", "astrology"]),
    )
    .await;
    assert!(
        !bad.status.success() && bad.stderr.contains("unknown method"),
        "{}",
        bad.stderr
    );
    let bare = run_command(paperboy_command().arg("eval")).await;
    assert_eq!(bare.status.code(), Some(2), "{}", bare.stderr);
    assert!(bare.stderr.contains("--corpus"), "{}", bare.stderr);
}
