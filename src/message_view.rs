//! One message of the transcript as DOM nodes: its text (Markdown for the bot, plain for the
//! visitor), image, link card, time, "not sent" mark and quick replies. A message never changes
//! once shown, so it is built once, without a reactive view.

use crate::markdown::{safe_image, safe_link};
use crate::markdown_view::{append_markdown, image_attributes, link_attributes};
use crate::state::{Author, Message};
use crate::static_dom::{append, append_text, element, set_attributes};
use crate::ui_text::UiText;
use web_sys::{Document, Element};

/// The class of a quick-reply button: the transcript's click handler finds the button by it.
pub(crate) const QUICK_REPLY_CLASS: &str = "chatlet-quick-reply";
/// The attribute of a quick-reply button that holds the payload it sends.
pub(crate) const PAYLOAD_ATTRIBUTE: &str = "data-payload";

/// A message as an article named by its author and time, complete but not yet in the document
/// (so that the live region sees it arrive whole).
pub(crate) fn message_element(doc: &Document, text: &UiText, message: &Message) -> Element {
    let (class, who) = match message.author {
        Author::Visitor => ("chatlet-message chatlet-visitor", text.you),
        Author::Bot => ("chatlet-message chatlet-bot", text.bot),
        Author::Agent => ("chatlet-message chatlet-bot chatlet-agent", text.agent),
    };
    let article = element(doc, "div", class);
    // The hidden prefix is what the live region announces; the label names the article for navigation.
    append_text(
        doc,
        &append(doc, &article, "span", "chatlet-visually-hidden"),
        &format!("{who}: "),
    );
    match message.author {
        // The visitor's words are shown exactly as typed; only the bot's answers are Markdown.
        Author::Visitor => append_text(doc, &append(doc, &article, "p", ""), &message.text),
        Author::Bot | Author::Agent => append_markdown(
            doc,
            &append(doc, &article, "div", "chatlet-text"),
            &message.text,
        ),
    }
    if let Some(url) = message.image.as_deref().and_then(safe_image) {
        let image = append(doc, &article, "img", "chatlet-image");
        set_attributes(&image, &image_attributes(&url, text.image));
    }
    if let Some((title, url)) = &message.link {
        match safe_link(url) {
            Some(url) => {
                let card = append(doc, &article, "a", "chatlet-card");
                set_attributes(&card, &link_attributes(&url));
                append_text(
                    doc,
                    &append(doc, &card, "span", "chatlet-card-title"),
                    title,
                );
                append_text(
                    doc,
                    &append(doc, &card, "span", "chatlet-card-host"),
                    &host_of(&url),
                );
            }
            None => append_text(doc, &append(doc, &article, "p", "chatlet-card"), title),
        }
    }
    let time = clock_time(message.time, text.locale);
    let mut label = who.to_owned();
    if let Some(time) = &time {
        let shown = append(doc, &article, "span", "chatlet-time");
        set_attributes(&shown, &[("aria-hidden", "true")]);
        append_text(doc, &shown, time);
        label = format!("{label}, {time}");
    }
    // Still in the outbox: the server has not got it yet.
    if message.outbox.is_some() {
        let mark = append(doc, &article, "span", "chatlet-time chatlet-not-sent");
        append_text(doc, &mark, text.not_sent);
        label = format!("{label}, {}", text.not_sent);
    }
    if !message.buttons.is_empty() {
        let group = append(doc, &article, "div", "chatlet-quick-replies");
        set_attributes(
            &group,
            &[("role", "group"), ("aria-label", text.quick_replies)],
        );
        for (title, payload) in &message.buttons {
            let button = append(doc, &group, "button", QUICK_REPLY_CLASS);
            set_attributes(&button, &[("type", "button"), (PAYLOAD_ATTRIBUTE, payload)]);
            append_text(doc, &button, title);
        }
    }
    set_attributes(&article, &[("role", "article"), ("aria-label", &label)]);
    article
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
