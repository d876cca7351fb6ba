//! Fetches the `.chatlet` model over HTTP and hands it to the state; the only network code in the widget.

use crate::state::ChatState;
use chatlet_engine::Model;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Starts loading `url` in the background; the state learns the outcome.
pub(crate) fn load(state: ChatState, url: String) {
    leptos::task::spawn_local(async move {
        match fetch_model(&url).await {
            Ok(model) => state.model_ready(model),
            Err(reason) => state.model_failed(reason),
        }
    });
}

async fn fetch_model(url: &str) -> Result<Model, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("cannot fetch {url}: {}", describe(&e)))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!("cannot fetch {url}: HTTP {}", response.status()));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(|e| describe(&e))?)
        .await
        .map_err(|e| format!("cannot read {url}: {}", describe(&e)))?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    Model::from_bytes(&bytes).map_err(|e| format!("{url}: {e}"))
}

fn describe(error: &JsValue) -> String {
    error
        .as_string()
        .or_else(|| {
            js_sys::JSON::stringify(error)
                .ok()
                .and_then(|s| s.as_string())
        })
        .unwrap_or_default()
}
