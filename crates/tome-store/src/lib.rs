//! Tome's storage: the [`Store`] trait and its backends (`sqlite`, `postgres`), plus [`copy`],
//! which moves a whole instance from one backend to another.
//!
//! The trait speaks in domain types from `tome-core`. Every method that touches tenant data takes
//! the caller's project ID and scopes its queries by it, so a handler cannot forget to. Writes
//! that span several rows run in one transaction; credit checks happen inside the same
//! transaction as the insert they pay for.

mod assistant;
pub mod copy;
mod dashboard;
mod error;
pub mod postgres;
pub mod sqlite;
mod sync;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use tome_core::cursor::Position;
use tome_core::input::{
    ArticlePatch, CategoryPatch, FaqPatch, KbPatch, NewArticle, NewCategory, NewFaq, NewKb,
    NewSection, ProjectPatch, SectionPatch,
};
use tome_core::keys::GeneratedKey;
use tome_core::model::{
    ApiKey, Article, Category, Entity, Faq, KbCounts, KeyKind, KnowledgeBase, Project, Section,
    SiteKey, Status, Usage,
};

pub use assistant::{AssistantStore, DateRange, Reservation};
pub use dashboard::{DashboardSession, SessionStore};
pub use error::{Result, StoreError};
pub use sync::{ClaimedUpdate, KbContent, SourceItem, SyncChanges, SyncStore, UpdateClaim};

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

/// How many articles (per category, section and status) and FAQs (per category) a knowledge base
/// holds: the dashboard's content tree shows them without listing the items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContentCounts {
    /// `(category_id, section_id, status, count)`; `section_id` is `None` for articles that sit
    /// directly in their category.
    pub articles: Vec<(String, Option<String>, Status, i64)>,
    /// `(category_id, count)`.
    pub faqs: Vec<(String, i64)>,
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

/// Connection counts of one database pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub name: &'static str,
    pub idle: u32,
    pub in_use: u32,
    pub max: u32,
}

impl PoolStats {
    pub(crate) fn of<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>) -> Self {
        let size = pool.size();
        let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
        PoolStats {
            name,
            idle,
            in_use: size - idle,
            max: pool.options().get_max_connections(),
        }
    }
}

/// Instance-wide operations: health, secrets, projects and keys.
#[async_trait]
pub trait InstanceStore: Send + Sync {
    /// Cheap round trip to the database, for `/readyz`.
    async fn ping(&self) -> Result<()>;
    /// Connection counts of the backend's pools (none for a backend without pools).
    fn pool_stats(&self) -> Vec<PoolStats> {
        Vec::new()
    }
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

    /// Counts of the KB's articles and FAQs, grouped (one query each, whatever the KB's size).
    async fn content_counts(&self, project_id: &str, kb_id: &str) -> Result<ContentCounts>;

    /// Simple substring search over titles, excerpts, bodies, questions and answers.
    ///
    /// The fallback implementation: the ranked engine in `tome-search` serves the API's search
    /// endpoints. This stays for callers without an index.
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

/// One row of the change feed: an entity that a committed write created, changed or removed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Position in the feed; commit order.
    pub seq: i64,
    pub project_id: String,
    /// The KB the entity belongs to; `None` for projects and API keys.
    pub kb_id: Option<String>,
    pub entity: Entity,
    pub entity_id: String,
    pub created_at: String,
}

/// The stable name of an entity in the `changes.entity` column.
pub(crate) fn entity_name(e: Entity) -> &'static str {
    match e {
        Entity::Project => "project",
        Entity::ApiKey => "api_key",
        Entity::KnowledgeBase => "kb",
        Entity::SiteKey => "site_key",
        Entity::Category => "category",
        Entity::Section => "section",
        Entity::Article => "article",
        Entity::Faq => "faq",
        Entity::Source => "source",
        Entity::Update => "update",
        Entity::Thread => "thread",
    }
}

pub(crate) fn parse_entity(name: &str) -> Option<Entity> {
    Some(match name {
        "project" => Entity::Project,
        "api_key" => Entity::ApiKey,
        "kb" => Entity::KnowledgeBase,
        "site_key" => Entity::SiteKey,
        "category" => Entity::Category,
        "section" => Entity::Section,
        "article" => Entity::Article,
        "faq" => Entity::Faq,
        "source" => Entity::Source,
        "update" => Entity::Update,
        _ => return None,
    })
}

/// Where the feed stands.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedState {
    /// Random identity of this database's feed, fixed when the feed was created.
    pub feed_id: String,
    /// The highest `seq` ever written (0 for none), even if pruned since.
    pub last_seq: i64,
    /// Rows up to this `seq` may have been pruned: a follower behind it must rebuild.
    pub pruned_through: i64,
}

/// The two kinds of searchable content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    Article,
    Faq,
}

/// The current row of an article or FAQ, as the search index needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDoc {
    pub project_id: String,
    pub content: IndexContent,
}

/// An article (with its body) or an FAQ.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexContent {
    Article(Article),
    Faq(Faq),
}

impl IndexDoc {
    pub fn id(&self) -> &str {
        match &self.content {
            IndexContent::Article(a) => &a.id,
            IndexContent::Faq(f) => &f.id,
        }
    }
}

/// The change feed: every write appends rows naming what it touched, in its own transaction.
///
/// Followers (the search index; later, the caches of other nodes) remember the last `seq` they
/// applied and read on from there. The order of `seq` is the order of commits.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    async fn feed_state(&self) -> Result<FeedState>;
    /// The highest `seq` written so far (0 for none): cheap enough to poll.
    async fn last_change_seq(&self) -> Result<i64>;
    /// Up to `limit` changes with `seq > after_seq`, in order.
    async fn changes_since(&self, after_seq: i64, limit: i64) -> Result<Vec<Change>>;
    /// The current rows of these articles and FAQs; IDs with no row (deleted) are left out.
    async fn index_docs(&self, articles: &[String], faqs: &[String]) -> Result<Vec<IndexDoc>>;
    /// Up to `limit` articles or FAQs of every project after row position `after`, in row order,
    /// with the position to continue from: a keyset scan for rebuilds.
    async fn scan_docs(
        &self,
        kind: DocKind,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, IndexDoc)>>;
    /// Deletes changes created before `before` (a wire timestamp); returns how many.
    async fn prune_changes(&self, before: &str) -> Result<u64>;
}

/// Everything Tome stores. One implementation per database.
pub trait Store:
    InstanceStore
    + KbStore
    + ContentStore
    + PublicStore
    + ChangeFeed
    + SyncStore
    + AssistantStore
    + SessionStore
{
}

impl<
    T: InstanceStore
        + KbStore
        + ContentStore
        + PublicStore
        + ChangeFeed
        + SyncStore
        + AssistantStore
        + SessionStore,
> Store for T
{
}

/// Where to keep data: a SQLite directory or a database URL.
#[derive(Debug, Clone)]
pub enum Location {
    /// `tome.db` inside this directory (created if missing).
    DataDir(std::path::PathBuf),
    /// `sqlite://path/to/file.db`, or `postgres://user:password@host:port/database` (also
    /// `postgresql://`; query parameters as libpq's, e.g. `sslmode=require`).
    Url(String),
}

/// Options that apply to every backend.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// `synchronous=FULL` on SQLite: a committed write survives power loss.
    pub durable: bool,
    /// Read connections: SQLite's reader pool, PostgreSQL's (which adds a write pool of 2).
    pub max_connections: u32,
    /// How long a request waits for a PostgreSQL connection (including reconnecting to a
    /// database that is down) before it fails with `Unavailable`.
    pub acquire_timeout: std::time::Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            durable: true,
            max_connections: 8,
            acquire_timeout: std::time::Duration::from_secs(5),
        }
    }
}

/// An opened backend, before it is put behind `dyn Store`.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl Location {
    /// The location with any password in a URL replaced by `***`, for messages and logs.
    pub fn redacted(&self) -> String {
        match self {
            Location::DataDir(dir) => dir.display().to_string(),
            Location::Url(url) => redact_url(url),
        }
    }
}

/// `scheme://user:secret@host/…` → `scheme://user:***@host/…`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Opens (and migrates) the backend at `location`.
pub(crate) async fn open_backend(location: &Location, options: &OpenOptions) -> Result<Backend> {
    match location {
        Location::DataDir(dir) => Ok(Backend::Sqlite(
            sqlite::SqliteStore::open_dir(dir, options).await?,
        )),
        Location::Url(url) => {
            if let Some(path) = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
            {
                Ok(Backend::Sqlite(
                    sqlite::SqliteStore::open_file(path.as_ref(), options).await?,
                ))
            } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                Ok(Backend::Postgres(
                    postgres::PgStore::connect(url, options).await?,
                ))
            } else {
                Err(StoreError::Config(format!(
                    "unsupported database URL scheme in {:?}: use sqlite://PATH or \
                     postgres://USER@HOST/DATABASE",
                    url.split("://").next().unwrap_or_default()
                )))
            }
        }
    }
}

/// Opens (and migrates) the store at `location`, choosing the backend from it.
pub async fn open(location: &Location, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    Ok(match open_backend(location, options).await? {
        Backend::Sqlite(s) => Arc::new(s),
        Backend::Postgres(p) => Arc::new(p),
    })
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://tome:s3cr@t@db.internal:5432/tome?sslmode=require"),
            "postgres://tome:***@db.internal:5432/tome?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://tome@db/tome"),
            "postgres://tome@db/tome"
        );
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }
}
