//! The floating round button that opens and closes the chat.

use crate::state::ChatState;
use leptos::prelude::*;

/// The launcher button; its label says what pressing it will do.
#[component]
pub(crate) fn Launcher(
    /// Shared widget state.
    state: ChatState,
    /// Lets the panel give focus back to the launcher when it closes.
    node_ref: NodeRef<leptos::html::Button>,
) -> impl IntoView {
    let label = move || {
        if state.open.get() {
            return state.text.close_chat.to_owned();
        }
        match state.unread.get() {
            0 => state.text.open_chat.to_owned(),
            n => format!("{}{}", state.text.open_chat, (state.text.unread)(n)),
        }
    };
    view! {
        <button
            class="chatlet-launcher"
            type="button"
            node_ref=node_ref
            aria-label=label
            aria-expanded=move || state.open.get().to_string()
            on:click=move |_| state.set_open(!state.is_open())
        >
            <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                <path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z" />
            </svg>
            // The count is in the button's label for assistive technology; the badge is for the eye.
            {move || (state.unread.get() > 0 && !state.open.get()).then(|| view! {
                <span class="chatlet-badge" aria-hidden="true">{move || state.unread.get().min(99)}</span>
            })}
        </button>
    }
}
