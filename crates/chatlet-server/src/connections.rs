//! The connection service: which WebSocket connections follow which session, so that an event
//! (a bot answer, an agent's message) reaches every tab of the visitor at once; and how many
//! connections each client address holds.

use chatlet_protocol::{Event, ServerFrame};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

/// Frames waiting for one connection's writer; beyond this the connection is too slow and is
/// dropped rather than let memory grow.
pub(crate) const OUTBOX_FRAMES: usize = 256;

/// The sockets following one session, and the user it belongs to.
#[derive(Debug)]
struct Followers {
    user_id: String,
    /// Connection id and outbox of frames (as JSON text).
    outboxes: Vec<(u64, mpsc::Sender<Arc<str>>)>,
}

impl Followers {
    /// Queues `frame` (serialized once) on every outbox; a full outbox drops its connection.
    fn send(&mut self, frame: &ServerFrame) {
        let text: Arc<str> = serde_json::to_string(frame).unwrap_or_default().into();
        self.outboxes
            .retain(|(_, outbox)| outbox.try_send(text.clone()).is_ok());
    }
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    by_session: HashMap<String, Followers>,
    by_address: HashMap<IpAddr, usize>,
}

/// Live connections.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
}

/// Holds a connection's place; dropping it unregisters the connection.
#[derive(Debug)]
pub(crate) struct Registration {
    registry: Arc<Registry>,
    address: Option<IpAddr>,
    session: Option<(String, u64)>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a new connection from `address`, unless it already holds `limit`.
    pub(crate) fn admit(
        self: &Arc<Self>,
        address: Option<IpAddr>,
        limit: usize,
    ) -> Option<Registration> {
        if let Some(address) = address {
            let mut inner = self.lock();
            let count = inner.by_address.entry(address).or_insert(0);
            if *count >= limit {
                return None;
            }
            *count += 1;
        }
        Some(Registration {
            registry: self.clone(),
            address,
            session: None,
        })
    }

    /// Sends `frame` to every connection following `session_id`; a connection whose outbox is
    /// full is dropped from the session (its writer then closes it). The frame is serialized
    /// once, and outboxes hold text: a slot costs a pointer, not a whole frame, which keeps an
    /// idle connection small.
    pub(crate) fn push(&self, session_id: &str, frame: &ServerFrame) {
        if let Some(followers) = self.lock().by_session.get_mut(session_id) {
            followers.send(frame);
        }
    }

    /// Sends each of `events` to every connection following `session_id`, in order, as
    /// [`push`](Self::push) does; with no one following, nothing is copied or serialized.
    pub(crate) fn push_events(&self, session_id: &str, events: &[Event]) {
        if let Some(followers) = self.lock().by_session.get_mut(session_id) {
            for event in events {
                followers.send(&ServerFrame::Event(event.clone()));
            }
        }
    }

    /// The user whose connections follow `session_id`, if any do (a session not stored yet is
    /// theirs until it is).
    pub(crate) fn follower(&self, session_id: &str) -> Option<String> {
        self.lock()
            .by_session
            .get(session_id)
            .map(|followers| followers.user_id.clone())
    }

    /// Live connections in all.
    pub(crate) fn count(&self) -> usize {
        self.lock().by_address.values().sum()
    }
}

impl Registration {
    /// Makes this connection follow `session_id` for `user_id`, receiving its events through
    /// `outbox`; `false` when connections of another user already follow it (a session not yet
    /// stored is reserved by its first connection).
    pub(crate) fn follow(
        &mut self,
        session_id: &str,
        user_id: &str,
        outbox: mpsc::Sender<Arc<str>>,
    ) -> bool {
        let mut inner = self.registry.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        let followers = inner
            .by_session
            .entry(session_id.to_owned())
            .or_insert_with(|| Followers {
                user_id: user_id.to_owned(),
                outboxes: Vec::new(),
            });
        if followers.user_id != user_id {
            return false;
        }
        followers.outboxes.push((id, outbox));
        self.session = Some((session_id.to_owned(), id));
        true
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut inner = self.registry.lock();
        if let Some((session, id)) = self.session.take()
            && let Some(followers) = inner.by_session.get_mut(&session)
        {
            followers.outboxes.retain(|(other, _)| *other != id);
            if followers.outboxes.is_empty() {
                inner.by_session.remove(&session);
            }
        }
        if let Some(address) = self.address
            && let Some(count) = inner.by_address.get_mut(&address)
        {
            *count -= 1;
            if *count == 0 {
                inner.by_address.remove(&address);
            }
        }
    }
}

/// The sessions with a turn in progress: turns of different sessions run in parallel, turns of
/// the same session one after the other. A turn waits for the store, so the wait is async.
#[derive(Debug, Default)]
pub(crate) struct SessionLocks {
    busy: Mutex<HashSet<Arc<str>>>,
    freed: tokio::sync::Notify,
    /// Turns waiting for their session: an ending turn wakes waiters only when there are some
    /// (waking takes the notifier's lock, which every turn of every session would share).
    waiting: AtomicUsize,
}

/// A session's turn in progress; dropping it lets the next one run.
pub(crate) struct SessionGuard<'a> {
    locks: &'a SessionLocks,
    session: Arc<str>,
}

/// Counts a turn as waiting while it lives (also when the waiting turn is dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SessionLocks {
    /// Waits until no other turn of `session` runs.
    pub(crate) async fn lock(&self, session: &str) -> SessionGuard<'_> {
        let session: Arc<str> = Arc::from(session);
        if self.take(&session) {
            return SessionGuard {
                locks: self,
                session,
            };
        }
        // Counted before the checks below: a turn that ends after one of them sees the count
        // and wakes this one (its removal and this check are ordered by the `busy` lock).
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        loop {
            // Registered before the check, so a turn ending in between still wakes this one.
            let freed = self.freed.notified();
            let mut freed = std::pin::pin!(freed);
            freed.as_mut().enable();
            if self.take(&session) {
                return SessionGuard {
                    locks: self,
                    session,
                };
            }
            freed.await;
        }
    }

    /// Marks `session` busy unless it already is.
    fn take(&self, session: &Arc<str>) -> bool {
        self.busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(session.clone())
    }
}

impl Drop for SessionGuard<'_> {
    fn drop(&mut self) {
        self.locks
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.session);
        if self.locks.waiting.load(Ordering::SeqCst) > 0 {
            self.locks.freed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sessions_turns_take_turns_and_other_sessions_do_not_wait() {
        let locks = Arc::new(SessionLocks::default());
        let first = locks.lock("s1").await;
        // Another session is not held up.
        let other = tokio::time::timeout(Duration::from_secs(5), locks.lock("s2")).await;
        assert!(other.is_ok(), "another session waited");
        drop(other);
        // The same session waits until the first turn ends, then runs.
        let (sender, mut receiver) = tokio::sync::oneshot::channel();
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _turn = locks.lock("s1").await;
                let _ = sender.send(());
            })
        };
        let early = tokio::time::timeout(Duration::from_millis(200), &mut receiver).await;
        assert!(early.is_err(), "the second turn ran during the first");
        assert_eq!(locks.waiting.load(Ordering::SeqCst), 1);
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), receiver)
            .await
            .expect("the second turn never ran")
            .unwrap();
        waiter.await.unwrap();
        assert_eq!(locks.waiting.load(Ordering::SeqCst), 0);
        // A waiting turn given up (its request went away) is no longer counted.
        let held = locks.lock("s3").await;
        let given_up = tokio::time::timeout(Duration::from_millis(50), locks.lock("s3")).await;
        assert!(given_up.is_err());
        assert_eq!(locks.waiting.load(Ordering::SeqCst), 0);
        drop(held);
        assert!(locks.busy.lock().unwrap().is_empty());
    }
}
