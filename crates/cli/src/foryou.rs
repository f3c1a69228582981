//! `paperboy eval foryou`: the for-you rankers measured on reader cases (`../shared/data/foryou`):
//! each case's library ranks the pool of papers announced on its day; nDCG@10, MRR and
//! Recall@50 against the papers the reader wrote there, averaged over the cases.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use anyhow::Context;
use paperboy_core::ArxivId;
use paperboy_search::foryou::{measure, ranked, scores, Doc, Method, Terms};
use serde::Deserialize;

/// One reader case.
#[derive(Debug, Deserialize)]
pub struct Case {
    pub case: String,
    pub library: Vec<String>,
    pub day: String,
    pub relevant: Vec<String>,
}

/// Averaged figures of one method.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    pub ndcg10: f64,
    pub mrr: f64,
    pub recall50: f64,
}

fn lines(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    let file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let gz = path.extension().is_some_and(|e| e == "gz");
    Ok(match gz {
        true => Box::new(std::io::BufReader::new(flate2::read::GzDecoder::new(file))),
        false => Box::new(std::io::BufReader::new(file)),
    })
}

/// Papers by id, as rankers see them.
pub type Docs = HashMap<ArxivId, Doc>;
/// Each announcement day's papers.
pub type Days = HashMap<String, Vec<ArxivId>>;

/// The records' papers as rankers see them (authors dropped) and each announcement day's papers.
/// A record without an id or a title is reported and skipped.
pub fn read_records(path: &Path) -> anyhow::Result<(Docs, Days)> {
    let (mut docs, mut days) = (HashMap::new(), HashMap::<String, Vec<ArxivId>>::new());
    for (n, line) in lines(path)?.lines().enumerate() {
        let line = line.with_context(|| format!("read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{}:{}: not JSON ({e}), skipped", path.display(), n + 1);
                continue;
            }
        };
        let id = v["id"].as_str().and_then(|s| ArxivId::parse(s).ok());
        let (Some(id), Some(title)) = (id, v["title"].as_str()) else {
            eprintln!("{}:{}: no id or title, skipped", path.display(), n + 1);
            continue;
        };
        let categories = match &v["categories"] {
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|c| c.as_str())
                .map(str::to_owned)
                .collect(),
            serde_json::Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        let summary = v["abstract"]
            .as_str()
            .or(v["summary"].as_str())
            .unwrap_or("")
            .to_owned();
        if let Some(day) = v["listing_date"].as_str() {
            days.entry(day.to_owned()).or_default().push(id.clone());
        }
        docs.insert(
            id.clone(),
            Doc {
                id,
                title: title.to_owned(),
                summary,
                categories,
            },
        );
    }
    Ok((docs, days))
}

pub fn read_cases(path: &Path) -> anyhow::Result<Vec<Case>> {
    let mut cases = Vec::new();
    for (n, line) in lines(path)?.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        cases.push(
            serde_json::from_str(&line).with_context(|| format!("{}:{}", path.display(), n + 1))?,
        );
    }
    Ok(cases)
}

/// The benchmark read: papers, days, cases, and the TF-IDF vectors of every paper.
struct Bench {
    docs: Docs,
    days: Days,
    cases: Vec<Case>,
    terms: Terms,
}

impl Bench {
    fn load(records: &Path, cases: &Path) -> anyhow::Result<Bench> {
        let (docs, days) = read_records(records)?;
        let cases = read_cases(cases)?;
        let all: Vec<Doc> = docs.values().cloned().collect();
        let terms = Terms::build(&all);
        Ok(Bench {
            docs,
            days,
            cases,
            terms,
        })
    }

    /// A case's library, pool and relevant papers.
    fn case(&self, c: &Case) -> (Vec<ArxivId>, Vec<ArxivId>, Vec<ArxivId>) {
        let pool = self.days.get(&c.day).cloned().unwrap_or_default();
        (ids(&c.library), pool, ids(&c.relevant))
    }
}

fn ids(ids: &[String]) -> Vec<ArxivId> {
    ids.iter().filter_map(|s| ArxivId::parse(s).ok()).collect()
}

/// Each method's figures over `cases`, in the order asked.
pub fn run(
    records: &Path,
    cases: &Path,
    methods: &[Method],
) -> anyhow::Result<Vec<(Method, Figures)>> {
    let bench = Bench::load(records, cases)?;
    let mut out = Vec::new();
    for &method in methods {
        let mut sum = Figures::default();
        for case in &bench.cases {
            let (library, pool, relevant) = bench.case(case);
            let s = scores(method, &bench.terms, &bench.docs, &library, &pool);
            let (ndcg, rr, recall) = measure(&ranked(&pool, &s), &relevant);
            sum.ndcg10 += ndcg;
            sum.mrr += rr;
            sum.recall50 += recall;
        }
        let n = bench.cases.len().max(1) as f64;
        out.push((
            method,
            Figures {
                ndcg10: sum.ndcg10 / n,
                mrr: sum.mrr / n,
                recall50: sum.recall50 / n,
            },
        ));
    }
    Ok(out)
}

/// Each fold's chosen weights and held-out nDCG@10, and the weights most folds chose.
pub type Validated = (Vec<([f32; 3], f64)>, [f32; 3]);

/// The weights of paperboy's fusion chosen by `folds`-fold cross-validation over `cases`: for
/// each fold, the grid point with the best mean nDCG@10 on the other folds, measured on that
/// fold. Returns each fold's choice and held-out nDCG@10, and the choice most folds made.
pub fn cross_validate(records: &Path, cases: &Path, folds: usize) -> anyhow::Result<Validated> {
    use paperboy_search::foryou::{fuse, parts};
    let bench = Bench::load(records, cases)?;
    // Each case's parts, computed once.
    let prepared: Vec<_> = bench
        .cases
        .iter()
        .map(|c| {
            let (library, pool, relevant) = bench.case(c);
            let p = parts(&bench.terms, &bench.docs, &library, &pool);
            (pool, p, relevant)
        })
        .collect();
    let steps = [0.0f32, 0.2, 0.4, 0.6, 0.8, 1.0];
    let grid: Vec<[f32; 3]> = steps
        .iter()
        .flat_map(|&m| steps.iter().map(move |&c| [1.0, m, c]))
        .collect();
    // nDCG@10 of every case under every grid point.
    let table: Vec<Vec<f64>> = prepared
        .iter()
        .map(|(pool, p, rel)| {
            grid.iter()
                .map(|w| measure(&ranked(pool, &fuse(p, *w)), rel).0)
                .collect()
        })
        .collect();
    let mut chosen = Vec::new();
    for fold in 0..folds {
        let mean = |g: usize, held: bool| {
            let rows: Vec<f64> = table
                .iter()
                .enumerate()
                .filter(|(i, _)| (i % folds == fold) == held)
                .map(|(_, r)| r[g])
                .collect();
            rows.iter().sum::<f64>() / rows.len().max(1) as f64
        };
        let best = (0..grid.len())
            .max_by(|&a, &b| mean(a, false).total_cmp(&mean(b, false)))
            .unwrap_or(0);
        chosen.push((grid[best], mean(best, true)));
    }
    let mut votes: HashMap<String, (usize, [f32; 3])> = HashMap::new();
    for (w, _) in &chosen {
        votes.entry(format!("{w:?}")).or_insert((0, *w)).0 += 1;
    }
    let most = votes
        .into_values()
        .max_by_key(|v| v.0)
        .map(|v| v.1)
        .unwrap_or([1.0, 0.0, 0.0]);
    Ok((chosen, most))
}
