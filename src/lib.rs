//! The chatlet widget: a Leptos (CSR) chat UI that runs the engine in the browser, and its
//! JavaScript API. This file is the boundary: it converts JS values and errors, nothing more.

// Leptos' #[component] macro generates `pub` props structs inside private modules.
#![allow(unreachable_pub)]

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests;
mod composer;
mod launcher;
mod message_list;
mod model_loader;
mod nlu_model;
mod options;
mod panel;
mod state;
mod transcript_store;
mod ui_text;
mod widget;

pub use nlu_model::NluModel;
use options::Options;
use state::ChatState;
use wasm_bindgen::prelude::*;

/// The widget's stylesheet, placed inside its shadow root so the host page cannot restyle it.
const STYLESHEET: &str = include_str!("../www/chatlet.css");

/// A mounted widget, returned by [`mount`].
#[wasm_bindgen]
pub struct Chatlet {
    state: ChatState,
}

#[wasm_bindgen]
impl Chatlet {
    /// Opens the chat panel.
    pub fn open(&self) {
        self.state.set_open(true);
    }

    /// Closes the chat panel.
    pub fn close(&self) {
        self.state.set_open(false);
    }

    /// Opens the panel if it is closed, closes it otherwise.
    pub fn toggle(&self) {
        self.state.set_open(!self.state.is_open());
    }

    /// Forgets the conversation (transcript, slots, open form) and starts over.
    pub fn clear(&self) {
        self.state.clear();
    }

    /// Sends a message as if the visitor had typed it.
    pub fn send(&self, text: &str) {
        self.state.send(text);
    }

    /// Registers `handler(slots)` for the bot's action `name`. It may return (or resolve to) a
    /// string to say, or `{ text?, slots? }`; if it throws, returns nothing or exceeds the
    /// action's timeout, the bot answers with the action's fallback.
    #[wasm_bindgen(js_name = registerAction)]
    pub fn register_action(&self, name: String, handler: js_sys::Function) {
        self.state.register_action(name, handler);
    }

    /// True once the model is loaded and the bot can answer.
    #[wasm_bindgen(getter)]
    pub fn ready(&self) -> bool {
        self.state.is_ready()
    }
}

/// Mounts the widget into `host` (inside a new shadow root) and starts loading the model.
/// `options`: `{ model: string, title?: string, lang?: "zh-CN" | "en" | "auto", open?: boolean }`.
/// Throws a `TypeError` naming the bad field when the options are invalid.
#[wasm_bindgen]
pub fn mount(host: web_sys::HtmlElement, options: JsValue) -> Result<Chatlet, JsValue> {
    console_error_panic_hook::set_once();
    let options = Options::from_js(&options)
        .map_err(|message| js_sys::TypeError::new(&format!("chatlet: {message}")))?;
    let shadow = host
        .attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
        .map_err(|_| js_sys::Error::new("chatlet: the host element cannot have a shadow root"))?;
    let document = host
        .owner_document()
        .ok_or_else(|| js_sys::Error::new("chatlet: the host element has no document"))?;
    let style = document.create_element("style")?;
    style.set_text_content(Some(STYLESHEET));
    shadow.append_child(&style)?;
    let root: web_sys::HtmlElement = document.create_element("div")?.unchecked_into();
    root.set_class_name("chatlet-root");
    shadow.append_child(&root)?;

    let state = ChatState::new(&options);
    let handle =
        leptos::mount::mount_to(root, move || leptos::view! { <widget::ChatWidget state /> });
    // The widget lives as long as the page; its reactive owner must not be dropped.
    handle.forget();
    model_loader::load(state, options.model);
    Ok(Chatlet { state })
}
