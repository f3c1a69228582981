//! `/openapi.json` is the truth: schemathesis (from pip) reads it from the running server and
//! sends every documented operation requests the document calls valid and requests it calls
//! invalid, with every check it has (no 5xx; valid data answered, invalid data refused with a
//! 4xx; statuses, content types, headers and bodies as documented; 405 for other methods). A
//! bounded number of examples per operation and a fixed seed keep it short and repeatable.

use std::process::Stdio;

use crate::common::*;

/// Examples per operation in the fuzzing phase (the coverage phase adds its boundary cases).
const EXAMPLES: &str = "40";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_to_its_openapi_document() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let found = tokio::process::Command::new(&python)
        .args(["-c", "import schemathesis"])
        .stdin(Stdio::null())
        .output()
        .await
        .is_ok_and(|o| o.status.success());
    if !found {
        return skip("python schemathesis is unavailable (pip install schemathesis)");
    }
    let (dir, settings) = temp_settings(true);
    let server = Server::start(settings).await.owning(dir);
    // A reader with a write token, so that the library's operations are tried past the 401.
    let store = paperboy_cli::open_store(&server.settings, false).unwrap();
    let now = chrono::Utc::now();
    let reader = store.sign_in("fuzz@example.org", &[], now).await.unwrap();
    let secret = paperboy_web::handlers::library::new_token();
    let hash = paperboy_web::session::token_hash(&secret);
    let scope = paperboy_store::Scope::Write;
    store
        .create_token(reader.id, "schemathesis", scope, &hash, now)
        .await
        .unwrap();
    let auth = format!("Authorization: Bearer {secret}");
    let config = repo_root().join("crates/cli/tests/e2e/schemathesis.toml");
    let report_dir = tempfile::tempdir().unwrap();
    let report_path = report_dir.path().join("report.json");
    let out = tokio::process::Command::new(&python)
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(&config)
        .args(["run", &server.url("/openapi.json"), "--url", &server.base])
        .args([
            "--checks",
            "all",
            "--max-examples",
            EXAMPLES,
            "--seed",
            "20261202",
        ])
        .args([
            "--generation-database",
            "none",
            // One worker: Python 3.11's parser is not thread-safe (gh-106905, "AST constructor
            // recursion depth mismatch"), and hypothesis parses lambdas on each worker.
            "--workers",
            "1",
            "--no-color",
        ])
        .args(["--generation-allow-x00", "true", "--request-timeout", "30"])
        .args(["-H", &auth])
        .args(["--report", "json", "--report-json-path"])
        .arg(&report_path)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found the API and its document apart:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It tested every operation (a document it could not read would test none and pass).
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).expect("the JSON report"))
            .expect("the report is JSON");
    let ops = &summary["operations"];
    assert!(
        ops["total"].as_u64().unwrap_or(0) >= 14 && ops["tested"] == ops["total"],
        "not every operation was tested: {ops}\n{report}"
    );
    assert!(
        summary["test_cases"]["generated"].as_u64().unwrap_or(0) > 500,
        "{summary}"
    );

    // Nothing it sent was a server error.
    let (_, _, metrics) = server.text("/metrics").await;
    let errors: Vec<&str> = metrics
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains("status=\"5"))
        .collect();
    assert!(errors.is_empty(), "server errors: {errors:?}");
    server.stop().await;
}
