//! The embedded SQLite backend: one file in WAL mode, durable by default.
//!
//! Writes open their transaction with `BEGIN IMMEDIATE`, taking SQLite's single write lock up
//! front. That serialises every read-check-write sequence (credit caps, slug uniqueness,
//! references) across connections and across processes sharing the file (the operator CLI), so
//! none of those checks can race.
//!
//! Inside one process, writes go through a pool of exactly one connection, so writers queue
//! fairly on an async semaphore instead of spinning in SQLite's sleep-based busy handler; reads use
//! a separate pool and, thanks to WAL, never wait for writers.

mod assistant;
mod changes;
mod content;
mod copy;
mod dashboard;
mod instance;
mod kb;
mod public;
mod rows;
mod sync;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection, SqlitePool};
use tome_core::cursor::Position;

use crate::{OpenOptions, Page, PageRequest, Result, StoreError};

/// Migrations embedded in the binary, applied in order at start. Never edit one that has shipped.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "changes",
        include_str!("../../migrations/sqlite/0002_changes.sql"),
    ),
    (
        3,
        "public_slug",
        include_str!("../../migrations/sqlite/0003_public_slug.sql"),
    ),
    (
        4,
        "sources",
        include_str!("../../migrations/sqlite/0004_sources.sql"),
    ),
    (
        5,
        "assistant",
        include_str!("../../migrations/sqlite/0005_assistant.sql"),
    ),
    (
        6,
        "dashboard_sessions",
        include_str!("../../migrations/sqlite/0006_dashboard_sessions.sql"),
    ),
    (
        7,
        "content_counts",
        include_str!("../../migrations/sqlite/0007_content_counts.sql"),
    ),
];

/// The SQLite implementation of [`crate::Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens `tome.db` inside `dir`, creating both if needed.
    pub async fn open_dir(dir: &Path, options: &OpenOptions) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Config(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        Self::open_file(&dir.join("tome.db"), options).await
    }

    /// Opens the database file at `path`, creating it if needed.
    pub async fn open_file(path: &Path, options: &OpenOptions) -> Result<Self> {
        let connect = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|e| StoreError::Config(e.to_string()))?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if options.durable {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let open_err = |e: sqlx::Error| {
            StoreError::Config(format!("cannot open database {}: {e}", path.display()))
        };
        let writer = connect_pool(
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(Duration::from_secs(30)),
            &connect,
        )
        .await
        .map_err(open_err)?;
        // No ping before handing out a read connection: a local file cannot drop the link, and
        // the ping is one more hand-off to the connection's thread on every read. Connections
        // are opened at start and kept for the life of the process: sqlx's default idle timeout
        // (10 minutes) and lifetime (30) would close them for nothing a local file needs, and
        // the next reads would pay for new ones (a thread, the schema, empty page and statement
        // caches) — on a quiet help centre, the first visitor after every pause.
        let readers = options.max_connections.max(1);
        let reader = connect_pool(
            SqlitePoolOptions::new()
                .max_connections(readers)
                .min_connections(readers)
                .idle_timeout(None)
                .max_lifetime(None)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10)),
            &connect,
        )
        .await
        .map_err(open_err)?;
        let store = SqliteStore { reader, writer };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut conn = self.writer.acquire().await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .execute(&mut *conn)
        .await?;
        for &(version, name, sql) in MIGRATIONS {
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_some() {
                continue;
            }
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            )
            .bind(version)
            .bind(name)
            .bind(tome_core::time::now())
            .execute(&mut *tx)
            .await?;
            // The schema change and its record commit together, so a crash cannot half-apply it.
            tx.commit().await?;
            tracing::info!(version, name, "applied database migration");
        }
        Ok(())
    }

    /// Starts a write transaction holding SQLite's write lock.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A connection of the write pool, for single-statement writes outside a transaction.
    async fn write_conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>> {
        Ok(self.writer.acquire().await?)
    }

    async fn read(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>> {
        Ok(self.reader.acquire().await?)
    }

    /// Closes both pools, checkpointing the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// Appends the keyset condition and order for `(sort_order, seq)` lists.
fn push_keyset(q: &mut sqlx::QueryBuilder<sqlx::Sqlite>, alias: &str, page: &PageRequest) {
    if let Some(p) = page.after {
        q.push(format!(" AND ({alias}.sort_order > "))
            .push_bind(p.sort)
            .push(format!(" OR ({alias}.sort_order = "))
            .push_bind(p.sort)
            .push(format!(" AND {alias}.seq > "))
            .push_bind(p.seq)
            .push("))");
    }
    q.push(format!(" ORDER BY {alias}.sort_order, {alias}.seq LIMIT "))
        .push_bind(page.limit + 1);
}

/// Turns `limit + 1` fetched rows into a page.
fn finish_page<T>(mut rows: Vec<(T, Position)>, limit: i64) -> Page<T> {
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next = if has_more {
        rows.last().map(|(_, p)| *p)
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(|(t, _)| t).collect(),
        next,
    }
}

/// Checks that the KB exists in the project.
async fn require_kb(conn: &mut SqliteConnection, project_id: &str, kb_id: &str) -> Result<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM knowledge_bases WHERE id = ? AND project_id = ?")
            .bind(kb_id)
            .bind(project_id)
            .fetch_optional(&mut *conn)
            .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound(
        tome_core::model::Entity::KnowledgeBase,
    ))
}

/// Debits the project's ledger for `charge`, refusing if the monthly cap would be exceeded, and
/// returns the ledger row's `seq` (what a refundable reservation refers to).
/// Must run inside the write transaction that creates what is being paid for.
async fn charge(
    conn: &mut SqliteConnection,
    project_id: &str,
    charge: tome_core::credits::Charge,
    now: &str,
) -> Result<i64> {
    let month = tome_core::time::month_of(now);
    let price = charge.credits();
    check_cap(conn, project_id, price, month).await?;
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO credit_ledger (project_id, month, action, items, credits, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING seq",
    )
    .bind(project_id)
    .bind(month)
    .bind(charge.action.as_str())
    .bind(charge.count)
    .bind(price)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(seq)
}

/// Refuses with `SpendingCap` when spending `price` more in `month` would exceed the project's
/// cap.
async fn check_cap(
    conn: &mut SqliteConnection,
    project_id: &str,
    price: i64,
    month: &str,
) -> Result<()> {
    let cap: Option<i64> = sqlx::query_scalar("SELECT credit_cap FROM projects WHERE id = ?")
        .bind(project_id)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
    if let Some(cap) = cap {
        let used: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(credits), 0) FROM credit_ledger WHERE project_id = ? AND month = ?",
        )
        .bind(project_id)
        .bind(month)
        .fetch_one(&mut *conn)
        .await?;
        if used + price > cap {
            return Err(StoreError::SpendingCap { cap, used, price });
        }
    }
    Ok(())
}

/// Debits several charges as one purchase: the cap is checked against their total, then each
/// gets its own ledger row. Must run inside the write transaction that creates what they pay for.
async fn charge_all(
    conn: &mut SqliteConnection,
    project_id: &str,
    charges: &[tome_core::credits::Charge],
    now: &str,
) -> Result<()> {
    let total: i64 = charges.iter().map(|c| c.credits()).sum();
    check_cap(conn, project_id, total, tome_core::time::month_of(now)).await?;
    for c in charges {
        charge(conn, project_id, *c, now).await?;
    }
    Ok(())
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_pattern(word: &str) -> String {
    let mut p = String::with_capacity(word.len() + 2);
    p.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Opens a pool, retrying while the file is locked. Switching a new database to WAL takes an
/// exclusive lock, and SQLite answers `SQLITE_BUSY` at once (without its busy handler) to a second
/// process opening the same new file at that moment: several processes starting together (nodes,
/// `tome serve` next to a CLI command) would otherwise fail now and then.
async fn connect_pool(
    pool: SqlitePoolOptions,
    connect: &SqliteConnectOptions,
) -> std::result::Result<sqlx::SqlitePool, sqlx::Error> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut pause = Duration::from_millis(5);
    loop {
        match pool.clone().connect_with(connect.clone()).await {
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            done => return done,
        }
    }
}

/// Whether an error is SQLite's `SQLITE_BUSY` (any extended code of it).
fn is_busy(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 5)
}
