//! Search by meaning through the real server: without a model it answers in keyword mode and says
//! so; with one it embeds papers in the background, finds a paper by a paraphrase, lists similar
//! papers, and after a restart reuses the stored vectors instead of recomputing them.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{self, model_dir, poll, Server};

#[tokio::test(flavor = "multi_thread")]
async fn without_a_model_search_answers_in_keyword_mode_and_says_so() {
    let (dir, mut settings) = common::temp_settings(true);
    settings.model_dir = dir
        .path()
        .join("no-model-here")
        .to_string_lossy()
        .into_owned();
    let server = Server::start(settings).await.owning(dir);
    let status = poll("semantic reason", || {
        let api = server.api.clone();
        async move {
            let v = api.try_json("/api/status").await?;
            v["search"]["semantic"]["reason"]
                .as_str()
                .map(str::to_owned)
        }
    })
    .await;
    assert!(status.contains("no embedding model"), "{status}");

    let r = server.get("/api/papers/search?q=agents&mode=hybrid").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-search-mode"], "keyword");
    let items: Value = r.json().await.unwrap();
    assert!(
        !items.as_array().unwrap().is_empty(),
        "keyword results are served"
    );

    let (code, _, page) = server.text("/search?q=agents").await;
    assert_eq!(code, 200);
    assert!(
        page.contains("Showing keyword results only"),
        "the page says search is keyword-only"
    );
    let (code, _, page) = server.text("/status").await;
    assert_eq!(code, 200);
    assert!(page.contains("keyword-only"));
    let (code, _, _) = server.text("/api/papers/search?q=agents&mode=vibes").await;
    assert_eq!(code, 400, "an unknown mode is a bad request");
    server.stop().await;
}

/// Twenty real arXiv records in the listings format.
fn write_sample(dir: &Path) -> Option<(PathBuf, Vec<Value>)> {
    let sample = common::shared_data("arxiv-listings/sample_1000.jsonl")?;
    let lines: Vec<String> = std::fs::read_to_string(sample)
        .unwrap()
        .lines()
        .take(20)
        .map(str::to_owned)
        .collect();
    let path = dir.join("sample20.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for l in &lines {
        writeln!(f, "{l}").unwrap();
    }
    Some((
        path,
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    ))
}

async fn wait_embedded(server: &Server, n: u64) -> Value {
    poll("every paper embedded", || {
        let api = server.api.clone();
        async move {
            let v = api.try_json("/api/status").await?;
            (v["search"]["semantic"]["vectors"].as_u64()? >= n).then_some(v)
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_model_papers_are_embedded_once_and_found_by_meaning() {
    let Some(model) = model_dir() else { return };
    let (dir, mut settings) = common::temp_settings(false);
    settings.model_dir = model.to_string_lossy().into_owned();
    let Some((file, records)) = write_sample(dir.path()) else {
        return;
    };
    let summary = common::import_file(&settings, &file).await;
    assert_eq!(summary.new, 20);

    let server = Server::start(settings.clone()).await;
    let status = wait_embedded(&server, 20).await;
    assert_eq!(status["search"]["mode"], "hybrid");
    assert_eq!(status["search"]["semantic"]["embeddedSinceStart"], 20);

    // The first sentence of an abstract, as a query in semantic mode, finds its paper first.
    let target = &records[3];
    let sentence: String = target["abstract"]
        .as_str()
        .unwrap()
        .split(". ")
        .next()
        .unwrap()
        .chars()
        .take(200)
        .collect();
    let q = reqwest::Url::parse_with_params(
        "http://x/api/papers/search",
        [("q", sentence.as_str()), ("mode", "semantic")],
    )
    .unwrap();
    let r = server
        .get(&format!("/api/papers/search?{}", q.query().unwrap()))
        .await;
    assert_eq!(r.headers()["x-search-mode"], "semantic");
    let items: Value = r.json().await.unwrap();
    assert_eq!(common::item_ids(&items)[0], target["id"].as_str().unwrap());

    let id = target["id"].as_str().unwrap();
    let similar = server.json(&format!("/api/papers/{id}/similar")).await;
    let ids = common::item_ids(&similar);
    assert_eq!(ids.len(), 10);
    assert!(
        !ids.contains(&id.to_string()),
        "a paper is not similar to itself"
    );
    server.stop().await;
    let files: Vec<_> = std::fs::read_dir(settings.data_dir.join("vectors"))
        .expect("the vector index is saved in the data directory")
        .collect();
    assert_eq!(files.len(), 1, "one index file, for the one model");

    // A restart loads the stored vectors: all 20 are there with nothing embedded. (Had they not
    // been reused, they could only reach 20 by being embedded again, which this would count.)
    let server = Server::start(settings).await.owning(dir);
    let status = wait_embedded(&server, 20).await;
    let again: Value = server.json("/api/status").await;
    assert_eq!(
        again["search"]["semantic"]["embeddedSinceStart"], 0,
        "vectors were reused: {status}"
    );
    server.stop().await;
}
