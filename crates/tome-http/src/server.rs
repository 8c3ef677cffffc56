//! The HTTP/1.1 server in front of a [`Handler`] (the application: [`crate::Service`]).
//!
//! Most requests a help centre gets are small and simple: `GET`s, or writes with a short JSON
//! body of known length, on keep-alive connections. This module answers those itself — reads the
//! request head, parses it with `httparse`, calls the service, writes the response in one
//! vectored write — which costs a fraction of a general HTTP stack's per-request work (measured in
//! `bench/README.md`). Anything else on a connection (chunked or very large bodies, `Expect`,
//! upgrades, HTTP/1.0, `HEAD`, malformed or oversized heads) hands the connection, with whatever
//! was already read, to hyper for the rest of its life, so every corner of HTTP/1.1 still gets
//! hyper's full treatment.
//!
//! Requests with a cached answer (public reads, hosted pages) are answered on the thread that
//! read them; the rest go through the router on the application's runtime ([`dispatch`]).
//!
//! Connections are served on the runtime that accepted them; idle keep-alive connections close
//! after [`ServeOptions::idle_timeout`], a request head must arrive within
//! [`ServeOptions::header_timeout`], and graceful shutdown closes idle connections at once, lets
//! a request in progress finish (its response says `Connection: close`) and waits for every
//! connection, hyper's included.

use std::io::{self, IoSlice};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{self, HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use axum::response::{IntoResponse, Response};
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::answer::{Answer, Handler};
use crate::wire::{Headers, RequestView, body_allowed, text, write_head};

/// The answer to a request whose target is not a valid URI (hyper's, too).
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Largest request head read here; a longer one goes to hyper (which answers 431 past its own,
/// larger limit).
const MAX_HEAD: usize = 16 * 1024;
/// Most headers in a request read here; more go to hyper.
const MAX_HEADERS: usize = 64;
/// Largest request body read here in one piece; larger bodies stream through hyper (and
/// [`crate::BODY_LIMIT`] applies there).
const MAX_BODY: usize = 1024 * 1024;
/// Response bodies up to this size are copied behind the head for one plain `write`; larger ones
/// go out with the head in one vectored write, uncopied (the copy was ~3% of a cached public
/// read's CPU at 16 KiB).
const COPY_BODY: usize = 2 * 1024;

static SENT_FROM_FILES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Responses this process has sent with `sendfile` from a body's file.
pub fn sent_from_files() -> u64 {
    SENT_FROM_FILES.load(std::sync::atomic::Ordering::Relaxed)
}

/// Requests answered from their raw head ([`Head::view`]), counted in debug builds only: a shared
/// counter on the hottest path would pass a cache line between cores on every request.
#[cfg(debug_assertions)]
static ANSWERED_IN_PLACE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Cached answers sent from the raw request head, without building a request (debug builds; 0
/// in release builds).
pub fn answered_in_place() -> u64 {
    #[cfg(debug_assertions)]
    return ANSWERED_IN_PLACE.load(std::sync::atomic::Ordering::Relaxed);
    #[cfg(not(debug_assertions))]
    0
}

/// Timeouts of [`spawn_threads`]'s connections.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a request head may take to arrive once it has started.
    pub header_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        // nginx's keepalive_timeout and hyper's header_read_timeout defaults.
        ServeOptions {
            idle_timeout: Duration::from_secs(75),
            header_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `service` on `listener` until `stop_rx` turns true (one flag for every thread: a
/// connection sees it the moment it is set), running requests without a cached answer on `app`.
async fn serve_on<H: Handler>(
    listener: TcpListener,
    service: H,
    options: ServeOptions,
    app: Handle,
    stop_rx: watch::Receiver<bool>,
) {
    // Every connection task holds a receiver; `closed()` resolves when the last one is dropped.
    let (done_tx, done_rx) = watch::channel(());
    let mut stopping = stop_rx.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(conn) => conn,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors or similar: wait instead of spinning (as hyper and
                // axum do).
                tracing::error!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let conn = Connection {
            service: service.clone(),
            peer,
            options,
            stop: stop_rx.clone(),
            _done: done_rx.clone(),
            app: app.clone(),
        };
        tokio::spawn(conn.run(stream));
    }
    drop(listener);
    drop(done_rx);
    done_tx.closed().await;
}

/// HTTP threads started by [`spawn_threads`].
pub struct Threads {
    stopped: Vec<tokio::sync::oneshot::Receiver<()>>,
    release: watch::Sender<bool>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

/// Serves `service` on `threads` dedicated threads, each with its own single-threaded runtime,
/// all accepting from `listener` (whichever thread is free takes the next connection, as nginx's
/// workers do). A connection stays on the thread that accepted it, and so does a request with a
/// cached answer: no work-stealing scheduler, no waking another thread. Every other request —
/// database work, rendering, search, anything that may take milliseconds — runs on the runtime
/// that calls this, where idle workers share the load, so a slow request never holds up the
/// cached reads of the connections that share its thread. Serving stops when `stop` turns true.
pub fn spawn_threads<H: Handler>(
    listener: std::net::TcpListener,
    service: H,
    options: ServeOptions,
    threads: usize,
    stop: watch::Receiver<bool>,
) -> io::Result<Threads> {
    listener.set_nonblocking(true)?;
    let app = Handle::current();
    let (release, released) = watch::channel(false);
    let mut out = Threads {
        stopped: Vec::new(),
        release,
        handles: Vec::new(),
    };
    for i in 0..threads.max(1) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = listener.try_clone()?;
        let (service, stop, mut released) = (service.clone(), stop.clone(), released.clone());
        let app = app.clone();
        let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel();
        let handle = std::thread::Builder::new()
            .name(format!("tome-http-{i}"))
            // Room for deep Markdown and template rendering (a tokio worker gets 2 MiB).
            .stack_size(8 * 1024 * 1024)
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            serve_on(listener, service, options, app, stop).await;
                        }
                        Err(e) => tracing::error!(error = %e, "cannot listen on an HTTP thread"),
                    }
                    let _ = stopped_tx.send(());
                    // Whatever a request may have opened here stays registered with this
                    // runtime's I/O driver: keep driving it until nothing can use it.
                    let _ = released.wait_for(|r| *r).await;
                });
            })?;
        out.stopped.push(stopped_rx);
        out.handles.push(handle);
    }
    Ok(out)
}

impl Threads {
    /// Waits until every thread has stopped serving: no connection is open any more.
    pub async fn stopped(&mut self) {
        for rx in self.stopped.drain(..) {
            let _ = rx.await;
        }
    }

    /// Ends the threads and their runtimes; call after the last use of the store.
    pub async fn join(self) {
        let _ = self.release.send(true);
        let handles = self.handles;
        let _ = tokio::task::spawn_blocking(move || {
            for h in handles {
                let _ = h.join();
            }
        })
        .await;
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

struct Connection<H> {
    service: H,
    peer: SocketAddr,
    options: ServeOptions,
    stop: watch::Receiver<bool>,
    _done: watch::Receiver<()>,
    /// Where requests without a cached answer run (see [`dispatch`]).
    app: Handle,
}

/// What the buffered bytes hold.
enum Next {
    /// A complete request this loop answers; the head is `head_len` bytes, then `body_len`.
    Request(Head),
    /// Not a whole head yet.
    Partial,
    /// Something for hyper.
    HandOff,
}

/// A parsed request head: where its parts lie in the buffer, so the request can be built from
/// slices of the same bytes instead of a copy of each. Its header fields (name and value ranges)
/// are in the connection's [`Fields`].
struct Head {
    method: Method,
    target: Range<usize>,
    head_len: usize,
    body_len: usize,
    close: bool,
}

/// Where each header field's name and value lie in the buffer, kept from request to request.
type Fields = Vec<(Range<usize>, Range<usize>)>;

impl Head {
    /// The request, its target and header values sharing `bytes` (the head as read).
    fn into_request(self, fields: &Fields, bytes: &Bytes, body: Bytes) -> Option<Request<Body>> {
        let mut headers = HeaderMap::with_capacity(fields.len());
        for (name, value) in fields {
            headers.append(
                header_name(&bytes[name.clone()])?,
                HeaderValue::from_maybe_shared(bytes.slice(value.clone())).ok()?,
            );
        }
        let mut req = Request::new(Body::from(body));
        *req.method_mut() = self.method;
        *req.uri_mut() = Uri::from_maybe_shared(bytes.slice(self.target)).ok()?;
        *req.headers_mut() = headers;
        Some(req)
    }

    /// The request as the cached-answer paths read it, without building it: only for a `GET`
    /// whose target is plainly a valid URI (anything unusual takes the general path).
    fn view<'a>(
        &self,
        head: &'a [u8],
        fields: &'a Fields,
        peer: SocketAddr,
    ) -> Option<RawView<'a>> {
        if self.method != Method::GET || self.body_len != 0 {
            return None;
        }
        let target = &head[self.target.clone()];
        if !target.iter().all(|&b| PLAIN_TARGET[usize::from(b)]) {
            return None;
        }
        let target = std::str::from_utf8(target).ok()?;
        Some(RawView {
            head,
            path: target.split_once('?').map_or(target, |(path, _)| path),
            fields,
            peer: peer.ip(),
        })
    }
}

/// Bytes of a request target that every URI parser takes as they are: RFC 3986's unreserved
/// characters, sub-delimiters, `:`, `@`, `/`, `?` and `%`.
const PLAIN_TARGET: [bool; 256] = {
    let mut ok = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        ok[b] = c.is_ascii_alphanumeric();
        b += 1;
    }
    let extra = b"-._~!$&'()*+,;=:@/?%";
    let mut i = 0;
    while i < extra.len() {
        ok[extra[i] as usize] = true;
        i += 1;
    }
    ok
};

/// A request read by this loop, as [`RequestView`]: slices of the bytes read.
struct RawView<'a> {
    head: &'a [u8],
    path: &'a str,
    fields: &'a Fields,
    peer: IpAddr,
}

impl Headers for RawView<'_> {
    fn header(&self, name: &'static str) -> Option<&[u8]> {
        self.header_values(name).next()
    }

    fn header_values(&self, name: &'static str) -> impl DoubleEndedIterator<Item = &[u8]> {
        self.fields
            .iter()
            .filter(move |(n, _)| self.head[n.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| &self.head[value.clone()])
    }
}

impl RequestView for RawView<'_> {
    fn path(&self) -> &str {
        self.path
    }

    fn peer(&self) -> Option<IpAddr> {
        Some(self.peer)
    }

    fn authority(&self) -> Option<&str> {
        self.header("host").and_then(text)
    }
}

impl<H: Handler> Connection<H> {
    async fn run(mut self, mut stream: TcpStream) {
        // Responses are written whole; Nagle would only delay the last packet of a large one.
        let _ = stream.set_nodelay(true);
        let mut buf = BytesMut::with_capacity(4096);
        let mut out = Vec::with_capacity(1024);
        let mut fields = Fields::with_capacity(16);
        let mut idle = std::pin::pin!(tokio::time::sleep(self.options.idle_timeout));
        loop {
            let head = match parse(&buf, &mut fields) {
                Next::Request(head) => head,
                Next::HandOff => return self.hand_off(stream, buf).await,
                Next::Partial if buf.len() >= MAX_HEAD => return self.hand_off(stream, buf).await,
                Next::Partial => match self.fill(&mut stream, &mut buf, idle.as_mut()).await {
                    Ok(true) => continue,
                    _ => return,
                },
            };
            let whole = head.head_len + head.body_len;
            while buf.len() < whole {
                buf.reserve(whole - buf.len());
                match tokio::time::timeout(self.options.header_timeout, stream.read_buf(&mut buf))
                    .await
                {
                    Ok(Ok(n)) if n > 0 => {}
                    _ => return,
                }
            }
            let close = head.close || *self.stop.borrow();
            if let Some(view) = head.view(&buf[..head.head_len], &fields, self.peer)
                && let Some(answer) = self.service.cached(&view).await
            {
                let sent = match answer {
                    Answer::Body(b) => {
                        out.clear();
                        b.write_head(&mut out, close);
                        let status = b.status();
                        send_body(&mut stream, &mut out, status, b.body_bytes(), b.body_file())
                            .await
                    }
                    Answer::Response(resp) => send(&mut stream, &mut out, resp, close).await,
                };
                #[cfg(debug_assertions)]
                ANSWERED_IN_PLACE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if sent.is_err() || close {
                    return;
                }
                buf.advance(whole);
                continue;
            }
            let mut request = buf.split_to(whole);
            let body = request.split_off(head.head_len).freeze();
            let Some(request) = head.into_request(&fields, &request.freeze(), body) else {
                // A target `Uri` refuses, as hyper would (the values were checked in `parse`).
                let _ = stream.write_all(BAD_REQUEST).await;
                return;
            };
            if self
                .respond(&mut stream, &mut out, request, close)
                .await
                .is_err()
                || close
            {
                return;
            }
        }
    }

    /// Reads more of the next request; `Ok(false)` when the connection should close (peer gone,
    /// idle or header timeout, shutdown while idle).
    async fn fill(
        &mut self,
        stream: &mut TcpStream,
        buf: &mut BytesMut,
        mut idle: Pin<&mut tokio::time::Sleep>,
    ) -> io::Result<bool> {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4096);
        }
        if !buf.is_empty() {
            // Part of a head is here: the rest must come soon, shutdown or not.
            return match tokio::time::timeout(self.options.header_timeout, stream.read_buf(buf))
                .await
            {
                Ok(Ok(n)) => Ok(n > 0),
                Ok(Err(e)) => Err(e),
                Err(_) => Ok(false),
            };
        }
        if *self.stop.borrow() {
            return Ok(false);
        }
        // Re-arming a timer on every request costs more than the request's parsing; move the
        // deadline at most once a second instead.
        let deadline = tokio::time::Instant::now() + self.options.idle_timeout;
        if deadline > idle.deadline() + Duration::from_secs(1) {
            idle.as_mut().reset(deadline);
        }
        let room = buf.capacity() - buf.len();
        let n = tokio::select! {
            read = stream.read_buf(buf) => read?,
            () = &mut idle => return Ok(false),
            _ = self.stop.wait_for(|stop| *stop) => return Ok(false),
        };
        if n > 0 && n < room {
            // A short read emptied the socket; more data will be a new edge on the (edge-
            // triggered) poller. Saying so now spares the next read's `EAGAIN` system call on
            // every request (nginx does the same). Safe because every connection runs on a
            // single-threaded runtime (`spawn_threads`): no other thread can have taken a new
            // event for this socket since the read, so this clears nothing that arrived after it.
            let _ = stream.try_io(tokio::io::Interest::READABLE, || {
                Err::<(), _>(io::ErrorKind::WouldBlock.into())
            });
        }
        Ok(n > 0)
    }

    async fn respond(
        &mut self,
        stream: &mut TcpStream,
        out: &mut Vec<u8>,
        mut req: Request<Body>,
        close: bool,
    ) -> io::Result<()> {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let resp = dispatch(&self.service, &self.app, req).await;
        send(stream, out, resp, close).await
    }

    /// Gives the connection, and the bytes already read from it, to hyper.
    async fn hand_off(self, stream: TcpStream, read: BytesMut) {
        use hyper_util::rt::{TokioIo, TokioTimer};

        let (peer, app, service) = (self.peer, self.app.clone(), self.service.clone());
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            let (service, app) = (service.clone(), app.clone());
            async move { Ok::<_, std::convert::Infallible>(dispatch(&service, &app, req).await) }
        });
        let io = TokioIo::new(Rewind {
            read: read.freeze(),
            stream,
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.options.header_timeout);
        let conn = builder.serve_connection(io, service).with_upgrades();
        let mut conn = std::pin::pin!(conn);
        let mut stop = self.stop.clone();
        let mut stopping = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = stop.wait_for(|stop| *stop), if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Answers a request: from cache, right here, when it has a cached answer; otherwise through the
/// router, on `app`.
async fn dispatch<H: Handler>(service: &H, app: &Handle, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    if parts.method == Method::GET
        && let Some(answer) = service.cached(&parts).await
    {
        return answer.into_response();
    }
    let routed = service.route(Request::from_parts(parts, body));
    match app.spawn(routed).await {
        Ok(resp) => resp,
        Err(e) => {
            // The router catches panics; this is the application's runtime shutting down.
            tracing::error!(error = %e, "a request's task ended without an answer");
            crate::error::ApiError::internal().into_response()
        }
    }
}

/// Parses the request at the start of `buf`, deciding whether this loop can answer it; its
/// header fields go to `fields`.
fn parse(buf: &[u8], fields: &mut Fields) -> Next {
    if buf.is_empty() {
        return Next::Partial;
    }
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Next::Partial,
        // Malformed or too many headers: hyper answers (400, 431) and closes.
        Err(_) => return Next::HandOff,
    };
    if req.version != Some(1) {
        return Next::HandOff;
    }
    let method = match req.method {
        Some("GET") => Method::GET,
        Some("POST") => Method::POST,
        Some("PUT") => Method::PUT,
        Some("PATCH") => Method::PATCH,
        Some("DELETE") => Method::DELETE,
        Some("OPTIONS") => Method::OPTIONS,
        // HEAD (no body in the response), CONNECT, anything unusual.
        _ => return Next::HandOff,
    };
    let Some(target) = req.path.filter(|p| p.starts_with('/')) else {
        return Next::HandOff;
    };
    // Where a slice of `buf` lies in it.
    let range = |part: &[u8]| {
        let from = part.as_ptr() as usize - buf.as_ptr() as usize;
        from..from + part.len()
    };
    let target = range(target.as_bytes());
    fields.clear();
    let mut seen_length = false;
    let mut body_len = 0;
    let mut close = false;
    for h in req.headers.iter() {
        // httparse takes only RFC 9110 tokens as names, as `HeaderName` does, and only the
        // bytes `HeaderValue` takes in values (tab, visible ASCII, space, obs-text): a request
        // it parses builds a request without fail.
        let is = |known: &str| h.name.eq_ignore_ascii_case(known);
        if is("content-length") {
            let Some(n) = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
            else {
                return Next::HandOff;
            };
            // Two different lengths is a smuggling attempt; hyper refuses it.
            if seen_length && n != body_len {
                return Next::HandOff;
            }
            seen_length = true;
            body_len = n;
        } else if is("transfer-encoding") || is("expect") || is("upgrade") {
            return Next::HandOff;
        } else if is("connection") {
            close |= has_token(h.value, "close");
        }
        fields.push((range(h.name.as_bytes()), range(h.value)));
    }
    if body_len > MAX_BODY {
        return Next::HandOff;
    }
    Next::Request(Head {
        method,
        target,
        head_len,
        body_len,
        close,
    })
}

/// The header's name; the non-standard names Tome reads on every request without allocating.
fn header_name(name: &[u8]) -> Option<HeaderName> {
    const KNOWN: [&str; 2] = ["x-minolith-site-key", "x-forwarded-for"];
    for known in KNOWN {
        if name.eq_ignore_ascii_case(known.as_bytes()) {
            return Some(HeaderName::from_static(known));
        }
    }
    HeaderName::from_bytes(name).ok()
}

/// Whether a comma-separated header value lists `token` (case-insensitively).
fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Writes `resp`, its body already in memory.
async fn send(
    stream: &mut TcpStream,
    out: &mut Vec<u8>,
    resp: Response,
    close: bool,
) -> io::Result<()> {
    let (parts, body) = resp.into_parts();
    // Every route answers with a body already in memory; collecting it is one poll.
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            tracing::error!(error = %e, "a response body failed");
            return Err(io::Error::other(e));
        }
    };
    out.clear();
    write_head(out, parts.status, &parts.headers, body.len(), close);
    let file = parts.extensions.get::<crate::cache::BodyFile>();
    send_body(stream, out, parts.status, &body, file).await
}

/// Writes the head in `out` and then `body` (unless `status` has none): from its
/// `file` with `sendfile` when there is one, copied behind a small head, or else in one
/// vectored write.
async fn send_body(
    stream: &mut TcpStream,
    out: &mut Vec<u8>,
    status: http::StatusCode,
    body: &[u8],
    file: Option<&crate::cache::BodyFile>,
) -> io::Result<()> {
    if !body_allowed(status) {
        return stream.write_all(out).await;
    }
    #[cfg(target_os = "linux")]
    if let Some(file) = file
        .filter(|f| f.len() == body.len())
        .and_then(|f| f.file())
    {
        write_with_file(stream, out, file, body.len()).await?;
        SENT_FROM_FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Ok(());
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
    if body.len() <= COPY_BODY {
        out.extend_from_slice(body);
        stream.write_all(out).await
    } else {
        write_both(stream, out, body).await
    }
}

/// Writes `head` then `body` with as few system calls as the socket allows.
async fn write_both(stream: &mut TcpStream, head: &[u8], body: &[u8]) -> io::Result<()> {
    let (mut head, mut body) = (head, body);
    while !head.is_empty() {
        let n = stream
            .write_vectored(&[IoSlice::new(head), IoSlice::new(body)])
            .await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        if n < head.len() {
            head = &head[n..];
        } else {
            body = &body[n - head.len()..];
            head = &[];
        }
    }
    stream.write_all(body).await
}

/// Writes `head`, then the body from its file with `sendfile`: the socket takes the
/// file's pages instead of a copy of the bytes (what nginx does for static files). The head goes
/// with `MSG_MORE`, so it leaves in the same packet as the body's start.
#[cfg(target_os = "linux")]
async fn write_with_file(
    stream: &TcpStream,
    head: &[u8],
    file: &std::fs::File,
    len: usize,
) -> io::Result<()> {
    use std::os::fd::AsFd;
    use tokio::io::Interest;

    let mut head = head;
    while !head.is_empty() {
        stream.writable().await?;
        let sent = stream.try_io(Interest::WRITABLE, || {
            rustix::net::send(stream.as_fd(), head, rustix::net::SendFlags::MORE)
                .map_err(io::Error::from)
        });
        match sent {
            Ok(n) => head = &head[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    let len = len as u64;
    let mut offset = 0u64;
    while offset < len {
        stream.writable().await?;
        let sent = stream.try_io(Interest::WRITABLE, || {
            let left = usize::try_from(len - offset).unwrap_or(usize::MAX);
            rustix::fs::sendfile(stream.as_fd(), file, Some(&mut offset), left)
                .map_err(io::Error::from)
        });
        match sent {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A stream that first yields bytes already read from it.
struct Rewind {
    read: Bytes,
    stream: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.read.is_empty() {
            let n = self.read.len().min(buf.remaining());
            buf.put_slice(&self.read[..n]);
            self.read.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(buf: &[u8]) -> Next {
        super::parse(buf, &mut Fields::new())
    }

    #[test]
    fn a_cached_read_is_looked_at_in_place() {
        let raw = b"GET /v1/kb/public/acme/structure?x=1 HTTP/1.1\r\nHost: Help.Example\r\n\
            X-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2\r\n\r\n";
        let mut fields = Fields::new();
        let Next::Request(head) = super::parse(raw, &mut fields) else {
            panic!("not parsed");
        };
        let peer = SocketAddr::from(([127, 0, 0, 1], 9));
        let view = head
            .view(&raw[..head.head_len], &fields, peer)
            .expect("a view");
        assert_eq!(view.path(), "/v1/kb/public/acme/structure");
        assert_eq!(view.authority(), Some("Help.Example"));
        assert_eq!(view.header("x-forwarded-for"), Some(&b"1.1.1.1"[..]));
        let all: Vec<_> = view.header_values("x-forwarded-for").rev().collect();
        assert_eq!(all, [&b"2.2.2.2"[..], b"1.1.1.1"]);
        assert_eq!(view.header("origin"), None);
        // Anything unusual in the target takes the general path, which checks it as a URI.
        for unusual in [
            &b"GET /a\"b HTTP/1.1\r\n\r\n"[..],
            b"GET /a{b} HTTP/1.1\r\n\r\n",
        ] {
            let Next::Request(head) = super::parse(unusual, &mut fields) else {
                panic!("not parsed");
            };
            assert!(head.view(unusual, &fields, peer).is_none());
        }
        let post = b"POST /v1/kb/public/acme/structure HTTP/1.1\r\n\r\n";
        let Next::Request(head) = super::parse(post, &mut fields) else {
            panic!("not parsed");
        };
        assert!(head.view(post, &fields, peer).is_none());
    }

    #[test]
    fn answers_simple_requests_and_hands_off_the_rest() {
        let simple = b"GET /v1/kb HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
        assert!(
            matches!(parse(simple), Next::Request(h) if h.head_len == simple.len() && h.body_len == 0)
        );
        let post = b"POST /v1/kb HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
        assert!(matches!(parse(post), Next::Request(h) if h.body_len == 2));
        assert!(matches!(
            parse(b"GET /v1/kb HTTP/1.1\r\nHost"),
            Next::Partial
        ));
        for other in [
            &b"GET / HTTP/1.0\r\n\r\n"[..],
            b"HEAD / HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
            b"GET http://x/ HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
        ] {
            assert!(
                matches!(parse(other), Next::HandOff),
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }

    #[test]
    fn connection_close_is_a_token_in_a_list() {
        assert!(has_token(b"keep-alive, Close", "close"));
        assert!(!has_token(b"closed", "close"));
    }
}
