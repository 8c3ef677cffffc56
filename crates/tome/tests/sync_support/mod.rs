//! Support for the docs-as-code journeys (`tests/sync.rs`): `tome serve` processes with the
//! update runner on, a real git server (`tome_sync::testing::GitServer`: `git daemon` and smart
//! HTTP on 127.0.0.1), projects and keys made with the CLI, and waiting for updates to end.
//!
//! Nothing here sleeps to synchronise: waits poll a condition until a deadline.
#![allow(dead_code, clippy::unwrap_used)]

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tome_store::testing::TestDb;
use tome_sync::testing::{GitServer, WorkRepo};

use crate::cluster::{Resp, free_port, http};

pub const BIN: &str = env!("CARGO_BIN_EXE_tome");

/// How long an update may take in these tests (the slow ones fetch thousands of files).
pub const UPDATE_DEADLINE: Duration = Duration::from_secs(120);

/// A running `tome serve`, killed on drop.
pub struct Tome {
    child: Option<Child>,
    pub port: u16,
    /// What the server printed on stdout (the bootstrap key, if any).
    pub printed: Vec<String>,
}

impl Tome {
    /// `tome serve` with `args` (database, data dir, sync flags) and no admin throttling.
    pub fn start(args: &[OsString]) -> Tome {
        let port = free_port();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--admin-rate-limit", "100000"])
            .args(args)
            .env("TOME_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tome serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut tome = Tome {
            child: Some(child),
            port,
            printed: Vec::new(),
        };
        wait_until(
            Duration::from_secs(30),
            "tome serve answers /healthz",
            || {
                if let Some(c) = tome.child.as_mut()
                    && let Ok(Some(status)) = c.try_wait()
                {
                    panic!("tome serve exited at start ({status}); see its stderr above");
                }
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                    && http(port, "GET", "/healthz", &[], None).status == 200
            },
        );
        tome.printed = rx.try_iter().collect();
        tome
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Resp {
        http(self.port, method, path, headers, body)
    }

    /// A management call with `key`.
    pub fn api(&self, method: &str, path: &str, key: &str, body: Option<&Value>) -> Resp {
        let auth = format!("Bearer {key}");
        http(self.port, method, path, &[("authorization", &auth)], body)
    }

    /// A request with a raw (possibly malformed) body.
    pub fn raw(&self, method: &str, path: &str, key: &str, body: &str) -> Resp {
        raw_http(
            self.port,
            method,
            path,
            &[("authorization", &format!("Bearer {key}"))],
            body.as_bytes(),
        )
    }

    /// Kills the process the way a crash does (SIGKILL) and waits for it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Tome {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An HTTP/1.1 request with a raw body (webhooks are signed over the exact bytes).
pub fn raw_http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    s.write_all(&bytes).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, payload) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        json: serde_json::from_str(payload).unwrap_or(Value::Null),
        text: payload.to_string(),
    }
}

/// Polls `check` every 20 ms until it holds; panics after `bound`.
pub fn wait_until(bound: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < bound, "{what}: not within {bound:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `tome ARGS` with the database arguments `db`.
pub fn cli(db: &[OsString], args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(db)
        .env("TOME_LOG", "warn")
        .output()
        .expect("run tome")
}

pub fn cli_json(db: &[OsString], args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = cli(db, &with_json);
    assert!(
        out.status.success(),
        "tome {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

/// A new project (with an optional monthly credit cap) and an admin key for it.
pub fn project_with_key(db: &[OsString], name: &str, cap: Option<i64>) -> (String, String) {
    let cap = cap.map(|c| c.to_string());
    let mut args = vec!["project", "create", "--name", name];
    if let Some(c) = &cap {
        args.extend(["--credit-cap", c.as_str()]);
    }
    let project = cli_json(db, &args);
    let id = project["id"].as_str().unwrap().to_string();
    let key = cli_json(db, &["key", "create", "--project", &id, "--kind", "admin"]);
    (id, key["key"].as_str().unwrap().to_string())
}

/// A git server inside the tokio runtime it needs (its HTTP side is a task). Dropped before
/// the runtime.
pub struct Git {
    pub server: GitServer,
    rt: tokio::runtime::Runtime,
}

impl Git {
    pub fn start() -> Git {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt.block_on(GitServer::start());
        Git { server, rt }
    }

    /// A new repository with `files` committed and pushed to `main`.
    pub fn repo(&self, name: &str, files: &[(&str, &str)]) -> WorkRepo {
        let repo = self.server.create_repo(name);
        for (path, text) in files {
            repo.write(path, text);
        }
        repo.commit("first version");
        repo.push();
        repo
    }
}

/// One test's world: a database (SQLite, or PostgreSQL with `TOME_TEST_DATABASE_URL`), a
/// project with an admin key, a git server and one `tome serve` with the runner on.
pub struct World {
    pub tome: Tome,
    /// The server's arguments (to start it again).
    pub args: Vec<OsString>,
    pub project: String,
    pub key: String,
    pub git: Git,
    pub db: TestDb,
}

impl World {
    pub fn new(extra: &[&str]) -> World {
        World::with_cap(None, extra)
    }

    /// A world whose server allows private sources (`--sync-allow-private`: the git server is
    /// on 127.0.0.1), with a project capped at `cap` credits a month.
    pub fn with_cap(cap: Option<i64>, extra: &[&str]) -> World {
        let mut all = vec!["--sync-allow-private"];
        all.extend_from_slice(extra);
        World::plain(cap, &all)
    }

    /// A world whose server gets exactly `extra` besides the database.
    pub fn plain(cap: Option<i64>, extra: &[&str]) -> World {
        let db = TestDb::new();
        let (project, key) = project_with_key(&db.cli_args(), "Docs team", cap);
        let mut args = db.cli_args();
        args.extend(extra.iter().map(OsString::from));
        let tome = Tome::start(&args);
        World {
            tome,
            args,
            project,
            key,
            git: Git::start(),
            db,
        }
    }

    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.tome.api(method, path, &self.key, body)
    }

    pub fn get(&self, path: &str) -> Resp {
        self.api("GET", path, None)
    }

    /// A public KB: (kb_id, site_key).
    pub fn kb(&self, slug: &str) -> (String, String) {
        let r = self.api(
            "POST",
            "/v1/kb",
            Some(&json!({"title": format!("Docs {slug}"), "slug": slug, "is_public": true})),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        (
            r.data()["id"].as_str().unwrap().to_string(),
            r.data()["site_key"].as_str().unwrap().to_string(),
        )
    }

    /// Sets `kb`'s source to `url` (branch main, format tome unless `body` says otherwise).
    pub fn set_source(&self, kb: &str, body: Value) -> Resp {
        let r = self.api("PUT", &format!("/v1/kb/{kb}/source"), Some(&body));
        assert!(
            r.status == 201 || r.status == 200,
            "PUT source: {} {}",
            r.status,
            r.text
        );
        r
    }

    /// Triggers an update of `kb` and returns its status ID.
    pub fn trigger(&self, kb: &str) -> String {
        let r = self.api(
            "POST",
            &format!("/v1/project/update/{}?kb_id={kb}", self.project),
            None,
        );
        assert_eq!(r.status, 202, "trigger: {}", r.text);
        r.json["statusId"].as_str().unwrap().to_string()
    }

    pub fn status(&self, id: &str) -> Value {
        let r = self.get(&format!("/v1/project/update-status/{id}"));
        assert_eq!(r.status, 200, "status {id}: {}", r.text);
        r.json
    }

    /// Polls the status until it is final (`success` or `failure`).
    pub fn wait(&self, id: &str) -> Value {
        wait_final(&self.tome, &self.key, id)
    }

    /// Triggers, waits, and asserts the outcome; returns the final status.
    pub fn update(&self, kb: &str, expect: &str) -> Value {
        let id = self.trigger(kb);
        let st = self.wait(&id);
        assert_eq!(st["status"], expect, "update {id}: {st:#}");
        st
    }

    /// Every item of a management list.
    pub fn list(&self, path: &str) -> Vec<Value> {
        list_all(&self.tome, &self.key, path)
    }

    /// The KB's whole content: categories, sections, articles (as listed, and each one in full
    /// with its body) and FAQs.
    pub fn content(&self, kb: &str) -> Value {
        let articles = self.list(&format!("/v1/kb/{kb}/articles"));
        let full: Vec<Value> = articles
            .iter()
            .map(|a| {
                let r = self.get(&format!(
                    "/v1/kb/{kb}/articles/{}",
                    a["id"].as_str().unwrap()
                ));
                assert_eq!(r.status, 200, "{}", r.text);
                r.data().clone()
            })
            .collect();
        json!({
            "categories": self.list(&format!("/v1/kb/{kb}/categories")),
            "sections": self.list(&format!("/v1/kb/{kb}/sections")),
            "articles": articles,
            "full_articles": full,
            "faqs": self.list(&format!("/v1/kb/{kb}/faqs")),
        })
    }

    /// IDs of the articles a management search finds.
    pub fn search(&self, kb: &str, q: &str) -> Vec<String> {
        search_ids(&self.tome, &self.key, kb, q)
    }
}

pub fn search_ids(tome: &Tome, key: &str, kb: &str, q: &str) -> Vec<String> {
    let r = tome.api("GET", &format!("/v1/kb/{kb}/search?q={q}"), key, None);
    assert_eq!(r.status, 200, "search {q}: {}", r.text);
    let mut ids: Vec<String> = r.json["data"]["articles"]
        .as_array()
        .unwrap_or_else(|| panic!("search answer: {}", r.text))
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

pub fn wait_final(tome: &Tome, key: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let r = tome.api("GET", &format!("/v1/project/update-status/{id}"), key, None);
        assert_eq!(r.status, 200, "status {id}: {}", r.text);
        let last = r.json;
        if last["status"] == "success" || last["status"] == "failure" {
            return last;
        }
        assert!(
            start.elapsed() < UPDATE_DEADLINE,
            "update {id} did not end within {UPDATE_DEADLINE:?}: {last:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn list_all(tome: &Tome, key: &str, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=100&cursor={c}"),
            None => format!("{path}{sep}limit=100"),
        };
        let r = tome.api("GET", &url, key, None);
        assert_eq!(r.status, 200, "GET {url}: {}", r.text);
        out.extend(r.json["data"].as_array().unwrap().iter().cloned());
        match r.json["pagination"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// A temp directory's path as an argument.
pub fn arg(p: &Path) -> OsString {
    p.as_os_str().to_owned()
}

/// Copies a folder tree (files only, hidden ones too) into `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// HMAC-SHA256 of `body` with `secret`, as `sha256=<hex>`.
pub fn hub_signature(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let sig = mac.finalize().into_bytes();
    let hex: String = sig.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}
