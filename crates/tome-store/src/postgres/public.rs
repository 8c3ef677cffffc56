//! Reads for the public site-key API: published content only.

use async_trait::async_trait;
use tome_core::model::Entity;

use super::{PgStore, findable, rows};
use crate::{PublicStore, PublishedTree, Result, SiteAccess, StoreError};

#[async_trait]
impl PublicStore for PgStore {
    async fn site_access(&self, key_hash: &str) -> Result<Option<SiteAccess>> {
        let mut conn = self.read().await?;
        let row: Option<(String, String, String, String, i64, Vec<String>)> = sqlx::query_as(
            "SELECT s.id, s.kb_id, s.project_id, k.slug, s.rate_limit, p.allowed_domains
             FROM site_keys s
             JOIN knowledge_bases k ON k.id = s.kb_id
             JOIN projects p ON p.id = s.project_id
             WHERE s.key_hash = $1 AND s.revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.map(
            |(site_key_id, kb_id, project_id, slug, rate_limit, allowed_domains)| SiteAccess {
                site_key_id,
                kb_id,
                project_id,
                slug,
                rate_limit,
                allowed_domains,
            },
        ))
    }

    async fn allowed_domains_for_slug(&self, slug: &str) -> Result<Vec<Vec<String>>> {
        let mut conn = self.read().await?;
        let rows: Vec<Vec<String>> = sqlx::query_scalar(
            "SELECT p.allowed_domains FROM knowledge_bases k JOIN projects p ON p.id = k.project_id
             WHERE k.slug = $1",
        )
        .bind(findable(slug))
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows)
    }

    async fn published_tree(&self, kb_id: &str) -> Result<PublishedTree> {
        // One REPEATABLE READ transaction, so all five queries see the same snapshot of the KB.
        let mut tx = self.snapshot().await?;
        let kb = sqlx::query("SELECT * FROM knowledge_bases WHERE id = $1")
            .bind(findable(kb_id))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound(Entity::KnowledgeBase))?;
        let kb = rows::kb(&kb)?;
        let categories =
            sqlx::query("SELECT * FROM categories WHERE kb_id = $1 ORDER BY sort_order, seq")
                .bind(kb_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(rows::category)
                .collect::<Result<_>>()?;
        let sections =
            sqlx::query("SELECT * FROM sections WHERE kb_id = $1 ORDER BY sort_order, seq")
                .bind(kb_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(rows::section)
                .collect::<Result<_>>()?;
        let articles = sqlx::query(
            "SELECT seq, id, kb_id, category_id, section_id, title, ''::TEXT AS body, excerpt,
                    status, tags, related_articles, sort_order, published_at, created_at,
                    updated_at
             FROM articles WHERE kb_id = $1 AND status = 'published' ORDER BY sort_order, seq",
        )
        .bind(kb_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(rows::article)
        .collect::<Result<_>>()?;
        let faqs = sqlx::query(
            "SELECT * FROM faqs WHERE kb_id = $1 AND status = 'published' ORDER BY sort_order, seq",
        )
        .bind(kb_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(rows::faq)
        .collect::<Result<_>>()?;
        tx.commit().await?;
        Ok(PublishedTree {
            kb,
            categories,
            sections,
            articles,
            faqs,
        })
    }

    async fn published_article(
        &self,
        kb_id: &str,
        article_id: &str,
    ) -> Result<Option<tome_core::model::Article>> {
        let mut conn = self.read().await?;
        let row = sqlx::query(
            "SELECT * FROM articles WHERE id = $1 AND kb_id = $2 AND status = 'published'",
        )
        .bind(findable(article_id))
        .bind(findable(kb_id))
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(rows::article).transpose()
    }

    async fn public_kb_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<tome_core::model::KnowledgeBase>> {
        let mut conn = self.read().await?;
        let row = sqlx::query("SELECT * FROM knowledge_bases WHERE slug = $1 AND is_public")
            .bind(findable(slug))
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(rows::kb).transpose()
    }
}
