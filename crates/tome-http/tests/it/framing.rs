//! The HTTP front end against what an attacker sends: the same byte streams go to a real server
//! with the fast path on and to one on hyper alone (`ServeOptions::fast_path`), and both must
//! see the same requests (or refuse at the same point, with the same status) and leave the
//! connection in the same state. The streams are a checked-in corpus of adversarial heads
//! (`tests/framing/corpus.json`: Content-Length and Transfer-Encoding combinations, whitespace
//! and obs-text in values, obs-fold, bare CR and LF, NUL, pipelining, oversize heads,
//! absolute-form, HTTP/1.0 and 1.2, `Expect`, `Host`), each also split at every byte, and a
//! property-based generator of such streams. The defects the corpus was grown from are named
//! tests below, most against the real application: a cached public read, hosted pages.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tome_http::server::{ServeOptions, spawn_threads};

use crate::support::TestApp;

/// A server on a loopback port, stopped when dropped.
struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Server {
    fn start(service: tome_http::Service, options: ServeOptions) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopping) = watch::channel(false);
        let mut threads = spawn_threads(listener, service, options, 2, stopping).unwrap();
        tokio::spawn(async move {
            threads.stopped().await;
            threads.join().await;
        });
        Server { addr, stop }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Short deadlines, so that streams which stop half-way end within a second.
fn options(fast_path: bool) -> ServeOptions {
    ServeOptions {
        idle_timeout: Duration::from_secs(10),
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        fast_path,
    }
}

/// A router that answers every request with what it received: method, target, version,
/// header lines and body (bytes escaped as in Rust).
fn echo() -> Router {
    Router::new().fallback(|req: Request| async move {
        let (parts, body) = req.into_parts();
        let Ok(body) = axum::body::to_bytes(body, 4 << 20).await else {
            // A malformed chunked body (as axum's extractors answer it); the transport turns a
            // body that timed out into 408 whatever is answered here.
            return axum::http::StatusCode::BAD_REQUEST.into_response();
        };
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().escape_ascii().to_string()))
            .collect();
        axum::Json(json!({
            "method": parts.method.as_str(),
            "target": parts.uri.to_string(),
            "version": format!("{:?}", parts.version),
            "headers": headers,
            "body": body.escape_ascii().to_string(),
        }))
        .into_response()
    })
}

use axum::response::IntoResponse as _;

/// Both servers over one app: fast path on, hyper alone.
struct Pair {
    _app: TestApp,
    on: Server,
    off: Server,
}

async fn pair() -> Pair {
    let app = TestApp::new().await;
    let service = app.service().with_router(echo());
    Pair {
        on: Server::start(service.clone(), options(true)),
        off: Server::start(service, options(false)),
        _app: app,
    }
}

/// What a connection showed: each request the application saw (its echo) or the status of any
/// other answer, in order, and whether the server then kept the connection open.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    seen: Vec<Seen>,
    open: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Request(Value),
    Status(u16),
}

impl Outcome {
    /// The outcome in the corpus's notation: `req` for a request seen, a status, then `open` or
    /// `closed`.
    fn summary(&self) -> String {
        let mut words: Vec<String> = self
            .seen
            .iter()
            .map(|s| match s {
                Seen::Request(_) => "req".to_string(),
                Seen::Status(s) => s.to_string(),
            })
            .collect();
        words.push(if self.open { "open" } else { "closed" }.to_string());
        words.join(" ")
    }
}

/// The request sent after every stream: answered (and so seen) only if the connection is still
/// open and the stream left it at a request boundary. The echo answers it with its target, the
/// real application with `ok`.
const PROBE: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: probe\r\n\r\n";

/// Sends `parts` (a pause between each) and then [`PROBE`] on a new connection to `addr`, and
/// reads what comes back until the probe's answer or the end of the connection.
async fn exchange(addr: SocketAddr, parts: &[&[u8]]) -> Outcome {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let parts: Vec<Vec<u8>> = parts.iter().map(|p| p.to_vec()).collect();
    // Written from a task of its own: a server may answer (or close) before reading it all.
    let writer = tokio::spawn(async move {
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            if wr.write_all(part).await.is_err() {
                return wr;
            }
        }
        let _ = wr.write_all(PROBE).await;
        wr
    });
    let mut buf = Vec::new();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut eof = false;
    let open = 'read: loop {
        // Every whole response in `buf`.
        loop {
            let mut slots = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut slots);
            let head_len = match resp.parse(&buf) {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) if eof && buf.is_empty() => break 'read false,
                Ok(httparse::Status::Partial) if eof => panic!("a cut response: {buf:?}"),
                Ok(httparse::Status::Partial) => break,
                Err(e) => panic!("not a response ({e}): {}", buf.escape_ascii()),
            };
            let status = resp.code.unwrap();
            let length = resp
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| {
                    std::str::from_utf8(h.value)
                        .unwrap()
                        .parse::<usize>()
                        .unwrap()
                });
            let body_len = match length {
                Some(n) => n,
                None if (100..200).contains(&status) => 0,
                // Until the connection ends (hyper's automatic refusals).
                None if eof => buf.len() - head_len,
                None => break,
            };
            if buf.len() < head_len + body_len {
                assert!(!eof, "a cut response body");
                break;
            }
            let body = buf[head_len..head_len + body_len].to_vec();
            buf.drain(..head_len + body_len);
            match status {
                100..=199 => {}
                200 if body == b"ok" => break 'read true,
                200 => match serde_json::from_slice::<Value>(&body) {
                    Ok(echo) if echo["target"] == "/healthz" => break 'read true,
                    Ok(echo) if echo.get("method").is_some() => seen.push(Seen::Request(echo)),
                    _ => seen.push(Seen::Status(200)),
                },
                other => seen.push(Seen::Status(other)),
            }
        }
        if eof {
            break false;
        }
        let read = tokio::time::timeout_at(deadline, rd.read_buf(&mut buf))
            .await
            .expect("the server answers or closes within 20 s");
        // A reset is an end too: the server closed with bytes of ours unread.
        eof = !matches!(read, Ok(n) if n > 0);
    };
    drop(writer.await.unwrap());
    Outcome { seen, open }
}

/// A stream of the corpus.
struct Case {
    name: String,
    stream: Vec<u8>,
    /// The outcome in [`Outcome::summary`]'s notation, where the corpus states one.
    expect: Option<String>,
    /// Whether to also send it split in two at every byte.
    split: bool,
}

/// The corpus's streams are JSON strings in which `\xHH` (written `\\xHH` in the file) is the
/// byte HH and `\\` (written `\\\\`) a backslash, so that any bytes fit.
fn unescape(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 4;
        } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn corpus() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/framing/corpus.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    cases
        .iter()
        .map(|c| {
            let mut stream = unescape(c["stream"].as_str().unwrap());
            // `{big:N}` stands for a header line of N bytes (oversize heads).
            if let Some(n) = c["big_header"].as_u64() {
                let at = stream.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
                let line = format!("X-Big: {}\r\n", "a".repeat(n as usize));
                stream.splice(at..at, line.into_bytes());
            }
            Case {
                name: c["name"].as_str().unwrap().to_string(),
                stream,
                expect: c["expect"].as_str().map(str::to_string),
                split: c["split"].as_bool().unwrap_or(false),
            }
        })
        .collect()
}

/// Runs a stream (in `parts`) against both servers at once.
async fn both(p: &Pair, parts: Vec<&[u8]>) -> (Outcome, Outcome) {
    tokio::join!(exchange(p.on.addr, &parts), exchange(p.off.addr, &parts))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_path_and_hyper_agree_on_the_corpus() {
    let p = pair().await;
    let cases = corpus();
    assert!(cases.len() >= 80, "the corpus shrank to {}", cases.len());
    let mut failures = Vec::new();
    // A few at a time: some streams end only at a deadline.
    for chunk in cases.chunks(16) {
        let runs = chunk.iter().map(|c| both(&p, vec![&c.stream[..]]));
        let outcomes = futures_join_all(runs).await;
        for (case, (on, off)) in chunk.iter().zip(outcomes) {
            if on != off {
                failures.push(format!(
                    "{}: fast path {on:?}\n   hyper alone {off:?}",
                    case.name
                ));
            } else if let Some(expect) = &case.expect
                && on.summary() != *expect
            {
                failures.push(format!(
                    "{}: expected `{expect}`, both got `{}`",
                    case.name,
                    on.summary()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_path_and_hyper_agree_on_every_split_of_the_corpus() {
    let p = &pair().await;
    let mut failures = Vec::new();
    for case in corpus().into_iter().filter(|c| c.split) {
        // Every split point of the stream; the whole stream's outcome is what each must give.
        let (whole, _) = both(p, vec![&case.stream[..]]).await;
        for chunk in (1..case.stream.len()).collect::<Vec<_>>().chunks(16) {
            let runs = chunk.iter().map(|&at| {
                let (a, b) = case.stream.split_at(at);
                async move { (at, both(p, vec![a, b]).await) }
            });
            for (at, (on, off)) in futures_join_all(runs).await {
                if on != whole || off != whole {
                    failures.push(format!(
                        "{} split at {at}: whole {}, fast path {}, hyper alone {}",
                        case.name,
                        whole.summary(),
                        on.summary(),
                        off.summary()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Awaits every future, concurrently; their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

// ------------------------------------------------------------------------- generated streams

/// One request line of a generated stream.
fn request() -> impl Strategy<Value = Vec<u8>> {
    let method = prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "OPTIONS", "get"]);
    let target = prop::sample::select(vec![
        "/e",
        "/e/a?b=c",
        "/e/%41",
        "/e/a\"b",
        "http://x/e",
        "*",
        "/e/../x",
        "/e//",
    ]);
    // Mostly well-formed, so that streams go on past their first request. HTTP/1.2 only opens
    // a stream: see `a_higher_minor_version_after_the_first_request`.
    let version = prop_oneof![
        8 => Just("HTTP/1.1"),
        1 => Just("HTTP/1.0"),
        1 => Just("HTTP/1.10"),
    ];
    let eol = prop::sample::select(vec!["\r\n", "\r\n", "\n"]);
    let host = prop_oneof![
        6 => prop::sample::select(vec![
            "Host: x",
            "Host: x:80",
            "Host:",
            "Host: [::1]:8080",
            "host:x",
        ]),
        1 => prop::sample::select(vec!["", "Host: a b", "Host: x\r\nHost: x", "Host: x:99999"]),
    ];
    let extra = prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(vec![
                "Connection: close",
                "Connection: keep-alive",
                "Expect: 100-continue",
                "X-Obs: caf\u{e9}",
                "X-Tab:\tv\t",
                "X-Empty:",
                "Upgrade: websocket",
                "X-Forwarded-For: 1.2.3.4",
            ]),
            1 => prop::sample::select(vec!["X-Fold: a\r\n b", "X-Cr: a\rb", "Content-Length: +1"]),
        ],
        0..3,
    );
    let body = prop::collection::vec(prop::sample::select(b"abc\r\n0 ".to_vec()), 0..12);
    // How the body is framed: by a length (right, wrong or malformed), chunked, or not at all.
    let framing = prop_oneof![
        8 => prop::sample::select(vec!["exact", "padded", "twice", "zero", "chunked", "gzip, chunked"]),
        1 => prop::sample::select(vec![
            "none",
            "less",
            "plus",
            "nbsp",
            "differ",
            "chunked, identity",
            "chunked+length",
            "bad chunk",
        ]),
    ];
    (method, target, version, eol, host, extra, body, framing).prop_map(
        |(method, target, version, eol, host, extra, mut body, framing)| {
            let n = body.len();
            let chunked = |body: &[u8]| {
                let mut out = format!("{:x}\r\n", body.len()).into_bytes();
                out.extend_from_slice(body);
                out.extend_from_slice(b"\r\n0\r\n\r\n");
                out
            };
            let framing_line = match framing {
                "exact" => Some(format!("Content-Length: {n}")),
                "padded" => Some(format!("Content-Length:  {n} ")),
                "twice" => Some(format!("Content-Length: {n}\r\nContent-Length: {n}")),
                "zero" => {
                    body.clear();
                    Some("Content-Length: 0".to_string())
                }
                "less" => Some(format!("Content-Length: {}", n.saturating_sub(1))),
                "plus" => Some(format!("Content-Length: +{n}")),
                "nbsp" => Some(format!("Content-Length: \u{a0}{n}")),
                "differ" => Some(format!("Content-Length: {n}\r\nContent-Length: {}", n + 1)),
                "chunked" | "gzip, chunked" | "chunked, identity" => {
                    body = chunked(&body);
                    Some(format!("Transfer-Encoding: {framing}"))
                }
                "chunked+length" => {
                    body = chunked(&body);
                    Some(format!("Transfer-Encoding: chunked\r\nContent-Length: {n}"))
                }
                "bad chunk" => {
                    body = [b"zz\r\n", &body[..], b"\r\n0\r\n\r\n"].concat();
                    Some("Transfer-Encoding: chunked".to_string())
                }
                _ => None,
            };
            let mut head = format!("{method} {target} {version}{eol}");
            let lines = std::iter::once(host).chain(extra).map(str::to_string);
            for line in lines.chain(framing_line) {
                if !line.is_empty() {
                    head.push_str(&line);
                    head.push_str(eol);
                }
            }
            head.push_str(eol);
            let mut bytes = head.into_bytes();
            bytes.extend_from_slice(&body);
            bytes
        },
    )
}

fn stream() -> impl Strategy<Value = (Vec<u8>, usize)> {
    let first = prop::sample::select(vec!["HTTP/1.1", "HTTP/1.2", "HTTP/1.9"]);
    (
        first,
        prop::collection::vec(request(), 1..4),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(first, requests, split)| {
            let mut bytes = requests.concat();
            // The first request's version may be any HTTP/1.x.
            let line_end = bytes.iter().position(|&b| b == b'\n').unwrap();
            let line = String::from_utf8_lossy(&bytes[..line_end]).to_string();
            if let Some(at) = line.rfind(" HTTP/1.1") {
                bytes.splice(at + 1..at + 9, first.bytes());
            }
            let at = split.index(bytes.len());
            (bytes, at)
        })
}

#[test]
fn fast_path_and_hyper_agree_on_generated_streams() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let p = rt.block_on(pair());
    let mut runner = TestRunner::new(Config {
        cases: 256,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&stream(), |(bytes, at)| {
        let (a, b) = bytes.split_at(at);
        let (on, off) = rt.block_on(both(&p, vec![a, b]));
        if on != off {
            return Err(TestCaseError::fail(format!(
                "stream {}\n  fast path   {on:?}\n  hyper alone {off:?}",
                bytes.escape_ascii()
            )));
        }
        Ok(())
    });
    rt.block_on(async { drop(p) });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// --------------------------------------------------------------------- the defects, by name

/// Sends `raw` to both servers; both must give `expect`.
async fn probe(raw: &[u8], expect: &str) -> Outcome {
    let p = pair().await;
    let (on, off) = both(&p, vec![raw]).await;
    assert_eq!(on.summary(), expect, "fast path: {on:?}");
    assert_eq!(off.summary(), expect, "hyper alone: {off:?}");
    on
}

#[tokio::test]
async fn content_length_with_plus_sign_is_rejected() {
    for value in ["+5", "+0"] {
        let body = if value == "+5" { "hello" } else { "" };
        let raw = format!("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n\r\n{body}");
        probe(raw.as_bytes(), "400 closed").await;
    }
}

#[tokio::test]
async fn content_length_with_unicode_whitespace_is_rejected() {
    // U+00A0 and U+0085 before the number, U+3000 after it: `str::trim` takes them all.
    for value in [&b"\xc2\xa05"[..], b"\xc2\x855", b"5\xe3\x80\x80"] {
        let mut raw = b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: ".to_vec();
        raw.extend_from_slice(value);
        raw.extend_from_slice(b"\r\n\r\nhello");
        probe(&raw, "400 closed").await;
    }
}

#[tokio::test]
async fn content_length_that_is_not_a_number_is_rejected() {
    for value in ["", "-5", "5, 5", "0x5", "18446744073709551616", "5 5"] {
        let raw = format!("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n\r\nhello");
        probe(raw.as_bytes(), "400 closed").await;
    }
}

/// A cached public read with `Content-Length: +N` followed by N bytes that form a second
/// request: the fast path used to read those bytes as the read's body, so a front proxy framing
/// by something else would have had the second request swallowed (or, worse, answered as its
/// own). Now 400, and nothing after it is read.
#[tokio::test]
async fn content_length_plus_sign_cannot_smuggle_a_request_past_a_cached_read() {
    let app = TestApp::new().await;
    let kb = app.create_kb("smuggle").await;
    let kb_id = kb["id"].as_str().unwrap();
    let site_key = kb["site_key"].as_str().unwrap();
    let category = app.create_category(kb_id, "Start").await;
    app.create_article(
        kb_id,
        &category,
        json!({"title": "Welcome", "body": "Hello.", "status": "published"}),
    )
    .await;
    for fast_path in [true, false] {
        let server = Server::start(app.service(), options(fast_path));
        let read = format!(
            "GET /v1/kb/public/smuggle/structure HTTP/1.1\r\nHost: x\r\n\
             X-Minolith-Site-Key: {site_key}\r\n"
        );
        // Warm the cache: the same read, well-formed, answered 200.
        let warm = exchange(server.addr, &[format!("{read}\r\n").as_bytes()]).await;
        assert_eq!(warm.summary(), "200 open", "fast path {fast_path}");
        let smuggled = format!(
            "GET /v1/kb/public/smuggle/articles HTTP/1.1\r\nHost: x\r\n\
             X-Minolith-Site-Key: {site_key}\r\n\r\n"
        );
        let attack = format!(
            "{read}Content-Length: +{}\r\n\r\n{smuggled}",
            smuggled.len()
        );
        let out = exchange(server.addr, &[attack.as_bytes()]).await;
        assert_eq!(out.summary(), "400 closed", "fast path {fast_path}");
        // And with a plain length, the same bytes are the body of a read that takes none:
        // answered once, and the connection goes on.
        let plain = format!("{read}Content-Length: {}\r\n\r\n{smuggled}", smuggled.len());
        let out = exchange(server.addr, &[plain.as_bytes()]).await;
        assert_eq!(out.summary(), "200 open", "fast path {fast_path}");
    }
}

#[tokio::test]
async fn a_request_without_host_is_rejected() {
    probe(b"GET /e HTTP/1.1\r\n\r\n", "400 closed").await;
    probe(b"GET http://x/e HTTP/1.1\r\n\r\n", "400 closed").await;
    // HTTP/1.0 needs none.
    let seen = probe(b"GET /e HTTP/1.0\r\n\r\n", "req closed").await;
    assert_eq!(
        seen.seen[0],
        Seen::Request(json!({
            "method": "GET", "target": "/e", "version": "HTTP/1.0", "headers": [], "body": ""
        }))
    );
}

#[tokio::test]
async fn a_request_with_two_hosts_is_rejected() {
    probe(
        b"GET /e HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n",
        "400 closed",
    )
    .await;
    probe(
        b"GET /e HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
        "400 closed",
    )
    .await;
    probe(
        b"GET /e HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        "400 closed",
    )
    .await;
}

#[tokio::test]
async fn a_request_with_an_invalid_host_is_rejected() {
    for host in ["a b", "a:b", "a:65536", "user@a", "[::1", "a/b", "a:80:80"] {
        let raw = format!("GET /e HTTP/1.1\r\nHost: {host}\r\n\r\n");
        probe(raw.as_bytes(), "400 closed").await;
    }
    for host in [
        "a",
        "a:8080",
        "[::1]:80",
        "127.0.0.1",
        "",
        "xn--bcher-kva.example",
    ] {
        let raw = format!("GET /e HTTP/1.1\r\nHost: {host}\r\n\r\n");
        probe(raw.as_bytes(), "req open").await;
    }
}

/// The hosted help centre picks its site by the first `Host` line: a second one is refused
/// before any site is chosen.
#[tokio::test]
async fn a_hosted_page_with_two_hosts_is_rejected() {
    let app = TestApp::with_config(tome_http::HttpConfig {
        hosted_url: Some("http://help.example".to_string()),
        ..crate::support::test_config()
    })
    .await;
    for fast_path in [true, false] {
        let server = Server::start(app.service(), options(fast_path));
        let one = exchange(
            server.addr,
            &[b"GET /any/page HTTP/1.1\r\nHost: help.example\r\n\r\n"],
        );
        assert_eq!(one.await.summary(), "404 open", "fast path {fast_path}");
        let two = exchange(
            server.addr,
            &[b"GET /any/page HTTP/1.1\r\nHost: help.example\r\nHost: other.example\r\n\r\n"],
        );
        assert_eq!(two.await.summary(), "400 closed", "fast path {fast_path}");
    }
}

#[tokio::test]
async fn a_higher_minor_version_is_read_as_http_1_1() {
    for version in ["HTTP/1.2", "HTTP/1.9"] {
        let raw = format!("GET /e {version}\r\nHost: x\r\n\r\n");
        let out = probe(raw.as_bytes(), "req open").await;
        let Seen::Request(echo) = &out.seen[0] else {
            unreachable!()
        };
        assert_eq!(echo["version"], "HTTP/1.1");
        // Also with a body hyper reads (chunked), handed over with its first line rewritten.
        let raw = format!(
            "POST /e {version}\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
        );
        probe(raw.as_bytes(), "req open").await;
    }
    probe(b"GET /e HTTP/1.10\r\nHost: x\r\n\r\n", "400 closed").await;
    probe(b"GET /e HTTP/2.0\r\nHost: x\r\n\r\n", "400 closed").await;
}

/// The one known difference between the two modes: hyper reads every request after the first
/// on a connection it serves, and refuses a higher minor version there (`httparse` knows only
/// 1.0 and 1.1); the transport rewrites only what it reads itself, which on the fast path is
/// every request it answers. The generator keeps higher minor versions to a stream's first
/// request for this reason.
#[tokio::test]
async fn a_higher_minor_version_after_the_first_request() {
    let p = pair().await;
    let raw = b"GET /e HTTP/1.1\r\nHost: x\r\n\r\nGET /e HTTP/1.2\r\nHost: x\r\n\r\n";
    let (on, off) = both(&p, vec![raw]).await;
    assert_eq!(on.summary(), "req req open");
    assert_eq!(off.summary(), "req 400 closed");
}

/// Writes `head` and then one byte of `trickle` every 300 ms until the server closes; returns
/// when it did (after the first byte of the head), and what it sent back.
async fn trickle(addr: SocketAddr, head: &[u8], trickle: &[u8]) -> (Duration, Vec<u8>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let started = Instant::now();
    wr.write_all(head).await.unwrap();
    let bytes = trickle.to_vec();
    let writer = tokio::spawn(async move {
        for b in bytes {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if wr.write_all(&[b]).await.is_err() {
                break;
            }
        }
        wr
    });
    let mut got = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rd.read_buf(&mut got)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => break,
            Err(_) => panic!("still open after 10 s of trickling"),
        }
    }
    let closed = started.elapsed();
    writer.abort();
    (closed, got)
}

/// Closed at the 1 s deadline, give or take a loaded machine — not after the trickle ends.
fn at_deadline(closed: Duration) -> bool {
    closed >= Duration::from_millis(900) && closed < Duration::from_millis(2500)
}

#[tokio::test]
async fn a_slow_head_is_closed_at_the_header_deadline() {
    let p = pair().await;
    // One byte every 300 ms: each read is well within the deadline, the head is not.
    let rest = b"ost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    for server in [&p.on, &p.off] {
        let (closed, got) = trickle(server.addr, b"GET /e HTTP/1.1\r\nH", rest).await;
        assert!(at_deadline(closed), "closed after {closed:?}");
        assert!(got.is_empty(), "{}", got.escape_ascii());
    }
    // The same in pipelined position, after an answered request.
    let first = b"GET /e HTTP/1.1\r\nHost: x\r\n\r\nGET /e HTTP/1.1\r\nH";
    for server in [&p.on, &p.off] {
        let (closed, got) = trickle(server.addr, first, rest).await;
        assert!(at_deadline(closed), "closed after {closed:?}");
        assert!(got.starts_with(b"HTTP/1.1 200"), "{}", got.escape_ascii());
    }
}

/// A head that grows past the fast path's 16 KiB goes to hyper part-way; its deadline still runs
/// from its first byte, not from the hand-off.
#[tokio::test]
async fn a_slow_head_handed_to_hyper_keeps_its_deadline() {
    let app = TestApp::new().await;
    for fast_path in [true, false] {
        let server = Server::start(
            app.service().with_router(echo()),
            ServeOptions {
                header_timeout: Duration::from_secs(2),
                ..options(fast_path)
            },
        );
        let mut head = b"GET /e HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
        head.resize(16 * 1024 - 4, b'a');
        // Past 16 KiB (the fast path's limit) after 1.2 s, then on for seconds more: hyper's own
        // timer alone would close at 3.2 s.
        let (closed, got) = trickle(server.addr, &head, &[b'a'; 30]).await;
        assert!(
            closed >= Duration::from_millis(1800) && closed < Duration::from_millis(2800),
            "fast path {fast_path}: closed after {closed:?}"
        );
        assert!(got.is_empty(), "{}", got.escape_ascii());
    }
}

#[tokio::test]
async fn a_slow_body_is_cut_off_at_the_body_deadline() {
    let p = pair().await;
    let body = [b'a'; 40];
    for head in [
        &b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 41\r\n\r\na"[..],
        b"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n29\r\na",
    ] {
        for server in [&p.on, &p.off] {
            let (closed, got) = trickle(server.addr, head, &body).await;
            assert!(at_deadline(closed), "closed after {closed:?}");
            assert!(
                got.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"),
                "{}",
                got.escape_ascii()
            );
        }
    }
}

#[tokio::test]
async fn a_body_within_its_deadline_is_read() {
    let p = pair().await;
    // The body in ten writes a few milliseconds apart.
    for server in [&p.on, &p.off] {
        let head = b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
        let mut parts: Vec<&[u8]> = vec![head];
        let body = b"0123456789";
        parts.extend(body.chunks(1));
        let out = exchange(server.addr, &parts).await;
        assert_eq!(out.summary(), "req open");
        let Seen::Request(echo) = &out.seen[0] else {
            unreachable!()
        };
        assert_eq!(echo["body"], "0123456789");
    }
}

#[test]
fn the_corpus_escapes_decode() {
    assert_eq!(unescape(r"a\xc2\xa0\\x\\"), b"a\xc2\xa0\\x\\");
}
