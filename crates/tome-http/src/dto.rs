//! Response bodies: the wire shapes of the spec, built from domain types.

use serde::Serialize;
use tome_core::model::{
    ApiKey, Article, Category, Faq, KbCounts, KnowledgeBase, Project, Section, SiteKey,
    ThemeSettings, Usage,
};
use utoipa::ToSchema;

/// `{"data": …}`, the envelope of every successful response.
#[derive(Serialize, ToSchema)]
pub struct Data<T> {
    pub data: T,
}

pub fn data<T>(data: T) -> axum::Json<Data<T>> {
    axum::Json(Data { data })
}

#[derive(Serialize, ToSchema)]
pub struct Pagination {
    /// Pass as `?cursor=` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// A page of a list.
#[derive(Serialize, ToSchema)]
pub struct List<T> {
    pub data: Vec<T>,
    pub pagination: Pagination,
}

#[derive(Serialize, ToSchema)]
pub struct KbResponse {
    pub id: String,
    pub title: String,
    pub slug: String,
    pub description: Option<String>,
    pub is_public: bool,
    /// Read-only: the project's allowed domains (`PUT /v1/project`).
    pub shared_allowed_domains: Vec<String>,
    /// `minimal`, `developer`, `brand`, `docs` or `bare`.
    pub theme: String,
    pub theme_settings: Option<ThemeSettings>,
    pub logo_path: Option<String>,
    /// The plaintext site key; only in the create response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_key: Option<String>,
    /// The hosted help centre's address; null when `is_public` is false.
    pub public_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    // Documented as a plain flattened object with optional fields: utoipa renders a flattened
    // `Option` as `allOf: [oneOf: [null, counts], ...]`, which no single-KB response satisfies.
    /// Only in list responses.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = KbCountsResponse)]
    pub counts: Option<KbCountsResponse>,
}

/// Content counts of a knowledge base: present in list responses only.
#[derive(Serialize, ToSchema)]
pub struct KbCountsResponse {
    #[schema(required = false)]
    pub category_count: i64,
    #[schema(required = false)]
    pub section_count: i64,
    #[schema(required = false)]
    pub article_count: i64,
    #[schema(required = false)]
    pub faq_count: i64,
}

impl From<KbCounts> for KbCountsResponse {
    fn from(c: KbCounts) -> Self {
        KbCountsResponse {
            category_count: c.categories,
            section_count: c.sections,
            article_count: c.articles,
            faq_count: c.faqs,
        }
    }
}

impl KbResponse {
    pub fn new(kb: KnowledgeBase, allowed_domains: &[String], public_url: Option<String>) -> Self {
        KbResponse {
            id: kb.id,
            title: kb.title,
            slug: kb.slug,
            description: kb.description,
            is_public: kb.is_public,
            shared_allowed_domains: allowed_domains.to_vec(),
            theme: kb.theme.as_str().to_string(),
            theme_settings: kb.theme_settings,
            logo_path: kb.logo_path,
            site_key: None,
            public_url,
            created_at: kb.created_at,
            updated_at: kb.updated_at,
            counts: None,
        }
    }
}

/// Site key metadata; the plaintext is never returned here.
#[derive(Serialize, ToSchema)]
pub struct SiteKeyResponse {
    pub id: String,
    pub kb_id: String,
    pub key_prefix: String,
    pub rate_limit: i64,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<SiteKey> for SiteKeyResponse {
    fn from(k: SiteKey) -> Self {
        SiteKeyResponse {
            id: k.id,
            kb_id: k.kb_id,
            key_prefix: k.key_prefix,
            rate_limit: k.rate_limit,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A newly issued site key with its plaintext, shown once.
#[derive(Serialize, ToSchema)]
pub struct NewSiteKeyResponse {
    pub id: String,
    pub kb_id: String,
    pub site_key: String,
    pub key_prefix: String,
    pub rate_limit: i64,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CategoryResponse {
    pub id: String,
    pub kb_id: String,
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub sort_order: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Category> for CategoryResponse {
    fn from(c: Category) -> Self {
        CategoryResponse {
            id: c.id,
            kb_id: c.kb_id,
            name: c.name,
            description: c.description,
            icon: c.icon,
            sort_order: c.sort_order,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SectionResponse {
    pub id: String,
    pub kb_id: String,
    pub category_id: String,
    pub name: String,
    pub description: Option<String>,
    pub sort_order: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Section> for SectionResponse {
    fn from(s: Section) -> Self {
        SectionResponse {
            id: s.id,
            kb_id: s.kb_id,
            category_id: s.category_id,
            name: s.name,
            description: s.description,
            sort_order: s.sort_order,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ArticleResponse {
    pub id: String,
    pub kb_id: String,
    pub category_id: String,
    pub section_id: Option<String>,
    pub title: String,
    /// Omitted in list responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub excerpt: Option<String>,
    /// `draft`, `published` or `archived`.
    pub status: String,
    pub tags: Vec<String>,
    pub related_articles: Vec<String>,
    pub sort_order: i64,
    pub published_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl ArticleResponse {
    pub fn full(a: Article) -> Self {
        Self::build(a, true)
    }

    pub fn summary(a: Article) -> Self {
        Self::build(a, false)
    }

    fn build(a: Article, with_body: bool) -> Self {
        ArticleResponse {
            id: a.id,
            kb_id: a.kb_id,
            category_id: a.category_id,
            section_id: a.section_id,
            title: a.title,
            body: with_body.then_some(a.body),
            excerpt: a.excerpt,
            status: a.status.as_str().to_string(),
            tags: a.tags,
            related_articles: a.related_articles,
            sort_order: a.sort_order,
            published_at: a.published_at,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FaqResponse {
    pub id: String,
    pub kb_id: String,
    pub category_id: String,
    pub section_id: Option<String>,
    pub question: String,
    pub answer: String,
    /// `draft`, `published` or `archived`.
    pub status: String,
    pub sort_order: i64,
    pub published_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Faq> for FaqResponse {
    fn from(f: Faq) -> Self {
        FaqResponse {
            id: f.id,
            kb_id: f.kb_id,
            category_id: f.category_id,
            section_id: f.section_id,
            question: f.question,
            answer: f.answer,
            status: f.status.as_str().to_string(),
            sort_order: f.sort_order,
            published_at: f.published_at,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProjectResponse {
    pub id: String,
    pub name: String,
    /// Hosts allowed to call the public API; empty allows every origin.
    pub allowed_domains: Vec<String>,
    /// Monthly credit cap set by the operator; null means unlimited. Read-only here.
    pub credit_cap: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Project> for ProjectResponse {
    fn from(p: Project) -> Self {
        ProjectResponse {
            id: p.id,
            name: p.name,
            allowed_domains: p.allowed_domains,
            credit_cap: p.credit_cap,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UsageResponse {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub credits_used: i64,
    pub credit_cap: Option<i64>,
    /// Null when there is no cap.
    pub credits_remaining: Option<i64>,
    pub by_action: Vec<UsageLine>,
}

#[derive(Serialize, ToSchema)]
pub struct UsageLine {
    /// e.g. `article_created`.
    pub action: String,
    /// Credits per item.
    pub price: i64,
    pub count: i64,
    pub credits: i64,
}

impl From<Usage> for UsageResponse {
    fn from(u: Usage) -> Self {
        let used = u.credits_used();
        UsageResponse {
            credits_remaining: u.credit_cap.map(|c| (c - used).max(0)),
            credits_used: used,
            credit_cap: u.credit_cap,
            by_action: u
                .by_action
                .into_iter()
                .map(|(a, count, credits)| UsageLine {
                    action: a.as_str().to_string(),
                    price: a.price(),
                    count,
                    credits,
                })
                .collect(),
            month: u.month,
        }
    }
}

/// Operator-facing key metadata (CLI output).
pub fn api_key_json(k: &ApiKey) -> serde_json::Value {
    serde_json::json!({
        "id": k.id,
        "project_id": k.project_id,
        "kind": k.kind.as_str(),
        "key_prefix": k.key_prefix,
        "created_at": k.created_at,
        "last_used_at": k.last_used_at,
        "revoked_at": k.revoked_at,
    })
}

/// Search hits of both kinds, best first.
#[derive(Serialize, ToSchema)]
pub struct SearchResponse {
    pub articles: Vec<ArticleHit>,
    pub faqs: Vec<FaqHit>,
}

#[derive(Serialize, ToSchema)]
pub struct ArticleHit {
    pub id: String,
    /// Always `article`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    /// The article's excerpt, or the start of its body.
    pub excerpt: Option<String>,
    pub category_id: String,
    pub section_id: Option<String>,
    pub status: String,
    /// A passage of the excerpt or body around the best match: HTML-escaped, matched words in
    /// `<mark>`. When only the title matched, the start of the excerpt or body, unmarked.
    pub highlight: String,
    /// Relevance (BM25 within this knowledge base); higher is better.
    pub score: f32,
}

#[derive(Serialize, ToSchema)]
pub struct FaqHit {
    pub id: String,
    /// Always `faq`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub question: String,
    /// The start of the answer.
    pub excerpt: String,
    pub category_id: String,
    pub section_id: Option<String>,
    pub status: String,
    /// A passage of the answer around the best match: HTML-escaped, matched words in `<mark>`.
    pub highlight: String,
    /// Relevance (BM25 within this knowledge base); higher is better.
    pub score: f32,
}

/// Scores with three significant decimals: enough to order by, stable across platforms.
fn round_score(s: f32) -> f32 {
    (s * 1000.0).round() / 1000.0
}

impl From<tome_search::SearchResults> for SearchResponse {
    fn from(r: tome_search::SearchResults) -> Self {
        SearchResponse {
            articles: r
                .articles
                .into_iter()
                .map(|a| ArticleHit {
                    kind: "article",
                    id: a.id,
                    title: a.title,
                    excerpt: a.excerpt,
                    category_id: a.category_id,
                    section_id: a.section_id,
                    status: a.status.as_str().to_string(),
                    highlight: a.highlight,
                    score: round_score(a.score),
                })
                .collect(),
            faqs: r
                .faqs
                .into_iter()
                .map(|f| FaqHit {
                    kind: "faq",
                    id: f.id,
                    question: f.question,
                    excerpt: f.excerpt,
                    category_id: f.category_id,
                    section_id: f.section_id,
                    status: f.status.as_str().to_string(),
                    highlight: f.highlight,
                    score: round_score(f.score),
                })
                .collect(),
        }
    }
}

/// The first `max` characters of `text` on one line, with an ellipsis when cut.
pub fn snippet(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    let cut = cut
        .rsplit_once(' ')
        .map_or(cut.as_str(), |(head, _)| head)
        .to_string();
    format!("{cut}...")
}
