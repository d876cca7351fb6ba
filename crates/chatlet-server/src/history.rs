//! The server's way to its [`Storage`]. A database's turns are committed in groups, one group
//! at a time, by a committer task (a commit costs more than a turn's rows), its reads and its
//! upkeep (a file's sync) run on the blocking pool, and the dialogue state of recently active
//! sessions is kept in memory so that a turn need not read it back. A store that never blocks
//! (in memory) is called directly: for it, each hand-off to another thread cost more than the
//! call (measured: REST turns 25% → 40% of a bare handler's rate without them).

use crate::storage::{MessageRecord, SessionState, Storage, StorageError, TurnWrite};
use chatlet_protocol::{Mode, SessionSummary};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// How many recently active sessions' states are kept (up to twice as many, see
/// [`LiveSessions`]); a few hundred bytes each.
const LIVE_SESSIONS: usize = 4096;
/// The most turns one commit takes.
const MAX_GROUP: usize = 256;

type Saved = Result<Option<Vec<u64>>, StorageError>;

/// A turn waiting for its commit; it gets its writes back with the result.
struct PendingWrite {
    turn: TurnWrite,
    done: oneshot::Sender<(TurnWrite, Saved)>,
}

/// Turns waiting for a commit, and whether a committer task is at work on them.
#[derive(Default)]
struct CommitQueue {
    waiting: Vec<PendingWrite>,
    committing: bool,
}

pub(crate) struct History {
    store: Arc<dyn Storage>,
    /// The turns for the committer task of a store that blocks.
    queue: Arc<Mutex<CommitQueue>>,
    live: Mutex<LiveSessions>,
}

impl History {
    pub(crate) fn new(store: Arc<dyn Storage>) -> History {
        History {
            store,
            queue: Arc::default(),
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
        let (done, answer) = oneshot::channel();
        let start_committer = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.waiting.push(PendingWrite { turn, done });
            !std::mem::replace(&mut queue.committing, true)
        };
        if start_committer {
            tokio::spawn(commit_in_groups(self.store.clone(), self.queue.clone()));
        }
        let (turn, saved) = answer
            .await
            .map_err(|_| StorageError("the history committer has stopped".to_owned()))?;
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

/// The committer: takes every turn waiting, commits them together, answers each, and goes on
/// while turns keep coming. The commits run right on an async thread: their writes reach the
/// operating system's cache only (the file is synced by the store's upkeep, which goes to the
/// blocking pool), and a writer thread of their own cost a wake-up there and one back per
/// group, which on two busy cores often waited for a time slice (measured: REST with SQLite,
/// 0.283 → 0.302 of a bare handler's rate, medians of 11 alternating runs, 9 of them better).
/// The price: a commit holds its async thread for ~0.1–0.2 ms, and for as long as another
/// process holds the file's write lock (5 s at most, the busy timeout); the other thread serves
/// meanwhile.
async fn commit_in_groups(store: Arc<dyn Storage>, queue: Arc<Mutex<CommitQueue>>) {
    let mut unfinished = Unfinished(Some(queue.clone()));
    loop {
        let group = {
            let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            if queue.waiting.is_empty() {
                // Under the lock that a new turn takes, so it starts the next committer.
                queue.committing = false;
                unfinished.0 = None;
                return;
            }
            let take = queue.waiting.len().min(MAX_GROUP);
            queue.waiting.drain(..take).collect::<Vec<_>>()
        };
        let (turns, done): (Vec<TurnWrite>, Vec<_>) =
            group.into_iter().map(|w| (w.turn, w.done)).unzip();
        let results = store.save_turns(&turns);
        for ((turn, done), saved) in turns.into_iter().zip(done).zip(results) {
            // A caller that went away (its connection closed) needs no answer.
            let _ = done.send((turn, saved));
        }
        if store.upkeep_due() {
            // Turns that come meanwhile wait, so that the upkeep sees no commit.
            let upkeep_store = store.clone();
            let done = tokio::task::spawn_blocking(move || upkeep_store.upkeep()).await;
            match done {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "history upkeep failed"),
                Err(error) => tracing::warn!(%error, "history upkeep failed"),
            }
        }
        // The answered turns' tasks run before the next group is taken, which then holds
        // whatever came in meanwhile.
        tokio::task::yield_now().await;
    }
}

/// Ends a committer that did not finish (it panicked, or the runtime is shutting down): the
/// turns still waiting are answered with an error (their senders dropped) rather than left to
/// wait for a committer that no one would start, and the next turn starts one.
struct Unfinished(Option<Arc<Mutex<CommitQueue>>>);

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(queue) = &self.0 {
            let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.waiting.clear();
            queue.committing = false;
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
        let history = History::new(store.clone());
        let (_, saved) = history
            .save(turn("s", Some(state("u", 1)), &["a"]))
            .await
            .unwrap();
        assert_eq!(saved.unwrap(), Some(vec![1]));
        // No committer was started: nothing else holds the store, and nothing waits.
        assert_eq!(Arc::strong_count(&store), 2);
        assert!(!history.queue.lock().unwrap().committing);
        drop(history);
        concurrent_turns_keep_numbers_and_state(store).await;
    }

    async fn concurrent_turns_keep_numbers_and_state(store: Arc<dyn Storage>) {
        let history = Arc::new(History::new(store.clone()));
        // Many sessions at once, so that the committer takes several turns per commit.
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

    /// A SQLite store whose first group commit panics.
    struct PanicsOnce {
        store: SqliteStore,
        panicked: std::sync::atomic::AtomicBool,
    }

    impl Storage for PanicsOnce {
        fn session(&self, id: &str) -> Result<Option<SessionState>, StorageError> {
            self.store.session(id)
        }
        fn save_turn(
            &self,
            id: &str,
            state: Option<&SessionState>,
            messages: &[NewMessage],
            at: &str,
        ) -> Result<Option<Vec<u64>>, StorageError> {
            self.store.save_turn(id, state, messages, at)
        }
        fn save_turns(&self, turns: &[TurnWrite]) -> Vec<Saved> {
            if !self
                .panicked
                .swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                panic!("a store that fails badly");
            }
            self.store.save_turns(turns)
        }
        fn client_message(&self, id: &str, client: &str) -> Result<Option<u64>, StorageError> {
            self.store.client_message(id, client)
        }
        fn sessions(&self, limit: u32, offset: u32) -> Result<Vec<SessionSummary>, StorageError> {
            self.store.sessions(limit, offset)
        }
        fn set_mode(&self, id: &str, mode: Mode) -> Result<bool, StorageError> {
            self.store.set_mode(id, mode)
        }
        fn messages_after(
            &self,
            id: &str,
            after: u64,
        ) -> Result<Option<Vec<MessageRecord>>, StorageError> {
            self.store.messages_after(id, after)
        }
    }

    #[tokio::test]
    async fn a_committer_that_panics_fails_its_turns_and_the_next_turn_is_saved() {
        let history = History::new(Arc::new(PanicsOnce {
            store: SqliteStore::in_memory().unwrap(),
            panicked: false.into(),
        }));
        let failed = history.save(turn("s", Some(state("u", 1)), &["a"])).await;
        assert!(failed.is_err());
        assert!(!history.queue.lock().unwrap().committing);
        let next = history.save(turn("s", Some(state("u", 1)), &["b"]));
        let (_, saved) = tokio::time::timeout(std::time::Duration::from_secs(10), next)
            .await
            .expect("the next turn was saved, not left waiting")
            .unwrap();
        assert_eq!(saved.unwrap(), Some(vec![1]));
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
    async fn the_committer_ends_when_no_turn_waits_and_starts_again_for_the_next() {
        let store: Arc<dyn Storage> = Arc::new(SqliteStore::in_memory().unwrap());
        let history = History::new(store.clone());
        for (n, text) in ["a", "b"].into_iter().enumerate() {
            let (_, saved) = history
                .save(turn("s", Some(state("u", 1)), &[text]))
                .await
                .unwrap();
            assert_eq!(saved.unwrap(), Some(vec![n as u64 + 1]));
            // The committer lets go of the store once the queue is empty.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while Arc::strong_count(&store) > 2 && std::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            assert_eq!(Arc::strong_count(&store), 2);
            assert!(!history.queue.lock().unwrap().committing);
        }
    }

    /// The history file in `dir` after 30,000 turns, and the most pages its log held: turns that
    /// each start a session, 20 at a time (so that they share commits), or turns that go on with
    /// 20 conversations one at a time (each commit its own, several pages a turn).
    async fn largest_log(dir: &std::path::Path, conversations: bool) -> u64 {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("history.db");
        let store: Arc<dyn Storage> = Arc::new(SqliteStore::open(&path).unwrap());
        let history = Arc::new(History::new(store.clone()));
        let wal = dir.join("history.db-wal");
        let mut largest_log = 0;
        for round in 0..1500 {
            let mut tasks = Vec::new();
            for s in 0..20 {
                let history = history.clone();
                let id = if conversations {
                    format!("session-{s}")
                } else {
                    format!("session-{round}-{s}")
                };
                let save = async move {
                    let (_, saved) = history
                        .save(turn(&id, Some(state("u", 1)), &["a", "b"]))
                        .await
                        .unwrap();
                    let first = if conversations { 2 * round + 1 } else { 1 };
                    assert_eq!(saved.unwrap(), Some(vec![first, first + 1]));
                };
                if conversations {
                    save.await;
                } else {
                    tasks.push(tokio::spawn(save));
                }
            }
            for task in tasks {
                task.await.unwrap();
            }
            largest_log = largest_log.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while history.queue.lock().unwrap().committing && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(!store.upkeep_due());
        // Everything is in the file: another connection reads it.
        let reader = SqliteStore::open(&path).unwrap();
        let first = if conversations {
            "session-0"
        } else {
            "session-0-0"
        };
        let stored = reader.messages_after(first, 0).unwrap().unwrap().len();
        assert_eq!(stored, if conversations { 3000 } else { 2 });
        largest_log / 4096
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_history_files_log_is_checkpointed_to_about_ten_thousand_pages() {
        let dir = std::env::temp_dir().join(format!("chatlet-checkpoint-{}", std::process::id()));
        // Without checkpoints the log would hold tens of thousands of pages in either case.
        for conversations in [false, true] {
            let pages = largest_log(&dir.join(conversations.to_string()), conversations).await;
            assert!(
                (1_000..15_000).contains(&pages),
                "conversations {conversations}: the log grew to {pages} pages"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
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
