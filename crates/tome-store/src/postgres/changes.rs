//! The change feed on PostgreSQL: rows appended inside every write transaction (which holds the
//! advisory write lock, so `seq` order is commit order), and the reads followers use.

use async_trait::async_trait;
use sqlx::{PgConnection, Row};
use tome_core::model::Entity;

use super::{PgStore, rows};
use crate::{
    Change, ChangeFeed, DocKind, FeedState, IndexContent, IndexDoc, Result, StoreError,
    entity_name, parse_entity,
};

/// Records that `entity` `id` changed. Must run inside the write transaction that changed it.
pub(super) async fn log(
    conn: &mut PgConnection,
    project_id: &str,
    kb_id: Option<&str>,
    entity: Entity,
    id: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO changes (project_id, kb_id, entity, entity_id, created_at)
         VALUES ($1, $2, $3, $4, $5)",
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
/// `condition` is trusted SQL with `$2`, `$3`, … placeholders for `binds` (`$1` is the time).
pub(super) async fn log_where(
    conn: &mut PgConnection,
    entity: Entity,
    table: &'static str,
    condition: &'static str,
    binds: &[&str],
) -> Result<()> {
    let sql = format!(
        "INSERT INTO changes (project_id, kb_id, entity, entity_id, created_at)
         SELECT project_id, kb_id, '{}', id, $1 FROM {table} WHERE {condition} ORDER BY seq",
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

fn change(row: &sqlx::postgres::PgRow) -> Result<Change> {
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

fn index_doc(kind: DocKind, row: &sqlx::postgres::PgRow) -> Result<IndexDoc> {
    Ok(IndexDoc {
        project_id: row.try_get("project_id")?,
        content: match kind {
            DocKind::Article => IndexContent::Article(rows::article(row)?),
            DocKind::Faq => IndexContent::Faq(rows::faq(row)?),
        },
    })
}

fn table(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Article => "articles",
        DocKind::Faq => "faqs",
    }
}

#[async_trait]
impl ChangeFeed for PgStore {
    async fn feed_state(&self) -> Result<FeedState> {
        let mut conn = self.snapshot().await?;
        let (feed_id, pruned_through): (String, i64) =
            sqlx::query_as("SELECT feed_id, pruned_through FROM change_feed WHERE id = 1")
                .fetch_one(&mut *conn)
                .await?;
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM changes")
            .fetch_one(&mut *conn)
            .await?;
        conn.commit().await?;
        Ok(FeedState {
            feed_id,
            last_seq: last.unwrap_or(0).max(pruned_through),
            pruned_through,
        })
    }

    async fn last_change_seq(&self) -> Result<i64> {
        let mut conn = self.read().await?;
        // Committed rows only (a sequence's `last_value` could name an uncommitted one); after a
        // prune that took every row, the watermark still remembers how far the feed went.
        let seq: i64 = sqlx::query_scalar(
            "SELECT GREATEST(
                 COALESCE((SELECT MAX(seq) FROM changes), 0),
                 (SELECT pruned_through FROM change_feed WHERE id = 1))",
        )
        .fetch_one(&mut *conn)
        .await?;
        Ok(seq)
    }

    async fn changes_since(&self, after_seq: i64, limit: i64) -> Result<Vec<Change>> {
        let mut conn = self.read().await?;
        let rows = sqlx::query("SELECT * FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(change).collect()
    }

    async fn index_docs(&self, articles: &[String], faqs: &[String]) -> Result<Vec<IndexDoc>> {
        // One snapshot for both tables.
        let mut tx = self.snapshot().await?;
        let mut out = Vec::with_capacity(articles.len() + faqs.len());
        for (kind, ids) in [(DocKind::Article, articles), (DocKind::Faq, faqs)] {
            if ids.is_empty() {
                continue;
            }
            let sql = format!("SELECT * FROM {} WHERE id = ANY($1)", table(kind));
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ids)
                .fetch_all(&mut *tx)
                .await?;
            for row in &rows {
                out.push(index_doc(kind, row)?);
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn scan_docs(
        &self,
        kind: DocKind,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, IndexDoc)>> {
        let sql = format!(
            "SELECT * FROM {} WHERE seq > $1 ORDER BY seq LIMIT $2",
            table(kind)
        );
        let mut conn = self.read().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
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
            sqlx::query_scalar("SELECT MAX(seq) FROM changes WHERE created_at < $1")
                .bind(before)
                .fetch_one(&mut *tx)
                .await?;
        let Some(through) = through else {
            return Ok(0);
        };
        let done = sqlx::query("DELETE FROM changes WHERE seq <= $1")
            .bind(through)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE change_feed SET pruned_through = GREATEST(pruned_through, $1) WHERE id = 1",
        )
        .bind(through)
        .execute(&mut *tx)
        .await?;
        // The rows and the watermark go together: a follower never misses a pruned row unseen.
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
