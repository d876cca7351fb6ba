//! The JSON API's handlers: `POST /api/v1/chat` (one visitor message, answered by the server's
//! model, the conversation kept in storage) and the owner's history, `GET /api/v1/sessions` and
//! `GET /api/v1/sessions/{id}/messages`.

use crate::clock::UtcTime;
use crate::error::ApiError;
use crate::gateway::Role;
use crate::storage::{NewMessage, SessionState};
use crate::{AppState, client_address};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderMap;
use chatlet_engine::{ActionOutcome, Conversation};
use chatlet_protocol::{
    Author, BotMessage, Button, ChatRequest, ChatResponse, ContextValue, EntityValue, IntentScore,
    Link, SessionSummary, StoredMessage,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// The largest request body the chat endpoint reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 2000;
/// The most context entries one request may set.
const MAX_CONTEXT_ENTRIES: usize = 32;

pub(crate) async fn chat(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Result<Json<ChatResponse>, ApiError> {
    let address = client_address(&request);
    let api = state.api.clone();
    api.gateway.admit(&headers, address, Role::Public)?;
    let body = <Bytes as axum::extract::FromRequest<()>>::from_request(request, &()).await;
    let body = body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(_) => ApiError::PayloadTooLarge,
        other => ApiError::MalformedJson(other.body_text()),
    })?;
    let request = chat_request(&body)?;
    let model = api.model.clone().ok_or(ApiError::NotConfigured(
        "the server has no bot: start it with --model FILE.chatlet",
    ))?;
    let store = api.store.clone();
    // The turn reads and writes storage, which blocks: off the async threads.
    let response = tokio::task::spawn_blocking(move || -> Result<ChatResponse, ApiError> {
        let session_id = match &request.session_id {
            Some(id) => id.clone(),
            None => new_session_id()?,
        };
        let saved = store.session(&session_id)?;
        let mut conversation = match &saved {
            Some(saved) if saved.user_id != request.user_id => {
                return Err(ApiError::Forbidden(
                    "this session belongs to another user_id",
                ));
            }
            Some(saved) => Conversation::from_bytes(&saved.conversation).unwrap_or_default(),
            None => Conversation::default(),
        };
        conversation.slots.extend(
            request
                .context
                .iter()
                .map(|(k, v)| (k.clone(), v.to_slot())),
        );
        let now = UtcTime::now();
        let mut turn = model.converse(&mut conversation, &request.query, &now.reference());
        let action = turn.action.take().map(|a| a.name);
        if let Some(name) = &action {
            // Server-side skills are not here yet: the action's fallback answers.
            let result = model.action_result(&mut conversation, name, ActionOutcome::Unavailable);
            turn.messages.extend(result.messages);
        }
        let intents = if request.query.starts_with('/') {
            Vec::new()
        } else {
            model
                .understand(&request.query, Some(&now.reference()))
                .ranking
                .into_iter()
                .map(|(name, confidence)| IntentScore { name, confidence })
                .collect()
        };
        let messages: Vec<BotMessage> = turn
            .messages
            .into_iter()
            .map(|m| BotMessage {
                text: m.text,
                buttons: m
                    .buttons
                    .into_iter()
                    .map(|b| Button {
                        title: b.title,
                        payload: b.payload,
                    })
                    .collect(),
                image: m.image,
                link: m.link.map(|l| Link {
                    title: l.title,
                    url: l.url,
                }),
            })
            .collect();
        let mut stored = vec![NewMessage {
            author: Author::Visitor,
            text: request.query.clone(),
        }];
        stored.extend(messages.iter().map(|m| NewMessage {
            author: Author::Bot,
            text: m.text.clone(),
        }));
        let state = SessionState {
            user_id: request.user_id.clone(),
            conversation: conversation.to_bytes(),
        };
        store.save_turn(&session_id, &state, &stored, &now.rfc3339())?;
        Ok(ChatResponse {
            session_id,
            reply: messages
                .iter()
                .map(|m| m.text.as_str())
                .collect::<Vec<_>>()
                .join("\n\n"),
            messages,
            intents,
            entities: turn
                .entities
                .into_iter()
                .map(|m| EntityValue {
                    entity_type: m.entity,
                    value: m.value,
                    start: m.start,
                    end: m.end,
                })
                .collect(),
            action,
            handoff: turn.handoff,
        })
    })
    .await
    .map_err(|e| ApiError::Storage(format!("the chat turn failed: {e}")))??;
    api.metrics.count_chat();
    tracing::info!(session = %response.session_id, "chat turn");
    Ok(Json(response))
}

/// A session id the server makes: 128 random bits in hex.
fn new_session_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Storage(format!("no randomness for a session id: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads and checks the body field by field, so each mistake names its field.
fn chat_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::MalformedJson(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(ApiError::MalformedJson(
            "the body must be a JSON object: {\"user_id\", \"session_id\", \"query\", \"context\"}"
                .to_owned(),
        ));
    };
    for name in fields.keys() {
        if !["user_id", "session_id", "query", "context"].contains(&name.as_str()) {
            return Err(ApiError::field(
                name,
                format!(
                    "unknown field `{name}`; the fields are user_id, session_id, query, context"
                ),
            ));
        }
    }
    let text = |name: &str, max: usize| -> Result<Option<String>, ApiError> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
            Some(Value::String(_)) => Err(ApiError::field(
                name,
                format!("`{name}` is longer than {max} characters"),
            )),
            Some(_) => Err(ApiError::field(name, format!("`{name}` must be a string"))),
        }
    };
    let user_id = text("user_id", 128)?
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ApiError::field("user_id", "`user_id` is required"))?;
    let session_id = text("session_id", 64)?;
    if let Some(id) = &session_id
        && (id.len() < 8
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(ApiError::field(
            "session_id",
            "`session_id` must be 8 to 64 letters, digits, `-` or `_` (or null for a new session)",
        ));
    }
    let query = text("query", MAX_QUERY_CHARS)?
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::field("query", "`query` is required and must not be blank"))?;
    let mut context = BTreeMap::new();
    match fields.get("context") {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) if entries.len() <= MAX_CONTEXT_ENTRIES => {
            for (key, value) in entries {
                let value = match value {
                    Value::String(s) if s.chars().count() <= 500 => ContextValue::Text(s.clone()),
                    Value::Number(n) => ContextValue::Number(n.as_f64().unwrap_or_default()),
                    Value::Bool(b) => ContextValue::Flag(*b),
                    _ => {
                        return Err(ApiError::field(
                            &format!("context.{key}"),
                            format!(
                                "`context.{key}` must be a string (up to 500 characters), number or boolean"
                            ),
                        ));
                    }
                };
                context.insert(key.clone(), value);
            }
        }
        Some(_) => {
            return Err(ApiError::field(
                "context",
                format!("`context` must be an object of at most {MAX_CONTEXT_ENTRIES} entries"),
            ));
        }
    }
    Ok(ChatRequest {
        user_id,
        session_id,
        query,
        context,
    })
}

/// `?limit=&offset=` for the session list.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Page {
    limit: Option<u32>,
    offset: Option<u32>,
}

pub(crate) async fn sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
    request: Request,
) -> Result<Json<Vec<SessionSummary>>, ApiError> {
    let api = state.api.clone();
    api.gateway
        .admit(&headers, client_address(&request), Role::Admin)?;
    let Query(page) = page.map_err(|e| ApiError::field("limit", e.body_text()))?;
    let (limit, offset) = (page.limit.unwrap_or(50).min(500), page.offset.unwrap_or(0));
    let store = api.store.clone();
    let list = tokio::task::spawn_blocking(move || store.sessions(limit, offset))
        .await
        .map_err(|e| ApiError::Storage(e.to_string()))??;
    Ok(Json(list))
}

pub(crate) async fn messages(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(session_id): Path<String>,
    request: Request,
) -> Result<Json<Vec<StoredMessage>>, ApiError> {
    let api = state.api.clone();
    api.gateway
        .admit(&headers, client_address(&request), Role::Admin)?;
    let store = api.store.clone();
    let list = tokio::task::spawn_blocking(move || store.messages(&session_id))
        .await
        .map_err(|e| ApiError::Storage(e.to_string()))??;
    list.map(Json).ok_or(ApiError::SessionNotFound)
}
