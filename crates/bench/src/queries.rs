//! Reproducible query sets: phrases, single words and author names drawn from a seeded random
//! sample of real records. The generator (splitmix64, partial Fisher-Yates) is written out here
//! so the same seed gives the same queries on every machine and every version of every crate.

use std::path::Path;

use anyhow::Context;
use paperboy_core::Paper;
use paperboy_ingest::{Record, RecordError, Sink};

/// splitmix64: tiny, fast and fixed forever.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant at these sizes.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 2-4 consecutive words of a title.
    Phrase,
    /// One word (4+ letters, not a stop word) of a title.
    Word,
    /// One author's name.
    Author,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Phrase => "title phrase",
            Kind::Word => "single word",
            Kind::Author => "author name",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Query {
    pub kind: Kind,
    /// Words separated by single spaces; every word is purely alphanumeric, so tantivy's query
    /// parser and FTS5 see the same terms and neither sees operators or phrases.
    pub text: String,
}

impl Query {
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.text.split(' ')
    }
}

/// Every paper in a file paperboy can import, in file order (rejected records are skipped).
pub fn load_papers(path: &Path) -> anyhow::Result<Vec<Paper>> {
    struct Collect(Vec<Paper>, u64);
    impl Sink for Collect {
        fn record(&mut self, item: Result<Record, RecordError>) {
            match item {
                Ok(r) => self.0.push(r.into_parts().0),
                Err(_) => self.1 += 1,
            }
        }
    }
    let mut sink = Collect(Vec::new(), 0);
    paperboy_ingest::read_path(path, &mut sink)
        .with_context(|| format!("read {}", path.display()))?;
    anyhow::ensure!(!sink.0.is_empty(), "{} holds no papers", path.display());
    Ok(sink.0)
}

/// The words a tokenizer splitting on non-alphanumerics would see, minus query-syntax keywords.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && w.chars().count() <= 40)
        .filter(|w| !matches!(*w, "AND" | "OR" | "NOT" | "IN"))
        .collect()
}

const STOP: &[&str] = &[
    "about", "after", "also", "among", "based", "from", "into", "more", "over", "than", "that",
    "their", "them", "then", "these", "they", "this", "through", "towards", "toward", "under",
    "using", "very", "what", "when", "where", "which", "while", "with", "within", "without",
    "your",
];

fn phrase(p: &Paper, rng: &mut Rng) -> Option<String> {
    let w = words(&p.title);
    if w.len() < 2 {
        return None;
    }
    let len = (2 + rng.below(3)).min(w.len());
    let start = rng.below(w.len() - len + 1);
    Some(w[start..start + len].join(" "))
}

fn word(p: &Paper, rng: &mut Rng) -> Option<String> {
    let w: Vec<&str> = words(&p.title)
        .into_iter()
        .filter(|w| w.chars().count() >= 4 && !w.chars().all(|c| c.is_numeric()))
        .filter(|w| !STOP.contains(&w.to_lowercase().as_str()))
        .collect();
    (!w.is_empty()).then(|| w[rng.below(w.len())].to_string())
}

fn author(p: &Paper, rng: &mut Rng) -> Option<String> {
    let names: Vec<String> = p
        .authors
        .iter()
        .map(|a| words(&a.name).join(" "))
        .filter(|n| n.contains(' '))
        .collect();
    (!names.is_empty()).then(|| names[rng.below(names.len())].clone())
}

/// `n` queries from a seeded sample of `papers`: 70% title phrases, 15% single title words, 15%
/// author names, in a fixed interleaving.
pub fn generate(papers: &[Paper], n: usize, seed: u64) -> Vec<Query> {
    let mut rng = Rng::new(seed);
    let mut order: Vec<usize> = (0..papers.len()).collect();
    let mut out = Vec::with_capacity(n);
    let mut drawn = 0;
    while out.len() < n && drawn < order.len() {
        // Partial Fisher-Yates: a sample without replacement.
        let j = drawn + rng.below(order.len() - drawn);
        order.swap(drawn, j);
        let p = &papers[order[drawn]];
        drawn += 1;
        let kind = match out.len() % 20 {
            0..=13 => Kind::Phrase,
            14..=16 => Kind::Word,
            _ => Kind::Author,
        };
        let text = match kind {
            Kind::Phrase => phrase(p, &mut rng),
            Kind::Word => word(p, &mut rng),
            Kind::Author => author(p, &mut rng),
        };
        if let Some(text) = text {
            out.push(Query { kind, text });
        }
    }
    out
}

/// Percent-encodes a query-string value (everything but unreserved characters).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A wrk Lua script that requests `path?q=QUERY` (plus `extra`, e.g. `&limit=10`) for each
/// query in turn.
pub fn wrk_lua(queries: &[Query], path: &str, extra: &str) -> String {
    let mut s = String::from("-- generated by paperboy-bench queries --lua: one request per query, in turn\nlocal paths = {\n");
    for q in queries {
        s.push_str(&format!("  \"{path}?q={}{extra}\",\n", url_encode(&q.text)));
    }
    s.push_str(
        "}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use paperboy_core::{ArxivId, Author};

    #[test]
    fn same_seed_same_queries() {
        let papers: Vec<Paper> = (0..50)
            .map(|i| {
                let mut p = Paper::new(
                    ArxivId::parse(&format!("2501.{:05}", i + 1)).unwrap(),
                    format!("Scaling laws for diffusion-based model number {i} AND more"),
                );
                p.authors = vec![Author::named("Jean-Pierre Dupont"), Author::named("Ada")];
                p
            })
            .collect();
        let a = generate(&papers, 40, 7);
        let b = generate(&papers, 40, 7);
        assert_eq!(a.len(), 40);
        assert_eq!(
            a.iter().map(|q| &q.text).collect::<Vec<_>>(),
            b.iter().map(|q| &q.text).collect::<Vec<_>>()
        );
        for q in &a {
            assert!(q
                .words()
                .all(|w| w.chars().all(char::is_alphanumeric) && w != "AND"));
        }
        assert!(a.iter().any(|q| q.text == "Jean Pierre Dupont"));
        assert_eq!(url_encode("a b/ü"), "a%20b%2F%C3%BC");
    }
}
