//! The transcript: a polite live region that scrolls to the newest message.

use crate::state::{Author, ChatState, Loading};
use leptos::prelude::*;

/// Every message, oldest first. Texts are rendered as text nodes, never as HTML.
#[component]
pub(crate) fn MessageList(
    /// Shared widget state.
    state: ChatState,
) -> impl IntoView {
    let list = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        state.messages.track();
        if let Some(list) = list.get() {
            list.set_scroll_top(list.scroll_height());
        }
    });
    let status = move || {
        match state.model.get() {
        Loading::Pending => Some(view! { <p class="chatlet-status">{state.text.loading}</p> }.into_any()),
        Loading::Failed(reason) => Some(
            view! { <p class="chatlet-status chatlet-error" role="alert">{state.text.load_failed} ": " {reason}</p> }
                .into_any(),
        ),
        Loading::Ready(_) => None,
    }
    };
    view! {
        <div class="chatlet-messages" role="log" aria-live="polite" aria-label=state.text.messages node_ref=list tabindex="0">
            <For each=move || state.messages.get() key=|m| m.id let:message>
                {
                    let (class, who) = match message.author {
                        Author::Visitor => ("chatlet-message chatlet-visitor", state.text.you),
                        Author::Bot => ("chatlet-message chatlet-bot", state.text.bot),
                    };
                    let replies = (!message.buttons.is_empty()).then(|| {
                        let buttons = message
                            .buttons
                            .into_iter()
                            .map(|(title, payload)| {
                                let shown = title.clone();
                                view! {
                                    <button type="button" class="chatlet-quick-reply" on:click=move |_| state.send_as(&shown, &payload)>
                                        {title}
                                    </button>
                                }
                            })
                            .collect_view();
                        view! { <div class="chatlet-quick-replies" role="group" aria-label=state.text.quick_replies>{buttons}</div> }
                    });
                    view! {
                        // The hidden prefix is what the live region announces; the label names the article for navigation.
                        <div class=class role="article" aria-label=who>
                            <span class="chatlet-visually-hidden">{who} ": "</span>
                            <p>{message.text}</p>
                            {replies}
                        </div>
                    }
                }
            </For>
            {status}
        </div>
    }
}
