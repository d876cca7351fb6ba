//! Reading the body of `POST /api/v1/chat`: one pass over the JSON that borrows its strings,
//! then checks that name the field at fault. Parsing into a `serde_json::Value` first built a
//! map and a string per field, only to copy them out again.

use crate::chat::MAX_QUERY_CHARS;
use crate::error::ApiError;
use chatlet_protocol::{ChatRequest, ContextValue};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// The most context entries one request may set.
const MAX_CONTEXT_ENTRIES: usize = 32;
/// The longest text a context entry may hold, in characters.
const MAX_CONTEXT_CHARS: usize = 500;

/// Reads and checks a chat body: a syntax error is `malformed_json`, anything else that is
/// wrong names its field.
pub(crate) fn chat_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    match serde_json::from_slice::<Loose<'_>>(body) {
        Ok(Loose::Object(fields)) => check(fields),
        Ok(_) => Err(ApiError::MalformedJson(
            "the body must be a JSON object: {\"user_id\", \"session_id\", \"query\", \"context\"}"
                .to_owned(),
        )),
        Err(e) => Err(ApiError::MalformedJson(format!(
            "the body is not valid JSON: {e}"
        ))),
    }
}

/// A JSON value as far as the checks need to know it, its strings borrowed from the body
/// unless they hold escapes.
enum Loose<'a> {
    Null,
    Text(Cow<'a, str>),
    Number(f64),
    Flag(bool),
    List,
    /// Entries in the body's order; of a repeated name the last counts, as in a JSON map.
    Object(Vec<(Cow<'a, str>, Loose<'a>)>),
}

/// The fields' names.
const FIELDS: [&str; 4] = ["user_id", "session_id", "query", "context"];

fn check(mut fields: Vec<(Cow<'_, str>, Loose<'_>)>) -> Result<ChatRequest, ApiError> {
    // The first unknown name in sorted order, as the checks of a parsed JSON map saw it.
    if let Some(name) = fields
        .iter()
        .map(|(name, _)| name)
        .filter(|name| !FIELDS.contains(&name.as_ref()))
        .min()
    {
        return Err(ApiError::field(
            name,
            format!("unknown field `{name}`; the fields are user_id, session_id, query, context"),
        ));
    }
    let mut take = |name: &str| {
        let last = fields.iter().rposition(|(n, _)| n == name)?;
        Some(fields.remove(last).1)
    };
    let (user_id, session_id, query, context) = (
        take("user_id"),
        take("session_id"),
        take("query"),
        take("context"),
    );
    let user_id = text("user_id", user_id, 128)?
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ApiError::field("user_id", "`user_id` is required"))?;
    let session_id = text("session_id", session_id, 64)?;
    if let Some(id) = &session_id
        && (id.len() < 8
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(ApiError::field(
            "session_id",
            "`session_id` must be 8 to 64 letters, digits, `-` or `_` (or null for a new session)",
        ));
    }
    let query = text("query", query, MAX_QUERY_CHARS)?
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::field("query", "`query` is required and must not be blank"))?;
    let context = match context {
        None | Some(Loose::Null) => BTreeMap::new(),
        Some(Loose::Object(entries)) => context_values(entries)?,
        Some(_) => return Err(context_refused()),
    };
    Ok(ChatRequest {
        user_id,
        session_id,
        query,
        context,
    })
}

fn context_refused() -> ApiError {
    ApiError::field(
        "context",
        format!("`context` must be an object of at most {MAX_CONTEXT_ENTRIES} entries"),
    )
}

/// The context's entries, checked in name order.
fn context_values(
    entries: Vec<(Cow<'_, str>, Loose<'_>)>,
) -> Result<BTreeMap<String, ContextValue>, ApiError> {
    let entries: BTreeMap<_, _> = entries.into_iter().collect();
    if entries.len() > MAX_CONTEXT_ENTRIES {
        return Err(context_refused());
    }
    let mut context = BTreeMap::new();
    for (key, value) in entries {
        let value = match value {
            Loose::Text(s) if s.chars().count() <= MAX_CONTEXT_CHARS => {
                ContextValue::Text(s.into_owned())
            }
            Loose::Number(n) => ContextValue::Number(n),
            Loose::Flag(b) => ContextValue::Flag(b),
            _ => {
                return Err(ApiError::field(
                    &format!("context.{key}"),
                    format!(
                        "`context.{key}` must be a string (up to {MAX_CONTEXT_CHARS} characters), number or boolean"
                    ),
                ));
            }
        };
        context.insert(key.into_owned(), value);
    }
    Ok(context)
}

/// A text field (absent or null: `None`), at most `max` characters.
fn text(name: &str, value: Option<Loose<'_>>, max: usize) -> Result<Option<String>, ApiError> {
    match value {
        None | Some(Loose::Null) => Ok(None),
        Some(Loose::Text(s)) if s.chars().count() <= max => Ok(Some(s.into_owned())),
        Some(Loose::Text(_)) => Err(ApiError::field(
            name,
            format!("`{name}` is longer than {max} characters"),
        )),
        Some(_) => Err(ApiError::field(name, format!("`{name}` must be a string"))),
    }
}

impl<'de> Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Loose<'de>, E> {
        Ok(Loose::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Loose<'de>, E> {
        Ok(Loose::Flag(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Loose<'de>, E> {
        Ok(Loose::Number(n as f64))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Loose<'de>, E> {
        Ok(Loose::Number(n as f64))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Loose<'de>, E> {
        Ok(Loose::Number(n))
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Loose<'de>, E> {
        Ok(Loose::Text(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Loose<'de>, E> {
        Ok(Loose::Text(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Loose<'de>, E> {
        Ok(Loose::Text(Cow::Owned(s)))
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Loose<'de>, S::Error> {
        // No field takes a list: its items need not be kept.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::List)
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Loose<'de>, M::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(4).min(8));
        // A JSON key is always a string: read as a value, it is `Text`.
        while let Some(key) = map.next_key()? {
            let Loose::Text(name) = key else {
                return Err(de::Error::custom("an object key that is not a string"));
            };
            entries.push((name, map.next_value()?));
        }
        Ok(Loose::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outcome in short: the request's fields, or the error's code and field.
    fn outcome(body: &str) -> String {
        match chat_request(body.as_bytes()) {
            Ok(r) => format!(
                "ok {} {:?} {} {:?}",
                r.user_id,
                r.session_id,
                r.query,
                r.context
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.to_slot()))
                    .collect::<Vec<_>>()
            ),
            Err(ApiError::InvalidField { field, .. }) => format!("field {field}"),
            Err(e) => e.code().to_owned(),
        }
    }

    #[test]
    fn bodies_are_read_with_json_map_semantics_and_errors_name_their_field() {
        let cases = [
            (r#"{"user_id":"u","query":"hi"}"#, r#"ok u None hi []"#),
            // Escapes are decoded (the strings are then copied, not borrowed).
            (
                r#"{"user_id":"u\"1","query":"\u5468\u672b"}"#,
                r#"ok u"1 None 周末 []"#,
            ),
            (r#"{"us\u0065r_id":"u","query":"hi"}"#, r#"ok u None hi []"#),
            // Of a repeated name the last counts.
            (
                r#"{"user_id":"a","query":"hi","user_id":"b"}"#,
                r#"ok b None hi []"#,
            ),
            (
                r#"{"user_id":"u","query":5,"query":"hi"}"#,
                r#"ok u None hi []"#,
            ),
            (
                r#"{"user_id":"u","query":"hi","session_id":"abcdefgh","context":{"b":true,"a":2.5,"c":"x","a":3}}"#,
                r#"ok u Some("abcdefgh") hi ["a=3", "b=true", "c=x"]"#,
            ),
            (
                r#"{"user_id":"u","query":"hi","session_id":null,"context":null}"#,
                r#"ok u None hi []"#,
            ),
            // The unknown name reported is the first in sorted order.
            (
                r#"{"zeta":1,"user_id":"u","query":"hi","alpha":[1]}"#,
                "field alpha",
            ),
            (
                r#"{"user_id":"u","query":"hi","context":{"z":[1],"k":{"a":1}}}"#,
                "field context.k",
            ),
            (
                r#"{"user_id":"u","query":"hi","context":[]}"#,
                "field context",
            ),
            (
                r#"{"user_id":"u","query":"hi","context":"x"}"#,
                "field context",
            ),
            (r#"{"user_id":{"a":1},"query":"hi"}"#, "field user_id"),
            (r#"{"user_id":"  ","query":"hi"}"#, "field user_id"),
            (
                r#"{"user_id":"u","query":"hi","session_id":"short"}"#,
                "field session_id",
            ),
            (r#"{"user_id":"u","query":true}"#, "field query"),
            (r#"{"user_id":"u"}"#, "field query"),
            // Not an object, or not JSON: no field to name.
            (r#""text""#, "malformed_json"),
            ("null", "malformed_json"),
            ("12", "malformed_json"),
            (r#"[{"user_id":"u"}]"#, "malformed_json"),
            (r#"{"user_id":"u","query":"hi"} x"#, "malformed_json"),
            (r#"{"mood":1,"user_id":"u","query":"hi""#, "malformed_json"),
            ("", "malformed_json"),
        ];
        for (body, expected) in cases {
            assert_eq!(outcome(body), expected, "{body}");
        }
        let many = (0..=MAX_CONTEXT_ENTRIES)
            .map(|i| format!("\"k{i}\":{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let body = format!(r#"{{"user_id":"u","query":"hi","context":{{{many}}}}}"#);
        assert_eq!(outcome(&body), "field context");
    }
}
