//! The one error type of pages and the API, and the table of its codes: each code has its HTTP
//! status and what it means, and `/openapi.json` lists each operation's errors from this table.
//! An error stays data until its response leaves the server: JSON `{message, code, error}`
//! (`error` repeats the message for hf.co clients) under `/api/`, a page elsewhere (`face`).

use axum::http::StatusCode;
use axum::http::StatusCode as S;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A way a request can fail, as clients see it: a row of the table below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The stable name clients match on.
    pub name: &'static str,
    pub status: StatusCode,
    /// What it means, as the API's description says.
    pub meaning: &'static str,
}

const fn code(name: &'static str, status: StatusCode, meaning: &'static str) -> Code {
    Code {
        name,
        status,
        meaning,
    }
}

// One row a line, as a table reads.
#[rustfmt::skip]
impl Code {
    pub const INVALID_PARAMETER: Code = code("invalid_parameter", S::BAD_REQUEST, "A parameter the document does not allow; the message names it");
    pub const QUERY_TOO_LONG: Code = code("query_too_long", S::BAD_REQUEST, "The query is longer than search takes");
    pub const SIGN_IN_REQUIRED: Code = code("sign_in_required", S::UNAUTHORIZED, "Only a signed-in reader may do this");
    pub const FORBIDDEN: Code = code("forbidden", S::FORBIDDEN, "Only an administrator (or the author) may do this");
    pub const BLOCKED: Code = code("blocked", S::FORBIDDEN, "The account is blocked");
    pub const CSRF: Code = code("csrf", S::FORBIDDEN, "The form did not carry the visitor's CSRF token");
    pub const NOT_EDITABLE: Code = code("not_editable", S::FORBIDDEN, "Only its author may edit a comment, and only for a while after writing it");
    pub const BAD_LINK: Code = code("bad_link", S::FORBIDDEN, "A subscription link this server did not sign");
    pub const NOT_FOUND: Code = code("not_found", S::NOT_FOUND, "Nothing of that name here: no such paper, page, feed or week");
    pub const METHOD_NOT_ALLOWED: Code = code("method_not_allowed", S::METHOD_NOT_ALLOWED, "The address does not take that method");
    pub const CONFLICT: Code = code("conflict", S::CONFLICT, "The change conflicts with what is stored (a name taken)");
    pub const UNSUBSCRIBED: Code = code("unsubscribed", S::GONE, "The subscription was ended");
    pub const TOO_LARGE: Code = code("too_large", S::PAYLOAD_TOO_LARGE, "The request's body is larger than the route takes");
    pub const RATE_LIMITED: Code = code("rate_limited", S::TOO_MANY_REQUESTS, "Too many requests of this kind for now; Retry-After says when to try again");
    pub const NO_PAPER_SOURCE: Code = code("no_source", S::SERVICE_UNAVAILABLE, "This server cannot fetch papers from arXiv");
    pub const INTERNAL: Code = code("internal", S::INTERNAL_SERVER_ERROR, "Something failed inside the server; its log has the details");

    /// The whole table.
    pub const ALL: [Code; 16] = [
        Code::INVALID_PARAMETER, Code::QUERY_TOO_LONG, Code::SIGN_IN_REQUIRED, Code::FORBIDDEN,
        Code::BLOCKED, Code::CSRF, Code::NOT_EDITABLE, Code::BAD_LINK, Code::NOT_FOUND,
        Code::METHOD_NOT_ALLOWED, Code::CONFLICT, Code::UNSUBSCRIBED, Code::TOO_LARGE, Code::RATE_LIMITED,
        Code::NO_PAPER_SOURCE, Code::INTERNAL,
    ];
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    /// Seconds, sent as `Retry-After` (rate limits).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.code.status
    }

    pub fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(Code::INVALID_PARAMETER, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(Code::NOT_FOUND, message)
    }

    pub fn internal(err: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %err, "internal error");
        ApiError::new(
            Code::INTERNAL,
            "internal error; the server log has the details",
        )
    }
}

impl From<paperboy_store::StoreError> for ApiError {
    fn from(e: paperboy_store::StoreError) -> Self {
        match e {
            paperboy_store::StoreError::Conflict(m) => ApiError::new(Code::CONFLICT, m),
            other => ApiError::internal(other),
        }
    }
}

impl From<paperboy_search::SearchError> for ApiError {
    fn from(e: paperboy_search::SearchError) -> Self {
        match e {
            paperboy_search::SearchError::QueryTooLong(_) => {
                ApiError::new(Code::QUERY_TOO_LONG, e.to_string())
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<paperboy_core::PeriodError> for ApiError {
    fn from(e: paperboy_core::PeriodError) -> Self {
        ApiError::invalid(e.to_string())
    }
}

/// As JSON, with the error itself kept in the response's extensions so that `face` can show it
/// as a page instead where the request came from a browser.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message, "code": self.code.name, "error": self.message });
        let mut r = (self.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        r.extensions_mut().insert(self);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_name_and_an_error_status() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len(), "names are unique");
        for c in Code::ALL {
            assert!(
                c.status.is_client_error() || c.status.is_server_error(),
                "{c:?}"
            );
            assert!(
                c.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{c:?}"
            );
        }
        let r = ApiError::new(Code::RATE_LIMITED, "slow down")
            .retry_after(7)
            .into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "7");
        let kept = r
            .extensions()
            .get::<ApiError>()
            .expect("the error rides along");
        assert_eq!(
            (kept.code, kept.message.as_str()),
            (Code::RATE_LIMITED, "slow down")
        );
    }
}
