//! Dashboard sessions: signing in with an admin key, the session cookie, and the [`Session`]
//! extractor every signed-in page takes.
//!
//! A session ID is 256 random bits, sent to the browser once in an `HttpOnly`, `SameSite=Lax`
//! cookie (`__Host-` prefixed and `Secure` when Tome is reached over https) and stored only as its
//! SHA-256. Signing in always makes a new ID, so a session cannot be fixed by an attacker. Every
//! request reads the session together with its key from the database: a key revoked on any node
//! ends its sessions at their next request. Sessions end 12 hours after their last use, and 7
//! days after sign-in whatever happens.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tome_core::keys::KeyKind;
use tome_core::time;
use tome_http::AppState;
use tome_store::DashboardSession;

use crate::view;

/// A session ends this long after its last request.
pub const IDLE_TIMEOUT_SECS: i64 = 12 * 60 * 60;
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE_TIMEOUT_SECS: i64 = 7 * 24 * 60 * 60;
/// How stale `last_seen_at` may get before a request refreshes it (one write a minute at most).
const TOUCH_INTERVAL_SECS: i64 = 60;
/// Random bytes in a session ID.
const ID_BYTES: usize = 32;

/// The cookie's name: `__Host-` prefixed over https, where browsers then insist on `Secure`,
/// `Path=/` and no `Domain` — so no sibling host can plant or shadow it.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tome_session"
    } else {
        "tome_session"
    }
}

/// Whether the dashboard is reached over https: `--public-url https://…`, or a request that a
/// trusted proxy says came in over https.
pub fn is_secure(state: &AppState, parts: &Parts) -> bool {
    if state.config.base_url.starts_with("https://") {
        return true;
    }
    let from_proxy = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|c| {
            state
                .config
                .trusted_proxies
                .iter()
                .any(|r| r.contains(c.0.ip()))
        });
    from_proxy
        && parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value that hands a new session ID to the browser. No `Max-Age`: the cookie
/// lives as long as the browser session, and the server decides when the session ends.
pub fn set_cookie(secure: bool, id: &str) -> HeaderValue {
    let name = cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={id}; Path=/; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let name = cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A fresh session ID (URL-safe base64 of 256 random bits) and the hash that is stored.
pub fn new_id() -> (String, String) {
    let mut raw = [0u8; ID_BYTES];
    tome_core::id::fill_random(&mut raw);
    let id = URL_SAFE_NO_PAD.encode(raw);
    let hash = hash_id(&id);
    (id, hash)
}

/// The stored form of a session ID.
pub fn hash_id(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The CSRF token of a session: an HMAC keyed by the session's secret ID, so it is tied to the
/// session, needs no storage, and cannot be computed by anyone who cannot read the cookie.
pub fn csrf_token(id: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(id.as_bytes()).unwrap_or_else(|_| unreachable_hmac());
    mac.update(b"tome-dashboard csrf v1");
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// HMAC takes keys of any length; this is never reached.
fn unreachable_hmac() -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(b"k").unwrap_or_else(|_| unreachable_hmac())
}

/// Compares a presented CSRF token with the session's in constant time.
pub fn csrf_matches(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session ID the request's cookie holds, if it is well formed.
pub fn cookie_id(headers: &HeaderMap, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| v.len() == 43 && URL_SAFE_NO_PAD.decode(v).is_ok())
}

/// Whether a stored session is still alive at `now` for `key`.
pub fn alive(session: &DashboardSession, key: &tome_core::model::ApiKey, now: i64) -> bool {
    key.revoked_at.is_none()
        && key.kind == KeyKind::Admin
        && now - session.last_seen_at < IDLE_TIMEOUT_SECS
        && now - session.created_at < ABSOLUTE_TIMEOUT_SECS
}

/// A signed-in request: the project it may see, the key it signed in with, and the session's
/// CSRF token for the forms it renders.
#[derive(Debug, Clone)]
pub struct Session {
    pub project_id: String,
    pub key_id: String,
    pub key_prefix: String,
    pub csrf: String,
    pub id_hash: String,
    /// Whether the cookie is the https (`__Host-`) one.
    pub secure: bool,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(session) = parts.extensions.get::<Session>() {
            return Ok(session.clone());
        }
        let secure = is_secure(state, parts);
        let Some(id) = cookie_id(&parts.headers, secure) else {
            return Err(sign_in_redirect(parts, None));
        };
        let id_hash = hash_id(&id);
        let found = state
            .store
            .find_session(&id_hash)
            .await
            .map_err(|e| view::store_error_page(e, parts))?;
        let Some((stored, key)) = found else {
            return Err(sign_in_redirect(
                parts,
                Some("Your session has ended. Sign in again."),
            ));
        };
        let now = time::unix_now();
        if !alive(&stored, &key, now) {
            // Best effort: the prune removes it later anyway.
            if let Err(e) = state.store.delete_session(&id_hash).await {
                tracing::warn!(error = %e, "could not delete an ended dashboard session");
            }
            return Err(sign_in_redirect(
                parts,
                Some("Your session has ended. Sign in again."),
            ));
        }
        // The same per-key limit as the REST API: the dashboard is one more client of the key.
        let decision = state
            .limiter
            .hit(&format!("key:{}", key.id), state.config.admin_rate_limit)
            .await;
        if !decision.allowed {
            return Err(view::too_many_requests(decision.retry_after));
        }
        if now - stored.last_seen_at >= TOUCH_INTERVAL_SECS {
            let store = state.store.clone();
            let hash = id_hash.clone();
            tokio::spawn(async move {
                if let Err(e) = store.touch_session(&hash, now).await {
                    tracing::warn!(error = %e, "could not record dashboard session use");
                }
            });
        }
        let session = Session {
            project_id: stored.project_id,
            key_id: key.id,
            key_prefix: key.key_prefix,
            csrf: csrf_token(&id),
            id_hash,
            secure,
        };
        parts.extensions.insert(session.clone());
        Ok(session)
    }
}

/// Where a request without a live session goes: the sign-in page, back here afterwards (for a
/// page; a form post goes back to the overview, its body is not replayed).
fn sign_in_redirect(parts: &Parts, flash: Option<&str>) -> Response {
    let back = if parts.method == axum::http::Method::GET {
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| p.starts_with("/dashboard"))
            .unwrap_or("/dashboard")
    } else {
        "/dashboard"
    };
    let target = if back == "/dashboard" {
        "/dashboard/sign-in".to_string()
    } else {
        format!("/dashboard/sign-in?next={}", view::encode_component(back))
    };
    let mut resp = view::see_other(&target);
    if let Some(message) = flash {
        view::set_flash(&mut resp, message, view::FlashKind::Info);
    }
    resp.into_response()
}
