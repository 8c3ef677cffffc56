//! Docs as code: a KB's source settings (`routes/sources.rs`: get, put, delete), "Update now"
//! (the API's trigger, recorded as `dashboard`), the KB's update history and one update's
//! status, files changed and logs.
//!
//! The token and webhook secret are write-only, as in the API: the page says whether each is
//! set, never what it is; an empty field keeps the stored value, a ticked "remove" clears it.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::{Value, context};
use serde_json::{Map, json};
use tome_core::model::KnowledgeBase;
use tome_core::source::{Source, SourceInput, UpdateJob, UpdateTrigger};
use tome_http::AppState;
use tome_store::StoreError;

use crate::guard::{Form, Posted};
use crate::pages::{self, FormError, kb_nav, load_kb};
use crate::view::{self, Dash, FlashKind};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/kb/{kb_id}/source", get(show).post(save))
        .route("/dashboard/kb/{kb_id}/source/update", post(update_now))
        .route("/dashboard/kb/{kb_id}/source/delete", post(remove))
        .route("/dashboard/kb/{kb_id}/updates/{update_id}", get(update))
}

fn source_view(state: &AppState, s: &Source) -> Value {
    context! {
        kind => s.kind.as_str(), url => s.url, branch => s.branch, path => s.path,
        format => s.format.as_str(), has_token => s.has_token,
        has_webhook_secret => s.has_webhook_secret,
        poll_interval_minutes => s.poll_interval_minutes, last_commit => s.last_commit,
        last_synced_at => s.last_synced_at, created_at => s.created_at,
        webhook_url => format!("{}/v1/hooks/git/{}", state.config.base_url.trim_end_matches('/'), s.kb_id),
    }
}

fn values_of(s: Option<&Source>) -> Value {
    match s {
        Some(s) => context! {
            kind => s.kind.as_str(), url => s.url, branch => s.branch, path => s.path,
            format => s.format.as_str(),
            poll_interval_minutes => s.poll_interval_minutes.map(|m| m.to_string()),
        },
        None => context! { kind => "git", format => "auto" },
    }
}

fn values_of_form(f: &Form) -> Value {
    context! {
        kind => f.text("type"), url => f.text("url"), branch => f.text("branch"),
        path => f.text("path"), format => f.text("format"),
        poll_interval_minutes => f.text("poll_interval_minutes"),
    }
}

fn job_view(j: &UpdateJob) -> Value {
    let commit = j.commit.as_ref();
    context! {
        id => j.id, status => j.status.as_str(), trigger => j.trigger.as_str(),
        summary => j.summary, created_at => j.created_at, started_at => j.started_at,
        ended_at => j.ended_at, author => j.author, attempts => j.attempts,
        sha => commit.map(|c| c.sha.clone()), ref_name => commit.map(|c| c.ref_name.clone()),
        message => commit.map(|c| c.message.clone()),
        added => commit.map(|c| c.files_changed.added.clone()).unwrap_or_default(),
        modified => commit.map(|c| c.files_changed.modified.clone()).unwrap_or_default(),
        removed => commit.map(|c| c.files_changed.removed.clone()).unwrap_or_default(),
        logs => j.logs,
    }
}

/// Renders the source page: the form, and the KB's update history (paginated).
#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    dash: &Dash,
    status: StatusCode,
    kb: &KnowledgeBase,
    values: Option<Value>,
    errors: Value,
    cursor: Option<&str>,
) -> Response {
    let project = &dash.session.project_id;
    let source = match state.store.get_source(project, &kb.id).await {
        Ok(s) => Some(s),
        Err(StoreError::NotFound(tome_core::model::Entity::Source)) => None,
        Err(e) => return view::api_error_page(e.into()),
    };
    let list = format!("dash-upd:{}:{}", project, kb.id);
    let page = match pages::page_request(state, cursor, &list) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let updates = match state.store.list_kb_updates(project, &kb.id, page).await {
        Ok(u) => u,
        Err(e) => return view::api_error_page(e.into()),
    };
    let base = format!("/dashboard/kb/{}/source", kb.id);
    let pager = pages::pager(state, &base, &list, cursor, updates.next);
    let updates: Vec<_> = updates.items.iter().map(job_view).collect();
    let values = values.unwrap_or_else(|| values_of(source.as_ref()));
    dash.page_status(
        status,
        "source.html",
        &format!("Source & updates · {}", kb.title),
        kb_nav(kb, "source"),
        context! {
            kb => context! { id => kb.id, title => kb.title, slug => kb.slug },
            source => source.as_ref().map(|s| source_view(state, s)),
            values, errors, updates, pager,
            allow_local => state.config.sync_allow_local,
        },
    )
}

/// `GET /dashboard/kb/{kb_id}/source`.
async fn show(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let cursor = q.get("cursor").map(String::as_str);
    render(
        &state,
        &dash,
        StatusCode::OK,
        &kb,
        None,
        context! {},
        cursor,
    )
    .await
}

/// The API's body for the form. Empty optional fields are left out (a `PUT` sets the whole
/// source: left out is the default); an empty token or secret keeps the stored one, "remove"
/// sends `null`.
fn body_of(f: &Form) -> serde_json::Value {
    let mut body = Map::new();
    for name in ["type", "url", "branch", "path", "format"] {
        let v = f.text(name).trim();
        if !v.is_empty() || name == "url" {
            body.insert(name.into(), json!(v));
        }
    }
    let poll = f.text("poll_interval_minutes").trim();
    if !poll.is_empty() {
        body.insert(
            "poll_interval_minutes".into(),
            poll.parse::<i64>()
                .map_or_else(|_| json!(poll), |n| json!(n)),
        );
    }
    for name in ["token", "webhook_secret"] {
        if f.checked(&format!("clear_{name}")) {
            body.insert(name.into(), serde_json::Value::Null);
        } else if !f.text(name).is_empty() {
            body.insert(name.into(), json!(f.text(name)));
        }
    }
    serde_json::Value::Object(body)
}

/// `POST /dashboard/kb/{kb_id}/source`: `PUT /v1/kb/{kb_id}/source`.
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
        let input = pages::input::<SourceInput>(body_of(&posted.form))?;
        tome_http::routes::sources::set_source(&state, &project, &kb.id, input)
            .await
            .map_err(FormError::from)
    }
    .await;
    match result {
        Ok((_, created)) => {
            state.after_write(Some(&kb.id), false, None, true).await;
            view::redirect_with(
                &format!("/dashboard/kb/{}/source", kb.id),
                if created {
                    "Source connected. Content of this knowledge base is now managed by updates: run one with Update now."
                } else {
                    "Source saved."
                },
                FlashKind::Success,
            )
        }
        Err(FormError::Page(resp)) => resp,
        Err(e) => {
            render(
                &state,
                &dash,
                super::kbs::status_of(&e),
                &kb,
                Some(values_of_form(&posted.form)),
                e.errors(),
                None,
            )
            .await
        }
    }
}

/// `POST …/source/update`: the API's trigger for this KB, recorded as a dashboard update.
async fn update_now(
    State(state): State<AppState>,
    Path(kb_id): Path<String>,
    posted: Posted,
) -> Response {
    let kb = match load_kb(&state, &posted.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let back = format!("/dashboard/kb/{}/source", kb.id);
    match tome_http::routes::sources::enqueue(
        &state,
        &posted.session.project_id,
        &kb.id,
        UpdateTrigger::Dashboard,
    )
    .await
    {
        Ok((job, new)) => {
            state.after_write(None, false, None, true).await;
            if new {
                tracing::info!(update.id = %job.id, kb.id = %kb.id, "update queued (dashboard)");
            }
            view::redirect_with(
                &format!("/dashboard/kb/{}/updates/{}", kb.id, job.id),
                if new {
                    "Update queued."
                } else {
                    "An update of this knowledge base was already waiting; this is it."
                },
                FlashKind::Success,
            )
        }
        Err(StoreError::NotFound(tome_core::model::Entity::Source)) => view::redirect_with(
            &back,
            "This knowledge base has no source yet: connect a repository first.",
            FlashKind::Error,
        ),
        Err(e) => view::api_error_page(e.into()),
    }
}

/// `POST …/source/delete`: `DELETE /v1/kb/{kb_id}/source`.
async fn remove(
    State(state): State<AppState>,
    Path(kb_id): Path<String>,
    posted: Posted,
) -> Response {
    let kb = match load_kb(&state, &posted.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    if let Err(e) = state
        .store
        .delete_source(&posted.session.project_id, &kb.id)
        .await
    {
        return view::api_error_page(e.into());
    }
    tracing::info!(kb.id = %kb.id, "source removed (dashboard)");
    state.after_write(Some(&kb.id), false, None, true).await;
    view::redirect_with(
        &format!("/dashboard/kb/{}/source", kb.id),
        "Source removed. The content stays and can be edited here again.",
        FlashKind::Success,
    )
}

/// `GET /dashboard/kb/{kb_id}/updates/{update_id}`: `GET /v1/project/update-status/{id}`.
async fn update(
    State(state): State<AppState>,
    dash: Dash,
    Path((kb_id, update_id)): Path<(String, String)>,
) -> Response {
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let job = match state
        .store
        .get_update(&dash.session.project_id, &update_id)
        .await
    {
        Ok(job) if job.kb_id == kb.id => job,
        Ok(_) => return view::error_page(StatusCode::NOT_FOUND, "Update not found."),
        Err(e) => return view::api_error_page(e.into()),
    };
    dash.page(
        "update.html",
        &format!("Update {}", job.id),
        kb_nav(&kb, "source"),
        context! {
            kb => context! { id => kb.id, title => kb.title },
            job => job_view(&job),
            running => matches!(job.status.as_str(), "queued" | "in_progress"),
        },
    )
}
