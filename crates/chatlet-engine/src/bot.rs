//! The bot file: what an author writes (YAML), checked into a [`Bot`] with every problem reported at its line and column.

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
}

/// One intent: how users say it and what the bot answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    /// The intent's name, unique in the bot.
    pub name: String,
    /// Example user utterances.
    pub examples: Vec<String>,
    /// Answer variants; one is picked per reply.
    pub responses: Vec<String>,
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
                other => self.error(
                    key.at,
                    format!("unknown key `{other}`; a bot file has: name, languages, welcome, fallback, intents"),
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
            Some(node) => bot.intents = self.intents(node),
            None => self.error(
                root.at,
                "the bot has no `intents`; add at least one intent with examples and responses",
            ),
        }
        bot
    }

    fn intents(&mut self, node: &Node) -> Vec<Intent> {
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
            for (field, field_value) in self.mapping(value, &format!("intent `{name}`")) {
                match field.as_str().unwrap_or_default() {
                    "examples" => {
                        for (example, at) in self.texts(field_value, "an example") {
                            let key = text::normalize(&example);
                            match seen.get(&key) {
                                Some((other, first)) if *other != name => self.error(
                                    at,
                                    format!(
                                        "example \"{example}\" is under both `{other}` (line {}) and `{name}`; keep it under one intent",
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
            if intent.examples.is_empty() {
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
        assert_eq!(bot.intents[0].examples, ["你好", "hello"]);
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
                &[
                    ("4:3", "`b` has no `examples`"),
                    ("4:18", "under both `a` (line 3) and `b`"),
                ],
            ),
            (
                "intents:\n  a: {examples: [hi], responses: r, answer: x}\n",
                &[("1:1", "no `name`"), ("2:37", "unknown key `answer`")],
            ),
            (
                "name: x\nintents: [a, b]\n",
                &[("2:10", "`intents` must be a mapping")],
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
