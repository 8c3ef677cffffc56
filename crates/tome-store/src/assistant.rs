//! Storage for the assistant: threads (`thr_…`) with their messages, the credit charge of an
//! answered message, and the reads behind the assistant analytics endpoints.
//!
//! A thread belongs to one project and one knowledge base; every method takes the caller's
//! `project_id`, and a thread of another project is `NotFound(Thread)`, exactly like an unknown
//! one. Timestamps are ISO 8601 UTC with milliseconds (`tome_core::time::iso_millis`), the
//! docs-platform endpoints' convention.

use async_trait::async_trait;
use tome_core::assistant::{Conversation, NewExchange, Thread, ThreadMessage};
use tome_core::credits::Charge;
use tome_core::model::KnowledgeBase;

use crate::{Page, PageRequest, Result};

/// Restricts an analytics list to a period: `from`/`to` are dates (`YYYY-MM-DD`, inclusive) or
/// `None` for open ends.
#[derive(Debug, Clone, Default)]
pub struct DateRange {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A credit charge made before an answer was produced: refunded if the message produced nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The ledger row's identity (backend-specific; opaque to callers).
    pub id: i64,
}

#[async_trait]
pub trait AssistantStore: Send + Sync {
    /// The project's knowledge base with this slug (any visibility), if any.
    async fn kb_by_slug(&self, project_id: &str, slug: &str) -> Result<Option<KnowledgeBase>>;

    /// Starts a thread of the KB for the asker `fp`. `NotFound(KnowledgeBase)` for a KB that is
    /// not the project's.
    async fn create_thread(&self, project_id: &str, kb_id: &str, fp: &str) -> Result<Thread>;
    /// `NotFound(Thread)` for an unknown thread, another project's, or another KB's.
    async fn get_thread(&self, project_id: &str, kb_id: &str, thread_id: &str) -> Result<Thread>;
    /// The thread's messages, oldest first. `NotFound(Thread)` as [`AssistantStore::get_thread`]
    /// but without the KB check (the analytics read threads of any KB of the project).
    async fn thread_messages(
        &self,
        project_id: &str,
        thread_id: &str,
    ) -> Result<(Thread, Vec<ThreadMessage>)>;
    /// Appends a question and its answer to the thread (two messages, in one transaction) and
    /// bumps the thread's `updated_at`. Returns the stored assistant message.
    async fn append_exchange(
        &self,
        project_id: &str,
        thread_id: &str,
        exchange: NewExchange,
    ) -> Result<ThreadMessage>;

    /// Charges the project for one assistant message before any work is done: `SpendingCap`
    /// (402) when the charge would exceed the month's cap, checked and recorded in one write
    /// transaction (no overspend under concurrency, across nodes).
    async fn reserve_credits(&self, project_id: &str, charge: Charge) -> Result<Reservation>;
    /// Takes back a reservation whose message produced nothing. Idempotent.
    async fn refund_credits(&self, project_id: &str, reservation: &Reservation) -> Result<()>;

    /// `GET /v1/analytics/{projectId}/assistant`: each assistant message with the question it
    /// answered, newest first, within `range`.
    async fn list_conversations(
        &self,
        project_id: &str,
        range: &DateRange,
        page: PageRequest,
    ) -> Result<Page<Conversation>>;

    /// Deletes threads (with their messages) last updated before `before` (ISO timestamp);
    /// returns how many.
    async fn prune_threads(&self, before: &str) -> Result<u64>;
}
