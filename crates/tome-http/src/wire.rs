//! The HTTP/1.1 wire, below both the server's connection loop and the code that answers
//! requests: what the cached-answer paths read of a request ([`Headers`], [`RequestView`]) and
//! how a response head is written ([`write_head`]), byte for byte as hyper writes it.
//!
//! It imports nothing of this crate: the server, the answers it sends, the caches and the
//! public and hosted pages all build on it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{self, HeaderMap, HeaderValue};

/// A request's headers, by lowercase name.
pub trait Headers {
    /// The first value of header `name`.
    fn header(&self, name: &'static str) -> Option<&[u8]>;
    /// Every value of header `name`, in the order received.
    fn header_values(&self, name: &'static str) -> impl DoubleEndedIterator<Item = &[u8]>;
}

/// What the cached-answer paths read of a request besides its headers.
pub trait RequestView: Headers {
    /// The target's path, without the query.
    fn path(&self) -> &str;
    /// The TCP peer's address.
    fn peer(&self) -> Option<IpAddr>;
    /// `host[:port]` as sent: the target's authority, or else the `Host` header.
    fn authority(&self) -> Option<&str>;
}

impl Headers for HeaderMap {
    fn header(&self, name: &'static str) -> Option<&[u8]> {
        self.get(name).map(HeaderValue::as_bytes)
    }

    fn header_values(&self, name: &'static str) -> impl DoubleEndedIterator<Item = &[u8]> {
        self.get_all(name).iter().map(HeaderValue::as_bytes)
    }
}

impl Headers for axum::http::request::Parts {
    fn header(&self, name: &'static str) -> Option<&[u8]> {
        self.headers.header(name)
    }

    fn header_values(&self, name: &'static str) -> impl DoubleEndedIterator<Item = &[u8]> {
        self.headers.header_values(name)
    }
}

impl RequestView for axum::http::request::Parts {
    fn path(&self) -> &str {
        self.uri.path()
    }

    fn peer(&self) -> Option<IpAddr> {
        self.extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip())
    }

    fn authority(&self) -> Option<&str> {
        match self.uri.authority() {
            Some(a) => Some(a.as_str()),
            None => self.header("host").and_then(text),
        }
    }
}

/// A header value as text, when it is visible ASCII (what `HeaderValue::to_str` accepts).
// Inlined into the cached-read paths of other modules (a call per header there cost ~2% of a
// cached read's instructions).
#[inline]
pub fn text(value: &[u8]) -> Option<&str> {
    if value.iter().all(|&b| b == b'\t' || (32..127).contains(&b)) {
        std::str::from_utf8(value).ok()
    } else {
        None
    }
}

/// Whether a response with `status` has a body.
pub fn body_allowed(status: http::StatusCode) -> bool {
    !(status.is_informational()
        || status == http::StatusCode::NO_CONTENT
        || status == http::StatusCode::NOT_MODIFIED)
}

/// Serializes a response head as hyper does: status line, the response's headers, then
/// `content-length` (unless the status has no body) and `date` where the response has none.
pub fn write_head(
    out: &mut Vec<u8>,
    status: http::StatusCode,
    headers: &HeaderMap,
    body_len: usize,
    close: bool,
) {
    write_head_start(out, status, headers, body_len);
    write_head_end(out, close, !headers.contains_key(http::header::DATE));
}

/// The first part of [`write_head`]: status line, `headers` (but `content-length` and
/// `connection`), and `content-length` unless the status has no body.
pub fn write_head_start(
    out: &mut Vec<u8>,
    status: http::StatusCode,
    headers: &HeaderMap,
    body_len: usize,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name == http::header::CONTENT_LENGTH || name == http::header::CONNECTION {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if body_allowed(status) {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(itoa::Buffer::new().format(body_len).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// The rest of a response head after any further header lines: `connection: close` when
/// `close`, the date when `date`, and the blank line.
pub fn write_head_end(out: &mut Vec<u8>, close: bool, date: bool) {
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    if date {
        out.extend_from_slice(b"date: ");
        date::with(|d| out.extend_from_slice(d));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// The `Date` header's value, formatted once a second per thread (as hyper does).
mod date {
    use std::cell::RefCell;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    thread_local! {
        static CACHED: RefCell<(u64, Vec<u8>)> = const { RefCell::new((u64::MAX, Vec::new())) };
    }

    pub fn with(f: impl FnOnce(&[u8])) {
        let now = SystemTime::now();
        let second = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        CACHED.with_borrow_mut(|(at, text)| {
            if *at != second {
                *at = second;
                *text = httpdate::fmt_http_date(now).into_bytes();
            }
            f(text);
        });
    }
}
