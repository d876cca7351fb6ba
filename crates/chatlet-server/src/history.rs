//! The server's way to its [`Storage`]. A database's turns are committed in groups by one
//! writer thread (a commit costs more than a turn's rows, and a file's sync must not stall the
//! async threads), its reads run on the blocking pool, and the dialogue state of recently active
//! sessions is kept in memory so that a turn need not read it back. A store that never blocks
//! (in memory) is called directly: for it, each hand-off to another thread cost more than the
//! call (measured: REST turns 25% → 40% of a bare handler's rate without them).

use crate::storage::{MessageRecord, SessionState, Storage, StorageError, TurnWrite};
use chatlet_protocol::{Mode, SessionSummary};
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// How many recently active sessions' states are kept (up to twice as many, see
/// [`LiveSessions`]); a few hundred bytes each.
const LIVE_SESSIONS: usize = 4096;
/// The most turns one commit takes.
const MAX_GROUP: usize = 256;

type Saved = Result<Option<Vec<u64>>, StorageError>;

/// A turn waiting for the writer; it gets its writes back with the result.
struct PendingWrite {
    turn: TurnWrite,
    done: oneshot::Sender<(TurnWrite, Saved)>,
}

pub(crate) struct History {
    store: Arc<dyn Storage>,
    /// `None` when the writer thread could not be started (turns are then saved one by one), or
    /// is not needed (a store that does not block).
    writer: Option<mpsc::Sender<PendingWrite>>,
    live: Mutex<LiveSessions>,
}

impl History {
    pub(crate) fn new(store: Arc<dyn Storage>) -> History {
        if !store.blocks() {
            return History {
                store,
                writer: None,
                live: Mutex::default(),
            };
        }
        let (writer, queue) = mpsc::channel();
        let thread_store = store.clone();
        // The thread ends when the history is dropped (its queue's sender with it).
        let started = std::thread::Builder::new()
            .name("chatlet-history".to_owned())
            .spawn(move || commit_in_groups(thread_store.as_ref(), &queue));
        if let Err(error) = &started {
            tracing::error!(%error, "no history writer thread: turns are committed one by one");
        }
        History {
            store,
            writer: started.ok().map(|_| writer),
            live: Mutex::default(),
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, LiveSessions> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session's state. The caller holds the session's turn when it means to write it
    /// back, so the state kept in memory cannot be older than the stored one.
    pub(crate) async fn session(
        &self,
        session_id: &str,
    ) -> Result<Option<SessionState>, StorageError> {
        if !self.store.blocks() {
            return self.store.session(session_id);
        }
        if let Some(state) = self.live().get(session_id) {
            return Ok(Some(state));
        }
        let id = session_id.to_owned();
        self.blocking(move |store| store.session(&id)).await
    }

    /// Stores a turn (committed with whatever other turns are waiting) and returns its
    /// messages' numbers, or `None` when a turn without state names no session. The caller
    /// holds the session's turn, so what is kept in memory follows the commits' order.
    pub(crate) async fn save(&self, turn: TurnWrite) -> Result<(TurnWrite, Saved), StorageError> {
        if !self.store.blocks() {
            let saved = self.store.save_turn(
                &turn.session_id,
                turn.state.as_ref(),
                &turn.messages,
                &turn.at,
            );
            return Ok((turn, saved));
        }
        let (turn, saved) = match &self.writer {
            Some(writer) => {
                let (done, answer) = oneshot::channel();
                writer
                    .send(PendingWrite { turn, done })
                    .map_err(|_| StorageError("the history writer has stopped".to_owned()))?;
                answer
                    .await
                    .map_err(|_| StorageError("the history writer has stopped".to_owned()))?
            }
            None => {
                self.blocking(move |store| {
                    let saved = store.save_turn(
                        &turn.session_id,
                        turn.state.as_ref(),
                        &turn.messages,
                        &turn.at,
                    );
                    Ok((turn, saved))
                })
                .await?
            }
        };
        let mut live = self.live();
        match (&saved, &turn.state) {
            (Ok(Some(_)), Some(state)) => live.put(&turn.session_id, state.clone()),
            (Ok(_), None) => {}
            // Whether it was stored is unknown: read it back next time.
            _ => live.forget(&turn.session_id),
        }
        Ok((turn, saved))
    }

    /// Sets who answers the session; `false` when there is no such session. The caller holds
    /// the session's turn.
    pub(crate) async fn set_mode(
        &self,
        session_id: &str,
        mode: Mode,
    ) -> Result<bool, StorageError> {
        let id = session_id.to_owned();
        let found = self.blocking(move |store| store.set_mode(&id, mode)).await;
        let mut live = self.live();
        match found {
            Ok(_) => live.set_mode(session_id, mode),
            Err(_) => live.forget(session_id),
        }
        found
    }

    pub(crate) async fn client_message(
        &self,
        session_id: &str,
        client_id: &str,
    ) -> Result<Option<u64>, StorageError> {
        let (id, client) = (session_id.to_owned(), client_id.to_owned());
        self.blocking(move |store| store.client_message(&id, &client))
            .await
    }

    pub(crate) async fn sessions(
        &self,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<SessionSummary>, StorageError> {
        self.blocking(move |store| store.sessions(limit, offset))
            .await
    }

    pub(crate) async fn messages_after(
        &self,
        session_id: &str,
        after: u64,
    ) -> Result<Option<Vec<MessageRecord>>, StorageError> {
        let id = session_id.to_owned();
        self.blocking(move |store| store.messages_after(&id, after))
            .await
    }

    /// Runs a storage call on the blocking pool (or here, when the store does not block).
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Storage) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        if !self.store.blocks() {
            return call(self.store.as_ref());
        }
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || call(store.as_ref()))
            .await
            .map_err(|e| StorageError(format!("a storage call failed: {e}")))?
    }
}

/// The writer thread: takes every turn waiting, commits them together, answers each.
fn commit_in_groups(store: &dyn Storage, queue: &mpsc::Receiver<PendingWrite>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP
            && let Ok(next) = queue.try_recv()
        {
            group.push(next);
        }
        let (turns, done): (Vec<TurnWrite>, Vec<_>) =
            group.into_iter().map(|w| (w.turn, w.done)).unzip();
        let results = store.save_turns(&turns);
        for ((turn, done), saved) in turns.into_iter().zip(done).zip(results) {
            // A caller that went away (its connection closed) needs no answer.
            let _ = done.send((turn, saved));
        }
    }
}

/// Recently active sessions' states: two generations, so that keeping one and finding one
/// cost a hash lookup, and the least recently used half is dropped at once when full.
#[derive(Default)]
struct LiveSessions {
    recent: HashMap<String, SessionState>,
    older: HashMap<String, SessionState>,
}

impl LiveSessions {
    fn get(&mut self, session_id: &str) -> Option<SessionState> {
        if let Some(state) = self.recent.get(session_id) {
            return Some(state.clone());
        }
        let state = self.older.remove(session_id)?;
        self.put(session_id, state.clone());
        Some(state)
    }

    fn put(&mut self, session_id: &str, state: SessionState) {
        if self.recent.len() >= LIVE_SESSIONS && !self.recent.contains_key(session_id) {
            self.older = std::mem::take(&mut self.recent);
        }
        self.older.remove(session_id);
        self.recent.insert(session_id.to_owned(), state);
    }

    fn set_mode(&mut self, session_id: &str, mode: Mode) {
        for generation in [&mut self.recent, &mut self.older] {
            if let Some(state) = generation.get_mut(session_id) {
                state.mode = mode;
            }
        }
    }

    fn forget(&mut self, session_id: &str) {
        self.recent.remove(session_id);
        self.older.remove(session_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_store::MemoryStore;
    use crate::storage::{NewMessage, SqliteStore};
    use chatlet_protocol::Author;

    fn state(user: &str, conversation: u8) -> SessionState {
        SessionState {
            user_id: user.to_owned(),
            conversation: vec![conversation],
            mode: Mode::Bot,
        }
    }

    fn turn(session: &str, state: Option<SessionState>, texts: &[&str]) -> TurnWrite {
        TurnWrite {
            session_id: session.to_owned(),
            state,
            messages: texts
                .iter()
                .map(|t| NewMessage {
                    author: Author::Visitor,
                    text: (*t).to_owned(),
                    client_id: None,
                    rich: None,
                })
                .collect(),
            at: "2026-11-22T10:00:00Z".to_owned(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn turns_saved_together_keep_each_sessions_numbers_and_the_latest_state() {
        concurrent_turns_keep_numbers_and_state(Arc::new(SqliteStore::in_memory().unwrap())).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_store_in_memory_is_called_directly_with_the_same_results() {
        let store: Arc<dyn Storage> = Arc::new(MemoryStore::new());
        // No writer thread holds the store.
        let history = History::new(store.clone());
        assert!(history.writer.is_none());
        assert_eq!(Arc::strong_count(&store), 2);
        drop(history);
        concurrent_turns_keep_numbers_and_state(store).await;
    }

    async fn concurrent_turns_keep_numbers_and_state(store: Arc<dyn Storage>) {
        let history = Arc::new(History::new(store.clone()));
        // Many sessions at once, so that the writer takes several turns per commit.
        let mut tasks = Vec::new();
        for s in 0..40 {
            let history = history.clone();
            tasks.push(tokio::spawn(async move {
                let id = format!("session-{s}");
                let mut numbers = Vec::new();
                for t in 0..5u8 {
                    let (_, saved) = history
                        .save(turn(&id, Some(state("u", t)), &["a", "b"]))
                        .await
                        .unwrap();
                    numbers.extend(saved.unwrap().unwrap());
                }
                numbers
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), (1..=10).collect::<Vec<u64>>());
        }
        // The state in memory and the stored one agree: the last turn's.
        assert_eq!(
            history.session("session-7").await.unwrap(),
            Some(state("u", 4))
        );
        assert_eq!(store.session("session-7").unwrap(), Some(state("u", 4)));
        // A turn without a state needs an existing session.
        let (_, saved) = history.save(turn("nobody", None, &["x"])).await.unwrap();
        assert_eq!(saved.unwrap(), None);
        // A mode change is seen through memory as in the store.
        assert!(history.set_mode("session-7", Mode::Agent).await.unwrap());
        assert_eq!(
            history.session("session-7").await.unwrap().unwrap().mode,
            Mode::Agent
        );
        assert!(!history.set_mode("nobody", Mode::Agent).await.unwrap());
    }

    #[tokio::test]
    async fn a_failing_turn_in_a_group_fails_alone() {
        let store: Arc<dyn Storage> = Arc::new(SqliteStore::in_memory().unwrap());
        let with_client = |session: &str, client: &str| {
            let mut t = turn(session, Some(state("u", 1)), &["hi"]);
            t.messages[0].client_id = Some(client.to_owned());
            t
        };
        store
            .save_turns(&[with_client("s1", "c1")])
            .into_iter()
            .for_each(|r| assert_eq!(r.unwrap(), Some(vec![1])));
        // The same client id again is refused by the schema; the turns around it are saved.
        let results = store.save_turns(&[
            with_client("s2", "c1"),
            with_client("s1", "c1"),
            with_client("s3", "c9"),
        ]);
        assert_eq!(results[0].as_ref().unwrap(), &Some(vec![1]));
        assert!(results[1].is_err());
        assert_eq!(results[2].as_ref().unwrap(), &Some(vec![1]));
        assert_eq!(store.messages_after("s1", 0).unwrap().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn the_writer_thread_ends_with_its_history() {
        let store: Arc<dyn Storage> = Arc::new(SqliteStore::in_memory().unwrap());
        let history = History::new(store.clone());
        let (_, saved) = history
            .save(turn("s", Some(state("u", 1)), &["a"]))
            .await
            .unwrap();
        assert_eq!(saved.unwrap(), Some(vec![1]));
        assert_eq!(Arc::strong_count(&store), 3);
        drop(history);
        // The thread lets go of the store when it ends.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while Arc::strong_count(&store) > 1 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(Arc::strong_count(&store), 1);
    }

    #[test]
    fn live_sessions_stay_bounded_and_keep_the_recently_used() {
        let mut live = LiveSessions::default();
        live.put("first", state("u", 0));
        for i in 0..LIVE_SESSIONS * 3 {
            live.put(&format!("s{i}"), state("u", 1));
            // Used all along, so never dropped.
            assert!(live.get("first").is_some());
        }
        assert!(live.recent.len() + live.older.len() <= 2 * LIVE_SESSIONS);
        assert!(live.get("s0").is_none());
        assert!(live.get(&format!("s{}", LIVE_SESSIONS * 3 - 1)).is_some());
        live.forget("first");
        assert!(live.get("first").is_none());
    }
}
