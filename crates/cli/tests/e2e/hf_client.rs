//! The official `huggingface_hub` Python client reads paperboy as it reads hf.co:
//! `tests/hf_client/check_client.py` runs `list_daily_papers`, `paper_info` and `list_papers`
//! against the server and compares the answers with expectations taken from the flattened archive.

use std::process::Stdio;

use serde_json::json;

use crate::common::*;

/// The Python that has `huggingface_hub`, or why there is none.
async fn python_with_hub() -> Result<String, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = tokio::process::Command::new(&python)
        .args([
            "-c",
            "import huggingface_hub, sys; print(huggingface_hub.__version__)",
        ])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if out.status.success() {
        eprintln!(
            "hf client: huggingface_hub {}",
            String::from_utf8_lossy(&out.stdout).trim()
        );
        Ok(python)
    } else {
        Err(format!(
            "`import huggingface_hub` fails in {python}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs `tests/hf_client/SCRIPT ARGS` with `python`, against a local server only (no proxy, no
/// endpoint or token of the environment): the exit status, stdout and stderr.
async fn check_script(
    python: &str,
    script: &str,
    args: &[&str],
) -> (std::process::Output, String, String) {
    let out = tokio::process::Command::new(python)
        .arg(repo_root().join("tests/hf_client").join(script))
        .args(args)
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env_remove("HF_ENDPOINT")
        .env_remove("HF_TOKEN")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_huggingface_hub_client_reads_the_server() {
    let python = match python_with_hub().await {
        Ok(p) => p,
        Err(why) => return skip(&why),
    };
    let (Some(raw), Some(flat)) = (shared_data(HF_RAW_ARCHIVE), shared_data(HF_FLAT)) else {
        return;
    };
    let lines = read_flat(&flat);
    let days = days_of(&lines);
    let singles = single_day_papers(&lines);

    let (dir, settings) = temp_settings(false);
    let summary = import_file(&settings, &raw).await;
    assert_eq!(summary.rejected_total(), 0, "{summary}");
    let server = Server::start(settings).await.owning(dir);

    // Days of each raw shape: plain objects, Python-repr strings (2024-12-11), the wrapped file
    // (2025-01-10), the biggest day (50 items: the default limit) and the last day.
    let biggest = days
        .iter()
        .max_by_key(|(d, ids)| (ids.len(), std::cmp::Reverse(d.as_str())))
        .map(|(d, _)| d.clone())
        .expect("days");
    assert_eq!(days[&biggest].len(), 50, "the biggest recorded day");
    let mut daily = serde_json::Map::new();
    for day in [
        "2024-05-27",
        "2024-12-11",
        "2025-01-10",
        biggest.as_str(),
        "2026-08-21",
    ] {
        daily.insert(day.to_owned(), json!(days[day]));
    }
    let mut papers = serde_json::Map::new();
    let mut search = Vec::new();
    for day in ["2024-06-03", "2025-06-02", "2026-03-02"] {
        let l = days[day]
            .iter()
            .find_map(|id| singles.get(id))
            .expect("a paper on one day only");
        papers.insert(l.id.clone(), json!(l.title));
        // The whole title as the query: BM25 puts the paper in the first page.
        search.push(json!({"query": squash(&l.title), "expect_id": l.id, "limit": 10}));
    }
    // An id as the query goes straight to that paper.
    let last = &days["2026-08-21"][0];
    search.push(json!({"query": last, "expect_id": last}));
    let expectations = json!({
        "daily": daily,
        "papers": papers,
        "search": search,
        "missing": ["9999.99999"],
    });
    let checks = daily.len() * 2 + papers.len() * 2 + search.len() + 1;
    let exp_file = tempfile::NamedTempFile::new().expect("expectations file");
    std::fs::write(exp_file.path(), expectations.to_string()).expect("write expectations");

    let started = std::time::Instant::now();
    let base = server.base.as_str();
    let expectations = exp_file.path().to_str().expect("a UTF-8 path");
    let (out, stdout, stderr) =
        check_script(&python, "check_client.py", &[base, expectations]).await;
    eprintln!("hf client: {:?}\n{stdout}", started.elapsed());
    let last_line = stdout.lines().last().unwrap_or_default();
    assert_eq!(
        last_line,
        format!("{checks} passed, 0 failed"),
        "check_client.py:\n{stdout}\n{stderr}"
    );
    assert!(
        out.status.success(),
        "check_client.py exited {:?}:\n{stdout}\n{stderr}",
        out.status
    );
    server.stop().await;
}

/// `huggingface_hub`'s collection functions and the `hf collections` command, with a paperboy
/// token, against the demo's papers.
#[tokio::test]
async fn official_huggingface_hub_client_keeps_collections() {
    let python = match python_with_hub().await {
        Ok(p) => p,
        Err(why) => return skip(&why),
    };
    let (dir, settings) = temp_settings(true);
    let server = Server::start(settings).await.owning(dir);
    let store = paperboy_cli::open_store(&server.settings, false).unwrap();
    let now = chrono::Utc::now();
    let reader = store.sign_in("reader@example.org", &[], now).await.unwrap();
    let secret = paperboy_web::handlers::library::new_token();
    let hash = paperboy_web::session::token_hash(&secret);
    let scope = paperboy_store::Scope::Write;
    store
        .create_token(reader.id, "hf", scope, &hash, now)
        .await
        .unwrap();
    let items: serde_json::Value = server
        .api
        .get("/api/daily_papers?limit=2")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["paper"]["id"].as_str().unwrap())
        .collect();
    let args = [
        server.base.as_str(),
        &secret,
        &reader.username,
        ids[0],
        ids[1],
    ];
    let (_, stdout, stderr) = check_script(&python, "check_collections.py", &args).await;
    assert_eq!(
        stdout.lines().last().unwrap_or_default(),
        "8 passed, 0 failed",
        "check_collections.py:\n{stdout}\n{stderr}"
    );
    server.stop().await;
}
