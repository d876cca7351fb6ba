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
    /// The chatlet server to sync with (the `sync` build), its public key and the visitor's id.
    #[cfg_attr(not(feature = "sync"), allow(dead_code))]
    pub(crate) server: Option<Server>,
}

/// Where and as whom the widget syncs.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "sync"), allow(dead_code))]
pub(crate) struct Server {
    /// The socket URL: `ws(s)://host/api/v1/ws`.
    pub(crate) socket_url: String,
    pub(crate) key: String,
    /// The site's id for the visitor; the widget draws and keeps one when the page gives none.
    pub(crate) user_id: Option<String>,
}

/// Every option `mount` knows; anything else is reported as a likely typo.
const KNOWN: [&str; 8] = [
    "model", "title", "lang", "open", "theme", "server", "key", "userId",
];

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
                format!("option `lang` must be \"zh-CN\", \"zh-TW\", \"en\" or \"auto\", not \"{tag}\"")
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
                    "option `theme` must be \"auto\", \"light\" or \"dark\", not \"{other}\"; using the default"
                ));
                Theme::Auto
            }
        };
        let server = report(string_field(object, "server").and_then(|server| match server {
            Some(url) => socket_url(&url).map(Some).ok_or_else(|| {
                format!("option `server` must be a ws://, wss://, http:// or https:// URL, not \"{url}\"")
            }),
            None => Ok(None),
        }), &mut problems);
        let key = report(string_field(object, "key"), &mut problems);
        let user_id =
            report(string_field(object, "userId"), &mut problems).filter(|u| !u.trim().is_empty());
        let server = match (server, key) {
            (Some(socket_url), Some(key)) if cfg!(feature = "sync") => Some(Server {
                socket_url,
                key,
                user_id,
            }),
            (Some(_), _) if !cfg!(feature = "sync") => {
                problems.push("option `server`: this build has no server sync (the script tag and `mount` load the sync build when `server` is set); the bot answers in the page".to_owned());
                None
            }
            (Some(_), None) => {
                problems.push("option `server` needs `key` (the server's public key); the bot answers in the page".to_owned());
                None
            }
            _ => None,
        };
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
                server,
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

/// The socket URL of a server given as `wss://host`, `https://host/` or already as the socket's
/// own URL; `None` for anything that is not an http(s) or ws(s) URL.
fn socket_url(server: &str) -> Option<String> {
    let (scheme, rest) = server.split_once("://")?;
    let scheme = match scheme {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        _ => return None,
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        return None;
    }
    let path = if rest.ends_with("/api/v1/ws") {
        ""
    } else {
        "/api/v1/ws"
    };
    Some(format!("{scheme}://{rest}{path}"))
}
