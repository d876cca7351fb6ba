//! Renders parsed Markdown ([`crate::markdown`]) as DOM nodes: every text is a text node, and
//! links open in a new tab without access to this page.

use crate::markdown::{Block, Inline};
use leptos::prelude::*;

/// A bot message's text with its formatting.
#[component]
pub(crate) fn MarkdownText(
    /// The message text, in the widget's Markdown.
    text: String,
) -> impl IntoView {
    crate::markdown::parse(&text)
        .into_iter()
        .map(block)
        .collect_view()
}

fn block(block: Block) -> AnyView {
    match block {
        Block::Paragraph(inlines) => view! { <p>{spans(inlines)}</p> }.into_any(),
        Block::List { ordered, items } => {
            let items = items
                .into_iter()
                .map(|item| view! { <li>{spans(item)}</li> })
                .collect_view();
            if ordered {
                view! { <ol>{items}</ol> }.into_any()
            } else {
                view! { <ul>{items}</ul> }.into_any()
            }
        }
    }
}

fn spans(inlines: Vec<Inline>) -> Vec<AnyView> {
    inlines.into_iter().map(inline).collect()
}

fn inline(inline: Inline) -> AnyView {
    match inline {
        Inline::Text(text) => text.into_any(),
        Inline::Strong(inner) => view! { <strong>{spans(inner)}</strong> }.into_any(),
        Inline::Emphasis(inner) => view! { <em>{spans(inner)}</em> }.into_any(),
        Inline::Code(code) => view! { <code>{code}</code> }.into_any(),
        Inline::Link { text, url } => view! {
            <a href=url target="_blank" rel="noopener noreferrer nofollow">{spans(text)}</a>
        }
        .into_any(),
        Inline::Image { alt, url } => view! {
            <img class="chatlet-image" src=url alt=alt loading="lazy" referrerpolicy="no-referrer" />
        }
        .into_any(),
        Inline::LineBreak => view! { <br /> }.into_any(),
    }
}
