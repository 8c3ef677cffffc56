//! Helpers for tests that drive the real `tome` binary: a `tome serve` child process, blocking
//! HTTP requests against it, and CLI runs against the same data directory.
#![allow(clippy::unwrap_used, dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_tome");

/// A running `tome serve`, killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    /// The admin key printed on first start, if this start printed one.
    pub printed_key: Option<String>,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts a server on `data_dir` with a high admin rate limit, so tests that build and read
    /// whole knowledge bases are not throttled.
    pub fn start(data_dir: &Path) -> Server {
        let port = free_port();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--admin-rate-limit", "100000"])
            .arg("--data-dir")
            .arg(data_dir)
            .env("TOME_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
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
        let printed_key = rx
            .try_iter()
            .collect::<Vec<_>>()
            .iter()
            .flat_map(|l| l.split_whitespace())
            .find(|w| w.starts_with("tome_"))
            .map(str::to_string);
        let server = Server {
            child,
            port,
            printed_key,
        };
        assert_eq!(server.get("/healthz", None).0, 200, "server did not start");
        server
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let auth = key.map(|k| ("Authorization", format!("Bearer {k}")));
        http(self.port, method, path, auth.as_slice(), body)
    }

    pub fn get(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        self.request("GET", path, key, None)
    }

    /// POSTs `body` and returns `data`, asserting a 201.
    pub fn create(&self, key: &str, path: &str, body: Value) -> Value {
        let (st, v) = self.request("POST", path, Some(key), Some(body));
        assert_eq!(st, 201, "POST {path}: {v}");
        v["data"].clone()
    }

    /// Every item of a paginated list.
    pub fn list_all(&self, key: &str, path: &str) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit=100&cursor={c}"),
                None => format!("{path}{sep}limit=100"),
            };
            let (st, v) = self.get(&url, Some(key));
            assert_eq!(st, 200, "GET {url}: {v}");
            out.extend(v["data"].as_array().unwrap().iter().cloned());
            match v["pagination"]["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP/1.1 request; returns (status, JSON body or Null).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
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

/// Runs `tome ARGS --data-dir DIR`.
pub fn cli(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap()
}

/// Runs a CLI command with `--json`, asserts success and parses its output.
pub fn cli_json(data_dir: &Path, args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = cli(data_dir, &with_json);
    assert!(
        out.status.success(),
        "tome {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a CLI command that must fail; returns its stderr.
pub fn cli_err(data_dir: &Path, args: &[&str]) -> String {
    let out = cli(data_dir, args);
    assert!(
        !out.status.success(),
        "tome {args:?} should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A new project with an admin key: (project ID, key).
pub fn project_with_key(data_dir: &Path, name: &str, cap: Option<i64>) -> (String, String) {
    let cap = cap.map(|c| c.to_string());
    let mut args = vec!["project", "create", "--name", name];
    if let Some(c) = &cap {
        args.extend(["--credit-cap", c.as_str()]);
    }
    let project = cli_json(data_dir, &args);
    let id = project["id"].as_str().unwrap().to_string();
    let key = cli_json(
        data_dir,
        &["key", "create", "--project", &id, "--kind", "admin"],
    );
    (id, key["key"].as_str().unwrap().to_string())
}
