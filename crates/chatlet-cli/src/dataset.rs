//! Reads labelled utterances from JSONL data sets (the format of `shared/datasets`): one object
//! per line with `text`, `intent` and optional `entities`, or FAQ lines with `question` and
//! `answer_id`. Errors name the file, line and field.

use anyhow::{Context, Result, bail};
use chatlet_engine::{Mention, Utterance};
use serde_json::Value;
use std::path::Path;

/// The intent name that marks an out-of-scope utterance in data sets.
pub(crate) const OUT_OF_SCOPE: &str = "oos";

/// Reads a whole data set file.
pub(crate) fn read(path: &Path) -> Result<Vec<Utterance>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read data set {}", path.display()))?;
    parse(&path.display().to_string(), &text)
}

/// Parses JSONL text; `source` names it in errors.
pub(crate) fn parse(source: &str, text: &str) -> Result<Vec<Utterance>> {
    let mut utterances = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{source}:{}", i + 1);
        let value: Value =
            serde_json::from_str(line).with_context(|| format!("{at}: not a JSON object"))?;
        utterances.push(utterance(&value, false).with_context(|| at.clone())?);
    }
    Ok(utterances)
}

/// Reads one line; with `text_only`, the intent may be missing (input to `predict`).
pub(crate) fn utterance(value: &Value, text_only: bool) -> Result<Utterance> {
    let field = |name: &str| value.get(name).and_then(Value::as_str);
    let Some(object) = value.as_object() else {
        bail!("a line must be a JSON object");
    };
    let (text, intent) = match (field("text"), field("question")) {
        (Some(text), _) => (text, field("intent")),
        (None, Some(question)) => (question, field("answer_id")),
        (None, None) => bail!("field `text` is missing or not a string"),
    };
    if intent.is_none() && !text_only {
        if object.contains_key("intent") {
            bail!("field `intent` must be a string");
        }
        bail!("field `intent` is missing");
    }
    let length = text.chars().count();
    let mut entities = Vec::new();
    if !text_only {
        for (k, entity) in value
            .get("entities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let number = |name: &str| {
                entity
                    .get(name)
                    .and_then(Value::as_u64)
                    .map(|n| n as usize)
                    .with_context(|| format!("field `entities[{k}].{name}` must be a number"))
            };
            let (start, end) = (number("start")?, number("end")?);
            if start >= end || end > length {
                bail!(
                    "field `entities[{k}]`: span {start}..{end} is not inside the text ({length} characters)"
                );
            }
            let name = entity
                .get("entity")
                .and_then(Value::as_str)
                .with_context(|| format!("field `entities[{k}].entity` must be a string"))?;
            let span: String = text.chars().skip(start).take(end - start).collect();
            let value = entity
                .get("value")
                .and_then(Value::as_str)
                .map_or(span, str::to_owned);
            entities.push(Mention {
                start,
                end,
                entity: name.to_owned(),
                value,
            });
        }
    }
    Ok(Utterance {
        text: text.to_owned(),
        intent: intent.filter(|i| *i != OUT_OF_SCOPE).map(str::to_owned),
        entities,
    })
}

/// True when the file looks like a JSONL data set rather than a bot file.
pub(crate) fn is_dataset(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "jsonl" || e == "json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_intents_entities_faq_and_oos() {
        let set = parse(
            "t.jsonl",
            "{\"text\": \"北京天气\", \"intent\": \"weather\", \"entities\": [{\"start\": 0, \"end\": 2, \"entity\": \"city\", \"value\": \"北京\"}]}\n\n\
             {\"question\": \"how to?\", \"answer_id\": \"a7\"}\n{\"text\": \"sing\", \"intent\": \"oos\"}\n",
        )
        .unwrap();
        assert_eq!(set.len(), 3);
        assert_eq!(set[0].entities[0].value, "北京");
        assert_eq!(set[1].intent.as_deref(), Some("a7"));
        assert_eq!(set[2].intent, None);
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let err = parse(
            "d.jsonl",
            "{\"text\": \"a\", \"intent\": \"x\"}\n{\"text\": \"b\"}\n",
        )
        .unwrap_err();
        assert_eq!(format!("{err:#}"), "d.jsonl:2: field `intent` is missing");
        let err = parse(
            "d.jsonl",
            "{\"text\": \"ab\", \"intent\": \"x\", \"entities\": [{\"start\": 1, \"end\": 5, \"entity\": \"e\"}]}",
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").starts_with("d.jsonl:1: field `entities[0]`"),
            "{err:#}"
        );
        let err = parse("d.jsonl", "not json").unwrap_err();
        assert!(
            format!("{err:#}").starts_with("d.jsonl:1: not a JSON object"),
            "{err:#}"
        );
    }
}
