//! A scale data set: N records in the Kaggle `arxiv-metadata-oai-snapshot` format built from real
//! arXiv records. Each record takes its authors and categories from one real paper, and its title
//! and abstract from two (the first part of one, the rest of another, sentence by sentence), so
//! the vocabulary, lengths and term statistics stay those of real papers while no two records are
//! the same. Ids are new-style (`YYMM.NNNNN`), one month after another from 2007-04, as many per
//! month as N needs; each record is dated within its id's month.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use chrono::{Datelike, Duration, NaiveDate};
use paperboy_core::Paper;

// The arguments of `paperboy-bench generate` (a `//` comment: a doc comment would be its help).
#[derive(clap::Args)]
pub struct Options {
    /// Real records to mix (any format `paperboy import` reads), e.g. the arXiv listings.
    #[arg(long)]
    pub records: PathBuf,
    #[arg(long, default_value_t = 2_700_000)]
    pub count: usize,
    /// The JSON-lines file to write.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Months from 2007-04 (the first new-style id) to 2026-07, as arXiv's own ids run.
const FIRST: (i32, u32) = (2007, 4);
const MONTHS: usize = 232;

fn month(k: usize) -> NaiveDate {
    let m0 = (FIRST.0 * 12 + FIRST.1 as i32 - 1) as usize + k;
    NaiveDate::from_ymd_opt((m0 / 12) as i32, (m0 % 12) as u32 + 1, 1).expect("date")
}

fn sentences(text: &str) -> Vec<&str> {
    text.split_inclusive(". ").collect()
}

/// The first half of `a`'s sentences, then the second half of `b`'s.
fn mix<'a>(a: &'a str, b: &'a str) -> String {
    let (sa, sb) = (sentences(a), sentences(b));
    let mut out: String = sa[..sa.len().div_ceil(2)].concat();
    out.push_str(&sb[sb.len() / 2..].concat());
    out
}

/// The first half of `a`'s title words, then the second half of `b`'s.
fn mix_title(a: &str, b: &str) -> String {
    let (wa, wb): (Vec<&str>, Vec<&str>) = (
        a.split_whitespace().collect(),
        b.split_whitespace().collect(),
    );
    let mut words: Vec<&str> = wa[..wa.len().div_ceil(2)].to_vec();
    words.extend_from_slice(&wb[wb.len() / 2..]);
    words.join(" ")
}

fn record(id: &str, day: NaiveDate, a: &Paper, b: &Paper) -> serde_json::Value {
    let names: Vec<&str> = a.authors.iter().map(|x| x.name.as_str()).collect();
    let parsed: Vec<[String; 3]> = names
        .iter()
        .map(|n| match n.rsplit_once(' ') {
            Some((first, last)) => [last.to_owned(), first.to_owned(), String::new()],
            None => [n.to_string(), String::new(), String::new()],
        })
        .collect();
    let created = format!(
        "{}, {} {} {} 12:00:00 GMT",
        day.format("%a"),
        day.day(),
        day.format("%b"),
        day.year()
    );
    serde_json::json!({
        "id": id,
        "submitter": names.first().copied().unwrap_or("Anonymous"),
        "authors": names.join(", "),
        "title": mix_title(&a.title, &b.title),
        "comments": a.comment,
        "journal-ref": null,
        "doi": null,
        "report-no": null,
        "categories": a.categories.join(" "),
        "license": null,
        "abstract": mix(&a.summary, &b.summary),
        "versions": [{"version": "v1", "created": created}],
        "update_date": day.to_string(),
        "authors_parsed": parsed,
    })
}

pub fn run(o: Options) -> anyhow::Result<()> {
    let papers = crate::queries::load_papers(&o.records)?;
    let per_month = o.count.div_ceil(MONTHS).max(1);
    anyhow::ensure!(
        per_month <= 99_999,
        "at most {} records fit in the id space",
        99_999 * MONTHS
    );
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&o.out)?);
    let mut rng = crate::queries::Rng::new(o.seed);
    let bar = indicatif::ProgressBar::new(o.count as u64);
    for i in 0..o.count {
        let (m, n) = (i / per_month, i % per_month + 1);
        let start = month(m);
        let days = (month(m + 1) - start).num_days();
        let day = start + Duration::days((n as i64 * days) / (per_month as i64 + 1));
        let id = format!("{:02}{:02}.{n:05}", start.year() % 100, start.month());
        let a = &papers[rng.below(papers.len())];
        let b = &papers[rng.below(papers.len())];
        serde_json::to_writer(&mut out, &record(&id, day, a, b))?;
        out.write_all(b"\n")?;
        if i % 10_000 == 0 {
            bar.set_position(i as u64);
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    eprintln!(
        "wrote {} records ({} a month from {}) to {}",
        o.count,
        per_month,
        month(0).format("%Y-%m"),
        o.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_run_from_april_2007_and_texts_mix_two_papers() {
        assert_eq!(month(0), NaiveDate::from_ymd_opt(2007, 4, 1).unwrap());
        assert_eq!(month(9), NaiveDate::from_ymd_opt(2008, 1, 1).unwrap());
        assert_eq!(
            month(MONTHS - 1),
            NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
        );
        assert_eq!(
            mix("A one. A two. A three.", "B one. B two."),
            "A one. A two. B two."
        );
        assert_eq!(
            mix_title("alpha beta gamma", "delta epsilon"),
            "alpha beta epsilon"
        );
    }
}
