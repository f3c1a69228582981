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
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::bad_request("invalid_parameter", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }

    pub fn internal(err: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %err, "internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "internal error; the server log has the details".into(),
        }
    }
}

impl From<paperboy_store::StoreError> for ApiError {
    fn from(e: paperboy_store::StoreError) -> Self {
        ApiError::internal(e)
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
        (self.status, Json(body)).into_response()
    }
}
