//! The bot file: what an author writes (YAML), checked into a [`Bot`] with every problem reported at its line and column.

use crate::builtin_entities::BUILTIN_ENTITIES;
use crate::corpus::Mention;
use crate::entity_rules::{EntityRule, EntityRules};
use crate::error::{Diagnostics, Error, ErrorKind, Location};
use crate::text;
use crate::yaml::{self, Node, Value};
use std::collections::HashMap;

/// Languages a bot may declare.
pub const LANGUAGES: &[&str] = &["zh", "en"];

/// A checked bot: ready to train.
#[derive(Debug, Clone, PartialEq)]
pub struct Bot {
    /// Shown as the widget's title.
    pub name: String,
    /// Declared languages, in order of preference (`zh`, `en`).
    pub languages: Vec<String>,
    /// The first message the widget shows.
    pub welcome: Option<String>,
    /// What the bot says when it does not understand.
    pub fallback: Option<String>,
    /// The intents in file order.
    pub intents: Vec<Intent>,
    /// Declared entities, in file order.
    pub entities: Vec<(String, EntityRule)>,
}

/// One intent: how users say it and what the bot answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    /// The intent's name, unique in the bot.
    pub name: String,
    /// Example user utterances, with their annotated entities (`[北京](city)`) taken out of the
    /// text into spans.
    pub examples: Vec<Example>,
    /// Answer variants; one is picked per reply.
    pub responses: Vec<String>,
}

/// One example utterance of an intent.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The text with annotation marks removed.
    pub text: String,
    /// The annotated spans, in code points of `text`.
    pub entities: Vec<Mention>,
}

/// Parses and checks a bot file. `source_name` is used in error messages (usually the path).
/// All problems are reported, not only the first.
pub fn parse(source_name: &str, text: &str) -> Result<Bot, Diagnostics> {
    let root = yaml::parse(source_name, text)?;
    let mut checker = Checker {
        source_name,
        errors: Vec::new(),
    };
    let bot = checker.bot(&root);
    if checker.errors.is_empty() {
        return Ok(bot);
    }
    let mut errors = checker.errors;
    errors.sort_by_key(|e| e.location().map(|at| (at.line, at.column)));
    Err(Diagnostics(errors))
}

struct Checker<'a> {
    source_name: &'a str,
    errors: Vec<Error>,
}

impl Checker<'_> {
    fn error(&mut self, at: Location, message: impl Into<String>) {
        self.errors
            .push(Error::at(ErrorKind::Bot, self.source_name, at, message));
    }

    fn mapping<'n>(&mut self, node: &'n Node, what: &str) -> &'n [(Node, Node)] {
        match &node.value {
            Value::Mapping(entries) => entries,
            _ => {
                self.error(
                    node.at,
                    format!(
                        "{what} must be a mapping of `key: value` lines, found {}",
                        node.type_name()
                    ),
                );
                &[]
            }
        }
    }

    fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match node.as_str() {
            Some(text) if !node.is_null() && !text.trim().is_empty() => {
                Some(text.trim().to_owned())
            }
            _ => {
                self.error(
                    node.at,
                    format!(
                        "{what} must be a non-empty text, found {}",
                        node.type_name()
                    ),
                );
                None
            }
        }
    }

    /// A text or a list of texts (`responses: hi` and `responses: [hi, hello]` both work).
    fn texts(&mut self, node: &Node, what: &str) -> Vec<(String, Location)> {
        match &node.value {
            Value::Sequence(items) => items
                .iter()
                .filter_map(|item| Some((self.text(item, what)?, item.at)))
                .collect(),
            _ => self
                .text(node, what)
                .map(|t| vec![(t, node.at)])
                .unwrap_or_default(),
        }
    }

    fn bot(&mut self, root: &Node) -> Bot {
        let mut bot = Bot {
            name: String::new(),
            languages: Vec::new(),
            welcome: None,
            fallback: None,
            intents: Vec::new(),
            entities: Vec::new(),
        };
        let mut intents_node = None;
        for (key, value) in self.mapping(root, "a bot file") {
            match key.as_str().unwrap_or_default() {
                "name" => bot.name = self.text(value, "`name`").unwrap_or_default(),
                "languages" | "language" => {
                    for (language, at) in self.texts(value, "a language") {
                        if LANGUAGES.contains(&language.as_str()) {
                            bot.languages.push(language);
                        } else {
                            self.error(at, format!("unknown language `{language}`; use one of: {}", LANGUAGES.join(", ")));
                        }
                    }
                }
                "welcome" => bot.welcome = self.text(value, "`welcome`"),
                "fallback" => bot.fallback = self.text(value, "`fallback`"),
                "intents" => intents_node = Some(value),
                "entities" => bot.entities = self.entities(value),
                other => self.error(
                    key.at,
                    format!("unknown key `{other}`; a bot file has: name, languages, welcome, fallback, entities, intents"),
                ),
            }
        }
        if bot.name.is_empty() {
            self.error(
                root.at,
                "the bot has no `name`; add a line such as `name: My shop`",
            );
        }
        match intents_node {
            Some(node) => bot.intents = self.intents(node, &bot.entities),
            None => self.error(
                root.at,
                "the bot has no `intents`; add at least one intent with examples and responses",
            ),
        }
        bot
    }

    /// `entities:` — each is a built-in name (`when: date`), `learned`, or a mapping with
    /// `values` (a lookup table, canonical value → synonyms) and `fuzzy`, or with `regex`.
    fn entities(&mut self, node: &Node) -> Vec<(String, EntityRule)> {
        let mut entities = Vec::new();
        for (key, value) in self.mapping(node, "`entities`") {
            let Some(name) = self.text(key, "an entity name") else {
                continue;
            };
            if entities.iter().any(|(n, _)| *n == name) {
                self.error(key.at, format!("entity `{name}` is defined twice"));
                continue;
            }
            let rule = match &value.value {
                Value::Mapping(_) => self.entity_mapping(&name, value),
                _ => match self.text(value, &format!("entity `{name}`")) {
                    Some(kind) if kind == "learned" => Some(EntityRule::Learned),
                    Some(kind) if BUILTIN_ENTITIES.contains(&kind.as_str()) => {
                        Some(EntityRule::Builtin(kind))
                    }
                    Some(kind) => {
                        self.error(
                            value.at,
                            format!(
                                "entity `{name}`: unknown kind `{kind}`; use `learned`, a built-in ({}), or a mapping with `values` or `regex`",
                                BUILTIN_ENTITIES.join(", ")
                            ),
                        );
                        None
                    }
                    None => None,
                },
            };
            if let Some(rule) = rule {
                if let Err(problem) = EntityRules::new(vec![(name.clone(), rule.clone())]) {
                    self.error(value.at, problem);
                } else {
                    entities.push((name, rule));
                }
            }
        }
        entities
    }

    fn entity_mapping(&mut self, name: &str, node: &Node) -> Option<EntityRule> {
        let (mut values, mut fuzzy, mut regex) = (None, false, None);
        for (key, value) in self.mapping(node, &format!("entity `{name}`")) {
            match key.as_str().unwrap_or_default() {
                "values" => {
                    let mut table = Vec::new();
                    match &value.value {
                        Value::Mapping(entries) => {
                            for (canonical, synonyms) in entries {
                                let Some(canonical) = self.text(canonical, "a value") else { continue };
                                let synonyms = if synonyms.is_null() {
                                    Vec::new()
                                } else {
                                    self.texts(synonyms, "a synonym").into_iter().map(|(t, _)| t).collect()
                                };
                                table.push((canonical, synonyms));
                            }
                        }
                        _ => {
                            for (canonical, _) in self.texts(value, "a value") {
                                table.push((canonical, Vec::new()));
                            }
                        }
                    }
                    values = Some(table);
                }
                "fuzzy" => match value.as_str() {
                    Some("true") => fuzzy = true,
                    Some("false") => fuzzy = false,
                    _ => self.error(value.at, "`fuzzy` must be true or false"),
                },
                "regex" => regex = self.text(value, "`regex`"),
                other => self.error(
                    key.at,
                    format!("unknown key `{other}` in entity `{name}`; an entity has: values, fuzzy, regex"),
                ),
            }
        }
        match (values, regex) {
            (Some(values), None) => Some(EntityRule::Lookup { values, fuzzy }),
            (None, Some(regex)) => Some(EntityRule::Pattern(regex)),
            (Some(_), Some(_)) => {
                self.error(
                    node.at,
                    format!("entity `{name}` has both `values` and `regex`; pick one"),
                );
                None
            }
            (None, None) => {
                self.error(
                    node.at,
                    format!("entity `{name}` needs `values` (a lookup table) or `regex`"),
                );
                None
            }
        }
    }

    /// Takes `[text](entity)` and `[text](entity:value)` marks out of an example.
    fn annotated(
        &mut self,
        example: &str,
        at: Location,
        entities: &[(String, EntityRule)],
    ) -> Option<Example> {
        let chars: Vec<char> = example.chars().collect();
        let mut text = String::new();
        let mut length = 0usize;
        let mut mentions = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' && matches!(chars.get(i + 1), Some('[' | ']' | '(' | ')' | '\\')) {
                text.push(chars[i + 1]);
                length += 1;
                i += 2;
                continue;
            }
            if c != '[' {
                text.push(c);
                length += 1;
                i += 1;
                continue;
            }
            let Some(close) = chars[i + 1..]
                .iter()
                .position(|&c| c == ']')
                .map(|p| i + 1 + p)
            else {
                self.error(at, format!("example \"{example}\": `[` at character {} is never closed with `]`; write \\[ for a literal bracket", i + 1));
                return None;
            };
            if chars.get(close + 1) != Some(&'(') {
                // `[x]` with no `(entity)` is plain text.
                text.extend(&chars[i..=close]);
                length += close + 1 - i;
                i = close + 1;
                continue;
            }
            let Some(end) = chars[close + 2..]
                .iter()
                .position(|&c| c == ')')
                .map(|p| close + 2 + p)
            else {
                self.error(
                    at,
                    format!(
                        "example \"{example}\": `(` at character {} is never closed with `)`",
                        close + 2
                    ),
                );
                return None;
            };
            let span: String = chars[i + 1..close].iter().collect();
            let spec: String = chars[close + 2..end].iter().collect();
            let (entity, value) = match spec.split_once(':') {
                Some((e, v)) => (e.trim().to_owned(), v.trim().to_owned()),
                None => (spec.trim().to_owned(), span.clone()),
            };
            if span.trim().is_empty() || entity.is_empty() {
                self.error(at, format!("example \"{example}\": an annotation needs text and an entity, as in [北京](city)"));
                return None;
            }
            if !entities.iter().any(|(n, _)| *n == entity) {
                let known: Vec<&str> = entities.iter().map(|(n, _)| n.as_str()).collect();
                self.error(
                    at,
                    format!(
                        "example \"{example}\": unknown entity `{entity}`; declare it under `entities:` (known: {})",
                        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                    ),
                );
                return None;
            }
            let span_length = span.chars().count();
            mentions.push(Mention {
                start: length,
                end: length + span_length,
                entity,
                value,
            });
            text.push_str(&span);
            length += span_length;
            i = end + 1;
        }
        Some(Example {
            text,
            entities: mentions,
        })
    }

    fn intents(&mut self, node: &Node, entities: &[(String, EntityRule)]) -> Vec<Intent> {
        let mut intents = Vec::new();
        // Normalized example -> (intent, where it was first seen), to catch one example under two intents.
        let mut seen: HashMap<String, (String, Location)> = HashMap::new();
        let mut names: HashMap<String, Location> = HashMap::new();
        for (key, value) in self.mapping(node, "`intents`") {
            let Some(name) = self.text(key, "an intent name") else {
                continue;
            };
            if let Some(first) = names.insert(name.clone(), key.at) {
                self.error(
                    key.at,
                    format!(
                        "intent `{name}` is defined twice (first at line {})",
                        first.line
                    ),
                );
                continue;
            }
            let mut intent = Intent {
                name: name.clone(),
                examples: Vec::new(),
                responses: Vec::new(),
            };
            let mut had_examples = false;
            for (field, field_value) in self.mapping(value, &format!("intent `{name}`")) {
                match field.as_str().unwrap_or_default() {
                    "examples" => {
                        let written_examples = self.texts(field_value, "an example");
                        // A broken example is reported on its own; it still counts as written.
                        had_examples |= !written_examples.is_empty();
                        for (written, at) in written_examples {
                            let Some(example) = self.annotated(&written, at, entities) else {
                                continue;
                            };
                            let key = text::normalize(&example.text);
                            match seen.get(&key) {
                                Some((other, first)) if *other != name => self.error(
                                    at,
                                    format!(
                                        "example \"{}\" is under both `{other}` (line {}) and `{name}`; keep it under one intent",
                                        example.text,
                                        first.line
                                    ),
                                ),
                                Some(_) => {}
                                None => {
                                    seen.insert(key, (name.clone(), at));
                                    intent.examples.push(example);
                                }
                            }
                        }
                    }
                    "responses" | "response" => {
                        intent.responses = self.texts(field_value, "a response").into_iter().map(|(t, _)| t).collect();
                    }
                    other => {
                        self.error(field.at, format!("unknown key `{other}` in intent `{name}`; an intent has: examples, responses"))
                    }
                }
            }
            if !had_examples {
                self.error(
                    key.at,
                    format!(
                        "intent `{name}` has no `examples`; add a few ways a user would say it"
                    ),
                );
            }
            if intent.responses.is_empty() {
                self.error(
                    key.at,
                    format!("intent `{name}` has no `responses`; add what the bot should answer"),
                );
            }
            intents.push(intent);
        }
        intents
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
name: Shop
languages: [zh, en]
welcome: 你好
intents:
  greet:
    examples: [你好, hello]
    responses: 您好！
  bye:
    examples:
      - 再见
      - bye
    responses:
      - 再见！
      - 下次见
";

    #[test]
    fn a_good_bot_parses() {
        let bot = parse("good.yaml", GOOD).unwrap();
        assert_eq!(bot.name, "Shop");
        assert_eq!(bot.languages, ["zh", "en"]);
        assert_eq!(bot.intents.len(), 2);
        assert_eq!(bot.intents[1].responses, ["再见！", "下次见"]);
        let texts: Vec<&str> = bot.intents[0]
            .examples
            .iter()
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(texts, ["你好", "hello"]);
    }

    #[test]
    fn entities_and_annotations() {
        let bot = parse(
            "w.yaml",
            "name: W\nentities:\n  city:\n    values:\n      北京: [北京市, beijing]\n    fuzzy: true\n  order: {regex: '[A-Z]{2}[0-9]{4}'}\n  when: date\n  name: learned\n\
             intents:\n  weather:\n    examples: ['[明天](when)[北京市](city:北京)天气', 'weather in [Beijing](city) \\[sic]']\n    responses: ok\n",
        )
        .unwrap();
        assert_eq!(bot.entities.len(), 4);
        let examples = &bot.intents[0].examples;
        assert_eq!(examples[0].text, "明天北京市天气");
        let spans: Vec<(usize, usize, &str, &str)> = examples[0]
            .entities
            .iter()
            .map(|m| (m.start, m.end, m.entity.as_str(), m.value.as_str()))
            .collect();
        assert_eq!(spans, [(0, 2, "when", "明天"), (2, 5, "city", "北京")]);
        assert_eq!(examples[1].text, "weather in Beijing [sic]");
        assert_eq!(examples[1].entities[0].value, "Beijing");
    }

    /// Each case: a bot file, then the `line:column` and a fragment of the message of every expected error.
    #[test]
    fn every_mistake_is_reported_at_its_place() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            (
                "name: x\nintents:\n  a:\n    examples: [hi]\n",
                &[("3:3", "no `responses`")],
            ),
            (
                "name: x\nintents:\n  a:\n    responses: hi\n",
                &[("3:3", "no `examples`")],
            ),
            (
                "name: x\nlanguages: [fr]\nintents: {}\n",
                &[("2:13", "unknown language `fr`")],
            ),
            (
                "name: x\nintent: {}\n",
                &[("1:1", "no `intents`"), ("2:1", "unknown key `intent`")],
            ),
            (
                "name: x\nintents:\n  a: {examples: [hi], responses: r}\n  b: {examples: [Hi], responses: r}\n",
                &[("4:18", "under both `a` (line 3) and `b`")],
            ),
            (
                "intents:\n  a: {examples: [hi], responses: r, answer: x}\n",
                &[("1:1", "no `name`"), ("2:37", "unknown key `answer`")],
            ),
            (
                "name: x\nintents: [a, b]\n",
                &[("2:10", "`intents` must be a mapping")],
            ),
            (
                "name: x\nintents:\n  a: {examples: ['[北京](city)天气'], responses: r}\n",
                &[("3:18", "unknown entity `city`")],
            ),
            (
                "name: x\nentities: {city: learned}\nintents:\n  a: {examples: ['[北京(city)'], responses: r}\n",
                &[("4:18", "never closed with `]`")],
            ),
            (
                "name: x\nentities:\n  id: {regex: '('}\n  t: colour\n  c: {fuzzy: true}\nintents:\n  a: {examples: [hi], responses: r}\n",
                &[
                    ("3:7", "bad regular expression"),
                    ("4:6", "unknown kind `colour`"),
                    ("5:6", "needs `values`"),
                ],
            ),
        ];
        for (text, expected) in cases {
            let errors = parse("t.yaml", text).expect_err(text).0;
            let got: Vec<String> = errors.iter().map(ToString::to_string).collect();
            assert_eq!(errors.len(), expected.len(), "{text}\n{got:#?}");
            for ((place, fragment), error) in expected.iter().zip(&got) {
                assert!(
                    error.starts_with(&format!("t.yaml:{place}: ")) && error.contains(fragment),
                    "{text}\nwant {place} {fragment}\ngot {got:#?}"
                );
            }
        }
    }
}
