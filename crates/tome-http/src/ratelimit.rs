//! Request rate limits: fixed one-minute windows per bucket (an API key, a site key and client).
//!
//! Behind a trait so that several nodes can share counters through Redis; the in-memory limiter
//! here serves a single node.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

/// Window length in seconds.
pub const WINDOW_SECS: i64 = 60;

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

/// Counts requests per bucket.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request against `bucket`, allowing at most `limit` per window.
    async fn hit(&self, bucket: &str, limit: u64) -> RateDecision;
}

/// Per-process counters.
#[derive(Debug, Default)]
pub struct MemoryRateLimiter {
    windows: Mutex<HashMap<String, (i64, u64)>>,
}

impl MemoryRateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one request at time `now` (Unix seconds).
    pub fn hit_at(&self, bucket: &str, limit: u64, now: i64) -> RateDecision {
        let window = now - now.rem_euclid(WINDOW_SECS);
        let reset_at = window + WINDOW_SECS;
        // A poisoned lock only means another request panicked mid-update of a counter; the
        // counters are still usable.
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (w, _)| *w == window);
        }
        // Look up before inserting, so the hot path does not allocate the bucket name.
        if !map.contains_key(bucket) {
            map.insert(bucket.to_string(), (window, 0));
        }
        let Some(entry) = map.get_mut(bucket) else {
            unreachable!("inserted above")
        };
        if entry.0 != window {
            *entry = (window, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        RateDecision {
            allowed,
            limit,
            remaining: limit.saturating_sub(entry.1),
            reset_at,
            retry_after: (reset_at - now).max(1) as u64,
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, bucket: &str, limit: u64) -> RateDecision {
        self.hit_at(bucket, limit, tome_core::time::unix_now())
    }
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
        assert!(l.hit_at("other", 2, t + 2).allowed);
        assert!(l.hit_at("k", 2, t + 60).allowed);
    }
}
