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
//! [`ServeOptions::header_timeout`] of its first byte and a body within
//! [`ServeOptions::body_timeout`] of its head, and graceful shutdown closes idle connections at
//! once, lets a request in progress finish (its response says `Connection: close`) and waits for
//! every connection, hyper's included.
//!
//! The loop and hyper agree on every byte stream by construction (but for a higher minor version
//! on a request hyper reads itself: [`higher_minor_as_1_1`]): the loop answers only what it
//! parses exactly as hyper would (a `Content-Length` of digits only, one valid `Host`) and hands
//! everything else to hyper; the checks hyper lacks — a valid `Host` (RFC 9112 §3.2), a body
//! deadline, `HTTP/1.x` for x > 1 read as HTTP/1.1 (RFC 9110 §2.5) — sit in this transport, in
//! front of both. [`ServeOptions::fast_path`] off hands every connection to hyper once its first
//! request line is in (`tests/it/framing.rs` feeds both modes the same streams).

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{self, HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use axum::response::{IntoResponse, Response};
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Body as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::answer::{Answer, Handler};
use crate::wire::{Headers, RequestView, body_allowed, text, write_head};

/// The answer to a request whose target is not a valid URI (hyper's, too).
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
/// The answer to a request whose body did not arrive within [`ServeOptions::body_timeout`].
const REQUEST_TIMEOUT: &[u8] =
    b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

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

/// Timeouts of [`spawn_threads`]'s connections, and which parser reads them.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a whole request head may take to arrive, from its first byte.
    pub header_timeout: Duration,
    /// How long a whole request body may take to arrive once its head has; then 408 and close.
    pub body_timeout: Duration,
    /// Whether this module's own loop answers the requests it can (`false`: every connection
    /// goes to hyper, behind the same transport checks).
    pub fast_path: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        // nginx's keepalive_timeout, hyper's header_read_timeout and nginx's
        // client_body_timeout defaults (nginx's is per read; this is the whole body's).
        ServeOptions {
            idle_timeout: Duration::from_secs(75),
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            fast_path: true,
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
const PLAIN_TARGET: [bool; 256] = alphanumeric_and(b"-._~!$&'()*+,;=:@/?%");

/// A byte table: ASCII letters and digits, and `extra`.
const fn alphanumeric_and(extra: &[u8]) -> [bool; 256] {
    let mut ok = [false; 256];
    let mut b = 0;
    while b < 256 {
        ok[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        ok[extra[i] as usize] = true;
        i += 1;
    }
    ok
}

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
        let mut idle = std::pin::pin!(tokio::time::sleep(self.options.idle_timeout));
        // When the head being read must be complete: set at its first byte.
        let mut head_deadline = None;
        if !self.options.fast_path {
            // Hyper alone: only the first request line is read here, for its version.
            loop {
                if buf.len() >= MAX_HEAD || higher_minor_as_1_1(&mut buf).is_some() {
                    return self.hand_off(stream, buf, head_deadline).await;
                }
                match self
                    .fill(&mut stream, &mut buf, idle.as_mut(), &mut head_deadline)
                    .await
                {
                    Ok(true) => {}
                    _ => return,
                }
            }
        }
        let mut out = Vec::with_capacity(1024);
        let mut fields = Fields::with_capacity(16);
        loop {
            let head = match parse(&mut buf, &mut fields) {
                Next::Request(head) => head,
                Next::HandOff => return self.hand_off(stream, buf, head_deadline).await,
                Next::Partial if buf.len() >= MAX_HEAD => {
                    return self.hand_off(stream, buf, head_deadline).await;
                }
                Next::Partial => match self
                    .fill(&mut stream, &mut buf, idle.as_mut(), &mut head_deadline)
                    .await
                {
                    Ok(true) => continue,
                    _ => return,
                },
            };
            head_deadline = None;
            let whole = head.head_len + head.body_len;
            if buf.len() < whole {
                // One deadline for the whole body, however it trickles in.
                let deadline = tokio::time::Instant::now() + self.options.body_timeout;
                while buf.len() < whole {
                    buf.reserve(whole - buf.len());
                    match tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)).await {
                        Ok(Ok(n)) if n > 0 => {}
                        Ok(_) => return,
                        Err(_) => {
                            let _ = stream.write_all(REQUEST_TIMEOUT).await;
                            return;
                        }
                    }
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
    /// idle or header timeout, shutdown while idle). `head_deadline` is when the head being read
    /// must be complete, set here when its first bytes are in `buf`.
    async fn fill(
        &mut self,
        stream: &mut TcpStream,
        buf: &mut BytesMut,
        mut idle: Pin<&mut tokio::time::Sleep>,
        head_deadline: &mut Option<tokio::time::Instant>,
    ) -> io::Result<bool> {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4096);
        }
        if !buf.is_empty() {
            // Part of a head is here: the rest must come soon, shutdown or not — one deadline for
            // the whole head, not one per read, however it trickles in.
            let deadline = *head_deadline
                .get_or_insert_with(|| tokio::time::Instant::now() + self.options.header_timeout);
            return match tokio::time::timeout_at(deadline, stream.read_buf(buf)).await {
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

    /// Gives the connection, and the bytes already read from it, to hyper; `head_deadline` is
    /// when the head begun in `read`, if any, must be complete.
    ///
    /// hyper's own checks are RFC 9112's but for two that run here, before a request is
    /// dispatched: its `Host` (400 and close, as the loop's hand-off of the same head ends) and
    /// its body's deadline (408 and close, as in the loop).
    async fn hand_off(
        self,
        stream: TcpStream,
        read: BytesMut,
        head_deadline: Option<tokio::time::Instant>,
    ) {
        use hyper_util::rt::{TokioIo, TokioTimer};

        let (peer, app, service) = (self.peer, self.app.clone(), self.service.clone());
        let body_timeout = self.options.body_timeout;
        // Whether hyper has dispatched a request, i.e. read the head begun before the hand-off.
        let dispatched = head_deadline.map(|_| Arc::new(AtomicBool::new(false)));
        let seen = dispatched.clone();
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            if let Some(seen) = &seen {
                seen.store(true, Ordering::Relaxed);
            }
            let host_ok = host_is_valid(
                req.version() >= http::Version::HTTP_11,
                req.headers()
                    .get_all(http::header::HOST)
                    .iter()
                    .map(HeaderValue::as_bytes),
            );
            // A body that has not all arrived by its deadline ends in an error for whoever reads
            // it, and the answer is 408 whatever the handler made of that error.
            let mut expired = None;
            let mut req = if req.body().is_end_stream() || !host_ok {
                req.map(Body::new)
            } else {
                let flag = Arc::new(AtomicBool::new(false));
                expired = Some(flag.clone());
                req.map(|body| {
                    Body::new(Deadline {
                        body,
                        timer: Box::pin(tokio::time::sleep(body_timeout)),
                        expired: flag,
                    })
                })
            };
            req.extensions_mut().insert(ConnectInfo(peer));
            let (service, app) = (service.clone(), app.clone());
            async move {
                if !host_ok {
                    return Ok(refusal(http::StatusCode::BAD_REQUEST));
                }
                let resp = dispatch(&service, &app, req).await;
                if expired.is_some_and(|e| e.load(Ordering::Relaxed)) {
                    return Ok(refusal(http::StatusCode::REQUEST_TIMEOUT));
                }
                Ok::<_, std::convert::Infallible>(resp)
            }
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
        // hyper's header timeout starts with its first read; the head begun here keeps its own.
        let first_head = std::pin::pin!(async move {
            match head_deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        });
        let mut first_head = first_head;
        let mut first_pending = dispatched.is_some();
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = first_head.as_mut(), if first_pending => {
                    if dispatched.as_ref().is_some_and(|d| !d.load(Ordering::Relaxed)) {
                        return;
                    }
                    first_pending = false;
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
/// header fields go to `fields`. A request line's `HTTP/1.x` with x > 1 is rewritten to
/// `HTTP/1.1` in `buf` first ([`higher_minor_as_1_1`]).
fn parse(buf: &mut [u8], fields: &mut Fields) -> Next {
    match parse_head(buf, fields) {
        Some(next) => next,
        // Not HTTP/1.0 or 1.1: maybe a higher minor version, read as 1.1.
        None => match higher_minor_as_1_1(buf) {
            Some(true) => parse_head(buf, fields).unwrap_or(Next::HandOff),
            Some(false) => Next::HandOff,
            None => Next::Partial,
        },
    }
}

/// [`parse`], but `None` where `httparse` finds the version is neither HTTP/1.0 nor 1.1.
fn parse_head(buf: &[u8], fields: &mut Fields) -> Option<Next> {
    if buf.is_empty() {
        return Some(Next::Partial);
    }
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Some(Next::Partial),
        Err(httparse::Error::Version) => return None,
        // Malformed or too many headers: hyper answers (400, 431) and closes.
        Err(_) => return Some(Next::HandOff),
    };
    if req.version != Some(1) {
        return Some(Next::HandOff);
    }
    let method = match req.method {
        Some("GET") => Method::GET,
        Some("POST") => Method::POST,
        Some("PUT") => Method::PUT,
        Some("PATCH") => Method::PATCH,
        Some("DELETE") => Method::DELETE,
        Some("OPTIONS") => Method::OPTIONS,
        // HEAD (no body in the response), CONNECT, anything unusual.
        _ => return Some(Next::HandOff),
    };
    let Some(target) = req.path.filter(|p| p.starts_with('/')) else {
        return Some(Next::HandOff);
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
    let mut hosts = 0;
    for h in req.headers.iter() {
        // httparse takes only RFC 9110 tokens as names, as `HeaderName` does, and only the
        // bytes `HeaderValue` takes in values (tab, visible ASCII, space, obs-text), without
        // the whitespace around them: a request it parses builds a request without fail.
        let is = |known: &str| h.name.eq_ignore_ascii_case(known);
        if is("host") {
            // Missing, repeated or invalid: hyper's path refuses it (`host_is_valid`).
            hosts += 1;
            if hosts > 1 || !valid_host(h.value) {
                return Some(Next::HandOff);
            }
        } else if is("content-length") {
            // Only `1*DIGIT` (RFC 9110 §8.6), as hyper reads it: not `+5`, not a number
            // wrapped in Unicode whitespace. Anything else, and a second line (which hyper
            // drops when it repeats the first, and refuses otherwise), is hyper's to answer.
            let n = match digits(h.value) {
                Some(n) if !seen_length => n,
                _ => return Some(Next::HandOff),
            };
            seen_length = true;
            body_len = match usize::try_from(n) {
                Ok(n) if n <= MAX_BODY => n,
                _ => return Some(Next::HandOff),
            };
        } else if is("transfer-encoding") || is("expect") || is("upgrade") {
            return Some(Next::HandOff);
        } else if is("connection") {
            close |= has_token(h.value, "close");
        }
        fields.push((range(h.name.as_bytes()), range(h.value)));
    }
    if hosts == 0 {
        return Some(Next::HandOff);
    }
    Some(Next::Request(Head {
        method,
        target,
        head_len,
        body_len,
        close,
    }))
}

/// A `Content-Length` value as hyper reads it: ASCII digits only, at least one, at most
/// `u64::MAX`.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Makes the version of the request line at the start of `buf` read `HTTP/1.1` where it is
/// `HTTP/1.x` with x from 2 to 9: RFC 9110 §2.5 has a server treat a higher minor version than
/// it implements as the highest it does (`httparse`, and so hyper, refuse it). `None` while
/// the line so far does not tell; otherwise whether it was rewritten.
///
/// hyper reads every request after the first on a connection it was handed itself: there, a
/// higher minor version still gets 400 (`tests/it/framing.rs` says so).
fn higher_minor_as_1_1(buf: &mut [u8]) -> Option<bool> {
    // httparse skips empty lines before the request line.
    let start = buf.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let rest = &buf[start..];
    let line_end = rest.iter().position(|&b| b == b'\n');
    let line = &rest[..line_end.unwrap_or(rest.len())];
    // method SP request-target SP HTTP-version: neither of the first two holds a space.
    let mut spaces = line
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b' ')
        .map(|(i, _)| i);
    let undecided = if line_end.is_some() {
        Some(false)
    } else {
        None
    };
    let (Some(_), Some(second)) = (spaces.next(), spaces.next()) else {
        return undecided;
    };
    let version = &line[second + 1..];
    if version.len() < 8 {
        return undecided;
    }
    if !(version.starts_with(b"HTTP/1.") && (b'2'..=b'9').contains(&version[7])) {
        return Some(false);
    }
    match version.get(8) {
        // The line may go on (`HTTP/1.23` is no version).
        None if line_end.is_none() => None,
        None | Some(b'\r') => {
            buf[start + second + 1 + 7] = b'1';
            Some(true)
        }
        Some(_) => Some(false),
    }
}

/// Whether a request's `Host` lines are as RFC 9112 §3.2 requires: exactly one in HTTP/1.1, at
/// most one in HTTP/1.0, and a valid `uri-host [ ":" port ]` value.
fn host_is_valid<'a>(http_1_1: bool, mut hosts: impl Iterator<Item = &'a [u8]>) -> bool {
    match (hosts.next(), hosts.next()) {
        (None, _) => !http_1_1,
        (Some(host), None) => valid_host(host),
        (Some(_), Some(_)) => false,
    }
}

/// Whether `value` is RFC 3986's `host [ ":" port ]`, with a port of at most 65535: an
/// IP-literal in brackets, or a reg-name (IPv4 addresses are reg-names too), which may be
/// empty.
fn valid_host(value: &[u8]) -> bool {
    let (host_ok, port) = if let Some(rest) = value.strip_prefix(b"[") {
        let Some(end) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        (ip_literal(&rest[..end]), &rest[end + 1..])
    } else {
        let end = value.iter().position(|&b| b == b':').unwrap_or(value.len());
        (reg_name(&value[..end]), &value[end..])
    };
    let port_ok = match port {
        [] | [b':'] => true,
        [b':', digits @ ..] => {
            digits.len() <= 5 && self::digits(digits).is_some_and(|n| n <= u64::from(u16::MAX))
        }
        _ => false,
    };
    host_ok && port_ok
}

/// RFC 3986's `reg-name`: unreserved characters, sub-delimiters and `%` with two hex digits.
fn reg_name(name: &[u8]) -> bool {
    let mut i = 0;
    while i < name.len() {
        let b = name[i];
        if b == b'%' {
            if !(name.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && name.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
            continue;
        }
        if !REG_NAME[usize::from(b)] {
            return false;
        }
        i += 1;
    }
    true
}

/// The bytes of a `reg-name` but `%`: RFC 3986's unreserved characters and sub-delimiters (a
/// table: this runs on every request's `Host`).
const REG_NAME: [bool; 256] = alphanumeric_and(b"-._~!$&'()*+,;=");

/// The inside of RFC 3986's `IP-literal`: an IPv6 address or `IPvFuture`.
fn ip_literal(inside: &[u8]) -> bool {
    if let [b'v' | b'V', rest @ ..] = inside {
        let Some(dot) = rest.iter().position(|&b| b == b'.') else {
            return false;
        };
        let (version, text) = (&rest[..dot], &rest[dot + 1..]);
        return !version.is_empty()
            && version.iter().all(u8::is_ascii_hexdigit)
            && !text.is_empty()
            && text
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:".contains(&b));
    }
    std::str::from_utf8(inside).is_ok_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok())
}

/// An empty response with `status` that closes the connection (hyper closes after it).
fn refusal(status: http::StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// A request body hyper reads, cut off with an error when it has not all arrived by its
/// deadline ([`ServeOptions::body_timeout`]); `expired` then says so.
struct Deadline<B> {
    body: B,
    timer: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl<B> hyper::body::Body for Deadline<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.expired.store(true, Ordering::Relaxed);
                    Poll::Ready(Some(Err("the request body did not arrive in time".into())))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
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
    if hyper::body::Body::size_hint(&body).exact().is_none() {
        // A body produced over time (the assistant's answer streams): each frame goes out as it
        // comes, chunked.
        return send_streamed(stream, out, parts, body, close).await;
    }
    // Every other route answers with a body already in memory; collecting it is one poll.
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

/// Writes a response whose body arrives over time: the head with `transfer-encoding: chunked`,
/// then every data frame as one chunk as soon as it is produced, then the last chunk. A body that
/// fails part-way ends the connection without the last chunk, so the client sees a truncated
/// (not a complete) response — bodies that can fail say so in their own format first.
async fn send_streamed(
    stream: &mut TcpStream,
    out: &mut Vec<u8>,
    parts: http::response::Parts,
    body: axum::body::Body,
    close: bool,
) -> io::Result<()> {
    out.clear();
    crate::wire::write_head_start(out, parts.status, &parts.headers, 0);
    // `write_head_start` wrote a content length for a body it assumed whole: replace it.
    if let Some(at) = find_subslice(out, b"content-length: 0\r\n") {
        out.drain(at..at + b"content-length: 0\r\n".len());
    }
    let has_body = body_allowed(parts.status);
    if has_body {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    crate::wire::write_head_end(out, close, !parts.headers.contains_key(http::header::DATE));
    stream.write_all(out).await?;
    if !has_body {
        return Ok(());
    }
    let mut body = body;
    while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
        let frame = frame.map_err(|e| {
            tracing::error!(error = %e, "a streamed response body failed");
            io::Error::other(e)
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        out.clear();
        out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\r\n");
        stream.write_all(out).await?;
    }
    stream.write_all(b"0\r\n\r\n").await
}

fn find_subslice(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
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
        super::parse(&mut buf.to_vec(), &mut Fields::new())
    }

    #[test]
    fn a_cached_read_is_looked_at_in_place() {
        let raw = b"GET /v1/kb/public/acme/structure?x=1 HTTP/1.1\r\nHost: Help.Example\r\n\
            X-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2\r\n\r\n";
        let mut fields = Fields::new();
        let Next::Request(head) = super::parse(&mut raw.to_vec(), &mut fields) else {
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
            &b"GET /a\"b HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"GET /a{b} HTTP/1.1\r\nHost: x\r\n\r\n",
        ] {
            let Next::Request(head) = super::parse(&mut unusual.to_vec(), &mut fields) else {
                panic!("not parsed");
            };
            assert!(head.view(unusual, &fields, peer).is_none());
        }
        let post = b"POST /v1/kb/public/acme/structure HTTP/1.1\r\nHost: x\r\n\r\n";
        let Next::Request(head) = super::parse(&mut post.to_vec(), &mut fields) else {
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
    fn content_length_is_digits_only() {
        assert_eq!(digits(b"0"), Some(0));
        assert_eq!(digits(b"0042"), Some(42));
        assert_eq!(digits(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"+5",
            b"-0",
            b"5 ",
            b"\xc2\xa05",
            b"\xc2\x855",
            b"5\xe3\x80\x80",
            b"5,5",
            b"0x5",
            b"18446744073709551616",
        ] {
            assert_eq!(digits(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn hosts_follow_rfc_3986() {
        for good in [
            &b"example.com"[..],
            b"example.com:8080",
            b"127.0.0.1:80",
            b"[::1]",
            b"[2001:db8::1]:443",
            b"[v1.fe80::a+en1]",
            b"xn--bcher-kva.example",
            b"a%20b",
            b"",
            b"host:",
            b"host:65535",
            b"!$&'()*+,;=._~-",
        ] {
            assert!(valid_host(good), "{}", String::from_utf8_lossy(good));
        }
        for bad in [
            &b"a b"[..],
            b"a:b",
            b"a:65536",
            b"a:-1",
            b"a:80:80",
            b"user@host",
            b"[::1",
            b"[::g]",
            b"[::1]x",
            b"[v.x]",
            b"a%2",
            b"a%zz",
            b"a/b",
            b"\xc3\xa9.example",
            b"a\tb",
        ] {
            assert!(!valid_host(bad), "{}", String::from_utf8_lossy(bad));
        }
        let one = |v: &'static [u8]| std::iter::once(v);
        assert!(host_is_valid(true, one(b"x")));
        assert!(!host_is_valid(true, std::iter::empty()));
        assert!(host_is_valid(false, std::iter::empty()));
        assert!(!host_is_valid(false, [&b"x"[..], b"x"].into_iter()));
    }

    #[test]
    fn a_higher_minor_version_reads_as_http_1_1() {
        let mut line = b"\r\nGET / HTTP/1.2\r\nHost: x\r\n\r\n".to_vec();
        assert_eq!(higher_minor_as_1_1(&mut line), Some(true));
        assert_eq!(line, b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(matches!(
            parse(b"GET / HTTP/1.9\nHost: x\n\n"),
            Next::Request(_)
        ));
        assert!(matches!(parse(b"GET / HTTP/1.2"), Next::Partial));
        for (raw, expected) in [
            (&b"GET / HTTP/1.1\r\n"[..], Some(false)),
            (b"GET / HTTP/1.23\r\n", Some(false)),
            (b"GET / HTTP/2.0\r\n", Some(false)),
            (b"GET / HTTP/1.2", None),
            (b"GET / HTT", None),
            (b"GET /", None),
            (b"\r\n", None),
            (b"GET/\r\n", Some(false)),
        ] {
            let mut buf = raw.to_vec();
            assert_eq!(higher_minor_as_1_1(&mut buf), expected, "{raw:?}");
            assert_eq!(buf, raw);
        }
        assert!(matches!(parse(b"GET / HTTP/1.23\r\n\r\n"), Next::HandOff));
    }

    #[test]
    fn connection_close_is_a_token_in_a_list() {
        assert!(has_token(b"keep-alive, Close", "close"));
        assert!(!has_token(b"closed", "close"));
    }
}
