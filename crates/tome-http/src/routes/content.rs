//! Categories and sections.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use tome_core::input::schema::{CategoryCreate, CategoryUpdate, SectionCreate, SectionUpdate};
use tome_core::input::{CategoryInput, SectionInput};

use crate::dto::{CategoryResponse, Data, List, SectionResponse, data};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, Params};
use crate::state::AppState;

type Json<T> = axum::Json<Data<T>>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/kb/{kb_id}/categories",
            get(list_categories).post(create_category),
        )
        .route(
            "/v1/kb/{kb_id}/categories/{id}",
            get(get_category)
                .put(update_category)
                .delete(delete_category),
        )
        .route(
            "/v1/kb/{kb_id}/sections",
            get(list_sections).post(create_section),
        )
        .route(
            "/v1/kb/{kb_id}/sections/{id}",
            get(get_section).put(update_section).delete(delete_section),
        )
}

/// Create a category (2 credits).
#[utoipa::path(post, path = "/v1/kb/{kb_id}/categories", tag = "Categories", params(("kb_id" = String, Path)), request_body = CategoryCreate,
    responses((status = 201, body = Data<CategoryResponse>), (status = 402, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_category(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    ApiJson(input): ApiJson<CategoryInput>,
) -> ApiResult<(StatusCode, Json<CategoryResponse>)> {
    let new = input.into_new()?;
    let c = s
        .store
        .create_category(&auth.project_id, &kb_id, new)
        .await?;
    Ok((StatusCode::CREATED, data(c.into())))
}

/// List categories by `sort_order`, then creation.
#[utoipa::path(get, path = "/v1/kb/{kb_id}/categories", tag = "Categories",
    params(("kb_id" = String, Path), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = List<CategoryResponse>), (status = 404, body = ErrorBody)))]
pub async fn list_categories(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    params: Params,
) -> ApiResult<axum::Json<List<CategoryResponse>>> {
    let page = params.page(&s.cursors, &format!("categories:{kb_id}"))?;
    let r = s
        .store
        .list_categories(&auth.project_id, &kb_id, page)
        .await?;
    Ok(axum::Json(List {
        data: r.items.into_iter().map(Into::into).collect(),
        pagination: s.pagination(&format!("categories:{kb_id}"), r.next),
    }))
}

/// Get a category.
#[utoipa::path(get, path = "/v1/kb/{kb_id}/categories/{id}", tag = "Categories", params(("kb_id" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Data<CategoryResponse>), (status = 404, body = ErrorBody)))]
pub async fn get_category(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
) -> ApiResult<Json<CategoryResponse>> {
    Ok(data(
        s.store
            .get_category(&auth.project_id, &kb_id, &id)
            .await?
            .into(),
    ))
}

/// Update a category; every field is optional.
#[utoipa::path(put, path = "/v1/kb/{kb_id}/categories/{id}", tag = "Categories", params(("kb_id" = String, Path), ("id" = String, Path)), request_body = CategoryUpdate,
    responses((status = 200, body = Data<CategoryResponse>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_category(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
    ApiJson(input): ApiJson<CategoryInput>,
) -> ApiResult<Json<CategoryResponse>> {
    let patch = input.into_patch()?;
    Ok(data(
        s.store
            .update_category(&auth.project_id, &kb_id, &id, patch)
            .await?
            .into(),
    ))
}

/// Delete a category with its sections, articles and FAQs.
#[utoipa::path(delete, path = "/v1/kb/{kb_id}/categories/{id}", tag = "Categories", params(("kb_id" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_category(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.store
        .delete_category(&auth.project_id, &kb_id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a section in a category (1 credit).
#[utoipa::path(post, path = "/v1/kb/{kb_id}/sections", tag = "Sections", params(("kb_id" = String, Path)), request_body = SectionCreate,
    responses((status = 201, body = Data<SectionResponse>), (status = 402, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_section(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    ApiJson(input): ApiJson<SectionInput>,
) -> ApiResult<(StatusCode, Json<SectionResponse>)> {
    let new = input.into_new()?;
    let sec = s
        .store
        .create_section(&auth.project_id, &kb_id, new)
        .await?;
    Ok((StatusCode::CREATED, data(sec.into())))
}

/// List sections, optionally of one category.
#[utoipa::path(get, path = "/v1/kb/{kb_id}/sections", tag = "Sections",
    params(("kb_id" = String, Path), ("category_id" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = List<SectionResponse>), (status = 404, body = ErrorBody)))]
pub async fn list_sections(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    params: Params,
) -> ApiResult<axum::Json<List<SectionResponse>>> {
    let page = params.page(&s.cursors, &format!("sections:{kb_id}"))?;
    let r = s
        .store
        .list_sections(&auth.project_id, &kb_id, params.get("category_id"), page)
        .await?;
    Ok(axum::Json(List {
        data: r.items.into_iter().map(Into::into).collect(),
        pagination: s.pagination(&format!("sections:{kb_id}"), r.next),
    }))
}

/// Get a section.
#[utoipa::path(get, path = "/v1/kb/{kb_id}/sections/{id}", tag = "Sections", params(("kb_id" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Data<SectionResponse>), (status = 404, body = ErrorBody)))]
pub async fn get_section(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
) -> ApiResult<Json<SectionResponse>> {
    Ok(data(
        s.store
            .get_section(&auth.project_id, &kb_id, &id)
            .await?
            .into(),
    ))
}

/// Update a section; moving it to another category moves its articles and FAQs too.
#[utoipa::path(put, path = "/v1/kb/{kb_id}/sections/{id}", tag = "Sections", params(("kb_id" = String, Path), ("id" = String, Path)), request_body = SectionUpdate,
    responses((status = 200, body = Data<SectionResponse>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_section(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
    ApiJson(input): ApiJson<SectionInput>,
) -> ApiResult<Json<SectionResponse>> {
    let patch = input.into_patch()?;
    Ok(data(
        s.store
            .update_section(&auth.project_id, &kb_id, &id, patch)
            .await?
            .into(),
    ))
}

/// Delete a section; its articles and FAQs stay in the category with `section_id` null.
#[utoipa::path(delete, path = "/v1/kb/{kb_id}/sections/{id}", tag = "Sections", params(("kb_id" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_section(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.store
        .delete_section(&auth.project_id, &kb_id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
