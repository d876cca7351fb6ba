//! Conversation history: the [`Storage`] trait the server talks to, and [`SqliteStore`], its
//! implementation for a history file (one file, WAL, schema migrations by `PRAGMA
//! user_version`). Another database (PostgreSQL) implements the same trait.

use chatlet_protocol::{Author, Mode, SessionSummary};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// One turn's writes, as [`Storage::save_turn`] takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnWrite {
    pub session_id: String,
    pub state: Option<SessionState>,
    pub messages: Vec<NewMessage>,
    /// RFC 3339, UTC.
    pub at: String,
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

/// Where sessions and their messages live.
pub trait Storage: Send + Sync {
    /// Whether calls may wait on a disk or a network. The server then makes reads on its
    /// blocking pool and commits turns in groups, one group at a time; a store that never
    /// waits (in memory) is called directly, which spares a commit queue and a wake-up per turn.
    fn blocks(&self) -> bool {
        true
    }
    /// Whether [`Storage::upkeep`] should run now. The server asks after each group of turns.
    fn upkeep_due(&self) -> bool {
        false
    }
    /// Slow housekeeping kept out of the turns' commits (a SQLite checkpoint, which syncs the
    /// file). The server runs it off its async threads, with no turn being saved meanwhile.
    fn upkeep(&self) -> Result<(), StorageError> {
        Ok(())
    }
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
    /// Saves several turns (of any sessions, in this order) as [`Storage::save_turn`] would one
    /// by one, with one result each; a database that commits them together saves the cost of a
    /// commit per turn. One turn's failure is its own: the others are saved.
    fn save_turns(&self, turns: &[TurnWrite]) -> Vec<Result<Option<Vec<u64>>, StorageError>> {
        turns
            .iter()
            .map(|t| self.save_turn(&t.session_id, t.state.as_ref(), &t.messages, &t.at))
            .collect()
    }
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
", "
    -- Sessions get a number in the order they start, and messages are keyed by it rather than by
    -- the random session id: a turn's rows then land beside the other recent sessions' at the end
    -- of the tables instead of on a random page each (measured: a turn's writes cost 3x less).
    CREATE TABLE sessions_v3 (
        no INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL,
        conversation BLOB NOT NULL,
        started_at TEXT NOT NULL,
        last_message_at TEXT NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0,
        mode TEXT NOT NULL DEFAULT 'bot' CHECK (mode IN ('bot', 'agent'))
    );
    INSERT INTO sessions_v3 (id, user_id, conversation, started_at, last_message_at, message_count, mode)
        SELECT id, user_id, conversation, started_at, last_message_at, message_count, mode
        FROM sessions ORDER BY started_at, id;
    CREATE TABLE messages_v3 (
        session_no INTEGER NOT NULL REFERENCES sessions_v3 (no),
        seq INTEGER NOT NULL,
        author TEXT NOT NULL CHECK (author IN ('visitor', 'bot', 'agent')),
        text TEXT NOT NULL,
        at TEXT NOT NULL,
        client_id TEXT,
        rich TEXT,
        PRIMARY KEY (session_no, seq)
    ) WITHOUT ROWID;
    INSERT INTO messages_v3 (session_no, seq, author, text, at, client_id, rich)
        SELECT s.no, m.seq, m.author, m.text, m.at, m.client_id, m.rich
        FROM messages m JOIN sessions_v3 s ON s.id = m.session_id;
    DROP TABLE messages;
    DROP TABLE sessions;
    ALTER TABLE sessions_v3 RENAME TO sessions;
    ALTER TABLE messages_v3 RENAME TO messages;
    CREATE INDEX sessions_by_time ON sessions (last_message_at DESC);
    CREATE UNIQUE INDEX messages_by_client_id ON messages (session_no, client_id)
        WHERE client_id IS NOT NULL;
", "
    -- The author check as comparisons: SQLite checks an IN list of three or more values against
    -- a temporary table that it builds for every insert (measured: a quarter of a turn's writes).
    CREATE TABLE messages_v4 (
        session_no INTEGER NOT NULL REFERENCES sessions (no),
        seq INTEGER NOT NULL,
        author TEXT NOT NULL CHECK (author = 'visitor' OR author = 'bot' OR author = 'agent'),
        text TEXT NOT NULL,
        at TEXT NOT NULL,
        client_id TEXT,
        rich TEXT,
        PRIMARY KEY (session_no, seq)
    ) WITHOUT ROWID;
    INSERT INTO messages_v4 (session_no, seq, author, text, at, client_id, rich)
        SELECT session_no, seq, author, text, at, client_id, rich FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_v4 RENAME TO messages;
    CREATE UNIQUE INDEX messages_by_client_id ON messages (session_no, client_id)
        WHERE client_id IS NOT NULL;
"];

/// Pages of log between two checkpoints of a history file: 40 MB of 4 KB pages, ten times
/// SQLite's own default, so that a page rewritten by many turns is copied once (measured: REST
/// p99 ~19 -> ~4 ms, throughput +25%).
const CHECKPOINT_PAGES: usize = 10_000;

/// When the next checkpoint is due. The log's size is known only when a checkpoint reports it,
/// so the turns between checkpoints are set from the last one's pages per turn: a turn that
/// starts a session adds about one page to the log (a group's turns share their pages), one
/// that goes on with a conversation several (its messages land beside its own earlier ones).
struct CheckpointPace {
    /// Turns saved since the last checkpoint.
    turns: AtomicUsize,
    /// Turns after which the next one is due.
    due: AtomicUsize,
}

/// SQLite storage: one connection behind a mutex (SQLite writes one at a time anyway).
pub struct SqliteStore {
    connection: Mutex<Connection>,
    /// `None` for a store without a log (in memory).
    checkpoints: Option<CheckpointPace>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StorageError> {
        let connection = Connection::open(path)
            .map_err(|e| StorageError(format!("cannot open {}: {e}", path.display())))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        // No checkpoint (copy the log into the database and sync both) inside a commit: commits
        // run on the async threads, and a sync must not stall them. The server runs one about
        // every CHECKPOINT_PAGES pages instead (`upkeep`), with no commit meanwhile, so that it
        // copies the whole log and the next commit starts the log over. The log file is cut back
        // to 64 MB at most.
        connection.pragma_update(None, "wal_autocheckpoint", 0)?;
        connection.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        let mut store = SqliteStore::with_connection(connection)?;
        store.checkpoints = Some(CheckpointPace {
            turns: AtomicUsize::new(0),
            // Soon, to learn the pages per turn.
            due: AtomicUsize::new(1_000),
        });
        Ok(store)
    }

    /// A database in memory, for tests and for running without a file.
    pub fn in_memory() -> Result<SqliteStore, StorageError> {
        // The `memdb` file system rather than `:memory:`: an in-memory database keeps every
        // page in its page cache, and SQLite scans that whole cache at the end of each
        // transaction, so commits slowed down as the history grew (measured: 48 -> 37 us a turn
        // at 100,000 sessions). Each store gets its own name, so stores do not share data.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("file:/chatlet-{}-{n}?vfs=memdb", std::process::id());
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
            | rusqlite::OpenFlags::SQLITE_OPEN_URI
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        SqliteStore::with_connection(Connection::open_with_flags(name, flags)?)
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
            checkpoints: None,
        })
    }

    fn count_turns(&self, turns: usize) {
        if let Some(pace) = &self.checkpoints {
            pace.turns.fetch_add(turns, Ordering::Relaxed);
        }
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

/// One turn's writes inside `transaction`: the session's row (created or updated, its message
/// count raised and returned in the same statement), then the messages under the numbers that
/// follow the old count.
fn write_turn(
    transaction: &rusqlite::Transaction<'_>,
    session_id: &str,
    state: Option<&SessionState>,
    messages: &[NewMessage],
    at: &str,
) -> Result<Option<Vec<u64>>, rusqlite::Error> {
    let added = messages.len() as u64;
    // A read, then a plain insert or update: cheaper in SQLite than one upsert with
    // RETURNING, which builds a temporary table per statement.
    let found: Option<(i64, u64)> = transaction
        .prepare_cached("SELECT no, message_count FROM sessions WHERE id = ?1")?
        .query_row([session_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let found = match (found, state) {
        (Some((number, count)), Some(state)) => {
            transaction
                .prepare_cached(
                    "UPDATE sessions SET conversation = ?2, last_message_at = ?3, mode = ?4,
                     message_count = ?5 WHERE no = ?1",
                )?
                .execute(params![
                    number,
                    state.conversation,
                    at,
                    mode_name(state.mode),
                    count + added
                ])?;
            Some((number, count + added))
        }
        (Some((number, count)), None) => {
            transaction
                .prepare_cached(
                    "UPDATE sessions SET last_message_at = ?2, message_count = ?3 WHERE no = ?1",
                )?
                .execute(params![number, at, count + added])?;
            Some((number, count + added))
        }
        (None, Some(state)) => {
            transaction
                .prepare_cached(
                    "INSERT INTO sessions (id, user_id, conversation, started_at, last_message_at, mode, message_count)
                     VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
                )?
                .execute(params![
                    session_id,
                    state.user_id,
                    state.conversation,
                    at,
                    mode_name(state.mode),
                    added
                ])?;
            Some((transaction.last_insert_rowid(), added))
        }
        (None, None) => None,
    };
    let Some((number, count)) = found else {
        return Ok(None);
    };
    let first = count - added + 1;
    let mut insert = transaction.prepare_cached(
        "INSERT INTO messages (session_no, seq, author, text, at, client_id, rich)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (seq, message) in (first..).zip(messages) {
        insert.execute(params![
            number,
            seq,
            author_name(message.author),
            message.text,
            at,
            message.client_id,
            message.rich
        ])?;
    }
    Ok(Some((first..=count).collect()))
}

impl Storage for SqliteStore {
    fn session(&self, session_id: &str) -> Result<Option<SessionState>, StorageError> {
        let connection = self.lock();
        Ok(connection
            .prepare_cached("SELECT user_id, conversation, mode FROM sessions WHERE id = ?1")?
            .query_row([session_id], |row| {
                Ok(SessionState {
                    user_id: row.get(0)?,
                    conversation: row.get(1)?,
                    mode: mode_named(&row.get::<_, String>(2)?),
                })
            })
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
        let numbers = write_turn(&transaction, session_id, state, messages, at)?;
        transaction.commit()?;
        self.count_turns(1);
        Ok(numbers)
    }

    fn upkeep_due(&self) -> bool {
        self.checkpoints.as_ref().is_some_and(|pace| {
            pace.turns.load(Ordering::Relaxed) >= pace.due.load(Ordering::Relaxed)
        })
    }

    fn upkeep(&self) -> Result<(), StorageError> {
        let connection = self.lock();
        // PASSIVE waits for no reader; with no commit running it copies the whole log. Its
        // second column is the log's size in pages.
        let pages: i64 =
            connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))?;
        if let Some(pace) = &self.checkpoints {
            let turns = pace.turns.swap(0, Ordering::Relaxed);
            if let Ok(pages @ 1..) = usize::try_from(pages) {
                let due = (turns.max(1) * CHECKPOINT_PAGES / pages).clamp(100, 100_000);
                pace.due.store(due, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn save_turns(&self, turns: &[TurnWrite]) -> Vec<Result<Option<Vec<u64>>, StorageError>> {
        let together = {
            let mut connection = self.lock();
            connection.transaction().and_then(|transaction| {
                let numbers = turns
                    .iter()
                    .map(|t| {
                        write_turn(
                            &transaction,
                            &t.session_id,
                            t.state.as_ref(),
                            &t.messages,
                            &t.at,
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                transaction.commit()?;
                Ok(numbers)
            })
        };
        if together.is_ok() {
            self.count_turns(turns.len());
        }
        match together {
            Ok(numbers) => numbers.into_iter().map(Ok).collect(),
            // Rolled back: each turn again in its own transaction, so only the bad one fails.
            Err(_) => turns
                .iter()
                .map(|t| self.save_turn(&t.session_id, t.state.as_ref(), &t.messages, &t.at))
                .collect(),
        }
    }

    fn client_message(
        &self,
        session_id: &str,
        client_id: &str,
    ) -> Result<Option<u64>, StorageError> {
        let connection = self.lock();
        Ok(connection
            .prepare_cached(
                "SELECT m.seq FROM messages m JOIN sessions s ON m.session_no = s.no
                 WHERE s.id = ?1 AND m.client_id = ?2",
            )?
            .query_row([session_id, client_id], |row| row.get(0))
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
        let number: Option<i64> = connection
            .prepare_cached("SELECT no FROM sessions WHERE id = ?1")?
            .query_row([session_id], |row| row.get(0))
            .optional()?;
        let Some(number) = number else {
            return Ok(None);
        };
        let mut statement = connection.prepare_cached(
            "SELECT seq, author, text, at, client_id, rich FROM messages
             WHERE session_no = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        let rows = statement.query_map(params![number, after], |row| {
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

#[cfg(test)]
mod migration_tests {
    use super::*;

    #[test]
    fn a_version_2_history_keeps_its_sessions_and_messages() {
        let dir = std::env::temp_dir().join(format!("chatlet-migrate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("history.db");
        let _ = std::fs::remove_file(&path);
        {
            let old = Connection::open(&path).unwrap();
            for migration in &MIGRATIONS[..2] {
                old.execute_batch(migration).unwrap();
            }
            old.pragma_update(None, "user_version", 2).unwrap();
            old.execute_batch(
                "INSERT INTO sessions VALUES ('s-b', 'u2', x'02', '2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z', 1, 'agent');
                 INSERT INTO sessions VALUES ('s-a', 'u1', x'01', '2026-11-01T00:00:00Z', '2026-11-04T00:00:00Z', 2, 'bot');
                 INSERT INTO messages VALUES ('s-a', 1, 'visitor', '你好', '2026-11-01T00:00:00Z', 'c1', NULL);
                 INSERT INTO messages VALUES ('s-a', 2, 'bot', 'hi', '2026-11-04T00:00:00Z', NULL, '{\"buttons\":[]}');
                 INSERT INTO messages VALUES ('s-b', 1, 'agent', 'hello', '2026-11-03T00:00:00Z', NULL, NULL);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let texts = |id: &str| -> Vec<(u64, String)> {
            store
                .messages_after(id, 0)
                .unwrap()
                .unwrap()
                .into_iter()
                .map(|m| (m.seq, m.text))
                .collect()
        };
        assert_eq!(texts("s-a"), [(1, "你好".to_owned()), (2, "hi".to_owned())]);
        assert_eq!(texts("s-b"), [(1, "hello".to_owned())]);
        assert_eq!(store.client_message("s-a", "c1").unwrap(), Some(1));
        let listed: Vec<(String, Mode)> = store
            .sessions(10, 0)
            .unwrap()
            .into_iter()
            .map(|s| (s.session_id, s.mode))
            .collect();
        assert_eq!(
            listed,
            [
                ("s-a".to_owned(), Mode::Bot),
                ("s-b".to_owned(), Mode::Agent)
            ]
        );
        // New messages follow the migrated ones, and the schema still refuses a repeated
        // client id.
        let next = NewMessage {
            author: Author::Visitor,
            text: "again".to_owned(),
            client_id: Some("c1".to_owned()),
            rich: None,
        };
        assert!(
            store
                .save_turn(
                    "s-a",
                    None,
                    std::slice::from_ref(&next),
                    "2026-11-05T00:00:00Z"
                )
                .is_err()
        );
        let fresh = NewMessage {
            client_id: Some("c2".to_owned()),
            ..next
        };
        assert_eq!(
            store
                .save_turn("s-a", None, &[fresh], "2026-11-05T00:00:00Z")
                .unwrap(),
            Some(vec![3])
        );
        // Messages still refer to their sessions, under the tables' final names.
        let schema: String = store
            .lock()
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'messages'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(
            schema.contains("REFERENCES sessions (no)")
                || schema.contains("REFERENCES \"sessions\""),
            "{schema}"
        );
        // And the author is still checked.
        let unknown_author = store.lock().execute(
            "INSERT INTO messages VALUES (1, 9, 'robot', 'x', '2026-11-05T00:00:00Z', NULL, NULL)",
            [],
        );
        let error = unknown_author.unwrap_err().to_string();
        assert!(error.contains("CHECK constraint failed"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
