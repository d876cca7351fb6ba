//! Training in the browser, for the authors' playground (`www/playground.html`). Compiled only
//! with the `playground` feature, so the widget that visitors download carries no trainer.

use chatlet_engine::{Model, TrainOptions, bot};
use wasm_bindgen::prelude::*;

/// Checks and trains the bot in `source` (one bot file, named `file_name` in errors) and returns
/// the `.chatlet` model's bytes. Throws an `Error` whose message lists every problem as
/// `file:line:column: message`, one per line.
#[wasm_bindgen(js_name = trainBot)]
pub fn train_bot(file_name: &str, source: &str) -> Result<Vec<u8>, JsError> {
    let bot =
        bot::parse(file_name, source).map_err(|problems| JsError::new(&problems.to_string()))?;
    let model = Model::train(&bot, &TrainOptions::default(), &mut |_| {})
        .map_err(|e| JsError::new(&format!("{file_name}: {e}")))?;
    Ok(model.to_bytes())
}
