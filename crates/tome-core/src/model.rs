//! Tome's entities as storage returns them.

use serde::{Deserialize, Serialize};

pub use crate::keys::KeyKind;

/// Things that can be looked up and not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Project,
    ApiKey,
    KnowledgeBase,
    SiteKey,
    Category,
    Section,
    Article,
    Faq,
    /// A knowledge base's docs-as-code source.
    Source,
    /// An update job (`upd_…`).
    Update,
    /// An assistant conversation (`thr_…`).
    Thread,
}

impl Entity {
    /// The stable `*_not_found` error code.
    pub fn not_found_code(self) -> &'static str {
        match self {
            Entity::Project => "project_not_found",
            Entity::ApiKey => "key_not_found",
            Entity::KnowledgeBase => "kb_not_found",
            Entity::SiteKey => "site_key_not_found",
            Entity::Category => "category_not_found",
            Entity::Section => "section_not_found",
            Entity::Article => "article_not_found",
            Entity::Faq => "faq_not_found",
            Entity::Source => "source_not_found",
            Entity::Update => "update_not_found",
            Entity::Thread => "thread_not_found",
        }
    }

    /// Human-readable name for messages.
    pub fn label(self) -> &'static str {
        match self {
            Entity::Project => "Project",
            Entity::ApiKey => "API key",
            Entity::KnowledgeBase => "Knowledge base",
            Entity::SiteKey => "Active site key",
            Entity::Category => "Category",
            Entity::Section => "Section",
            Entity::Article => "Article",
            Entity::Faq => "FAQ",
            Entity::Source => "Source",
            Entity::Update => "Update",
            Entity::Thread => "Thread",
        }
    }
}

/// A tenant. Every key, knowledge base and credit belongs to one.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub allowed_domains: Vec<String>,
    /// Monthly credit cap set by the operator; `None` means unlimited.
    pub credit_cap: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

/// A bearer key's metadata (never its plaintext).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub project_id: String,
    pub kind: KeyKind,
    pub key_prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// The five hosted themes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    Minimal,
    Developer,
    Brand,
    Docs,
    Bare,
}

impl Theme {
    pub const NAMES: [&'static str; 5] = ["minimal", "developer", "brand", "docs", "bare"];

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Minimal => "minimal",
            Theme::Developer => "developer",
            Theme::Brand => "brand",
            Theme::Docs => "docs",
            Theme::Bare => "bare",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "minimal" => Theme::Minimal,
            "developer" => Theme::Developer,
            "brand" => Theme::Brand,
            "docs" => Theme::Docs,
            "bare" => Theme::Bare,
            _ => return None,
        })
    }
}

/// Appearance settings of a knowledge base. Stored as JSON, so it derives serde.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThemeSettings {
    /// Hex colour, `#rgb` or `#rrggbb`.
    pub primary_color: Option<String>,
    /// Dark variant (the `brand` theme).
    pub dark_mode: Option<bool>,
    /// Extra CSS, at most 50,000 characters.
    pub custom_css: Option<String>,
    /// Whether the hosted help centre shows the "Ask" box (answers from the assistant); unset
    /// is on. Left out when unset, so settings written before it existed read (and show) as
    /// they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistant: Option<bool>,
}

/// A knowledge base.
#[derive(Debug, Clone, PartialEq)]
pub struct KnowledgeBase {
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub slug: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub theme: Theme,
    pub theme_settings: Option<ThemeSettings>,
    pub logo_path: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// How much content a knowledge base holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KbCounts {
    pub categories: i64,
    pub sections: i64,
    pub articles: i64,
    pub faqs: i64,
}

/// A knowledge base's public site key (metadata only).
#[derive(Debug, Clone, PartialEq)]
pub struct SiteKey {
    pub id: String,
    pub kb_id: String,
    pub key_prefix: String,
    pub rate_limit: i64,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub id: String,
    pub kb_id: String,
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub sort_order: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub id: String,
    pub kb_id: String,
    pub category_id: String,
    pub name: String,
    pub description: Option<String>,
    pub sort_order: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// Publication state of an article or FAQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Draft,
    Published,
    Archived,
}

impl Status {
    pub const NAMES: [&'static str; 3] = ["draft", "published", "archived"];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Published => "published",
            Status::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => Status::Draft,
            "published" => Status::Published,
            "archived" => Status::Archived,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    pub id: String,
    pub kb_id: String,
    pub category_id: String,
    pub section_id: Option<String>,
    pub title: String,
    /// Empty in list results, which never load bodies.
    pub body: String,
    pub excerpt: Option<String>,
    pub status: Status,
    pub tags: Vec<String>,
    pub related_articles: Vec<String>,
    pub sort_order: i64,
    pub published_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Faq {
    pub id: String,
    pub kb_id: String,
    pub category_id: String,
    pub section_id: Option<String>,
    pub question: String,
    pub answer: String,
    pub status: Status,
    pub sort_order: i64,
    pub published_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A month of a project's credit use.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub month: String,
    pub credit_cap: Option<i64>,
    /// Per action: (items created, credits charged).
    pub by_action: Vec<(crate::credits::Action, i64, i64)>,
}

impl Usage {
    pub fn credits_used(&self) -> i64 {
        self.by_action.iter().map(|(_, _, c)| c).sum()
    }
}
