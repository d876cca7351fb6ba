//! The input box and send button. Enter sends, except while an input method is composing.

use crate::state::ChatState;
use leptos::prelude::*;

/// Where the visitor types.
#[component]
pub(crate) fn Composer(
    /// Shared widget state.
    state: ChatState,
) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    let send = move || {
        if let Some(input) = input.get_untracked() {
            state.send(&input.value());
            input.set_value("");
            let _ = input.focus();
        }
    };
    // Focus the input when the panel opens, so the visitor can type at once.
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });
    view! {
        <form class="chatlet-composer" on:submit=move |ev| { ev.prevent_default(); send(); }>
            <input
                node_ref=input
                type="text"
                enterkeyhint="send"
                autocomplete="off"
                aria-label=state.text.input
                placeholder=state.text.placeholder
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    // Chinese and Japanese input methods use Enter to confirm a candidate.
                    if ev.key() == "Enter" && (ev.is_composing() || ev.key_code() == 229) {
                        ev.prevent_default();
                    }
                }
            />
            <button type="submit" class="chatlet-send">{state.text.send}</button>
        </form>
    }
}
