//! How an answer looks to whoever asked: JSON under `/api/`, and from routes that answer a
//! script in JSON when it asks (votes); a page everywhere else. Handlers and extractors fail
//! with one error type ([`ApiError`]), sent as JSON; the layer here shows it as a page where a
//! browser is reading.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ApiError;
use crate::views::layout::error_page;

/// Whether the request asks for JSON (`Accept: application/json`), as the page's script does.
pub struct AsksForJson(pub bool);

fn asks_for_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

impl<S: Send + Sync> FromRequestParts<S> for AsksForJson {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(AsksForJson(asks_for_json(&parts.headers)))
    }
}

/// Marks a response whose error stays JSON.
#[derive(Debug, Clone, Copy)]
struct Json;

/// A route layer: this route answers JSON, errors included, to a request that asks for it.
pub async fn json_when_asked(req: Request, next: Next) -> Response {
    let json = asks_for_json(req.headers());
    let mut response = next.run(req).await;
    if json {
        response.extensions_mut().insert(Json);
    }
    response
}

/// Addresses of the JSON API.
pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The layer over every route: an error answered outside `/api/` becomes a page, unless its
/// route kept it JSON ([`json_when_asked`]).
pub async fn errors_as_pages(req: Request, next: Next) -> Response {
    let api = is_api(req.uri().path());
    let response = next.run(req).await;
    if api || response.extensions().get::<Json>().is_some() {
        return response;
    }
    match response.extensions().get::<ApiError>() {
        Some(e) => error_page(e),
        None => response,
    }
}
