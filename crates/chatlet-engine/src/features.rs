//! Turns tokens into hashed sparse features: words, word pairs, CJK character n-grams and
//! sub-word character n-grams, so that no dictionary is needed for either language.

use crate::text::{Token, TokenKind};

/// A hashed feature, folded into [`FEATURE_BITS`] bits. Stable across platforms and versions of
/// Rust (FNV-1a, 64 bit, then folded).
pub type FeatureId = u32;

/// Features live in a space of 2^22 buckets: large enough that collisions are rare in bots of
/// tens of thousands of examples, small enough that sorted ids delta-encode into about a byte.
pub const FEATURE_BITS: u32 = 22;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Hashes a namespace byte and a sequence of strings separated by a unit separator.
pub(crate) fn hash(namespace: u8, parts: &[&str]) -> FeatureId {
    let mut h = eat(FNV_OFFSET, namespace);
    for part in parts {
        for &b in part.as_bytes() {
            h = eat(h, b);
        }
        h = eat(h, 0x1F);
    }
    fold(h)
}

fn fold(h: u64) -> FeatureId {
    ((h ^ (h >> 32)) as u32) & ((1 << FEATURE_BITS) - 1)
}

/// A feature and its value in one utterance.
pub type Weighted = (FeatureId, f32);

/// The features of one utterance in two groups, each sorted and deduplicated: whole tokens
/// (and token pairs), and character n-grams. The classifier weighs and scales each group to
/// unit length, so that the many n-grams of a long word do not drown out the words themselves.
///
/// A third list holds just the words (a subset of the first group): how many of them the model
/// knows tells how familiar the utterance is.
pub fn extract(tokens: &[Token]) -> [Vec<FeatureId>; 3] {
    let groups = ids(tokens);
    // Sized for the largest group once: growing it group by group reallocated twice a call.
    let mut keys = Vec::with_capacity(groups.iter().map(Vec::len).max().unwrap_or(0));
    groups.map(|group| sorted_unique(group, &mut keys))
}

/// Sorts and deduplicates ids, as `u64` keys (`keys` is scratch space): every sort in the
/// engine's runtime sorts `u64`, so that the widget links a single sort.
fn sorted_unique(mut ids: Vec<FeatureId>, keys: &mut Vec<u64>) -> Vec<FeatureId> {
    keys.clear();
    keys.extend(ids.iter().map(|&id| u64::from(id)));
    keys.sort_unstable();
    keys.dedup();
    ids.clear();
    ids.extend(keys.iter().map(|&key| key as FeatureId));
    ids
}

/// The groups of [`extract`] that are scored (the third only measures familiarity).
pub const SCORED_GROUPS: usize = 2;

/// Gives each feature `weight(id)` and scales each group to unit length; sorted by id.
///
/// Each group must be sorted and deduplicated, as [`extract`] makes them: the groups are then
/// merged rather than sorted again (faster, and no sort of another element type in the widget).
pub fn weigh(groups: &[Vec<FeatureId>], weight: impl Fn(FeatureId) -> f32) -> Vec<Weighted> {
    let mut out: Vec<Weighted> = Vec::new();
    for group in groups {
        debug_assert!(group.windows(2).all(|w| w[0] < w[1]), "unsorted group");
        let mut scaled: Vec<Weighted> = group.iter().map(|&id| (id, weight(id))).collect();
        let norm = scaled.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, v) in &mut scaled {
                *v /= norm;
            }
        }
        out = merge(&out, &scaled);
    }
    out
}

/// Merges two lists sorted by id; an id in both (a rare hash collision) gets both values.
fn merge(a: &[Weighted], b: &[Weighted]) -> Vec<Weighted> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        if x.0 < y.0 {
            out.push(x);
            i += 1;
        } else if y.0 < x.0 {
            out.push(y);
            j += 1;
        } else {
            out.push((x.0, x.1 + y.1));
            i += 1;
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// The raw ids of the three groups: (whole tokens and token pairs, character n-grams, words).
fn ids(tokens: &[Token]) -> [Vec<FeatureId>; 3] {
    let mut features = Vec::with_capacity(tokens.len() * 4 + 2);
    let letters: usize = tokens.iter().map(|t| t.text.len()).sum();
    let mut pieces = Vec::with_capacity(letters * 3 + tokens.len() * 3);
    let mut words = Vec::with_capacity(tokens.len());
    if let (Some(first), Some(last)) = (tokens.first(), tokens.last()) {
        // Where a sentence starts and ends carries meaning ("what is…", "…please").
        features.push(hash(b's', &[&first.text]));
        features.push(hash(b'e', &[&last.text]));
    }
    // Scratch space sized for the longest word marked, or a run of four Chinese characters.
    let longest = tokens.iter().map(|t| t.text.len()).max().unwrap_or(0);
    let mut buffer = String::with_capacity(longest.max(16) + 2);
    let mut boundaries = Vec::with_capacity(longest + 3);
    for (i, token) in tokens.iter().enumerate() {
        let word = hash(b'u', &[&token.text]);
        features.push(word);
        words.push(word);
        if token.kind == TokenKind::Number {
            features.push(hash(b'n', &[&token.text.len().min(12).to_string()]));
        }
        if let Some(next) = tokens.get(i + 1) {
            features.push(hash(b'b', &[&token.text, &next.text]));
            if let Some(after) = tokens.get(i + 2) {
                // A pair with one word skipped ("book a flight" ~ "book flight").
                features.push(hash(b'k', &[&token.text, &after.text]));
            }
            // Longer character n-grams stand in for the words of Chinese, which has no spaces.
            let mut run = 2;
            while run < 4 {
                match tokens.get(i + run) {
                    Some(t) if t.kind == TokenKind::Cjk && token.kind == TokenKind::Cjk => {
                        buffer.clear();
                        for t in &tokens[i..=i + run] {
                            buffer.push_str(&t.text);
                        }
                        pieces.push(hash(b't', &[&buffer]));
                    }
                    _ => break,
                }
                run += 1;
            }
        }
        if token.kind == TokenKind::Word {
            char_ngrams(&token.text, &mut buffer, &mut boundaries, &mut pieces);
        }
    }
    [features, pieces, words]
}

/// Character 2- to 4-grams of a word with boundary marks, for typos and word forms
/// (`shipping` and `shipped` share `<sh`, `shi`, `hip`, ...). `marked` and `boundaries` are
/// scratch space: the word is marked once, and the n-grams starting at one character are hashed
/// in one pass, each longer one continuing the hash of the shorter (FNV-1a reads bytes in order,
/// so the ids are those [`hash`] gives each n-gram alone).
fn char_ngrams(
    word: &str,
    marked: &mut String,
    boundaries: &mut Vec<usize>,
    out: &mut Vec<FeatureId>,
) {
    marked.clear();
    marked.push('<');
    marked.push_str(word);
    marked.push('>');
    boundaries.clear();
    boundaries.extend(marked.char_indices().map(|(at, _)| at));
    boundaries.push(marked.len());
    let chars = boundaries.len() - 1;
    // The whole word is its unigram already: n-grams are shorter than the marked word.
    let longest = 4.min(chars.saturating_sub(1));
    let bytes = marked.as_bytes();
    for start in 0..chars.saturating_sub(1) {
        let mut h = eat(FNV_OFFSET, b'c');
        for end in start + 1..=(start + longest).min(chars) {
            for &b in &bytes[boundaries[end - 1]..boundaries[end]] {
                h = eat(h, b);
            }
            if end - start >= 2 {
                out.push(fold(eat(h, 0x1F)));
            }
        }
    }
}

/// One step of FNV-1a.
fn eat(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract_scored(tokens: &[Token]) -> Vec<Vec<FeatureId>> {
        extract(tokens)[..SCORED_GROUPS].to_vec()
    }
    use crate::text::tokenize;

    #[test]
    fn features_are_deterministic_sorted_and_unique() {
        let a = weigh(&extract_scored(&tokenize("退货退货 shipping")), |_| 1.0);
        assert_eq!(
            a,
            weigh(&extract_scored(&tokenize("退货退货 shipping")), |_| 1.0)
        );
        assert!(a.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            a.iter()
                .all(|&(f, v)| f < 1 << FEATURE_BITS && v > 0.0 && v <= 1.0)
        );
    }

    #[test]
    fn related_words_share_features() {
        let all = |text: &str| weigh(&extract_scored(&tokenize(text)), |_| 1.0);
        let shipping = all("shipping");
        let shipped = all("shipped");
        let unrelated = all("refund");
        let shared = |a: &[Weighted], b: &[Weighted]| {
            a.iter()
                .filter(|f| b.binary_search_by_key(&f.0, |g| g.0).is_ok())
                .count()
        };
        assert!(shared(&shipping, &shipped) >= 5);
        assert_eq!(shared(&shipping, &unrelated), 0);
    }

    #[test]
    fn chinese_gets_character_ngrams_without_a_dictionary() {
        let both = weigh(&extract_scored(&tokenize("我要退货")), |_| 1.0);
        let other = weigh(&extract_scored(&tokenize("申请退货吧")), |_| 1.0);
        let shared = both
            .iter()
            .filter(|f| other.binary_search_by_key(&f.0, |g| g.0).is_ok())
            .count();
        // 退, 货 and 退货 are shared.
        assert!(shared >= 3, "{shared}");
    }

    #[test]
    fn character_ngrams_are_each_ngram_hashed_alone() {
        for word in ["", "a", "ab", "abc", "shipping", "naïve", "日本語", "😀x"] {
            let marked: Vec<char> = format!("<{word}>").chars().collect();
            let mut expected = Vec::new();
            for n in 2..=4.min(marked.len() - 1) {
                for gram in marked.windows(n) {
                    expected.push(hash(b'c', &[&gram.iter().collect::<String>()]));
                }
            }
            let mut got = Vec::new();
            char_ngrams(word, &mut String::new(), &mut Vec::new(), &mut got);
            expected.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, expected, "{word:?}");
        }
    }

    #[test]
    fn hash_values_are_pinned() {
        // A changed hash would silently break every trained model; the model format version must change with it.
        assert_eq!(hash(b'u', &["退"]), 0x000f_6aba);
    }
}
