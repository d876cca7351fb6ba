//! A YAML document as a tree whose every node knows its line and column, so bot-file errors can point at them.

use crate::error::{Error, ErrorKind, Location};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// One YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it holds.
    pub value: Value,
    /// Where it starts.
    pub at: Location,
}

/// What a node holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar; `quoted` tells `"null"` apart from `null`.
    Scalar {
        /// The scalar's text.
        text: String,
        /// Whether it was written in quotes.
        quoted: bool,
    },
    /// A list.
    Sequence(Vec<Node>),
    /// Key-value pairs in file order.
    Mapping(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text, if this node is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// True for an explicit YAML null (`~`, `null`, or nothing at all after a key).
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, quoted: false } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// A short name of the node's type for error messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar { .. } if self.is_null() => "nothing",
            Value::Scalar { .. } => "a text",
            Value::Sequence(_) => "a list",
            Value::Mapping(_) => "a mapping",
        }
    }
}

fn location(span: &Span) -> Location {
    Location {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

/// Parses one YAML document. An empty text gives a null node at 1:1.
pub fn parse(source_name: &str, text: &str) -> Result<Node, Error> {
    let mut stack: Vec<(Node, Option<Node>)> = Vec::new();
    let mut root: Option<Node> = None;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let at = Location {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            };
            Error::at(
                ErrorKind::Syntax,
                source_name,
                at,
                format!("YAML syntax error: {}", e.info()),
            )
        })?;
        let at = location(&span);
        let finished = match event {
            Event::Scalar(text, style, _, _) => Some(Node {
                value: Value::Scalar {
                    text: text.into_owned(),
                    quoted: style != ScalarStyle::Plain,
                },
                at,
            }),
            Event::SequenceStart(..) => {
                stack.push((
                    Node {
                        value: Value::Sequence(Vec::new()),
                        at,
                    },
                    None,
                ));
                None
            }
            Event::MappingStart(..) => {
                stack.push((
                    Node {
                        value: Value::Mapping(Vec::new()),
                        at,
                    },
                    None,
                ));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => stack.pop().map(|(node, _)| node),
            Event::Alias(_) => {
                return Err(Error::at(
                    ErrorKind::Syntax,
                    source_name,
                    at,
                    "YAML aliases (*name) are not supported in bot files; write the value out",
                ));
            }
            Event::DocumentStart(_) if root.is_some() => {
                return Err(Error::at(
                    ErrorKind::Syntax,
                    source_name,
                    at,
                    "a bot file holds one YAML document; remove the second `---`",
                ));
            }
            _ => None,
        };
        let Some(node) = finished else { continue };
        match stack.last_mut() {
            None => root = Some(node),
            Some((
                Node {
                    value: Value::Sequence(items),
                    ..
                },
                _,
            )) => items.push(node),
            Some((
                Node {
                    value: Value::Mapping(entries),
                    ..
                },
                pending_key,
            )) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => entries.push((key, node)),
            },
            Some(_) => unreachable!("only collections are pushed on the stack"),
        }
    }
    Ok(root.unwrap_or(Node {
        value: Value::Scalar {
            text: String::new(),
            quoted: false,
        },
        at: Location { line: 1, column: 1 },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_one_based_positions() {
        let root = parse("t.yaml", "a: 1\nlist:\n  - x\n  - \"y\"\n").unwrap();
        let Value::Mapping(entries) = &root.value else {
            panic!("not a mapping: {root:?}")
        };
        assert_eq!(entries[0].0.at, Location { line: 1, column: 1 });
        assert_eq!(entries[0].1.at, Location { line: 1, column: 4 });
        let Value::Sequence(items) = &entries[1].1.value else {
            panic!("not a list")
        };
        assert_eq!(items[1].at, Location { line: 4, column: 5 });
        assert_eq!(
            items[1].value,
            Value::Scalar {
                text: "y".into(),
                quoted: true
            }
        );
    }

    #[test]
    fn syntax_errors_name_the_place() {
        let err = parse("bad.yaml", "a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Syntax);
        assert!(err.to_string().starts_with("bad.yaml:"), "{err}");
    }
}
