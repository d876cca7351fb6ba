//! The gateway every API request passes first: API keys (admin and public), the public key's
//! Origin allow-list, and rate limits per key and per client address.

use crate::error::ApiError;
use axum::http::{HeaderMap, header};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    /// Everything: chat, history, metrics.
    Admin,
    /// Chat only, and only from an allowed Origin (it ships inside web pages).
    Public,
}

/// Keys and origins the server accepts.
#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    pub admin: Vec<String>,
    pub public: Vec<String>,
    /// Origins (`https://shop.example`) the public keys may be used from.
    pub allowed_origins: Vec<String>,
}

/// Requests per second and burst, per key and per client address.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub per_key: (f64, f64),
    pub per_address: (f64, f64),
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_key: (200.0, 400.0),
            per_address: (10.0, 30.0),
        }
    }
}

/// Who is calling, once admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Caller {
    pub(crate) role: Role,
    /// Which key of its role (in the order the server was given them).
    key: usize,
}

impl Caller {
    /// `admin#0`, `public#1`: names the key in logs without revealing it.
    pub(crate) fn key_name(&self) -> String {
        match self.role {
            Role::Admin => format!("admin#{}", self.key),
            Role::Public => format!("public#{}", self.key),
        }
    }
}

/// Checks keys, origins and rates.
#[derive(Debug)]
pub(crate) struct Gateway {
    keys: ApiKeys,
    by_key: TokenBuckets<Caller>,
    /// `None`: requests whose address is unknown share one bucket.
    by_address: TokenBuckets<Option<IpAddr>>,
}

impl Gateway {
    pub(crate) fn new(keys: ApiKeys, limits: RateLimits) -> Gateway {
        Gateway {
            keys,
            by_key: TokenBuckets::new(limits.per_key),
            by_address: TokenBuckets::new(limits.per_address),
        }
    }

    /// Admits a request that needs `needed`, or says why not. The address is limited first, so a
    /// flood of bad keys from one place is cut off too.
    pub(crate) fn admit(
        &self,
        headers: &HeaderMap,
        address: Option<IpAddr>,
        needed: Role,
    ) -> Result<Caller, ApiError> {
        self.limit_address(address)?;
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let caller = self.check_key(presented, origin)?;
        if needed == Role::Admin && caller.role != Role::Admin {
            return Err(ApiError::Forbidden("this needs an admin key"));
        }
        self.limit_key(&caller)?;
        Ok(caller)
    }

    /// Takes a token from the address's bucket.
    pub(crate) fn limit_address(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        self.by_address
            .take(address, Instant::now())
            .map_err(ApiError::RateLimited)
    }

    /// Takes a token from the key's bucket.
    pub(crate) fn limit_key(&self, caller: &Caller) -> Result<(), ApiError> {
        self.by_key
            .take(*caller, Instant::now())
            .map_err(ApiError::RateLimited)
    }

    /// Who holds `presented` (a public key only from an allowed `origin`).
    pub(crate) fn check_key(
        &self,
        presented: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Caller, ApiError> {
        if self.keys.admin.is_empty() && self.keys.public.is_empty() {
            return Err(ApiError::NotConfigured(
                "the API is off: start the server with --admin-key (and --public-key for pages)",
            ));
        }
        let presented = presented.ok_or(ApiError::Unauthorized)?;
        let find = |keys: &[String]| keys.iter().position(|k| same_secret(k, presented));
        if let Some(i) = find(&self.keys.admin) {
            return Ok(Caller {
                role: Role::Admin,
                key: i,
            });
        }
        let i = find(&self.keys.public).ok_or(ApiError::Unauthorized)?;
        let origin = origin.unwrap_or_default();
        if !self.keys.allowed_origins.iter().any(|o| o == origin) {
            return Err(ApiError::Forbidden(
                "this public key may only be used from the site's allowed origins",
            ));
        }
        Ok(Caller {
            role: Role::Public,
            key: i,
        })
    }
}

/// Compares a presented key with a known one in time that does not depend on where they differ.
fn same_secret(known: &str, presented: &str) -> bool {
    let (a, b) = (known.as_bytes(), presented.as_bytes());
    let mut difference = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        difference |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    difference == 0
}

/// One token bucket per name: `rate` tokens a second, at most `burst`.
#[derive(Debug)]
struct TokenBuckets<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

/// Past this many names, buckets that have refilled are forgotten (they hold no information).
const MAX_TRACKED: usize = 100_000;

impl<K: std::hash::Hash + Eq> TokenBuckets<K> {
    fn new((rate, burst): (f64, f64)) -> TokenBuckets<K> {
        TokenBuckets {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `name`, or returns how many seconds until one is there.
    fn take(&self, name: K, now: Instant) -> Result<(), u64> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = buckets.entry(name).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_allow_the_burst_then_refill_at_the_rate() {
        let buckets = TokenBuckets::new((2.0, 3.0));
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(buckets.take("a", start), Ok(()));
        }
        assert_eq!(buckets.take("a", start), Err(1));
        assert_eq!(
            buckets.take("b", start),
            Ok(()),
            "another name has its own bucket"
        );
        assert_eq!(
            buckets.take("a", start + Duration::from_millis(600)),
            Ok(())
        );
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("k-123", "k-123"));
        assert!(!same_secret("k-123", "k-12"));
        assert!(!same_secret("k-123", "k-1234"));
        assert!(!same_secret("k-123", ""));
    }
}
