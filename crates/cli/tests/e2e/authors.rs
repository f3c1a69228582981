//! Authors' pages and following: an author's papers by any spelling of the name (case,
//! accents, initials), co-authors and categories, the feed; following an author and a category.

use crate::people::{Process, Visitor};

fn escape(s: &str) -> String {
    s.bytes()
        .map(
            |b| match b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                true => (b as char).to_string(),
                false => format!("%{b:02X}"),
            },
        )
        .collect()
}

#[tokio::test]
async fn an_authors_papers_are_found_by_any_spelling_and_followed() {
    let server = Process::start(&[]).await;
    let reader = Visitor::signed_in(&server, "reader@example.org").await;
    let items = reader.get("/api/daily_papers?limit=1").await.json();
    let paper = &items[0]["paper"];
    let id = paper["id"].as_str().unwrap();
    let authors: Vec<&str> = paper["authors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    let name = authors[0];
    let page = reader.get(&format!("/papers/{id}")).await.body;
    assert!(
        page.contains(&format!("href=\"/authors/{}\"", escape(name))),
        "authors link to their pages"
    );

    let r = reader.get(&format!("/authors/{}", escape(name))).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains(&format!("href=\"/papers/{id}\"")),
        "{name}'s page lists {id}"
    );
    assert!(
        r.body.contains("without case, accents"),
        "the page says how names are matched"
    );
    if authors.len() > 1 {
        assert!(
            r.body.contains("Frequent co-authors"),
            "co-authors are listed"
        );
        let linked = authors[1..]
            .iter()
            .filter(|c| r.body.contains(&format!("href=\"/authors/{}\"", escape(c))))
            .count();
        assert!(
            linked >= 1.min(authors.len() - 1),
            "co-authors link to their pages"
        );
    }
    // Another spelling of the same name: upper case, and dots after a first initial.
    let shouted = name.to_uppercase();
    let r = reader.get(&format!("/authors/{}", escape(&shouted))).await;
    assert!(
        r.body.contains(&format!("href=\"/papers/{id}\"")),
        "{shouted}"
    );
    let feed = reader.get(&format!("/authors/{}.atom", escape(name))).await;
    assert!(feed.body.contains(id));
    assert_eq!(
        reader
            .get(&format!("/authors/{}", "x".repeat(201)))
            .await
            .status,
        400
    );

    // Follow the author and a category; /following lists both and the author's papers.
    let r = reader
        .post("/follows", &[("kind", "author"), ("name", name)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = reader
        .post("/follows", &[("kind", "category"), ("name", "cs.CL")])
        .await;
    assert_eq!((r.status, r.location()), (303, "/list/cs.CL"));
    assert_eq!(
        reader
            .post(
                "/follows",
                &[("kind", "category"), ("name", "not a category")]
            )
            .await
            .status,
        400
    );
    let following = reader.get("/following").await.body;
    assert!(
        following.contains(name) && following.contains("cs.CL</a> (category)"),
        "{following}"
    );
    assert!(following.contains(&format!("href=\"/papers/{id}\"")));
    let author_page = reader.get(&format!("/authors/{}", escape(name))).await.body;
    assert!(author_page.contains(r#"aria-pressed="true">Following"#));
    let r = reader
        .post(
            "/follows",
            &[("kind", "author"), ("name", name), ("follow", "0")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(!reader
        .get("/following")
        .await
        .body
        .contains(&format!(">{name}</a>")));
    server.stop().await;
}
