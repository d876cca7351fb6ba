//! [`MemoryStore`]: conversation history kept in the server's memory, for a server started
//! without a database file (`chatlet serve` without `--db`). It answers every [`Storage`] call
//! as [`crate::SqliteStore`] does (a test runs the same calls on both), and nothing survives a
//! restart.

use crate::storage::{MessageRecord, NewMessage, SessionState, Storage, StorageError};
use chatlet_protocol::{Author, Mode, SessionSummary};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// History in memory: sessions by id, and an index by last message time for the owner's list.
/// One mutex: a call holds it for a few hash lookups, never across I/O.
///
/// At most [`MemoryStore::capacity`] sessions are kept: a new session beyond it pushes out the
/// one whose last message is oldest, so that a server left running without a database does not
/// grow until it runs out of memory.
pub struct MemoryStore {
    sessions: Mutex<Sessions>,
    capacity: usize,
}

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::with_capacity(MemoryStore::DEFAULT_CAPACITY)
    }
}

/// Ids and times are shared (`Arc<str>`) between the session, its index entry and its
/// messages: one allocation each per turn rather than one per copy, which was most of the
/// store's cost when every request starts a session.
#[derive(Default)]
struct Sessions {
    /// Boxed: growing the table then moves a pointer per session, not the whole session
    /// (growing to 100,000 inline sessions copied ~17 MB and faulted in as much new memory).
    by_id: HashMap<Arc<str>, Box<Session>>,
    /// (last message time, newest first; id): the order `sessions` lists them in, as SQLite's
    /// `ORDER BY last_message_at DESC, id`.
    by_time: BTreeSet<(Reverse<Arc<str>>, Arc<str>)>,
}

struct Session {
    /// The key it is stored under (its entry in `by_time` shares it).
    id: Arc<str>,
    state: SessionState,
    started_at: Arc<str>,
    last_message_at: Arc<str>,
    /// Message n at index n - 1.
    messages: Vec<Stored>,
    /// A visitor message's number by its client id (unique in the session, as SQLite's index).
    by_client_id: BTreeMap<Box<str>, u64>,
}

/// A message as kept: its number is its place in the session.
struct Stored {
    author: Author,
    text: Box<str>,
    at: Arc<str>,
    client_id: Option<Box<str>>,
    rich: Option<Box<str>>,
}

impl Stored {
    fn record(&self, seq: u64) -> MessageRecord {
        MessageRecord {
            seq,
            author: self.author,
            text: self.text.to_string(),
            at: self.at.to_string(),
            client_id: self.client_id.as_deref().map(str::to_owned),
            rich: self.rich.as_deref().map(str::to_owned),
        }
    }
}

impl MemoryStore {
    /// Sessions kept by default: tens of megabytes with short conversations.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A store that keeps at most `capacity` sessions (at least one).
    pub fn with_capacity(capacity: usize) -> MemoryStore {
        MemoryStore {
            sessions: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    /// The most sessions kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        // Every call checks before it changes anything, so a panic leaves nothing half-written.
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The refusal SQLite's unique index gives, in the same words.
fn repeated_client_id() -> StorageError {
    StorageError("UNIQUE constraint failed: messages.session_no, messages.client_id".to_owned())
}

impl Storage for MemoryStore {
    fn blocks(&self) -> bool {
        false
    }

    fn session(&self, session_id: &str) -> Result<Option<SessionState>, StorageError> {
        Ok(self.lock().by_id.get(session_id).map(|s| s.state.clone()))
    }

    fn save_turn(
        &self,
        session_id: &str,
        state: Option<&SessionState>,
        messages: &[NewMessage],
        at: &str,
    ) -> Result<Option<Vec<u64>>, StorageError> {
        let mut sessions = self.lock();
        let Sessions { by_id, by_time } = &mut *sessions;
        let stored = by_id.get(session_id);
        if stored.is_none() && state.is_none() {
            return Ok(None);
        }
        // A client id twice in the turn, or one the session already has: refused before
        // anything changes, so that a refused turn leaves no trace.
        let mut ids = BTreeSet::new();
        for id in messages.iter().filter_map(|m| m.client_id.as_deref()) {
            if !ids.insert(id) || stored.is_some_and(|s| s.by_client_id.contains_key(id)) {
                return Err(repeated_client_id());
            }
        }
        let at: Arc<str> = Arc::from(at);
        if let (None, Some(state)) = (stored, state) {
            if by_id.len() >= self.capacity
                && let Some((_, oldest)) = by_time.pop_last()
            {
                by_id.remove(&oldest);
            }
            let id: Arc<str> = Arc::from(session_id);
            by_time.insert((Reverse(at.clone()), id.clone()));
            by_id.insert(
                id.clone(),
                Box::new(Session {
                    id,
                    state: state.clone(),
                    started_at: at.clone(),
                    last_message_at: at.clone(),
                    messages: Vec::with_capacity(messages.len()),
                    by_client_id: BTreeMap::new(),
                }),
            );
        }
        let Some(session) = by_id.get_mut(session_id) else {
            return Ok(None);
        };
        if let Some(state) = state {
            // The owner stays who started the session, as the stored row's user_id does.
            session.state.conversation.clone_from(&state.conversation);
            session.state.mode = state.mode;
        }
        if session.last_message_at != at {
            let old = std::mem::replace(&mut session.last_message_at, at.clone());
            by_time.remove(&(Reverse(old), session.id.clone()));
            by_time.insert((Reverse(at.clone()), session.id.clone()));
        }
        let first = session.messages.len() as u64 + 1;
        for (seq, message) in (first..).zip(messages) {
            if let Some(id) = &message.client_id {
                session.by_client_id.insert(id.as_str().into(), seq);
            }
            session.messages.push(Stored {
                author: message.author,
                text: message.text.as_str().into(),
                at: at.clone(),
                client_id: message.client_id.as_deref().map(Box::from),
                rich: message.rich.as_deref().map(Box::from),
            });
        }
        Ok(Some((first..first + messages.len() as u64).collect()))
    }

    fn client_message(
        &self,
        session_id: &str,
        client_id: &str,
    ) -> Result<Option<u64>, StorageError> {
        Ok(self
            .lock()
            .by_id
            .get(session_id)
            .and_then(|s| s.by_client_id.get(client_id).copied()))
    }

    fn sessions(&self, limit: u32, offset: u32) -> Result<Vec<SessionSummary>, StorageError> {
        let sessions = self.lock();
        Ok(sessions
            .by_time
            .iter()
            .skip(offset as usize)
            .take(limit as usize)
            .filter_map(|(_, id)| {
                let s = sessions.by_id.get(id)?;
                Some(SessionSummary {
                    session_id: id.to_string(),
                    user_id: s.state.user_id.clone(),
                    started_at: s.started_at.to_string(),
                    last_message_at: s.last_message_at.to_string(),
                    message_count: s.messages.len() as u64,
                    mode: s.state.mode,
                })
            })
            .collect())
    }

    fn set_mode(&self, session_id: &str, mode: Mode) -> Result<bool, StorageError> {
        Ok(match self.lock().by_id.get_mut(session_id) {
            Some(session) => {
                session.state.mode = mode;
                true
            }
            None => false,
        })
    }

    fn messages_after(
        &self,
        session_id: &str,
        after: u64,
    ) -> Result<Option<Vec<MessageRecord>>, StorageError> {
        Ok(self.lock().by_id.get(session_id).map(|s| {
            // Message n sits at index n - 1.
            let from = usize::try_from(after).unwrap_or(usize::MAX);
            let later = s.messages.get(from..).unwrap_or_default();
            (after + 1..)
                .zip(later)
                .map(|(seq, m)| m.record(seq))
                .collect()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SqliteStore;
    use chatlet_protocol::Author;

    fn state(user: &str, conversation: u8, mode: Mode) -> SessionState {
        SessionState {
            user_id: user.to_owned(),
            conversation: vec![conversation],
            mode,
        }
    }

    fn message(author: Author, text: &str, client_id: Option<&str>) -> NewMessage {
        NewMessage {
            author,
            text: text.to_owned(),
            client_id: client_id.map(str::to_owned),
            rich: (author == Author::Bot).then(|| format!("{{\"image\":\"{text}.png\"}}")),
        }
    }

    /// Every kind of call, in an order that reaches each case (new and existing sessions, turns
    /// without a state, repeated client ids in a turn and across turns, ties in time); each
    /// call's answer as text, a refusal as "refused" (the two stores word errors alike, but
    /// SQLite's words are its own).
    fn script(store: &dyn Storage) -> Vec<String> {
        use Author::{Agent, Bot, Visitor};
        let mut out = Vec::new();
        let t = |minute: u32| format!("2026-11-23T10:{minute:02}:00Z");
        let mut save =
            |session: &str, state: Option<SessionState>, messages: &[NewMessage], minute| {
                let saved = store.save_turn(session, state.as_ref(), messages, &t(minute));
                out.push(match saved {
                    Ok(numbers) => format!("save {session}: {numbers:?}"),
                    Err(_) => format!("save {session}: refused"),
                });
            };
        save(
            "s1",
            Some(state("u1", 1, Mode::Bot)),
            &[
                message(Visitor, "几点开门", Some("c1")),
                message(Bot, "9点", None),
            ],
            1,
        );
        save(
            "s2",
            Some(state("u2", 2, Mode::Bot)),
            &[message(Visitor, "hi", Some("c1"))],
            0,
        );
        save("s1", None, &[message(Agent, "您好", None)], 2);
        // A later state keeps the session's first user as its owner.
        save(
            "s1",
            Some(state("someone else", 3, Mode::Agent)),
            &[message(Visitor, "谢谢", Some("c2"))],
            3,
        );
        save("s1", None, &[message(Visitor, "again", Some("c1"))], 4);
        save(
            "s3",
            Some(state("u3", 3, Mode::Bot)),
            &[
                message(Visitor, "a", Some("same")),
                message(Visitor, "b", Some("same")),
            ],
            5,
        );
        save("s4", None, &[message(Agent, "anyone?", None)], 5);
        save("s5", Some(state("u5", 5, Mode::Bot)), &[], 6);
        save(
            "s7",
            Some(state("u7", 7, Mode::Bot)),
            &[message(Visitor, "x", None)],
            6,
        );
        save(
            "s6",
            Some(state("u6", 6, Mode::Bot)),
            &[message(Visitor, "y", None)],
            6,
        );
        // Back in time: the list follows the last message's time, whatever it is.
        save("s2", None, &[message(Bot, "late", None)], 0);
        for id in ["s1", "s2", "s3", "s4", "s5", "nope"] {
            out.push(format!("session {id}: {:?}", store.session(id).ok()));
        }
        for (id, client) in [
            ("s1", "c1"),
            ("s1", "c2"),
            ("s2", "c1"),
            ("s1", "c9"),
            ("s3", "same"),
        ] {
            out.push(format!(
                "client {id} {client}: {:?}",
                store.client_message(id, client).ok().flatten()
            ));
        }
        out.push(format!(
            "mode s2: {:?}",
            store.set_mode("s2", Mode::Agent).ok()
        ));
        out.push(format!(
            "mode nope: {:?}",
            store.set_mode("nope", Mode::Agent).ok()
        ));
        for (id, after) in [
            ("s1", 0),
            ("s1", 2),
            ("s1", 4),
            ("s1", 99),
            ("s2", 0),
            ("nope", 0),
        ] {
            out.push(format!(
                "after {id} {after}: {:?}",
                store.messages_after(id, after).ok()
            ));
        }
        for (limit, offset) in [(10, 0), (2, 0), (2, 2), (0, 0), (10, 9)] {
            out.push(format!(
                "sessions {limit} {offset}: {:?}",
                store.sessions(limit, offset).ok()
            ));
        }
        out
    }

    #[test]
    fn beyond_its_capacity_the_least_recently_active_session_goes() {
        let store = MemoryStore::with_capacity(3);
        let turn = |id: &str, minute: u32| {
            let at = format!("2026-11-23T10:{minute:02}:00Z");
            let hello = [message(Author::Visitor, "hi", None)];
            store
                .save_turn(id, Some(&state(id, 0, Mode::Bot)), &hello, &at)
                .unwrap()
        };
        turn("a", 1);
        turn("b", 2);
        turn("c", 3);
        // "a" speaks again, so "b" is now the least recently active.
        assert_eq!(turn("a", 4), Some(vec![2]));
        turn("d", 5);
        let listed: Vec<String> = store
            .sessions(10, 0)
            .unwrap()
            .into_iter()
            .map(|s| s.session_id)
            .collect();
        assert_eq!(listed, ["d", "a", "c"]);
        assert_eq!(store.session("b").unwrap(), None);
        assert_eq!(store.messages_after("b", 0).unwrap(), None);
        assert_eq!(store.messages_after("a", 0).unwrap().unwrap().len(), 2);
        // A turn of a kept session pushes nobody out.
        turn("c", 6);
        assert_eq!(store.sessions(10, 0).unwrap().len(), 3);
        assert!(store.session("d").unwrap().is_some());
    }

    #[test]
    fn answers_every_call_as_the_sqlite_store_does() {
        let memory = script(&MemoryStore::new());
        let sqlite = script(&SqliteStore::in_memory().unwrap());
        for (m, s) in memory.iter().zip(&sqlite) {
            assert_eq!(m, s);
        }
        assert_eq!(memory.len(), sqlite.len());
        // And what they agree on is right: the cases the script is there for.
        let has = |line: &str| memory.iter().any(|m| m == line);
        assert!(has("save s1: Some([1, 2])"));
        assert!(has("save s1: refused"), "a repeated client id is refused");
        assert!(
            has("save s3: refused"),
            "a client id twice in one turn is refused"
        );
        assert!(has("save s4: None"), "no state, no session");
        assert!(has("client s1 c2: Some(4)"));
        assert!(has("client s3 same: None"), "a refused turn left nothing");
        assert!(memory.iter().any(|m| m.starts_with(
            "session s1: Some(Some(SessionState { user_id: \"u1\", conversation: [3], mode: Agent"
        )));
    }
}
