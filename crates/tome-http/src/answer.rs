//! Cached answers to the hottest requests, described before they are serialised.
//!
//! Cached public reads and hosted pages are answered before the router
//! ([`crate::public::serve_cached`], [`crate::hosted::serve_cached`]). The same code answers a
//! request parsed into `http` types (hyper's connections, the tests' `oneshot`) and one the
//! server's own loop has only parsed in place ([`RequestView`] over the bytes read), and says
//! what to send as an [`Answer`]. The loop writes a cached body's answer without building a
//! header map at all: the part of its head that depends only on the body and its representation
//! is serialised once per body ([`BodyAnswer::write_head`]), and only the rate-limit and CORS
//! lines are written per request. [`Answer::into_response`] builds the same answer as a
//! `Response`, from the same functions.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use crate::auth::with_rate_headers;
use crate::cache::{BodyFile, CachedBody};
use crate::hosted::Page;
use crate::ratelimit::RateDecision;

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
pub fn text(value: &[u8]) -> Option<&str> {
    if value.iter().all(|&b| b == b'\t' || (32..127).contains(&b)) {
        std::str::from_utf8(value).ok()
    } else {
        None
    }
}

/// What to send for a request with a cached answer.
pub enum Answer<'r> {
    /// Anything but a cached body's plain answer (a 304, a refusal): sent like any response.
    Response(Response),
    /// A cached body in full.
    Body(BodyAnswer<'r>),
}

impl Answer<'_> {
    pub fn status(&self) -> StatusCode {
        match self {
            Answer::Response(r) => r.status(),
            Answer::Body(b) => b.status(),
        }
    }

    pub fn into_response(self) -> Response {
        match self {
            Answer::Response(r) => r,
            Answer::Body(b) => b.into_response(),
        }
    }
}

/// A cached body's answer: the body's representation, its fixed headers, and what this request
/// adds (rate-limit state, the CORS origin it may read from).
pub struct BodyAnswer<'r> {
    pub body: Arc<CachedBody>,
    /// Whether the gzip representation is sent.
    pub gzip: bool,
    pub kind: Kind,
    /// The rate-limit headers' state, if the answer carries them.
    pub rate: Option<RateDecision>,
    /// The `Origin` to echo in `Access-Control-Allow-Origin`, if any.
    pub cors: Option<&'r [u8]>,
}

/// Which headers a cached body's answer carries besides the per-request ones.
pub enum Kind {
    /// A public API read ([`crate::public::fixed_response`]).
    Public,
    /// A hosted page ([`crate::hosted::page_response`]).
    Page(Page),
}

impl BodyAnswer<'_> {
    pub fn status(&self) -> StatusCode {
        match &self.kind {
            Kind::Public => StatusCode::OK,
            Kind::Page(p) => p.status,
        }
    }

    /// The answer without its per-request headers.
    fn fixed_response(&self) -> Response {
        match &self.kind {
            Kind::Public => crate::public::fixed_response(&self.body, self.gzip),
            Kind::Page(p) => crate::hosted::page_response(p, self.gzip),
        }
    }

    pub fn into_response(self) -> Response {
        let mut resp = self.fixed_response();
        if let Some(d) = &self.rate {
            resp = with_rate_headers(resp, d);
        }
        if let Some(origin) = self.cors.and_then(|o| HeaderValue::from_bytes(o).ok()) {
            crate::public::allow_origin(resp.headers_mut(), origin);
        }
        resp
    }

    /// The bytes sent as the body.
    pub fn body_bytes(&self) -> &Bytes {
        match self.body.gzip.as_ref().filter(|_| self.gzip) {
            Some(gz) => gz,
            None => &self.body.body,
        }
    }

    /// The body's file, when it has one.
    pub fn body_file(&self) -> Option<&BodyFile> {
        self.body.file(self.gzip)
    }

    /// Serialises the response head as [`crate::server`] writes any response's: the fixed part
    /// from the body's memo, then the rate-limit and CORS lines, `connection: close` when
    /// `close`, and the date.
    pub fn write_head(&self, out: &mut Vec<u8>, close: bool) {
        let fixed = self.body.fixed_head(self.gzip, || {
            let resp = self.fixed_response();
            let mut head = Vec::with_capacity(256);
            crate::server::write_head_start(
                &mut head,
                resp.status(),
                resp.headers(),
                self.body_bytes().len(),
            );
            head
        });
        out.extend_from_slice(fixed);
        if let Some(d) = &self.rate {
            let mut n = itoa::Buffer::new();
            out.extend_from_slice(b"x-ratelimit-limit: ");
            out.extend_from_slice(n.format(d.limit).as_bytes());
            out.extend_from_slice(b"\r\nx-ratelimit-remaining: ");
            out.extend_from_slice(n.format(d.remaining).as_bytes());
            out.extend_from_slice(b"\r\nx-ratelimit-reset: ");
            out.extend_from_slice(n.format(d.reset_at).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let Some(origin) = self.cors {
            out.extend_from_slice(b"access-control-allow-origin: ");
            out.extend_from_slice(origin);
            out.extend_from_slice(b"\r\naccess-control-expose-headers: ");
            out.extend_from_slice(crate::public::EXPOSE_HEADERS.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        crate::server::write_head_end(out, close, true);
    }
}
