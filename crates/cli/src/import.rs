//! Import: a parser thread streams records into batches, the store merges each batch in one
//! transaction, and the search index follows (an empty one, beside the import: see the
//! `paperboy import` command) or catches up at the end. Malformed records are reported and
//! skipped; they never stop an import.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use paperboy_core::{DailyEntry, Paper};
use paperboy_ingest::{Record, RecordError, RejectReason, Sink};
use paperboy_store::{Change, Store};
use tokio::sync::mpsc;

const BATCH: usize = 2_000;
/// Rejections printed one by one before they are only counted.
const SHOWN_REJECTIONS: u64 = 20;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub read: u64,
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: BTreeMap<RejectReason, u64>,
}

impl Summary {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    fn add(&mut self, changes: &[Change]) {
        for c in changes {
            match c {
                Change::New => self.new += 1,
                Change::Updated => self.updated += 1,
                Change::Unchanged => self.unchanged += 1,
            }
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "read {}, new {}, updated {}, unchanged {}, rejected {}",
            self.read,
            self.new,
            self.updated,
            self.unchanged,
            self.rejected_total()
        )?;
        if !self.rejected.is_empty() {
            let parts: Vec<String> = self
                .rejected
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

pub enum Source {
    File(PathBuf),
    Bytes { name: String, data: &'static [u8] },
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Bytes { name, .. } => name.clone(),
        }
    }

    fn size(&self) -> u64 {
        match self {
            Source::File(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            Source::Bytes { data, .. } => data.len() as u64,
        }
    }
}

enum Msg {
    Batch(Vec<(Paper, Option<DailyEntry>)>),
    Rejected(RecordError),
    Progress(u64),
}

struct ChannelSink {
    tx: mpsc::Sender<Msg>,
    batch: Vec<(Paper, Option<DailyEntry>)>,
}

impl ChannelSink {
    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            let _ = self.tx.blocking_send(Msg::Batch(batch));
        }
    }
}

impl Sink for ChannelSink {
    fn record(&mut self, item: Result<Record, RecordError>) {
        match item {
            Ok(r) => {
                self.batch.push(r.into_parts());
                if self.batch.len() >= BATCH {
                    self.flush();
                }
            }
            Err(e) => {
                let _ = self.tx.blocking_send(Msg::Rejected(e));
            }
        }
    }

    fn progress(&mut self, bytes_read: u64) {
        let _ = self.tx.blocking_send(Msg::Progress(bytes_read));
    }
}

/// Imports one source into the store. Whole-file failures are errors; bad records are counted.
pub async fn import(
    store: &Arc<dyn Store>,
    source: Source,
    show_progress: bool,
) -> anyhow::Result<Summary> {
    import_notifying(store, source, show_progress, None).await
}

/// [`import`], telling `batches` (with `false`: not ended) after each batch the store has taken,
/// for a search index built beside it (`SearchIndex::follow_fresh`).
pub async fn import_notifying(
    store: &Arc<dyn Store>,
    source: Source,
    show_progress: bool,
    batches: Option<&tokio::sync::watch::Sender<bool>>,
) -> anyhow::Result<Summary> {
    let name = source.name();
    let bar = if show_progress {
        ProgressBar::new(source.size())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {prefix} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(short_name(&name));
    let (tx, mut rx) = mpsc::channel::<Msg>(8);
    let parser = std::thread::spawn(move || -> Result<(), paperboy_ingest::IngestError> {
        let mut sink = ChannelSink {
            tx,
            batch: Vec::with_capacity(BATCH),
        };
        let result = match &source {
            Source::File(path) => paperboy_ingest::read_path(path, &mut sink),
            Source::Bytes { name, data } => paperboy_ingest::read_bytes(name, data, &mut sink),
        };
        sink.flush();
        result
    });
    let mut summary = Summary::default();
    let started = std::time::Instant::now();
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Batch(batch) => {
                summary.read += batch.len() as u64;
                let changes = store.import(batch).await?;
                summary.add(&changes);
                if let Some(b) = batches {
                    b.send_replace(false);
                }
                let rate = summary.read as f64 / started.elapsed().as_secs_f64().max(1e-3);
                bar.set_prefix(format!("{} records, {rate:.0}/s", summary.read));
            }
            Msg::Rejected(e) => {
                summary.read += 1;
                let n = summary.rejected.entry(e.reason).or_default();
                *n += 1;
                if summary.rejected_total() <= SHOWN_REJECTIONS {
                    bar.suspend(|| {
                        eprintln!(
                            "{name}: {}: skipped: {} ({})",
                            e.location, e.detail, e.reason
                        )
                    });
                }
            }
            Msg::Progress(bytes) => bar.set_position(bytes),
        }
    }
    bar.finish_and_clear();
    parser
        .join()
        .map_err(|_| anyhow::anyhow!("{name}: the parser thread panicked"))??;
    Ok(summary)
}

fn short_name(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    if base.chars().count() > 24 {
        format!(
            "…{}",
            base.chars()
                .rev()
                .take(23)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<String>()
        )
    } else {
        base.to_string()
    }
}
