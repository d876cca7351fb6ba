//! One message in the transcript: its text (Markdown for the bot, plain for the visitor), image,
//! link card, quick replies and time.

use crate::markdown::{safe_image, safe_link};
use crate::markdown_view::MarkdownText;
use crate::state::{Author, ChatState, Message};
use leptos::prelude::*;

/// A message as an article named by its author and time.
#[component]
pub(crate) fn MessageView(
    /// Shared widget state.
    state: ChatState,
    message: Message,
) -> impl IntoView {
    let (class, who) = match message.author {
        Author::Visitor => ("chatlet-message chatlet-visitor", state.text.you),
        Author::Bot => ("chatlet-message chatlet-bot", state.text.bot),
        Author::Agent => (
            "chatlet-message chatlet-bot chatlet-agent",
            state.text.agent,
        ),
    };
    let time = clock_time(message.time, state.text.locale);
    let mut label = match &time {
        Some(time) => format!("{who}, {time}"),
        None => who.to_owned(),
    };
    // Still in the outbox: the server has not got it yet.
    let not_sent = message.outbox.is_some().then(|| {
        label = format!("{label}, {}", state.text.not_sent);
        view! { <span class="chatlet-time chatlet-not-sent">{state.text.not_sent}</span> }
    });
    // The visitor's words are shown exactly as typed; only the bot's answers are Markdown.
    let body = match message.author {
        Author::Visitor => view! { <p>{message.text}</p> }.into_any(),
        Author::Bot | Author::Agent => {
            view! { <div class="chatlet-text"><MarkdownText text=message.text /></div> }.into_any()
        }
    };
    let image = message.image.as_deref().and_then(safe_image).map(|url| {
        view! { <img class="chatlet-image" src=url alt=state.text.image loading="lazy" referrerpolicy="no-referrer" /> }
    });
    let card = message.link.map(|(title, url)| match safe_link(&url) {
        Some(url) => {
            let host = host_of(&url);
            view! {
                <a class="chatlet-card" href=url target="_blank" rel="noopener noreferrer nofollow">
                    <span class="chatlet-card-title">{title}</span>
                    <span class="chatlet-card-host">{host}</span>
                </a>
            }
            .into_any()
        }
        None => view! { <p class="chatlet-card">{title}</p> }.into_any(),
    });
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
    let shown_time =
        time.map(|time| view! { <span class="chatlet-time" aria-hidden="true">{time}</span> });
    view! {
        // The hidden prefix is what the live region announces; the label names the article for navigation.
        <div class=class role="article" aria-label=label>
            <span class="chatlet-visually-hidden">{who} ": "</span>
            {body}
            {image}
            {card}
            {shown_time}
            {not_sent}
            {replies}
        </div>
    }
}

/// `10:32` (or the locale's form) for a time in milliseconds since 1970; the date is added when
/// it is not today.
fn clock_time(time: f64, locale: &str) -> Option<String> {
    if time <= 0.0 {
        return None;
    }
    let date = js_sys::Date::new(&time.into());
    let options = js_sys::Object::new();
    for (key, value) in [("hour", "2-digit"), ("minute", "2-digit")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    let today = js_sys::Date::new_0();
    let same_day = date.get_full_year() == today.get_full_year()
        && date.get_month() == today.get_month()
        && date.get_date() == today.get_date();
    if !same_day {
        for (key, value) in [("month", "numeric"), ("day", "numeric")] {
            let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
        }
    }
    Some(String::from(date.to_locale_string(locale, &options)))
}

/// `example.com` for `https://example.com/a/b`; the URL itself when it has no host.
fn host_of(url: &str) -> String {
    url.split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(rest))
        .unwrap_or(url)
        .to_owned()
}
