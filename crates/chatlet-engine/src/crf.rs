//! The slot tagger's second trainer: a linear-chain CRF fitted by SGD to the L2-regularized
//! log-likelihood, with forward-backward under the BIO constraint. It works on the perceptron's
//! features and tags, so that the two models' weights can be mixed (see `slot_tagger`).

use crate::numeric::{self, Rng};

/// One training sentence: for each token the rows of its features, and the gold tags.
pub(crate) type Encoded = (Vec<Vec<usize>>, Vec<usize>);

/// Training settings.
pub(crate) struct CrfOptions {
    /// Passes over the data.
    pub(crate) epochs: usize,
    /// The L2 penalty of the whole data set (crfsuite's `c2`; one sentence's step shrinks the
    /// weights by `rate * 2 * l2 / sentences`).
    pub(crate) l2: f64,
    /// The first step's size; step `t` is `rate / (1 + rate * penalty * t)`.
    pub(crate) learning_rate: f64,
}

/// True when tag `to` may follow tag `from` (`from == tags` is the sentence start): an `I-x`
/// (even, non-zero) only continues its own `B-x` or `I-x`.
pub(crate) fn allowed(from: usize, to: usize, tags: usize) -> bool {
    if to == 0 || to % 2 == 1 {
        return true;
    }
    from < tags && (from == to - 1 || from == to)
}

/// The tags that may precede `to` inside a sentence: all of them, or an `I` tag's own two.
fn predecessors(to: usize, tags: usize) -> std::ops::Range<usize> {
    if to == 0 || to % 2 == 1 {
        0..tags
    } else {
        to - 1..to + 1
    }
}

/// The tag that follows `from` in the same entity (`I-x` after `B-x` or `I-x`), if any.
pub(crate) fn continuation(from: usize) -> Option<usize> {
    match from {
        0 => None,
        odd if odd % 2 == 1 => Some(odd + 1),
        even => Some(even),
    }
}

/// `O` and the `B` tags, the tags any tag may move to.
pub(crate) fn openings(tags: usize) -> impl Iterator<Item = usize> {
    std::iter::once(0).chain((1..tags).step_by(2))
}

/// Trains on the sentences; returns the emission weights (`features × tags`, row-major) and the
/// transition weights (`(tags + 1) × tags`, the last row for the sentence start).
pub(crate) fn train(
    sentences: &[Encoded],
    features: usize,
    tags: usize,
    options: &CrfOptions,
    rng: &mut Rng,
    progress: &mut dyn FnMut(),
) -> (Vec<f32>, Vec<f32>) {
    let penalty = 2.0 * options.l2 / sentences.len().max(1) as f64;
    // The emission weights are `scale * stored`: shrinking all of them at every step then
    // costs one multiplication instead of a pass over millions of weights. Stored in f32: the
    // rows are read from all over the table, and reading them is most of the time.
    let mut stored = vec![0.0f32; features * tags];
    let mut scale = 1.0f64;
    let mut transitions = vec![0.0f64; (tags + 1) * tags];
    // On large data sets the transitions are updated once per batch of sentences, with the
    // batch's summed gradient: they are few and seen in every sentence, and recomputing their
    // exponentials after each sentence was about a quarter of the training time.
    let batch = (sentences.len() / 1000).clamp(1, 16);
    let mut pending = vec![0.0f64; (tags + 1) * tags];
    let mut pending_shrink = 1.0f64;
    let mut in_batch = 0;
    let mut lattice = Lattice::new(tags);
    lattice.set_transitions(&transitions);
    let mut emissions = Vec::new();
    let mut row_sum = Vec::new();
    let mut order: Vec<usize> = (0..sentences.len()).collect();
    let mut step = 0.0f64;
    for _ in 0..options.epochs {
        rng.shuffle(&mut order);
        for &s in &order {
            let (rows, gold) = &sentences[s];
            if rows.is_empty() {
                continue;
            }
            let rate = options.learning_rate / (1.0 + options.learning_rate * penalty * step);
            step += 1.0;
            emissions.clear();
            for features in rows {
                row_sum.clear();
                row_sum.resize(tags, 0.0f32);
                for &row in features {
                    for (score, w) in row_sum
                        .iter_mut()
                        .zip(&stored[row * tags..(row + 1) * tags])
                    {
                        *score += w;
                    }
                }
                emissions.extend(row_sum.iter().map(|&w| f64::from(w) * scale));
            }
            lattice.run(&emissions);
            let shrink = 1.0 - rate * penalty;
            scale *= shrink;
            pending_shrink *= shrink;
            if scale < 1e-6 {
                for w in &mut stored {
                    *w = (f64::from(*w) * scale) as f32;
                }
                scale = 1.0;
            }
            // The log-likelihood's gradient: the gold counts minus the expected ones.
            for (i, (features, &gold)) in rows.iter().zip(gold).enumerate() {
                for (tag, p) in lattice.marginals(i).enumerate() {
                    let gradient = f64::from(u8::from(gold == tag)) - p;
                    // Most tags are all but ruled out; their updates would change nothing.
                    if gradient.abs() < 1e-6 {
                        continue;
                    }
                    let delta = (rate * gradient / scale) as f32;
                    for &row in features {
                        stored[row * tags + tag] += delta;
                    }
                }
            }
            let mut previous = tags;
            for &tag in gold {
                pending[previous * tags + tag] += rate;
                previous = tag;
            }
            lattice.add_expected_transitions(-rate);
            in_batch += 1;
            if in_batch == batch {
                lattice.take_expected_transitions(&mut pending);
                apply(&mut transitions, &mut pending, &mut pending_shrink);
                lattice.set_transitions(&transitions);
                in_batch = 0;
            }
        }
        progress();
    }
    lattice.take_expected_transitions(&mut pending);
    apply(&mut transitions, &mut pending, &mut pending_shrink);
    (
        stored
            .iter()
            .map(|&w| (f64::from(w) * scale) as f32)
            .collect(),
        transitions.iter().map(|&w| w as f32).collect(),
    )
}

/// Shrinks the transitions by a batch's shrinking and adds its gradient steps; resets both.
fn apply(transitions: &mut [f64], pending: &mut [f64], shrink: &mut f64) {
    for (w, step) in transitions.iter_mut().zip(pending.iter_mut()) {
        *w = *w * *shrink + *step;
        *step = 0.0;
    }
    *shrink = 1.0;
}

/// Forward-backward over one sentence, in probability space with every position normalized
/// (so nothing overflows and no logarithms are needed).
struct Lattice {
    tags: usize,
    len: usize,
    /// `exp(emission - the position's largest)`, `len × tags`.
    potentials: Vec<f64>,
    /// 1 where a move is allowed, 0 where not: `(tags + 1) × tags`.
    open: Vec<f32>,
    /// Room for a batch of exponentials.
    exponentials: Vec<f32>,
    /// `exp(transition)`, zero where the move is not allowed: `(tags + 1) × tags`.
    moves: Vec<f64>,
    /// The inner moves transposed (`to × from`), for the forward pass's dot products.
    moves_into: Vec<f64>,
    /// Forward messages, each position summing to one.
    alpha: Vec<f64>,
    /// Backward messages, scaled by the forward pass's sums.
    beta: Vec<f64>,
    /// The forward pass's sum at each position before it was normalized.
    sums: Vec<f64>,
    /// `potentials * beta / sums` of one position.
    ahead: Vec<f64>,
    /// The moves into `O` and the `B` tags (`from × (types + 1)`): the backward pass sums
    /// over these and one `I` tag, not over the whole row that is half zeros.
    moves_out: Vec<f64>,
    /// `ahead` at `O` and the `B` tags.
    ahead_out: Vec<f64>,
    /// Summed expected counts of the inner moves, `to × from` (so that the inner loop runs
    /// along memory), and of the first tags.
    expected_into: Vec<f64>,
    expected_start: Vec<f64>,
}

/// A dot product in four running sums, which the compiler can keep in vector registers (one
/// sum must add in order, so it could not).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a4.zip(b4) {
        for k in 0..4 {
            lanes[k] += x[k] * y[k];
        }
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail
}

impl Lattice {
    fn new(tags: usize) -> Lattice {
        Lattice {
            tags,
            len: 0,
            potentials: Vec::new(),
            open: (0..(tags + 1) * tags)
                .map(|k| f32::from(u8::from(allowed(k / tags, k % tags, tags))))
                .collect(),
            exponentials: vec![0.0; (tags + 1) * tags],
            moves: vec![0.0; (tags + 1) * tags],
            moves_into: vec![0.0; tags * tags],
            alpha: Vec::new(),
            beta: Vec::new(),
            sums: Vec::new(),
            ahead: vec![0.0; tags],
            moves_out: vec![0.0; tags * openings(tags).count()],
            ahead_out: vec![0.0; openings(tags).count()],
            expected_into: vec![0.0; tags * tags],
            expected_start: vec![0.0; tags],
        }
    }

    /// Sets the transition weights the next sentences are run with.
    fn set_transitions(&mut self, transitions: &[f64]) {
        let tags = self.tags;
        // All moves at once and then masked: a loop without branches runs a vector at a time,
        // and these exponentials are much of the training time. Clamped so that a long run of
        // large weights cannot overflow a sum.
        for ((e, &w), &open) in self
            .exponentials
            .iter_mut()
            .zip(transitions)
            .zip(&self.open)
        {
            *e = numeric::exp((w as f32).clamp(-50.0, 50.0)) * open;
        }
        for (m, &e) in self.moves.iter_mut().zip(&self.exponentials) {
            *m = f64::from(e);
        }
        for from in 0..tags {
            for to in 0..tags {
                self.moves_into[to * tags + from] = self.moves[from * tags + to];
            }
        }
        let width = self.ahead_out.len();
        for from in 0..tags {
            for (k, to) in openings(tags).enumerate() {
                self.moves_out[from * width + k] = self.moves[from * tags + to];
            }
        }
    }

    /// Runs both passes for a sentence's emission scores (`len × tags`).
    fn run(&mut self, emissions: &[f64]) {
        let tags = self.tags;
        let len = emissions.len() / tags;
        self.len = len;
        self.potentials.clear();
        for scores in emissions.chunks_exact(tags) {
            let top = scores.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            for (e, &s) in self.exponentials.iter_mut().zip(scores) {
                *e = numeric::exp((s - top) as f32);
            }
            self.potentials
                .extend(self.exponentials[..tags].iter().map(|&e| f64::from(e)));
        }
        self.alpha.clear();
        self.alpha.resize(len * tags, 0.0);
        self.sums.clear();
        self.sums.resize(len, 0.0);
        for i in 0..len {
            let (done, rest) = self.alpha.split_at_mut(i * tags);
            let here = &mut rest[..tags];
            let potentials = &self.potentials[i * tags..(i + 1) * tags];
            if i == 0 {
                for (to, a) in here.iter_mut().enumerate() {
                    *a = self.moves[tags * tags + to] * potentials[to];
                }
            } else {
                let before = &done[(i - 1) * tags..];
                for (to, a) in here.iter_mut().enumerate() {
                    let range = predecessors(to, tags);
                    let into = &self.moves_into[to * tags..(to + 1) * tags];
                    *a = dot(&before[range.clone()], &into[range]) * potentials[to];
                }
            }
            let sum: f64 = here.iter().sum();
            // Only a sentence no tag sequence can take (impossible with O always allowed)
            // would sum to zero; stay finite anyway.
            let sum = if sum > 0.0 { sum } else { f64::MIN_POSITIVE };
            self.sums[i] = sum;
            for a in here.iter_mut() {
                *a /= sum;
            }
        }
        self.beta.clear();
        self.beta.resize(len * tags, 0.0);
        if len > 0 {
            self.beta[(len - 1) * tags..].fill(1.0);
        }
        let width = self.ahead_out.len();
        for i in (0..len.saturating_sub(1)).rev() {
            self.set_ahead(i + 1);
            for (k, to) in openings(tags).enumerate() {
                self.ahead_out[k] = self.ahead[to];
            }
            for from in 0..tags {
                let row = &self.moves_out[from * width..(from + 1) * width];
                let within = continuation(from)
                    .map_or(0.0, |to| self.moves[from * tags + to] * self.ahead[to]);
                self.beta[i * tags + from] = dot(row, &self.ahead_out) + within;
            }
        }
    }

    /// `ahead[to] = potential * beta / sum` at position `i`.
    fn set_ahead(&mut self, i: usize) {
        let tags = self.tags;
        let sum = self.sums[i];
        for (to, v) in self.ahead.iter_mut().enumerate() {
            *v = self.potentials[i * tags + to] * self.beta[i * tags + to] / sum;
        }
    }

    /// The probability of each tag at position `i`.
    fn marginals(&self, i: usize) -> impl Iterator<Item = f64> + '_ {
        let tags = self.tags;
        self.alpha[i * tags..(i + 1) * tags]
            .iter()
            .zip(&self.beta[i * tags..(i + 1) * tags])
            .map(|(a, b)| a * b)
    }

    /// Adds `factor` times the expected number of each move in the sentence to the sums that
    /// [`Lattice::take_expected_transitions`] hands over.
    fn add_expected_transitions(&mut self, factor: f64) {
        let tags = self.tags;
        if self.len == 0 {
            return;
        }
        for to in 0..tags {
            self.expected_start[to] += factor * self.alpha[to] * self.beta[to];
        }
        for i in 1..self.len {
            self.set_ahead(i);
            let before = &self.alpha[(i - 1) * tags..i * tags];
            for to in 0..tags {
                let v = factor * self.ahead[to];
                if v == 0.0 {
                    continue;
                }
                let range = predecessors(to, tags);
                let row = to * tags;
                for ((e, a), m) in self.expected_into[row + range.start..row + range.end]
                    .iter_mut()
                    .zip(&before[range.clone()])
                    .zip(&self.moves_into[row + range.start..row + range.end])
                {
                    *e += a * m * v;
                }
            }
        }
    }

    /// Adds the summed expected counts to `transitions` and starts new sums.
    fn take_expected_transitions(&mut self, transitions: &mut [f64]) {
        let tags = self.tags;
        for to in 0..tags {
            for from in 0..tags {
                transitions[from * tags + to] += self.expected_into[to * tags + from];
            }
            transitions[tags * tags + to] += self.expected_start[to];
        }
        self.expected_into.fill(0.0);
        self.expected_start.fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every allowed tag sequence of a sentence, with its unnormalized probability.
    fn enumerate(emissions: &[f64], transitions: &[f64], tags: usize) -> Vec<(Vec<usize>, f64)> {
        let len = emissions.len() / tags;
        let mut out = Vec::new();
        for code in 0..tags.pow(len as u32) {
            let path: Vec<usize> = (0..len).map(|i| code / tags.pow(i as u32) % tags).collect();
            let mut previous = tags;
            let mut score = 0.0;
            let mut ok = true;
            for (i, &tag) in path.iter().enumerate() {
                ok &= allowed(previous, tag, tags);
                score += transitions[previous * tags + tag] + emissions[i * tags + tag];
                previous = tag;
            }
            if ok {
                out.push((path, f64::exp(score)));
            }
        }
        out
    }

    #[test]
    fn forward_backward_matches_summing_over_every_tag_sequence() {
        // O, B-x, I-x, B-y, I-y over four tokens, with arbitrary scores.
        let tags = 5;
        let mut rng = Rng::new(7);
        let mut draw = || (rng.next() % 2001) as f64 / 500.0 - 2.0;
        let emissions: Vec<f64> = (0..4 * tags).map(|_| draw()).collect();
        let transitions: Vec<f64> = (0..(tags + 1) * tags).map(|_| draw()).collect();
        let paths = enumerate(&emissions, &transitions, tags);
        let z: f64 = paths.iter().map(|(_, p)| p).sum();
        let mut lattice = Lattice::new(tags);
        lattice.set_transitions(&transitions);
        lattice.run(&emissions);
        for i in 0..4 {
            let marginals: Vec<f64> = lattice.marginals(i).collect();
            for (tag, &p) in marginals.iter().enumerate() {
                let expected: f64 = paths
                    .iter()
                    .filter(|(path, _)| path[i] == tag)
                    .map(|(_, p)| p / z)
                    .sum();
                assert!(
                    (p - expected).abs() < 1e-6,
                    "position {i} tag {tag}: {p} vs {expected}"
                );
            }
        }
        let mut counted = vec![0.0; (tags + 1) * tags];
        lattice.add_expected_transitions(1.0);
        lattice.take_expected_transitions(&mut counted);
        let mut expected = vec![0.0; (tags + 1) * tags];
        for (path, p) in &paths {
            let mut previous = tags;
            for &tag in path {
                expected[previous * tags + tag] += p / z;
                previous = tag;
            }
        }
        for (k, (c, e)) in counted.iter().zip(&expected).enumerate() {
            assert!((c - e).abs() < 1e-6, "move {k}: {c} vs {e}");
        }
        // I-x never starts a sentence nor follows B-y.
        assert_eq!(counted[tags * tags + 2], 0.0);
        assert_eq!(counted[3 * tags + 2], 0.0);
    }

    #[test]
    fn learns_to_tag_from_features() {
        // Tags O, B-city, I-city. Feature rows: 0 "to", 1 "new", 2 "york", 3 "go", 4 "paris",
        // 5 "after to". "new york" after "to" is a city of two tokens, "paris" of one.
        let sentences: Vec<Encoded> = vec![
            (
                vec![vec![3], vec![0], vec![1, 5], vec![2]],
                vec![0, 0, 1, 2],
            ),
            (vec![vec![3], vec![0], vec![4, 5]], vec![0, 0, 1]),
            (vec![vec![0], vec![4, 5]], vec![0, 1]),
        ];
        let options = CrfOptions {
            epochs: 40,
            l2: 0.1,
            learning_rate: 0.1,
        };
        let (emissions, transitions) =
            train(&sentences, 6, 3, &options, &mut Rng::new(1), &mut || {});
        let score = |features: &[usize], tag: usize| -> f32 {
            features.iter().map(|&f| emissions[f * 3 + tag]).sum()
        };
        // "york" is I-city after B-city, and "to" is O.
        assert!(score(&[2], 2) + transitions[3 + 2] > score(&[2], 0) + transitions[3]);
        assert!(score(&[0], 0) > score(&[0], 1));
        // What comes after "to" begins a city, even a word never seen.
        assert!(score(&[5], 1) > score(&[5], 0));
    }
}
