//! `tome copy` on PostgreSQL: raw rows in and out of one transaction.

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, Postgres, Row as _, Transaction};

use super::PgStore;
use crate::Result;
use crate::copy::{Kind, Row, Session, Table, Value, rows_per_insert};

/// A copy's connection, inside a snapshot (source) or a locked write transaction (target).
struct PgSession {
    tx: Transaction<'static, Postgres>,
}

impl PgStore {
    /// A REPEATABLE READ, READ ONLY transaction: one consistent snapshot of the whole instance.
    pub(crate) async fn copy_reader(&self) -> Result<Box<dyn Session>> {
        let mut tx = self.snapshot().await?;
        unlimited(&mut tx).await?;
        Ok(Box::new(PgSession { tx }))
    }

    /// A write transaction holding the write lock until the copy commits or fails, so no node
    /// writes to the target halfway through.
    pub(crate) async fn copy_writer(&self) -> Result<Box<dyn Session>> {
        let mut tx = self.write().await?;
        unlimited(&mut tx).await?;
        Ok(Box::new(PgSession { tx }))
    }
}

/// Lifts the per-statement and idle-in-transaction limits meant for requests: a large copy is
/// one long transaction on each side, each idle while the other side works.
async fn unlimited(tx: &mut Transaction<'static, Postgres>) -> Result<()> {
    sqlx::raw_sql(
        "SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0",
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn decode(row: &sqlx::postgres::PgRow, i: usize, kind: Kind) -> Result<Value> {
    Ok(match kind {
        Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(Value::Int),
        Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::Text),
        Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Value::Bool),
        Kind::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Bytes),
        Kind::TextList => row
            .try_get::<Option<Vec<String>>, _>(i)?
            .map(Value::TextList),
    }
    .unwrap_or(Value::Null))
}

fn bind(b: &mut sqlx::query_builder::Separated<'_, Postgres, &'static str>, kind: Kind, v: &Value) {
    match v {
        Value::Int(i) => b.push_bind(*i),
        Value::Text(s) => b.push_bind(s.clone()),
        Value::Bool(x) => b.push_bind(*x),
        Value::Bytes(x) => b.push_bind(x.clone()),
        Value::TextList(l) => b.push_bind(l.clone()),
        // A NULL still needs the column's type, or PostgreSQL infers TEXT and refuses it for
        // a BIGINT column.
        Value::Null => match kind {
            Kind::Int => b.push_bind(None::<i64>),
            Kind::Text => b.push_bind(None::<String>),
            Kind::Bool => b.push_bind(None::<bool>),
            Kind::Bytes => b.push_bind(None::<Vec<u8>>),
            Kind::TextList => b.push_bind(None::<Vec<String>>),
        },
    };
}

// Table and column names in these statements come from the static `copy::TABLES` list, never
// from input.
#[async_trait]
impl Session for PgSession {
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
            "SELECT {} FROM {} WHERE {key} > $1 ORDER BY {key} LIMIT $2",
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
            let mut q = sqlx::QueryBuilder::<Postgres>::new(format!(
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

    async fn finish_table(&mut self, table: &Table) -> Result<()> {
        if !table.generated_key {
            return Ok(());
        }
        // The next generated key follows the largest copied one (or starts at 1).
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{t}', '{k}'),
                           COALESCE((SELECT MAX({k}) FROM {t}), 0) + 1, false)",
            t = table.name,
            k = table.key,
        );
        sqlx::query(AssertSqlSafe(sql))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    async fn tables(&mut self) -> Result<Vec<(String, Vec<String>)>> {
        let mut rows: Vec<(String, Vec<String>)> = sqlx::query_as(
            "SELECT c.table_name::TEXT, array_agg(c.column_name::TEXT)
             FROM information_schema.columns c
             JOIN information_schema.tables t
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
               AND c.table_name <> 'schema_migrations'
             GROUP BY c.table_name",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        // Sorted here, byte-wise, because the database's collation may order differently.
        rows.iter_mut().for_each(|(_, cols)| cols.sort_unstable());
        rows.sort_unstable();
        Ok(rows)
    }
}
