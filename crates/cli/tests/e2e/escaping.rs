//! Markup in paper data never becomes markup on a page: titles, abstracts, authors and comments
//! with `<script>` and `<img onerror>` are shown as text, while `$…$` still becomes MathML.

use serde_json::{json, Value};

use crate::common::*;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "<img src=x onerror=alert(1)>";
const SCRIPT_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";
const IMG_ESCAPED: &str = "&lt;img src=x onerror=alert(1)&gt;";

/// No element from the data: the layout's only script is its own file, and it has no image.
fn assert_inert(what: &str, html: &str) {
    let lower = html
        .to_ascii_lowercase()
        .replace(r#"<script src="/static/app.js" defer></script>"#, "");
    for raw in ["<script", "<img", "onerror=alert(1)>"] {
        assert!(!lower.contains(raw), "{what} contains raw {raw:?}:\n{html}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_data_is_escaped_and_math_is_rendered() {
    let (dir, settings) = temp_settings(false);
    let title = format!("$f$-Divergence Zanzibarian Estimators {SCRIPT} and {IMG}");
    let summary = format!("We estimate divergences. {SCRIPT} Then {IMG} again.");
    let lines: Vec<Value> = vec![
        json!({
            "id": "2501.00001",
            "listing_date": "2025-01-02",
            "title": title,
            "authors": [format!("Eve {SCRIPT}"), format!("Mallory {IMG}"), "Alice Plain"],
            "categories": ["cs.LG", "stat.ML"],
            "comment": format!("12 pages {IMG}"),
            "abstract": summary,
        }),
        json!({
            "id": "2501.00002",
            "listing_date": "2025-01-02",
            "title": "A harmless neighbour about divergences",
            "authors": ["Bob"],
            "categories": ["cs.LG"],
            "comment": null,
            "abstract": "Nothing to see.",
        }),
    ];
    let file = dir.path().join("hostile-listings.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, text).expect("write listings");
    let imported = import_file(&settings, &file).await;
    assert_eq!(
        (imported.new, imported.rejected_total()),
        (2, 0),
        "{imported}"
    );
    let server = Server::start(settings).await.owning(dir);

    // The JSON API gives the data back as it is (JSON is not HTML).
    let api = server.json("/api/papers/2501.00001").await;
    assert_eq!(api["title"], title.as_str(), "{api}");
    assert_eq!(api["authors"][0]["name"], format!("Eve {SCRIPT}"), "{api}");

    let (status, ctype, page) = server.text("/papers/2501.00001").await;
    assert_eq!(status, 200, "{page}");
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert_inert("the paper page", &page);
    for escaped in [SCRIPT_ESCAPED, IMG_ESCAPED] {
        assert!(
            page.matches(escaped).count() >= 3,
            "the paper page should show {escaped} in title, authors and abstract:\n{page}"
        );
    }
    let h1 = page
        .split_once("<h1>")
        .and_then(|(_, rest)| rest.split_once("</h1>"))
        .map(|(h1, _)| h1)
        .expect("the paper page has an h1");
    assert!(
        h1.starts_with("<math"),
        "the title's $f$ is not MathML: {h1}"
    );
    assert!(h1.contains("<mi>f</mi>"), "{h1}");
    assert!(h1.contains("-Divergence Zanzibarian"), "{h1}");
    assert!(
        h1.contains(SCRIPT_ESCAPED) && h1.contains(IMG_ESCAPED),
        "{h1}"
    );

    let (status, _, results) = server.text("/search?q=zanzibarian").await;
    assert_eq!(status, 200, "{results}");
    assert!(
        results.contains("href=\"/papers/2501.00001\""),
        "the search page does not list the paper:\n{results}"
    );
    assert_inert("the search page", &results);
    assert!(results.contains(SCRIPT_ESCAPED), "{results}");
    assert!(results.contains(IMG_ESCAPED), "{results}");

    // A query that is itself markup is echoed as text.
    let (status, _, echoed) = server
        .text("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert_eq!(status, 200, "{echoed}");
    assert_inert("the search page echoing a hostile query", &echoed);
    assert!(echoed.contains(SCRIPT_ESCAPED), "{echoed}");

    // The search API finds it too, with the raw title.
    let found = server.json("/api/papers/search?q=zanzibarian").await;
    assert_eq!(item_ids(&found), ["2501.00001"], "{found}");
    server.stop().await;
}
