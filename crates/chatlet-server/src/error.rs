//! The one place where server errors become HTTP responses with a JSON [`ErrorBody`]; the codes
//! are listed in `docs/protocol.md`.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chatlet_protocol::ErrorBody;

/// Every error the API can answer with.
#[derive(Debug)]
pub enum ApiError {
    /// No route or file at that path.
    NotFound,
    /// No `Authorization: Bearer` key, or one the server does not know.
    Unauthorized,
    /// A known key that may not do this (a public key on an admin route, or from another origin).
    Forbidden(&'static str),
    /// Too many requests from this key or address; try again after this many seconds.
    RateLimited(u64),
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The body is not JSON, or not `application/json`.
    MalformedJson(String),
    /// A field has the wrong type or value.
    InvalidField { field: String, message: String },
    /// No session with this id.
    SessionNotFound,
    /// The server was started without API keys or without a model.
    NotConfigured(&'static str),
    /// Something inside the server failed (storage, a turn's task, randomness for a session id,
    /// writing the answer); the detail is logged, not sent.
    Internal(String),
}

impl ApiError {
    /// A bad field, with a message that says what was expected.
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::InvalidField {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The stable code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound => "not_found",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::InvalidField { .. } => "invalid_field",
            ApiError::SessionNotFound => "session_not_found",
            ApiError::NotConfigured(_) => "not_configured",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(e: crate::storage::StorageError) -> Self {
        ApiError::Internal(e.0)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let retry_after = match &self {
            ApiError::RateLimited(seconds) => Some(*seconds),
            _ => None,
        };
        let (status, message, field) = match self {
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "nothing is served at this path".to_owned(),
                None,
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "send a valid API key as `Authorization: Bearer <key>`".to_owned(),
                None,
            ),
            ApiError::Forbidden(why) => (StatusCode::FORBIDDEN, why.to_owned(), None),
            ApiError::RateLimited(seconds) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many requests; retry in {seconds} s"),
                None,
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the body is larger than {} bytes",
                    crate::chat::MAX_BODY_BYTES
                ),
                None,
            ),
            ApiError::MalformedJson(detail) => (StatusCode::BAD_REQUEST, detail, None),
            ApiError::InvalidField { field, message } => {
                (StatusCode::UNPROCESSABLE_ENTITY, message, Some(field))
            }
            ApiError::SessionNotFound => (
                StatusCode::NOT_FOUND,
                "no session with this id".to_owned(),
                None,
            ),
            ApiError::NotConfigured(what) => {
                (StatusCode::SERVICE_UNAVAILABLE, what.to_owned(), None)
            }
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server failed to answer (the detail is in its log)".to_owned(),
                    None,
                )
            }
        };
        let mut response = (
            status,
            Json(ErrorBody {
                code: code.to_owned(),
                message,
                field,
            }),
        )
            .into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if code == "unauthorized" {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
