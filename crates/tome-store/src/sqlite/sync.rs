//! Docs-as-code storage on SQLite: sources, path maps, the update queue and the one-transaction
//! apply. Every write is a `BEGIN IMMEDIATE` transaction, so SQLite's single write lock makes a
//! claim (read the oldest claimable job, mark it taken) atomic across connections and processes.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use tome_core::cursor::Position;
use tome_core::model::{Category, Entity, Section};
use tome_core::source::{
    CommitInfo, NewSource, Source, SourceFormat, SourceKind, SourceSecrets, UpdateJob,
    UpdateReport, UpdateStatus, UpdateTrigger,
};
use tome_core::{ValidationError, id, time};

use super::{SqliteStore, changes, charge_all, content, finish_page, require_kb, rows};
use crate::sync::{
    ClaimedUpdate, KbContent, REQUEUED_LINE, SourceItem, SyncChanges, SyncStore, UpdateClaim,
    cap_logs, check_plan, missing_item, plan_charges, related_ids, self_related,
};
use crate::{Page, PageRequest, Result, StoreError, entity_name, parse_entity};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Internal(format!("unexpected {what} {value:?} in database").into())
}

fn source(row: &SqliteRow) -> Result<Source> {
    let kind: String = row.try_get("kind")?;
    let format: String = row.try_get("format")?;
    Ok(Source {
        kb_id: row.try_get("kb_id")?,
        project_id: row.try_get("project_id")?,
        kind: SourceKind::parse(&kind).ok_or_else(|| corrupt("source kind", &kind))?,
        url: row.try_get("url")?,
        branch: row.try_get("branch")?,
        path: row.try_get("path")?,
        format: SourceFormat::parse(&format).ok_or_else(|| corrupt("source format", &format))?,
        has_token: row.try_get::<Option<String>, _>("token")?.is_some(),
        has_webhook_secret: row
            .try_get::<Option<String>, _>("webhook_secret")?
            .is_some(),
        poll_interval_minutes: row.try_get("poll_interval_minutes")?,
        last_commit: row.try_get("last_commit")?,
        last_synced_at: row.try_get("last_synced_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn secrets(row: &SqliteRow) -> Result<SourceSecrets> {
    Ok(SourceSecrets {
        token: row.try_get("token")?,
        webhook_secret: row.try_get("webhook_secret")?,
    })
}

fn job(row: &SqliteRow) -> Result<UpdateJob> {
    let status: String = row.try_get("status")?;
    let trigger: String = row.try_get("trigger")?;
    let logs: String = row.try_get("logs")?;
    let commit: Option<String> = row.try_get("commit_info")?;
    Ok(UpdateJob {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        kb_id: row.try_get("kb_id")?,
        kb_slug: row.try_get("kb_slug")?,
        status: UpdateStatus::parse(&status).ok_or_else(|| corrupt("update status", &status))?,
        trigger: UpdateTrigger::parse(&trigger)
            .ok_or_else(|| corrupt("update trigger", &trigger))?,
        summary: row.try_get("summary")?,
        logs: serde_json::from_str(&logs)?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        author: row.try_get("author")?,
        commit: commit
            .map(|c| serde_json::from_str::<CommitInfo>(&c))
            .transpose()?,
        attempts: row.try_get("attempts")?,
    })
}

fn item(row: &SqliteRow) -> Result<SourceItem> {
    let entity: String = row.try_get("entity")?;
    Ok(SourceItem {
        path: row.try_get("path")?,
        entity: parse_entity(&entity).ok_or_else(|| corrupt("source item entity", &entity))?,
        entity_id: row.try_get("entity_id")?,
        sha256: row.try_get("sha256")?,
    })
}

fn logs_json(logs: &[String]) -> Result<String> {
    Ok(serde_json::to_string(&cap_logs(logs))?)
}

fn commit_json(commit: Option<&CommitInfo>) -> Result<Option<String>> {
    Ok(commit.map(serde_json::to_string).transpose()?)
}

async fn load_job(conn: &mut SqliteConnection, update_id: &str) -> Result<UpdateJob> {
    let row = sqlx::query("SELECT * FROM update_jobs WHERE id = ?")
        .bind(update_id)
        .fetch_one(&mut *conn)
        .await?;
    job(&row)
}

/// Jobs a node may claim (`j`, joined with its source `s`): queued ones of a KB with no job in
/// progress, and in-progress ones whose lease ran out before `?` (Unix ms). An expired job of a
/// KB is older than anything queued for it, so it is taken first.
const CLAIMABLE: &str = "FROM update_jobs j JOIN kb_sources s ON s.kb_id = j.kb_id
    WHERE ((j.status = 'queued' AND NOT EXISTS (
               SELECT 1 FROM update_jobs r WHERE r.kb_id = j.kb_id AND r.status = 'in_progress'))
        OR (j.status = 'in_progress' AND (j.lease_until IS NULL OR j.lease_until < ?)))";

async fn write_category(
    conn: &mut SqliteConnection,
    c: &Category,
    project_id: &str,
    insert: bool,
) -> Result<u64> {
    let sql = if insert {
        "INSERT INTO categories (name, description, icon, sort_order, created_at, updated_at,
             id, kb_id, project_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    } else {
        "UPDATE categories SET name = ?, description = ?, icon = ?, sort_order = ?,
             created_at = ?, updated_at = ?
         WHERE id = ? AND kb_id = ? AND project_id = ?"
    };
    let done = sqlx::query(sql)
        .bind(&c.name)
        .bind(&c.description)
        .bind(&c.icon)
        .bind(c.sort_order)
        .bind(&c.created_at)
        .bind(&c.updated_at)
        .bind(&c.id)
        .bind(&c.kb_id)
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    changes::log(conn, project_id, Some(&c.kb_id), Entity::Category, &c.id).await?;
    Ok(done.rows_affected())
}

async fn write_section(
    conn: &mut SqliteConnection,
    s: &Section,
    project_id: &str,
    insert: bool,
) -> Result<u64> {
    let sql = if insert {
        "INSERT INTO sections (category_id, name, description, sort_order, created_at,
             updated_at, id, kb_id, project_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    } else {
        "UPDATE sections SET category_id = ?, name = ?, description = ?, sort_order = ?,
             created_at = ?, updated_at = ?
         WHERE id = ? AND kb_id = ? AND project_id = ?"
    };
    let done = sqlx::query(sql)
        .bind(&s.category_id)
        .bind(&s.name)
        .bind(&s.description)
        .bind(s.sort_order)
        .bind(&s.created_at)
        .bind(&s.updated_at)
        .bind(&s.id)
        .bind(&s.kb_id)
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    changes::log(conn, project_id, Some(&s.kb_id), Entity::Section, &s.id).await?;
    Ok(done.rows_affected())
}

/// An update that found no row: the plan is stale (the KB changed since it was made).
fn written(rows: u64, entity: Entity) -> Result<()> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound(entity))
    }
}

/// Deletes one row of the KB (logging it), refusing when it is not there.
async fn delete_one(
    conn: &mut SqliteConnection,
    entity: Entity,
    project_id: &str,
    kb_id: &str,
    id: &str,
) -> Result<()> {
    let sql = match entity {
        Entity::Category => "DELETE FROM categories WHERE id = ? AND kb_id = ? AND project_id = ?",
        Entity::Section => "DELETE FROM sections WHERE id = ? AND kb_id = ? AND project_id = ?",
        Entity::Article => "DELETE FROM articles WHERE id = ? AND kb_id = ? AND project_id = ?",
        _ => "DELETE FROM faqs WHERE id = ? AND kb_id = ? AND project_id = ?",
    };
    let done = sqlx::query(sql)
        .bind(id)
        .bind(kb_id)
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    written(done.rows_affected(), entity)?;
    changes::log(conn, project_id, Some(kb_id), entity, id).await
}

/// Placement rules the API enforces on every write, checked over the whole KB after an apply:
/// each query finds a row that breaks one (`?` is the KB).
const MISPLACED: [(&str, &str, &str); 5] = [
    (
        "category_id",
        "a section's category is not in this knowledge base",
        "SELECT s.id FROM sections s JOIN categories c ON c.id = s.category_id
         WHERE s.kb_id = ? AND c.kb_id <> s.kb_id LIMIT 1",
    ),
    (
        "category_id",
        "an article's category is not in this knowledge base",
        "SELECT a.id FROM articles a JOIN categories c ON c.id = a.category_id
         WHERE a.kb_id = ? AND c.kb_id <> a.kb_id LIMIT 1",
    ),
    (
        "section_id",
        "an article's section is not in this knowledge base or belongs to another category",
        "SELECT a.id FROM articles a JOIN sections s ON s.id = a.section_id
         WHERE a.kb_id = ? AND (s.kb_id <> a.kb_id OR s.category_id <> a.category_id) LIMIT 1",
    ),
    (
        "category_id",
        "an FAQ's category is not in this knowledge base",
        "SELECT f.id FROM faqs f JOIN categories c ON c.id = f.category_id
         WHERE f.kb_id = ? AND c.kb_id <> f.kb_id LIMIT 1",
    ),
    (
        "section_id",
        "an FAQ's section is not in this knowledge base or belongs to another category",
        "SELECT f.id FROM faqs f JOIN sections s ON s.id = f.section_id
         WHERE f.kb_id = ? AND (s.kb_id <> f.kb_id OR s.category_id <> f.category_id) LIMIT 1",
    ),
];

async fn check_placements(conn: &mut SqliteConnection, kb_id: &str) -> Result<()> {
    for (field, message, sql) in MISPLACED {
        let bad: Option<String> = sqlx::query_scalar(sql)
            .bind(kb_id)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(id) = bad {
            return Err(ValidationError::new(field, format!("{message} ({id})")).into());
        }
    }
    Ok(())
}

/// Every related article an update names must be an article of the KB.
async fn check_related(conn: &mut SqliteConnection, kb_id: &str, c: &SyncChanges) -> Result<()> {
    if let Some(a) = self_related(c) {
        return Err(ValidationError::new(
            "related_articles",
            format!("article {} cannot be related to itself", a.id),
        )
        .into());
    }
    let wanted = related_ids(c);
    let mut found = std::collections::HashSet::with_capacity(wanted.len());
    for chunk in wanted.chunks(500) {
        let mut q = sqlx::QueryBuilder::new("SELECT id FROM articles WHERE kb_id = ");
        q.push_bind(kb_id.to_string()).push(" AND id IN (");
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(id.clone());
        }
        q.push(")");
        let ids: Vec<String> = q.build_query_scalar().fetch_all(&mut *conn).await?;
        found.extend(ids);
    }
    if let Some(missing) = wanted.iter().find(|id| !found.contains(*id)) {
        return Err(ValidationError::new(
            "related_articles",
            format!("{missing} is not an article of this knowledge base"),
        )
        .into());
    }
    Ok(())
}

/// Makes the KB's path map equal to `items`, touching only the rows that differ.
async fn replace_items(
    conn: &mut SqliteConnection,
    kb_id: &str,
    items: &[SourceItem],
) -> Result<()> {
    let rows = sqlx::query("SELECT * FROM source_items WHERE kb_id = ?")
        .bind(kb_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut old = std::collections::HashMap::with_capacity(rows.len());
    for r in &rows {
        let i = item(r)?;
        old.insert(i.path.clone(), i);
    }
    let wanted: std::collections::HashSet<&str> = items.iter().map(|i| i.path.as_str()).collect();
    for path in old.keys().filter(|p| !wanted.contains(p.as_str())) {
        sqlx::query("DELETE FROM source_items WHERE kb_id = ? AND path = ?")
            .bind(kb_id)
            .bind(path)
            .execute(&mut *conn)
            .await?;
    }
    let (mut fresh, mut changed) = (Vec::new(), Vec::new());
    for i in items {
        match old.get(&i.path) {
            Some(o) if o == i => {}
            Some(_) => {
                changed.push(i);
                sqlx::query(
                    "UPDATE source_items SET entity = ?, entity_id = ?, sha256 = ?
                     WHERE kb_id = ? AND path = ?",
                )
                .bind(entity_name(i.entity))
                .bind(&i.entity_id)
                .bind(&i.sha256)
                .bind(kb_id)
                .bind(&i.path)
                .execute(&mut *conn)
                .await?;
            }
            None => fresh.push(i),
        }
    }
    // New and changed entries must name an article or FAQ of the KB (unchanged ones did when
    // they were written, and a delete of their entity would have had to drop them).
    let written: Vec<&SourceItem> = fresh.iter().copied().chain(changed).collect();
    for (entity, table) in [(Entity::Article, "articles"), (Entity::Faq, "faqs")] {
        let ids: Vec<&SourceItem> = written
            .iter()
            .copied()
            .filter(|i| i.entity == entity)
            .collect();
        for chunk in ids.chunks(500) {
            let mut q = sqlx::QueryBuilder::new(format!("SELECT id FROM {table} WHERE kb_id = "));
            q.push_bind(kb_id.to_string()).push(" AND id IN (");
            let mut sep = q.separated(", ");
            for i in chunk {
                sep.push_bind(i.entity_id.clone());
            }
            q.push(")");
            let found: std::collections::HashSet<String> = q
                .build_query_scalar()
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .collect();
            if let Some(i) = chunk.iter().find(|i| !found.contains(&i.entity_id)) {
                return Err(missing_item(i));
            }
        }
    }
    for chunk in fresh.chunks(1000) {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO source_items (kb_id, path, entity, entity_id, sha256) ",
        );
        q.push_values(chunk, |mut b, i| {
            b.push_bind(kb_id.to_string())
                .push_bind(i.path.clone())
                .push_bind(entity_name(i.entity))
                .push_bind(i.entity_id.clone())
                .push_bind(i.sha256.clone());
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The fields of a source that say where its files come from: when they change, the content no
/// longer equals `last_commit` of the old location.
fn same_location(old: &Source, new: &NewSource) -> bool {
    old.kind == new.kind
        && old.url == new.url
        && old.branch == new.branch
        && old.path == new.path
        && old.format == new.format
}

#[async_trait]
impl SyncStore for SqliteStore {
    async fn put_source(
        &self,
        project_id: &str,
        kb_id: &str,
        new: NewSource,
        keep_secrets: bool,
    ) -> Result<(Source, bool)> {
        let now = time::now();
        let mut tx = self.write().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        let old = sqlx::query("SELECT * FROM kb_sources WHERE kb_id = ?")
            .bind(kb_id)
            .fetch_optional(&mut *tx)
            .await?;
        let created = old.is_none();
        match old {
            None => {
                sqlx::query(
                    "INSERT INTO kb_sources (kb_id, project_id, kind, url, branch, path, format,
                         token, webhook_secret, poll_interval_minutes, created_at, updated_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(kb_id)
                .bind(project_id)
                .bind(new.kind.as_str())
                .bind(&new.url)
                .bind(&new.branch)
                .bind(&new.path)
                .bind(new.format.as_str())
                .bind(&new.token)
                .bind(&new.webhook_secret)
                .bind(new.poll_interval_minutes)
                .bind(&now)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            }
            Some(row) => {
                let (before, stored) = (source(&row)?, secrets(&row)?);
                let keep = |given: &Option<String>, stored: Option<String>| match given {
                    Some(v) => Some(v.clone()),
                    None if keep_secrets => stored,
                    None => None,
                };
                let token = keep(&new.token, stored.token);
                let webhook_secret = keep(&new.webhook_secret, stored.webhook_secret);
                let last_commit = if same_location(&before, &new) {
                    before.last_commit
                } else {
                    None
                };
                sqlx::query(
                    "UPDATE kb_sources SET kind = ?, url = ?, branch = ?, path = ?, format = ?,
                         token = ?, webhook_secret = ?, poll_interval_minutes = ?,
                         last_commit = ?, updated_at = ?
                     WHERE kb_id = ?",
                )
                .bind(new.kind.as_str())
                .bind(&new.url)
                .bind(&new.branch)
                .bind(&new.path)
                .bind(new.format.as_str())
                .bind(token)
                .bind(webhook_secret)
                .bind(new.poll_interval_minutes)
                .bind(last_commit)
                .bind(&now)
                .bind(kb_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        let row = sqlx::query("SELECT * FROM kb_sources WHERE kb_id = ?")
            .bind(kb_id)
            .fetch_one(&mut *tx)
            .await?;
        changes::log(&mut tx, project_id, Some(kb_id), Entity::Source, kb_id).await?;
        tx.commit().await?;
        Ok((source(&row)?, created))
    }

    async fn get_source(&self, project_id: &str, kb_id: &str) -> Result<Source> {
        let mut conn = self.read().await?;
        let row = sqlx::query("SELECT * FROM kb_sources WHERE kb_id = ? AND project_id = ?")
            .bind(kb_id)
            .bind(project_id)
            .fetch_optional(&mut *conn)
            .await?;
        match row {
            Some(row) => source(&row),
            None => {
                require_kb(&mut conn, project_id, kb_id).await?;
                Err(StoreError::NotFound(Entity::Source))
            }
        }
    }

    async fn source_by_kb(&self, kb_id: &str) -> Result<Option<(Source, SourceSecrets)>> {
        let mut conn = self.read().await?;
        let row = sqlx::query("SELECT * FROM kb_sources WHERE kb_id = ?")
            .bind(kb_id)
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|r| Ok((source(&r)?, secrets(&r)?))).transpose()
    }

    async fn delete_source(&self, project_id: &str, kb_id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        sqlx::query("DELETE FROM source_items WHERE kb_id = ?")
            .bind(kb_id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM kb_sources WHERE kb_id = ? AND project_id = ?")
            .bind(kb_id)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::Source));
        }
        // A running job's node finds it no longer its own at its next renew or apply.
        sqlx::query(
            "UPDATE update_jobs SET status = 'failure', summary = 'source removed', ended_at = ?,
                 lease_until = NULL
             WHERE kb_id = ? AND status IN ('queued', 'in_progress')",
        )
        .bind(time::iso_now())
        .bind(kb_id)
        .execute(&mut *tx)
        .await?;
        changes::log(&mut tx, project_id, Some(kb_id), Entity::Source, kb_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn take_due_polls(&self, now_unix: i64) -> Result<Vec<(String, String)>> {
        let mut tx = self.write().await?;
        let mut due: Vec<(String, String)> = sqlx::query_as(
            "UPDATE kb_sources SET last_polled_at = ?
             WHERE poll_interval_minutes IS NOT NULL
               AND (last_polled_at IS NULL OR last_polled_at <= ? - poll_interval_minutes * 60)
             RETURNING project_id, kb_id",
        )
        .bind(now_unix)
        .bind(now_unix)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        due.sort_unstable();
        Ok(due)
    }

    async fn kb_content(&self, project_id: &str, kb_id: &str) -> Result<KbContent> {
        let mut reader = self.read().await?;
        // One snapshot for all four lists.
        let mut tx = sqlx::Connection::begin(&mut *reader).await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        let mut out = KbContent::default();
        let by_seq = |table: &str| {
            format!("SELECT * FROM {table} WHERE kb_id = ? AND project_id = ? ORDER BY seq")
        };
        for r in sqlx::query(sqlx::AssertSqlSafe(by_seq("categories")))
            .bind(kb_id)
            .bind(project_id)
            .fetch_all(&mut *tx)
            .await?
        {
            out.categories.push(rows::category(&r)?);
        }
        for r in sqlx::query(sqlx::AssertSqlSafe(by_seq("sections")))
            .bind(kb_id)
            .bind(project_id)
            .fetch_all(&mut *tx)
            .await?
        {
            out.sections.push(rows::section(&r)?);
        }
        for r in sqlx::query(sqlx::AssertSqlSafe(by_seq("articles")))
            .bind(kb_id)
            .bind(project_id)
            .fetch_all(&mut *tx)
            .await?
        {
            out.articles.push(rows::article(&r)?);
        }
        for r in sqlx::query(sqlx::AssertSqlSafe(by_seq("faqs")))
            .bind(kb_id)
            .bind(project_id)
            .fetch_all(&mut *tx)
            .await?
        {
            out.faqs.push(rows::faq(&r)?);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn source_items(&self, project_id: &str, kb_id: &str) -> Result<Vec<SourceItem>> {
        let mut conn = self.read().await?;
        require_kb(&mut conn, project_id, kb_id).await?;
        let rows = sqlx::query("SELECT * FROM source_items WHERE kb_id = ? ORDER BY seq")
            .bind(kb_id)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(item).collect()
    }

    async fn enqueue_update(
        &self,
        project_id: &str,
        kb_id: &str,
        trigger: UpdateTrigger,
    ) -> Result<(UpdateJob, bool)> {
        let (job, new, _) = self.enqueue(project_id, kb_id, trigger, None).await?;
        Ok((job, new))
    }

    async fn enqueue_and_claim_update(
        &self,
        project_id: &str,
        kb_id: &str,
        trigger: UpdateTrigger,
        node: &str,
        lease_ms: i64,
    ) -> Result<(UpdateJob, bool, Option<ClaimedUpdate>)> {
        self.enqueue(project_id, kb_id, trigger, Some((node, lease_ms)))
            .await
    }

    async fn get_update(&self, project_id: &str, update_id: &str) -> Result<UpdateJob> {
        let mut conn = self.read().await?;
        let row = sqlx::query("SELECT * FROM update_jobs WHERE id = ? AND project_id = ?")
            .bind(update_id)
            .bind(project_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound(Entity::Update))?;
        job(&row)
    }

    async fn list_updates(&self, project_id: &str, page: PageRequest) -> Result<Page<UpdateJob>> {
        self.updates_page(project_id, None, page).await
    }

    async fn list_kb_updates(
        &self,
        project_id: &str,
        kb_id: &str,
        page: PageRequest,
    ) -> Result<Page<UpdateJob>> {
        self.updates_page(project_id, Some(kb_id), page).await
    }

    async fn applied_commit(
        &self,
        project_id: &str,
        kb_id: &str,
        sha: &str,
    ) -> Result<Option<(Option<String>, String)>> {
        let mut conn = self.read().await?;
        // The newest few successes of the KB: the commit a no-change update equals is the last
        // one applied, unless the KB was updated again since.
        let rows = sqlx::query(
            "SELECT author, commit_info FROM update_jobs
             WHERE project_id = ? AND kb_id = ? AND status = 'success'
               AND commit_info IS NOT NULL
             ORDER BY seq DESC LIMIT 20",
        )
        .bind(project_id)
        .bind(kb_id)
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let raw: String = row.try_get("commit_info")?;
            let commit: CommitInfo =
                serde_json::from_str(&raw).map_err(|_| corrupt("update commit", &raw))?;
            if commit.sha == sha {
                return Ok(Some((row.try_get("author")?, commit.message)));
            }
        }
        Ok(None)
    }

    async fn claim_update(
        &self,
        node: &str,
        lease_ms: i64,
        which: UpdateClaim<'_>,
    ) -> Result<Option<ClaimedUpdate>> {
        let claimable = |select: &str, now_ms: i64| {
            // CLAIMABLE's one placeholder is the lease cut-off.
            let (head, tail) = CLAIMABLE.split_once('?').unwrap_or((CLAIMABLE, ""));
            let mut q = sqlx::QueryBuilder::new(format!("SELECT {select} {head}"));
            q.push_bind(now_ms).push(tail);
            if let UpdateClaim::Job(id) = which {
                q.push(" AND j.id = ").push_bind(id.to_string());
            }
            q.push(" ORDER BY j.seq LIMIT 1");
            q
        };
        // A cheap look without the write lock first: nodes poll the queue often, and most polls
        // find nothing.
        {
            let mut conn = self.read().await?;
            let any: Option<i64> = claimable("1", time::unix_millis_now())
                .build_query_scalar()
                .fetch_optional(&mut *conn)
                .await?;
            if any.is_none() {
                return Ok(None);
            }
        }
        let mut tx = self.write().await?;
        let now_ms = time::unix_millis_now();
        let Some(row) = claimable("j.*", now_ms)
            .build()
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let mut found = job(&row)?;
        if found.status == UpdateStatus::InProgress {
            found.logs.push(REQUEUED_LINE.to_string());
        }
        sqlx::query(
            "UPDATE update_jobs SET status = 'in_progress', started_at = COALESCE(started_at, ?),
                 lease_owner = ?, lease_until = ?, attempts = attempts + 1, logs = ?
             WHERE id = ?",
        )
        .bind(time::iso_now())
        .bind(node)
        .bind(now_ms + lease_ms)
        .bind(logs_json(&found.logs)?)
        .bind(&found.id)
        .execute(&mut *tx)
        .await?;
        let job = load_job(&mut tx, &found.id).await?;
        let row = sqlx::query("SELECT * FROM kb_sources WHERE kb_id = ?")
            .bind(&job.kb_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(ClaimedUpdate {
            job,
            source: source(&row)?,
            secrets: secrets(&row)?,
        }))
    }

    async fn renew_update(
        &self,
        update_id: &str,
        node: &str,
        lease_ms: i64,
        progress: &UpdateReport,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE update_jobs SET lease_until = ?, logs = ?, author = COALESCE(?, author),
                 commit_info = COALESCE(?, commit_info)
             WHERE id = ? AND lease_owner = ? AND status = 'in_progress'",
        )
        .bind(time::unix_millis_now() + lease_ms)
        .bind(logs_json(&progress.logs)?)
        .bind(&progress.author)
        .bind(commit_json(progress.commit.as_ref())?)
        .bind(update_id)
        .bind(node)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail_update(
        &self,
        update_id: &str,
        node: &str,
        report: &UpdateReport,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let ended = end_job(&mut tx, update_id, node, UpdateStatus::Failure, report).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn apply_update(
        &self,
        update_id: &str,
        node: &str,
        project_id: &str,
        kb_id: &str,
        changes: &SyncChanges,
        report: &UpdateReport,
    ) -> Result<bool> {
        check_plan(kb_id, changes)?;
        let now = time::now();
        let mut tx = self.write().await?;
        // The fence first: a node whose lease another node has taken over writes nothing.
        let owned: Option<(String, String)> = sqlx::query_as(
            "SELECT project_id, kb_id FROM update_jobs
             WHERE id = ? AND lease_owner = ? AND status = 'in_progress'",
        )
        .bind(update_id)
        .bind(node)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((job_project, job_kb)) = owned else {
            return Ok(false);
        };
        if job_project != project_id || job_kb != kb_id {
            return Err(StoreError::Internal(
                format!("update {update_id} is not an update of {kb_id}").into(),
            ));
        }
        require_kb(&mut tx, project_id, kb_id).await?;
        // The creates are one purchase, checked against the cap as a whole.
        charge_all(&mut tx, project_id, &plan_charges(changes), &now).await?;

        let conn: &mut SqliteConnection = &mut tx;
        for c in &changes.create_categories {
            write_category(conn, c, project_id, true).await?;
        }
        for c in &changes.update_categories {
            written(
                write_category(conn, c, project_id, false).await?,
                Entity::Category,
            )?;
        }
        for s in &changes.create_sections {
            write_section(conn, s, project_id, true).await?;
        }
        for s in &changes.update_sections {
            written(
                write_section(conn, s, project_id, false).await?,
                Entity::Section,
            )?;
        }
        for a in &changes.create_articles {
            content::write_article(conn, a, project_id, true).await?;
        }
        for f in &changes.create_faqs {
            content::write_faq(conn, f, project_id, true).await?;
        }
        for a in &changes.update_articles {
            written(
                content::write_article(conn, a, project_id, false).await?,
                Entity::Article,
            )?;
        }
        for f in &changes.update_faqs {
            written(
                content::write_faq(conn, f, project_id, false).await?,
                Entity::Faq,
            )?;
        }
        for id in &changes.delete_articles {
            delete_one(conn, Entity::Article, project_id, kb_id, id).await?;
        }
        for id in &changes.delete_faqs {
            delete_one(conn, Entity::Faq, project_id, kb_id, id).await?;
        }
        for id in &changes.delete_sections {
            // Whatever the planner left in it loses its section, as with the API's delete.
            for (entity, table) in [(Entity::Article, "articles"), (Entity::Faq, "faqs")] {
                changes::log_where(
                    conn,
                    entity,
                    table,
                    "section_id = ? AND kb_id = ? AND project_id = ?",
                    &[id, kb_id, project_id],
                )
                .await?;
            }
            delete_one(conn, Entity::Section, project_id, kb_id, id).await?;
        }
        for id in &changes.delete_categories {
            for (entity, table) in [
                (Entity::Section, "sections"),
                (Entity::Article, "articles"),
                (Entity::Faq, "faqs"),
            ] {
                changes::log_where(
                    conn,
                    entity,
                    table,
                    "category_id = ? AND kb_id = ? AND project_id = ?",
                    &[id, kb_id, project_id],
                )
                .await?;
            }
            delete_one(conn, Entity::Category, project_id, kb_id, id).await?;
        }
        let wrote = changes.change_count() > 0;
        if wrote {
            check_placements(conn, kb_id).await?;
            check_related(conn, kb_id, changes).await?;
        }
        if !changes.delete_articles.is_empty() || !changes.delete_categories.is_empty() {
            content::prune_related(conn, kb_id).await?;
        }

        if !changes.keep_items {
            replace_items(conn, kb_id, &changes.items).await?;
        }
        sqlx::query("UPDATE kb_sources SET last_commit = ?, last_synced_at = ? WHERE kb_id = ?")
            .bind(&changes.commit)
            .bind(&now)
            .bind(kb_id)
            .execute(&mut *conn)
            .await?;
        end_job(conn, update_id, node, UpdateStatus::Success, report).await?;
        // The content, the charge, the path map and the job's success commit together.
        tx.commit().await?;
        Ok(true)
    }
}

impl SqliteStore {
    /// The project's update jobs (or one KB's), newest first, keyset-paged on `seq`.
    async fn updates_page(
        &self,
        project_id: &str,
        kb_id: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<UpdateJob>> {
        let mut conn = self.read().await?;
        let mut q = sqlx::QueryBuilder::new("SELECT * FROM update_jobs WHERE project_id = ");
        q.push_bind(project_id.to_string());
        if let Some(kb_id) = kb_id {
            q.push(" AND kb_id = ").push_bind(kb_id.to_string());
        }
        if let Some(after) = page.after {
            q.push(" AND seq < ").push_bind(after.seq);
        }
        q.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(page.limit + 1);
        let rows = q.build().fetch_all(&mut *conn).await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok((
                    job(r)?,
                    Position {
                        sort: 0,
                        seq: r.try_get("seq")?,
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(finish_page(items, page.limit))
    }

    /// Queues an update of the KB (see [`SyncStore::enqueue_update`]); with `claim`, a new job
    /// of a KB with nothing in progress is created claimed by that node
    /// ([`SyncStore::enqueue_and_claim_update`]).
    async fn enqueue(
        &self,
        project_id: &str,
        kb_id: &str,
        trigger: UpdateTrigger,
        claim: Option<(&str, i64)>,
    ) -> Result<(UpdateJob, bool, Option<ClaimedUpdate>)> {
        let mut tx = self.write().await?;
        let slug: Option<String> =
            sqlx::query_scalar("SELECT slug FROM knowledge_bases WHERE id = ? AND project_id = ?")
                .bind(kb_id)
                .bind(project_id)
                .fetch_optional(&mut *tx)
                .await?;
        let slug = slug.ok_or(StoreError::NotFound(Entity::KnowledgeBase))?;
        let Some(source_row) = sqlx::query("SELECT * FROM kb_sources WHERE kb_id = ?")
            .bind(kb_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(StoreError::NotFound(Entity::Source));
        };
        let queued = sqlx::query(
            "SELECT * FROM update_jobs WHERE kb_id = ? AND status = 'queued' ORDER BY seq LIMIT 1",
        )
        .bind(kb_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = queued {
            return Ok((job(&row)?, false, None));
        }
        // Claimed at once only when the KB has no job running (one at a time per KB, as a
        // claim of a queued job requires).
        let claim = match claim {
            Some(claim) => {
                let running: Option<i64> = sqlx::query_scalar(
                    "SELECT 1 FROM update_jobs WHERE kb_id = ? AND status = 'in_progress' LIMIT 1",
                )
                .bind(kb_id)
                .fetch_optional(&mut *tx)
                .await?;
                running.is_none().then_some(claim)
            }
            None => None,
        };
        let created_at = time::iso_now();
        let j = UpdateJob {
            id: id::new_id(id::UPDATE),
            project_id: project_id.to_string(),
            kb_id: kb_id.to_string(),
            kb_slug: slug,
            // Claimed: as `claim_update` leaves a job it takes.
            status: match claim {
                Some(_) => UpdateStatus::InProgress,
                None => UpdateStatus::Queued,
            },
            trigger,
            summary: String::new(),
            logs: Vec::new(),
            started_at: claim.map(|_| created_at.clone()),
            created_at,
            ended_at: None,
            author: None,
            commit: None,
            attempts: i64::from(claim.is_some()),
        };
        sqlx::query(
            "INSERT INTO update_jobs (id, project_id, kb_id, kb_slug, status, trigger, created_at,
                 started_at, attempts, lease_owner, lease_until)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&j.id)
        .bind(project_id)
        .bind(kb_id)
        .bind(&j.kb_slug)
        .bind(j.status.as_str())
        .bind(trigger.as_str())
        .bind(&j.created_at)
        .bind(&j.started_at)
        .bind(j.attempts)
        .bind(claim.map(|(node, _)| node))
        .bind(claim.map(|(_, lease_ms)| time::unix_millis_now() + lease_ms))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let claimed = match claim {
            Some(_) => Some(ClaimedUpdate {
                job: j.clone(),
                source: source(&source_row)?,
                secrets: secrets(&source_row)?,
            }),
            None => None,
        };
        Ok((j, true, claimed))
    }
}

/// Ends a job of `node` as `status` with `report`; `false` when it is not that node's.
async fn end_job(
    conn: &mut SqliteConnection,
    update_id: &str,
    node: &str,
    status: UpdateStatus,
    report: &UpdateReport,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE update_jobs SET status = ?, summary = ?, logs = ?, author = COALESCE(?, author),
             commit_info = COALESCE(?, commit_info), ended_at = ?, lease_until = NULL
         WHERE id = ? AND lease_owner = ? AND status = 'in_progress'",
    )
    .bind(status.as_str())
    .bind(&report.summary)
    .bind(logs_json(&report.logs)?)
    .bind(&report.author)
    .bind(commit_json(report.commit.as_ref())?)
    .bind(time::iso_now())
    .bind(update_id)
    .bind(node)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
