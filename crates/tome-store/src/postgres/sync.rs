//! Docs-as-code storage on PostgreSQL: sources, path maps, the update queue and the
//! one-transaction apply. Every write goes through [`PgStore::write`] (the advisory write lock);
//! a claim also locks the job row it takes with `FOR UPDATE SKIP LOCKED`, so two nodes can never
//! take one job even without the lock, and the fence of a renew, failure or apply is checked
//! against the locked row.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use tome_core::cursor::Position;
use tome_core::model::{Category, Entity, Section};
use tome_core::source::{
    CommitInfo, NewSource, Source, SourceFormat, SourceKind, SourceSecrets, UpdateJob,
    UpdateReport, UpdateStatus, UpdateTrigger,
};
use tome_core::{ValidationError, id, time};

use super::{PgStore, changes, charge_all, content, findable, finish_page, require_kb, rows};
use crate::sync::{
    ClaimedUpdate, KbContent, REQUEUED_LINE, SourceItem, SyncChanges, SyncStore, UpdateClaim,
    cap_logs, check_plan, missing_item, plan_charges, related_ids, self_related,
};
use crate::{Page, PageRequest, Result, StoreError, entity_name, parse_entity};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Internal(format!("unexpected {what} {value:?} in database").into())
}

fn source(row: &PgRow) -> Result<Source> {
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

fn secrets(row: &PgRow) -> Result<SourceSecrets> {
    Ok(SourceSecrets {
        token: row.try_get("token")?,
        webhook_secret: row.try_get("webhook_secret")?,
    })
}

fn job(row: &PgRow) -> Result<UpdateJob> {
    let status: String = row.try_get("status")?;
    let trigger: String = row.try_get("trigger")?;
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
        logs: row.try_get("logs")?,
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

fn item(row: &PgRow) -> Result<SourceItem> {
    let entity: String = row.try_get("entity")?;
    Ok(SourceItem {
        path: row.try_get("path")?,
        entity: parse_entity(&entity).ok_or_else(|| corrupt("source item entity", &entity))?,
        entity_id: row.try_get("entity_id")?,
        sha256: row.try_get("sha256")?,
    })
}

fn commit_json(commit: Option<&CommitInfo>) -> Result<Option<String>> {
    Ok(commit.map(serde_json::to_string).transpose()?)
}

async fn load_job(conn: &mut PgConnection, update_id: &str) -> Result<UpdateJob> {
    let row = sqlx::query("SELECT * FROM update_jobs WHERE id = $1")
        .bind(update_id)
        .fetch_one(&mut *conn)
        .await?;
    job(&row)
}

/// Jobs a node may claim (`j`, joined with its source `s`): queued ones of a KB with no job in
/// progress, and in-progress ones whose lease ran out before `$1` (Unix ms). An expired job of a
/// KB is older than anything queued for it, so it is taken first.
const CLAIMABLE: &str = "FROM update_jobs j JOIN kb_sources s ON s.kb_id = j.kb_id
    WHERE ((j.status = 'queued' AND NOT EXISTS (
               SELECT 1 FROM update_jobs r WHERE r.kb_id = j.kb_id AND r.status = 'in_progress'))
        OR (j.status = 'in_progress' AND (j.lease_until IS NULL OR j.lease_until < $1)))";

async fn write_category(
    conn: &mut PgConnection,
    c: &Category,
    project_id: &str,
    insert: bool,
) -> Result<u64> {
    let sql = if insert {
        "INSERT INTO categories (name, description, icon, sort_order, created_at, updated_at,
             id, kb_id, project_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    } else {
        "UPDATE categories SET name = $1, description = $2, icon = $3, sort_order = $4,
             created_at = $5, updated_at = $6
         WHERE id = $7 AND kb_id = $8 AND project_id = $9"
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
    conn: &mut PgConnection,
    s: &Section,
    project_id: &str,
    insert: bool,
) -> Result<u64> {
    let sql = if insert {
        "INSERT INTO sections (category_id, name, description, sort_order, created_at,
             updated_at, id, kb_id, project_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    } else {
        "UPDATE sections SET category_id = $1, name = $2, description = $3, sort_order = $4,
             created_at = $5, updated_at = $6
         WHERE id = $7 AND kb_id = $8 AND project_id = $9"
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
    conn: &mut PgConnection,
    entity: Entity,
    project_id: &str,
    kb_id: &str,
    id: &str,
) -> Result<()> {
    let sql = match entity {
        Entity::Category => {
            "DELETE FROM categories WHERE id = $1 AND kb_id = $2 AND project_id = $3"
        }
        Entity::Section => "DELETE FROM sections WHERE id = $1 AND kb_id = $2 AND project_id = $3",
        Entity::Article => "DELETE FROM articles WHERE id = $1 AND kb_id = $2 AND project_id = $3",
        _ => "DELETE FROM faqs WHERE id = $1 AND kb_id = $2 AND project_id = $3",
    };
    let done = sqlx::query(sql)
        .bind(findable(id))
        .bind(kb_id)
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    written(done.rows_affected(), entity)?;
    changes::log(conn, project_id, Some(kb_id), entity, id).await
}

/// Placement rules the API enforces on every write, checked over the whole KB after an apply:
/// each query finds a row that breaks one (`$1` is the KB).
const MISPLACED: [(&str, &str, &str); 5] = [
    (
        "category_id",
        "a section's category is not in this knowledge base",
        "SELECT s.id FROM sections s JOIN categories c ON c.id = s.category_id
         WHERE s.kb_id = $1 AND c.kb_id <> s.kb_id LIMIT 1",
    ),
    (
        "category_id",
        "an article's category is not in this knowledge base",
        "SELECT a.id FROM articles a JOIN categories c ON c.id = a.category_id
         WHERE a.kb_id = $1 AND c.kb_id <> a.kb_id LIMIT 1",
    ),
    (
        "section_id",
        "an article's section is not in this knowledge base or belongs to another category",
        "SELECT a.id FROM articles a JOIN sections s ON s.id = a.section_id
         WHERE a.kb_id = $1 AND (s.kb_id <> a.kb_id OR s.category_id <> a.category_id) LIMIT 1",
    ),
    (
        "category_id",
        "an FAQ's category is not in this knowledge base",
        "SELECT f.id FROM faqs f JOIN categories c ON c.id = f.category_id
         WHERE f.kb_id = $1 AND c.kb_id <> f.kb_id LIMIT 1",
    ),
    (
        "section_id",
        "an FAQ's section is not in this knowledge base or belongs to another category",
        "SELECT f.id FROM faqs f JOIN sections s ON s.id = f.section_id
         WHERE f.kb_id = $1 AND (s.kb_id <> f.kb_id OR s.category_id <> f.category_id) LIMIT 1",
    ),
];

async fn check_placements(conn: &mut PgConnection, kb_id: &str) -> Result<()> {
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
async fn check_related(conn: &mut PgConnection, kb_id: &str, c: &SyncChanges) -> Result<()> {
    if let Some(a) = self_related(c) {
        return Err(ValidationError::new(
            "related_articles",
            format!("article {} cannot be related to itself", a.id),
        )
        .into());
    }
    let wanted = related_ids(c);
    if wanted.is_empty() {
        return Ok(());
    }
    let found: Vec<String> =
        sqlx::query_scalar("SELECT id FROM articles WHERE kb_id = $1 AND id = ANY($2)")
            .bind(kb_id)
            .bind(&wanted)
            .fetch_all(&mut *conn)
            .await?;
    let found: std::collections::HashSet<String> = found.into_iter().collect();
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
async fn replace_items(conn: &mut PgConnection, kb_id: &str, items: &[SourceItem]) -> Result<()> {
    let rows = sqlx::query("SELECT * FROM source_items WHERE kb_id = $1")
        .bind(kb_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut old = std::collections::HashMap::with_capacity(rows.len());
    for r in &rows {
        let i = item(r)?;
        old.insert(i.path.clone(), i);
    }
    let wanted: std::collections::HashSet<&str> = items.iter().map(|i| i.path.as_str()).collect();
    let gone: Vec<String> = old
        .keys()
        .filter(|p| !wanted.contains(p.as_str()))
        .cloned()
        .collect();
    if !gone.is_empty() {
        sqlx::query("DELETE FROM source_items WHERE kb_id = $1 AND path = ANY($2)")
            .bind(kb_id)
            .bind(&gone)
            .execute(&mut *conn)
            .await?;
    }
    // Rows to insert and rows to change, as columns for one UNNEST statement each.
    let (mut new_rows, mut changed_rows) = (ItemColumns::default(), ItemColumns::default());
    for i in items {
        match old.get(&i.path) {
            Some(o) if o == i => {}
            Some(_) => changed_rows.push(i),
            None => new_rows.push(i),
        }
    }
    // New and changed entries must name an article or FAQ of the KB (unchanged ones did when
    // they were written, and a delete of their entity would have had to drop them).
    for (entity, table) in [(Entity::Article, "articles"), (Entity::Faq, "faqs")] {
        let written: Vec<&SourceItem> = items
            .iter()
            .filter(|i| i.entity == entity && old.get(&i.path) != Some(*i))
            .collect();
        if written.is_empty() {
            continue;
        }
        let ids: Vec<String> = written.iter().map(|i| i.entity_id.clone()).collect();
        let sql = format!("SELECT id FROM {table} WHERE kb_id = $1 AND id = ANY($2)");
        let found: std::collections::HashSet<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(kb_id)
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
        if let Some(i) = written.iter().find(|i| !found.contains(&i.entity_id)) {
            return Err(missing_item(i));
        }
    }
    if !new_rows.path.is_empty() {
        sqlx::query(
            "INSERT INTO source_items (kb_id, path, entity, entity_id, sha256)
             SELECT $1::TEXT, * FROM UNNEST($2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[])",
        )
        .bind(kb_id)
        .bind(&new_rows.path)
        .bind(&new_rows.entity)
        .bind(&new_rows.entity_id)
        .bind(&new_rows.sha256)
        .execute(&mut *conn)
        .await?;
    }
    if !changed_rows.path.is_empty() {
        sqlx::query(
            "UPDATE source_items i SET entity = u.entity, entity_id = u.entity_id,
                 sha256 = u.sha256
             FROM UNNEST($2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[])
                 AS u(path, entity, entity_id, sha256)
             WHERE i.kb_id = $1 AND i.path = u.path",
        )
        .bind(kb_id)
        .bind(&changed_rows.path)
        .bind(&changed_rows.entity)
        .bind(&changed_rows.entity_id)
        .bind(&changed_rows.sha256)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(Default)]
struct ItemColumns {
    path: Vec<String>,
    entity: Vec<String>,
    entity_id: Vec<String>,
    sha256: Vec<String>,
}

impl ItemColumns {
    fn push(&mut self, i: &SourceItem) {
        self.path.push(i.path.clone());
        self.entity.push(entity_name(i.entity).to_string());
        self.entity_id.push(i.entity_id.clone());
        self.sha256.push(i.sha256.clone());
    }
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

impl PgStore {
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
    /// ([`SyncStore::enqueue_and_claim_update`]). The instance-wide write lock orders this
    /// against every claim, so "nothing in progress" holds when it commits.
    async fn enqueue(
        &self,
        project_id: &str,
        kb_id: &str,
        trigger: UpdateTrigger,
        claim: Option<(&str, i64)>,
    ) -> Result<(UpdateJob, bool, Option<ClaimedUpdate>)> {
        let mut tx = self.write().await?;
        let slug: Option<String> = sqlx::query_scalar(
            "SELECT slug FROM knowledge_bases WHERE id = $1 AND project_id = $2",
        )
        .bind(findable(kb_id))
        .bind(project_id)
        .fetch_optional(&mut *tx)
        .await?;
        let slug = slug.ok_or(StoreError::NotFound(Entity::KnowledgeBase))?;
        let Some(source_row) = sqlx::query("SELECT * FROM kb_sources WHERE kb_id = $1")
            .bind(kb_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(StoreError::NotFound(Entity::Source));
        };
        let queued = sqlx::query(
            "SELECT * FROM update_jobs WHERE kb_id = $1 AND status = 'queued'
             ORDER BY seq LIMIT 1",
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
                let running: Option<bool> = sqlx::query_scalar(
                    "SELECT TRUE FROM update_jobs WHERE kb_id = $1 AND status = 'in_progress'
                     LIMIT 1",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
    conn: &mut PgConnection,
    update_id: &str,
    node: &str,
    status: UpdateStatus,
    report: &UpdateReport,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE update_jobs SET status = $1, summary = $2, logs = $3,
             author = COALESCE($4, author), commit_info = COALESCE($5, commit_info),
             ended_at = $6, lease_until = NULL
         WHERE id = $7 AND lease_owner = $8 AND status = 'in_progress'",
    )
    .bind(status.as_str())
    .bind(&report.summary)
    .bind(cap_logs(&report.logs))
    .bind(&report.author)
    .bind(commit_json(report.commit.as_ref())?)
    .bind(time::iso_now())
    .bind(findable(update_id))
    .bind(node)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl SyncStore for PgStore {
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
        let old = sqlx::query("SELECT * FROM kb_sources WHERE kb_id = $1")
            .bind(kb_id)
            .fetch_optional(&mut *tx)
            .await?;
        let created = old.is_none();
        match old {
            None => {
                sqlx::query(
                    "INSERT INTO kb_sources (kb_id, project_id, kind, url, branch, path, format,
                         token, webhook_secret, poll_interval_minutes, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
                    "UPDATE kb_sources SET kind = $1, url = $2, branch = $3, path = $4,
                         format = $5, token = $6, webhook_secret = $7,
                         poll_interval_minutes = $8, last_commit = $9, updated_at = $10
                     WHERE kb_id = $11",
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
        let row = sqlx::query("SELECT * FROM kb_sources WHERE kb_id = $1")
            .bind(kb_id)
            .fetch_one(&mut *tx)
            .await?;
        changes::log(&mut tx, project_id, Some(kb_id), Entity::Source, kb_id).await?;
        tx.commit().await?;
        Ok((source(&row)?, created))
    }

    async fn get_source(&self, project_id: &str, kb_id: &str) -> Result<Source> {
        let mut conn = self.read().await?;
        let row = sqlx::query("SELECT * FROM kb_sources WHERE kb_id = $1 AND project_id = $2")
            .bind(findable(kb_id))
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
        let row = sqlx::query("SELECT * FROM kb_sources WHERE kb_id = $1")
            .bind(findable(kb_id))
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|r| Ok((source(&r)?, secrets(&r)?))).transpose()
    }

    async fn delete_source(&self, project_id: &str, kb_id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        sqlx::query("DELETE FROM source_items WHERE kb_id = $1")
            .bind(kb_id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM kb_sources WHERE kb_id = $1 AND project_id = $2")
            .bind(kb_id)
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::Source));
        }
        // A running job's node finds it no longer its own at its next renew or apply.
        sqlx::query(
            "UPDATE update_jobs SET status = 'failure', summary = 'source removed', ended_at = $1,
                 lease_until = NULL
             WHERE kb_id = $2 AND status IN ('queued', 'in_progress')",
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
            "UPDATE kb_sources SET last_polled_at = $1
             WHERE poll_interval_minutes IS NOT NULL
               AND (last_polled_at IS NULL OR last_polled_at <= $1 - poll_interval_minutes * 60)
             RETURNING project_id, kb_id",
        )
        .bind(now_unix)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        due.sort_unstable();
        Ok(due)
    }

    async fn kb_content(&self, project_id: &str, kb_id: &str) -> Result<KbContent> {
        // One snapshot for all four lists.
        let mut tx = self.snapshot().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        let mut out = KbContent::default();
        let by_seq = |table: &str| {
            format!("SELECT * FROM {table} WHERE kb_id = $1 AND project_id = $2 ORDER BY seq")
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
        let rows = sqlx::query("SELECT * FROM source_items WHERE kb_id = $1 ORDER BY seq")
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
        let row = sqlx::query("SELECT * FROM update_jobs WHERE id = $1 AND project_id = $2")
            .bind(findable(update_id))
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
             WHERE project_id = $1 AND kb_id = $2 AND status = 'success'
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
        let claimable = |select: &str, now_ms: i64, lock: bool| {
            let mut q = sqlx::QueryBuilder::new(format!("SELECT {select} "));
            // CLAIMABLE's `$1` is the first bind of the statement.
            let (head, tail) = CLAIMABLE.split_once("$1").unwrap_or((CLAIMABLE, ""));
            q.push(head).push_bind(now_ms).push(tail);
            if let UpdateClaim::Job(id) = which {
                q.push(" AND j.id = ").push_bind(findable(id).to_string());
            }
            q.push(" ORDER BY j.seq LIMIT 1");
            if lock {
                // Another node's claim of the same row makes this one skip it, not wait.
                q.push(" FOR UPDATE OF j SKIP LOCKED");
            }
            q
        };
        // A cheap look without the write lock first: nodes poll the queue often, and most polls
        // find nothing.
        {
            let mut conn = self.read().await?;
            let any: Option<i32> = claimable("1", time::unix_millis_now(), false)
                .build_query_scalar()
                .fetch_optional(&mut *conn)
                .await?;
            if any.is_none() {
                return Ok(None);
            }
        }
        let mut tx = self.write().await?;
        let now_ms = time::unix_millis_now();
        let Some(row) = claimable("j.*", now_ms, true)
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
            "UPDATE update_jobs SET status = 'in_progress', started_at = COALESCE(started_at, $1),
                 lease_owner = $2, lease_until = $3, attempts = attempts + 1, logs = $4
             WHERE id = $5",
        )
        .bind(time::iso_now())
        .bind(node)
        .bind(now_ms + lease_ms)
        .bind(cap_logs(&found.logs))
        .bind(&found.id)
        .execute(&mut *tx)
        .await?;
        let job = load_job(&mut tx, &found.id).await?;
        let row = sqlx::query("SELECT * FROM kb_sources WHERE kb_id = $1")
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
            "UPDATE update_jobs SET lease_until = $1, logs = $2, author = COALESCE($3, author),
                 commit_info = COALESCE($4, commit_info)
             WHERE id = $5 AND lease_owner = $6 AND status = 'in_progress'",
        )
        .bind(time::unix_millis_now() + lease_ms)
        .bind(cap_logs(&progress.logs))
        .bind(&progress.author)
        .bind(commit_json(progress.commit.as_ref())?)
        .bind(findable(update_id))
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
             WHERE id = $1 AND lease_owner = $2 AND status = 'in_progress'
             FOR UPDATE",
        )
        .bind(findable(update_id))
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

        let conn: &mut PgConnection = &mut tx;
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
                    "section_id = $2 AND kb_id = $3 AND project_id = $4",
                    &[findable(id), kb_id, project_id],
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
                    "category_id = $2 AND kb_id = $3 AND project_id = $4",
                    &[findable(id), kb_id, project_id],
                )
                .await?;
            }
            delete_one(conn, Entity::Category, project_id, kb_id, id).await?;
        }
        if changes.change_count() > 0 {
            check_placements(conn, kb_id).await?;
            check_related(conn, kb_id, changes).await?;
        }
        if !changes.delete_articles.is_empty() || !changes.delete_categories.is_empty() {
            content::prune_related(conn, kb_id).await?;
        }

        if !changes.keep_items {
            replace_items(conn, kb_id, &changes.items).await?;
        }
        sqlx::query("UPDATE kb_sources SET last_commit = $1, last_synced_at = $2 WHERE kb_id = $3")
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
