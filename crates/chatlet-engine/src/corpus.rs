//! Labelled utterances: what a data set or a bot's examples give the trainer, and what the
//! evaluator compares predictions with.

/// One labelled utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// The text as the user typed it.
    pub text: String,
    /// The intent, or `None` when the utterance is out of scope.
    pub intent: Option<String>,
    /// Annotated entity spans.
    pub entities: Vec<Mention>,
}

/// An entity span in an utterance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mention {
    /// Code-point offset of the first character.
    pub start: usize,
    /// Code-point offset one past the last character.
    pub end: usize,
    /// The entity type (`city`, `number`, ...).
    pub entity: String,
    /// The resolved or canonical value (for a span that was only annotated, its text).
    pub value: String,
}
