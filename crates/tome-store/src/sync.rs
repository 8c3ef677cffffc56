//! Storage for docs-as-code: sources, the path → item map of a synced knowledge base, update
//! jobs (a persisted queue with leases), and the one-transaction apply of an update.
//!
//! The planner (`tome-sync`) reads a knowledge base with [`SyncStore::kb_content`] and
//! [`SyncStore::source_items`], decides every create, update and delete with IDs and timestamps
//! already chosen, and hands them to [`SyncStore::apply_update`], which writes them in one
//! transaction together with the job's final status, so a crash at any point leaves either the
//! old content and a job still `in_progress` (re-queued when its lease expires) or the new
//! content and `success`.

use async_trait::async_trait;
use tome_core::model::{Article, Category, Entity, Faq, Section};
use tome_core::source::{NewSource, Source, SourceSecrets, UpdateJob, UpdateReport, UpdateTrigger};

use crate::{Page, PageRequest, Result};

/// Every category, section, article and FAQ of one knowledge base, whatever their status, each
/// list in creation order.
#[derive(Debug, Clone, Default)]
pub struct KbContent {
    pub categories: Vec<Category>,
    pub sections: Vec<Section>,
    pub articles: Vec<Article>,
    pub faqs: Vec<Faq>,
}

/// Which file an article or FAQ of a synced knowledge base came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceItem {
    /// Relative to the source folder; a file split into several articles has one entry per
    /// part, the second and later with `#2`, `#3`, … appended.
    pub path: String,
    /// [`Entity::Article`] or [`Entity::Faq`].
    pub entity: Entity,
    pub entity_id: String,
    /// SHA-256 (hex) of the item's content as converted, for finding renamed files.
    pub sha256: String,
}

/// Everything one update writes, decided in full by the planner: entities carry their final
/// IDs, fields and timestamps and are written as given.
///
/// Applied in this order, so no statement sees a dangling reference: categories created, then
/// updated; sections created, then updated; articles and FAQs created, then updated; articles and
/// FAQs deleted; sections deleted; categories deleted. The planner guarantees that a deleted
/// section or category holds nothing any more by then.
#[derive(Debug, Clone, Default)]
pub struct SyncChanges {
    pub create_categories: Vec<Category>,
    pub update_categories: Vec<Category>,
    pub delete_categories: Vec<String>,
    pub create_sections: Vec<Section>,
    pub update_sections: Vec<Section>,
    pub delete_sections: Vec<String>,
    pub create_articles: Vec<Article>,
    pub update_articles: Vec<Article>,
    pub delete_articles: Vec<String>,
    pub create_faqs: Vec<Faq>,
    pub update_faqs: Vec<Faq>,
    pub delete_faqs: Vec<String>,
    /// The knowledge base's complete path → item map after the update (replaces the old one).
    pub items: Vec<SourceItem>,
    /// The commit the knowledge base now equals (stored as the source's `last_commit`).
    pub commit: Option<String>,
}

impl SyncChanges {
    /// Creates, updates and deletes of content, all kinds together.
    pub fn change_count(&self) -> usize {
        self.create_categories.len()
            + self.update_categories.len()
            + self.delete_categories.len()
            + self.create_sections.len()
            + self.update_sections.len()
            + self.delete_sections.len()
            + self.create_articles.len()
            + self.update_articles.len()
            + self.delete_articles.len()
            + self.create_faqs.len()
            + self.update_faqs.len()
            + self.delete_faqs.len()
    }
}

/// A job a node has claimed, with what it needs to run it.
#[derive(Debug, Clone)]
pub struct ClaimedUpdate {
    pub job: UpdateJob,
    pub source: Source,
    pub secrets: SourceSecrets,
}

/// Which jobs a claim may take.
#[derive(Debug, Clone, Copy)]
pub enum UpdateClaim<'a> {
    /// The oldest claimable job of any knowledge base.
    Any,
    /// Only this job (`tome update --wait` runs its own job unless a server takes it first).
    Job(&'a str),
}

#[async_trait]
pub trait SyncStore: Send + Sync {
    /// Sets (creates or replaces) the knowledge base's source. A `None` token or webhook secret
    /// in `new` keeps the stored one when `keep_secrets` is set (a `PUT` that omits them), and
    /// clears it otherwise. Returns the source and whether it was created.
    async fn put_source(
        &self,
        project_id: &str,
        kb_id: &str,
        new: NewSource,
        keep_secrets: bool,
    ) -> Result<(Source, bool)>;
    /// `NotFound(Source)` when the KB has none, `NotFound(KnowledgeBase)` when the KB is not
    /// the project's.
    async fn get_source(&self, project_id: &str, kb_id: &str) -> Result<Source>;
    /// The source of a KB that has one, without a project (the push webhook knows only the KB).
    async fn source_by_kb(&self, kb_id: &str) -> Result<Option<(Source, SourceSecrets)>>;
    /// Detaches the source: the content stays and becomes editable; the path map and queued
    /// jobs go (queued jobs end as `failure`, "source removed").
    async fn delete_source(&self, project_id: &str, kb_id: &str) -> Result<()>;
    /// Sources with polling on whose last poll is at least their interval ago; marks them
    /// polled (so one node of a cluster takes each) and returns their KB IDs.
    async fn take_due_polls(&self, now_unix: i64) -> Result<Vec<(String, String)>>;

    /// The KB's content in full (any status), for planning.
    async fn kb_content(&self, project_id: &str, kb_id: &str) -> Result<KbContent>;
    async fn source_items(&self, project_id: &str, kb_id: &str) -> Result<Vec<SourceItem>>;

    /// Queues an update of the KB, or returns the job already queued for it (`false`).
    /// `NotFound(Source)` when the KB has no source.
    async fn enqueue_update(
        &self,
        project_id: &str,
        kb_id: &str,
        trigger: UpdateTrigger,
    ) -> Result<(UpdateJob, bool)>;
    /// `NotFound(Update)` for an unknown ID or another project's.
    async fn get_update(&self, project_id: &str, update_id: &str) -> Result<UpdateJob>;
    /// Newest first.
    async fn list_updates(&self, project_id: &str, page: PageRequest) -> Result<Page<UpdateJob>>;
    /// Claims the oldest `queued` job whose KB has no other job running — or an `in_progress`
    /// one whose lease ran out (its node died) — for `node`, with a lease of `lease_ms`. At most
    /// one node gets a job (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer).
    async fn claim_update(
        &self,
        node: &str,
        lease_ms: i64,
        which: UpdateClaim<'_>,
    ) -> Result<Option<ClaimedUpdate>>;
    /// Extends the lease and records progress (logs so far, the commit once known). `false`
    /// when the job is no longer this node's (its lease expired and another node took it).
    async fn renew_update(
        &self,
        update_id: &str,
        node: &str,
        lease_ms: i64,
        progress: &UpdateReport,
    ) -> Result<bool>;
    /// Ends the job as `failure`. `false` when it is no longer this node's.
    async fn fail_update(&self, update_id: &str, node: &str, report: &UpdateReport)
    -> Result<bool>;
    /// Writes `changes` (charging the credits of its creates, checked against the cap as a
    /// whole) and ends the job as `success`, in one transaction. `Ok(false)` and nothing
    /// written when the job is no longer this node's; `Err(SpendingCap)` and nothing written
    /// at the cap.
    async fn apply_update(
        &self,
        update_id: &str,
        node: &str,
        project_id: &str,
        kb_id: &str,
        changes: &SyncChanges,
        report: &UpdateReport,
    ) -> Result<bool>;
}
