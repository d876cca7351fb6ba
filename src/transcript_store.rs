//! Keeps a conversation across page reloads: the transcript and the engine's dialogue state in
//! `localStorage`, one entry per model URL, capped in size. Storage that is full, disabled or
//! holds something unreadable is ignored: the widget then simply starts fresh.

use crate::state::{Author, Message, SyncPoint};
use chatlet_engine::Conversation;
use wasm_bindgen::{JsCast, JsValue};

/// At most this many messages are kept (the oldest go first; the outbox, being the newest, last).
const MAX_MESSAGES: usize = 1000;

/// At most this many characters of JSON are stored per conversation (browsers allow about 5 M
/// per site).
const MAX_CHARS: usize = 1_000_000;

/// Bumped when the stored shape changes; other versions are ignored.
const VERSION: f64 = 1.0;

/// What was stored for one widget.
pub(crate) struct Saved {
    /// Oldest first, numbered from 0.
    pub(crate) messages: Vec<Message>,
    pub(crate) conversation: Conversation,
    pub(crate) sync_point: SyncPoint,
}

/// The storage key of the widget that loads `model_url`.
pub(crate) fn key(model_url: &str) -> String {
    format!("chatlet:v1:{model_url}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Reads what was saved under `key`, if anything usable was.
pub(crate) fn load(key: &str) -> Option<Saved> {
    let text = storage()?.get_item(key).ok()??;
    let value = js_sys::JSON::parse(&text).ok()?;
    let get = |object: &JsValue, name: &str| js_sys::Reflect::get(object, &name.into()).ok();
    if get(&value, "v")?.as_f64() != Some(VERSION) {
        return None;
    }
    let conversation = get(&value, "state")?
        .as_string()
        .and_then(|h| unhex(&h))
        .and_then(|bytes| Conversation::from_bytes(&bytes))
        .unwrap_or_default();
    let list: js_sys::Array = get(&value, "messages")?.dyn_into().ok()?;
    let mut messages = Vec::new();
    for item in list.iter() {
        let author = match get(&item, "a")?.as_string()?.as_str() {
            "v" => Author::Visitor,
            "g" => Author::Agent,
            _ => Author::Bot,
        };
        let text = get(&item, "t")?.as_string()?;
        let buttons = get(&item, "b")
            .and_then(|b| b.dyn_into::<js_sys::Array>().ok())
            .map(|b| {
                b.iter()
                    .filter_map(|pair| {
                        let pair: js_sys::Array = pair.dyn_into().ok()?;
                        Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let image = get(&item, "i").and_then(|i| i.as_string());
        let link = get(&item, "l")
            .and_then(|l| l.dyn_into::<js_sys::Array>().ok())
            .and_then(|l| Some((l.get(0).as_string()?, l.get(1).as_string()?)));
        let time = get(&item, "m").and_then(|m| m.as_f64()).unwrap_or(0.0);
        let text_of = |name: &str| get(&item, name).and_then(|v| v.as_string());
        messages.push(Message {
            id: messages.len() as u64,
            author,
            text,
            buttons,
            image,
            link,
            time,
            client_id: text_of("c"),
            outbox: text_of("o"),
            answered_here: get(&item, "h").and_then(|h| h.as_bool()).unwrap_or(false),
            answers: text_of("r"),
        });
    }
    let sync_point = SyncPoint {
        session_id: get(&value, "sid").and_then(|v| v.as_string()),
        last_seq: get(&value, "seq").and_then(|v| v.as_f64()).unwrap_or(0.0) as u64,
        user_id: get(&value, "uid").and_then(|v| v.as_string()),
    };
    Some(Saved {
        messages,
        conversation,
        sync_point,
    })
}

/// Saves the newest messages (as many as fit the caps) and the dialogue state.
pub(crate) fn save(
    key: &str,
    messages: &[Message],
    conversation: &Conversation,
    point: &SyncPoint,
) {
    let Some(storage) = storage() else { return };
    let state = hex(&conversation.to_bytes());
    let mut start = messages.len().saturating_sub(MAX_MESSAGES);
    loop {
        let list = js_sys::Array::new();
        for m in &messages[start..] {
            let item = js_sys::Object::new();
            let author = match m.author {
                Author::Visitor => "v",
                Author::Bot => "b",
                Author::Agent => "g",
            };
            let _ = js_sys::Reflect::set(&item, &"a".into(), &author.into());
            for (name, value) in [("c", &m.client_id), ("o", &m.outbox), ("r", &m.answers)] {
                if let Some(value) = value {
                    let _ = js_sys::Reflect::set(&item, &name.into(), &value.as_str().into());
                }
            }
            if m.answered_here {
                let _ = js_sys::Reflect::set(&item, &"h".into(), &true.into());
            }
            let _ = js_sys::Reflect::set(&item, &"t".into(), &m.text.as_str().into());
            let _ = js_sys::Reflect::set(&item, &"m".into(), &m.time.into());
            if let Some(image) = &m.image {
                let _ = js_sys::Reflect::set(&item, &"i".into(), &image.as_str().into());
            }
            if let Some((title, url)) = &m.link {
                let link = js_sys::Array::of2(&title.as_str().into(), &url.as_str().into());
                let _ = js_sys::Reflect::set(&item, &"l".into(), &link);
            }
            if !m.buttons.is_empty() {
                let buttons = js_sys::Array::new();
                for (title, payload) in &m.buttons {
                    buttons.push(&js_sys::Array::of2(
                        &title.as_str().into(),
                        &payload.as_str().into(),
                    ));
                }
                let _ = js_sys::Reflect::set(&item, &"b".into(), &buttons);
            }
            list.push(&item);
        }
        let record = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&record, &"v".into(), &VERSION.into());
        let _ = js_sys::Reflect::set(&record, &"state".into(), &state.as_str().into());
        let _ = js_sys::Reflect::set(&record, &"messages".into(), &list);
        if let Some(session_id) = &point.session_id {
            let _ = js_sys::Reflect::set(&record, &"sid".into(), &session_id.as_str().into());
        }
        let _ = js_sys::Reflect::set(&record, &"seq".into(), &(point.last_seq as f64).into());
        if let Some(user_id) = &point.user_id {
            let _ = js_sys::Reflect::set(&record, &"uid".into(), &user_id.as_str().into());
        }
        let Some(text) = js_sys::JSON::stringify(&record)
            .ok()
            .and_then(|t| t.as_string())
        else {
            return;
        };
        if text.len() <= MAX_CHARS || start >= messages.len() {
            // A full or disabled storage is not worth an error: the chat keeps working.
            let _ = storage.set_item(key, &text);
            return;
        }
        // Too long: drop the oldest quarter and try again.
        start += (messages.len() - start).div_ceil(4);
    }
}

/// Forgets what was saved under `key`.
pub(crate) fn clear(key: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(key);
    }
}
