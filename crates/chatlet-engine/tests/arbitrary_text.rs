//! Property test: understanding arbitrary Unicode never panics and always returns a well-formed
//! answer (probabilities in range and ordered, entity spans inside the text, not overlapping,
//! with a value).
//! A seeded generator makes every run check the same bounded set of cases.

use chatlet_engine::{Model, TrainOptions};

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

/// The fixture bot declares every kind of entity (learned, lookup, pattern, built-ins).
fn model() -> Model {
    let source = include_str!("fixtures/weather-bot.yaml");
    let bot =
        chatlet_engine::bot::parse("weather-bot.yaml", source).expect("the fixture bot is valid");
    Model::train(&bot, &TrainOptions::default(), &mut |_| {}).expect("the fixture trains")
}

#[test]
fn arbitrary_unicode_gets_a_well_formed_answer() {
    let model = model();
    let now = chatlet_engine::ReferenceTime::parse("2026-11-22T10:00").expect("a valid time");
    let mut cases = Cases(0x00C0_FFEE);
    let mut conversation = chatlet_engine::Conversation::default();
    for case in 0..3000 {
        let text = cases.text();
        let u = model.understand(&text, Some(&now));
        let what = format!(
            "case {case}: {:?}…",
            text.chars().take(60).collect::<String>()
        );
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
            // Values are resolved (`3 USD`, `2026-11-23`), never empty.
            assert!(!m.value.is_empty(), "{what}: {m:?}");
        }
        // One conversation across all cases: the dialogue state must survive any input too.
        let turn = model.converse(&mut conversation, &text, &now);
        assert!(turn.messages.iter().all(|m| !m.text.is_empty()), "{what}");
        // Entity-dense text: fragments that rules and the tagger react to, glued at random.
        let pieces = [
            "明天",
            "下午三点",
            "北京",
            "beijnig",
            "AB123456",
            "¥50",
            "13812345678",
            "百分之",
            "12/25",
            "weather in ",
            "@x.com",
            "https://",
            "万",
            "3,000",
            "two hundred and",
            " ",
            "号",
            "月",
            "初",
            "下月",
            "中旬",
            "12月",
            "tomorrow",
            " from ",
            " between ",
            "3pm",
            "-",
            " to ",
            " and ",
            "at 5",
            "3",
            "到",
            "点",
            "中午",
            "今年",
            "夏天",
            "next winter",
            "元",
            " dollars",
            "点五",
            "公斤",
        ];
        let dense: String = (0..cases.below(12))
            .map(|_| pieces[cases.below(pieces.len() as u64) as usize])
            .collect();
        let d = model.understand(&dense, Some(&now));
        let dense_chars: Vec<char> = dense.chars().collect();
        for pair in d.entities.windows(2) {
            assert!(
                pair[0].end <= pair[1].start,
                "overlapping entities in {dense:?}: {:?}",
                d.entities
            );
        }
        for m in &d.entities {
            assert!(
                m.start < m.end && m.end <= dense_chars.len(),
                "{dense:?}: {m:?}"
            );
        }
    }
}
