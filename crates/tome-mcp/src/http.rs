//! The Streamable HTTP endpoints: `/mcp` (a key), `/hc/{slug}/mcp` (a public help centre, no
//! key) and the OAuth protected-resource metadata that tells clients `/mcp` takes bearer keys.
//!
//! Both endpoints are stateless (rmcp's `legacy_session_mode` off): a 2026-07-28 request carries
//! its protocol version and capabilities in `_meta` and is answered on its own; a 2025-11-25
//! client still sends `initialize` first, which is answered without creating a session, and its
//! later requests carry no `Mcp-Session-Id`. Any node answers any request: nothing is kept
//! between requests but the database.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tome_core::keys;
use tome_http::AppState;
use tome_http::client_ip::{client_bucket, client_ip};
use tome_http::error::ApiError;

use crate::dispatch::Caller;
use crate::docs::{PublicKb, PublicServer};
use crate::inline::Inline;
use crate::server::{Identity, Shared, TomeServer};

/// The path of the protected-resource metadata document (RFC 9728).
pub const RESOURCE_METADATA: &str = "/.well-known/oauth-protected-resource";

/// The MCP routes, to merge into Tome's router (`tome_http::service_with`).
pub fn routes(state: &AppState) -> Router<AppState> {
    routes_with(state, true)
}

/// [`routes`], with stateless `tools/call` requests answered in their own task ([`Inline`]) or,
/// `inline` off, every request through rmcp's transport (the differential tests' oracle).
pub fn routes_with(state: &AppState, inline: bool) -> Router<AppState> {
    let shared = Shared::new(state.clone());
    let origins = allowed_origins(state);
    let config = || {
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_sse_keep_alive(None)
            // Tome checks `Host` in its transport and serves any host name it is reached by.
            .disable_allowed_hosts()
            .with_max_request_body_bytes(tome_http::BODY_LIMIT)
    };
    let admin = {
        let shared = shared.clone();
        StreamableHttpService::new(
            move || Ok(TomeServer::new(shared.clone())),
            Arc::new(NeverSessionManager::default()),
            config()
                .with_allowed_origins(origins.clone())
                .enforce_origin_validation(),
        )
    };
    let public_server = PublicServer::new(state.clone(), &shared.catalog);
    let public = {
        let server = public_server.clone();
        StreamableHttpService::new(
            move || Ok(server.clone()),
            Arc::new(NeverSessionManager::default()),
            config(),
        )
    };
    let gate = Arc::new(Gate {
        state: state.clone(),
        origins,
        inline: inline.then(|| Inline::new(TomeServer::new(shared.clone()))),
    });
    let public_gate_state = Arc::new(PublicGate {
        state: state.clone(),
        inline: inline.then(|| Inline::new(public_server)),
    });
    Router::new()
        .route_service(
            "/mcp",
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(gate, key_gate))
                .service(admin),
        )
        .route_service(
            "/hc/{slug}/mcp",
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    public_gate_state,
                    public_gate,
                ))
                .service(public),
        )
        .route(RESOURCE_METADATA, get(resource_metadata))
        .route(&format!("{RESOURCE_METADATA}/mcp"), get(resource_metadata))
}

/// The browser origins `/mcp` answers: Tome's own (`--public-url`, `--hosted-url`). A request
/// from any other page is refused (DNS rebinding: a page on another site must not drive a Tome
/// reachable from the browser's network); requests without `Origin` — every non-browser
/// client — pass.
fn allowed_origins(state: &AppState) -> Vec<String> {
    let mut out = Vec::new();
    for url in [
        Some(state.config.base_url.as_str()),
        state.config.hosted_url.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(origin) = origin_of(url) {
            out.push(origin);
        }
    }
    out
}

/// `https://help.example.com:8443/x` → `https://help.example.com:8443`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| {
        format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            authority.to_ascii_lowercase()
        )
    })
}

/// The origin a request's `Origin` header names, with the scheme's default port made explicit
/// where the allowed one has none (and the reverse), for comparison.
fn origin_matches(allowed: &[String], origin: &str) -> bool {
    let origin = origin.trim().to_ascii_lowercase();
    let strip_default = |o: &str| -> String {
        o.strip_suffix(":443")
            .filter(|_| o.starts_with("https://"))
            .or_else(|| o.strip_suffix(":80").filter(|_| o.starts_with("http://")))
            .unwrap_or(o)
            .to_string()
    };
    let origin = strip_default(&origin);
    allowed.iter().any(|a| strip_default(a) == origin)
}

struct Gate {
    state: AppState,
    origins: Vec<String>,
    inline: Option<Inline<TomeServer>>,
}

struct PublicGate {
    state: AppState,
    inline: Option<Inline<PublicServer>>,
}

/// Answers the request in its own task when [`Inline`] takes it, else through rmcp's transport.
async fn answer<S: rmcp::ServerHandler + Clone>(
    inline: Option<&Inline<S>>,
    req: Request,
    next: Next,
) -> Response {
    let req = match inline {
        Some(inline) => match inline.answer(req).await {
            Ok(resp) => return resp,
            Err(req) => req,
        },
        None => req,
    };
    next.run(req).await
}

/// `/mcp`: the origin check, then the key — 401 with `WWW-Authenticate` for none or an invalid
/// one, 403 for a site key (a public key for browsers, not for agents). The key is counted
/// against its rate limit per tool call (by the REST route the call goes through), not here.
async fn key_gate(State(gate): State<Arc<Gate>>, mut req: Request, next: Next) -> Response {
    let state = &gate.state;
    if let Some(refused) = too_large(&req) {
        return refused;
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .is_ok_and(|o| origin_matches(&gate.origins, o));
        if !ok {
            return ApiError::forbidden("This origin may not use the MCP endpoint.")
                .into_response();
        }
    }
    let bearer = tome_http::auth::bearer(req.headers());
    if bearer.as_deref().is_some_and(keys::is_site_key_shaped) {
        return ApiError::forbidden(
            "The MCP endpoint takes an admin key (tome_…) or an assistant key (tome_dsc_…), not a site key.",
        )
        .into_response();
    }
    let client = client_bucket(client_ip(&req, &state.config.trusted_proxies));
    let cached = match tome_http::auth::identify(state, req.headers(), &client).await {
        Ok(cached) => cached,
        Err(mut refusal) => {
            if refusal.status() == StatusCode::UNAUTHORIZED {
                let challenge = format!(
                    "Bearer realm=\"tome\", resource_metadata=\"{}{RESOURCE_METADATA}\"",
                    state.config.base_url.trim_end_matches('/')
                );
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    refusal.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
            }
            return refusal;
        }
    };
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let identity = Identity {
        caller: Caller {
            key: bearer.unwrap_or_default(),
            project_id: cached.key.project_id.clone(),
            peer,
        },
        key_id: cached.key.id.clone(),
        kind: cached.key.kind,
    };
    req.extensions_mut().insert(identity);
    answer(gate.inline.as_ref(), req, next).await
}

/// `/hc/{slug}/mcp`: a public knowledge base only (404 otherwise, as its hosted pages), under
/// the hosted pages' per-client rate limit.
async fn public_gate(
    State(gate): State<Arc<PublicGate>>,
    mut req: Request,
    next: Next,
) -> Response {
    let state = &gate.state;
    if let Some(refused) = too_large(&req) {
        return refused;
    }
    let slug = req
        .uri()
        .path()
        .strip_prefix("/hc/")
        .and_then(|rest| rest.strip_suffix("/mcp"))
        .unwrap_or_default()
        .to_string();
    let client = client_bucket(client_ip(&req, &state.config.trusted_proxies));
    let decision = state
        .limiter
        .hit(&format!("hosted:{client}"), state.config.hosted_rate_limit)
        .await;
    if !decision.allowed {
        state.metrics.rate_limited("hosted");
        return ApiError::rate_limited(decision.retry_after).into_response();
    }
    let kb = match state.store.public_kb_by_slug(&slug).await {
        Ok(Some(kb)) => kb,
        Ok(None) => {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                "kb_not_found",
                "No public help centre here.",
            )
            .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    req.extensions_mut().insert(PublicKb {
        kb: Arc::new(kb),
        client,
    });
    answer(gate.inline.as_ref(), req, next).await
}

/// A body announced (`Content-Length`) over the REST API's limit: 413 with Tome's error envelope
/// before anything is read. A body without a length (chunked) is cut off by rmcp at the same
/// limit, with its own 413.
fn too_large(req: &Request) -> Option<Response> {
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse::<u64>()
        .ok()?;
    (length > tome_http::BODY_LIMIT as u64).then(|| ApiError::payload_too_large().into_response())
}

/// RFC 9728 protected-resource metadata: `/mcp` is a resource taking bearer keys in the
/// `Authorization` header. Tome issues keys itself (`tome key create`, the API), so no
/// authorization server is listed.
async fn resource_metadata(State(state): State<AppState>) -> Response {
    let base = state.config.base_url.trim_end_matches('/');
    (
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        axum::Json(json!({
            "resource": format!("{base}/mcp"),
            "resource_name": "Tome MCP server",
            "authorization_servers": [],
            "bearer_methods_supported": ["header"],
            "scopes_supported": [],
            "resource_documentation": format!("{base}/v1/openapi.json"),
        })),
    )
        .into_response()
}

/// Who a stdio session acts as: the key's identity, checked once at start (each tool call is
/// checked again by the REST route it goes through).
pub fn stdio_identity(key: &str, cached: &tome_http::cache::CachedKey) -> Identity {
    Identity {
        caller: Caller {
            key: key.to_string(),
            project_id: cached.key.project_id.clone(),
            peer: None,
        },
        key_id: cached.key.id.clone(),
        kind: cached.key.kind,
    }
}
