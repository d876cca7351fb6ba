//! The bot file: what an author writes (YAML), checked into a [`Bot`] with every problem reported at its line and column.

use crate::builtin_entities::BUILTIN_ENTITIES;
use crate::corpus::Mention;
use crate::dialogue::{Action, Button, Form, FormSlot, Link, Response, template_slots};
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
    /// What the bot finally says when it does not understand.
    pub fallback: Vec<Response>,
    /// Said above the best guesses (as buttons) the first time the bot does not understand.
    pub clarify: Option<String>,
    /// A button offered with the final fallback, to ask for a person.
    pub handoff: Option<Button>,
    /// Minutes of silence after which a conversation starts over.
    pub session_minutes: Option<u32>,
    /// Slots kept when a conversation starts over.
    pub carry_over: Vec<String>,
    /// The intents in file order (FAQ entries last, as intents `faq_1`, `faq_2`, ...).
    pub intents: Vec<Intent>,
    /// Declared entities, in file order.
    pub entities: Vec<(String, EntityRule)>,
    /// Forms.
    pub forms: Vec<Form>,
    /// Actions the host runs.
    pub actions: Vec<Action>,
    /// Slots the page sets (the widget's `setContext`) or actions set, which responses may use
    /// without an entity to fill them.
    pub context: Vec<String>,
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
    pub responses: Vec<Response>,
    /// An action to run.
    pub action: Option<String>,
    /// A form to start.
    pub form: Option<String>,
    /// Asking for a person.
    pub handoff: bool,
    /// A short label for clarification buttons (default: the first example).
    pub title: String,
}

impl Intent {
    /// An intent with nothing in it yet.
    fn named(name: &str) -> Intent {
        Intent {
            name: name.to_owned(),
            examples: Vec::new(),
            responses: Vec::new(),
            action: None,
            form: None,
            handoff: false,
            title: String::new(),
        }
    }
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
    parse_files(&[(source_name, text)])
}

/// Parses and checks a bot split over several files (a folder: say `bot.yaml`, `faq.yaml`,
/// `entities.yaml`): their sections are merged, and every error names its own file. `name`
/// and the other single settings may appear in one file only.
pub fn parse_files(files: &[(&str, &str)]) -> Result<Bot, Diagnostics> {
    let mut roots = Vec::new();
    let mut errors = Vec::new();
    for &(name, text) in files {
        match yaml::parse(name, text) {
            Ok(root) => roots.push((name, root)),
            Err(e) => errors.push(e),
        }
    }
    if roots.is_empty() && errors.is_empty() {
        errors.push(Error::new(ErrorKind::Bot, "no bot files were given"));
    }
    if errors.is_empty() {
        let mut checker = Checker {
            source_name: roots[0].0,
            errors: Vec::new(),
            slot_uses: Vec::new(),
            examples_seen: HashMap::new(),
            intent_names: HashMap::new(),
        };
        let bot = checker.bot(&roots);
        if checker.errors.is_empty() {
            return Ok(bot);
        }
        errors = checker.errors;
    }
    let order: HashMap<&str, usize> = files.iter().enumerate().map(|(i, f)| (f.0, i)).collect();
    errors.sort_by_key(|e| {
        let file = e
            .source_name()
            .and_then(|s| order.get(s).copied())
            .unwrap_or(0);
        (file, e.location().map(|at| (at.line, at.column)))
    });
    Err(Diagnostics(errors))
}

struct Checker<'a> {
    /// The file being read now (errors name it).
    source_name: &'a str,
    errors: Vec<Error>,
    /// Slots that response templates use, checked once every entity is known: (file, slot, place).
    slot_uses: Vec<(&'a str, String, Location)>,
    /// Normalized example -> (intent, file, place), to catch one example under two intents.
    examples_seen: HashMap<String, (String, &'a str, Location)>,
    /// Intent name -> (file, place).
    intent_names: HashMap<String, (&'a str, Location)>,
}

impl<'a> Checker<'a> {
    /// `line N` in the current file, `file:N` in another.
    fn place(&self, file: &str, at: Location) -> String {
        if file == self.source_name {
            format!("line {}", at.line)
        } else {
            format!("{file}:{}", at.line)
        }
    }

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

    fn bot(&mut self, roots: &[(&'a str, Node)]) -> Bot {
        let mut bot = Bot {
            name: String::new(),
            languages: Vec::new(),
            welcome: None,
            fallback: Vec::new(),
            clarify: None,
            handoff: None,
            session_minutes: None,
            carry_over: Vec::new(),
            context: Vec::new(),
            intents: Vec::new(),
            entities: Vec::new(),
            forms: Vec::new(),
            actions: Vec::new(),
        };
        let (mut intents_nodes, mut faq_nodes, mut forms_nodes) =
            (Vec::new(), Vec::new(), Vec::new());
        // Single settings: where each was first given, so a second file cannot silently override it.
        let mut settings: HashMap<&str, (&str, Location)> = HashMap::new();
        for (file, root) in roots {
            self.source_name = file;
            for (key, value) in self.mapping(root, "a bot file") {
                let name = key.as_str().unwrap_or_default();
                let single = matches!(
                    name,
                    "name"
                        | "languages"
                        | "language"
                        | "welcome"
                        | "fallback"
                        | "clarify"
                        | "handoff"
                        | "session"
                );
                if single {
                    if let Some((first_file, first)) = settings.get(name) {
                        let place = if first_file == file {
                            format!("line {}", first.line)
                        } else {
                            format!("{first_file}:{}", first.line)
                        };
                        self.error(
                            key.at,
                            format!("`{name}` is already set at {place}; set it once"),
                        );
                        continue;
                    }
                    settings.insert(name, (*file, key.at));
                }
                match name {
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
                    "fallback" => bot.fallback = self.responses(value),
                    "clarify" => bot.clarify = self.text(value, "`clarify`"),
                    "handoff" => bot.handoff = self.button(value),
                    "session" => self.session(value, &mut bot),
                    "intents" => intents_nodes.push((*file, value)),
                    "entities" => {
                        let entities = self.entities(value, &bot.entities);
                        bot.entities.extend(entities);
                    }
                    "faq" => faq_nodes.push((*file, value)),
                    "forms" => forms_nodes.push((*file, value)),
                    "actions" => {
                        let actions = self.actions(value, &bot.actions);
                        bot.actions.extend(actions);
                    }
                    "context" => {
                        let slots = self.texts(value, "a context slot");
                        bot.context.extend(slots.into_iter().map(|(slot, _)| slot));
                    }
                    other => self.error(
                        key.at,
                        format!("unknown key `{other}`; a bot file has: name, languages, welcome, fallback, clarify, handoff, session, context, entities, intents, faq, forms, actions"),
                    ),
                }
            }
        }
        for (file, node) in forms_nodes {
            self.source_name = file;
            let forms = self.forms(node, &bot.entities, &bot.actions);
            bot.forms.extend(forms);
        }
        let (first_file, first_root) = (roots[0].0, &roots[0].1);
        if bot.name.is_empty() {
            self.source_name = first_file;
            self.error(
                first_root.at,
                "the bot has no `name`; add a line such as `name: My shop`",
            );
        }
        if intents_nodes.is_empty() && faq_nodes.is_empty() {
            self.source_name = first_file;
            self.error(
                first_root.at,
                "the bot has no `intents`; add at least one intent with examples and responses",
            );
        }
        for (file, node) in intents_nodes {
            self.source_name = file;
            let intents = self.intents(node, &bot.entities, &bot.forms, &bot.actions);
            bot.intents.extend(intents);
        }
        let mut faq_count = 0;
        for (file, node) in faq_nodes {
            self.source_name = file;
            let faq = self.faq(node, faq_count);
            faq_count += faq.len();
            bot.intents.extend(faq);
        }
        // Every slot a response names must be one that an entity (or a form's slot) fills, or
        // one the page sets.
        for (file, slot, at) in std::mem::take(&mut self.slot_uses) {
            if !bot.entities.iter().any(|(n, _)| *n == slot) && !bot.context.contains(&slot) {
                self.source_name = file;
                self.error(at, format!("a response uses `{{{slot}}}`, but no entity `{slot}` is declared under `entities:` to fill it (or under `context:` when the page or an action sets it)"));
            }
        }
        bot
    }

    /// A response: a text, or a mapping with `text`, `buttons`, `image`, `link` and `if`.
    fn response(&mut self, node: &Node) -> Option<Response> {
        let response = match &node.value {
            Value::Mapping(entries) => {
                let mut r = Response::default();
                for (key, value) in entries {
                    match key.as_str().unwrap_or_default() {
                        "text" => r.text = self.text(value, "`text`")?,
                        "buttons" => {
                            r.buttons = match &value.value {
                                Value::Sequence(items) => items.iter().filter_map(|b| self.button(b)).collect(),
                                _ => self.button(value).into_iter().collect(),
                            }
                        }
                        "image" => r.image = self.text(value, "`image`"),
                        "link" => {
                            let (mut title, mut url) = (None, None);
                            for (k, v) in self.mapping(value, "`link`") {
                                match k.as_str().unwrap_or_default() {
                                    "title" => title = self.text(v, "a link `title`"),
                                    "url" => url = self.text(v, "a link `url`"),
                                    other => self.error(k.at, format!("unknown key `{other}` in a link; a link has: title, url")),
                                }
                            }
                            match (title, url) {
                                (Some(title), Some(url)) => r.link = Some(Link { title, url }),
                                _ => self.error(value.at, "a link needs `title` and `url`"),
                            }
                        }
                        "if" => {
                            for (slot, value) in self.mapping(value, "`if`") {
                                let Some(slot_name) = self.text(slot, "a slot name") else { continue };
                                self.slot_uses.push((self.source_name, slot_name.clone(), slot.at));
                                let expected = if value.is_null() { None } else { self.text(value, "a slot value") };
                                r.when.push((slot_name, expected));
                            }
                        }
                        other => self.error(
                            key.at,
                            format!("unknown key `{other}` in a response; a response has: text, buttons, image, link, if"),
                        ),
                    }
                }
                if r.text.is_empty() && r.image.is_none() && r.link.is_none() {
                    self.error(
                        node.at,
                        "a response needs `text` (or an `image` or a `link`)",
                    );
                    return None;
                }
                r
            }
            _ => Response {
                text: self.text(node, "a response")?,
                ..Response::default()
            },
        };
        for slot in template_slots(&response.text) {
            self.slot_uses.push((self.source_name, slot, node.at));
        }
        Some(response)
    }

    /// One response or a list of them.
    fn responses(&mut self, node: &Node) -> Vec<Response> {
        match &node.value {
            Value::Sequence(items) => items
                .iter()
                .filter_map(|item| self.response(item))
                .collect(),
            _ => self.response(node).into_iter().collect(),
        }
    }

    /// A button: a text (its own payload) or `{title, payload}`.
    fn button(&mut self, node: &Node) -> Option<Button> {
        if let Value::Mapping(_) = &node.value {
            let (mut title, mut payload) = (None, None);
            for (k, v) in self.mapping(node, "a button") {
                match k.as_str().unwrap_or_default() {
                    "title" => title = self.text(v, "a button `title`"),
                    "payload" => payload = self.text(v, "a button `payload`"),
                    other => self.error(
                        k.at,
                        format!("unknown key `{other}` in a button; a button has: title, payload"),
                    ),
                }
            }
            let title = title.or_else(|| {
                self.error(node.at, "a button needs a `title`");
                None
            })?;
            let payload = payload.unwrap_or_else(|| title.clone());
            return Some(Button { title, payload });
        }
        let title = self.text(node, "a button")?;
        Some(Button {
            payload: title.clone(),
            title,
        })
    }

    fn session(&mut self, node: &Node, bot: &mut Bot) {
        for (key, value) in self.mapping(node, "`session`") {
            match key.as_str().unwrap_or_default() {
                "expire_after_minutes" => match value.as_str().and_then(|v| v.parse::<u32>().ok()) {
                    Some(minutes) if minutes > 0 => bot.session_minutes = Some(minutes),
                    _ => self.error(value.at, "`expire_after_minutes` must be a whole number of minutes, such as 30"),
                },
                "carry_over" => {
                    bot.carry_over = self.texts(value, "a slot name").into_iter().map(|(t, _)| t).collect();
                }
                other => self.error(
                    key.at,
                    format!("unknown key `{other}` in `session`; it has: expire_after_minutes, carry_over"),
                ),
            }
        }
    }

    fn actions(&mut self, node: &Node, declared: &[Action]) -> Vec<Action> {
        let mut actions: Vec<Action> = Vec::new();
        for (key, value) in self.mapping(node, "`actions`") {
            let Some(name) = self.text(key, "an action name") else {
                continue;
            };
            if actions.iter().chain(declared).any(|a| a.name == name) {
                self.error(key.at, format!("action `{name}` is defined twice"));
                continue;
            }
            let mut action = Action {
                name: name.clone(),
                fallback: Vec::new(),
                timeout_ms: 3000,
            };
            if !value.is_null() {
                for (k, v) in self.mapping(value, &format!("action `{name}`")) {
                    match k.as_str().unwrap_or_default() {
                        "fallback" => action.fallback = self.responses(v),
                        "timeout_ms" => match v.as_str().and_then(|t| t.parse::<u32>().ok()) {
                            Some(ms) if (1..=60_000).contains(&ms) => action.timeout_ms = ms,
                            _ => self.error(v.at, "`timeout_ms` must be between 1 and 60000"),
                        },
                        other => self.error(k.at, format!("unknown key `{other}` in action `{name}`; an action has: fallback, timeout_ms")),
                    }
                }
            }
            actions.push(action);
        }
        actions
    }

    fn forms(
        &mut self,
        node: &Node,
        entities: &[(String, EntityRule)],
        actions: &[Action],
    ) -> Vec<Form> {
        let mut forms: Vec<Form> = Vec::new();
        for (key, value) in self.mapping(node, "`forms`") {
            let Some(name) = self.text(key, "a form name") else {
                continue;
            };
            let mut form = Form {
                name: name.clone(),
                slots: Vec::new(),
                done: Vec::new(),
                action: None,
            };
            for (k, v) in self.mapping(value, &format!("form `{name}`")) {
                match k.as_str().unwrap_or_default() {
                    "slots" => {
                        for (slot_key, slot_value) in self.mapping(v, "the form's `slots`") {
                            let Some(slot) = self.text(slot_key, "a slot name") else { continue };
                            if !entities.iter().any(|(n, _)| *n == slot) {
                                self.error(slot_key.at, format!("form `{name}` asks for `{slot}`, but no entity `{slot}` is declared under `entities:` to fill it"));
                            }
                            let mut form_slot = FormSlot { name: slot.clone(), ask: Vec::new(), invalid: Vec::new() };
                            for (sk, sv) in self.mapping(slot_value, &format!("slot `{slot}`")) {
                                match sk.as_str().unwrap_or_default() {
                                    "ask" => form_slot.ask = self.responses(sv),
                                    "invalid" => form_slot.invalid = self.responses(sv),
                                    other => self.error(sk.at, format!("unknown key `{other}` in slot `{slot}`; a slot has: ask, invalid")),
                                }
                            }
                            if form_slot.ask.is_empty() {
                                self.error(slot_key.at, format!("slot `{slot}` of form `{name}` has no `ask`; add the question that asks for it"));
                            }
                            form.slots.push(form_slot);
                        }
                    }
                    "done" => form.done = self.responses(v),
                    "action" => {
                        let action = self.text(v, "an action name");
                        if let Some(a) = &action
                            && !actions.iter().any(|x| x.name == *a)
                        {
                            self.error(v.at, format!("action `{a}` is not declared under `actions:`"));
                        }
                        form.action = action;
                    }
                    other => self.error(k.at, format!("unknown key `{other}` in form `{name}`; a form has: slots, done, action")),
                }
            }
            if form.slots.is_empty() {
                self.error(key.at, format!("form `{name}` has no `slots`"));
            }
            if form.done.is_empty() && form.action.is_none() {
                self.error(key.at, format!("form `{name}` has neither `done` nor `action`; say what happens when it is filled"));
            }
            forms.push(form);
        }
        forms
    }

    /// `faq:` — a list of `{q: question or questions, a: answer}`; each becomes an intent.
    fn faq(&mut self, node: &Node, numbered_before: usize) -> Vec<Intent> {
        let mut out = Vec::new();
        let Value::Sequence(items) = &node.value else {
            self.error(node.at, "`faq` must be a list of `- q: ... a: ...` entries");
            return out;
        };
        for (n, item) in items.iter().enumerate() {
            let mut intent = Intent::named(&format!("faq_{}", numbered_before + n + 1));
            for (k, v) in self.mapping(item, "an FAQ entry") {
                match k.as_str().unwrap_or_default() {
                    "q" | "question" | "questions" => {
                        for (question, at) in self.texts(v, "a question") {
                            let key = text::normalize(&question);
                            if let Some((other, file, first)) = self.examples_seen.get(&key) {
                                let place = self.place(file, *first);
                                let message = format!(
                                    "question \"{question}\" is already an example of `{other}` ({place}); keep it in one place"
                                );
                                self.error(at, message);
                                continue;
                            }
                            self.examples_seen
                                .insert(key, (intent.name.clone(), self.source_name, at));
                            intent.examples.push(Example {
                                text: question,
                                entities: Vec::new(),
                            });
                        }
                    }
                    "a" | "answer" => intent.responses = self.responses(v),
                    other => self.error(
                        k.at,
                        format!("unknown key `{other}` in an FAQ entry; an entry has: q, a"),
                    ),
                }
            }
            if intent.examples.is_empty() || intent.responses.is_empty() {
                self.error(
                    item.at,
                    "an FAQ entry needs `q` (one or more questions) and `a` (the answer)",
                );
                continue;
            }
            intent.title = intent.examples[0].text.clone();
            out.push(intent);
        }
        out
    }

    /// `entities:` — each is a built-in name (`when: date`), `learned`, or a mapping with
    /// `values` (a lookup table, canonical value → synonyms) and `fuzzy`, or with `regex`.
    fn entities(
        &mut self,
        node: &Node,
        declared: &[(String, EntityRule)],
    ) -> Vec<(String, EntityRule)> {
        let mut entities: Vec<(String, EntityRule)> = Vec::new();
        for (key, value) in self.mapping(node, "`entities`") {
            let Some(name) = self.text(key, "an entity name") else {
                continue;
            };
            if entities.iter().chain(declared).any(|(n, _)| *n == name) {
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

    fn intents(
        &mut self,
        node: &Node,
        entities: &[(String, EntityRule)],
        forms: &[Form],
        actions: &[Action],
    ) -> Vec<Intent> {
        let mut intents = Vec::new();
        // Normalized example -> (intent, where it was first seen), to catch one example under two intents.
        for (key, value) in self.mapping(node, "`intents`") {
            let Some(name) = self.text(key, "an intent name") else {
                continue;
            };
            if let Some((file, first)) = self
                .intent_names
                .insert(name.clone(), (self.source_name, key.at))
            {
                let place = self.place(file, first);
                self.error(
                    key.at,
                    format!("intent `{name}` is defined twice (first at {place})"),
                );
                continue;
            }
            let mut intent = Intent::named(&name);
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
                            match self.examples_seen.get(&key) {
                                Some((other, file, first)) if *other != name => {
                                    let place = self.place(file, *first);
                                    let message = format!(
                                        "example \"{}\" is under both `{other}` ({place}) and `{name}`; keep it under one intent",
                                        example.text
                                    );
                                    self.error(at, message);
                                }
                                Some(_) => {}
                                None => {
                                    self.examples_seen.insert(key, (name.clone(), self.source_name, at));
                                    intent.examples.push(example);
                                }
                            }
                        }
                    }
                    "responses" | "response" => intent.responses = self.responses(field_value),
                    "title" => intent.title = self.text(field_value, "`title`").unwrap_or_default(),
                    "handoff" => intent.handoff = field_value.as_str() == Some("true"),
                    "action" => {
                        intent.action = self.text(field_value, "an action name");
                        if let Some(a) = &intent.action
                            && !actions.iter().any(|x| x.name == *a)
                        {
                            self.error(field_value.at, format!("action `{a}` is not declared under `actions:`; declare it with a `fallback` for when the page has no such action"));
                        }
                    }
                    "form" => {
                        intent.form = self.text(field_value, "a form name");
                        if let Some(f) = &intent.form
                            && !forms.iter().any(|x| x.name == *f)
                        {
                            self.error(field_value.at, format!("form `{f}` is not defined under `forms:`"));
                        }
                    }
                    other => self.error(
                        field.at,
                        format!("unknown key `{other}` in intent `{name}`; an intent has: examples, responses, title, action, form, handoff"),
                    ),
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
            if intent.responses.is_empty() && intent.action.is_none() && intent.form.is_none() {
                self.error(
                    key.at,
                    format!("intent `{name}` has no `responses` (nor an `action` or `form`); add what the bot should answer"),
                );
            }
            if intent.title.is_empty() {
                intent.title = intent
                    .examples
                    .first()
                    .map(|e| e.text.clone())
                    .unwrap_or_else(|| name.clone());
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
        let texts: Vec<&str> = bot.intents[1]
            .responses
            .iter()
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(texts, ["再见！", "下次见"]);
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
