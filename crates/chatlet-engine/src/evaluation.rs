//! Scores predictions against labelled utterances: accuracy, macro-F1, per-intent precision,
//! recall and F1, the most confused pairs, out-of-scope recall, and exact-span slot scores.

use crate::corpus::{Mention, Utterance};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the model said about one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicted {
    /// The intent after the out-of-scope threshold (`None` = rejected).
    pub intent: Option<String>,
    /// The best intent before the threshold.
    pub best: Option<String>,
    /// Entity spans found.
    pub entities: Vec<Mention>,
}

/// Precision, recall, F1 and how many gold items they are over.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    /// Correct predictions / predictions.
    pub precision: f64,
    /// Correct predictions / gold items.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Number of gold items.
    pub support: usize,
}

impl Scores {
    fn from_counts(true_positive: usize, predicted: usize, gold: usize) -> Scores {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = ratio(true_positive, predicted);
        let recall = ratio(true_positive, gold);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Scores {
            precision,
            recall,
            f1,
            support: gold,
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Number of utterances scored.
    pub total: usize,
    /// Number of in-scope utterances.
    pub in_scope: usize,
    /// In-scope accuracy of the best intent, ignoring the threshold.
    pub accuracy: f64,
    /// In-scope accuracy counting rejected utterances as wrong.
    pub accuracy_at_threshold: f64,
    /// Macro-averaged F1 over the gold intents (best intent, in-scope utterances).
    pub macro_f1: f64,
    /// Per gold intent, in name order.
    pub intents: Vec<(String, Scores)>,
    /// `(gold, predicted, count)`, most frequent first.
    pub confusions: Vec<(String, String, usize)>,
    /// Share of out-of-scope utterances rejected, when there are any.
    pub oos_recall: Option<f64>,
    /// Share of rejections that were out of scope, when there are out-of-scope utterances.
    pub oos_precision: Option<f64>,
    /// Exact-span entity scores (micro average), when the gold data has entities.
    pub slots: Option<Scores>,
    /// Per entity type.
    pub slot_types: Vec<(String, Scores)>,
    /// The confusion matrix over `matrix_labels` (gold rows, predicted columns).
    pub matrix: Vec<Vec<usize>>,
    /// Labels of the matrix: gold intents in name order, then `oos`.
    pub matrix_labels: Vec<String>,
}

const OOS: &str = "oos";

/// Scores `predicted[i]` against `gold[i]`.
pub fn evaluate(gold: &[Utterance], predicted: &[Predicted]) -> Evaluation {
    let pairs: Vec<(&Utterance, &Predicted)> = gold.iter().zip(predicted).collect();
    let in_scope: Vec<&(&Utterance, &Predicted)> =
        pairs.iter().filter(|(g, _)| g.intent.is_some()).collect();
    let gold_labels: BTreeSet<&str> = in_scope
        .iter()
        .filter_map(|(g, _)| g.intent.as_deref())
        .collect();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let correct = in_scope.iter().filter(|(g, p)| g.intent == p.best).count();
    let correct_at_threshold = in_scope
        .iter()
        .filter(|(g, p)| g.intent == p.intent)
        .count();

    let mut true_positive: HashMap<&str, usize> = HashMap::new();
    let mut predicted_count: HashMap<&str, usize> = HashMap::new();
    let mut gold_count: HashMap<&str, usize> = HashMap::new();
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (g, p) in &in_scope {
        let gold = g.intent.as_deref().unwrap_or(OOS);
        let best = p.best.as_deref().unwrap_or(OOS);
        *gold_count.entry(gold).or_default() += 1;
        *predicted_count.entry(best).or_default() += 1;
        if gold == best {
            *true_positive.entry(gold).or_default() += 1;
        } else {
            *confusion
                .entry((gold.to_owned(), best.to_owned()))
                .or_default() += 1;
        }
    }
    let intents: Vec<(String, Scores)> = gold_labels
        .iter()
        .map(|&label| {
            let s = Scores::from_counts(
                true_positive.get(label).copied().unwrap_or(0),
                predicted_count.get(label).copied().unwrap_or(0),
                gold_count.get(label).copied().unwrap_or(0),
            );
            (label.to_owned(), s)
        })
        .collect();
    let macro_f1 = if intents.is_empty() {
        0.0
    } else {
        intents.iter().map(|(_, s)| s.f1).sum::<f64>() / intents.len() as f64
    };
    let mut confusions: Vec<(String, String, usize)> =
        confusion.into_iter().map(|((g, p), c)| (g, p, c)).collect();
    confusions.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));

    let oos: Vec<&(&Utterance, &Predicted)> =
        pairs.iter().filter(|(g, _)| g.intent.is_none()).collect();
    let rejected = pairs.iter().filter(|(_, p)| p.intent.is_none()).count();
    let rejected_oos = oos.iter().filter(|(_, p)| p.intent.is_none()).count();
    let has_oos = !oos.is_empty();

    let mut matrix_labels: Vec<String> = gold_labels.iter().map(|&l| l.to_owned()).collect();
    matrix_labels.push(OOS.to_owned());
    let position: HashMap<&str, usize> = matrix_labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    let mut matrix = vec![vec![0usize; matrix_labels.len()]; matrix_labels.len()];
    for (g, p) in &pairs {
        let row = position[g.intent.as_deref().unwrap_or(OOS)];
        // Predictions of intents that no gold utterance has are counted as out of scope.
        let column = p
            .intent
            .as_deref()
            .and_then(|i| position.get(i).copied())
            .unwrap_or(matrix_labels.len() - 1);
        matrix[row][column] += 1;
    }

    let (slots, slot_types) = slot_scores(&pairs);
    Evaluation {
        total: pairs.len(),
        in_scope: in_scope.len(),
        accuracy: ratio(correct, in_scope.len()),
        accuracy_at_threshold: ratio(correct_at_threshold, in_scope.len()),
        macro_f1,
        intents,
        confusions,
        oos_recall: has_oos.then(|| ratio(rejected_oos, oos.len())),
        oos_precision: has_oos.then(|| ratio(rejected_oos, rejected)),
        slots,
        slot_types,
        matrix,
        matrix_labels,
    }
}

/// Exact-span scores: a predicted `(start, end, type)` counts only if a gold span is identical
/// (gold spans trimmed of white space, as the peers' scorer does).
fn slot_scores(pairs: &[(&Utterance, &Predicted)]) -> (Option<Scores>, Vec<(String, Scores)>) {
    if !pairs.iter().any(|(g, _)| !g.entities.is_empty()) {
        return (None, Vec::new());
    }
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for (g, p) in pairs {
        let chars: Vec<char> = g.text.chars().collect();
        let gold: BTreeSet<(usize, usize, &str)> = g
            .entities
            .iter()
            .filter_map(|m| trimmed(&chars, m.start, m.end).map(|(s, e)| (s, e, m.entity.as_str())))
            .collect();
        let found: BTreeSet<(usize, usize, &str)> = p
            .entities
            .iter()
            .map(|m| (m.start, m.end, m.entity.as_str()))
            .collect();
        for span in &gold {
            let c = counts.entry(span.2.to_owned()).or_default();
            c.2 += 1;
            if found.contains(span) {
                c.0 += 1;
            }
        }
        for span in &found {
            counts.entry(span.2.to_owned()).or_default().1 += 1;
        }
    }
    let total = counts
        .values()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    let per_type = counts
        .into_iter()
        .map(|(t, c)| (t, Scores::from_counts(c.0, c.1, c.2)))
        .collect();
    (
        Some(Scores::from_counts(total.0, total.1, total.2)),
        per_type,
    )
}

fn trimmed(chars: &[char], start: usize, end: usize) -> Option<(usize, usize)> {
    let end = end.min(chars.len());
    let mut s = start.min(end);
    let mut e = end;
    while s < e && chars[s].is_whitespace() {
        s += 1;
    }
    while e > s && chars[e - 1].is_whitespace() {
        e -= 1;
    }
    (e > s).then_some((s, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gold(text: &str, intent: Option<&str>, entities: &[(usize, usize, &str)]) -> Utterance {
        Utterance {
            text: text.to_owned(),
            intent: intent.map(str::to_owned),
            entities: entities
                .iter()
                .map(|&(start, end, entity)| Mention {
                    start,
                    end,
                    entity: entity.to_owned(),
                    value: String::new(),
                })
                .collect(),
        }
    }

    fn said(intent: Option<&str>, best: &str, entities: &[(usize, usize, &str)]) -> Predicted {
        Predicted {
            intent: intent.map(str::to_owned),
            best: Some(best.to_owned()),
            entities: gold("", None, entities).entities,
        }
    }

    #[test]
    fn scores_intents_oos_and_slots() {
        let gold = [
            gold("a b", Some("x"), &[(0, 1, "e")]),
            gold("c d", Some("x"), &[(2, 3, "f")]),
            gold("e f", Some("y"), &[]),
            gold("g h", None, &[]),
            gold("i j", None, &[]),
        ];
        let predicted = [
            said(Some("x"), "x", &[(0, 1, "e")]),
            said(None, "x", &[(2, 3, "e")]),
            said(Some("x"), "x", &[]),
            said(None, "y", &[]),
            said(Some("y"), "y", &[]),
        ];
        let e = evaluate(&gold, &predicted);
        assert_eq!(e.in_scope, 3);
        assert!((e.accuracy - 2.0 / 3.0).abs() < 1e-9);
        assert!((e.accuracy_at_threshold - 1.0 / 3.0).abs() < 1e-9);
        // x: P 2/3 R 1 F1 0.8; y: P 0 R 0 F1 0.
        assert!((e.macro_f1 - 0.4).abs() < 1e-9, "{}", e.macro_f1);
        assert_eq!(e.confusions, [("y".to_owned(), "x".to_owned(), 1)]);
        assert_eq!(e.oos_recall, Some(0.5));
        assert_eq!(e.oos_precision, Some(0.5));
        let slots = e.slots.unwrap();
        assert_eq!((slots.precision, slots.recall), (0.5, 0.5));
        assert_eq!(e.matrix_labels, ["x", "y", "oos"]);
        assert_eq!(e.matrix[2], [0, 1, 1]);
    }

    #[test]
    fn gold_spans_are_trimmed() {
        let e = evaluate(
            &[gold("go  home", Some("x"), &[(2, 8, "place")])],
            &[said(Some("x"), "x", &[(4, 8, "place")])],
        );
        assert_eq!(e.slots.unwrap().f1, 1.0);
    }
}
