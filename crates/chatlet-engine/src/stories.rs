//! Conversation tests ("stories"): a YAML file of dialogues — what the user says, and what the
//! bot must answer, fill, run or hand off — checked against a model. The same runner serves
//! `chatlet test --stories`, `cargo xtask test` and the wasm tests.
//!
//! ```yaml
//! stories:
//!   - name: order status
//!     now: 2026-11-22T10:00          # optional reference time
//!     steps:
//!       - user: 我的订单到哪了
//!         intent: order_status
//!         bot: 请告诉我您的订单号。     # texts that must be said, in this order
//!       - user: AB123456
//!         slots: {order: AB123456}
//!         action: check_order         # the action the bot must ask the host to run
//!         action_reply: 已发货         # what the host answers (omitted: not registered)
//!         bot_contains: 已发货
//!         save_and_restore: true       # serialize the state and continue from the copy
//! ```

use crate::calendar::ReferenceTime;
use crate::dialogue::{ActionOutcome, Conversation, Turn};
use crate::error::{Diagnostics, Error, ErrorKind, Location};
use crate::model::Model;
use crate::yaml::{self, Node, Value};

/// One dialogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    /// Its name.
    pub name: String,
    /// The reference time of every turn.
    pub now: ReferenceTime,
    /// The turns.
    pub steps: Vec<Step>,
}

/// One user turn and what must happen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step {
    /// What the user says.
    pub user: String,
    /// The intent the bot must recognize (`oos` for none).
    pub intent: Option<String>,
    /// Slots that must hold these values afterwards (`None`: must be empty).
    pub slots: Vec<(String, Option<String>)>,
    /// The action the bot must request.
    pub action: Option<String>,
    /// The host's answer to that action; without it the action is unavailable.
    pub action_reply: Option<String>,
    /// Texts the bot must say, in this order (other messages may come between).
    pub bot: Vec<String>,
    /// Fragments some message must contain.
    pub bot_contains: Vec<String>,
    /// Button titles that must be offered.
    pub buttons: Vec<String>,
    /// Whether the turn must (or must not) hand off to a person.
    pub handoff: Option<bool>,
    /// Save the state to bytes and continue from a fresh copy after this step.
    pub save_and_restore: bool,
    /// Where the step is in the file.
    pub at: Option<Location>,
}

/// A failed expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The story's name.
    pub story: String,
    /// Where the failing step is.
    pub at: Option<Location>,
    /// What went wrong.
    pub message: String,
}

/// The reference time of stories that give none: a fixed Monday morning, so runs repeat.
const DEFAULT_NOW: ReferenceTime = ReferenceTime {
    date: crate::calendar::Date {
        year: 2026,
        month: 1,
        day: 5,
    },
    hour: 10,
    minute: 0,
};

/// Reads a stories file; every problem is reported with its line and column.
pub fn parse(source_name: &str, text: &str) -> Result<Vec<Story>, Diagnostics> {
    let root = yaml::parse(source_name, text)?;
    let mut errors = Vec::new();
    let mut error = |at: Location, message: String| {
        errors.push(Error::at(ErrorKind::Bot, source_name, at, message));
    };
    let mut stories = Vec::new();
    let list = match &root.value {
        Value::Mapping(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some("stories"))
            .map(|(_, v)| v),
        _ => None,
    };
    let Some(Node {
        value: Value::Sequence(items),
        ..
    }) = list
    else {
        error(
            root.at,
            "a stories file has `stories:`, a list of `- name: ... steps: [...]`".to_owned(),
        );
        return Err(Diagnostics(errors));
    };
    for item in items {
        let mut story = Story {
            name: String::new(),
            now: DEFAULT_NOW,
            steps: Vec::new(),
        };
        let Value::Mapping(fields) = &item.value else {
            error(
                item.at,
                "a story is a mapping with `name` and `steps`".to_owned(),
            );
            continue;
        };
        for (key, value) in fields {
            match key.as_str().unwrap_or_default() {
                "name" => story.name = value.as_str().unwrap_or_default().to_owned(),
                "now" => match value.as_str().and_then(ReferenceTime::parse) {
                    Some(now) => story.now = now,
                    None => error(value.at, "`now` must look like 2026-11-22T10:00".to_owned()),
                },
                "steps" => match &value.value {
                    Value::Sequence(steps) => {
                        for step in steps {
                            match read_step(step) {
                                Ok(s) => story.steps.push(s),
                                Err((at, message)) => error(at, message),
                            }
                        }
                    }
                    _ => error(value.at, "`steps` must be a list".to_owned()),
                },
                other => error(
                    key.at,
                    format!("unknown key `{other}` in a story; a story has: name, now, steps"),
                ),
            }
        }
        if story.steps.is_empty() {
            error(item.at, format!("story `{}` has no steps", story.name));
        }
        stories.push(story);
    }
    if errors.is_empty() {
        Ok(stories)
    } else {
        Err(Diagnostics(errors))
    }
}

fn texts(node: &Node) -> Vec<String> {
    match &node.value {
        Value::Sequence(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => node.as_str().map(str::to_owned).into_iter().collect(),
    }
}

fn read_step(node: &Node) -> Result<Step, (Location, String)> {
    let Value::Mapping(fields) = &node.value else {
        return Err((
            node.at,
            "a step is a mapping that starts with `user:`".to_owned(),
        ));
    };
    let mut step = Step {
        at: Some(node.at),
        ..Step::default()
    };
    let mut has_user = false;
    for (key, value) in fields {
        let text = || value.as_str().map(str::to_owned);
        match key.as_str().unwrap_or_default() {
            "user" => {
                step.user = text().unwrap_or_default();
                has_user = true;
            }
            "intent" => step.intent = text(),
            "slots" => {
                let Value::Mapping(slots) = &value.value else {
                    return Err((
                        value.at,
                        "`slots` must be a mapping of slot: value".to_owned(),
                    ));
                };
                for (k, v) in slots {
                    let expected = if v.is_null() {
                        None
                    } else {
                        v.as_str().map(str::to_owned)
                    };
                    step.slots
                        .push((k.as_str().unwrap_or_default().to_owned(), expected));
                }
            }
            "action" => step.action = text(),
            "action_reply" => step.action_reply = text(),
            "bot" => step.bot = texts(value),
            "bot_contains" => step.bot_contains = texts(value),
            "buttons" => step.buttons = texts(value),
            "handoff" => step.handoff = value.as_str().map(|v| v == "true"),
            "save_and_restore" => step.save_and_restore = value.as_str() == Some("true"),
            other => {
                return Err((
                    key.at,
                    format!(
                        "unknown key `{other}` in a step; a step has: user, intent, slots, action, action_reply, bot, bot_contains, buttons, handoff, save_and_restore"
                    ),
                ));
            }
        }
    }
    if !has_user {
        return Err((
            node.at,
            "a step needs `user:` (what the user says)".to_owned(),
        ));
    }
    Ok(step)
}

/// Runs every story from a fresh conversation; returns what failed (empty: all passed).
pub fn run(model: &Model, stories: &[Story]) -> Vec<Failure> {
    let mut failures = Vec::new();
    for story in stories {
        let mut state = Conversation::default();
        for step in &story.steps {
            let mut turn = model.converse(&mut state, &step.user, &story.now);
            let mut problems = Vec::new();
            let mut said: Vec<Turn> = Vec::new();
            let requested = turn.action.take();
            match (&step.action, &requested) {
                (Some(want), Some(got)) if want != &got.name => {
                    problems.push(format!(
                        "expected action `{want}`, the bot asked for `{}`",
                        got.name
                    ));
                }
                (Some(want), None) => {
                    problems.push(format!("expected action `{want}`, the bot asked for none"))
                }
                _ => {}
            }
            let intent = turn.intent.clone();
            let handoff = turn.handoff;
            said.push(turn);
            if let Some(action) = requested {
                let outcome = match &step.action_reply {
                    Some(reply) => ActionOutcome::Replied(reply.clone()),
                    None => ActionOutcome::Unavailable,
                };
                said.push(model.action_result(&mut state, &action.name, outcome));
            }
            let messages: Vec<&crate::dialogue::Message> =
                said.iter().flat_map(|t| &t.messages).collect();
            if let Some(want) = &step.intent {
                let got = intent.as_deref().unwrap_or("oos");
                if want != got {
                    problems.push(format!("expected intent `{want}`, got `{got}`"));
                }
            }
            let mut from = 0;
            for want in &step.bot {
                match messages[from..].iter().position(|m| m.text == *want) {
                    Some(p) => from += p + 1,
                    None => problems.push(format!("expected the bot to say {want:?}")),
                }
            }
            for fragment in &step.bot_contains {
                if !messages.iter().any(|m| m.text.contains(fragment.as_str())) {
                    problems.push(format!("expected a message containing {fragment:?}"));
                }
            }
            for title in &step.buttons {
                if !messages
                    .iter()
                    .any(|m| m.buttons.iter().any(|b| b.title == *title))
                {
                    problems.push(format!("expected a button {title:?}"));
                }
            }
            for (slot, want) in &step.slots {
                let got = state.slots.get(slot);
                if got != want.as_deref() {
                    problems.push(format!("expected slot `{slot}` = {want:?}, got {got:?}"));
                }
            }
            if let Some(want) = step.handoff
                && want != handoff
            {
                problems.push(format!("expected handoff: {want}"));
            }
            if !problems.is_empty() {
                let said: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
                failures.push(Failure {
                    story: story.name.clone(),
                    at: step.at,
                    message: format!(
                        "user: {:?}: {}; the bot said {said:?}",
                        step.user,
                        problems.join("; ")
                    ),
                });
                break;
            }
            if step.save_and_restore {
                state = Conversation::from_bytes(&state.to_bytes()).unwrap_or_default();
            }
        }
    }
    failures
}
