//! `tome copy` on SQLite: raw rows in and out of one transaction.

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, Row as _, Sqlite, Transaction};

use super::SqliteStore;
use crate::Result;
use crate::copy::{Kind, Row, Session, Table, Value, rows_per_insert};

/// A copy's connection, inside a read transaction (source) or a write transaction (target).
struct SqliteSession {
    tx: Transaction<'static, Sqlite>,
}

impl SqliteStore {
    /// A deferred transaction on a reader: its first query fixes the snapshot every later one
    /// sees, while writers carry on (WAL).
    pub(crate) async fn copy_reader(&self) -> Result<Box<dyn Session>> {
        Ok(Box::new(SqliteSession {
            tx: self.reader.begin().await?,
        }))
    }

    /// A write transaction holding SQLite's write lock until the copy commits or fails.
    pub(crate) async fn copy_writer(&self) -> Result<Box<dyn Session>> {
        Ok(Box::new(SqliteSession {
            tx: self.write().await?,
        }))
    }
}

fn decode(row: &sqlx::sqlite::SqliteRow, i: usize, kind: Kind) -> Result<Value> {
    Ok(match kind {
        Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(Value::Int),
        Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::Text),
        Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Value::Bool),
        Kind::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Bytes),
        Kind::TextList => match row.try_get::<Option<String>, _>(i)? {
            Some(json) => Some(Value::TextList(serde_json::from_str(&json)?)),
            None => None,
        },
    }
    .unwrap_or(Value::Null))
}

fn bind(b: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>, kind: Kind, v: &Value) {
    match v {
        Value::Int(i) => b.push_bind(*i),
        Value::Text(s) => b.push_bind(s.clone()),
        Value::Bool(x) => b.push_bind(*x),
        Value::Bytes(x) => b.push_bind(x.clone()),
        // Lists are stored as JSON text, as the SQLite backend writes them.
        Value::TextList(l) => b.push_bind(serde_json::to_string(l).unwrap_or_default()),
        Value::Null => match kind {
            Kind::Int => b.push_bind(None::<i64>),
            Kind::Bool => b.push_bind(None::<bool>),
            Kind::Bytes => b.push_bind(None::<Vec<u8>>),
            Kind::Text | Kind::TextList => b.push_bind(None::<String>),
        },
    };
}

// Table and column names in these statements come from the static `copy::TABLES` list, never
// from input.
#[async_trait]
impl Session for SqliteSession {
    async fn schema_version(&mut self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&mut *self.tx)
                .await?,
        )
    }

    async fn count(&mut self, table: &Table) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name);
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut *self.tx)
            .await?)
    }

    async fn read(&mut self, table: &Table, after: Option<i64>, limit: usize) -> Result<Vec<Row>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE {key} > ? ORDER BY {key} LIMIT ?",
            table.column_list(),
            table.name,
            key = table.key,
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after.unwrap_or(i64::MIN))
            .bind(limit as i64)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|r| {
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| decode(r, i, c.kind))
                    .collect()
            })
            .collect()
    }

    async fn insert(&mut self, table: &Table, rows: &[Row]) -> Result<()> {
        for chunk in rows.chunks(rows_per_insert(table)) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO {} ({}) ",
                table.name,
                table.column_list()
            ));
            q.push_values(chunk, |mut b, row| {
                for (c, v) in table.columns.iter().zip(row) {
                    bind(&mut b, c.kind, v);
                }
            });
            q.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn clear(&mut self, table: &Table) -> Result<()> {
        let sql = format!("DELETE FROM {}", table.name);
        sqlx::query(AssertSqlSafe(sql))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn finish_table(&mut self, _table: &Table) -> Result<()> {
        // AUTOINCREMENT already remembers the largest `seq` inserted explicitly.
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    async fn tables(&mut self) -> Result<Vec<(String, Vec<String>)>> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table'
               AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'
             ORDER BY name",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let mut cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
                .bind(&name)
                .fetch_all(&mut *self.tx)
                .await?;
            cols.sort_unstable();
            out.push((name, cols));
        }
        Ok(out)
    }
}
