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
    /// The loader's stand-in launcher had focus: give it to the real one (when the panel is
    /// open, its input takes focus instead).
    focus_launcher: bool,
) -> impl IntoView {
    let launcher_ref = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) || !focus_launcher {
            return true;
        }
        match launcher_ref.get() {
            Some(launcher) => {
                if !state.is_open() {
                    let _ = launcher.focus();
                }
                true
            }
            None => false,
        }
    });
    view! {
        {move || state.open.get().then(|| view! { <Panel state launcher_ref /> })}
        <Launcher state node_ref=launcher_ref />
    }
}
