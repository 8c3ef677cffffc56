//! The project's API keys: list, create (admin or assistant), revoke — what `tome key …` does,
//! for the session's project only.
//!
//! A created key's plaintext is on the answer to the create, once (`no-store`), never again: only
//! its SHA-256 is stored. Revoking the key the session signed in with ends the session.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::{Value, context};
use tome_core::keys::{self, KeyKind};
use tome_core::model::ApiKey;
use tome_http::AppState;

use crate::guard::Posted;
use crate::session::clear_cookie;
use crate::view::{self, Dash, FlashKind, Nav};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/keys", get(list).post(create))
        .route("/dashboard/keys/{key_id}/revoke", post(revoke))
}

fn key_view(k: &ApiKey, current: &str) -> Value {
    context! {
        id => k.id, kind => k.kind.as_str(), prefix => k.key_prefix, created_at => k.created_at,
        last_used_at => k.last_used_at, revoked_at => k.revoked_at, current => k.id == current,
    }
}

fn render(
    dash: &Dash,
    status: StatusCode,
    keys: &[ApiKey],
    created: Option<Value>,
    errors: Value,
) -> Response {
    let keys: Vec<_> = keys
        .iter()
        .map(|k| key_view(k, &dash.session.key_id))
        .collect();
    dash.page_status(
        status,
        "keys.html",
        "API keys",
        Nav {
            section: "keys",
            ..Nav::default()
        },
        context! { keys, created, errors,
                   kinds => vec![["admin", "Admin (tome_…): manage everything"],
                                 ["assistant", "Assistant (tome_dsc_…): assistant and docs search, server-side"]] },
    )
}

/// `GET /dashboard/keys`.
async fn list(State(state): State<AppState>, dash: Dash) -> Response {
    match state.store.list_api_keys(&dash.session.project_id).await {
        Ok(keys) => render(&dash, StatusCode::OK, &keys, None, context! {}),
        Err(e) => view::api_error_page(e.into()),
    }
}

/// `POST /dashboard/keys`: `tome key create --kind …` for the session's project.
async fn create(State(state): State<AppState>, posted: Posted) -> Response {
    let dash = Dash {
        session: posted.session,
        flash: None,
    };
    let project = dash.session.project_id.clone();
    let kind = match posted.form.text("kind") {
        "admin" => KeyKind::Admin,
        "assistant" => KeyKind::Assistant,
        _ => {
            return match state.store.list_api_keys(&project).await {
                Ok(keys) => render(
                    &dash,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &keys,
                    None,
                    context! { kind => "Kind must be one of admin, assistant." },
                ),
                Err(e) => view::api_error_page(e.into()),
            };
        }
    };
    let generated = keys::generate_api_key(kind);
    let key = match state.store.create_api_key(&project, kind, &generated).await {
        Ok(k) => k,
        Err(e) => return view::api_error_page(e.into()),
    };
    tracing::info!(key.id = %key.id, "created API key (dashboard)");
    let keys = match state.store.list_api_keys(&project).await {
        Ok(keys) => keys,
        Err(e) => return view::api_error_page(e.into()),
    };
    let dash = Dash {
        flash: Some(view::Flash {
            kind: FlashKind::Success,
            message: format!(
                "{} key created. Copy it now: it is not shown again.",
                if kind == KeyKind::Admin {
                    "Admin"
                } else {
                    "Assistant"
                }
            ),
        }),
        ..dash
    };
    render(
        &dash,
        StatusCode::OK,
        &keys,
        Some(
            context! { id => key.id, kind => key.kind.as_str(), plaintext => generated.plaintext },
        ),
        context! {},
    )
}

/// `POST /dashboard/keys/{key_id}/revoke`: `tome key revoke`, for a key of this project only
/// (the store's revoke takes a bare key ID, so ownership is checked here first; another
/// project's key is a 404, like an unknown one).
async fn revoke(
    State(state): State<AppState>,
    Path(key_id): Path<String>,
    posted: Posted,
) -> Response {
    let session = posted.session;
    let keys = match state.store.list_api_keys(&session.project_id).await {
        Ok(keys) => keys,
        Err(e) => return view::api_error_page(e.into()),
    };
    let Some(key) = keys.iter().find(|k| k.id == key_id) else {
        return view::error_page(StatusCode::NOT_FOUND, "API key not found.");
    };
    if key.revoked_at.is_none() {
        if let Err(e) = state.store.revoke_api_key(&key.id).await {
            return view::api_error_page(e.into());
        }
        // This node's cached key lookups go at once; other nodes follow the change feed.
        state.public.invalidate_api_keys();
        tracing::info!(key.id = %key.id, "revoked API key (dashboard)");
    }
    if key.id == session.key_id {
        // The session's own key: its session has ended (every other session of the key ends at
        // its next request, when the key is read revoked).
        if let Err(e) = state.store.delete_session(&session.id_hash).await {
            tracing::warn!(error = %e, "could not delete the session of a revoked key");
        }
        let mut resp = view::redirect_with(
            "/dashboard/sign-in",
            "You revoked the key you signed in with, so you were signed out. Sign in with another admin key.",
            FlashKind::Info,
        );
        let h = resp.headers_mut();
        h.append(header::SET_COOKIE, clear_cookie(session.secure));
        h.insert("clear-site-data", HeaderValue::from_static("\"cache\""));
        return resp;
    }
    view::redirect_with(
        "/dashboard/keys",
        &format!("Key {}… revoked.", key.key_prefix),
        FlashKind::Success,
    )
}
