//! The one error type of the HTTP API: every failure has a status, a stable code and a message,
//! and is sent as JSON `{message, code, error}` (`error` repeats the message for hf.co clients).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, sent as `Retry-After` (rate limits).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::bad_request("invalid_parameter", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(err: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %err, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the server log has the details",
        )
    }
}

impl From<paperboy_store::StoreError> for ApiError {
    fn from(e: paperboy_store::StoreError) -> Self {
        match e {
            paperboy_store::StoreError::Conflict(m) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", m)
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<paperboy_search::SearchError> for ApiError {
    fn from(e: paperboy_search::SearchError) -> Self {
        match e {
            paperboy_search::SearchError::QueryTooLong(_) => {
                ApiError::bad_request("query_too_long", e.to_string())
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message, "code": self.code, "error": self.message });
        let mut r = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        r
    }
}
