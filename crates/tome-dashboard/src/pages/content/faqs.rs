//! FAQs of a KB: the list (per category, paginated), create, edit, publish, delete.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};
use serde::Deserialize;
use tome_core::input::{FaqInput, FaqPatch};
use tome_core::model::{KnowledgeBase, Status};
use tome_http::AppState;
use tome_store::ContentFilter;

use super::{Body, action_failed, all_categories, all_sections, refuse_source_managed, written};
use crate::guard::{Form, Posted};
use crate::pages::{self, FormError, input, kb_nav, load_kb};
use crate::view::{self, Dash, FlashKind};

fn faqs_url(kb_id: &str) -> String {
    format!("/dashboard/kb/{kb_id}/faqs")
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    category_id: Option<String>,
    cursor: Option<String>,
}

/// `GET /dashboard/kb/{kb_id}/faqs?category_id=`: the FAQs, of one category when chosen.
pub async fn list(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let session = &dash.session;
    let kb = match load_kb(&state, session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let categories = match all_categories(&state, session, &kb_id).await {
        Ok(c) => c,
        Err(e) => return view::api_error_page(e.into()),
    };
    let category_id = q.category_id.filter(|c| !c.is_empty());
    if let Some(c) = &category_id
        && !categories.iter().any(|x| &x.id == c)
    {
        return view::error_page(
            StatusCode::NOT_FOUND,
            "No such category in this knowledge base.",
        );
    }
    let list = format!("dash-faqs:{kb_id}:{}", category_id.as_deref().unwrap_or(""));
    let page = match pages::page_request(&state, q.cursor.as_deref(), &list) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let filter = ContentFilter {
        category_id: category_id.clone(),
        ..ContentFilter::default()
    };
    let result = match state
        .store
        .list_faqs(&session.project_id, &kb_id, &filter, page)
        .await
    {
        Ok(r) => r,
        Err(e) => return view::api_error_page(e.into()),
    };
    let base = match &category_id {
        Some(c) => format!(
            "{}?category_id={}",
            faqs_url(&kb_id),
            view::encode_component(c)
        ),
        None => faqs_url(&kb_id),
    };
    let pager = pages::pager(&state, &base, &list, q.cursor.as_deref(), result.next);
    let faqs: Vec<Value> = result
        .items
        .iter()
        .map(|f| {
            let category = categories
                .iter()
                .find(|c| c.id == f.category_id)
                .map(|c| c.name.as_str());
            context! {
                id => f.id, question => f.question, status => f.status.as_str(), category,
                updated_at => f.updated_at,
            }
        })
        .collect();
    let options: Vec<(String, String)> = std::iter::once((String::new(), "All categories".into()))
        .chain(categories.iter().map(|c| (c.id.clone(), c.name.clone())))
        .collect();
    dash.page(
        "faqs.html",
        "FAQs",
        kb_nav(&kb, "faqs"),
        context! {
            kb => context! { id => kb.id, title => kb.title },
            faqs, categories => options, category_id, has_categories => !categories.is_empty(),
            page => pager, back => base,
        },
    )
}

fn values_of(form: &Form, status: &str) -> Value {
    context! {
        category_id => form.text("category_id"), section_id => form.text("section_id"),
        question => form.text("question"), answer => form.text("answer"), status,
        sort_order => form.text("sort_order"),
    }
}

fn faq_body(form: &Form, updating: bool) -> serde_json::Value {
    Body::default()
        .text(form, "category_id")
        .optional(form, "section_id", updating)
        .text(form, "question")
        .text(form, "answer")
        .text(form, "status")
        .integer(form, "sort_order")
        .json()
}

async fn faq_page(
    state: &AppState,
    dash: &Dash,
    kb: &KnowledgeBase,
    id: Option<&str>,
    values: Value,
    status: StatusCode,
    errors: Value,
) -> Response {
    let (categories, sections) = tokio::join!(
        all_categories(state, &dash.session, &kb.id),
        all_sections(state, &dash.session, &kb.id, None),
    );
    let (categories, sections) = match (categories, sections) {
        (Ok(c), Ok(s)) => (c, s),
        (Err(e), _) | (_, Err(e)) => return view::api_error_page(e.into()),
    };
    let section_options: Vec<(String, String)> = sections
        .iter()
        .map(|s| {
            let category = categories
                .iter()
                .find(|c| c.id == s.category_id)
                .map_or("", |c| c.name.as_str());
            (s.id.clone(), format!("{category} › {}", s.name))
        })
        .collect();
    let category_options: Vec<(String, String)> =
        categories.into_iter().map(|c| (c.id, c.name)).collect();
    let title = if id.is_some() { "Edit FAQ" } else { "New FAQ" };
    dash.page_status(
        status,
        "faq_form.html",
        title,
        kb_nav(kb, "faqs"),
        context! {
            kb => context! { id => kb.id, title => kb.title }, id, values, errors,
            heading => title, categories => category_options, sections => section_options,
            statuses => Status::NAMES.iter().map(|s| (*s, *s)).collect::<Vec<_>>(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    category_id: Option<String>,
}

/// `GET /dashboard/kb/{kb_id}/faqs/new?category_id=`.
pub async fn new_faq(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
    Query(q): Query<NewQuery>,
) -> Response {
    match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => {
            faq_page(
                &state,
                &dash,
                &kb,
                None,
                context! { category_id => q.category_id, status => "draft" },
                StatusCode::OK,
                context! {},
            )
            .await
        }
        Err(resp) => resp,
    }
}

/// `POST /dashboard/kb/{kb_id}/faqs/new` (1 credit, as REST).
pub async fn create_faq(
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
    let result: Result<(), FormError> = async {
        refuse_source_managed(&state, session, &kb_id).await?;
        let new = input::<FaqInput>(faq_body(&posted.form, false))?.into_new()?;
        state
            .store
            .create_faq(&session.project_id, &kb_id, new)
            .await?;
        written(&state, &kb_id).await;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => view::redirect_with(&faqs_url(&kb_id), "FAQ created.", FlashKind::Success),
        Err(FormError::Page(resp)) => resp,
        Err(e @ FormError::Fields(status, _)) => {
            let values = values_of(&posted.form, posted.form.text("status"));
            faq_page(&state, &dash, &kb, None, values, status, e.errors()).await
        }
    }
}

/// `GET /dashboard/kb/{kb_id}/faqs/{id}`.
pub async fn edit_faq(
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
        .get_faq(&dash.session.project_id, &kb_id, &id)
        .await
    {
        Ok(f) => {
            let values = context! {
                category_id => f.category_id, section_id => f.section_id, question => f.question,
                answer => f.answer, status => f.status.as_str(), sort_order => f.sort_order.to_string(),
            };
            faq_page(
                &state,
                &dash,
                &kb,
                Some(&id),
                values,
                StatusCode::OK,
                context! {},
            )
            .await
        }
        Err(e) => view::api_error_page(e.into()),
    }
}

/// `POST /dashboard/kb/{kb_id}/faqs/{id}`.
pub async fn update_faq(
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
    let result: Result<(), FormError> = async {
        state
            .store
            .get_faq(&session.project_id, &kb_id, &id)
            .await?;
        refuse_source_managed(&state, session, &kb_id).await?;
        let patch = input::<FaqInput>(faq_body(&posted.form, true))?.into_patch()?;
        state
            .store
            .update_faq(&session.project_id, &kb_id, &id, patch)
            .await?;
        written(&state, &kb_id).await;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => view::redirect_with(&faqs_url(&kb_id), "FAQ saved.", FlashKind::Success),
        Err(FormError::Page(resp)) => resp,
        Err(e @ FormError::Fields(status, _)) => {
            let values = values_of(&posted.form, posted.form.text("status"));
            faq_page(&state, &dash, &kb, Some(&id), values, status, e.errors()).await
        }
    }
}

/// `POST /dashboard/kb/{kb_id}/faqs/{id}/publish`.
pub async fn publish_faq(
    State(state): State<AppState>,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let back = faqs_url(&kb_id);
    let result: Result<(), FormError> = async {
        state
            .store
            .get_faq(&session.project_id, &kb_id, &id)
            .await?;
        refuse_source_managed(&state, session, &kb_id).await?;
        let patch = FaqPatch {
            status: Some(Status::Published),
            ..Default::default()
        };
        state
            .store
            .update_faq(&session.project_id, &kb_id, &id, patch)
            .await?;
        written(&state, &kb_id).await;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => view::redirect_with(&back, "FAQ published.", FlashKind::Success),
        Err(e) => action_failed(e, &back),
    }
}

/// `GET /dashboard/kb/{kb_id}/faqs/{id}/delete`.
pub async fn confirm_delete_faq(
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
        .get_faq(&dash.session.project_id, &kb_id, &id)
        .await
    {
        Ok(f) => dash.page(
            "confirm_delete.html",
            "Confirm deletion",
            kb_nav(&kb, "faqs"),
            context! {
                kb => context! { id => kb.id, title => kb.title },
                what => context! {
                    kind => "FAQ", name => f.question,
                    action => format!("/dashboard/kb/{kb_id}/faqs/{id}/delete"),
                    cancel => faqs_url(&kb_id),
                    consequence => "This cannot be undone.",
                },
            },
        ),
        Err(e) => view::api_error_page(e.into()),
    }
}

/// `POST /dashboard/kb/{kb_id}/faqs/{id}/delete`.
pub async fn delete_faq(
    State(state): State<AppState>,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let back = faqs_url(&kb_id);
    let result: Result<(), FormError> = async {
        state
            .store
            .get_faq(&session.project_id, &kb_id, &id)
            .await?;
        refuse_source_managed(&state, session, &kb_id).await?;
        state
            .store
            .delete_faq(&session.project_id, &kb_id, &id)
            .await?;
        written(&state, &kb_id).await;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => view::redirect_with(&back, "FAQ deleted.", FlashKind::Success),
        Err(e) => action_failed(e, &back),
    }
}
