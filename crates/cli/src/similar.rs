//! `paperboy eval similar`: papers like a paper, measured on a query-by-example benchmark in
//! BEIR files (corpus, queries whose lines carry the query paper's `title` and `abstract`,
//! qrels). The query papers are added to the corpus, as the paper page would find them stored,
//! and each is left out of its own list; every query is ranked 100 deep by the code the paper
//! page runs (`paperboy_web::query::similar`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use paperboy_core::{ArxivId, Paper};
use paperboy_search::semantic::Semantic;
use paperboy_search::{SearchIndex, SemanticSlot};

use crate::eval::{bar, ndcg_at, read_jsonl, read_qrels, recall_at, synthetic_id, Scores};

pub struct SimilarArgs {
    pub corpus: PathBuf,
    pub queries: PathBuf,
    pub qrels: PathBuf,
    /// None: terms alone (no embeddings).
    pub model_dir: Option<PathBuf>,
    pub kernel: paperboy_search::kernel::KernelChoice,
    pub show_progress: bool,
}

fn id_of(v: &serde_json::Value) -> Option<String> {
    v.get("_id").and_then(|v| {
        v.as_str()
            .map(str::to_owned)
            .or_else(|| Some(v.to_string()))
    })
}

pub async fn run(args: SimilarArgs) -> anyhow::Result<Scores> {
    let qrels = read_qrels(&args.qrels)?;
    let corpus = read_jsonl(&args.corpus)?;
    let queries = read_jsonl(&args.queries)?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("eval.sqlite3");
    let store = paperboy_store::open(path.to_str().context("temp path")?, true)?;
    let mut back: HashMap<ArxivId, String> = HashMap::new();
    let mut asked: Vec<(String, ArxivId)> = Vec::new();
    let mut batch = Vec::new();
    let docs = corpus
        .iter()
        .map(|d| (d, false))
        .chain(queries.iter().map(|q| (q, true)));
    for (i, (doc, is_query)) in docs.enumerate() {
        let Some(doc_id) = id_of(doc) else {
            bail!("record {} has no _id", i + 1);
        };
        let id = synthetic_id(i);
        let mut paper = Paper::new(id.clone(), doc["title"].as_str().unwrap_or_default());
        paper.summary = doc["abstract"]
            .as_str()
            .or(doc["text"].as_str())
            .unwrap_or_default()
            .to_owned();
        if paper.title.trim().is_empty() && paper.summary.trim().is_empty() {
            eprintln!("{doc_id}: no title or abstract, skipped");
            continue;
        }
        if is_query {
            asked.push((doc_id, id.clone()));
        } else {
            back.insert(id.clone(), doc_id);
        }
        batch.push((paper, None));
    }
    store.import(batch).await?;
    let (index, _) = SearchIndex::open(&dir.path().join("index"))?;
    index.catch_up(&*store, |_| {}).await?;
    let slot = SemanticSlot::default();
    if let Some(model_dir) = &args.model_dir {
        let semantic = Arc::new(Semantic::open_with(model_dir, args.kernel, &*store, None).await?);
        let b = bar(
            args.show_progress,
            (back.len() + asked.len()) as u64,
            "embedding",
        );
        semantic
            .catch_up(&*store, |done, _| b.set_position(done))
            .await?;
        b.finish_and_clear();
        slot.set(semantic);
    }
    let mut state = paperboy_web::state::AppState::new(
        store.clone(),
        Arc::new(index),
        paperboy_web::state::WebSettings::default(),
    );
    state.semantic = Arc::new(slot);
    let b = bar(args.show_progress, asked.len() as u64, "queries");
    let (mut ndcg, mut recall, mut n) = (0.0, 0.0, 0usize);
    for (qid, id) in &asked {
        b.inc(1);
        let Some(judged) = qrels.get(qid) else {
            continue;
        };
        let view = store
            .paper(id)
            .await?
            .context("a query paper went missing")?;
        let found = paperboy_web::query::similar(&state, &view, 100)
            .await
            .map_err(|e| anyhow::anyhow!("similar to {qid}: {}", e.message))?;
        let ranked: Vec<String> = found
            .iter()
            .filter_map(|v| back.get(&v.paper.id).cloned())
            .collect();
        ndcg += ndcg_at(&ranked, judged, 10);
        recall += recall_at(&ranked, judged, 100);
        n += 1;
    }
    b.finish_and_clear();
    if n == 0 {
        bail!("no query has relevance judgements: check that the qrels' query ids match the queries' _id");
    }
    Ok(Scores {
        ndcg10: ndcg / n as f64,
        recall100: recall / n as f64,
        queries: n,
    })
}
