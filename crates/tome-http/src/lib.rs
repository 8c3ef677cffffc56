//! Tome's HTTP layer: the `/v1` management API, its error envelope, authentication, rate limits
//! and the OpenAPI document. The only crate that knows about HTTP.

pub mod answer;
pub mod auth;
pub mod cache;
pub mod client_ip;
pub mod dto;
pub mod error;
pub mod extract;
pub mod hosted;
pub mod metrics;
pub mod openapi;
pub mod public;
pub mod ratelimit;
pub mod routes;
pub mod server;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tome_core::cursor::CursorCodec;
use tome_store::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::normalize_path::NormalizePath;
use tower_http::trace::TraceLayer;

use crate::answer::{Answer, RequestView};
use crate::error::ApiError;
use crate::ratelimit::RateLimiter;

/// Largest accepted request body: 20 bulk articles of 100,000 characters each, JSON-escaped.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Requests per minute per admin key.
    pub admin_rate_limit: u64,
    /// Requests per minute per assistant key.
    pub assistant_rate_limit: u64,
    /// This server's own address as clients reach it, for `public_url` (`http://127.0.0.1:8080`).
    pub base_url: String,
    /// A dedicated host for hosted help centres (`https://help.example.com`), if any.
    pub hosted_url: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed when finding the client's address.
    pub trusted_proxies: Vec<client_ip::IpRange>,
    /// Refused public requests (bad key, origin) allowed per client address per minute.
    pub public_refusal_rate_limit: u64,
    /// Bytes of rendered public responses kept in memory (and as much again for hosted pages).
    pub cache_bytes: u64,
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// Hosted help-centre requests allowed per client address per minute.
    pub hosted_rate_limit: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            admin_rate_limit: 100,
            assistant_rate_limit: 1000,
            base_url: "http://127.0.0.1:8080".to_string(),
            hosted_url: None,
            trusted_proxies: Vec::new(),
            public_refusal_rate_limit: 100,
            cache_bytes: 64 * 1024 * 1024,
            metrics_token: None,
            hosted_rate_limit: 600,
        }
    }
}

/// How often the search index looks for writes made by other processes (the CLI, other nodes).
pub const SEARCH_FOLLOW_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The search engine, kept level with the store (see `tome_search::Search`).
    pub search: Arc<tome_search::Search>,
    pub limiter: Arc<dyn RateLimiter>,
    pub config: Arc<HttpConfig>,
    pub cursors: Arc<CursorCodec>,
    pub public: Arc<cache::PublicCache>,
    pub metrics: Arc<metrics::Metrics>,
    pub hosted: Arc<hosted::HostedCache>,
    /// The authority of `--hosted-url`, whose paths are all hosted pages.
    pub hosted_host: Option<Arc<str>>,
    openapi: Arc<str>,
}

impl AppState {
    /// Builds the state with an in-memory search index rebuilt from the store (tests, tools).
    pub async fn new(
        store: Arc<dyn Store>,
        limiter: Arc<dyn RateLimiter>,
        config: HttpConfig,
    ) -> Result<Self, tome_search::SearchError> {
        let search = tome_search::Search::open(store.clone(), Default::default()).await?;
        Self::with_search(store, limiter, config, search).await
    }

    /// Builds the state around an opened search index (see [`AppState::assemble`]).
    pub async fn with_search(
        store: Arc<dyn Store>,
        limiter: Arc<dyn RateLimiter>,
        config: HttpConfig,
        search: Arc<tome_search::Search>,
    ) -> Result<Self, tome_search::SearchError> {
        Self::assemble(store, limiter, config, search, Arc::default()).await
    }

    /// Builds the state around an opened search index and a metrics registry (which the limiter
    /// may share), reading the instance secret that signs pagination cursors, and starts
    /// following the change feed for writes made elsewhere.
    pub async fn assemble(
        store: Arc<dyn Store>,
        limiter: Arc<dyn RateLimiter>,
        config: HttpConfig,
        search: Arc<tome_search::Search>,
        metrics: Arc<metrics::Metrics>,
    ) -> Result<Self, tome_search::SearchError> {
        let secret = store.instance_secret().await?;
        let public = Arc::new(cache::PublicCache::new(config.cache_bytes));
        let caches = public.clone();
        search.spawn_follower(SEARCH_FOLLOW_INTERVAL, move |applied| {
            invalidate_applied(&caches, applied);
        });
        Ok(AppState {
            metrics,
            public,
            hosted: Arc::new(hosted::HostedCache::new(config.cache_bytes)),
            hosted_host: hosted::hosted_authority(config.hosted_url.as_deref()),
            store,
            search,
            limiter,
            config: Arc::new(config),
            cursors: Arc::new(CursorCodec::new(secret)),
            openapi: openapi::document().into(),
        })
    }
}

/// Marks everything a batch of changes touched as stale in the caches.
fn invalidate_applied(public: &cache::PublicCache, applied: &tome_search::Applied) {
    if applied.rebuilt {
        // Rebuilt from the database because the feed no longer reached back far enough: what
        // changed in between is unknown.
        public.invalidate_all();
        return;
    }
    for (kb, &seq) in &applied.kbs {
        public.invalidate_kb_change(kb, seq);
    }
    for kb in &applied.kb_access {
        public.invalidate_kb_access(kb);
    }
    for project in &applied.projects {
        public.invalidate_project(project);
    }
    if applied.api_keys {
        public.invalidate_api_keys();
    }
}

impl AppState {
    /// Runs a search on the engine, timing it for the metrics. First brings the index level
    /// with every write this node has acknowledged, so a search never misses one.
    pub async fn run_search(
        &self,
        request: &tome_search::SearchRequest,
    ) -> Result<tome_search::SearchResults, tome_search::SearchError> {
        let started = std::time::Instant::now();
        if let Some(applied) = self.search.ensure_current().await? {
            invalidate_applied(&self.public, &applied);
        }
        let results = self.search.query(request);
        self.metrics
            .search_duration
            .observe(started.elapsed().as_secs_f64());
        results
    }
}

/// The whole application as a router.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .merge(routes::kb::router())
        .merge(routes::content::router())
        .merge(routes::articles::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            invalidate_after_write,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin,
        ));
    let hosted_host = hosted::hosted_authority(state.config.hosted_url.as_deref());
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/metrics", get(metrics::serve))
        .merge(api)
        .merge(routes::public::router(state.clone()))
        .merge(hosted::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::middleware::map_response_with_state(
            (),
            vary_public_origin,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal().into_response()
        }))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    // The hosted host's paths are rewritten before routing, so this wraps the routed app.
    match hosted_host {
        Some(host) => {
            Router::new()
                .fallback_service(app)
                .layer(axum::middleware::from_fn_with_state(
                    host,
                    hosted::rewrite_hosted_host,
                ))
        }
        None => app,
    }
}

/// The whole application as one service: cached public reads answered directly (see
/// [`public::serve_cached`]), everything else through [`app`], accepting a trailing slash on every
/// path (`/v1/kb/`).
pub type Service = FastPublic<NormalizePath<Router>>;

/// Builds the [`Service`].
pub fn service(state: AppState) -> Service {
    FastPublic {
        inner: NormalizePath::trim_trailing_slash(app(state.clone())),
        state: Arc::new(state),
    }
}

/// Serves cached public reads before the router and its middleware stack, which cost more CPU
/// than the read itself on this, the hottest path; falls through to `inner` for everything else.
#[derive(Clone)]
pub struct FastPublic<S> {
    inner: S,
    /// One reference count, not one per field: hyper clones the service for every request,
    /// and each clone of a shared counter is a cache line passed between cores.
    state: Arc<AppState>,
}

impl<S> tower::Service<axum::extract::Request> for FastPublic<S>
where
    S: tower::Service<
            axum::extract::Request,
            Response = Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response, std::convert::Infallible>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::extract::Request) -> Self::Future {
        if !self.may_be_cached(req.method(), req.uri().path()) {
            return Box::pin(self.inner.call(req));
        }
        // The ready service answers this request; a fresh clone takes its place (tower's rule
        // for services moved into a future).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            match cached_answer(&state, &parts).await {
                Some(answer) => Ok(answer.into_response()),
                None => {
                    inner
                        .call(axum::extract::Request::from_parts(parts, body))
                        .await
                }
            }
        })
    }
}

impl<S> FastPublic<S> {
    /// Whether a request may have a cached answer (a `GET` of a public or hosted path).
    fn may_be_cached(&self, method: &axum::http::Method, path: &str) -> bool {
        // With `--hosted-url`, any path may be a hosted page (`/{slug}/…` on that host).
        method == axum::http::Method::GET
            && (path.starts_with("/v1/kb/public/")
                || path.starts_with("/hc/")
                || (self.state.hosted_host.is_some() && !path.starts_with("/v1/")))
    }

    /// The cached answer to a `GET` request, if there is one — the whole of [`Service::call`]
    /// for such requests; `None` before any side effect otherwise.
    pub async fn cached<'r, R: RequestView>(&self, req: &'r R) -> Option<Answer<'r>> {
        if !self.may_be_cached(&axum::http::Method::GET, req.path()) {
            return None;
        }
        cached_answer(&self.state, req).await
    }

    /// The router behind the cached answers.
    pub fn router(&self) -> &S {
        &self.inner
    }

    /// The same cached answers in front of another router (e.g. one that echoes requests, to
    /// test the transport).
    pub fn with_router(&self, router: Router) -> Service {
        FastPublic {
            inner: NormalizePath::trim_trailing_slash(router),
            state: self.state.clone(),
        }
    }
}

async fn cached_answer<'r, R: RequestView>(state: &AppState, req: &'r R) -> Option<Answer<'r>> {
    if req.path().starts_with("/v1/kb/public/") {
        public::serve_cached(state, req).await
    } else {
        hosted::serve_cached(state, req).await
    }
}

/// After a management write, marks what the write touched as stale in the public caches and
/// tells the search index there is something to take — before the response leaves, so no later
/// read or search sees the old content.
async fn invalidate_after_write(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::Method;
    let mutating = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let path = req.uri().path();
    let mut kb_path = path.strip_prefix("/v1/kb/").unwrap_or_default().split('/');
    let kb_id = kb_path.next().map(str::to_string);
    // The KB itself (slug, deletion) and its site keys are what the public gate checks.
    let touches_access = matches!(kb_path.next(), None | Some("site-key"));
    let project = (path == "/v1/project")
        .then(|| {
            req.extensions()
                .get::<extract::Auth>()
                .map(|a| a.project_id.clone())
        })
        .flatten();
    let resp = next.run(req).await;
    // A write refused with a 4xx changed nothing (a failed write, bulk included, leaves the
    // database as it was), and its path may hold an ID Tome never made: nothing to mark. A 5xx
    // may have come after a commit, so it is marked as a success is.
    if !mutating || resp.status().is_client_error() {
        return resp;
    }
    // The index follows in the background, and any search that starts before it has catches up
    // first (`AppState::run_search`): no search after this response misses it.
    s.search.note_write();
    if let Some(kb_id) = kb_id.filter(|k| !k.is_empty()) {
        // Read after the write committed and before the bump (`invalidate_kb_through`); a failed
        // read only costs the follower's second bump.
        let through = if resp.status().is_success() {
            s.store.last_change_seq().await.ok()
        } else {
            None
        };
        match through {
            Some(through) => s.public.invalidate_kb_through(&kb_id, through),
            None => s.public.invalidate_kb(&kb_id),
        }
        if touches_access {
            s.public.invalidate_kb_access(&kb_id);
        }
    }
    if let Some(project_id) = project {
        s.public.invalidate_project(&project_id);
    }
    resp
}

/// Every response under the public prefix varies by `Origin` — including 404s and 405s that
/// no public route (and so no gate) produced.
async fn vary_public_origin(
    State(()): State<()>,
    uri: axum::http::Uri,
    mut resp: Response,
) -> Response {
    if uri.path().starts_with("/v1/kb/public/") && !resp.headers().contains_key(header::VARY) {
        resp.headers_mut()
            .insert(header::VARY, axum::http::HeaderValue::from_static("Origin"));
    }
    resp
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers. A configured Redis that does not answer is reported but
/// does not make the node unready: rate limits fall back to per-node counters meanwhile, and
/// taking every node out of rotation because Redis is down would turn a degradation into an
/// outage.
async fn readyz(State(s): State<AppState>) -> Response {
    let redis = match s.limiter.probe().await {
        None => "not configured",
        Some(true) => "ok",
        Some(false) => "unreachable",
    };
    match s.store.ping().await {
        Ok(()) if !s.search.is_healthy() => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Search index is not following the database.",
        )
        .with_details(serde_json::json!({"database": "ok", "search": "behind", "redis": redis}))
        .into_response(),
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({
                "status": "ready", "database": "ok", "search": "ok", "redis": redis
            })),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Database unreachable.",
            )
            .with_details(serde_json::json!({"database": "unreachable", "redis": redis}))
            .into_response()
        }
    }
}

async fn openapi_json(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.openapi.to_string(),
    )
        .into_response()
}
