//! Knowledge bases: the list, create, settings (with the live theme preview) and delete.
//!
//! Every write builds the REST API's JSON body from the form (the field names are the API's) and
//! runs it through the same `KbInput` validation and the same store call as `routes/kb.rs`.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::{Value, context};
use serde_json::{Map, json};
use std::collections::HashMap;
use tome_core::input::KbInput;
use tome_core::keys;
use tome_core::model::KnowledgeBase;
use tome_core::validate::SITE_KEY_RATE_DEFAULT;
use tome_http::AppState;

use crate::guard::{Form, Posted};
use crate::pages::{self, FormError, kb_nav, load_kb, site_key};
use crate::view::{self, Dash, FlashKind, Nav};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/kbs", get(list))
        .route("/dashboard/kbs/new", get(new_page).post(create))
        .route("/dashboard/kb/{kb_id}/settings", get(settings).post(save))
        .route(
            "/dashboard/kb/{kb_id}/delete",
            get(delete_page).post(delete),
        )
        .route(
            "/dashboard/kb/{kb_id}/theme-preview",
            get(theme_preview).post(theme_preview_posted),
        )
}

fn kbs_nav() -> Nav {
    Nav {
        section: "kbs",
        ..Nav::default()
    }
}

/// `GET /dashboard/kbs`: the project's KBs with their counts, paginated.
async fn list(
    State(state): State<AppState>,
    dash: Dash,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let list = format!("dash-kb:{}", dash.session.project_id);
    let cursor = q.get("cursor").map(String::as_str);
    let page = match pages::page_request(&state, cursor, &list) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let result = match state
        .store
        .list_kbs(&dash.session.project_id, None, page)
        .await
    {
        Ok(r) => r,
        Err(e) => return view::api_error_page(e.into()),
    };
    let kbs: Vec<_> = result
        .items
        .iter()
        .map(|(kb, counts)| {
            context! {
                id => kb.id, title => kb.title, slug => kb.slug, is_public => kb.is_public,
                theme => kb.theme.as_str(), public_url => state.public_url(kb),
                articles => counts.articles, categories => counts.categories,
                sections => counts.sections, faqs => counts.faqs,
            }
        })
        .collect();
    let pager = pages::pager(&state, "/dashboard/kbs", &list, cursor, result.next);
    dash.page(
        "kbs.html",
        "Knowledge bases",
        kbs_nav(),
        context! { kbs, pager },
    )
}

/// The themes as `[value, label]` options.
fn themes() -> Vec<[&'static str; 2]> {
    vec![
        ["minimal", "Minimal"],
        ["developer", "Developer"],
        ["brand", "Brand"],
        ["docs", "Docs"],
        ["bare", "Bare (for embedding)"],
    ]
}

/// The form's values for a stored KB (or the defaults for a new one).
fn values_of(kb: Option<&KnowledgeBase>) -> Value {
    let Some(kb) = kb else {
        return context! { theme => "minimal", assistant => true };
    };
    let ts = kb.theme_settings.clone().unwrap_or_default();
    context! {
        title => kb.title, slug => kb.slug, description => kb.description,
        is_public => kb.is_public, theme => kb.theme.as_str(), logo_path => kb.logo_path,
        primary_color => ts.primary_color, dark_mode => ts.dark_mode.unwrap_or(false),
        assistant => ts.assistant.unwrap_or(true), custom_css => ts.custom_css,
    }
}

/// The form's values as submitted (to show them again with the errors).
fn values_of_form(form: &Form) -> Value {
    context! {
        title => form.text("title"), slug => form.text("slug"),
        description => form.text("description"), is_public => form.checked("is_public"),
        theme => form.text("theme"), logo_path => form.text("logo_path"),
        primary_color => form.text("theme_settings.primary_color"),
        dark_mode => form.checked("theme_settings.dark_mode"),
        assistant => form.checked("theme_settings.assistant"),
        custom_css => form.text("theme_settings.custom_css"),
    }
}

/// The REST body for the form's fields. `update`: an emptied optional field is sent as `null`
/// (cleared), as a client clearing it would; on create it is left out. Checkboxes are always
/// sent, the form shows every one. `preview` leaves out what the preview does not show.
fn body_of(form: &Form, update: bool, preview: bool) -> serde_json::Value {
    let mut body = Map::new();
    let text = |name: &str, key: &str, into: &mut Map<String, serde_json::Value>| {
        let value = form.text(name).trim();
        if !value.is_empty() {
            into.insert(key.to_string(), json!(value));
        } else if update {
            into.insert(key.to_string(), serde_json::Value::Null);
        }
    };
    // Required on create: sent even when empty, so the 422 names the field.
    body.insert("title".into(), json!(form.text("title").trim()));
    if !preview {
        body.insert("slug".into(), json!(form.text("slug").trim()));
        body.insert("is_public".into(), json!(form.checked("is_public")));
    }
    text("description", "description", &mut body);
    text("logo_path", "logo_path", &mut body);
    let theme = form.text("theme");
    body.insert(
        "theme".into(),
        json!(if theme.is_empty() { "minimal" } else { theme }),
    );
    let mut ts = Map::new();
    text("theme_settings.primary_color", "primary_color", &mut ts);
    // Custom CSS keeps its whitespace: it is the author's text.
    let css = form.text("theme_settings.custom_css");
    if !css.trim().is_empty() {
        ts.insert("custom_css".into(), json!(css));
    } else if update {
        ts.insert("custom_css".into(), serde_json::Value::Null);
    }
    ts.insert(
        "dark_mode".into(),
        json!(form.checked("theme_settings.dark_mode")),
    );
    ts.insert(
        "assistant".into(),
        json!(form.checked("theme_settings.assistant")),
    );
    body.insert("theme_settings".into(), serde_json::Value::Object(ts));
    serde_json::Value::Object(body)
}

/// Renders the create or settings form.
fn form_page(
    dash: &Dash,
    status: StatusCode,
    kb: Option<&KnowledgeBase>,
    values: Value,
    errors: Value,
    state: &AppState,
) -> Response {
    let (title, nav, action) = match kb {
        Some(kb) => (
            format!("Settings · {}", kb.title),
            kb_nav(kb, "settings"),
            format!("/dashboard/kb/{}/settings", kb.id),
        ),
        None => (
            "New knowledge base".to_string(),
            kbs_nav(),
            "/dashboard/kbs/new".to_string(),
        ),
    };
    let kb_ctx = kb.map(|kb| {
        context! {
            id => kb.id, title => kb.title, slug => kb.slug, public_url => state.public_url(kb),
        }
    });
    dash.page_status(
        status,
        "kb_form.html",
        &title,
        nav,
        context! {
            kb => kb_ctx, values, errors, action, themes => themes(),
            css_max => tome_core::validate::CUSTOM_CSS_MAX,
        },
    )
}

/// `GET /dashboard/kbs/new`.
async fn new_page(State(state): State<AppState>, dash: Dash) -> Response {
    form_page(
        &dash,
        StatusCode::OK,
        None,
        values_of(None),
        context! {},
        &state,
    )
}

/// `POST /dashboard/kbs/new`: `POST /v1/kb`. The new KB's site key is shown on the answer, once.
async fn create(State(state): State<AppState>, posted: Posted) -> Response {
    let dash = Dash {
        session: posted.session,
        flash: None,
    };
    let project = dash.session.project_id.clone();
    let site_key = keys::generate_site_key();
    let result = async {
        let new = pages::input::<KbInput>(body_of(&posted.form, false, false))?.into_new()?;
        let created = state
            .store
            .create_kb(&project, new, &site_key, SITE_KEY_RATE_DEFAULT)
            .await?;
        Ok::<_, FormError>(created)
    }
    .await;
    match result {
        Ok(created) => {
            tracing::info!(kb.id = %created.kb.id, "created knowledge base (dashboard)");
            state
                .after_write(Some(&created.kb.id), true, None, true)
                .await;
            let dash = Dash {
                flash: Some(view::Flash {
                    kind: FlashKind::Success,
                    message:
                        "Knowledge base created. Copy its site key now: it is not shown again."
                            .into(),
                }),
                ..dash
            };
            site_key::page(
                &state,
                &dash,
                &created.kb,
                created.site_key,
                Some(site_key.plaintext),
            )
        }
        Err(FormError::Page(resp)) => resp,
        Err(e) => {
            let status = status_of(&e);
            form_page(
                &dash,
                status,
                None,
                values_of_form(&posted.form),
                e.errors(),
                &state,
            )
        }
    }
}

/// The status a form answers with.
pub fn status_of(e: &FormError) -> StatusCode {
    match e {
        FormError::Fields(status, _) => *status,
        FormError::Page(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `GET /dashboard/kb/{kb_id}/settings`.
async fn settings(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
) -> Response {
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    form_page(
        &dash,
        StatusCode::OK,
        Some(&kb),
        values_of(Some(&kb)),
        context! {},
        &state,
    )
}

/// `POST /dashboard/kb/{kb_id}/settings`: `PUT /v1/kb/{kb_id}`.
async fn save(
    State(state): State<AppState>,
    Path(kb_id): Path<String>,
    posted: Posted,
) -> Response {
    let dash = Dash {
        session: posted.session,
        flash: None,
    };
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let project = dash.session.project_id.clone();
    let result = async {
        let patch = pages::input::<KbInput>(body_of(&posted.form, true, false))?.into_patch()?;
        Ok::<_, FormError>(state.store.update_kb(&project, &kb_id, patch).await?)
    }
    .await;
    match result {
        Ok(kb) => {
            state.after_write(Some(&kb.id), true, None, true).await;
            view::redirect_with(
                &format!("/dashboard/kb/{}/settings", kb.id),
                "Settings saved.",
                FlashKind::Success,
            )
        }
        Err(FormError::Page(resp)) => resp,
        Err(e) => form_page(
            &dash,
            status_of(&e),
            Some(&kb),
            values_of_form(&posted.form),
            e.errors(),
            &state,
        ),
    }
}

/// `GET /dashboard/kb/{kb_id}/theme-preview?…`: the KB's hosted home page with the form's unsaved
/// values, for the settings page's `<iframe>`. Without a query, the saved settings. Needs the
/// session like every page; a value the API would refuse shows its message instead.
async fn theme_preview(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let mut kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let query = req.uri().query().unwrap_or_default();
    if !query.is_empty() {
        let form = Form::parse(query.as_bytes());
        if let Err(e) = with_unsaved(&mut kb, &form) {
            return preview_refused(&e);
        }
    }
    tome_http::hosted::preview_home(&state, kb).await
}

/// `POST /dashboard/kb/{kb_id}/theme-preview`: the same preview for the settings form's Preview
/// button without JavaScript, which posts the whole form (its CSRF token included) into the
/// frame — a GET would put the token in the URL. Checked like every post; changes nothing.
async fn theme_preview_posted(
    State(state): State<AppState>,
    Path(kb_id): Path<String>,
    posted: Posted,
) -> Response {
    let mut kb = match load_kb(&state, &posted.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    if let Err(e) = with_unsaved(&mut kb, &posted.form) {
        return preview_refused(&e);
    }
    tome_http::hosted::preview_home(&state, kb).await
}

/// `kb` with the settings form's unsaved values, checked as the API checks them.
fn with_unsaved(kb: &mut tome_core::model::KnowledgeBase, form: &Form) -> Result<(), FormError> {
    let patch = pages::input::<KbInput>(body_of(form, true, true))?.into_patch()?;
    let now = kb.updated_at.clone();
    patch.apply(kb, &now);
    Ok(())
}

/// A preview whose values the API would refuse: the message, in the frame.
fn preview_refused(e: &FormError) -> Response {
    let message = match e {
        FormError::Fields(_, map) => map.values().cloned().collect::<Vec<_>>().join(" "),
        FormError::Page(_) => "The preview could not be shown.".to_string(),
    };
    let mut resp = view::render(
        StatusCode::UNPROCESSABLE_ENTITY,
        "preview_refused.html",
        context! { message },
    );
    // Shown inside the settings page's frame: framable by this site only.
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; frame-ancestors 'self'",
        ),
    );
    h.insert(
        axum::http::header::X_FRAME_OPTIONS,
        axum::http::HeaderValue::from_static("SAMEORIGIN"),
    );
    resp
}

/// `GET /dashboard/kb/{kb_id}/delete`: the typed confirmation.
async fn delete_page(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
) -> Response {
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    delete_form(&dash, StatusCode::OK, &kb, "", context! {})
}

fn delete_form(
    dash: &Dash,
    status: StatusCode,
    kb: &KnowledgeBase,
    typed: &str,
    errors: Value,
) -> Response {
    dash.page_status(
        status,
        "kb_delete.html",
        &format!("Delete {}", kb.title),
        kb_nav(kb, "settings"),
        context! { kb => context! { id => kb.id, title => kb.title, slug => kb.slug }, typed, errors },
    )
}

/// `POST /dashboard/kb/{kb_id}/delete`: `DELETE /v1/kb/{kb_id}`, once the slug is typed.
async fn delete(
    State(state): State<AppState>,
    Path(kb_id): Path<String>,
    posted: Posted,
) -> Response {
    let dash = Dash {
        session: posted.session,
        flash: None,
    };
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let typed = posted.form.text("confirm_slug").trim();
    if typed != kb.slug {
        return delete_form(
            &dash,
            StatusCode::UNPROCESSABLE_ENTITY,
            &kb,
            typed,
            context! { confirm_slug => format!("Type the slug {} exactly to confirm.", kb.slug) },
        );
    }
    if let Err(e) = state
        .store
        .delete_kb(&dash.session.project_id, &kb.id)
        .await
    {
        return view::api_error_page(e.into());
    }
    tracing::info!(kb.id = %kb.id, "deleted knowledge base (dashboard)");
    state.after_write(Some(&kb.id), true, None, true).await;
    view::redirect_with(
        "/dashboard/kbs",
        &format!("Knowledge base {} deleted.", kb.title),
        FlashKind::Success,
    )
    .into_response()
}
