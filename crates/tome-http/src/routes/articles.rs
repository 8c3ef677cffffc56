//! Articles (including bulk), FAQs and search.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use tome_core::input::schema::{
    ArticleCreate, ArticleUpdate, BulkArticlesCreate, BulkArticlesUpdate, FaqCreate, FaqUpdate,
};
use tome_core::input::{ArticleInput, ArticlePatch, BulkArticlesInput, FaqInput, FaqPatch};
use tome_core::model::Status;
use tome_search::{Filters, SearchRequest};
use tome_store::{ContentFilter, DocKind, SectionFilter};

use crate::dto::{ArticleResponse, Data, FaqResponse, List, SearchResponse, data};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, Params};
use crate::state::AppState;

type Json<T> = axum::Json<Data<T>>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/kb/{kb_id}/articles",
            get(list_articles).post(create_article),
        )
        .route(
            "/v1/kb/{kb_id}/articles/bulk",
            post(bulk_create_articles).put(bulk_update_articles),
        )
        .route(
            "/v1/kb/{kb_id}/articles/{id}",
            get(get_article).put(update_article).delete(delete_article),
        )
        .route(
            "/v1/kb/{kb_id}/articles/{id}/publish",
            post(publish_article),
        )
        .route(
            "/v1/kb/{kb_id}/articles/{id}/archive",
            post(archive_article),
        )
        .route("/v1/kb/{kb_id}/faqs", get(list_faqs).post(create_faq))
        .route(
            "/v1/kb/{kb_id}/faqs/{id}",
            get(get_faq).put(update_faq).delete(delete_faq),
        )
        .route("/v1/kb/{kb_id}/faqs/{id}/publish", post(publish_faq))
        .route("/v1/kb/{kb_id}/search", get(search))
}

fn content_filter(params: &Params, articles: bool) -> ApiResult<ContentFilter> {
    let section = match params.get("section_id") {
        None => SectionFilter::Any,
        Some("null" | "ungrouped") => SectionFilter::Ungrouped,
        Some(id) => SectionFilter::Is(id.to_string()),
    };
    Ok(ContentFilter {
        category_id: params.get("category_id").map(str::to_string),
        section,
        statuses: params.statuses()?,
        tag: if articles {
            params.get("tag").map(str::to_string)
        } else {
            None
        },
    })
}

/// Create an article (3 credits). Publishing stamps `published_at`.
#[utoipa::path(post, path = "/v1/kb/{kb_id}/articles", tag = "Articles", params(("kb_id" = String, Path)), request_body = ArticleCreate,
    responses((status = 201, body = Data<ArticleResponse>), (status = 402, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_article(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> ApiResult<(StatusCode, Json<ArticleResponse>)> {
    let new = input.into_new()?;
    let mut created = s
        .store
        .create_articles(&auth.project_id, &kb_id, vec![new], false)
        .await?;
    let a = created.pop().ok_or_else(ApiError::internal)?;
    Ok((StatusCode::CREATED, data(ArticleResponse::full(a))))
}

/// Create up to 20 articles (3 credits each). Every item is validated before any is written;
/// one bad item aborts the whole batch.
#[utoipa::path(post, path = "/v1/kb/{kb_id}/articles/bulk", tag = "Articles", params(("kb_id" = String, Path)), request_body = BulkArticlesCreate,
    responses((status = 201, body = Data<Vec<ArticleResponse>>), (status = 402, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn bulk_create_articles(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    ApiJson(input): ApiJson<BulkArticlesInput>,
) -> ApiResult<(StatusCode, Json<Vec<ArticleResponse>>)> {
    let items = input.into_items()?;
    let new = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| item.into_new().map_err(|e| e.in_item("articles", i)))
        .collect::<Result<Vec<_>, _>>()?;
    let created = s
        .store
        .create_articles(&auth.project_id, &kb_id, new, true)
        .await?;
    Ok((
        StatusCode::CREATED,
        data(created.into_iter().map(ArticleResponse::full).collect()),
    ))
}

/// Update up to 20 articles; each item names its article by `id`. All or nothing.
#[utoipa::path(put, path = "/v1/kb/{kb_id}/articles/bulk", tag = "Articles", params(("kb_id" = String, Path)), request_body = BulkArticlesUpdate,
    responses((status = 200, body = Data<Vec<ArticleResponse>>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn bulk_update_articles(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    ApiJson(input): ApiJson<BulkArticlesInput>,
) -> ApiResult<Json<Vec<ArticleResponse>>> {
    let items = input.into_items()?;
    let patches = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let (id, patch) = item
                .into_patch(true)
                .map_err(|e| e.in_item("articles", i))?;
            Ok((id.unwrap_or_default(), patch))
        })
        .collect::<Result<Vec<_>, tome_core::ValidationError>>()?;
    let updated = s
        .store
        .update_articles(&auth.project_id, &kb_id, patches, true)
        .await?;
    Ok(data(
        updated.into_iter().map(ArticleResponse::full).collect(),
    ))
}

/// List articles (without bodies).
#[utoipa::path(get, path = "/v1/kb/{kb_id}/articles", tag = "Articles",
    params(("kb_id" = String, Path), ("category_id" = Option<String>, Query),
        ("section_id" = Option<String>, Query, description = "A section ID, or `null`/`ungrouped` for category-level articles"),
        ("status" = Option<String>, Query, description = "Comma-separated statuses"), ("tag" = Option<String>, Query),
        ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = List<ArticleResponse>), (status = 404, body = ErrorBody)))]
pub async fn list_articles(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    params: Params,
) -> ApiResult<axum::Json<List<ArticleResponse>>> {
    let page = params.page(&s.cursors, &format!("articles:{kb_id}"))?;
    let filter = content_filter(&params, true)?;
    let r = s
        .store
        .list_articles(&auth.project_id, &kb_id, &filter, page)
        .await?;
    Ok(axum::Json(List {
        data: r.items.into_iter().map(ArticleResponse::summary).collect(),
        pagination: s.pagination(&format!("articles:{kb_id}"), r.next),
    }))
}

/// Get an article with its body.
#[utoipa::path(get, path = "/v1/kb/{kb_id}/articles/{id}", tag = "Articles", params(("kb_id" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Data<ArticleResponse>), (status = 404, body = ErrorBody)))]
pub async fn get_article(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
) -> ApiResult<Json<ArticleResponse>> {
    Ok(data(ArticleResponse::full(
        s.store.get_article(&auth.project_id, &kb_id, &id).await?,
    )))
}

async fn update_one(
    s: &AppState,
    auth: &Auth,
    kb_id: &str,
    id: String,
    patch: ArticlePatch,
) -> ApiResult<Json<ArticleResponse>> {
    let mut updated = s
        .store
        .update_articles(&auth.project_id, kb_id, vec![(id, patch)], false)
        .await?;
    let a = updated.pop().ok_or_else(ApiError::internal)?;
    Ok(data(ArticleResponse::full(a)))
}

/// Update an article; every field is optional.
#[utoipa::path(put, path = "/v1/kb/{kb_id}/articles/{id}", tag = "Articles", params(("kb_id" = String, Path), ("id" = String, Path)), request_body = ArticleUpdate,
    responses((status = 200, body = Data<ArticleResponse>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_article(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> ApiResult<Json<ArticleResponse>> {
    let (_, patch) = input.into_patch(false)?;
    update_one(&s, &auth, &kb_id, id, patch).await
}

/// Publish an article, stamping `published_at`.
#[utoipa::path(post, path = "/v1/kb/{kb_id}/articles/{id}/publish", tag = "Articles", params(("kb_id" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Data<ArticleResponse>), (status = 404, body = ErrorBody)))]
pub async fn publish_article(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
) -> ApiResult<Json<ArticleResponse>> {
    update_one(
        &s,
        &auth,
        &kb_id,
        id,
        ArticlePatch {
            status: Some(Status::Published),
            ..Default::default()
        },
    )
    .await
}

/// Archive an article.
#[utoipa::path(post, path = "/v1/kb/{kb_id}/articles/{id}/archive", tag = "Articles", params(("kb_id" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Data<ArticleResponse>), (status = 404, body = ErrorBody)))]
pub async fn archive_article(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
) -> ApiResult<Json<ArticleResponse>> {
    update_one(
        &s,
        &auth,
        &kb_id,
        id,
        ArticlePatch {
            status: Some(Status::Archived),
            ..Default::default()
        },
    )
    .await
}

/// Delete an article; it is also removed from other articles' related lists.
#[utoipa::path(delete, path = "/v1/kb/{kb_id}/articles/{id}", tag = "Articles", params(("kb_id" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_article(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.store
        .delete_article(&auth.project_id, &kb_id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an FAQ entry (1 credit).
#[utoipa::path(post, path = "/v1/kb/{kb_id}/faqs", tag = "FAQs", params(("kb_id" = String, Path)), request_body = FaqCreate,
    responses((status = 201, body = Data<FaqResponse>), (status = 402, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_faq(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    ApiJson(input): ApiJson<FaqInput>,
) -> ApiResult<(StatusCode, Json<FaqResponse>)> {
    let new = input.into_new()?;
    Ok((
        StatusCode::CREATED,
        data(
            s.store
                .create_faq(&auth.project_id, &kb_id, new)
                .await?
                .into(),
        ),
    ))
}

/// List FAQ entries.
#[utoipa::path(get, path = "/v1/kb/{kb_id}/faqs", tag = "FAQs",
    params(("kb_id" = String, Path), ("category_id" = Option<String>, Query), ("section_id" = Option<String>, Query),
        ("status" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = List<FaqResponse>), (status = 404, body = ErrorBody)))]
pub async fn list_faqs(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    params: Params,
) -> ApiResult<axum::Json<List<FaqResponse>>> {
    let page = params.page(&s.cursors, &format!("faqs:{kb_id}"))?;
    let filter = content_filter(&params, false)?;
    let r = s
        .store
        .list_faqs(&auth.project_id, &kb_id, &filter, page)
        .await?;
    Ok(axum::Json(List {
        data: r.items.into_iter().map(Into::into).collect(),
        pagination: s.pagination(&format!("faqs:{kb_id}"), r.next),
    }))
}

/// Get an FAQ entry.
#[utoipa::path(get, path = "/v1/kb/{kb_id}/faqs/{id}", tag = "FAQs", params(("kb_id" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Data<FaqResponse>), (status = 404, body = ErrorBody)))]
pub async fn get_faq(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
) -> ApiResult<Json<FaqResponse>> {
    Ok(data(
        s.store.get_faq(&auth.project_id, &kb_id, &id).await?.into(),
    ))
}

/// Update an FAQ entry; every field is optional.
#[utoipa::path(put, path = "/v1/kb/{kb_id}/faqs/{id}", tag = "FAQs", params(("kb_id" = String, Path), ("id" = String, Path)), request_body = FaqUpdate,
    responses((status = 200, body = Data<FaqResponse>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_faq(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
    ApiJson(input): ApiJson<FaqInput>,
) -> ApiResult<Json<FaqResponse>> {
    let patch = input.into_patch()?;
    Ok(data(
        s.store
            .update_faq(&auth.project_id, &kb_id, &id, patch)
            .await?
            .into(),
    ))
}

/// Publish an FAQ entry.
#[utoipa::path(post, path = "/v1/kb/{kb_id}/faqs/{id}/publish", tag = "FAQs", params(("kb_id" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Data<FaqResponse>), (status = 404, body = ErrorBody)))]
pub async fn publish_faq(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
) -> ApiResult<Json<FaqResponse>> {
    let patch = FaqPatch {
        status: Some(Status::Published),
        ..Default::default()
    };
    Ok(data(
        s.store
            .update_faq(&auth.project_id, &kb_id, &id, patch)
            .await?
            .into(),
    ))
}

/// Delete an FAQ entry.
#[utoipa::path(delete, path = "/v1/kb/{kb_id}/faqs/{id}", tag = "FAQs", params(("kb_id" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_faq(
    State(s): State<AppState>,
    auth: Auth,
    Path((kb_id, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.store.delete_faq(&auth.project_id, &kb_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ranked search of articles (title, excerpt, tags, body) and FAQs (question, answer) with typo
/// tolerance, prefix matching on the last word and `"quoted phrases"`. Drafts are included
/// unless `status` says otherwise.
#[utoipa::path(get, path = "/v1/kb/{kb_id}/search", tag = "Search",
    params(("kb_id" = String, Path), ("q" = String, Query, description = "Words and `\"quoted phrases\"`, 1–500 characters"),
        ("status" = Option<String>, Query, description = "Comma-separated statuses, e.g. `published`"),
        ("category_id" = Option<String>, Query), ("section_id" = Option<String>, Query, description = "A section ID, or `null`/`ungrouped` for category-level content"),
        ("tag" = Option<String>, Query, description = "Articles with this tag (FAQs have no tags, so none are returned)"),
        ("type" = Option<String>, Query, description = "`article` or `faq`: search only one kind"),
        ("limit" = Option<i64>, Query, description = "Hits per type, 1–100 (default 20)")),
    responses((status = 200, body = Data<SearchResponse>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn search(
    State(s): State<AppState>,
    auth: Auth,
    Path(kb_id): Path<String>,
    params: Params,
) -> ApiResult<Json<SearchResponse>> {
    let text = params.search_text()?;
    let limit = params.limit()?;
    let filter = content_filter(&params, true)?;
    let kind = match params.raw("type") {
        None => None,
        Some("article") => Some(DocKind::Article),
        Some("faq") => Some(DocKind::Faq),
        Some(_) => return Err(ApiError::validation("type", "must be article or faq")),
    };
    let request = SearchRequest {
        project_id: auth.project_id.clone(),
        kb_id: kb_id.clone(),
        text,
        filters: Filters {
            statuses: filter.statuses,
            category_id: filter.category_id,
            section: filter.section,
            tag: filter.tag,
            kind,
        },
        limit: limit as usize,
    };
    // The index holds every KB, but a search only ever sees the documents of the caller's
    // project in this KB: a hit proves the KB is the caller's. Only an empty answer needs the
    // database, to tell "no hits" (200) from "no such KB" (404) — which saves the lookup on
    // the searches that find something.
    let results = s.run_search(&request).await?;
    if results.articles.is_empty() && results.faqs.is_empty() {
        s.store.get_kb(&auth.project_id, &kb_id).await?;
    }
    Ok(data(SearchResponse::from(results)))
}
