//! A KB's site key: its metadata, rotation and rate limit (`routes/kb.rs`'s site-key handlers).
//!
//! Like the API, the page never shows a stored key: only its prefix. The plaintext exists in the
//! one answer that makes it — the page returned by a rotation (or by creating the KB) — shown
//! there once with a copy button; the answer is `no-store`, so the back button cannot bring it
//! back. The API's `POST …/site-key/revoke` revokes the key and issues its replacement in one
//! step (a KB always has an active key); the dashboard's Rotate and Revoke both do exactly that.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::{Value, context};
use serde_json::json;
use tome_core::input::SiteKeyInput;
use tome_core::keys;
use tome_core::model::{KnowledgeBase, SiteKey};
use tome_core::validate::SITE_KEY_RATE_DEFAULT;
use tome_http::AppState;

use crate::guard::Posted;
use crate::pages::{self, FormError, kb_nav, load_kb};
use crate::view::{self, Dash, FlashKind};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/kb/{kb_id}/site-key", get(show))
        .route("/dashboard/kb/{kb_id}/site-key/rotate", post(rotate))
        .route("/dashboard/kb/{kb_id}/site-key/revoke", post(rotate))
        .route(
            "/dashboard/kb/{kb_id}/site-key/rate-limit",
            post(rate_limit),
        )
}

/// The site-key page. `plaintext` is the key just issued, shown this once.
pub fn page(
    state: &AppState,
    dash: &Dash,
    kb: &KnowledgeBase,
    key: SiteKey,
    plaintext: Option<String>,
) -> Response {
    page_with(
        state,
        dash,
        StatusCode::OK,
        kb,
        key,
        plaintext,
        None,
        context! {},
    )
}

#[allow(clippy::too_many_arguments)]
fn page_with(
    state: &AppState,
    dash: &Dash,
    status: StatusCode,
    kb: &KnowledgeBase,
    key: SiteKey,
    plaintext: Option<String>,
    rate_value: Option<String>,
    errors: Value,
) -> Response {
    dash.page_status(
        status,
        "site_key.html",
        &format!("Site key · {}", kb.title),
        kb_nav(kb, "site-key"),
        context! {
            kb => context! { id => kb.id, title => kb.title, slug => kb.slug,
                             is_public => kb.is_public, public_url => state.public_url(kb) },
            key => context! { prefix => key.key_prefix, created_at => key.created_at,
                              rate_limit => key.rate_limit },
            plaintext,
            rate_value => rate_value.unwrap_or_else(|| key.rate_limit.to_string()),
            errors,
            rate_min => tome_core::validate::SITE_KEY_RATE_MIN,
            rate_max => tome_core::validate::SITE_KEY_RATE_MAX,
        },
    )
}

/// `GET /dashboard/kb/{kb_id}/site-key`: `GET /v1/kb/{kb_id}/site-key` (metadata only).
async fn show(State(state): State<AppState>, dash: Dash, Path(kb_id): Path<String>) -> Response {
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    match state
        .store
        .active_site_key(&dash.session.project_id, &kb.id)
        .await
    {
        Ok(key) => page(&state, &dash, &kb, key, None),
        Err(e) => view::api_error_page(e.into()),
    }
}

/// `POST …/site-key/rotate` (and `…/revoke`): `POST /v1/kb/{kb_id}/site-key/revoke`. The old key
/// stops working at once: the write bumps the KB's access generation before this answers.
async fn rotate(
    State(state): State<AppState>,
    Path(kb_id): Path<String>,
    posted: Posted,
) -> Response {
    let kb = match load_kb(&state, &posted.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let new = keys::generate_site_key();
    let key = match state
        .store
        .rotate_site_key(
            &posted.session.project_id,
            &kb.id,
            &new,
            SITE_KEY_RATE_DEFAULT,
        )
        .await
    {
        Ok(key) => key,
        Err(e) => return view::api_error_page(e.into()),
    };
    tracing::info!(kb.id = %kb.id, "rotated site key (dashboard)");
    state.after_write(Some(&kb.id), true, None, true).await;
    let dash = Dash {
        session: posted.session,
        flash: Some(view::Flash {
            kind: FlashKind::Success,
            message: "The old site key was revoked and stopped working. Copy the new key now: it \
                      is not shown again."
                .into(),
        }),
    };
    page(&state, &dash, &kb, key, Some(new.plaintext))
}

/// `POST …/site-key/rate-limit`: `PUT /v1/kb/{kb_id}/site-key` with `rate_limit`.
async fn rate_limit(
    State(state): State<AppState>,
    Path(kb_id): Path<String>,
    posted: Posted,
) -> Response {
    let kb = match load_kb(&state, &posted.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let raw = posted.form.text("rate_limit").trim().to_string();
    // A number goes to the API's input as a number; anything else as the text it is, so the 422
    // is the API's own ("must be an integer").
    let value = raw.parse::<i64>().map_or_else(|_| json!(raw), |n| json!(n));
    let project = posted.session.project_id.clone();
    let result = async {
        let n = pages::input::<SiteKeyInput>(json!({ "rate_limit": value }))?.into_rate_limit()?;
        Ok::<_, FormError>(
            state
                .store
                .set_site_key_rate_limit(&project, &kb.id, n)
                .await?,
        )
    }
    .await;
    match result {
        Ok(_) => {
            state.after_write(Some(&kb.id), true, None, true).await;
            view::redirect_with(
                &format!("/dashboard/kb/{}/site-key", kb.id),
                "Rate limit saved.",
                FlashKind::Success,
            )
        }
        Err(FormError::Page(resp)) => resp,
        Err(e) => {
            let dash = Dash {
                session: posted.session,
                flash: None,
            };
            let key = match state.store.active_site_key(&project, &kb.id).await {
                Ok(key) => key,
                Err(e) => return view::api_error_page(e.into()),
            };
            page_with(
                &state,
                &dash,
                super::kbs::status_of(&e),
                &kb,
                key,
                None,
                Some(raw),
                e.errors(),
            )
        }
    }
}
