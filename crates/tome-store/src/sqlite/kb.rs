//! Knowledge bases and their site keys.

use async_trait::async_trait;
use sqlx::SqliteConnection;
use tome_core::credits::{Action, Charge};
use tome_core::input::{KbPatch, NewKb};
use tome_core::keys::GeneratedKey;
use tome_core::model::{Entity, KbCounts, KnowledgeBase, SiteKey};
use tome_core::{ValidationError, id, time};

use super::{SqliteStore, changes, charge, finish_page, require_kb, rows};
use crate::{CreatedKb, KbStore, Page, PageRequest, Result, StoreError};

fn slug_taken() -> StoreError {
    ValidationError::new(
        "slug",
        "is already used by another knowledge base in this project",
    )
    .into()
}

fn public_slug_taken() -> StoreError {
    ValidationError::new(
        "slug",
        "is already used by another public knowledge base on this instance; hosted help centres \
         are addressed by slug alone, so a public slug must be unique instance-wide",
    )
    .into()
}

/// Maps the slug uniqueness constraints to a 422; every other error passes through.
fn on_slug_conflict(e: sqlx::Error) -> StoreError {
    match &e {
        // The per-project constraint names both columns; the instance-wide index on public
        // slugs names only `slug`.
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            if db.message().contains("project_id") {
                slug_taken()
            } else {
                public_slug_taken()
            }
        }
        _ => e.into(),
    }
}

/// A public KB's slug must not belong to any other public KB, in any project.
async fn check_public_slug_free(
    conn: &mut SqliteConnection,
    slug: &str,
    except_kb: Option<&str>,
) -> Result<()> {
    let taken: Option<String> = sqlx::query_scalar(
        "SELECT id FROM knowledge_bases WHERE slug = ? AND is_public = 1 AND id != ?",
    )
    .bind(slug)
    .bind(except_kb.unwrap_or_default())
    .fetch_optional(&mut *conn)
    .await?;
    match taken {
        Some(_) => Err(public_slug_taken()),
        None => Ok(()),
    }
}

async fn check_slug_free(
    conn: &mut SqliteConnection,
    project_id: &str,
    slug: &str,
    except_kb: Option<&str>,
) -> Result<()> {
    let taken: Option<String> =
        sqlx::query_scalar("SELECT id FROM knowledge_bases WHERE project_id = ? AND slug = ?")
            .bind(project_id)
            .bind(slug)
            .fetch_optional(&mut *conn)
            .await?;
    match taken {
        Some(id) if Some(id.as_str()) != except_kb => Err(slug_taken()),
        _ => Ok(()),
    }
}

async fn load_kb(
    conn: &mut SqliteConnection,
    project_id: &str,
    kb_id: &str,
) -> Result<KnowledgeBase> {
    let row = sqlx::query("SELECT * FROM knowledge_bases WHERE id = ? AND project_id = ?")
        .bind(kb_id)
        .bind(project_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound(Entity::KnowledgeBase))?;
    rows::kb(&row)
}

async fn insert_site_key(
    conn: &mut SqliteConnection,
    project_id: &str,
    kb_id: &str,
    key: &GeneratedKey,
    rate_limit: i64,
    now: &str,
) -> Result<SiteKey> {
    let sk = SiteKey {
        id: id::new_id(id::SITE_KEY),
        kb_id: kb_id.to_string(),
        key_prefix: key.display_prefix.clone(),
        rate_limit,
        created_at: now.to_string(),
        revoked_at: None,
    };
    sqlx::query(
        "INSERT INTO site_keys (id, project_id, kb_id, key_hash, key_prefix, rate_limit, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&sk.id)
    .bind(project_id)
    .bind(kb_id)
    .bind(&key.hash)
    .bind(&sk.key_prefix)
    .bind(rate_limit)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    changes::log(conn, project_id, Some(kb_id), Entity::SiteKey, &sk.id).await?;
    Ok(sk)
}

async fn load_active_site_key(
    conn: &mut SqliteConnection,
    project_id: &str,
    kb_id: &str,
) -> Result<Option<SiteKey>> {
    let row = sqlx::query(
        "SELECT * FROM site_keys WHERE kb_id = ? AND project_id = ? AND revoked_at IS NULL
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(kb_id)
    .bind(project_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(rows::site_key).transpose()
}

#[async_trait]
impl KbStore for SqliteStore {
    async fn create_kb(
        &self,
        project_id: &str,
        new: NewKb,
        site_key: &GeneratedKey,
        site_key_rate_limit: i64,
    ) -> Result<CreatedKb> {
        let now = time::now();
        let mut tx = self.write().await?;
        check_slug_free(&mut tx, project_id, &new.slug, None).await?;
        if new.is_public {
            check_public_slug_free(&mut tx, &new.slug, None).await?;
        }
        charge(&mut tx, project_id, Charge::one(Action::KbCreated), &now).await?;
        let kb = KnowledgeBase {
            id: id::new_id(id::KB),
            project_id: project_id.to_string(),
            title: new.title,
            slug: new.slug,
            description: new.description,
            is_public: new.is_public,
            theme: new.theme,
            theme_settings: new.theme_settings,
            logo_path: new.logo_path,
            created_at: now.clone(),
            updated_at: now.clone(),
        };
        sqlx::query(
            "INSERT INTO knowledge_bases (id, project_id, title, slug, description, is_public,
                 theme, theme_settings, logo_path, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&kb.id)
        .bind(project_id)
        .bind(&kb.title)
        .bind(&kb.slug)
        .bind(&kb.description)
        .bind(kb.is_public)
        .bind(kb.theme.as_str())
        .bind(
            kb.theme_settings
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?,
        )
        .bind(&kb.logo_path)
        .bind(&now)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(on_slug_conflict)?;
        changes::log(
            &mut tx,
            project_id,
            Some(&kb.id),
            Entity::KnowledgeBase,
            &kb.id,
        )
        .await?;
        let sk = insert_site_key(
            &mut tx,
            project_id,
            &kb.id,
            site_key,
            site_key_rate_limit,
            &now,
        )
        .await?;
        // The charge, the KB and its site key commit together: a failure leaves none of them.
        tx.commit().await?;
        Ok(CreatedKb { kb, site_key: sk })
    }

    async fn list_kbs(
        &self,
        project_id: &str,
        is_public: Option<bool>,
        page: PageRequest,
    ) -> Result<Page<(KnowledgeBase, KbCounts)>> {
        let mut conn = self.read().await?;
        let mut q = sqlx::QueryBuilder::new(
            "SELECT k.*, 0 AS sort_order,
                (SELECT COUNT(*) FROM categories c WHERE c.kb_id = k.id) AS category_count,
                (SELECT COUNT(*) FROM sections s WHERE s.kb_id = k.id) AS section_count,
                (SELECT COUNT(*) FROM articles a WHERE a.kb_id = k.id) AS article_count,
                (SELECT COUNT(*) FROM faqs f WHERE f.kb_id = k.id) AS faq_count
             FROM knowledge_bases k WHERE k.project_id = ",
        );
        q.push_bind(project_id.to_string());
        if let Some(p) = is_public {
            q.push(" AND k.is_public = ").push_bind(p);
        }
        if let Some(after) = page.after {
            q.push(" AND k.seq > ").push_bind(after.seq);
        }
        q.push(" ORDER BY k.seq LIMIT ").push_bind(page.limit + 1);
        let rows = q.build().fetch_all(&mut *conn).await?;
        let items = rows
            .iter()
            .map(|r| Ok(((rows::kb(r)?, rows::kb_counts(r)?), rows::position(r)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(finish_page(items, page.limit))
    }

    async fn get_kb(&self, project_id: &str, kb_id: &str) -> Result<KnowledgeBase> {
        let mut conn = self.read().await?;
        load_kb(&mut conn, project_id, kb_id).await
    }

    async fn update_kb(
        &self,
        project_id: &str,
        kb_id: &str,
        patch: KbPatch,
    ) -> Result<KnowledgeBase> {
        let now = time::now();
        let mut tx = self.write().await?;
        let mut kb = load_kb(&mut tx, project_id, kb_id).await?;
        if let Some(slug) = &patch.slug {
            check_slug_free(&mut tx, project_id, slug, Some(kb_id)).await?;
        }
        patch.apply(&mut kb, &now);
        if kb.is_public {
            check_public_slug_free(&mut tx, &kb.slug, Some(kb_id)).await?;
        }
        sqlx::query(
            "UPDATE knowledge_bases SET title = ?, slug = ?, description = ?, is_public = ?,
                 theme = ?, theme_settings = ?, logo_path = ?, updated_at = ?
             WHERE id = ? AND project_id = ?",
        )
        .bind(&kb.title)
        .bind(&kb.slug)
        .bind(&kb.description)
        .bind(kb.is_public)
        .bind(kb.theme.as_str())
        .bind(
            kb.theme_settings
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?,
        )
        .bind(&kb.logo_path)
        .bind(&kb.updated_at)
        .bind(kb_id)
        .bind(project_id)
        .execute(&mut *tx)
        .await
        .map_err(on_slug_conflict)?;
        changes::log(
            &mut tx,
            project_id,
            Some(kb_id),
            Entity::KnowledgeBase,
            kb_id,
        )
        .await?;
        tx.commit().await?;
        Ok(kb)
    }

    async fn delete_kb(&self, project_id: &str, kb_id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        // Everything the cascade removes is logged first, while its rows still exist.
        for (entity, table) in [
            (Entity::SiteKey, "site_keys"),
            (Entity::Category, "categories"),
            (Entity::Section, "sections"),
            (Entity::Article, "articles"),
            (Entity::Faq, "faqs"),
        ] {
            changes::log_where(
                &mut tx,
                entity,
                table,
                "kb_id = ? AND project_id = ?",
                &[kb_id, project_id],
            )
            .await?;
        }
        changes::log(
            &mut tx,
            project_id,
            Some(kb_id),
            Entity::KnowledgeBase,
            kb_id,
        )
        .await?;
        // Foreign keys cascade to site keys, categories, sections, articles and FAQs.
        let done = sqlx::query("DELETE FROM knowledge_bases WHERE id = ? AND project_id = ?")
            .bind(kb_id)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::KnowledgeBase));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn active_site_key(&self, project_id: &str, kb_id: &str) -> Result<SiteKey> {
        let mut conn = self.read().await?;
        require_kb(&mut conn, project_id, kb_id).await?;
        load_active_site_key(&mut conn, project_id, kb_id)
            .await?
            .ok_or(StoreError::NotFound(Entity::SiteKey))
    }

    async fn rotate_site_key(
        &self,
        project_id: &str,
        kb_id: &str,
        new: &GeneratedKey,
        default_rate_limit: i64,
    ) -> Result<SiteKey> {
        let now = time::now();
        let mut tx = self.write().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        let old = load_active_site_key(&mut tx, project_id, kb_id).await?;
        let rate_limit = old.as_ref().map_or(default_rate_limit, |k| k.rate_limit);
        sqlx::query(
            "UPDATE site_keys SET revoked_at = ? WHERE kb_id = ? AND project_id = ? AND revoked_at IS NULL",
        )
        .bind(&now)
        .bind(kb_id)
        .bind(project_id)
        .execute(&mut *tx)
        .await?;
        if let Some(old) = &old {
            changes::log(&mut tx, project_id, Some(kb_id), Entity::SiteKey, &old.id).await?;
        }
        let sk = insert_site_key(&mut tx, project_id, kb_id, new, rate_limit, &now).await?;
        // Revoking the old key and issuing the new one is one step: there is never a moment
        // with two active keys, nor one with none.
        tx.commit().await?;
        Ok(sk)
    }

    async fn set_site_key_rate_limit(
        &self,
        project_id: &str,
        kb_id: &str,
        rate_limit: i64,
    ) -> Result<SiteKey> {
        let mut tx = self.write().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        let mut sk = load_active_site_key(&mut tx, project_id, kb_id)
            .await?
            .ok_or(StoreError::NotFound(Entity::SiteKey))?;
        sqlx::query("UPDATE site_keys SET rate_limit = ? WHERE id = ?")
            .bind(rate_limit)
            .bind(&sk.id)
            .execute(&mut *tx)
            .await?;
        changes::log(&mut tx, project_id, Some(kb_id), Entity::SiteKey, &sk.id).await?;
        tx.commit().await?;
        sk.rate_limit = rate_limit;
        Ok(sk)
    }
}
