//! [`AssistantStore`] on PostgreSQL. Writes go through [`PgStore::write`] (the advisory write
//! lock), so the credit check of a reservation and its ledger row cannot race another writer on
//! any node.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use tome_core::assistant::{
    Conversation, NewExchange, Resolution, ResponseType, Role, Thread, ThreadMessage,
};
use tome_core::credits::{Action, Charge};
use tome_core::cursor::Position;
use tome_core::model::{Entity, KnowledgeBase};
use tome_core::{id, time};

use super::{PgStore, charge, findable, finish_page, require_kb, rows};
use crate::assistant::{PRUNE_BATCH, exchange_messages, sources_json};
use crate::{AssistantStore, DateRange, Page, PageRequest, Reservation, Result, StoreError};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Internal(format!("unexpected {what} {value:?} in database").into())
}

fn thread(row: &PgRow) -> Result<Thread> {
    Ok(Thread {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        kb_id: row.try_get("kb_id")?,
        fp: row.try_get("fp")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn response_type(value: Option<String>) -> Result<Option<ResponseType>> {
    value
        .map(|v| ResponseType::parse(&v).ok_or_else(|| corrupt("response type", &v)))
        .transpose()
}

fn resolution(value: Option<String>) -> Result<Option<Resolution>> {
    value
        .map(|v| Resolution::parse(&v).ok_or_else(|| corrupt("resolution", &v)))
        .transpose()
}

fn message(row: &PgRow) -> Result<ThreadMessage> {
    let role: String = row.try_get("role")?;
    let sources: String = row.try_get("sources")?;
    Ok(ThreadMessage {
        id: row.try_get("id")?,
        thread_id: row.try_get("thread_id")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("message role", &role))?,
        content: row.try_get("content")?,
        sources: serde_json::from_str(&sources)?,
        response_type: response_type(row.try_get("response_type")?)?,
        resolution: resolution(row.try_get("resolution")?)?,
        page_url: row.try_get("page_url")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A row of [`CONVERSATIONS`]: the answer's columns plus its question's `query` and
/// `query_page_url`.
fn conversation(row: &PgRow) -> Result<Conversation> {
    let sources: String = row.try_get("sources")?;
    let kind: Option<String> = row.try_get("response_type")?;
    let resolved: Option<String> = row.try_get("resolution")?;
    Ok(Conversation {
        id: row.try_get("id")?,
        thread_id: row.try_get("thread_id")?,
        timestamp: row.try_get("created_at")?,
        query: row.try_get("query")?,
        response: row.try_get("content")?,
        response_type: response_type(kind)?
            .ok_or_else(|| corrupt("response type", "NULL on an answer"))?,
        sources: serde_json::from_str(&sources)?,
        resolution: resolution(resolved)?
            .ok_or_else(|| corrupt("resolution", "NULL on an answer"))?,
        query_category: None,
        page_url: row.try_get("query_page_url")?,
    })
}

/// The project's answers (`a`), each with the question just before it in its thread (`q`). The
/// caller appends the project, range and keyset conditions and the order.
const CONVERSATIONS: &str = "SELECT a.seq, a.id, a.thread_id, a.content, a.sources,
        a.response_type, a.resolution, a.created_at,
        COALESCE(q.content, '') AS query, q.page_url AS query_page_url
    FROM assistant_messages a
    LEFT JOIN assistant_messages q ON q.seq = (
        SELECT MAX(p.seq) FROM assistant_messages p
        WHERE p.thread_id = a.thread_id AND p.role = 'user' AND p.seq < a.seq)
    WHERE a.role = 'assistant' AND a.project_id = ";

/// The thread, if it is the project's.
async fn load_thread(conn: &mut PgConnection, project_id: &str, thread_id: &str) -> Result<Thread> {
    let row = sqlx::query("SELECT * FROM assistant_threads WHERE id = $1 AND project_id = $2")
        .bind(findable(thread_id))
        .bind(project_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound(Entity::Thread))?;
    thread(&row)
}

async fn insert_message(
    conn: &mut PgConnection,
    project_id: &str,
    m: &ThreadMessage,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO assistant_messages (id, thread_id, project_id, role, content, sources,
             response_type, resolution, page_url, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&m.id)
    .bind(&m.thread_id)
    .bind(project_id)
    .bind(m.role.as_str())
    .bind(&m.content)
    .bind(sources_json(&m.sources)?)
    .bind(m.response_type.map(ResponseType::as_str))
    .bind(m.resolution.map(Resolution::as_str))
    .bind(&m.page_url)
    .bind(&m.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl AssistantStore for PgStore {
    async fn kb_by_slug(&self, project_id: &str, slug: &str) -> Result<Option<KnowledgeBase>> {
        let mut conn = self.read().await?;
        let row = sqlx::query("SELECT * FROM knowledge_bases WHERE project_id = $1 AND slug = $2")
            .bind(project_id)
            .bind(findable(slug))
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(rows::kb).transpose()
    }

    async fn create_thread(&self, project_id: &str, kb_id: &str, fp: &str) -> Result<Thread> {
        let mut tx = self.write().await?;
        require_kb(&mut tx, project_id, kb_id).await?;
        let now = time::iso_millis(time::unix_millis_now());
        let t = Thread {
            id: id::new_id(id::THREAD),
            project_id: project_id.to_string(),
            kb_id: kb_id.to_string(),
            fp: fp.to_string(),
            created_at: now.clone(),
            updated_at: now,
        };
        sqlx::query(
            "INSERT INTO assistant_threads (id, project_id, kb_id, fp, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&t.id)
        .bind(&t.project_id)
        .bind(&t.kb_id)
        .bind(&t.fp)
        .bind(&t.created_at)
        .bind(&t.updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(t)
    }

    async fn get_thread(&self, project_id: &str, kb_id: &str, thread_id: &str) -> Result<Thread> {
        let mut conn = self.read().await?;
        let t = load_thread(&mut conn, project_id, thread_id).await?;
        if t.kb_id != kb_id {
            return Err(StoreError::NotFound(Entity::Thread));
        }
        Ok(t)
    }

    async fn thread_messages(
        &self,
        project_id: &str,
        thread_id: &str,
    ) -> Result<(Thread, Vec<ThreadMessage>)> {
        // The thread and its messages from one snapshot.
        let mut tx = self.snapshot().await?;
        let t = load_thread(&mut tx, project_id, thread_id).await?;
        let rows =
            sqlx::query("SELECT * FROM assistant_messages WHERE thread_id = $1 ORDER BY seq")
                .bind(thread_id)
                .fetch_all(&mut *tx)
                .await?;
        let messages = rows.iter().map(message).collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
        Ok((t, messages))
    }

    async fn append_exchange(
        &self,
        project_id: &str,
        thread_id: &str,
        exchange: NewExchange,
    ) -> Result<ThreadMessage> {
        let mut tx = self.write().await?;
        let thread = load_thread(&mut tx, project_id, thread_id).await?;
        // Timed inside the write lock, so times follow commit (and `seq`) order across writers.
        let (question, answer) = exchange_messages(&thread, exchange, time::unix_millis_now());
        insert_message(&mut tx, project_id, &question).await?;
        insert_message(&mut tx, project_id, &answer).await?;
        sqlx::query("UPDATE assistant_threads SET updated_at = $1 WHERE id = $2")
            .bind(&answer.created_at)
            .bind(thread_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(answer)
    }

    async fn reserve_credits(&self, project_id: &str, c: Charge) -> Result<Reservation> {
        let mut tx = self.write().await?;
        let id = charge(&mut tx, project_id, c, &time::now()).await?;
        tx.commit().await?;
        Ok(Reservation { id })
    }

    async fn refund_credits(&self, project_id: &str, reservation: &Reservation) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM credit_ledger WHERE seq = $1 AND project_id = $2 AND action = $3")
            .bind(reservation.id)
            .bind(project_id)
            .bind(Action::AssistantMessage.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_conversations(
        &self,
        project_id: &str,
        range: &DateRange,
        page: PageRequest,
    ) -> Result<Page<Conversation>> {
        let (from, to) = range.bounds()?;
        let mut q = sqlx::QueryBuilder::new(CONVERSATIONS);
        q.push_bind(project_id.to_string());
        if let Some(from) = from {
            q.push(" AND a.created_at >= ").push_bind(from);
        }
        if let Some(to) = to {
            q.push(" AND a.created_at <= ").push_bind(to);
        }
        if let Some(after) = page.after {
            q.push(" AND a.seq < ").push_bind(after.seq);
        }
        q.push(" ORDER BY a.seq DESC LIMIT ")
            .push_bind(page.limit + 1);
        let mut conn = self.read().await?;
        let rows = q.build().fetch_all(&mut *conn).await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok((
                    conversation(r)?,
                    Position {
                        sort: 0,
                        seq: r.try_get("seq")?,
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(finish_page(items, page.limit))
    }

    async fn prune_threads(&self, before: &str) -> Result<u64> {
        let mut pruned = 0;
        loop {
            let mut tx = self.write().await?;
            // Messages go with their threads (ON DELETE CASCADE).
            let done = sqlx::query(
                "DELETE FROM assistant_threads WHERE seq IN (
                     SELECT seq FROM assistant_threads WHERE updated_at < $1 LIMIT $2)",
            )
            .bind(before)
            .bind(PRUNE_BATCH)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            pruned += done;
            if done < PRUNE_BATCH as u64 {
                return Ok(pruned);
            }
        }
    }
}
