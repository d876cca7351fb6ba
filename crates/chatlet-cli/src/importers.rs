//! `chatlet import`: turns what owners already have into a chatlet bot file — FAQ spreadsheets
//! (CSV/TSV "question,answer"), Rasa NLU YAML (intents, synonyms, regexes, lookup tables) and
//! nlp.js corpus JSON. The output is a readable YAML bot file to edit and `chatlet check`.

use anyhow::{Context, Result, bail};
use chatlet_engine::yaml::{self, Node, Value};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What the source file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Tsv,
    Rasa,
    NlpJs,
}

impl Format {
    /// Guesses the format from the file name and its first bytes.
    pub(crate) fn detect(name: &str, text: &str) -> Result<Format> {
        let lower = name.to_lowercase();
        Ok(if lower.ends_with(".csv") {
            Format::Csv
        } else if lower.ends_with(".tsv") || lower.ends_with(".txt") {
            Format::Tsv
        } else if lower.ends_with(".json") {
            Format::NlpJs
        } else if lower.ends_with(".yml") || lower.ends_with(".yaml") || text.contains("nlu:") {
            Format::Rasa
        } else {
            bail!(
                "{name}: cannot tell the format; use a .csv/.tsv FAQ, a Rasa NLU .yml or an nlp.js .json corpus"
            )
        })
    }
}

/// A bot being assembled, written out as YAML.
#[derive(Default)]
struct Draft {
    name: String,
    language: String,
    /// (intent, examples, responses)
    intents: Vec<(String, Vec<String>, Vec<String>)>,
    /// (canonical, synonyms) per lookup entity
    lookups: BTreeMap<String, Vec<(String, Vec<String>)>>,
    regexes: BTreeMap<String, String>,
    learned: Vec<String>,
    faq: Vec<(Vec<String>, String)>,
}

/// Converts `text` (from a file called `name`) into a bot file.
pub(crate) fn import(name: &str, text: &str, format: Format) -> Result<String> {
    let stem = std::path::Path::new(name).file_stem().map_or_else(
        || "imported".to_owned(),
        |s| s.to_string_lossy().into_owned(),
    );
    let mut draft = Draft {
        name: stem,
        ..Draft::default()
    };
    match format {
        Format::Csv => faq_table(name, text, ',', &mut draft)?,
        Format::Tsv => faq_table(name, text, '\t', &mut draft)?,
        Format::Rasa => rasa(name, text, &mut draft)?,
        Format::NlpJs => nlpjs(name, text, &mut draft)?,
    }
    if draft.language.is_empty() {
        let sample: String = draft
            .intents
            .iter()
            .flat_map(|i| i.1.iter())
            .chain(draft.faq.iter().flat_map(|f| f.0.iter()))
            .take(200)
            .cloned()
            .collect();
        let cjk = sample
            .chars()
            .filter(|&c| chatlet_engine::text::is_cjk(c))
            .count();
        draft.language = if cjk * 5 > sample.chars().count() {
            "zh"
        } else {
            "en"
        }
        .to_owned();
    }
    Ok(draft.to_yaml())
}

/// Splits delimited rows, honouring double quotes (which may hold the delimiter, newlines and
/// doubled quotes).
fn rows(text: &str, delimiter: char) -> Vec<(usize, Vec<String>)> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut line, mut row_line) = (false, 1, 1);
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (c, false) if c == delimiter => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                if row.iter().any(|f: &String| !f.trim().is_empty()) {
                    rows.push((row_line, std::mem::take(&mut row)));
                }
                row.clear();
                line += 1;
                row_line = line;
            }
            (c, _) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
        }
    }
    row.push(field);
    if row.iter().any(|f| !f.trim().is_empty()) {
        rows.push((row_line, row));
    }
    rows
}

/// "question,answer" rows; rows with the same answer become one entry with several phrasings.
/// A first row of `question,answer` (or 问题,答案) is a header.
fn faq_table(name: &str, text: &str, delimiter: char, draft: &mut Draft) -> Result<()> {
    let mut by_answer: Vec<(String, Vec<String>)> = Vec::new();
    for (i, (line, cells)) in rows(text, delimiter).into_iter().enumerate() {
        let cells: Vec<&str> = cells.iter().map(|c| c.trim()).collect();
        if i == 0
            && matches!(
                cells.first().map(|c| c.to_lowercase()).as_deref(),
                Some("question" | "问题" | "q")
            )
        {
            continue;
        }
        let (Some(&question), Some(&answer)) = (cells.first(), cells.get(1)) else {
            bail!(
                "{name}:{line}: a row needs a question and an answer, separated by {delimiter:?}"
            );
        };
        if question.is_empty() || answer.is_empty() {
            bail!("{name}:{line}: the question or the answer is empty");
        }
        match by_answer.iter_mut().find(|(a, _)| a == answer) {
            Some((_, questions)) => questions.push(question.to_owned()),
            None => by_answer.push((answer.to_owned(), vec![question.to_owned()])),
        }
    }
    if by_answer.is_empty() {
        bail!("{name}: no question,answer rows found");
    }
    draft.faq = by_answer.into_iter().map(|(a, q)| (q, a)).collect();
    Ok(())
}

/// Rasa's `{"entity": "x", "value": "y"}` annotation becomes chatlet's `(x:y)`.
fn rasa_example(example: &str) -> String {
    let mut out = String::new();
    let mut rest = example;
    while let Some(at) = rest.find("]{") {
        let (before, after) = rest.split_at(at + 1);
        out.push_str(before);
        let Some(end) = after.find('}') else {
            out.push_str(after);
            return out;
        };
        let json: Option<Json> = serde_json::from_str(&after[..=end]).ok();
        match json.as_ref().and_then(|j| {
            Some((
                j.get("entity")?.as_str()?,
                j.get("value").and_then(Json::as_str),
            ))
        }) {
            Some((entity, Some(value))) => write!(out, "({entity}:{value})").unwrap_or(()),
            Some((entity, None)) => write!(out, "({entity})").unwrap_or(()),
            None => out.push_str(&after[..=end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The `- item` lines of a Rasa `examples: |` block.
fn block_items(node: &Node) -> Vec<String> {
    node.as_str()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- ").map(|s| s.trim().to_owned()))
        .filter(|s| !s.is_empty())
        .collect()
}

fn rasa(name: &str, text: &str, draft: &mut Draft) -> Result<()> {
    let root = yaml::parse(name, text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let nlu = match &root.value {
        Value::Mapping(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some("nlu"))
            .map(|(_, v)| v),
        _ => None,
    };
    let Some(Node {
        value: Value::Sequence(items),
        ..
    }) = nlu
    else {
        bail!("{name}: no `nlu:` list; is this a Rasa NLU file?");
    };
    for item in items {
        let Value::Mapping(fields) = &item.value else {
            continue;
        };
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v)
        };
        let examples = get("examples").map(block_items).unwrap_or_default();
        if let Some(intent) = get("intent").and_then(Node::as_str) {
            let examples: Vec<String> = examples.iter().map(|e| rasa_example(e)).collect();
            for e in &examples {
                let mut rest = e.as_str();
                while let Some(open) = rest.find("](") {
                    let after = &rest[open + 2..];
                    let Some(close) = after.find(')') else { break };
                    let entity = after[..close]
                        .split(':')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    if !entity.is_empty() && !draft.learned.contains(&entity) {
                        draft.learned.push(entity);
                    }
                    rest = &after[close..];
                }
            }
            draft
                .intents
                .push((intent.to_owned(), examples, Vec::new()));
        } else if let Some(value) = get("synonym").and_then(Node::as_str) {
            // A synonym belongs to whichever entity annotates it with this value.
            let entity = draft
                .intents
                .iter()
                .flat_map(|i| i.1.iter())
                .find_map(|e| {
                    let marker = format!(":{value})");
                    let at = e.find(&marker)?;
                    let open = e[..at].rfind("](")?;
                    Some(e[open + 2..at].to_owned())
                })
                .unwrap_or_else(|| "synonyms".to_owned());
            draft
                .lookups
                .entry(entity)
                .or_default()
                .push((value.to_owned(), examples));
        } else if let Some(regex) = get("regex").and_then(Node::as_str) {
            if let Some(pattern) = examples.first() {
                draft.regexes.insert(regex.to_owned(), pattern.clone());
            }
        } else if let Some(lookup) = get("lookup").and_then(Node::as_str) {
            let table = draft.lookups.entry(lookup.to_owned()).or_default();
            table.extend(examples.into_iter().map(|v| (v, Vec::new())));
        }
    }
    draft
        .learned
        .retain(|e| !draft.lookups.contains_key(e) && !draft.regexes.contains_key(e));
    if draft.intents.is_empty() {
        bail!("{name}: the `nlu:` list has no intents");
    }
    Ok(())
}

fn nlpjs(name: &str, text: &str, draft: &mut Draft) -> Result<()> {
    let corpus: Json = serde_json::from_str(text).with_context(|| format!("{name}: not JSON"))?;
    if let Some(n) = corpus.get("name").and_then(Json::as_str) {
        draft.name = n.to_owned();
    }
    if let Some(locale) = corpus.get("locale").and_then(Json::as_str) {
        draft.language = if locale.starts_with("zh") { "zh" } else { "en" }.to_owned();
    }
    let Some(data) = corpus.get("data").and_then(Json::as_array) else {
        bail!("{name}: field `data` is missing; is this an nlp.js corpus?");
    };
    let strings = |v: Option<&Json>| -> Vec<String> {
        v.and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| {
                s.as_str()
                    .or_else(|| s.get("answer").and_then(Json::as_str))
                    .map(str::to_owned)
            })
            .collect()
    };
    for (i, entry) in data.iter().enumerate() {
        let intent = entry
            .get("intent")
            .and_then(Json::as_str)
            .with_context(|| format!("{name}: field `data[{i}].intent` is missing"))?;
        // nlp.js names intents like `agent.acquaintance`; chatlet keeps the name as it is.
        draft.intents.push((
            intent.to_owned(),
            strings(entry.get("utterances")),
            strings(entry.get("answers")),
        ));
    }
    if let Some(entities) = corpus.get("entities").and_then(Json::as_object) {
        for (entity, spec) in entities {
            if let Some(options) = spec.get("options").and_then(Json::as_object) {
                let table = options
                    .iter()
                    .map(|(value, synonyms)| (value.clone(), strings(Some(synonyms))))
                    .collect();
                draft.lookups.insert(entity.clone(), table);
            } else if let Some(regex) = spec.get("regex").and_then(Json::as_str) {
                let pattern = regex
                    .trim_start_matches('/')
                    .rsplit_once('/')
                    .map_or(regex, |(p, _)| p);
                draft.regexes.insert(entity.clone(), pattern.to_owned());
            }
        }
    }
    Ok(())
}

/// A YAML string literal (JSON's double-quoted form is valid YAML).
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

impl Draft {
    fn to_yaml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Imported by `chatlet import`. Check it with `chatlet check`, then fill in answers marked TODO."
        );
        let _ = writeln!(out, "name: {}", quote(&self.name));
        let _ = writeln!(out, "languages: [{}]", self.language);
        if !self.lookups.is_empty() || !self.regexes.is_empty() || !self.learned.is_empty() {
            let _ = writeln!(out, "\nentities:");
            for (entity, table) in &self.lookups {
                let _ = writeln!(out, "  {}:\n    values:", quote(entity));
                for (value, synonyms) in table {
                    let list: Vec<String> = synonyms.iter().map(|s| quote(s)).collect();
                    let _ = writeln!(out, "      {}: [{}]", quote(value), list.join(", "));
                }
            }
            for (entity, pattern) in &self.regexes {
                let _ = writeln!(out, "  {}: {{regex: {}}}", quote(entity), quote(pattern));
            }
            for entity in &self.learned {
                let _ = writeln!(out, "  {}: learned", quote(entity));
            }
        }
        if !self.intents.is_empty() {
            let _ = writeln!(out, "\nintents:");
            for (intent, examples, responses) in &self.intents {
                let _ = writeln!(out, "  {}:\n    examples:", quote(intent));
                for e in examples {
                    let _ = writeln!(out, "      - {}", quote(e));
                }
                let _ = writeln!(out, "    responses:");
                if responses.is_empty() {
                    let _ = writeln!(
                        out,
                        "      - {}",
                        quote(&format!("TODO: the answer for {intent}"))
                    );
                }
                for r in responses {
                    let _ = writeln!(out, "      - {}", quote(r));
                }
            }
        }
        if !self.faq.is_empty() {
            let _ = writeln!(out, "\nfaq:");
            for (questions, answer) in &self.faq {
                let list: Vec<String> = questions.iter().map(|q| quote(q)).collect();
                let _ = writeln!(
                    out,
                    "  - q: [{}]\n    a: {}",
                    list.join(", "),
                    quote(answer)
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_csv_fields_keep_commas_quotes_and_newlines() {
        let got = rows(
            "question,answer\n\"a, b\",\"say \"\"hi\"\"\nthere\"\nc,d\n",
            ',',
        );
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1, ["a, b", "say \"hi\"\nthere"]);
        assert_eq!(got[2], (4, vec!["c".to_owned(), "d".to_owned()]));
    }

    #[test]
    fn rasa_json_annotations_become_chatlet_ones() {
        assert_eq!(
            rasa_example(r#"fly to [NYC]{"entity": "city", "value": "New York"} now"#),
            "fly to [NYC](city:New York) now"
        );
        assert_eq!(rasa_example("to [Paris](city)"), "to [Paris](city)");
    }
}
