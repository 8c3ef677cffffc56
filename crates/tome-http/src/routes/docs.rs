//! Documentation search and page content (`POST /v1/search/{domain}`, `POST /v1/page/{domain}`):
//! the docs-platform wire format (`spec/docs-platform-api.md`), free of credits, behind
//! [`crate::docs::gate`]. Search returns passages — one heading's worth of a published article —
//! ranked by the search engine with its usual rules; a page is a published article as Markdown.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tome_core::model::{Article, KnowledgeBase};
use tome_search::{PassageHit, PassageRequest, Place};
use utoipa::ToSchema;

use crate::docs::DocsCtx;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::hosted::view::id_slug;
use crate::state::AppState;

/// Results a search returns unless `pageSize` says otherwise.
pub const DEFAULT_PAGE_SIZE: i64 = 10;
/// Most results a search may ask for.
pub const MAX_PAGE_SIZE: i64 = 50;

/// `filter` of a search or an assistant message. `version`, `language` and `groups` are
/// accepted and ignored: Tome has no versions, translations or reader groups yet, so every
/// published article is in every version, language and group.
#[derive(Debug, Default, Deserialize)]
pub struct DocsFilter {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

/// `POST /v1/search/{domain}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchBody {
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub page_size: Option<i64>,
    #[serde(default)]
    pub score_threshold: Option<f64>,
    #[serde(default)]
    pub filter: Option<DocsFilter>,
}

/// `POST /v1/page/{domain}`.
#[derive(Debug, Deserialize)]
pub struct PageBody {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

/// The `{domain}` path parameter of the docs-platform endpoints, for the OpenAPI document.
pub const DOMAIN_PARAM: &str =
    "The knowledge base: its slug, or `<slug>.<hosted host>` when a hosted host is configured.";

/// The 404 of a docs-platform endpoint whose `{domain}` names no knowledge base the caller may
/// use, for the OpenAPI document.
pub const NO_KB: &str = "`kb_not_found`: no knowledge base `{domain}` in the assistant key's project (another project's is not found either).";

/// The longest `path` a page request may carry, in characters.
pub const MAX_PAGE_PATH: usize = 2_048;

/// One result of `POST /v1/search/{domain}`: a passage of a published article.
// The shape `hit_json` builds, for the document only: tests/it/openapi.rs checks the server's
// real responses against it (and against `DocsPage`).
#[derive(Serialize, ToSchema)]
pub struct DocsSearchHit {
    /// The passage's plain text, one block per line.
    pub content: String,
    /// The article's hosted path, `/articles/kba_…-its-title`: pass it to `POST /v1/page/{domain}`,
    /// or prefix it with the help centre's URL.
    pub path: String,
    pub metadata: DocsHitMetadata,
}

/// What a search result says about its passage.
#[derive(Serialize, ToSchema)]
pub struct DocsHitMetadata {
    /// The article's title.
    pub title: String,
    /// The headings down to the passage, outermost first, joined by ` › `; empty for the
    /// article's opening passage.
    pub heading: String,
    /// The passage on the hosted help centre: the article's page, with the heading's fragment if
    /// any.
    pub url: String,
    /// The heading's id on the hosted page (the URL's fragment); null for the opening passage.
    #[schema(required = true)]
    pub anchor: Option<String>,
    /// `kba_…`.
    pub article_id: String,
    /// The article's category's name.
    #[schema(required = true)]
    pub category: Option<String>,
    /// The article's section's name; null when the article is in no section.
    #[schema(required = true)]
    pub section: Option<String>,
    /// Relevance, 0–1 (the scale `scoreThreshold` filters on): a passage holding every content word
    /// of the query once scores about 0.5.
    #[schema(minimum = 0, maximum = 1)]
    pub score: f64,
}

/// A page as `POST /v1/page/{domain}` answers it.
#[derive(Serialize, ToSchema)]
pub struct DocsPage {
    /// The article's hosted path (as search gives it, whatever form the request used).
    pub path: String,
    /// The article as Markdown: `# <title>`, a blank line, then its body.
    pub content: String,
}

/// Where a KB's hosted pages live, as an absolute URL (`https://help.example.com/acme`, or
/// `<base URL>/hc/acme`).
pub fn hosted_root(state: &AppState, kb: &KnowledgeBase) -> String {
    match &state.config.hosted_url {
        Some(host) => format!("{}/{}", host.trim_end_matches('/'), kb.slug),
        None => format!(
            "{}/hc/{}",
            state.config.base_url.trim_end_matches('/'),
            kb.slug
        ),
    }
}

/// An article's path below its KB's hosted root: `/articles/kba_…-its-title`.
pub fn article_path(id: &str, title: &str) -> String {
    format!("/articles/{}", id_slug(id, title))
}

/// The article ID a `path` names: any `kba_…` ID in it (`/articles/kba_…-title`, a full hosted
/// URL, or the bare ID).
pub fn article_id_in(path: &str) -> Option<&str> {
    let at = path.find(tome_core::id::ARTICLE)?;
    let candidate =
        path.get(at..at + tome_core::id::ARTICLE.len() + tome_core::id::ID_RANDOM_LEN)?;
    tome_core::id::is_id(tome_core::id::ARTICLE, candidate).then_some(candidate)
}

/// Checks a search's or message's text limits: non-blank, at most `max` characters.
pub fn check_text(field: &str, value: Option<&str>, max: usize) -> Result<String, ApiError> {
    let Some(v) = value else {
        return Err(ApiError::validation(field, "is required"));
    };
    if v.trim().is_empty() {
        return Err(ApiError::validation(field, "must not be blank"));
    }
    if v.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if v.contains('\0') {
        return Err(ApiError::validation(
            field,
            "must not contain NUL characters",
        ));
    }
    Ok(v.to_string())
}

/// One search hit as the wire format has it: `{content, path, metadata}`.
pub fn hit_json(
    root: &str,
    hit: &PassageHit,
    category: Option<&str>,
    section: Option<&str>,
) -> Value {
    let path = article_path(&hit.article_id, &hit.title);
    let url = match &hit.anchor {
        Some(a) => format!("{root}{path}#{a}"),
        None => format!("{root}{path}"),
    };
    json!({
        "content": hit.text,
        "path": path,
        "metadata": {
            "title": hit.title,
            "heading": hit.heading,
            "url": url,
            "anchor": hit.anchor,
            "article_id": hit.article_id,
            "category": category,
            "section": section,
            "score": hit.score,
        }
    })
}

/// Search the documentation.
///
/// Passages of the knowledge base's published articles — one heading's worth each, with the
/// heading trail as context — ranked by Tome's search engine (typo tolerance, prefixes,
/// stemming), best first. Free of credits.
#[utoipa::path(post, path = "/v1/search/{domain}", tag = "Documentation search",
    operation_id = "docs_search",
    params(("domain" = String, Path, description = DOMAIN_PARAM)),
    request_body(content = Value, description = "What to search for. `filter.tag` keeps passages of articles with that tag; `filter.version`, `filter.language` and `filter.groups` are accepted and ignored."),
    responses((status = 200, body = Vec<DocsSearchHit>, description = "The matching passages, best first (a bare array, no envelope)"),
        (status = 404, body = crate::error::ErrorBody, description = NO_KB)))]
pub async fn search(
    State(state): State<AppState>,
    ctx: DocsCtx,
    ApiJson(body): ApiJson<SearchBody>,
) -> ApiResult<Response> {
    let query = check_text("query", body.query.as_deref(), tome_search::MAX_QUERY_CHARS)?;
    let page_size = body.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(ApiError::validation(
            "pageSize",
            format!("must be between 1 and {MAX_PAGE_SIZE}"),
        ));
    }
    let threshold = body.score_threshold.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&threshold) || threshold.is_nan() {
        return Err(ApiError::validation(
            "scoreThreshold",
            "must be between 0 and 1",
        ));
    }
    let tag = body.filter.and_then(|f| f.tag);
    let hits = state
        .run_passage_search(&PassageRequest {
            project_id: ctx.project_id.clone(),
            kb_id: ctx.kb.id.clone(),
            text: query,
            tag,
            limit: page_size as usize,
            near_article: None,
            places: places(&state, &ctx.kb.id).await?,
            whole_articles: false,
            feedback: false,
        })
        .await?;
    let names = Names::load(&state, &ctx).await?;
    let root = hosted_root(&state, &ctx.kb);
    let out: Vec<Value> = hits
        .iter()
        .filter(|h| f64::from(h.score) >= threshold)
        .map(|h| {
            let (category, section) = names.of(h);
            hit_json(&root, h, category, section)
        })
        .collect();
    Ok(Json(out).into_response())
}

/// The KB's categories and sections by name: passage search reads a passage's category and
/// section names as part of it ([`tome_search::Place`]).
pub async fn places(state: &AppState, kb_id: &str) -> Result<Vec<Place>, ApiError> {
    let generation = state.public.kb_generation(kb_id);
    let tree = state
        .public
        .tree(state.store.as_ref(), kb_id, generation)
        .await?;
    Ok(tree
        .categories
        .iter()
        .map(|c| Place {
            id: c.id.clone(),
            section: false,
            name: c.name.clone(),
        })
        .chain(tree.sections.iter().map(|s| Place {
            id: s.id.clone(),
            section: true,
            name: s.name.clone(),
        }))
        .collect())
}

/// Category and section names of a KB, for search metadata.
pub struct Names {
    categories: rustc_hash::FxHashMap<String, String>,
    sections: rustc_hash::FxHashMap<String, String>,
}

impl Names {
    pub async fn load(state: &AppState, ctx: &DocsCtx) -> Result<Names, ApiError> {
        let generation = state.public.kb_generation(&ctx.kb.id);
        let tree = state
            .public
            .tree(state.store.as_ref(), &ctx.kb.id, generation)
            .await?;
        Ok(Names {
            categories: tree
                .categories
                .iter()
                .map(|c| (c.id.clone(), c.name.clone()))
                .collect(),
            sections: tree
                .sections
                .iter()
                .map(|s| (s.id.clone(), s.name.clone()))
                .collect(),
        })
    }

    pub fn of(&self, hit: &PassageHit) -> (Option<&str>, Option<&str>) {
        (
            self.categories.get(&hit.category_id).map(String::as_str),
            hit.section_id
                .as_ref()
                .and_then(|s| self.sections.get(s))
                .map(String::as_str),
        )
    }
}

/// The Markdown of a page: its title as a level-1 heading, then its body.
pub fn page_markdown(article: &Article) -> String {
    format!("# {}\n\n{}", article.title, article.body.trim_start())
}

/// Read a page of the documentation.
///
/// A published article as Markdown (its title as a level-1 heading), by a `path` from search,
/// the page's hosted URL, or the bare article ID. Free of credits.
#[utoipa::path(post, path = "/v1/page/{domain}", tag = "Documentation search",
    operation_id = "docs_page",
    params(("domain" = String, Path, description = DOMAIN_PARAM)),
    request_body(content = Value, description = "The page to read: a `path` returned by search. `groups` is accepted and ignored."),
    responses((status = 200, body = DocsPage, description = "The page as Markdown"),
        (status = 404, body = crate::error::ErrorBody, description = "`kb_not_found`: no knowledge base `{domain}` in the assistant key's project (another project's is not found either); or `page_not_found`: no published article at that path (unknown, draft and archived articles alike).")))]
pub async fn page(
    State(state): State<AppState>,
    ctx: DocsCtx,
    ApiJson(body): ApiJson<PageBody>,
) -> ApiResult<Response> {
    let _ = body.groups;
    let path = check_text("path", body.path.as_deref(), MAX_PAGE_PATH)?;
    let not_found = || {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "page_not_found",
            "No published page at that path.",
        )
    };
    let id = article_id_in(&path).ok_or_else(not_found)?;
    let article = state
        .store
        .published_article(&ctx.kb.id, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(json!({
        "path": article_path(&article.id, &article.title),
        "content": page_markdown(&article),
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_articles() {
        assert_eq!(
            article_id_in("/articles/kba_a1b2c3d4e5f6-reset-your-password"),
            Some("kba_a1b2c3d4e5f6")
        );
        assert_eq!(
            article_id_in("https://help.example.com/acme/articles/kba_a1b2c3d4e5f6#x"),
            Some("kba_a1b2c3d4e5f6")
        );
        assert_eq!(article_id_in("kba_a1b2c3d4e5f6"), Some("kba_a1b2c3d4e5f6"));
        assert_eq!(article_id_in("/articles/kba_short"), None);
        assert_eq!(article_id_in("/quickstart"), None);
    }
}
