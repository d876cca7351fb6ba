//! The JSON API's handlers: `POST /api/v1/chat` (one visitor message, answered by the server's
//! model, the conversation kept in storage) and the owner's history, `GET /api/v1/sessions` and
//! `GET /api/v1/sessions/{id}/messages`.

use crate::clock::UtcTime;
use crate::error::ApiError;
use crate::gateway::Role;
use crate::skills::{SkillAnswer, SkillRequest};
use crate::storage::{MessageRecord, NewMessage, SessionState, TurnWrite};
use crate::{Api, client_address};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderMap;
use chatlet_engine::{ActionOutcome, Conversation};
use chatlet_protocol::{
    Author, BotMessage, Button, ChatResponse, ContextValue, EntityValue, Event, IntentScore, Link,
    Mode, ServerFrame, SessionSummary, StoredMessage,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The largest request body the chat endpoint reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 2000;

pub(crate) async fn chat(
    State(api): State<Arc<Api>>,
    request: Request,
) -> Result<ChatReply, ApiError> {
    let address = client_address(&request);
    api.gateway
        .admit(request.headers(), address, Role::Public)?;
    let request = crate::chat_body::chat_request(&body_bytes(request).await?)?;
    let input = TurnInput {
        user_id: request.user_id,
        session_id: request.session_id,
        text: request.query,
        context: request.context,
        client_id: None,
    };
    let mut turn = {
        let api = api.clone();
        to_completion(async move { run_turn(&api, input).await }).await?
    };
    if let Some(request) = turn.pending.take() {
        // The REST answer waits for the skill (within its timeout); sockets do not.
        turn.replies.extend(run_skill(&api, request).await?);
    }
    Ok(ChatReply(ChatResponse {
        session_id: turn.session_id,
        reply: turn
            .replies
            .iter()
            .map(|e| e.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n"),
        messages: turn
            .replies
            .into_iter()
            .map(|e| BotMessage {
                text: e.text,
                buttons: e.buttons,
                image: e.image,
                link: e.link,
            })
            .collect(),
        intents: turn.intents,
        entities: turn.entities,
        action: turn.action,
        handoff: turn.handoff,
    }))
}

/// The chat answer as a response: its JSON is written by hand (see `answer_json.rs`).
pub(crate) struct ChatReply(ChatResponse);

impl axum::response::IntoResponse for ChatReply {
    fn into_response(self) -> axum::response::Response {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            crate::answer_json::chat_response(&self.0),
        )
            .into_response()
    }
}

/// Calls an action's webhook, then stores and pushes what the bot says about its outcome (the
/// fallback when it failed). Connections following the session see the bot typing meanwhile.
pub(crate) async fn run_skill(
    api: &Arc<Api>,
    request: SkillRequest,
) -> Result<Vec<Event>, ApiError> {
    api.connections
        .push(&request.session_id, &ServerFrame::Typing { on: true });
    let answer = api.skills.call(&request).await.ok();
    let result = {
        let api = api.clone();
        let (session_id, action) = (request.session_id.clone(), request.action);
        to_completion(async move { finish_action(&api, &session_id, &action, answer).await }).await
    };
    api.connections
        .push(&request.session_id, &ServerFrame::Typing { on: false });
    result
}

/// Applies a skill's answer (or its failure: `None`) to the session's conversation and stores
/// what the bot says. Takes the session's turn.
async fn finish_action(
    api: &Api,
    session_id: &str,
    action: &str,
    answer: Option<SkillAnswer>,
) -> Result<Vec<Event>, ApiError> {
    let Some(model) = api.model.clone() else {
        return Ok(Vec::new());
    };
    let _turn = api.session_locks.lock(session_id).await;
    let Some(mut state) = api.history.session(session_id).await? else {
        return Ok(Vec::new());
    };
    let mut conversation = Conversation::from_bytes(&state.conversation).unwrap_or_default();
    let outcomes = match answer {
        Some(answer) => {
            let slots = Some(answer.slots)
                .filter(|s| !s.is_empty())
                .map(ActionOutcome::SetSlots);
            slots
                .into_iter()
                .chain(answer.text.map(ActionOutcome::Replied))
                .collect()
        }
        None => vec![ActionOutcome::Unavailable],
    };
    let mut messages = Vec::new();
    for outcome in outcomes {
        let turn = model.action_result(&mut conversation, action, outcome);
        messages.extend(turn.messages);
    }
    state.conversation = conversation.to_bytes();
    let stored = messages.iter().map(bot_message).collect();
    Ok(store_events(api, session_id, Some(state), stored)
        .await?
        .unwrap_or_default())
}

/// Stores `messages` as the session's next events (and its state, unless `None`) and pushes
/// them to every connection following it. The caller holds the session's turn, so connections
/// receive a session's events in the order of their numbers: a widget takes a number lower than
/// one it has seen for a replayed duplicate and drops it. `None` when the session does not exist.
async fn store_events(
    api: &Api,
    session_id: &str,
    state: Option<SessionState>,
    messages: Vec<NewMessage>,
) -> Result<Option<Vec<Event>>, ApiError> {
    let turn = TurnWrite {
        session_id: session_id.to_owned(),
        state,
        messages,
        at: UtcTime::now().rfc3339(),
    };
    let (turn, saved) = api.history.save(turn).await?;
    let Some(numbers) = saved? else {
        return Ok(None);
    };
    let at = turn.at;
    let events: Vec<Event> = turn
        .messages
        .into_iter()
        .zip(numbers)
        .map(|(m, seq)| {
            event(MessageRecord {
                seq,
                author: m.author,
                text: m.text,
                at: at.clone(),
                client_id: m.client_id,
                rich: m.rich,
            })
        })
        .collect();
    api.connections.push_events(session_id, &events);
    Ok(Some(events))
}

/// A bot message as stored: its text, and its buttons, image and link card as JSON beside it.
fn bot_message(message: &chatlet_engine::dialogue::Message) -> NewMessage {
    let rich = Rich {
        buttons: message
            .buttons
            .iter()
            .map(|b| Button {
                title: b.title.clone(),
                payload: b.payload.clone(),
            })
            .collect(),
        image: message.image.clone(),
        link: message.link.as_ref().map(|l| Link {
            title: l.title.clone(),
            url: l.url.clone(),
        }),
    };
    let rich = (!rich.buttons.is_empty() || rich.image.is_some() || rich.link.is_some())
        .then(|| serde_json::to_string(&rich).unwrap_or_default());
    NewMessage {
        author: Author::Bot,
        text: message.text.clone(),
        client_id: None,
        rich,
    }
}

/// One visitor message to answer.
#[derive(Debug)]
pub(crate) struct TurnInput {
    pub(crate) user_id: String,
    /// `None` starts a session.
    pub(crate) session_id: Option<String>,
    pub(crate) text: String,
    pub(crate) context: BTreeMap<String, ContextValue>,
    /// Set by socket clients: a message stored under this id is not answered again.
    pub(crate) client_id: Option<String>,
}

/// What a turn did.
#[derive(Debug)]
pub(crate) struct TurnOutput {
    pub(crate) session_id: String,
    /// The visitor's message as stored.
    pub(crate) visitor_seq: u64,
    /// True when the message had been stored before (nothing new was answered).
    pub(crate) duplicate: bool,
    /// The bot's answers, stored and numbered.
    pub(crate) replies: Vec<Event>,
    pub(crate) intents: Vec<IntentScore>,
    pub(crate) entities: Vec<EntityValue>,
    pub(crate) action: Option<String>,
    pub(crate) handoff: bool,
    /// An action a webhook answers: called after the turn is stored (see [`run_skill`]).
    pub(crate) pending: Option<SkillRequest>,
}

/// The quick replies, image and link card of a bot message, stored as JSON beside its text.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Rich {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    buttons: Vec<Button>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link: Option<Link>,
}

/// A stored message as a conversation event.
pub(crate) fn event(record: MessageRecord) -> Event {
    let rich: Rich = record
        .rich
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    Event {
        seq: record.seq,
        author: record.author,
        text: record.text,
        at: record.at,
        client_id: record.client_id,
        buttons: rich.buttons,
        image: rich.image,
        link: rich.link,
    }
}

/// Answers one visitor message: reads the session, runs the engine, stores the message and the
/// answers in one transaction. Turns of one session run one at a time, so two tabs cannot
/// interleave their reads and writes of its dialogue state.
pub(crate) async fn run_turn(api: &Api, input: TurnInput) -> Result<TurnOutput, ApiError> {
    let model = api.model.clone().ok_or(ApiError::NotConfigured(
        "the server has no bot: start it with --model FILE.chatlet",
    ))?;
    let (session_id, drawn) = match &input.session_id {
        Some(id) => (id.clone(), false),
        None => (
            api.session_ids
                .draw()
                .map_err(|e| ApiError::Internal(format!("no randomness for a session id: {e}")))?,
            true,
        ),
    };
    // An id the server just drew (80 random bits after the time) names no stored session, and
    // no one else knows it until this turn answers: its turn needs no lock (in a profile of
    // REST requests that each start a session, the lock's hashing, insert and remove were ~2%).
    let _turn = if drawn {
        None
    } else {
        Some(api.session_locks.lock(&session_id).await)
    };
    let saved = if drawn {
        None
    } else {
        api.history.session(&session_id).await?
    };
    // Stored, the session is its user's; not stored yet, it belongs to the user whose socket
    // follows it (the socket's hello reserved it).
    let owner = match &saved {
        Some(saved) => Some(saved.user_id.clone()),
        None if !drawn => api.connections.follower(&session_id),
        None => None,
    };
    if owner.is_some_and(|owner| owner != input.user_id) {
        return Err(ApiError::Forbidden(
            "this session belongs to another user_id",
        ));
    }
    if let Some(client_id) = &input.client_id
        && let Some(seq) = api.history.client_message(&session_id, client_id).await?
    {
        return Ok(TurnOutput {
            session_id,
            visitor_seq: seq,
            duplicate: true,
            replies: Vec::new(),
            intents: Vec::new(),
            entities: Vec::new(),
            action: None,
            handoff: false,
            pending: None,
        });
    }
    let mut conversation = saved
        .as_ref()
        .and_then(|s| Conversation::from_bytes(&s.conversation))
        .unwrap_or_default();
    conversation
        .slots
        .extend(input.context.iter().map(|(k, v)| (k.clone(), v.to_slot())));
    let mut mode = saved.as_ref().map_or(Mode::Bot, |s| s.mode);
    let now = UtcTime::now();
    // With a person in charge the bot stays silent: the message is stored for the agent.
    let mut turn = match mode {
        Mode::Agent => chatlet_engine::Turn {
            handoff: true,
            ..Default::default()
        },
        Mode::Bot => {
            let (turn, after) =
                converse(&model, conversation, &input.text, now.reference()).await?;
            conversation = after;
            turn
        }
    };
    if turn.handoff {
        mode = Mode::Agent;
    }
    let request = turn.action.take();
    let action = request.as_ref().map(|a| a.name.clone());
    let mut pending = None;
    if let Some(request) = request {
        if api.skills.handles(&request.name) {
            pending = Some(SkillRequest {
                action: request.name,
                session_id: session_id.clone(),
                user_id: input.user_id.clone(),
                text: input.text.clone(),
                slots: request.slots.into_iter().collect(),
                seq: 0,
                timeout: std::time::Duration::from_millis(request.timeout_ms.into()),
            });
        } else {
            // No webhook for it: the action's fallback answers.
            let outcome = ActionOutcome::Unavailable;
            let result = model.action_result(&mut conversation, &request.name, outcome);
            turn.messages.extend(result.messages);
        }
    }
    let intents = turn
        .ranking
        .iter()
        .filter_map(|&(k, confidence)| {
            let name = api.intent_names.get(k)?.clone();
            Some(IntentScore { name, confidence })
        })
        .collect();
    let mut stored = vec![NewMessage {
        author: Author::Visitor,
        text: input.text.clone(),
        client_id: input.client_id.clone(),
        rich: None,
    }];
    stored.extend(turn.messages.iter().map(bot_message));
    let state = SessionState {
        user_id: input.user_id.clone(),
        conversation: conversation.to_bytes(),
        mode,
    };
    let mut events = store_events(api, &session_id, Some(state), stored)
        .await?
        .unwrap_or_default();
    api.metrics.count_chat();
    tracing::debug!(session = %session_id, replies = events.len().saturating_sub(1), "chat turn");
    let visitor_seq = if events.is_empty() {
        0
    } else {
        events.remove(0).seq
    };
    if let Some(pending) = &mut pending {
        pending.seq = visitor_seq;
    }
    let replies = events;
    Ok(TurnOutput {
        session_id,
        visitor_seq,
        duplicate: false,
        replies,
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
        pending,
    })
}

/// Messages longer than this are understood on the blocking pool: the engine takes about a
/// microsecond per character (2,000 characters: 0.6–2 ms), which the async workers' other
/// connections should not wait for; short ones run inline, where a thread hop would cost more
/// than the work.
const INLINE_QUERY_CHARS: usize = 256;

/// Runs the engine on one message; the conversation comes back with the turn.
async fn converse(
    model: &Arc<chatlet_engine::Model>,
    mut conversation: Conversation,
    text: &str,
    now: chatlet_engine::ReferenceTime,
) -> Result<(chatlet_engine::Turn, Conversation), ApiError> {
    if text.chars().count() <= INLINE_QUERY_CHARS {
        let turn = model.converse(&mut conversation, text, &now);
        return Ok((turn, conversation));
    }
    let (model, text) = (model.clone(), text.to_owned());
    tokio::task::spawn_blocking(move || {
        let turn = model.converse(&mut conversation, &text, &now);
        (turn, conversation)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the engine stopped: {e}")))
}

/// Runs `work` to its end even when the request or socket that asked for it goes away first:
/// once a turn is handed to storage, the state kept in memory and the session's followers must
/// learn its outcome, and the session's turn must stay taken until then.
///
/// The work is spawned at the call, not at the first poll: a caller's future (a socket's, alive
/// as long as the connection) then holds only the task's handle, not the work's whole state.
/// A task of its own is also faster than it looks: running turns inside the connection's task
/// (spawning only when the caller went away first) cost ~10 µs more server CPU per REST request
/// and ~10% of throughput in alternating runs, though it saves the spawn and a wake-up.
pub(crate) fn to_completion<T: Send + 'static>(
    work: impl Future<Output = Result<T, ApiError>> + Send + 'static,
) -> impl Future<Output = Result<T, ApiError>> {
    let task = tokio::spawn(work);
    async move {
        task.await
            .map_err(|e| ApiError::Internal(format!("a turn stopped: {e}")))?
    }
}

/// The request's body, at most [`MAX_BODY_BYTES`]: read here rather than through a
/// `DefaultBodyLimit` layer on each route, which cost every chat request a boxed route, a
/// cloned handler and an extension.
async fn body_bytes(request: Request) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    let mut body = request.into_body();
    // A small body comes in one frame, kept as it is; `axum::body::to_bytes` copied it.
    let mut whole: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut length = 0;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::MalformedJson(format!("cannot read the body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        length += data.len();
        if length > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        match whole.take() {
            None if joined.is_empty() => whole = Some(data),
            first => {
                joined.extend_from_slice(&first.unwrap_or_default());
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(whole.unwrap_or_else(|| Bytes::from(joined)))
}

/// The request's body as JSON (at most [`MAX_BODY_BYTES`]).
async fn json_body(request: Request) -> Result<Value, ApiError> {
    serde_json::from_slice(&body_bytes(request).await?)
        .map_err(|e| ApiError::MalformedJson(format!("the body is not valid JSON: {e}")))
}

/// `?limit=&offset=` for the session list.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Page {
    limit: Option<u32>,
    offset: Option<u32>,
}

pub(crate) async fn sessions(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
    request: Request,
) -> Result<Json<Vec<SessionSummary>>, ApiError> {
    api.gateway
        .admit(&headers, client_address(&request), Role::Admin)?;
    let Query(page) = page.map_err(|e| ApiError::field("limit", e.body_text()))?;
    let (limit, offset) = (page.limit.unwrap_or(50).min(500), page.offset.unwrap_or(0));
    let list = api.history.sessions(limit, offset).await?;
    Ok(Json(list))
}

pub(crate) async fn messages(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(session_id): Path<String>,
    request: Request,
) -> Result<Json<Vec<StoredMessage>>, ApiError> {
    api.gateway
        .admit(&headers, client_address(&request), Role::Admin)?;
    let list = api
        .history
        .messages_after(&session_id, 0)
        .await?
        .ok_or(ApiError::SessionNotFound)?;
    Ok(Json(
        list.into_iter()
            .map(|m| StoredMessage {
                seq: m.seq,
                author: m.author,
                text: m.text,
                at: m.at,
            })
            .collect(),
    ))
}

/// `POST /api/v1/sessions/{id}/messages` (admin key): a person's message, stored and pushed at
/// once to every connection that follows the session. Body: `{"text": "..."}`.
pub(crate) async fn agent_message(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(session_id): Path<String>,
    request: Request,
) -> Result<Json<Event>, ApiError> {
    api.gateway
        .admit(&headers, client_address(&request), Role::Admin)?;
    let value = json_body(request).await?;
    let text = match value.get("text") {
        Some(Value::String(t)) if !t.trim().is_empty() && t.chars().count() <= MAX_QUERY_CHARS => {
            t.clone()
        }
        _ => {
            return Err(ApiError::field(
                "text",
                format!(
                    "`text` must be a non-blank string of at most {MAX_QUERY_CHARS} characters"
                ),
            ));
        }
    };
    let message = NewMessage {
        author: Author::Agent,
        text,
        client_id: None,
        rich: None,
    };
    let events = to_completion(async move {
        let _turn = api.session_locks.lock(&session_id).await;
        store_events(&api, &session_id, None, vec![message]).await
    })
    .await?;
    let event = events
        .and_then(|events| events.into_iter().next())
        .ok_or(ApiError::SessionNotFound)?;
    Ok(Json(event))
}

/// `POST /api/v1/sessions/{id}/handoff` (admin key): `{"to": "agent"}` takes the session over
/// (the bot stops answering), `{"to": "bot"}` hands it back.
pub(crate) async fn handoff(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(session_id): Path<String>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    api.gateway
        .admit(&headers, client_address(&request), Role::Admin)?;
    let value = json_body(request).await?;
    let mode = match value.get("to").and_then(Value::as_str) {
        Some("agent") => Mode::Agent,
        Some("bot") => Mode::Bot,
        _ => return Err(ApiError::field("to", "`to` must be \"agent\" or \"bot\"")),
    };
    let found = {
        let (api, id) = (api.clone(), session_id.clone());
        to_completion(async move {
            // Not between a turn's read and write of the session.
            let _turn = api.session_locks.lock(&id).await;
            Ok(api.history.set_mode(&id, mode).await?)
        })
        .await?
    };
    if !found {
        return Err(ApiError::SessionNotFound);
    }
    tracing::info!(session = %session_id, ?mode, "handoff");
    Ok(Json(
        serde_json::json!({ "session_id": session_id, "mode": mode }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request whose body arrives in these chunks.
    fn streamed(chunks: &[&'static [u8]]) -> Request {
        let chunks = chunks
            .iter()
            .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c)));
        Request::new(axum::body::Body::from_stream(futures_util::stream::iter(
            chunks.collect::<Vec<_>>(),
        )))
    }

    #[tokio::test]
    async fn bodies_are_read_whole_in_any_chunks_up_to_the_limit() {
        let read = body_bytes(streamed(&[b"{\"query\"", b"", b":\"hi\"}"])).await;
        assert_eq!(read.unwrap(), Bytes::from_static(b"{\"query\":\"hi\"}"));
        let one = body_bytes(streamed(&[b"{}"])).await.unwrap();
        assert_eq!(one, Bytes::from_static(b"{}"));
        assert_eq!(body_bytes(streamed(&[])).await.unwrap(), Bytes::new());
        static FULL: [u8; MAX_BODY_BYTES] = [b' '; MAX_BODY_BYTES];
        let at_limit = body_bytes(streamed(&[&FULL[..10], &FULL[10..]])).await;
        assert_eq!(at_limit.unwrap().len(), MAX_BODY_BYTES);
        for over in [
            &[&FULL[..], b" "][..],
            &[&FULL[1..], b"  "],
            &[b" ", &FULL[..]],
        ] {
            let read = body_bytes(streamed(over)).await;
            assert!(matches!(read, Err(ApiError::PayloadTooLarge)), "{read:?}");
        }
    }

    #[tokio::test]
    async fn a_long_message_is_understood_off_the_workers_with_the_same_outcome() {
        let bot = chatlet_engine::bot::parse(
            "bot.yaml",
            "name: t\nlanguages: [zh]\nentities:\n  city:\n    values: {北京: [beijing], 上海: []}\n\
             intents:\n  delivery:\n    examples: [\"能送到[北京](city)吗\", \"[上海](city)可以配送吗\", 送货吗]\n    \
             responses: \"可以送到{city}。\"\n  hours:\n    examples: [几点开门, 营业时间]\n    responses: 九点。\n",
        )
        .unwrap();
        let model =
            Arc::new(chatlet_engine::Model::train(&bot, &Default::default(), &mut |_| {}).unwrap());
        let now = chatlet_engine::ReferenceTime {
            date: chatlet_engine::Date::new(2026, 11, 22).unwrap(),
            hour: 10,
            minute: 0,
        };
        let long = format!("{}能送到上海吗", "嗯".repeat(INLINE_QUERY_CHARS));
        let (turn, conversation) = converse(&model, Conversation::default(), &long, now)
            .await
            .unwrap();
        let mut inline = Conversation::default();
        let expected = model.converse(&mut inline, &long, &now);
        assert_eq!(turn, expected);
        // The conversation comes back with what the turn did to it.
        assert_eq!(conversation.to_bytes(), inline.to_bytes());
        assert_ne!(conversation.to_bytes(), Conversation::default().to_bytes());
        assert!(turn.entities.iter().any(|m| m.value == "上海"), "{turn:?}");
    }

    #[tokio::test]
    async fn work_handed_over_finishes_when_its_caller_goes_away() {
        let (finished, told) = tokio::sync::oneshot::channel();
        let caller = tokio::spawn(to_completion(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let _ = finished.send(());
            Ok(())
        }));
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        caller.abort();
        let told = tokio::time::timeout(std::time::Duration::from_secs(5), told).await;
        assert!(
            matches!(told, Ok(Ok(()))),
            "the work was cancelled with its caller"
        );
    }
}
