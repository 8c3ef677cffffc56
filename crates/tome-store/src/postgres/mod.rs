//! The PostgreSQL backend, for several Tome nodes sharing one database.
//!
//! **Writes are serialised.** Every write transaction starts with
//! `pg_advisory_xact_lock(key)`, one key per database schema, held until `COMMIT`. It plays the
//! part of SQLite's `BEGIN IMMEDIATE`: read-check-write sequences (the credit cap, slug
//! uniqueness, references) cannot race across connections, nodes or the operator CLI, and writes
//! commit in the order they took the lock, so anything numbered inside a write transaction (a
//! `seq` from a sequence) is numbered in commit order. Reads take no lock and use a plain
//! connection (READ COMMITTED), or one REPEATABLE READ transaction when several queries must see
//! one snapshot.
//!
//! Writes have a pool of their own, of [`WRITE_CONNECTIONS`]: they run one at a time anyway, and
//! writers queued behind the lock must never hold every connection, or reads (including the key
//! lookup of every request) would starve behind them.
//!
//! Connection problems surface as [`StoreError::Unavailable`] (the HTTP layer answers 503): at
//! once when the database refuses connections (see [`reach`]), after at most the pool's acquire
//! timeout when it does not answer at all; a statement or lock wait that runs too long is
//! cancelled by the server and reported the same way.

mod assistant;
mod changes;
mod content;
mod copy;
mod dashboard;
mod instance;
mod kb;
mod public;
mod reach;
mod rows;
mod sync;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tome_core::cursor::Position;

use crate::{OpenOptions, Page, PageRequest, Result, StoreError};

/// Migrations embedded in the binary, applied in order at start. Never edit one that has shipped.
/// Version numbers match the SQLite backend's, so both speak of the same schema.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "changes",
        include_str!("../../migrations/postgres/0002_changes.sql"),
    ),
    (
        3,
        "public_slug",
        include_str!("../../migrations/postgres/0003_public_slug.sql"),
    ),
    (
        4,
        "sources",
        include_str!("../../migrations/postgres/0004_sources.sql"),
    ),
    (
        5,
        "assistant",
        include_str!("../../migrations/postgres/0005_assistant.sql"),
    ),
    (
        6,
        "dashboard_sessions",
        include_str!("../../migrations/postgres/0006_dashboard_sessions.sql"),
    ),
    (
        7,
        "content_counts",
        include_str!("../../migrations/postgres/0007_content_counts.sql"),
    ),
];

/// The upper 32 bits of the advisory-lock key: "tome" in ASCII. The lower 32 bits are the OID of
/// the schema the tables live in, so two instances in different schemas of one database (the
/// test suite does this) do not serialise each other.
const LOCK_CLASS: i64 = 0x746f_6d65;

/// Server-side limits set on every connection unless the URL sets them. A write holds the
/// global write lock, so no statement may run, wait for a lock, or sit idle inside a transaction
/// for long; a node that hangs mid-transaction loses its lock after a minute.
const SESSION_SETTINGS: [(&str, &str); 3] = [
    ("statement_timeout", "30s"),
    ("lock_timeout", "15s"),
    ("idle_in_transaction_session_timeout", "60s"),
];

/// Connections of the write pool: one writing, one already waiting for the lock.
pub const WRITE_CONNECTIONS: u32 = 2;

/// A pooled connection idle for longer than this is pinged before use, so one that died while
/// idle (a database restart) is replaced instead of failing a request. Busier connections skip
/// the round trip; one severed between two uses a moment apart fails that one request, is
/// dropped, and the pool opens a new one. (HikariCP's default is the same idea, at 500 ms.)
pub const PING_IF_IDLE: Duration = Duration::from_millis(500);

/// The PostgreSQL implementation of [`crate::Store`].
#[derive(Debug, Clone)]
pub struct PgStore {
    /// Reads, and the lock-free `touch_api_key`.
    pool: PgPool,
    /// Write transactions only.
    writer: PgPool,
    /// `LOCK_CLASS << 32 | schema OID`, the key every write transaction locks.
    lock_key: i64,
    /// Fails acquires at once while the database does not answer.
    reach: std::sync::Arc<reach::Reach>,
}

/// `postgres://user@host:port/db`, without the password or parameters, for messages.
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://` or `postgresql://`) and migrates it.
    pub async fn connect(url: &str, options: &OpenOptions) -> Result<Self> {
        let mut connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
        // Settings the URL sets itself (`?options[statement_timeout]=2min`) win over ours.
        let own = connect.get_options().unwrap_or_default().to_string();
        connect = connect.options(
            SESSION_SETTINGS
                .into_iter()
                .filter(|(name, _)| !own.contains(name)),
        );
        if connect.get_application_name().is_none() {
            connect = connect.application_name("tome");
        }
        let target = describe(&connect);
        // One plain connection first: the pool would retry until its timeout and then report
        // only that it timed out, hiding why (refused, bad password, no such database, TLS).
        match tokio::time::timeout(
            options.acquire_timeout,
            PgConnection::connect_with(&connect),
        )
        .await
        {
            Ok(Ok(conn)) => conn.close().await?,
            Ok(Err(e)) => {
                return Err(StoreError::Config(format!(
                    "cannot connect to {target}: {e}"
                )));
            }
            Err(_) => {
                return Err(StoreError::Config(format!(
                    "cannot connect to {target}: no answer within {} s",
                    options.acquire_timeout.as_secs_f32()
                )));
            }
        }
        let pool_options = |size: u32| {
            PgPoolOptions::new()
                .max_connections(size)
                // One connection stays open through quiet spells, so the first request after
                // one does not pay for a TCP (and TLS) handshake.
                .min_connections(1)
                .acquire_timeout(options.acquire_timeout)
                // sqlx pings on every acquire by default; a round trip per query is too much,
                // and connections that break in use are already dropped when returned.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= PING_IF_IDLE {
                            conn.ping().await?;
                        }
                        Ok(true)
                    })
                })
        };
        let open_err =
            |e: sqlx::Error| StoreError::Config(format!("cannot connect to {target}: {e}"));
        let pool = pool_options(options.max_connections.max(1))
            .connect_with(connect.clone())
            .await
            .map_err(open_err)?;
        let writer = pool_options(WRITE_CONNECTIONS)
            .connect_with(connect.clone())
            .await
            .map_err(open_err)?;
        let lock_key = Self::lock_key(&pool).await?;
        let store = PgStore {
            pool,
            writer,
            lock_key,
            reach: std::sync::Arc::new(reach::Reach::new(connect, options.acquire_timeout)),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The write-lock key for the schema that unqualified table names resolve to.
    async fn lock_key(pool: &PgPool) -> Result<i64> {
        let oid: Option<i64> = sqlx::query_scalar(
            "SELECT n.oid::BIGINT FROM pg_namespace n WHERE n.nspname = current_schema()",
        )
        .fetch_optional(pool)
        .await?;
        let oid = oid.ok_or_else(|| {
            StoreError::Config(
                "no schema to keep Tome's tables in: the connection's search_path names no \
                 existing schema"
                    .to_string(),
            )
        })?;
        Ok(LOCK_CLASS << 32 | (oid & 0xffff_ffff))
    }

    /// Applies pending migrations. Safe when several nodes start at once: each migration runs in
    /// its own transaction behind the write lock, and re-checks whether it is still pending once
    /// it holds the lock.
    async fn migrate(&self) -> Result<()> {
        {
            let mut tx = self.write().await?;
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        for &(version, name, sql) in MIGRATIONS {
            let mut tx = self.write().await?;
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_some() {
                continue;
            }
            // A migration may rewrite a large table: the per-statement limit is for requests.
            sqlx::query("SET LOCAL statement_timeout = 0")
                .execute(&mut *tx)
                .await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(version)
            .bind(name)
            .bind(tome_core::time::now())
            .execute(&mut *tx)
            .await?;
            // DDL is transactional in PostgreSQL: the schema change and its record commit
            // together, so a crash or a failed statement cannot half-apply a migration.
            tx.commit().await?;
            tracing::info!(version, name, "applied database migration");
        }
        Ok(())
    }

    /// Starts a write transaction holding the instance-wide write lock.
    ///
    /// Every write goes through here, and the lock is the transaction's first statement, so
    /// writes commit one at a time in lock order. Rows a future change feed inserts inside these
    /// transactions are therefore numbered in commit order.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self.reach.guard(self.writer.begin()).await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(self.lock_key)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    async fn read(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>> {
        self.reach.guard(self.pool.acquire()).await
    }

    /// A read-only transaction whose queries all see one snapshot.
    async fn snapshot(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.reach
            .guard(
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
            )
            .await
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// Appends the keyset condition and order for `(sort_order, seq)` lists.
fn push_keyset(q: &mut sqlx::QueryBuilder<sqlx::Postgres>, alias: &str, page: &PageRequest) {
    if let Some(p) = page.after {
        q.push(format!(" AND ({alias}.sort_order, {alias}.seq) > ("))
            .push_bind(p.sort)
            .push(", ")
            .push_bind(p.seq)
            .push(")");
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

/// A value from a URL to look rows up by, made safe to send: PostgreSQL text cannot hold U+0000
/// and rejects a parameter containing it. Validation keeps it out of everything stored, so such
/// a lookup can only find nothing, as it does on SQLite; `""` is never an ID or slug, so it
/// finds nothing the same way, through the same code path and `*_not_found` code.
pub(crate) fn findable(value: &str) -> &str {
    if value.contains('\0') { "" } else { value }
}

/// Checks that the KB exists in the project.
async fn require_kb(conn: &mut PgConnection, project_id: &str, kb_id: &str) -> Result<()> {
    let found: Option<bool> =
        sqlx::query_scalar("SELECT TRUE FROM knowledge_bases WHERE id = $1 AND project_id = $2")
            .bind(findable(kb_id))
            .bind(project_id)
            .fetch_optional(&mut *conn)
            .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound(
        tome_core::model::Entity::KnowledgeBase,
    ))
}

/// Debits the project's ledger for `charge`, refusing if the monthly cap would be exceeded, and
/// returns the ledger row's `seq` (what a refundable reservation refers to).
/// Must run inside the write transaction that creates what is being paid for; the write lock
/// makes the check and the insert atomic across nodes.
async fn charge(
    conn: &mut PgConnection,
    project_id: &str,
    charge: tome_core::credits::Charge,
    now: &str,
) -> Result<i64> {
    let month = tome_core::time::month_of(now);
    let price = charge.credits();
    check_cap(conn, project_id, price, month).await?;
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO credit_ledger (project_id, month, action, items, credits, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
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
    conn: &mut PgConnection,
    project_id: &str,
    price: i64,
    month: &str,
) -> Result<()> {
    let cap: Option<i64> = sqlx::query_scalar("SELECT credit_cap FROM projects WHERE id = $1")
        .bind(project_id)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
    if let Some(cap) = cap {
        // SUM(BIGINT) is NUMERIC in PostgreSQL; cast it back.
        let used: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(credits), 0)::BIGINT FROM credit_ledger
             WHERE project_id = $1 AND month = $2",
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
    conn: &mut PgConnection,
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

/// A `LIKE … ESCAPE '\'` pattern matching `word` anywhere, lowercased the way
/// `lower(x COLLATE "C")` lowercases (ASCII only). Compared against `lower(column COLLATE "C")`,
/// it matches exactly what SQLite's LIKE does: case-insensitive for ASCII letters, exact for
/// every other character.
fn like_pattern(word: &str) -> String {
    let mut p = String::with_capacity(word.len() + 2);
    p.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c.to_ascii_lowercase());
    }
    p.push('%');
    p
}

/// Whether `e` is a violation of the constraint called `name`.
fn violates(e: &sqlx::Error, name: &str) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.constraint() == Some(name))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[cfg(feature = "testing")]
    #[tokio::test]
    async fn session_settings_default_and_yield_to_the_url() {
        let Some(db) = crate::testing::TestDb::postgres("session_settings") else {
            return;
        };
        // Without the application name the test database adds, to see the default.
        let base = db.url();
        let base = base.split("&application_name=").next().unwrap();
        let url = format!("{base}&options[statement_timeout]=2min");
        let store = PgStore::connect(&url, &OpenOptions::default())
            .await
            .unwrap();
        for (setting, want) in [
            ("statement_timeout", "2min"),
            ("lock_timeout", "15s"),
            ("idle_in_transaction_session_timeout", "1min"),
            ("application_name", "tome"),
        ] {
            let got: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
                .fetch_one(&store.writer)
                .await
                .unwrap();
            assert_eq!(got, want, "{setting}");
        }
        store.close().await;
    }

    #[test]
    fn like_patterns_escape_wildcards_and_fold_ascii_only() {
        assert_eq!(like_pattern("Ab%_\\"), "%ab\\%\\_\\\\%");
        assert_eq!(like_pattern("ÉCOLE"), "%École%");
    }
}
