//! The change feed: rows appended inside every write transaction, and the reads followers use.

use async_trait::async_trait;
use sqlx::{Row, SqliteConnection};
use tome_core::model::Entity;

use super::{SqliteStore, rows};
use crate::{Change, ChangeFeed, DocKind, FeedState, IndexContent, IndexDoc, Result, StoreError};
use crate::{entity_name, parse_entity};

/// Records that `entity` `id` changed. Must run inside the write transaction that changed it.
pub(super) async fn log(
    conn: &mut SqliteConnection,
    project_id: &str,
    kb_id: Option<&str>,
    entity: Entity,
    id: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO changes (project_id, kb_id, entity, entity_id, created_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(project_id)
    .bind(kb_id)
    .bind(entity_name(entity))
    .bind(id)
    .bind(tome_core::time::now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records every row of `table` (a content table with `project_id`, `kb_id`, `id`) matching
/// `condition` — for cascades, run *before* the statement that changes or removes those rows.
/// `condition` is trusted SQL with `?` placeholders for `binds`.
pub(super) async fn log_where(
    conn: &mut SqliteConnection,
    entity: Entity,
    table: &'static str,
    condition: &'static str,
    binds: &[&str],
) -> Result<()> {
    let sql = format!(
        "INSERT INTO changes (project_id, kb_id, entity, entity_id, created_at)
         SELECT project_id, kb_id, '{}', id, ? FROM {table} WHERE {condition} ORDER BY seq",
        entity_name(entity)
    );
    // `entity`, `table` and `condition` are constants of this crate; values are bound.
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tome_core::time::now());
    for b in binds {
        q = q.bind(*b);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

fn change(row: &sqlx::sqlite::SqliteRow) -> Result<Change> {
    let name: String = row.try_get("entity")?;
    Ok(Change {
        seq: row.try_get("seq")?,
        project_id: row.try_get("project_id")?,
        kb_id: row.try_get("kb_id")?,
        entity: parse_entity(&name).ok_or_else(|| {
            StoreError::Internal(format!("unknown entity {name:?} in the change feed").into())
        })?,
        entity_id: row.try_get("entity_id")?,
        created_at: row.try_get("created_at")?,
    })
}

fn index_doc(kind: DocKind, row: &sqlx::sqlite::SqliteRow) -> Result<IndexDoc> {
    Ok(IndexDoc {
        project_id: row.try_get("project_id")?,
        content: match kind {
            DocKind::Article => IndexContent::Article(rows::article(row)?),
            DocKind::Faq => IndexContent::Faq(rows::faq(row)?),
        },
    })
}

/// `SELECT … WHERE id IN (…)` over `ids`, in chunks that stay under SQLite's bind limit.
async fn load_by_ids(
    conn: &mut SqliteConnection,
    kind: DocKind,
    ids: &[String],
    out: &mut Vec<IndexDoc>,
) -> Result<()> {
    let table = match kind {
        DocKind::Article => "articles",
        DocKind::Faq => "faqs",
    };
    for chunk in ids.chunks(500) {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT * FROM {table} WHERE id IN ("));
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(id.as_str());
        }
        q.push(")");
        for row in q.build().fetch_all(&mut *conn).await? {
            out.push(index_doc(kind, &row)?);
        }
    }
    Ok(())
}

#[async_trait]
impl ChangeFeed for SqliteStore {
    async fn feed_state(&self) -> Result<FeedState> {
        let mut conn = self.read().await?;
        let (feed_id, pruned_through): (String, i64) =
            sqlx::query_as("SELECT feed_id, pruned_through FROM change_feed WHERE id = 1")
                .fetch_one(&mut *conn)
                .await?;
        drop(conn);
        Ok(FeedState {
            feed_id,
            last_seq: self.last_change_seq().await?,
            pruned_through,
        })
    }

    async fn last_change_seq(&self) -> Result<i64> {
        let mut conn = self.read().await?;
        // `sqlite_sequence` keeps the highest AUTOINCREMENT value even after rows are pruned.
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")
                .fetch_optional(&mut *conn)
                .await?;
        Ok(seq.unwrap_or(0))
    }

    async fn changes_since(&self, after_seq: i64, limit: i64) -> Result<Vec<Change>> {
        let mut conn = self.read().await?;
        let rows = sqlx::query("SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(change).collect()
    }

    async fn index_docs(&self, articles: &[String], faqs: &[String]) -> Result<Vec<IndexDoc>> {
        let mut reader = self.read().await?;
        // One snapshot for both tables.
        let mut tx = sqlx::Connection::begin(&mut *reader).await?;
        let mut out = Vec::with_capacity(articles.len() + faqs.len());
        load_by_ids(&mut tx, DocKind::Article, articles, &mut out).await?;
        load_by_ids(&mut tx, DocKind::Faq, faqs, &mut out).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn scan_docs(
        &self,
        kind: DocKind,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, IndexDoc)>> {
        let sql = match kind {
            DocKind::Article => "SELECT * FROM articles WHERE seq > ? ORDER BY seq LIMIT ?",
            DocKind::Faq => "SELECT * FROM faqs WHERE seq > ? ORDER BY seq LIMIT ?",
        };
        let mut conn = self.read().await?;
        let rows = sqlx::query(sql)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("seq")?, index_doc(kind, r)?)))
            .collect()
    }

    async fn prune_changes(&self, before: &str) -> Result<u64> {
        let mut tx = self.write().await?;
        let through: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM changes WHERE created_at < ?")
                .bind(before)
                .fetch_one(&mut *tx)
                .await?;
        let Some(through) = through else {
            return Ok(0);
        };
        let done = sqlx::query("DELETE FROM changes WHERE seq <= ?")
            .bind(through)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE change_feed SET pruned_through = MAX(pruned_through, ?) WHERE id = 1")
            .bind(through)
            .execute(&mut *tx)
            .await?;
        // The rows and the watermark go together: a follower never misses a pruned row unseen.
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
