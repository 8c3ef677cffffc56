//! Tome's HTTP layer: the `/v1` management API, its error envelope, authentication, rate limits
//! and the OpenAPI document. The only crate that knows about HTTP.

pub mod answer;
pub mod auth;
pub mod cache;
pub mod client_ip;
pub mod docs;
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
pub mod state;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::normalize_path::NormalizePath;
use tower_http::trace::TraceLayer;

use crate::answer::{Answer, FixedPart, Handler};
use crate::error::ApiError;
pub use crate::state::{AppState, HttpConfig, SEARCH_FOLLOW_INTERVAL, page_root};
use crate::wire::RequestView;

/// Largest accepted request body: 20 bulk articles of 100,000 characters each, JSON-escaped.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The whole application as a router.
pub fn app(state: AppState) -> Router {
    app_with(state, Router::new())
}

/// The management API's and the documentation endpoints' routes, each with the layers that make
/// its behaviour (key and rate limit, `source_managed`, the cache and search catch-up after
/// writes; the docs gate): what [`app_with`] serves under its outer layers, and what
/// [`in_process`] serves alone.
fn operations(state: &AppState) -> (Router<AppState>, Router<AppState>) {
    let api = Router::new()
        .merge(routes::kb::router())
        .merge(routes::content::router())
        .merge(routes::articles::router())
        .merge(routes::sources::router())
        .route(
            "/v1/analytics/{project_id}/assistant",
            get(routes::assistant::conversations),
        )
        .route(
            "/v1/analytics/{project_id}/assistant/threads/{thread_id}",
            get(routes::assistant::thread),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            refuse_source_managed,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            invalidate_after_write,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin,
        ));
    // `OPTIONS` is routed too so the gate can answer CORS preflights.
    let preflight = || async { axum::http::StatusCode::NO_CONTENT };
    let docs = Router::new()
        .route(
            "/v1/search/{domain}",
            post(routes::docs::search).options(preflight),
        )
        .route(
            "/v1/page/{domain}",
            post(routes::docs::page).options(preflight),
        )
        .route(
            "/v1/assistant/{domain}/message",
            post(routes::assistant::message_v1).options(preflight),
        )
        .route(
            "/v2/assistant/{domain}/message",
            post(routes::assistant::message_v2).options(preflight),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            docs::gate,
        ));
    (api, docs)
}

/// The management API and the documentation endpoints for requests made in process (the MCP
/// server's tool calls): the same routes, with the same layers on each, as [`app`] — but not
/// the layers of an HTTP request from outside (tracing span, metrics, panic catcher, the
/// `Vary` rewrite), which the request that carried the call has already passed.
pub fn in_process(state: AppState) -> Router {
    let (api, docs) = operations(&state);
    Router::new()
        .merge(api)
        .merge(docs)
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// The whole application as a router, with `extra` routes beside the built-in ones (the MCP
/// endpoints, which live in their own crate and dispatch to [`in_process`]). They sit under the same
/// outer layers: metrics, 404/405 fallbacks, panic catcher, tracing and the hosted host's rewrite.
pub fn app_with(state: AppState, extra: Router<AppState>) -> Router {
    let (api, docs) = operations(&state);
    let hosted_host = hosted::hosted_authority(state.config.hosted_url.as_deref());
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/metrics", get(metrics_endpoint))
        .merge(api)
        .merge(routes::sources::hooks())
        .merge(docs)
        .merge(routes::public::router(state.clone()))
        .merge(hosted::router())
        .merge(extra)
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
    service_with(state, Router::new())
}

/// Builds the [`Service`] with `extra` routes (see [`app_with`]).
pub fn service_with(state: AppState, extra: Router<AppState>) -> Service {
    FastPublic {
        inner: NormalizePath::trim_trailing_slash(app_with(state.clone(), extra)),
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
    pub async fn cached<'r, R: RequestView>(&self, req: &'r R) -> Option<Answer<'r, Cached>> {
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

/// The server's view of the application: cached answers from [`FastPublic::cached`], the rest
/// through the router.
impl<S> Handler for FastPublic<S>
where
    S: tower::Service<
            axum::extract::Request,
            Response = Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Kind = Cached;

    fn cached<'r, R: RequestView + Sync>(
        &self,
        req: &'r R,
    ) -> impl std::future::Future<Output = Option<Answer<'r, Cached>>> + Send {
        // The inherent method's future itself: no further state machine to build and move on
        // the hottest path.
        FastPublic::cached(self, req)
    }

    fn route(
        &self,
        req: axum::extract::Request,
    ) -> impl std::future::Future<Output = Response> + Send + 'static {
        let routed = tower::ServiceExt::oneshot(self.inner.clone(), req);
        async move {
            match routed.await {
                Ok(resp) => resp,
                Err(never) => match never {},
            }
        }
    }
}

/// What a cached answer is: a public API read or a hosted page.
pub enum Cached {
    Public(public::PublicRead),
    Page(hosted::Page),
}

impl FixedPart for Cached {
    fn status(&self) -> StatusCode {
        match self {
            Cached::Public(p) => p.status(),
            Cached::Page(p) => p.status(),
        }
    }

    fn response(&self, body: &cache::CachedBody, gzip: bool) -> Response {
        match self {
            Cached::Public(p) => p.response(body, gzip),
            Cached::Page(p) => p.response(body, gzip),
        }
    }
}

async fn cached_answer<'r, R: RequestView>(
    state: &AppState,
    req: &'r R,
) -> Option<Answer<'r, Cached>> {
    if req.path().starts_with("/v1/kb/public/") {
        public::serve_cached(state, req)
            .await
            .map(|a| a.map_kind(Cached::Public))
    } else {
        hosted::serve_cached(state, req)
            .await
            .map(|a| a.map_kind(Cached::Page))
    }
}

/// Refuses content writes (categories, sections, articles, FAQs) to a knowledge base whose
/// content a source manages: 409 `source_managed`, naming the source. The KB's own settings,
/// site key and source stay writable. A KB that is not the caller's passes through to the
/// handler's 404.
async fn refuse_source_managed(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::Method;
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let mut parts = req
        .uri()
        .path()
        .strip_prefix("/v1/kb/")
        .unwrap_or("")
        .split('/');
    let (Some(kb_id), Some(kind)) = (parts.next(), parts.next()) else {
        return next.run(req).await;
    };
    if !matches!(kind, "categories" | "sections" | "articles" | "faqs") {
        return next.run(req).await;
    }
    let Some(auth) = req.extensions().get::<extract::Auth>() else {
        return next.run(req).await;
    };
    match routes::sources::refuse_if_managed(&s, &auth.project_id, kb_id).await {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
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
    s.after_write(
        kb_id.as_deref().filter(|k| !k.is_empty()),
        touches_access,
        project.as_deref(),
        resp.status().is_success(),
    )
    .await;
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

async fn openapi_json() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.get_or_init(openapi::document).clone(),
    )
        .into_response()
}

async fn metrics_endpoint(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    metrics::respond(
        &s.metrics,
        &s.store.pool_stats(),
        s.config.metrics_token.as_deref(),
        &headers,
    )
}
