//! Test support (feature `testing`): [`FakeModel`], a scripted OpenAI-compatible
//! chat-completions server on a real socket, so that tests exercise the real HTTP client.
//!
//! It speaks just enough HTTP/1.1, by hand, to misbehave on purpose: replies stream as chunked
//! bodies piece by piece with pauses in between, and can stop dead in the middle. Every request is
//! recorded (headers and JSON body) for assertions. One request per connection
//! (`connection: close`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// A request the fake model received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (a JSON string holding the raw text if it is not JSON).
    pub body: serde_json::Value,
}

impl Request {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One write of a reply's body, after a pause.
#[derive(Debug, Clone)]
struct Piece {
    pause: Duration,
    bytes: Vec<u8>,
}

/// A scripted reply: a status, then a body sent piece by piece.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    content_type: String,
    /// Pause before the status line and headers.
    headers_pause: Duration,
    /// Streamed as a chunked body (else sent in one go with a `content-length`).
    chunked: bool,
    pieces: Vec<Piece>,
    /// The index of the piece with the first token, for [`Reply::first_token_after`].
    first_token: usize,
    /// Close the connection after this many pieces, without ending the chunked body.
    cut_after: Option<usize>,
}

/// One `data:` event of a chat-completions stream.
fn event(value: serde_json::Value) -> Vec<u8> {
    format!("data: {value}\n\n").into_bytes()
}

fn chunk(delta: serde_json::Value, finish_reason: Option<&str>) -> serde_json::Value {
    json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    })
}

impl Reply {
    /// A streamed answer the way OpenAI sends it: a role-only chunk, one chunk per delta, a
    /// chunk with `finish_reason: "stop"`, and `data: [DONE]`.
    pub fn text<I, S>(deltas: I) -> Reply
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut pieces = vec![event(chunk(
            json!({"role": "assistant", "content": ""}),
            None,
        ))];
        pieces.extend(
            deltas
                .into_iter()
                .map(|delta| event(chunk(json!({"content": delta.as_ref()}), None))),
        );
        pieces.push(event(chunk(json!({}), Some("stop"))));
        pieces.push(b"data: [DONE]\n\n".to_vec());
        Reply {
            first_token: 1,
            ..Reply::events(pieces)
        }
    }

    /// A stream of raw body pieces, each sent as its own chunk (for garbage, odd line ends,
    /// events split anywhere, missing `[DONE]`…).
    pub fn events<I, B>(pieces: I) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: Into<Vec<u8>>,
    {
        Reply {
            status: 200,
            content_type: "text/event-stream".into(),
            headers_pause: Duration::ZERO,
            chunked: true,
            pieces: pieces
                .into_iter()
                .map(|bytes| Piece {
                    pause: Duration::ZERO,
                    bytes: bytes.into(),
                })
                .collect(),
            first_token: 0,
            cut_after: None,
        }
    }

    /// An error status with a (JSON) body.
    pub fn status(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: "application/json".into(),
            chunked: false,
            ..Reply::events([body.into()])
        }
    }

    /// A whole, non-streamed completion (a server that ignores `stream: true`).
    pub fn completion(text: &str) -> Reply {
        let body = json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }],
        });
        Reply {
            content_type: "application/json".into(),
            chunked: false,
            ..Reply::events([body.to_string()])
        }
    }

    /// Waits this long before sending the status line.
    pub fn headers_after(mut self, pause: Duration) -> Reply {
        self.headers_pause = pause;
        self
    }

    /// Waits this long before the piece with the first token (the first piece of
    /// [`Reply::events`]).
    pub fn first_token_after(self, pause: Duration) -> Reply {
        let at = self.first_token;
        self.pause_before(at, pause)
    }

    /// Waits this long before piece `index` (0-based).
    pub fn pause_before(mut self, index: usize, pause: Duration) -> Reply {
        if let Some(piece) = self.pieces.get_mut(index) {
            piece.pause = pause;
        }
        self
    }

    /// Waits this long before every piece but the first.
    pub fn paced(mut self, pause: Duration) -> Reply {
        for piece in self.pieces.iter_mut().skip(1) {
            piece.pause = pause;
        }
        self
    }

    /// Sends only the first `pieces` pieces, then closes the connection in the middle of the
    /// chunked body.
    pub fn cut_after(mut self, pieces: usize) -> Reply {
        self.cut_after = Some(pieces);
        self
    }
}

#[derive(Debug)]
struct Shared {
    requests: Mutex<Vec<Request>>,
    queued: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not hide the requests from the others.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A scripted OpenAI-compatible chat-completions server on `127.0.0.1`; stops when dropped.
#[derive(Debug)]
pub struct FakeModel {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl FakeModel {
    /// Starts a server on a free port that answers every request with `reply` (unless a reply
    /// was queued with [`FakeModel::then`]).
    pub async fn start(reply: Reply) -> std::io::Result<FakeModel> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            queued: Mutex::new(VecDeque::new()),
            default: Mutex::new(reply),
        });
        let accept = tokio::spawn(serve(listener, shared.clone()));
        Ok(FakeModel {
            addr,
            shared,
            accept,
        })
    }

    /// The base URL to configure (`http://127.0.0.1:{port}/v1`).
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers the next request (after those already queued) with `reply`, once.
    pub fn then(&self, reply: Reply) {
        lock(&self.shared.queued).push_back(reply);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    // Connections end with the server: dropping the set aborts them.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: let some connections finish.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        connections.spawn(async move {
            // A client that went away is not the server's problem.
            let _ = connection(stream, &shared).await;
        });
        while connections.try_join_next().is_some() {}
    }
}

/// Longest request read.
const MAX_REQUEST: usize = 16 << 20;

async fn connection(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let Some(request) = read_request(&mut stream).await? else {
        let bad = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        return stream.write_all(bad).await;
    };
    lock(&shared.requests).push(request);
    let reply = lock(&shared.queued)
        .pop_front()
        .unwrap_or_else(|| lock(&shared.default).clone());
    write_reply(&mut stream, &reply).await
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut read = [0; 8192];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(head)) => {
                let headers: Vec<(String, String)> = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let method = parsed.method.unwrap_or_default().to_string();
                let path = parsed.path.unwrap_or_default().to_string();
                let length = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .and_then(|(_, v)| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if length > MAX_REQUEST {
                    return Ok(None);
                }
                while buf.len() < head + length {
                    let n = stream.read(&mut read).await?;
                    if n == 0 {
                        return Ok(None);
                    }
                    buf.extend_from_slice(&read[..n]);
                }
                let raw = &buf[head..head + length];
                let body = serde_json::from_slice(raw).unwrap_or_else(|_| {
                    serde_json::Value::String(String::from_utf8_lossy(raw).into_owned())
                });
                return Ok(Some(Request {
                    method,
                    path,
                    headers,
                    body,
                }));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_REQUEST => {
                let n = stream.read(&mut read).await?;
                if n == 0 {
                    return Ok(None);
                }
                buf.extend_from_slice(&read[..n]);
            }
            _ => return Ok(None),
        }
    }
}

async fn write_reply(stream: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    tokio::time::sleep(reply.headers_pause).await;
    let reason = if reply.status < 400 { "OK" } else { "Error" };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: {}\r\nconnection: close\r\n",
        reply.status, reply.content_type
    );
    if reply.chunked {
        head.push_str("transfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n");
        stream.write_all(head.as_bytes()).await?;
        stream.flush().await?;
        for (i, piece) in reply.pieces.iter().enumerate() {
            if reply.cut_after == Some(i) {
                return stream.shutdown().await;
            }
            tokio::time::sleep(piece.pause).await;
            if piece.bytes.is_empty() {
                continue;
            }
            let mut chunk = format!("{:x}\r\n", piece.bytes.len()).into_bytes();
            chunk.extend_from_slice(&piece.bytes);
            chunk.extend_from_slice(b"\r\n");
            stream.write_all(&chunk).await?;
            stream.flush().await?;
        }
        if reply.cut_after.is_some() {
            return stream.shutdown().await;
        }
        stream.write_all(b"0\r\n\r\n").await?;
    } else {
        let body: Vec<u8> = reply.pieces.iter().flat_map(|p| p.bytes.clone()).collect();
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes()).await?;
        for piece in &reply.pieces {
            tokio::time::sleep(piece.pause).await;
        }
        stream.write_all(&body).await?;
    }
    stream.flush().await?;
    stream.shutdown().await
}
