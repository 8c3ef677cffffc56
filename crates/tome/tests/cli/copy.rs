//! `tome copy` end to end: an instance filled through the API and the CLI goes SQLite → the
//! test backend (PostgreSQL when configured) → SQLite, and every copy answers every read exactly
//! as the original did, to the original admin and site keys.

use std::process::Output;

use super::*;

/// What a filled instance is checked with.
struct Filled {
    key: String,
    kb_id: String,
    site_key: String,
}

fn ok(st: u16, body: &Value, want: u16) {
    assert_eq!(st, want, "{body}");
}

/// Fills an instance: two projects, keys (one revoked), a KB whose site key was rotated,
/// categories, a section, articles (tagged, related, published, draft), FAQs and a ledger.
fn fill(srv: &Server, db: &TestDb) -> Filled {
    let key = srv.printed_key.clone().unwrap();
    let post = |path: &str, body: Value| {
        let (st, b) = srv.request("POST", path, Some(&key), Some(body));
        ok(st, &b, 201);
        b["data"].clone()
    };
    let kb = post(
        "/v1/kb",
        json!({"title": "Help", "slug": "help", "is_public": true, "theme": "brand",
               "theme_settings": {"primary_color": "#123456", "dark_mode": true}}),
    );
    let kb_id = kb["id"].as_str().unwrap().to_string();
    let (st, rotated) = srv.request(
        "POST",
        &format!("/v1/kb/{kb_id}/site-key/revoke"),
        Some(&key),
        None,
    );
    ok(st, &rotated, 200);
    let site_key = rotated["data"]["site_key"].as_str().unwrap().to_string();
    let cats: Vec<String> = ["Start", "Billing"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            post(
                &format!("/v1/kb/{kb_id}/categories"),
                json!({"name": n, "sort_order": 10 - i as i64, "icon": "book"}),
            )["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let section = post(
        &format!("/v1/kb/{kb_id}/sections"),
        json!({"category_id": cats[0], "name": "Basics"}),
    );
    let mut articles: Vec<String> = Vec::new();
    for i in 0..7 {
        let body = json!({
            "category_id": cats[i % 2],
            "section_id": if i % 2 == 0 { section["id"].clone() } else { Value::Null },
            "title": format!("Article {i}: Ünïcode ✓"),
            "body": format!("# Heading {i}\n\nText with \"quotes\" and 'apostrophes'.\n"),
            "tags": ["guide", format!("t{i}")],
            "related_articles": articles.iter().rev().take(2).collect::<Vec<_>>(),
            "status": if i % 3 == 0 { "draft" } else { "published" },
            "sort_order": i as i64 % 3,
        });
        articles.push(
            post(&format!("/v1/kb/{kb_id}/articles"), body)["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    for i in 0..3 {
        post(
            &format!("/v1/kb/{kb_id}/faqs"),
            json!({"category_id": cats[1], "question": format!("Q{i}?"), "answer": "A.",
                   "status": "published"}),
        );
    }
    let project = cli_json(
        db,
        &[
            "project",
            "create",
            "--name",
            "Second",
            "--credit-cap",
            "50",
        ],
    );
    let pid = project["id"].as_str().unwrap();
    let k = cli_json(db, &["key", "create", "--project", pid, "--kind", "admin"]);
    cli_json(db, &["key", "revoke", k["id"].as_str().unwrap()]);
    cli_json(
        db,
        &["key", "create", "--project", pid, "--kind", "assistant"],
    );
    Filled {
        key,
        kb_id,
        site_key,
    }
}

/// Everything a client can read, as one JSON value, including signed cursors of a paged walk.
fn snapshot(srv: &Server, f: &Filled) -> Value {
    let kb = &f.kb_id;
    let mut out = serde_json::Map::new();
    for path in [
        "/v1/project".to_string(),
        "/v1/usage".to_string(),
        "/v1/kb".to_string(),
        format!("/v1/kb/{kb}"),
        format!("/v1/kb/{kb}/site-key"),
        format!("/v1/kb/{kb}/categories"),
        format!("/v1/kb/{kb}/sections"),
        format!("/v1/kb/{kb}/articles?limit=100"),
        format!("/v1/kb/{kb}/articles?limit=3"),
        format!("/v1/kb/{kb}/articles?tag=guide&status=published"),
        format!("/v1/kb/{kb}/faqs"),
        format!("/v1/kb/{kb}/search?q=article%20text"),
    ] {
        let (st, body) = srv.request("GET", &path, Some(&f.key), None);
        ok(st, &body, 200);
        out.insert(path, body);
    }
    for path in ["structure", "categories", "search?q=heading"] {
        let path = format!("/v1/kb/public/help/{path}");
        let (st, body) = http_with(
            srv.port,
            "GET",
            &path,
            &[("X-Minolith-Site-Key", &f.site_key)],
            None,
        );
        ok(st, &body, 200);
        out.insert(path, body);
    }
    // `public_url` names the server's own (random) port.
    let text = Value::Object(out)
        .to_string()
        .replace(&format!("127.0.0.1:{}", srv.port), "SERVER");
    serde_json::from_str(&text).unwrap()
}

/// Asserts two snapshots are equal, naming the first read that differs.
#[track_caller]
fn assert_same(got: &Value, want: &Value, what: &str) {
    for (path, body) in want.as_object().unwrap() {
        assert_eq!(&got[path], body, "{what}: GET {path} differs");
    }
    assert_eq!(got, want, "{what}");
}

fn copy(db: &TestDb, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("copy")
        .args(args)
        .args(db.cli_args())
        .output()
        .unwrap()
}

/// Runs a copy that must succeed and returns its `--json` report, checked for consistency.
/// Without `from`, the source is `db` by default: the database the command points at.
fn copy_ok(db: &TestDb, from: Option<&str>, to: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--to", to, "--json"];
    if let Some(from) = from {
        args.extend(["--from", from]);
    }
    args.extend_from_slice(extra);
    let out = copy(db, &args);
    assert!(
        out.status.success(),
        "tome copy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified"], true);
    let tables = report["tables"].as_array().unwrap();
    assert_eq!(tables.len(), tome_store::copy::TABLES.len(), "{report}");
    for t in tables {
        assert_eq!(t["match"], true, "{t}");
        assert_eq!(t["source_rows"], t["target_rows"], "{t}");
        assert_eq!(t["source_checksum"], t["target_checksum"], "{t}");
    }
    report
}

fn rows(report: &Value, table: &str) -> i64 {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == table)
        .unwrap()["target_rows"]
        .as_i64()
        .unwrap()
}

#[test]
fn copy_round_trips_sqlite_to_the_test_backend_and_back() {
    let a = TestDb::sqlite();
    let b = TestDb::new();
    let c = TestDb::sqlite();

    let srv = Server::start(&a);
    let filled = fill(&srv, &a);
    let original = snapshot(&srv, &filled);

    // The source server keeps running: the copy reads one consistent snapshot.
    let report = copy_ok(&a, Some(&a.url()), &b.url(), &[]);
    for (table, n) in [
        ("instance", 1),
        ("projects", 2),
        ("api_keys", 3),
        ("knowledge_bases", 1),
        ("site_keys", 2),
        ("categories", 2),
        ("sections", 1),
        ("articles", 7),
        ("faqs", 3),
    ] {
        assert_eq!(rows(&report, table), n, "{table}: {report}");
    }
    drop(srv);

    let srv_b = Server::start(&b);
    assert_eq!(
        srv_b.printed_key, None,
        "a copied instance is not bootstrapped again"
    );
    assert_same(&snapshot(&srv_b, &filled), &original, b.backend());

    // New rows on the copy follow the copied ones (sequences moved past them).
    let cat = original["/v1/kb/".to_string() + &filled.kb_id + "/categories"]["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, new) = srv_b.request(
        "POST",
        &format!("/v1/kb/{}/articles", filled.kb_id),
        Some(&filled.key),
        Some(json!({"category_id": cat, "title": "After the move", "body": "x", "sort_order": 99})),
    );
    ok(st, &new, 201);
    let (_, list) = srv_b.request(
        "GET",
        &format!("/v1/kb/{}/articles?limit=100", filled.kb_id),
        Some(&filled.key),
        None,
    );
    assert_eq!(
        list["data"].as_array().unwrap().last().unwrap()["id"],
        new["data"]["id"]
    );
    let moved = snapshot(&srv_b, &filled);
    drop(srv_b);

    // And back to SQLite, by the --from default: the database the command points at.
    copy_ok(&b, None, &c.url(), &[]);
    let srv_c = Server::start(&c);
    assert_same(&snapshot(&srv_c, &filled), &moved, "back to sqlite");
}

#[test]
fn copy_refuses_a_non_empty_target_and_a_failed_copy_changes_nothing() {
    let a = TestDb::sqlite();
    let b = TestDb::new();
    let srv = Server::start(&a);
    let filled = fill(&srv, &a);
    let original = snapshot(&srv, &filled);
    drop(srv);

    // A target that already has an instance (its own bootstrap) is refused without --force.
    let srv_b = Server::start(&b);
    let other_key = srv_b.printed_key.clone().unwrap();
    drop(srv_b);
    let out = copy(&a, &["--to", &b.url()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    let srv_b = Server::start(&b);
    ok(
        srv_b.request("GET", "/v1/kb", Some(&other_key), None).0,
        &Value::Null,
        200,
    );
    drop(srv_b);

    // A source row the target's constraints refuse fails the copy midway: the target keeps
    // exactly what it had.
    let bad = TestDb::sqlite();
    copy_ok(&a, Some(&a.url()), &bad.url(), &[]);
    corrupt_last_article(&bad);
    let out = copy(&bad, &["--to", &b.url(), "--force"]);
    assert!(!out.status.success(), "a corrupt source must not copy");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the target was left as it was"), "{err}");
    let srv_b = Server::start(&b);
    ok(
        srv_b
            .request("GET", "/v1/project", Some(&other_key), None)
            .0,
        &Value::Null,
        200,
    );
    ok(
        srv_b
            .request("GET", "/v1/project", Some(&filled.key), None)
            .0,
        &Value::Null,
        401,
    );
    drop(srv_b);

    // --force replaces the target's content in the same transaction.
    let report = copy_ok(&a, None, &b.url(), &["--force"]);
    assert!(report["replaced_rows"].as_i64().unwrap() > 0);
    let srv_b = Server::start(&b);
    assert_same(&snapshot(&srv_b, &filled), &original, "forced");
    ok(
        srv_b
            .request("GET", "/v1/project", Some(&other_key), None)
            .0,
        &Value::Null,
        401,
    );

    // Copying a database onto itself is refused before anything is opened for writing.
    let out = copy(&a, &["--from", &a.url(), "--to", &a.url()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("same database"));
}

/// Gives the last article a status the schema's CHECK constraint forbids, bypassing the check
/// (as a hand-edited or damaged database might).
fn corrupt_last_article(db: &TestDb) {
    use sqlx::Connection;
    let path = db.data_dir().unwrap().join("tome.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::raw_sql(
            "PRAGMA ignore_check_constraints = ON;
             UPDATE articles SET status = 'bogus' WHERE seq = (SELECT MAX(seq) FROM articles);",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    });
}
