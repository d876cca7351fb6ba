//! Turns tokens into hashed sparse features: words, word pairs, CJK character n-grams and
//! sub-word character n-grams, so that no dictionary is needed for either language.

use crate::text::{Token, TokenKind};

/// A hashed feature. Stable across platforms and versions of Rust (FNV-1a, 64 bit).
pub type FeatureId = u64;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Hashes a namespace byte and a sequence of strings separated by a unit separator.
fn hash(namespace: u8, parts: &[&str]) -> FeatureId {
    let mut h = FNV_OFFSET;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    };
    eat(namespace);
    for part in parts {
        for &b in part.as_bytes() {
            eat(b);
        }
        eat(0x1F);
    }
    h
}

/// The features of one utterance, sorted and deduplicated (features are binary).
pub fn extract(tokens: &[Token]) -> Vec<FeatureId> {
    let mut features = Vec::with_capacity(tokens.len() * 6);
    for (i, token) in tokens.iter().enumerate() {
        features.push(hash(b'u', &[&token.text]));
        if let Some(next) = tokens.get(i + 1) {
            features.push(hash(b'b', &[&token.text, &next.text]));
            if let Some(third) = tokens.get(i + 2) {
                // Trigrams matter most for CJK, where a token is a single character.
                if token.kind == TokenKind::Cjk || next.kind == TokenKind::Cjk {
                    features.push(hash(b't', &[&token.text, &next.text, &third.text]));
                }
            }
        }
        if token.kind == TokenKind::Word {
            char_ngrams(&token.text, &mut features);
        }
    }
    features.sort_unstable();
    features.dedup();
    features
}

/// Character 3- and 4-grams of a word with boundary marks, for typos and word forms
/// (`shipping` and `shipped` share `<sh`, `shi`, `hip`, ...).
fn char_ngrams(word: &str, out: &mut Vec<FeatureId>) {
    let chars: Vec<char> = std::iter::once('<')
        .chain(word.chars())
        .chain(std::iter::once('>'))
        .collect();
    if chars.len() <= 4 {
        return; // Words of up to two letters are covered by their unigram.
    }
    let mut buffer = String::new();
    for n in 3..=4 {
        for window in chars.windows(n) {
            buffer.clear();
            buffer.extend(window);
            out.push(hash(b'c', &[&buffer]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize;

    #[test]
    fn features_are_deterministic_sorted_and_unique() {
        let a = extract(&tokenize("退货退货 shipping"));
        assert_eq!(a, extract(&tokenize("退货退货 shipping")));
        assert!(a.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn related_words_share_features() {
        let shipping = extract(&tokenize("shipping"));
        let shipped = extract(&tokenize("shipped"));
        let unrelated = extract(&tokenize("refund"));
        let shared = |a: &[u64], b: &[u64]| a.iter().filter(|f| b.binary_search(f).is_ok()).count();
        assert!(shared(&shipping, &shipped) >= 3);
        assert_eq!(shared(&shipping, &unrelated), 0);
    }

    #[test]
    fn hash_values_are_pinned() {
        // A changed hash would silently break every trained model; the model format version must change with it.
        assert_eq!(hash(b'u', &["退"]), 0xfda0_75fe_3cef_1f44);
    }
}
