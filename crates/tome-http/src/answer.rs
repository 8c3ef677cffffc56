//! The interface between the server's connection loop and the application: a [`Handler`]
//! answers requests, and says what to send for those with a cached answer as an [`Answer`],
//! described before it is serialised.
//!
//! Cached public reads and hosted pages are answered before the router. The same code answers a
//! request parsed into `http` types (hyper's connections, the tests' `oneshot`) and one the
//! server's own loop has only parsed in place ([`RequestView`] over the bytes read). The loop
//! writes a cached body's answer without building a header map at all: the part of its head that
//! depends only on the body and its representation is serialised once per body
//! ([`BodyAnswer::write_head`]), and only the rate-limit and CORS lines are written per request.
//! [`Answer::into_response`] builds the same answer as a `Response`, from the same functions.
//!
//! Who caches what — the public API, the hosted pages — is the application's business: each
//! describes the fixed part of its answers with a [`FixedPart`], and the server knows only this
//! module, the wire format ([`crate::wire`]) and the caches' bodies.

use std::future::Future;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::Response;

use crate::cache::{BodyFile, CachedBody};
use crate::ratelimit::{RateDecision, with_rate_headers};
use crate::wire::{RequestView, write_head_end, write_head_start};

/// What the server serves ([`crate::server::spawn_threads`]).
pub trait Handler: Clone + Send + Sync + 'static {
    /// The fixed part of the cached answers.
    type Kind: FixedPart + Send;

    /// The cached answer to a `GET`, if there is one; `None` before any side effect otherwise
    /// (the request then goes to [`Handler::route`]).
    fn cached<'r, R: RequestView + Sync>(
        &self,
        req: &'r R,
    ) -> impl Future<Output = Option<Answer<'r, Self::Kind>>> + Send;

    /// Answers any request (the router), on whatever runtime the future is polled.
    fn route(&self, req: Request<Body>) -> impl Future<Output = Response> + Send + 'static;
}

/// The part of a cached body's answer that is the same for every request: its status and the
/// headers its owner gives it.
pub trait FixedPart {
    fn status(&self) -> StatusCode;

    /// The answer in representation `gzip`, without its per-request headers (rate limits, CORS).
    fn response(&self, body: &CachedBody, gzip: bool) -> Response;
}

/// What to send for a request with a cached answer.
pub enum Answer<'r, K> {
    /// Anything but a cached body's plain answer (a 304, a refusal): sent like any response.
    Response(Response),
    /// A cached body in full.
    Body(BodyAnswer<'r, K>),
}

impl<'r, K: FixedPart> Answer<'r, K> {
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

    /// The same answer with its fixed part wrapped in another kind.
    pub fn map_kind<L>(self, f: impl FnOnce(K) -> L) -> Answer<'r, L> {
        match self {
            Answer::Response(r) => Answer::Response(r),
            Answer::Body(b) => Answer::Body(BodyAnswer {
                body: b.body,
                gzip: b.gzip,
                kind: f(b.kind),
                rate: b.rate,
                cors: b.cors,
            }),
        }
    }
}

/// A cached body's answer: the body's representation, its fixed part, and what this request
/// adds (rate-limit state, the CORS origin it may read from).
pub struct BodyAnswer<'r, K> {
    pub body: Arc<CachedBody>,
    /// Whether the gzip representation is sent.
    pub gzip: bool,
    pub kind: K,
    /// The rate-limit headers' state, if the answer carries them.
    pub rate: Option<RateDecision>,
    /// The `Origin` to echo in `Access-Control-Allow-Origin`, if any.
    pub cors: Option<&'r [u8]>,
}

/// The response headers a browser's script may read besides the safelisted ones.
pub const EXPOSE_HEADERS: &str =
    "ETag, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset";

/// Lets a page from `origin` read the response.
pub fn allow_origin(h: &mut HeaderMap, origin: HeaderValue) {
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
}

impl<K: FixedPart> BodyAnswer<'_, K> {
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    pub fn into_response(self) -> Response {
        let mut resp = self.kind.response(&self.body, self.gzip);
        if let Some(d) = &self.rate {
            resp = with_rate_headers(resp, d);
        }
        if let Some(origin) = self.cors.and_then(|o| HeaderValue::from_bytes(o).ok()) {
            allow_origin(resp.headers_mut(), origin);
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

    /// Serialises the response head as the server writes any response's ([`crate::wire`]): the fixed part
    /// from the body's memo, then the rate-limit and CORS lines, `connection: close` when
    /// `close`, and the date.
    pub fn write_head(&self, out: &mut Vec<u8>, close: bool) {
        let fixed = self.body.fixed_head(self.gzip, || {
            let resp = self.kind.response(&self.body, self.gzip);
            let mut head = Vec::with_capacity(256);
            write_head_start(
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
            out.extend_from_slice(EXPOSE_HEADERS.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        write_head_end(out, close, true);
    }
}
