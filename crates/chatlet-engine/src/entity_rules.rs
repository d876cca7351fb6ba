//! Entities found by rules a bot declares: lookup tables (canonical values with synonyms,
//! optionally fuzzy), regular expressions, and built-ins (numbers, dates, money, ...). Also maps a
//! learned span to its lookup table's canonical value.

use crate::builtin_entities;
use crate::calendar::ReferenceTime;
use crate::corpus::Mention;
use crate::pattern::Pattern;
use crate::postcard_reader::{Decode, Fault, Reader};
use crate::text::{self, TokenKind, fold_char};
use serde::Serialize;

/// One declared entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum EntityRule {
    /// Canonical values, each with its synonyms; `fuzzy` also accepts one typo in longer words.
    Lookup {
        /// `(canonical value, synonyms)`; the canonical value matches itself too.
        values: Vec<(String, Vec<String>)>,
        /// Accept one edit in Latin-script words of five letters or more.
        fuzzy: bool,
    },
    /// A regular expression (regex-lite syntax); the value is the matched text.
    Pattern(String),
    /// One of [`builtin_entities::BUILTIN_ENTITIES`].
    Builtin(String),
    /// No rule: only the slot tagger finds it, from annotated examples.
    Learned,
}

/// The declared entities of a bot, by name, with their regular expressions compiled.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(into = "Vec<(String, EntityRule)>")]
pub struct EntityRules {
    rules: Vec<(String, EntityRule)>,
    compiled: Vec<Option<Pattern>>,
}

impl PartialEq for EntityRules {
    fn eq(&self, other: &EntityRules) -> bool {
        self.rules == other.rules
    }
}

impl From<EntityRules> for Vec<(String, EntityRule)> {
    fn from(r: EntityRules) -> Self {
        r.rules
    }
}

impl Decode for EntityRule {
    fn decode(r: &mut Reader<'_>) -> EntityRule {
        match r.variant() {
            0 => EntityRule::Lookup {
                values: r.read(),
                fuzzy: r.read(),
            },
            1 => EntityRule::Pattern(r.read()),
            2 => EntityRule::Builtin(r.read()),
            3 => EntityRule::Learned,
            _ => {
                r.fail(Fault::Malformed);
                EntityRule::Learned
            }
        }
    }
}

impl Decode for EntityRules {
    fn decode(r: &mut Reader<'_>) -> EntityRules {
        EntityRules::new(r.read()).unwrap_or_else(|reason| {
            r.fail(Fault::Table(reason));
            EntityRules::default()
        })
    }
}

impl EntityRules {
    /// Checks and compiles the rules; the error says which entity is wrong and why.
    pub fn new(rules: Vec<(String, EntityRule)>) -> Result<EntityRules, String> {
        let mut compiled = Vec::with_capacity(rules.len());
        for (name, rule) in &rules {
            compiled.push(match rule {
                EntityRule::Pattern(p) => {
                    Some(compile(p).map_err(|e| format!("entity `{name}`: {e}"))?)
                }
                EntityRule::Builtin(kind)
                    if !builtin_entities::BUILTIN_ENTITIES.contains(&kind.as_str()) =>
                {
                    return Err(format!("entity `{name}`: unknown built-in `{kind}`"));
                }
                _ => None,
            });
        }
        Ok(EntityRules { rules, compiled })
    }

    /// True when no entity is declared.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The declared entity names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|(n, _)| n.as_str())
    }

    /// Every match of every rule, possibly overlapping, in declaration order.
    pub fn find(&self, utterance: &str, now: Option<&ReferenceTime>) -> Vec<Mention> {
        // Sized at once (a `Chars` iterator promises only a quarter of its bytes as chars).
        let mut original = Vec::with_capacity(utterance.len());
        original.extend(utterance.chars());
        let folded: Vec<char> = original.iter().map(|&c| fold_char(c)).collect();
        let mut found = Vec::new();
        let mut builtins_done = false;
        for ((name, rule), regex) in self.rules.iter().zip(&self.compiled) {
            match rule {
                EntityRule::Lookup { values, fuzzy } => {
                    lookup(&folded, values, *fuzzy, name, &mut found);
                }
                EntityRule::Pattern(_) => {
                    let Some(pattern) = regex else { continue };
                    for (start, end) in pattern.find_all(&original) {
                        found.push(Mention {
                            start,
                            end,
                            entity: name.clone(),
                            value: original[start..end].iter().collect(),
                        });
                    }
                }
                EntityRule::Learned => {}
                EntityRule::Builtin(_) if builtins_done => {}
                EntityRule::Builtin(_) => {
                    // All built-in kinds in one pass, so that the extractor's own choice holds
                    // where two read the same span (13812345678 is a phone, not a number).
                    builtins_done = true;
                    let builtins: Vec<(&String, &String)> = self
                        .rules
                        .iter()
                        .filter_map(|(name, rule)| match rule {
                            EntityRule::Builtin(kind) => Some((name, kind)),
                            _ => None,
                        })
                        .collect();
                    let kinds: Vec<String> = builtins.iter().map(|(_, k)| (*k).clone()).collect();
                    let mentions = builtin_entities::extract(utterance, now, &kinds);
                    for (name, kind) in builtins {
                        for m in mentions.iter().filter(|m| m.entity == *kind) {
                            found.push(Mention {
                                entity: name.clone(),
                                ..m.clone()
                            });
                        }
                    }
                }
            }
        }
        found
    }

    /// True when `entity`'s values are the text that was found (patterns, learned spans), not a
    /// canonical or resolved value (lookup tables, built-ins).
    pub fn values_are_text(&self, entity: &str) -> bool {
        !self.rules.iter().any(|(n, rule)| {
            n == entity && matches!(rule, EntityRule::Lookup { .. } | EntityRule::Builtin(_))
        })
    }

    /// The canonical value of `span` if `entity` is a lookup table that knows it.
    pub fn canonical(&self, entity: &str, span: &str) -> Option<String> {
        let (_, rule) = self.rules.iter().find(|(n, _)| n == entity)?;
        let EntityRule::Lookup { values, fuzzy } = rule else {
            return None;
        };
        let key: Vec<char> = span.chars().map(fold_char).collect();
        for (canonical, synonyms) in values {
            for s in std::iter::once(canonical).chain(synonyms) {
                let s: Vec<char> = s.chars().map(fold_char).collect();
                if s == key || (*fuzzy && close_enough(&s, &key)) {
                    return Some(canonical.clone());
                }
            }
        }
        None
    }
}

/// Compiles a pattern (size-limited: a bot file must not be able to blow up the browser).
fn compile(pattern: &str) -> Result<Pattern, String> {
    Pattern::new(pattern).map_err(|e| format!("bad regular expression: {e}"))
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !text::is_cjk(c)
}

/// Exact (and with `fuzzy`, one-typo) matches of synonyms; Latin-script synonyms only match
/// whole words, CJK ones anywhere. Longest match first, no overlaps within one table.
fn lookup(
    folded: &[char],
    values: &[(String, Vec<String>)],
    fuzzy: bool,
    name: &str,
    out: &mut Vec<Mention>,
) {
    let mut entries: Vec<(Vec<char>, &str)> = values
        .iter()
        .flat_map(|(canonical, synonyms)| {
            std::iter::once(canonical).chain(synonyms).map(move |s| {
                (
                    s.chars().map(fold_char).collect::<Vec<char>>(),
                    canonical.as_str(),
                )
            })
        })
        .filter(|(s, _)| !s.is_empty())
        .collect();
    // Longest first; among equally long ones the first declared.
    let order = longest_first(entries.iter().map(|e| (0, e.0.len())));
    let entries: Vec<(Vec<char>, &str)> = order
        .into_iter()
        .map(|i| std::mem::take(&mut entries[i]))
        .collect();
    let mut taken = vec![false; folded.len()];
    let mut i = 0;
    while i < folded.len() {
        let hit = entries.iter().find(|(s, _)| {
            let end = i + s.len();
            end <= folded.len()
                && folded[i..end] == s[..]
                && !(is_word_char(s[0]) && i > 0 && is_word_char(folded[i - 1]))
                && !(is_word_char(s[s.len() - 1])
                    && folded.get(end).is_some_and(|&c| is_word_char(c)))
        });
        match hit {
            Some((s, canonical)) => {
                taken[i..i + s.len()].iter_mut().for_each(|t| *t = true);
                out.push(Mention {
                    start: i,
                    end: i + s.len(),
                    entity: name.to_owned(),
                    value: (*canonical).to_owned(),
                });
                i += s.len();
            }
            None => i += 1,
        }
    }
    if !fuzzy {
        return;
    }
    let text: String = folded.iter().collect();
    for token in text::tokenize(&text) {
        if token.kind != TokenKind::Word || taken[token.start..token.end].iter().any(|&t| t) {
            continue;
        }
        let word: Vec<char> = token.text.chars().collect();
        if let Some((_, canonical)) = entries
            .iter()
            .find(|(s, _)| s.iter().all(|&c| is_word_char(c)) && close_enough(s, &word))
        {
            out.push(Mention {
                start: token.start,
                end: token.end,
                entity: name.to_owned(),
                value: (*canonical).to_owned(),
            });
        }
    }
}

/// One edit (insert, delete, substitute or swap of neighbours) apart, for words of 5+ letters.
fn close_enough(a: &[char], b: &[char]) -> bool {
    if a.len().min(b.len()) < 5 || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut before_previous = previous.clone();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (previous[j] + 1)
                .min(row[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before_previous[j - 2] + 1);
            }
        }
        before_previous = std::mem::replace(&mut previous, row);
    }
    previous[b.len()] <= 1
}

/// Keeps the longest of overlapping mentions (earlier ones win ties) and sorts by position.
pub(crate) fn resolve_overlaps(mentions: Vec<Mention>) -> Vec<Mention> {
    let mut kept: Vec<usize> = Vec::new();
    for i in longest_first(mentions.iter().map(|m| (m.start, m.end))) {
        let m = &mentions[i];
        if kept
            .iter()
            .all(|&k| mentions[k].end <= m.start || m.end <= mentions[k].start)
        {
            kept.push(i);
        }
    }
    // Kept mentions do not overlap, so their starts differ: sorting (start, index) is exact.
    let mut by_start: Vec<u64> = kept
        .iter()
        .map(|&i| (saturating_u32(mentions[i].start) << 32) | i as u64)
        .collect();
    by_start.sort_unstable();
    let mut slots: Vec<Option<Mention>> = mentions.into_iter().map(Some).collect();
    by_start
        .into_iter()
        .filter_map(|key| slots[(key & u64::from(u32::MAX)) as usize].take())
        .collect()
}

/// Indices of `spans` (start, end) longest first, ties in index order.
///
/// Every sort in the engine's runtime sorts `u64` keys, so that the widget links a single sort.
fn longest_first(spans: impl Iterator<Item = (usize, usize)>) -> Vec<usize> {
    let mut keys: Vec<u64> = spans
        .enumerate()
        .map(|(i, (start, end))| {
            let shorter = u32::MAX - saturating_u32(end.saturating_sub(start)) as u32;
            (u64::from(shorter) << 32) | i as u64
        })
        .collect();
    keys.sort_unstable();
    keys.into_iter()
        .map(|key| (key & u64::from(u32::MAX)) as usize)
        .collect()
}

fn saturating_u32(n: usize) -> u64 {
    n.min(u32::MAX as usize) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> EntityRules {
        EntityRules::new(vec![
            (
                "city".to_owned(),
                EntityRule::Lookup {
                    values: vec![
                        (
                            "北京".to_owned(),
                            vec![
                                "北京市".to_owned(),
                                "beijing".to_owned(),
                                "peking".to_owned(),
                            ],
                        ),
                        (
                            "上海".to_owned(),
                            vec!["shanghai".to_owned(), "沪".to_owned()],
                        ),
                    ],
                    fuzzy: true,
                },
            ),
            (
                "order".to_owned(),
                EntityRule::Pattern("[A-Z]{2}[0-9]{6}".to_owned()),
            ),
            ("amount".to_owned(), EntityRule::Builtin("money".to_owned())),
        ])
        .unwrap()
    }

    fn found(text: &str) -> Vec<(String, String)> {
        resolve_overlaps(rules().find(text, None))
            .into_iter()
            .map(|m| (m.entity, m.value))
            .collect()
    }

    #[test]
    fn synonyms_typos_patterns_and_builtins() {
        assert_eq!(
            found("北京市天气"),
            [("city".to_owned(), "北京".to_owned())]
        );
        assert_eq!(
            found("flights to Shanghia"),
            [("city".to_owned(), "上海".to_owned())]
        );
        assert_eq!(
            found("BEIJING or pekin"),
            [
                ("city".to_owned(), "北京".to_owned()),
                ("city".to_owned(), "北京".to_owned())
            ]
        );
        assert!(
            found("beijingese food").is_empty(),
            "synonyms match whole words only"
        );
        assert_eq!(
            found("订单AB123456退款50元"),
            [
                ("order".to_owned(), "AB123456".to_owned()),
                ("amount".to_owned(), "50 CNY".to_owned()),
            ]
        );
        assert_eq!(rules().canonical("city", "Peking"), Some("北京".to_owned()));
        assert_eq!(rules().canonical("city", "paris"), None);
    }

    #[test]
    fn a_more_specific_builtin_wins_whatever_the_declaration_order() {
        let rules = EntityRules::new(vec![
            ("count".to_owned(), EntityRule::Builtin("number".to_owned())),
            ("mobile".to_owned(), EntityRule::Builtin("phone".to_owned())),
            ("arrival".to_owned(), EntityRule::Builtin("date".to_owned())),
            (
                "departure".to_owned(),
                EntityRule::Builtin("date".to_owned()),
            ),
        ])
        .unwrap();
        let now = ReferenceTime {
            date: crate::calendar::Date::new(2026, 11, 22).unwrap(),
            hour: 10,
            minute: 0,
        };
        let found: Vec<(String, String)> =
            resolve_overlaps(rules.find("13812345678，3个人，明天", Some(&now)))
                .into_iter()
                .map(|m| (m.entity, m.value))
                .collect();
        assert_eq!(
            found,
            [
                ("mobile".to_owned(), "+8613812345678".to_owned()),
                ("count".to_owned(), "3".to_owned()),
                ("arrival".to_owned(), "2026-11-23".to_owned()),
            ]
        );
        // Both date entities read the date (forms tell them apart by what they ask).
        let dates = rules.find("明天", Some(&now));
        assert_eq!(dates.len(), 2, "{dates:?}");
    }

    #[test]
    fn bad_rules_are_refused_with_the_entity_named() {
        let err = EntityRules::new(vec![("x".to_owned(), EntityRule::Pattern("(".to_owned()))])
            .unwrap_err();
        assert!(
            err.starts_with("entity `x`: bad regular expression"),
            "{err}"
        );
        let err = EntityRules::new(vec![(
            "y".to_owned(),
            EntityRule::Builtin("colour".to_owned()),
        )])
        .unwrap_err();
        assert!(err.contains("unknown built-in `colour`"), "{err}");
    }

    #[test]
    fn overlaps_keep_the_longest() {
        let m = |start, end, e: &str| Mention {
            start,
            end,
            entity: e.to_owned(),
            value: String::new(),
        };
        let kept = resolve_overlaps(vec![m(0, 2, "a"), m(1, 5, "b"), m(5, 6, "c"), m(5, 6, "d")]);
        let names: Vec<&str> = kept.iter().map(|m| m.entity.as_str()).collect();
        assert_eq!(names, ["b", "c"]);
    }
}
