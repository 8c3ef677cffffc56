//! Stateless 2026-07-28 `tools/call` requests answered in the request's own task.
//!
//! rmcp's Streamable HTTP service answers a stateless request by starting a service loop for it:
//! a task for the loop, a task for the handler, channels between them and the HTTP task, and a
//! fresh peer with its own 1,024-slot channel. For a call that costs the REST router ~0.1–0.2 ms,
//! that plumbing — and the wake-ups between threads it causes — was a third of an MCP call's
//! latency (bench/README.md, "MCP"). This module answers the commonest request, a well-formed
//! 2026-07-28 `tools/call`, without it: the same rmcp handler (`Service::handle_request`, which
//! checks the per-request version and `_meta`, dispatches, and shapes the result for the
//! revision), called in the HTTP request's task, its result serialised as rmcp's JSON-RPC
//! message and mapped to the HTTP status rmcp would give it.
//!
//! Only a request that rmcp's transport would pass on to the handler unchanged is taken here —
//! every check the transport makes is either made here the same way or, where it is less simple
//! (quoted or weighted `Accept`, Base64 `Mcp-Name`, `Mcp-Param-*`, `Origin`, chunked bodies),
//! a reason to hand the request to rmcp as it came. Anything else — other methods, other
//! revisions, a body that does not parse, a header that does not match — goes to rmcp, which
//! answers it (and its errors) itself. `tests/it/inline.rs` feeds the same requests to both
//! paths and compares the answers byte for byte: rmcp's transport is the oracle.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use rmcp::model::{
    CallToolRequest, ClientRequest, ErrorCode, GetExtensions, GetMeta, JsonRpcVersion2_0,
    ProtocolVersion, RequestId, ServerJsonRpcMessage,
};
use rmcp::service::{RequestContext, RunningService, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::{Peer, RoleServer, ServerHandler, Service};
use serde::Deserialize;

/// The protocol version header, and the standard headers of SEP-2243 (lower case, as stored).
const PROTOCOL_VERSION: &str = "mcp-protocol-version";
const MCP_METHOD: &str = "mcp-method";
const MCP_NAME: &str = "mcp-name";
const MCP_PARAM_PREFIX: &str = "mcp-param-";

/// Answers stateless `tools/call` requests with `server`, in the caller's task.
pub struct Inline<S: ServerHandler> {
    server: S,
    /// A peer for the handler's request context. It is never sent to: Tome's handlers send the
    /// client nothing but their result (no progress, no server-to-client requests, which the
    /// 2026-07-28 revision forbids anyway). rmcp makes peers only for a service loop, so this
    /// one comes from a loop over a transport that is closed from the start; the loop ends at
    /// once and the peer stays usable as a context.
    peer: Peer<RoleServer>,
    /// The (finished) loop's handle, kept with the peer it made: dropping a `RunningService`
    /// cancels its loop, and nothing here should depend on that being harmless.
    _loop: RunningService<RoleServer, S>,
}

impl<S: ServerHandler + Clone> Inline<S> {
    /// Must be called within a Tokio runtime (rmcp starts, and at once ends, a service loop).
    pub fn new(server: S) -> Inline<S> {
        let running = rmcp::service::serve_directly(server.clone(), Closed, None);
        Inline {
            server,
            peer: running.peer().clone(),
            _loop: running,
        }
    }

    /// Answers `req` here when it is a well-formed stateless 2026-07-28 `tools/call`; otherwise
    /// gives it back, body included, for rmcp's transport to answer.
    pub async fn answer(&self, req: Request<Body>) -> Result<Response<Body>, Request<Body>> {
        if !eligible(req.headers()) {
            return Err(req);
        }
        let (parts, body) = req.into_parts();
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                // As rmcp's transport answers a body that fails mid-read.
                return Ok(text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("Failed to read request body: {e}"),
                ));
            }
        };
        let Some((request, id)) = call_request(&parts.headers, &bytes) else {
            return Err(Request::from_parts(parts, Body::from(bytes)));
        };
        Ok(self.handle(parts, request, id).await)
    }

    async fn handle(
        &self,
        parts: Parts,
        mut request: ClientRequest,
        id: RequestId,
    ) -> Response<Body> {
        // As rmcp's service loop makes a request's context: the request's `_meta` and
        // extensions, with the HTTP request's parts among the extensions (where the handler
        // finds its caller).
        request.extensions_mut().insert(parts);
        let mut context = RequestContext::new(id.clone(), self.peer.clone());
        std::mem::swap(&mut context.meta, request.get_meta_mut());
        std::mem::swap(&mut context.extensions, request.extensions_mut());
        let message = match self.server.handle_request(request, context).await {
            Ok(result) => ServerJsonRpcMessage::response(result, id),
            Err(error) => ServerJsonRpcMessage::error(error, Some(id)),
        };
        match serde_json::to_vec(&message) {
            Ok(body) => Response::builder()
                .status(status_of(&message))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .expect("a valid response"),
            Err(e) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("fail to serialize json response: {e}"),
            ),
        }
    }
}

/// The head of a request this module may answer: a 2026-07-28 `tools/call` named plainly in
/// its standard headers, a JSON body of announced length, both response types accepted in the
/// plain form clients send, and nothing rmcp's transport would look at more closely.
fn eligible(headers: &HeaderMap) -> bool {
    single(headers, PROTOCOL_VERSION) == Some(ProtocolVersion::V_2026_07_28.as_str())
        && single(headers, MCP_METHOD) == Some("tools/call")
        && single(headers, MCP_NAME).is_some_and(|n| !n.starts_with("=?"))
        && !headers
            .keys()
            .any(|k| k.as_str().starts_with(MCP_PARAM_PREFIX))
        && !headers.contains_key(header::ORIGIN)
        && !headers.contains_key(header::TRANSFER_ENCODING)
        && single(headers, header::CONTENT_LENGTH.as_str()).is_some()
        && single(headers, header::HOST.as_str())
            .is_some_and(|h| h.parse::<axum::http::uri::Authority>().is_ok())
        && single(headers, header::CONTENT_TYPE.as_str()).is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
        })
        && accepts_json_and_sse(headers)
}

/// `Accept` lists both `application/json` and `text/event-stream`, in the plain form (no
/// parameters, no quotes: those rmcp weighs itself).
fn accepts_json_and_sse(headers: &HeaderMap) -> bool {
    let (mut json, mut sse) = (false, false);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else {
            return false;
        };
        if value.contains([';', '"']) {
            return false;
        }
        for essence in value.split(',').map(str::trim) {
            json |= essence.eq_ignore_ascii_case("application/json");
            sse |= essence.eq_ignore_ascii_case("text/event-stream");
        }
    }
    json && sse
}

/// The header's one value as text; `None` when absent, repeated or not text.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// The body as a `tools/call` request whose `_meta` holds everything 2026-07-28 requires, for
/// the tool the `Mcp-Name` header names.
fn call_request(headers: &HeaderMap, body: &[u8]) -> Option<(ClientRequest, RequestId)> {
    let call: CallMessage = serde_json::from_slice(body).ok()?;
    if call.result || call.error {
        return None;
    }
    let named = single(headers, MCP_NAME) == Some(call.request.params.name.as_ref());
    let request = ClientRequest::CallToolRequest(call.request);
    let meta = request.get_meta();
    let complete = meta.protocol_version() == Some(ProtocolVersion::V_2026_07_28)
        && meta
            .missing_required_keys(&ProtocolVersion::V_2026_07_28)
            .is_empty();
    (named && complete).then_some((request, call.id))
}

/// A JSON-RPC request for `tools/call`, read straight into rmcp's own types: the envelope of
/// `JsonRpcRequest` around a `CallToolRequest`. rmcp reads a message as any of its 4 kinds and a
/// request as any of its 22 methods, trying each in turn (untagged enums, buffered); a
/// `tools/call` request it reads is the same `CallToolRequest` this reads (no other method's
/// type accepts the method name), but this costs a fifth of the instructions. rmcp's check that
/// a request carries no `result` or `error` member is kept: such a message is not taken here.
#[derive(Deserialize)]
struct CallMessage {
    #[allow(dead_code)]
    jsonrpc: JsonRpcVersion2_0,
    id: RequestId,
    #[serde(default, deserialize_with = "present")]
    result: bool,
    #[serde(default, deserialize_with = "present")]
    error: bool,
    #[serde(flatten)]
    request: CallToolRequest,
}

/// A member that is there, whatever its value (`null` too).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

/// The HTTP status rmcp's transport gives a stateless request's answer: an error of the
/// revision's own (version, capability, header) is a bad request, an unknown method not found,
/// and everything else — tool errors included — 200.
fn status_of(message: &ServerJsonRpcMessage) -> StatusCode {
    let ServerJsonRpcMessage::Error(error) = message else {
        return StatusCode::OK;
    };
    match error.error.code {
        ErrorCode::UNSUPPORTED_PROTOCOL_VERSION
        | ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY
        | ErrorCode::HEADER_MISMATCH => StatusCode::BAD_REQUEST,
        ErrorCode::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}

/// A plain answer, as rmcp's transport writes its own failures (no content type).
fn text(status: StatusCode, message: String) -> Response<Body> {
    let mut resp = Response::new(Body::from(message));
    *resp.status_mut() = status;
    resp
}

/// A transport with nothing to receive and nowhere to send: the service loop over it ends at
/// once.
struct Closed;

impl Transport<RoleServer> for Closed {
    type Error = std::io::Error;

    fn send(
        &mut self,
        _item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        std::future::ready(Ok(()))
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        None
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
