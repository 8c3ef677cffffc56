//! The public read API for single-page apps: `/v1/kb/public/{slug}/…`.
//!
//! Handlers render from the KB's published tree and cache the rendered bytes per KB generation
//! (see `cache.rs`); the gate in `public.rs` has already checked key, origin and rate limit.

use std::future::Future;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tome_core::model::{Article, Entity, Status};
use tome_store::{PublishedTree, SearchQuery, StoreError};

use crate::AppState;
use crate::dto::snippet;
use crate::error::{ApiError, ApiResult};
use crate::extract::Params;
use crate::public::{PublicCtx, gate};

pub fn router(state: AppState) -> Router<AppState> {
    // `OPTIONS` is routed too so the gate can answer CORS preflights.
    let preflight = || async { StatusCode::NO_CONTENT };
    Router::new()
        .route(
            "/v1/kb/public/{slug}/structure",
            get(structure).options(preflight),
        )
        .route(
            "/v1/kb/public/{slug}/categories",
            get(categories).options(preflight),
        )
        .route(
            "/v1/kb/public/{slug}/categories/{id}",
            get(category).options(preflight),
        )
        .route(
            "/v1/kb/public/{slug}/articles/{id}",
            get(article).options(preflight),
        )
        .route(
            "/v1/kb/public/{slug}/faqs/{category_id}",
            get(faqs).options(preflight),
        )
        .route(
            "/v1/kb/public/{slug}/search",
            get(search).options(preflight),
        )
        .route_layer(axum::middleware::from_fn_with_state(state, gate))
}

/// Serves `render`'s value as `{"data": …}` from the cache, rendering it on a miss.
async fn cached<F>(
    s: &AppState,
    ctx: &PublicCtx,
    uri: &Uri,
    headers: &HeaderMap,
    render: F,
) -> Response
where
    F: Future<Output = ApiResult<Value>>,
{
    let kb_id = &ctx.access.kb_id;
    let key = format!("{kb_id}:{}:{uri}", s.public.kb_generation(kb_id));
    let body = match s.public.body(&key).await {
        Some(b) => b,
        None => match render.await {
            Ok(data) => {
                let bytes = serde_json::to_vec(&json!({ "data": data })).unwrap_or_default();
                s.public.insert_body(key, bytes).await
            }
            Err(e) => return e.into_response(),
        },
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == body.etag.to_str().unwrap_or(""))
        });
    let gzip = body.gzip.as_ref().filter(|_| {
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',').any(|e| {
                    e.split(';')
                        .next()
                        .is_some_and(|e| e.trim().eq_ignore_ascii_case("gzip"))
                })
            })
    });
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if let Some(gz) = gzip {
        let mut r = gz.clone().into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        body.body.clone().into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::ETAG, body.etag.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if body.gzip.is_some() {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    resp
}

async fn tree(s: &AppState, ctx: &PublicCtx) -> ApiResult<std::sync::Arc<PublishedTree>> {
    let kb_id = &ctx.access.kb_id;
    Ok(s.public
        .tree(s.store.as_ref(), kb_id, s.public.kb_generation(kb_id))
        .await?)
}

fn article_link(a: &Article) -> Value {
    json!({ "id": a.id, "title": a.title, "excerpt": a.excerpt })
}

fn category_articles<'a>(
    t: &'a PublishedTree,
    category_id: &'a str,
) -> impl Iterator<Item = &'a Article> {
    t.articles
        .iter()
        .filter(move |a| a.category_id == category_id)
}

/// The navigation tree: categories → sections → article titles, plus category-level articles.
async fn structure(
    State(s): State<AppState>,
    ctx: PublicCtx,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached(&s, &ctx, &uri, &headers, async {
        let t = tree(&s, &ctx).await?;
        let categories: Vec<Value> = t
            .categories
            .iter()
            .map(|c| {
                let sections: Vec<Value> = t
                    .sections
                    .iter()
                    .filter(|sec| sec.category_id == c.id)
                    .map(|sec| {
                        let articles: Vec<Value> = category_articles(&t, &c.id)
                            .filter(|a| a.section_id.as_deref() == Some(sec.id.as_str()))
                            .map(article_link)
                            .collect();
                        json!({ "id": sec.id, "name": sec.name, "description": sec.description, "articles": articles })
                    })
                    .collect();
                let articles: Vec<Value> =
                    category_articles(&t, &c.id).filter(|a| a.section_id.is_none()).map(article_link).collect();
                json!({
                    "id": c.id, "name": c.name, "description": c.description, "icon": c.icon,
                    "sections": sections, "articles": articles,
                    "faq_count": t.faqs.iter().filter(|f| f.category_id == c.id).count(),
                })
            })
            .collect();
        Ok(json!({
            "title": t.kb.title, "description": t.kb.description, "slug": t.kb.slug,
            "categories": categories,
        }))
    })
    .await
}

/// Categories with their published article and FAQ counts.
async fn categories(
    State(s): State<AppState>,
    ctx: PublicCtx,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached(&s, &ctx, &uri, &headers, async {
        let t = tree(&s, &ctx).await?;
        let list: Vec<Value> = t
            .categories
            .iter()
            .map(|c| {
                json!({
                    "id": c.id, "name": c.name, "description": c.description, "icon": c.icon,
                    "article_count": category_articles(&t, &c.id).count(),
                    "faq_count": t.faqs.iter().filter(|f| f.category_id == c.id).count(),
                })
            })
            .collect();
        Ok(Value::Array(list))
    })
    .await
}

fn faq_json(f: &tome_core::model::Faq) -> Value {
    json!({ "id": f.id, "question": f.question, "answer": f.answer, "section_id": f.section_id })
}

/// One category with its sections, articles and FAQs.
async fn category(
    State(s): State<AppState>,
    ctx: PublicCtx,
    Path((_, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached(&s, &ctx, &uri, &headers, async {
        let t = tree(&s, &ctx).await?;
        let c = t.categories.iter().find(|c| c.id == id).ok_or(StoreError::NotFound(Entity::Category))?;
        let sections: Vec<Value> = t
            .sections
            .iter()
            .filter(|sec| sec.category_id == c.id)
            .map(|sec| {
                let articles: Vec<Value> = category_articles(&t, &c.id)
                    .filter(|a| a.section_id.as_deref() == Some(sec.id.as_str()))
                    .map(article_link)
                    .collect();
                json!({ "id": sec.id, "name": sec.name, "description": sec.description, "articles": articles })
            })
            .collect();
        let articles: Vec<Value> =
            category_articles(&t, &c.id).filter(|a| a.section_id.is_none()).map(article_link).collect();
        let faqs: Vec<Value> = t.faqs.iter().filter(|f| f.category_id == c.id).map(faq_json).collect();
        Ok(json!({
            "id": c.id, "name": c.name, "description": c.description, "icon": c.icon,
            "sections": sections, "articles": articles, "faqs": faqs,
        }))
    })
    .await
}

/// A published article with related articles, category and section resolved.
async fn article(
    State(s): State<AppState>,
    ctx: PublicCtx,
    Path((_, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached(&s, &ctx, &uri, &headers, async {
        let t = tree(&s, &ctx).await?;
        let a = s
            .store
            .published_article(&ctx.access.kb_id, &id)
            .await?
            .ok_or(StoreError::NotFound(Entity::Article))?;
        let related: Vec<Value> = a
            .related_articles
            .iter()
            .filter_map(|rid| t.articles.iter().find(|r| &r.id == rid))
            .map(article_link)
            .collect();
        let category = t
            .categories
            .iter()
            .find(|c| c.id == a.category_id)
            .map(|c| json!({ "id": c.id, "name": c.name }));
        let section = a
            .section_id
            .as_ref()
            .and_then(|sid| t.sections.iter().find(|sec| &sec.id == sid))
            .map(|sec| json!({ "id": sec.id, "name": sec.name }));
        Ok(json!({
            "id": a.id, "title": a.title, "body": a.body, "excerpt": a.excerpt, "tags": a.tags,
            "related_articles": related, "category": category, "section": section,
            "published_at": a.published_at, "updated_at": a.updated_at,
        }))
    })
    .await
}

/// Published FAQs of one category.
async fn faqs(
    State(s): State<AppState>,
    ctx: PublicCtx,
    Path((_, category_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached(&s, &ctx, &uri, &headers, async {
        let t = tree(&s, &ctx).await?;
        if !t.categories.iter().any(|c| c.id == category_id) {
            return Err(StoreError::NotFound(Entity::Category).into());
        }
        Ok(Value::Array(
            t.faqs
                .iter()
                .filter(|f| f.category_id == category_id)
                .map(faq_json)
                .collect(),
        ))
    })
    .await
}

/// Search of published content only.
async fn search(
    State(s): State<AppState>,
    ctx: PublicCtx,
    params: Params,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let text = params
        .get("q")
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    if text.is_empty() {
        return ApiError::validation("q", "is required").into_response();
    }
    if text.chars().count() > 500 {
        return ApiError::validation("q", "must be at most 500 characters").into_response();
    }
    let limit = match params.page(&s.cursors, "public-search") {
        Ok(p) => p.limit,
        Err(e) => return e.into_response(),
    };
    cached(&s, &ctx, &uri, &headers, async {
        let query = SearchQuery { text, statuses: vec![Status::Published], limit };
        let hits = s.store.search(&ctx.access.project_id, &ctx.access.kb_id, &query).await?;
        let articles: Vec<Value> = hits
            .articles
            .iter()
            .map(|a| {
                json!({
                    "id": a.id, "type": "article", "title": a.title,
                    "excerpt": a.excerpt.clone().or_else(|| (!a.body.is_empty()).then(|| snippet(&a.body, 200))),
                    "category_id": a.category_id, "section_id": a.section_id,
                })
            })
            .collect();
        let faqs: Vec<Value> = hits
            .faqs
            .iter()
            .map(|f| {
                json!({
                    "id": f.id, "type": "faq", "question": f.question, "excerpt": snippet(&f.answer, 200),
                    "category_id": f.category_id, "section_id": f.section_id,
                })
            })
            .collect();
        Ok(json!({ "articles": articles, "faqs": faqs }))
    })
    .await
}
