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
use tome_core::source::{
    NewSource, Source, SourceSecrets, UPDATE_LOG_MAX, UpdateJob, UpdateReport, UpdateTrigger,
};

use crate::{Page, PageRequest, Result, StoreError};

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
    /// Leave the path map as it is (`items` is then empty): an update that changes no content
    /// and read no file.
    pub keep_items: bool,
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
    ///
    /// Replacing a source with a different kind, URL, branch, path or format forgets its
    /// `last_commit`, so the next update at the same commit still makes the content equal to
    /// the new location.
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
    /// jobs go (queued jobs end as `failure`, "source removed"; so does a running one, whose
    /// node then finds it no longer its own and stops).
    async fn delete_source(&self, project_id: &str, kb_id: &str) -> Result<()>;
    /// Sources with polling on whose last poll is at least their interval ago (or that were
    /// never polled); marks them polled at `now_unix` (so one node of a cluster takes each) and
    /// returns `(project_id, kb_id)` of each.
    async fn take_due_polls(&self, now_unix: i64) -> Result<Vec<(String, String)>>;

    /// The KB's content in full (any status), for planning.
    async fn kb_content(&self, project_id: &str, kb_id: &str) -> Result<KbContent>;
    /// The KB's path → item map in the order it was written (empty without a source).
    async fn source_items(&self, project_id: &str, kb_id: &str) -> Result<Vec<SourceItem>>;

    /// Queues an update of the KB, or returns the job already queued for it (`false`).
    /// `NotFound(Source)` when the KB has no source.
    async fn enqueue_update(
        &self,
        project_id: &str,
        kb_id: &str,
        trigger: UpdateTrigger,
    ) -> Result<(UpdateJob, bool)>;
    /// [`SyncStore::enqueue_update`] for a node whose runner is idle: when a new job is created
    /// and nothing else of the KB is queued or in progress, it is created already claimed by
    /// `node` (lease `lease_ms`, one attempt) in the same transaction — one commit instead of an
    /// enqueue and a claim — and returned as [`ClaimedUpdate`] for the node to run at once.
    /// Otherwise exactly [`SyncStore::enqueue_update`] (the third value `None`).
    async fn enqueue_and_claim_update(
        &self,
        project_id: &str,
        kb_id: &str,
        trigger: UpdateTrigger,
        node: &str,
        lease_ms: i64,
    ) -> Result<(UpdateJob, bool, Option<ClaimedUpdate>)>;
    /// `NotFound(Update)` for an unknown ID or another project's.
    async fn get_update(&self, project_id: &str, update_id: &str) -> Result<UpdateJob>;
    /// Newest first.
    async fn list_updates(&self, project_id: &str, page: PageRequest) -> Result<Page<UpdateJob>>;
    /// [`SyncStore::list_updates`] of one knowledge base (the dashboard's update history);
    /// positions are the same, so a cursor's list name must tell the two apart.
    async fn list_kb_updates(
        &self,
        project_id: &str,
        kb_id: &str,
        page: PageRequest,
    ) -> Result<Page<UpdateJob>>;
    /// The author and message of the newest successful update of the KB to commit `sha`, if any
    /// (only those columns are read: a no-change update asks this instead of reading the jobs
    /// with their logs).
    async fn applied_commit(
        &self,
        project_id: &str,
        kb_id: &str,
        sha: &str,
    ) -> Result<Option<(Option<String>, String)>>;
    /// Claims the oldest `queued` job whose KB has no other job running — or an `in_progress`
    /// one whose lease ran out (its node died) — for `node`, with a lease of `lease_ms`. At most
    /// one node gets a job (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer).
    ///
    /// A claim counts an attempt; a re-claimed job gets a log line saying it was re-queued.
    /// `node` must be unique to the claiming process (the lease is fenced by it).
    async fn claim_update(
        &self,
        node: &str,
        lease_ms: i64,
        which: UpdateClaim<'_>,
    ) -> Result<Option<ClaimedUpdate>>;
    /// Extends the lease and records progress (logs so far, the commit once known). `false`
    /// when the job is no longer this node's (its lease expired and another node took it).
    ///
    /// `progress.logs` replaces the stored logs (capped at [`UPDATE_LOG_MAX`] lines), so a runner
    /// starts from [`ClaimedUpdate`]'s `job.logs` (which say when a job was re-queued) and
    /// appends. A `None` author or commit keeps the stored one; the summary is set when the job
    /// ends.
    ///
    /// [`UPDATE_LOG_MAX`]: tome_core::source::UPDATE_LOG_MAX
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
    ///
    /// Also refused, with nothing written: an entity of another knowledge base
    /// (`Internal`), an update or delete of a row that is not there (`NotFound`), a section,
    /// article or FAQ placed in a category or section outside the KB or a section of another
    /// category, or a related article that is not in the KB (`Invalid`). Deleting articles
    /// drops them from the related lists of the rest, as the API's deletes do.
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

/// Lines kept from the end of logs that are cut: how an update ended is always there.
const LOG_TAIL: usize = 100;

/// `logs` capped at [`UPDATE_LOG_MAX`] lines: the beginning, one line saying how many were cut,
/// and the last [`LOG_TAIL`] lines.
pub(crate) fn cap_logs(logs: &[String]) -> Vec<String> {
    if logs.len() <= UPDATE_LOG_MAX {
        return logs.to_vec();
    }
    let head = UPDATE_LOG_MAX - 1 - LOG_TAIL;
    let cut = logs.len() - head - LOG_TAIL;
    let mut out = logs[..head].to_vec();
    out.push(format!(
        "… {cut} lines cut here (an update keeps at most {UPDATE_LOG_MAX})"
    ));
    out.extend_from_slice(&logs[logs.len() - LOG_TAIL..]);
    out
}

/// The line a job's logs get when a node claims it again after its first node stopped.
pub(crate) const REQUEUED_LINE: &str = "re-queued: the node running it stopped (lease expired)";

/// Checks what the stores cannot leave to foreign keys: every entity belongs to `kb_id`, and
/// every path maps to an article or FAQ.
pub(crate) fn check_plan(kb_id: &str, c: &SyncChanges) -> Result<()> {
    let foreign = c
        .create_categories
        .iter()
        .chain(&c.update_categories)
        .map(|x| (&x.kb_id, &x.id))
        .chain(
            c.create_sections
                .iter()
                .chain(&c.update_sections)
                .map(|x| (&x.kb_id, &x.id)),
        )
        .chain(
            c.create_articles
                .iter()
                .chain(&c.update_articles)
                .map(|x| (&x.kb_id, &x.id)),
        )
        .chain(
            c.create_faqs
                .iter()
                .chain(&c.update_faqs)
                .map(|x| (&x.kb_id, &x.id)),
        )
        .find(|(k, _)| k.as_str() != kb_id);
    if let Some((other, id)) = foreign {
        return Err(StoreError::Internal(
            format!("update of {kb_id} writes {id} of another knowledge base ({other})").into(),
        ));
    }
    if c.keep_items && !c.items.is_empty() {
        return Err(StoreError::Internal(
            "an update that keeps the path map cannot also list items".into(),
        ));
    }
    let mut paths: Vec<&str> = c.items.iter().map(|i| i.path.as_str()).collect();
    paths.sort_unstable();
    if let Some(w) = paths.windows(2).find(|w| w[0] == w[1]) {
        return Err(StoreError::Internal(
            format!("source item {:?} is listed twice", w[0]).into(),
        ));
    }
    if let Some(item) = c
        .items
        .iter()
        .find(|i| !matches!(i.entity, Entity::Article | Entity::Faq))
    {
        return Err(StoreError::Internal(
            format!("source item {:?} maps to a {:?}", item.path, item.entity).into(),
        ));
    }
    if let Some(item) = c.items.iter().find(|i| match i.entity {
        Entity::Article => c.delete_articles.contains(&i.entity_id),
        _ => c.delete_faqs.contains(&i.entity_id),
    }) {
        return Err(StoreError::Internal(
            format!(
                "source item {:?} maps to {}, which the update deletes",
                item.path, item.entity_id
            )
            .into(),
        ));
    }
    Ok(())
}

/// The charges of an update's creates, one per kind that has any.
pub(crate) fn plan_charges(c: &SyncChanges) -> Vec<tome_core::credits::Charge> {
    use tome_core::credits::{Action, Charge};
    [
        (Action::CategoryCreated, c.create_categories.len()),
        (Action::SectionCreated, c.create_sections.len()),
        (Action::ArticleCreated, c.create_articles.len()),
        (Action::FaqCreated, c.create_faqs.len()),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(action, n)| Charge::new(action, n as i64))
    .collect()
}

/// The related-article IDs named by the articles an update writes, each once.
pub(crate) fn related_ids(c: &SyncChanges) -> Vec<String> {
    let mut ids: Vec<String> = c
        .create_articles
        .iter()
        .chain(&c.update_articles)
        .flat_map(|a| a.related_articles.iter().cloned())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The article (if any) of those an update writes that names itself as related.
pub(crate) fn self_related(c: &SyncChanges) -> Option<&Article> {
    c.create_articles
        .iter()
        .chain(&c.update_articles)
        .find(|a| a.related_articles.contains(&a.id))
}

/// The error for a source item whose article or FAQ is not in the knowledge base.
pub(crate) fn missing_item(item: &SourceItem) -> StoreError {
    StoreError::Internal(
        format!(
            "source item {:?} maps to {}, which is not a {} of this knowledge base",
            item.path,
            item.entity_id,
            crate::entity_name(item.entity)
        )
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_capped_with_a_line_saying_how_many_were_cut() {
        let short: Vec<String> = (0..UPDATE_LOG_MAX).map(|i| i.to_string()).collect();
        assert_eq!(cap_logs(&short), short);
        let long: Vec<String> = (0..UPDATE_LOG_MAX + 500).map(|i| i.to_string()).collect();
        let capped = cap_logs(&long);
        assert_eq!(capped.len(), UPDATE_LOG_MAX);
        let head = UPDATE_LOG_MAX - 1 - LOG_TAIL;
        assert_eq!(capped[..head], long[..head]);
        assert!(
            capped[head].contains("501 lines cut here"),
            "{}",
            capped[head]
        );
        assert_eq!(capped[head + 1..], long[long.len() - LOG_TAIL..]);
    }
}
