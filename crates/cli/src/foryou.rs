//! `paperboy eval foryou`: the for-you rankers measured on reader cases (`../shared/data/foryou`):
//! each case's library ranks the pool of papers announced on its day; nDCG@10, MRR and
//! Recall@50 against the papers the reader wrote there, averaged over the cases.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use paperboy_core::{ArxivId, Paper};
use paperboy_search::embed::Embedder;
use paperboy_search::foryou::{measure, ranked, scores, Doc, Embeddings, Method, Papers, Terms};
use paperboy_search::kernel::KernelChoice;
use paperboy_search::semantic::{paper_text, text_hash};
use serde::Deserialize;

/// Where the embedding methods get their vectors: the model, and a file that keeps them
/// between runs.
pub struct Embedding {
    pub model_dir: PathBuf,
    pub kernel: KernelChoice,
    /// Vectors already there (same model, same text) are reused; the file is rewritten with
    /// every vector of the run.
    pub cache: Option<PathBuf>,
    pub show_progress: bool,
}

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

/// What a run reads.
pub struct Inputs<'a> {
    pub records: &'a Path,
    pub cases: &'a Path,
    /// Keep only the newest this many papers of each library (how rankers do with little).
    pub library_size: Option<usize>,
    /// How to embed, for the methods that rank by embeddings.
    pub embedding: Option<&'a Embedding>,
}

/// The benchmark read: cases, days, and what rankers know of every paper (the TF-IDF
/// vectors of all, the embeddings of the cases' papers when a method needs them).
struct Bench {
    papers: Papers,
    days: Days,
    cases: Vec<Case>,
    library_size: Option<usize>,
}

impl Bench {
    fn load(inputs: &Inputs, embedding: Option<&Embedding>) -> anyhow::Result<Bench> {
        let (docs, days) = read_records(inputs.records)?;
        let cases = read_cases(inputs.cases)?;
        let all: Vec<Doc> = docs.values().cloned().collect();
        let terms = Terms::build(&all);
        let mut bench = Bench {
            papers: Papers {
                docs,
                terms,
                embeddings: Embeddings::new(),
            },
            days,
            cases,
            library_size: inputs.library_size,
        };
        if let Some(e) = embedding {
            // Only the papers the cases rank or learn from.
            let mut needed = BTreeSet::new();
            for c in &bench.cases {
                let (library, pool, _) = bench.case(c);
                needed.extend(library.into_iter().chain(pool));
            }
            let docs: Vec<&Doc> = needed
                .iter()
                .filter_map(|id| bench.papers.docs.get(id))
                .collect();
            bench.papers.embeddings = embed(&docs, e)?;
        }
        Ok(bench)
    }

    /// A case's library, pool and relevant papers.
    fn case(&self, c: &Case) -> (Vec<ArxivId>, Vec<ArxivId>, Vec<ArxivId>) {
        let pool = self.days.get(&c.day).cloned().unwrap_or_default();
        let mut library = ids(&c.library);
        if let Some(n) = self.library_size {
            // arXiv ids grow with time: the newest are the largest.
            library.sort_unstable_by(|a, b| b.cmp(a));
            library.truncate(n.max(1));
        }
        (library, pool, ids(&c.relevant))
    }
}

fn ids(ids: &[String]) -> Vec<ArxivId> {
    ids.iter().filter_map(|s| ArxivId::parse(s).ok()).collect()
}

/// The text a paper is embedded from, as the server embeds it.
fn text_of(d: &Doc) -> String {
    let mut p = Paper::new(d.id.clone(), &d.title);
    p.summary = d.summary.clone();
    paper_text(&p)
}

const CACHE_MAGIC: &[u8] = b"paperboy foryou vectors 1\n";

/// The cache's vectors of `model` by id, with the hash of the text each was embedded from.
fn read_cache(path: &Path, model: &str) -> anyhow::Result<HashMap<ArxivId, (i64, Vec<f32>)>> {
    let mut out = HashMap::new();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    let mut r = bytes.as_slice();
    let mut take = |n: usize| -> anyhow::Result<Vec<u8>> {
        let mut b = vec![0u8; n];
        r.read_exact(&mut b)
            .with_context(|| format!("{}: cut short", path.display()))?;
        Ok(b)
    };
    let u32_of = |b: Vec<u8>| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if take(CACHE_MAGIC.len())? != CACHE_MAGIC {
        bail!("{} is not a paperboy vectors file", path.display());
    }
    let name_len = u32_of(take(4)?);
    let name = take(name_len.min(4096))?;
    let dim = u32_of(take(4)?);
    let count = u32_of(take(4)?);
    if name != model.as_bytes() || dim == 0 || dim > 16_384 {
        eprintln!("{}: another model's vectors, not reused", path.display());
        return Ok(out);
    }
    for _ in 0..count {
        let id_len = take(1)?[0] as usize;
        let id = String::from_utf8_lossy(&take(id_len)?).into_owned();
        let hash = i64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
        let v: Vec<f32> = take(dim * 4)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Ok(id) = ArxivId::parse(&id) {
            out.insert(id, (hash, v));
        }
    }
    Ok(out)
}

fn write_cache(
    path: &Path,
    model: &str,
    vectors: &[(&ArxivId, i64, &[f32])],
) -> anyhow::Result<()> {
    let dim = vectors.first().map_or(0, |v| v.2.len());
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("write {}", path.display()))?,
    );
    w.write_all(CACHE_MAGIC)?;
    w.write_all(&(model.len() as u32).to_le_bytes())?;
    w.write_all(model.as_bytes())?;
    w.write_all(&(dim as u32).to_le_bytes())?;
    w.write_all(&(vectors.len() as u32).to_le_bytes())?;
    for (id, hash, v) in vectors {
        let id = id.as_str().as_bytes();
        w.write_all(&[id.len().min(255) as u8])?;
        w.write_all(&id[..id.len().min(255)])?;
        w.write_all(&hash.to_le_bytes())?;
        for x in v.iter() {
            w.write_all(&x.to_le_bytes())?;
        }
    }
    w.flush()?;
    Ok(())
}

/// The embeddings of `docs` by the model, with those the cache holds for the same text reused.
fn embed(docs: &[&Doc], e: &Embedding) -> anyhow::Result<Embeddings> {
    let embedder = Embedder::load_with(&e.model_dir, e.kernel)
        .with_context(|| format!("load the model from {}", e.model_dir.display()))?;
    let cached = match &e.cache {
        Some(path) => read_cache(path, embedder.name())?,
        None => HashMap::new(),
    };
    let texts: Vec<(String, i64)> = docs
        .iter()
        .map(|d| {
            let t = text_of(d);
            let h = text_hash(&t);
            (t, h)
        })
        .collect();
    let mut out = Embeddings::new();
    let mut todo = Vec::new();
    for (d, (text, hash)) in docs.iter().zip(&texts) {
        match cached.get(&d.id) {
            Some((h, v)) if h == hash && v.len() == embedder.dim() => {
                out.insert(d.id.clone(), v.clone());
            }
            _ => todo.push((d, text.as_str())),
        }
    }
    let bar = crate::eval::bar(e.show_progress, todo.len() as u64, "embedding");
    for batch in todo.chunks(64) {
        let texts: Vec<&str> = batch.iter().map(|(_, t)| *t).collect();
        let vectors = embedder.embed(&texts)?;
        for ((d, _), v) in batch.iter().zip(vectors) {
            out.insert(d.id.clone(), v);
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    if let Some(path) = &e.cache {
        if !todo.is_empty() {
            let rows: Vec<(&ArxivId, i64, &[f32])> = docs
                .iter()
                .zip(&texts)
                .filter_map(|(d, (_, h))| out.get(&d.id).map(|v| (&d.id, *h, v.as_slice())))
                .collect();
            write_cache(path, embedder.name(), &rows)?;
        }
    }
    Ok(out)
}

/// Each method's figures over `cases`, in the order asked; `embedding` is needed by the
/// methods that rank by embeddings.
///
/// The papers are embedded when an embedding method is asked for or the embeddings are kept in
/// a file (`Embedding::cache`); the shipped ranker then uses them, as `/for-you` uses the
/// stored ones, and ranks by terms and categories alone otherwise.
pub fn run(inputs: &Inputs, methods: &[Method]) -> anyhow::Result<Vec<(Method, Figures)>> {
    let asked = methods.iter().any(|m| m.embeds());
    if asked && inputs.embedding.is_none() {
        bail!("the embedding methods need a model (see `paperboy model install`)");
    }
    let embeds = asked || inputs.embedding.is_some_and(|e| e.cache.is_some());
    let bench = Bench::load(inputs, inputs.embedding.filter(|_| embeds))?;
    let mut out = Vec::new();
    for &method in methods {
        let mut sum = Figures::default();
        for case in &bench.cases {
            let (library, pool, relevant) = bench.case(case);
            let s = scores(method, &bench.papers, &library, &pool);
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

/// The weights of a fusion chosen by `folds`-fold cross-validation over `cases`: for each fold,
/// the grid point with the best mean nDCG@10 on the other folds, measured on that fold. Returns
/// each fold's choice and held-out nDCG@10, and the choice most folds made. Without an
/// embedding the parts are the terms' (TF-IDF centroid, nearest library paper, category
/// count); with it, the shipped ranker's score by terms and categories alone, the nearest
/// library paper by embedding and the embedding centroid (to weigh the embedding parts); with
/// it and libraries of one paper, the parts of similar papers' likeness (TF-IDF cosine,
/// embedding cosine) and the category.
pub fn cross_validate(inputs: &Inputs, folds: usize) -> anyhow::Result<Validated> {
    use paperboy_search::foryou::{fuse, parts, z};
    let embedding = inputs.embedding;
    let bench = Bench::load(inputs, embedding)?;
    // A method's z-scores, papers it could not score given the lowest score it gave.
    let part = |m: Method, library: &[ArxivId], pool: &[ArxivId]| {
        let s = scores(m, &bench.papers, library, pool);
        let floor = s
            .iter()
            .copied()
            .filter(|x| *x > f32::MIN)
            .fold(f32::MAX, f32::min);
        z(s.into_iter()
            .map(|x| if x > f32::MIN { x } else { floor })
            .collect())
    };
    // Each case's parts, computed once.
    let prepared: Vec<_> = bench
        .cases
        .iter()
        .map(|c| {
            let (library, pool, relevant) = bench.case(c);
            let p = match embedding {
                None => parts(&bench.papers, &library, &pool),
                Some(_) if library.len() == 1 => [
                    part(Method::TfidfMax, &library, &pool),
                    part(Method::EmbeddingMax, &library, &pool),
                    z(paperboy_search::foryou::scores(
                        Method::Category,
                        &bench.papers,
                        &library,
                        &pool,
                    )),
                ],
                Some(_) => [
                    z(paperboy_search::foryou::shipped(
                        &bench.papers,
                        &library,
                        &pool,
                        false,
                    )),
                    part(Method::EmbeddingMax, &library, &pool),
                    part(Method::EmbeddingCentroid, &library, &pool),
                ],
            };
            (pool, p, relevant)
        })
        .collect();
    let steps: Vec<f32> = (0..=10).map(|i| i as f32 / 10.0).collect();
    // Likeness to one paper may lean on its embedding more than on its terms.
    let one_paper = embedding.is_some() && inputs.library_size == Some(1);
    let second: Vec<f32> = match one_paper {
        true => (0..=30).map(|i| i as f32 / 10.0).collect(),
        false => steps.clone(),
    };
    let grid: Vec<[f32; 3]> = second
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
    // The grid's best points over all cases, for the record (the choice is the folds').
    let overall = |g: usize| table.iter().map(|r| r[g]).sum::<f64>() / table.len().max(1) as f64;
    let mut order: Vec<usize> = (0..grid.len()).collect();
    order.sort_by(|&a, &b| overall(b).total_cmp(&overall(a)));
    for &g in order.iter().take(5) {
        eprintln!(
            "all cases: weights {:?}, nDCG@10 {:.4}",
            grid[g],
            overall(g)
        );
    }
    if let Some(&g) = order.iter().find(|&&g| grid[g][2] == 0.0) {
        eprintln!(
            "all cases, without the third part: weights {:?}, nDCG@10 {:.4}",
            grid[g],
            overall(g)
        );
    }
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
