//! Reads traditional Chinese characters as the simplified ones a bot was trained on (請問 as
//! 请问), so that visitors from Taiwan or Hong Kong are understood by a bot written in simplified
//! Chinese. A model keeps only the pairs its own characters need, so the widget carries no table.

use crate::postcard_reader::{Decode, Reader};
use crate::traditional_chinese::PAIRS;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// Character replacements applied to a visitor's text before it is understood: each pair is a
/// traditional character and the simplified one the model knows, sorted by the first. Stored
/// as one string of pairs (the widget already reads strings; a list of `char`s would add code).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(into = "String")]
pub(crate) struct ScriptVariants {
    pub(crate) pairs: Vec<(char, char)>,
}

impl Decode for ScriptVariants {
    fn decode(r: &mut Reader<'_>) -> ScriptVariants {
        ScriptVariants::from(r.read::<String>())
    }
}

impl From<String> for ScriptVariants {
    fn from(stored: String) -> ScriptVariants {
        let chars: Vec<char> = stored.chars().collect();
        ScriptVariants {
            pairs: chars.chunks_exact(2).map(|p| (p[0], p[1])).collect(),
        }
    }
}

impl From<ScriptVariants> for String {
    fn from(variants: ScriptVariants) -> String {
        variants.pairs.iter().flat_map(|&(t, s)| [t, s]).collect()
    }
}

impl ScriptVariants {
    /// The pairs that lead to a character of `texts` (what the bot was trained on), except for
    /// traditional characters the texts use themselves: a bot written in traditional Chinese
    /// keeps reading them as written.
    pub(crate) fn for_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> ScriptVariants {
        let known: BTreeSet<char> = texts.into_iter().flat_map(str::chars).collect();
        let mut table = PAIRS.chars();
        let mut pairs = Vec::new();
        while let (Some(traditional), Some(simplified)) = (table.next(), table.next()) {
            if known.contains(&simplified) && !known.contains(&traditional) {
                pairs.push((traditional, simplified));
            }
        }
        pairs.sort_unstable();
        ScriptVariants { pairs }
    }

    /// The text with every traditional character the model needs replaced, one character for
    /// one, so that offsets into it are offsets into the original.
    pub(crate) fn apply<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let simplified = |c: char| {
            self.pairs
                .binary_search_by_key(&c, |p| p.0)
                .ok()
                .map(|i| self.pairs[i].1)
        };
        if !text.chars().any(|c| simplified(c).is_some()) {
            return Cow::Borrowed(text);
        }
        Cow::Owned(text.chars().map(|c| simplified(c).unwrap_or(c)).collect())
    }

    /// Checks what `apply` relies on: sorted, one replacement per character.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.pairs.windows(2).all(|w| w[0].0 < w[1].0) {
            Ok(())
        } else {
            Err("the model's character variants are not in order".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_pairs_distinct_characters_in_order() {
        let chars: Vec<char> = PAIRS.chars().collect();
        assert_eq!(chars.len() % 2, 0);
        let pairs: Vec<(char, char)> = chars.chunks(2).map(|p| (p[0], p[1])).collect();
        assert!(pairs.len() > 3000, "{}", pairs.len());
        assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(pairs.iter().all(|(t, s)| t != s));
        // Replacements are final: no simplified form is itself replaced.
        let sources: BTreeSet<char> = pairs.iter().map(|p| p.0).collect();
        assert!(pairs.iter().all(|(_, s)| !sources.contains(s)));
        for (t, s) in [
            ('請', '请'),
            ('問', '问'),
            ('發', '发'),
            ('貨', '货'),
            ('臺', '台'),
        ] {
            assert!(pairs.contains(&(t, s)), "{t} -> {s}");
        }
    }

    #[test]
    fn only_the_characters_the_model_knows_are_replaced() {
        let variants = ScriptVariants::for_texts(["请问什么时候发货"]);
        assert_eq!(variants.apply("請問什麼時候發貨？"), "请问什么时候发货？");
        // 裡 leads to 里, which the model never saw: left alone, as are Latin letters.
        assert_eq!(variants.apply("發貨 in 裡"), "发货 in 裡");
        assert!(matches!(variants.apply("hello 你好"), Cow::Borrowed(_)));
        assert!(variants.check().is_ok());
    }

    #[test]
    fn a_bot_written_in_traditional_keeps_its_characters() {
        let variants = ScriptVariants::for_texts(["請問什麼時候發貨", "退货", "时间"]);
        // 貨 and 時 are the bot's own; 間 is not, and leads to its 间.
        assert_eq!(variants.apply("退貨時間"), "退貨時间");
    }
}
