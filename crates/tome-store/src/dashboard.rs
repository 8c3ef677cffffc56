//! Dashboard sign-in sessions: [`SessionStore`], over migration 6's `dashboard_sessions`.
//!
//! The dashboard crate decides what a session is worth (timeouts, cookies, CSRF); this stores
//! one row per session, keyed by the SHA-256 of its secret ID, and reads it back together with
//! the admin key it was opened with, so a revoked key ends its sessions on every node at their
//! next request.

use async_trait::async_trait;
use tome_core::model::ApiKey;

use crate::Result;

/// A signed-in dashboard session, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardSession {
    /// SHA-256 (hex) of the session's secret ID; the ID itself is never stored.
    pub id_hash: String,
    pub key_id: String,
    pub project_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; refreshed at most once a minute.
    pub last_seen_at: i64,
}

/// Storage of dashboard sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session for `key_id` (its project is the key's). `NotFound(ApiKey)` when the
    /// key does not exist.
    async fn create_session(
        &self,
        id_hash: &str,
        key_id: &str,
        now: i64,
    ) -> Result<DashboardSession>;
    /// The session and the key it belongs to (revoked or not: the caller decides), if stored.
    async fn find_session(&self, id_hash: &str) -> Result<Option<(DashboardSession, ApiKey)>>;
    /// Records that the session was used at `now`.
    async fn touch_session(&self, id_hash: &str, now: i64) -> Result<()>;
    /// Ends one session (sign-out). Ending a session that is gone is not an error.
    async fn delete_session(&self, id_hash: &str) -> Result<()>;
    /// Deletes sessions last seen before `idle_before` or created before `created_before`, and
    /// those of revoked keys; returns how many.
    async fn prune_sessions(&self, idle_before: i64, created_before: i64) -> Result<u64>;
}
