//! A knowledge base's content: the tree (categories → sections → articles), the category,
//! section, article and FAQ forms, reordering, the Markdown preview and the search tester.
//!
//! Every write does what the REST handler of the same action does — the same input type built
//! from the form's fields (named as the REST JSON fields), the same store call — then
//! [`AppState::after_write`], as the REST write layer would. A KB whose content a docs-as-code
//! source manages refuses content writes with REST's 409 `source_managed`.

mod articles;
mod categories;
mod faqs;
mod search;
mod tree;

use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value as Json};
use tome_core::model::{Category, Section};
use tome_http::AppState;
use tome_store::{PageRequest, StoreError};

use crate::guard::Form;
use crate::pages::FormError;
use crate::session::Session;
use crate::view::{self, FlashKind};

/// The content pages' routes.
pub fn routes() -> Router<AppState> {
    let kb = "/dashboard/kb/{kb_id}";
    Router::new()
        .route(kb, get(tree::tree))
        .route(&format!("{kb}/articles"), get(tree::articles))
        .route(
            &format!("{kb}/categories/new"),
            get(categories::new_category).post(categories::create_category),
        )
        .route(
            &format!("{kb}/categories/{{id}}"),
            get(categories::edit_category).post(categories::update_category),
        )
        .route(
            &format!("{kb}/categories/{{id}}/delete"),
            get(categories::confirm_delete_category).post(categories::delete_category),
        )
        .route(
            &format!("{kb}/categories/{{id}}/move"),
            post(tree::move_category),
        )
        .route(
            &format!("{kb}/sections/new"),
            get(categories::new_section).post(categories::create_section),
        )
        .route(
            &format!("{kb}/sections/{{id}}"),
            get(categories::edit_section).post(categories::update_section),
        )
        .route(
            &format!("{kb}/sections/{{id}}/delete"),
            get(categories::confirm_delete_section).post(categories::delete_section),
        )
        .route(
            &format!("{kb}/sections/{{id}}/move"),
            post(tree::move_section),
        )
        .route(
            &format!("{kb}/articles/new"),
            get(articles::new_article).post(articles::create_article),
        )
        .route(
            &format!("{kb}/articles/{{id}}"),
            get(articles::edit_article).post(articles::update_article),
        )
        .route(
            &format!("{kb}/articles/{{id}}/publish"),
            post(articles::publish_article),
        )
        .route(
            &format!("{kb}/articles/{{id}}/archive"),
            post(articles::archive_article),
        )
        .route(
            &format!("{kb}/articles/{{id}}/delete"),
            get(articles::confirm_delete_article).post(articles::delete_article),
        )
        .route(
            &format!("{kb}/articles/{{id}}/move"),
            post(tree::move_article),
        )
        .route(&format!("{kb}/preview"), post(articles::preview))
        .route(&format!("{kb}/faqs"), get(faqs::list))
        .route(
            &format!("{kb}/faqs/new"),
            get(faqs::new_faq).post(faqs::create_faq),
        )
        .route(
            &format!("{kb}/faqs/{{id}}"),
            get(faqs::edit_faq).post(faqs::update_faq),
        )
        .route(
            &format!("{kb}/faqs/{{id}}/delete"),
            get(faqs::confirm_delete_faq).post(faqs::delete_faq),
        )
        .route(
            &format!("{kb}/faqs/{{id}}/publish"),
            post(faqs::publish_faq),
        )
        .route(&format!("{kb}/search"), get(search::search))
}

/// Rows read per query when a page needs a whole list (categories and sections of a KB, the
/// siblings of a moved item).
const ALL_BATCH: i64 = 500;

/// The URL of a KB's content tree.
fn tree_url(kb_id: &str) -> String {
    format!("/dashboard/kb/{kb_id}")
}

/// REST's `source_managed` refusal: content writes to a KB whose content a source manages are
/// refused with 409, naming the source, as `refuse_source_managed` does for the API.
async fn refuse_source_managed(
    state: &AppState,
    session: &Session,
    kb_id: &str,
) -> Result<(), FormError> {
    tome_http::routes::sources::refuse_if_managed(state, &session.project_id, kb_id)
        .await
        .map_err(FormError::from)
}

/// What a successful content write does before its response: the REST write layer's
/// invalidation for a path under the KB (not its row or site key, not the project).
async fn written(state: &AppState, kb_id: &str) {
    state.after_write(Some(kb_id), false, None, true).await;
}

/// The answer to a one-button action (publish, move, delete) that failed: a page error as its
/// page, anything else as an error flash on `back`.
fn action_failed(e: FormError, back: &str) -> Response {
    match e {
        FormError::Page(resp) => resp,
        FormError::Fields(_, map) => {
            let message = map.into_values().collect::<Vec<_>>().join(" ");
            view::redirect_with(back, &message, FlashKind::Error)
        }
    }
}

/// Every category of a KB, in order.
async fn all_categories(
    state: &AppState,
    session: &Session,
    kb_id: &str,
) -> Result<Vec<Category>, StoreError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .list_categories(
                &session.project_id,
                kb_id,
                PageRequest {
                    limit: ALL_BATCH,
                    after,
                },
            )
            .await?;
        out.extend(page.items);
        match page.next {
            Some(p) => after = Some(p),
            None => return Ok(out),
        }
    }
}

/// Every section of a KB (or of one category), in order.
async fn all_sections(
    state: &AppState,
    session: &Session,
    kb_id: &str,
    category_id: Option<&str>,
) -> Result<Vec<Section>, StoreError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .list_sections(
                &session.project_id,
                kb_id,
                category_id,
                PageRequest {
                    limit: ALL_BATCH,
                    after,
                },
            )
            .await?;
        out.extend(page.items);
        match page.next {
            Some(p) => after = Some(p),
            None => return Ok(out),
        }
    }
}

/// Builds a REST JSON body from form fields.
#[derive(Default)]
struct Body(Map<String, Json>);

impl Body {
    /// A text field sent as typed (required fields: blank gets the API's "must not be blank").
    fn text(mut self, form: &Form, name: &str) -> Self {
        if let Some(v) = form.get(name) {
            self.0.insert(name.into(), Json::String(v.to_string()));
        }
        self
    }

    /// An optional text field: blank is left out when creating and cleared (`null`) when
    /// updating, as a client that emptied the field means.
    fn optional(mut self, form: &Form, name: &str, updating: bool) -> Self {
        match form.get(name) {
            Some(v) if !v.trim().is_empty() => {
                self.0.insert(name.into(), Json::String(v.to_string()));
            }
            Some(_) if updating => {
                self.0.insert(name.into(), Json::Null);
            }
            _ => {}
        }
        self
    }

    /// An integer field: blank is left out; anything else that is not an integer is sent as
    /// text, so the API's own 422 names the field.
    fn integer(mut self, form: &Form, name: &str) -> Self {
        if let Some(v) = form.get(name).map(str::trim).filter(|v| !v.is_empty()) {
            let value = v
                .parse::<i64>()
                .map_or_else(|_| Json::String(v.to_string()), Json::from);
            self.0.insert(name.into(), value);
        }
        self
    }

    /// A comma-separated list field (tags, related article IDs) as a JSON list.
    fn list(mut self, form: &Form, name: &str) -> Self {
        if let Some(v) = form.get(name) {
            let items = split_list(v).into_iter().map(Json::String).collect();
            self.0.insert(name.into(), Json::Array(items));
        }
        self
    }

    fn set(mut self, name: &str, value: Json) -> Self {
        self.0.insert(name.into(), value);
        self
    }

    fn json(self) -> Json {
        Json::Object(self.0)
    }
}

/// Splits a comma-separated field into its trimmed, non-empty items.
fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
