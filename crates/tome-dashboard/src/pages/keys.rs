//! The project's API keys: list, create (admin or assistant), revoke — what `tome key …` does,
//! for the session's project only.
//!
//! A created key's plaintext is on the answer to the create, once (`no-store`), never again: only
//! its SHA-256 is stored. Revoking the key the session signed in with ends the session.

use axum::Router;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::{Value, context};
use tome_core::cursor::Position;
use tome_core::keys::{self, KeyKind};
use tome_core::model::ApiKey;
use tome_http::AppState;

use crate::guard::Posted;
use crate::pages;
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

/// The list's name for its page links.
fn list_name(dash: &Dash) -> String {
    format!("dash-keys:{}", dash.session.project_id)
}

/// Renders the keys page, showing the page of the list that starts after `cursor`. The store
/// reads a project's keys in one go (a project has few), so the page is cut here; the cursor is
/// the signed position in that list.
fn render(
    state: &AppState,
    dash: &Dash,
    status: StatusCode,
    keys: &[ApiKey],
    cursor: Option<&str>,
    created: Option<Value>,
    errors: Value,
) -> Response {
    let list = list_name(dash);
    let page = match pages::page_request(state, cursor, &list) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let start = page
        .after
        .map_or(0, |p| usize::try_from(p.seq).unwrap_or(0))
        .min(keys.len());
    let end = (start + pages::PAGE_SIZE as usize).min(keys.len());
    let next = (end < keys.len()).then_some(Position {
        sort: 0,
        seq: end as i64,
    });
    let pager = pages::pager(state, "/dashboard/keys", &list, cursor, next);
    let keys: Vec<_> = keys[start..end]
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
        context! { keys, created, errors, pager,
                   kinds => vec![["admin", "Admin (tome_…): manage everything"],
                                 ["assistant", "Assistant (tome_dsc_…): assistant and docs search, server-side"]] },
    )
}

/// `GET /dashboard/keys`.
async fn list(
    State(state): State<AppState>,
    dash: Dash,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let cursor = q.get("cursor").map(String::as_str);
    match state.store.list_api_keys(&dash.session.project_id).await {
        Ok(keys) => render(
            &state,
            &dash,
            StatusCode::OK,
            &keys,
            cursor,
            None,
            context! {},
        ),
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
                    &state,
                    &dash,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &keys,
                    None,
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
        &state,
        &dash,
        StatusCode::OK,
        &keys,
        None,
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
