//! Search benchmarks, driven by `bench/search/run.sh`.
//!
//! `search_bench quality CRANFIELD_DIR` — nDCG@10 and recall@10 of Tome's engine and of SQLite
//! FTS5 `bm25()` on the Cranfield collection, with clean queries and with one deterministic typo
//! in every query word of 5+ letters.
//!
//! `search_bench typos CRANFIELD_DIR QUERY_FILE...` — Tome's nDCG@10 on Cranfield with clean
//! queries and with each file of typo'd queries (`bench/search/typos.sh` makes them with
//! published typo generators), and the share of clean nDCG@10 each keeps.
//!
//! `search_bench speed TLDR_JSONL SCALE [BASE_URL ADMIN_KEY]` — indexing rate and query latency
//! of the engine in process over the tldr pages copied `SCALE` times; with a server, the same
//! queries over HTTP, bulk creation over HTTP and write-to-searchable latency.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};
use tome_core::model::{Article, Status};
use tome_search::{Engine, Filters, Position, SearchRequest};
use tome_store::{DocKind, IndexContent, IndexDoc};

/// The server's allocator (`crates/tome/src/main.rs`): the in-process figures must time the
/// engine as the server runs it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PROJECT: &str = "prj_bench0000000";
const KB: &str = "kb_bench00000000";

fn article(id: String, title: &str, excerpt: Option<&str>, body: &str) -> IndexDoc {
    IndexDoc {
        project_id: PROJECT.into(),
        content: IndexContent::Article(Article {
            id,
            kb_id: KB.into(),
            category_id: "kbc_bench0000000".into(),
            section_id: None,
            title: title.into(),
            body: body.into(),
            excerpt: excerpt.map(str::to_string),
            status: Status::Published,
            tags: Vec::new(),
            related_articles: Vec::new(),
            sort_order: 0,
            published_at: None,
            created_at: "2026-01-01 00:00:00".into(),
            updated_at: "2026-01-01 00:00:00".into(),
        }),
    }
}

fn request(text: &str, limit: usize) -> SearchRequest {
    SearchRequest {
        project_id: PROJECT.into(),
        kb_id: KB.into(),
        text: text.into(),
        filters: Filters {
            kind: Some(DocKind::Article),
            ..Filters::default()
        },
        limit,
    }
}

fn index(engine: &Engine, docs: &[IndexDoc]) -> f64 {
    let started = Instant::now();
    for chunk in docs.chunks(1000) {
        engine.upsert(chunk).unwrap();
    }
    engine
        .commit(&Position {
            feed_id: "bench".into(),
            seq: 1,
        })
        .unwrap();
    started.elapsed().as_secs_f64()
}

// ------------------------------------------------------------------------------- quality

/// `(number, fields)` records of a Cranfield file: `.I n` then `.X` fields.
fn cranfield_records(text: &str) -> Vec<HashMap<char, String>> {
    let mut out: Vec<HashMap<char, String>> = Vec::new();
    let mut field = ' ';
    for line in text.lines() {
        if line.starts_with(".I") {
            out.push(HashMap::new());
            field = ' ';
        } else if line.len() == 2 && line.starts_with('.') {
            field = line.chars().nth(1).unwrap();
        } else if let Some(rec) = out.last_mut() {
            let f = rec.entry(field).or_default();
            f.push_str(line);
            f.push('\n');
        }
    }
    out
}

/// One deterministic typo in every word of 5+ letters: the `k`th such word of query `q` gets
/// a deletion, a transposition, a substitution or an insertion (in turn), never at its first
/// letter.
fn with_typos(q: usize, text: &str) -> String {
    let mut k = 0usize;
    text.split_whitespace()
        .map(|w| {
            let chars: Vec<char> = w.chars().collect();
            if chars.len() < 5 || !chars.iter().all(|c| c.is_alphabetic()) {
                return w.to_string();
            }
            let seed = q * 31 + k * 7;
            k += 1;
            let at = 1 + seed % (chars.len() - 2);
            let mut c = chars.clone();
            match seed % 4 {
                0 => {
                    c.remove(at);
                }
                1 => c.swap(at, at + 1),
                2 => c[at] = if c[at] == 'e' { 'a' } else { 'e' },
                _ => c.insert(at, c[at]),
            }
            c.into_iter().collect()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// nDCG@10 (gain 2^rel − 1, rel = 5 − grade) and recall@10 of one ranking.
fn score_run(ranked: &[u32], judged: &HashMap<u32, u32>) -> (f64, f64) {
    let rel = |d: &u32| judged.get(d).map_or(0.0, |g| f64::from(5 - g));
    let dcg: f64 = ranked
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, d)| (2f64.powf(rel(d)) - 1.0) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<f64> = judged.values().map(|g| f64::from(5 - g)).collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, r)| (2f64.powf(*r) - 1.0) / ((i + 2) as f64).log2())
        .sum();
    let found = ranked
        .iter()
        .take(10)
        .filter(|d| judged.contains_key(d))
        .count();
    (
        if idcg > 0.0 { dcg / idcg } else { 0.0 },
        found as f64 / judged.len().max(1) as f64,
    )
}

async fn fts5_ranker(docs: &[(u32, String, String)]) -> sqlx::SqlitePool {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    sqlx::query("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize = 'porter unicode61 remove_diacritics 2')")
        .execute(&pool)
        .await
        .unwrap();
    for (n, title, body) in docs {
        sqlx::query("INSERT INTO docs (rowid, title, body) VALUES (?, ?, ?)")
            .bind(i64::from(*n))
            .bind(title)
            .bind(body)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool
}

async fn fts5_search(pool: &sqlx::SqlitePool, text: &str) -> Vec<u32> {
    // Every word as a quoted FTS5 string, OR-ed: plain bm25() ranking over any match.
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\""))
        .collect();
    if words.is_empty() {
        return Vec::new();
    }
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT 10")
            .bind(words.join(" OR "))
            .fetch_all(pool)
            .await
            .unwrap();
    rows.into_iter().map(|(r,)| r as u32).collect()
}

/// Cranfield's documents `(number, title, abstract)`, queries (in file order) and judgements
/// (query number → document → grade).
type Cranfield = (
    Vec<(u32, String, String)>,
    Vec<String>,
    HashMap<usize, HashMap<u32, u32>>,
);

fn load_cranfield(dir: &Path) -> Cranfield {
    let docs: Vec<(u32, String, String)> =
        cranfield_records(&std::fs::read_to_string(dir.join("cran.all.1400")).unwrap())
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let t = r.get(&'T').cloned().unwrap_or_default();
                let w = r.get(&'W').cloned().unwrap_or_default();
                (i as u32 + 1, t.trim().to_string(), w.trim().to_string())
            })
            .collect();
    // The judgements number queries 1..225 in file order, whatever their `.I`.
    let queries: Vec<String> =
        cranfield_records(&std::fs::read_to_string(dir.join("cran.qry")).unwrap())
            .into_iter()
            .map(|r| r.get(&'W').cloned().unwrap_or_default().replace('\n', " "))
            .collect();
    let mut qrels: HashMap<usize, HashMap<u32, u32>> = HashMap::new();
    for line in std::fs::read_to_string(dir.join("cranqrel"))
        .unwrap()
        .lines()
    {
        let f: Vec<i64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() == 3 && (1..=4).contains(&f[2]) {
            qrels
                .entry(f[0] as usize)
                .or_default()
                .insert(f[1] as u32, f[2] as u32);
        }
    }

    (docs, queries, qrels)
}

/// Tome's engine over the Cranfield documents (in a temporary directory kept alive with it).
fn cranfield_engine(docs: &[(u32, String, String)]) -> (Engine, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let (engine, _) = Engine::open(Some(tmp.path())).unwrap();
    let index_docs: Vec<IndexDoc> = docs
        .iter()
        .map(|(n, t, w)| article(format!("kba_{n:012}"), t, None, w))
        .collect();
    index(&engine, &index_docs);
    (engine, tmp)
}

/// Mean nDCG@10 and recall@10 of Tome over the judged queries, `queries[i]` being query i + 1.
fn tome_quality(
    engine: &Engine,
    queries: &[String],
    qrels: &HashMap<usize, HashMap<u32, u32>>,
) -> (f64, f64) {
    let (mut ndcg, mut recall, mut n) = (0.0, 0.0, 0);
    // BENCH_TYPOS_DETAIL=1: each query's nDCG@10 on stderr, for finding what a change breaks.
    let detail = std::env::var_os("BENCH_TYPOS_DETAIL").is_some();
    for (i, q) in queries.iter().enumerate() {
        let Some(judged) = qrels.get(&(i + 1)) else {
            continue;
        };
        let text: String = q.chars().take(tome_search::MAX_QUERY_CHARS).collect();
        let ranked = top_ten(engine, &text);
        let (a, b) = score_run(&ranked, judged);
        if detail {
            eprintln!("{}\t{a:.4}\t{text}", i + 1);
        }
        ndcg += a;
        recall += b;
        n += 1;
    }
    (ndcg / f64::from(n), recall / f64::from(n))
}

/// Clean queries, then each file of typo'd queries (one query a line, in cran.qry's order):
/// Tome's nDCG@10 and recall@10 on each and the share of clean nDCG@10 kept.
fn typos(dir: &Path, files: &[String]) {
    let (docs, queries, qrels) = load_cranfield(dir);
    let (engine, _tmp) = cranfield_engine(&docs);
    let (clean, clean_recall) = tome_quality(&engine, &queries, &qrels);
    let mut rows = vec![json!({ "queries": "clean", "ndcg10": clean, "recall10": clean_recall })];
    for file in files {
        let typoed: Vec<String> = std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(typoed.len(), queries.len(), "{file}: one line per query");
        let (ndcg, recall) = tome_quality(&engine, &typoed, &qrels);
        let name = Path::new(file).file_stem().unwrap().to_string_lossy();
        rows.push(json!({
            "queries": name, "ndcg10": ndcg, "recall10": recall, "of_clean": ndcg / clean,
        }));
    }
    println!("{}", json!({ "typos": rows }));
}

async fn quality(dir: &Path) {
    let (docs, queries, qrels) = load_cranfield(dir);
    let (engine, _tmp) = cranfield_engine(&docs);
    let fts = fts5_ranker(&docs).await;

    let mut rows = Vec::new();
    for typos in [false, true] {
        let mut sums = [0.0f64; 4];
        let mut n = 0;
        for (i, q) in queries.iter().enumerate() {
            let Some(judged) = qrels.get(&(i + 1)) else {
                continue;
            };
            let text = if typos { with_typos(i, q) } else { q.clone() };
            let text: String = text.chars().take(tome_search::MAX_QUERY_CHARS).collect();
            let tome = top_ten(&engine, &text);
            let fts_hits = fts5_search(&fts, &text).await;
            let (a, b) = score_run(&tome, judged);
            let (c, d) = score_run(&fts_hits, judged);
            sums[0] += a;
            sums[1] += b;
            sums[2] += c;
            sums[3] += d;
            n += 1;
        }
        let avg: Vec<f64> = sums.iter().map(|s| s / f64::from(n)).collect();
        rows.push(json!({
            "queries": if typos { "with typos" } else { "clean" },
            "n": n,
            "tome_ndcg10": avg[0], "tome_recall10": avg[1],
            "fts5_ndcg10": avg[2], "fts5_recall10": avg[3],
        }));
    }
    println!(
        "{}",
        json!({ "quality": rows, "example_typo_query": with_typos(0, &queries[0]) })
    );
}

// --------------------------------------------------------------------------------- speed

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// The tldr pages, `scale` times: copy `k` of a page gets the suffix ` v{k}` on its title and
/// its body's example lines rotated by `k`, so copies are similar but not identical.
fn tldr_docs(path: &Path, scale: usize) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let pages: Vec<Value> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for k in 0..scale {
        for p in &pages {
            let title = p["title"].as_str().unwrap_or_default();
            let excerpt = p["excerpt"].as_str().unwrap_or_default().to_string();
            let body = p["body"].as_str().unwrap_or_default();
            let (title, body) = if k == 0 {
                (title.to_string(), body.to_string())
            } else {
                let mut lines: Vec<&str> = body.lines().collect();
                let n = lines.len().max(1);
                lines.rotate_left(k % n);
                (format!("{title} v{k}"), lines.join("\n"))
            };
            out.push((title, excerpt, body));
        }
    }
    out
}

/// Queries a help-centre reader would type about these pages: one or two words of a title or
/// excerpt; every fourth with a typo, every fifth cut short (search-as-you-type).
fn tldr_queries(docs: &[(String, String, String)], n: usize) -> Vec<String> {
    let step = (docs.len() / n).max(1);
    docs.iter()
        .step_by(step)
        .take(n)
        .enumerate()
        .map(|(i, (_, excerpt, _))| {
            let words: Vec<&str> = excerpt
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() > 3)
                .take(2)
                .collect();
            let q = words.join(" ");
            if i % 4 == 0 {
                with_typos(i, &q)
            } else if i % 5 == 0 {
                q.chars().take(q.len().saturating_sub(2).max(3)).collect()
            } else {
                q
            }
        })
        .filter(|q| !q.trim().is_empty())
        .collect()
}

/// A minimal keep-alive HTTP/1.1 client for the latency loop.
struct Http {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
    key: String,
}

impl Http {
    fn connect(base: &str, key: &str) -> Http {
        let host = base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let stream = TcpStream::connect(&host).unwrap();
        stream.set_nodelay(true).unwrap();
        Http {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            host,
            key: key.to_string(),
        }
    }

    fn call(&mut self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let (code, buf) = self.exchange(method, path, body);
        (code, serde_json::from_slice(&buf).unwrap_or(Value::Null))
    }

    /// Sends a request and reads the whole response, as a load generator does: the clock of a
    /// latency measurement stops here, before the client parses the JSON.
    fn exchange(&mut self, method: &str, path: &str, body: Option<&Value>) -> (u16, Vec<u8>) {
        let body = body.map(Value::to_string).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            self.key,
            body.len()
        );
        self.writer.write_all(req.as_bytes()).unwrap();
        let mut status = String::new();
        self.reader.read_line(&mut status).unwrap();
        let code = status.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut len = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut buf = vec![0; len];
        self.reader.read_exact(&mut buf).unwrap();
        (code, buf)
    }
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn latencies(mut f: impl FnMut(&str), queries: &[String], rounds: usize) -> (f64, f64) {
    for q in queries.iter().take(50) {
        f(q);
    }
    let mut ms = Vec::new();
    for _ in 0..rounds {
        for q in queries {
            let t = Instant::now();
            f(q);
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 0.5), percentile(&ms, 0.99))
}

fn speed(path: &Path, scale: usize, server: Option<(String, String, Option<String>)>) {
    let docs = tldr_docs(path, scale);
    let queries = tldr_queries(&docs, 200);
    let tmp = tempfile::tempdir().unwrap();
    let (engine, _) = Engine::open(Some(tmp.path())).unwrap();
    let index_docs: Vec<IndexDoc> = docs
        .iter()
        .enumerate()
        .map(|(i, (t, e, b))| article(format!("kba_{i:012}"), t, Some(e), b))
        .collect();
    let secs = index(&engine, &index_docs);
    let (p50, p99) = latencies(
        |q| {
            engine.search(&request(q, 20)).unwrap();
        },
        &queries,
        3,
    );
    let mut report = json!({
        "articles": docs.len(),
        "queries": queries.len(),
        "in_process": { "index_articles_per_s": docs.len() as f64 / secs, "query_p50_ms": p50, "query_p99_ms": p99 },
    });
    if let Some((base, key, server_index)) = server {
        let mut http = Http::connect(&base, &key);
        let (st, kb) = http.call(
            "POST",
            "/v1/kb",
            Some(&json!({ "title": "tldr", "slug": format!("tldr-{scale}") })),
        );
        assert_eq!(st, 201, "{kb}");
        let kb_id = kb["data"]["id"].as_str().unwrap().to_string();
        let (st, cat) = http.call(
            "POST",
            &format!("/v1/kb/{kb_id}/categories"),
            Some(&json!({ "name": "Commands" })),
        );
        assert_eq!(st, 201, "{cat}");
        let cat_id = cat["data"]["id"].as_str().unwrap().to_string();
        // Bulk creation over HTTP from 4 connections: database write and index commit per call.
        let started = Instant::now();
        let chunks: Vec<Vec<Value>> = docs
            .chunks(20)
            .map(|c| {
                c.iter()
                    .map(|(t, e, b)| json!({ "category_id": cat_id, "title": t, "excerpt": e, "body": b, "status": "published" }))
                    .collect()
            })
            .collect();
        std::thread::scope(|s| {
            for part in chunks.chunks(chunks.len().div_ceil(4)) {
                let (base, key, kb_id) = (base.clone(), key.clone(), kb_id.clone());
                s.spawn(move || {
                    let mut http = Http::connect(&base, &key);
                    for items in part {
                        let (st, r) = http.call(
                            "POST",
                            &format!("/v1/kb/{kb_id}/articles/bulk"),
                            Some(&json!({ "articles": items })),
                        );
                        assert_eq!(st, 201, "{r}");
                    }
                });
            }
        });
        let bulk_secs = started.elapsed().as_secs_f64();
        let (h50, h99) = latencies(
            |q| {
                let (st, _) = http.exchange(
                    "GET",
                    &format!("/v1/kb/{kb_id}/search?q={}", encode(q)),
                    None,
                );
                assert_eq!(st, 200);
            },
            &queries,
            3,
        );
        // Write to searchable: the very next search after a create's response finds it (the
        // search brings the index level with acknowledged writes first); measured from the
        // create's request to that search's response.
        let mut write_ms = Vec::new();
        for i in 0..30 {
            let word = format!("zqxmarker{i}");
            let t = Instant::now();
            let (st, _) = http.call(
                "POST",
                &format!("/v1/kb/{kb_id}/articles"),
                Some(&json!({ "category_id": cat_id, "title": format!("Fresh {word}"), "body": "x" })),
            );
            assert_eq!(st, 201);
            let (_, found) = http.call("GET", &format!("/v1/kb/{kb_id}/search?q={word}"), None);
            write_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(found["data"]["articles"].as_array().map(Vec::len), Some(1));
        }
        write_ms.sort_by(f64::total_cmp);
        report["http"] = json!({
            "bulk_create_articles_per_s": docs.len() as f64 / bulk_secs,
            "query_p50_ms": h50, "query_p99_ms": h99,
            "write_to_searchable_p50_ms": percentile(&write_ms, 0.5),
            "write_to_searchable_max_ms": write_ms.last().copied().unwrap_or(0.0),
        });
        if let Some(dir) = server_index {
            report["same_index"] = same_index(&mut http, &kb_id, Path::new(&dir), &queries);
        }
    }
    println!("{report}");
}

/// What HTTP adds to a search, on the same index: a copy of the server's own index (segment
/// layout and all) opened in process, and each query timed in process and over HTTP one right
/// after the other, so both see the same machine at the same moment.
fn same_index(http: &mut Http, kb_id: &str, server_index: &Path, queries: &[String]) -> Value {
    // Let the server's follower commit what the last writes left pending, then copy the
    // committed files (segments never change once written; meta.json is replaced atomically).
    std::thread::sleep(std::time::Duration::from_millis(500));
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(server_index).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_file() && !name.ends_with(".lock") {
            std::fs::copy(&path, copy.path().join(&name)).unwrap();
        }
    }
    let (engine, _) = Engine::open(Some(copy.path())).unwrap();
    let (st, project) = http.call("GET", "/v1/project", None);
    assert_eq!(st, 200, "{project}");
    let project_id = project["data"]["id"].as_str().unwrap().to_string();
    // Exactly what the HTTP request asks for: both kinds of content.
    let local = |q: &str| {
        let mut req = request(q, 20);
        req.project_id = project_id.clone();
        req.kb_id = kb_id.to_string();
        req.filters.kind = None;
        engine.search(&req).unwrap()
    };
    let remote = |http: &mut Http, q: &str| {
        let (st, _) = http.exchange(
            "GET",
            &format!("/v1/kb/{kb_id}/search?q={}", encode(q)),
            None,
        );
        assert_eq!(st, 200);
    };
    // The floor: an authenticated request that reads the KB and answers without searching.
    let floor = |http: &mut Http| {
        let (st, _) = http.exchange("GET", &format!("/v1/kb/{kb_id}"), None);
        assert_eq!(st, 200);
    };
    for q in queries.iter().take(50) {
        local(q);
        remote(http, q);
    }
    let (mut ms_local, mut ms_http, mut ms_floor) = (Vec::new(), Vec::new(), Vec::new());
    // The server's own CPU time per request, when the script says which process it is.
    let server = std::env::var("BENCH_SERVER_PID").ok();
    let cpu = || server.as_deref().map(server_cpu_ns).unwrap_or(0);
    let (mut cpu_http, mut cpu_floor) = (0u64, 0u64);
    for _ in 0..3 {
        for q in queries {
            let t = Instant::now();
            local(q);
            ms_local.push(t.elapsed().as_secs_f64() * 1000.0);
            let before = cpu();
            let t = Instant::now();
            remote(http, q);
            ms_http.push(t.elapsed().as_secs_f64() * 1000.0);
            let between = cpu();
            cpu_http += between.saturating_sub(before);
            let t = Instant::now();
            floor(http);
            ms_floor.push(t.elapsed().as_secs_f64() * 1000.0);
            cpu_floor += cpu().saturating_sub(between);
        }
    }
    let n = ms_http.len().max(1) as f64;
    let local_mean = ms_local.iter().sum::<f64>() / n;
    ms_local.sort_by(f64::total_cmp);
    ms_http.sort_by(f64::total_cmp);
    ms_floor.sort_by(f64::total_cmp);
    json!({
        "segments": engine.segment_count(),
        "in_process_p50_ms": percentile(&ms_local, 0.5),
        "in_process_p99_ms": percentile(&ms_local, 0.99),
        "http_p50_ms": percentile(&ms_http, 0.5),
        "http_p99_ms": percentile(&ms_http, 0.99),
        "floor_p50_ms": percentile(&ms_floor, 0.5),
        "floor_p99_ms": percentile(&ms_floor, 0.99),
        "in_process_mean_ms": local_mean,
        "server_cpu_search_ms": cpu_http as f64 / 1e6 / n,
        "server_cpu_floor_ms": cpu_floor as f64 / 1e6 / n,
    })
}

/// Times one search, as the server runs it (both kinds of content), on a copy of an index:
/// for profiling a query by hand.
fn one_query(args: &[String]) {
    let (engine, _) = Engine::open(Some(Path::new(&args[0]))).unwrap();
    let req = SearchRequest {
        project_id: args[1].clone(),
        kb_id: args[2].clone(),
        text: args[3].clone(),
        filters: Filters::default(),
        limit: 20,
    };
    let times: usize = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(2000);
    let hits = engine.search(&req).unwrap();
    let started = Instant::now();
    let pause = std::env::var("BENCH_PAUSE_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_micros);
    let mut busy = std::time::Duration::ZERO;
    for _ in 0..times {
        if let Some(pause) = pause {
            std::thread::sleep(pause);
        }
        let t = Instant::now();
        std::hint::black_box(engine.search(&req).unwrap());
        busy += t.elapsed();
    }
    println!(
        "{} article hits, {} faq hits; mean {:.3} ms over {times} searches",
        hits.articles.len(),
        hits.faqs.len(),
        busy.as_secs_f64() * 1000.0 / times as f64
    );
    let _ = started;
}

/// CPU time all threads of process `pid` have run, in nanoseconds (Linux schedstat).
fn server_cpu_ns(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("quality") => quality(Path::new(&args[2])).await,
        Some("speed") => {
            let server = match (args.get(4), args.get(5)) {
                (Some(b), Some(k)) => Some((b.clone(), k.clone(), args.get(6).cloned())),
                _ => None,
            };
            speed(Path::new(&args[2]), args[3].parse().unwrap(), server);
        }
        Some("typos") => typos(Path::new(&args[2]), &args[3..]),
        Some("query") => one_query(&args[2..]),
        _ => {
            eprintln!(
                "usage: search_bench quality CRANFIELD_DIR | typos CRANFIELD_DIR QUERY_FILE... | speed TLDR_JSONL SCALE [BASE_URL KEY [SERVER_INDEX_DIR]] \
                 | query INDEX_COPY_DIR PROJECT_ID KB_ID TEXT [TIMES]"
            );
            std::process::exit(2);
        }
    }
}

/// Tome's first ten Cranfield document numbers for `text`.
fn top_ten(engine: &Engine, text: &str) -> Vec<u32> {
    engine
        .search(&request(text, 10))
        .unwrap()
        .articles
        .iter()
        .map(|h| h.id[4..].parse().unwrap())
        .collect()
}
