//! Signing in and out.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use minijinja::context;
use tome_core::keys::{self, KeyKind};
use tome_core::time;
use tome_http::AppState;
use tome_http::client_ip::{client_bucket, client_ip};

use crate::guard::{Form, Posted, same_origin};
use crate::session::{
    ABSOLUTE_TIMEOUT_SECS, IDLE_TIMEOUT_SECS, clear_cookie, is_secure, new_id, set_cookie,
};
use crate::view::{self, FlashKind};

/// Sign-in attempts allowed per client address per minute, successful or not: enough for a
/// person who mistypes, far too few to guess a key (and keys carry ≥ 160 random bits anyway).
pub const SIGN_IN_ATTEMPTS_PER_MINUTE: u64 = 10;

/// Where to go after signing in: a dashboard path of this site, never another host.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with("/dashboard")
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.starts_with("/dashboard/sign-") =>
        {
            n
        }
        _ => "/dashboard",
    }
}

fn sign_in_form(
    status: StatusCode,
    next: &str,
    error: Option<&str>,
    flash: Option<view::Flash>,
) -> Response {
    let errors = match error {
        Some(e) => context! { key => e },
        None => context! {},
    };
    let mut resp = view::render(
        status,
        "sign_in.html",
        context! { title => "Sign in", next, errors, flash },
    );
    view::clear_flash(&mut resp);
    resp
}

/// `GET /dashboard/sign-in`.
pub async fn sign_in_page(req: Request) -> Response {
    let next = req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.into_owned())
    });
    let flash = view::flash_of(req.headers());
    sign_in_form(StatusCode::OK, safe_next(next.as_deref()), None, flash)
}

/// `POST /dashboard/sign-in`: an admin key in, a new session out.
pub async fn sign_in(State(state): State<AppState>, req: Request) -> Response {
    if !same_origin(&state, req.headers()) {
        return view::error_page(
            StatusCode::FORBIDDEN,
            "This sign-in did not come from the dashboard's own page, so it was refused.",
        );
    }
    let client = client_bucket(client_ip(&req, &state.config.trusted_proxies));
    let decision = state
        .limiter
        .hit(
            &format!("dash-sign-in:{client}"),
            SIGN_IN_ATTEMPTS_PER_MINUTE,
        )
        .await;
    if !decision.allowed {
        tracing::warn!(client = %client, "dashboard sign-in attempts throttled");
        return view::too_many_requests(decision.retry_after);
    }
    let (parts, body) = req.into_parts();
    let secure = is_secure(&state, &parts);
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return view::error_page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.");
    };
    let form = Form::parse(&bytes);
    let next = safe_next(form.get("next")).to_string();
    let presented = form.text("key").trim();
    let refuse = |message: &str| sign_in_form(StatusCode::UNAUTHORIZED, &next, Some(message), None);
    if presented.is_empty() {
        return sign_in_form(
            StatusCode::UNPROCESSABLE_ENTITY,
            &next,
            Some("Enter an admin API key."),
            None,
        );
    }
    if keys::parse_api_key(presented).is_none() {
        return refuse("That is not a Tome API key. Admin keys start with tome_.");
    }
    let key = match state.store.find_api_key(&keys::hash_key(presented)).await {
        Ok(found) => found,
        Err(e) => return view::store_error_page(e, &parts),
    };
    let key = match key {
        Some(k) if k.revoked_at.is_some() => return refuse("This key has been revoked."),
        Some(k) if k.kind != KeyKind::Admin => {
            return refuse("This is an assistant key. The dashboard needs an admin key (tome_…).");
        }
        Some(k) => k,
        None => return refuse("This key is not valid for this server."),
    };
    let now = time::unix_now();
    // Sessions past their time are swept at each sign-in: cheap (indexed), and no timer needed.
    let store = state.store.clone();
    tokio::spawn(async move {
        if let Err(e) = store
            .prune_sessions(now - IDLE_TIMEOUT_SECS, now - ABSOLUTE_TIMEOUT_SECS)
            .await
        {
            tracing::warn!(error = %e, "could not prune dashboard sessions");
        }
    });
    // A new ID at every sign-in, whatever cookie came with the request: no session fixation.
    let (id, hash) = new_id();
    if let Err(e) = state.store.create_session(&hash, &key.id, now).await {
        return view::store_error_page(e, &parts);
    }
    tracing::info!(key.id = %key.id, project.id = %key.project_id, "dashboard sign-in");
    let mut resp = view::redirect_with(&next, "Signed in.", FlashKind::Success);
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(secure, &id));
    resp
}

/// `POST /dashboard/sign-out`: ends the session here and now, on every node.
pub async fn sign_out(State(state): State<AppState>, posted: Posted) -> Response {
    if let Err(e) = state.store.delete_session(&posted.session.id_hash).await {
        return view::api_error_page(e.into());
    }
    let mut resp = view::redirect_with("/dashboard/sign-in", "Signed out.", FlashKind::Info);
    let headers = resp.headers_mut();
    headers.append(header::SET_COOKIE, clear_cookie(posted.session.secure));
    // Pages of the session must not come back from the browser's cache (the back button).
    headers.insert("clear-site-data", HeaderValue::from_static("\"cache\""));
    resp
}
