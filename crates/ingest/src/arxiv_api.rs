//! The arXiv API client for one paper by id (`/api/query?id_list=`), used by submissions. The
//! answer is an Atom feed parsed by [`crate::atom`]; the paper asked for is picked out of it, so a
//! feed with more (or other) entries never puts the wrong paper in.

use paperboy_core::{ArxivId, Paper};

use crate::client::{Client, HarvestError};

/// arXiv's API endpoint; a setting overrides it (tests point it at a local replay server).
pub const DEFAULT_BASE: &str = "https://export.arxiv.org/api/query";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("arXiv could not be reached ({0})")]
    Unreachable(String),
    #[error("arXiv answered with HTTP status {0}")]
    Status(u16),
    #[error("arXiv has no paper {0}")]
    NotFound(ArxivId),
}

/// Fetches papers by id through a polite [`Client`]; give it a clone of the OAI harvester's
/// client and the two share arXiv's one-request-per-interval pacing.
#[derive(Clone)]
pub struct ArxivApi {
    client: Client,
    base: String,
}

impl ArxivApi {
    pub fn new(base: &str, client: Client) -> ArxivApi {
        ArxivApi {
            client,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The paper with this id, as arXiv describes it now.
    pub async fn fetch(&self, id: &ArxivId) -> Result<Paper, FetchError> {
        let query = [("id_list", id.as_str()), ("max_results", "1")];
        let papers = self
            .client
            .get(&self.base, &query, |body| {
                // An Atom feed, even an empty one, has a <feed>; anything else is a bad page.
                if !body.contains("<feed") {
                    return Err("not an Atom feed".to_string());
                }
                Ok(crate::atom::parse_feed(body))
            })
            .await
            .map_err(|e| match e {
                HarvestError::Status { status, .. } => FetchError::Status(status),
                other => FetchError::Unreachable(other.to_string()),
            })?;
        papers
            .into_iter()
            .filter_map(Result::ok)
            .find(|p| &p.id == id)
            .ok_or_else(|| FetchError::NotFound(id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Politeness;
    use std::time::Duration;

    fn api_at(base: &str) -> ArxivApi {
        let politeness = Politeness {
            interval: Duration::ZERO,
            retries: 1,
            retry_base: Duration::from_millis(10),
            ..Politeness::default()
        };
        ArxivApi::new(base, Client::new("arxiv", politeness).unwrap())
    }

    async fn replay(body: &'static str, status: u16) -> String {
        use axum::http::StatusCode;
        let app = axum::Router::new().route(
            "/api/query",
            axum::routing::get(
                move || async move { (StatusCode::from_u16(status).unwrap(), body) },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/api/query")
    }

    fn fixture() -> Option<&'static str> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/fixtures/atom_api_query_all_science_2019-08-10.xml"
        );
        std::fs::read_to_string(path)
            .ok()
            .map(|s| &*Box::leak(s.into_boxed_str()))
    }

    #[tokio::test]
    async fn picks_the_paper_asked_for_from_a_real_response() {
        let Some(xml) = fixture() else {
            eprintln!("skipped: the shared Atom fixture is absent");
            return;
        };
        let papers: Vec<Paper> = crate::atom::parse_feed(xml)
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        let wanted = papers[3].clone();
        let api = api_at(&replay(xml, 200).await);
        let got = api.fetch(&wanted.id).await.unwrap();
        assert_eq!(got.id, wanted.id);
        assert_eq!(got.title, wanted.title);
        let missing = ArxivId::parse("2501.99999").unwrap();
        assert!(matches!(
            api.fetch(&missing).await,
            Err(FetchError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn errors_say_what_went_wrong() {
        let api = api_at(&replay("gone", 410).await);
        let id = ArxivId::parse("2501.00001").unwrap();
        assert!(matches!(api.fetch(&id).await, Err(FetchError::Status(410))));
        let busy = api_at(&replay("busy", 503).await);
        let err = busy.fetch(&id).await.unwrap_err();
        assert!(err.to_string().contains("HTTP status 503"), "{err}");
        // Nothing listens on port 9 here.
        let api = api_at("http://127.0.0.1:9/api/query");
        let err = api.fetch(&id).await.unwrap_err();
        assert!(matches!(err, FetchError::Unreachable(_)), "{err}");
    }
}
