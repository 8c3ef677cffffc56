//! Request rate limits: fixed one-minute windows per bucket (an API key, a site key and client).
//!
//! Behind a trait so that several nodes can share counters through Redis; the in-memory limiter
//! here serves a single node.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

mod redis_limiter;
pub use redis_limiter::RedisRateLimiter;

/// Window length in seconds.
pub const WINDOW_SECS: i64 = 60;

/// Shards of the in-memory counters: requests for different buckets rarely share a lock.
const SHARDS: usize = 32;

/// Buckets one shard holds in a window before new ones are let through uncounted (see
/// [`MemoryRateLimiter`]). 32 shards × 32,768 ≈ 1M buckets, under 40 MB at worst.
const SHARD_CAPACITY: usize = 32_768;

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Unix time (seconds) at which the window resets.
    pub reset_at: i64,
    /// Seconds until the window resets (at least 1).
    pub retry_after: u64,
}

impl RateDecision {
    pub(crate) fn at(now: i64, limit: u64, count: u64, allowed: bool) -> Self {
        let reset_at = now - now.rem_euclid(WINDOW_SECS) + WINDOW_SECS;
        RateDecision {
            allowed,
            limit,
            remaining: limit.saturating_sub(count),
            reset_at,
            retry_after: (reset_at - now).max(1) as u64,
        }
    }
}

/// Counts requests per bucket.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request against `bucket`, allowing at most `limit` per window.
    async fn hit(&self, bucket: &str, limit: u64) -> RateDecision;

    /// Whether the shared store behind the limiter answers now; `None` when there is none.
    async fn probe(&self) -> Option<bool> {
        None
    }
}

#[derive(Debug, Default)]
struct Shard {
    /// Start of the window the counts belong to.
    window: i64,
    /// Counts by the bucket name's keyed 64-bit hash ([`MemoryRateLimiter::hasher`]), not by the
    /// name: a lookup is one hash and one probe of a flat table, with no name to allocate, chase
    /// or compare (the names cost a cache miss and a `memcmp` per request, ~4% of a cached public
    /// read's CPU). Two names share a counter only if their hashes collide under this process's
    /// random key: with every shard full (a million buckets) the chance that any two do is about
    /// one in 10⁹, and a client cannot aim for it without the key.
    counts: HashMap<u64, u64, BuildHasherDefault<Prehashed>>,
}

/// The identity hasher for keys that already are keyed hashes.
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; fold anything else in rather than lose it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Per-process counters.
///
/// Windows are aligned to the clock, so every count of the previous window is worthless the
/// moment a new one starts: each shard simply clears itself on the first request of a new window.
/// That keeps every request O(1) however many clients there are. A flood of distinct buckets
/// within one window (e.g. refusals from a botnet) is bounded by [`SHARD_CAPACITY`]: past it,
/// requests for *new* buckets are allowed without being counted (known buckets are still
/// limited), and a warning is logged once per window — failing open rather than refusing
/// legitimate readers or growing without bound.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    hasher: RandomState,
    shards: Vec<Mutex<Shard>>,
    /// Buckets per shard per window (normally [`SHARD_CAPACITY`]).
    capacity: usize,
    /// The window in which the capacity warning was last logged.
    warned_window: AtomicI64,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        MemoryRateLimiter {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            capacity: SHARD_CAPACITY,
            warned_window: AtomicI64::new(i64::MIN),
        }
    }
}

impl MemoryRateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A limiter holding at most `per_shard` buckets in each of its shards per window.
    pub fn with_shard_capacity(per_shard: usize) -> Self {
        MemoryRateLimiter {
            capacity: per_shard,
            ..Self::default()
        }
    }

    /// Counts one request at time `now` (Unix seconds).
    pub fn hit_at(&self, bucket: &str, limit: u64, now: i64) -> RateDecision {
        let window = now - now.rem_euclid(WINDOW_SECS);
        let key = self.hasher.hash_one(bucket);
        // The shard from bits the table itself does not use: it places entries by the low bits
        // and tags them with the top seven.
        let shard = &self.shards[((key >> 32) as usize) % SHARDS];
        // A poisoned lock only means another request panicked mid-update of a counter; the
        // counters are still usable.
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        if shard.window != window {
            shard.window = window;
            shard.counts.clear();
        }
        if let Some(count) = shard.counts.get_mut(&key) {
            let allowed = *count < limit;
            if allowed {
                *count += 1;
            }
            return RateDecision::at(now, limit, *count, allowed);
        }
        if shard.counts.len() >= self.capacity {
            drop(shard);
            if self.warned_window.swap(window, Ordering::Relaxed) != window {
                tracing::warn!(
                    buckets = self.capacity * SHARDS,
                    "rate limiter full for this window; new clients pass uncounted"
                );
            }
            return RateDecision::at(now, limit, 1, true);
        }
        let allowed = limit > 0;
        let count = u64::from(allowed);
        shard.counts.insert(key, count);
        RateDecision::at(now, limit, count, allowed)
    }

    /// Buckets counted in the current windows, for tests and metrics.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).counts.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, bucket: &str, limit: u64) -> RateDecision {
        self.hit_at(bucket, limit, tome_core::time::unix_now())
    }
}

/// `X-RateLimit-*`: what a rate-limited response says of its bucket.
const RATE_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const RATE_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RATE_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Adds `X-RateLimit-Limit`, `-Remaining` and `-Reset` (Unix seconds) to a response.
pub fn with_rate_headers(mut resp: Response, d: &RateDecision) -> Response {
    let (limit, reset) = header_values(d.limit, d.reset_at);
    let h = resp.headers_mut();
    h.insert(RATE_LIMIT, limit);
    h.insert(RATE_REMAINING, HeaderValue::from(d.remaining));
    h.insert(RATE_RESET, reset);
    resp
}

/// `limit` and `reset_at` as header values. Both are the same for most requests (one limit per
/// key kind, one reset per minute), so each thread keeps the last ones: cloning a value is a
/// reference count, formatting one is an allocation.
fn header_values(limit: u64, reset_at: i64) -> (HeaderValue, HeaderValue) {
    use std::cell::RefCell;
    type Last = Option<((u64, HeaderValue), (i64, HeaderValue))>;
    thread_local! {
        static LAST: RefCell<Last> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        let (l, r) = last.get_or_insert_with(|| {
            (
                (limit, HeaderValue::from(limit)),
                (reset_at, HeaderValue::from(reset_at)),
            )
        });
        if l.0 != limit {
            *l = (limit, HeaderValue::from(limit));
        }
        if r.0 != reset_at {
            *r = (reset_at, HeaderValue::from(reset_at));
        }
        (l.1.clone(), r.1.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_window_and_resets() {
        let l = MemoryRateLimiter::new();
        let t = 1_000_020;
        assert!(l.hit_at("k", 2, t).allowed);
        let d = l.hit_at("k", 2, t + 1);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        let d = l.hit_at("k", 2, t + 2);
        assert!(!d.allowed);
        // 1_000_020 is itself a window start (a multiple of 60).
        assert_eq!(d.reset_at, 1_000_080);
        assert_eq!(d.retry_after, 58);
        assert!(l.hit_at("other", 2, t + 2).allowed);
        assert!(l.hit_at("k", 2, t + 60).allowed);
    }

    #[test]
    fn a_new_window_forgets_every_bucket() {
        let l = MemoryRateLimiter::new();
        let t = 1_000_020;
        for i in 0..1000 {
            l.hit_at(&format!("client:{i}"), 5, t);
        }
        assert_eq!(l.len(), 1000);
        // Touching every shard in the next window drops the old counts.
        for i in 0..1000 {
            l.hit_at(&format!("client:{i}"), 5, t + 60);
        }
        assert_eq!(l.len(), 1000);
        assert_eq!(l.hit_at("client:1", 5, t + 61).remaining, 3);
    }

    #[test]
    fn a_flood_of_buckets_stays_bounded_and_known_buckets_stay_limited() {
        let l = MemoryRateLimiter::with_shard_capacity(8);
        let t = 1_000_020;
        assert!(l.hit_at("victim", 1, t).allowed);
        // Far more than fills every shard, whatever the hash spread.
        for i in 0..(SHARDS * 8 * 20) {
            l.hit_at(&format!("flood:{i}"), 1, t);
        }
        assert_eq!(l.len(), SHARDS * 8, "every shard full, none past capacity");
        assert!(!l.hit_at("victim", 1, t).allowed);
        // Past capacity, an unknown bucket passes uncounted instead of being refused.
        assert!(l.hit_at("newcomer", 1, t).allowed);
        assert!(l.hit_at("newcomer", 1, t).allowed);
        // The next window starts empty.
        assert!(l.hit_at("newcomer", 1, t + 60).allowed);
        assert!(!l.hit_at("newcomer", 1, t + 60).allowed);
    }
}
