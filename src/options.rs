//! The options passed to `mount`, read from a JS object and checked field by field.

use wasm_bindgen::{JsCast, JsValue};

/// Which language the widget's own labels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UiLanguage {
    /// zh-CN and other simplified-script Chinese.
    Chinese,
    /// zh-TW, zh-HK, zh-MO and zh-Hant.
    TraditionalChinese,
    English,
}

impl UiLanguage {
    /// The UI language for a BCP 47 tag; `None` for languages the widget has no labels in.
    fn from_tag(tag: &str) -> Option<UiLanguage> {
        let tag = tag.to_ascii_lowercase();
        if ["zh-tw", "zh-hk", "zh-mo", "zh-hant"]
            .iter()
            .any(|t| tag.starts_with(t))
        {
            Some(UiLanguage::TraditionalChinese)
        } else if tag.starts_with("zh") {
            Some(UiLanguage::Chinese)
        } else if tag.starts_with("en") {
            Some(UiLanguage::English)
        } else {
            None
        }
    }
}

/// The color scheme: the visitor's preference (`Auto`) or one fixed by the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Theme {
    Auto,
    Light,
    Dark,
}

impl Theme {
    /// The class the root element carries for this theme.
    pub(crate) fn class(self) -> &'static str {
        match self {
            Theme::Auto => "chatlet-root",
            Theme::Light => "chatlet-root chatlet-light",
            Theme::Dark => "chatlet-root chatlet-dark",
        }
    }
}

/// Checked widget options.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// URL of the `.chatlet` model.
    pub(crate) model: String,
    /// Title shown in the panel header; the bot's name when absent.
    pub(crate) title: Option<String>,
    pub(crate) language: UiLanguage,
    /// Start with the panel open.
    pub(crate) open: bool,
    pub(crate) theme: Theme,
}

/// Every option `mount` knows; anything else is reported as a likely typo.
const KNOWN: [&str; 6] = ["model", "title", "lang", "open", "theme", "server"];

fn field(object: &JsValue, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(object, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn string_field(object: &JsValue, name: &str) -> Result<Option<String>, String> {
    match field(object, name) {
        None => Ok(None),
        Some(value) => match value.as_string() {
            Some(s) => Ok(Some(s)),
            None => Err(format!("option `{name}` must be a string")),
        },
    }
}

/// The value of a field that may be absent; a bad one is added to `problems` and read as absent.
fn report(result: Result<Option<String>, String>, problems: &mut Vec<String>) -> Option<String> {
    result.unwrap_or_else(|problem| {
        problems.push(format!("{problem}; using the default"));
        None
    })
}

impl Options {
    /// Reads the options. Only a missing or unusable `model` (or options that are not an object)
    /// is an error; a bad optional value is reported in the returned problems and replaced by its
    /// default, so that the visitor still gets a working widget.
    pub(crate) fn from_js(object: &JsValue) -> Result<(Options, Vec<String>), String> {
        if !object.is_object() {
            return Err("options must be an object such as { model: \"bot.chatlet\" }".to_owned());
        }
        let model = string_field(object, "model")?
            .filter(|m| !m.trim().is_empty())
            .ok_or("option `model` is required: the URL of a .chatlet model")?;
        let mut problems = Vec::new();
        let title =
            report(string_field(object, "title"), &mut problems).filter(|t| !t.trim().is_empty());
        let language = report(string_field(object, "lang").and_then(|lang| match lang.as_deref() {
            None | Some("auto") | Some("") => Ok(None),
            Some(tag) => UiLanguage::from_tag(tag).map(|_| lang.clone()).ok_or_else(|| {
                format!("option `lang` must be \"zh-CN\", \"zh-TW\", \"en\" or \"auto\", not {tag:?}")
            }),
        }), &mut problems)
        .and_then(|tag| UiLanguage::from_tag(&tag))
        .unwrap_or_else(browser_language);
        let theme = match report(string_field(object, "theme"), &mut problems).as_deref() {
            None | Some("auto") => Theme::Auto,
            Some("light") => Theme::Light,
            Some("dark") => Theme::Dark,
            Some(other) => {
                problems.push(format!(
                    "option `theme` must be \"auto\", \"light\" or \"dark\", not {other:?}; using the default"
                ));
                Theme::Auto
            }
        };
        // Checked now so that a page written for a server-backed widget gets told; syncing with a
        // chatlet server is not in this widget yet, which answers locally.
        let server = report(string_field(object, "server").and_then(|server| match server {
            Some(url) if !["ws://", "wss://", "http://", "https://"].iter().any(|p| url.starts_with(p)) => Err(
                format!("option `server` must be a ws://, wss://, http:// or https:// URL, not {url:?}"),
            ),
            other => Ok(other),
        }), &mut problems);
        if server.is_some() {
            problems.push("option `server`: syncing with a chatlet server is not available in this version, the bot answers in the page".to_owned());
        }
        let open = match field(object, "open") {
            None => false,
            Some(v) => v.as_bool().unwrap_or_else(|| {
                problems.push("option `open` must be true or false; using the default".to_owned());
                false
            }),
        };
        for key in js_sys::Object::keys(object.unchecked_ref::<js_sys::Object>()).iter() {
            if let Some(key) = key.as_string()
                && !KNOWN.contains(&key.as_str())
            {
                problems.push(format!(
                    "unknown option `{key}` ignored (known options: {})",
                    KNOWN.join(", ")
                ));
            }
        }
        Ok((
            Options {
                model,
                title,
                language,
                open,
                theme,
            },
            problems,
        ))
    }
}

fn browser_language() -> UiLanguage {
    let language = web_sys::window()
        .map(|w| w.navigator())
        .and_then(|n| js_sys::Reflect::get(n.unchecked_ref(), &JsValue::from_str("language")).ok())
        .and_then(|l| l.as_string())
        .unwrap_or_default();
    UiLanguage::from_tag(&language).unwrap_or(UiLanguage::English)
}
