//! Session ids the server draws: 128 bits of the operating system's randomness each, in hex.
//! The randomness is read 4 KiB at a time, so that a new session costs no system call (one
//! `getrandom` per 256 sessions; it was one of three system calls per REST request).

use std::sync::{Mutex, PoisonError};

/// How many bytes one read of the operating system's randomness takes.
const POOL_BYTES: usize = 4096;
/// Bytes per id.
const ID_BYTES: usize = 16;

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
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.used + ID_BYTES > POOL_BYTES {
            getrandom::fill(&mut pool.bytes[..])?;
            pool.used = 0;
        }
        let start = pool.used;
        let mut bytes = [0u8; ID_BYTES];
        bytes.copy_from_slice(&pool.bytes[start..start + ID_BYTES]);
        // Handed out bytes are not kept: a later leak of the process's memory shows none of them.
        pool.bytes[start..start + ID_BYTES].fill(0);
        pool.used += ID_BYTES;
        drop(pool);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = String::with_capacity(2 * ID_BYTES);
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
    fn ids_are_32_hex_digits_and_never_repeat_across_refills() {
        let ids = SessionIds::default();
        // Three pools' worth: each refill must give new bytes, not the old ones again.
        let drawn: Vec<String> = (0..3 * POOL_BYTES / ID_BYTES)
            .map(|_| ids.draw().unwrap())
            .collect();
        for id in &drawn {
            assert_eq!(id.len(), 32);
            assert!(
                id.bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
                "{id}"
            );
        }
        let distinct: std::collections::HashSet<&String> = drawn.iter().collect();
        assert_eq!(distinct.len(), drawn.len());
        // Not all zero (the empty pool's bytes).
        assert!(drawn.iter().all(|id| id != &"0".repeat(32)));
    }
}
