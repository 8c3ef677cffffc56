//! What a source says a knowledge base should hold: the format readers' output and the
//! planner's input. Every value is validated by the same rules as the API (the `New*` types);
//! references between items are indices, and the IDs are chosen by the planner.

use tome_core::input::{NewArticle, NewCategory, NewFaq, NewSection};

/// A link destination in an article body or FAQ answer that points at another article of the
/// same source: `tome:page/N` (N an index into [`Desired::articles`]), optionally followed by
/// `#anchor`. The planner rewrites every one to the article's hosted URL once IDs are known.
pub const PAGE_LINK_PREFIX: &str = "tome:page/";

/// The link destination for article `index` (see [`PAGE_LINK_PREFIX`]).
pub fn page_link(index: usize) -> String {
    format!("{PAGE_LINK_PREFIX}{index}")
}

/// The whole content of a knowledge base as a source describes it, in display order.
#[derive(Debug, Default)]
pub struct Desired {
    pub categories: Vec<DesiredCategory>,
    pub sections: Vec<DesiredSection>,
    pub articles: Vec<DesiredArticle>,
    pub faqs: Vec<DesiredFaq>,
    /// What the reader noticed and did (pages outside the navigation skipped, components
    /// unwrapped, pages split), one human-readable line each, for the update's logs.
    pub logs: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct DesiredCategory {
    /// An ID the source names (a `tome export` manifest's), matched against the KB's own.
    pub id: Option<String>,
    pub new: NewCategory,
}

#[derive(Debug, Clone)]
pub struct DesiredSection {
    pub id: Option<String>,
    /// Index into [`Desired::categories`].
    pub category: usize,
    /// `category_id` is a placeholder; the planner sets it.
    pub new: NewSection,
}

#[derive(Debug, Clone)]
pub struct DesiredArticle {
    /// The item's key in the path map: the file's path relative to the source folder; the
    /// second and later parts of a split file append `#2`, `#3`, ….
    pub path: String,
    /// The front matter's `id`, matched against the KB's own IDs (a `tome export` writes them).
    pub id: Option<String>,
    pub category: usize,
    pub section: Option<usize>,
    /// `category_id`/`section_id` are placeholders and `related_articles` is empty: the planner
    /// fills them from `category`, `section` and `related`.
    pub new: NewArticle,
    /// Indices into [`Desired::articles`].
    pub related: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct DesiredFaq {
    pub path: String,
    pub id: Option<String>,
    pub category: usize,
    pub section: Option<usize>,
    /// `category_id`/`section_id` are placeholders.
    pub new: NewFaq,
}
