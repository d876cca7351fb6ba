//! The widget's state: reactive signals shared by its components, and the send/answer logic.

use crate::options::Options;
use crate::ui_text::UiText;
use chatlet_engine::Model;
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
        // Random variety among response variants; the engine itself takes the number as input.
        let variant = (js_sys::Math::random() * 1e9) as u64;
        self.push(Author::Bot, model.respond(text, variant).text);
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
