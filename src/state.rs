//! The widget's state: reactive signals shared by its components, and the send/answer logic.

use crate::options::Options;
use crate::ui_text::UiText;
use chatlet_engine::{ActionOutcome, Conversation, Date, Model, ReferenceTime};
use leptos::prelude::*;
use std::sync::Arc;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Author {
    Visitor,
    Bot,
}

/// One message in the transcript.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Message {
    pub(crate) id: u64,
    pub(crate) author: Author,
    pub(crate) text: String,
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
    pub(crate) messages: RwSignal<Vec<Message>>,
    pub(crate) model: RwSignal<Loading>,
    /// Messages sent before the model was ready, answered as soon as it is.
    queued: RwSignal<Vec<String>>,
    /// The next message id; ids only grow, so a message inserted anywhere never reuses one.
    next_id: StoredValue<u64>,
    /// The dialogue state the engine keeps between turns (slots, form, fallback stage).
    conversation: StoredValue<Conversation>,
    title: RwSignal<Option<String>>,
    pub(crate) text: UiText,
}

impl ChatState {
    pub(crate) fn new(options: &Options) -> ChatState {
        ChatState {
            open: RwSignal::new(options.open),
            messages: RwSignal::new(Vec::new()),
            model: RwSignal::new(Loading::Pending),
            queued: RwSignal::new(Vec::new()),
            next_id: StoredValue::new(0),
            conversation: StoredValue::new(Conversation::default()),
            title: RwSignal::new(options.title.clone()),
            text: UiText::for_language(options.language),
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.open.get_untracked()
    }

    pub(crate) fn set_open(&self, open: bool) {
        self.open.set(open);
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

    fn new_message(&self, author: Author, text: String) -> Message {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        Message { id, author, text }
    }

    fn push(&self, author: Author, text: String) {
        let message = self.new_message(author, text);
        self.messages.update(|messages| messages.push(message));
    }

    /// Adds the visitor's message and the bot's answer (or queues it until the model is ready).
    pub(crate) fn send(&self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        self.push(Author::Visitor, text.to_owned());
        match self.model.get_untracked() {
            Loading::Ready(model) => self.answer(&model, text),
            Loading::Pending => self.queued.update(|q| q.push(text.to_owned())),
            Loading::Failed(_) => {}
        }
    }

    fn answer(&self, model: &Model, text: &str) {
        let mut conversation = self.conversation.get_value();
        let mut turn = model.converse(&mut conversation, text, &local_now());
        loop {
            for message in std::mem::take(&mut turn.messages) {
                self.push(Author::Bot, message.text);
            }
            // No page actions are wired up yet: every action gets its fallback.
            let Some(action) = turn.action.take() else {
                break;
            };
            turn = model.action_result(&mut conversation, &action.name, ActionOutcome::Unavailable);
        }
        self.conversation.set_value(conversation);
    }

    /// Called once the model has loaded: shows the welcome and answers what was queued.
    pub(crate) fn model_ready(&self, model: Model) {
        let model = Arc::new(model);
        if let Some(welcome) = model.welcome() {
            // The welcome goes first even when the visitor typed before the model arrived.
            let welcome = self.new_message(Author::Bot, welcome.to_owned());
            self.messages.update(|messages| messages.insert(0, welcome));
        }
        self.model.set(Loading::Ready(model.clone()));
        for text in self.queued.try_update(std::mem::take).unwrap_or_default() {
            self.answer(&model, &text);
        }
    }

    pub(crate) fn model_failed(&self, reason: String) {
        web_sys::console::error_1(&format!("chatlet: {}: {reason}", self.text.load_failed).into());
        self.model.set(Loading::Failed(reason));
    }
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
