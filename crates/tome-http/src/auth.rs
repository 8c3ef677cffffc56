//! Bearer-key authentication and per-key rate limiting for the management API.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tome_core::keys::{self, KeyKind};
use tome_core::time;

use crate::client_ip::{client_bucket, client_ip};
use crate::error::ApiError;
use crate::extract::Auth;
use crate::ratelimit::with_rate_headers;
use crate::state::AppState;

/// How stale `last_used_at` may get before a request refreshes it. Writing it on every request
/// would turn each read into a durable write.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// Authenticates an admin key, applies its rate limit and stamps the rate-limit headers.
pub async fn require_admin(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let client = client_bucket(client_ip(&req, &state.config.trusted_proxies));
    let (cached, decision) = match authenticate(&state, req.headers(), &client).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let key = &cached.key;
    if key.kind != KeyKind::Admin {
        let err = ApiError::forbidden("This endpoint requires an admin key (tome_…).");
        return with_rate_headers(err.into_response(), &decision);
    }
    req.extensions_mut().insert(Auth {
        project_id: key.project_id.clone(),
        key_id: key.id.clone(),
    });
    with_rate_headers(next.run(req).await, &decision)
}

/// Finds the request's bearer key (any kind) and counts the request against its kind's rate
/// limit, recording the key's use now and then. The refusal — 401 for a missing, unknown or
/// revoked key (itself limited per client address), 429 over the key's limit — is a finished
/// response.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    client: &str,
) -> Result<
    (
        std::sync::Arc<crate::cache::CachedKey>,
        crate::ratelimit::RateDecision,
    ),
    Response,
> {
    let cached = identify(state, headers, client).await?;
    let decision = count_key(state, &cached).await?;
    Ok((cached, decision))
}

/// Finds the request's bearer key (any kind), without counting the request against the key's
/// limit. A missing, unknown or revoked key is refused with 401 — counted against the client
/// address's limit (429 over it), so nobody can hammer the key lookup.
pub async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    client: &str,
) -> Result<std::sync::Arc<crate::cache::CachedKey>, Response> {
    let presented = bearer(headers);
    let found = match presented.as_deref() {
        Some(p) if keys::parse_api_key(p).is_some() => {
            match state.public.api_key(state.store.as_ref(), p).await {
                Ok(found) => found.filter(|c| c.key.revoked_at.is_none()),
                Err(e) => return Err(ApiError::from(e).into_response()),
            }
        }
        _ => None,
    };
    if let Some(cached) = found {
        return Ok(cached);
    }
    let decision = state
        .limiter
        .hit(&format!("anon:{client}"), state.config.admin_rate_limit)
        .await;
    let err = if !decision.allowed {
        state.metrics.rate_limited("anonymous");
        ApiError::rate_limited(decision.retry_after)
    } else if presented.is_none() {
        ApiError::unauthorized("Missing API key. Send Authorization: Bearer <key>.")
    } else {
        ApiError::unauthorized("Invalid or revoked API key.")
    };
    Err(with_rate_headers(err.into_response(), &decision))
}

/// Counts one request against a key's rate limit (its kind's), recording the key's use now and
/// then; 429 over the limit, as a finished response.
pub async fn count_key(
    state: &AppState,
    cached: &crate::cache::CachedKey,
) -> Result<crate::ratelimit::RateDecision, Response> {
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
        return Err(with_rate_headers(
            ApiError::rate_limited(decision.retry_after).into_response(),
            &decision,
        ));
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
    Ok(decision)
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}
