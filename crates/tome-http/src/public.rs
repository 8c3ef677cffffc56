//! The gate in front of the public API: site key, allowed origin, rate limit and CORS.
//!
//! Every refusal of the key or origin checks is the same 403, so a caller cannot learn which
//! check failed.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tome_core::keys;
use tome_store::SiteAccess;

use crate::answer::{Answer, BodyAnswer, FixedPart, allow_origin};
use crate::cache::CachedBody;
use crate::client_ip::{client_bucket, client_ip, client_ip_from};
use crate::error::ApiError;
use crate::ratelimit::{RateDecision, with_rate_headers};
use crate::state::AppState;
use crate::wire::{Headers, RequestView, text};

pub const SITE_KEY_HEADER: &str = "x-minolith-site-key";
const PUBLIC_PREFIX: &str = "/v1/kb/public/";

/// What a public handler knows about its caller once the gate let it through.
#[derive(Debug, Clone)]
pub struct PublicCtx {
    pub access: Arc<SiteAccess>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PublicCtx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        parts.extensions.get::<PublicCtx>().cloned().ok_or_else(|| {
            tracing::error!("public handler reached without the gate");
            ApiError::internal()
        })
    }
}

/// The generic refusal.
pub(crate) fn denied() -> ApiError {
    ApiError::forbidden("Access denied")
}

/// A request's origin as (host, port), from `Origin` or else `Referer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    host: String,
    port: u16,
}

fn parse_origin(value: &str) -> Option<Origin> {
    let (scheme, rest) = value.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (format!("[{h}]"), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port,
    };
    let host = host.to_ascii_lowercase();
    if host.is_empty() || host.ends_with('.') {
        return None;
    }
    Some(Origin { host, port })
}

pub(crate) fn request_origin<H: Headers + ?Sized>(headers: &H) -> Option<Result<Origin, ()>> {
    let raw = headers
        .header("origin")
        .or_else(|| headers.header("referer"))?;
    Some(text(raw).and_then(parse_origin).ok_or(()))
}

/// Whether `allowed` (bare hosts, optionally with a port) admits this request's origin.
pub(crate) fn origin_allowed(allowed: &[String], origin: Option<&Result<Origin, ()>>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(Ok(origin)) = origin else {
        return false;
    };
    allowed.iter().any(|entry| match entry.rsplit_once(':') {
        Some((host, port)) if !entry.ends_with(']') => {
            host == origin.host && port.parse::<u16>().is_ok_and(|p| p == origin.port)
        }
        _ => *entry == origin.host,
    })
}

fn slug_of(path: &str) -> &str {
    path.strip_prefix(PUBLIC_PREFIX)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
}

/// Adds `Vary: Origin` (keeping any other `Vary`), and the CORS headers when `cors_origin` is set.
pub(crate) fn decorate(mut resp: Response, cors_origin: Option<&HeaderValue>) -> Response {
    let h = resp.headers_mut();
    let vary = match h.get(header::VARY) {
        None => Some(HeaderValue::from_static("Origin")),
        // The one `Vary` the public handlers set (on compressible bodies).
        Some(v) if v == "Accept-Encoding" => {
            Some(HeaderValue::from_static("Origin, Accept-Encoding"))
        }
        Some(v) => match v.to_str() {
            Ok(v) if v.to_ascii_lowercase().contains("origin") => None,
            Ok(v) => HeaderValue::from_str(&format!("Origin, {v}")).ok(),
            Err(_) => Some(HeaderValue::from_static("Origin")),
        },
    };
    if let Some(v) = vary {
        h.insert(header::VARY, v);
    }
    if let Some(origin) = cors_origin {
        allow_origin(h, origin.clone());
    }
    resp
}

/// The origin to echo in `Access-Control-Allow-Origin` for an admitted request: the exact
/// `Origin` sent, never `*`.
pub(crate) fn cors_origin<'h>(
    origin_header: Option<&'h [u8]>,
    origin: Option<&Result<Origin, ()>>,
    access: &SiteAccess,
) -> Option<&'h [u8]> {
    origin_header.filter(|_| matches!(origin, Some(Ok(_))) || access.allowed_domains.is_empty())
}

/// The fixed part of a cached public read's answer: `200`, the body's own headers and
/// `Vary: Origin`.
pub struct PublicRead;

impl FixedPart for PublicRead {
    fn status(&self) -> StatusCode {
        StatusCode::OK
    }

    fn response(&self, body: &CachedBody, gzip: bool) -> Response {
        decorate(body.representation(gzip), None)
    }
}

/// Counts an admitted request against its site key's limit for this client.
pub(crate) async fn count(state: &AppState, access: &SiteAccess, client: &str) -> RateDecision {
    let limit = u64::try_from(access.rate_limit).unwrap_or(1);
    let mut key = String::with_capacity(6 + access.site_key_id.len() + client.len());
    key.push_str("site:");
    key.push_str(&access.site_key_id);
    key.push(':');
    key.push_str(client);
    state.limiter.hit(&key, limit).await
}

/// The 429 for a site key over its limit.
pub(crate) fn over_limit(
    state: &AppState,
    d: &RateDecision,
    cors: Option<&HeaderValue>,
) -> Response {
    state.metrics.rate_limited("site_key");
    decorate(
        with_rate_headers(ApiError::rate_limited(d.retry_after).into_response(), d),
        cors,
    )
}

/// Answers a cached public read without the router: when the site key's lookup, the origin check
/// and the response body are all in cache, this is the whole request. Anything else — a miss,
/// a refusal, search, a preflight — returns `None` *before any side effect* (the rate limit is
/// counted only once the answer is certain), and the request takes the normal route through
/// [`gate`] and the handlers, which produce exactly the same responses.
pub async fn serve_cached<'r, R: RequestView>(
    state: &AppState,
    req: &'r R,
) -> Option<Answer<'r, PublicRead>> {
    let started = std::time::Instant::now();
    let path = req.path();
    let (slug, tail) = path.strip_prefix(PUBLIC_PREFIX)?.split_once('/')?;
    let route = cached_route(tail)?;
    let presented = text(req.header(SITE_KEY_HEADER)?)?.trim();
    let access = state.public.cached_site_access(presented).await?;
    let origin = request_origin(req);
    if access.slug != slug || !origin_allowed(&access.allowed_domains, origin.as_ref()) {
        return None;
    }
    let key = state.public.body_key(&access.kb_id, path);
    let body = state.public.cached_body(&key).await?;

    state.metrics.cache_lookup("public", true);
    let cors = cors_origin(req.header("origin"), origin.as_ref(), &access);
    let client = client_bucket(client_ip_from(
        req,
        req.peer(),
        &state.config.trusted_proxies,
    ));
    let d = count(state, &access, &client).await;
    let negotiated = body.negotiate(req);
    let answer = if d.allowed && !negotiated.fresh {
        let gzip = negotiated.gzip;
        Answer::Body(BodyAnswer {
            body,
            gzip,
            kind: PublicRead,
            rate: Some(d),
            cors,
        })
    } else {
        // A 304 or a 429: rare, built as the gate would build it.
        let cors = cors.and_then(|o| HeaderValue::from_bytes(o).ok());
        Answer::Response(if d.allowed {
            decorate(
                with_rate_headers(body.respond_to(negotiated), &d),
                cors.as_ref(),
            )
        } else {
            over_limit(state, &d, cors.as_ref())
        })
    };
    state
        .metrics
        .record_route(route, "GET", answer.status(), started);
    Some(answer)
}

/// The route template of a cacheable public path below `/v1/kb/public/{slug}/`, or `None` for
/// search (keyed by its parameters, not its path) and anything the router would not match.
fn cached_route(tail: &str) -> Option<&'static str> {
    let (first, id) = match tail.split_once('/') {
        Some((first, id)) if !id.is_empty() && !id.contains('/') => (first, Some(id)),
        Some(_) => return None,
        None => (tail, None),
    };
    match (first, id) {
        ("structure", None) => Some("/v1/kb/public/{slug}/structure"),
        ("categories", None) => Some("/v1/kb/public/{slug}/categories"),
        ("categories", Some(_)) => Some("/v1/kb/public/{slug}/categories/{id}"),
        ("articles", Some(_)) => Some("/v1/kb/public/{slug}/articles/{id}"),
        ("faqs", Some(_)) => Some("/v1/kb/public/{slug}/faqs/{category_id}"),
        _ => None,
    }
}

/// The middleware in front of every public route.
pub async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let origin = request_origin(req.headers());
    let origin_header = req.headers().get(header::ORIGIN).cloned();
    let ip = client_bucket(client_ip(&req, &state.config.trusted_proxies));
    let slug = slug_of(req.uri().path()).to_string();

    if req.method() == Method::OPTIONS {
        return preflight(&state, &slug, origin.as_ref(), origin_header.as_ref(), &ip).await;
    }

    let presented = req
        .headers()
        .get(SITE_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let access = match presented.filter(|k| keys::is_site_key_shaped(k)) {
        Some(k) => match state.public.site_access(state.store.as_ref(), k).await {
            Ok(a) => a,
            Err(e) => return decorate(ApiError::from(e).into_response(), None),
        },
        None => None,
    };
    let access =
        access.filter(|a| a.slug == slug && origin_allowed(&a.allowed_domains, origin.as_ref()));
    let Some(access) = access else {
        return refuse(&state, &ip).await;
    };

    let cors = cors_origin(
        origin_header.as_ref().map(HeaderValue::as_bytes),
        origin.as_ref(),
        &access,
    )
    .and_then(|o| HeaderValue::from_bytes(o).ok());
    let d = count(&state, &access, &ip).await;
    if !d.allowed {
        return over_limit(&state, &d, cors.as_ref());
    }
    req.extensions_mut().insert(PublicCtx { access });
    let resp = next.run(req).await;
    decorate(with_rate_headers(resp, &d), cors.as_ref())
}

async fn preflight(
    state: &AppState,
    slug: &str,
    origin: Option<&Result<Origin, ()>>,
    origin_header: Option<&HeaderValue>,
    ip: &str,
) -> Response {
    let d = state
        .limiter
        .hit(
            &format!("preflight:{ip}"),
            state.config.public_refusal_rate_limit.max(1000),
        )
        .await;
    if !d.allowed {
        state.metrics.rate_limited("preflight");
        return decorate(ApiError::rate_limited(d.retry_after).into_response(), None);
    }
    let (Some(Ok(_)), Some(origin_value)) = (origin, origin_header) else {
        return decorate(denied().into_response(), None);
    };
    let lists = match state.store.allowed_domains_for_slug(slug).await {
        Ok(l) => l,
        Err(e) => return decorate(ApiError::from(e).into_response(), None),
    };
    if !lists.iter().any(|allowed| origin_allowed(allowed, origin)) {
        return decorate(denied().into_response(), None);
    }
    preflight_allowed(
        origin_value,
        "GET, OPTIONS",
        "X-Minolith-Site-Key, If-None-Match, Content-Type",
    )
}

/// The refusal of a site-key request (unknown key, wrong slug, origin not allowed — all the same
/// 403), itself limited per client so nobody can probe keys at full speed; the 429 says nothing
/// about which check failed.
pub(crate) async fn refuse(state: &AppState, client: &str) -> Response {
    let d = state
        .limiter
        .hit(
            &format!("public-denied:{client}"),
            state.config.public_refusal_rate_limit,
        )
        .await;
    let err = if d.allowed {
        denied()
    } else {
        state.metrics.rate_limited("public_refused");
        ApiError::rate_limited(d.retry_after)
    };
    decorate(err.into_response(), None)
}

/// The answer to an allowed CORS preflight from `origin`.
pub(crate) fn preflight_allowed(
    origin: &HeaderValue,
    methods: &'static str,
    headers: &'static str,
) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(headers),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static(
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        ),
    );
    decorate(resp, Some(origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(s: &str) -> Option<Result<Origin, ()>> {
        Some(parse_origin(s).ok_or(()))
    }

    #[test]
    fn origins_match_exactly() {
        let allowed = vec!["example.com".to_string(), "localhost:5173".to_string()];
        assert!(origin_allowed(&allowed, o("https://example.com").as_ref()));
        assert!(origin_allowed(
            &allowed,
            o("http://EXAMPLE.com:8080").as_ref()
        ));
        assert!(origin_allowed(
            &allowed,
            o("https://example.com/some/page?x=1").as_ref()
        ));
        assert!(origin_allowed(
            &allowed,
            o("http://localhost:5173").as_ref()
        ));
        assert!(!origin_allowed(
            &allowed,
            o("http://localhost:5174").as_ref()
        ));
        assert!(!origin_allowed(
            &allowed,
            o("https://evil-example.com").as_ref()
        ));
        assert!(!origin_allowed(
            &allowed,
            o("https://example.com.evil.io").as_ref()
        ));
        assert!(!origin_allowed(
            &allowed,
            o("https://sub.example.com").as_ref()
        ));
        assert!(!origin_allowed(&allowed, o("null").as_ref()));
        assert!(!origin_allowed(
            &allowed,
            o("https://user@example.com").as_ref()
        ));
        assert!(!origin_allowed(&allowed, None));
        assert!(origin_allowed(&[], None));
    }
}
