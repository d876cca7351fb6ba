//! Conversation history: the [`Storage`] trait the server talks to, and [`SqliteStore`], its
//! default implementation (one file, WAL, schema migrations by `PRAGMA user_version`). Another
//! database (PostgreSQL) implements the same trait.

use chatlet_protocol::{Author, SessionSummary, StoredMessage};
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

/// One saved conversation: who, and the engine's dialogue state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub user_id: String,
    /// `Conversation::to_bytes`.
    pub conversation: Vec<u8>,
}

/// A message to append to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub author: Author,
    pub text: String,
}

/// Where sessions and their messages live. Calls block: the server runs them off the async
/// threads.
pub trait Storage: Send + Sync {
    /// The session's state, if it exists.
    fn session(&self, session_id: &str) -> Result<Option<SessionState>, StorageError>;
    /// Saves the session's new state and appends `messages`, all or nothing; `at` is RFC 3339.
    fn save_turn(
        &self,
        session_id: &str,
        state: &SessionState,
        messages: &[NewMessage],
        at: &str,
    ) -> Result<(), StorageError>;
    /// Sessions, most recent first.
    fn sessions(&self, limit: u32, offset: u32) -> Result<Vec<SessionSummary>, StorageError>;
    /// A session's messages in order; `None` when the session does not exist.
    fn messages(&self, session_id: &str) -> Result<Option<Vec<StoredMessage>>, StorageError>;
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
        author TEXT NOT NULL CHECK (author IN ('visitor', 'bot')),
        text TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID;
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
    }
}

impl Storage for SqliteStore {
    fn session(&self, session_id: &str) -> Result<Option<SessionState>, StorageError> {
        let connection = self.lock();
        Ok(connection
            .query_row(
                "SELECT user_id, conversation FROM sessions WHERE id = ?1",
                [session_id],
                |row| {
                    Ok(SessionState {
                        user_id: row.get(0)?,
                        conversation: row.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn save_turn(
        &self,
        session_id: &str,
        state: &SessionState,
        messages: &[NewMessage],
        at: &str,
    ) -> Result<(), StorageError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        transaction.execute(
            "INSERT INTO sessions (id, user_id, conversation, started_at, last_message_at)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (id) DO UPDATE SET conversation = ?3, last_message_at = ?4",
            params![session_id, state.user_id, state.conversation, at],
        )?;
        let count: u64 = transaction.query_row(
            "SELECT message_count FROM sessions WHERE id = ?1",
            [session_id],
            |row| row.get(0),
        )?;
        for (i, message) in messages.iter().enumerate() {
            transaction.execute(
                "INSERT INTO messages (session_id, seq, author, text, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    session_id,
                    count + 1 + i as u64,
                    author_name(message.author),
                    message.text,
                    at
                ],
            )?;
        }
        transaction.execute(
            "UPDATE sessions SET message_count = ?2 WHERE id = ?1",
            params![session_id, count + messages.len() as u64],
        )?;
        transaction.commit()?;
        Ok(())
    }

    fn sessions(&self, limit: u32, offset: u32) -> Result<Vec<SessionSummary>, StorageError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT id, user_id, started_at, last_message_at, message_count FROM sessions
             ORDER BY last_message_at DESC, id LIMIT ?1 OFFSET ?2",
        )?;
        let rows = statement.query_map(params![limit, offset], |row| {
            Ok(SessionSummary {
                session_id: row.get(0)?,
                user_id: row.get(1)?,
                started_at: row.get(2)?,
                last_message_at: row.get(3)?,
                message_count: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn messages(&self, session_id: &str) -> Result<Option<Vec<StoredMessage>>, StorageError> {
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
            "SELECT seq, author, text, at FROM messages WHERE session_id = ?1 ORDER BY seq",
        )?;
        let rows = statement.query_map([session_id], |row| {
            let author: String = row.get(1)?;
            Ok(StoredMessage {
                seq: row.get(0)?,
                author: if author == "visitor" {
                    Author::Visitor
                } else {
                    Author::Bot
                },
                text: row.get(2)?,
                at: row.get(3)?,
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
            };
            store
                .save_turn(
                    "s1",
                    &state,
                    &[
                        message(Author::Visitor, "几点开门"),
                        message(Author::Bot, "9点"),
                    ],
                    "2026-11-22T10:00:00Z",
                )
                .unwrap();
            store
                .save_turn(
                    "s1",
                    &state,
                    &[message(Author::Visitor, "谢谢")],
                    "2026-11-22T10:01:00Z",
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let texts: Vec<(u64, String)> = store
            .messages("s1")
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
        assert_eq!(store.messages("nope").unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
