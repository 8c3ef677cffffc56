//! PLACEHOLDER until the sync storage lands: every method refuses.

use async_trait::async_trait;
use tome_core::source::{NewSource, Source, SourceSecrets, UpdateJob, UpdateReport, UpdateTrigger};

use super::SqliteStore;
use crate::sync::{ClaimedUpdate, KbContent, SourceItem, SyncChanges, SyncStore, UpdateClaim};
use crate::{Page, PageRequest, Result, StoreError};

fn missing<T>() -> Result<T> {
    Err(StoreError::Config("sync storage is not built yet".into()))
}

#[async_trait]
impl SyncStore for SqliteStore {
    async fn put_source(&self, _: &str, _: &str, _: NewSource, _: bool) -> Result<(Source, bool)> {
        missing()
    }
    async fn get_source(&self, _: &str, _: &str) -> Result<Source> {
        missing()
    }
    async fn source_by_kb(&self, _: &str) -> Result<Option<(Source, SourceSecrets)>> {
        missing()
    }
    async fn delete_source(&self, _: &str, _: &str) -> Result<()> {
        missing()
    }
    async fn take_due_polls(&self, _: i64) -> Result<Vec<(String, String)>> {
        missing()
    }
    async fn kb_content(&self, _: &str, _: &str) -> Result<KbContent> {
        missing()
    }
    async fn source_items(&self, _: &str, _: &str) -> Result<Vec<SourceItem>> {
        missing()
    }
    async fn enqueue_update(
        &self,
        _: &str,
        _: &str,
        _: UpdateTrigger,
    ) -> Result<(UpdateJob, bool)> {
        missing()
    }
    async fn get_update(&self, _: &str, _: &str) -> Result<UpdateJob> {
        missing()
    }
    async fn list_updates(&self, _: &str, _: PageRequest) -> Result<Page<UpdateJob>> {
        missing()
    }
    async fn claim_update(
        &self,
        _: &str,
        _: i64,
        _: UpdateClaim<'_>,
    ) -> Result<Option<ClaimedUpdate>> {
        missing()
    }
    async fn renew_update(&self, _: &str, _: &str, _: i64, _: &UpdateReport) -> Result<bool> {
        missing()
    }
    async fn fail_update(&self, _: &str, _: &str, _: &UpdateReport) -> Result<bool> {
        missing()
    }
    async fn apply_update(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: &str,
        _: &SyncChanges,
        _: &UpdateReport,
    ) -> Result<bool> {
        missing()
    }
}
