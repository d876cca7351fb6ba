//! The transcript: a polite live region that scrolls to the newest message.

use crate::message_view::{PAYLOAD_ATTRIBUTE, QUICK_REPLY_CLASS, message_element};
use crate::state::{ChatState, Loading, Message};
use crate::typing_indicator::TypingIndicator;
use crate::ui_text::UiText;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Element;

/// What identifies a shown message's nodes: its id, and whether it was still unsent (leaving the
/// outbox changes how it looks, so it is built again).
type MessageKey = (u64, bool);

/// Every message, oldest first, then the typing indicator and the loading status.
#[component]
pub(crate) fn MessageList(
    /// Shared widget state.
    state: ChatState,
) -> impl IntoView {
    let list = NodeRef::<leptos::html::Div>::new();
    let items = NodeRef::<leptos::html::Div>::new();
    // Messages never change once shown, so each is built once as plain DOM nodes and kept by its
    // key; a keyed reactive view of the same list cost about 11 KB of the gzipped widget.
    Effect::new(move |shown: Option<Vec<(MessageKey, Element)>>| {
        let shown = shown.unwrap_or_default();
        let shown = match items.get() {
            Some(items) => state
                .messages
                .with(|messages| show(&items, shown, messages, &state.text)),
            None => shown,
        };
        state.is_typing();
        if let Some(list) = list.get() {
            list.set_scroll_top(list.scroll_height());
        }
        shown
    });
    // One handler for every quick reply; the button's text is what the visitor "said".
    let quick_reply = move |ev: leptos::ev::MouseEvent| {
        // The event's target is retargeted to the shadow host outside the shadow root; the
        // composed path still starts at the node clicked.
        let clicked = ev.composed_path().get(0).dyn_into::<Element>().ok();
        let button = clicked.and_then(|e| e.closest(&format!(".{QUICK_REPLY_CLASS}")).ok()?);
        if let Some(button) = button
            && let Some(payload) = button.get_attribute(PAYLOAD_ATTRIBUTE)
        {
            state.send_as(&button.text_content().unwrap_or_default(), &payload);
        }
    };
    // While the model loads: a status line; if it fails: an alert saying why.
    let status = move || {
        let (class, role, text) = match state.model.get() {
            Loading::Pending => ("chatlet-status", None, state.text.loading.to_owned()),
            Loading::Failed(reason) => (
                "chatlet-status chatlet-error",
                Some("alert"),
                format!("{}: {reason}", state.text.load_failed),
            ),
            Loading::Ready(_) => return None,
        };
        Some(view! { <p class=class role=role>{text}</p> })
    };
    view! {
        <div class="chatlet-messages" role="log" aria-live="polite" aria-label=state.text.messages node_ref=list tabindex="0">
            <div class="chatlet-items" node_ref=items on:click=quick_reply></div>
            <TypingIndicator state />
            {status}
        </div>
    }
}

/// Makes `parent`'s children the nodes of `messages`, in order: nodes already shown are kept
/// (and not moved when in place, so the live region announces only new messages), new ones
/// are built, the rest removed. Returns what is shown now.
fn show(
    parent: &Element,
    shown: Vec<(MessageKey, Element)>,
    messages: &[Message],
    text: &UiText,
) -> Vec<(MessageKey, Element)> {
    let doc = leptos::prelude::document();
    let mut old: Vec<Option<(MessageKey, Element)>> = shown.into_iter().map(Some).collect();
    let mut now = Vec::with_capacity(messages.len());
    for message in messages {
        let key = (message.id, message.outbox.is_some());
        let kept = old
            .iter_mut()
            .find(|slot| slot.as_ref().is_some_and(|(k, _)| *k == key))
            .and_then(Option::take);
        let element = match kept {
            Some((_, element)) => element,
            None => message_element(&doc, text, message),
        };
        now.push((key, element));
    }
    for (_, gone) in old.into_iter().flatten() {
        gone.remove();
    }
    let mut next = parent.first_child();
    for (_, element) in &now {
        let node: &web_sys::Node = element;
        if next.as_ref() == Some(node) {
            next = node.next_sibling();
        } else {
            let _ = parent.insert_before(node, next.as_ref());
        }
    }
    now
}
