//! The engine's error type: a kind to match on, a message that quotes the bad input, and where it was.

use std::fmt;

/// What went wrong, for callers that need to react differently to different failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bot file is not well-formed YAML.
    Syntax,
    /// The bot file is YAML but not a valid bot (a missing field, a wrong type, an empty intent, ...).
    Bot,
    /// There is nothing to train on (no intent with examples).
    NoTrainingData,
    /// The bytes are not a chatlet model at all.
    NotAModel,
    /// The model was written by a different, incompatible model format version.
    ModelVersion,
    /// The model file is a chatlet model but its contents are damaged.
    CorruptModel,
}

/// A place in a bot file: 1-based line and column (the column counts characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// An engine error. `Display` gives `source:line:column: message` when the error has a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source_name: Option<String>,
    location: Option<Location>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source_name: None,
            location: None,
        }
    }

    pub(crate) fn at(
        kind: ErrorKind,
        source_name: &str,
        location: Location,
        message: impl Into<String>,
    ) -> Error {
        Error {
            kind,
            message: message.into(),
            source_name: Some(source_name.to_owned()),
            location: Some(location),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message alone, without the place.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The file the problem is in, when it is about a file.
    pub fn source_name(&self) -> Option<&str> {
        self.source_name.as_deref()
    }

    /// Where the problem is, if it has a place.
    pub fn location(&self) -> Option<Location> {
        self.location
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.source_name, self.location) {
            (Some(source), Some(at)) => {
                write!(f, "{source}:{}:{}: {}", at.line, at.column, self.message)
            }
            (Some(source), None) => write!(f, "{source}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Every problem found in one bot file, in file order; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Error>);

impl Diagnostics {
    /// The errors, in the order they appear in the file.
    pub fn errors(&self) -> &[Error] {
        &self.0
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Error> for Diagnostics {
    fn from(error: Error) -> Diagnostics {
        Diagnostics(vec![error])
    }
}
