//! Row → domain type mapping. Lists are `TEXT[]`; `theme_settings` is JSON text.

use sqlx::Row;
use sqlx::postgres::PgRow;
use tome_core::cursor::Position;
use tome_core::model::{
    ApiKey, Article, Category, Faq, KbCounts, KeyKind, KnowledgeBase, Project, Section, SiteKey,
    Status, Theme,
};

use crate::{Result, StoreError};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Internal(format!("unexpected {what} {value:?} in database").into())
}

pub(super) fn position(row: &PgRow) -> Result<Position> {
    Ok(Position {
        sort: row.try_get("sort_order")?,
        seq: row.try_get("seq")?,
    })
}

pub(super) fn project(row: &PgRow) -> Result<Project> {
    Ok(Project {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        allowed_domains: row.try_get("allowed_domains")?,
        credit_cap: row.try_get("credit_cap")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn api_key(row: &PgRow) -> Result<ApiKey> {
    let kind: String = row.try_get("kind")?;
    Ok(ApiKey {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        kind: KeyKind::parse(&kind).ok_or_else(|| corrupt("key kind", &kind))?,
        key_prefix: row.try_get("key_prefix")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(super) fn kb(row: &PgRow) -> Result<KnowledgeBase> {
    let theme: String = row.try_get("theme")?;
    let settings: Option<String> = row.try_get("theme_settings")?;
    Ok(KnowledgeBase {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        title: row.try_get("title")?,
        slug: row.try_get("slug")?,
        description: row.try_get("description")?,
        is_public: row.try_get("is_public")?,
        theme: Theme::parse(&theme).ok_or_else(|| corrupt("theme", &theme))?,
        theme_settings: settings.map(|s| serde_json::from_str(&s)).transpose()?,
        logo_path: row.try_get("logo_path")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn kb_counts(row: &PgRow) -> Result<KbCounts> {
    Ok(KbCounts {
        categories: row.try_get("category_count")?,
        sections: row.try_get("section_count")?,
        articles: row.try_get("article_count")?,
        faqs: row.try_get("faq_count")?,
    })
}

pub(super) fn site_key(row: &PgRow) -> Result<SiteKey> {
    Ok(SiteKey {
        id: row.try_get("id")?,
        kb_id: row.try_get("kb_id")?,
        key_prefix: row.try_get("key_prefix")?,
        rate_limit: row.try_get("rate_limit")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(super) fn category(row: &PgRow) -> Result<Category> {
    Ok(Category {
        id: row.try_get("id")?,
        kb_id: row.try_get("kb_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        icon: row.try_get("icon")?,
        sort_order: row.try_get("sort_order")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn section(row: &PgRow) -> Result<Section> {
    Ok(Section {
        id: row.try_get("id")?,
        kb_id: row.try_get("kb_id")?,
        category_id: row.try_get("category_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        sort_order: row.try_get("sort_order")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn status(row: &PgRow) -> Result<Status> {
    let s: String = row.try_get("status")?;
    Status::parse(&s).ok_or_else(|| corrupt("status", &s))
}

pub(super) fn article(row: &PgRow) -> Result<Article> {
    Ok(Article {
        id: row.try_get("id")?,
        kb_id: row.try_get("kb_id")?,
        category_id: row.try_get("category_id")?,
        section_id: row.try_get("section_id")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        excerpt: row.try_get("excerpt")?,
        status: status(row)?,
        tags: row.try_get("tags")?,
        related_articles: row.try_get("related_articles")?,
        sort_order: row.try_get("sort_order")?,
        published_at: row.try_get("published_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn faq(row: &PgRow) -> Result<Faq> {
    Ok(Faq {
        id: row.try_get("id")?,
        kb_id: row.try_get("kb_id")?,
        category_id: row.try_get("category_id")?,
        section_id: row.try_get("section_id")?,
        question: row.try_get("question")?,
        answer: row.try_get("answer")?,
        status: status(row)?,
        sort_order: row.try_get("sort_order")?,
        published_at: row.try_get("published_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
