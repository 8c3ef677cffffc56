//! Bearer-key authentication and per-key rate limiting for the management API.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tome_core::keys::{self, KeyKind};
use tome_core::time;

use crate::AppState;
use crate::client_ip::{client_bucket, client_ip};
use crate::error::ApiError;
use crate::extract::Auth;
use crate::ratelimit::RateDecision;

/// How stale `last_used_at` may get before a request refreshes it. Writing it on every request
/// would turn each read into a durable write.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// Authenticates an admin key, applies its rate limit and stamps the rate-limit headers.
pub async fn require_admin(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let presented = bearer(req.headers());
    let found = match presented.as_deref() {
        Some(p) if keys::parse_api_key(p).is_some() => {
            match state.public.api_key(state.store.as_ref(), p).await {
                Ok(found) => found.filter(|c| c.key.revoked_at.is_none()),
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
        _ => None,
    };
    let Some(cached) = found else {
        // Failed attempts are limited per client address, so nobody can hammer the key lookup.
        let decision = state
            .limiter
            .hit(
                &format!(
                    "anon:{}",
                    client_bucket(client_ip(&req, &state.config.trusted_proxies))
                ),
                state.config.admin_rate_limit,
            )
            .await;
        let err = if !decision.allowed {
            state.metrics.rate_limited("anonymous");
            ApiError::rate_limited(decision.retry_after)
        } else if presented.is_none() {
            ApiError::unauthorized("Missing API key. Send Authorization: Bearer <key>.")
        } else {
            ApiError::unauthorized("Invalid or revoked API key.")
        };
        return with_rate_headers(err.into_response(), &decision);
    };

    let key = &cached.key;
    let limit = match key.kind {
        KeyKind::Admin => state.config.admin_rate_limit,
        KeyKind::Assistant => state.config.assistant_rate_limit,
    };
    let decision = state.limiter.hit(&format!("key:{}", key.id), limit).await;
    if !decision.allowed {
        state.metrics.rate_limited(match key.kind {
            KeyKind::Admin => "admin",
            KeyKind::Assistant => "assistant",
        });
        return with_rate_headers(
            ApiError::rate_limited(decision.retry_after).into_response(),
            &decision,
        );
    }
    if key.kind != KeyKind::Admin {
        let err = ApiError::forbidden("This endpoint requires an admin key (tome_…).");
        return with_rate_headers(err.into_response(), &decision);
    }

    let now = time::unix_now();
    if cached.claim_touch(now, TOUCH_INTERVAL_SECS) {
        let store = state.store.clone();
        let key_id = key.id.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_api_key(&key_id, &time::format_unix(now)).await {
                tracing::warn!(error = %e, "could not record key use");
            }
        });
    }
    req.extensions_mut().insert(Auth {
        project_id: key.project_id.clone(),
        key_id: key.id.clone(),
    });
    with_rate_headers(next.run(req).await, &decision)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

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
