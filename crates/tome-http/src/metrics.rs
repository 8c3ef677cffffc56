//! Prometheus metrics: what an operator needs to see a node's health at a glance.
//!
//! Route labels are the router's matched path templates (`/v1/kb/{kb_id}/articles/{id}`), never
//! raw paths, so the number of series stays fixed however many IDs clients send.

use rustc_hash::FxHashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Route template, method and status of a pre-router answer.
type HotKey = (&'static str, &'static str, u16);

/// Latency buckets from 100 µs to about 13 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

/// Every metric a node exports.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<Labels, Counter>,
    http_duration: Family<Labels, Histogram, fn() -> Histogram>,
    cache: Family<Labels, Counter>,
    rate_limited: Family<Labels, Counter>,
    /// Time spent answering a search, in the engine.
    pub search_duration: Histogram,
    /// 1 while Redis answers (or is not configured), 0 while it does not.
    pub redis_up: Gauge,
    /// Failed calls to Redis.
    pub redis_errors: Counter,
    /// Rate-limit decisions taken by the per-node fallback because Redis was down.
    pub rate_limit_fallbacks: Counter,
    db_pool: Family<Labels, Gauge>,
    /// Handles of the series the pre-router paths update on every request, so the hot path
    /// neither builds label sets nor hashes them.
    /// Keyed by static route templates and methods: nothing a client chooses, so a fast hash.
    hot: std::sync::RwLock<FxHashMap<HotKey, (Counter, Histogram)>>,
    cache_handles: [(&'static str, Counter, Counter); 2],
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tome");
        let http_requests = Family::<Labels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            http_requests.clone(),
        );
        let http_duration =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to produce a response, by route",
            http_duration.clone(),
        );
        let cache = Family::<Labels, Counter>::default();
        registry.register(
            "cache_lookups",
            "Response cache lookups by cache and result (hit, miss)",
            cache.clone(),
        );
        let rate_limited = Family::<Labels, Counter>::default();
        registry.register(
            "rate_limit_rejections",
            "Requests refused with 429, by limit (admin, site_key, hosted, anonymous)",
            rate_limited.clone(),
        );
        let search_duration = latency_histogram();
        registry.register(
            "search_duration_seconds",
            "Time the search engine takes to answer a query",
            search_duration.clone(),
        );
        let redis_up = Gauge::default();
        registry.register(
            "redis_up",
            "1 while Redis answers or is not configured, 0 while it does not",
            redis_up.clone(),
        );
        redis_up.set(1);
        let redis_errors = Counter::default();
        registry.register(
            "redis_errors",
            "Failed calls to Redis",
            redis_errors.clone(),
        );
        let rate_limit_fallbacks = Counter::default();
        registry.register(
            "rate_limit_fallbacks",
            "Rate-limit decisions made per node because Redis was unreachable",
            rate_limit_fallbacks.clone(),
        );
        let db_pool = Family::<Labels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections by pool and state (idle, in_use, max)",
            db_pool.clone(),
        );
        let cache_handles = ["public", "hosted"].map(|name| {
            let series = |result: &str| {
                cache.get_or_create_owned(&vec![
                    ("cache", name.to_string()),
                    ("result", result.to_string()),
                ])
            };
            (name, series("hit"), series("miss"))
        });
        Metrics {
            hot: std::sync::RwLock::new(FxHashMap::default()),
            cache_handles,
            registry,
            http_requests,
            http_duration,
            cache,
            rate_limited,
            search_duration,
            redis_up,
            redis_errors,
            rate_limit_fallbacks,
            db_pool,
        }
    }

    /// Counts a response cache lookup.
    pub fn cache_lookup(&self, cache: &'static str, hit: bool) {
        if let Some((_, hits, misses)) = self.cache_handles.iter().find(|(n, ..)| *n == cache) {
            if hit {
                hits.inc();
            } else {
                misses.inc();
            }
            return;
        }
        let result = if hit { "hit" } else { "miss" };
        self.cache
            .get_or_create(&vec![
                ("cache", cache.to_string()),
                ("result", result.to_string()),
            ])
            .inc();
    }

    /// Counts a request refused by a rate limit.
    pub fn rate_limited(&self, limit: &'static str) {
        self.rate_limited
            .get_or_create(&vec![("limit", limit.to_string())])
            .inc();
    }

    /// Records a request answered outside the router, through cached series handles.
    pub fn record_route(
        &self,
        route: &'static str,
        method: &'static str,
        status: StatusCode,
        started: Instant,
    ) {
        let elapsed = started.elapsed().as_secs_f64();
        let key = (route, method, status.as_u16());
        // A poisoned lock only means a panic elsewhere mid-insert; the map is still usable.
        if let Some((count, latency)) = self.hot.read().unwrap_or_else(|p| p.into_inner()).get(&key)
        {
            count.inc();
            latency.observe(elapsed);
            return;
        }
        let count = self.http_requests.get_or_create_owned(&vec![
            ("route", route.to_string()),
            ("method", method.to_string()),
            ("status", status.as_u16().to_string()),
        ]);
        let latency = self
            .http_duration
            .get_or_create_owned(&vec![("route", route.to_string())]);
        count.inc();
        latency.observe(elapsed);
        self.hot
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (count, latency));
    }

    fn record(&self, route: String, method: &str, status: StatusCode, elapsed: f64) {
        self.http_requests
            .get_or_create(&vec![
                ("route", route.clone()),
                ("method", method.to_string()),
                ("status", status.as_u16().to_string()),
            ])
            .inc();
        self.http_duration
            .get_or_create(&vec![("route", route)])
            .observe(elapsed);
    }

    /// The exposition text, with the pool gauges read now.
    pub fn render(&self, pools: &[tome_store::PoolStats]) -> String {
        for p in pools {
            for (state, n) in [("idle", p.idle), ("in_use", p.in_use), ("max", p.max)] {
                self.db_pool
                    .get_or_create(&vec![
                        ("pool", p.name.to_string()),
                        ("state", state.to_string()),
                    ])
                    .set(i64::from(n));
            }
        }
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            tracing::error!("cannot encode metrics");
        }
        out
    }
}

/// Records every routed request: count by route, method and status, and latency by route.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().clone();
    let resp = next.run(req).await;
    metrics.record(
        route,
        method.as_str(),
        resp.status(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

/// `GET /metrics` in the Prometheus text format: `metrics` and the database `pools`, behind
/// `Authorization: Bearer TOKEN` when a `token` is set.
pub fn respond(
    metrics: &Metrics,
    pools: &[tome_store::PoolStats],
    token: Option<&str>,
    headers: &axum::http::HeaderMap,
) -> Response {
    if let Some(token) = token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Constant-time comparison: the token is a secret.
        let ok = presented.is_some_and(|p| {
            p.len() == token.len()
                && p.bytes()
                    .zip(token.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        });
        if !ok {
            return crate::error::ApiError::unauthorized(
                "Send Authorization: Bearer <metrics token>.",
            )
            .into_response();
        }
    }
    let body = metrics.render(pools);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
