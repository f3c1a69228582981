//! What text analysis costs: the tokenizer chain paperboy's index uses (split on non-alphanumerics,
//! drop tokens over 40 bytes, lowercase, Snowball English stemmer) run over every title, abstract
//! and author name, with the stemmer timed apart and against a memoizing stemmer (a map from word
//! to stem). Indexing and search-page highlighting both spend much of their time here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use rust_stemmers::{Algorithm, Stemmer};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer as StemFilter, TextAnalyzer,
    TokenStream,
};

use crate::queries;

pub struct Options {
    pub records: PathBuf,
}

fn analyzer(stem: bool) -> TextAnalyzer {
    let b = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser);
    if stem {
        b.filter(StemFilter::new(Language::English)).build()
    } else {
        b.build()
    }
}

pub fn run(o: Options) -> anyhow::Result<()> {
    let papers = queries::load_papers(&o.records)?;
    let texts: Vec<&str> = papers
        .iter()
        .flat_map(|p| {
            [p.title.as_str(), p.summary.as_str()]
                .into_iter()
                .chain(p.authors.iter().map(|a| a.name.as_str()))
        })
        .collect();

    // 1. paperboy's chain as registered (tantivy's Stemmer filter).
    let mut full = analyzer(true);
    let t = Instant::now();
    let mut tokens = 0u64;
    let mut check_full = 0u64;
    for text in &texts {
        let mut s = full.token_stream(text);
        while s.advance() {
            tokens += 1;
            check_full += s.token().text.len() as u64;
        }
    }
    let d_full = t.elapsed();

    // 2. The same chain without the stemmer.
    let mut plain = analyzer(false);
    let t = Instant::now();
    let mut words: Vec<String> = Vec::with_capacity(tokens as usize);
    for text in &texts {
        let mut s = plain.token_stream(text);
        while s.advance() {
            words.push(s.token().text.clone());
        }
    }
    let d_plain = t.elapsed();

    // 3. The stemmer alone, called for every token (what tantivy's filter does).
    let stemmer = Stemmer::create(Algorithm::English);
    let t = Instant::now();
    let mut check_direct = 0u64;
    for w in &words {
        check_direct += stemmer.stem(w).len() as u64;
    }
    let d_direct = t.elapsed();

    // 4. A memoizing stemmer: each distinct word is stemmed once.
    let t = Instant::now();
    let mut cache: HashMap<String, String> = HashMap::new();
    let mut check_cached = 0u64;
    for w in &words {
        let stem = match cache.get(w.as_str()) {
            Some(s) => s.len(),
            None => {
                let s = stemmer.stem(w).into_owned();
                let n = s.len();
                cache.insert(w.clone(), s);
                n
            }
        };
        check_cached += stem as u64;
    }
    let d_cached = t.elapsed();
    anyhow::ensure!(
        check_full == check_direct && check_direct == check_cached,
        "the stemmers disagree"
    );

    let per = |d: std::time::Duration| d.as_nanos() as f64 / tokens as f64;
    println!(
        "## Text analysis of every title, abstract and author ({} papers, {} tokens, {} distinct)",
        papers.len(),
        tokens,
        cache.len()
    );
    println!();
    println!("| step | seconds | ns per token |");
    println!("|---|---:|---:|");
    for (name, d) in [
        (
            "paperboy's chain (split, length cap, lowercase, Snowball stem)",
            d_full,
        ),
        ("the chain without the stemmer", d_plain),
        ("Snowball English stemmer alone, every token", d_direct),
        (
            "memoizing stemmer (HashMap word -> stem), every token",
            d_cached,
        ),
    ] {
        println!("| {name} | {:.2} | {:.0} |", d.as_secs_f64(), per(d));
    }
    println!();
    println!(
        "- stemming is {:.0}% of the chain; a memoizing stemmer would do it {:.1}x faster",
        100.0 * (d_full.as_secs_f64() - d_plain.as_secs_f64()) / d_full.as_secs_f64(),
        d_direct.as_secs_f64() / d_cached.as_secs_f64()
    );
    Ok(())
}
