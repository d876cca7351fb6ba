//! The dialogue: what the bot says and does, turn by turn. A [`Policy`] (from the bot file)
//! decides; a [`Conversation`] (a plain value the caller keeps, saves and restores) remembers
//! slots, the active form and how often the bot failed to understand. No clock, no I/O: the
//! caller passes the time in and runs actions itself.

use crate::calendar::ReferenceTime;
use crate::corpus::Mention;
use crate::postcard_reader::decode_fields;
use crate::slots::Slots;
use serde::Serialize;

/// One way of answering: text with `{slot}` templates, and optional buttons, image and link.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Response {
    /// The text; `{name}` is replaced by the slot's value (Markdown is allowed).
    pub text: String,
    /// Quick replies: pressing one sends its payload as the user's message.
    pub buttons: Vec<Button>,
    /// An image URL.
    pub image: Option<String>,
    /// A link card.
    pub link: Option<Link>,
    /// Conditions: every `(slot, value)` must hold (`None`: the slot must be empty).
    pub when: Vec<(String, Option<String>)>,
}

/// A quick-reply button.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Button {
    /// What the button shows.
    pub title: String,
    /// What pressing it sends: text, or `/intent` to choose an intent directly.
    pub payload: String,
}

/// A link card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// The card's title.
    pub title: String,
    /// Where it points.
    pub url: String,
}

/// A form: slots to collect, one question each, then a final response or action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Form {
    /// The form's name.
    pub name: String,
    /// Required slots, asked in order.
    pub slots: Vec<FormSlot>,
    /// Said when every slot is filled (templates see the slots).
    pub done: Vec<Response>,
    /// Run when every slot is filled (after `done`).
    pub action: Option<String>,
}

/// One slot of a form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormSlot {
    /// The slot's name (also the entity that fills it).
    pub name: String,
    /// The question.
    pub ask: Vec<Response>,
    /// Said when the answer holds no value of the slot's entity (before asking again).
    pub invalid: Vec<Response>,
}

/// A named action the host runs (a JavaScript hook in the widget, a webhook on the server).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// The action's name.
    pub name: String,
    /// Said when the host has no such action, or it failed or timed out.
    pub fallback: Vec<Response>,
    /// How long the host waits for it, in milliseconds.
    pub timeout_ms: u32,
}

/// What an intent leads to.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct IntentRule {
    /// A short label for clarification buttons.
    pub title: String,
    /// Responses (one is chosen among those whose conditions hold).
    pub responses: Vec<Response>,
    /// An action to run after the responses.
    pub action: Option<String>,
    /// A form to start.
    pub form: Option<String>,
    /// The user asks for a person: the turn is marked for handoff.
    pub handoff: bool,
}

/// The bot's whole dialogue policy, stored in the model.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Policy {
    /// Per intent, in the classifier's label order.
    pub intents: Vec<IntentRule>,
    /// The forms.
    pub forms: Vec<Form>,
    /// The actions.
    pub actions: Vec<Action>,
    /// First-stage fallback: the text above the top guesses (as buttons). `None`: skip it.
    pub clarify: Option<String>,
    /// Final fallback responses (empty: a built-in one in the user's language).
    pub fallback: Vec<Response>,
    /// Offered with the final fallback: a button that asks for a person.
    pub handoff_button: Option<Button>,
    /// Minutes of silence after which a conversation starts over.
    pub session_minutes: Option<u32>,
    /// Slots kept when a session starts over.
    pub carry_over: Vec<String>,
}

decode_fields!(Response {
    text,
    buttons,
    image,
    link,
    when
});
decode_fields!(Button { title, payload });
decode_fields!(Link { title, url });
decode_fields!(Form {
    name,
    slots,
    done,
    action
});
decode_fields!(FormSlot { name, ask, invalid });
decode_fields!(Action {
    name,
    fallback,
    timeout_ms
});
decode_fields!(IntentRule {
    title,
    responses,
    action,
    form,
    handoff
});
decode_fields!(Policy {
    intents,
    forms,
    actions,
    clarify,
    fallback,
    handoff_button,
    session_minutes,
    carry_over,
});

/// A form being filled.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct ActiveForm {
    form: usize,
    asking: usize,
}

/// The state of one conversation: keep it between turns (serialize it to persist it).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Conversation {
    /// Filled slots.
    pub slots: Slots,
    form: Option<ActiveForm>,
    /// Consecutive turns the bot did not understand.
    misunderstood: u32,
    /// Minutes since 1970 of the last turn.
    last_turn: Option<i64>,
    /// Turns so far (also picks response variants).
    turns: u64,
}

decode_fields!(ActiveForm { form, asking });
decode_fields!(Conversation {
    slots,
    form,
    misunderstood,
    last_turn,
    turns
});

impl Conversation {
    /// Serialized state (compact bytes), for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Plain data always serializes.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// State from [`Conversation::to_bytes`]; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Conversation> {
        let mut reader = crate::postcard_reader::Reader::new(bytes);
        let conversation = reader.read();
        reader.finish().ok()?;
        Some(conversation)
    }

    /// The name of the form being filled, if any.
    pub fn active_form<'p>(&self, policy: &'p Policy) -> Option<&'p str> {
        let active = self.form.as_ref()?;
        policy.forms.get(active.form).map(|f| f.name.as_str())
    }
}

/// A message the bot shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Text (templates filled).
    pub text: String,
    /// Quick replies.
    pub buttons: Vec<Button>,
    /// Image URL.
    pub image: Option<String>,
    /// Link card.
    pub link: Option<Link>,
}

/// An action the host must run now; it reports back with [`crate::Model::action_result`].
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRequest {
    /// The action's name.
    pub name: String,
    /// The slots, for the action to use.
    pub slots: Slots,
    /// How long to wait for it, in milliseconds.
    pub timeout_ms: u32,
}

/// Everything the bot does in one turn.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Turn {
    /// Messages to show, in order.
    pub messages: Vec<Message>,
    /// An action to run (after showing the messages).
    pub action: Option<ActionRequest>,
    /// The recognized intent.
    pub intent: Option<String>,
    /// The entities found in the user's message.
    pub entities: Vec<Mention>,
    /// The conversation should go to a person.
    pub handoff: bool,
    /// The intent ranking of the message, best first (empty for a `/intent` payload): positions
    /// in the classifier's labels (`Model::classifier().labels()`) with their probabilities.
    pub ranking: Vec<(usize, f32)>,
}

/// What the host's action did.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionOutcome {
    /// It answered with this text.
    Replied(String),
    /// It set these slots and said nothing.
    SetSlots(Slots),
    /// No such action is registered, or it failed or timed out: use its fallback.
    Unavailable,
}

/// Top two intents closer than this are ambiguous: the bot asks instead of guessing.
const AMBIGUITY_MARGIN: f32 = 0.1;

/// Below this probability an intent is not worth offering as a guess.
const GUESS_FLOOR: f32 = 0.1;

/// Words that cancel a form, in both languages (matched on the whole normalized message).
const CANCEL: &[&str] = &[
    "取消",
    "算了",
    "不用了",
    "不要了",
    "不查了",
    "退出",
    "cancel",
    "stop",
    "never mind",
    "nevermind",
    "forget it",
    "quit",
];

/// What the engine understood of the message, as the dialogue needs it.
pub(crate) struct Understood<'a> {
    pub(crate) intent: Option<usize>,
    pub(crate) ranking: Vec<(usize, f32)>,
    pub(crate) entities: &'a [Mention],
    pub(crate) chinese: bool,
}

impl Policy {
    /// Runs one user turn. `labels` are the classifier's intent names.
    pub(crate) fn turn(
        &self,
        labels: &[String],
        state: &mut Conversation,
        text: &str,
        understood: &Understood<'_>,
        now: &ReferenceTime,
    ) -> Turn {
        let minute = now.date.days() * 1440 + i64::from(now.hour) * 60 + i64::from(now.minute);
        if let (Some(limit), Some(last)) = (self.session_minutes, state.last_turn)
            && minute - last > i64::from(limit)
        {
            let mut kept = std::mem::take(&mut state.slots);
            kept.retain(|name, _| self.carry_over.iter().any(|c| c == name));
            *state = Conversation {
                slots: kept,
                turns: state.turns,
                ..Conversation::default()
            };
        }
        state.last_turn = Some(minute);
        state.turns += 1;
        let mut turn = Turn {
            intent: understood.intent.map(|i| labels[i].clone()),
            entities: understood.entities.to_vec(),
            ..Turn::default()
        };
        let filled: Vec<&str> = understood
            .entities
            .iter()
            .map(|m| m.entity.as_str())
            .collect();
        for m in understood.entities {
            state.slots.insert(m.entity.clone(), m.value.clone());
        }

        // A state saved with another version of the bot may name a form it no longer has.
        let active = state.form.clone().and_then(|active| {
            let form = self.forms.get(active.form)?;
            Some((active.form, form, form.slots.get(active.asking)?))
        });
        if active.is_none() {
            state.form = None;
        }
        if let Some((form_index, form, asked)) = active {
            let normalized = crate::text::normalize(text);
            if CANCEL
                .iter()
                .any(|c| crate::text::normalize(c) == normalized)
            {
                state.form = None;
                let says = if understood.chinese {
                    "好的，已取消。"
                } else {
                    "OK, cancelled."
                };
                turn.messages.push(plain(says));
                return turn;
            }
            // Any slot of the form given now (the one asked, or a change to another) moves on.
            if filled
                .iter()
                .any(|f| form.slots.iter().any(|s| s.name == *f))
            {
                state.misunderstood = 0;
                self.continue_form(state, form_index, &mut turn);
                return turn;
            }
            // A digression: answer it, then ask again.
            if let Some(intent) = understood.intent
                && self.intents[intent].form.is_none()
                && !self.intents[intent].responses.is_empty()
            {
                self.answer(state, intent, &mut turn);
                turn.action = None;
            } else if let Some(r) = self.pick(&asked.invalid, state) {
                turn.messages.push(r);
            }
            if let Some(r) = self.pick(&asked.ask, state) {
                turn.messages.push(r);
            }
            return turn;
        }

        // A button that names an intent directly.
        let pressed = text
            .trim()
            .strip_prefix('/')
            .and_then(|name| labels.iter().position(|l| l == name));
        // Two intents almost equally likely: ask which one (once) rather than guess.
        let ambiguous = pressed.is_none()
            && self.clarify.is_some()
            && state.misunderstood == 0
            && matches!(understood.ranking.as_slice(), [(_, a), (_, b), ..] if a - b < AMBIGUITY_MARGIN);
        let chosen = if ambiguous {
            None
        } else {
            pressed.or(understood.intent)
        };
        match chosen {
            Some(intent) => {
                state.misunderstood = 0;
                turn.intent = Some(labels[intent].clone());
                self.answer(state, intent, &mut turn);
                turn.handoff = self.intents[intent].handoff;
                if let Some(form) = &self.intents[intent].form
                    && let Some(index) = self.forms.iter().position(|f| f.name == *form)
                {
                    // A new request starts from what this message says, not from old answers.
                    for slot in &self.forms[index].slots {
                        if !filled.contains(&slot.name.as_str()) {
                            state.slots.remove(&slot.name);
                        }
                    }
                    self.continue_form(state, index, &mut turn);
                }
            }
            None => {
                turn.intent = None;
                self.fall_back(labels, state, understood, &mut turn);
            }
        }
        turn
    }

    /// Asks the next empty slot of form `index`, or finishes the form.
    fn continue_form(&self, state: &mut Conversation, index: usize, turn: &mut Turn) {
        let form = &self.forms[index];
        match form
            .slots
            .iter()
            .position(|s| !state.slots.contains(&s.name))
        {
            Some(asking) => {
                state.form = Some(ActiveForm {
                    form: index,
                    asking,
                });
                if let Some(r) = self.pick(&form.slots[asking].ask, state) {
                    turn.messages.push(r);
                }
            }
            None => {
                state.form = None;
                if let Some(r) = self.pick(&form.done, state) {
                    turn.messages.push(r);
                }
                if let Some(action) = &form.action {
                    turn.action = Some(self.request(action, state));
                }
            }
        }
    }

    fn answer(&self, state: &mut Conversation, intent: usize, turn: &mut Turn) {
        let rule = &self.intents[intent];
        if let Some(r) = self.pick(&rule.responses, state) {
            turn.messages.push(r);
        }
        if let Some(action) = &rule.action {
            turn.action = Some(self.request(action, state));
        }
    }

    fn request(&self, action: &str, state: &Conversation) -> ActionRequest {
        ActionRequest {
            name: action.to_owned(),
            slots: state.slots.clone(),
            timeout_ms: self
                .actions
                .iter()
                .find(|a| a.name == action)
                .map_or(3000, |a| a.timeout_ms),
        }
    }

    /// Two stages: first offer the best guesses as buttons, then give up (offering a person).
    fn fall_back(
        &self,
        labels: &[String],
        state: &mut Conversation,
        understood: &Understood<'_>,
        turn: &mut Turn,
    ) {
        state.misunderstood += 1;
        let guesses: Vec<Button> = understood
            .ranking
            .iter()
            .filter(|(_, confidence)| *confidence >= GUESS_FLOOR)
            .take(3)
            .map(|&(i, _)| Button {
                title: if self.intents[i].title.is_empty() {
                    labels[i].clone()
                } else {
                    self.intents[i].title.clone()
                },
                payload: format!("/{}", labels[i]),
            })
            .collect();
        if state.misunderstood == 1
            && let Some(clarify) = &self.clarify
            && !guesses.is_empty()
        {
            turn.messages.push(Message {
                buttons: guesses,
                ..plain(clarify)
            });
            return;
        }
        state.misunderstood = 0;
        let mut message = self.pick(&self.fallback, state).unwrap_or_else(|| {
            plain(if understood.chinese {
                "抱歉，我没有听懂。可以换个说法吗？"
            } else {
                "Sorry, I didn't understand that. Could you rephrase it?"
            })
        });
        if let Some(button) = &self.handoff_button {
            message.buttons.push(button.clone());
        }
        turn.messages.push(message);
    }

    /// What to say after the host ran an action.
    pub(crate) fn action_result(
        &self,
        state: &mut Conversation,
        action: &str,
        outcome: ActionOutcome,
    ) -> Turn {
        let mut turn = Turn::default();
        match outcome {
            ActionOutcome::Replied(text) => turn.messages.push(plain(&text)),
            ActionOutcome::SetSlots(slots) => state.slots.extend(slots),
            ActionOutcome::Unavailable => {
                let fallback = self
                    .actions
                    .iter()
                    .find(|a| a.name == action)
                    .map(|a| &a.fallback);
                if let Some(r) = fallback.and_then(|f| self.pick(f, state)) {
                    turn.messages.push(r);
                }
            }
        }
        turn
    }

    /// A response whose conditions hold and whose templates can all be filled; variants rotate
    /// with the turn count.
    pub(crate) fn pick(&self, responses: &[Response], state: &Conversation) -> Option<Message> {
        let usable: Vec<(&Response, String)> = responses
            .iter()
            .filter(|r| {
                r.when.iter().all(|(slot, value)| match value {
                    Some(v) => state.slots.get(slot) == Some(v.as_str()),
                    None => !state.slots.contains(slot),
                })
            })
            .filter_map(|r| Some((r, fill(&r.text, &state.slots)?)))
            .collect();
        // Prefer the most specific responses: those with the most conditions and filled slots
        // ("{city}晴" over "哪个城市？" once the city is known).
        let specificity = |r: &Response| r.when.len() + template_slots(&r.text).len();
        let most = usable.iter().map(|(r, _)| specificity(r)).max()?;
        let best: Vec<&(&Response, String)> = usable
            .iter()
            .filter(|(r, _)| specificity(r) == most)
            .collect();
        let (response, text) = best[(state.turns as usize) % best.len()];
        Some(Message {
            text: text.clone(),
            buttons: response.buttons.clone(),
            image: response.image.clone(),
            link: response.link.clone(),
        })
    }
}

fn plain(text: &str) -> Message {
    Message {
        text: text.to_owned(),
        buttons: Vec::new(),
        image: None,
        link: None,
    }
}

/// Fills `{slot}` templates; `None` when a slot it names is empty. `{{` and `}}` are braces.
pub(crate) fn fill(template: &str, slots: &Slots) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
            out.push_str(&tail[..1]);
            rest = after;
        } else if let Some(after) = tail.strip_prefix('}') {
            out.push('}');
            rest = after;
        } else if let Some(close) = tail.find('}') {
            out.push_str(slots.get(tail[1..close].trim())?);
            rest = &tail[close + 1..];
        } else {
            out.push_str(tail);
            rest = "";
        }
    }
    out.push_str(rest);
    Some(out)
}

/// Slot names a template uses.
pub(crate) fn template_slots(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let tail = &rest[open..];
        if let Some(after) = tail.strip_prefix("{{") {
            rest = after;
        } else if let Some(close) = tail.find('}') {
            names.push(tail[1..close].trim().to_owned());
            rest = &tail[close + 1..];
        } else {
            break;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_or_refuse() {
        let slots: Slots = [("city".to_owned(), "北京".to_owned())]
            .into_iter()
            .collect();
        assert_eq!(fill("{city}天气", &slots).as_deref(), Some("北京天气"));
        assert_eq!(
            fill("{{city}} {city}", &slots).as_deref(),
            Some("{city} 北京")
        );
        assert_eq!(fill("{date}", &slots), None);
        assert_eq!(template_slots("{a} and {b} {{c}}"), ["a", "b"]);
    }
}

#[cfg(test)]
mod conversation_tests {
    use crate::calendar::ReferenceTime;
    use crate::dialogue::Conversation;
    use crate::{Model, TrainOptions, bot};

    const BOT: &str = "\
name: s
languages: [zh]
session: {expire_after_minutes: 30, carry_over: [city]}
entities:
  city: {values: {北京: [], 上海: []}}
  order: {regex: '[A-Z]{2}[0-9]{4}'}
forms:
  track:
    slots:
      order: {ask: 订单号？}
    done: 查询{order}
intents:
  track: {examples: [查订单, 订单到哪了, 帮我查订单], form: track}
  weather: {examples: ['[北京](city)天气', '[上海](city)天气怎么样', 天气如何], responses: ['{city}晴', 哪个城市？]}
";

    fn at(time: &str) -> ReferenceTime {
        ReferenceTime::parse(time).unwrap()
    }

    #[test]
    fn a_session_expires_after_silence_keeping_carry_over_slots() {
        let bot = bot::parse("s.yaml", BOT).unwrap();
        let model = Model::train(&bot, &TrainOptions::default(), &mut |_| {}).unwrap();
        let mut state = Conversation::default();
        model.converse(&mut state, "北京天气", &at("2026-11-22T10:00"));
        let turn = model.converse(&mut state, "查订单", &at("2026-11-22T10:05"));
        assert_eq!(turn.messages[0].text, "订单号？");
        assert_eq!(state.active_form(model.policy()), Some("track"));
        // 20 minutes later: still the same session, the form still waits.
        let turn = model.converse(&mut state, "AB1234", &at("2026-11-22T10:25"));
        assert_eq!(turn.messages[0].text, "查询AB1234");
        model.converse(&mut state, "查订单", &at("2026-11-22T10:26"));
        assert_eq!(state.active_form(model.policy()), Some("track"));
        // An hour of silence: the form is forgotten, the city is kept, the order is not.
        let turn = model.converse(&mut state, "天气如何", &at("2026-11-22T11:30"));
        assert_eq!(state.active_form(model.policy()), None);
        assert_eq!(turn.messages[0].text, "北京晴");
        assert_eq!(state.slots.get("city"), Some("北京"));
        assert!(!state.slots.contains("order"));
    }

    #[test]
    fn a_state_from_another_bot_version_does_not_break_a_turn() {
        let bot = bot::parse("s.yaml", BOT).unwrap();
        let model = Model::train(&bot, &TrainOptions::default(), &mut |_| {}).unwrap();
        let mut state = Conversation::default();
        model.converse(&mut state, "查订单", &at("2026-11-22T10:00"));
        let saved = state.to_bytes();
        // The same bytes loaded against a bot without that form: the turn still answers.
        let other = bot::parse(
            "o.yaml",
            "name: o\nintents:\n  hi: {examples: [你好, hello], responses: 嗨}\n  bye: {examples: [再见, bye], responses: 再见}\n",
        )
        .unwrap();
        let other = Model::train(&other, &TrainOptions::default(), &mut |_| {}).unwrap();
        let mut restored = Conversation::from_bytes(&saved).unwrap();
        let turn = other.converse(&mut restored, "你好", &at("2026-11-22T10:01"));
        assert_eq!(turn.messages[0].text, "嗨");
        assert_eq!(Conversation::from_bytes(b"\xff\xff\xff"), None);
    }

    #[test]
    fn a_saved_state_reads_back_whole_and_damaged_bytes_are_refused() {
        let mut slots = crate::slots::Slots::new();
        slots.insert("city".to_owned(), "北京".to_owned());
        slots.insert("area".to_owned(), "海淀".to_owned());
        for last_turn in [None, Some(-3), Some(29_400_000)] {
            let state = Conversation {
                slots: slots.clone(),
                form: Some(super::ActiveForm {
                    form: 300,
                    asking: 2,
                }),
                misunderstood: 5,
                last_turn,
                turns: 1 << 40,
            };
            let bytes = state.to_bytes();
            assert_eq!(Conversation::from_bytes(&bytes), Some(state.clone()));
            assert_eq!(Conversation::from_bytes(&bytes[..bytes.len() - 1]), None);
            let longer = [&bytes[..], &[0]].concat();
            assert_eq!(Conversation::from_bytes(&longer), None);
        }
        let fresh = Conversation::default();
        assert_eq!(Conversation::from_bytes(&fresh.to_bytes()), Some(fresh));
    }
}
