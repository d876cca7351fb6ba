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
    pub name: std::sync::Arc<str>,
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

/// Who answers a session's visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The bot answers.
    Bot,
    /// A person does (after a handoff); the bot stays silent.
    Agent,
}

/// `GET /api/v1/sessions`: one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub session_id: String,
    pub user_id: String,
    pub mode: Mode,
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
    /// A person answering for the bot (human handoff).
    Agent,
}

/// A frame the client sends on `/api/v1/ws` (JSON text, tagged by `type`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// The first frame: who, which conversation, and the last event seen (0: none).
    Hello {
        key: String,
        user_id: String,
        #[serde(default)]
        session_id: Option<String>,
        #[serde(default)]
        last_seq: u64,
    },
    /// A visitor message. `client_id` makes it idempotent: sent twice, it is stored and
    /// answered once.
    Message {
        client_id: String,
        text: String,
        #[serde(default)]
        context: BTreeMap<String, ContextValue>,
    },
    /// The heartbeat; answered by `pong` with the same `t`.
    Ping {
        #[serde(default)]
        t: Option<f64>,
    },
}

/// One event of a conversation, numbered by `seq` (from 1, per session, no gaps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub author: Author,
    pub text: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// The client's id for a visitor message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
}

/// A frame the server sends on `/api/v1/ws`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The answer to `hello`: the session (new or resumed), its last event, and how often the
    /// client should ping.
    Welcome {
        session_id: String,
        last_seq: u64,
        heartbeat_ms: u64,
    },
    /// A visitor message is stored as event `seq`; `duplicate` when it had been already.
    Ack {
        client_id: String,
        seq: u64,
        duplicate: bool,
    },
    /// A conversation event: replayed after `hello`, or new (a bot answer, an agent's message).
    Event(Event),
    /// The bot or an agent is working on an answer (`on`), or stopped.
    Typing { on: bool },
    Pong {
        #[serde(default)]
        t: Option<f64>,
    },
    /// A frame could not be used; the connection stays open unless a close follows.
    Error { code: String, message: String },
}

/// WebSocket close codes the server uses (4000–4999 are the application's).
pub mod close_code {
    /// The first frame was not a valid `hello`, or the client broke the protocol.
    pub const PROTOCOL: u16 = 4000;
    /// The key in `hello` is unknown.
    pub const UNAUTHORIZED: u16 = 4001;
    /// The key may not be used from this origin, or the session is another user's.
    pub const FORBIDDEN: u16 = 4003;
    /// No frame (not even a ping) within the idle timeout.
    pub const IDLE: u16 = 4008;
    /// The server is shutting down; reconnect later.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame was larger than the server accepts.
    pub const TOO_BIG: u16 = 1009;
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

    #[test]
    fn socket_frames_are_tagged_by_type() {
        let hello: ClientFrame =
            serde_json::from_str(r#"{"type":"hello","key":"k","user_id":"u","last_seq":3}"#)
                .unwrap();
        assert_eq!(
            hello,
            ClientFrame::Hello {
                key: "k".into(),
                user_id: "u".into(),
                session_id: None,
                last_seq: 3
            }
        );
        let ack = ServerFrame::Ack {
            client_id: "c1".into(),
            seq: 4,
            duplicate: false,
        };
        assert_eq!(
            serde_json::to_string(&ack).unwrap(),
            r#"{"type":"ack","client_id":"c1","seq":4,"duplicate":false}"#
        );
        let event = ServerFrame::Event(Event {
            seq: 5,
            author: Author::Bot,
            text: "hi".into(),
            at: "2026-11-22T10:00:00Z".into(),
            client_id: None,
            buttons: Vec::new(),
            image: None,
            link: None,
        });
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"type":"event","seq":5,"author":"bot","text":"hi","at":"2026-11-22T10:00:00Z"}"#
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"shout"}"#).is_err());
    }
}
