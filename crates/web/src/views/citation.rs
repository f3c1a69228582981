//! Papers as a citation file to download: BibTeX or RIS (a paper, a collection, the library, a
//! page of search results).

use axum::http::header;
use axum::response::{IntoResponse, Response};

pub fn bibtex_response(body: String, name: &str) -> Response {
    download(body, "application/x-bibtex; charset=utf-8", name)
}

pub fn ris_response(body: String, name: &str) -> Response {
    download(
        body,
        "application/x-research-info-systems; charset=utf-8",
        name,
    )
}

fn download(body: String, content_type: &'static str, name: &str) -> Response {
    let disposition = format!("inline; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}
