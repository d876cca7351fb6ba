//! chatlet's engine: from a bot file to a trained model to a reply, in pure Rust.
//!
//! The pipeline: [`bot::parse`] checks a bot file into a [`Bot`]; [`Model::train`] tokenizes
//! ([`text`]), extracts hashed features ([`features`]) and trains an [`IntentClassifier`];
//! [`Model::to_bytes`] writes the versioned model file; [`Model::from_bytes`] loads it in the
//! browser or a server; [`Model::converse`] holds a conversation (a [`Conversation`] value the caller keeps).
//!
//! The engine does no I/O: no files, clock, network, threads or global RNG. Callers pass in
//! text, bytes and (where variety is wanted) a variant number. It builds for native targets and
//! `wasm32-unknown-unknown` and knows nothing of its bindings.

pub mod bot;
pub mod builtin_entities;
pub mod calendar;
pub mod classifier;
pub mod corpus;
mod crf;
pub mod dialogue;
pub mod entity_rules;
mod error;
pub mod evaluation;
pub mod features;
mod model;
mod numerals;
mod numeric;
pub mod pattern;
mod postcard_reader;
mod script_variants;
mod simd;
pub mod slot_tagger;
mod slots;
mod sparse_table;
pub mod stories;
pub mod text;
mod traditional_chinese;
pub mod yaml;

pub use bot::Bot;
pub use calendar::{Date, ReferenceTime};
pub use classifier::{IntentClassifier, Prediction, Progress, TrainOptions};
pub use corpus::{Mention, Utterance};
pub use dialogue::{ActionOutcome, Conversation, Turn};
pub use error::{Diagnostics, Error, ErrorKind, Location};
pub use model::{FORMAT_VERSION, MAGIC, Model, Understanding};
pub use slots::Slots;
