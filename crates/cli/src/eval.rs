//! `paperboy eval`: search quality on a BEIR-format benchmark (corpus.jsonl, queries.jsonl, qrels
//! TSV). The corpus goes through the real pipeline (store, keyword index, embedding worker) in a
//! temporary data directory; every query runs through the same hybrid search the server uses.
//! Metrics follow trec_eval: nDCG@10 with graded gains and log2 discounts, Recall@100.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use paperboy_core::{ArxivId, Paper};
use paperboy_search::hybrid::Mode;
use paperboy_search::semantic::{Fusion, Semantic};
use paperboy_search::{SearchIndex, SearchQuery, Searcher, SemanticSlot, MAX_QUERY_CHARS};

pub struct EvalArgs {
    pub corpus: PathBuf,
    pub queries: PathBuf,
    pub qrels: PathBuf,
    pub modes: Vec<Mode>,
    pub model_dir: Option<PathBuf>,
    /// The kernels that run the model.
    pub kernel: paperboy_search::kernel::KernelChoice,
    /// Hybrid runs once per fusion setting (keyword and semantic once in all).
    pub fusions: Vec<Fusion>,
    pub show_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub ndcg10: f64,
    pub recall100: f64,
    pub queries: usize,
}

pub(crate) fn read_jsonl(path: &Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line)
                .with_context(|| format!("{}: line {}", path.display(), i + 1))?,
        );
    }
    Ok(out)
}

/// Benchmark document ids are not arXiv ids; each gets a synthetic one (`2001.00001`, …) for the
/// pipeline and is mapped back for scoring.
pub(crate) fn synthetic_id(i: usize) -> ArxivId {
    let month = i / 99_999;
    let (yy, mm) = (1 + month / 12, month % 12 + 1);
    ArxivId::parse(&format!("{yy:02}{mm:02}.{:05}", i % 99_999 + 1)).expect("valid synthetic id")
}

/// Relevance judgements: query id -> document id -> grade. A header line is skipped.
pub fn read_qrels(path: &Path) -> anyhow::Result<HashMap<String, HashMap<String, u32>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("open {}", path.display()))?;
    let mut out: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        let (q, d, grade) = match cols.as_slice() {
            [q, d, g] => (q, d, g),
            [q, _, d, g] => (q, d, g),
            _ if line.trim().is_empty() => continue,
            _ => bail!(
                "{}: line {}: expected query-id, corpus-id, score",
                path.display(),
                i + 1
            ),
        };
        match grade.parse::<u32>() {
            Ok(g) => {
                out.entry(q.to_string())
                    .or_default()
                    .insert(d.to_string(), g);
            }
            Err(_) if i == 0 => continue,
            Err(_) => bail!(
                "{}: line {}: score {grade:?} is not a number",
                path.display(),
                i + 1
            ),
        }
    }
    Ok(out)
}

/// trec_eval's ndcg_cut_10 for one query: gains are the judged grades.
pub fn ndcg_at(ranked: &[String], judged: &HashMap<String, u32>, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| f64::from(*judged.get(d).unwrap_or(&0)) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<u32> = judged.values().copied().filter(|g| *g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| f64::from(*g) / ((i + 2) as f64).log2())
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

pub fn recall_at(ranked: &[String], judged: &HashMap<String, u32>, k: usize) -> f64 {
    let relevant = judged.values().filter(|g| **g > 0).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|d| judged.get(*d).is_some_and(|g| *g > 0))
        .count();
    found as f64 / relevant as f64
}

pub(crate) fn bar(show: bool, len: u64, msg: &'static str) -> ProgressBar {
    let bar = if show {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .expect("template"),
    );
    bar.set_message(msg);
    bar
}

/// Scores every mode asked for; the corpus is indexed and embedded once.
/// One line of results: the mode, the semantic weight for hybrid, the scores.
pub type Run = (Mode, Option<f32>, Scores);

pub async fn run(args: EvalArgs) -> anyhow::Result<Vec<Run>> {
    let qrels = read_qrels(&args.qrels)?;
    let corpus = read_jsonl(&args.corpus)?;
    let queries = read_jsonl(&args.queries)?;
    let dir = tempfile::tempdir()?;
    let store = paperboy_store::open(
        dir.path()
            .join("eval.sqlite3")
            .to_str()
            .context("temp path")?,
        true,
    )?;
    let mut back: HashMap<ArxivId, String> = HashMap::with_capacity(corpus.len());
    let mut batch = Vec::new();
    for (i, doc) in corpus.iter().enumerate() {
        let Some(doc_id) = doc.get("_id").and_then(|v| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| Some(v.to_string()))
        }) else {
            bail!("{}: record {} has no _id", args.corpus.display(), i + 1);
        };
        let id = synthetic_id(i);
        let mut paper = Paper::new(id.clone(), doc["title"].as_str().unwrap_or_default());
        paper.summary = doc["text"].as_str().unwrap_or_default().to_owned();
        if paper.title.trim().is_empty() && paper.summary.trim().is_empty() {
            continue;
        }
        back.insert(id, doc_id);
        batch.push((paper, None));
    }
    store.import(batch).await?;
    let (index, _) = SearchIndex::open(&dir.path().join("index"))?;
    index.catch_up(&*store, |_| {}).await?;

    let slot = SemanticSlot::default();
    if args.modes.iter().any(|m| *m != Mode::Keyword) {
        let model_dir = args
            .model_dir
            .clone()
            .context("semantic and hybrid modes need --model-dir (see `paperboy model install`)")?;
        let semantic = Arc::new(Semantic::open_with(&model_dir, args.kernel, &*store, None).await?);
        tracing::info!(
            kernel = semantic.embedder().kernel(),
            "embedding the corpus"
        );
        let b = bar(args.show_progress, back.len() as u64, "embedding");
        semantic
            .catch_up(&*store, |done, _| b.set_position(done))
            .await?;
        b.finish_and_clear();
        slot.set(semantic);
    }
    // Each query is embedded once, whatever the number of runs.
    let searcher = Searcher::new(Arc::new(index), Arc::new(slot)).remembering_queries();

    let mut out = Vec::new();
    let fusions = if args.fusions.is_empty() {
        vec![Fusion::default()]
    } else {
        args.fusions.clone()
    };
    let runs: Vec<(Mode, Fusion)> = args
        .modes
        .iter()
        .flat_map(|&m| match m {
            Mode::Hybrid => fusions.iter().map(|&f| (m, f)).collect::<Vec<_>>(),
            _ => vec![(m, fusions[0])],
        })
        .collect();
    for (mode, fusion) in runs {
        let searcher = searcher.clone().with_fusion(fusion);
        let b = bar(args.show_progress, queries.len() as u64, "queries");
        let (mut ndcg, mut recall, mut n) = (0.0, 0.0, 0usize);
        for q in &queries {
            b.inc(1);
            let qid = q
                .get("_id")
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| Some(v.to_string()))
                })
                .unwrap_or_default();
            let Some(judged) = qrels.get(&qid) else {
                continue;
            };
            let text: String = q["text"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(MAX_QUERY_CHARS)
                .collect();
            let query = SearchQuery {
                text,
                limit: 100,
                ..Default::default()
            };
            let answer = searcher.search(query, mode).await?;
            if let Some(why) = answer.fallback {
                bail!("a {mode} query was answered by keyword alone: {why}");
            }
            let docs: Vec<String> = answer
                .hits
                .iter()
                .filter_map(|h| back.get(&h.id).cloned())
                .collect();
            ndcg += ndcg_at(&docs, judged, 10);
            recall += recall_at(&docs, judged, 100);
            n += 1;
        }
        b.finish_and_clear();
        if n == 0 {
            bail!("no query has relevance judgements: check that the qrels' query ids match the queries' _id");
        }
        out.push((
            mode,
            (mode == Mode::Hybrid).then_some(fusion.semantic_weight),
            Scores {
                ndcg10: ndcg / n as f64,
                recall100: recall / n as f64,
                queries: n,
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(pairs: &[(&str, u32)]) -> HashMap<String, u32> {
        pairs.iter().map(|(d, g)| (d.to_string(), *g)).collect()
    }

    fn docs(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ndcg_matches_hand_computation() {
        let j = judged(&[("a", 1), ("b", 1)]);
        assert_eq!(ndcg_at(&docs(&["a", "b", "x"]), &j, 10), 1.0);
        // Relevant at ranks 2 and 3: (1/log2 3 + 1/log2 4) / (1 + 1/log2 3)
        let want = (1.0 / 3f64.log2() + 0.5) / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg_at(&docs(&["x", "a", "b"]), &j, 10) - want).abs() < 1e-12);
        assert_eq!(ndcg_at(&docs(&["x"]), &j, 10), 0.0);
    }

    #[test]
    fn recall_counts_relevant_found() {
        let j = judged(&[("a", 1), ("b", 1), ("c", 0)]);
        assert_eq!(recall_at(&docs(&["a", "c"]), &j, 100), 0.5);
    }

    #[test]
    fn synthetic_ids_are_distinct_and_valid() {
        let ids: std::collections::HashSet<_> =
            (0..250_000).step_by(997).map(synthetic_id).collect();
        assert_eq!(ids.len(), (0..250_000).step_by(997).count());
        assert_eq!(synthetic_id(0).as_str(), "0101.00001");
    }

    #[test]
    fn qrels_skip_the_header_and_read_grades() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.tsv");
        std::fs::write(
            &p,
            "query-id\tcorpus-id\tscore\n1\t31715818\t1\n1\t999\t2\n",
        )
        .unwrap();
        let q = read_qrels(&p).unwrap();
        assert_eq!(q["1"]["999"], 2);
        std::fs::write(&p, "1\t2\tx\n1\t3\ty\n").unwrap();
        assert!(read_qrels(&p).is_err());
    }
}
