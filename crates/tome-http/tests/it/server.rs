//! `tome_http::server`: the real server on a loopback socket, spoken to byte by byte — keep-alive,
//! pipelining, bodies split across packets, conditional requests, the hand-off to hyper for
//! everything the lean loop does not take, timeouts and graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tome_http::server::{ServeOptions, spawn_threads};

use crate::support::TestApp;

/// The server as `tome serve` runs it: two HTTP threads, each with its own runtime, accepting
/// from one socket; the app's store and index belong to the test's runtime.
struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    done: JoinHandle<()>,
}

impl Server {
    async fn start(app: &TestApp, options: ServeOptions) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopping) = watch::channel(false);
        let mut threads = spawn_threads(listener, app.service(), options, 2, stopping).unwrap();
        let done = tokio::spawn(async move {
            threads.stopped().await;
            threads.join().await;
        });
        Server { addr, stop, done }
    }

    async fn connect(&self) -> Client {
        Client {
            stream: TcpStream::connect(self.addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    /// Starts a graceful shutdown; `done` finishes when the server has stopped.
    fn shut_down(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// A deliberately plain HTTP/1.1 client: what it sends is exactly what the test wrote.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).await.unwrap();
    }

    async fn fill(&mut self) -> bool {
        // Into the heap buffer: a large array here would sit in every future awaiting this.
        self.buf.reserve(64 * 1024);
        let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read_buf(&mut self.buf))
            .await
            .expect("the server answers within 10 s")
            .unwrap_or(0);
        n > 0
    }

    /// Reads one response (`head` is false for a reply to HEAD: no body follows).
    async fn reply_to(&mut self, head: bool) -> Reply {
        let (status, headers) = loop {
            let mut slots = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut slots);
            match resp.parse(&self.buf).expect("a well-formed response") {
                httparse::Status::Complete(n) => {
                    let headers: Vec<(String, String)> = resp
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).to_string(),
                            )
                        })
                        .collect();
                    let status = resp.code.unwrap();
                    self.buf.drain(..n);
                    break (status, headers);
                }
                httparse::Status::Partial => {
                    assert!(self.fill().await, "connection closed mid-head");
                }
            }
        };
        let find = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if head || status == 304 || status == 204 || (100..200).contains(&status) {
            // No body.
        } else if let Some(n) = find("content-length") {
            let n: usize = n.parse().unwrap();
            while self.buf.len() < n {
                assert!(self.fill().await, "connection closed mid-body");
            }
            body = self.buf.drain(..n).collect();
        } else if find("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            loop {
                let line_end = loop {
                    if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        break i;
                    }
                    assert!(self.fill().await, "connection closed mid-chunk");
                };
                let size = usize::from_str_radix(
                    std::str::from_utf8(&self.buf[..line_end]).unwrap().trim(),
                    16,
                )
                .unwrap();
                while self.buf.len() < line_end + 2 + size + 2 {
                    assert!(self.fill().await, "connection closed mid-chunk");
                }
                body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
                self.buf.drain(..line_end + 2 + size + 2);
                if size == 0 {
                    break;
                }
            }
        } else {
            while self.fill().await {}
            body = std::mem::take(&mut self.buf);
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn reply(&mut self) -> Reply {
        self.reply_to(false).await
    }

    /// `POST path` with a JSON body as `key`, and its reply.
    async fn post(&mut self, path: &str, key: &str, body: &Value) -> Reply {
        self.send(&post_bytes(path, key, body)).await;
        self.reply().await
    }

    /// Whether the server closes the connection (within 10 s) without sending anything more.
    async fn closes(&mut self) -> bool {
        !self.fill().await && self.buf.is_empty()
    }
}

fn get(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: tome.test\r\n{extra}\r\n").into_bytes()
}

/// The bytes of `POST path` with a JSON body as `key`.
fn post_bytes(path: &str, key: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "POST {path} HTTP/1.1\r\nHost: tome.test\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn one_connection_carries_reads_writes_and_public_requests() {
    let app = TestApp::new().await;
    let server = Server::start(&app, ServeOptions::default()).await;
    let mut c = server.connect().await;
    let auth = format!("Authorization: Bearer {}\r\n", app.key);

    c.send(&get("/healthz", "")).await;
    let r = c.reply().await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
    assert!(r.header("date").is_some_and(|d| d.ends_with(" GMT")));
    assert_eq!(r.header("content-length"), Some("2"));

    let kb = c
        .post(
            "/v1/kb",
            &app.key,
            &json!({"title": "Wire", "slug": "wire", "is_public": true}),
        )
        .await;
    assert_eq!(kb.status, 201, "{}", String::from_utf8_lossy(&kb.body));
    let kb = kb.json()["data"].clone();
    let kb_id = kb["id"].as_str().unwrap();
    let site_key = kb["site_key"].as_str().unwrap();

    let categories = format!("/v1/kb/{kb_id}/categories");
    let cat = c
        .post(&categories, &app.key, &json!({"name": "Basics"}))
        .await;
    assert_eq!(cat.status, 201);
    let cat_id = cat.json()["data"]["id"].as_str().unwrap().to_string();
    let article = json!({
        "category_id": cat_id, "title": "Hello wire", "body": "Over a socket.", "status": "published"
    });
    let created = c
        .post(&format!("/v1/kb/{kb_id}/articles"), &app.key, &article)
        .await;
    assert_eq!(created.status, 201);

    // Validation errors travel the same way: the envelope, 422, the field named.
    let bad = c.post(&categories, &app.key, &json!({"name": ""})).await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.json()["error"]["details"]["field"], "name");

    // The public API: first read (rendered), then a conditional one (304, no body).
    let public = "/v1/kb/public/wire/structure";
    let key = format!("X-Minolith-Site-Key: {site_key}\r\n");
    c.send(&get(public, &key)).await;
    let first = c.reply().await;
    assert_eq!(first.status, 200);
    assert_eq!(first.json()["data"]["categories"][0]["name"], "Basics");
    let etag = first.header("etag").unwrap().to_string();
    assert_eq!(
        first.header("content-length").unwrap(),
        first.body.len().to_string()
    );
    c.send(&get(public, &format!("{key}If-None-Match: {etag}\r\n")))
        .await;
    let again = c.reply().await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("content-length"), None);

    // A wrong key: the generic 403, and the connection stays usable.
    c.send(&get(public, "X-Minolith-Site-Key: nope\r\n")).await;
    assert_eq!(c.reply().await.status, 403);
    c.send(&get("/v1/kb", &auth)).await;
    let list = c.reply().await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["data"][0]["slug"], "wire");
    // And a hosted page, on the same connection.
    c.send(&get("/hc/wire", "")).await;
    let page = c.reply().await;
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("Basics"));
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let app = TestApp::new().await;
    let server = Server::start(&app, ServeOptions::default()).await;
    let mut c = server.connect().await;
    let auth = format!("Authorization: Bearer {}\r\n", app.key);
    let mut burst = get("/healthz", "");
    burst.extend(get("/v1/kb/kb_missing", &auth));
    burst.extend(post_bytes(
        "/v1/kb",
        &app.key,
        &json!({"title": "Piped", "slug": "piped"}),
    ));
    burst.extend(get("/v1/kb", &auth));
    c.send(&burst).await;
    assert_eq!(c.reply().await.body, b"ok");
    assert_eq!(c.reply().await.status, 404);
    assert_eq!(c.reply().await.status, 201);
    let list = c.reply().await;
    assert_eq!(list.json()["data"][0]["slug"], "piped");
}

#[tokio::test]
async fn a_request_split_into_pieces_is_reassembled() {
    let app = TestApp::new().await;
    let server = Server::start(&app, ServeOptions::default()).await;
    let mut c = server.connect().await;
    let raw = post_bytes(
        "/v1/kb",
        &app.key,
        &json!({"title": "Slow client", "slug": "slow"}),
    );
    // Byte by byte through the head, then the body in two parts.
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    for b in &raw[..head_end] {
        c.send(std::slice::from_ref(b)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mid = head_end + (raw.len() - head_end) / 2;
    c.send(&raw[head_end..mid]).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    c.send(&raw[mid..]).await;
    let r = c.reply().await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["data"]["slug"], "slow");
}

#[tokio::test]
async fn large_responses_arrive_whole() {
    let app = TestApp::new().await;
    let server = Server::start(&app, ServeOptions::default()).await;
    let mut c = server.connect().await;
    c.send(&get("/v1/openapi.json", "")).await;
    let r = c.reply().await;
    assert_eq!(r.status, 200);
    assert!(r.body.len() > 16 * 1024, "{} bytes", r.body.len());
    assert!(r.json()["paths"].is_object());
    c.send(&get("/healthz", "")).await;
    assert_eq!(c.reply().await.body, b"ok");
}

#[tokio::test]
async fn what_the_lean_loop_does_not_take_goes_to_hyper() {
    let app = TestApp::new().await;
    let server = Server::start(&app, ServeOptions::default()).await;
    let auth = format!("Authorization: Bearer {}\r\n", app.key);

    // A chunked body, then a plain GET on the same (now hyper's) connection.
    let mut c = server.connect().await;
    let body = json!({"title": "Chunked", "slug": "chunked"}).to_string();
    c.send(
        format!(
            "POST /v1/kb HTTP/1.1\r\nHost: t\r\n{auth}Content-Type: application/json\r\n\
             Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await;
    let r = c.reply().await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    c.send(&get("/v1/kb", &auth)).await;
    assert_eq!(c.reply().await.json()["data"][0]["slug"], "chunked");

    // Expect: 100-continue gets its interim response before the body is sent.
    let mut c = server.connect().await;
    let body = json!({"title": "Expecting", "slug": "expecting"}).to_string();
    c.send(
        format!(
            "POST /v1/kb HTTP/1.1\r\nHost: t\r\n{auth}Content-Type: application/json\r\n\
             Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(c.reply().await.status, 100);
    c.send(body.as_bytes()).await;
    assert_eq!(c.reply().await.status, 201);

    // HEAD: the headers of the GET, no body.
    let mut c = server.connect().await;
    c.send(b"HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let r = c.reply_to(true).await;
    assert_eq!(r.status, 200);
    c.send(&get("/healthz", "")).await;
    assert_eq!(c.reply().await.body, b"ok");

    // HTTP/1.0: answered, then closed.
    let mut c = server.connect().await;
    c.send(b"GET /healthz HTTP/1.0\r\n\r\n").await;
    let r = c.reply().await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));

    // Garbage: 400 and a closed connection, not a hang.
    let mut c = server.connect().await;
    c.send(b"NOT HTTP AT ALL\r\n\r\n").await;
    assert_eq!(c.reply().await.status, 400);
    // A well-formed head whose target is not a URI: 400 and closed, as hyper answers it.
    let mut c = server.connect().await;
    c.send(b"GET /a<b> HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(c.reply().await.status, 400);
    assert!(c.closes().await);

    // A head over the lean loop's 16 KiB, or with more than its 64 headers, is hyper's to
    // answer; a head past hyper's own limit gets 431, not a hang.
    let mut c = server.connect().await;
    let long = format!("X-Note: {}\r\n", "n".repeat(20 * 1024));
    c.send(&get("/healthz", &long)).await;
    assert_eq!(c.reply().await.body, b"ok");
    let mut c = server.connect().await;
    let many: String = (0..70).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    c.send(&get("/healthz", &many)).await;
    assert_eq!(c.reply().await.body, b"ok");
    let mut c = server.connect().await;
    let huge_head = format!("X-Note: {}\r\n", "n".repeat(1024 * 1024));
    c.send(&get("/healthz", &huge_head)).await;
    assert_eq!(c.reply().await.status, 431);

    // A body over the lean loop's limit streams through hyper to the usual validation.
    let mut c = server.connect().await;
    let huge = json!({"title": "x".repeat(2 * 1024 * 1024), "slug": "huge"});
    let r = c.post("/v1/kb", &app.key, &huge).await;
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"]["details"]["field"], "title");
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let app = TestApp::new().await;
    let server = Server::start(&app, ServeOptions::default()).await;
    let mut c = server.connect().await;
    c.send(&get("/healthz", "Connection: close\r\n")).await;
    let r = c.reply().await;
    assert_eq!(r.body, b"ok");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closes().await);
}

#[tokio::test]
async fn idle_connections_and_slow_heads_time_out() {
    let app = TestApp::new().await;
    let options = ServeOptions {
        idle_timeout: Duration::from_millis(300),
        header_timeout: Duration::from_millis(300),
        ..ServeOptions::default()
    };
    let server = Server::start(&app, options).await;
    let mut idle = server.connect().await;
    idle.send(&get("/healthz", "")).await;
    assert_eq!(idle.reply().await.status, 200);
    let mut slow = server.connect().await;
    slow.send(b"GET /healthz HTTP/1.1\r\nHo").await;
    let started = std::time::Instant::now();
    assert!(idle.closes().await);
    assert!(slow.closes().await);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn graceful_shutdown_closes_idle_connections_and_waits_for_the_rest() {
    let app = TestApp::new().await;
    let mut server = Server::start(&app, ServeOptions::default()).await;
    let mut idle = server.connect().await;
    idle.send(&get("/healthz", "")).await;
    assert_eq!(idle.reply().await.status, 200);
    // A request whose body has not all arrived yet is in progress when the shutdown starts.
    let mut busy = server.connect().await;
    let raw = post_bytes(
        "/v1/kb",
        &app.key,
        &json!({"title": "Last one", "slug": "last"}),
    );
    busy.send(&raw[..raw.len() - 3]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.shut_down();
    assert!(idle.closes().await, "the idle connection is closed");
    assert!(
        !server.done.is_finished(),
        "the server waits for the request in progress"
    );
    busy.send(&raw[raw.len() - 3..]).await;
    let r = busy.reply().await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("connection"), Some("close"));
    tokio::time::timeout(Duration::from_secs(10), server.done)
        .await
        .expect("the server stops once the last request is answered")
        .unwrap();
    // The write that finished during shutdown is there.
    assert_eq!(app.get("/v1/kb").await.data()[0]["slug"], "last");
}

/// Asks for `path` twice over the socket — the second answer comes from the cache, file and
/// all — expecting `expected` both times; then a small request on the same connection shows
/// nothing was left half-sent.
async fn same_bytes_twice(c: &mut Client, path: &str, extra: &str, expected: &[u8]) {
    for _ in 0..2 {
        c.send(&get(path, extra)).await;
        let r = c.reply().await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body, expected, "{path}");
    }
    c.send(&get("/healthz", "")).await;
    assert_eq!(c.reply().await.body, b"ok");
}

/// A KB with hosted pages on and one category: its ID, site key and category ID.
async fn public_kb(app: &TestApp, slug: &str) -> (String, String, String) {
    let kb = app.create_kb(slug).await;
    let kb_id = kb["id"].as_str().unwrap().to_string();
    let site_key = kb["site_key"].as_str().unwrap().to_string();
    app.put(&format!("/v1/kb/{kb_id}"), json!({ "is_public": true }))
        .await
        .assert_status(200);
    let cat = app.create_category(&kb_id, "Guides").await;
    (kb_id, site_key, cat)
}

#[tokio::test]
async fn large_cached_bodies_go_out_whole_from_their_in_memory_files() {
    let app = TestApp::new().await;
    let (kb_id, site_key, cat) = public_kb(&app, "big").await;
    let (kb_id, site_key) = (kb_id.as_str(), site_key.as_str());
    // ~90 KB of Markdown: the JSON and the page are both over the file threshold (16 KiB).
    let body: String = (0..2600)
        .map(|i| format!("Paragraph {i} of a long guide.\n\n"))
        .collect();
    let article = app
        .create_article(
            kb_id,
            &cat,
            json!({ "title": "Long guide", "body": body, "status": "published" }),
        )
        .await;
    let id = article["id"].as_str().unwrap();
    let server = Server::start(&app, ServeOptions::default()).await;
    let mut c = server.connect().await;
    let key = format!("X-Minolith-Site-Key: {site_key}\r\n");
    let files_before = tome_http::server::sent_from_files();
    for (path, extra) in [
        (format!("/v1/kb/public/big/articles/{id}"), key.as_str()),
        (format!("/hc/big/articles/{id}"), ""),
    ] {
        // Through the router (no socket, so no file): the bytes to expect.
        let mut req = axum::http::Request::get(&path);
        if !extra.is_empty() {
            req = req.header("x-minolith-site-key", site_key);
        }
        let expected = app.send(req.body(axum::body::Body::empty()).unwrap()).await;
        assert_eq!(expected.status.as_u16(), 200, "{path}");
        assert!(
            expected.raw.len() > 64 * 1024,
            "{path}: {} bytes",
            expected.raw.len()
        );
        same_bytes_twice(&mut c, &path, extra, &expected.raw).await;
    }
    if cfg!(target_os = "linux") {
        assert!(
            tome_http::server::sent_from_files() >= files_before + 4,
            "the four large answers went out with sendfile"
        );
    }

    // Gzip representations that large get files too: words no compressor can shrink much.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let noise: Vec<String> = (0..7000)
        .map(|_| {
            (0..12)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    alphabet[(seed >> 33) as usize % alphabet.len()] as char
                })
                .collect()
        })
        .collect();
    let article = app
        .create_article(
            kb_id,
            &cat,
            json!({ "title": "Noise", "body": noise.join(" "), "status": "published" }),
        )
        .await;
    let id = article["id"].as_str().unwrap();
    let files_before = tome_http::server::sent_from_files();
    for (path, extra) in [
        (
            format!("/v1/kb/public/big/articles/{id}"),
            format!("{key}Accept-Encoding: gzip\r\n"),
        ),
        (
            format!("/hc/big/articles/{id}"),
            "Accept-Encoding: gzip\r\n".to_string(),
        ),
    ] {
        let mut req = axum::http::Request::get(&path).header("accept-encoding", "gzip");
        if path.starts_with("/v1/") {
            req = req.header("x-minolith-site-key", site_key);
        }
        let expected = app.send(req.body(axum::body::Body::empty()).unwrap()).await;
        assert_eq!(expected.status.as_u16(), 200, "{path}");
        assert_eq!(
            expected.headers.get("content-encoding").unwrap(),
            "gzip",
            "{path}"
        );
        assert!(
            expected.raw.len() > 64 * 1024,
            "{path}: {} gzip bytes",
            expected.raw.len()
        );
        same_bytes_twice(&mut c, &path, &extra, &expected.raw).await;
    }
    if cfg!(target_os = "linux") {
        assert!(
            tome_http::server::sent_from_files() >= files_before + 2,
            "the cached gzip answers went out with sendfile"
        );
    }
}

/// Cached public reads and hosted pages that the loop answers from the raw head (no header map,
/// a response head serialised once per body) are the router's answers, header for header: with
/// and without gzip, with a CORS origin, for a 304, and with the `Host` of `--hosted-url`.
#[tokio::test]
async fn cached_answers_from_the_loop_are_the_routers() {
    let app = TestApp::with_config(tome_http::HttpConfig {
        hosted_url: Some("https://help.example.test".to_string()),
        ..crate::support::test_config()
    })
    .await;
    app.put(
        "/v1/project",
        json!({ "allowed_domains": ["app.example.com"] }),
    )
    .await
    .assert_status(200);
    let (kb_id, site_key, cat) = public_kb(&app, "loop").await;
    let (kb_id, site_key) = (kb_id.as_str(), site_key.as_str());
    let article = app
        .create_article(
            kb_id,
            &cat,
            json!({ "title": "Welcome", "body": "Compressible text. ".repeat(200), "status": "published" }),
        )
        .await;
    let id = article["id"].as_str().unwrap();
    app.settle().await;
    let server = Server::start(&app, ServeOptions::default()).await;
    let mut c = server.connect().await;

    let public = |path: &str| format!("/v1/kb/public/loop/{path}");
    let key = ("x-minolith-site-key", site_key);
    let origin = ("origin", "https://app.example.com");
    let gzip = ("accept-encoding", "gzip");
    let host = ("host", "help.example.test");
    let cases: Vec<(String, Vec<(&str, &str)>)> = vec![
        (public("structure"), vec![key, origin]),
        (public("structure"), vec![key, origin, gzip]),
        (
            public(&format!("articles/{id}?utm=1")),
            vec![key, gzip, ("referer", "https://app.example.com/help")],
        ),
        (public(&format!("categories/{cat}")), vec![key, origin]),
        (format!("/hc/loop/articles/{id}"), vec![]),
        (format!("/hc/loop/articles/{id}"), vec![gzip]),
        ("/hc/loop".to_string(), vec![gzip]),
        (format!("/loop/articles/{id}"), vec![host, gzip]),
    ];
    for (path, headers) in &cases {
        let request = || {
            let mut req = axum::http::Request::get(path.as_str());
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.body(axum::body::Body::empty()).unwrap()
        };
        // The first request renders and caches; the second is the router's cached answer.
        app.send(request()).await.assert_status(200);
        let expected = app.send(request()).await;
        let extra: String = headers
            .iter()
            .filter(|(k, _)| *k != "host")
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        let raw = match headers.iter().find(|(k, _)| *k == "host") {
            Some((_, h)) => format!("GET {path} HTTP/1.1\r\nHost: {h}\r\n{extra}\r\n").into_bytes(),
            None => get(path, &extra),
        };
        // A late invalidation by the change-feed follower (it cannot tell this node's writes
        // from other nodes') can send one request through the router; the next is in place.
        for attempt in 1.. {
            let (hits, in_place) = (
                cache_hits(&app).await,
                tome_http::server::answered_in_place(),
            );
            c.send(&raw).await;
            let got = c.reply().await;
            assert_same(&got, &expected, &format!("{path} {headers:?}"));
            if cache_hits(&app).await == hits + 1
                && (!cfg!(debug_assertions) || tome_http::server::answered_in_place() > in_place)
            {
                break;
            }
            assert!(attempt < 3, "{path}: not answered from the raw head");
        }

        // The client holds it already: 304 from the loop, with the same validator.
        let etag = expected.header("etag").unwrap();
        let mut conditional = raw.clone();
        conditional.truncate(conditional.len() - 2);
        conditional.extend_from_slice(format!("If-None-Match: {etag}\r\n\r\n").as_bytes());
        c.send(&conditional).await;
        let not_modified = c.reply().await;
        assert_eq!(not_modified.status, 304, "{path}");
        assert_eq!(not_modified.header("etag"), Some(etag), "{path}");
        assert!(not_modified.body.is_empty());
    }

    // Refusals never come from the cache on the loop's threads either (each keeps its own
    // site-key map): a look-alike origin is refused; once the key is revoked, the very next
    // request with it is refused, and the new key works at once.
    let structure = public("structure");
    let with =
        |key: &str, origin: &str| format!("x-minolith-site-key: {key}\r\norigin: {origin}\r\n");
    let allowed = "https://app.example.com";
    c.send(&get(&structure, &with(site_key, allowed))).await;
    assert_eq!(c.reply().await.status, 200);
    c.send(&get(
        &structure,
        &with(site_key, "https://app.example.com.evil.io"),
    ))
    .await;
    let refused = c.reply().await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"]["code"], "forbidden");
    let revoked = app
        .post_empty(&format!("/v1/kb/{kb_id}/site-key/revoke"))
        .await;
    revoked.assert_status(200);
    let new_key = revoked.data()["site_key"].as_str().unwrap().to_string();
    c.send(&get(&structure, &with(site_key, allowed))).await;
    let refused_again = c.reply().await;
    assert_eq!(refused_again.status, 403, "revoked key");
    assert_eq!(refused_again.body, refused.body, "the same generic refusal");
    c.send(&get(&structure, &with(&new_key, allowed))).await;
    assert_eq!(c.reply().await.status, 200, "new key");
}

/// `got` from the loop is `expected` from the router, but for what differs between requests.
fn assert_same(got: &Reply, expected: &crate::support::TestResponse, what: &str) {
    assert_eq!(got.status, expected.status.as_u16(), "{what}");
    assert_eq!(got.body, expected.raw, "{what}: same bytes");
    assert_eq!(
        got.header("content-length"),
        Some(got.body.len().to_string().as_str()),
        "{what}"
    );
    let varies = ["date", "content-length", "x-ratelimit-remaining"];
    let mut a: Vec<(String, String)> = expected
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .filter(|(k, _)| !varies.contains(&k.as_str()))
        .collect();
    let mut b: Vec<(String, String)> = got
        .headers
        .iter()
        .filter(|(k, _)| !varies.contains(&k.as_str()))
        .cloned()
        .collect();
    a.sort();
    b.sort();
    assert_eq!(b, a, "{what}: same headers");
    assert!(got.header("date").is_some(), "{what}");
}

/// Public and hosted cache hits so far, from `/metrics`.
async fn cache_hits(app: &TestApp) -> u64 {
    let metrics = app.get("/metrics").await.text;
    metrics
        .lines()
        .filter(|l| l.starts_with("tome_cache_lookups_total{") && l.contains(r#"result="hit""#))
        .filter(|l| l.contains(r#"cache="public""#) || l.contains(r#"cache="hosted""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
