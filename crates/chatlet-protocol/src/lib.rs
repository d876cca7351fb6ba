//! chatlet's wire types: the JSON bodies the server sends and the widget reads. Serde only, no I/O.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A value the page or the caller gives as context: it becomes a conversation slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContextValue {
    Text(String),
    Number(f64),
    Flag(bool),
}

impl ContextValue {
    /// The slot text: numbers without a needless `.0`.
    pub fn to_slot(&self) -> String {
        match self {
            ContextValue::Text(text) => text.clone(),
            ContextValue::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => {
                format!("{}", *n as i64)
            }
            ContextValue::Number(n) => n.to_string(),
            ContextValue::Flag(flag) => flag.to_string(),
        }
    }
}

/// `POST /api/v1/chat`: one visitor message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// Who is talking (the site's own id for the visitor).
    pub user_id: String,
    /// The conversation to continue; a new one is started when absent.
    #[serde(default)]
    pub session_id: Option<String>,
    /// What the visitor said.
    pub query: String,
    /// Slots to set before the bot answers (`{"name": "Li"}`).
    #[serde(default)]
    pub context: BTreeMap<String, ContextValue>,
}

/// One intent of the ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentScore {
    pub name: String,
    pub confidence: f32,
}

/// An entity found in the query; `start`/`end` are code-point offsets (end exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityValue {
    #[serde(rename = "type")]
    pub entity_type: String,
    pub value: String,
    pub start: usize,
    pub end: usize,
}

/// A quick reply offered with a bot message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub title: String,
    pub payload: String,
}

/// A link card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub title: String,
    pub url: String,
}

/// One bot message with everything it may carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotMessage {
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
}

/// The answer to a [`ChatRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The conversation (new or continued); send it back with the next message.
    pub session_id: String,
    /// The bot's messages joined by blank lines (the whole answer as one text).
    pub reply: String,
    /// The bot's messages one by one, with quick replies, images and link cards.
    pub messages: Vec<BotMessage>,
    /// The intent ranking, best first; empty for a quick-reply payload (`/intent`).
    pub intents: Vec<IntentScore>,
    pub entities: Vec<EntityValue>,
    /// The action the bot asked for, if any (answered by its fallback: server skills come later).
    pub action: Option<String>,
    /// True when the bot handed the conversation to a person.
    pub handoff: bool,
}

/// `GET /api/v1/sessions`: one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub session_id: String,
    pub user_id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub last_message_at: String,
    pub message_count: u64,
}

/// Who wrote a stored message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Author {
    Visitor,
    Bot,
}

/// `GET /api/v1/sessions/{id}/messages`: one message, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    /// Position in the session, from 1.
    pub seq: u64,
    pub author: Author,
    pub text: String,
    /// RFC 3339, UTC.
    pub at: String,
}

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

/// Every error response has this body, with a stable machine-readable `code` (listed in
/// `docs/protocol.md`) and, for a bad request body, the `field` at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable identifier such as `not_found`.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
    /// The request field the error is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_the_documented_shape() {
        let body = ErrorBody {
            code: "not_found".into(),
            message: "no such file".into(),
            field: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"code":"not_found","message":"no such file"}"#
        );
    }

    #[test]
    fn chat_request_reads_the_documented_body() {
        let request: ChatRequest = serde_json::from_str(
            r#"{"user_id":"u1","session_id":null,"query":"几点开门","context":{"name":"Li","visits":3,"vip":true}}"#,
        )
        .unwrap();
        assert_eq!(request.session_id, None);
        let slots: Vec<String> = request
            .context
            .values()
            .map(ContextValue::to_slot)
            .collect();
        assert_eq!(slots, ["Li", "true", "3"]);
        assert!(
            serde_json::from_str::<ChatRequest>(r#"{"user_id":"u","query":"x","extra":1}"#)
                .is_err()
        );
    }
}
