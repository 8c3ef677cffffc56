//! The public read API for single-page apps: `/v1/kb/public/{slug}/…`.
//!
//! Handlers render from the KB's published tree and cache the rendered bytes per KB generation
//! (see `cache.rs`); the gate in `public.rs` has already checked key, origin and rate limit.

use std::future::Future;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tome_core::model::{Article, Category, Entity, Faq, Section, Status};
use tome_search::{Filters, SearchRequest};
use tome_store::{PublishedTree, StoreError};
use utoipa::ToSchema;

use crate::dto::{Data, SearchResponse};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Params;
use crate::public::{PublicCtx, gate};
use crate::state::AppState;

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
///
/// `key` names the response within the KB: the request path for the navigation endpoints (their
/// query string is ignored, so random query strings cannot force renders or flood the cache),
/// `search?` plus the normalized parameters for search.
async fn cached<T, F>(
    s: &AppState,
    ctx: &PublicCtx,
    key: &str,
    headers: &HeaderMap,
    render: F,
) -> Response
where
    T: Serialize,
    F: Future<Output = ApiResult<T>>,
{
    let key = s.public.body_key(&ctx.access.kb_id, key);
    let missed = std::sync::atomic::AtomicBool::new(false);
    let rendered = s
        .public
        .body_or_render(key, async {
            missed.store(true, std::sync::atomic::Ordering::Relaxed);
            let data = render.await?;
            serde_json::to_vec(&Data { data }).map_err(|e| {
                tracing::error!(error = %e, "cannot serialize a public response");
                crate::error::ApiError::internal()
            })
        })
        .await;
    s.metrics
        .cache_lookup("public", !missed.load(std::sync::atomic::Ordering::Relaxed));
    let body = match rendered {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    body.respond(headers)
}

async fn tree(s: &AppState, ctx: &PublicCtx) -> ApiResult<std::sync::Arc<PublishedTree>> {
    let kb_id = &ctx.access.kb_id;
    Ok(s.public
        .tree(s.store.as_ref(), kb_id, s.public.kb_generation(kb_id))
        .await?)
}

/// An article as a link: enough to render a title and a teaser.
#[derive(Serialize, ToSchema)]
pub struct ArticleLink {
    pub id: String,
    pub title: String,
    pub excerpt: Option<String>,
}

impl From<&Article> for ArticleLink {
    fn from(a: &Article) -> Self {
        ArticleLink {
            id: a.id.clone(),
            title: a.title.clone(),
            excerpt: a.excerpt.clone(),
        }
    }
}

/// A section with its published articles.
#[derive(Serialize, ToSchema)]
pub struct SectionNode {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub articles: Vec<ArticleLink>,
}

/// A category in the navigation tree.
#[derive(Serialize, ToSchema)]
pub struct CategoryNode {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub sections: Vec<SectionNode>,
    /// Published articles directly in the category (in no section).
    pub articles: Vec<ArticleLink>,
    pub faq_count: usize,
}

/// The whole navigation tree of a knowledge base.
#[derive(Serialize, ToSchema)]
pub struct Structure {
    pub title: String,
    pub description: Option<String>,
    pub slug: String,
    pub categories: Vec<CategoryNode>,
}

/// A category with counts of its published content.
#[derive(Serialize, ToSchema)]
pub struct CategorySummary {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    /// Published articles in the category, including those in its sections.
    pub article_count: usize,
    pub faq_count: usize,
}

/// A published FAQ entry.
#[derive(Serialize, ToSchema)]
pub struct PublicFaq {
    pub id: String,
    pub question: String,
    /// Markdown.
    pub answer: String,
    pub section_id: Option<String>,
}

impl From<&Faq> for PublicFaq {
    fn from(f: &Faq) -> Self {
        PublicFaq {
            id: f.id.clone(),
            question: f.question.clone(),
            answer: f.answer.clone(),
            section_id: f.section_id.clone(),
        }
    }
}

/// A category with its sections, articles and FAQs.
#[derive(Serialize, ToSchema)]
pub struct CategoryDetail {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub sections: Vec<SectionNode>,
    pub articles: Vec<ArticleLink>,
    pub faqs: Vec<PublicFaq>,
}

/// `{id, name}` of a category or section.
#[derive(Serialize, ToSchema)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

/// A published article, ready to render.
#[derive(Serialize, ToSchema)]
pub struct PublicArticle {
    pub id: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub excerpt: Option<String>,
    pub tags: Vec<String>,
    /// Published related articles, for "See also".
    pub related_articles: Vec<ArticleLink>,
    pub category: Option<NamedRef>,
    pub section: Option<NamedRef>,
    pub published_at: Option<String>,
    pub updated_at: String,
}

fn links<'a>(
    t: &'a PublishedTree,
    category: &'a Category,
    section: Option<&'a Section>,
) -> Vec<ArticleLink> {
    let section_id = section.map(|s| s.id.as_str());
    t.articles
        .iter()
        .filter(|a| a.category_id == category.id && a.section_id.as_deref() == section_id)
        .map(ArticleLink::from)
        .collect()
}

fn section_nodes(t: &PublishedTree, c: &Category) -> Vec<SectionNode> {
    t.sections
        .iter()
        .filter(|sec| sec.category_id == c.id)
        .map(|sec| SectionNode {
            id: sec.id.clone(),
            name: sec.name.clone(),
            description: sec.description.clone(),
            articles: links(t, c, Some(sec)),
        })
        .collect()
}

fn faq_count(t: &PublishedTree, c: &Category) -> usize {
    t.faqs.iter().filter(|f| f.category_id == c.id).count()
}

/// The navigation tree: categories → sections → article titles, plus category-level articles.
#[utoipa::path(get, path = "/v1/kb/public/{slug}/structure", tag = "Public API", operation_id = "public_structure",
    params(("slug" = String, Path)), security(("site_key" = [])),
    responses((status = 200, body = Data<Structure>), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn structure(
    State(s): State<AppState>,
    ctx: PublicCtx,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached(&s, &ctx, uri.path(), &headers, async {
        let t = tree(&s, &ctx).await?;
        let categories = t
            .categories
            .iter()
            .map(|c| CategoryNode {
                id: c.id.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                icon: c.icon.clone(),
                sections: section_nodes(&t, c),
                articles: links(&t, c, None),
                faq_count: faq_count(&t, c),
            })
            .collect();
        Ok(Structure {
            title: t.kb.title.clone(),
            description: t.kb.description.clone(),
            slug: t.kb.slug.clone(),
            categories,
        })
    })
    .await
}

/// Categories with their published article and FAQ counts.
#[utoipa::path(get, path = "/v1/kb/public/{slug}/categories", tag = "Public API", operation_id = "public_categories",
    params(("slug" = String, Path)), security(("site_key" = [])),
    responses((status = 200, body = Data<Vec<CategorySummary>>), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn categories(
    State(s): State<AppState>,
    ctx: PublicCtx,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached(&s, &ctx, uri.path(), &headers, async {
        let t = tree(&s, &ctx).await?;
        Ok(t.categories
            .iter()
            .map(|c| CategorySummary {
                id: c.id.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                icon: c.icon.clone(),
                article_count: t.articles.iter().filter(|a| a.category_id == c.id).count(),
                faq_count: faq_count(&t, c),
            })
            .collect::<Vec<_>>())
    })
    .await
}

/// One category with its sections, articles and FAQs.
#[utoipa::path(get, path = "/v1/kb/public/{slug}/categories/{id}", tag = "Public API", operation_id = "public_category",
    params(("slug" = String, Path), ("id" = String, Path)), security(("site_key" = [])),
    responses((status = 200, body = Data<CategoryDetail>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn category(
    State(s): State<AppState>,
    ctx: PublicCtx,
    Path((_, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached(&s, &ctx, uri.path(), &headers, async {
        let t = tree(&s, &ctx).await?;
        let c = t
            .categories
            .iter()
            .find(|c| c.id == id)
            .ok_or(StoreError::NotFound(Entity::Category))?;
        Ok(CategoryDetail {
            id: c.id.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            icon: c.icon.clone(),
            sections: section_nodes(&t, c),
            articles: links(&t, c, None),
            faqs: t
                .faqs
                .iter()
                .filter(|f| f.category_id == c.id)
                .map(PublicFaq::from)
                .collect(),
        })
    })
    .await
}

/// A published article with related articles, category and section resolved.
#[utoipa::path(get, path = "/v1/kb/public/{slug}/articles/{id}", tag = "Public API", operation_id = "public_article",
    params(("slug" = String, Path), ("id" = String, Path)), security(("site_key" = [])),
    responses((status = 200, body = Data<PublicArticle>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn article(
    State(s): State<AppState>,
    ctx: PublicCtx,
    Path((_, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached(&s, &ctx, uri.path(), &headers, async {
        let t = tree(&s, &ctx).await?;
        let a = s
            .store
            .published_article(&ctx.access.kb_id, &id)
            .await?
            .ok_or(StoreError::NotFound(Entity::Article))?;
        let related = a
            .related_articles
            .iter()
            .filter_map(|rid| t.articles.iter().find(|r| &r.id == rid))
            .map(ArticleLink::from)
            .collect();
        let category = t
            .categories
            .iter()
            .find(|c| c.id == a.category_id)
            .map(|c| NamedRef {
                id: c.id.clone(),
                name: c.name.clone(),
            });
        let section = a
            .section_id
            .as_ref()
            .and_then(|sid| t.sections.iter().find(|sec| &sec.id == sid))
            .map(|sec| NamedRef {
                id: sec.id.clone(),
                name: sec.name.clone(),
            });
        Ok(PublicArticle {
            id: a.id,
            title: a.title,
            body: a.body,
            excerpt: a.excerpt,
            tags: a.tags,
            related_articles: related,
            category,
            section,
            published_at: a.published_at,
            updated_at: a.updated_at,
        })
    })
    .await
}

/// Published FAQs of one category.
#[utoipa::path(get, path = "/v1/kb/public/{slug}/faqs/{category_id}", tag = "Public API", operation_id = "public_faqs",
    params(("slug" = String, Path), ("category_id" = String, Path)), security(("site_key" = [])),
    responses((status = 200, body = Data<Vec<PublicFaq>>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn faqs(
    State(s): State<AppState>,
    ctx: PublicCtx,
    Path((_, category_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    cached(&s, &ctx, uri.path(), &headers, async {
        let t = tree(&s, &ctx).await?;
        if !t.categories.iter().any(|c| c.id == category_id) {
            return Err(StoreError::NotFound(Entity::Category).into());
        }
        Ok(t.faqs
            .iter()
            .filter(|f| f.category_id == category_id)
            .map(PublicFaq::from)
            .collect::<Vec<_>>())
    })
    .await
}

/// Search of published content only, ranked like the management search.
#[utoipa::path(get, path = "/v1/kb/public/{slug}/search", tag = "Public API", operation_id = "public_search",
    params(("slug" = String, Path), ("q" = String, Query, description = "Words and `\"quoted phrases\"`, 1–500 characters"),
        ("limit" = Option<i64>, Query, description = "Hits per type, 1–100 (default 20)")),
    security(("site_key" = [])),
    responses((status = 200, body = Data<SearchResponse>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn search(
    State(s): State<AppState>,
    ctx: PublicCtx,
    params: Params,
    headers: HeaderMap,
) -> Response {
    let (text, limit) = match (params.search_text(), params.limit()) {
        (Ok(t), Ok(l)) => (t, l),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    // Case and spacing change nothing in the results, so they share a cache entry; the raw URI
    // (parameter order, unknown parameters) would not.
    let normalized = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let key = format!("search?limit={limit}&q={normalized}");
    cached(&s, &ctx, &key, &headers, async {
        let request = SearchRequest {
            project_id: ctx.access.project_id.clone(),
            kb_id: ctx.access.kb_id.clone(),
            text,
            filters: Filters {
                statuses: vec![Status::Published],
                ..Filters::default()
            },
            limit: limit as usize,
        };
        Ok(SearchResponse::from(s.run_search(&request).await?))
    })
    .await
}
