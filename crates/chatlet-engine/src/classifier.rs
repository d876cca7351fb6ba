//! The intent classifier: multinomial logistic regression over hashed sparse features,
//! trained by deterministic SGD, with an out-of-scope threshold picked by cross-validation.

use crate::features::{self, FeatureId};
use crate::text;
use serde::{Deserialize, Serialize};

/// Training settings. `Default` is the one configuration used for every bot.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Seed for the shuffling RNG; the same seed and data give the same model.
    pub seed: u64,
    /// Passes over the training data.
    pub epochs: usize,
    /// Initial learning rate.
    pub learning_rate: f32,
    /// L2 penalty applied to the weights an example touches.
    pub l2: f32,
    /// Number of cross-validation folds used to pick the out-of-scope threshold.
    pub folds: usize,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            seed: 0x00c4_a71e,
            epochs: 30,
            learning_rate: 0.5,
            l2: 1e-5,
            folds: 4,
        }
    }
}

/// A labelled training utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The utterance.
    pub text: String,
    /// Index into the classifier's labels.
    pub label: usize,
}

/// A trained classifier. Serialized inside the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentClassifier {
    labels: Vec<String>,
    /// Sorted, unique: the row index of a feature is its position here.
    features: Vec<FeatureId>,
    /// `features.len()` rows of `labels.len()` weights.
    weights: Vec<f32>,
    bias: Vec<f32>,
    /// Below this top probability the utterance is out of scope.
    threshold: f32,
}

/// One intent and its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored<'a> {
    /// The intent's name.
    pub intent: &'a str,
    /// Its probability, between 0 and 1.
    pub confidence: f32,
}

/// What the classifier thinks of one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction<'a> {
    /// The recognized intent, or `None` when the utterance is out of scope.
    pub intent: Option<&'a str>,
    /// The top probability (of the best intent, even when rejected).
    pub confidence: f32,
    /// All intents, most likely first.
    pub ranking: Vec<Scored<'a>>,
}

/// A small deterministic RNG (xorshift64*): the engine uses no global randomness.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

impl IntentClassifier {
    /// Trains on `examples`; `labels[example.label]` names each example's intent.
    /// Needs at least two labels to pick a threshold by cross-validation; with one, the threshold is 0.5.
    pub fn train(
        labels: Vec<String>,
        examples: &[Example],
        options: &TrainOptions,
    ) -> IntentClassifier {
        let encoded: Vec<(Vec<FeatureId>, usize)> = examples
            .iter()
            .map(|e| (features::extract(&text::tokenize(&e.text)), e.label))
            .collect();
        let mut classifier = fit(labels, &encoded, options);
        classifier.threshold = pick_threshold(&classifier.labels, &encoded, options);
        classifier
    }

    /// The intent names, in model order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The out-of-scope threshold on the top probability.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Number of distinct features the model knows.
    pub fn feature_count(&self) -> usize {
        self.features.len()
    }

    /// Classifies one utterance. Never panics; empty or unknown text is out of scope.
    pub fn predict(&self, utterance: &str) -> Prediction<'_> {
        let probabilities = self.probabilities(&features::extract(&text::tokenize(utterance)));
        let mut ranking: Vec<Scored<'_>> = self
            .labels
            .iter()
            .zip(&probabilities)
            .map(|(intent, &confidence)| Scored { intent, confidence })
            .collect();
        // Stable sort: ties keep model order, so results are deterministic.
        ranking.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        let (intent, confidence) = match ranking.first() {
            Some(best) if best.confidence >= self.threshold && best.confidence > 0.0 => {
                (Some(best.intent), best.confidence)
            }
            Some(best) => (None, best.confidence),
            None => (None, 0.0),
        };
        Prediction {
            intent,
            confidence,
            ranking,
        }
    }

    /// Checks the shape invariants that `predict` indexes by.
    pub(crate) fn check_shape(&self) -> Result<(), String> {
        let n = self.labels.len();
        if n == 0 {
            return Err("the classifier has no intents".to_owned());
        }
        if self.bias.len() != n || Some(self.weights.len()) != self.features.len().checked_mul(n) {
            return Err("the weight table does not match the intents and features".to_owned());
        }
        if !self.features.windows(2).all(|w| w[0] < w[1]) {
            return Err("the feature table is not sorted".to_owned());
        }
        if !self.threshold.is_finite()
            || self
                .weights
                .iter()
                .chain(&self.bias)
                .any(|w| !w.is_finite())
        {
            return Err("the model holds a non-finite number".to_owned());
        }
        Ok(())
    }

    /// Softmax probabilities; all zero when none of the features is known.
    fn probabilities(&self, features: &[FeatureId]) -> Vec<f32> {
        let n = self.labels.len();
        let mut scores = self.bias.clone();
        let mut known = 0usize;
        // Unknown features count in the scale too: text that is mostly unfamiliar gets flatter scores.
        let scale = 1.0 / (features.len().max(1) as f32).sqrt();
        for feature in features {
            if let Ok(row) = self.features.binary_search(feature) {
                known += 1;
                for (score, w) in scores.iter_mut().zip(&self.weights[row * n..(row + 1) * n]) {
                    *score += w * scale;
                }
            }
        }
        if known == 0 {
            return vec![0.0; n];
        }
        softmax(&mut scores);
        scores
    }
}

fn softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    for s in scores.iter_mut() {
        *s /= sum;
    }
}

/// Plain training with threshold 0.
fn fit(
    labels: Vec<String>,
    data: &[(Vec<FeatureId>, usize)],
    options: &TrainOptions,
) -> IntentClassifier {
    let n = labels.len();
    let mut vocabulary: Vec<FeatureId> = data.iter().flat_map(|(f, _)| f.iter().copied()).collect();
    vocabulary.sort_unstable();
    vocabulary.dedup();
    let rows: Vec<Vec<usize>> = data
        .iter()
        .map(|(f, _)| {
            f.iter()
                .filter_map(|id| vocabulary.binary_search(id).ok())
                .collect()
        })
        .collect();
    let mut weights = vec![0.0f32; vocabulary.len() * n];
    let mut bias = vec![0.0f32; n];
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut rng = Rng::new(options.seed);
    let total_steps = (options.epochs * data.len()).max(1) as f32;
    let mut step = 0usize;
    let mut scores = vec![0.0f32; n];
    for _ in 0..options.epochs {
        rng.shuffle(&mut order);
        for &i in &order {
            let (row_ids, label) = (&rows[i], data[i].1);
            let scale = 1.0 / (data[i].0.len().max(1) as f32).sqrt();
            scores.copy_from_slice(&bias);
            for &row in row_ids {
                for (s, w) in scores.iter_mut().zip(&weights[row * n..(row + 1) * n]) {
                    *s += w * scale;
                }
            }
            softmax(&mut scores);
            let lr = options.learning_rate * (1.0 - step as f32 / total_steps).max(0.05);
            step += 1;
            for (k, s) in scores.iter_mut().enumerate() {
                // Gradient of the cross-entropy with respect to the score of class k.
                *s -= if k == label { 1.0 } else { 0.0 };
                bias[k] -= lr * *s * 0.1;
            }
            for &row in row_ids {
                for (w, g) in weights[row * n..(row + 1) * n].iter_mut().zip(&scores) {
                    *w -= lr * (g * scale + options.l2 * *w);
                }
            }
        }
    }
    IntentClassifier {
        labels,
        features: vocabulary,
        weights,
        bias,
        threshold: 0.0,
    }
}

/// Picks the out-of-scope threshold from held-out predictions: low enough to accept nearly all
/// correctly classified in-scope utterances, but well above chance.
fn pick_threshold(
    labels: &[String],
    data: &[(Vec<FeatureId>, usize)],
    options: &TrainOptions,
) -> f32 {
    let chance = 1.0 / labels.len().max(1) as f32;
    let floor = (1.5 * chance).min(0.5);
    if labels.len() < 2 || data.len() < 2 * options.folds {
        // Too little data to cross-validate: halfway between chance and 0.5.
        let halfway = (chance + 0.5) / 2.0;
        return halfway.max(floor).min(0.5);
    }
    let mut shuffled: Vec<usize> = (0..data.len()).collect();
    Rng::new(options.seed ^ 0xF01D).shuffle(&mut shuffled);
    let mut correct_confidences = Vec::new();
    for fold in 0..options.folds {
        let (held_out, train): (Vec<usize>, Vec<usize>) =
            shuffled.iter().partition(|&&i| i % options.folds == fold);
        let train_data: Vec<_> = train.iter().map(|&i| data[i].clone()).collect();
        let model = fit(labels.to_vec(), &train_data, options);
        for &i in &held_out {
            let p = model.probabilities(&data[i].0);
            let (best, confidence) =
                p.iter().enumerate().fold(
                    (0, 0.0f32),
                    |acc, (k, &v)| if v > acc.1 { (k, v) } else { acc },
                );
            if best == data[i].1 && confidence > 0.0 {
                correct_confidences.push(confidence);
            }
        }
    }
    if correct_confidences.is_empty() {
        return floor;
    }
    correct_confidences.sort_by(f32::total_cmp);
    let tenth_percentile = correct_confidences[correct_confidences.len() / 10];
    tenth_percentile.clamp(floor, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> IntentClassifier {
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
        let examples: Vec<Example> = data
            .iter()
            .enumerate()
            .flat_map(|(label, (_, texts))| {
                texts.iter().map(move |t| Example {
                    text: (*t).to_owned(),
                    label,
                })
            })
            .collect();
        IntentClassifier::train(labels, &examples, &TrainOptions::default())
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
    }

    #[test]
    fn training_is_deterministic() {
        assert_eq!(toy(), toy());
    }
}
