//! Store behaviour every backend must show, written once against the trait and run per backend.

use std::sync::Arc;

use chrono::NaiveDate;
use paperboy_core::{ArxivId, Author, DailyEntry, Paper};

use crate::{Change, ListingFilter, Moderation, Store, StoreError, SubmitOutcome, VoteOutcome};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn paper(id: &str, title: &str) -> Paper {
    let mut p = Paper::new(ArxivId::parse(id).unwrap(), title);
    p.summary = format!("Abstract of {title}");
    p.authors = vec![Author::named("Ada Lovelace")];
    p
}

/// Imports [`paper`] `id` alone, and returns its id.
async fn import_paper(store: &Arc<dyn Store>, id: &str, title: &str) -> ArxivId {
    store.import(vec![(paper(id, title), None)]).await.unwrap();
    ArxivId::parse(id).unwrap()
}

fn entry(d: &str, id: &str, position: u32, upvotes: i64) -> DailyEntry {
    DailyEntry {
        day: day(d),
        paper_id: ArxivId::parse(id).unwrap(),
        position,
        upvotes,
        num_comments: 0,
        submitted_by: None,
        published_at: None,
        title: None,
        summary: None,
        thumbnail: None,
        is_author_participating: false,
        extra: Default::default(),
    }
}

pub async fn import_is_idempotent_and_merges(store: Arc<dyn Store>) {
    let batch = vec![
        (
            paper("2501.00001", "First"),
            Some(entry("2025-01-02", "2501.00001", 0, 5)),
        ),
        (
            paper("2501.00002", "Second"),
            Some(entry("2025-01-02", "2501.00002", 1, 9)),
        ),
        (paper("2501.00003", "Third"), None),
    ];
    assert_eq!(
        store.import(batch.clone()).await.unwrap(),
        vec![Change::New; 3]
    );
    let seq = store.last_seq().await.unwrap();
    assert_eq!(
        store.import(batch).await.unwrap(),
        vec![Change::Unchanged; 3]
    );
    assert_eq!(
        store.last_seq().await.unwrap(),
        seq,
        "an unchanged import writes nothing"
    );

    // A newer version replaces the title; the DOI it lacks is kept.
    let mut v1 = paper("2501.00003", "Third");
    v1.version = Some(1);
    v1.doi = Some("10.1000/xyz".into());
    assert_eq!(
        store.import(vec![(v1, None)]).await.unwrap(),
        vec![Change::Updated]
    );
    let mut v2 = paper("2501.00003", "Third, revised");
    v2.version = Some(2);
    store.import(vec![(v2, None)]).await.unwrap();
    let got = store
        .paper(&ArxivId::parse("2501.00003").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.paper.title, "Third, revised");
    assert_eq!(got.paper.doi.as_deref(), Some("10.1000/xyz"));

    let changes = store.changes_since(seq, 100).await.unwrap();
    assert_eq!(
        changes.len(),
        1,
        "only the updated paper is in the change feed after {seq}"
    );
    assert_eq!(changes[0].1.id.as_str(), "2501.00003");
}

pub async fn listings_and_days(store: Arc<dyn Store>) {
    store
        .import(vec![
            (
                paper("2501.00001", "A"),
                Some(entry("2025-01-02", "2501.00001", 0, 5)),
            ),
            (
                paper("2501.00002", "B"),
                Some(entry("2025-01-02", "2501.00002", 1, 9)),
            ),
            (
                paper("2501.00004", "C"),
                Some(entry("2025-01-06", "2501.00004", 0, 1)),
            ),
        ])
        .await
        .unwrap();
    let list = store
        .listing(
            day("2025-01-02"),
            day("2025-01-02"),
            &ListingFilter::default(),
        )
        .await
        .unwrap();
    let ids: Vec<_> = list.iter().map(|l| l.paper.id.to_string()).collect();
    assert_eq!(ids, ["2501.00001", "2501.00002"], "feed order");
    assert_eq!(store.latest_day().await.unwrap(), Some(day("2025-01-06")));
    assert_eq!(
        store.neighbour_days(day("2025-01-04")).await.unwrap(),
        (Some(day("2025-01-02")), Some(day("2025-01-06")))
    );
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.papers, stats.daily_entries, stats.days), (3, 3, 2));
    let view = store
        .paper(&ArxivId::parse("2501.00002").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.upvotes(), 9);
}

pub async fn category_lists_by_announcement_day(store: Arc<dyn Store>) {
    let listed = |id: &str, d: &str, cats: &[&str]| {
        let mut p = paper(id, &format!("Paper {id}"));
        p.categories = cats.iter().map(|c| c.to_string()).collect();
        p.announced = Some(day(d));
        (p, None)
    };
    store
        .import(vec![
            listed("2507.00003", "2025-07-15", &["cs.CL", "cs.CV"]),
            listed("2507.00001", "2025-07-15", &["cs.CV"]),
            listed("2507.00002", "2025-07-15", &["cs.CV", "cs.CV"]),
            listed("2507.00010", "2025-07-17", &["cs.CV"]),
            listed("2507.00020", "2025-07-10", &["cs.AI"]),
        ])
        .await
        .unwrap();
    let ids = |l: Vec<crate::CategoryListed>| {
        l.into_iter()
            .map(|c| (c.view.paper.id.to_string(), c.cross_list))
            .collect::<Vec<_>>()
    };
    let cv = store
        .category_day("cs.CV", day("2025-07-15"))
        .await
        .unwrap();
    assert_eq!(
        ids(cv),
        [
            ("2507.00001".to_string(), false),
            ("2507.00002".to_string(), false),
            ("2507.00003".to_string(), true)
        ],
        "new papers first, then cross-lists, a repeated category once"
    );
    assert_eq!(
        store
            .category_days_around("cs.CV", Some(day("2025-07-15")))
            .await
            .unwrap(),
        (None, Some(day("2025-07-17")))
    );
    assert_eq!(
        store
            .category_days_around("cs.CV", Some(day("2025-07-17")))
            .await
            .unwrap(),
        (Some(day("2025-07-15")), None)
    );
    assert_eq!(
        store.category_days_around("cs.CV", None).await.unwrap(),
        (None, Some(day("2025-07-17")))
    );
    // A later record with an earlier day and new categories moves the paper.
    let mut moved = paper("2507.00010", "Paper 2507.00010");
    moved.categories = vec!["cs.LG".into()];
    moved.announced = Some(day("2025-07-16"));
    moved.version = Some(2);
    store.import(vec![(moved, None)]).await.unwrap();
    assert!(store
        .category_day("cs.CV", day("2025-07-17"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        ids(store
            .category_day("cs.LG", day("2025-07-16"))
            .await
            .unwrap()),
        [("2507.00010".to_string(), false)]
    );
    // A submission time without a listing's day is mapped by arXiv's schedule.
    let mut timed = paper("2507.00030", "Timed");
    timed.categories = vec!["cs.AI".into()];
    timed.published = Some(at("2025-07-14T18:30:00Z"));
    store.import(vec![(timed, None)]).await.unwrap();
    assert_eq!(
        ids(store
            .category_day("cs.AI", day("2025-07-16"))
            .await
            .unwrap()),
        [("2507.00030".to_string(), false)]
    );
    assert_eq!(
        store.category_counts().await.unwrap(),
        [
            ("cs.AI".to_string(), 2),
            ("cs.CL".to_string(), 1),
            ("cs.CV".to_string(), 3),
            ("cs.LG".to_string(), 1)
        ]
    );
    // Hidden papers are not listed.
    let hidden = ArxivId::parse("2507.00001").unwrap();
    let now = at("2026-01-05T06:00:00Z");
    let admin = store.sign_in("admin@example.org", &[], now).await.unwrap();
    let hide = Moderation::HidePaper(hidden);
    assert!(store
        .moderate(&admin.username, hide, "", now)
        .await
        .unwrap());
    assert_eq!(
        store
            .category_day("cs.CV", day("2025-07-15"))
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn library_saves_and_tokens(store: Arc<dyn Store>) {
    use crate::Scope;
    let now = at("2026-01-05T06:00:00Z");
    let ada = store.sign_in("ada@example.org", &[], now).await.unwrap();
    let bob = store.sign_in("bob@example.org", &[], now).await.unwrap();
    let mut diffusion = paper("2501.00001", "Diffusion models 100% explained");
    diffusion.authors = vec![Author::named("Grace Hopper")];
    diffusion.doi = Some("https://doi.org/10.1000/XYZ.1".into());
    store
        .import(vec![
            (diffusion, None),
            (paper("2501.00002", "Language models"), None),
            (paper("2501.00003", "Protein folding"), None),
        ])
        .await
        .unwrap();
    let id = |s: &str| ArxivId::parse(s).unwrap();
    let dois = ["10.1000/xyz.1".to_string(), "10.1000/none".to_string()];
    assert_eq!(
        store.papers_by_doi(&dois).await.unwrap(),
        [("10.1000/xyz.1".to_string(), id("2501.00001"))]
    );
    for (i, p) in ["2501.00001", "2501.00002", "2501.00003"]
        .iter()
        .enumerate()
    {
        let when = now + chrono::Duration::minutes(i as i64);
        assert_eq!(
            store.save(ada.id, &id(p), true, when).await.unwrap(),
            Some(true)
        );
    }
    // Saving twice changes nothing; an unknown paper is None.
    assert_eq!(
        store
            .save(ada.id, &id("2501.00001"), true, now)
            .await
            .unwrap(),
        Some(true)
    );
    assert_eq!(
        store
            .save(ada.id, &id("2501.09999"), true, now)
            .await
            .unwrap(),
        None
    );
    let ids = |l: Vec<crate::Saved>| {
        l.into_iter()
            .map(|s| s.view.paper.id.to_string())
            .collect::<Vec<_>>()
    };
    let (page, total) = store.library(ada.id, None, 0, 2).await.unwrap();
    assert_eq!(
        (ids(page), total),
        (vec!["2501.00003".to_string(), "2501.00002".to_string()], 3)
    );
    let (page, total) = store.library(ada.id, None, 2, 2).await.unwrap();
    assert_eq!((ids(page), total), (vec!["2501.00001".to_string()], 3));
    // Text filters: any case, in title, authors or abstract; LIKE's wildcards are literal.
    let (page, total) = store.library(ada.id, Some("HOPPER"), 0, 10).await.unwrap();
    assert_eq!((ids(page), total), (vec!["2501.00001".to_string()], 1));
    assert_eq!(
        store.library(ada.id, Some("100%"), 0, 10).await.unwrap().1,
        1
    );
    assert_eq!(
        store.library(ada.id, Some("1_0"), 0, 10).await.unwrap().1,
        0
    );
    assert_eq!(
        store
            .library(ada.id, Some("models"), 0, 10)
            .await
            .unwrap()
            .1,
        2
    );
    assert_eq!(
        store
            .saved_of(ada.id, &[id("2501.00002"), id("2501.09999")])
            .await
            .unwrap(),
        [true, false]
    );
    assert_eq!(
        store.library(bob.id, None, 0, 10).await.unwrap().1,
        0,
        "libraries are apart"
    );
    assert_eq!(
        store
            .save(ada.id, &id("2501.00002"), false, now)
            .await
            .unwrap(),
        Some(false)
    );
    assert_eq!(store.library(ada.id, None, 0, 10).await.unwrap().1, 2);

    // Tokens: created by hash, found by hash, listed without secrets, revoked by their owner only.
    let t = store
        .create_token(ada.id, "laptop", Scope::Write, "h-ada", now)
        .await
        .unwrap()
        .unwrap();
    store
        .create_token(ada.id, "reader", Scope::Read, "h-ada-2", now)
        .await
        .unwrap()
        .unwrap();
    let later = now + chrono::Duration::hours(1);
    let (who, scope) = store.token_account("h-ada", later).await.unwrap().unwrap();
    assert_eq!((who.id, scope), (ada.id, Scope::Write));
    assert!(store.token_account("nope", later).await.unwrap().is_none());
    let listed = store.tokens(ada.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    let laptop = listed.iter().find(|l| l.id == t).unwrap();
    assert_eq!(
        (laptop.name.as_str(), laptop.last_used_at),
        ("laptop", Some(later))
    );
    assert!(!store.revoke_token(bob.id, t).await.unwrap(), "not bob's");
    assert!(store.revoke_token(ada.id, t).await.unwrap());
    assert!(store.token_account("h-ada", later).await.unwrap().is_none());
    assert_eq!(
        store
            .account_named("ADA@example.org")
            .await
            .unwrap()
            .unwrap()
            .id,
        ada.id
    );
    let by_name = store.account_named(&bob.username).await.unwrap().unwrap();
    assert_eq!(by_name.id, bob.id);
    assert!(store.account_named("nobody").await.unwrap().is_none());
    store
        .create_token(bob.id, "cli", Scope::Read, "h-bob", now)
        .await
        .unwrap();
    assert!(store.revoke_token_hash("h-bob").await.unwrap());
    assert!(!store.revoke_token_hash("h-bob").await.unwrap());
    // Follows: authors and categories, once each, apart per account.
    use crate::FollowKind::{Author as A, Category as C};
    assert!(store
        .follow(ada.id, A, "grace hopper", "Grace Hopper", true, now)
        .await
        .unwrap());
    assert!(store
        .follow(ada.id, A, "grace hopper", "G. Hopper", true, now)
        .await
        .unwrap());
    assert!(store
        .follow(ada.id, C, "cs.CL", "cs.CL", true, now)
        .await
        .unwrap());
    let follows = store.follows(ada.id).await.unwrap();
    let shown: Vec<(crate::FollowKind, &str)> =
        follows.iter().map(|f| (f.kind, f.shown.as_str())).collect();
    assert_eq!(
        shown,
        [(A, "Grace Hopper"), (C, "cs.CL")],
        "the first name seen stays"
    );
    assert!(store.follows(bob.id).await.unwrap().is_empty());
    assert!(!store
        .follow(ada.id, C, "cs.CL", "cs.CL", false, now)
        .await
        .unwrap());
    assert_eq!(store.follows(ada.id).await.unwrap().len(), 1);
    // A blocked account's tokens stop working.
    let admin = store.sign_in("root@example.org", &[], now).await.unwrap();
    let block = Moderation::Block(ada.username.clone());
    store
        .moderate(&admin.username, block, "", now)
        .await
        .unwrap();
    assert!(store
        .token_account("h-ada-2", later)
        .await
        .unwrap()
        .is_none());
}

pub async fn collections_keep_order_notes_and_privacy(store: Arc<dyn Store>) {
    use crate::{Added, CollectionChange, Looking};
    let now = at("2026-01-05T06:00:00Z");
    let ada = store.sign_in("ada@example.org", &[], now).await.unwrap();
    let bob = store.sign_in("bob@example.org", &[], now).await.unwrap();
    let ids: Vec<ArxivId> = (1..=4)
        .map(|i| ArxivId::parse(&format!("2501.0000{i}")).unwrap())
        .collect();
    store
        .import(
            ids.iter()
                .map(|id| (paper(id.as_str(), "T"), None))
                .collect(),
        )
        .await
        .unwrap();
    let (ada_sees, bob_sees, visitor) = (
        Looking {
            account: Some(ada.id),
            moderator: false,
        },
        Looking {
            account: Some(bob.id),
            moderator: false,
        },
        Looking {
            account: None,
            moderator: false,
        },
    );
    let public = store
        .create_collection(ada.id, "reading-aaa", "Reading", "mine", false, now)
        .await
        .unwrap()
        .unwrap();
    let secret = store
        .create_collection(ada.id, "secret-bbb", "Secret", "", true, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(public.slug(), format!("{}/reading-aaa", ada.username));
    for id in &ids[..3] {
        assert!(matches!(
            store.add_item(public.id, id, "", now).await.unwrap(),
            Added::Added(_)
        ));
    }
    let again = store.add_item(public.id, &ids[0], "", now).await.unwrap();
    assert!(matches!(again, Added::Exists(_)));
    let missing = ArxivId::parse("2501.09999").unwrap();
    assert_eq!(
        store.add_item(public.id, &missing, "", now).await.unwrap(),
        Added::NoPaper
    );
    store
        .add_item(secret.id, &ids[3], "private note", now)
        .await
        .unwrap();

    // Order, notes, moves and removals keep positions dense.
    let order = |items: Vec<crate::CollectionItem>| {
        items
            .into_iter()
            .map(|i| (i.view.paper.id.to_string(), i.position, i.note))
            .collect::<Vec<_>>()
    };
    let items = store.collection_items(public.id, 0, 100).await.unwrap();
    let last = items[2].id;
    assert!(store
        .update_item(public.id, last, Some("read first".into()), Some(0), now)
        .await
        .unwrap());
    assert_eq!(
        order(store.collection_items(public.id, 0, 100).await.unwrap()),
        [
            ("2501.00003".to_string(), 0, "read first".to_string()),
            ("2501.00001".to_string(), 1, String::new()),
            ("2501.00002".to_string(), 2, String::new())
        ]
    );
    assert!(
        store
            .update_item(public.id, last, None, Some(99), now)
            .await
            .unwrap(),
        "clamped"
    );
    assert_eq!(
        store.collection_items(public.id, 2, 1).await.unwrap()[0].id,
        last
    );
    assert!(
        !store
            .update_item(secret.id, last, None, Some(0), now)
            .await
            .unwrap(),
        "not its item"
    );
    let first = store.collection_items(public.id, 0, 1).await.unwrap()[0].id;
    assert!(store.delete_item(public.id, first, now).await.unwrap());
    assert_eq!(
        order(store.collection_items(public.id, 0, 100).await.unwrap())
            .iter()
            .map(|o| o.1)
            .collect::<Vec<_>>(),
        [0, 1]
    );

    // Privacy: a private collection shows to its owner only, found by key or listed.
    assert!(store
        .collection("secret-bbb", ada_sees)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .collection("secret-bbb", bob_sees)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .collection("secret-bbb", visitor)
        .await
        .unwrap()
        .is_none());
    let keys = |l: Vec<crate::Collection>| l.into_iter().map(|c| c.key).collect::<Vec<_>>();
    assert_eq!(
        keys(
            store
                .list_collections(Some(&ada.username), None, visitor, 10)
                .await
                .unwrap()
        ),
        ["reading-aaa"]
    );
    assert_eq!(
        keys(
            store
                .list_collections(Some(&ada.username), None, ada_sees, 10)
                .await
                .unwrap()
        )
        .len(),
        2
    );
    assert_eq!(
        keys(
            store
                .list_collections(None, Some(&ids[3]), bob_sees, 10)
                .await
                .unwrap()
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        keys(
            store
                .list_collections(None, Some(&ids[1]), bob_sees, 10)
                .await
                .unwrap()
        ),
        ["reading-aaa"]
    );

    // Metadata, copies, hiding, deleting.
    let change = CollectionChange {
        title: Some("Reading list".into()),
        private: Some(true),
        ..Default::default()
    };
    assert!(store
        .update_collection(public.id, change, now)
        .await
        .unwrap());
    let changed = store
        .collection("reading-aaa", ada_sees)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            changed.title.as_str(),
            changed.private,
            changed.description.as_str(),
            changed.items
        ),
        ("Reading list", true, "mine", 2)
    );
    let copy = store
        .copy_collection(public.id, bob.id, "reading-ccc", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((copy.owner, copy.items, copy.private), (bob.id, 2, false));
    assert!(store.set_collection_hidden(copy.id, true).await.unwrap());
    assert!(
        store
            .collection("reading-ccc", ada_sees)
            .await
            .unwrap()
            .is_none(),
        "hidden from others"
    );
    assert!(
        store
            .collection("reading-ccc", bob_sees)
            .await
            .unwrap()
            .is_some(),
        "not from its owner"
    );
    let moderator = Looking {
        account: Some(ada.id),
        moderator: true,
    };
    assert!(store
        .collection("reading-ccc", moderator)
        .await
        .unwrap()
        .is_some());
    assert!(store.delete_collection(public.id).await.unwrap());
    assert!(
        store
            .collection_items(public.id, 0, 10)
            .await
            .unwrap()
            .is_empty(),
        "items go too"
    );
    assert!(store
        .collection("reading-aaa", ada_sees)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.collection_items(copy.id, 0, 10).await.unwrap().len(),
        2,
        "copies stand alone"
    );
}

pub async fn a_deleted_account_leaves_counts_right(store: Arc<dyn Store>) {
    use crate::{FollowKind, Scope};
    let now = at("2026-01-05T06:00:00Z");
    let _first = store.sign_in("first@example.org", &[], now).await.unwrap();
    store
        .import(vec![
            (paper("2501.00001", "One"), None),
            (paper("2501.00002", "Two"), None),
        ])
        .await
        .unwrap();
    let (one, two) = (
        ArxivId::parse("2501.00001").unwrap(),
        ArxivId::parse("2501.00002").unwrap(),
    );
    for (email, keep) in [("keep@example.org", true), ("gone@example.org", false)] {
        let a = store.sign_in(email, &[], now).await.unwrap();
        store.vote(a.id, &one, true, now).await.unwrap();
        store
            .add_comment(&two, a.id, &format!("by {email}"), now)
            .await
            .unwrap()
            .unwrap();
        store.save(a.id, &one, true, now).await.unwrap();
        let c = store
            .create_collection(a.id, &format!("k-{email}"), "T", "", false, now)
            .await
            .unwrap()
            .unwrap();
        store.add_item(c.id, &one, "", now).await.unwrap();
        store
            .follow(a.id, FollowKind::Category, "cs.CL", "cs.CL", true, now)
            .await
            .unwrap();
        store
            .create_token(a.id, "t", Scope::Write, &format!("h-{email}"), now)
            .await
            .unwrap();
        assert_eq!(store.votes_by(a.id).await.unwrap().len(), 1);
        assert_eq!(store.comments_by(a.id).await.unwrap().len(), 1);
        assert_eq!(store.paper(&one).await.unwrap().unwrap().local_upvotes, 1);

        assert!(store.delete_account(a.id, keep, now).await.unwrap());
        assert!(!store.delete_account(a.id, keep, now).await.unwrap());
        assert_eq!(
            store.paper(&one).await.unwrap().unwrap().local_upvotes,
            0,
            "votes come off"
        );
        assert_eq!(store.count_votes(&one).await.unwrap(), 0);
        assert!(store
            .token_account(&format!("h-{email}"), now)
            .await
            .unwrap()
            .is_none());
        assert!(store.account_named(email).await.unwrap().is_none());
        let looking = crate::Looking {
            account: None,
            moderator: false,
        };
        assert!(store
            .collection(&format!("k-{email}"), looking)
            .await
            .unwrap()
            .is_none());
        let comments = store.comments(&two, false).await.unwrap();
        let theirs: Vec<_> = comments
            .iter()
            .filter(|c| c.body == format!("by {email}"))
            .collect();
        match keep {
            true => assert_eq!(theirs[0].display_name, "deleted account"),
            false => assert!(theirs.is_empty()),
        }
        assert_eq!(
            store.paper(&two).await.unwrap().unwrap().local_comments,
            comments.len() as i64
        );
    }
}

pub async fn papers_page_walks_everything_once(store: Arc<dyn Store>) {
    let mut batch = Vec::new();
    for i in 1..=25 {
        let mut p = paper(&format!("2502.{i:05}"), &format!("P{i}"));
        p.published =
            Some(chrono::DateTime::from_timestamp(1_740_000_000 + (i % 7) * 86_400, 0).unwrap());
        batch.push((p, None));
    }
    store.import(batch).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store.papers_page(cursor.as_deref(), 10).await.unwrap();
        seen.extend(page.into_iter().map(|v| v.paper.id.to_string()));
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        (seen.len(), sorted.len()),
        (25, 25),
        "each paper exactly once"
    );
}

pub async fn embeddings_round_trip(store: Arc<dyn Store>) {
    store
        .import(vec![
            (paper("2501.00001", "A"), None),
            (paper("2501.00002", "B"), None),
        ])
        .await
        .unwrap();
    let (a, b) = (
        ArxivId::parse("2501.00001").unwrap(),
        ArxivId::parse("2501.00002").unwrap(),
    );
    let both = [a.clone(), b.clone()];
    assert_eq!(
        store.embedding_hashes("m", &both).await.unwrap(),
        vec![None, None]
    );
    store
        .put_embeddings(
            "m",
            vec![(a.clone(), 7, vec![0.5, -1.25, 3.0])],
            ("embed:m", 2),
        )
        .await
        .unwrap();
    assert_eq!(
        store.cursor("embed:m").await.unwrap(),
        2,
        "cursor moves with the vectors"
    );
    assert_eq!(
        store.embedding_hashes("m", &both).await.unwrap(),
        vec![Some(7), None]
    );
    assert_eq!(
        store
            .embedding_hashes("other", std::slice::from_ref(&a))
            .await
            .unwrap(),
        vec![None],
        "per model"
    );
    assert_eq!(
        store
            .embeddings("m", &[b.clone(), a.clone()])
            .await
            .unwrap(),
        vec![None, Some(vec![0.5, -1.25, 3.0])],
        "in the order asked"
    );
    let page = store.embeddings_page("m", None, 10).await.unwrap();
    assert_eq!(page, vec![(a.clone(), vec![0.5, -1.25, 3.0])]);
    assert!(store
        .embeddings_page("m", Some(&a), 10)
        .await
        .unwrap()
        .is_empty());
    store.set_cursor("x", 42).await.unwrap();
    assert_eq!(store.cursor("x").await.unwrap(), 42);
    assert_eq!(store.cursor("never").await.unwrap(), 0);
}

pub async fn backup_is_a_readable_copy(store: Arc<dyn Store>, dir: &std::path::Path) {
    import_paper(&store, "2501.00001", "A").await;
    let dest = dir.join("backup.sqlite3");
    store.backup(&dest).await.unwrap();
    assert!(store.backup(&dest).await.is_err(), "never overwrites");
    let copy = crate::open(dest.to_str().unwrap(), false).unwrap();
    assert_eq!(copy.stats().await.unwrap().papers, 1);
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

pub async fn sign_in_links_and_sessions(store: Arc<dyn Store>) {
    let now = at("2026-01-01T10:00:00Z");
    let expires = now + chrono::Duration::minutes(15);
    store
        .create_login_token("h1", "Ada@Example.org", expires)
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_login_token("h1", now + chrono::Duration::minutes(16))
            .await
            .unwrap(),
        None,
        "expired"
    );
    store
        .create_login_token("h2", "ada@example.org", expires)
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_login_token("h2", now)
            .await
            .unwrap()
            .as_deref(),
        Some("ada@example.org")
    );
    assert_eq!(
        store.redeem_login_token("h2", now).await.unwrap(),
        None,
        "single use"
    );
    assert_eq!(store.redeem_login_token("nope", now).await.unwrap(), None);

    let ada = store.sign_in("Ada@Example.org", &[], now).await.unwrap();
    assert!(ada.is_admin, "the first account is an administrator");
    assert_eq!(ada.username, "ada");
    let again = store.sign_in("ada@example.org", &[], now).await.unwrap();
    assert_eq!(
        again.id, ada.id,
        "one account per address, whatever its case"
    );
    let other = store.sign_in("ada@elsewhere.org", &[], now).await.unwrap();
    assert_eq!(other.username, "ada2", "usernames are unique");
    assert!(!other.is_admin);
    let named = store
        .sign_in("boss@x.org", &["boss@x.org".into()], now)
        .await
        .unwrap();
    assert!(named.is_admin, "named in the settings");
    let by_name = store
        .sign_in("chief@anywhere.example", &["chief".into()], now)
        .await
        .unwrap();
    assert_eq!(by_name.username, "chief");
    assert!(
        !by_name.is_admin,
        "a username in admins is no address: taking the name makes nobody an administrator"
    );

    let month = chrono::Duration::days(30);
    store
        .create_session("s1", ada.id, now, now - month)
        .await
        .unwrap();
    store
        .create_session("s2", ada.id, now, now - month)
        .await
        .unwrap();
    assert_eq!(
        store.session("s1", now - month).await.unwrap().unwrap().id,
        ada.id
    );
    assert!(
        store
            .session("s1", now + chrono::Duration::seconds(1))
            .await
            .unwrap()
            .is_none(),
        "a session made before not_before has expired"
    );
    store.end_session("s1").await.unwrap();
    assert!(store.session("s1", now - month).await.unwrap().is_none());
    assert_eq!(store.end_all_sessions(ada.id).await.unwrap(), 1);
    assert!(store.session("s2", now - month).await.unwrap().is_none());

    // A session from 2019 signs nobody in, and the next sign-in removes it.
    let old = at("2019-05-01T00:00:00Z");
    store
        .create_session("s2019", ada.id, old, old - month)
        .await
        .unwrap();
    assert!(store.session("s2019", now - month).await.unwrap().is_none());
    let forever = at("1970-01-01T00:00:00Z");
    assert!(store.session("s2019", forever).await.unwrap().is_some());
    store
        .create_session("s3", ada.id, now, now - month)
        .await
        .unwrap();
    assert!(
        store.session("s2019", forever).await.unwrap().is_none(),
        "expired rows are removed"
    );

    let renamed = store
        .update_profile(other.id, "lovelace", "Ada L.")
        .await
        .unwrap();
    assert_eq!(renamed.display_name, "Ada L.");
    assert!(matches!(
        store.update_profile(other.id, "ADA", "x").await,
        Err(StoreError::Conflict(_))
    ));
    let renamed = store.update_profile(other.id, "CHIEF2", "x").await.unwrap();
    let again = store
        .sign_in(&renamed.email, &["chief2".into()], now)
        .await
        .unwrap();
    assert!(!again.is_admin, "renaming to a listed name gives no rights");
    let renamed = store
        .update_profile(other.id, "lovelace", "Ada L.")
        .await
        .unwrap();
    assert_eq!(renamed.username, "lovelace");
    assert_eq!(
        store
            .account_by_username("Lovelace")
            .await
            .unwrap()
            .unwrap()
            .id,
        other.id
    );
}

pub async fn votes_are_counted_once_per_account(store: Arc<dyn Store>) {
    let now = at("2026-01-01T10:00:00Z");
    let id = import_paper(&store, "2501.00001", "A").await;
    let a = store.sign_in("a@x.org", &[], now).await.unwrap();
    let b = store.sign_in("b@x.org", &[], now).await.unwrap();
    for _ in 0..2 {
        let v = store.vote(a.id, &id, true, now).await.unwrap().unwrap();
        assert_eq!(
            v,
            VoteOutcome {
                voted: true,
                local_upvotes: 1
            }
        );
    }
    store.vote(b.id, &id, true, now).await.unwrap();
    assert_eq!(store.paper(&id).await.unwrap().unwrap().local_upvotes, 2);
    assert_eq!(store.count_votes(&id).await.unwrap(), 2);
    assert_eq!(
        store
            .votes_of(a.id, std::slice::from_ref(&id))
            .await
            .unwrap(),
        vec![true]
    );
    let v = store.vote(a.id, &id, false, now).await.unwrap().unwrap();
    assert_eq!(v.local_upvotes, 1);
    let v = store.vote(a.id, &id, false, now).await.unwrap().unwrap();
    assert_eq!(
        v.local_upvotes, 1,
        "unvoting twice takes one vote away once"
    );
    let unknown = ArxivId::parse("2501.09999").unwrap();
    assert!(store
        .vote(a.id, &unknown, true, now)
        .await
        .unwrap()
        .is_none());

    // A later import of the same paper with hf.co votes keeps the local ones apart.
    let mut p = paper("2501.00001", "A");
    p.hf_upvotes = Some(40);
    store.import(vec![(p, None)]).await.unwrap();
    let view = store.paper(&id).await.unwrap().unwrap();
    assert_eq!((view.local_upvotes, view.upvotes()), (1, 41));

    let trend = store
        .trend_inputs(now - chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(trend.len(), 1);
    assert_eq!(trend[0].votes, vec![now]);
    assert_eq!(trend[0].imported, 40);
}

pub async fn submissions_comments_and_moderation(store: Arc<dyn Store>) {
    let now = at("2026-01-01T10:00:00Z");
    let day = now.date_naive();
    let admin = store.sign_in("mod@x.org", &[], now).await.unwrap();
    let user = store.sign_in("user@x.org", &[], now).await.unwrap();
    let by = paperboy_core::Submitter {
        name: user.username.clone(),
        fullname: Some(user.display_name.clone()),
        hf_id: None,
        avatar_url: None,
    };
    let p = paper("2501.00007", "Seven");
    let id = p.id.clone();
    assert_eq!(
        store.submit(p.clone(), day, by.clone(), now).await.unwrap(),
        SubmitOutcome::Added(day)
    );
    assert_eq!(
        store.submit(p, day, by, now).await.unwrap(),
        SubmitOutcome::Duplicate(day)
    );
    let listed = store.listing(day, day, &Default::default()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].entry.submitted_by.as_ref().unwrap().name,
        user.username
    );

    let c = store
        .add_comment(&id, user.id, "first <b>", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.body, "first <b>");
    store
        .add_comment(&id, admin.id, "second", now)
        .await
        .unwrap();
    assert_eq!(store.paper(&id).await.unwrap().unwrap().local_comments, 2);
    assert!(store
        .edit_comment(c.id, "first, edited", now)
        .await
        .unwrap());
    assert_eq!(
        store.comment(c.id).await.unwrap().unwrap().edited_at,
        Some(now)
    );

    assert!(store
        .moderate(&admin.username, Moderation::HideComment(c.id), "spam", now)
        .await
        .unwrap());
    assert_eq!(store.comments(&id, false).await.unwrap().len(), 1);
    assert_eq!(store.comments(&id, true).await.unwrap().len(), 2);
    assert_eq!(store.paper(&id).await.unwrap().unwrap().local_comments, 1);

    store
        .create_session("su", user.id, now, now - chrono::Duration::days(30))
        .await
        .unwrap();
    assert!(store
        .moderate(
            &admin.username,
            Moderation::Block(user.username.clone()),
            "",
            now
        )
        .await
        .unwrap());
    assert!(
        store
            .session("su", now - chrono::Duration::days(30))
            .await
            .unwrap()
            .is_none(),
        "blocking signs out"
    );
    assert!(
        store
            .account_by_username(&user.username)
            .await
            .unwrap()
            .unwrap()
            .blocked
    );

    let seq = store.last_seq().await.unwrap();
    assert!(store
        .moderate(&admin.username, Moderation::HidePaper(id.clone()), "", now)
        .await
        .unwrap());
    assert!(store.paper(&id).await.unwrap().is_none());
    assert!(store
        .listing(day, day, &Default::default())
        .await
        .unwrap()
        .is_empty());
    let changes = store.changes_since(seq, 10).await.unwrap();
    assert_eq!(changes.len(), 1, "hiding is a change search indexes follow");
    assert!(!changes[0].2);
    assert!(!store
        .moderate(
            &admin.username,
            Moderation::HideComment(crate::CommentId(999)),
            "",
            now
        )
        .await
        .unwrap());

    let queue = store.moderation_queue().await.unwrap();
    assert_eq!(queue.hidden_papers.len(), 1);
    assert_eq!(queue.hidden_comments.len(), 1);
    assert_eq!(queue.blocked_accounts.len(), 1);
    let log = store.audit_log(10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["hide paper", "block account", "hide comment"]);
    assert_eq!(log[2].detail, "spam");

    assert!(store.delete_comment(c.id).await.unwrap());
    assert!(store.comment(c.id).await.unwrap().is_none());
    assert!(!store.delete_comment(c.id).await.unwrap());

    // A moderator deleting someone else's comment is moderation: it has its audit row.
    let eight = import_paper(&store, "2501.00008", "Eight").await;
    let reader = store.sign_in("reader@x.org", &[], now).await.unwrap();
    let d = store
        .add_comment(&eight, reader.id, "off topic", now)
        .await
        .unwrap()
        .unwrap();
    assert!(store
        .moderate(
            &admin.username,
            Moderation::DeleteComment(d.id),
            "off topic",
            now
        )
        .await
        .unwrap());
    assert!(store.comment(d.id).await.unwrap().is_none());
    assert_eq!(
        store.paper(&eight).await.unwrap().unwrap().local_comments,
        0
    );
    let log = store.audit_log(10).await.unwrap();
    assert_eq!(
        (
            log[0].action.as_str(),
            log[0].target.clone(),
            log[0].actor.as_str()
        ),
        (
            "delete comment",
            format!("comment {}", d.id),
            admin.username.as_str()
        )
    );
    assert!(!store
        .moderate(&admin.username, Moderation::DeleteComment(d.id), "", now)
        .await
        .unwrap());
    assert_eq!(store.audit_log(10).await.unwrap().len(), log.len());
}

/// Rate limits count across every handle on the database (every node of a cluster): two
/// stores opened on one database share one allowance.
pub async fn rate_limits_hold_across_handles(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    use std::time::Duration;
    let now = at("2026-01-01T10:00:00Z");
    let minute = Duration::from_secs(60);
    let keys = |ip: &str| vec![("acct:1".to_string(), 3), (format!("ip:{ip}"), 4)];
    for (i, store) in [&first, &second, &first].into_iter().enumerate() {
        let t = now + chrono::Duration::seconds(i as i64);
        assert_eq!(
            store
                .rate_limit("vote", &keys("a"), minute, t)
                .await
                .unwrap(),
            None
        );
    }
    let t = now + chrono::Duration::seconds(10);
    let wait = second
        .rate_limit("vote", &keys("b"), minute, t)
        .await
        .unwrap()
        .expect("the account's three are used, on whichever node");
    assert_eq!(
        wait,
        Duration::from_secs(50),
        "until the oldest leaves the window"
    );
    let later = now + chrono::Duration::seconds(61);
    for (store, action, counted, t, why) in [
        (
            &first,
            "vote",
            vec![("ip:b".into(), 4)],
            t,
            "a refusal counts nothing: ip:b is still fresh",
        ),
        (
            &first,
            "comment",
            keys("a"),
            t,
            "each action has its own allowance",
        ),
        (&second, "vote", keys("b"), later, "the window slides"),
    ] {
        assert_eq!(
            store.rate_limit(action, &counted, minute, t).await.unwrap(),
            None,
            "{why}"
        );
    }
    // Concurrent requests on both handles never pass more than the allowance.
    let t = now + chrono::Duration::hours(1);
    let tries = (0..20).map(|i| {
        let store = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        async move {
            store
                .rate_limit("submit", &[("acct:9".into(), 5)], minute, t)
                .await
                .unwrap()
                .is_none()
        }
    });
    let passed = futures_join_all(tries)
        .await
        .into_iter()
        .filter(|ok| *ok)
        .count();
    assert_eq!(passed, 5);
}

async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futs: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

pub async fn subscriptions_need_confirmation_and_end_at_once(store: Arc<dyn Store>) {
    use crate::{Frequency, SignUp, Topics};
    let now = at("2026-01-01T10:00:00Z");
    let a = store.secret("links").await.unwrap();
    assert_eq!(a.len(), 64);
    assert_eq!(
        store.secret("links").await.unwrap(),
        a,
        "made once, then kept"
    );
    assert_ne!(store.secret("other").await.unwrap(), a);

    let topics = Topics {
        categories: vec!["cs.CL".into()],
        authors: vec![],
        searches: vec!["diffusion".into()],
    };
    let first = store
        .sign_up("Ada@Example.org", Frequency::Daily, &topics, None, now)
        .await
        .unwrap();
    let SignUp::SendConfirmation(sub) = first else {
        panic!("a new address gets a confirmation: {first:?}")
    };
    assert_eq!(sub.email, "ada@example.org");
    assert!(!sub.active(), "nothing is sent before confirmation");
    assert_eq!(
        store
            .subscription_by_email(" ADA@example.org")
            .await
            .unwrap()
            .map(|s| s.id),
        Some(sub.id)
    );
    assert!(store
        .subscription_by_email("bob@example.org")
        .await
        .unwrap()
        .is_none());
    // Signing up again within the hour mails nothing more.
    let weekly_at = |t| store.sign_up("ada@example.org", Frequency::Weekly, &topics, None, t);
    let again = weekly_at(now + chrono::Duration::minutes(5)).await.unwrap();
    assert!(
        matches!(again, SignUp::Quiet(ref s) if s.id == sub.id && s.frequency == Frequency::Weekly)
    );
    let later = weekly_at(now + chrono::Duration::hours(2)).await.unwrap();
    assert!(
        matches!(later, SignUp::SendConfirmation(_)),
        "an hour later it may be mailed again"
    );

    assert!(store.confirm_subscription(sub.id, now).await.unwrap());
    let s = store.subscription(sub.id).await.unwrap().unwrap();
    assert!(s.active());
    assert_eq!(s.topics, topics);
    // Someone signs the confirmed address up again with other preferences: nothing changes
    // but a confirmation mail to the address, holding the change until its owner confirms.
    let none = Topics::default();
    let stranger = || {
        store.sign_up(
            "ada@example.org",
            Frequency::Daily,
            &none,
            None,
            now + chrono::Duration::hours(5),
        )
    };
    let change = stranger().await.unwrap();
    let SignUp::SendConfirmation(held) = change else {
        panic!("a change to a confirmed subscription is mailed for confirmation: {change:?}")
    };
    assert!(held.active());
    assert_eq!((held.frequency, &held.topics), (Frequency::Weekly, &topics));
    assert_eq!(
        held.pending,
        Some(crate::Preferences {
            frequency: Frequency::Daily,
            topics: Topics::default()
        })
    );
    let quiet = stranger().await.unwrap();
    assert!(
        matches!(quiet, SignUp::Quiet(ref s) if s.active() && s.topics == topics),
        "within the hour: no second mail, and still nothing changed"
    );
    assert!(store.confirm_subscription(sub.id, now).await.unwrap());
    let s = store.subscription(sub.id).await.unwrap().unwrap();
    assert_eq!(
        (s.frequency, &s.topics, &s.pending),
        (Frequency::Daily, &Topics::default(), &None),
        "the owner's confirmation applies the change"
    );

    assert!(store.unsubscribe(sub.id, now).await.unwrap());
    assert!(!store.subscription(sub.id).await.unwrap().unwrap().active());
    assert!(
        !store.confirm_subscription(sub.id, now).await.unwrap(),
        "a used confirmation does not resubscribe"
    );
    let back = store
        .sign_up(
            "ada@example.org",
            Frequency::Daily,
            &Topics::default(),
            None,
            now + chrono::Duration::hours(9),
        )
        .await
        .unwrap();
    assert!(
        matches!(back, SignUp::SendConfirmation(ref s) if !s.active()),
        "coming back needs confirming again"
    );
    assert!(store
        .subscription(crate::SubscriptionId(999))
        .await
        .unwrap()
        .is_none());
}

pub async fn digests_are_recorded_once_and_delivered_or_given_up(store: Arc<dyn Store>) {
    use crate::{Delivery, Frequency, SignUp, Topics};
    let now = at("2026-01-05T07:00:00Z");
    let mut ids = Vec::new();
    for n in 0..3 {
        let SignUp::SendConfirmation(s) = store
            .sign_up(
                &format!("r{n}@x.org"),
                Frequency::Daily,
                &Topics::default(),
                None,
                now,
            )
            .await
            .unwrap()
        else {
            panic!("new address")
        };
        store.confirm_subscription(s.id, now).await.unwrap();
        ids.push(s.id);
    }
    store
        .sign_up(
            "weekly@x.org",
            Frequency::Weekly,
            &Topics::default(),
            None,
            now,
        )
        .await
        .unwrap();
    let due = store
        .due_subscriptions(Frequency::Daily, "2026-01-05", 0, 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 3, "confirmed daily subscribers only");
    let paper = ArxivId::parse("2501.00001").unwrap();
    assert!(store
        .record_digest(
            ids[0],
            "2026-01-05",
            "d.1@pb",
            "msg",
            std::slice::from_ref(&paper),
            now
        )
        .await
        .unwrap());
    assert!(
        !store
            .record_digest(ids[0], "2026-01-05", "d.1@pb", "other", &[], now)
            .await
            .unwrap(),
        "a period is recorded once"
    );
    for (sub, sent) in [(ids[0], true), (ids[1], false)] {
        assert_eq!(
            store
                .sent_before(sub, std::slice::from_ref(&paper))
                .await
                .unwrap(),
            vec![sent]
        );
    }
    let due = store
        .due_subscriptions(Frequency::Daily, "2026-01-05", 0, 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 2, "recorded subscribers are no longer due");
    // One with nothing new is passed for the period, and due again the next.
    store.pass_period(ids[2], "2026-01-05").await.unwrap();
    store.pass_period(ids[2], "2026-01-04").await.unwrap(); // never backwards
    let due = store
        .due_subscriptions(Frequency::Daily, "2026-01-05", 0, 10)
        .await
        .unwrap();
    assert_eq!(due.iter().map(|s| s.id).collect::<Vec<_>>(), [ids[1]]);
    let next = store
        .due_subscriptions(Frequency::Daily, "2026-01-06", 0, 10)
        .await
        .unwrap();
    assert_eq!(next.len(), 3);
    store
        .record_digest(ids[1], "2026-01-05", "d.2@pb", "msg2", &[], now)
        .await
        .unwrap();
    store
        .record_digest(ids[2], "2026-01-05", "d.3@pb", "msg3", &[], now)
        .await
        .unwrap();

    let mail = store.due_mail(now, 10).await.unwrap();
    assert_eq!(mail.len(), 3);
    assert_eq!(mail[0].message, "msg");
    store
        .mark_mail(mail[0].id, Delivery::Sent, now)
        .await
        .unwrap();
    let later = now + chrono::Duration::minutes(5);
    store
        .mark_mail(
            mail[1].id,
            Delivery::Retry(later, "451 try later".into()),
            now,
        )
        .await
        .unwrap();
    store
        .mark_mail(
            mail[2].id,
            Delivery::Failed {
                error: "550 no such user".into(),
                bounce: true,
            },
            now,
        )
        .await
        .unwrap();
    assert!(
        store.due_mail(now, 10).await.unwrap().is_empty(),
        "the retry waits"
    );
    let retry = store.due_mail(later, 10).await.unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].attempts, 1);
    assert!(store.subscription(ids[2]).await.unwrap().unwrap().bouncing);
    // Unsubscribing cancels what is still pending.
    store.unsubscribe(ids[1], later).await.unwrap();
    assert!(store.due_mail(later, 10).await.unwrap().is_empty());
    let stats = store.mail_stats().await.unwrap();
    assert_eq!((stats.sent, stats.failed, stats.pending), (1, 1, 0));
    let all: Vec<i64> = (mail[0].id..=mail[0].id + 10).collect();
    assert_eq!(
        store.forget_bodies(&all).await.unwrap(),
        1,
        "the sent one (the failed one keeps its body, to see why)"
    );
    assert_eq!(store.forget_bodies(&all).await.unwrap(), 0);
    assert_eq!(store.mail_stats().await.unwrap(), stats, "counts stay");
    assert_eq!(stats.last_period.as_deref(), Some("2026-01-05"));
}

pub async fn locks_are_exclusive_until_released(store: Arc<dyn Store>) {
    let held = store.try_lock("digest-sender").await.unwrap();
    assert!(held.is_some());
    assert!(
        store.try_lock("digest-sender").await.unwrap().is_none(),
        "held"
    );
    assert!(
        store.try_lock("other").await.unwrap().is_some(),
        "names are apart"
    );
    drop(held);
    assert!(store.try_lock("digest-sender").await.unwrap().is_some());
    assert!(store.try_lock("../x").await.is_err(), "a name, not a path");
}

pub async fn harvest_state_moves_with_its_records(store: Arc<dyn Store>) {
    assert_eq!(store.harvest_status("arxiv-oai").await.unwrap(), None);
    store
        .harvest_started("arxiv-oai", at("2026-01-05T06:00:00Z"))
        .await
        .unwrap();
    let changes = store
        .import_harvested(
            "arxiv-oai",
            vec![
                (paper("2501.00001", "One"), None),
                (paper("2501.00002", "Two"), None),
            ],
            r#"{"token":"page-2"}"#,
        )
        .await
        .unwrap();
    assert_eq!(changes, vec![Change::New, Change::New]);
    // The same page again (a resumed harvest): the state moves, nothing is counted twice.
    store
        .import_harvested(
            "arxiv-oai",
            vec![(paper("2501.00002", "Two"), None)],
            r#"{"token":null}"#,
        )
        .await
        .unwrap();
    let s = store.harvest_status("arxiv-oai").await.unwrap().unwrap();
    assert_eq!(s.state, r#"{"token":null}"#);
    assert_eq!((s.papers_total, s.run_papers), (2, 2));
    assert_eq!(s.last_success, None);
    assert_eq!(store.stats().await.unwrap().papers, 2);
    store
        .harvest_ended("arxiv-oai", Some("HTTP 503"), at("2026-01-05T06:01:00Z"))
        .await
        .unwrap();
    let s = store.harvest_status("arxiv-oai").await.unwrap().unwrap();
    assert_eq!(s.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(s.last_error_at, Some(at("2026-01-05T06:01:00Z")));
    // The next pass brings nothing new and succeeds: the error is cleared, the count is its own.
    store
        .harvest_started("arxiv-oai", at("2026-01-06T06:00:00Z"))
        .await
        .unwrap();
    store
        .harvest_ended("arxiv-oai", None, at("2026-01-06T06:02:00Z"))
        .await
        .unwrap();
    let s = store.harvest_status("arxiv-oai").await.unwrap().unwrap();
    assert_eq!(s.last_error, None);
    assert_eq!(s.last_papers, Some(0));
    assert_eq!(s.papers_total, 2);
    assert_eq!(s.run_started, Some(at("2026-01-06T06:00:00Z")));
    assert_eq!(s.last_success, Some(at("2026-01-06T06:02:00Z")));
    store
        .harvest_ended("hf-daily", None, at("2026-01-06T06:03:00Z"))
        .await
        .unwrap();
    let all: Vec<String> = store
        .harvest_statuses()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.source)
        .collect();
    assert_eq!(all, ["arxiv-oai", "hf-daily"]);
}

/// Writers committing at once never let a follower of the change feed skip a change: each
/// change it reads has a larger `seq` than the last, and in the end it has seen every paper.
pub async fn a_follower_misses_no_change_under_concurrent_writes(store: Arc<dyn Store>) {
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for batch in 0..10 {
                    let records = (0..5)
                        .map(|i| {
                            let id = format!("2502.{:05}", w * 1000 + batch * 10 + i);
                            (paper(&id, &format!("Paper {id}")), None)
                        })
                        .collect();
                    store.import(records).await.unwrap();
                }
            })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut cursor = 0;
    let follow = |changes: Vec<(i64, Paper, bool)>,
                  cursor: &mut i64,
                  seen: &mut std::collections::HashSet<String>| {
        for (seq, p, _) in changes {
            assert!(seq > *cursor, "seq {seq} after {cursor}");
            *cursor = seq;
            seen.insert(p.id.to_string());
        }
    };
    while !writers.iter().all(|w| w.is_finished()) {
        let changes = store.changes_since(cursor, 7).await.unwrap();
        follow(changes, &mut cursor, &mut seen);
        tokio::task::yield_now().await;
    }
    for w in writers {
        w.await.unwrap();
    }
    loop {
        let changes = store.changes_since(cursor, 7).await.unwrap();
        if changes.is_empty() {
            break;
        }
        follow(changes, &mut cursor, &mut seen);
    }
    assert_eq!(seen.len(), 200, "every paper reached the follower");
}

/// Some of everything: papers and lists, embeddings, accounts, votes, comments, moderation,
/// subscriptions, a recorded digest, harvest state.
pub async fn fill(store: &Arc<dyn Store>) {
    store
        .import(vec![
            (
                paper("2501.00001", "One"),
                Some(entry("2025-01-02", "2501.00001", 0, 5)),
            ),
            (paper("2501.00002", "Two"), None),
        ])
        .await
        .unwrap();
    let id = ArxivId::parse("2501.00001").unwrap();
    store
        .put_embeddings("m", vec![(id.clone(), 7, vec![0.5, -0.25])], ("embed:m", 1))
        .await
        .unwrap();
    let now = at("2026-01-05T06:00:00Z");
    let ada = store.sign_in("ada@example.org", &[], now).await.unwrap();
    let bob = store.sign_in("Bob@example.org", &[], now).await.unwrap();
    store
        .create_session("h1", ada.id, now, now - chrono::Duration::days(30))
        .await
        .unwrap();
    store
        .create_login_token("t1", "ada@example.org", now)
        .await
        .unwrap();
    store.vote(ada.id, &id, true, now).await.unwrap();
    store.vote(bob.id, &id, true, now).await.unwrap();
    let c = store
        .add_comment(&id, bob.id, "Nice", now)
        .await
        .unwrap()
        .unwrap();
    store
        .moderate("ada", Moderation::HideComment(c.id), "spam", now)
        .await
        .unwrap();
    let topics = crate::Topics {
        categories: vec!["cs.CL".into()],
        ..Default::default()
    };
    let sub = match store
        .sign_up(
            "ada@example.org",
            crate::Frequency::Daily,
            &topics,
            Some(ada.id),
            now,
        )
        .await
        .unwrap()
    {
        crate::SignUp::SendConfirmation(s) | crate::SignUp::Quiet(s) => s,
    };
    store.confirm_subscription(sub.id, now).await.unwrap();
    store
        .record_digest(
            sub.id,
            "2026-01-05",
            "<d1@x>",
            "Subject: hi\r\n\r\nbody",
            &[id],
            now,
        )
        .await
        .unwrap();
    store.secret("links").await.unwrap();
    store
        .import_harvested(
            "arxiv-oai",
            vec![(paper("2501.00003", "Three"), None)],
            "{}",
        )
        .await
        .unwrap();
}

/// Everything copied into a new SQLite file and from there into another: all three hold the
/// same rows, and the copy works as a store.
pub async fn a_copy_holds_the_same_rows(store: Arc<dyn Store>, dir: &std::path::Path) {
    fill(&store).await;
    let first = crate::open(dir.join("copy1.sqlite3").to_str().unwrap(), true).unwrap();
    let counts = crate::copy::copy(&*store, &*first, &|_, _| {})
        .await
        .unwrap();
    let votes = counts.iter().find(|(t, _)| *t == "votes").unwrap().1;
    assert_eq!(votes, 2);
    let second = crate::open(dir.join("copy2.sqlite3").to_str().unwrap(), true).unwrap();
    crate::copy::copy(&*first, &*second, &|_, _| {})
        .await
        .unwrap();
    let original = crate::copy::dump(&*store).await.unwrap();
    assert_eq!(crate::copy::dump(&*first).await.unwrap(), original);
    assert_eq!(crate::copy::dump(&*second).await.unwrap(), original);
    assert!(
        crate::copy::copy(&*store, &*first, &|_, _| {})
            .await
            .is_err(),
        "never into a database that holds data"
    );
    // New rows continue after the copied ids.
    let carol = second
        .sign_in("carol@example.org", &[], at("2026-01-06T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(carol.id, crate::AccountId(3));
    let mut want = store.stats().await.unwrap();
    want.accounts += 1;
    assert_eq!(second.stats().await.unwrap(), want);
}

/// The embedding backlog as claimed stretches of the change feed: resumed by the process that
/// claimed it, done once, the cursor moved past every stretch done without a gap; where several
/// processes share the database, each claims its own and one that is gone is taken over.
pub async fn embedding_work_is_claimed_once(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let ids: Vec<ArxivId> = [
        "2501.00001",
        "2501.00002",
        "2501.00003",
        "2501.00004",
        "2501.00005",
    ]
    .iter()
    .map(|i| ArxivId::parse(i).unwrap())
    .collect();
    for id in &ids {
        import_paper(&first, id.as_str(), "A paper").await;
    }
    let (model, cursor) = ("m", "embed:m");
    let stretch = |after, upto| Some(crate::EmbeddingWork { after, upto });
    let claim = |s: &Arc<dyn Store>| {
        let s = s.clone();
        async move { s.claim_embedding_work(model, cursor, 2).await.unwrap() }
    };
    let row = |i: usize| vec![(ids[i].clone(), i as i64, vec![i as f32, 1.0])];
    // Whether `s` stored paper `i` as the end of stretch `w`.
    let finish = |s: &Arc<dyn Store>, w, i| {
        let (s, rows) = (s.clone(), row(i));
        async move {
            s.finish_embedding_work(model, cursor, w, rows)
                .await
                .unwrap()
        }
    };

    let a = claim(&first).await;
    assert_eq!(a, stretch(0, 2));
    assert_eq!(
        claim(&first).await,
        a,
        "a process resumes its unfinished stretch"
    );
    let a = a.unwrap();
    assert!(finish(&first, a, 0).await);
    assert!(!finish(&first, a, 1).await, "a stretch is done once");
    assert_eq!(first.cursor(cursor).await.unwrap(), 2);
    assert_eq!(
        first.embedding_hashes(model, &ids[..2]).await.unwrap(),
        [Some(0), None],
        "the second finish stored nothing"
    );

    let b = claim(&first).await.unwrap();
    assert_eq!(Some(b), stretch(2, 4));
    if first.outbox_is_shared() {
        // Another node claims the next stretch; finished first, it waits for the one before.
        let c = claim(&second).await.unwrap();
        assert_eq!(Some(c), stretch(4, 5));
        assert!(finish(&second, c, 4).await);
        assert_eq!(first.cursor(cursor).await.unwrap(), 2, "a gap at 2..4");
        assert_eq!(claim(&second).await, None, "everything is claimed");
        // The first node goes: its stretch is the other's to take.
        drop(first);
        let taken = poll_claim(&second, model, cursor).await;
        assert_eq!(taken, b);
        assert!(finish(&second, taken, 2).await);
    } else {
        // One process works the database: a second handle is the same process.
        assert_eq!(claim(&second).await, Some(b));
        assert!(finish(&second, b, 2).await);
        let c = claim(&second).await.unwrap();
        assert_eq!(Some(c), stretch(4, 5));
        assert!(finish(&second, c, 4).await);
    }
    assert_eq!(second.cursor(cursor).await.unwrap(), 5);
    assert_eq!(claim(&second).await, None);
    assert_eq!(
        second.embedding_hashes(model, &ids).await.unwrap(),
        [Some(0), None, Some(2), None, Some(4)]
    );
    // A new change is new work.
    import_paper(&second, "2501.00006", "Another").await;
    assert_eq!(claim(&second).await, stretch(5, 6));
}

/// The next claim of `store`, waiting for the database to see that a node's connections closed.
async fn poll_claim(store: &Arc<dyn Store>, model: &str, cursor: &str) -> crate::EmbeddingWork {
    let started = std::time::Instant::now();
    loop {
        if let Some(w) = store.claim_embedding_work(model, cursor, 2).await.unwrap() {
            return w;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the stretch of a node that is gone was never taken over"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// For you: signals gather votes, saves and collection items once per paper, marks take a paper
/// out of them, the fingerprint follows every change, a reset forgets, models and feeds are kept
/// per reader and go with the account; pools are a day's papers in some categories.
pub async fn foryou_signals_models_and_pools(store: Arc<dyn Store>) {
    use crate::{Mark, Source, StoredModel};
    let now = at("2026-01-05T06:00:00Z");
    let ada = store.sign_in("ada@example.org", &[], now).await.unwrap();
    let bob = store.sign_in("bob@example.org", &[], now).await.unwrap();
    let mut records = Vec::new();
    for (n, cats, day) in [
        ("2501.00001", "cs.CL", 2),
        ("2501.00002", "cs.CL cs.LG", 2),
        ("2501.00003", "cs.LG cs.CL", 2),
        ("2501.00004", "cs.CV", 2),
        ("2501.00005", "cs.CL", 6),
    ] {
        let mut p = paper(n, &format!("Paper {n}"));
        p.categories = cats.split(' ').map(str::to_owned).collect();
        p.announced = chrono::NaiveDate::from_ymd_opt(2025, 1, day);
        records.push((p, None));
    }
    store.import(records).await.unwrap();
    let id = |s: &str| ArxivId::parse(s).unwrap();
    store
        .vote(ada.id, &id("2501.00001"), true, now)
        .await
        .unwrap();
    store
        .save(ada.id, &id("2501.00001"), true, now)
        .await
        .unwrap();
    store
        .save(
            ada.id,
            &id("2501.00002"),
            true,
            now + chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    let before = store.signals(ada.id).await.unwrap();
    assert_eq!(
        before
            .positives
            .iter()
            .map(|(p, s, _)| (p.as_str().to_owned(), s.clone()))
            .collect::<Vec<_>>(),
        vec![
            ("2501.00002".to_owned(), vec![Source::Save]),
            ("2501.00001".to_owned(), vec![Source::Save, Source::Vote]),
        ]
    );
    assert!(
        store.signals(bob.id).await.unwrap().is_empty(),
        "signals are the reader's own"
    );
    // A mark takes a paper out of the liked ones, and changes the fingerprint; taking it off
    // brings both back.
    assert!(store
        .mark(ada.id, &id("2501.00002"), Some(Mark::Ignored), now)
        .await
        .unwrap());
    assert!(store
        .mark(ada.id, &id("2501.00004"), Some(Mark::Fewer), now)
        .await
        .unwrap());
    assert!(!store
        .mark(ada.id, &id("2501.09999"), Some(Mark::Fewer), now)
        .await
        .unwrap());
    let marked = store.signals(ada.id).await.unwrap();
    assert_eq!(marked.positives.len(), 1);
    assert_eq!(marked.marks.len(), 2);
    assert_ne!(marked.fingerprint(), before.fingerprint());
    store
        .mark(ada.id, &id("2501.00002"), None, now)
        .await
        .unwrap();
    store
        .mark(ada.id, &id("2501.00004"), None, now)
        .await
        .unwrap();
    assert_eq!(
        store.signals(ada.id).await.unwrap().fingerprint(),
        before.fingerprint()
    );

    // The model is kept, and read back.
    let model = StoredModel {
        fingerprint: before.fingerprint(),
        model: "{\"liked\":[]}".into(),
        trained_at: now,
    };
    store.store_model(ada.id, model.clone()).await.unwrap();
    assert_eq!(store.stored_model(ada.id).await.unwrap(), Some(model));
    assert_eq!(store.stored_model(bob.id).await.unwrap(), None);

    // The private feed's secret hash finds its reader only.
    assert!(!store.has_feed(ada.id).await.unwrap());
    store.set_feed_hash(ada.id, Some("aa11")).await.unwrap();
    assert!(store.has_feed(ada.id).await.unwrap());
    assert_eq!(store.feed_reader("aa11").await.unwrap(), Some(ada.id));
    assert_eq!(store.feed_reader("bb22").await.unwrap(), None);

    // Pools: a day's papers in the categories asked (every category when none).
    let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap();
    let ids = |v: Vec<crate::PaperView>| {
        v.into_iter()
            .map(|v| v.paper.id.to_string())
            .collect::<Vec<_>>()
    };
    let latest = chrono::NaiveDate::from_ymd_opt(2025, 1, 6).unwrap();
    assert_eq!(
        store.announced_around(None, &[]).await.unwrap(),
        (None, Some(latest))
    );
    let first = day;
    assert_eq!(
        store
            .announced_around(Some(latest), &["cs.CL".to_owned()])
            .await
            .unwrap(),
        (Some(day), None)
    );
    let all = ids(store.announced(first, &[]).await.unwrap());
    assert_eq!(all.len(), 4, "{all:?} on {first} ({day})");
    let cl = ids(store.announced(first, &["cs.CL".to_owned()]).await.unwrap());
    assert_eq!(
        cl,
        ["2501.00001", "2501.00002", "2501.00003"],
        "cross-lists too"
    );
    let cv = ids(store
        .announced(first, &["cs.CV".to_owned(), "cs.AI".to_owned()])
        .await
        .unwrap());
    assert_eq!(cv, ["2501.00004"]);
    assert_eq!(
        store
            .announced_around(Some(first), &["cs.CV".to_owned()])
            .await
            .unwrap(),
        (None, None),
        "cs.CV has one day"
    );

    // A reset forgets marks and likes until now, and the model.
    store
        .mark(ada.id, &id("2501.00003"), Some(Mark::NotInterested), now)
        .await
        .unwrap();
    store
        .reset_foryou(ada.id, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    let reset = store.signals(ada.id).await.unwrap();
    assert!(
        reset.positives.is_empty() && reset.marks.is_empty(),
        "{reset:?}"
    );
    assert_eq!(store.stored_model(ada.id).await.unwrap(), None);
    store
        .save(
            ada.id,
            &id("2501.00005"),
            true,
            now + chrono::Duration::hours(2),
        )
        .await
        .unwrap();
    assert_eq!(
        store.signals(ada.id).await.unwrap().positives.len(),
        1,
        "new likes count"
    );

    // Deleting the account takes its signals, model and feed with it.
    store
        .mark(ada.id, &id("2501.00003"), Some(Mark::Fewer), now)
        .await
        .unwrap();
    assert!(store.delete_account(ada.id, true, now).await.unwrap());
    assert_eq!(store.feed_reader("aa11").await.unwrap(), None);
    assert!(store.signals(ada.id).await.unwrap().is_empty());
}

macro_rules! conformance {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;
            #[tokio::test]
            async fn import_is_idempotent_and_merges() {
                let Some((store, _dir)) = $make else { return };
                super::import_is_idempotent_and_merges(store).await;
            }
            #[tokio::test]
            async fn listings_and_days() {
                let Some((store, _dir)) = $make else { return };
                super::listings_and_days(store).await;
            }
            #[tokio::test]
            async fn category_lists_by_announcement_day() {
                let Some((store, _dir)) = $make else { return };
                super::category_lists_by_announcement_day(store).await;
            }
            #[tokio::test]
            async fn library_saves_and_tokens() {
                let Some((store, _dir)) = $make else { return };
                super::library_saves_and_tokens(store).await;
            }
            #[tokio::test]
            async fn foryou_signals_models_and_pools() {
                let Some((store, _dir)) = $make else { return };
                super::foryou_signals_models_and_pools(store).await;
            }
            #[tokio::test]
            async fn collections_keep_order_notes_and_privacy() {
                let Some((store, _dir)) = $make else { return };
                super::collections_keep_order_notes_and_privacy(store).await;
            }
            #[tokio::test]
            async fn a_deleted_account_leaves_counts_right() {
                let Some((store, _dir)) = $make else { return };
                super::a_deleted_account_leaves_counts_right(store).await;
            }
            #[tokio::test]
            async fn papers_page_walks_everything_once() {
                let Some((store, _dir)) = $make else { return };
                super::papers_page_walks_everything_once(store).await;
            }
            #[tokio::test]
            async fn embeddings_round_trip() {
                let Some((store, _dir)) = $make else { return };
                super::embeddings_round_trip(store).await;
            }
            #[tokio::test]
            async fn sign_in_links_and_sessions() {
                let Some((store, _dir)) = $make else { return };
                super::sign_in_links_and_sessions(store).await;
            }
            #[tokio::test]
            async fn votes_are_counted_once_per_account() {
                let Some((store, _dir)) = $make else { return };
                super::votes_are_counted_once_per_account(store).await;
            }
            #[tokio::test]
            async fn submissions_comments_and_moderation() {
                let Some((store, _dir)) = $make else { return };
                super::submissions_comments_and_moderation(store).await;
            }
            #[tokio::test]
            async fn subscriptions_need_confirmation_and_end_at_once() {
                let Some((store, _dir)) = $make else { return };
                super::subscriptions_need_confirmation_and_end_at_once(store).await;
            }
            #[tokio::test]
            async fn digests_are_recorded_once_and_delivered_or_given_up() {
                let Some((store, _dir)) = $make else { return };
                super::digests_are_recorded_once_and_delivered_or_given_up(store).await;
            }
            #[tokio::test]
            async fn locks_are_exclusive_until_released() {
                let Some((store, _dir)) = $make else { return };
                super::locks_are_exclusive_until_released(store).await;
            }
            #[tokio::test]
            async fn harvest_state_moves_with_its_records() {
                let Some((store, _dir)) = $make else { return };
                super::harvest_state_moves_with_its_records(store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_follower_misses_no_change_under_concurrent_writes() {
                let Some((store, _dir)) = $make else { return };
                super::a_follower_misses_no_change_under_concurrent_writes(store).await;
            }
            #[tokio::test]
            async fn a_copy_holds_the_same_rows() {
                let Some((store, dir)) = $make else { return };
                super::a_copy_holds_the_same_rows(store, dir.path()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rate_limits_hold_across_handles() {
                let Some((store, dir)) = $make else { return };
                let second = reopen(&store, &dir);
                super::rate_limits_hold_across_handles(store, second).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedding_work_is_claimed_once() {
                let Some((store, dir)) = $make else { return };
                let second = reopen(&store, &dir);
                super::embedding_work_is_claimed_once(store, second).await;
            }
            #[tokio::test]
            async fn backup_is_a_readable_copy() {
                let Some((store, dir)) = $make else { return };
                super::backup_is_a_readable_copy(store, dir.path()).await;
            }
        }
    };
}

/// Where a test's database is, to open a second handle on it (a second node).
trait Fixture {
    fn url(&self) -> String;
}

impl Fixture for tempfile::TempDir {
    fn url(&self) -> String {
        self.path()
            .join("paperboy.sqlite3")
            .to_string_lossy()
            .into_owned()
    }
}

impl Fixture for PgFixture {
    fn url(&self) -> String {
        self._db.url().to_owned()
    }
}

fn reopen(_first: &Arc<dyn Store>, fixture: &impl Fixture) -> Arc<dyn Store> {
    crate::open(&fixture.url(), false).unwrap()
}

fn sqlite_store() -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::open(dir.path().join("paperboy.sqlite3").to_str().unwrap(), true).unwrap();
    Some((store, dir))
}

conformance!(sqlite, sqlite_store());

/// A fresh PostgreSQL database per test (dropped after it), and a folder for files it writes.
struct PgFixture {
    dir: tempfile::TempDir,
    _db: crate::postgres::TestDatabase,
}

impl PgFixture {
    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

fn postgres_store() -> Option<(Arc<dyn Store>, PgFixture)> {
    let db = crate::postgres::TestDatabase::create()?;
    let store = crate::open(db.url(), true).unwrap();
    Some((
        store,
        PgFixture {
            dir: tempfile::tempdir().unwrap(),
            _db: db,
        },
    ))
}

conformance!(postgres, postgres_store());

#[test]
fn a_mistyped_path_is_refused_rather_than_created() {
    let dir = tempfile::tempdir().unwrap();
    let err = crate::open(dir.path().join("typo.sqlite3").to_str().unwrap(), false)
        .err()
        .unwrap();
    assert!(err.to_string().contains("does not exist"));
}
