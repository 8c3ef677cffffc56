//! The assistant's conversations: the analytics list (`GET /v1/analytics/{projectId}/assistant`,
//! with its day filters) and one thread's transcript (`…/threads/{threadId}`), with each
//! answer's cited pages and whether the documentation answered it.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use minijinja::{Value, context};
use tome_core::assistant::{Role, SourceRef};
use tome_http::AppState;
use tome_store::DateRange;

use crate::pages;
use crate::view::{self, Dash, Nav};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/assistant", get(list))
        .route("/dashboard/assistant/{thread_id}", get(transcript))
}

fn nav() -> Nav {
    Nav {
        section: "assistant",
        ..Nav::default()
    }
}

/// Cited pages as links; a URL that is not http(s) or a path (Tome makes none) is shown as text.
fn sources(list: &[SourceRef]) -> Vec<Value> {
    list.iter()
        .map(|s| {
            let linkable = s.url.starts_with("https://")
                || s.url.starts_with("http://")
                || (s.url.starts_with('/') && !s.url.starts_with("//"));
            context! { title => s.title, url => s.url, linkable }
        })
        .collect()
}

/// A `YYYY-MM-DD` filter value, as the analytics endpoint checks it.
fn date(q: &HashMap<String, String>, name: &str) -> Result<Option<String>, String> {
    let Some(raw) = q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let ok = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
        && raw[5..7].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
        && raw[8..10]
            .parse::<u8>()
            .is_ok_and(|d| (1..=31).contains(&d));
    if ok {
        Ok(Some(raw.to_string()))
    } else {
        Err("Must be a date (YYYY-MM-DD).".to_string())
    }
}

/// `GET /dashboard/assistant?dateFrom=&dateTo=&cursor=`.
async fn list(
    State(state): State<AppState>,
    dash: Dash,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let project = dash.session.project_id.clone();
    let mut errors = std::collections::BTreeMap::new();
    let from = date(&q, "dateFrom").unwrap_or_else(|e| {
        errors.insert("dateFrom", e);
        None
    });
    let to = date(&q, "dateTo").unwrap_or_else(|e| {
        errors.insert("dateTo", e);
        None
    });
    let filters = context! {
        dateFrom => q.get("dateFrom").cloned().unwrap_or_default(),
        dateTo => q.get("dateTo").cloned().unwrap_or_default(),
    };
    if !errors.is_empty() {
        return dash.page_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "conversations.html",
            "Assistant conversations",
            nav(),
            context! { filters, errors, conversations => Vec::<Value>::new() },
        );
    }
    let range = DateRange { from, to };
    let list = format!(
        "dash-conv:{}:{}:{}",
        project,
        range.from.as_deref().unwrap_or_default(),
        range.to.as_deref().unwrap_or_default()
    );
    let cursor = q.get("cursor").map(String::as_str);
    let page = match pages::page_request(&state, cursor, &list) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let result = match state.store.list_conversations(&project, &range, page).await {
        Ok(r) => r,
        Err(e) => return view::api_error_page(e.into()),
    };
    let mut base = "/dashboard/assistant".to_string();
    let mut join = '?';
    for (name, value) in [("dateFrom", &range.from), ("dateTo", &range.to)] {
        if let Some(v) = value {
            base.push_str(&format!("{join}{name}={}", view::encode_component(v)));
            join = '&';
        }
    }
    let pager = pages::pager(&state, &base, &list, cursor, result.next);
    let conversations: Vec<_> = result
        .items
        .iter()
        .map(|c| {
            context! {
                id => c.id, thread_id => c.thread_id, timestamp => c.timestamp, query => c.query,
                response => tome_render::excerpt(&c.response, 200),
                resolution => c.resolution.as_str(), response_type => c.response_type.as_str(),
                sources => sources(&c.sources), page_url => c.page_url,
            }
        })
        .collect();
    dash.page(
        "conversations.html",
        "Assistant conversations",
        nav(),
        context! { filters, errors => context! {}, conversations, pager },
    )
}

/// `GET /dashboard/assistant/{thread_id}`: the transcript. Answers are Markdown, shown through
/// Tome's renderer and sanitiser (the one HTML the templates mark safe).
async fn transcript(
    State(state): State<AppState>,
    dash: Dash,
    Path(thread_id): Path<String>,
) -> Response {
    let (thread, messages) = match state
        .store
        .thread_messages(&dash.session.project_id, &thread_id)
        .await
    {
        Ok(found) => found,
        Err(e) => return view::api_error_page(e.into()),
    };
    let kb = state
        .store
        .get_kb(&dash.session.project_id, &thread.kb_id)
        .await
        .ok()
        .map(|kb| context! { id => kb.id, title => kb.title });
    let messages: Vec<_> = messages
        .iter()
        .map(|m| {
            let user = m.role == Role::User;
            context! {
                id => m.id, user, created_at => m.created_at, content => m.content,
                html => (!user).then(|| tome_render::render(&m.content).html),
                sources => sources(&m.sources), page_url => m.page_url,
                resolution => m.resolution.map(|r| r.as_str()),
                response_type => m.response_type.map(|r| r.as_str()),
            }
        })
        .collect();
    dash.page(
        "conversation.html",
        "Conversation",
        nav(),
        context! {
            thread => context! { id => thread.id, created_at => thread.created_at, fp => thread.fp },
            kb, messages,
        },
    )
}
