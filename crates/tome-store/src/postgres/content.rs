//! Categories, sections, articles, FAQs and the simple search.

use async_trait::async_trait;
use sqlx::{PgConnection, Row};
use tome_core::credits::{Action, Charge};
use tome_core::input::{
    ArticlePatch, CategoryPatch, FaqPatch, NewArticle, NewCategory, NewFaq, NewSection,
    SectionPatch,
};
use tome_core::model::{Article, Category, Entity, Faq, Section};
use tome_core::{ValidationError, id, time};

use super::{
    PgStore, changes, charge, findable, finish_page, like_pattern, push_keyset, require_kb, rows,
};
use crate::{
    ContentCounts, ContentFilter, ContentStore, Page, PageRequest, Result, SearchHits, SearchQuery,
    SectionFilter, StoreError,
};

/// Article columns without the body, for lists.
const ARTICLE_SUMMARY: &str = "a.seq, a.id, a.kb_id, a.category_id, a.section_id, a.title, \
    ''::TEXT AS body, a.excerpt, a.status, a.tags, a.related_articles, a.sort_order, a.published_at, \
    a.created_at, a.updated_at";

const CATEGORY_BY_ID: &str =
    "SELECT * FROM categories WHERE id = $1 AND kb_id = $2 AND project_id = $3";
const SECTION_BY_ID: &str =
    "SELECT * FROM sections WHERE id = $1 AND kb_id = $2 AND project_id = $3";
const ARTICLE_BY_ID: &str =
    "SELECT * FROM articles WHERE id = $1 AND kb_id = $2 AND project_id = $3";
const FAQ_BY_ID: &str = "SELECT * FROM faqs WHERE id = $1 AND kb_id = $2 AND project_id = $3";

/// Loads one row of a KB's content by `sql` (one of the `*_BY_ID` queries).
///
/// A row scoped by `kb_id` and `project_id` proves the KB exists in the project, so the KB is
/// only looked up on a miss, to tell `kb_not_found` from the entity's own `*_not_found`.
async fn load_one<T>(
    conn: &mut PgConnection,
    sql: &'static str,
    entity: Entity,
    project_id: &str,
    kb_id: &str,
    id: &str,
    map: fn(&sqlx::postgres::PgRow) -> Result<T>,
) -> Result<T> {
    let row = sqlx::query(sql)
        .bind(findable(id))
        .bind(findable(kb_id))
        .bind(project_id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => map(&row),
        None => {
            require_kb(conn, project_id, kb_id).await?;
            Err(StoreError::NotFound(entity))
        }
    }
}

/// Checks that `category_id` is in the KB and `section_id` (if any) belongs to that category.
async fn check_placement(
    conn: &mut PgConnection,
    project_id: &str,
    kb_id: &str,
    category_id: &str,
    section_id: Option<&str>,
) -> Result<()> {
    let cat: Option<bool> = sqlx::query_scalar(
        "SELECT TRUE FROM categories WHERE id = $1 AND kb_id = $2 AND project_id = $3",
    )
    .bind(category_id)
    .bind(kb_id)
    .bind(project_id)
    .fetch_optional(&mut *conn)
    .await?;
    if cat.is_none() {
        return Err(
            ValidationError::new("category_id", "does not exist in this knowledge base").into(),
        );
    }
    if let Some(section_id) = section_id {
        let owner: Option<String> = sqlx::query_scalar(
            "SELECT category_id FROM sections WHERE id = $1 AND kb_id = $2 AND project_id = $3",
        )
        .bind(section_id)
        .bind(kb_id)
        .bind(project_id)
        .fetch_optional(&mut *conn)
        .await?;
        match owner {
            None => {
                return Err(ValidationError::new(
                    "section_id",
                    "does not exist in this knowledge base",
                )
                .into());
            }
            Some(c) if c != category_id => {
                return Err(ValidationError::new(
                    "section_id",
                    "belongs to a different category than category_id",
                )
                .into());
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Checks that every related article exists in the same KB and is not the article itself.
async fn check_related(
    conn: &mut PgConnection,
    project_id: &str,
    kb_id: &str,
    self_id: Option<&str>,
    related: &[String],
) -> Result<()> {
    if related.is_empty() {
        return Ok(());
    }
    let mut q = sqlx::QueryBuilder::new("SELECT id FROM articles WHERE kb_id = ");
    q.push_bind(kb_id.to_string())
        .push(" AND project_id = ")
        .push_bind(project_id.to_string());
    q.push(" AND id IN (");
    let mut sep = q.separated(", ");
    for r in related {
        sep.push_bind(r.clone());
    }
    q.push(")");
    let found: Vec<String> = q.build_query_scalar().fetch_all(&mut *conn).await?;
    for (i, r) in related.iter().enumerate() {
        if Some(r.as_str()) == self_id {
            return Err(ValidationError::new(
                format!("related_articles[{i}]"),
                "an article cannot be related to itself",
            )
            .into());
        }
        if !found.contains(r) {
            return Err(ValidationError::new(
                format!("related_articles[{i}]"),
                "is not an article of this knowledge base",
            )
            .into());
        }
    }
    Ok(())
}

/// Drops IDs of deleted articles from every related list in the KB, keeping the order of the
/// rest.
/// Articles of the KB (`$2`) whose related list names an article that no longer exists.
const HAS_DANGLING_RELATED: &str = "kb_id = $2 AND related_articles <> '{}' AND EXISTS (
    SELECT 1 FROM unnest(articles.related_articles) AS r(id)
    WHERE r.id NOT IN (SELECT a2.id FROM articles a2 WHERE a2.kb_id = articles.kb_id))";

pub(super) async fn prune_related(conn: &mut PgConnection, kb_id: &str) -> Result<()> {
    changes::log_where(
        conn,
        Entity::Article,
        "articles",
        HAS_DANGLING_RELATED,
        &[kb_id],
    )
    .await?;
    sqlx::query(
        "UPDATE articles SET related_articles = ARRAY(
             SELECT r.id FROM unnest(articles.related_articles) WITH ORDINALITY AS r(id, n)
             WHERE r.id IN (SELECT a2.id FROM articles a2 WHERE a2.kb_id = articles.kb_id)
             ORDER BY r.n)
         WHERE kb_id = $1 AND related_articles <> '{}'",
    )
    .bind(kb_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds a bulk item's position to a validation error.
fn at_item(e: StoreError, bulk: bool, index: usize) -> StoreError {
    match e {
        StoreError::Invalid(v) if bulk => StoreError::Invalid(v.in_item("articles", index)),
        other => other,
    }
}

fn push_content_filter(
    q: &mut sqlx::QueryBuilder<sqlx::Postgres>,
    f: &ContentFilter,
    articles: bool,
) {
    let a = if articles { "a" } else { "f" };
    if let Some(c) = &f.category_id {
        q.push(format!(" AND {a}.category_id = "))
            .push_bind(findable(c).to_string());
    }
    match &f.section {
        SectionFilter::Any => {}
        SectionFilter::Ungrouped => {
            q.push(format!(" AND {a}.section_id IS NULL"));
        }
        SectionFilter::Is(s) => {
            q.push(format!(" AND {a}.section_id = "))
                .push_bind(findable(s).to_string());
        }
    }
    if !f.statuses.is_empty() {
        q.push(format!(" AND {a}.status IN ("));
        let mut sep = q.separated(", ");
        for s in &f.statuses {
            sep.push_bind(s.as_str());
        }
        q.push(")");
    }
    if let (Some(tag), true) = (&f.tag, articles) {
        if tag.contains('\0') {
            // No stored tag contains U+0000 (see `findable`).
            q.push(" AND FALSE");
        } else {
            q.push(" AND ")
                .push_bind(tag.clone())
                .push(" = ANY(a.tags)");
        }
    }
}

pub(super) async fn write_article(
    conn: &mut PgConnection,
    a: &Article,
    project_id: &str,
    insert: bool,
) -> Result<u64> {
    let sql = if insert {
        "INSERT INTO articles (category_id, section_id, title, body, excerpt, status, tags,
             related_articles, sort_order, published_at, updated_at, created_at, id, kb_id, project_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    } else {
        "UPDATE articles SET category_id = $1, section_id = $2, title = $3, body = $4, excerpt = $5,
             status = $6, tags = $7, related_articles = $8, sort_order = $9, published_at = $10,
             updated_at = $11, created_at = $12
         WHERE id = $13 AND kb_id = $14 AND project_id = $15"
    };
    let done = sqlx::query(sql)
        .bind(&a.category_id)
        .bind(&a.section_id)
        .bind(&a.title)
        .bind(&a.body)
        .bind(&a.excerpt)
        .bind(a.status.as_str())
        .bind(&a.tags)
        .bind(&a.related_articles)
        .bind(a.sort_order)
        .bind(&a.published_at)
        .bind(&a.updated_at)
        .bind(&a.created_at)
        .bind(&a.id)
        .bind(&a.kb_id)
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    changes::log(conn, project_id, Some(&a.kb_id), Entity::Article, &a.id).await?;
    Ok(done.rows_affected())
}

pub(super) async fn write_faq(
    conn: &mut PgConnection,
    f: &Faq,
    project_id: &str,
    insert: bool,
) -> Result<u64> {
    let sql = if insert {
        "INSERT INTO faqs (category_id, section_id, question, answer, status, sort_order,
             published_at, updated_at, created_at, id, kb_id, project_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    } else {
        "UPDATE faqs SET category_id = $1, section_id = $2, question = $3, answer = $4, status = $5,
             sort_order = $6, published_at = $7, updated_at = $8, created_at = $9
         WHERE id = $10 AND kb_id = $11 AND project_id = $12"
    };
    let done = sqlx::query(sql)
        .bind(&f.category_id)
        .bind(&f.section_id)
        .bind(&f.question)
        .bind(&f.answer)
        .bind(f.status.as_str())
        .bind(f.sort_order)
        .bind(&f.published_at)
        .bind(&f.updated_at)
        .bind(&f.created_at)
        .bind(&f.id)
        .bind(&f.kb_id)
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    changes::log(conn, project_id, Some(&f.kb_id), Entity::Faq, &f.id).await?;
    Ok(done.rows_affected())
}

async fn delete_row(
    conn: &mut PgConnection,
    sql: &'static str,
    entity: Entity,
    project_id: &str,
    kb_id: &str,
    id: &str,
) -> Result<()> {
    require_kb(conn, project_id, kb_id).await?;
    let done = sqlx::query(sql)
        .bind(findable(id))
        .bind(kb_id)
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(entity));
    }
    Ok(())
}

#[async_trait]
impl ContentStore for PgStore {
    async fn create_category(
        &self,
        project_id: &str,
        kb_id: &str,
        new: NewCategory,
    ) -> Result<Category> {
        let now = time::now();
        let mut tx = self.write().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        charge(
            &mut tx,
            project_id,
            Charge::one(Action::CategoryCreated),
            &now,
        )
        .await?;
        let c = Category {
            id: id::new_id(id::CATEGORY),
            kb_id: kb_id.to_string(),
            name: new.name,
            description: new.description,
            icon: new.icon,
            sort_order: new.sort_order,
            created_at: now.clone(),
            updated_at: now,
        };
        sqlx::query(
            "INSERT INTO categories (id, project_id, kb_id, name, description, icon, sort_order,
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&c.id)
        .bind(project_id)
        .bind(kb_id)
        .bind(&c.name)
        .bind(&c.description)
        .bind(&c.icon)
        .bind(c.sort_order)
        .bind(&c.created_at)
        .bind(&c.updated_at)
        .execute(&mut *tx)
        .await?;
        changes::log(&mut tx, project_id, Some(kb_id), Entity::Category, &c.id).await?;
        tx.commit().await?;
        Ok(c)
    }

    async fn list_categories(
        &self,
        project_id: &str,
        kb_id: &str,
        page: PageRequest,
    ) -> Result<Page<Category>> {
        let mut conn = self.read().await?;
        require_kb(&mut conn, project_id, kb_id).await?;
        let mut q = sqlx::QueryBuilder::new("SELECT c.* FROM categories c WHERE c.project_id = ");
        q.push_bind(project_id.to_string())
            .push(" AND c.kb_id = ")
            .push_bind(kb_id.to_string());
        push_keyset(&mut q, "c", &page);
        let rows = q.build().fetch_all(&mut *conn).await?;
        let items = rows
            .iter()
            .map(|r| Ok((rows::category(r)?, rows::position(r)?)))
            .collect::<Result<_>>()?;
        Ok(finish_page(items, page.limit))
    }

    async fn get_category(&self, project_id: &str, kb_id: &str, id: &str) -> Result<Category> {
        let mut conn = self.read().await?;
        load_one(
            &mut conn,
            CATEGORY_BY_ID,
            Entity::Category,
            project_id,
            kb_id,
            id,
            rows::category,
        )
        .await
    }

    async fn update_category(
        &self,
        project_id: &str,
        kb_id: &str,
        id: &str,
        patch: CategoryPatch,
    ) -> Result<Category> {
        let now = time::now();
        let mut tx = self.write().await?;
        let mut c = load_one(
            &mut tx,
            CATEGORY_BY_ID,
            Entity::Category,
            project_id,
            kb_id,
            id,
            rows::category,
        )
        .await?;
        patch.apply(&mut c, &now);
        sqlx::query(
            "UPDATE categories SET name = $1, description = $2, icon = $3, sort_order = $4, updated_at = $5
             WHERE id = $6 AND project_id = $7",
        )
        .bind(&c.name)
        .bind(&c.description)
        .bind(&c.icon)
        .bind(c.sort_order)
        .bind(&c.updated_at)
        .bind(id)
        .bind(project_id)
        .execute(&mut *tx)
        .await?;
        changes::log(&mut tx, project_id, Some(kb_id), Entity::Category, id).await?;
        tx.commit().await?;
        Ok(c)
    }

    async fn delete_category(&self, project_id: &str, kb_id: &str, id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        // Everything the cascade removes is logged first, while its rows still exist (a
        // missing category rolls the log back with the rest).
        for (entity, table) in [
            (Entity::Section, "sections"),
            (Entity::Article, "articles"),
            (Entity::Faq, "faqs"),
        ] {
            changes::log_where(
                &mut tx,
                entity,
                table,
                "category_id = $2 AND kb_id = $3 AND project_id = $4",
                &[findable(id), findable(kb_id), project_id],
            )
            .await?;
        }
        changes::log(
            &mut tx,
            project_id,
            Some(findable(kb_id)),
            Entity::Category,
            findable(id),
        )
        .await?;
        // Foreign keys cascade to the category's sections, articles and FAQs.
        delete_row(
            &mut tx,
            "DELETE FROM categories WHERE id = $1 AND kb_id = $2 AND project_id = $3",
            Entity::Category,
            project_id,
            kb_id,
            id,
        )
        .await?;
        prune_related(&mut tx, kb_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_section(
        &self,
        project_id: &str,
        kb_id: &str,
        new: NewSection,
    ) -> Result<Section> {
        let now = time::now();
        let mut tx = self.write().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        check_placement(&mut tx, project_id, kb_id, &new.category_id, None).await?;
        charge(
            &mut tx,
            project_id,
            Charge::one(Action::SectionCreated),
            &now,
        )
        .await?;
        let s = Section {
            id: id::new_id(id::SECTION),
            kb_id: kb_id.to_string(),
            category_id: new.category_id,
            name: new.name,
            description: new.description,
            sort_order: new.sort_order,
            created_at: now.clone(),
            updated_at: now,
        };
        sqlx::query(
            "INSERT INTO sections (id, project_id, kb_id, category_id, name, description, sort_order,
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.id)
        .bind(project_id)
        .bind(kb_id)
        .bind(&s.category_id)
        .bind(&s.name)
        .bind(&s.description)
        .bind(s.sort_order)
        .bind(&s.created_at)
        .bind(&s.updated_at)
        .execute(&mut *tx)
        .await?;
        changes::log(&mut tx, project_id, Some(kb_id), Entity::Section, &s.id).await?;
        tx.commit().await?;
        Ok(s)
    }

    async fn list_sections(
        &self,
        project_id: &str,
        kb_id: &str,
        category_id: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Section>> {
        let mut conn = self.read().await?;
        require_kb(&mut conn, project_id, kb_id).await?;
        let mut q = sqlx::QueryBuilder::new("SELECT s.* FROM sections s WHERE s.project_id = ");
        q.push_bind(project_id.to_string())
            .push(" AND s.kb_id = ")
            .push_bind(kb_id.to_string());
        if let Some(c) = category_id {
            q.push(" AND s.category_id = ")
                .push_bind(findable(c).to_string());
        }
        push_keyset(&mut q, "s", &page);
        let rows = q.build().fetch_all(&mut *conn).await?;
        let items = rows
            .iter()
            .map(|r| Ok((rows::section(r)?, rows::position(r)?)))
            .collect::<Result<_>>()?;
        Ok(finish_page(items, page.limit))
    }

    async fn get_section(&self, project_id: &str, kb_id: &str, id: &str) -> Result<Section> {
        let mut conn = self.read().await?;
        load_one(
            &mut conn,
            SECTION_BY_ID,
            Entity::Section,
            project_id,
            kb_id,
            id,
            rows::section,
        )
        .await
    }

    async fn update_section(
        &self,
        project_id: &str,
        kb_id: &str,
        id: &str,
        patch: SectionPatch,
    ) -> Result<Section> {
        let now = time::now();
        let mut tx = self.write().await?;
        let mut s = load_one(
            &mut tx,
            SECTION_BY_ID,
            Entity::Section,
            project_id,
            kb_id,
            id,
            rows::section,
        )
        .await?;
        let old_category = s.category_id.clone();
        patch.apply(&mut s, &now);
        if s.category_id != old_category {
            check_placement(&mut tx, project_id, kb_id, &s.category_id, None).await?;
            // The section's articles and FAQs move with it.
            for (entity, table) in [(Entity::Article, "articles"), (Entity::Faq, "faqs")] {
                changes::log_where(
                    &mut tx,
                    entity,
                    table,
                    "section_id = $2 AND kb_id = $3 AND project_id = $4",
                    &[id, kb_id, project_id],
                )
                .await?;
            }
            for table in [
                "UPDATE articles SET category_id = $1 WHERE section_id = $2 AND project_id = $3",
                "UPDATE faqs SET category_id = $1 WHERE section_id = $2 AND project_id = $3",
            ] {
                sqlx::query(table)
                    .bind(&s.category_id)
                    .bind(id)
                    .bind(project_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query(
            "UPDATE sections SET category_id = $1, name = $2, description = $3, sort_order = $4, updated_at = $5
             WHERE id = $6 AND project_id = $7",
        )
        .bind(&s.category_id)
        .bind(&s.name)
        .bind(&s.description)
        .bind(s.sort_order)
        .bind(&s.updated_at)
        .bind(id)
        .bind(project_id)
        .execute(&mut *tx)
        .await?;
        changes::log(&mut tx, project_id, Some(kb_id), Entity::Section, id).await?;
        tx.commit().await?;
        Ok(s)
    }

    async fn delete_section(&self, project_id: &str, kb_id: &str, id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        for (entity, table) in [(Entity::Article, "articles"), (Entity::Faq, "faqs")] {
            changes::log_where(
                &mut tx,
                entity,
                table,
                "section_id = $2 AND kb_id = $3 AND project_id = $4",
                &[findable(id), findable(kb_id), project_id],
            )
            .await?;
        }
        changes::log(
            &mut tx,
            project_id,
            Some(findable(kb_id)),
            Entity::Section,
            findable(id),
        )
        .await?;
        // Foreign keys set `section_id` to NULL on the section's articles and FAQs.
        delete_row(
            &mut tx,
            "DELETE FROM sections WHERE id = $1 AND kb_id = $2 AND project_id = $3",
            Entity::Section,
            project_id,
            kb_id,
            id,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_articles(
        &self,
        project_id: &str,
        kb_id: &str,
        items: Vec<NewArticle>,
        bulk: bool,
    ) -> Result<Vec<Article>> {
        let now = time::now();
        let mut tx = self.write().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        for (i, n) in items.iter().enumerate() {
            check_placement(
                &mut tx,
                project_id,
                kb_id,
                &n.category_id,
                n.section_id.as_deref(),
            )
            .await
            .map_err(|e| at_item(e, bulk, i))?;
            check_related(&mut tx, project_id, kb_id, None, &n.related_articles)
                .await
                .map_err(|e| at_item(e, bulk, i))?;
        }
        // Every item is valid; now the whole batch is priced and checked against the cap at once.
        let count = items.len() as i64;
        charge(
            &mut tx,
            project_id,
            Charge::new(Action::ArticleCreated, count),
            &now,
        )
        .await?;
        let mut out = Vec::with_capacity(items.len());
        for n in items {
            let published_at =
                (n.status == tome_core::model::Status::Published).then(|| now.clone());
            let a = Article {
                id: id::new_id(id::ARTICLE),
                kb_id: kb_id.to_string(),
                category_id: n.category_id,
                section_id: n.section_id,
                title: n.title,
                body: n.body,
                excerpt: n.excerpt,
                status: n.status,
                tags: n.tags,
                related_articles: n.related_articles,
                sort_order: n.sort_order,
                published_at,
                created_at: now.clone(),
                updated_at: now.clone(),
            };
            write_article(&mut tx, &a, project_id, true).await?;
            out.push(a);
        }
        // All articles and their one ledger entry commit together, or nothing does.
        tx.commit().await?;
        Ok(out)
    }

    async fn list_articles(
        &self,
        project_id: &str,
        kb_id: &str,
        filter: &ContentFilter,
        page: PageRequest,
    ) -> Result<Page<Article>> {
        let mut conn = self.read().await?;
        require_kb(&mut conn, project_id, kb_id).await?;
        let mut q = sqlx::QueryBuilder::new(format!(
            "SELECT {ARTICLE_SUMMARY} FROM articles a WHERE a.project_id = "
        ));
        q.push_bind(project_id.to_string())
            .push(" AND a.kb_id = ")
            .push_bind(kb_id.to_string());
        push_content_filter(&mut q, filter, true);
        push_keyset(&mut q, "a", &page);
        let rows = q.build().fetch_all(&mut *conn).await?;
        let items = rows
            .iter()
            .map(|r| Ok((rows::article(r)?, rows::position(r)?)))
            .collect::<Result<_>>()?;
        Ok(finish_page(items, page.limit))
    }

    async fn get_article(&self, project_id: &str, kb_id: &str, id: &str) -> Result<Article> {
        let mut conn = self.read().await?;
        load_one(
            &mut conn,
            ARTICLE_BY_ID,
            Entity::Article,
            project_id,
            kb_id,
            id,
            rows::article,
        )
        .await
    }

    async fn update_articles(
        &self,
        project_id: &str,
        kb_id: &str,
        items: Vec<(String, ArticlePatch)>,
        bulk: bool,
    ) -> Result<Vec<Article>> {
        let now = time::now();
        let mut tx = self.write().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        let mut out = Vec::with_capacity(items.len());
        for (i, (article_id, patch)) in items.into_iter().enumerate() {
            let loaded = load_one(
                &mut tx,
                ARTICLE_BY_ID,
                Entity::Article,
                project_id,
                kb_id,
                &article_id,
                rows::article,
            )
            .await;
            let mut a = match loaded {
                Err(StoreError::NotFound(Entity::Article)) if bulk => {
                    return Err(ValidationError::new(
                        "id",
                        "no such article in this knowledge base",
                    )
                    .in_item("articles", i)
                    .into());
                }
                other => other?,
            };
            patch.apply(&mut a, &now);
            check_placement(
                &mut tx,
                project_id,
                kb_id,
                &a.category_id,
                a.section_id.as_deref(),
            )
            .await
            .map_err(|e| at_item(e, bulk, i))?;
            check_related(&mut tx, project_id, kb_id, Some(&a.id), &a.related_articles)
                .await
                .map_err(|e| at_item(e, bulk, i))?;
            write_article(&mut tx, &a, project_id, false).await?;
            out.push(a);
        }
        // Any failure above drops the transaction, rolling back the items already written.
        tx.commit().await?;
        Ok(out)
    }

    async fn delete_article(&self, project_id: &str, kb_id: &str, id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        changes::log(
            &mut tx,
            project_id,
            Some(findable(kb_id)),
            Entity::Article,
            findable(id),
        )
        .await?;
        delete_row(
            &mut tx,
            "DELETE FROM articles WHERE id = $1 AND kb_id = $2 AND project_id = $3",
            Entity::Article,
            project_id,
            kb_id,
            id,
        )
        .await?;
        prune_related(&mut tx, kb_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_faq(&self, project_id: &str, kb_id: &str, new: NewFaq) -> Result<Faq> {
        let now = time::now();
        let mut tx = self.write().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        check_placement(
            &mut tx,
            project_id,
            kb_id,
            &new.category_id,
            new.section_id.as_deref(),
        )
        .await?;
        charge(&mut tx, project_id, Charge::one(Action::FaqCreated), &now).await?;
        let f = Faq {
            id: id::new_id(id::FAQ),
            kb_id: kb_id.to_string(),
            category_id: new.category_id,
            section_id: new.section_id,
            question: new.question,
            answer: new.answer,
            status: new.status,
            sort_order: new.sort_order,
            published_at: (new.status == tome_core::model::Status::Published).then(|| now.clone()),
            created_at: now.clone(),
            updated_at: now,
        };
        write_faq(&mut tx, &f, project_id, true).await?;
        tx.commit().await?;
        Ok(f)
    }

    async fn list_faqs(
        &self,
        project_id: &str,
        kb_id: &str,
        filter: &ContentFilter,
        page: PageRequest,
    ) -> Result<Page<Faq>> {
        let mut conn = self.read().await?;
        require_kb(&mut conn, project_id, kb_id).await?;
        let mut q = sqlx::QueryBuilder::new("SELECT f.* FROM faqs f WHERE f.project_id = ");
        q.push_bind(project_id.to_string())
            .push(" AND f.kb_id = ")
            .push_bind(kb_id.to_string());
        push_content_filter(&mut q, filter, false);
        push_keyset(&mut q, "f", &page);
        let rows = q.build().fetch_all(&mut *conn).await?;
        let items = rows
            .iter()
            .map(|r| Ok((rows::faq(r)?, rows::position(r)?)))
            .collect::<Result<_>>()?;
        Ok(finish_page(items, page.limit))
    }

    async fn get_faq(&self, project_id: &str, kb_id: &str, id: &str) -> Result<Faq> {
        let mut conn = self.read().await?;
        load_one(
            &mut conn,
            FAQ_BY_ID,
            Entity::Faq,
            project_id,
            kb_id,
            id,
            rows::faq,
        )
        .await
    }

    async fn update_faq(
        &self,
        project_id: &str,
        kb_id: &str,
        id: &str,
        patch: FaqPatch,
    ) -> Result<Faq> {
        let now = time::now();
        let mut tx = self.write().await?;
        let mut f = load_one(
            &mut tx,
            FAQ_BY_ID,
            Entity::Faq,
            project_id,
            kb_id,
            id,
            rows::faq,
        )
        .await?;
        patch.apply(&mut f, &now);
        check_placement(
            &mut tx,
            project_id,
            kb_id,
            &f.category_id,
            f.section_id.as_deref(),
        )
        .await?;
        write_faq(&mut tx, &f, project_id, false).await?;
        tx.commit().await?;
        Ok(f)
    }

    async fn delete_faq(&self, project_id: &str, kb_id: &str, id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        changes::log(
            &mut tx,
            project_id,
            Some(findable(kb_id)),
            Entity::Faq,
            findable(id),
        )
        .await?;
        delete_row(
            &mut tx,
            "DELETE FROM faqs WHERE id = $1 AND kb_id = $2 AND project_id = $3",
            Entity::Faq,
            project_id,
            kb_id,
            id,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn content_counts(&self, project_id: &str, kb_id: &str) -> Result<ContentCounts> {
        let mut conn = self.read().await?;
        require_kb(&mut conn, project_id, kb_id).await?;
        // Grouped in the database: the tree of a KB with thousands of articles costs two
        // aggregate queries, not a list per section.
        let rows = sqlx::query(
            "SELECT category_id, section_id, status, COUNT(*) AS n FROM articles \
             WHERE project_id = $1 AND kb_id = $2 GROUP BY category_id, section_id, status",
        )
        .bind(project_id)
        .bind(kb_id)
        .fetch_all(&mut *conn)
        .await?;
        let articles = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("category_id")?,
                    r.try_get("section_id")?,
                    rows::status(r)?,
                    r.try_get("n")?,
                ))
            })
            .collect::<Result<_>>()?;
        let rows = sqlx::query(
            "SELECT category_id, COUNT(*) AS n FROM faqs \
             WHERE project_id = $1 AND kb_id = $2 GROUP BY category_id",
        )
        .bind(project_id)
        .bind(kb_id)
        .fetch_all(&mut *conn)
        .await?;
        let faqs = rows
            .iter()
            .map(|r| Ok((r.try_get("category_id")?, r.try_get("n")?)))
            .collect::<Result<_>>()?;
        Ok(ContentCounts { articles, faqs })
    }

    async fn search(
        &self,
        project_id: &str,
        kb_id: &str,
        query: &SearchQuery,
    ) -> Result<SearchHits> {
        let mut conn = self.read().await?;
        require_kb(&mut conn, project_id, kb_id).await?;
        let words: Vec<String> = query.text.split_whitespace().map(like_pattern).collect();
        // Every word must match, and no stored text contains U+0000 (see `findable`).
        if words.is_empty() || query.text.contains('\0') {
            return Ok(SearchHits::default());
        }
        // Every word must appear in some field; hits with a word in the title come first.
        // `lower(… COLLATE "C")` folds ASCII only, so matching is exactly SQLite's LIKE.
        let statuses = ContentFilter {
            statuses: query.statuses.clone(),
            ..ContentFilter::default()
        };
        let mut q =
            sqlx::QueryBuilder::new(format!("SELECT {ARTICLE_SUMMARY}, a.body AS full_body, ("));
        push_title_hits(&mut q, "a.title", &words);
        q.push(") AS title_hits FROM articles a WHERE a.project_id = ")
            .push_bind(project_id.to_string())
            .push(" AND a.kb_id = ")
            .push_bind(kb_id.to_string());
        push_content_filter(&mut q, &statuses, true);
        push_all_words(&mut q, &["a.title", "a.excerpt", "a.body"], &words);
        q.push(" ORDER BY title_hits DESC, a.sort_order, a.seq LIMIT ")
            .push_bind(query.limit);
        let rows = q.build().fetch_all(&mut *conn).await?;
        let articles = rows
            .iter()
            .map(|r| {
                let mut a = rows::article(r)?;
                a.body = sqlx::Row::try_get(r, "full_body")?;
                Ok(a)
            })
            .collect::<Result<Vec<_>>>()?;

        let mut q = sqlx::QueryBuilder::new("SELECT f.*, (");
        push_title_hits(&mut q, "f.question", &words);
        q.push(") AS title_hits FROM faqs f WHERE f.project_id = ")
            .push_bind(project_id.to_string())
            .push(" AND f.kb_id = ")
            .push_bind(kb_id.to_string());
        push_content_filter(&mut q, &statuses, false);
        push_all_words(&mut q, &["f.question", "f.answer"], &words);
        q.push(" ORDER BY title_hits DESC, f.sort_order, f.seq LIMIT ")
            .push_bind(query.limit);
        let rows = q.build().fetch_all(&mut *conn).await?;
        let faqs = rows.iter().map(rows::faq).collect::<Result<Vec<_>>>()?;
        Ok(SearchHits { articles, faqs })
    }
}

/// `lower(column COLLATE "C") LIKE pattern`, case-insensitive for ASCII like SQLite's LIKE.
fn push_like(q: &mut sqlx::QueryBuilder<sqlx::Postgres>, column: &str, pattern: &str) {
    q.push(format!("lower({column} COLLATE \"C\") LIKE "))
        .push_bind(pattern.to_string())
        .push(" ESCAPE '\\'");
}

/// The number of `words` found in `column`, for ranking.
fn push_title_hits(q: &mut sqlx::QueryBuilder<sqlx::Postgres>, column: &str, words: &[String]) {
    for (i, w) in words.iter().enumerate() {
        q.push(if i == 0 { "(" } else { " + (" });
        push_like(q, column, w);
        q.push(")::INT");
    }
}

/// Requires every one of `words` to appear in at least one of `columns`.
fn push_all_words(q: &mut sqlx::QueryBuilder<sqlx::Postgres>, columns: &[&str], words: &[String]) {
    for w in words {
        q.push(" AND (");
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                q.push(" OR ");
            }
            push_like(q, c, w);
        }
        q.push(")");
    }
}
