//! Builds DOM nodes for content that never changes once shown (the transcript's messages):
//! elements, attributes and text nodes only — never HTML, so no text can become markup.

use web_sys::{Document, Element};

/// A new `tag` element with `class` (none when empty), not yet in the document.
pub(crate) fn element(doc: &Document, tag: &str, class: &str) -> Element {
    // Every caller names a literal, valid tag, so creating one cannot throw.
    let element = doc.create_element(tag).expect("a valid tag name");
    if !class.is_empty() {
        element.set_class_name(class);
    }
    element
}

/// Appends a new `tag` element with `class` (none when empty) to `parent`.
pub(crate) fn append(doc: &Document, parent: &Element, tag: &str, class: &str) -> Element {
    let child = element(doc, tag, class);
    let _ = parent.append_child(&child);
    child
}

/// Appends `text` to `parent` as a text node.
pub(crate) fn append_text(doc: &Document, parent: &Element, text: &str) {
    let _ = parent.append_child(&doc.create_text_node(text));
}

/// Sets each `(name, value)` attribute; values are stored as given, never parsed as markup.
pub(crate) fn set_attributes(element: &Element, attributes: &[(&str, &str)]) {
    for (name, value) in attributes {
        // Fails only for an invalid attribute name, and every name here is a literal.
        let _ = element.set_attribute(name, value);
    }
}
