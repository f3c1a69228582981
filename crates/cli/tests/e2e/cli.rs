//! The `paperboy` binary as a script uses it: exit codes, the import summary on stdout, backup and
//! search from the terminal.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn paperboy(cwd: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paperboy"));
    // A clean environment: no settings file in the working directory, no PAPERBOY_* variables.
    cmd.current_dir(cwd).args(args).stdin(Stdio::null());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PAPERBOY_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "warn");
    cmd.output().expect("run paperboy")
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_command_line_reports_through_exit_codes_and_stdout() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let cwd = dir.path();
    let data = cwd.join("data");
    let data = data.to_str().expect("UTF-8 path");

    let help = paperboy(cwd, &["--help"]);
    assert_eq!(help.status.code(), Some(0), "{}", show(&help));
    for word in ["Usage", "import", "serve", "backup", "search"] {
        assert!(
            stdout(&help).contains(word),
            "--help lacks {word}: {}",
            show(&help)
        );
    }

    let bad = paperboy(cwd, &["--frobnicate"]);
    assert_eq!(bad.status.code(), Some(2), "{}", show(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--frobnicate"),
        "{}",
        show(&bad)
    );
    let bad = paperboy(cwd, &["import"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "import without a file: {}",
        show(&bad)
    );

    // One malformed line among good ones: imported, reported, exit 3.
    let listings = cwd.join("listings.jsonl");
    std::fs::write(
        &listings,
        concat!(
            r#"{"id": "2501.00003", "listing_date": "2025-01-03", "title": "Quokka Routing for Sparse Mixtures of Experts", "authors": ["Ada Lovelace"], "categories": ["cs.LG"], "comment": null, "abstract": "We route tokens like quokkas."}"#,
            "\n",
            r#"{"id": "2501.00004", "listing_date": "2025-01-03", "title": "#,
            "\n",
            r#"{"id": "2501.00005", "listing_date": "2025-01-03", "title": "Another Paper", "authors": ["Grace Hopper"], "categories": ["cs.CL"], "comment": null, "abstract": "Nothing else."}"#,
            "\n",
        ),
    )
    .expect("write listings");
    let listings = listings.to_str().expect("UTF-8 path");
    let import = paperboy(cwd, &["--data-dir", data, "import", listings]);
    assert_eq!(import.status.code(), Some(3), "{}", show(&import));
    let out = stdout(&import);
    let summary = out
        .lines()
        .find(|l| l.starts_with(listings))
        .unwrap_or_else(|| panic!("no summary line for {listings}: {}", show(&import)));
    assert!(summary.contains("read 3"), "{summary}");
    assert!(summary.contains("new 2"), "{summary}");
    assert!(summary.contains("rejected 1"), "{summary}");
    assert!(
        summary.contains("malformed JSON: 1"),
        "the reason is not named: {summary}"
    );
    assert!(
        String::from_utf8_lossy(&import.stderr).contains("line 2"),
        "the rejected line is not located: {}",
        show(&import)
    );
    assert!(
        out.contains("search index: 2 papers indexed"),
        "{}",
        show(&import)
    );

    // A clean file imports with exit 0.
    let clean = cwd.join("clean.jsonl");
    std::fs::write(
        &clean,
        r#"{"id": "2501.00006", "listing_date": "2025-01-04", "title": "Clean Import", "authors": ["Alan Turing"], "categories": ["cs.AI"], "abstract": "Fine."}"#,
    )
    .expect("write clean file");
    let ok = paperboy(
        cwd,
        &["--data-dir", data, "import", clean.to_str().unwrap()],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", show(&ok));
    assert!(stdout(&ok).contains("rejected 0"), "{}", show(&ok));

    // Search from the terminal.
    let found = paperboy(cwd, &["--data-dir", data, "search", "quokka routing"]);
    assert_eq!(found.status.code(), Some(0), "{}", show(&found));
    let out = stdout(&found);
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.contains("2501.00003")
            && first.contains("Quokka Routing for Sparse Mixtures of Experts"),
        "{}",
        show(&found)
    );
    assert!(out.contains("1 of 1 matching papers"), "{}", show(&found));
    let none = paperboy(cwd, &["--data-dir", data, "search", "zyzzyvaqx"]);
    assert_eq!(
        none.status.code(),
        Some(1),
        "nothing found: {}",
        show(&none)
    );
    assert!(
        stdout(&none).contains("0 of 0 matching papers"),
        "{}",
        show(&none)
    );

    // Backup: a readable SQLite file with the papers in it.
    let backup = cwd.join("backup.sqlite3");
    let b = paperboy(
        cwd,
        &["--data-dir", data, "backup", backup.to_str().unwrap()],
    );
    assert_eq!(b.status.code(), Some(0), "{}", show(&b));
    assert!(stdout(&b).contains("backup.sqlite3"), "{}", show(&b));
    let db =
        rusqlite::Connection::open_with_flags(&backup, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the backup opens as SQLite");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(check, "ok");
    let papers: i64 = db
        .query_row("SELECT count(*) FROM papers", [], |r| r.get(0))
        .expect("count papers");
    assert_eq!(papers, 3, "papers in the backup");
    let title: String = db
        .query_row(
            "SELECT json_extract(doc, '$.title') FROM papers WHERE id = '2501.00003'",
            [],
            |r| r.get(0),
        )
        .expect("the paper is in the backup");
    assert_eq!(title, "Quokka Routing for Sparse Mixtures of Experts");

    // A backup of a database that does not exist is an error, not an empty file.
    let missing = paperboy(
        cwd,
        &[
            "--data-dir",
            cwd.join("nothing-here").to_str().unwrap(),
            "backup",
            "x.sqlite3",
        ],
    );
    assert_eq!(missing.status.code(), Some(1), "{}", show(&missing));
    assert!(!cwd.join("x.sqlite3").exists());
}
