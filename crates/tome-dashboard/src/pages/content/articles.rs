//! The article editor: create and edit (title, excerpt, tags, related articles, place, Markdown
//! body), the preview rendered by Tome's own renderer and sanitiser, publish, archive, delete.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use tome_core::input::{ArticleInput, ArticlePatch};
use tome_core::model::{Article, KnowledgeBase, Status};
use tome_http::AppState;

use super::{Body, action_failed, all_categories, all_sections, refuse_source_managed, written};
use crate::guard::{Form, Posted};
use crate::pages::{FormError, input, kb_nav, load_kb};
use crate::view::{self, Dash, FlashKind};

/// HTML of `markdown` as hosted pages show it: `tome_render::render` is the renderer and
/// sanitiser of the help centre, so the preview is exactly what readers will get, and its
/// output is the only HTML the dashboard marks safe.
fn preview_html(markdown: &str) -> Value {
    Value::from_safe_string(tome_render::render(markdown).html)
}

/// The list page an article belongs to.
fn list_url(kb_id: &str, category_id: &str, section_id: Option<&str>) -> String {
    format!(
        "/dashboard/kb/{kb_id}/articles?category_id={}&section_id={}",
        view::encode_component(category_id),
        view::encode_component(section_id.unwrap_or("ungrouped"))
    )
}

/// What the editor shows: a saved article's fields, or what was typed.
fn values_of(a: &Article) -> Value {
    context! {
        title => a.title, excerpt => a.excerpt, tags => a.tags.join(", "),
        related_articles => a.related_articles.join(", "), category_id => a.category_id,
        section_id => a.section_id, body => a.body, status => a.status.as_str(),
        sort_order => a.sort_order.to_string(),
    }
}

fn typed_values(form: &Form, status: &str) -> Value {
    context! {
        title => form.text("title"), excerpt => form.text("excerpt"), tags => form.text("tags"),
        related_articles => form.text("related_articles"),
        category_id => form.text("category_id"), section_id => form.text("section_id"),
        body => form.text("body"), status, sort_order => form.text("sort_order"),
    }
}

/// The REST body of the form. `status` is set by the button pressed (none: unchanged).
fn article_body(form: &Form, updating: bool, status: Option<Status>) -> serde_json::Value {
    let mut body = Body::default()
        .text(form, "title")
        .text(form, "category_id")
        .optional(form, "section_id", updating)
        .optional(form, "excerpt", updating)
        .text(form, "body")
        .list(form, "tags")
        .list(form, "related_articles")
        .integer(form, "sort_order");
    if let Some(s) = status {
        body = body.set("status", s.as_str().into());
    }
    body.json()
}

/// The button that sent the form.
#[derive(Clone, Copy, PartialEq)]
enum Intent {
    Preview,
    /// Save, keeping the status.
    Save,
    Draft,
    Publish,
    Archive,
}

fn intent(form: &Form) -> Intent {
    match form.text("intent") {
        "preview" => Intent::Preview,
        "draft" => Intent::Draft,
        "publish" => Intent::Publish,
        "archive" => Intent::Archive,
        _ => Intent::Save,
    }
}

impl Intent {
    fn status(self) -> Option<Status> {
        match self {
            Intent::Draft => Some(Status::Draft),
            Intent::Publish => Some(Status::Published),
            Intent::Archive => Some(Status::Archived),
            Intent::Save | Intent::Preview => None,
        }
    }

    fn done(self, created: bool) -> &'static str {
        match (self, created) {
            (Intent::Publish, _) => "Article published.",
            (Intent::Archive, _) => "Article archived.",
            (_, true) => "Article created as a draft.",
            (Intent::Draft, false) => "Article saved as a draft.",
            _ => "Article saved.",
        }
    }
}

struct Editor<'a> {
    kb: &'a KnowledgeBase,
    id: Option<&'a str>,
    values: Value,
    status: StatusCode,
    errors: Value,
    preview: Option<Value>,
}

/// Renders the editor, with the KB's categories and sections to place the article in.
async fn editor(state: &AppState, dash: &Dash, e: Editor<'_>) -> Response {
    let (categories, sections) = tokio::join!(
        all_categories(state, &dash.session, &e.kb.id),
        all_sections(state, &dash.session, &e.kb.id, None),
    );
    let (categories, sections) = match (categories, sections) {
        (Ok(c), Ok(s)) => (c, s),
        (Err(err), _) | (_, Err(err)) => return view::api_error_page(err.into()),
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
    let title = if e.id.is_some() {
        "Edit article"
    } else {
        "New article"
    };
    dash.page_status(
        e.status,
        "article_form.html",
        title,
        kb_nav(e.kb, "content"),
        context! {
            kb => context! { id => e.kb.id, title => e.kb.title },
            id => e.id, values => e.values, errors => e.errors, heading => title,
            categories => category_options, sections => section_options, preview => e.preview,
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    category_id: Option<String>,
    section_id: Option<String>,
}

/// `GET /dashboard/kb/{kb_id}/articles/new?category_id=&section_id=`.
pub async fn new_article(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
    Query(q): Query<NewQuery>,
) -> Response {
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let e = Editor {
        kb: &kb,
        id: None,
        values: context! { category_id => q.category_id, section_id => q.section_id, status => "draft" },
        status: StatusCode::OK,
        errors: context! {},
        preview: None,
    };
    editor(&state, &dash, e).await
}

/// `POST /dashboard/kb/{kb_id}/articles/new` (3 credits, as REST; at the cap, a 402 on the form).
pub async fn create_article(
    State(state): State<AppState>,
    dash: Dash,
    Path(kb_id): Path<String>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let form = &posted.form;
    let kb = match load_kb(&state, session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let intent = intent(form);
    let status = intent.status().unwrap_or(Status::Draft);
    if intent == Intent::Preview {
        let e = Editor {
            kb: &kb,
            id: None,
            values: typed_values(form, status.as_str()),
            status: StatusCode::OK,
            errors: context! {},
            preview: Some(preview_html(form.text("body"))),
        };
        return editor(&state, &dash, e).await;
    }
    let result: Result<Article, FormError> = async {
        refuse_source_managed(&state, session, &kb_id).await?;
        let new = input::<ArticleInput>(article_body(form, false, Some(status)))?.into_new()?;
        let mut created = state
            .store
            .create_articles(&session.project_id, &kb_id, vec![new], false)
            .await?;
        written(&state, &kb_id).await;
        created.pop().ok_or_else(|| {
            FormError::Page(view::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The article was not saved.",
            ))
        })
    }
    .await;
    match result {
        Ok(a) => view::redirect_with(
            &format!("/dashboard/kb/{kb_id}/articles/{}", a.id),
            intent.done(true),
            FlashKind::Success,
        ),
        Err(FormError::Page(resp)) => resp,
        Err(err @ FormError::Fields(code, _)) => {
            let e = Editor {
                kb: &kb,
                id: None,
                values: typed_values(form, status.as_str()),
                status: code,
                errors: err.errors(),
                preview: None,
            };
            editor(&state, &dash, e).await
        }
    }
}

/// `GET /dashboard/kb/{kb_id}/articles/{id}`: the editor with the saved article.
pub async fn edit_article(
    State(state): State<AppState>,
    dash: Dash,
    Path((kb_id, id)): Path<(String, String)>,
) -> Response {
    let kb = match load_kb(&state, &dash.session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let a = match state
        .store
        .get_article(&dash.session.project_id, &kb_id, &id)
        .await
    {
        Ok(a) => a,
        Err(e) => return view::api_error_page(e.into()),
    };
    let e = Editor {
        kb: &kb,
        id: Some(&id),
        values: values_of(&a),
        status: StatusCode::OK,
        errors: context! {},
        preview: None,
    };
    editor(&state, &dash, e).await
}

/// `POST /dashboard/kb/{kb_id}/articles/{id}`: a REST PUT with every field of the form, the
/// status set by the button (Save keeps it).
pub async fn update_article(
    State(state): State<AppState>,
    dash: Dash,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let form = &posted.form;
    let kb = match load_kb(&state, session, &kb_id).await {
        Ok(kb) => kb,
        Err(resp) => return resp,
    };
    let current = match state
        .store
        .get_article(&session.project_id, &kb_id, &id)
        .await
    {
        Ok(a) => a,
        Err(e) => return view::api_error_page(e.into()),
    };
    let intent = intent(form);
    let shown_status = intent.status().unwrap_or(current.status);
    if intent == Intent::Preview {
        let e = Editor {
            kb: &kb,
            id: Some(&id),
            values: typed_values(form, shown_status.as_str()),
            status: StatusCode::OK,
            errors: context! {},
            preview: Some(preview_html(form.text("body"))),
        };
        return editor(&state, &dash, e).await;
    }
    let result: Result<(), FormError> = async {
        refuse_source_managed(&state, session, &kb_id).await?;
        let (_, patch) =
            input::<ArticleInput>(article_body(form, true, intent.status()))?.into_patch(false)?;
        state
            .store
            .update_articles(
                &session.project_id,
                &kb_id,
                vec![(id.clone(), patch)],
                false,
            )
            .await?;
        written(&state, &kb_id).await;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => view::redirect_with(
            &format!("/dashboard/kb/{kb_id}/articles/{id}"),
            intent.done(false),
            FlashKind::Success,
        ),
        Err(FormError::Page(resp)) => resp,
        Err(err @ FormError::Fields(code, _)) => {
            let e = Editor {
                kb: &kb,
                id: Some(&id),
                values: typed_values(form, shown_status.as_str()),
                status: code,
                errors: err.errors(),
                preview: None,
            };
            editor(&state, &dash, e).await
        }
    }
}

/// Publish or archive through the same update REST's `/publish` and `/archive` make.
async fn set_status(
    state: &AppState,
    posted: &Posted,
    kb_id: &str,
    id: &str,
    status: Status,
) -> Response {
    let session = &posted.session;
    let back = posted
        .form
        .get("back")
        .filter(|b| b.starts_with("/dashboard/kb/"))
        .map_or_else(
            || format!("/dashboard/kb/{kb_id}/articles/{id}"),
            str::to_string,
        );
    let result: Result<(), FormError> = async {
        state
            .store
            .get_article(&session.project_id, kb_id, id)
            .await?;
        refuse_source_managed(state, session, kb_id).await?;
        let patch = ArticlePatch {
            status: Some(status),
            ..Default::default()
        };
        state
            .store
            .update_articles(
                &session.project_id,
                kb_id,
                vec![(id.to_string(), patch)],
                false,
            )
            .await?;
        written(state, kb_id).await;
        Ok(())
    }
    .await;
    let message = match status {
        Status::Published => "Article published.",
        Status::Archived => "Article archived.",
        Status::Draft => "Article saved as a draft.",
    };
    match result {
        Ok(()) => view::redirect_with(&back, message, FlashKind::Success),
        Err(e) => action_failed(e, &back),
    }
}

/// `POST /dashboard/kb/{kb_id}/articles/{id}/publish`.
pub async fn publish_article(
    State(state): State<AppState>,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    set_status(&state, &posted, &kb_id, &id, Status::Published).await
}

/// `POST /dashboard/kb/{kb_id}/articles/{id}/archive`.
pub async fn archive_article(
    State(state): State<AppState>,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    set_status(&state, &posted, &kb_id, &id, Status::Archived).await
}

/// `GET /dashboard/kb/{kb_id}/articles/{id}/delete`.
pub async fn confirm_delete_article(
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
        .get_article(&dash.session.project_id, &kb_id, &id)
        .await
    {
        Ok(a) => dash.page(
            "confirm_delete.html",
            "Confirm deletion",
            kb_nav(&kb, "content"),
            context! {
                kb => context! { id => kb.id, title => kb.title },
                what => context! {
                    kind => "article", name => a.title,
                    action => format!("/dashboard/kb/{kb_id}/articles/{id}/delete"),
                    cancel => format!("/dashboard/kb/{kb_id}/articles/{id}"),
                    consequence => "It is also removed from other articles' related lists. This cannot be undone.",
                },
            },
        ),
        Err(e) => view::api_error_page(e.into()),
    }
}

/// `POST /dashboard/kb/{kb_id}/articles/{id}/delete`.
pub async fn delete_article(
    State(state): State<AppState>,
    Path((kb_id, id)): Path<(String, String)>,
    posted: Posted,
) -> Response {
    let session = &posted.session;
    let result: Result<Article, FormError> = async {
        let a = state
            .store
            .get_article(&session.project_id, &kb_id, &id)
            .await?;
        refuse_source_managed(&state, session, &kb_id).await?;
        state
            .store
            .delete_article(&session.project_id, &kb_id, &id)
            .await?;
        written(&state, &kb_id).await;
        Ok(a)
    }
    .await;
    match result {
        Ok(a) => view::redirect_with(
            &list_url(&kb_id, &a.category_id, a.section_id.as_deref()),
            "Article deleted.",
            FlashKind::Success,
        ),
        Err(e) => action_failed(e, &format!("/dashboard/kb/{kb_id}/articles/{id}")),
    }
}

/// `POST /dashboard/kb/{kb_id}/preview` (field `body`, token in `X-CSRF-Token` or `_csrf`):
/// the sanitised HTML fragment of the Markdown, for the editor's live preview.
pub async fn preview(
    State(state): State<AppState>,
    Path(kb_id): Path<String>,
    posted: Posted,
) -> Response {
    if let Err(resp) = load_kb(&state, &posted.session, &kb_id).await {
        return resp;
    }
    let body = posted.form.text("body");
    if let Err(e) =
        tome_core::validate::max_len("body", body, tome_core::validate::ARTICLE_BODY_MAX)
    {
        return view::api_error_page(e.into());
    }
    let mut resp = tome_render::render(body).html.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    view::protect(resp.headers_mut());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_related_ids_are_split_on_commas() {
        let form =
            Form::parse(b"title=T&category_id=cat_1&body=x&tags=a%2C+b+%2C%2Cc&related_articles=");
        let body = article_body(&form, false, None);
        assert_eq!(body["tags"], serde_json::json!(["a", "b", "c"]));
        assert_eq!(body["related_articles"], serde_json::json!([]));
    }
}
