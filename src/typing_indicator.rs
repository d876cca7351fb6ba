//! The "bot is typing" dots, shown while the bot works on an answer.

use crate::state::ChatState;
use leptos::prelude::*;

/// Three animated dots with a status label for assistive technology.
#[component]
pub(crate) fn TypingIndicator(
    /// Shared widget state.
    state: ChatState,
) -> impl IntoView {
    view! {
        {move || state.is_typing().then(|| view! {
            <div class="chatlet-typing" role="status" aria-label=state.text.typing>
                <span aria-hidden="true"></span>
                <span aria-hidden="true"></span>
                <span aria-hidden="true"></span>
            </div>
        })}
    }
}
