//! The one place where server errors become HTTP responses with a JSON [`ErrorBody`].

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chatlet_protocol::ErrorBody;

/// Every error the API can answer with.
#[derive(Debug)]
pub enum ApiError {
    /// No route or file at that path.
    NotFound,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "nothing is served at this path",
            ),
        };
        (
            status,
            Json(ErrorBody {
                code: code.to_owned(),
                message: message.to_owned(),
            }),
        )
            .into_response()
    }
}
