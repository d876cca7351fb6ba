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
            state.text.close_chat
        } else {
            state.text.open_chat
        }
    };
    view! {
        <button
            class="chatlet-launcher"
            type="button"
            node_ref=node_ref
            aria-label=label
            aria-expanded=move || state.open.get().to_string()
            on:click=move |_| state.open.update(|open| *open = !*open)
        >
            <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                <path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z" />
            </svg>
        </button>
    }
}
