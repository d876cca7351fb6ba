//! Session ids the server draws: 32 hex digits, the time in milliseconds (48 bits) then 80 bits
//! of the operating system's randomness, as a UUIDv7 is laid out. Ids that follow the time land
//! at the end of a database's index instead of on a random page each: with a SQLite history, a
//! turn that starts a session wrote a page of the id index alone (measured: REST with `--db`,
//! every request a new session, ~8,000 -> ~11,000 req/s). 80 random bits leave an id as
//! unguessable as ever, and a session is its first user's anyway. The randomness is read 4 KiB
//! at a time, so that a new session costs no system call.

use std::sync::{Mutex, PoisonError};

/// How many bytes one read of the operating system's randomness takes.
const POOL_BYTES: usize = 4096;
/// Random bytes per id.
const RANDOM_BYTES: usize = 10;

/// Unused randomness, handed out once each.
pub(crate) struct SessionIds {
    pool: Mutex<Pool>,
}

struct Pool {
    bytes: Box<[u8; POOL_BYTES]>,
    /// Bytes before this one have been handed out.
    used: usize,
}

impl Default for SessionIds {
    fn default() -> SessionIds {
        SessionIds {
            pool: Mutex::new(Pool {
                bytes: Box::new([0; POOL_BYTES]),
                // Empty: the first id fills it.
                used: POOL_BYTES,
            }),
        }
    }
}

impl SessionIds {
    /// A new id, or the reason the operating system gave no randomness.
    pub(crate) fn draw(&self) -> Result<String, getrandom::Error> {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.draw_at(millis)
    }

    fn draw_at(&self, millis: u64) -> Result<String, getrandom::Error> {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.used + RANDOM_BYTES > POOL_BYTES {
            getrandom::fill(&mut pool.bytes[..])?;
            pool.used = 0;
        }
        let start = pool.used;
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
        bytes[6..].copy_from_slice(&pool.bytes[start..start + RANDOM_BYTES]);
        // Handed out bytes are not kept: a later leak of the process's memory shows none of them.
        pool.bytes[start..start + RANDOM_BYTES].fill(0);
        pool.used += RANDOM_BYTES;
        drop(pool);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = String::with_capacity(2 * bytes.len());
        for b in bytes {
            id.push(char::from(HEX[usize::from(b >> 4)]));
            id.push(char::from(HEX[usize::from(b & 15)]));
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_lead_with_the_time_and_never_repeat_their_random_part_across_refills() {
        let ids = SessionIds::default();
        let start = 1_795_000_000_000u64;
        // Three pools' worth, several per millisecond: each refill must give new bytes.
        let drawn: Vec<String> = (0..3 * POOL_BYTES / RANDOM_BYTES)
            .map(|i| ids.draw_at(start + i as u64 / 4).unwrap())
            .collect();
        for (i, id) in drawn.iter().enumerate() {
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
                "{id}"
            );
            assert_eq!(id[..12], format!("{:012x}", start + i as u64 / 4), "{id}");
        }
        // Later ids sort after earlier ones from another millisecond.
        assert!(drawn.windows(5).all(|w| w[0] < w[4]));
        let random: std::collections::HashSet<&str> = drawn.iter().map(|id| &id[12..]).collect();
        assert_eq!(random.len(), drawn.len());
        assert!(!random.contains("0".repeat(20).as_str()));
        // And the clock's ids are of now, not of 1970.
        let now = ids.draw().unwrap();
        assert!(now[..12] > *"018000000000", "{now}");
    }
}
