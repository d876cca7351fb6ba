//! `NluModel`: the engine's understanding of an utterance (intent, confidence, ranking,
//! entities) exposed to JavaScript without the chat UI, for authors' tools and for checking that
//! wasm predicts exactly what the native CLI predicts.

use chatlet_engine::{Model, ReferenceTime, Understanding};
use std::fmt::Write;
use wasm_bindgen::prelude::*;

/// A loaded model.
#[wasm_bindgen]
pub struct NluModel {
    model: Model,
}

#[wasm_bindgen]
impl NluModel {
    /// Loads a `.chatlet` model file; throws an `Error` naming what is wrong with the bytes.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<NluModel, JsError> {
        Model::from_bytes(bytes)
            .map(|model| NluModel { model })
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// Understands one utterance; returns JSON in the shape of `chatlet predict`'s lines:
    /// `{"text", "intent", "confidence", "ranking": [{"intent", "confidence"}], "entities": [...]}`.
    /// `now` (`YYYY-MM-DDTHH:MM`, local time) resolves dates; without it none are extracted.
    pub fn understand(&self, text: &str, now: Option<String>) -> Result<String, JsError> {
        let now = match now {
            Some(now) => Some(ReferenceTime::parse(&now).ok_or_else(|| {
                JsError::new(&format!("now: expected YYYY-MM-DDTHH:MM, got {now:?}"))
            })?),
            None => None,
        };
        Ok(to_json(text, &self.model.understand(text, now.as_ref())))
    }
}

/// Writes the JSON by hand: serde_json would add to every widget download for this one object.
fn to_json(text: &str, u: &Understanding) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"text\":");
    string(&mut out, text);
    out.push_str(",\"intent\":");
    string(&mut out, u.intent.as_deref().unwrap_or("oos"));
    // Widened to f64 as the CLI's serde_json does, so both print the same number.
    out.push_str(",\"confidence\":");
    out.push_str(&crate::number_text(f64::from(u.confidence)));
    out.push_str(",\"ranking\":[");
    for (i, (intent, confidence)) in u.ranking.iter().enumerate() {
        out.push_str(if i == 0 {
            "{\"intent\":"
        } else {
            ",{\"intent\":"
        });
        string(&mut out, intent);
        out.push_str(",\"confidence\":");
        out.push_str(&crate::number_text(f64::from(*confidence)));
        out.push('}');
    }
    out.push_str("],\"entities\":[");
    for (i, m) in u.entities.iter().enumerate() {
        let _ = write!(
            out,
            "{}{{\"start\":{},\"end\":{},\"entity\":",
            if i == 0 { "" } else { "," },
            m.start,
            m.end
        );
        string(&mut out, &m.entity);
        out.push_str(",\"value\":");
        string(&mut out, &m.value);
        out.push('}');
    }
    out.push_str("]}");
    out
}

/// A JSON string literal.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
