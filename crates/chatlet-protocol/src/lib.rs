//! chatlet's wire types: the JSON bodies the server sends and the widget reads. Serde only, no I/O.

use serde::{Deserialize, Serialize};

/// `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `"ok"` while the server serves.
    pub status: String,
    /// The server's version (the workspace version).
    pub version: String,
    /// The model format version this server's engine reads.
    pub model_format: u32,
}

/// Every error response has this body, with a stable machine-readable `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable identifier such as `not_found`.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_the_documented_shape() {
        let body = ErrorBody {
            code: "not_found".into(),
            message: "no such file".into(),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"code":"not_found","message":"no such file"}"#
        );
    }
}
