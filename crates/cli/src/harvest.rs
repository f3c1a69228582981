//! Live sync: runs the harvesters of `paperboy_ingest::harvest` against the store. A pass of a
//! source fetches page after page; each page's records and the state to resume after them go to
//! the store in one transaction ([`Store::import_harvested`]), so a pass killed at any moment
//! resumes at the page it was on. `paperboy harvest` runs one pass; `paperboy serve` runs them on a
//! schedule. One process at a time harvests a source (a store lock per source).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use paperboy_ingest::client::{Client, HarvestError, Politeness};
use paperboy_ingest::harvest::{HfHarvester, HfState, OaiHarvester, OaiState, Step};
use paperboy_store::{Change, Store};

use crate::settings::Settings;

/// A source's name in the store, logs and `/api/status`.
pub const ARXIV: &str = "arxiv-oai";
pub const HF: &str = "hf-daily";

enum Harvester {
    Arxiv(OaiHarvester),
    Hf(HfHarvester),
}

/// The configured sources, and the arXiv client that `paperboy fetch` and submissions share with
/// the OAI harvester (one pacing for all requests to arXiv).
pub struct Sources {
    sources: Vec<(&'static str, Harvester)>,
    arxiv: Client,
    arxiv_api_url: String,
    first_days: u32,
}

/// What one pass of one source did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassSummary {
    pub pages: u64,
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl std::fmt::Display for PassSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} pages, new {}, updated {}, unchanged {}, rejected {}",
            self.pages, self.new, self.updated, self.unchanged, self.rejected
        )
    }
}

/// The contact in the User-Agent: the setting, else `mail_from`'s address.
fn contact(settings: &Settings) -> String {
    if !settings.sync_contact.trim().is_empty() {
        return settings.sync_contact.trim().to_owned();
    }
    let from = settings.mail_from.trim();
    match (from.rfind('<'), from.rfind('>')) {
        (Some(a), Some(b)) if a < b => format!("mailto:{}", &from[a + 1..b]),
        _ => format!("mailto:{from}"),
    }
}

fn politeness(settings: &Settings, interval_ms: u64) -> Politeness {
    Politeness {
        interval: Duration::from_millis(interval_ms),
        retries: settings.sync_retries,
        retry_base: Duration::from_millis(settings.sync_retry_ms),
        max_wait: Duration::from_secs(600),
        timeout: Duration::from_secs(120),
        user_agent: Politeness::user_agent(&contact(settings)),
    }
}

impl Sources {
    /// The sources named in `sync_sources`, or only `only` when given.
    pub fn new(settings: &Settings, only: &[String]) -> anyhow::Result<Sources> {
        let arxiv = Client::new("arxiv", politeness(settings, settings.arxiv_interval_ms))?;
        let wanted = if only.is_empty() {
            &settings.sync_sources
        } else {
            only
        };
        let mut sources = Vec::new();
        for name in wanted {
            match name.trim() {
                "arxiv" | ARXIV => sources.push((
                    ARXIV,
                    Harvester::Arxiv(OaiHarvester::new(
                        arxiv.clone(),
                        &settings.oai_url,
                        settings.oai_sets.clone(),
                    )),
                )),
                "hf" | HF => sources.push((
                    HF,
                    Harvester::Hf(HfHarvester::new(
                        Client::new("hf", politeness(settings, settings.hf_interval_ms))?,
                        &settings.hf_api_url,
                        settings.hf_refresh_days,
                    )),
                )),
                other => {
                    anyhow::bail!("unknown sync source {other:?}: the sources are arxiv and hf")
                }
            }
        }
        Ok(Sources {
            sources,
            arxiv,
            arxiv_api_url: settings.arxiv_api_url.clone(),
            first_days: settings.sync_first_days,
        })
    }

    /// One paper by id from the arXiv API, paced with the OAI harvester's requests.
    pub fn arxiv_api(&self) -> paperboy_ingest::arxiv_api::ArxivApi {
        paperboy_ingest::arxiv_api::ArxivApi::new(&self.arxiv_api_url, self.arxiv.clone())
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.sources.iter().map(|(n, _)| *n).collect()
    }

    /// One pass of every source, one after another; a failing source does not stop the others.
    /// Returns each source's outcome; `None` when another process holds the source.
    pub async fn pass_all(
        &self,
        store: &Arc<dyn Store>,
    ) -> Vec<(&'static str, anyhow::Result<Option<PassSummary>>)> {
        let mut out = Vec::new();
        for (name, harvester) in &self.sources {
            out.push((*name, self.pass(store, name, harvester).await));
        }
        out
    }

    async fn pass(
        &self,
        store: &Arc<dyn Store>,
        name: &'static str,
        harvester: &Harvester,
    ) -> anyhow::Result<Option<PassSummary>> {
        let Some(_lock) = store.try_lock(&format!("harvest-{name}")).await? else {
            tracing::info!(
                source = name,
                "another paperboy process is harvesting this source"
            );
            return Ok(None);
        };
        store.harvest_started(name, Utc::now()).await?;
        let stored = store
            .harvest_status(name)
            .await?
            .map(|s| s.state)
            .unwrap_or_default();
        let today = Utc::now().date_naive();
        let first = today - chrono::Days::new(u64::from(self.first_days));
        let outcome = match harvester {
            Harvester::Arxiv(h) => {
                let state = h.begin(parse_state::<OaiState>(name, &stored)?, first);
                run(store, name, state, |s| async move { h.step(&s).await }).await
            }
            Harvester::Hf(h) => {
                let state = h.begin(parse_state::<HfState>(name, &stored)?, first, today);
                run(
                    store,
                    name,
                    state,
                    |s| async move { h.step(&s, today).await },
                )
                .await
            }
        };
        let error = outcome.as_ref().err().map(|e| format!("{e:#}"));
        store
            .harvest_ended(name, error.as_deref(), Utc::now())
            .await?;
        match &outcome {
            Ok(s) => tracing::info!(source = name, summary = %s, "harvest pass done"),
            Err(e) => {
                tracing::warn!(source = name, error = %format!("{e:#}"), "harvest pass failed; the next resumes where it stopped")
            }
        }
        outcome.map(Some)
    }
}

fn parse_state<S: serde::de::DeserializeOwned + Default>(
    name: &str,
    stored: &str,
) -> anyhow::Result<S> {
    if stored.trim().is_empty() {
        return Ok(S::default());
    }
    serde_json::from_str(stored).with_context(|| format!("the stored {name} harvest state"))
}

/// Steps a harvester to the end of its pass, storing each page with the state after it.
async fn run<S, F, Fut>(
    store: &Arc<dyn Store>,
    name: &str,
    state: S,
    step: F,
) -> anyhow::Result<PassSummary>
where
    S: serde::Serialize,
    F: Fn(S) -> Fut,
    Fut: std::future::Future<Output = Result<Step<S>, HarvestError>>,
{
    let mut summary = PassSummary::default();
    let mut state = Some(state);
    while let Some(current) = state.take() {
        let page = step(current).await?;
        summary.pages += 1;
        let mut records = Vec::with_capacity(page.records.len());
        for r in page.records {
            match r {
                Ok(r) => records.push(r.into_parts()),
                Err(e) if e.reason == paperboy_ingest::RejectReason::Deleted => {
                    tracing::debug!(source = name, %e, "skipped a deleted record");
                }
                Err(e) => {
                    summary.rejected += 1;
                    tracing::warn!(source = name, %e, "skipped a malformed record");
                }
            }
        }
        let json = serde_json::to_string(&page.state).expect("harvest state is JSON");
        for change in store.import_harvested(name, records, &json).await? {
            match change {
                Change::New => summary.new += 1,
                Change::Updated => summary.updated += 1,
                Change::Unchanged => summary.unchanged += 1,
            }
        }
        if !page.done {
            state = Some(page.state);
        }
    }
    Ok(summary)
}

/// Runs a pass of every source now and then every `every`, until the task is dropped. The
/// server's index follows the store on its own, so new papers reach pages and search.
pub async fn schedule(store: Arc<dyn Store>, sources: Sources, every: Duration) {
    tracing::info!(
        sources = ?sources.names(),
        every_minutes = every.as_secs() / 60,
        "live sync on"
    );
    loop {
        sources.pass_all(&store).await;
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contact_comes_from_the_setting_or_the_sender() {
        let mut s = Settings::default();
        assert_eq!(contact(&s), "mailto:paperboy@localhost");
        s.mail_from = "Lab papers <papers@lab.example>".into();
        assert_eq!(contact(&s), "mailto:papers@lab.example");
        s.sync_contact = "https://lab.example/papers".into();
        assert_eq!(contact(&s), "https://lab.example/papers");
    }

    #[test]
    fn unknown_sources_are_named() {
        let err = Sources::new(&Settings::default(), &["arxvi".into()])
            .err()
            .unwrap();
        assert!(err.to_string().contains("arxvi"), "{err}");
        let both = Sources::new(&Settings::default(), &[]).unwrap();
        assert_eq!(both.names(), [ARXIV, HF]);
    }
}
