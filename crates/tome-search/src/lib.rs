//! Tome's search engine.
//!
//! [`Engine`] is a tantivy index of every article and FAQ: BM25 with per-field weights, English
//! stemming, accent and case folding, phrases, typo and prefix expansion, filters and
//! highlighting, with statistics scoped to the searched knowledge base. [`Search`] keeps it in
//! step with the database by following the store's change feed: each commit of the index records
//! the feed position it reflects, so a restart replays whatever the index missed and a missing,
//! corrupt or foreign index is rebuilt from the database.

mod engine;
mod highlight;
mod passages;
mod query;
mod schema;
mod search;
mod stats;
mod sync;
mod tokenizer;
mod worker;

use std::path::PathBuf;

use tome_core::model::Status;
use tome_store::{DocKind, SectionFilter, StoreError};

pub use engine::{Engine, Opened, PASSAGE_TRAIL_SEPARATOR, Position};
pub use passages::{NEAR_ARTICLE_BOOST, PassageHit, PassageRequest, Place};
pub use sync::{Applied, Search, SearchOptions};

/// Longest query text the engine accepts, in characters (the API's limit).
pub const MAX_QUERY_CHARS: usize = 500;

/// A search inside one knowledge base.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub project_id: String,
    pub kb_id: String,
    /// What the reader typed: words, optionally `"quoted phrases"`.
    pub text: String,
    pub filters: Filters,
    /// Hits per kind (articles, FAQs).
    pub limit: usize,
}

/// Restrictions on what a search may return; the default restricts nothing.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Empty means every status.
    pub statuses: Vec<Status>,
    pub category_id: Option<String>,
    pub section: SectionFilter,
    /// Articles carrying exactly this tag (FAQs have no tags and are left out).
    pub tag: Option<String>,
    /// Only articles or only FAQs.
    pub kind: Option<DocKind>,
}

/// Hits of a search, best first, each kind up to the request's limit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchResults {
    pub articles: Vec<ArticleHit>,
    pub faqs: Vec<FaqHit>,
}

/// An article that matched.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleHit {
    pub id: String,
    pub title: String,
    /// The article's excerpt, or the start of its body when it has none.
    pub excerpt: Option<String>,
    pub category_id: String,
    pub section_id: Option<String>,
    pub status: Status,
    /// A passage around the best match, HTML-escaped, matched words in `<mark>`.
    pub highlight: String,
    /// BM25 relevance; higher is better.
    pub score: f32,
}

/// An FAQ that matched.
#[derive(Debug, Clone, PartialEq)]
pub struct FaqHit {
    pub id: String,
    pub question: String,
    /// The start of the answer.
    pub excerpt: String,
    pub category_id: String,
    pub section_id: Option<String>,
    pub status: Status,
    /// A passage around the best match, HTML-escaped, matched words in `<mark>`.
    pub highlight: String,
    pub score: f32,
}

/// Why the search engine failed. None of these is the caller's mistake.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// Another process (a running server, a `tome reindex`) holds the index.
    #[error(
        "the search index in {} is in use by another Tome process (a running `tome serve`?)",
        .0.display()
    )]
    Locked(PathBuf),
    #[error("search index error: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking index task panicked or was cancelled.
    #[error("search index task failed: {0}")]
    Task(String),
}

pub type Result<T, E = SearchError> = std::result::Result<T, E>;
