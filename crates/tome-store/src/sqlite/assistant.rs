//! [`AssistantStore`] on SQLite.

use async_trait::async_trait;
use tome_core::assistant::{Conversation, NewExchange, Thread, ThreadMessage};
use tome_core::credits::Charge;
use tome_core::model::KnowledgeBase;

use super::SqliteStore;
use crate::{AssistantStore, DateRange, Page, PageRequest, Reservation, Result, StoreError};

fn pending() -> StoreError {
    StoreError::Internal("assistant storage is not built yet".into())
}

#[async_trait]
impl AssistantStore for SqliteStore {
    async fn kb_by_slug(&self, _project_id: &str, _slug: &str) -> Result<Option<KnowledgeBase>> {
        Err(pending())
    }
    async fn create_thread(&self, _project_id: &str, _kb_id: &str, _fp: &str) -> Result<Thread> {
        Err(pending())
    }
    async fn get_thread(
        &self,
        _project_id: &str,
        _kb_id: &str,
        _thread_id: &str,
    ) -> Result<Thread> {
        Err(pending())
    }
    async fn thread_messages(
        &self,
        _project_id: &str,
        _thread_id: &str,
    ) -> Result<(Thread, Vec<ThreadMessage>)> {
        Err(pending())
    }
    async fn append_exchange(
        &self,
        _project_id: &str,
        _thread_id: &str,
        _exchange: NewExchange,
    ) -> Result<ThreadMessage> {
        Err(pending())
    }
    async fn reserve_credits(&self, _project_id: &str, _charge: Charge) -> Result<Reservation> {
        Err(pending())
    }
    async fn refund_credits(&self, _project_id: &str, _reservation: &Reservation) -> Result<()> {
        Err(pending())
    }
    async fn list_conversations(
        &self,
        _project_id: &str,
        _range: &DateRange,
        _page: PageRequest,
    ) -> Result<Page<Conversation>> {
        Err(pending())
    }
    async fn prune_threads(&self, _before: &str) -> Result<u64> {
        Err(pending())
    }
}
