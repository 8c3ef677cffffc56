//! Tome's HTTP layer: the `/v1` management API, its error envelope, authentication, rate limits
//! and the OpenAPI document. The only crate that knows about HTTP.

pub mod auth;
pub mod cache;
pub mod client_ip;
pub mod dto;
pub mod error;
pub mod extract;
pub mod hosted;
pub mod openapi;
pub mod public;
pub mod ratelimit;
pub mod routes;

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
            hosted_rate_limit: 600,
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub limiter: Arc<dyn RateLimiter>,
    pub config: Arc<HttpConfig>,
    pub cursors: Arc<CursorCodec>,
    pub public: Arc<cache::PublicCache>,
    pub hosted: Arc<hosted::HostedCache>,
    openapi: Arc<str>,
}

impl AppState {
    /// Builds the state, reading the instance secret that signs pagination cursors.
    pub async fn new(
        store: Arc<dyn Store>,
        limiter: Arc<dyn RateLimiter>,
        config: HttpConfig,
    ) -> Result<Self, tome_store::StoreError> {
        let secret = store.instance_secret().await?;
        Ok(AppState {
            public: Arc::new(cache::PublicCache::new(config.cache_bytes)),
            hosted: Arc::new(hosted::HostedCache::new(config.cache_bytes)),
            store,
            limiter,
            config: Arc::new(config),
            cursors: Arc::new(CursorCodec::new(secret)),
            openapi: openapi::document().into(),
        })
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
        .merge(api)
        .merge(routes::public::router(state.clone()))
        .merge(hosted::router())
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

/// The application as a service that also accepts a trailing slash on every path (`/v1/kb/`).
pub fn service(state: AppState) -> NormalizePath<Router> {
    NormalizePath::trim_trailing_slash(app(state))
}

/// After a management write, marks what it touched as stale in the public caches — before the
/// response leaves, so no later read sees the old content.
async fn invalidate_after_write(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::Method;
    let mutating = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let path = req.uri().path();
    let kb_id = path
        .strip_prefix("/v1/kb/")
        .and_then(|rest| rest.split('/').next())
        .map(str::to_string);
    let project = (path == "/v1/project")
        .then(|| {
            req.extensions()
                .get::<extract::Auth>()
                .map(|a| a.project_id.clone())
        })
        .flatten();
    let resp = next.run(req).await;
    if mutating {
        if let Some(kb_id) = kb_id.filter(|k| !k.is_empty()) {
            s.public.invalidate_kb(&kb_id);
        }
        if let Some(project_id) = project {
            s.public.invalidate_project(&project_id);
        }
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

async fn readyz(State(s): State<AppState>) -> Response {
    match s.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Database unreachable.",
            )
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
