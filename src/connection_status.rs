//! The line under the header that tells the visitor how the widget is linked to its server
//! (nothing is shown when there is no server: the bot simply answers in the page).

use crate::state::{ChatState, Connection};
use leptos::prelude::*;

/// `Connected`, `Reconnecting…` or `Offline…`, announced politely when it changes.
#[component]
pub(crate) fn ConnectionStatus(
    /// Shared widget state.
    state: ChatState,
) -> impl IntoView {
    let text = move || match state.connection.get() {
        Connection::Local => "",
        Connection::Online => state.text.online,
        Connection::Connecting => state.text.connecting,
        Connection::Offline => state.text.offline,
    };
    let class = move || match state.connection.get() {
        Connection::Online => "chatlet-connection chatlet-online",
        Connection::Local => "chatlet-connection chatlet-local",
        _ => "chatlet-connection chatlet-degraded",
    };
    view! { <p class=class role="status">{text}</p> }
}
