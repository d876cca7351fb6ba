//! Conversation history: the [`Storage`] trait the server talks to, and [`SqliteStore`], its
//! default implementation (one file, WAL, schema migrations by `PRAGMA user_version`). Another
//! database (PostgreSQL) implements the same trait.

use chatlet_protocol::{Author, Mode, SessionSummary};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;

/// A storage failure; the server answers it with a 500 and logs the detail.
#[derive(Debug)]
pub struct StorageError(pub String);

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "storage: {}", self.0)
    }
}

impl std::error::Error for StorageError {}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError(e.to_string())
    }
}

/// One saved conversation: who, the engine's dialogue state, and who answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub user_id: String,
    /// `Conversation::to_bytes`.
    pub conversation: Vec<u8>,
    pub mode: Mode,
}

/// A message to append to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub author: Author,
    pub text: String,
    /// The client's id of a visitor message (unique in its session).
    pub client_id: Option<String>,
    /// Quick replies, image and link card of a bot message, as JSON.
    pub rich: Option<String>,
}

/// A stored message, numbered in its session from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub seq: u64,
    pub author: Author,
    pub text: String,
    /// RFC 3339, UTC.
    pub at: String,
    pub client_id: Option<String>,
    pub rich: Option<String>,
}

/// Where sessions and their messages live. Calls block: the server runs them off the async
/// threads.
pub trait Storage: Send + Sync {
    /// The session's state, if it exists.
    fn session(&self, session_id: &str) -> Result<Option<SessionState>, StorageError>;
    /// Appends `messages` to the session, all or nothing, and returns their numbers; `at` is
    /// RFC 3339. With a `state` the session is created or updated; without one it must exist
    /// (`None` is returned when it does not).
    fn save_turn(
        &self,
        session_id: &str,
        state: Option<&SessionState>,
        messages: &[NewMessage],
        at: &str,
    ) -> Result<Option<Vec<u64>>, StorageError>;
    /// The number of the visitor message the client sent as `client_id`, if it is stored.
    fn client_message(
        &self,
        session_id: &str,
        client_id: &str,
    ) -> Result<Option<u64>, StorageError>;
    /// Sessions, most recent first.
    fn sessions(&self, limit: u32, offset: u32) -> Result<Vec<SessionSummary>, StorageError>;
    /// Sets who answers the session; `false` when there is no such session.
    fn set_mode(&self, session_id: &str, mode: Mode) -> Result<bool, StorageError>;
    /// A session's messages numbered above `after`, in order; `None` when the session does not
    /// exist.
    fn messages_after(
        &self,
        session_id: &str,
        after: u64,
    ) -> Result<Option<Vec<MessageRecord>>, StorageError>;
}

/// The schema, one migration per entry; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        conversation BLOB NOT NULL,
        started_at TEXT NOT NULL,
        last_message_at TEXT NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_by_time ON sessions (last_message_at DESC);
    CREATE TABLE messages (
        session_id TEXT NOT NULL REFERENCES sessions (id),
        seq INTEGER NOT NULL,
        author TEXT NOT NULL CHECK (author IN ('visitor', 'bot', 'agent')),
        text TEXT NOT NULL,
        at TEXT NOT NULL,
        client_id TEXT,
        rich TEXT,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX messages_by_client_id ON messages (session_id, client_id)
        WHERE client_id IS NOT NULL;
", "
    ALTER TABLE sessions ADD COLUMN mode TEXT NOT NULL DEFAULT 'bot' CHECK (mode IN ('bot', 'agent'));
"];

/// SQLite storage: one connection behind a mutex (SQLite writes one at a time anyway).
pub struct SqliteStore {
    connection: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StorageError> {
        let connection = Connection::open(path)
            .map_err(|e| StorageError(format!("cannot open {}: {e}", path.display())))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        SqliteStore::with_connection(connection)
    }

    /// A database in memory, for tests and for running without a file.
    pub fn in_memory() -> Result<SqliteStore, StorageError> {
        SqliteStore::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(mut connection: Connection) -> Result<SqliteStore, StorageError> {
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let applied: usize =
            connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if applied > MIGRATIONS.len() {
            return Err(StorageError(format!(
                "the database has schema version {applied}, newer than this chatlet ({})",
                MIGRATIONS.len()
            )));
        }
        for (version, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
            let transaction = connection.transaction()?;
            transaction.execute_batch(migration)?;
            transaction.pragma_update(None, "user_version", version + 1)?;
            transaction.commit()?;
        }
        Ok(SqliteStore {
            connection: Mutex::new(connection),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-written state (transactions roll back).
        self.connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn author_name(author: Author) -> &'static str {
    match author {
        Author::Visitor => "visitor",
        Author::Bot => "bot",
        Author::Agent => "agent",
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Bot => "bot",
        Mode::Agent => "agent",
    }
}

fn mode_named(name: &str) -> Mode {
    if name == "agent" {
        Mode::Agent
    } else {
        Mode::Bot
    }
}

fn author_named(name: &str) -> Author {
    match name {
        "visitor" => Author::Visitor,
        "agent" => Author::Agent,
        _ => Author::Bot,
    }
}

impl Storage for SqliteStore {
    fn session(&self, session_id: &str) -> Result<Option<SessionState>, StorageError> {
        let connection = self.lock();
        Ok(connection
            .query_row(
                "SELECT user_id, conversation, mode FROM sessions WHERE id = ?1",
                [session_id],
                |row| {
                    Ok(SessionState {
                        user_id: row.get(0)?,
                        conversation: row.get(1)?,
                        mode: mode_named(&row.get::<_, String>(2)?),
                    })
                },
            )
            .optional()?)
    }

    fn save_turn(
        &self,
        session_id: &str,
        state: Option<&SessionState>,
        messages: &[NewMessage],
        at: &str,
    ) -> Result<Option<Vec<u64>>, StorageError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        if let Some(state) = state {
            transaction
                .prepare_cached("INSERT INTO sessions (id, user_id, conversation, started_at, last_message_at, mode)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET conversation = ?3, last_message_at = ?4, mode = ?5")?
                .execute(params![session_id, state.user_id, state.conversation, at, mode_name(state.mode)])?;
        }
        let Some(count) = transaction
            .prepare_cached("SELECT message_count FROM sessions WHERE id = ?1")?
            .query_row([session_id], |row| row.get::<_, u64>(0))
            .optional()?
        else {
            return Ok(None);
        };
        let mut numbers = Vec::with_capacity(messages.len());
        for (i, message) in messages.iter().enumerate() {
            let seq = count + 1 + i as u64;
            transaction
                .prepare_cached(
                    "INSERT INTO messages (session_id, seq, author, text, at, client_id, rich)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    session_id,
                    seq,
                    author_name(message.author),
                    message.text,
                    at,
                    message.client_id,
                    message.rich
                ])?;
            numbers.push(seq);
        }
        transaction
            .prepare_cached(
                "UPDATE sessions SET message_count = ?2, last_message_at = ?3 WHERE id = ?1",
            )?
            .execute(params![session_id, count + messages.len() as u64, at])?;
        transaction.commit()?;
        Ok(Some(numbers))
    }

    fn client_message(
        &self,
        session_id: &str,
        client_id: &str,
    ) -> Result<Option<u64>, StorageError> {
        let connection = self.lock();
        Ok(connection
            .query_row(
                "SELECT seq FROM messages WHERE session_id = ?1 AND client_id = ?2",
                [session_id, client_id],
                |row| row.get(0),
            )
            .optional()?)
    }

    fn sessions(&self, limit: u32, offset: u32) -> Result<Vec<SessionSummary>, StorageError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT id, user_id, started_at, last_message_at, message_count, mode FROM sessions
             ORDER BY last_message_at DESC, id LIMIT ?1 OFFSET ?2",
        )?;
        let rows = statement.query_map(params![limit, offset], |row| {
            Ok(SessionSummary {
                session_id: row.get(0)?,
                user_id: row.get(1)?,
                started_at: row.get(2)?,
                last_message_at: row.get(3)?,
                message_count: row.get(4)?,
                mode: mode_named(&row.get::<_, String>(5)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_mode(&self, session_id: &str, mode: Mode) -> Result<bool, StorageError> {
        let connection = self.lock();
        let changed = connection.execute(
            "UPDATE sessions SET mode = ?2 WHERE id = ?1",
            params![session_id, mode_name(mode)],
        )?;
        Ok(changed == 1)
    }

    fn messages_after(
        &self,
        session_id: &str,
        after: u64,
    ) -> Result<Option<Vec<MessageRecord>>, StorageError> {
        let connection = self.lock();
        let exists: Option<i64> = connection
            .query_row(
                "SELECT 1 FROM sessions WHERE id = ?1",
                [session_id],
                |row| row.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(None);
        }
        let mut statement = connection.prepare(
            "SELECT seq, author, text, at, client_id, rich FROM messages
             WHERE session_id = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        let rows = statement.query_map(params![session_id, after], |row| {
            Ok(MessageRecord {
                seq: row.get(0)?,
                author: author_named(&row.get::<_, String>(1)?),
                text: row.get(2)?,
                at: row.get(3)?,
                client_id: row.get(4)?,
                rich: row.get(5)?,
            })
        })?;
        Ok(Some(rows.collect::<Result<_, _>>()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(author: Author, text: &str) -> NewMessage {
        NewMessage {
            author,
            text: text.to_owned(),
            client_id: (author == Author::Visitor).then(|| format!("c-{text}")),
            rich: None,
        }
    }

    #[test]
    fn turns_append_in_order_and_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("chatlet-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("history.db");
        let _ = std::fs::remove_file(&path);
        {
            let store = SqliteStore::open(&path).unwrap();
            let state = SessionState {
                user_id: "u1".into(),
                conversation: vec![1, 2],
                mode: Mode::Bot,
            };
            let numbers = store
                .save_turn(
                    "s1",
                    Some(&state),
                    &[
                        message(Author::Visitor, "几点开门"),
                        message(Author::Bot, "9点"),
                    ],
                    "2026-11-22T10:00:00Z",
                )
                .unwrap();
            assert_eq!(numbers, Some(vec![1, 2]));
            store
                .save_turn(
                    "s1",
                    Some(&state),
                    &[message(Author::Visitor, "谢谢")],
                    "2026-11-22T10:01:00Z",
                )
                .unwrap();
            // The same client id twice in a session is refused by the schema.
            let again = [message(Author::Visitor, "谢谢")];
            assert!(
                store
                    .save_turn("s1", None, &again, "2026-11-22T10:02:00Z")
                    .is_err()
            );
            // Without a state, only an existing session takes messages.
            let agent = [message(Author::Agent, "您好")];
            assert_eq!(
                store
                    .save_turn("s2", None, &agent, "2026-11-22T10:02:00Z")
                    .unwrap(),
                None
            );
        }
        let store = SqliteStore::open(&path).unwrap();
        let texts: Vec<(u64, String)> = store
            .messages_after("s1", 0)
            .unwrap()
            .unwrap()
            .into_iter()
            .map(|m| (m.seq, m.text))
            .collect();
        assert_eq!(
            texts,
            [
                (1, "几点开门".into()),
                (2, "9点".into()),
                (3, "谢谢".into())
            ]
        );
        let sessions = store.sessions(10, 0).unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(
            (sessions[0].message_count, sessions[0].started_at.as_str()),
            (3, "2026-11-22T10:00:00Z")
        );
        assert_eq!(
            store.session("s1").unwrap().unwrap().conversation,
            vec![1, 2]
        );
        assert_eq!(store.messages_after("nope", 0).unwrap(), None);
        assert_eq!(store.messages_after("s1", 2).unwrap().unwrap().len(), 1);
        assert_eq!(store.client_message("s1", "c-谢谢").unwrap(), Some(3));
        assert_eq!(store.client_message("s1", "c-nope").unwrap(), None);
        assert!(store.set_mode("s1", Mode::Agent).unwrap());
        assert!(!store.set_mode("nope", Mode::Agent).unwrap());
        assert_eq!(store.session("s1").unwrap().unwrap().mode, Mode::Agent);
        assert_eq!(store.sessions(1, 0).unwrap()[0].mode, Mode::Agent);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
