//! Search quality on a SciFact subset, through `paperboy eval`'s code path: the first 40 judged
//! training queries against their relevant abstracts plus 200 others. The full benchmark is in
//! BENCHMARKS.md; this guards against regressions in ranking, fusion and the embedder.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use paperboy_cli::eval::{self, EvalArgs};
use paperboy_search::hybrid::Mode;

/// `dir`, when it holds `file`; else None (the test skips), which CI, where `.ci/run` provides
/// `what`, must not come to.
fn present(dir: PathBuf, file: &str, what: &str) -> Option<PathBuf> {
    if dir.join(file).exists() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have {what} in {}",
        dir.display()
    );
    eprintln!("skipped: no {what} in {}", dir.display());
    None
}

fn data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/scifact");
    present(dir, "corpus.jsonl", "the SciFact data")
}

fn model() -> Option<PathBuf> {
    let dir = std::env::var_os("PAPERBOY_TEST_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-model/all-MiniLM-L6-v2")
        });
    present(dir, "model.safetensors", "the embedding model")
}

#[tokio::test(flavor = "multi_thread")]
async fn hybrid_beats_keyword_and_semantic_alone_on_a_scifact_subset() {
    let (Some(data), Some(model)) = (data(), model()) else {
        return;
    };
    let qrels = std::fs::read_to_string(data.join("qrels-train.tsv")).unwrap();
    let mut queries: Vec<String> = Vec::new();
    let mut relevant: HashSet<String> = HashSet::new();
    let mut kept_qrels = String::from("query-id\tcorpus-id\tscore\n");
    for line in qrels.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if !queries.contains(&cols[0].to_string()) {
            if queries.len() == 40 {
                continue;
            }
            queries.push(cols[0].to_string());
        }
        relevant.insert(cols[1].to_string());
        kept_qrels.push_str(line);
        kept_qrels.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let mut corpus = std::fs::File::create(dir.path().join("corpus.jsonl")).unwrap();
    let mut others = 0;
    for line in std::fs::read_to_string(data.join("corpus.jsonl"))
        .unwrap()
        .lines()
    {
        let doc: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = doc["_id"].as_str().unwrap().to_string();
        let keep = relevant.contains(&id) || {
            others += 1;
            others <= 200
        };
        if keep {
            writeln!(corpus, "{line}").unwrap();
        }
    }
    let mut q = std::fs::File::create(dir.path().join("queries.jsonl")).unwrap();
    for line in std::fs::read_to_string(data.join("queries-train.jsonl"))
        .unwrap()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if queries.contains(&v["_id"].as_str().unwrap().to_string()) {
            writeln!(q, "{line}").unwrap();
        }
    }
    std::fs::write(dir.path().join("qrels.tsv"), kept_qrels).unwrap();

    let scores = eval::run(EvalArgs {
        corpus: dir.path().join("corpus.jsonl"),
        queries: dir.path().join("queries.jsonl"),
        qrels: dir.path().join("qrels.tsv"),
        modes: vec![Mode::Keyword, Mode::Semantic, Mode::Hybrid],
        model_dir: Some(model),
        kernel: Default::default(),
        fusions: vec![Default::default()],
        show_progress: false,
    })
    .await
    .unwrap();
    let ndcg = |m: Mode| scores.iter().find(|s| s.0 == m).unwrap().2.ndcg10;
    let (k, s, h) = (
        ndcg(Mode::Keyword),
        ndcg(Mode::Semantic),
        ndcg(Mode::Hybrid),
    );
    eprintln!("nDCG@10 on the subset: keyword {k:.4}, semantic {s:.4}, hybrid {h:.4}");
    assert_eq!(scores[0].2.queries, 40);
    assert!(
        k > 0.5 && s > 0.5,
        "both sides work on their own: keyword {k}, semantic {s}"
    );
    assert!(
        h > k && h > s,
        "fusion adds to both: keyword {k}, semantic {s}, hybrid {h}"
    );
}
