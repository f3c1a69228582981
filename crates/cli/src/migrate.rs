//! `paperboy migrate`: every row of one database copied into another (SQLite to PostgreSQL and
//! back), with a progress bar, then each table's row count checked against what was read.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use paperboy_store::postgres::redact;

/// Copies `from` into `to` and returns the rows copied per table. A SQLite destination must not
/// exist yet (it is created); a PostgreSQL one must be empty. `ca_file` (`database_ca_file`)
/// checks the TLS of either end that is PostgreSQL and names no `sslrootcert` of its own.
pub async fn run(
    from: &str,
    to: &str,
    ca_file: Option<&Path>,
    show_progress: bool,
) -> anyhow::Result<paperboy_store::copy::Counts> {
    let options = |create| paperboy_store::OpenOptions {
        create,
        sqlite_mmap_bytes: 0,
        ca_file: ca_file.map(Path::to_path_buf),
    };
    let source = paperboy_store::open_with(from, &options(false))
        .with_context(|| format!("open the source database {}", redact(from)))?;
    if let Some(path) = paperboy_store::sqlite_path(to).filter(|p| p.exists()) {
        anyhow::bail!(
            "{} already exists: migrate copies into a new SQLite file",
            path.display()
        );
    }
    let dest = paperboy_store::open_with(to, &options(true))
        .with_context(|| format!("open the destination database {}", redact(to)))?;
    let bar = if show_progress && std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{spinner} {msg}, elapsed {elapsed}",
    )?);
    let counts = paperboy_store::copy::copy(&*source, &*dest, &|table, n| {
        bar.set_message(format!("{table}: {n} rows"));
        bar.tick();
    })
    .await
    .context("copy")?;
    bar.finish_and_clear();
    Ok(counts)
}
