//! The arXiv API client for one paper by id (`/api/query?id_list=`), used by submissions. The
//! answer is an Atom feed parsed by [`crate::atom`]; the paper asked for is picked out of it, so a
//! feed with more (or other) entries never puts the wrong paper in.

use std::time::Duration;

use paperboy_core::{ArxivId, Paper};

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

#[derive(Clone)]
pub struct ArxivApi {
    client: reqwest::Client,
    base: String,
}

/// Makes rustls use the ring provider (once per process; later calls do nothing).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl ArxivApi {
    pub fn new(base: &str, timeout: Duration) -> Result<ArxivApi, FetchError> {
        install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("paperboy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        Ok(ArxivApi {
            client,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// The paper with this id, as arXiv describes it now.
    pub async fn fetch(&self, id: &ArxivId) -> Result<Paper, FetchError> {
        let response = self
            .client
            .get(&self.base)
            .query(&[("id_list", id.as_str()), ("max_results", "1")])
            .send()
            .await
            .map_err(|e| FetchError::Unreachable(without_url(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let body = response
            .text()
            .await
            .map_err(|e| FetchError::Unreachable(without_url(&e)))?;
        crate::atom::parse_feed(&body)
            .into_iter()
            .filter_map(Result::ok)
            .find(|p| &p.id == id)
            .ok_or_else(|| FetchError::NotFound(id.clone()))
    }
}

/// The error and its causes, one line ("error sending request: connection refused").
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let api = ArxivApi::new(&replay(xml, 200).await, Duration::from_secs(5)).unwrap();
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
        let api = ArxivApi::new(&replay("busy", 503).await, Duration::from_secs(5)).unwrap();
        let id = ArxivId::parse("2501.00001").unwrap();
        assert!(matches!(api.fetch(&id).await, Err(FetchError::Status(503))));
        // Nothing listens on port 9 here.
        let api = ArxivApi::new("http://127.0.0.1:9/api/query", Duration::from_secs(5)).unwrap();
        let err = api.fetch(&id).await.unwrap_err();
        assert!(matches!(err, FetchError::Unreachable(_)), "{err}");
    }
}
