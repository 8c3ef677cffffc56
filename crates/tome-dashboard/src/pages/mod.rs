//! The pages. Each module is one area of the dashboard with its handlers and templates; this
//! module holds what they share: turning a form into the REST API's input types (so a form is
//! validated by exactly the code a JSON body is), showing the 422s next to their fields,
//! pagination links, and the KB a page is about.

pub mod auth;
pub mod content;
pub mod conversations;
pub mod kbs;
pub mod keys;
pub mod overview;
pub mod project;
pub mod site_key;
pub mod sources;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};
use serde::de::DeserializeOwned;
use tome_core::cursor::Position;
use tome_core::model::KnowledgeBase;
use tome_http::AppState;
use tome_http::error::ApiError;
use tome_store::PageRequest;

use crate::session::Session;
use crate::view::{self, Nav};

/// Items per page of every dashboard list.
pub const PAGE_SIZE: i64 = 25;

/// Why a form could not be saved: messages to show next to the fields they name (and, under
/// `""`, ones that name no field), or a page of its own (not found, unavailable).
pub enum FormError {
    /// Field → message, with the status to answer (422, 402, 409).
    Fields(StatusCode, BTreeMap<String, String>),
    Page(Response),
}

impl FormError {
    /// The form-level error for `message`.
    pub fn form(status: StatusCode, message: impl Into<String>) -> FormError {
        FormError::Fields(status, BTreeMap::from([(String::new(), message.into())]))
    }

    /// The field errors as template context (`errors.title`), empty for a page error.
    pub fn errors(&self) -> Value {
        match self {
            FormError::Fields(_, map) => Value::from_serialize(map),
            FormError::Page(_) => context! {},
        }
    }
}

impl From<ApiError> for FormError {
    fn from(e: ApiError) -> FormError {
        match e.status {
            StatusCode::UNPROCESSABLE_ENTITY => {
                let field = e
                    .details
                    .as_ref()
                    .and_then(|d| d.get("field"))
                    .and_then(|f| f.as_str())
                    .unwrap_or_default()
                    .to_string();
                let reason = e
                    .details
                    .as_ref()
                    .and_then(|d| d.get("reason"))
                    .and_then(|f| f.as_str())
                    .map(str::to_string);
                let message = match reason {
                    Some(reason) if !field.is_empty() => format!("{} {reason}.", label(&field)),
                    _ => e.message,
                };
                FormError::Fields(e.status, BTreeMap::from([(field, message)]))
            }
            StatusCode::PAYMENT_REQUIRED | StatusCode::CONFLICT => {
                FormError::form(e.status, e.message)
            }
            _ => FormError::Page(view::api_error_page(e)),
        }
    }
}

impl From<tome_store::StoreError> for FormError {
    fn from(e: tome_store::StoreError) -> FormError {
        ApiError::from(e).into()
    }
}

impl From<tome_core::validate::ValidationError> for FormError {
    fn from(e: tome_core::validate::ValidationError) -> FormError {
        ApiError::from(e).into()
    }
}

/// A field name as people read it: `theme_settings.primary_color` → `Primary color`.
pub fn label(field: &str) -> String {
    let last = field.rsplit('.').next().unwrap_or(field);
    let words = last.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reads a JSON object built from a form as one of the REST API's input types, with the same
/// checks and the same 422s as a JSON body.
pub fn input<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, FormError> {
    tome_http::extract::from_value(value).map_err(FormError::from)
}

/// A list page's position from its `?cursor=` (issued for the list called `list`).
pub fn page_request(
    state: &AppState,
    cursor: Option<&str>,
    list: &str,
) -> Result<PageRequest, Response> {
    let after = match cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(state.cursors.decode(list, c).ok_or_else(|| {
            view::error_page(
                StatusCode::BAD_REQUEST,
                "This page link is not valid any more. Start from the first page.",
            )
        })?),
    };
    Ok(PageRequest {
        limit: PAGE_SIZE,
        after,
    })
}

/// The pager of a list: `next` continues after the last item shown, `prev` goes back to the
/// first page (keyset pages run forward only).
pub fn pager(
    state: &AppState,
    base: &str,
    list: &str,
    current: Option<&str>,
    next: Option<Position>,
) -> Value {
    let join = if base.contains('?') { '&' } else { '?' };
    let next = next.map(|p| {
        format!(
            "{base}{join}cursor={}",
            view::encode_component(&state.cursors.encode(list, p))
        )
    });
    let prev = current.filter(|c| !c.is_empty()).map(|_| base.to_string());
    context! { next, prev }
}

/// The KB a page is about, if it is the session's project's (else a 404 page, as for an ID
/// that does not exist).
pub async fn load_kb(
    state: &AppState,
    session: &Session,
    kb_id: &str,
) -> Result<KnowledgeBase, Response> {
    state
        .store
        .get_kb(&session.project_id, kb_id)
        .await
        .map_err(|e| view::api_error_page(e.into()))
}

/// The navigation of a page inside a KB.
pub fn kb_nav(kb: &KnowledgeBase, tab: &'static str) -> Nav {
    Nav {
        section: "kbs",
        kb: Some(context! { id => kb.id, title => kb.title, slug => kb.slug }),
        tab,
    }
}
