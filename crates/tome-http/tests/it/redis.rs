//! The Redis-backed rate limiter against a private `redis-server`: limits shared by several
//! limiters ("nodes"), per-node fallback while Redis is down, and recovery without a restart.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tome_http::metrics::Metrics;
use tome_http::ratelimit::{RateLimiter, RedisRateLimiter};

/// A `redis-server` of our own on a free port, so stopping it disturbs nobody else.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one, or returns `None` (printing why) when there is no `redis-server` outside CI.
    fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let mut r = PrivateRedis { port, child: None };
        if !r.spawn() {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
            assert!(!ci, "redis-server is required in CI");
            eprintln!("skipping: redis-server is not installed");
            return None;
        }
        Some(r)
    }

    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else { return false };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn bucket(name: &str) -> String {
    // Unique per run: the counters live in Redis for a minute.
    format!("test:{name}:{}", tome_core::id::new_id("x"))
}

#[tokio::test]
async fn nodes_share_one_limit_through_redis() {
    let Some(redis) = PrivateRedis::start() else {
        return;
    };
    let metrics = Arc::new(Metrics::new());
    let a = RedisRateLimiter::new(&redis.url(), metrics.clone()).expect("limiter a");
    let b = RedisRateLimiter::new(&redis.url(), metrics.clone()).expect("limiter b");
    let key = bucket("shared");
    let mut allowed = 0;
    for i in 0..20 {
        let node: &dyn RateLimiter = if i % 2 == 0 { &a } else { &b };
        if node.hit(&key, 7).await.allowed {
            allowed += 1;
        }
    }
    assert_eq!(
        allowed, 7,
        "two nodes together allow the limit once, not twice"
    );
    let d = a.hit(&key, 7).await;
    assert!(!d.allowed);
    assert_eq!(d.remaining, 0);
    assert!(d.retry_after >= 1 && d.retry_after <= 60);
    assert_eq!(a.probe().await, Some(true));
}

#[tokio::test]
async fn redis_down_falls_back_per_node_and_recovers_without_restart() {
    let Some(mut redis) = PrivateRedis::start() else {
        return;
    };
    let metrics = Arc::new(Metrics::new());
    let limiter = RedisRateLimiter::new(&redis.url(), metrics.clone()).expect("limiter");
    let key = bucket("fault");
    assert!(limiter.hit(&key, 3).await.allowed);
    assert!(limiter.is_healthy());

    redis.stop();
    // Every request still gets an answer, quickly, from the per-node counters.
    let started = Instant::now();
    let fallback: Vec<bool> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(limiter.hit(&key, 3).await.allowed);
        }
        v
    };
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "fallback is fast"
    );
    assert_eq!(
        fallback,
        [true, true, true, false, false],
        "per-node limit applies"
    );
    assert!(!limiter.is_healthy());
    assert_eq!(limiter.probe().await, Some(false));
    let text = metrics.render(&[]);
    assert!(text.contains("tome_redis_up 0"), "{text}");
    assert!(
        !text.contains("tome_rate_limit_fallbacks_total 0\n"),
        "{text}"
    );

    redis.spawn();
    // Within a few probe intervals the limiter is back on Redis (a fresh, empty server).
    let deadline = Instant::now() + Duration::from_secs(10);
    let shared_key = bucket("recovered");
    loop {
        limiter.hit(&shared_key, 1000).await;
        if limiter.is_healthy() {
            break;
        }
        assert!(Instant::now() < deadline, "limiter did not return to redis");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let other = RedisRateLimiter::new(&redis.url(), metrics.clone()).expect("second node");
    let key = bucket("after");
    assert!(limiter.hit(&key, 2).await.allowed);
    assert!(other.hit(&key, 2).await.allowed);
    assert!(
        !limiter.hit(&key, 2).await.allowed,
        "shared again after recovery"
    );
    assert!(metrics.render(&[]).contains("tome_redis_up 1"));
}
