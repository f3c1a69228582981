//! A reader's library through the real binary: saving in place and by form, `/library` and its
//! filter, citations of a paper (BibTeX, RIS, Markdown), personal API tokens made by
//! `paperboy token`, and a BibTeX import through the API that reports line by line.

use serde_json::Value;

use crate::common::{paperboy_command, run_command};
use crate::people::{Process, Visitor};

/// `paperboy token ARGS` on the server's data directory: (exit code, stdout, stderr).
pub(crate) async fn token(server: &Process, args: &[&str]) -> (i32, String, String) {
    let ran = run_command(
        paperboy_command()
            .arg("token")
            .args(args)
            .env("PAPERBOY_DATA_DIR", server.dir.path())
            .env("PAPERBOY_DEMO_DATA", "false"),
    )
    .await;
    (ran.status.code().unwrap_or(-1), ran.stdout, ran.stderr)
}

async fn with_token(
    server: &Process,
    method: reqwest::Method,
    path: &str,
    secret: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", server.base))
        .body(body.to_owned());
    if let Some(s) = secret {
        req = req.bearer_auth(s);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_reader_saves_cites_and_imports_a_library() {
    let server = Process::start(&[]).await;
    let reader = Visitor::signed_in(&server, "reader@example.org").await;
    let items = reader.get("/api/daily_papers?limit=6").await.json();
    let papers: Vec<(String, String)> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let p = &i["paper"];
            (
                p["id"].as_str().unwrap().to_owned(),
                p["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(papers.len() >= 5, "{items}");
    let (a, b, c, d) = (&papers[0], &papers[1], &papers[2], &papers[3]);

    // Save by the plain form, and in place as the page's script does.
    let r = reader
        .post(&format!("/papers/{}/save", a.0), &[("save", "1")])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = reader.get(&format!("/papers/{}", a.0)).await.body;
    assert!(
        page.contains(r#"aria-pressed="true" title="Remove from your library""#),
        "saved shows"
    );
    let stranger = Visitor::arrived(&server.base).await;
    let r = stranger
        .post(&format!("/papers/{}/save", a.0), &[("save", "1")])
        .await;
    assert_eq!(r.status, 401);

    let library = reader.get("/library").await.body;
    assert!(library.contains(&format!("href=\"/papers/{}\"", a.0)));
    assert!(!library.contains(&format!("href=\"/papers/{}\"", b.0)));
    let first_word = a.1.split_whitespace().next().unwrap().to_lowercase();
    let filtered = reader.get(&format!("/library?q={first_word}")).await.body;
    assert!(filtered.contains(&format!("href=\"/papers/{}\"", a.0)));
    let none = reader.get("/library?q=zzzqqqxxnothing").await.body;
    assert!(none.contains("No saved paper matches."));

    // Citations.
    let bib = reader.get(&format!("/papers/{}.bib", a.0)).await;
    assert_eq!(bib.status, 200);
    assert!(bib.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/x-bibtex"));
    assert!(
        bib.body.contains(&format!("eprint = {{{}}}", a.0)),
        "{}",
        bib.body
    );
    let ris = reader.get(&format!("/papers/{}.ris", a.0)).await.body;
    assert!(
        ris.starts_with("TY  - ") && ris.contains(&format!("arXiv:{}", a.0)),
        "{ris}"
    );
    let md = reader.get(&format!("/papers/{}.md", a.0)).await;
    assert!(md.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/markdown"));
    assert!(
        md.body.starts_with("# ") && md.body.contains("## Abstract"),
        "{}",
        md.body
    );
    assert_eq!(reader.get("/papers/2501.99999.bib").await.status, 404);

    // Tokens from the command line: alone on stdout; an unknown account is an error.
    let (code, out, err) = token(&server, &["create", "--account", "nobody@example.org"]).await;
    assert_eq!(code, 1, "{out}{err}");
    let (code, writer, err) = token(
        &server,
        &[
            "create",
            "--account",
            "reader@example.org",
            "--scope",
            "write",
            "--name",
            "tests",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(writer.lines().count(), 1, "{writer}");
    let writer = writer.trim().to_owned();
    assert!(writer.starts_with("pb_"));
    let (_, reader_token, _) = token(&server, &["create", "--account", "reader@example.org"]).await;
    let reader_token = reader_token.trim().to_owned();

    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let (status, list) = with_token(
        &server,
        get.clone(),
        "/api/library",
        Some(&reader_token),
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["id"], a.0.as_str());
    let (status, err) = with_token(&server, get.clone(), "/api/library", None, "").await;
    assert_eq!(
        (status, err["code"].as_str()),
        (401, Some("sign_in_required"))
    );

    // An import: by eprint, Google Scholar's journal, title alone, one already saved, one
    // unknown, and a malformed entry in the middle that is reported by its line and skipped.
    let upper = d.1.to_uppercase();
    let file = format!(
        "@misc{{bee, title={{Whatever}}, eprint={{{b}}}, archivePrefix={{arXiv}}}}\n\
         \n\
         @article{{broken,\n  title = {{Unclosed,\n\n\
         @article{{sea, title={{Another}}, journal={{arXiv preprint arXiv:{c}}}, year={{2025}}}}\n\
         @inproceedings{{dee, title={{{upper}}}}}\n\
         @misc{{ay, eprint={{{a}}}, archiveprefix={{arXiv}}}}\n\
         @misc{{unknown, eprint={{2501.99999}}, archivePrefix={{arXiv}}}}\n",
        b = b.0,
        c = c.0,
        a = a.0,
    );
    let (status, answer) = with_token(
        &server,
        post.clone(),
        "/api/library/import",
        Some(&reader_token),
        &file,
    )
    .await;
    assert_eq!(status, 403, "a read token may not import: {answer}");
    let (status, report) = with_token(
        &server,
        post.clone(),
        "/api/library/import",
        Some(&writer),
        &file,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["matched"], 4, "{report}");
    assert_eq!(report["already"], 1, "{report}");
    assert_eq!(
        report["notFound"],
        serde_json::json!(["unknown"]),
        "{report}"
    );
    assert_eq!(report["errors"][0]["line"], 3, "{report}");
    let library = reader.get("/library").await.body;
    for (id, _) in [a, b, c, d] {
        assert!(
            library.contains(&format!("href=\"/papers/{id}\"")),
            "{id} saved by the import"
        );
    }
    let bib = reader.get("/library.bib").await.body;
    assert_eq!(bib.matches("@misc{").count(), 4, "{bib}");

    // Save and unsave through the API; too large a file is a 413.
    let put = reqwest::Method::PUT;
    let path = format!("/api/library/{}", papers[4].0);
    let (status, state) = with_token(&server, put, &path, Some(&writer), "").await;
    assert_eq!((status, state["saved"].as_bool()), (200, Some(true)));
    let (status, state) =
        with_token(&server, reqwest::Method::DELETE, &path, Some(&writer), "").await;
    assert_eq!((status, state["saved"].as_bool()), (200, Some(false)));
    let huge = "%".repeat(6 << 20);
    let (status, _) = with_token(
        &server,
        post.clone(),
        "/api/library/import",
        Some(&writer),
        &huge,
    )
    .await;
    assert_eq!(status, 413);

    // An import into a collection too, in the file's order; someone else's collection is refused.
    let (status, made) = with_token(
        &server,
        post.clone(),
        "/api/collections",
        Some(&writer),
        &serde_json::json!({ "title": "Imported", "namespace": "reader" }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let slug = made["slug"].as_str().unwrap().to_owned();
    let two = format!(
        "@misc{{x, eprint={{{c}}}, archivePrefix={{arXiv}}}}\n@misc{{y, eprint={{{b}}}, archivePrefix={{arXiv}}}}\n",
        c = c.0,
        b = b.0
    );
    let path = format!("/api/library/import?collection={slug}");
    let (status, report) = with_token(&server, post.clone(), &path, Some(&writer), &two).await;
    assert_eq!(
        (status, report["matched"].as_i64()),
        (200, Some(2)),
        "{report}"
    );
    let (_, got) = with_token(
        &server,
        get.clone(),
        &format!("/api/collections/{slug}"),
        Some(&writer),
        "",
    )
    .await;
    let in_order: Vec<&str> = got["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(in_order, [c.0.as_str(), b.0.as_str()]);
    let (status, _) = with_token(
        &server,
        post.clone(),
        "/api/library/import?collection=someone/else",
        Some(&writer),
        &two,
    )
    .await;
    assert_eq!(status, 404);

    // A page of search results as BibTeX.
    let word =
        a.1.split_whitespace()
            .max_by_key(|w| w.len())
            .unwrap()
            .to_owned();
    let found = reader
        .get(&format!("/search.bib?q={word}&mode=keyword"))
        .await;
    assert_eq!(found.status, 200);
    assert!(
        found.body.contains(&format!("eprint = {{{}}}", a.0)),
        "{}",
        found.body
    );

    // The account page lists the tokens and when they were used; revoking ends one.
    let account = reader.get("/account").await.body;
    assert!(
        account.contains("<td>tests</td><td>write</td>"),
        "{account}"
    );
    let (code, _, err) = token(&server, &["revoke", &writer]).await;
    assert_eq!(code, 0, "{err}");
    let (status, _) = with_token(&server, get, "/api/library", Some(&writer), "").await;
    assert_eq!(status, 401);
    server.stop().await;
}

#[tokio::test]
async fn a_reader_takes_their_data_and_deletes_their_account() {
    let server = Process::start(&[]).await;
    let _admin = Visitor::signed_in(&server, "admin@example.org").await;
    let reader = Visitor::signed_in(&server, "leaving@example.org").await;
    let items = reader.get("/api/daily_papers?limit=1").await.json();
    let id = items[0]["paper"]["id"].as_str().unwrap().to_owned();
    let upvotes = |v: &Visitor| {
        let (v, id) = (v.clone(), id.clone());
        async move {
            v.get(&format!("/api/papers/{id}")).await.json()["upvotes"]
                .as_i64()
                .unwrap()
        }
    };
    let before = upvotes(&reader).await;
    assert_eq!(
        reader
            .post(&format!("/papers/{id}/vote"), &[("up", "1")])
            .await
            .status,
        303
    );
    assert_eq!(
        reader.post(&format!("/papers/{id}/save"), &[]).await.status,
        303
    );
    reader
        .comment(&id, "A comment that outlives its account")
        .await;
    let r = reader
        .post("/collections", &[("title", "Mine"), ("paper", &id)])
        .await;
    assert_eq!(r.status, 303);
    let collection = r.location().to_owned();
    reader
        .post("/follows", &[("kind", "category"), ("name", "cs.CL")])
        .await;
    assert_eq!(upvotes(&reader).await, before + 1);

    let export = reader.get("/account/export.json").await;
    assert_eq!(export.status, 200);
    let data = export.json();
    assert_eq!(data["account"]["email"], "leaving@example.org");
    assert_eq!(data["votes"][0]["paper"], id.as_str());
    assert_eq!(data["saves"][0]["paper"], id.as_str());
    assert_eq!(
        data["comments"][0]["body"],
        "A comment that outlives its account"
    );
    assert_eq!(data["collections"][0]["items"][0]["paper"], id.as_str());
    assert_eq!(data["follows"][0]["name"], "cs.CL");
    let stranger = Visitor::arrived(&server.base).await;
    assert_eq!(stranger.get("/account/export.json").await.status, 401);

    assert_eq!(
        reader
            .post("/account/delete", &[("confirm", "nope")])
            .await
            .status,
        400
    );
    let username = data["account"]["username"].as_str().unwrap();
    let r = reader
        .post("/account/delete", &[("confirm", username)])
        .await;
    assert_eq!((r.status, r.location()), (303, "/"));
    assert_eq!(reader.get("/account").await.status, 401, "signed out");
    assert_eq!(
        upvotes(&stranger).await,
        before,
        "the vote is off the count"
    );
    let page = stranger.get(&format!("/papers/{id}")).await.body;
    assert!(
        page.contains("A comment that outlives its account") && page.contains("deleted account")
    );
    assert_eq!(stranger.get(&collection).await.status, 404);
    server.stop().await;
}
