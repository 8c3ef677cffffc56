//! [`SessionStore`] on PostgreSQL (writes behind the advisory write lock, [`PgStore::write`]).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use tome_core::model::{ApiKey, Entity};

use super::{PgStore, rows};
use crate::{DashboardSession, Result, SessionStore, StoreError};

fn session(row: &PgRow) -> Result<DashboardSession> {
    Ok(DashboardSession {
        id_hash: row.try_get("id_hash")?,
        key_id: row.try_get("key_id")?,
        project_id: row.try_get("project_id")?,
        created_at: row.try_get("session_created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
    })
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(
        &self,
        id_hash: &str,
        key_id: &str,
        now: i64,
    ) -> Result<DashboardSession> {
        let mut tx = self.write().await?;
        let project_id: Option<String> =
            sqlx::query_scalar("SELECT project_id FROM api_keys WHERE id = $1")
                .bind(key_id)
                .fetch_optional(&mut *tx)
                .await?;
        let project_id = project_id.ok_or(StoreError::NotFound(Entity::ApiKey))?;
        sqlx::query(
            "INSERT INTO dashboard_sessions (id_hash, key_id, project_id, created_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash)
        .bind(key_id)
        .bind(&project_id)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(DashboardSession {
            id_hash: id_hash.to_string(),
            key_id: key_id.to_string(),
            project_id,
            created_at: now,
            last_seen_at: now,
        })
    }

    async fn find_session(&self, id_hash: &str) -> Result<Option<(DashboardSession, ApiKey)>> {
        let mut conn = self.read().await?;
        let row = sqlx::query(
            "SELECT s.id_hash, s.key_id, s.project_id, s.created_at AS session_created_at,
                    s.last_seen_at, k.*
             FROM dashboard_sessions s JOIN api_keys k ON k.id = s.key_id
             WHERE s.id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&mut *conn)
        .await?;
        row.map(|r| Ok((session(&r)?, rows::api_key(&r)?)))
            .transpose()
    }

    async fn touch_session(&self, id_hash: &str, now: i64) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE dashboard_sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(id_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM dashboard_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn prune_sessions(&self, idle_before: i64, created_before: i64) -> Result<u64> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "DELETE FROM dashboard_sessions
             WHERE last_seen_at < $1 OR created_at < $2
                OR key_id IN (SELECT id FROM api_keys WHERE revoked_at IS NOT NULL)",
        )
        .bind(idle_before)
        .bind(created_before)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
