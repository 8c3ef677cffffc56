//! Tome's storage: the [`Store`] trait and its backends.
//!
//! The trait speaks in domain types from `tome-core`. Every method that touches tenant data takes
//! the caller's project ID and scopes its queries by it, so a handler cannot forget to. Writes
//! that span several rows run in one transaction; credit checks happen inside the same
//! transaction as the insert they pay for.

mod error;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use tome_core::cursor::Position;
use tome_core::input::{
    ArticlePatch, CategoryPatch, FaqPatch, KbPatch, NewArticle, NewCategory, NewFaq, NewKb,
    NewSection, ProjectPatch, SectionPatch,
};
use tome_core::keys::GeneratedKey;
use tome_core::model::{
    ApiKey, Article, Category, Faq, KbCounts, KeyKind, KnowledgeBase, Project, Section, SiteKey,
    Status, Usage,
};

pub use error::{Result, StoreError};

/// One page of a keyset-paginated list request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// 1–100, checked by the caller.
    pub limit: i64,
    /// The last item of the previous page.
    pub after: Option<Position>,
}

/// One page of results; `next` is set when more items follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Position>,
}

/// Which section an article or FAQ list is restricted to.
#[derive(Debug, Clone, Default)]
pub enum SectionFilter {
    #[default]
    Any,
    /// Only items that sit directly in their category.
    Ungrouped,
    Is(String),
}

#[derive(Debug, Clone, Default)]
pub struct ContentFilter {
    pub category_id: Option<String>,
    pub section: SectionFilter,
    /// Empty means every status.
    pub statuses: Vec<Status>,
    /// Articles only.
    pub tag: Option<String>,
}

/// A search request inside one knowledge base.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub text: String,
    /// Empty means every status.
    pub statuses: Vec<Status>,
    pub limit: i64,
}

#[derive(Debug, Clone, Default)]
pub struct SearchHits {
    pub articles: Vec<Article>,
    pub faqs: Vec<Faq>,
}

/// A knowledge base together with its newly issued site key.
#[derive(Debug, Clone)]
pub struct CreatedKb {
    pub kb: KnowledgeBase,
    pub site_key: SiteKey,
}

/// What `bootstrap` made on an empty database.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    pub project: Project,
    pub admin_key: ApiKey,
}

/// Instance-wide operations: health, secrets, projects and keys.
#[async_trait]
pub trait InstanceStore: Send + Sync {
    /// Cheap round trip to the database, for `/readyz`.
    async fn ping(&self) -> Result<()>;
    /// The instance's secret for signing cursors; created with the schema.
    async fn instance_secret(&self) -> Result<Vec<u8>>;
    /// On an empty database, creates the `default` project and an admin key; otherwise `None`.
    async fn bootstrap(&self, admin_key: &GeneratedKey) -> Result<Option<Bootstrapped>>;

    async fn create_project(&self, name: &str, credit_cap: Option<i64>) -> Result<Project>;
    async fn list_projects(&self) -> Result<Vec<Project>>;
    async fn get_project(&self, project_id: &str) -> Result<Project>;
    async fn update_project(&self, project_id: &str, patch: ProjectPatch) -> Result<Project>;

    async fn create_api_key(
        &self,
        project_id: &str,
        kind: KeyKind,
        key: &GeneratedKey,
    ) -> Result<ApiKey>;
    async fn list_api_keys(&self, project_id: &str) -> Result<Vec<ApiKey>>;
    async fn revoke_api_key(&self, key_id: &str) -> Result<ApiKey>;
    /// The key with this hash, revoked or not.
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>>;
    async fn touch_api_key(&self, key_id: &str, now: &str) -> Result<()>;

    /// Credit use of a project in a month (`YYYY-MM`).
    async fn usage(&self, project_id: &str, month: &str) -> Result<Usage>;
}

/// Knowledge bases and their site keys.
#[async_trait]
pub trait KbStore: Send + Sync {
    async fn create_kb(
        &self,
        project_id: &str,
        new: NewKb,
        site_key: &GeneratedKey,
        site_key_rate_limit: i64,
    ) -> Result<CreatedKb>;
    async fn list_kbs(
        &self,
        project_id: &str,
        is_public: Option<bool>,
        page: PageRequest,
    ) -> Result<Page<(KnowledgeBase, KbCounts)>>;
    async fn get_kb(&self, project_id: &str, kb_id: &str) -> Result<KnowledgeBase>;
    async fn update_kb(
        &self,
        project_id: &str,
        kb_id: &str,
        patch: KbPatch,
    ) -> Result<KnowledgeBase>;
    /// Deletes the KB with all its categories, sections, articles, FAQs and site keys.
    async fn delete_kb(&self, project_id: &str, kb_id: &str) -> Result<()>;

    async fn active_site_key(&self, project_id: &str, kb_id: &str) -> Result<SiteKey>;
    /// Revokes the active key (if any) and issues `new`, keeping the old key's rate limit.
    async fn rotate_site_key(
        &self,
        project_id: &str,
        kb_id: &str,
        new: &GeneratedKey,
        default_rate_limit: i64,
    ) -> Result<SiteKey>;
    async fn set_site_key_rate_limit(
        &self,
        project_id: &str,
        kb_id: &str,
        rate_limit: i64,
    ) -> Result<SiteKey>;
}

/// Categories, sections, articles and FAQs inside one knowledge base.
#[async_trait]
pub trait ContentStore: Send + Sync {
    async fn create_category(
        &self,
        project_id: &str,
        kb_id: &str,
        new: NewCategory,
    ) -> Result<Category>;
    async fn list_categories(
        &self,
        project_id: &str,
        kb_id: &str,
        page: PageRequest,
    ) -> Result<Page<Category>>;
    async fn get_category(&self, project_id: &str, kb_id: &str, id: &str) -> Result<Category>;
    async fn update_category(
        &self,
        project_id: &str,
        kb_id: &str,
        id: &str,
        patch: CategoryPatch,
    ) -> Result<Category>;
    /// Deletes the category with its sections, articles and FAQs.
    async fn delete_category(&self, project_id: &str, kb_id: &str, id: &str) -> Result<()>;

    async fn create_section(
        &self,
        project_id: &str,
        kb_id: &str,
        new: NewSection,
    ) -> Result<Section>;
    async fn list_sections(
        &self,
        project_id: &str,
        kb_id: &str,
        category_id: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Section>>;
    async fn get_section(&self, project_id: &str, kb_id: &str, id: &str) -> Result<Section>;
    async fn update_section(
        &self,
        project_id: &str,
        kb_id: &str,
        id: &str,
        patch: SectionPatch,
    ) -> Result<Section>;
    /// Deletes the section; its articles and FAQs stay in the category with no section.
    async fn delete_section(&self, project_id: &str, kb_id: &str, id: &str) -> Result<()>;

    /// Creates all of `items` or none. Errors name the failing item when `bulk` is set.
    async fn create_articles(
        &self,
        project_id: &str,
        kb_id: &str,
        items: Vec<NewArticle>,
        bulk: bool,
    ) -> Result<Vec<Article>>;
    /// Lists articles without their bodies.
    async fn list_articles(
        &self,
        project_id: &str,
        kb_id: &str,
        filter: &ContentFilter,
        page: PageRequest,
    ) -> Result<Page<Article>>;
    async fn get_article(&self, project_id: &str, kb_id: &str, id: &str) -> Result<Article>;
    /// Applies all of `items` or none. Errors name the failing item when `bulk` is set.
    async fn update_articles(
        &self,
        project_id: &str,
        kb_id: &str,
        items: Vec<(String, ArticlePatch)>,
        bulk: bool,
    ) -> Result<Vec<Article>>;
    async fn delete_article(&self, project_id: &str, kb_id: &str, id: &str) -> Result<()>;

    async fn create_faq(&self, project_id: &str, kb_id: &str, new: NewFaq) -> Result<Faq>;
    async fn list_faqs(
        &self,
        project_id: &str,
        kb_id: &str,
        filter: &ContentFilter,
        page: PageRequest,
    ) -> Result<Page<Faq>>;
    async fn get_faq(&self, project_id: &str, kb_id: &str, id: &str) -> Result<Faq>;
    async fn update_faq(
        &self,
        project_id: &str,
        kb_id: &str,
        id: &str,
        patch: FaqPatch,
    ) -> Result<Faq>;
    async fn delete_faq(&self, project_id: &str, kb_id: &str, id: &str) -> Result<()>;

    /// Simple substring search over titles, excerpts, bodies, questions and answers.
    async fn search(
        &self,
        project_id: &str,
        kb_id: &str,
        query: &SearchQuery,
    ) -> Result<SearchHits>;
}

/// What the public API needs to authorise a request made with a site key.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteAccess {
    pub site_key_id: String,
    pub kb_id: String,
    pub project_id: String,
    /// The KB's current slug; the request path must name it.
    pub slug: String,
    pub rate_limit: i64,
    /// The project's allowed domains; empty allows every origin.
    pub allowed_domains: Vec<String>,
}

/// The published content of a knowledge base, without article bodies: everything the public
/// navigation endpoints render. Each list is in display order (`sort_order`, then creation).
#[derive(Debug, Clone)]
pub struct PublishedTree {
    pub kb: KnowledgeBase,
    pub categories: Vec<Category>,
    pub sections: Vec<Section>,
    /// Published articles only; `body` is empty.
    pub articles: Vec<Article>,
    /// Published FAQs only.
    pub faqs: Vec<Faq>,
}

/// Reads for the public, site-key API. Never returns draft or archived content.
#[async_trait]
pub trait PublicStore: Send + Sync {
    /// The active (unrevoked) site key with this hash, with its KB and project.
    async fn site_access(&self, key_hash: &str) -> Result<Option<SiteAccess>>;
    /// The allowed domains of every project that has a KB with this slug (CORS preflights carry
    /// no site key, so they can only be judged by slug).
    async fn allowed_domains_for_slug(&self, slug: &str) -> Result<Vec<Vec<String>>>;
    /// The KB's categories, sections, published articles (no bodies) and published FAQs.
    async fn published_tree(&self, kb_id: &str) -> Result<PublishedTree>;
    /// The public KB (`is_public`) with this slug; at most one exists instance-wide.
    async fn public_kb_by_slug(&self, slug: &str) -> Result<Option<KnowledgeBase>>;
    /// A published article of the KB, with its body.
    async fn published_article(&self, kb_id: &str, article_id: &str) -> Result<Option<Article>>;
}

/// Everything Tome stores. One implementation per database.
pub trait Store: InstanceStore + KbStore + ContentStore + PublicStore {}

impl<T: InstanceStore + KbStore + ContentStore + PublicStore> Store for T {}

/// Where to keep data: a SQLite directory or a database URL.
#[derive(Debug, Clone)]
pub enum Location {
    /// `tome.db` inside this directory (created if missing).
    DataDir(std::path::PathBuf),
    /// `sqlite://path/to/file.db` (PostgreSQL comes in a later release).
    Url(String),
}

/// Options that apply to every backend.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// `synchronous=FULL` on SQLite: a committed write survives power loss.
    pub durable: bool,
    pub max_connections: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            durable: true,
            max_connections: 8,
        }
    }
}

/// Opens (and migrates) the store at `location`, choosing the backend from it.
pub async fn open(location: &Location, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    match location {
        Location::DataDir(dir) => Ok(Arc::new(sqlite::SqliteStore::open_dir(dir, options).await?)),
        Location::Url(url) => {
            if let Some(path) = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
            {
                Ok(Arc::new(
                    sqlite::SqliteStore::open_file(path.as_ref(), options).await?,
                ))
            } else {
                Err(StoreError::Config(format!(
                    "unsupported database URL scheme in {:?}: use sqlite://PATH",
                    url.split("://").next().unwrap_or_default()
                )))
            }
        }
    }
}
