//! `tome copy`: moves a whole instance from one database to another (SQLite ⇄ PostgreSQL), row
//! for row, keeping IDs, key hashes, timestamps and `seq` values.
//!
//! The source is read inside one read-only snapshot, so a server may keep running on it; what it
//! writes after the copy starts is not copied. The target is written inside **one** write
//! transaction (holding its write lock): every table is copied in batches, then read back and
//! compared with the source — row counts and a SHA-256 over every value, table by table — and
//! only then committed. A failure or a mismatch anywhere rolls everything back, leaving the target
//! as it was.
//!
//! Adding a table means adding it to [`TABLES`], after the tables it references.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::{Backend, Location, OpenOptions, Result, StoreError};

mod tables;

pub use tables::{Column, Kind, TABLES, Table};

/// One value of a row, independent of the backend it came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
    Bytes(Vec<u8>),
    TextList(Vec<String>),
}

/// A row: values in the order of its table's `columns`.
pub type Row = Vec<Value>;

/// A backend's side of a copy: one connection inside one transaction.
#[async_trait]
pub(crate) trait Session: Send {
    /// The highest migration applied, to refuse copying between different schemas.
    async fn schema_version(&mut self) -> Result<i64>;
    async fn count(&mut self, table: &Table) -> Result<i64>;
    /// Up to `limit` rows with `key > after`, in key order.
    async fn read(&mut self, table: &Table, after: Option<i64>, limit: usize) -> Result<Vec<Row>>;
    async fn insert(&mut self, table: &Table, rows: &[Row]) -> Result<()>;
    async fn clear(&mut self, table: &Table) -> Result<()>;
    /// Called once a table's rows are in; moves a generated key's sequence past them.
    async fn finish_table(&mut self, table: &Table) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
    /// Every table of the instance (not the migration bookkeeping) with its columns, sorted.
    async fn tables(&mut self) -> Result<Vec<(String, Vec<String>)>>;
}

/// Refuses a database whose tables are not exactly [`TABLES`], so that a table or column added
/// by a migration but not here is never silently left behind.
async fn check_tables(session: &mut dyn Session, side: &str) -> Result<()> {
    let mut expected: Vec<(String, Vec<String>)> = TABLES
        .iter()
        .map(|t| {
            let mut cols: Vec<String> = t.columns.iter().map(|c| c.name.to_string()).collect();
            cols.sort_unstable();
            (t.name.to_string(), cols)
        })
        .collect();
    expected.sort_unstable();
    let actual = session.tables().await?;
    if actual != expected {
        let names = |v: &[(String, Vec<String>)]| {
            v.iter()
                .map(|(t, c)| format!("{t}({})", c.join(",")))
                .collect::<Vec<_>>()
        };
        let (a, e) = (names(&actual), names(&expected));
        let unknown: Vec<_> = a.iter().filter(|x| !e.contains(x)).collect();
        let missing: Vec<_> = e.iter().filter(|x| !a.contains(x)).collect();
        return Err(refuse(format!(
            "the {side} database's tables differ from what this version of tome copy knows \
             (unknown: {unknown:?}; missing: {missing:?})"
        )));
    }
    Ok(())
}

impl Backend {
    async fn read_session(&self) -> Result<Box<dyn Session>> {
        match self {
            Backend::Sqlite(s) => s.copy_reader().await,
            Backend::Postgres(p) => p.copy_reader().await,
        }
    }

    async fn write_session(&self) -> Result<Box<dyn Session>> {
        match self {
            Backend::Sqlite(s) => s.copy_writer().await,
            Backend::Postgres(p) => p.copy_writer().await,
        }
    }

    async fn close(&self) {
        match self {
            Backend::Sqlite(s) => s.close().await,
            Backend::Postgres(p) => p.close().await,
        }
    }
}

/// What `copy` should do.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Replace the target's content if it has any (inside the same transaction).
    pub force: bool,
    /// Rows per read and per INSERT.
    pub batch_size: usize,
    pub open: OpenOptions,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            force: false,
            batch_size: 250,
            open: OpenOptions::default(),
        }
    }
}

/// Progress of a running copy, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub table: &'static str,
    /// Rows of this table copied so far, and in all.
    pub table_done: u64,
    pub table_total: u64,
    /// Rows of every table copied so far, and in all.
    pub done: u64,
    pub total: u64,
    /// `true` while reading the target back to verify it.
    pub verifying: bool,
}

/// The verification of one table.
#[derive(Debug, Clone)]
pub struct TableReport {
    pub table: &'static str,
    pub source_rows: i64,
    pub target_rows: i64,
    /// Hex SHA-256 over every value of every row, in key order.
    pub source_checksum: String,
    pub target_checksum: String,
}

/// The outcome of a successful copy: every table matched.
#[derive(Debug, Clone)]
pub struct CopyReport {
    pub tables: Vec<TableReport>,
    /// Rows the target held before, deleted by `force`.
    pub replaced_rows: i64,
    pub elapsed: Duration,
}

fn refuse(message: String) -> StoreError {
    StoreError::Copy(message)
}

/// Checks that the two locations are not the same database.
fn distinct(from: &Location, to: &Location) -> Result<()> {
    let file = |l: &Location| match l {
        Location::DataDir(d) => Some(d.join("tome.db")),
        Location::Url(u) => u
            .strip_prefix("sqlite://")
            .or_else(|| u.strip_prefix("sqlite:"))
            .map(std::path::PathBuf::from),
    };
    let same = match (file(from), file(to)) {
        (Some(a), Some(b)) => {
            a.canonicalize()
                .ok()
                .zip(b.canonicalize().ok())
                .is_some_and(|(a, b)| a == b)
                || a == b
        }
        (None, None) => matches!((from, to), (Location::Url(a), Location::Url(b)) if a == b),
        _ => false,
    };
    if same {
        return Err(refuse("--from and --to name the same database".into()));
    }
    // Opening a SQLite file creates it; a missing source is a typo, not an empty instance.
    if let Some(path) = file(from).filter(|p| !p.exists()) {
        return Err(refuse(format!(
            "the source database {} does not exist",
            path.display()
        )));
    }
    Ok(())
}

/// Copies the instance at `from` into `to`; see the module docs. Both are migrated first.
pub async fn copy(
    from: &Location,
    to: &Location,
    options: &CopyOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<CopyReport> {
    distinct(from, to)?;
    let source = crate::open_backend(from, &options.open).await?;
    let target = crate::open_backend(to, &options.open).await?;
    let result = run(&source, &target, options, progress).await;
    source.close().await;
    target.close().await;
    result
}

async fn run(
    source: &Backend,
    target: &Backend,
    options: &CopyOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<CopyReport> {
    let started = Instant::now();
    let batch = options.batch_size.max(1);
    let mut src = source.read_session().await?;
    let mut dst = target.write_session().await?;

    let (from_version, to_version) = (src.schema_version().await?, dst.schema_version().await?);
    if from_version != to_version {
        return Err(refuse(format!(
            "the source is at schema version {from_version} and the target at {to_version}; \
             run the same Tome version against both"
        )));
    }
    check_tables(src.as_mut(), "source").await?;
    check_tables(dst.as_mut(), "target").await?;

    let mut totals = Vec::with_capacity(TABLES.len());
    let mut existing = Vec::new();
    let mut replaced_rows = 0;
    for t in TABLES {
        totals.push(src.count(t).await?);
        let n = dst.count(t).await?;
        if n > 0 && !t.seeded {
            existing.push(format!("{n} rows in {}", t.name));
            replaced_rows += n;
        }
    }
    if !existing.is_empty() {
        if !options.force {
            return Err(refuse(format!(
                "the target is not empty ({}); pass --force to replace its content",
                existing.join(", ")
            )));
        }
        for t in TABLES.iter().rev() {
            dst.clear(t).await?;
        }
    } else {
        for t in TABLES.iter().filter(|t| t.seeded) {
            dst.clear(t).await?;
        }
    }

    let total: u64 = totals.iter().map(|n| *n as u64).sum();
    let mut done = 0u64;
    let mut checksums = Vec::with_capacity(TABLES.len());
    for (t, &table_total) in TABLES.iter().zip(&totals) {
        let mut hash = Sha256::new();
        let mut after = None;
        let mut table_done = 0u64;
        loop {
            let rows = src.read(t, after, batch).await?;
            if rows.is_empty() {
                break;
            }
            rows.iter().for_each(|r| hash_row(&mut hash, r));
            dst.insert(t, &rows).await?;
            after = last_key(t, &rows)?;
            table_done += rows.len() as u64;
            done += rows.len() as u64;
            progress(Progress {
                table: t.name,
                table_done,
                table_total: table_total as u64,
                done,
                total,
                verifying: false,
            });
        }
        dst.finish_table(t).await?;
        checksums.push((table_done as i64, hex(&hash.finalize())));
    }
    // Everything is read: end the source's snapshot now rather than hold it through the
    // verification.
    src.commit().await?;

    // Read everything back through the target's own transaction and compare.
    let mut tables = Vec::with_capacity(TABLES.len());
    let mut verified = 0u64;
    for (t, (copied, source_checksum)) in TABLES.iter().zip(checksums) {
        let target_rows = dst.count(t).await?;
        let mut hash = Sha256::new();
        let mut after = None;
        loop {
            let rows = dst.read(t, after, batch).await?;
            if rows.is_empty() {
                break;
            }
            rows.iter().for_each(|r| hash_row(&mut hash, r));
            after = last_key(t, &rows)?;
            verified += rows.len() as u64;
            progress(Progress {
                table: t.name,
                table_done: verified,
                table_total: total,
                done: verified,
                total,
                verifying: true,
            });
        }
        let target_checksum = hex(&hash.finalize());
        if target_rows != copied || target_checksum != source_checksum {
            return Err(refuse(format!(
                "verification failed for {}: {copied} rows read from the source, {target_rows} \
                 in the target, checksums {source_checksum} and {target_checksum}; nothing was \
                 committed",
                t.name
            )));
        }
        tables.push(TableReport {
            table: t.name,
            source_rows: copied,
            target_rows,
            source_checksum,
            target_checksum,
        });
    }
    // Every row is in and verified: the whole copy becomes visible at once, or not at all.
    dst.commit().await?;
    Ok(CopyReport {
        tables,
        replaced_rows,
        elapsed: started.elapsed(),
    })
}

fn last_key(t: &Table, rows: &[Row]) -> Result<Option<i64>> {
    match rows.last().and_then(|r| r.get(t.key_index())) {
        Some(Value::Int(k)) => Ok(Some(*k)),
        other => Err(StoreError::Internal(
            format!("{}.{} is not an integer key: {other:?}", t.name, t.key).into(),
        )),
    }
}

/// Feeds a row into `hash` in a self-delimiting encoding (a tag per value, lengths before bytes),
/// so different rows can never hash alike by shifting bytes between values.
fn hash_row(hash: &mut Sha256, row: &Row) {
    fn bytes(hash: &mut Sha256, b: &[u8]) {
        hash.update((b.len() as u64).to_le_bytes());
        hash.update(b);
    }
    for v in row {
        match v {
            Value::Null => hash.update([0]),
            Value::Int(i) => {
                hash.update([1]);
                hash.update(i.to_le_bytes());
            }
            Value::Text(s) => {
                hash.update([2]);
                bytes(hash, s.as_bytes());
            }
            Value::Bool(b) => hash.update([3, u8::from(*b)]),
            Value::Bytes(b) => {
                hash.update([4]);
                bytes(hash, b);
            }
            Value::TextList(l) => {
                hash.update([5]);
                hash.update((l.len() as u64).to_le_bytes());
                l.iter().for_each(|s| bytes(hash, s.as_bytes()));
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Rows per multi-row INSERT: `batch`, capped so the statement stays under both databases'
/// bind-parameter limits (SQLite 32,766; PostgreSQL 65,535).
pub(crate) fn rows_per_insert(table: &Table) -> usize {
    (30_000 / table.columns.len().max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_its_key_and_distinct_columns() {
        for t in TABLES {
            assert!(
                t.columns
                    .iter()
                    .any(|c| c.name == t.key && c.kind == Kind::Int)
            );
            let mut names: Vec<_> = t.columns.iter().map(|c| c.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), t.columns.len(), "{}", t.name);
        }
    }

    #[test]
    fn row_hashes_are_not_fooled_by_shifted_bytes() {
        let h = |row: Row| {
            let mut s = Sha256::new();
            hash_row(&mut s, &row);
            hex(&s.finalize())
        };
        let a = h(vec![Value::Text("ab".into()), Value::Text("c".into())]);
        let b = h(vec![Value::Text("a".into()), Value::Text("bc".into())]);
        assert_ne!(a, b);
        assert_ne!(
            h(vec![Value::Null]),
            h(vec![Value::Text(String::new())]),
            "null and empty differ"
        );
        assert_ne!(
            h(vec![Value::TextList(vec![])]),
            h(vec![Value::TextList(vec![String::new()])])
        );
    }
}
