//! The whole widget: the launcher button and, when open, the chat panel.

use crate::launcher::Launcher;
use crate::panel::Panel;
use crate::state::ChatState;
use leptos::prelude::*;

/// The widget's root component.
#[component]
pub(crate) fn ChatWidget(
    /// Shared widget state.
    state: ChatState,
) -> impl IntoView {
    let launcher_ref = NodeRef::<leptos::html::Button>::new();
    view! {
        <Show when=move || state.open.get()>
            <Panel state launcher_ref />
        </Show>
        <Launcher state node_ref=launcher_ref />
    }
}
