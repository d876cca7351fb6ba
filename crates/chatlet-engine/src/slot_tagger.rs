//! The slot tagger: finds entity spans learned from annotated examples (`[北京](city)`). A
//! linear-chain model over BIO tags whose weights mix two trainers on the same features, the
//! averaged structured perceptron and a CRF (`crf.rs`), decoded by Viterbi with the BIO
//! constraint (an `I-x` only continues an `x`).

use crate::corpus::Mention;
use crate::crf::{self, CrfOptions, allowed, continuation, openings};
use crate::features::{FeatureId, hash};
use crate::numeric::Rng;
use crate::postcard_reader::{Decode, Reader};
use crate::sparse_table::SparseTable;
use crate::text::{self, Token, TokenKind};
use serde::Serialize;
use std::collections::HashMap;

/// Training settings of the tagger.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggerOptions {
    /// Passes over the data (at least; small data sets get more).
    pub epochs: usize,
    /// Shuffling seed.
    pub seed: u64,
    /// At most this many non-zero emission weights are kept.
    pub max_weights: usize,
    /// The CRF's L2 penalty over the whole data set (crfsuite's `c2`).
    pub crf_l2: f64,
    /// The CRF's share of the mixed weights (the averaged perceptron has the rest).
    pub crf_share: f32,
}

impl Default for TaggerOptions {
    fn default() -> TaggerOptions {
        TaggerOptions {
            epochs: 8,
            seed: 0x5107,
            max_weights: 400_000,
            crf_l2: 0.1,
            crf_share: 0.3,
        }
    }
}

/// The CRF's first SGD step.
const CRF_LEARNING_RATE: f64 = 0.1;

/// Mixes the perceptron's weights with the CRF's, `share` of the CRF's. A perceptron decides the
/// same at any positive scale of its weights, so it is first brought to the CRF's scale (the
/// same Euclidean norm). Measured on the five annotated data sets (five seeds each), the mix
/// tags better than either alone: the CRF alone loses rare names the perceptron keeps (printer
/// models seen once), the perceptron alone over-trusts the words it made mistakes on.
fn mix(
    perceptron: (Vec<f32>, Vec<f32>),
    crf: (Vec<f32>, Vec<f32>),
    share: f32,
) -> (Vec<f32>, Vec<f32>) {
    let norm = |(emissions, transitions): &(Vec<f32>, Vec<f32>)| {
        emissions
            .iter()
            .chain(transitions)
            .map(|&w| f64::from(w) * f64::from(w))
            .sum::<f64>()
            .sqrt()
    };
    let (p, c) = (norm(&perceptron), norm(&crf));
    let scale = if p > 0.0 { (c / p) as f32 } else { 0.0 };
    let blend = |p: Vec<f32>, c: Vec<f32>| -> Vec<f32> {
        p.iter()
            .zip(&c)
            .map(|(p, c)| (1.0 - share) * scale * p + share * c)
            .collect()
    };
    (blend(perceptron.0, crf.0), blend(perceptron.1, crf.1))
}

/// One training sentence: text, its intent (a feature of every token) and gold spans.
#[derive(Debug, Clone, Copy)]
pub struct Annotated<'a> {
    /// The utterance.
    pub text: &'a str,
    /// Its intent, if any.
    pub intent: Option<&'a str>,
    /// Its entity spans.
    pub entities: &'a [Mention],
}

/// A trained tagger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlotTagger {
    /// Entity types; tag `1 + 2k` is `B-types[k]`, `2 + 2k` is `I-types[k]`, 0 is `O`.
    types: Vec<String>,
    emissions: SparseTable,
    /// `(tags + 1) × tags`: row `tags` holds the start scores.
    transitions: Vec<f32>,
    /// Entity texts seen in training, so that a name seen once is recognized again.
    gazetteer: Gazetteer,
}

/// Token sequences annotated as entities in training: `(hash of the tokens, type)`, sorted.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
struct Gazetteer {
    entries: Vec<(u32, u16)>,
    /// The longest entry, in tokens.
    longest: u8,
}

impl Decode for SlotTagger {
    fn decode(r: &mut Reader<'_>) -> SlotTagger {
        SlotTagger {
            types: r.read(),
            emissions: r.read(),
            transitions: r.read(),
            gazetteer: Gazetteer {
                entries: r.read(),
                longest: r.read(),
            },
        }
    }
}

/// Longer entity texts are not worth remembering (and cost time at every position).
const GAZETTEER_MAX_TOKENS: usize = 12;

fn sequence_key(tokens: &[Token]) -> u32 {
    let parts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
    hash(b'g', &parts)
}

impl Gazetteer {
    /// For each token, features saying that it begins or continues a known entity text, for
    /// every match `known` accepts.
    fn features(&self, tokens: &[Token], known: impl Fn(u32, u16) -> bool) -> Vec<Vec<FeatureId>> {
        let mut out = vec![Vec::new(); tokens.len()];
        for i in 0..tokens.len() {
            for length in 1..=usize::from(self.longest).min(tokens.len() - i) {
                let key = sequence_key(&tokens[i..i + length]);
                let first = self.entries.partition_point(|e| e.0 < key);
                for &(_, kind) in self.entries[first..].iter().take_while(|e| e.0 == key) {
                    if !known(key, kind) {
                        continue;
                    }
                    let kind = kind.to_string();
                    let size = length.min(4).to_string();
                    for (j, features) in out[i..i + length].iter_mut().enumerate() {
                        let position = if j == 0 { "B" } else { "I" };
                        features.push(hash(b'G', &[position, &kind]));
                        features.push(hash(b'H', &[position, &kind, &size]));
                    }
                }
            }
        }
        out
    }
}

impl SlotTagger {
    /// Trains on the sentences; `None` when no sentence has an entity.
    pub fn train(
        sentences: &[Annotated<'_>],
        options: &TaggerOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Option<SlotTagger> {
        let mut types: Vec<String> = sentences
            .iter()
            .flat_map(|s| s.entities.iter().map(|m| m.entity.clone()))
            .collect();
        types.sort();
        types.dedup();
        if types.is_empty() || types.len() * 2 + 1 > usize::from(u16::MAX) {
            return None;
        }
        let tags = types.len() * 2 + 1;
        let type_index: HashMap<&str, usize> = types
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect();
        let tokenized: Vec<Vec<Token>> = sentences.iter().map(|s| tagger_tokens(s.text)).collect();
        // The gazetteer, with how often each entry was annotated and by which sentences.
        let mut counts: HashMap<(u32, u16), u32> = HashMap::new();
        let mut own: Vec<Vec<(u32, u16)>> = Vec::with_capacity(sentences.len());
        let mut longest = 0;
        for (s, tokens) in sentences.iter().zip(&tokenized) {
            let mut mine = Vec::new();
            for m in s.entities {
                let Some(&kind) = type_index.get(m.entity.as_str()) else {
                    continue;
                };
                let inside: Vec<Token> = tokens
                    .iter()
                    .filter(|t| t.start >= m.start && t.end <= m.end)
                    .cloned()
                    .collect();
                if inside.is_empty() || inside.len() > GAZETTEER_MAX_TOKENS {
                    continue;
                }
                longest = longest.max(inside.len());
                let entry = (sequence_key(&inside), kind as u16);
                *counts.entry(entry).or_default() += 1;
                mine.push(entry);
            }
            own.push(mine);
        }
        let mut entries: Vec<(u32, u16)> = counts.keys().copied().collect();
        entries.sort_unstable();
        let gazetteer = Gazetteer {
            entries,
            longest: longest as u8,
        };
        let mut vocabulary: HashMap<FeatureId, usize> = HashMap::new();
        let mut encoded: Vec<crf::Encoded> = Vec::with_capacity(sentences.len());
        for (index, ((s, tokens), mine)) in sentences.iter().zip(&tokenized).zip(&own).enumerate() {
            let gold = gold_tags(tokens, s.entities, &type_index);
            // A sentence must not see its own annotations in the gazetteer, or the tagger would
            // learn to trust it blindly: count each entry without this sentence's share.
            // And it sees each entry only half of the time (a fixed coin per sentence and
            // entry), so that it also learns the context around names it has never seen.
            let known = |key: u32, kind: u16| {
                let total = counts.get(&(key, kind)).copied().unwrap_or(0);
                let mine = mine.iter().filter(|&&e| e == (key, kind)).count() as u32;
                let coin = hash(b'd', &[&index.to_string(), &key.to_string()]) & 1 == 0;
                total > mine && coin
            };
            let mut features = token_features(s.text, tokens, s.intent);
            for (f, g) in features.iter_mut().zip(gazetteer.features(tokens, known)) {
                f.extend(g);
            }
            let rows = features
                .into_iter()
                .map(|fs| {
                    fs.into_iter()
                        .map(|f| {
                            let next = vocabulary.len();
                            *vocabulary.entry(f).or_insert(next)
                        })
                        .collect()
                })
                .collect();
            encoded.push((rows, gold));
        }
        let mut model = Perceptron::new(vocabulary.len(), tags);
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        let mut rng = Rng::new(options.seed);
        // Small data sets need more passes to converge; large ones are cheap to stop early.
        let epochs = options.epochs.max((20_000 / encoded.len().max(1)).min(30));
        // Both trainers make `epochs` passes; the bar counts all of them.
        let mut passes = 0;
        let mut pass_done = || {
            passes += 1;
            progress(passes, 2 * epochs);
        };
        for _ in 0..epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let (rows, gold) = &encoded[i];
                if rows.is_empty() {
                    continue;
                }
                let emissions: Vec<Vec<f32>> = rows.iter().map(|r| model.emission(r)).collect();
                let guess = viterbi(&emissions, &model.transitions, tags);
                if guess != *gold {
                    model.update(rows, gold, &guess);
                }
                model.tick();
            }
            pass_done();
        }
        let perceptron = model.averaged();
        let crf_options = CrfOptions {
            epochs,
            l2: options.crf_l2,
            learning_rate: CRF_LEARNING_RATE,
        };
        let crf = crf::train(
            &encoded,
            vocabulary.len(),
            tags,
            &crf_options,
            &mut Rng::new(options.seed),
            &mut pass_done,
        );
        let (dense, transitions) = mix(perceptron, crf, options.crf_share);
        let mut by_id: Vec<(FeatureId, usize)> = vocabulary.into_iter().collect();
        by_id.sort_unstable();
        let ids: Vec<FeatureId> = by_id.iter().map(|&(id, _)| id).collect();
        let mut sorted = Vec::with_capacity(dense.len());
        for &(_, row) in &by_id {
            sorted.extend_from_slice(&dense[row * tags..(row + 1) * tags]);
        }
        let (emissions, _) = SparseTable::compress(tags, &ids, &sorted, options.max_weights, 0.0);
        Some(SlotTagger {
            types,
            emissions,
            transitions,
            gazetteer,
        })
    }

    /// Entity types the tagger knows.
    pub fn types(&self) -> &[String] {
        &self.types
    }

    /// Finds entity spans; `value` is the span's text. Never panics.
    pub fn tag(&self, utterance: &str, intent: Option<&str>) -> Vec<Mention> {
        let tokens = tagger_tokens(utterance);
        if tokens.is_empty() {
            return Vec::new();
        }
        let tags = self.types.len() * 2 + 1;
        let mut features = token_features(utterance, &tokens, intent);
        for (f, g) in features
            .iter_mut()
            .zip(self.gazetteer.features(&tokens, |_, _| true))
        {
            f.extend(g);
        }
        let emissions: Vec<Vec<f32>> = features
            .iter()
            .map(|fs| {
                let mut scores = vec![0.0; tags];
                for &f in fs {
                    if let Some(row) = self.emissions.row(f) {
                        self.emissions.add_row(row, 1.0, &mut scores);
                    }
                }
                scores
            })
            .collect();
        let path = viterbi(&emissions, &self.transitions, tags);
        let chars: Vec<char> = utterance.chars().collect();
        let mut mentions = Vec::new();
        let mut i = 0;
        while i < path.len() {
            let tag = path[i];
            if tag == 0 || tag.is_multiple_of(2) {
                i += 1;
                continue;
            }
            let kind = (tag - 1) / 2;
            let mut last = i;
            while last + 1 < path.len() && path[last + 1] == tag + 1 {
                last += 1;
            }
            let (start, end) = (tokens[i].start, tokens[last].end);
            mentions.push(Mention {
                start,
                end,
                entity: self.types[kind].clone(),
                value: chars[start..end].iter().collect(),
            });
            i = last + 1;
        }
        mentions
    }

    /// Checks the shapes that tagging indexes by.
    pub(crate) fn check(&self) -> Result<(), String> {
        let tags = self.types.len() * 2 + 1;
        if self.types.is_empty()
            || self.emissions.columns() != tags
            || self.transitions.len() != (tags + 1) * tags
            || !self.transitions.iter().all(|t| t.is_finite())
            || self
                .gazetteer
                .entries
                .iter()
                .any(|e| usize::from(e.1) >= self.types.len())
            || usize::from(self.gazetteer.longest) > GAZETTEER_MAX_TOKENS
        {
            return Err("the slot tagger's tables do not match its entity types".to_owned());
        }
        Ok(())
    }
}

/// The tokens the tagger labels: the tokenizer's, with an English possessive split off its
/// word ("Kasey Chambers's tune" names "Kasey Chambers"; "McDonald's" keeps it as a second
/// token of the name). Left on the word, the `'s` made a span end inside a token, which no tag
/// sequence can say.
fn tagger_tokens(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for token in text::tokenize(text) {
        match token.text.strip_suffix("'s") {
            Some(stem) if token.kind == TokenKind::Word && !stem.is_empty() => {
                let split = token.end - 2;
                tokens.push(Token {
                    text: stem.to_owned(),
                    end: split,
                    ..token
                });
                tokens.push(Token {
                    text: "'s".to_owned(),
                    kind: TokenKind::Word,
                    start: split,
                    end: token.end,
                });
            }
            _ => tokens.push(token),
        }
    }
    tokens
}

/// BIO tags of the tokens; tokens that only partly overlap a span stay `O`.
fn gold_tags(tokens: &[Token], mentions: &[Mention], types: &HashMap<&str, usize>) -> Vec<usize> {
    let mut tags = vec![0; tokens.len()];
    for m in mentions {
        let Some(&kind) = types.get(m.entity.as_str()) else {
            continue;
        };
        let mut first = true;
        for (i, t) in tokens.iter().enumerate() {
            if t.start >= m.start && t.end <= m.end {
                tags[i] = if first { 1 + 2 * kind } else { 2 + 2 * kind };
                first = false;
            }
        }
    }
    tags
}

/// The hashed features of each token: the token and its neighbours, pairs, affixes, shape, case,
/// what glues it to its neighbours, the sentence's intent.
fn token_features(text: &str, tokens: &[Token], intent: Option<&str>) -> Vec<Vec<FeatureId>> {
    let original: Vec<char> = text.chars().collect();
    // Case is folded away in tokens, but it marks names ("play Madonna"), so look at the text.
    let case = |t: &Token| -> &'static str {
        let first = original.get(t.start).copied().unwrap_or(' ');
        let all_upper = original[t.start..t.end.min(original.len())]
            .iter()
            .all(|c| !c.is_lowercase());
        match (first.is_uppercase(), all_upper) {
            (true, true) => "AA",
            (true, false) => "Aa",
            _ => "a",
        }
    };
    let word = |i: isize| -> &str {
        if i < 0 {
            "<s>"
        } else {
            tokens.get(i as usize).map_or("</s>", |t| t.text.as_str())
        }
    };
    // What separates a token from the one before when it is not just a space: nothing
    // ("z600", "2150cdn"), or a punctuation mark ("13.10", "XP-424", "妈妈，啊"). Model numbers
    // and versions are split into several tokens, and this is what says they are still one name;
    // a comma between two characters says the opposite. Spaces (and CJK directly next to CJK)
    // say nothing: as features they would only be a second bias, which on a few dozen sentences
    // outweighs the evidence of a capitalized name.
    let gap = |i: usize| -> Option<String> {
        let before = tokens.get(i.checked_sub(1)?)?;
        let here = tokens.get(i)?;
        let between = original.get(before.end..here.start).unwrap_or(&[]);
        if before.kind == TokenKind::Cjk && here.kind == TokenKind::Cjk && between.is_empty() {
            return None;
        }
        match between.iter().find(|c| !c.is_whitespace()) {
            Some(&mark) if between.len() == 1 => Some(mark.to_string()),
            Some(_) => Some("+".to_owned()),
            None if between.is_empty() => Some(String::new()),
            None => None,
        }
    };
    let shape_of = |t: &Token| match t.kind {
        TokenKind::Number => "9",
        TokenKind::Cjk => "c",
        TokenKind::Symbol => "$",
        TokenKind::Word if t.text.len() <= 2 => "a",
        TokenKind::Word => "aa",
    };
    let intent = intent.unwrap_or("");
    (0..tokens.len())
        .map(|i| {
            let t = &tokens[i];
            let i = i as isize;
            let chars: Vec<char> = t.text.chars().collect();
            let affix = |n: usize| -> (String, String) {
                (
                    chars.iter().take(n).collect(),
                    chars[chars.len().saturating_sub(n)..].iter().collect(),
                )
            };
            let (prefix, suffix) = affix(3);
            let (prefix2, suffix2) = affix(2);
            let (_, suffix4) = affix(4);
            let case_here = case(t);
            let case_before = if i > 0 {
                case(&tokens[i as usize - 1])
            } else {
                "<s>"
            };
            let case_after = tokens.get(i as usize + 1).map_or("</s>", case);
            let (gap_before, gap_after) = (gap(i as usize), gap(i as usize + 1));
            let shape = shape_of(t);
            let shape_before = if i > 0 {
                shape_of(&tokens[i as usize - 1])
            } else {
                "<s>"
            };
            let mut features = vec![
                hash(b'0', &[]),
                hash(b'1', &[word(i)]),
                hash(b'2', &[word(i - 1)]),
                hash(b'3', &[word(i + 1)]),
                hash(b'4', &[word(i - 2)]),
                hash(b'5', &[word(i + 2)]),
                hash(b'6', &[word(i - 1), word(i)]),
                hash(b'7', &[word(i), word(i + 1)]),
                hash(b'8', &[word(i - 1), word(i + 1)]),
                hash(b'9', &[&prefix]),
                hash(b'A', &[&suffix]),
                hash(b'B', &[shape, word(i - 1)]),
                hash(b'C', &[intent]),
                hash(b'D', &[intent, word(i)]),
                hash(b'E', &[word(i - 2), word(i - 1), word(i)]),
                hash(b'F', &[word(i), word(i + 1), word(i + 2)]),
                hash(b'G', &[&prefix2]),
                hash(b'H', &[&suffix2]),
                hash(b'I', &[&suffix4]),
                hash(b'J', &[case_here]),
                hash(b'K', &[case_before, case_here, case_after]),
                hash(b'L', &[case_here, word(i - 1)]),
                hash(b'M', &[word(i + 1), word(i + 2)]),
                hash(b'N', &[word(i - 2), word(i - 1)]),
                hash(b'O', &[word(i - 3)]),
                hash(b'P', &[word(i + 3)]),
            ];
            // The gap alone, and with the shapes on its two sides: "9.9" and "a9" are model
            // numbers and versions wherever they occur.
            if let Some(gap) = &gap_before {
                features.push(hash(b'Q', &[gap]));
                features.push(hash(b'S', &[gap, shape_before, shape]));
            }
            if let Some(gap) = &gap_after {
                features.push(hash(b'R', &[gap]));
                features.push(hash(b'U', &[gap, shape]));
            }
            features
        })
        .collect()
}

/// The best tag sequence under the BIO constraint.
fn viterbi(emissions: &[Vec<f32>], transitions: &[f32], tags: usize) -> Vec<usize> {
    let n = emissions.len();
    if n == 0 {
        return Vec::new();
    }
    let mut score = vec![f32::NEG_INFINITY; tags];
    let mut back = vec![0usize; n * tags];
    for t in 0..tags {
        if allowed(tags, t, tags) {
            score[t] = transitions[tags * tags + t] + emissions[0][t];
        }
    }
    let mut best = vec![f32::NEG_INFINITY; tags];
    for i in 1..n {
        // Row by row of the transitions (along memory): each tag keeps the first predecessor
        // with the highest score. O and the B tags may follow any tag; an I tag only its own B
        // or I, which are the tag before it and itself.
        best.fill(f32::NEG_INFINITY);
        let from = &mut back[i * tags..(i + 1) * tags];
        from.fill(0);
        for (p, &s) in score.iter().enumerate() {
            if s == f32::NEG_INFINITY {
                continue;
            }
            let row = &transitions[p * tags..(p + 1) * tags];
            let mut consider = |t: usize| {
                let v = s + row[t];
                if v > best[t] {
                    best[t] = v;
                    from[t] = p;
                }
            };
            for t in openings(tags) {
                consider(t);
            }
            if let Some(t) = continuation(p) {
                consider(t);
            }
        }
        for (s, (b, e)) in score.iter_mut().zip(best.iter().zip(&emissions[i])) {
            *s = b + e;
        }
    }
    let mut last = 0;
    for t in 0..tags {
        if score[t] > score[last] {
            last = t;
        }
    }
    let mut path = vec![0; n];
    path[n - 1] = last;
    for i in (1..n).rev() {
        path[i - 1] = back[i * tags + path[i]];
    }
    path
}

/// Dense weights during training, with step-weighted sums for averaging.
struct Perceptron {
    tags: usize,
    weights: Vec<f32>,
    sums: Vec<f32>,
    transitions: Vec<f32>,
    transition_sums: Vec<f32>,
    step: f32,
}

impl Perceptron {
    fn new(features: usize, tags: usize) -> Perceptron {
        Perceptron {
            tags,
            weights: vec![0.0; features * tags],
            sums: vec![0.0; features * tags],
            transitions: vec![0.0; (tags + 1) * tags],
            transition_sums: vec![0.0; (tags + 1) * tags],
            step: 1.0,
        }
    }

    fn emission(&self, rows: &[usize]) -> Vec<f32> {
        let mut scores = vec![0.0; self.tags];
        for &row in rows {
            for (s, w) in scores
                .iter_mut()
                .zip(&self.weights[row * self.tags..(row + 1) * self.tags])
            {
                *s += w;
            }
        }
        scores
    }

    fn update(&mut self, rows: &[Vec<usize>], gold: &[usize], guess: &[usize]) {
        let (tags, t) = (self.tags, self.step);
        for i in 0..gold.len() {
            let previous = |path: &[usize]| if i == 0 { tags } else { path[i - 1] };
            if gold[i] != guess[i] {
                for &row in &rows[i] {
                    self.weights[row * tags + gold[i]] += 1.0;
                    self.sums[row * tags + gold[i]] += t;
                    self.weights[row * tags + guess[i]] -= 1.0;
                    self.sums[row * tags + guess[i]] -= t;
                }
            }
            let (g, p) = (
                previous(gold) * tags + gold[i],
                previous(guess) * tags + guess[i],
            );
            if g != p {
                self.transitions[g] += 1.0;
                self.transition_sums[g] += t;
                self.transitions[p] -= 1.0;
                self.transition_sums[p] -= t;
            }
        }
    }

    fn tick(&mut self) {
        self.step += 1.0;
    }

    fn averaged(self) -> (Vec<f32>, Vec<f32>) {
        let t = self.step;
        let average = |w: Vec<f32>, s: Vec<f32>| w.iter().zip(&s).map(|(w, s)| w - s / t).collect();
        (
            average(self.weights, self.sums),
            average(self.transitions, self.transition_sums),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mention(text: &str, span: &str, entity: &str) -> Mention {
        let start = text.find(span).map(|b| text[..b].chars().count()).unwrap();
        let end = start + span.chars().count();
        Mention {
            start,
            end,
            entity: entity.to_owned(),
            value: span.to_owned(),
        }
    }

    /// Trains on `(text, [(span, entity)])` pairs of one intent.
    fn trained(data: &[(&str, Vec<(&str, &str)>)], intent: &str) -> SlotTagger {
        let mentions: Vec<Vec<Mention>> = data
            .iter()
            .map(|(t, ms)| ms.iter().map(|(s, e)| mention(t, s, e)).collect())
            .collect();
        let sentences: Vec<Annotated<'_>> = data
            .iter()
            .zip(&mentions)
            .map(|((text, _), m)| Annotated {
                text,
                intent: Some(intent),
                entities: m,
            })
            .collect();
        SlotTagger::train(&sentences, &TaggerOptions::default(), &mut |_, _| {}).unwrap()
    }

    #[test]
    fn learns_cities_and_dates_in_chinese_and_english() {
        let data = [
            (
                "今天北京天气怎么样",
                vec![("北京", "city"), ("今天", "date")],
            ),
            ("明天上海会下雨吗", vec![("上海", "city"), ("明天", "date")]),
            ("广州今天热不热", vec![("广州", "city"), ("今天", "date")]),
            ("深圳明天天气", vec![("深圳", "city"), ("明天", "date")]),
            ("杭州后天冷吗", vec![("杭州", "city"), ("后天", "date")]),
            (
                "weather in paris today",
                vec![("paris", "city"), ("today", "date")],
            ),
            (
                "will it rain in london tomorrow",
                vec![("london", "city"), ("tomorrow", "date")],
            ),
            (
                "is new york hot today",
                vec![("new york", "city"), ("today", "date")],
            ),
        ];
        let tagger = trained(&data, "weather");
        // Training sentences come back exactly.
        for (text, spans) in &data {
            let mut found = tagger.tag(text, Some("weather"));
            found.sort();
            let mut want: Vec<Mention> = spans.iter().map(|(s, e)| mention(text, s, e)).collect();
            want.sort();
            assert_eq!(found, want, "{text}");
        }
        assert_eq!(crate::postcard_reader::round_trip(&tagger), tagger);
        assert!(tagger.tag("", None).is_empty());
    }

    #[test]
    fn versions_and_model_numbers_split_into_tokens_stay_one_name() {
        let tagger = trained(
            &[
                (
                    "upgrade from 12.04 to 14.04",
                    vec![("12.04", "version"), ("14.04", "version")],
                ),
                (
                    "how to upgrade ubuntu 14.04 to 15.04",
                    vec![("14.04", "version"), ("15.04", "version")],
                ),
                ("is 16.04 stable", vec![("16.04", "version")]),
                (
                    "problem after upgrading to 12.04",
                    vec![("12.04", "version")],
                ),
                ("install hp f2480 printer", vec![("hp f2480", "printer")]),
                (
                    "my canon mp250 printer does not print",
                    vec![("canon mp250", "printer")],
                ),
                (
                    "driver for brother hl2140",
                    vec![("brother hl2140", "printer")],
                ),
                ("how do I record my screen", vec![]),
            ],
            "upgrade",
        );
        let spans = |text: &str| -> Vec<String> {
            tagger
                .tag(text, Some("upgrade"))
                .into_iter()
                .map(|m| m.value)
                .collect()
        };
        // Neither "13", "10", "9" nor "z" was seen in training.
        assert_eq!(spans("upgrade from 13.10 to 14.04"), ["13.10", "14.04"]);
        assert_eq!(spans("install hp z600 printer"), ["hp z600"]);
    }

    #[test]
    fn a_possessive_is_not_part_of_the_name_before_it() {
        let texts: Vec<String> = tagger_tokens("Kasey Chambers's tune, McDonald's")
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(texts, ["kasey", "chambers", "'s", "tune", "mcdonald", "'s"]);
        // A span ending before 's could not be tagged while 's was part of the word.
        let data = [
            (
                "play kasey chambers's new tune",
                vec![("kasey chambers", "artist")],
            ),
            (
                "play a tune by larry heard",
                vec![("larry heard", "artist")],
            ),
            (
                "play sara bareilles's latest song",
                vec![("sara bareilles", "artist")],
            ),
            ("play the new song", vec![]),
        ];
        let tagger = trained(&data, "play");
        for (text, spans) in &data {
            let found: Vec<String> = tagger
                .tag(text, Some("play"))
                .into_iter()
                .map(|m| m.value)
                .collect();
            assert_eq!(
                found,
                spans.iter().map(|s| s.0).collect::<Vec<_>>(),
                "{text}"
            );
        }
    }

    #[test]
    fn viterbi_respects_bio() {
        // Tags: O, B-x, I-x. I-x scores highest everywhere but may not start a sentence.
        let emissions = vec![vec![0.0, 0.0, 5.0], vec![0.0, 0.0, 5.0]];
        let transitions = vec![0.0; 4 * 3];
        let path = viterbi(&emissions, &transitions, 3);
        assert_eq!(path, [1, 2]);
    }
}
