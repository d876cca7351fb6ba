//! The chatlet widget: a Leptos (CSR) chat UI that runs the engine in the browser, and its
//! JavaScript API. This file is the boundary: it converts JS values and errors, nothing more.

// Leptos' #[component] macro generates `pub` props structs inside private modules.
#![allow(unreachable_pub)]

#[cfg(feature = "playground")]
mod bot_trainer;
#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests;
mod composer;
#[cfg(feature = "sync")]
mod connection_status;
mod launcher;
mod markdown;
mod markdown_view;
mod message_list;
mod message_view;
mod model_loader;
// The NLU on its own, for tools (latency benchmark, native-vs-wasm test): authors' build only.
#[cfg(feature = "playground")]
mod nlu_model;
mod options;
mod panel;
#[cfg(feature = "sync")]
mod server_link;
mod state;
mod static_dom;
mod transcript_store;
mod typing_indicator;
mod ui_text;
mod widget;

#[cfg(feature = "playground")]
pub use nlu_model::NluModel;
use options::Options;
use state::{ChatState, Event};
use wasm_bindgen::prelude::*;

/// The widget's stylesheet (`www/chatlet.css`, minified by `build.rs`), placed inside its
/// shadow root so the host page cannot restyle it.
const STYLESHEET: &str = include_str!(concat!(env!("OUT_DIR"), "/chatlet.css"));

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

    /// Calls `callback` on each `event`: `"message"` (`{ author, text, time }`), `"open"`,
    /// `"close"`, or `"connection"` (`{ state }`, also called at once with the current state).
    /// Throws a `TypeError` for any other event name.
    pub fn on(&self, event: &str, callback: js_sys::Function) -> Result<(), JsValue> {
        self.state.subscribe(event_named(event)?, callback);
        Ok(())
    }

    /// Stops calling `callback` for `event`.
    pub fn off(&self, event: &str, callback: js_sys::Function) -> Result<(), JsValue> {
        self.state.unsubscribe(event_named(event)?, &callback);
        Ok(())
    }

    /// Tells the bot about the visitor or the page: `{ name: "Li", plan: "pro" }` sets those
    /// slots, which responses (`{name}`), conditions and actions can use. Values must be
    /// strings, numbers or booleans; throws a `TypeError` naming the first bad field.
    #[wasm_bindgen(js_name = setContext)]
    pub fn set_context(&self, context: JsValue) -> Result<(), JsValue> {
        if !context.is_object() || js_sys::Array::is_array(&context) {
            return Err(js_sys::TypeError::new("chatlet: setContext expects an object").into());
        }
        let mut values = Vec::new();
        for entry in js_sys::Object::entries(context.unchecked_ref()).iter() {
            let pair: js_sys::Array = entry.unchecked_into();
            let key = pair.get(0).as_string().unwrap_or_default();
            let value = pair.get(1);
            let text = if let Some(text) = value.as_string() {
                text
            } else if let Some(number) = value.as_f64() {
                number_text(number)
            } else if let Some(flag) = value.as_bool() {
                flag.to_string()
            } else {
                return Err(js_sys::TypeError::new(&format!(
                    "chatlet: setContext field `{key}` must be a string, number or boolean"
                ))
                .into());
            };
            values.push((key, text));
        }
        self.state.set_context(values);
        Ok(())
    }

    /// Starts over with the model in `bytes` (a `.chatlet` file), for authors' pages that retrain
    /// the bot; throws an `Error` naming what is wrong with the bytes.
    #[wasm_bindgen(js_name = replaceModel)]
    pub fn replace_model(&self, bytes: &[u8]) -> Result<(), JsError> {
        let model = chatlet_engine::Model::from_bytes(bytes)
            .map_err(|e| JsError::new(&format!("chatlet: {e}")))?;
        self.state.replace_model(model);
        Ok(())
    }

    /// True once the model is loaded and the bot can answer.
    #[wasm_bindgen(getter)]
    pub fn ready(&self) -> bool {
        self.state.is_ready()
    }
}

fn event_named(name: &str) -> Result<Event, JsValue> {
    Event::ALL
        .into_iter()
        .find(|e| e.name() == name)
        .ok_or_else(|| {
            js_sys::TypeError::new(&format!(
                "chatlet: unknown event \"{name}\" (events: message, open, close, connection)"
            ))
            .into()
        })
}

/// Mounts the widget into `host` (inside its shadow root) and starts loading the model.
/// `options`: `{ model: string, title?, lang?: "zh-CN" | "zh-TW" | "en" | "auto", open?: boolean,
/// theme?: "auto" | "light" | "dark", server? }`. Throws a `TypeError` when `model` is missing;
/// other bad options are reported on the console and replaced by their defaults.
/// A host that already has an open shadow root (the loader's stand-in launcher) is taken over:
/// its content is replaced, and focus moves to the real launcher if the stand-in had it.
#[wasm_bindgen]
pub fn mount(host: web_sys::HtmlElement, options: JsValue) -> Result<Chatlet, JsValue> {
    console_error_panic_hook::set_once();
    let (options, problems) = Options::from_js(&options)
        .map_err(|message| js_sys::TypeError::new(&format!("chatlet: {message}")))?;
    for problem in problems {
        web_sys::console::error_1(&format!("chatlet: {problem}").into());
    }
    let (shadow, had_focus) = match host.shadow_root() {
        Some(shadow) => {
            let had_focus = shadow.active_element().is_some();
            shadow.set_inner_html("");
            (shadow, had_focus)
        }
        None => (
            host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))
                .map_err(|_| {
                    js_sys::Error::new("chatlet: the host element cannot have a shadow root")
                })?,
            false,
        ),
    };
    let document = host
        .owner_document()
        .ok_or_else(|| js_sys::Error::new("chatlet: the host element has no document"))?;
    let style = document.create_element("style")?;
    style.set_text_content(Some(STYLESHEET));
    shadow.append_child(&style)?;
    let root: web_sys::HtmlElement = document.create_element("div")?.unchecked_into();
    root.set_class_name(options.theme.class());
    shadow.append_child(&root)?;

    let state = ChatState::new(&options);
    let handle = leptos::mount::mount_to(
        root,
        move || leptos::view! { <widget::ChatWidget state focus_launcher=had_focus /> },
    );
    // The widget lives as long as the page; its reactive owner must not be dropped.
    handle.forget();
    #[cfg(feature = "sync")]
    if let Some(server) = options.server.clone() {
        server_link::Link::start(state, server);
    }
    model_loader::load(state, options.model);
    Ok(Chatlet { state })
}

/// The shortest digits that read back as `value`, by JavaScript: Rust's float formatting would
/// add about 10 KB to the widget for these numbers alone.
pub(crate) fn number_text(value: f64) -> String {
    js_sys::Number::from(value)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_else(|_| String::from("0"))
}
