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
}

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

impl Options {
    pub(crate) fn from_js(object: &JsValue) -> Result<Options, String> {
        if !object.is_object() {
            return Err("options must be an object such as { model: \"bot.chatlet\" }".to_owned());
        }
        let model = string_field(object, "model")?
            .filter(|m| !m.trim().is_empty())
            .ok_or("option `model` is required: the URL of a .chatlet model")?;
        let title = string_field(object, "title")?.filter(|t| !t.trim().is_empty());
        let language = match string_field(object, "lang")?.as_deref() {
            None | Some("auto") | Some("") => browser_language(),
            Some(lang) => UiLanguage::from_tag(lang).ok_or_else(|| {
                format!(
                    "option `lang` must be \"zh-CN\", \"zh-TW\", \"en\" or \"auto\", not {lang:?}"
                )
            })?,
        };
        let open = match field(object, "open") {
            None => false,
            Some(v) => v.as_bool().ok_or("option `open` must be true or false")?,
        };
        Ok(Options {
            model,
            title,
            language,
            open,
        })
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
