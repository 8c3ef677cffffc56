//! End-to-end tests of the `tome` binary: `serve` as a real process on a real socket, and the
//! operator CLI against the same database while the server runs. Each test gets a fresh
//! database from `tome_store::testing`: temp SQLite, or a PostgreSQL schema when
//! `TOME_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used)]

#[path = "cli/copy.rs"]
mod copy;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tome_store::testing::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_tome");

/// A running `tome serve`.
struct Server {
    child: Child,
    port: u16,
    /// The admin key printed on first start, if this start printed one.
    printed_key: Option<String>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    fn start(db: &TestDb) -> Server {
        let port = free_port();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(db.cli_args())
            .env("TOME_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // Everything the server prints before it listens; the key, if printed, comes first.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let printed: Vec<String> = rx.try_iter().collect();
        let printed_key = printed
            .iter()
            .flat_map(|l| l.split_whitespace())
            .find(|w| w.starts_with("tome_"))
            .map(str::to_string);
        let server = Server {
            child,
            port,
            printed_key,
        };
        assert_eq!(
            server.request("GET", "/healthz", None, None).0,
            200,
            "server did not start"
        );
        server
    }

    /// A blocking HTTP/1.1 request; returns (status, JSON body or Null).
    fn request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        http(self.port, method, path, key, body)
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http(
    port: u16,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    http_with(port, method, path, &headers, body)
}

/// A blocking HTTP/1.1 request with extra headers; returns (status, JSON body or Null).
fn http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let payload = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}

/// Runs a CLI command against `db` and parses its `--json` output.
fn cli_json(db: &TestDb, args: &[&str]) -> Value {
    let out = Command::new(BIN)
        .args(args)
        .arg("--json")
        .args(db.cli_args())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tome {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn create_kb_with_articles(srv: &Server, key: &str, n: usize) -> (String, Vec<String>) {
    let (st, kb) = srv.request(
        "POST",
        "/v1/kb",
        Some(key),
        Some(json!({"title": "Help", "slug": "help"})),
    );
    assert_eq!(st, 201, "{kb}");
    let kb_id = kb["data"]["id"].as_str().unwrap().to_string();
    let (st, cat) = srv.request(
        "POST",
        &format!("/v1/kb/{kb_id}/categories"),
        Some(key),
        Some(json!({"name": "Start"})),
    );
    assert_eq!(st, 201);
    let cat_id = cat["data"]["id"].as_str().unwrap();
    let ids = (0..n)
        .map(|i| {
            let body =
                json!({"category_id": cat_id, "title": format!("Article {i}"), "body": "text"});
            let (st, a) = srv.request(
                "POST",
                &format!("/v1/kb/{kb_id}/articles"),
                Some(key),
                Some(body),
            );
            assert_eq!(st, 201, "{a}");
            a["data"]["id"].as_str().unwrap().to_string()
        })
        .collect();
    (kb_id, ids)
}

#[test]
fn first_start_prints_one_working_admin_key_and_restart_keeps_data() {
    let db = TestDb::new();
    let mut srv = Server::start(&db);
    let key = srv
        .printed_key
        .clone()
        .expect("first start prints an admin key");
    assert_eq!(srv.request("GET", "/readyz", None, None).0, 200);
    let (kb_id, ids) = create_kb_with_articles(&srv, &key, 3);

    srv.signal("-TERM");
    assert!(
        srv.wait_exit().success(),
        "SIGTERM should shut down cleanly"
    );

    let srv = Server::start(&db);
    assert_eq!(srv.printed_key, None, "the admin key is printed only once");
    let (st, list) = srv.request("GET", &format!("/v1/kb/{kb_id}/articles"), Some(&key), None);
    assert_eq!(st, 200);
    let got: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
}

/// On SQLite this is about the file (WAL, `synchronous=FULL`); on PostgreSQL, that a response
/// is only sent after `COMMIT` returned.
#[test]
fn acknowledged_writes_survive_kill_9() {
    let db = TestDb::new();
    let mut srv = Server::start(&db);
    let key = srv.printed_key.clone().unwrap();
    let (kb_id, ids) = create_kb_with_articles(&srv, &key, 25);
    srv.signal("-KILL");
    srv.wait_exit();

    let srv = Server::start(&db);
    for id in &ids {
        let (st, _) = srv.request(
            "GET",
            &format!("/v1/kb/{kb_id}/articles/{id}"),
            Some(&key),
            None,
        );
        assert_eq!(
            st, 200,
            "article {id} acknowledged before kill -9 is missing"
        );
    }
}

#[test]
fn operator_cli_works_against_a_running_server() {
    let db = TestDb::new();
    let srv = Server::start(&db);

    let project = cli_json(
        &db,
        &["project", "create", "--name", "Acme", "--credit-cap", "5"],
    );
    let pid = project["id"].as_str().unwrap();
    assert!(pid.starts_with("prj_"));
    assert_eq!(project["credit_cap"], 5);

    let key = cli_json(&db, &["key", "create", "--project", pid, "--kind", "admin"]);
    for field in ["id", "key", "kind", "project_id", "key_prefix"] {
        assert!(key.get(field).is_some(), "missing {field} in {key}");
    }
    let plaintext = key["key"].as_str().unwrap();
    assert!(plaintext.starts_with(key["key_prefix"].as_str().unwrap()));
    assert_eq!(key["kind"], "admin");

    // The new key works on the running server at once, scoped to the new project.
    let (st, p) = srv.request("GET", "/v1/project", Some(plaintext), None);
    assert_eq!(st, 200);
    assert_eq!(p["data"]["id"], pid);
    assert_eq!(p["data"]["name"], "Acme");

    // The cap set by the operator applies: a KB (3) fits, a second (6 > 5) does not.
    let kb = |slug: &str| json!({"title": "T", "slug": slug});
    assert_eq!(
        srv.request("POST", "/v1/kb", Some(plaintext), Some(kb("a")))
            .0,
        201
    );
    let (st, err) = srv.request("POST", "/v1/kb", Some(plaintext), Some(kb("b")));
    assert_eq!(st, 402);
    assert_eq!(err["error"]["code"], "spending_cap_exceeded");
    let updated = cli_json(
        &db,
        &[
            "project",
            "update",
            pid,
            "--no-credit-cap",
            "--name",
            "Acme Inc",
        ],
    );
    assert_eq!(updated["credit_cap"], Value::Null);
    assert_eq!(
        srv.request("POST", "/v1/kb", Some(plaintext), Some(kb("b")))
            .0,
        201
    );

    let assistant = cli_json(
        &db,
        &["key", "create", "--project", pid, "--kind", "assistant"],
    );
    assert!(assistant["key"].as_str().unwrap().starts_with("tome_dsc_"));
    assert_eq!(
        srv.request("GET", "/v1/project", assistant["key"].as_str(), None)
            .0,
        403
    );

    let keys = cli_json(&db, &["key", "list", "--project", pid]);
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(
        keys.to_string().find(plaintext).is_none(),
        "key list must not show plaintext"
    );

    let projects = cli_json(&db, &["project", "list"]);
    let names: Vec<&str> = projects
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "Acme Inc"]);

    // The server follows the change feed: a revocation by the CLI (another process) applies
    // within the follower's interval (250 ms).
    let revoked = cli_json(&db, &["key", "revoke", key["id"].as_str().unwrap()]);
    assert!(revoked["revoked_at"].is_string());
    let started = std::time::Instant::now();
    let (st, err) = loop {
        let (st, body) = srv.request("GET", "/v1/project", Some(plaintext), None);
        if st != 200 || started.elapsed() > std::time::Duration::from_secs(1) {
            break (st, body);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert_eq!(st, 401, "a revoked key still worked after 1 s");
    assert_eq!(err["error"]["code"], "unauthorized");
}

#[test]
fn cli_reports_mistakes_without_a_backtrace() {
    let db = TestDb::new();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .args(db.cli_args())
            .output()
            .unwrap()
    };
    let out = run(&[
        "key",
        "create",
        "--project",
        "prj_doesnotexist",
        "--kind",
        "admin",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Project not found"));
    let out = run(&["project", "create", "--name", "  "]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("name"));
    let out = run(&["project", "create", "--name", "X", "--credit-cap", "-1"]);
    assert!(!out.status.success());
    let out = run(&["key", "revoke", "nonsense"]);
    assert!(!out.status.success());
    let out = run(&["project", "list"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("No projects yet"));
}

#[test]
fn settings_come_from_environment_variables() {
    let db = TestDb::new();
    let port = free_port();
    let mut cmd = Command::new(BIN);
    cmd.env("TOME_DATA_DIR", db.node_dir());
    if db.data_dir().is_none() {
        cmd.env("TOME_DATABASE_URL", db.url());
    }
    let mut child = cmd
        .arg("serve")
        .env("TOME_LISTEN", format!("127.0.0.1:{port}"))
        .env("TOME_ADMIN_RATE_LIMIT", "2")
        .env("TOME_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let key = loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "no key printed");
        if let Some(k) = line.split_whitespace().find(|w| w.starts_with("tome_")) {
            break k.to_string();
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(25));
    }
    if let Some(dir) = db.data_dir() {
        assert!(dir.join("tome.db").exists());
    }
    // With a limit of 2 per clock minute, five quick requests see a 429 even if they straddle a
    // window boundary.
    let codes: Vec<u16> = (0..5)
        .map(|_| http(port, "GET", "/v1/project", Some(&key), None).0)
        .collect();
    assert_eq!(codes[0], 200);
    assert!(codes.contains(&429), "{codes:?}");
    assert!(codes.iter().all(|c| *c == 200 || *c == 429), "{codes:?}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn an_unreachable_database_is_a_clear_error_without_the_password() {
    let out = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db-acquire-timeout",
            "2",
        ])
        .args(["--database-url", "postgres://tome:hunter2@127.0.0.1:1/tome"])
        .env("TOME_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to postgres://tome@127.0.0.1:1/tome"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let out = Command::new(BIN)
        .args(["project", "list", "--database-url", "mysql://x@y/z"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("postgres://"));
}

/// IDs of the article hits of a management search.
fn search_ids(srv: &Server, key: &str, kb_id: &str, q: &str) -> Vec<String> {
    let (st, body) = srv.request(
        "GET",
        &format!("/v1/kb/{kb_id}/search?q={q}&limit=100"),
        Some(key),
        None,
    );
    assert_eq!(st, 200, "{body}");
    let mut ids: Vec<String> = body["data"]["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn search_survives_kill_9_and_a_lost_index() {
    let db = TestDb::new();
    let mut srv = Server::start(&db);
    let key = srv.printed_key.clone().unwrap();
    let (kb_id, mut ids) = create_kb_with_articles(&srv, &key, 12);
    ids.sort();
    assert_eq!(search_ids(&srv, &key, &kb_id, "article"), ids);
    srv.signal("-KILL");
    srv.wait_exit();

    // Every acknowledged write is searchable after a crash.
    let mut srv = Server::start(&db);
    assert_eq!(search_ids(&srv, &key, &kb_id, "article"), ids);
    srv.signal("-TERM");
    assert!(srv.wait_exit().success());

    // The index is derived data: without it, the next start rebuilds it.
    std::fs::remove_dir_all(db.node_dir().join("search")).unwrap();
    let srv = Server::start(&db);
    assert_eq!(search_ids(&srv, &key, &kb_id, "article"), ids);
    assert_eq!(srv.request("GET", "/readyz", None, None).0, 200);
}

#[test]
fn reindex_rebuilds_and_refuses_while_a_server_holds_the_index() {
    let db = TestDb::new();
    let mut srv = Server::start(&db);
    let key = srv.printed_key.clone().unwrap();
    let (kb_id, mut ids) = create_kb_with_articles(&srv, &key, 5);
    ids.sort();

    let out = Command::new(BIN)
        .arg("reindex")
        .args(db.cli_args())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "reindex must not run beside a server"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another Tome process"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The server's index is untouched.
    assert_eq!(search_ids(&srv, &key, &kb_id, "article"), ids);

    srv.signal("-TERM");
    assert!(srv.wait_exit().success());
    let report = cli_json(&db, &["reindex"]);
    assert_eq!(report["documents"], 5, "{report}");
    // `--search-dir` puts the index anywhere (PostgreSQL has no data directory).
    let elsewhere = tempfile::tempdir().unwrap();
    let report = cli_json(
        &db,
        &[
            "reindex",
            "--search-dir",
            elsewhere.path().to_str().unwrap(),
        ],
    );
    assert_eq!(report["documents"], 5, "{report}");
    assert!(elsewhere.path().join("meta.json").exists());

    let srv = Server::start(&db);
    assert_eq!(search_ids(&srv, &key, &kb_id, "article"), ids);
}

/// The descriptors of process `pid` that name an unlinked file under `dir` (Linux shows an
/// unnamed `O_TMPFILE` file as `DIR/#INODE (deleted)`).
#[cfg(target_os = "linux")]
fn unnamed_files_in(pid: u32, dir: &std::path::Path) -> usize {
    let dir = std::fs::canonicalize(dir).unwrap();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| {
            target.starts_with(&dir) && target.to_string_lossy().ends_with(" (deleted)")
        })
        .count()
}

#[cfg(target_os = "linux")]
#[test]
fn large_public_bodies_are_sent_from_unnamed_files_beside_the_index() {
    let db = TestDb::new();
    let srv = Server::start(&db);
    let key = srv.printed_key.clone().unwrap();
    let (st, kb) = srv.request(
        "POST",
        "/v1/kb",
        Some(&key),
        Some(json!({"title": "Help", "slug": "help"})),
    );
    assert_eq!(st, 201, "{kb}");
    let kb_id = kb["data"]["id"].as_str().unwrap();
    let site_key = kb["data"]["site_key"].as_str().unwrap();
    let cat = srv.request(
        "POST",
        &format!("/v1/kb/{kb_id}/categories"),
        Some(&key),
        Some(json!({"name": "Start"})),
    );
    let cat_id = cat.1["data"]["id"].as_str().unwrap();
    // Well over the size from which a body gets a file of its own, and not compressible to
    // under it in any way that matters here (the identity body is asked for).
    let body: String = (0..800)
        .map(|i| format!("Paragraph {i} of a long guide.\n\n"))
        .collect();
    let (st, article) = srv.request(
        "POST",
        &format!("/v1/kb/{kb_id}/articles"),
        Some(&key),
        Some(
            json!({"category_id": cat_id, "title": "Long guide", "body": body,
                    "status": "published"}),
        ),
    );
    assert_eq!(st, 201, "{article}");
    let id = article["data"]["id"].as_str().unwrap();
    let search_dir = db.node_dir().join("search");
    let pid = srv.child.id();
    let before = unnamed_files_in(pid, &search_dir);

    let path = format!("/v1/kb/public/help/articles/{id}");
    let read = || {
        http_with(
            srv.port,
            "GET",
            &path,
            &[("X-Minolith-Site-Key", site_key)],
            None,
        )
    };
    let (st, first) = read();
    assert_eq!(st, 200, "{first}");
    assert!(
        first["data"]["body"].as_str() == Some(body.as_str()),
        "the article's body comes back whole"
    );
    // The file is made off the request's thread, soon after the body is cached.
    let deadline = Instant::now() + Duration::from_secs(10);
    while unnamed_files_in(pid, &search_dir) == before {
        assert!(
            Instant::now() < deadline,
            "the cached body got no unnamed file in {}",
            search_dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The next read is the cached answer, sent from that file: the same bytes.
    let (st, second) = read();
    assert_eq!(st, 200);
    assert!(second == first, "the cached answer differs from the first");
    // Nothing was left in the directory by name.
    let named: Vec<_> = std::fs::read_dir(&search_dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with('#'))
        .collect();
    assert!(named.is_empty(), "{named:?}");
}

/// The server turns transparent huge pages off for itself: with them, the first touch of each
/// 2 MiB of heap made a request wait while the kernel zeroed it (serve.rs,
/// `disable_transparent_huge_pages`).
#[cfg(target_os = "linux")]
#[test]
fn the_server_runs_without_transparent_huge_pages() {
    let db = TestDb::new();
    let srv = Server::start(&db);
    let status = std::fs::read_to_string(format!("/proc/{}/status", srv.child.id())).unwrap();
    let thp = status
        .lines()
        .find_map(|l| l.strip_prefix("THP_enabled:"))
        .map(str::trim);
    assert_eq!(thp, Some("0"), "{status}");
}

/// Logs written to a pipe or a file carry no ANSI colour codes; colour is for a terminal only
/// (serve.rs, `init_logging`).
#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    let db = TestDb::new();
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(db.cli_args())
        .env("TOME_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(25));
    }
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}\n{logs}");
    // INFO lines were written (the level is coloured on a terminal), and none holds an escape.
    assert!(logs.contains("Tome is listening"), "{logs}");
    assert!(logs.contains("INFO"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "{logs:?}");
}
