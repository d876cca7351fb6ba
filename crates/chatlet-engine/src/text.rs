//! Normalization and tokenization for Chinese, English and mixed text, with no dictionary.
//!
//! Han (and kana/hangul) characters become one token each; the classifier recovers words from
//! character n-grams. Latin-script and other alphabetic runs become lowercase words, digit runs
//! become numbers. Offsets are Unicode code points into the original text, end exclusive.

/// What a token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A run of letters (any alphabetic script but CJK), lowercased; may contain inner `'`.
    Word,
    /// A run of ASCII or full-width digits.
    Number,
    /// One CJK ideograph, kana or hangul syllable.
    Cjk,
    /// One emoji or other symbol that can carry meaning (👍, ¥, %).
    Symbol,
}

/// A token with its normalized text and its code-point span in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Normalized text (lowercase, half-width).
    pub text: String,
    /// What kind of token this is.
    pub kind: TokenKind,
    /// Code-point offset of the first character.
    pub start: usize,
    /// Code-point offset one past the last character.
    pub end: usize,
}

/// Folds one character: full-width ASCII to ASCII, ideographic space to space, then lowercase
/// (see [`lowercase`]).
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        // Most text bots see; this is the same answer as below, without the range tests.
        return c.to_ascii_lowercase();
    }
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    };
    lowercase(c)
}

/// The lowercase of `c` for the cased scripts bots are written in: ASCII, Latin-1, Latin
/// Extended-A, Greek and Cyrillic; other characters stay as they are. Not `char::to_lowercase`:
/// its full Unicode table would add about 12 KB to every widget download.
fn lowercase(c: char) -> char {
    let code = c as u32;
    let lower = match code {
        0x41..=0x5A | 0xC0..=0xD6 | 0xD8..=0xDE | 0x391..=0x3A1 | 0x3A3..=0x3AB | 0x410..=0x42F => {
            code + 0x20
        }
        0x130 => 'i' as u32,
        0x178 => 0xFF,
        0x100..=0x137 | 0x14A..=0x177 if code.is_multiple_of(2) => code + 1,
        0x139..=0x148 | 0x179..=0x17E if !code.is_multiple_of(2) => code + 1,
        0x386 => 0x3AC,
        0x388..=0x38A => code + 0x25,
        0x38C => 0x3CC,
        0x38E..=0x38F => code + 0x3F,
        0x400..=0x40F => code + 0x50,
        _ => code,
    };
    char::from_u32(lower).unwrap_or(c)
}

/// True for characters that are written without spaces between words: Han, kana, hangul.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF        // hiragana, katakana
        | 0x3400..=0x4DBF      // CJK extension A
        | 0x4E00..=0x9FFF      // CJK unified ideographs
        | 0xAC00..=0xD7AF      // hangul syllables
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0x20000..=0x3134F) // CJK extensions B to G
}

fn is_symbol(c: char) -> bool {
    matches!(c as u32,
        0x00A2..=0x00A5        // ¢ £ ¤ ¥
        | 0x0024 | 0x0025 | 0x20AC // $ % €
        | 0xFFE5               // full-width yen
        | 0x2600..=0x27BF      // misc symbols, dingbats
        | 0x1F300..=0x1FAFF) // emoji
}

/// The text folded character by character, with runs of whitespace collapsed and trimmed.
/// Two utterances that normalize equally are the same utterance to the engine.
pub fn normalize(text: &str) -> String {
    tokenize(text)
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits text into tokens. Never fails; any input (including empty) gives a possibly empty list.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut run: Option<Token> = None;
    for (offset, original) in text.chars().enumerate() {
        let c = fold_char(original);
        let run_kind = if c.is_ascii_digit() {
            Some(TokenKind::Number)
        } else if is_cjk(c) {
            None
        } else if c.is_alphabetic()
            || c.is_numeric()
            || (c == '\'' && matches!(&run, Some(t) if t.kind == TokenKind::Word))
        {
            Some(TokenKind::Word)
        } else {
            None
        };
        match (&mut run, run_kind) {
            (Some(current), Some(kind)) if current.kind == kind => {
                current.text.push(c);
                current.end = offset + 1;
                continue;
            }
            _ => {}
        }
        if let Some(done) = run.take() {
            tokens.push(finish_word(done));
        }
        if let Some(kind) = run_kind {
            // Room for a typical word: growing from one byte would reallocate three times.
            let mut text = String::with_capacity(16);
            text.push(c);
            run = Some(Token {
                text,
                kind,
                start: offset,
                end: offset + 1,
            });
        } else if is_cjk(c) {
            tokens.push(Token {
                text: c.to_string(),
                kind: TokenKind::Cjk,
                start: offset,
                end: offset + 1,
            });
        } else if is_symbol(c) {
            tokens.push(Token {
                text: c.to_string(),
                kind: TokenKind::Symbol,
                start: offset,
                end: offset + 1,
            });
        }
    }
    if let Some(done) = run.take() {
        tokens.push(finish_word(done));
    }
    tokens
}

/// Drops a trailing apostrophe that was taken as part of a word (`users'` -> `users`).
fn finish_word(mut token: Token) -> Token {
    while token.kind == TokenKind::Word && token.text.ends_with('\'') && token.text.len() > 1 {
        token.text.pop();
        token.end -= 1;
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_folds_as_the_general_rule_does() {
        for c in (0u8..0x80).map(char::from) {
            assert_eq!(fold_char(c), lowercase(c), "{c:?}");
        }
        assert_eq!(fold_char('Ａ'), 'a');
    }

    fn texts(text: &str) -> Vec<String> {
        tokenize(text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn chinese_english_and_mixed() {
        assert_eq!(texts("我想退货"), ["我", "想", "退", "货"]);
        assert_eq!(texts("Where's my ORDER?"), ["where's", "my", "order"]);
        assert_eq!(
            texts("我的iPhone 15什么时候到"),
            ["我", "的", "iphone", "15", "什", "么", "时", "候", "到"]
        );
    }

    #[test]
    fn full_width_forms_fold_to_ascii() {
        assert_eq!(texts("ＡＢＣ１２３"), ["abc", "123"]);
        assert_eq!(normalize("  Hello，　World！ "), "hello world");
    }

    #[test]
    fn offsets_are_code_points_into_the_original() {
        let text = "😀 订单A12";
        let tokens = tokenize(text);
        let chars: Vec<char> = text.chars().collect();
        for token in &tokens {
            let original: String = chars[token.start..token.end].iter().collect();
            assert_eq!(original.to_lowercase(), token.text, "{token:?}");
        }
        assert_eq!(texts(text), ["😀", "订", "单", "a", "12"]);
    }

    #[test]
    fn lowercase_agrees_with_unicode_where_it_folds() {
        let ranges = [0x20..0x250u32, 0x370..0x400, 0x400..0x460];
        for code in ranges.into_iter().flatten() {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let ours = lowercase(c);
            let unicode = c.to_lowercase().next().unwrap_or(c);
            // Outside the folded blocks a character may stay as it is, never become another one.
            assert!(
                ours == unicode || (ours == c && code > 0x17F),
                "{c:?}: {ours:?} vs {unicode:?}"
            );
        }
        assert_eq!(lowercase('Ω'), 'ω');
        assert_eq!(lowercase('Ж'), 'ж');
        assert_eq!(lowercase('É'), 'é');
    }

    #[test]
    fn nothing_to_tokenize() {
        assert!(tokenize("").is_empty());
        assert!(tokenize(" \t\n ,.!?").is_empty());
        assert_eq!(texts("'quoted'"), ["quoted"]);
    }
}
