//! Sync with a chatlet server (the `sync` build): one WebSocket speaking `chatlet-protocol`'s
//! frames, an outbox kept in the transcript, reconnection with capped exponential backoff and full
//! jitter, a heartbeat, and the reconciliation of the page's answers with the server's events.
//!
//! The transcript is the server's events in `seq` order, then what the server does not have yet:
//! visitor messages in the outbox (resent after every reconnect; the server stores a client id
//! once) and the answers the page gave them meanwhile. When the server's copy of such a message
//! arrives, the message joins the settled part and the page's answers give way to the server's.

use crate::options::Server;
use crate::state::{Author, ChatState, Connection, Loading, Message, message_event};
use chatlet_protocol::{ClientFrame, ContextValue, Event, ServerFrame};
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// The first retry waits up to this long; each further one up to twice as long as the last.
const BACKOFF_BASE_MS: f64 = 500.0;
/// No retry waits longer than this.
const BACKOFF_CAP_MS: f64 = 30_000.0;
/// A socket silent for this many heartbeats is taken for dead (the server pongs every ping).
const SILENT_HEARTBEATS: f64 = 2.5;
/// After `rate_limited`, the outbox is sent again this much later.
const RATE_LIMIT_RETRY_MS: i32 = 2_000;
/// Close codes after which retrying cannot help: the key or the origin is refused.
const REFUSED: [u16; 2] = [
    chatlet_protocol::close_code::UNAUTHORIZED,
    chatlet_protocol::close_code::FORBIDDEN,
];

/// The widget's link to its server.
pub(crate) struct Link {
    server: Server,
    user_id: String,
    inner: RefCell<Inner>,
}

#[derive(Default)]
struct Inner {
    socket: Option<Socket>,
    /// Sockets closed from this side, kept until the next connect so that no handler is dropped
    /// while it runs.
    retired: Vec<Socket>,
    /// Reconnections tried since the last welcome.
    attempt: u32,
    /// The server sent its welcome on the current socket.
    welcomed: bool,
    heartbeat_ms: f64,
    last_heard: f64,
    retry_timer: Option<i32>,
    heartbeat: Option<(i32, Closure<dyn FnMut()>)>,
    /// The server refused the key or origin: no more retries.
    refused: bool,
    /// The last seen event's `seq` when an event came numbered past the next one and the link
    /// resumed to fetch the missing ones; a second gap there means the server lost them itself.
    resumed_at_gap: Option<u64>,
}

/// A socket and its event handlers (which must live as long as it does).
struct Socket {
    socket: WebSocket,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Socket {
    fn detach(&self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        self.socket.set_onerror(None);
        let _ = self.socket.close();
    }
}

impl Link {
    /// Starts syncing `state` with `server`: connects now, and again whenever the browser comes
    /// back online.
    pub(crate) fn start(state: ChatState, server: Server) -> Rc<Link> {
        let user_id = server.user_id.clone().unwrap_or_else(|| {
            let drawn = state.sync_point.with_value(|p| p.user_id.clone());
            drawn.unwrap_or_else(|| {
                let id = format!("visitor-{}", random_token());
                state
                    .sync_point
                    .update_value(|p| p.user_id = Some(id.clone()));
                id
            })
        });
        let link = Rc::new(Link {
            server,
            user_id,
            inner: RefCell::new(Inner::default()),
        });
        state.link.set_value(Some(link.clone()));
        if let Some(window) = web_sys::window() {
            for (name, online) in [("online", true), ("offline", false)] {
                let link = link.clone();
                let handler = Closure::<dyn FnMut()>::new(move || {
                    if online {
                        link.reconnect_now(state);
                    } else {
                        link.lost(state);
                    }
                });
                let _ =
                    window.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
                // The listeners live as long as the page.
                handler.forget();
            }
        }
        link.connect(state);
        link
    }

    fn connect(self: &Rc<Link>, state: ChatState) {
        let mut inner = self.inner.borrow_mut();
        if inner.refused || inner.socket.is_some() {
            return;
        }
        inner.retired.clear();
        if let Some(timer) = inner.retry_timer.take() {
            clear_timeout(timer);
        }
        inner.welcomed = false;
        let Ok(socket) = WebSocket::new(&self.server.socket_url) else {
            drop(inner);
            state.set_connection(Connection::Offline);
            self.schedule_retry(state);
            return;
        };
        state.set_connection(if is_online() {
            Connection::Connecting
        } else {
            Connection::Offline
        });
        let on_open = {
            let link = self.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| link.hello(state))
        };
        let on_message = {
            let link = self.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let event: MessageEvent = event.unchecked_into();
                if let Some(text) = event.data().as_string() {
                    link.receive(state, &text);
                }
            })
        };
        let on_close = {
            let link = self.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                let event: CloseEvent = event.unchecked_into();
                link.closed(state, event.code(), &event.reason());
            })
        };
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        inner.socket = Some(Socket {
            socket,
            _handlers: vec![on_open, on_message, on_close],
        });
    }

    fn send(&self, frame: &ClientFrame) -> bool {
        let inner = self.inner.borrow();
        let Some(socket) = &inner.socket else {
            return false;
        };
        match serde_json::to_string(frame) {
            Ok(text) => socket.socket.send_with_str(&text).is_ok(),
            Err(_) => false,
        }
    }

    fn hello(&self, state: ChatState) {
        let (session_id, last_seq) = state
            .sync_point
            .with_value(|p| (p.session_id.clone(), p.last_seq));
        self.send(&ClientFrame::Hello {
            key: self.server.key.clone(),
            user_id: self.user_id.clone(),
            session_id,
            last_seq,
        });
    }

    /// Sends a visitor message if the server is there to answer it; `false` means the page
    /// should answer (the message stays in the outbox either way).
    pub(crate) fn send_message(&self, state: &ChatState, client_id: &str, text: &str) -> bool {
        if !self.inner.borrow().welcomed {
            return false;
        }
        let context = state.page_context.with_value(|context| {
            context
                .iter()
                .map(|(k, v)| (k.clone(), ContextValue::Text(v.clone())))
                .collect()
        });
        self.send(&ClientFrame::Message {
            client_id: client_id.to_owned(),
            text: text.to_owned(),
            context,
        })
    }

    /// Sends every message of the outbox again, oldest first.
    fn flush(&self, state: ChatState) {
        let outbox: Vec<(String, String)> = state.messages.with_untracked(|messages| {
            messages
                .iter()
                .filter_map(|m| Some((m.client_id.clone()?, m.outbox.clone()?)))
                .collect()
        });
        for (client_id, text) in outbox {
            if !self.send_message(&state, &client_id, &text) {
                break;
            }
        }
    }

    fn receive(self: &Rc<Link>, state: ChatState, text: &str) {
        self.inner.borrow_mut().last_heard = js_sys::Date::now();
        let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else {
            web_sys::console::warn_1(
                &"chatlet: the server sent a frame this widget cannot read".into(),
            );
            return;
        };
        match frame {
            ServerFrame::Welcome {
                session_id,
                last_seq,
                heartbeat_ms,
            } => {
                state.sync_point.update_value(|p| {
                    // Another session, or a server that lost events: its numbering holds.
                    if p.session_id.as_deref() != Some(session_id.as_str()) || last_seq < p.last_seq
                    {
                        p.last_seq = last_seq;
                    }
                    p.session_id = Some(session_id);
                });
                {
                    let mut inner = self.inner.borrow_mut();
                    inner.welcomed = true;
                    inner.attempt = 0;
                    inner.heartbeat_ms = heartbeat_ms as f64;
                }
                self.start_heartbeat(state, heartbeat_ms as i32);
                state.set_connection(Connection::Online);
                state.persist();
                self.flush(state);
            }
            ServerFrame::Event(event) => {
                // A session's events come numbered without gaps; a gap means one was lost on
                // the way (this widget drops an event numbered below one it has seen, so it
                // must not skip ahead): resume from the last one seen, which replays the gap.
                let last_seq = state.sync_point.with_value(|p| p.last_seq);
                if event.seq > last_seq + 1 {
                    let retried = self.inner.borrow_mut().resumed_at_gap.replace(last_seq);
                    if retried != Some(last_seq) {
                        web_sys::console::warn_1(
                            &"chatlet: an event from the server went missing; resuming".into(),
                        );
                        self.closed(state, 1000, "resume after a gap");
                        self.reconnect_now(state);
                        return;
                    }
                }
                state.server_event(event)
            }
            ServerFrame::Ack { client_id, seq, .. } => state.acknowledged(&client_id, seq),
            ServerFrame::Typing { on } => state.server_typing.set(on),
            ServerFrame::Pong { .. } => {}
            ServerFrame::Error { code, message } => {
                web_sys::console::warn_1(&format!("chatlet: server: {code}: {message}").into());
                if code == "rate_limited" {
                    let link = self.clone();
                    set_timeout(RATE_LIMIT_RETRY_MS, move || link.flush(state));
                }
            }
        }
    }

    fn start_heartbeat(self: &Rc<Link>, state: ChatState, every_ms: i32) {
        self.stop_heartbeat();
        let Some(window) = web_sys::window() else {
            return;
        };
        let link = self.clone();
        let tick = Closure::<dyn FnMut()>::new(move || {
            let (silent_for, limit) = {
                let inner = link.inner.borrow();
                (
                    js_sys::Date::now() - inner.last_heard,
                    inner.heartbeat_ms * SILENT_HEARTBEATS,
                )
            };
            if silent_for > limit {
                link.lost(state);
            } else {
                link.send(&ClientFrame::Ping {
                    t: Some(js_sys::Date::now()),
                });
            }
        });
        if let Ok(id) = window.set_interval_with_callback_and_timeout_and_arguments_0(
            tick.as_ref().unchecked_ref(),
            every_ms.max(1_000),
        ) {
            self.inner.borrow_mut().heartbeat = Some((id, tick));
        }
    }

    fn stop_heartbeat(&self) {
        let heartbeat = self.inner.borrow_mut().heartbeat.take();
        if let (Some((id, _)), Some(window)) = (heartbeat, web_sys::window()) {
            window.clear_interval_with_handle(id);
        }
    }

    /// The socket closed (or was given up): the page answers what waits, and a retry is planned.
    fn closed(self: &Rc<Link>, state: ChatState, code: u16, reason: &str) {
        self.stop_heartbeat();
        {
            let mut inner = self.inner.borrow_mut();
            if let Some(socket) = inner.socket.take() {
                socket.detach();
                inner.retired.push(socket);
            }
            inner.welcomed = false;
            if REFUSED.contains(&code) {
                inner.refused = true;
            }
        }
        state.server_typing.set(false);
        state.answer_waiting_here();
        if REFUSED.contains(&code) {
            web_sys::console::error_1(
                &format!("chatlet: the server refused this widget ({code} {reason}); the bot answers in the page").into(),
            );
            state.set_connection(Connection::Offline);
            return;
        }
        state.set_connection(if is_online() {
            Connection::Connecting
        } else {
            Connection::Offline
        });
        self.schedule_retry(state);
    }

    /// Gives the socket up at once (the browser went offline, or the server fell silent): a
    /// closing handshake would wait on a network that is not there.
    fn lost(self: &Rc<Link>, state: ChatState) {
        if self.inner.borrow().socket.is_some() {
            self.closed(state, 1006, "connection lost");
        } else {
            state.set_connection(Connection::Offline);
        }
    }

    fn schedule_retry(self: &Rc<Link>, state: ChatState) {
        let mut inner = self.inner.borrow_mut();
        if inner.refused || inner.retry_timer.is_some() {
            return;
        }
        // Full jitter: anywhere up to the capped exponential delay, so that the visitors of a
        // restarted server do not all come back at the same moment.
        let ceiling =
            (BACKOFF_BASE_MS * 2f64.powi(inner.attempt.min(16) as i32)).min(BACKOFF_CAP_MS);
        inner.attempt += 1;
        let delay = (js_sys::Math::random() * ceiling) as i32;
        let link = self.clone();
        inner.retry_timer = Some(set_timeout(delay, move || {
            link.inner.borrow_mut().retry_timer = None;
            link.connect(state);
        }));
    }

    fn reconnect_now(self: &Rc<Link>, state: ChatState) {
        {
            let mut inner = self.inner.borrow_mut();
            inner.attempt = 0;
            if let Some(timer) = inner.retry_timer.take() {
                clear_timeout(timer);
            }
        }
        self.connect(state);
    }

    /// Starts a new server session (after "clear conversation").
    pub(crate) fn restart(self: &Rc<Link>, state: &ChatState) {
        let state = *state;
        if self.inner.borrow().socket.is_some() {
            self.closed(state, 1000, "new conversation");
        }
        self.reconnect_now(state);
    }
}

impl ChatState {
    /// The page answers the outbox message `client_id` itself (offline, or while reconnecting);
    /// its answers sit right after the message and give way to the server's later.
    pub(crate) fn answer_here(&self, client_id: &str) {
        let Loading::Ready(model) = self.model.get_untracked() else {
            return; // answered once the model is ready (`model_ready`)
        };
        let Some(text) = self
            .messages
            .try_update(|messages| {
                let message = messages
                    .iter_mut()
                    .find(|m| m.client_id.as_deref() == Some(client_id))?;
                message.answered_here = true;
                message.outbox.clone()
            })
            .flatten()
        else {
            return;
        };
        let before = self.messages.with_untracked(Vec::len);
        self.answer(&model, &text);
        self.messages.update(|messages| {
            let mut answers: Vec<Message> = messages.drain(before.min(messages.len())..).collect();
            for answer in &mut answers {
                answer.answers = Some(client_id.to_owned());
            }
            let at = messages
                .iter()
                .rposition(|m| {
                    m.client_id.as_deref() == Some(client_id)
                        || m.answers.as_deref() == Some(client_id)
                })
                .map_or(messages.len(), |i| i + 1);
            messages.splice(at..at, answers);
        });
    }

    /// Answers, in the page, every outbox message nobody answered yet.
    pub(crate) fn answer_waiting_here(&self) {
        let waiting: Vec<String> = self.messages.with_untracked(|messages| {
            messages
                .iter()
                .filter(|m| m.outbox.is_some() && !m.answered_here)
                .filter_map(|m| m.client_id.clone())
                .collect()
        });
        for client_id in &waiting {
            self.answer_here(client_id);
        }
        if !waiting.is_empty() {
            self.persist();
        }
    }

    /// The server stored the visitor message `client_id` as event `seq`.
    fn acknowledged(&self, client_id: &str, seq: u64) {
        // The event itself follows (or was replayed); an ack for an event this widget has
        // already seen settles the message now.
        if seq <= self.sync_point.with_value(|p| p.last_seq) {
            self.settle(client_id);
            self.persist();
        }
    }

    /// Moves the outbox message `client_id` among the settled ones; the page's answers to it go
    /// (the server's take their place). Returns whether the message was there.
    fn settle(&self, client_id: &str) -> bool {
        self.messages
            .try_update(|messages| {
                let i = messages
                    .iter()
                    .position(|m| m.client_id.as_deref() == Some(client_id))?;
                let mut message = messages.remove(i);
                if message.outbox.take().is_none() {
                    messages.insert(i, message);
                    return Some(true); // settled already
                }
                messages.retain(|m| m.answers.as_deref() != Some(client_id));
                let at = first_unsettled(messages);
                messages.insert(at, message);
                Some(true)
            })
            .flatten()
            .unwrap_or(false)
    }

    /// A conversation event from the server: new ones join the settled part of the transcript.
    fn server_event(&self, event: Event) {
        let last_seq = self.sync_point.with_value(|p| p.last_seq);
        if event.seq <= last_seq {
            return; // seen before (a replay overlapping what this page has)
        }
        self.sync_point.update_value(|p| p.last_seq = event.seq);
        if let Some(client_id) = &event.client_id
            && self.settle(client_id)
        {
            self.persist();
            return;
        }
        let author = match event.author {
            chatlet_protocol::Author::Visitor => Author::Visitor,
            chatlet_protocol::Author::Bot => Author::Bot,
            chatlet_protocol::Author::Agent => Author::Agent,
        };
        let mut message = self.new_message(author, event.text);
        message.client_id = event.client_id;
        message.buttons = event
            .buttons
            .into_iter()
            .map(|b| (b.title, b.payload))
            .collect();
        message.image = event.image;
        message.link = event.link.map(|l| (l.title, l.url));
        let time = js_sys::Date::parse(&event.at);
        if time.is_finite() {
            message.time = time;
        }
        if author != Author::Visitor && !self.open.get_untracked() {
            self.unread.update(|n| *n += 1);
        }
        let payload = message_event(&message);
        self.messages.update(|messages| {
            let at = first_unsettled(messages);
            messages.insert(at, message);
        });
        self.emit(crate::state::Event::Message, &payload);
        self.persist();
    }
}

/// Where the part of the transcript the server does not have yet begins.
fn first_unsettled(messages: &[Message]) -> usize {
    messages
        .iter()
        .position(|m| m.outbox.is_some() || m.answers.is_some())
        .unwrap_or(messages.len())
}

/// A fresh client id for a visitor message: time and randomness, unique enough per session.
pub(crate) fn new_client_id() -> String {
    format!("m{}-{}", js_sys::Date::now() as u64, random_token())
}

fn random_token() -> String {
    let high = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let low = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    format!("{:x}", (high << 32) | low)
}

fn is_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

fn set_timeout(ms: i32, f: impl FnOnce() + 'static) -> i32 {
    let callback = Closure::once_into_js(f);
    web_sys::window()
        .and_then(|w| {
            w.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), ms)
                .ok()
        })
        .unwrap_or(0)
}

fn clear_timeout(id: i32) {
    if let Some(window) = web_sys::window() {
        window.clear_timeout_with_handle(id);
    }
}
