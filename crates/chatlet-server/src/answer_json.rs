//! The chat endpoint's answer written as JSON by hand, byte for byte what `serde_json` writes
//! for a [`ChatResponse`]. It is the server's most frequent output, and serde's writer took a
//! tenth of a chat turn's instructions: it escapes every key, and each of the ranking's ten
//! entries went through its map machinery.

use chatlet_protocol::{ChatResponse, EntityValue, IntentScore};

/// `response` as JSON.
pub(crate) fn chat_response(response: &ChatResponse) -> Vec<u8> {
    let names: usize = response.intents.iter().map(|i| i.name.len() + 40).sum();
    let mut out = Vec::with_capacity(256 + response.reply.len() * 2 + names);
    out.extend_from_slice(b"{\"session_id\":");
    string(&mut out, &response.session_id);
    out.extend_from_slice(b",\"reply\":");
    string(&mut out, &response.reply);
    out.extend_from_slice(b",\"messages\":");
    if response.messages.is_empty() {
        out.extend_from_slice(b"[]");
    } else {
        // Quick replies, images and cards are rarer and nested: serde writes them. Writing
        // plain data into a Vec cannot fail.
        serde_json::to_writer(&mut out, &response.messages).expect("a Vec takes any JSON");
    }
    out.extend_from_slice(b",\"intents\":");
    list(&mut out, &response.intents, intent);
    out.extend_from_slice(b",\"entities\":");
    list(&mut out, &response.entities, entity);
    out.extend_from_slice(b",\"action\":");
    match &response.action {
        Some(action) => string(&mut out, action),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(if response.handoff {
        b",\"handoff\":true}"
    } else {
        b",\"handoff\":false}"
    });
    out
}

fn list<T>(out: &mut Vec<u8>, items: &[T], item: fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (k, x) in items.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        item(out, x);
    }
    out.push(b']');
}

fn intent(out: &mut Vec<u8>, intent: &IntentScore) {
    out.extend_from_slice(b"{\"name\":");
    string(out, &intent.name);
    out.extend_from_slice(b",\"confidence\":");
    // As serde_json: non-finite numbers have no JSON form and become null.
    if intent.confidence.is_finite() {
        out.extend_from_slice(
            zmij::Buffer::new()
                .format_finite(intent.confidence)
                .as_bytes(),
        );
    } else {
        out.extend_from_slice(b"null");
    }
    out.push(b'}');
}

fn entity(out: &mut Vec<u8>, entity: &EntityValue) {
    out.extend_from_slice(b"{\"type\":");
    string(out, &entity.entity_type);
    out.extend_from_slice(b",\"value\":");
    string(out, &entity.value);
    out.extend_from_slice(b",\"start\":");
    out.extend_from_slice(entity.start.to_string().as_bytes());
    out.extend_from_slice(b",\"end\":");
    out.extend_from_slice(entity.end.to_string().as_bytes());
    out.push(b'}');
}

/// A JSON string: quotes, backslashes and control characters escaped as serde_json escapes
/// them (short forms where JSON has one, else `\u00xx`); everything else as it is.
fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    // Most texts need no escape: one pass without early exit, which the compiler vectorizes,
    // tells so, and the text is copied whole.
    let plain = !bytes.iter().fold(false, |seen, &b| {
        seen | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut copied = 0;
    for (at, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0C => b'f',
            0x00..=0x1F => b'u',
            _ => continue,
        };
        out.extend_from_slice(&bytes[copied..at]);
        copied = at + 1;
        if short == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xF)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', short]);
        }
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatlet_protocol::{BotMessage, Button, Link};

    /// Strings that reach every escape: each control character, quotes and backslashes at
    /// either end, multi-byte text, and DEL (which JSON leaves alone).
    fn texts() -> Vec<String> {
        let mut texts: Vec<String> = (0u8..0x20).map(|b| format!("a{}b", b as char)).collect();
        texts.extend(
            [
                "",
                "balance",
                "\"quoted\"",
                "back\\slash\\",
                "\\\"",
                "多行\n文本\t和\r回车",
                "emoji 🙂 and \u{7f} and \u{2028}",
                "</script><b>",
            ]
            .map(str::to_owned),
        );
        texts
    }

    /// Confidences of every kind: zero, tiny and subnormal, rounded and long, one, and the
    /// numbers JSON cannot hold.
    const CONFIDENCES: [f32; 10] = [
        0.0,
        -0.0,
        0.999_54,
        1.365_232_2e-4,
        1e-45,
        1.0,
        0.1,
        1e30,
        f32::NAN,
        f32::INFINITY,
    ];

    fn responses() -> Vec<ChatResponse> {
        let texts = texts();
        let mut responses = Vec::new();
        for (k, text) in texts.iter().enumerate() {
            let other = &texts[(k * 7 + 3) % texts.len()];
            responses.push(ChatResponse {
                session_id: text.clone(),
                reply: other.clone(),
                messages: if k % 3 == 0 {
                    Vec::new()
                } else {
                    vec![BotMessage {
                        text: text.clone(),
                        buttons: vec![Button {
                            title: other.clone(),
                            payload: "/yes".to_owned(),
                        }],
                        image: (k % 2 == 0).then(|| other.clone()),
                        link: (k % 4 == 1).then(|| Link {
                            url: "https://example.com/?q=\"x\"".to_owned(),
                            title: text.clone(),
                        }),
                    }]
                },
                intents: (0..k % 12)
                    .map(|i| IntentScore {
                        name: texts[(k + i) % texts.len()].as_str().into(),
                        confidence: CONFIDENCES[(k + i) % CONFIDENCES.len()],
                    })
                    .collect(),
                entities: (0..k % 3)
                    .map(|i| EntityValue {
                        entity_type: other.clone(),
                        value: texts[(k + i * 5) % texts.len()].clone(),
                        start: i * 1000,
                        end: usize::MAX - i,
                    })
                    .collect(),
                action: (k % 2 == 1).then(|| text.clone()),
                handoff: k % 5 == 0,
            });
        }
        responses
    }

    #[test]
    fn answers_are_written_as_serde_json_writes_them() {
        let responses = responses();
        assert!(responses.len() > 30);
        for response in &responses {
            let ours = chat_response(response);
            let serde = serde_json::to_vec(response).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&serde),
                "{response:?}"
            );
        }
    }
}
