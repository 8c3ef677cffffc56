//! Raw SQLite baseline for `bench/run.sh`: the article insert and select that Tome's server does,
//! on a fresh database with the server's pragmas and schema, but without HTTP, auth or the
//! store's validation queries.
//!
//! ```text
//! cargo run --release -p tome-store --example raw_sqlite -- --article bench/article.json \
//!     [--duration SECS] [--concurrency N] [--synchronous full|normal] [--write-connections N] \
//!     [--dir DIR]
//! ```
//!
//! Like `SqliteStore`, creates go through a write pool of one connection (tasks queue on the pool,
//! not in SQLite's busy handler) and gets through a read pool of 8. `--write-connections 8` shows
//! what a shared 8-connection pool would do instead.
//!
//! Prints the body size (`raw article body_bytes=N`), then one line per phase:
//! `raw <create|get> ops=N secs=S ops_per_sec=R p50_us=A p99_us=B cpu_us_per_op=C`.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::Row;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tome_core::credits::{Action, Charge};
use tome_core::{id, time};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

const SCHEMA: &str = include_str!("../migrations/sqlite/0001_init.sql");
const PROJECT: &str = "prj_benchbenchben";
const KB: &str = "kb_benchbenchben";
const CATEGORY: &str = "kbc_benchbenchben";

/// The article fields taken from the same JSON file the HTTP benchmark posts.
struct Article {
    title: String,
    body: String,
    excerpt: Option<String>,
    status: String,
    tags: Vec<String>,
}

struct Args {
    article: PathBuf,
    duration: Duration,
    concurrency: usize,
    synchronous: SqliteSynchronous,
    write_connections: u32,
    dir: Option<PathBuf>,
}

fn parse_args() -> Res<Args> {
    let mut args = Args {
        article: PathBuf::from("bench/article.json"),
        duration: Duration::from_secs(10),
        concurrency: 8,
        synchronous: SqliteSynchronous::Full,
        write_connections: 1,
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--article" => args.article = value.into(),
            "--duration" => args.duration = Duration::from_secs_f64(value.parse()?),
            "--concurrency" => args.concurrency = value.parse()?,
            "--synchronous" => args.synchronous = SqliteSynchronous::from_str(&value)?,
            "--write-connections" => args.write_connections = value.parse()?,
            "--dir" => args.dir = Some(value.into()),
            _ => return Err(format!("unknown argument {flag}").into()),
        }
    }
    Ok(args)
}

fn load_article(path: &Path) -> Res<Article> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Ok(Article {
        title: text("title").ok_or("article has no title")?,
        body: text("body").ok_or("article has no body")?,
        excerpt: text("excerpt"),
        status: text("status").unwrap_or_else(|| "draft".into()),
        tags: serde_json::from_value(v.get("tags").cloned().unwrap_or_default())
            .unwrap_or_default(),
    })
}

/// Opens the database as `SqliteStore::open_file` does: the same options, a write pool and a read
/// pool. Returns `(writer, reader)`.
async fn open(path: &Path, sync: SqliteSynchronous, writers: u32) -> Res<(SqlitePool, SqlitePool)> {
    let connect = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(sync)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let writer = SqlitePoolOptions::new()
        .max_connections(writers.max(1))
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(connect.clone())
        .await?;
    let reader = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(connect)
        .await?;
    let now = time::now();
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO projects (id, name, created_at, updated_at) VALUES (?, 'bench', ?, ?)",
    )
    .bind(PROJECT)
    .bind(&now)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO knowledge_bases (id, project_id, title, slug, created_at, updated_at)
         VALUES (?, ?, 'Bench', 'bench', ?, ?)",
    )
    .bind(KB)
    .bind(PROJECT)
    .bind(&now)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO categories (id, project_id, kb_id, name, created_at, updated_at)
         VALUES (?, ?, ?, 'Bench', ?, ?)",
    )
    .bind(CATEGORY)
    .bind(PROJECT)
    .bind(KB)
    .bind(&now)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((writer, reader))
}

/// One create as the server commits it: the ledger entry and the article in one write transaction.
async fn create(pool: &SqlitePool, a: &Article) -> Res<()> {
    let now = time::now();
    let charge = Charge::one(Action::ArticleCreated);
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query(
        "INSERT INTO credit_ledger (project_id, month, action, items, credits, created_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(PROJECT)
    .bind(time::month_of(&now))
    .bind(charge.action.as_str())
    .bind(charge.count)
    .bind(charge.credits())
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    let published_at = (a.status == "published").then(|| now.clone());
    sqlx::query(
        "INSERT INTO articles (category_id, section_id, title, body, excerpt, status, tags,
             related_articles, sort_order, published_at, updated_at, created_at, id, kb_id, project_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(CATEGORY)
    .bind(None::<String>)
    .bind(&a.title)
    .bind(&a.body)
    .bind(&a.excerpt)
    .bind(&a.status)
    .bind(serde_json::to_string(&a.tags)?)
    .bind("[]")
    .bind(0_i32)
    .bind(&published_at)
    .bind(&now)
    .bind(&now)
    .bind(id::new_id(id::ARTICLE))
    .bind(KB)
    .bind(PROJECT)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One get: the article row, with its text columns decoded.
async fn get(pool: &SqlitePool, article_id: &str) -> Res<usize> {
    let row = sqlx::query("SELECT * FROM articles WHERE id = ?")
        .bind(article_id)
        .fetch_one(pool)
        .await?;
    let title: String = row.try_get("title")?;
    let body: String = row.try_get("body")?;
    let tags: String = row.try_get("tags")?;
    Ok(title.len() + body.len() + tags.len())
}

/// Process CPU time (user + system) in microseconds, from `/proc/self/stat` (Linux, USER_HZ 100).
fn cpu_us() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // Fields 14 and 15 of the stat line; `rest` starts at field 3.
    Some((f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?) * 10_000)
}

/// Runs `op` from `concurrency` tasks until `duration` has passed; prints ops/s and latencies.
async fn phase<F, Fut>(name: &str, concurrency: usize, duration: Duration, op: F) -> Res<()>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Res<()>> + Send,
{
    let cpu0 = cpu_us();
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(100_000);
            let mut i = t * 997;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                op(i).await?;
                lat.push(t0.elapsed().as_micros() as u64);
                i += 1;
            }
            Res::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_us().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((p * lat.len() as f64).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0)
    };
    let n = lat.len();
    let cpu_per_op = cpu.map_or_else(
        || "NA".into(),
        |c| format!("{:.0}", c as f64 / n.max(1) as f64),
    );
    println!(
        "raw {name} ops={n} secs={secs:.2} ops_per_sec={:.0} p50_us={} p99_us={} cpu_us_per_op={cpu_per_op}",
        n as f64 / secs,
        pct(0.50),
        pct(0.99),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Res<()> {
    let args = parse_args()?;
    let article = std::sync::Arc::new(load_article(&args.article)?);
    println!("raw article body_bytes={}", article.body.len());
    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("raw.db");
    if db.exists() {
        return Err(format!(
            "{} already exists; the baseline needs a fresh file",
            db.display()
        )
        .into());
    }
    let (writer, reader) = open(&db, args.synchronous, args.write_connections).await?;

    let p = writer.clone();
    phase("create", args.concurrency, args.duration, move |_| {
        let (p, a) = (p.clone(), article.clone());
        async move { create(&p, &a).await }
    })
    .await?;

    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM articles ORDER BY seq LIMIT 1000")
        .fetch_all(&reader)
        .await?;
    if ids.is_empty() {
        return Err("no articles were created".into());
    }
    let ids = std::sync::Arc::new(ids);
    let p = reader.clone();
    phase("get", args.concurrency, args.duration, move |i| {
        let (p, ids) = (p.clone(), ids.clone());
        async move { get(&p, &ids[i % ids.len()]).await.map(drop) }
    })
    .await?;
    reader.close().await;
    writer.close().await;
    Ok(())
}
