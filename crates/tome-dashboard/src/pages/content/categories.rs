//! Category and section forms: create, edit, delete (with confirmation).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};
use serde::Deserialize;
use tome_core::input::{CategoryInput, SectionInput};
use tome_core::model::KnowledgeBase;
use tome_http::AppState;

use super::{Body, action_failed, all_categories, refuse_source_managed, tree_url, written};
use crate::guard::{Form, Posted};
use crate::pages::{FormError, input, kb_nav, load_kb};
use crate::view::{self, Dash, FlashKind};

fn kb_ctx(kb: &KnowledgeBase) -> Value {
    context! { id => kb.id, title => kb.title, slug => kb.slug }
}

/// The category form's values, from a saved category or from what was typed.
fn category_values(form: &Form) -> Value {
    context! {
        name => form.text("name"), description => form.text("description"),
        icon => form.text("icon"), sort_order => form.text("sort_order"),
    }
}

fn category_body(form: &Form, updating: bool) -> serde_json::Value {
    Body::default()
        .text(form, "name")
        .optional(form, "description", updating)
        .optional(form, "icon", updating)
        .integer(form, "sort_order")
        .json()
}

/// Renders the category form (new when `id` is `None`).
fn category_page(
    dash: &Dash,
    kb: &KnowledgeBase,
    id: Option<&str>,
    values: Value,
    status: StatusCode,
    errors: Value,
) -> Response {
    let title = if id.is_some() {
        "Edit category"
    } else {
        "New category"
    };
    dash.page_status(
        status,
        "category_form.html",
        title,
        kb_nav(kb, "content"),
        context! { kb => kb_ctx(kb), id, values, errors, heading => title },
    )
}

/// `GET /dashboard/kb/{kb_id}/categories/new`.
pub async fn new_category(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
) -> Response {
    match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => category_page(&dash, &kb, None, context! {}, StatusCode::OK, context! {}),
        Err(resp) => resp,
    }
}

/// `POST /dashboard/kb/{kb_id}/categories/new` (2 credits, as REST).
pub async fn create_category(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let kb = match load_kb(&state, session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let result: Result<_, FormError> = async {
        refuse_source_managed(&state, session, &kb_id).await?;
        let new = input::<CategoryInput>(category_body(&posted.form, false))?.into_new()?;
        let c = state
            .store
            .create_category(&session.project_id, &kb_id, new)
            .await?;
        written(&state, &kb_id).await;
        Ok(c)
    }
    .await;
    match result {
        Ok(_) => view::redirect_with(&tree_url(&kb_id), "Category created.", FlashKind::Success),
        Err(FormError::Page(resp)) => resp,
        Err(e @ FormError::Fields(status, _)) => category_page(
            &dash,
            &kb,
            None,
            category_values(&posted.form),
            status,
            e.errors(),
        ),
    }
}

/// `GET /dashboard/kb/{kb_id}/categories/{id}`.
pub async fn edit_category(
    State(state): State<AppState>,
    dash: Dash,
    Path((kb_id, id)): Path<(String, String)>,
) -> Response {
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    match state
        .store
        .get_category(&dash.session.project_id, &kb_id, &id)
        .await
    {
        Ok(c) => category_page(
            &dash,
            &kb,
            Some(&id),
            context! {
                name => c.name, description => c.description, icon => c.icon,
                sort_order => c.sort_order.to_string(),
            },
            StatusCode::OK,
            context! {},
        ),
        Err(e) => view::api_error_page(e.into()),
    }
}

/// `POST /dashboard/kb/{kb_id}/categories/{id}`: a REST PUT with every field of the form.
pub async fn update_category(
    State(state): State<AppState>,
    dash: Dash,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let kb = match load_kb(&state, session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let result: Result<_, FormError> = async {
        state
            .store
            .get_category(&session.project_id, &kb_id, &id)
            .await?;
        refuse_source_managed(&state, session, &kb_id).await?;
        let patch = input::<CategoryInput>(category_body(&posted.form, true))?.into_patch()?;
        state
            .store
            .update_category(&session.project_id, &kb_id, &id, patch)
            .await?;
        written(&state, &kb_id).await;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => view::redirect_with(&tree_url(&kb_id), "Category saved.", FlashKind::Success),
        Err(FormError::Page(resp)) => resp,
        Err(e @ FormError::Fields(status, _)) => category_page(
            &dash,
            &kb,
            Some(&id),
            category_values(&posted.form),
            status,
            e.errors(),
        ),
    }
}

/// The confirmation page of a delete.
fn confirm_page(dash: &Dash, kb: &KnowledgeBase, what: Value) -> Response {
    dash.page(
        "confirm_delete.html",
        "Confirm deletion",
        kb_nav(kb, "content"),
        context! { kb => kb_ctx(kb), what },
    )
}

/// `GET /dashboard/kb/{kb_id}/categories/{id}/delete`: says what goes with it.
pub async fn confirm_delete_category(
    State(state): State<AppState>,
    dash: Dash,
    Path((kb_id, id)): Path<(String, String)>,
) -> Response {
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    match state
        .store
        .get_category(&dash.session.project_id, &kb_id, &id)
        .await
    {
        Ok(c) => confirm_page(
            &dash,
            &kb,
            context! {
                kind => "category", name => c.name,
                action => format!("/dashboard/kb/{kb_id}/categories/{id}/delete"),
                cancel => tree_url(&kb_id),
                consequence => "Its sections, articles and FAQs are deleted with it. This cannot be undone.",
            },
        ),
        Err(e) => view::api_error_page(e.into()),
    }
}

/// `POST /dashboard/kb/{kb_id}/categories/{id}/delete`.
pub async fn delete_category(
    State(state): State<AppState>,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let back = tree_url(&kb_id);
    let result: Result<(), FormError> = async {
        state
            .store
            .get_category(&session.project_id, &kb_id, &id)
            .await?;
        refuse_source_managed(&state, session, &kb_id).await?;
        state
            .store
            .delete_category(&session.project_id, &kb_id, &id)
            .await?;
        written(&state, &kb_id).await;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => view::redirect_with(&back, "Category deleted.", FlashKind::Success),
        Err(e) => action_failed(e, &back),
    }
}

#[derive(Debug, Deserialize)]
pub struct NewSectionQuery {
    category_id: Option<String>,
}

fn section_values(form: &Form) -> Value {
    context! {
        category_id => form.text("category_id"), name => form.text("name"),
        description => form.text("description"), sort_order => form.text("sort_order"),
    }
}

fn section_body(form: &Form, updating: bool) -> serde_json::Value {
    Body::default()
        .text(form, "category_id")
        .text(form, "name")
        .optional(form, "description", updating)
        .integer(form, "sort_order")
        .json()
}

/// Renders the section form with the KB's categories to choose from.
async fn section_page(
    state: &AppState,
    dash: &Dash,
    kb: &KnowledgeBase,
    id: Option<&str>,
    values: Value,
    status: StatusCode,
    errors: Value,
) -> Response {
    let categories = match all_categories(state, &dash.session, &kb.id).await {
        Ok(c) => c,
        Err(e) => return view::api_error_page(e.into()),
    };
    let options: Vec<(String, String)> = categories.into_iter().map(|c| (c.id, c.name)).collect();
    let title = if id.is_some() {
        "Edit section"
    } else {
        "New section"
    };
    dash.page_status(
        status,
        "section_form.html",
        title,
        kb_nav(kb, "content"),
        context! { kb => kb_ctx(kb), id, values, errors, categories => options, heading => title },
    )
}

/// `GET /dashboard/kb/{kb_id}/sections/new?category_id=`.
pub async fn new_section(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
    Query(q): Query<NewSectionQuery>,
) -> Response {
    match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => {
            section_page(
                &state,
                &dash,
                &kb,
                None,
                context! { category_id => q.category_id },
                StatusCode::OK,
                context! {},
            )
            .await
        }
        Err(resp) => resp,
    }
}

/// `POST /dashboard/kb/{kb_id}/sections/new` (1 credit, as REST).
pub async fn create_section(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let kb = match load_kb(&state, session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let result: Result<_, FormError> = async {
        refuse_source_managed(&state, session, &kb_id).await?;
        let new = input::<SectionInput>(section_body(&posted.form, false))?.into_new()?;
        state
            .store
            .create_section(&session.project_id, &kb_id, new)
            .await?;
        written(&state, &kb_id).await;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => view::redirect_with(&tree_url(&kb_id), "Section created.", FlashKind::Success),
        Err(FormError::Page(resp)) => resp,
        Err(e @ FormError::Fields(status, _)) => {
            section_page(
                &state,
                &dash,
                &kb,
                None,
                section_values(&posted.form),
                status,
                e.errors(),
            )
            .await
        }
    }
}

/// `GET /dashboard/kb/{kb_id}/sections/{id}`.
pub async fn edit_section(
    State(state): State<AppState>,
    dash: Dash,
    Path((kb_id, id)): Path<(String, String)>,
) -> Response {
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    match state
        .store
        .get_section(&dash.session.project_id, &kb_id, &id)
        .await
    {
        Ok(s) => {
            section_page(
                &state,
                &dash,
                &kb,
                Some(&id),
                context! {
                    category_id => s.category_id, name => s.name, description => s.description,
                    sort_order => s.sort_order.to_string(),
                },
                StatusCode::OK,
                context! {},
            )
            .await
        }
        Err(e) => view::api_error_page(e.into()),
    }
}

/// `POST /dashboard/kb/{kb_id}/sections/{id}`: moving it to another category moves its
/// articles and FAQs too, as REST.
pub async fn update_section(
    State(state): State<AppState>,
    dash: Dash,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let kb = match load_kb(&state, session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let result: Result<_, FormError> = async {
        state
            .store
            .get_section(&session.project_id, &kb_id, &id)
            .await?;
        refuse_source_managed(&state, session, &kb_id).await?;
        let patch = input::<SectionInput>(section_body(&posted.form, true))?.into_patch()?;
        state
            .store
            .update_section(&session.project_id, &kb_id, &id, patch)
            .await?;
        written(&state, &kb_id).await;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => view::redirect_with(&tree_url(&kb_id), "Section saved.", FlashKind::Success),
        Err(FormError::Page(resp)) => resp,
        Err(e @ FormError::Fields(status, _)) => {
            section_page(
                &state,
                &dash,
                &kb,
                Some(&id),
                section_values(&posted.form),
                status,
                e.errors(),
            )
            .await
        }
    }
}

/// `GET /dashboard/kb/{kb_id}/sections/{id}/delete`.
pub async fn confirm_delete_section(
    State(state): State<AppState>,
    dash: Dash,
    Path((kb_id, id)): Path<(String, String)>,
) -> Response {
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    match state
        .store
        .get_section(&dash.session.project_id, &kb_id, &id)
        .await
    {
        Ok(s) => confirm_page(
            &dash,
            &kb,
            context! {
                kind => "section", name => s.name,
                action => format!("/dashboard/kb/{kb_id}/sections/{id}/delete"),
                cancel => tree_url(&kb_id),
                consequence => "Its articles and FAQs stay in the category, outside any section.",
            },
        ),
        Err(e) => view::api_error_page(e.into()),
    }
}

/// `POST /dashboard/kb/{kb_id}/sections/{id}/delete`.
pub async fn delete_section(
    State(state): State<AppState>,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let back = tree_url(&kb_id);
    let result: Result<(), FormError> = async {
        state
            .store
            .get_section(&session.project_id, &kb_id, &id)
            .await?;
        refuse_source_managed(&state, session, &kb_id).await?;
        state
            .store
            .delete_section(&session.project_id, &kb_id, &id)
            .await?;
        written(&state, &kb_id).await;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => view::redirect_with(&back, "Section deleted.", FlashKind::Success),
        Err(e) => action_failed(e, &back),
    }
}
