//! `GET /api/v1/ws`: the WebSocket sync protocol (`docs/protocol.md`). A connection says `hello`
//! (key, user, session, last event seen), gets `welcome` and the events it missed, then sends
//! messages (acknowledged with their number, stored and answered once even when resent) and
//! pings; it receives every new event of its session, from any tab, the bot or a person.

use crate::Api;
use crate::chat::{TurnInput, event, run_turn};
use crate::clock::UtcTime;
use crate::connections::{OUTBOX_FRAMES, Registration};
use crate::error::ApiError;
use crate::storage::SessionState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chatlet_engine::Conversation;
use chatlet_protocol::{ClientFrame, ServerFrame, close_code};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How the server treats socket connections.
#[derive(Debug, Clone, Copy)]
pub struct SocketLimits {
    /// Time to send `hello` after connecting.
    pub hello_timeout: Duration,
    /// A connection that sends nothing (not even a ping) this long is closed.
    pub idle_timeout: Duration,
    /// The interval clients are told to ping at.
    pub heartbeat: Duration,
    /// The largest frame read, in bytes.
    pub max_frame_bytes: usize,
    /// Connections one client address may hold at once.
    pub max_per_address: usize,
}

impl Default for SocketLimits {
    fn default() -> Self {
        SocketLimits {
            hello_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            heartbeat: Duration::from_secs(20),
            max_frame_bytes: 16 * 1024,
            max_per_address: 50,
        }
    }
}

/// Bad frames a connection may send before it is closed for breaking the protocol.
const MAX_BAD_FRAMES: u32 = 20;

/// The client's address, when the server runs with connection info.
pub(crate) struct ClientAddress(pub(crate) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(crate::address_in(&parts.extensions)))
    }
}

pub(crate) async fn socket(
    State(api): State<Arc<Api>>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(error) = api.gateway.limit_address(address) {
        return error.into_response();
    }
    let Some(registration) = api
        .connections
        .admit(address, api.socket_limits.max_per_address)
    else {
        return ApiError::Forbidden("too many connections from this address").into_response();
    };
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let limit = api.socket_limits.max_frame_bytes;
    // Small buffers: an idle connection should cost kilobytes, not the library's default 128 KiB.
    upgrade
        .read_buffer_size(2 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| async move {
            let mut connection = Connection {
                socket,
                api,
                registration,
                origin,
                address,
            };
            connection.run().await;
        })
}

/// One live socket.
struct Connection {
    socket: WebSocket,
    api: Arc<Api>,
    registration: Registration,
    origin: Option<String>,
    address: Option<IpAddr>,
}

/// Why a connection ends, as a close frame.
struct Close(u16, &'static str);

impl Connection {
    async fn run(&mut self) {
        let outcome = self.serve().await;
        if let Err(Close(code, reason)) = outcome {
            let _ = self
                .socket
                .send(Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                })))
                .await;
        }
    }

    async fn send(&mut self, frame: &ServerFrame) -> Result<(), Close> {
        self.send_text(&serde_json::to_string(frame).unwrap_or_default())
            .await
    }

    async fn send_text(&mut self, text: &str) -> Result<(), Close> {
        self.socket
            .send(Message::Text(text.into()))
            .await
            .map_err(|_| Close(close_code::GOING_AWAY, "send failed"))
    }

    async fn serve(&mut self) -> Result<(), Close> {
        let limits = self.api.socket_limits;
        let mut shutdown = self.api.shutdown.subscribe();
        let first = tokio::time::timeout(limits.hello_timeout, self.socket.recv()).await;
        let Ok(Some(Ok(Message::Text(text)))) = first else {
            return Err(Close(close_code::PROTOCOL, "the first frame must be hello"));
        };
        let Ok(ClientFrame::Hello {
            key,
            user_id,
            session_id,
            last_seq,
        }) = serde_json::from_str::<ClientFrame>(&text)
        else {
            return Err(Close(close_code::PROTOCOL, "the first frame must be hello"));
        };
        let caller = self
            .api
            .gateway
            .check_key(Some(&key), self.origin.as_deref())
            .map_err(|e| match e {
                ApiError::Forbidden(_) => {
                    Close(close_code::FORBIDDEN, "key not allowed from this origin")
                }
                _ => Close(close_code::UNAUTHORIZED, "unknown key"),
            })?;
        if user_id.trim().is_empty() || user_id.chars().count() > 128 {
            return Err(Close(
                close_code::PROTOCOL,
                "user_id must be 1 to 128 characters",
            ));
        }
        let chosen_by_client = session_id.is_some();
        let session_id = match session_id {
            Some(id) if valid_id(&id, 8) => id,
            Some(_) => return Err(Close(close_code::PROTOCOL, "bad session_id")),
            None => self
                .api
                .session_ids
                .draw()
                .map_err(|_| Close(close_code::GOING_AWAY, "no session id"))?,
        };
        // Following first: a session not stored yet is reserved by its first connection's user.
        let (outbox, mut inbox) = mpsc::channel(OUTBOX_FRAMES);
        if !self.registration.follow(&session_id, &user_id, outbox) {
            return Err(Close(
                close_code::FORBIDDEN,
                "this session belongs to another user",
            ));
        }
        // The session: resumed if it is this user's. A new id the server drew (unguessable) is
        // stored with its first message, so page views that never chat leave nothing behind; a
        // new id the client chose is claimed now, so no one else can follow it.
        // Boxed: the hello's storage work is done once, and inline its state would enlarge every
        // open connection's future for as long as the connection lives.
        let history = Box::pin(resume(&self.api, &session_id, &user_id, chosen_by_client))
            .await
            .map_err(|_| Close(close_code::GOING_AWAY, "storage failed"))?;
        let Some(history) = history else {
            return Err(Close(
                close_code::FORBIDDEN,
                "this session belongs to another user",
            ));
        };
        self.send(&ServerFrame::Welcome {
            session_id: session_id.clone(),
            last_seq: history.last().map_or(0, |m| m.seq),
            heartbeat_ms: limits.heartbeat.as_millis() as u64,
        })
        .await?;
        for record in history.into_iter().filter(|m| m.seq > last_seq) {
            self.send(&ServerFrame::Event(event(record))).await?;
        }
        tracing::info!(session = %session_id, key = %caller.key_name(), "socket resumed");

        let mut idle_until = Instant::now() + limits.idle_timeout;
        let mut bad_frames = 0;
        loop {
            tokio::select! {
                frame = self.socket.recv() => {
                    let message = match frame {
                        None | Some(Ok(Message::Close(_))) => return Ok(()),
                        Some(Err(error)) => {
                            let too_big = error.to_string().to_lowercase().contains("too long");
                            return Err(if too_big {
                                Close(close_code::TOO_BIG, "frame too large")
                            } else {
                                Close(close_code::PROTOCOL, "broken frame")
                            });
                        }
                        Some(Ok(message)) => message,
                    };
                    idle_until = Instant::now() + limits.idle_timeout;
                    let Message::Text(text) = message else {
                        if matches!(message, Message::Binary(_)) {
                            bad_frames += 1;
                            self.send(&error_frame("bad_frame", "frames are JSON text")).await?;
                        }
                        continue;
                    };
                    match serde_json::from_str::<ClientFrame>(&text) {
                        Ok(ClientFrame::Ping { t }) => self.send(&ServerFrame::Pong { t }).await?,
                        Ok(ClientFrame::Message { client_id, text, context }) => {
                            if !valid_id(&client_id, 1) {
                                bad_frames += 1;
                                self.send(&error_frame("invalid_field", "client_id must be 1 to 64 letters, digits, `-` or `_`")).await?;
                            } else if text.trim().is_empty() || text.chars().count() > crate::MAX_QUERY_CHARS || context.len() > 32 {
                                bad_frames += 1;
                                self.send(&error_frame("invalid_field", "text must be 1 to 2000 characters, context at most 32 entries")).await?;
                            } else if self.api.gateway.limit_address(self.address).and_then(|()| self.api.gateway.limit_key(&caller)).is_err() {
                                // Not stored, not acknowledged: the client resends it later.
                                self.send(&error_frame("rate_limited", "too many messages; resend later")).await?;
                            } else {
                                self.answer(&session_id, &user_id, client_id, text, context).await?;
                            }
                        }
                        Ok(ClientFrame::Hello { .. }) => {
                            bad_frames += 1;
                            self.send(&error_frame("bad_frame", "hello was already said")).await?;
                        }
                        Err(error) => {
                            bad_frames += 1;
                            self.send(&error_frame("bad_frame", &format!("not a chatlet frame: {error}"))).await?;
                        }
                    }
                    if bad_frames > MAX_BAD_FRAMES {
                        return Err(Close(close_code::PROTOCOL, "too many bad frames"));
                    }
                }
                text = inbox.recv() => match text {
                    Some(text) => self.send_text(&text).await?,
                    // The registry dropped this connection: its outbox was full. The client
                    // reconnects and the replay brings what it missed.
                    None => return Err(Close(close_code::GOING_AWAY, "too slow; reconnect to resume")),
                },
                _ = tokio::time::sleep_until(idle_until) => {
                    return Err(Close(close_code::IDLE, "no frame within the idle timeout"));
                }
                _ = shutdown.changed() => {
                    return Err(Close(close_code::GOING_AWAY, "the server is restarting"));
                }
            }
        }
    }

    /// Runs a visitor message through the engine; acknowledges it, and sends its events to every
    /// connection following the session (this one included).
    async fn answer(
        &mut self,
        session_id: &str,
        user_id: &str,
        client_id: String,
        text: String,
        context: std::collections::BTreeMap<String, chatlet_protocol::ContextValue>,
    ) -> Result<(), Close> {
        self.send(&ServerFrame::Typing { on: true }).await?;
        let input = TurnInput {
            user_id: user_id.to_owned(),
            session_id: Some(session_id.to_owned()),
            text,
            context,
            client_id: Some(client_id.clone()),
        };
        let api = self.api.clone();
        let turn = crate::chat::to_completion(async move { run_turn(&api, input).await }).await;
        let turn = match turn {
            Ok(turn) => turn,
            _ => {
                self.send(&ServerFrame::Typing { on: false }).await?;
                return self
                    .send(&error_frame(
                        "internal",
                        "the message could not be answered; resend it",
                    ))
                    .await;
            }
        };
        self.send(&ServerFrame::Ack {
            client_id,
            seq: turn.visitor_seq,
            duplicate: turn.duplicate,
        })
        .await?;
        match turn.pending {
            // The skill answers in its own time: this connection goes on reading (pings, more
            // messages) and receives the answer with every other follower of the session.
            Some(request) => {
                let api = self.api.clone();
                tokio::spawn(async move {
                    if let Err(error) = crate::chat::run_skill(&api, request).await {
                        tracing::error!(?error, "a skill's answer was not stored");
                    }
                });
            }
            None => self.send(&ServerFrame::Typing { on: false }).await?,
        }
        Ok(())
    }
}

fn error_frame(code: &str, message: &str) -> ServerFrame {
    ServerFrame::Error {
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

/// An id of `min`..=64 letters, digits, `-` or `_`.
fn valid_id(id: &str, min: usize) -> bool {
    (min..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The session's stored messages when it is this user's (`None` when it is another's); a
/// new id the client chose is claimed now, stored with its first empty state.
async fn resume(
    api: &crate::Api,
    session_id: &str,
    user_id: &str,
    chosen_by_client: bool,
) -> Result<Option<Vec<crate::storage::MessageRecord>>, crate::storage::StorageError> {
    let history = &api.history;
    let _turn = api.session_locks.lock(session_id).await;
    match history.session(session_id).await? {
        Some(saved) if saved.user_id != user_id => Ok(None),
        Some(_) => history.messages_after(session_id, 0).await,
        None if chosen_by_client => {
            let state = SessionState {
                user_id: user_id.to_owned(),
                conversation: Conversation::default().to_bytes(),
                mode: chatlet_protocol::Mode::Bot,
            };
            let turn = crate::storage::TurnWrite {
                session_id: session_id.to_owned(),
                state: Some(state),
                messages: Vec::new(),
                at: UtcTime::now().rfc3339(),
            };
            history.save(turn).await?.1?;
            Ok(Some(Vec::new()))
        }
        None => Ok(Some(Vec::new())),
    }
}
