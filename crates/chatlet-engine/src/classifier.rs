//! The intent classifier: multinomial logistic regression over hashed sparse features, trained
//! by deterministic averaged SGD, then pruned and quantized into a sparse table small enough to
//! ship to a browser. Confidence is calibrated by a temperature, and the out-of-scope threshold
//! is picked on held-out data (a validation split, or cross-validation when there is none).

use crate::features::{self, FeatureId};
use crate::numeric::{self, Rng};
use crate::postcard_reader::{Decode, Fault, Reader, decode_fields};
use crate::sparse_table::{Row, SparseTable};
use crate::text;
use serde::Serialize;

/// Training settings. `Default` is the one configuration used for every bot and data set.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Seed for the shuffling RNG; the same seed and data give the same model.
    pub seed: u64,
    /// Passes over the training data.
    pub epochs: usize,
    /// Initial learning rate.
    pub learning_rate: f32,
    /// At most this many non-zero weights are kept (the model's size budget).
    pub max_weights: usize,
    /// Weights smaller than this fraction of the largest are dropped.
    pub prune_below: f32,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            seed: 0x00c4_a71e,
            epochs: 10,
            learning_rate: 3.0,
            max_weights: 600_000,
            prune_below: 0.02,
        }
    }
}

/// A labelled training utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The utterance.
    pub text: String,
    /// Index into the classifier's labels, or `None` for an out-of-scope example (used only to
    /// pick the threshold).
    pub label: Option<usize>,
}

/// How far training has come, for progress bars: `done` of `total` steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Steps done.
    pub done: usize,
    /// All steps.
    pub total: usize,
}

/// A trained classifier: a sparse weight table indexed by feature. Serialized inside the model
/// file in a compact, delta-encoded form.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(into = "StoredClassifier")]
pub struct IntentClassifier {
    labels: Vec<String>,
    /// One row of class weights per known feature.
    table: SparseTable,
    /// Inverse document frequency per table row.
    idf: Vec<f32>,
    /// The weight an unknown feature gets when scaling an utterance.
    unknown_idf: f32,
    bias: Vec<f32>,
    /// Scores are divided by this before the softmax (calibration).
    temperature: f32,
    /// Exponent of the share of known words that scales confidence (0, 1 or 2).
    coverage_power: f32,
    /// Below this top probability the utterance is out of scope.
    threshold: f32,
}

/// One intent and its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored<'a> {
    /// The intent's name.
    pub intent: &'a str,
    /// Its position in [`IntentClassifier::labels`].
    pub index: usize,
    /// Its probability, between 0 and 1.
    pub confidence: f32,
}

/// What the classifier thinks of one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction<'a> {
    /// The recognized intent, or `None` when the utterance is out of scope.
    pub intent: Option<&'a str>,
    /// The top intent even when it was rejected as out of scope.
    pub best: Option<&'a str>,
    /// The top probability (of the best intent, even when rejected).
    pub confidence: f32,
    /// The most likely intents, best first (at most [`RANKING_SIZE`]).
    pub ranking: Vec<Scored<'a>>,
}

/// How many intents a prediction ranks.
pub const RANKING_SIZE: usize = 10;

impl IntentClassifier {
    /// Trains on `examples`; `labels[label]` names each in-scope example's intent. With
    /// `validation`, the temperature and threshold are fitted on it; without, on held-out parts
    /// of the training data.
    pub fn train(
        labels: Vec<String>,
        examples: &[Example],
        validation: Option<&[Example]>,
        options: &TrainOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> IntentClassifier {
        let encode = |e: &Example| (features::extract(&text::tokenize(&e.text)), e.label);
        let data: Vec<Encoded> = examples.iter().map(encode).collect();
        let plan = if validation.is_some() {
            Vec::new()
        } else {
            held_out_plan(&data)
        };
        let examples_seen: usize =
            plan.iter().map(|(train, _)| train.len()).sum::<usize>() + data.len();
        let mut tracker = Tracker {
            done: 0,
            total: options.epochs * examples_seen,
            report: progress,
        };
        let mut scored = Vec::new();
        match validation {
            Some(valid) => {
                let classifier = fit(&labels, &data, options, &mut tracker);
                let valid: Vec<Encoded> = valid.iter().map(encode).collect();
                scored.extend(
                    valid
                        .iter()
                        .map(|(f, label)| (classifier.scores(f), *label)),
                );
                finish(classifier, &scored)
            }
            None => {
                for (train, test) in plan {
                    let part: Vec<Encoded> = train.iter().map(|&i| data[i].clone()).collect();
                    let model = fit(&labels, &part, options, &mut tracker);
                    scored.extend(test.iter().map(|&i| (model.scores(&data[i].0), data[i].1)));
                }
                let classifier = fit(&labels, &data, options, &mut tracker);
                finish(classifier, &scored)
            }
        }
    }

    /// The intent names, in model order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The out-of-scope threshold on the top probability.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The calibration temperature.
    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    /// Number of distinct features the model knows.
    pub fn feature_count(&self) -> usize {
        self.table.len()
    }

    /// Number of non-zero weights.
    pub fn weight_count(&self) -> usize {
        self.table.weight_count()
    }

    /// Classifies one utterance. Never panics; empty or unknown text is out of scope.
    pub fn predict(&self, utterance: &str) -> Prediction<'_> {
        let features = features::extract(&text::tokenize(utterance));
        let Some((scores, coverage)) = self.scores(&features) else {
            return Prediction {
                intent: None,
                best: None,
                confidence: 0.0,
                ranking: Vec::new(),
            };
        };
        let probabilities =
            in_scope_probabilities(&scores, coverage, self.temperature, self.coverage_power);
        // Best first, ties in model order (a total order, so results are deterministic). Kept by
        // insertion: one pass over the intents, and no sort linked into the widget for it.
        // Each probability is compared as its `total_cmp` key, computed once.
        let mut order: Vec<(i32, usize)> = Vec::with_capacity(RANKING_SIZE + 1);
        for (k, &p) in probabilities.iter().enumerate() {
            let key = total_order_key(p);
            if order.len() == RANKING_SIZE && order.last().is_some_and(|&(last, _)| last >= key) {
                continue;
            }
            let at = order
                .iter()
                .position(|&(o, _)| o < key)
                .unwrap_or(order.len());
            order.insert(at, (key, k));
            order.truncate(RANKING_SIZE);
        }
        let ranking: Vec<Scored<'_>> = order
            .iter()
            .map(|&(_, k)| Scored {
                intent: &self.labels[k],
                index: k,
                confidence: probabilities[k],
            })
            .collect();
        let best = &ranking[0];
        Prediction {
            intent: (best.confidence >= self.threshold).then_some(best.intent),
            best: Some(best.intent),
            confidence: best.confidence,
            ranking,
        }
    }

    /// Raw class scores, or `None` when not one feature of the utterance is known.
    /// Raw class scores and the share of the utterance's words the model knows (idf-weighted),
    /// or `None` when not one feature is known.
    fn scores(&self, groups: &[Vec<FeatureId>; 3]) -> Option<(Vec<f32>, f32)> {
        let mut scores = self.table.padded(&self.bias);
        let mut known = false;
        let mut coverage = 1.0;
        // Unknown features count in the norm too (as the rarest): unfamiliar text scores flatter.
        let most = groups[..features::SCORED_GROUPS].iter().map(Vec::len).max();
        let mut rows: Vec<(Option<Row>, f32)> = Vec::with_capacity(most.unwrap_or(0));
        for group in &groups[..features::SCORED_GROUPS] {
            rows.clear();
            rows.extend(group.iter().map(|&f| {
                let row = self.table.row(f);
                (row, row.map_or(self.unknown_idf, |r| self.idf[r.index]))
            }));
            let total = rows.iter().map(|(_, v)| v * v).sum::<f32>();
            let norm = total.sqrt();
            if std::ptr::eq(group, &groups[0]) && total > 0.0 {
                let familiar: f32 = rows
                    .iter()
                    .filter(|(r, _)| r.is_some())
                    .map(|(_, v)| v * v)
                    .sum();
                coverage = familiar / total;
            }
            for &(row, idf) in &rows {
                if let Some(row) = row {
                    known = true;
                    self.table.add_row(row, idf / norm, &mut scores);
                }
            }
        }
        // Familiarity: the idf-weighted share of the words the model knows.
        let (mut familiar, mut total) = (0.0f32, 0.0f32);
        for &word in &groups[2] {
            let row = self.table.row(word);
            let idf = row.map_or(self.unknown_idf, |r| self.idf[r.index]);
            total += idf * idf;
            if row.is_some() {
                familiar += idf * idf;
            }
        }
        if total > 0.0 {
            coverage = familiar / total;
        }
        scores.truncate(self.bias.len());
        known.then_some((scores, coverage))
    }
}

type Encoded = ([Vec<FeatureId>; 3], Option<usize>);

/// Held-out raw scores with coverage, and the true label.
type HeldOut = (Option<(Vec<f32>, f32)>, Option<usize>);

/// An integer that orders as [`f32::total_cmp`] orders floats (the same transformation).
fn total_order_key(value: f32) -> i32 {
    let bits = value.to_bits() as i32;
    bits ^ (((bits >> 31) as u32) >> 1) as i32
}

/// Calibrated intent probabilities, scaled by how much of the utterance the model knows: text
/// that is mostly unfamiliar words is probably out of scope, however its few known words vote.
fn in_scope_probabilities(scores: &[f32], coverage: f32, temperature: f32, power: f32) -> Vec<f32> {
    let mut p = calibrated(scores, temperature);
    // The exponent is one of COVERAGE_POWERS; multiplied out so that native and wasm agree.
    let pull = if power == 0.0 {
        1.0
    } else if power == 1.0 {
        coverage
    } else {
        coverage * coverage
    };
    for v in &mut p {
        *v *= pull;
    }
    p
}

/// Class probabilities from raw scores at a temperature. With one intent the score is the
/// log-odds against the background it was trained against (see [`fit`]), so the probability is
/// its sigmoid: a softmax over one class would be 1 for any text.
fn calibrated(scores: &[f32], temperature: f32) -> Vec<f32> {
    let mut p: Vec<f32> = scores.iter().map(|s| s / temperature).collect();
    if let [log_odds] = p.as_mut_slice() {
        *log_odds = 1.0 / (1.0 + numeric::exp(-*log_odds));
    } else {
        numeric::softmax(&mut p);
    }
    p
}

/// Feeds the caller's progress callback.
struct Tracker<'a> {
    done: usize,
    total: usize,
    report: &'a mut dyn FnMut(Progress),
}

impl Tracker<'_> {
    fn advance(&mut self, steps: usize) {
        self.done = (self.done + steps).min(self.total);
        (self.report)(Progress {
            done: self.done,
            total: self.total,
        });
    }
}

/// Which held-out runs estimate calibration when there is no validation split: 4-fold
/// cross-validation for small data, one stratified 20% split for large data (where one run is
/// both cheap and precise enough).
fn held_out_plan(data: &[Encoded]) -> Vec<(Vec<usize>, Vec<usize>)> {
    let folds = if data.len() >= 2000 { 5 } else { 4 };
    let runs = if data.len() >= 2000 { 1 } else { folds };
    if data.len() < 2 * folds {
        return Vec::new();
    }
    // Stratify: deal each label's examples round-robin over the folds.
    let mut fold_of = vec![0usize; data.len()];
    let mut seen_per_label: Vec<usize> = Vec::new();
    let mut rng = Rng::new(0xF01D);
    let mut order: Vec<usize> = (0..data.len()).collect();
    rng.shuffle(&mut order);
    for &i in &order {
        let slot = data[i].1.map_or(0, |l| l + 1);
        if seen_per_label.len() <= slot {
            seen_per_label.resize(slot + 1, 0);
        }
        fold_of[i] = seen_per_label[slot] % folds;
        seen_per_label[slot] += 1;
    }
    (0..runs)
        .map(|fold| (0..data.len()).partition(|&i| fold_of[i] != fold))
        .collect()
}

/// Trains the dense weights by averaged SGD, then prunes and quantizes them.
fn fit(
    labels: &[String],
    data: &[Encoded],
    options: &TrainOptions,
    tracker: &mut Tracker<'_>,
) -> IntentClassifier {
    let n = labels.len();
    let in_scope: Vec<&Encoded> = data.iter().filter(|(_, l)| l.is_some()).collect();
    let mut vocabulary: Vec<FeatureId> = in_scope
        .iter()
        .flat_map(|(groups, _)| groups[..features::SCORED_GROUPS].iter().flatten().copied())
        .collect();
    vocabulary.sort_unstable();
    // Inverse document frequency: rare features weigh more (as in TF-IDF).
    let mut idf = Vec::new();
    let mut i = 0;
    while i < vocabulary.len() {
        let run = vocabulary[i..]
            .iter()
            .take_while(|&&f| f == vocabulary[i])
            .count();
        idf.push(inverse_frequency(run, in_scope.len()));
        i += run;
    }
    vocabulary.dedup();
    let unknown_idf = inverse_frequency(0, in_scope.len());
    let rows: Vec<Vec<(usize, f32)>> = in_scope
        .iter()
        .map(|(groups, _)| {
            features::weigh(&groups[..features::SCORED_GROUPS], |f| {
                vocabulary.binary_search(&f).map_or(unknown_idf, |r| idf[r])
            })
            .into_iter()
            .filter_map(|(id, value)| Some((vocabulary.binary_search(&id).ok()?, value)))
            .collect()
        })
        .collect();
    // One intent alone gives a softmax nothing to weigh it against (every text would be that
    // intent), so it is trained against a background class of featureless examples, one per
    // example: an utterance is the intent as far as its features speak for it.
    let background = n == 1;
    let classes = if background { 2 } else { n };
    let examples = if background {
        2 * in_scope.len()
    } else {
        in_scope.len()
    };
    let mut trainer = Trainer {
        n: classes,
        weights: vec![0.0; vocabulary.len() * classes],
        bias: vec![0.0; classes],
        // Averaged SGD: `sum_*` accumulates step-weighted updates so the average is w - sum/t.
        sum_weights: vec![0.0; vocabulary.len() * classes],
        sum_bias: vec![0.0; classes],
        step: 1.0,
        scores: vec![0.0; classes],
        active: Vec::with_capacity(classes),
    };
    let mut order: Vec<usize> = (0..examples).collect();
    let mut rng = Rng::new(options.seed);
    let total_steps = (options.epochs * examples).max(1) as f32;
    for _ in 0..options.epochs {
        rng.shuffle(&mut order);
        for &i in &order {
            let progress = (trainer.step - 1.0) / total_steps;
            let lr = options.learning_rate * (1.0 - progress).max(0.05);
            match in_scope.get(i) {
                Some((_, label)) => trainer.update(&rows[i], label.unwrap_or(0), lr),
                None => trainer.update(&[], 1, lr),
            }
        }
        tracker.advance(data.len());
    }
    let (mut weights, mut bias) = trainer.averaged();
    if background {
        // Keep the intent's log-odds against the background: its weights minus the background's.
        weights = weights.chunks(2).map(|w| w[0] - w[1]).collect();
        bias = vec![bias[0] - bias[1]];
    }
    compress(
        labels.to_vec(),
        vocabulary,
        &idf,
        unknown_idf,
        &weights,
        bias,
        options,
    )
}

/// Smoothed inverse document frequency, quantized as the model stores it.
fn inverse_frequency(documents_with: usize, documents: usize) -> f32 {
    let idf = numeric::ln((1 + documents) as f32 / (1 + documents_with) as f32) + 1.0;
    dequantize_idf(quantize_idf(idf))
}

const IDF_STEP: f32 = 0.05;

fn quantize_idf(idf: f32) -> u8 {
    ((idf - 1.0) / IDF_STEP).round().clamp(0.0, 255.0) as u8
}

fn dequantize_idf(q: u8) -> f32 {
    1.0 + f32::from(q) * IDF_STEP
}

/// The dense model during training.
struct Trainer {
    n: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
    sum_weights: Vec<f32>,
    sum_bias: Vec<f32>,
    step: f32,
    scores: Vec<f32>,
    active: Vec<(usize, f32)>,
}

impl Trainer {
    fn update(&mut self, rows: &[(usize, f32)], label: usize, lr: f32) {
        let n = self.n;
        self.scores.copy_from_slice(&self.bias);
        for &(row, value) in rows {
            for (s, w) in self
                .scores
                .iter_mut()
                .zip(&self.weights[row * n..(row + 1) * n])
            {
                *s += w * value;
            }
        }
        numeric::softmax(&mut self.scores);
        self.scores[label] -= 1.0;
        let t = self.step;
        self.active.clear();
        for (k, &g) in self.scores.iter().enumerate() {
            // Classes the model already rules out get no update: this keeps a step cheap with
            // many intents, and changes nothing measurable.
            if g.abs() >= 1e-3 {
                let delta = -lr * g;
                self.bias[k] += delta * 0.1;
                self.sum_bias[k] += t * delta * 0.1;
                self.active.push((k, delta));
            }
        }
        for &(row, value) in rows {
            let weights = &mut self.weights[row * n..(row + 1) * n];
            let sums = &mut self.sum_weights[row * n..(row + 1) * n];
            for &(k, delta) in &self.active {
                let d = delta * value;
                weights[k] += d;
                sums[k] += t * d;
            }
        }
        self.step += 1.0;
    }

    fn averaged(self) -> (Vec<f32>, Vec<f32>) {
        let t = self.step;
        let average = |w: Vec<f32>, sum: Vec<f32>| -> Vec<f32> {
            w.iter().zip(&sum).map(|(w, s)| w - s / t).collect()
        };
        (
            average(self.weights, self.sum_weights),
            average(self.bias, self.sum_bias),
        )
    }
}

/// Drops small weights (at most `max_weights` are kept) and quantizes the rest to 8 bits.
fn compress(
    labels: Vec<String>,
    vocabulary: Vec<FeatureId>,
    vocabulary_idf: &[f32],
    unknown_idf: f32,
    dense: &[f32],
    bias: Vec<f32>,
    options: &TrainOptions,
) -> IntentClassifier {
    let (table, origin) = SparseTable::compress(
        labels.len(),
        &vocabulary,
        dense,
        options.max_weights,
        options.prune_below,
    );
    IntentClassifier {
        labels,
        table,
        idf: origin.iter().map(|&row| vocabulary_idf[row]).collect(),
        unknown_idf,
        bias,
        temperature: 1.0,
        coverage_power: 1.0,
        threshold: 0.0,
    }
}

/// Fits the temperature and the threshold on held-out scores.
fn finish(mut classifier: IntentClassifier, held_out: &[HeldOut]) -> IntentClassifier {
    classifier.temperature = fit_temperature(held_out);
    // How hard unfamiliar words pull confidence down: with out-of-scope examples, whichever
    // separates them best; without, proportionally.
    let mut best: Option<(f32, f32, f32)> = None;
    for power in COVERAGE_POWERS {
        let confidences: Vec<(f32, bool, bool)> = held_out
            .iter()
            .map(|(scores, label)| {
                let Some((scores, coverage)) = scores else {
                    return (0.0, false, label.is_none());
                };
                let p = in_scope_probabilities(scores, *coverage, classifier.temperature, power);
                let best = argmax(&p);
                (p[best], Some(best) == *label, label.is_none())
            })
            .collect();
        let (threshold, objective) = pick_threshold(classifier.labels.len(), &confidences);
        // Without out-of-scope examples there is nothing to compare on: the middle setting, or
        // none for a single intent, whose probability already weighs its evidence against the
        // background (and whose threshold, a half, is that balance).
        let default_power = if classifier.labels.len() == 1 {
            0.0
        } else {
            1.0
        };
        let objective = objective.unwrap_or(if power == default_power { 1.0 } else { 0.0 });
        // A stronger pull must earn its place: at least a point better on held-out data.
        if best.is_none_or(|b| objective > b.0 + 0.01) {
            best = Some((objective, power, threshold));
        }
    }
    if let Some((_, power, threshold)) = best {
        classifier.coverage_power = power;
        classifier.threshold = threshold;
    }
    classifier
}

/// Candidate exponents of the coverage penalty.
const COVERAGE_POWERS: [f32; 3] = [0.0, 1.0, 2.0];

fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (k, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = k;
        }
    }
    best
}

/// The temperature that minimizes the negative log-likelihood of the held-out in-scope labels,
/// searched on a log grid (a 1-D convex problem; a grid is exact enough and deterministic).
fn fit_temperature(held_out: &[HeldOut]) -> f32 {
    let usable: Vec<(&Vec<f32>, usize)> = held_out
        .iter()
        .filter_map(|(s, l)| Some((&s.as_ref()?.0, (*l)?)))
        .collect();
    // Fewer held-out answers than this make the fit noise: keep the raw probabilities.
    if usable.len() < 200 {
        return 1.0;
    }
    let loss = |t: f32| -> f32 {
        let mut total = 0.0;
        for (scores, label) in &usable {
            let p = calibrated(scores, t);
            total -= numeric::ln(p[*label].max(1e-12));
        }
        total
    };
    // Golden-section search on log(t) over [0.5, 5]: the loss is unimodal in t.
    let (mut low, mut high) = (numeric::ln(0.5), numeric::ln(5.0));
    let ratio = 0.618_034f32;
    let mut a = high - ratio * (high - low);
    let mut b = low + ratio * (high - low);
    let (mut loss_a, mut loss_b) = (loss(numeric::exp(a)), loss(numeric::exp(b)));
    for _ in 0..20 {
        if loss_a <= loss_b {
            high = b;
            b = a;
            loss_b = loss_a;
            a = high - ratio * (high - low);
            loss_a = loss(numeric::exp(a));
        } else {
            low = a;
            a = b;
            loss_a = loss_b;
            b = low + ratio * (high - low);
            loss_b = loss(numeric::exp(b));
        }
    }
    numeric::exp((low + high) / 2.0)
}

/// Picks the out-of-scope threshold from held-out `(confidence, correct, out_of_scope)` triples.
/// With out-of-scope examples (and enough data): the threshold that maximizes in-scope accuracy
/// plus out-of-scope recall. Otherwise: low enough to keep 95% of correct answers, above chance,
/// at most 0.5.
fn pick_threshold(labels: usize, held_out: &[(f32, bool, bool)]) -> (f32, Option<f32>) {
    let chance = 1.0 / labels.max(1) as f32;
    // Confidence is scaled by familiarity, so the floor sits below chance.
    let floor = (0.5 * chance).min(0.5);
    let in_scope = held_out.iter().filter(|h| !h.2).count();
    let out_of_scope = held_out.len() - in_scope;
    // Out-of-scope examples decide only when there are enough held-out answers to trust.
    if out_of_scope > 0 && in_scope >= 100 {
        // Never reject more than a fifth of the answers held-out data got right: a handful of
        // out-of-scope examples that look in scope must not make the bot refuse everything.
        let mut correct: Vec<f32> = held_out.iter().filter(|h| h.1).map(|h| h.0).collect();
        correct.sort_by(f32::total_cmp);
        let ceiling = correct.get(correct.len() / 5).copied().unwrap_or(floor);
        let mut candidates: Vec<f32> = held_out
            .iter()
            .map(|h| h.0)
            .filter(|&c| c <= ceiling)
            .collect();
        candidates.push(floor.min(ceiling));
        candidates.sort_by(f32::total_cmp);
        candidates.dedup();
        let mut best = (f32::NEG_INFINITY, floor);
        for &t in &candidates {
            let accepted_correct = held_out.iter().filter(|h| h.1 && h.0 >= t).count();
            let rejected_oos = held_out.iter().filter(|h| h.2 && h.0 < t).count();
            let objective = accepted_correct as f32 / in_scope as f32
                + rejected_oos as f32 / out_of_scope as f32;
            if objective > best.0 + 1e-6 {
                best = (objective, t);
            }
        }
        return (best.1, Some(best.0));
    }
    let mut correct: Vec<f32> = held_out.iter().filter(|h| h.1).map(|h| h.0).collect();
    if correct.len() < 4 {
        // Too little data: halfway between chance and 0.5.
        return (((chance + 0.5) / 2.0).max(floor).min(0.5), None);
    }
    correct.sort_by(f32::total_cmp);
    (correct[correct.len() / 20].clamp(floor, 0.5), None)
}

/// The classifier as stored; the idf values are quantized to a byte.
#[derive(Serialize)]
struct StoredClassifier {
    labels: Vec<String>,
    table: SparseTable,
    idf: Vec<u8>,
    unknown_idf: u8,
    bias: Vec<f32>,
    temperature: f32,
    coverage_power: f32,
    threshold: f32,
}

impl From<IntentClassifier> for StoredClassifier {
    fn from(c: IntentClassifier) -> StoredClassifier {
        StoredClassifier {
            labels: c.labels,
            table: c.table,
            idf: c.idf.iter().map(|&v| quantize_idf(v)).collect(),
            unknown_idf: quantize_idf(c.unknown_idf),
            bias: c.bias,
            temperature: c.temperature,
            coverage_power: c.coverage_power,
            threshold: c.threshold,
        }
    }
}

decode_fields!(StoredClassifier {
    labels,
    table,
    idf,
    unknown_idf,
    bias,
    temperature,
    coverage_power,
    threshold,
});

impl Decode for IntentClassifier {
    fn decode(r: &mut Reader<'_>) -> IntentClassifier {
        IntentClassifier::try_from(r.read::<StoredClassifier>()).unwrap_or_else(|reason| {
            r.fail(Fault::Table(reason));
            // Never used: the reader's fault fails the model's loading.
            IntentClassifier {
                labels: Vec::new(),
                table: SparseTable::default(),
                idf: Vec::new(),
                unknown_idf: 0.0,
                bias: Vec::new(),
                temperature: 1.0,
                coverage_power: 0.0,
                threshold: 0.0,
            }
        })
    }
}

impl TryFrom<StoredClassifier> for IntentClassifier {
    type Error = String;

    /// Checks every invariant that `predict` relies on.
    fn try_from(s: StoredClassifier) -> Result<IntentClassifier, String> {
        let n = s.labels.len();
        if n == 0 || s.table.columns() != n || s.bias.len() != n {
            return Err("the classifier's tables do not match its intents".to_owned());
        }
        if s.idf.len() != s.table.len() {
            return Err("the idf table does not match the features".to_owned());
        }
        let valid = s.bias.iter().all(|b| b.is_finite())
            && s.temperature.is_finite()
            && s.temperature > 0.0
            && COVERAGE_POWERS.contains(&s.coverage_power)
            && s.threshold.is_finite();
        if !valid {
            return Err("the model holds an invalid number".to_owned());
        }
        Ok(IntentClassifier {
            labels: s.labels,
            table: s.table,
            idf: s.idf.iter().map(|&q| dequantize_idf(q)).collect(),
            unknown_idf: dequantize_idf(s.unknown_idf),
            bias: s.bias,
            temperature: s.temperature,
            coverage_power: s.coverage_power,
            threshold: s.threshold,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy_data() -> (Vec<String>, Vec<Example>) {
        let data = [
            (
                "greet",
                &["你好", "您好", "hello", "hi there", "早上好", "hey"][..],
            ),
            (
                "refund",
                &[
                    "我要退货",
                    "怎么退款",
                    "申请退货",
                    "refund please",
                    "I want my money back",
                    "退钱",
                ][..],
            ),
            (
                "shipping",
                &[
                    "什么时候发货",
                    "多久能到",
                    "快递到哪了",
                    "when will it ship",
                    "shipping time",
                    "物流信息",
                ][..],
            ),
        ];
        let labels = data.iter().map(|(l, _)| (*l).to_owned()).collect();
        let examples = data
            .iter()
            .enumerate()
            .flat_map(|(label, (_, texts))| {
                texts.iter().map(move |t| Example {
                    text: (*t).to_owned(),
                    label: Some(label),
                })
            })
            .collect();
        (labels, examples)
    }

    fn toy() -> IntentClassifier {
        let (labels, examples) = toy_data();
        IntentClassifier::train(
            labels,
            &examples,
            None,
            &TrainOptions::default(),
            &mut |_| {},
        )
    }

    #[test]
    fn learns_unseen_paraphrases() {
        let model = toy();
        assert_eq!(model.predict("你好呀").intent, Some("greet"));
        assert_eq!(model.predict("我想退货").intent, Some("refund"));
        assert_eq!(model.predict("快递什么时候到").intent, Some("shipping"));
        assert_eq!(model.predict("when does it ship?").intent, Some("shipping"));
    }

    #[test]
    fn unknown_text_is_out_of_scope() {
        let model = toy();
        for text in ["", "   ", "🙂", "qwertyuiop zxcvb"] {
            assert_eq!(model.predict(text).intent, None, "{text:?}");
        }
    }

    #[test]
    fn a_single_intent_is_recognized_and_unrelated_text_is_not() {
        // Its examples only: the refund intent of the toy bot, alone.
        let (_, examples) = toy_data();
        let refund: Vec<Example> = examples
            .into_iter()
            .filter(|e| e.label == Some(1))
            .map(|e| Example {
                label: Some(0),
                ..e
            })
            .collect();
        let model = IntentClassifier::train(
            vec!["refund".to_owned()],
            &refund,
            None,
            &TrainOptions::default(),
            &mut |_| {},
        );
        assert!(model.weight_count() > 0);
        for text in ["我想退货", "refund", "I want a refund please"] {
            let p = model.predict(text);
            assert_eq!(p.intent, Some("refund"), "{text:?}: {p:?}");
            assert!(p.confidence < 1.0, "{text:?}: {p:?}");
        }
        for text in ["what is the weather like", "今天天气怎么样", "🙂"] {
            assert_eq!(model.predict(text).intent, None, "{text:?}");
        }
    }

    #[test]
    fn familiarity_pulls_confidence_by_the_chosen_power() {
        let scores = [2.0, 0.0];
        let raw = calibrated(&scores, 1.0)[0];
        for (power, pull) in [(0.0, 1.0), (1.0, 0.5), (2.0, 0.25)] {
            let p = in_scope_probabilities(&scores, 0.5, 1.0, power)[0];
            assert!((p - raw * pull).abs() < 1e-6, "power {power}: {p} vs {raw}");
        }
    }

    #[test]
    fn order_keys_order_as_total_cmp() {
        let values = [
            f32::NEG_INFINITY,
            -1.0,
            -1e-45,
            -0.0,
            0.0,
            1e-45,
            1e-38,
            0.5,
            0.500_000_06,
            1.0,
            f32::MAX,
            f32::INFINITY,
            f32::NAN,
            -f32::NAN,
        ];
        for a in values {
            for b in values {
                assert_eq!(
                    total_order_key(a).cmp(&total_order_key(b)),
                    a.total_cmp(&b),
                    "{a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn ranking_is_a_distribution_best_first() {
        let model = toy();
        let p = model.predict("退款");
        let sum: f32 = p.ranking.iter().map(|s| s.confidence).sum();
        assert!((sum - 1.0).abs() < 1e-4, "{sum}");
        assert!(
            p.ranking
                .windows(2)
                .all(|w| w[0].confidence >= w[1].confidence)
        );
        assert_eq!(p.confidence, p.ranking[0].confidence);
        assert_eq!(p.best, Some(p.ranking[0].intent));
    }

    #[test]
    fn training_is_deterministic_and_reports_progress() {
        let (labels, examples) = toy_data();
        let mut last = None;
        let model = IntentClassifier::train(
            labels,
            &examples,
            None,
            &TrainOptions::default(),
            &mut |p| last = Some(p),
        );
        let last = last.expect("progress was reported");
        assert_eq!(last.done, last.total);
        assert_eq!(model, toy());
    }

    #[test]
    fn out_of_scope_examples_move_the_threshold() {
        // Enough data for held-out out-of-scope examples to count: 3 intents × 60 phrasings.
        let parts: [(&[&str], &[&str]); 3] = [
            (
                &["hello", "hi", "hey", "你好", "您好", "早上好"],
                &[
                    "there", "friend", "朋友", "呀", "everyone", "啊", "bot", "哈", "team", "大家",
                ],
            ),
            (
                &["refund", "退货", "退款", "return", "money back", "退钱"],
                &[
                    "please",
                    "now",
                    "我的订单",
                    "my order",
                    "怎么办",
                    "today",
                    "马上",
                    "asap",
                    "this item",
                    "可以吗",
                ],
            ),
            (
                &[
                    "shipping",
                    "发货",
                    "快递",
                    "delivery",
                    "物流",
                    "when will it ship",
                ],
                &[
                    "time",
                    "多久",
                    "status",
                    "到哪了",
                    "tracking",
                    "进度",
                    "date",
                    "什么时候",
                    "update",
                    "查询",
                ],
            ),
        ];
        let labels = vec![
            "greet".to_owned(),
            "refund".to_owned(),
            "shipping".to_owned(),
        ];
        let mut examples = Vec::new();
        for (label, (heads, tails)) in parts.iter().enumerate() {
            for head in *heads {
                for tail in *tails {
                    examples.push(Example {
                        text: format!("{head} {tail}"),
                        label: Some(label),
                    });
                }
            }
        }
        let options = TrainOptions::default();
        let base = IntentClassifier::train(labels.clone(), &examples, None, &options, &mut |_| {});
        for topic in [
            "天气",
            "weather",
            "笑话",
            "joke",
            "你是谁",
            "who are you",
            "sing",
            "唱歌",
        ] {
            for tail in ["please", "今天", "怎么样", "now", "吗"] {
                examples.push(Example {
                    text: format!("{topic} {tail}"),
                    label: None,
                });
            }
        }
        let with_oos = IntentClassifier::train(labels, &examples, None, &options, &mut |_| {});
        assert_ne!(base.threshold(), with_oos.threshold());
        assert_eq!(with_oos.predict("退货 please").intent, Some("refund"));
        assert_eq!(with_oos.predict("讲个笑话吧").intent, None);
    }

    #[test]
    fn budget_limits_the_weights() {
        let (labels, examples) = toy_data();
        let options = TrainOptions {
            max_weights: 40,
            ..TrainOptions::default()
        };
        let small = IntentClassifier::train(labels, &examples, None, &options, &mut |_| {});
        assert!(small.weight_count() <= 40, "{}", small.weight_count());
        assert!(small.weight_count() < toy().weight_count());
    }

    #[test]
    fn stored_form_round_trips() {
        let model = toy();
        assert_eq!(crate::postcard_reader::round_trip(&model), model);
    }
}
