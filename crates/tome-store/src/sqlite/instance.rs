//! Projects, API keys, the instance secret and credit usage.

use async_trait::async_trait;
use tome_core::credits::Action;
use tome_core::id;
use tome_core::input::ProjectPatch;
use tome_core::keys::GeneratedKey;
use tome_core::model::{ApiKey, Entity, KeyKind, Project, Usage};
use tome_core::time;

use super::{SqliteStore, changes, rows};
use crate::{Bootstrapped, InstanceStore, Result, StoreError};

async fn insert_project(
    conn: &mut sqlx::SqliteConnection,
    name: &str,
    credit_cap: Option<i64>,
) -> Result<Project> {
    let now = time::now();
    let project = Project {
        id: id::new_id(id::PROJECT),
        name: name.to_string(),
        allowed_domains: Vec::new(),
        credit_cap,
        created_at: now.clone(),
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO projects (id, name, allowed_domains, credit_cap, created_at, updated_at)
         VALUES (?, ?, '[]', ?, ?, ?)",
    )
    .bind(&project.id)
    .bind(&project.name)
    .bind(project.credit_cap)
    .bind(&project.created_at)
    .bind(&project.updated_at)
    .execute(&mut *conn)
    .await?;
    changes::log(conn, &project.id, None, Entity::Project, &project.id).await?;
    Ok(project)
}

async fn insert_api_key(
    conn: &mut sqlx::SqliteConnection,
    project_id: &str,
    kind: KeyKind,
    key: &GeneratedKey,
) -> Result<ApiKey> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM projects WHERE id = ?")
        .bind(project_id)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        return Err(StoreError::NotFound(Entity::Project));
    }
    let row = ApiKey {
        id: id::new_id(id::API_KEY),
        project_id: project_id.to_string(),
        kind,
        key_prefix: key.display_prefix.clone(),
        created_at: time::now(),
        last_used_at: None,
        revoked_at: None,
    };
    sqlx::query(
        "INSERT INTO api_keys (id, project_id, kind, key_hash, key_prefix, created_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&row.id)
    .bind(project_id)
    .bind(kind.as_str())
    .bind(&key.hash)
    .bind(&row.key_prefix)
    .bind(&row.created_at)
    .execute(&mut *conn)
    .await?;
    changes::log(conn, project_id, None, Entity::ApiKey, &row.id).await?;
    Ok(row)
}

#[async_trait]
impl InstanceStore for SqliteStore {
    async fn ping(&self) -> Result<()> {
        let mut conn = self.read().await?;
        sqlx::query("SELECT 1").execute(&mut *conn).await?;
        Ok(())
    }

    fn pool_stats(&self) -> Vec<crate::PoolStats> {
        vec![
            crate::PoolStats::of("read", &self.reader),
            crate::PoolStats::of("write", &self.writer),
        ]
    }

    async fn instance_secret(&self) -> Result<Vec<u8>> {
        let mut tx = self.write().await?;
        let secret: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT secret FROM instance WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(s) = secret {
            return Ok(s);
        }
        let mut s = vec![0u8; 32];
        id::fill_random(&mut s);
        sqlx::query("INSERT INTO instance (id, secret, created_at) VALUES (1, ?, ?)")
            .bind(&s)
            .bind(time::now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(s)
    }

    async fn bootstrap(&self, admin_key: &GeneratedKey) -> Result<Option<Bootstrapped>> {
        let mut tx = self.write().await?;
        let any: Option<i64> = sqlx::query_scalar("SELECT 1 FROM projects LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        if any.is_some() {
            return Ok(None);
        }
        let project = insert_project(&mut tx, "default", None).await?;
        let key = insert_api_key(&mut tx, &project.id, KeyKind::Admin, admin_key).await?;
        // Project and key appear together or not at all, so a crash here cannot leave a
        // default project without a key that was ever printed.
        tx.commit().await?;
        Ok(Some(Bootstrapped {
            project,
            admin_key: key,
        }))
    }

    async fn create_project(&self, name: &str, credit_cap: Option<i64>) -> Result<Project> {
        let mut tx = self.write().await?;
        let p = insert_project(&mut tx, name, credit_cap).await?;
        tx.commit().await?;
        Ok(p)
    }

    async fn list_projects(&self) -> Result<Vec<Project>> {
        let mut conn = self.read().await?;
        let rows = sqlx::query("SELECT * FROM projects ORDER BY seq")
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(rows::project).collect()
    }

    async fn get_project(&self, project_id: &str) -> Result<Project> {
        let mut conn = self.read().await?;
        let row = sqlx::query("SELECT * FROM projects WHERE id = ?")
            .bind(project_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound(Entity::Project))?;
        rows::project(&row)
    }

    async fn update_project(&self, project_id: &str, patch: ProjectPatch) -> Result<Project> {
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT * FROM projects WHERE id = ?")
            .bind(project_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound(Entity::Project))?;
        let mut p = rows::project(&row)?;
        if let Some(n) = patch.name {
            p.name = n;
        }
        if let Some(d) = patch.allowed_domains {
            p.allowed_domains = d;
        }
        if let Some(c) = patch.credit_cap {
            p.credit_cap = c;
        }
        p.updated_at = time::now();
        sqlx::query(
            "UPDATE projects SET name = ?, allowed_domains = ?, credit_cap = ?, updated_at = ?
             WHERE id = ?",
        )
        .bind(&p.name)
        .bind(serde_json::to_string(&p.allowed_domains)?)
        .bind(p.credit_cap)
        .bind(&p.updated_at)
        .bind(project_id)
        .execute(&mut *tx)
        .await?;
        changes::log(&mut tx, project_id, None, Entity::Project, project_id).await?;
        tx.commit().await?;
        Ok(p)
    }

    async fn create_api_key(
        &self,
        project_id: &str,
        kind: KeyKind,
        key: &GeneratedKey,
    ) -> Result<ApiKey> {
        let mut tx = self.write().await?;
        let k = insert_api_key(&mut tx, project_id, kind, key).await?;
        tx.commit().await?;
        Ok(k)
    }

    async fn list_api_keys(&self, project_id: &str) -> Result<Vec<ApiKey>> {
        let mut conn = self.read().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM projects WHERE id = ?")
            .bind(project_id)
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(Entity::Project));
        }
        let rows = sqlx::query("SELECT * FROM api_keys WHERE project_id = ? ORDER BY seq")
            .bind(project_id)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(rows::api_key).collect()
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<ApiKey> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(time::now())
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT * FROM api_keys WHERE id = ?")
            .bind(key_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound(Entity::ApiKey))?;
        let key = rows::api_key(&row)?;
        changes::log(&mut tx, &key.project_id, None, Entity::ApiKey, &key.id).await?;
        tx.commit().await?;
        Ok(key)
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let mut conn = self.read().await?;
        let row = sqlx::query("SELECT * FROM api_keys WHERE key_hash = ?")
            .bind(key_hash)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(rows::api_key).transpose()
    }

    async fn touch_api_key(&self, key_id: &str, now: &str) -> Result<()> {
        let mut conn = self.write_conn().await?;
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
            .bind(now)
            .bind(key_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    async fn usage(&self, project_id: &str, month: &str) -> Result<Usage> {
        let mut conn = self.read().await?;
        let cap: Option<Option<i64>> =
            sqlx::query_scalar("SELECT credit_cap FROM projects WHERE id = ?")
                .bind(project_id)
                .fetch_optional(&mut *conn)
                .await?;
        let cap = cap.ok_or(StoreError::NotFound(Entity::Project))?;
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT action, SUM(items), SUM(credits) FROM credit_ledger
             WHERE project_id = ? AND month = ? GROUP BY action",
        )
        .bind(project_id)
        .bind(month)
        .fetch_all(&mut *conn)
        .await?;
        let by_action = Action::ALL
            .into_iter()
            .map(|a| {
                let (items, credits) = rows
                    .iter()
                    .find(|(name, _, _)| name == a.as_str())
                    .map_or((0, 0), |(_, i, c)| (*i, *c));
                (a, items, credits)
            })
            .collect();
        Ok(Usage {
            month: month.to_string(),
            credit_cap: cap,
            by_action,
        })
    }
}
