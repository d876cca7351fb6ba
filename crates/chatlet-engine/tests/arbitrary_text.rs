//! Property test: understanding arbitrary Unicode never panics and always returns a well-formed
//! answer (probabilities in range and ordered, entity spans inside the text and quoting it).
//! A seeded generator makes every run check the same bounded set of cases.

use chatlet_engine::{Mention, Model, TrainOptions, Utterance};

/// xorshift64*: reproducible cases without a dependency.
struct Cases(u64);

impl Cases {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A character from a range picked to stress tokenizing: ASCII, controls, Latin-1, combining
    /// marks, Arabic and Hebrew, zero-width and bidi controls, CJK, full-width forms, emoji,
    /// private use, and any scalar value at all.
    fn char(&mut self) -> char {
        let ranges: [(u32, u32); 12] = [
            (0x20, 0x7E),
            (0x00, 0x1F),
            (0xA0, 0xFF),
            (0x300, 0x36F),
            (0x590, 0x6FF),
            (0x200B, 0x202E),
            (0x4E00, 0x9FFF),
            (0xFF01, 0xFF5E),
            (0x1F300, 0x1FAFF),
            (0xE000, 0xF8FF),
            (0x3000, 0x303F),
            (0, 0x10FFFF),
        ];
        let (low, high) = ranges[self.below(ranges.len() as u64) as usize];
        let code = low + self.below(u64::from(high - low + 1)) as u32;
        char::from_u32(code).unwrap_or('\u{FFFD}')
    }

    fn text(&mut self) -> String {
        let length = match self.below(10) {
            0 => 0,
            1..=6 => self.below(20),
            7 | 8 => self.below(200),
            _ => self.below(5000),
        };
        (0..length).map(|_| self.char()).collect()
    }
}

fn mention(text: &str, span: &str, entity: &str) -> Mention {
    let byte = text.find(span).expect("span is in the text");
    let start = text[..byte].chars().count();
    Mention {
        start,
        end: start + span.chars().count(),
        entity: entity.to_owned(),
        value: span.to_owned(),
    }
}

fn model() -> Model {
    let mut data = Vec::new();
    for (city, day) in [
        ("北京", "明天"),
        ("上海", "今天"),
        ("paris", "today"),
        ("london", "tomorrow"),
    ] {
        for text in [
            format!("{day}{city}天气怎么样"),
            format!("weather in {city} {day}"),
        ] {
            data.push(Utterance {
                entities: vec![mention(&text, city, "city"), mention(&text, day, "date")],
                text,
                intent: Some("weather".to_owned()),
            });
        }
    }
    for (intent, texts) in [
        (
            "refund",
            &["我要退货", "怎么退款", "refund please", "money back"][..],
        ),
        ("greet", &["你好", "hello", "hi there", "早上好"][..]),
    ] {
        for text in texts {
            data.push(Utterance {
                text: (*text).to_owned(),
                intent: Some(intent.to_owned()),
                entities: Vec::new(),
            });
        }
    }
    let languages = ["zh".to_owned(), "en".to_owned()];
    Model::from_corpus(
        "t",
        &languages,
        &data,
        None,
        &TrainOptions::default(),
        &mut |_| {},
    )
    .expect("the fixture trains")
}

#[test]
fn arbitrary_unicode_gets_a_well_formed_answer() {
    let model = model();
    let mut cases = Cases(0x00C0_FFEE);
    for case in 0..3000 {
        let text = cases.text();
        let u = model.understand(&text);
        let what = format!("case {case}: {text:?}");
        assert!((0.0..=1.0).contains(&u.confidence), "{what}");
        assert!(u.ranking.windows(2).all(|w| w[0].1 >= w[1].1), "{what}");
        let total: f32 = u.ranking.iter().map(|r| r.1).sum();
        assert!(total <= 1.0 + 1e-4, "{what}");
        if let Some(intent) = &u.intent {
            assert_eq!(Some(intent), u.best.as_ref(), "{what}");
        }
        let chars: Vec<char> = text.chars().collect();
        for m in &u.entities {
            assert!(m.start < m.end && m.end <= chars.len(), "{what}: {m:?}");
            assert_eq!(
                m.value,
                chars[m.start..m.end].iter().collect::<String>(),
                "{what}"
            );
        }
        let reply = model.respond(&text, case);
        assert!(!reply.text.is_empty(), "{what}");
    }
}
