//! The widget's state: reactive signals shared by its components, and the send/answer logic.

use crate::options::Options;
use crate::transcript_store;
use crate::ui_text::UiText;
use chatlet_engine::dialogue::ActionRequest;
use chatlet_engine::{ActionOutcome, Conversation, Date, Model, ReferenceTime};
use leptos::prelude::*;
use std::sync::Arc;
use wasm_bindgen::{JsCast, JsValue};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Author {
    Visitor,
    Bot,
    /// A person answering for the bot (human handoff, through the server).
    Agent,
}

/// One message in the transcript.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Message {
    pub(crate) id: u64,
    pub(crate) author: Author,
    pub(crate) text: String,
    /// Quick replies offered with a bot message: `(title, payload)`.
    pub(crate) buttons: Vec<(String, String)>,
    /// An image shown under the text (its URL).
    pub(crate) image: Option<String>,
    /// A link card: `(title, url)`.
    pub(crate) link: Option<(String, String)>,
    /// When it was shown, in milliseconds since 1970 (0 when unknown).
    pub(crate) time: f64,
    /// The id of a visitor message sent through a server, which makes resending it harmless.
    pub(crate) client_id: Option<String>,
    /// What to send while the server has not stored the message (the outbox): the visitor's
    /// text, or a quick reply's payload.
    pub(crate) outbox: Option<String>,
    /// The page answered this visitor message itself while it waited for the server.
    pub(crate) answered_here: bool,
    /// A page-made answer to the visitor message with this client id; the server's answer
    /// replaces it once the server has the message.
    pub(crate) answers: Option<String>,
}

/// How the widget is linked to a chatlet server (the `connection` event's `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "sync"), allow(dead_code))]
pub(crate) enum Connection {
    /// No server configured: the bot answers in the page.
    Local,
    /// Connecting or reconnecting; the page answers meanwhile.
    Connecting,
    Online,
    /// The browser is offline or the server refused the widget; the page answers.
    Offline,
}

impl Connection {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Connection::Local => "local",
            Connection::Connecting => "connecting",
            Connection::Online => "online",
            Connection::Offline => "offline",
        }
    }
}

/// Where the widget is in the server's copy of the conversation.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SyncPoint {
    pub(crate) session_id: Option<String>,
    /// The last server event seen (0: none).
    pub(crate) last_seq: u64,
    /// The visitor's id the widget drew (when the page gave none).
    pub(crate) user_id: Option<String>,
}

/// Where the model is in its loading.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Loading {
    Pending,
    Ready(Arc<Model>),
    Failed(String),
}

/// All widget state. Signals are `Copy`, so the whole struct is passed by value to components.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChatState {
    pub(crate) open: RwSignal<bool>,
    /// Bot messages that arrived while the panel was closed.
    pub(crate) unread: RwSignal<u32>,
    pub(crate) messages: RwSignal<Vec<Message>>,
    pub(crate) model: RwSignal<Loading>,
    /// Messages sent before the model was ready, answered as soon as it is.
    queued: RwSignal<Vec<String>>,
    /// Page actions still running; the typing indicator shows while any is.
    pub(crate) pending_actions: RwSignal<u32>,
    /// `on(event, callback)` subscriptions, in the order they were made.
    listeners: StoredValue<Vec<(Event, js_sys::Function)>, LocalStorage>,
    /// The next message id; ids only grow, so a message inserted anywhere never reuses one.
    next_id: StoredValue<u64>,
    /// The dialogue state the engine keeps between turns (slots, form, fallback stage).
    conversation: StoredValue<Conversation>,
    /// Where the transcript and dialogue state are saved (per model URL).
    storage_key: StoredValue<String>,
    /// Actions the page registered, by name (JavaScript functions stay on this thread). A page
    /// registers a handful, so a list is enough (and smaller in the wasm than a hash map).
    actions: StoredValue<Vec<(String, js_sys::Function)>, LocalStorage>,
    title: RwSignal<Option<String>>,
    pub(crate) text: UiText,
    pub(crate) connection: RwSignal<Connection>,
    /// The server says the bot or an agent is working on an answer.
    pub(crate) server_typing: RwSignal<bool>,
    /// The session and last event the server sent (kept with the transcript).
    pub(crate) sync_point: StoredValue<SyncPoint>,
    /// The page's context (`setContext`), also sent to the server with each message.
    pub(crate) page_context: StoredValue<Vec<(String, String)>>,
    #[cfg(feature = "sync")]
    pub(crate) link: StoredValue<Option<std::rc::Rc<crate::server_link::Link>>, LocalStorage>,
}

impl ChatState {
    pub(crate) fn new(options: &Options) -> ChatState {
        let storage_key = transcript_store::key(&options.model);
        // A reload continues the conversation where it was.
        let saved = transcript_store::load(&storage_key);
        let (messages, conversation, sync_point) = match saved {
            Some(saved) => (saved.messages, saved.conversation, saved.sync_point),
            None => (Vec::new(), Conversation::default(), SyncPoint::default()),
        };
        ChatState {
            open: RwSignal::new(options.open),
            unread: RwSignal::new(0),
            next_id: StoredValue::new(messages.len() as u64),
            messages: RwSignal::new(messages),
            model: RwSignal::new(Loading::Pending),
            queued: RwSignal::new(Vec::new()),
            pending_actions: RwSignal::new(0),
            listeners: StoredValue::new_local(Vec::new()),
            conversation: StoredValue::new(conversation),
            storage_key: StoredValue::new(storage_key),
            actions: StoredValue::new_local(Vec::new()),
            title: RwSignal::new(options.title.clone()),
            text: UiText::for_language(options.language),
            connection: RwSignal::new(Connection::Local),
            server_typing: RwSignal::new(false),
            sync_point: StoredValue::new(sync_point),
            page_context: StoredValue::new(Vec::new()),
            #[cfg(feature = "sync")]
            link: StoredValue::new_local(None),
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.open.get_untracked()
    }

    pub(crate) fn set_open(&self, open: bool) {
        if open {
            self.unread.set(0);
        }
        if open != self.open.get_untracked() {
            self.open.set(open);
            self.emit(
                if open { Event::Open } else { Event::Close },
                &JsValue::UNDEFINED,
            );
        }
    }

    /// Whether the bot is working on an answer: the visitor's words wait for the model, or a
    /// page action runs.
    pub(crate) fn is_typing(&self) -> bool {
        self.pending_actions.get() > 0
            || self.server_typing.get()
            || (self.queued.with(|q| !q.is_empty()) && matches!(self.model.get(), Loading::Pending))
    }

    /// Calls `callback` on every `event` from now on; a `connection` callback is also called at
    /// once with the current state.
    pub(crate) fn subscribe(&self, event: Event, callback: js_sys::Function) {
        if event == Event::Connection {
            let _ = callback.call1(
                &JsValue::NULL,
                &connection_state(self.connection.get_untracked()),
            );
        }
        self.listeners
            .update_value(|listeners| listeners.push((event, callback)));
    }

    /// Removes a subscription made with [`ChatState::subscribe`].
    pub(crate) fn unsubscribe(&self, event: Event, callback: &js_sys::Function) {
        self.listeners.update_value(|listeners| {
            listeners.retain(|(e, f)| !(*e == event && f == callback));
        });
    }

    /// Shows and announces a new connection state.
    #[cfg(feature = "sync")]
    pub(crate) fn set_connection(&self, connection: Connection) {
        if self.connection.get_untracked() != connection {
            self.connection.set(connection);
            self.emit(Event::Connection, &connection_state(connection));
        }
    }

    pub(crate) fn emit(&self, event: Event, payload: &JsValue) {
        let callbacks: Vec<js_sys::Function> = self.listeners.with_value(|listeners| {
            listeners
                .iter()
                .filter(|(e, _)| *e == event)
                .map(|(_, f)| f.clone())
                .collect()
        });
        for callback in callbacks {
            // A listener's error is the page's bug; it must not stop the chat.
            if let Err(error) = callback.call1(&JsValue::NULL, payload) {
                web_sys::console::error_2(
                    &format!("chatlet: an on(\"{}\") listener threw:", event.name()).into(),
                    &error,
                );
            }
        }
    }

    /// Merges `values` into the conversation's slots, where responses and actions can use them.
    pub(crate) fn set_context(&self, values: Vec<(String, String)>) {
        self.page_context.update_value(|context| {
            for (name, value) in &values {
                context.retain(|(n, _)| n != name);
                context.push((name.clone(), value.clone()));
            }
        });
        self.conversation.update_value(|conversation| {
            conversation.slots.extend(values);
        });
        self.persist();
    }

    pub(crate) fn is_ready(&self) -> bool {
        matches!(self.model.get_untracked(), Loading::Ready(_))
    }

    /// The header title: the `title` option, else the bot's name once known.
    pub(crate) fn title(&self) -> String {
        if let Some(title) = self.title.get() {
            return title;
        }
        match self.model.get() {
            Loading::Ready(model) => model.name().to_owned(),
            _ => String::from("chatlet"),
        }
    }

    pub(crate) fn new_message(&self, author: Author, text: String) -> Message {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        Message {
            id,
            author,
            text,
            buttons: Vec::new(),
            image: None,
            link: None,
            time: js_sys::Date::now(),
            client_id: None,
            outbox: None,
            answered_here: false,
            answers: None,
        }
    }

    fn push(&self, author: Author, text: String) {
        let message = self.new_message(author, text);
        self.show(message);
    }

    pub(crate) fn show(&self, message: Message) {
        if message.author != Author::Visitor && !self.open.get_untracked() {
            self.unread.update(|n| *n += 1);
        }
        let payload = message_event(&message);
        self.messages.update(|messages| messages.push(message));
        self.emit(Event::Message, &payload);
    }

    /// Shows a bot message with its quick replies, image and link card.
    fn push_bot(&self, message: chatlet_engine::dialogue::Message) {
        let mut shown = self.new_message(Author::Bot, message.text);
        shown.buttons = message
            .buttons
            .into_iter()
            .map(|b| (b.title, b.payload))
            .collect();
        shown.image = message.image;
        shown.link = message.link.map(|l| (l.title, l.url));
        self.show(shown);
    }

    /// Adds the visitor's message and the bot's answer (or queues it until the model is ready).
    pub(crate) fn send(&self, text: &str) {
        self.send_as(text, text);
    }

    /// A quick reply: the visitor sees `shown` (the button's title), the bot gets `sent` (its
    /// payload, which may name an intent as `/intent`).
    pub(crate) fn send_as(&self, shown: &str, sent: &str) {
        let (shown, text) = (shown.trim(), sent.trim());
        if text.is_empty() || shown.is_empty() {
            return;
        }
        #[cfg(feature = "sync")]
        if let Some(link) = self.link.get_value() {
            let mut message = self.new_message(Author::Visitor, shown.to_owned());
            let client_id = crate::server_link::new_client_id();
            message.client_id = Some(client_id.clone());
            message.outbox = Some(text.to_owned());
            self.show(message);
            // Online, the server answers; otherwise the page does, and the outbox keeps it.
            if !link.send_message(self, &client_id, text) {
                self.answer_here(&client_id);
            }
            self.persist();
            return;
        }
        self.push(Author::Visitor, shown.to_owned());
        match self.model.get_untracked() {
            Loading::Ready(model) => self.answer(&model, text),
            Loading::Pending => self.queued.update(|q| q.push(text.to_owned())),
            Loading::Failed(_) => {}
        }
        self.persist();
    }

    /// Saves the transcript and the dialogue state for the next page load.
    pub(crate) fn persist(&self) {
        self.messages.with_untracked(|messages| {
            self.storage_key.with_value(|key| {
                self.conversation.with_value(|conversation| {
                    self.sync_point.with_value(|point| {
                        transcript_store::save(key, messages, conversation, point)
                    })
                })
            })
        });
    }

    /// Forgets the conversation (transcript, slots, form) and starts over with the welcome.
    pub(crate) fn clear(&self) {
        self.messages.set(Vec::new());
        self.conversation.set_value(Conversation::default());
        // A server-backed widget starts a new server session too (the visitor keeps their id).
        self.sync_point.update_value(|point| {
            point.session_id = None;
            point.last_seq = 0;
        });
        #[cfg(feature = "sync")]
        if let Some(link) = self.link.get_value() {
            link.restart(self);
        }
        self.storage_key
            .with_value(|key| transcript_store::clear(key));
        if let Loading::Ready(model) = self.model.get_untracked()
            && let Some(welcome) = model.welcome()
        {
            self.push(Author::Bot, welcome.to_owned());
        }
        self.persist();
    }

    /// Lets the page run `name` when the bot asks for it (see [`ChatState::run_action`]).
    pub(crate) fn register_action(&self, name: String, handler: js_sys::Function) {
        self.actions.update_value(
            |actions| match actions.iter_mut().find(|(n, _)| *n == name) {
                Some(entry) => entry.1 = handler,
                None => actions.push((name, handler)),
            },
        );
    }

    pub(crate) fn answer(&self, model: &Arc<Model>, text: &str) {
        let mut conversation = self.conversation.get_value();
        let mut turn = model.converse(&mut conversation, text, &local_now());
        self.conversation.set_value(conversation);
        for message in std::mem::take(&mut turn.messages) {
            self.push_bot(message);
        }
        if let Some(action) = turn.action {
            let (state, model) = (*self, model.clone());
            self.pending_actions.update(|n| *n += 1);
            wasm_bindgen_futures::spawn_local(async move {
                let outcomes = state.run_action(&action).await;
                state.pending_actions.update(|n| *n = n.saturating_sub(1));
                let mut conversation = state.conversation.get_value();
                for outcome in outcomes {
                    let turn = model.action_result(&mut conversation, &action.name, outcome);
                    for message in turn.messages {
                        state.push_bot(message);
                    }
                }
                state.conversation.set_value(conversation);
                state.persist();
            });
        }
    }

    /// Calls the page's handler with the slots and waits (up to the action's timeout). The
    /// handler may return (or resolve to) a string to say, or `{ text?, slots? }`; nothing, an
    /// error or a timeout means the action's fallback answers.
    async fn run_action(&self, action: &ActionRequest) -> Vec<ActionOutcome> {
        let Some(handler) = self.actions.with_value(|a| {
            a.iter()
                .find(|(n, _)| *n == action.name)
                .map(|(_, f)| f.clone())
        }) else {
            return vec![ActionOutcome::Unavailable];
        };
        let slots = js_sys::Object::new();
        for (name, value) in action.slots.iter() {
            let _ =
                js_sys::Reflect::set(&slots, &JsValue::from_str(name), &JsValue::from_str(value));
        }
        let returned = match handler.call1(&JsValue::NULL, &slots) {
            Ok(value) => value,
            Err(error) => return action_failed(&action.name, &error),
        };
        let timeout_ms = action.timeout_ms as i32;
        let timer = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_1(
                    &resolve,
                    timeout_ms,
                    &JsValue::from_str(TIMED_OUT),
                );
            }
        });
        let race = js_sys::Promise::race(&js_sys::Array::of2(
            &js_sys::Promise::resolve(&returned),
            &timer,
        ));
        let value = match wasm_bindgen_futures::JsFuture::from(race).await {
            Ok(value) if value.as_string().as_deref() == Some(TIMED_OUT) => {
                web_sys::console::error_1(
                    &format!(
                        "chatlet: action `{}` timed out after {timeout_ms} ms",
                        action.name
                    )
                    .into(),
                );
                return vec![ActionOutcome::Unavailable];
            }
            Ok(value) => value,
            Err(error) => return action_failed(&action.name, &error),
        };
        outcomes(&value)
    }

    /// Called once the model has loaded: shows the welcome and answers what was queued.
    pub(crate) fn model_ready(&self, model: Model) {
        let model = Arc::new(model);
        let restored = self
            .messages
            .with_untracked(|m| m.iter().any(|m| m.author == Author::Bot));
        if let Some(welcome) = model.welcome().filter(|_| !restored) {
            // The welcome goes first even when the visitor typed before the model arrived.
            let welcome = self.new_message(Author::Bot, welcome.to_owned());
            let payload = message_event(&welcome);
            self.messages.update(|messages| messages.insert(0, welcome));
            self.emit(Event::Message, &payload);
        }
        self.model.set(Loading::Ready(model.clone()));
        for text in self.queued.try_update(std::mem::take).unwrap_or_default() {
            self.answer(&model, &text);
        }
        #[cfg(feature = "sync")]
        if self.connection.get_untracked() != Connection::Online {
            self.answer_waiting_here();
        }
        self.persist();
    }

    /// Starts over with another model (an author's page that retrains the bot).
    pub(crate) fn replace_model(&self, model: Model) {
        self.messages.set(Vec::new());
        self.conversation.set_value(Conversation::default());
        self.model_ready(model);
    }

    pub(crate) fn model_failed(&self, reason: String) {
        web_sys::console::error_1(&format!("chatlet: {}: {reason}", self.text.load_failed).into());
        self.model.set(Loading::Failed(reason));
    }
}

/// What the page can subscribe to with `on(name, callback)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// A message was shown (the visitor's or the bot's).
    Message,
    Open,
    Close,
    /// The link to a chatlet server changed state.
    Connection,
}

impl Event {
    pub(crate) const ALL: [Event; 4] =
        [Event::Message, Event::Open, Event::Close, Event::Connection];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Event::Message => "message",
            Event::Open => "open",
            Event::Close => "close",
            Event::Connection => "connection",
        }
    }
}

/// The `connection` event's payload: `{ state: "local" | "connecting" | "online" | "offline" }`.
fn connection_state(connection: Connection) -> JsValue {
    let payload = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&payload, &"state".into(), &connection.name().into());
    payload.into()
}

/// The `message` event's payload: `{ author: "visitor" | "bot" | "agent", text, time }`.
pub(crate) fn message_event(message: &Message) -> JsValue {
    let payload = js_sys::Object::new();
    let author = match message.author {
        Author::Visitor => "visitor",
        Author::Bot => "bot",
        Author::Agent => "agent",
    };
    let _ = js_sys::Reflect::set(&payload, &"author".into(), &author.into());
    let _ = js_sys::Reflect::set(&payload, &"text".into(), &message.text.as_str().into());
    let _ = js_sys::Reflect::set(&payload, &"time".into(), &message.time.into());
    payload.into()
}

/// The visitor's local time, which dates in messages resolve against.
fn local_now() -> ReferenceTime {
    let now = js_sys::Date::new_0();
    let date = Date::new(
        now.get_full_year() as i32,
        now.get_month() + 1,
        now.get_date(),
    )
    .unwrap_or(Date {
        year: 2000,
        month: 1,
        day: 1,
    });
    ReferenceTime {
        date,
        hour: now.get_hours(),
        minute: now.get_minutes(),
    }
}

/// Marks the timer's value in the race against an action.
const TIMED_OUT: &str = "\u{0}chatlet:timed-out";

/// Logs a page action's error; its fallback answers.
fn action_failed(name: &str, error: &JsValue) -> Vec<ActionOutcome> {
    web_sys::console::error_2(&format!("chatlet: action `{name}` failed:").into(), error);
    vec![ActionOutcome::Unavailable]
}

/// What a page action returned, as engine outcomes.
fn outcomes(value: &JsValue) -> Vec<ActionOutcome> {
    if let Some(text) = value.as_string() {
        return vec![ActionOutcome::Replied(text)];
    }
    let Some(object) = value.dyn_ref::<js_sys::Object>() else {
        return vec![ActionOutcome::Unavailable];
    };
    let mut found = Vec::new();
    if let Ok(slots) = js_sys::Reflect::get(object, &"slots".into())
        && let Some(slots) = slots.dyn_ref::<js_sys::Object>()
    {
        let mut set = chatlet_engine::Slots::new();
        for entry in js_sys::Object::entries(slots).iter() {
            let pair: js_sys::Array = entry.unchecked_into();
            if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                set.insert(k, v);
            }
        }
        found.push(ActionOutcome::SetSlots(set));
    }
    if let Ok(text) = js_sys::Reflect::get(object, &"text".into())
        && let Some(text) = text.as_string()
    {
        found.push(ActionOutcome::Replied(text));
    }
    if found.is_empty() {
        found.push(ActionOutcome::Unavailable);
    }
    found
}
