//! The chat panel: header with title and close button, the message list, and the composer.

use crate::composer::Composer;
#[cfg(feature = "sync")]
use crate::connection_status::ConnectionStatus;
use crate::message_list::MessageList;
use crate::state::ChatState;
use leptos::prelude::*;

/// The open chat window. Escape closes it and returns focus to the launcher.
#[component]
pub(crate) fn Panel(
    /// Shared widget state.
    state: ChatState,
    /// The launcher, focused again when the panel closes.
    launcher_ref: NodeRef<leptos::html::Button>,
) -> impl IntoView {
    let close = move || {
        state.set_open(false);
        if let Some(launcher) = launcher_ref.get_untracked() {
            let _ = launcher.focus();
        }
    };
    view! {
        <section
            class="chatlet-panel"
            role="dialog"
            aria-label=move || state.title()
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape" {
                    ev.prevent_default();
                    close();
                }
            }
        >
            <header class="chatlet-header">
                <h2>{move || state.title()}</h2>
                <button class="chatlet-close" type="button" aria-label=state.text.clear_conversation title=state.text.clear_conversation on:click=move |_| state.clear()>
                    "↺"
                </button>
                <button class="chatlet-close" type="button" aria-label=state.text.close_chat on:click=move |_| close()>
                    "×"
                </button>
            </header>
            {
                // Only a server-synced widget has a connection to tell the visitor about.
                #[cfg(feature = "sync")]
                view! { <ConnectionStatus state /> }
            }
            <MessageList state />
            <Composer state />
        </section>
    }
}
