//! Renders parsed Markdown ([`crate::markdown`]) as DOM nodes: every text is a text node, and
//! links open in a new tab without access to this page.

use crate::markdown::{Block, Inline};
use crate::static_dom::{append, append_text, set_attributes};
use web_sys::{Document, Element};

/// Appends a bot message's text, with its formatting, to `parent`.
pub(crate) fn append_markdown(doc: &Document, parent: &Element, text: &str) {
    for block in crate::markdown::parse(text) {
        match block {
            Block::Paragraph(inlines) => {
                append_inlines(doc, &append(doc, parent, "p", ""), inlines)
            }
            Block::List { ordered, items } => {
                let list = append(doc, parent, if ordered { "ol" } else { "ul" }, "");
                for item in items {
                    append_inlines(doc, &append(doc, &list, "li", ""), item);
                }
            }
        }
    }
}

fn append_inlines(doc: &Document, parent: &Element, inlines: Vec<Inline>) {
    for inline in inlines {
        match inline {
            Inline::Text(text) => append_text(doc, parent, &text),
            Inline::Strong(inner) => append_inlines(doc, &append(doc, parent, "strong", ""), inner),
            Inline::Emphasis(inner) => append_inlines(doc, &append(doc, parent, "em", ""), inner),
            Inline::Code(code) => append_text(doc, &append(doc, parent, "code", ""), &code),
            Inline::Link { text, url } => {
                let link = append(doc, parent, "a", "");
                set_attributes(&link, &link_attributes(&url));
                append_inlines(doc, &link, text);
            }
            Inline::Image { alt, url } => {
                let image = append(doc, parent, "img", "chatlet-image");
                set_attributes(&image, &image_attributes(&url, &alt));
            }
            Inline::LineBreak => {
                append(doc, parent, "br", "");
            }
        }
    }
}

/// A link to `url` (already checked by [`crate::markdown::safe_link`]) that opens in a new tab
/// with no access to this page and no referrer.
pub(crate) fn link_attributes(url: &str) -> [(&str, &str); 3] {
    [
        ("href", url),
        ("target", "_blank"),
        ("rel", "noopener noreferrer nofollow"),
    ]
}

/// An image from `url` (already checked by [`crate::markdown::safe_image`]), loaded lazily and
/// without a referrer.
pub(crate) fn image_attributes<'a>(url: &'a str, alt: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("src", url),
        ("alt", alt),
        ("loading", "lazy"),
        ("referrerpolicy", "no-referrer"),
    ]
}
