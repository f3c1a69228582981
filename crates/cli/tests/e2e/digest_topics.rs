//! What a digest holds: for each topic (category, author, saved search), the papers new since the
//! last digest; saved searches find papers by meaning when the model is there; and no paper goes
//! to the same subscriber twice across digests. Composed in-process over a real SQLite file and
//! a real search index; delivery is the SMTP tests' business.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, Utc};
use paperboy_cli::digest::{self, DigestContext};
use paperboy_core::{ArxivId, Author, Paper};
use paperboy_mail::{Letter, Mailer, Templates};
use paperboy_search::semantic::Semantic;
use paperboy_search::{SearchIndex, Searcher, SemanticSlot};
use paperboy_store::{Frequency, Store, Topics};

use crate::common;

fn paper(id: &str, title: &str, summary: &str, cat: &str, author: &str, day: NaiveDate) -> Paper {
    let mut p = Paper::new(ArxivId::parse(id).unwrap(), title);
    p.summary = summary.into();
    p.authors = vec![Author::named(author)];
    p.categories = vec![cat.into()];
    p.daily_date = Some(day);
    p
}

/// Every digest in the outbox, as the subscriber will read it (the plain-text part).
async fn outbox(store: &Arc<dyn Store>) -> Vec<String> {
    let later = Utc::now() + Duration::days(30);
    store
        .due_mail(later, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| serde_json::from_str::<Letter>(&m.message).unwrap().text)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digests_bring_each_topics_new_papers_once_and_saved_searches_match_by_meaning() {
    // Without one, the saved search by meaning is not checked.
    let model = common::model_dir();
    let dir = tempfile::tempdir().unwrap();
    let store =
        paperboy_store::open(dir.path().join("db.sqlite3").to_str().unwrap(), true).unwrap();
    let now = Utc::now();
    let today = now.date_naive();
    let month_ago = today - Duration::days(30);
    store
        .import(
            [
                paper("2611.00001", "Chain-of-thought prompting for $O(n^2)$-step arithmetic",
                    "Language models solve grade-school arithmetic when asked to reason step by step.",
                    "cs.CL", "Ada Lovelace", today),
                paper("2611.00002", "Inferring spatial conformations of polypeptide chains",
                    "A deep network predicts the three-dimensional arrangement of residues from their order alone.",
                    "q-bio.BM", "Rosalind Franklin", today),
                paper("2611.00003", "Cache-friendly sorting for column stores",
                    "Radix sorting tuned to memory hierarchies speeds up analytical databases.",
                    "cs.DB", "Edgar Codd", today),
                paper("2611.00004", "Compilers that explain their errors",
                    "Error messages written for people shorten debugging sessions.",
                    "cs.PL", "Grace Hopper", today),
                paper("2610.00005", "An older language-model paper",
                    "Transformers for translation, from a month ago.",
                    "cs.CL", "Grace Hopper", month_ago),
            ]
            .into_iter()
            .map(|p| (p, None))
            .collect(),
        )
        .await
        .unwrap();
    let (index, _) = SearchIndex::open(&dir.path().join("index")).unwrap();
    let index = Arc::new(index);
    index.catch_up(&*store, |_| {}).await.unwrap();
    let semantic = match &model {
        Some(m) => {
            let s = Semantic::open(m, &*store, None).await.unwrap();
            assert_eq!(s.catch_up(&*store, |_, _| {}).await.unwrap(), 5);
            Some(Arc::new(s))
        }
        None => None,
    };
    let mailer = Mailer::new(
        "smtp://127.0.0.1:9",
        "paperboy <digest@example.org>",
        Templates::new(None),
    )
    .unwrap();
    let topics = Topics {
        categories: vec!["cs.CL".into()],
        authors: vec!["Grace Hopper".into()],
        searches: vec!["protein folding".into()],
    };
    common::confirmed_subscriber(&*store, "reader@example.org", &topics, now).await;
    let keyword_only = Searcher::new(index.clone(), Arc::default());
    let cx = |searcher| DigestContext {
        store: &store,
        searcher,
        mailer: &mailer,
        site: "paperboy",
        public_url: "http://paperboy.test",
        trending: Default::default(),
        wake: None,
    };
    let keyword = cx(&keyword_only);

    // Keyword only (no model): the category and the author bring today's papers, not last
    // month's; "protein folding" shares no word with any paper, so that section is left out.
    let s = digest::run(&keyword, Frequency::Daily, now).await.unwrap();
    assert_eq!((s.recorded, s.topics), (1, 3));
    let mails = outbox(&store).await;
    assert_eq!(mails.len(), 1);
    let text = &mails[0];
    assert!(text.contains("New in cs.CL"), "{text}");
    assert!(
        text.contains("Chain-of-thought prompting for O(n²)-step arithmetic"),
        "TeX made readable: {text}"
    );
    assert!(text.contains("New by Grace Hopper"), "{text}");
    assert!(
        text.contains("Compilers that explain their errors"),
        "{text}"
    );
    assert!(
        !text.contains("An older language-model paper"),
        "not new: {text}"
    );
    assert!(!text.contains("Matching"), "{text}");
    assert!(!text.contains("column stores"), "matches no topic: {text}");

    // The next day nothing is new for that subscriber: no paper twice, and no empty mail.
    let s = digest::run(&keyword, Frequency::Daily, now + Duration::days(1))
        .await
        .unwrap();
    assert_eq!((s.recorded, s.nothing_new), (0, 1));
    let again = digest::run(&keyword, Frequency::Daily, now + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(
        (again.recorded, again.nothing_new),
        (0, 0),
        "looked at once per period, not at every look at the schedule"
    );

    // With the model, the saved search finds the protein paper, which shares none of its
    // words, and leaves the database paper out; what was sent before is not sent again.
    let Some(semantic) = semantic else { return };
    let by_meaning = Searcher::new(index.clone(), Arc::new(SemanticSlot::loaded(semantic)));
    let s = digest::run(&cx(&by_meaning), Frequency::Daily, now + Duration::days(2))
        .await
        .unwrap();
    assert_eq!(s.recorded, 1);
    let mails = outbox(&store).await;
    assert_eq!(mails.len(), 2);
    let text = &mails[1];
    let section = text
        .split("Matching “protein folding”")
        .nth(1)
        .unwrap_or_else(|| panic!("a saved-search section: {text}"));
    assert!(section.contains("polypeptide chains"), "{text}");
    assert!(!text.contains("column stores"), "{text}");
    assert!(!text.contains("Chain-of-thought"), "sent before: {text}");
}
