//! The transcript: a polite live region that scrolls to the newest message.

use crate::message_view::MessageView;
use crate::state::{ChatState, Loading};
use crate::typing_indicator::TypingIndicator;
use leptos::prelude::*;

/// Every message, oldest first, then the typing indicator and the loading status.
#[component]
pub(crate) fn MessageList(
    /// Shared widget state.
    state: ChatState,
) -> impl IntoView {
    let list = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        state.messages.track();
        state.is_typing();
        if let Some(list) = list.get() {
            list.set_scroll_top(list.scroll_height());
        }
    });
    let status = move || {
        match state.model.get() {
        Loading::Pending => {
            Some(view! { <p class="chatlet-status">{state.text.loading}</p> }.into_any())
        }
        Loading::Failed(reason) => Some(
            view! { <p class="chatlet-status chatlet-error" role="alert">{state.text.load_failed} ": " {reason}</p> }
                .into_any(),
        ),
        Loading::Ready(_) => None,
    }
    };
    view! {
        <div class="chatlet-messages" role="log" aria-live="polite" aria-label=state.text.messages node_ref=list tabindex="0">
            <For each=move || state.messages.get() key=|m| (m.id, m.outbox.is_some()) let:message>
                <MessageView state message />
            </For>
            <TypingIndicator state />
            {status}
        </div>
    }
}
