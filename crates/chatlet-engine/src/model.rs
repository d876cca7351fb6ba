//! The trained model: what `chatlet train` writes and the widget loads. A versioned binary
//! format (magic, format version, postcard body) that is checked on load.

use crate::bot::Bot;
use crate::calendar::ReferenceTime;
use crate::classifier::{Example, IntentClassifier, Progress, TrainOptions};
use crate::corpus::{Mention, Utterance};
use crate::dialogue::{ActionOutcome, Conversation, IntentRule, Policy, Turn, Understood};
use crate::entity_rules::{EntityRule, EntityRules, resolve_overlaps};
use crate::error::{Error, ErrorKind};
use crate::postcard_reader::{Fault, Reader, decode_fields};
use crate::script_variants::ScriptVariants;
use crate::slot_tagger::{Annotated, SlotTagger, TaggerOptions};
use serde::Serialize;

/// The first bytes of every model file.
pub const MAGIC: &[u8; 8] = b"CHATLET\0";

/// Bumped on every incompatible change to the model layout or to feature hashing.
pub const FORMAT_VERSION: u32 = 5;

/// A trained bot: classifier plus everything needed to answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    name: String,
    languages: Vec<String>,
    welcome: Option<String>,
    classifier: IntentClassifier,
    /// Learned entity spans, when the training data had annotations.
    slot_tagger: Option<SlotTagger>,
    /// Entities found by rules: lookup tables, patterns, built-ins.
    entity_rules: EntityRules,
    /// What to say and do, per intent (in the classifier's label order) and beyond.
    policy: Policy,
    /// Traditional characters read as the simplified ones the model was trained on.
    script_variants: ScriptVariants,
}

decode_fields!(Model {
    name,
    languages,
    welcome,
    classifier,
    slot_tagger,
    entity_rules,
    policy,
    script_variants,
});

/// What the model understood of one utterance, before any reply is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Understanding {
    /// The recognized intent, `None` when out of scope.
    pub intent: Option<String>,
    /// The best intent even when rejected.
    pub best: Option<String>,
    /// The calibrated probability of the best intent.
    pub confidence: f32,
    /// The most likely intents with their probabilities, best first.
    pub ranking: Vec<(String, f32)>,
    /// Entities found, in text order.
    pub entities: Vec<Mention>,
}

impl Model {
    /// Trains a model from a checked bot.
    pub fn train(
        bot: &Bot,
        options: &TrainOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Model, Error> {
        let utterances: Vec<Utterance> = bot
            .intents
            .iter()
            .flat_map(|intent| {
                intent.examples.iter().map(|example| Utterance {
                    text: example.text.clone(),
                    intent: Some(intent.name.clone()),
                    entities: example.entities.clone(),
                })
            })
            .collect();
        let mut model = Model::from_corpus(
            &bot.name,
            &bot.languages,
            &utterances,
            None,
            options,
            progress,
        )?;
        model.entity_rules = EntityRules::new(bot.entities.clone())
            .map_err(|problem| Error::new(ErrorKind::Bot, problem))?;
        // Lookup tables are matched like examples: their characters count as known too.
        let lookups = bot.entities.iter().flat_map(|(_, rule)| match rule {
            EntityRule::Lookup { values, .. } => values
                .iter()
                .flat_map(|(canonical, synonyms)| std::iter::once(canonical).chain(synonyms))
                .map(String::as_str)
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        });
        model.script_variants =
            ScriptVariants::for_texts(utterances.iter().map(|u| u.text.as_str()).chain(lookups));
        model.welcome = bot.welcome.clone();
        // `from_corpus` orders labels by first appearance, which is the bot's intent order.
        model.policy = Policy {
            intents: bot
                .intents
                .iter()
                .map(|i| IntentRule {
                    title: i.title.clone(),
                    responses: i.responses.clone(),
                    action: i.action.clone(),
                    form: i.form.clone(),
                    handoff: i.handoff,
                })
                .collect(),
            forms: bot.forms.clone(),
            actions: bot.actions.clone(),
            clarify: bot.clarify.clone(),
            fallback: bot.fallback.clone(),
            handoff_button: bot.handoff.clone(),
            session_minutes: bot.session_minutes,
            carry_over: bot.carry_over.clone(),
        };
        Ok(model)
    }

    /// Trains a model from labelled utterances (a data set); `validation`, when given, is used to
    /// calibrate confidence and pick the out-of-scope threshold. Utterances without an intent
    /// are out-of-scope examples: they only inform the threshold.
    pub fn from_corpus(
        name: &str,
        languages: &[String],
        train: &[Utterance],
        validation: Option<&[Utterance]>,
        options: &TrainOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Model, Error> {
        let mut labels: Vec<String> = Vec::new();
        for intent in train.iter().filter_map(|u| u.intent.as_ref()) {
            if !labels.contains(intent) {
                labels.push(intent.clone());
            }
        }
        if labels.is_empty() {
            return Err(Error::new(
                ErrorKind::NoTrainingData,
                "no utterance has an intent; nothing to train",
            ));
        }
        let label_index: std::collections::HashMap<&str, usize> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        let to_example = |u: &Utterance| Example {
            text: u.text.clone(),
            label: u
                .intent
                .as_deref()
                .and_then(|i| label_index.get(i).copied()),
        };
        let examples: Vec<Example> = train.iter().map(to_example).collect();
        // Validation utterances of intents unknown to training cannot be scored; leave them out.
        let valid: Option<Vec<Example>> = validation.map(|v| {
            v.iter()
                .filter(|u| {
                    u.intent
                        .as_deref()
                        .is_none_or(|i| label_index.contains_key(i))
                })
                .map(to_example)
                .collect()
        });
        let policy = Policy {
            intents: vec![IntentRule::default(); labels.len()],
            ..Policy::default()
        };
        let annotated: Vec<Annotated<'_>> = train
            .iter()
            .map(|u| Annotated {
                text: &u.text,
                intent: u.intent.as_deref(),
                entities: &u.entities,
            })
            .collect();
        let has_entities = train.iter().any(|u| !u.entities.is_empty());
        // Progress in thousandths: the classifier takes the first half when a tagger follows.
        let classifier_share = if has_entities { 500 } else { 1000 };
        let classifier =
            IntentClassifier::train(labels, &examples, valid.as_deref(), options, &mut |p| {
                progress(Progress {
                    done: p.done * classifier_share / p.total.max(1),
                    total: 1000,
                })
            });
        let tagger_options = TaggerOptions {
            seed: options.seed,
            ..TaggerOptions::default()
        };
        let slot_tagger = if has_entities {
            SlotTagger::train(&annotated, &tagger_options, &mut |done, total| {
                progress(Progress {
                    done: 500 + done * 500 / total.max(1),
                    total: 1000,
                })
            })
        } else {
            None
        };
        Ok(Model {
            name: name.to_owned(),
            languages: languages.to_vec(),
            welcome: None,
            classifier,
            slot_tagger,
            entity_rules: EntityRules::default(),
            policy,
            script_variants: ScriptVariants::for_texts(train.iter().map(|u| u.text.as_str())),
        })
    }

    /// The bot's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The first message to show, if the bot has one.
    pub fn welcome(&self) -> Option<&str> {
        self.welcome.as_deref()
    }

    /// The declared languages.
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    /// The intent classifier.
    pub fn classifier(&self) -> &IntentClassifier {
        &self.classifier
    }

    /// Classifies one utterance and extracts its entities; dates and times resolve against `now`
    /// (without it, none are extracted). Never panics.
    pub fn understand(&self, utterance: &str, now: Option<&ReferenceTime>) -> Understanding {
        let (mut understanding, ranking) = self.understand_indexed(utterance, now);
        let labels = self.classifier.labels();
        understanding.ranking = ranking
            .iter()
            .map(|&(k, confidence)| (labels[k].clone(), confidence))
            .collect();
        understanding
    }

    /// [`Model::understand`] with the ranking left empty, given instead as positions in the
    /// classifier's labels: what the dialogue policy and [`Turn::ranking`] work with, no copies
    /// of names.
    fn understand_indexed(
        &self,
        utterance: &str,
        now: Option<&ReferenceTime>,
    ) -> (Understanding, Vec<(usize, f32)>) {
        let original = utterance;
        let utterance = &*self.script_variants.apply(original);
        let prediction = self.classifier.predict(utterance);
        let mut entities = self.entity_rules.find(utterance, now);
        if let Some(tagger) = &self.slot_tagger {
            for mut m in tagger.tag(utterance, prediction.best) {
                if let Some(canonical) = self.entity_rules.canonical(&m.entity, &m.value) {
                    m.value = canonical;
                }
                entities.push(m);
            }
        }
        if utterance != original {
            // A value that is the span's text is the visitor's own text, as they wrote it (the
            // replacement is one character for one, so the offsets hold); canonical and resolved
            // values stay the bot's.
            let chars: Vec<char> = utterance.chars().collect();
            let written: Vec<char> = original.chars().collect();
            for m in &mut entities {
                let span = m.start..m.end.min(chars.len());
                if self.entity_rules.values_are_text(&m.entity)
                    && m.value.chars().eq(chars[span.clone()].iter().copied())
                {
                    m.value = written[span].iter().collect();
                }
            }
        }
        let indexed = prediction
            .ranking
            .iter()
            .map(|s| (s.index, s.confidence))
            .collect();
        let understanding = Understanding {
            intent: prediction.intent.map(str::to_owned),
            best: prediction.best.map(str::to_owned),
            confidence: prediction.confidence,
            ranking: Vec::new(),
            // Rules come first, so they win a tie with a learned span of the same length.
            entities: resolve_overlaps(entities),
        };
        (understanding, indexed)
    }

    /// The dialogue policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// One turn of a conversation: understands `utterance`, updates `state` (slots, form,
    /// fallback stage, session) and says what the bot shows and which action the host runs.
    /// Never panics.
    pub fn converse(&self, state: &mut Conversation, utterance: &str, now: &ReferenceTime) -> Turn {
        let (u, ranking) = self.understand_indexed(utterance, Some(now));
        let labels = self.classifier.labels();
        let understood = Understood {
            // The recognized intent is the ranking's first.
            intent: u.intent.as_ref().and(ranking.first().map(|&(k, _)| k)),
            ranking,
            entities: &u.entities,
            chinese: self.speaks_chinese(utterance),
        };
        let mut turn = self.policy.turn(labels, state, utterance, &understood, now);
        if !utterance.starts_with('/') {
            turn.ranking = understood.ranking;
        }
        turn
    }

    /// What the bot says after the host ran (or could not run) an action.
    pub fn action_result(
        &self,
        state: &mut Conversation,
        action: &str,
        outcome: ActionOutcome,
    ) -> Turn {
        self.policy.action_result(state, action, outcome)
    }

    /// True when the utterance is Chinese (or has no letters and the bot speaks Chinese first).
    fn speaks_chinese(&self, utterance: &str) -> bool {
        utterance.chars().any(crate::text::is_cjk)
            || (!utterance.chars().any(char::is_alphabetic)
                && self.languages.first().is_some_and(|l| l == "zh"))
    }

    /// Serializes the model: magic, format version (little endian), postcard body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        // Serializing plain data into a Vec cannot fail.
        bytes.extend(postcard::to_allocvec(self).expect("model serializes"));
        bytes
    }

    /// Loads a model, checking magic, version and internal consistency; never panics on any bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, Error> {
        let body = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(|| {
            Error::new(
                ErrorKind::NotAModel,
                "not a chatlet model (the file does not start with CHATLET)",
            )
        })?;
        let (version, body) = body
            .split_at_checked(4)
            .ok_or_else(|| corrupt("it ends inside the header"))?;
        let version = u32::from_le_bytes([version[0], version[1], version[2], version[3]]);
        if version != FORMAT_VERSION {
            return Err(Error::new(
                ErrorKind::ModelVersion,
                format!(
                    "the model has format version {version} but this chatlet reads version {FORMAT_VERSION}; retrain it with `chatlet train`"
                ),
            ));
        }
        let mut reader = Reader::new(body);
        let model: Model = reader.read();
        reader.finish().map_err(|fault| match fault {
            Fault::EndsEarly => corrupt("it ends early"),
            Fault::Malformed => corrupt("its contents do not decode"),
            Fault::Table(reason) => corrupt(&reason),
            Fault::LeftOver => corrupt("it goes on after its end"),
        })?;
        if let Some(tagger) = &model.slot_tagger {
            tagger.check().map_err(|what| corrupt(&what))?;
        }
        if model.policy.intents.len() != model.classifier.labels().len() {
            return Err(corrupt("responses do not match the intents"));
        }
        model
            .script_variants
            .check()
            .map_err(|what| corrupt(&what))?;
        Ok(model)
    }
}

fn corrupt(what: &str) -> Error {
    Error::new(
        ErrorKind::CorruptModel,
        format!("the model file is damaged: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let bot = crate::bot::parse(
            "t.yaml",
            "name: T\nlanguages: [zh]\nintents:\n  hi: {examples: [你好, 您好, hello, hi], responses: [嗨, 哈喽]}\n  \
             bye: {examples: [再见, 拜拜, bye, goodbye], responses: 再见}\n",
        )
        .unwrap();
        Model::train(&bot, &TrainOptions::default(), &mut |_| {}).unwrap()
    }

    #[test]
    fn a_bot_in_simplified_chinese_understands_traditional_characters() {
        let bot = crate::bot::parse(
            "t.yaml",
            "name: T\nlanguages: [zh]\nentities:\n  city: learned\n  size:\n    values: {大号: [大码]}\nintents:\n  \
             shipping: {examples: [什么时候发货, 多久能到, 快递到哪了, 物流信息], responses: 三天内发货。}\n  \
             refund: {examples: [我要退货, 怎么退款, 申请退货, 退钱], responses: 可以退。}\n  \
             delivery: {examples: [\"能送到[北京](city)吗\", \"[上海](city)可以配送吗\", \"送货到[广州](city)\"], responses: 可以。}\n  \
             size: {examples: [有大号吗, 大码有货吗, 尺码表], responses: 有。}\n",
        )
        .unwrap();
        let model = Model::train(&bot, &TrainOptions::default(), &mut |_| {}).unwrap();
        // Read the same as in simplified characters: the same intents, equally sure.
        for (simplified, traditional) in [
            ("请问什么时候发货", "請問什麼時候發貨"),
            ("我要退货", "我要退貨"),
            ("能送到广州吗", "能送到廣州嗎"),
        ] {
            let a = model.understand(simplified, None);
            let b = model.understand(traditional, None);
            assert!(a.intent.is_some(), "{simplified}: {a:?}");
            assert_eq!(a.ranking, b.ranking, "{traditional}");
        }
        // Found in the simplified reading, a span keeps the characters the visitor wrote; a
        // lookup value stays the bot's canonical one.
        let u = model.understand("能送到廣州嗎", None);
        let city: Vec<&str> = u
            .entities
            .iter()
            .filter(|m| m.entity == "city")
            .map(|m| m.value.as_str())
            .collect();
        assert_eq!(city, ["廣州"], "{u:?}");
        for text in ["有大碼嗎", "有大號嗎"] {
            let u = model.understand(text, None);
            let size = u.entities.iter().find(|m| m.entity == "size");
            assert_eq!(size.map(|m| m.value.as_str()), Some("大号"), "{u:?}");
        }
        // The model carries only the pairs its characters need.
        assert!(
            model.script_variants.pairs.len() < 60,
            "{}",
            model.script_variants.pairs.len()
        );
        assert_eq!(Model::from_bytes(&model.to_bytes()).unwrap(), model);
    }

    #[test]
    fn round_trips_through_bytes() {
        let model = model();
        assert_eq!(Model::from_bytes(&model.to_bytes()).unwrap(), model);
    }

    /// The model file is written by serde and read by hand (`postcard_reader`): a field read
    /// in the wrong order or encoding makes a model that does not write the same bytes back.
    #[test]
    fn every_part_of_a_model_reads_back_to_the_same_bytes() {
        let every_part = "name: All\nlanguages: [zh, en]\nwelcome: 你好\nclarify: 您是想问：\n\
            fallback: [{text: 没听懂, buttons: [帮助]}]\n\
            handoff: {title: 转人工, payload: 人工客服}\n\
            session: {expire_after_minutes: 30, carry_over: [city]}\n\
            entities:\n  city: {values: {北京: [帝都, beijing]}, fuzzy: true}\n  \
            order: {regex: '[A-Z]{2}[0-9]{6}'}\n  when: date\n  name: learned\n\
            actions:\n  book: {timeout_ms: 1500, fallback: 订不了}\n\
            forms:\n  booking:\n    slots:\n      city: {ask: [去哪里？], invalid: 没有这个城市}\n      \
            when: {ask: 哪天？}\n    done: 好的\n    action: book\n\
            intents:\n  book:\n    examples: ['我想去[北京](city)', '[明天](when)去[上海](city)', 'book a trip for [Ann](name)']\n    \
            form: booking\n  order:\n    examples: [查订单, 'where is my order', 订单到哪了]\n    \
            responses:\n      - text: '**{order}** 在路上'\n        if: {order: null}\n        \
            buttons: [查订单, {title: 退货, payload: /book}]\n        image: https://example.com/a.png\n        \
            link: {title: 物流, url: https://example.com/track}\n      - 请告诉我订单号\n  \
            human:\n    examples: [人工客服, talk to a person, 找人工]\n    handoff: true\n    responses: 稍等\n";
        let bots = [
            every_part,
            include_str!("../../../bots/shop-zh/bot.yaml"),
            include_str!("../../../bots/weather-zh/bot.yaml"),
            include_str!("../../../bots/faq-en/bot.yaml"),
        ];
        for (n, text) in bots.into_iter().enumerate() {
            let bot =
                crate::bot::parse("bot.yaml", text).unwrap_or_else(|e| panic!("bot {n}: {e}"));
            let model = Model::train(&bot, &TrainOptions::default(), &mut |_| {}).unwrap();
            let bytes = model.to_bytes();
            let read = Model::from_bytes(&bytes).unwrap();
            assert_eq!(read, model, "bot {n}");
            assert!(read.to_bytes() == bytes, "bot {n} writes other bytes back");
            if n == 0 {
                assert!(read.slot_tagger.is_some() && read.entity_rules.names().count() == 4);
                assert_eq!(read.policy.carry_over, ["city"]);
            }
        }
    }

    #[test]
    fn rejects_what_is_not_a_current_model() {
        let bytes = model().to_bytes();
        assert_eq!(
            Model::from_bytes(b"{\"json\": 1}").unwrap_err().kind(),
            ErrorKind::NotAModel
        );
        let mut old = bytes.clone();
        old[8] = 0;
        let err = Model::from_bytes(&old).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ModelVersion);
        assert!(err.to_string().contains("format version 0"), "{err}");
        for cut in [12, 20, bytes.len() / 2, bytes.len() - 1] {
            let err = Model::from_bytes(&bytes[..cut]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::CorruptModel, "cut at {cut}");
            assert!(err.to_string().ends_with("damaged: it ends early"), "{err}");
        }
        assert_eq!(
            Model::from_bytes(&bytes[..9]).unwrap_err().kind(),
            ErrorKind::CorruptModel
        );
        let mut longer = bytes.clone();
        longer.push(0);
        let err = Model::from_bytes(&longer).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("damaged: it goes on after its end"),
            "{err}"
        );
    }

    #[test]
    fn flipped_bytes_never_panic() {
        let bytes = model().to_bytes();
        for i in 12..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0xA5;
            if let Ok(m) = Model::from_bytes(&damaged) {
                let now = ReferenceTime::parse("2026-11-22T10:00").unwrap();
                let _ = m.converse(&mut Conversation::default(), "你好 hello", &now);
            }
        }
    }

    #[test]
    fn answers_and_falls_back() {
        let model = model();
        let now = ReferenceTime::parse("2026-11-22T10:00").unwrap();
        let mut state = Conversation::default();
        let turn = model.converse(&mut state, "你好啊", &now);
        assert_eq!(turn.intent.as_deref(), Some("hi"));
        assert!(["嗨", "哈喽"].contains(&turn.messages[0].text.as_str()));
        let lost = model.converse(&mut state, "量子物理", &now);
        assert_eq!(lost.intent, None);
        assert!(
            lost.messages[0].text.contains("抱歉"),
            "{:?}",
            lost.messages
        );
        let lost = model.converse(&mut state, "quantum physics", &now);
        assert!(
            lost.messages[0].text.starts_with("Sorry"),
            "{:?}",
            lost.messages
        );
    }
}
