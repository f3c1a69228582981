//! Collections on the site: made from the library, filled from a paper's page with a note,
//! reordered, exported, copied by another reader, hidden by a moderator; a private one never
//! shows to anyone else (page, BibTeX, feed, API, lists, search of collections holding a paper).

use crate::people::{Process, Visitor};

#[tokio::test]
async fn collections_are_made_filled_shared_and_kept_private() {
    let server = Process::start(&[]).await;
    // The first account is the administrator.
    let admin = Visitor::signed_in(&server, "admin@example.org").await;
    let ada = Visitor::signed_in(&server, "ada@example.org").await;
    let bob = Visitor::signed_in(&server, "bob@example.org").await;
    let stranger = Visitor::arrived(&server.base).await;
    let items = ada.get("/api/daily_papers?limit=3").await.json();
    let ids: Vec<String> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["paper"]["id"].as_str().unwrap().to_owned())
        .collect();

    // A public collection made from the library page, and a private one from a paper's page.
    let r = ada
        .post("/collections", &[("title", "Diffusion reading")])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let public = r.location().to_owned();
    assert!(
        public.starts_with("/collections/ada/diffusion-reading-"),
        "{public}"
    );
    let r = ada
        .post(
            "/collections",
            &[("title", "Secret"), ("private", "1"), ("paper", &ids[2])],
        )
        .await;
    let private = r.location().to_owned();
    assert!(ada.get("/library").await.body.contains("Diffusion reading"));

    // Add from a paper's page (its form names each collection), with a note; then reorder.
    let paper_page = ada.get(&format!("/papers/{}", ids[0])).await.body;
    assert!(
        paper_page.contains(&format!("formaction=\"{public}/add\"")),
        "the paper page offers it"
    );
    for (id, note) in [(&ids[0], "Start here"), (&ids[1], "")] {
        let next = format!("/papers/{id}");
        let r = ada
            .post(
                &format!("{public}/add"),
                &[("paper", id), ("note", note), ("next", &next)],
            )
            .await;
        assert_eq!((r.status, r.location()), (303, next.as_str()), "{}", r.body);
    }
    let page = ada.get(&public).await.body;
    assert!(page.contains("Note: Start here"));
    let at = |page: &str, id: &str| page.find(&format!("href=\"/papers/{id}\"")).unwrap();
    assert!(at(&page, &ids[0]) < at(&page, &ids[1]));
    let item = ada
        .get(&format!(
            "/api/collections{}",
            &public["/collections".len()..]
        ))
        .await
        .json()["items"][1]["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = ada
        .post(&format!("{public}/move"), &[("item", &item), ("to", "0")])
        .await;
    assert_eq!(r.status, 303);
    let page = stranger.get(&public).await.body;
    assert!(
        at(&page, &ids[1]) < at(&page, &ids[0]),
        "moved up, seen by anyone"
    );
    assert!(!page.contains("Save note"), "only its owner gets the forms");
    let bib = stranger.get(&format!("{public}.bib")).await.body;
    assert_eq!(bib.matches("@misc{").count(), 2, "{bib}");
    let feed = stranger.get(&format!("{public}.atom")).await;
    assert_eq!(feed.status, 200);
    assert!(feed.body.contains(&ids[0]));

    // Only its owner changes it; anyone signed in copies it.
    let r = bob
        .post(&format!("{public}/remove"), &[("item", &item)])
        .await;
    assert_eq!(r.status, 403);
    let r = bob.post(&format!("{public}/copy"), &[]).await;
    assert_eq!(r.status, 303);
    assert!(
        r.location()
            .starts_with("/collections/bob/diffusion-reading-"),
        "{}",
        r.location()
    );
    assert!(bob
        .get(r.location())
        .await
        .body
        .contains("Note: Start here"));

    // Private: nobody else sees it, anywhere.
    assert_eq!(ada.get(&private).await.status, 200);
    for who in [&bob, &stranger] {
        for suffix in ["", ".bib", ".atom"] {
            let r = who.get(&format!("{private}{suffix}")).await;
            assert_eq!(r.status, 404, "{private}{suffix}");
        }
        let api = who
            .get(&format!(
                "/api/collections{}",
                &private["/collections".len()..]
            ))
            .await;
        assert_eq!(api.status, 404);
        let listed = who.get("/api/collections?owner=ada").await.json();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        let holding = who
            .get(&format!("/api/collections?item=papers/{}", ids[2]))
            .await
            .json();
        assert_eq!(holding.as_array().unwrap().len(), 0, "{holding}");
    }
    assert!(!bob
        .get(&format!("/papers/{}", ids[2]))
        .await
        .body
        .contains("Secret"));

    // A moderator hides a public collection: gone for others, marked for its owner.
    let r = admin.post(&format!("{public}/hide"), &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(stranger.get(&public).await.status, 404);
    assert!(ada
        .get(&public)
        .await
        .body
        .contains("hidden by a moderator"));
    let r = bob.post(&format!("{public}/show"), &[]).await;
    assert_eq!(r.status, 403, "only moderators");
    server.stop().await;
}
