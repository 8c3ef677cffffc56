//! Rate limits shared by every node through Redis, falling back to per-node counters while
//! Redis is unreachable.
//!
//! Each request is one `EVALSHA` of a two-line script that increments the bucket's counter for
//! the current window and sets its expiry on first use — atomic, so N nodes together allow
//! exactly `limit` requests per window. When a call fails or times out, the limiter logs one
//! warning, counts the failure in the metrics and answers from its in-memory limiter; it then
//! probes Redis again at most once a second and switches back, logging once, as soon as Redis
//! answers. Redis trouble never turns into a 5xx.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{MemoryRateLimiter, RateDecision, RateLimiter, WINDOW_SECS};
use crate::metrics::Metrics;

/// Increments `KEYS[1]` and gives it a lifetime of `ARGV[1]` seconds when it is new.
const SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
";

/// How long a request waits for Redis before falling back.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);

/// While Redis is down, how often one request tries it again (milliseconds).
const PROBE_INTERVAL_MS: i64 = 1000;

/// Counters in Redis, per-node counters while Redis is down.
pub struct RedisRateLimiter {
    conn: ConnectionManager,
    script: redis::Script,
    fallback: MemoryRateLimiter,
    healthy: AtomicBool,
    /// Unix milliseconds after which an unhealthy limiter tries Redis again.
    next_probe_ms: AtomicI64,
    metrics: Arc<Metrics>,
    prefix: String,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("healthy", &self.healthy.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// A limiter on the Redis at `url`. Does not wait for Redis: a node starts (and limits per
    /// node) while Redis is down, and shares limits once it is up.
    pub fn new(url: &str, metrics: Arc<Metrics>) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        metrics.redis_up.set(1);
        Ok(RedisRateLimiter {
            conn,
            script: redis::Script::new(SCRIPT),
            fallback: MemoryRateLimiter::new(),
            healthy: AtomicBool::new(true),
            next_probe_ms: AtomicI64::new(0),
            metrics,
            prefix: "tome:rl:".to_string(),
        })
    }

    /// Whether the last call to Redis succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Counts one request in Redis; `None` if Redis did not answer.
    async fn hit_redis(&self, bucket: &str, now: i64) -> Option<u64> {
        let window = now - now.rem_euclid(WINDOW_SECS);
        let key = format!("{}{window}:{bucket}", self.prefix);
        let mut conn = self.conn.clone();
        let mut call = self.script.key(key);
        // A little longer than the window, so a counter never outlives it by much.
        call.arg(WINDOW_SECS + 5);
        let result: redis::RedisResult<u64> =
            match tokio::time::timeout(CALL_TIMEOUT, call.invoke_async(&mut conn)).await {
                Ok(r) => r,
                Err(_) => Err(redis::RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "redis call timed out",
                ))),
            };
        match result {
            Ok(n) => {
                if !self.healthy.swap(true, Ordering::Relaxed) {
                    tracing::info!("redis reachable again; rate limits are shared across nodes");
                    self.metrics.redis_up.set(1);
                }
                Some(n)
            }
            Err(e) => {
                if self.healthy.swap(false, Ordering::Relaxed) {
                    tracing::warn!(
                        error = %e,
                        "redis unreachable; rate limits fall back to per-node counters"
                    );
                    self.metrics.redis_up.set(0);
                }
                self.metrics.redis_errors.inc();
                self.next_probe_ms
                    .store(now_ms() + PROBE_INTERVAL_MS, Ordering::Relaxed);
                None
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, bucket: &str, limit: u64) -> RateDecision {
        let now = tome_core::time::unix_now();
        // While Redis is down, one request per interval probes it; the rest go straight to the
        // fallback instead of each waiting on a dead connection.
        let try_redis = self.healthy.load(Ordering::Relaxed) || {
            let next = self.next_probe_ms.load(Ordering::Relaxed);
            let ms = now_ms();
            ms >= next
                && self
                    .next_probe_ms
                    .compare_exchange(
                        next,
                        ms + PROBE_INTERVAL_MS,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_ok()
        };
        if try_redis && let Some(n) = self.hit_redis(bucket, now).await {
            return RateDecision::at(now, limit, n.min(limit), n <= limit);
        }
        self.metrics.rate_limit_fallbacks.inc();
        self.fallback.hit_at(bucket, limit, now)
    }

    async fn probe(&self) -> Option<bool> {
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        let up = matches!(tokio::time::timeout(CALL_TIMEOUT, ping).await, Ok(Ok(_)));
        if up && !self.healthy.swap(true, Ordering::Relaxed) {
            tracing::info!("redis reachable again; rate limits are shared across nodes");
            self.metrics.redis_up.set(1);
        }
        Some(up)
    }
}
