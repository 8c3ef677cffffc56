//! Reads for the public site-key API: published content only.

use async_trait::async_trait;
use tome_core::model::Entity;

use super::{SqliteStore, rows};
use crate::{PublicStore, PublishedTree, Result, SiteAccess, StoreError};

#[async_trait]
impl PublicStore for SqliteStore {
    async fn site_access(&self, key_hash: &str) -> Result<Option<SiteAccess>> {
        let mut conn = self.read().await?;
        let row: Option<(String, String, String, String, i64, String)> = sqlx::query_as(
            "SELECT s.id, s.kb_id, s.project_id, k.slug, s.rate_limit, p.allowed_domains
             FROM site_keys s
             JOIN knowledge_bases k ON k.id = s.kb_id
             JOIN projects p ON p.id = s.project_id
             WHERE s.key_hash = ? AND s.revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&mut *conn)
        .await?;
        row.map(
            |(site_key_id, kb_id, project_id, slug, rate_limit, domains)| {
                Ok(SiteAccess {
                    site_key_id,
                    kb_id,
                    project_id,
                    slug,
                    rate_limit,
                    allowed_domains: serde_json::from_str(&domains)?,
                })
            },
        )
        .transpose()
    }

    async fn allowed_domains_for_slug(&self, slug: &str) -> Result<Vec<Vec<String>>> {
        let mut conn = self.read().await?;
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT p.allowed_domains FROM knowledge_bases k JOIN projects p ON p.id = k.project_id
             WHERE k.slug = ?",
        )
        .bind(slug)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(|d| Ok(serde_json::from_str(d)?)).collect()
    }

    async fn published_tree(&self, kb_id: &str) -> Result<PublishedTree> {
        let mut reader = self.read().await?;
        // One read transaction, so all five queries see the same snapshot of the KB.
        let mut conn = sqlx::Connection::begin(&mut *reader).await?;
        let kb = sqlx::query("SELECT * FROM knowledge_bases WHERE id = ?")
            .bind(kb_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound(Entity::KnowledgeBase))?;
        let kb = rows::kb(&kb)?;
        let categories =
            sqlx::query("SELECT * FROM categories WHERE kb_id = ? ORDER BY sort_order, seq")
                .bind(kb_id)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(rows::category)
                .collect::<Result<_>>()?;
        let sections =
            sqlx::query("SELECT * FROM sections WHERE kb_id = ? ORDER BY sort_order, seq")
                .bind(kb_id)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(rows::section)
                .collect::<Result<_>>()?;
        let articles = sqlx::query(
            "SELECT seq, id, kb_id, category_id, section_id, title, '' AS body, excerpt, status, tags,
                    related_articles, sort_order, published_at, created_at, updated_at
             FROM articles WHERE kb_id = ? AND status = 'published' ORDER BY sort_order, seq",
        )
        .bind(kb_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(rows::article)
        .collect::<Result<_>>()?;
        let faqs = sqlx::query(
            "SELECT * FROM faqs WHERE kb_id = ? AND status = 'published' ORDER BY sort_order, seq",
        )
        .bind(kb_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(rows::faq)
        .collect::<Result<_>>()?;
        conn.commit().await?;
        Ok(PublishedTree {
            kb,
            categories,
            sections,
            articles,
            faqs,
        })
    }

    async fn public_kb_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<tome_core::model::KnowledgeBase>> {
        let mut conn = self.read().await?;
        let row = sqlx::query("SELECT * FROM knowledge_bases WHERE slug = ? AND is_public = 1")
            .bind(slug)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(rows::kb).transpose()
    }

    async fn published_article(
        &self,
        kb_id: &str,
        article_id: &str,
    ) -> Result<Option<tome_core::model::Article>> {
        let mut conn = self.read().await?;
        let row = sqlx::query(
            "SELECT * FROM articles WHERE id = ? AND kb_id = ? AND status = 'published'",
        )
        .bind(article_id)
        .bind(kb_id)
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(rows::article).transpose()
    }
}
