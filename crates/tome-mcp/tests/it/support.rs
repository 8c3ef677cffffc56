//! `TestApp`: Tome's router with the MCP routes merged in (`tome_http::service_with`, as `tome
//! serve` builds it) on a real database, driven with raw HTTP requests through
//! `tower::ServiceExt::oneshot`. The database is temp SQLite, or a fresh PostgreSQL schema when
//! `TOME_TEST_DATABASE_URL` is set (`tome_store::testing`), as in tome-http's own tests.
//!
//! [`Client`] speaks MCP over Streamable HTTP the way a client does on either revision:
//! 2026-07-28 (stateless; `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` headers and the
//! protocol version and capabilities in each request's `_meta`) or 2025-11-25 (`initialize` and
//! `notifications/initialized` first, then requests carrying `MCP-Protocol-Version`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tome_core::keys::{self, KeyKind};
use tome_http::ratelimit::MemoryRateLimiter;
use tome_http::{AppState, HttpConfig};
use tome_store::testing::TestDb;
use tome_store::{OpenOptions, Store};
use tower::ServiceExt;

/// The protocol revision a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rev {
    /// 2026-07-28: no handshake; everything in each request.
    Stateless,
    /// 2025-11-25: `initialize` first.
    Handshake,
}

impl Rev {
    pub const ALL: [Rev; 2] = [Rev::Stateless, Rev::Handshake];

    pub fn version(self) -> &'static str {
        match self {
            Rev::Stateless => "2026-07-28",
            Rev::Handshake => "2025-11-25",
        }
    }
}

pub struct TestApp {
    svc: tome_http::Service,
    /// The same application with every MCP request answered by rmcp's transport
    /// (`tome_mcp::routes_with(_, false)`): the oracle of `tome_mcp::inline`.
    oracle: tome_http::Service,
    pub state: AppState,
    pub store: Arc<dyn Store>,
    /// The database; dropped (deleted) with the app.
    _db: TestDb,
    /// Admin key of the default project.
    pub key: String,
    pub project_id: String,
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The body parsed as JSON, or `Null`.
    pub body: Value,
}

impl TestResponse {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a Tome error envelope with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Self {
        self.assert_status(status);
        assert_eq!(
            self.code(),
            code,
            "unexpected error code; body: {}",
            self.text
        );
        self
    }

    /// The JSON-RPC `result`, which must be there.
    #[track_caller]
    pub fn result(&self) -> &Value {
        self.assert_status(200);
        assert!(
            self.body.get("error").is_none() && self.body.get("result").is_some(),
            "expected a JSON-RPC result: {}",
            self.text
        );
        &self.body["result"]
    }

    /// The JSON-RPC `error`, which must be there: `(code, message)`.
    #[track_caller]
    pub fn rpc_error(&self) -> (i64, String) {
        let e = &self.body["error"];
        assert!(
            e.get("code").and_then(Value::as_i64).is_some() && self.body.get("result").is_none(),
            "expected a JSON-RPC error: {} {}",
            self.status,
            self.text
        );
        (
            e["code"].as_i64().unwrap_or_default(),
            e["message"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// A successful tool result's `structuredContent`.
    #[track_caller]
    pub fn tool_ok(&self) -> &Value {
        let r = self.result();
        assert_ne!(r["isError"], json!(true), "tool error: {}", self.text);
        assert!(
            r["content"][0]["text"].is_string(),
            "no text content: {}",
            self.text
        );
        &r["structuredContent"]
    }

    /// A tool error's `structuredContent` (`code`, `message`, `details`); checks its `code`.
    #[track_caller]
    pub fn tool_err(&self, code: &str) -> &Value {
        let r = self.result();
        assert_eq!(r["isError"], json!(true), "not a tool error: {}", self.text);
        let s = &r["structuredContent"];
        assert_eq!(s["code"], code, "unexpected tool error: {}", self.text);
        assert!(s["message"].is_string(), "no message: {}", self.text);
        assert!(s.get("details").is_some(), "no details: {}", self.text);
        s
    }

    /// Whether this is a tool error (as opposed to a result or a JSON-RPC error).
    pub fn is_tool_error(&self) -> bool {
        self.body["result"]["isError"] == json!(true)
    }
}

/// A config with limits high enough that only rate-limit tests hit them.
pub fn test_config() -> HttpConfig {
    HttpConfig {
        admin_rate_limit: 1_000_000,
        assistant_rate_limit: 1_000_000,
        hosted_rate_limit: 1_000_000,
        ..HttpConfig::default()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A JSON-RPC request body.
pub fn rpc(rev: Rev, method: &str, params: Value) -> Value {
    let mut params = match params {
        Value::Null => json!({}),
        p => p,
    };
    if rev == Rev::Stateless {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": rev.version(),
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "tome-mcp-tests", "version": "1"},
        });
    }
    json!({
        "jsonrpc": "2.0",
        "id": NEXT_ID.fetch_add(1, Ordering::Relaxed),
        "method": method,
        "params": params,
    })
}

/// A POST of `body` (a JSON-RPC message) to an MCP endpoint with the headers a client of `rev`
/// sends; `key` as a bearer key.
pub fn mcp_request(path: &str, rev: Rev, key: Option<&str>, body: &Value) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    let method = body["method"].as_str().unwrap_or_default();
    let is_initialize = method == "initialize";
    if !is_initialize {
        b = b.header("mcp-protocol-version", rev.version());
    }
    if rev == Rev::Stateless && !method.is_empty() {
        b = b.header("mcp-method", method);
        let name = match method {
            "tools/call" | "prompts/get" => body["params"]["name"].as_str(),
            "resources/read" => body["params"]["uri"].as_str(),
            _ => None,
        };
        if let Some(n) = name {
            b = b.header("mcp-name", n);
        }
    }
    if let Some(k) = key {
        b = b.header("authorization", format!("Bearer {k}"));
    }
    // As a client sends it: with its length (the inline path answers only such bodies).
    let body = body.to_string();
    b.header("content-length", body.len())
        .body(Body::from(body))
        .expect("request")
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(test_config()).await
    }

    pub async fn with_config(config: HttpConfig) -> Self {
        let db = TestDb::new();
        let store = tome_store::open(&db.location(), &OpenOptions::default())
            .await
            .expect("open store");
        let k = keys::generate_api_key(KeyKind::Admin);
        let boot = store
            .bootstrap(&k)
            .await
            .expect("bootstrap")
            .expect("a fresh database");
        let state = AppState::new(store.clone(), Arc::new(MemoryRateLimiter::new()), config)
            .await
            .expect("state");
        let svc = tome_http::service_with(state.clone(), tome_mcp::routes(&state));
        let oracle = tome_http::service_with(state.clone(), tome_mcp::routes_with(&state, false));
        TestApp {
            svc,
            oracle,
            state,
            store,
            _db: db,
            key: k.plaintext,
            project_id: boot.project.id,
        }
    }

    /// A second tenant with its own admin key: `(project_id, key)`.
    pub async fn new_project(&self, name: &str) -> (String, String) {
        let p = self
            .store
            .create_project(name, None)
            .await
            .expect("project");
        let k = keys::generate_api_key(KeyKind::Admin);
        self.store
            .create_api_key(&p.id, KeyKind::Admin, &k)
            .await
            .expect("key");
        (p.id, k.plaintext)
    }

    /// A new key of `kind` for `project_id`.
    pub async fn new_key(&self, project_id: &str, kind: KeyKind) -> String {
        let k = keys::generate_api_key(kind);
        self.store
            .create_api_key(project_id, kind, &k)
            .await
            .expect("key");
        k.plaintext
    }

    /// Sends a request as if from 127.0.0.1 (unless the request already names a peer).
    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        Self::send_to(&self.svc, req).await
    }

    /// [`TestApp::send`] to the oracle: every MCP request through rmcp's transport.
    pub async fn send_to_oracle(&self, req: Request<Body>) -> TestResponse {
        Self::send_to(&self.oracle, req).await
    }

    async fn send_to(svc: &tome_http::Service, mut req: Request<Body>) -> TestResponse {
        let ext = req.extensions_mut();
        if ext.get::<ConnectInfo<SocketAddr>>().is_none() {
            ext.insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        }
        let resp = svc.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            text,
            body,
        }
    }

    /// A REST request as `key` (or anonymous) with an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            b = b.header("authorization", format!("Bearer {k}"));
        }
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(req.expect("request")).await
    }

    /// A REST GET as the default project's admin.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, Some(&self.key), None).await
    }

    /// A REST POST as the default project's admin.
    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(&self.key), Some(body))
            .await
    }

    /// An MCP client of `rev` on `/mcp` with `key`, past its handshake when `rev` has one.
    pub async fn client(&self, rev: Rev, key: &str) -> Client<'_> {
        Client::connect(self, "/mcp".to_string(), rev, Some(key.to_string())).await
    }

    /// An MCP client of `rev` on a public help centre's `/hc/{slug}/mcp`, without a key.
    pub async fn public_client(&self, rev: Rev, slug: &str) -> Client<'_> {
        Client::connect(self, format!("/hc/{slug}/mcp"), rev, None).await
    }
}

/// An MCP client over Streamable HTTP, speaking one revision.
pub struct Client<'a> {
    app: &'a TestApp,
    pub path: String,
    pub rev: Rev,
    pub key: Option<String>,
}

impl<'a> Client<'a> {
    /// A client without its handshake done (for requests that are refused before it).
    pub fn unconnected(app: &'a TestApp, path: &str, rev: Rev, key: Option<&str>) -> Client<'a> {
        Client {
            app,
            path: path.to_string(),
            rev,
            key: key.map(str::to_string),
        }
    }

    pub async fn connect(app: &'a TestApp, path: String, rev: Rev, key: Option<String>) -> Self {
        let c = Client {
            app,
            path,
            rev,
            key,
        };
        if rev == Rev::Handshake {
            let r = c
                .request(
                    "initialize",
                    json!({
                        "protocolVersion": rev.version(),
                        "capabilities": {},
                        "clientInfo": {"name": "tome-mcp-tests", "version": "1"},
                    }),
                )
                .await;
            let result = r.result();
            assert_eq!(result["protocolVersion"], rev.version(), "{}", r.text);
            assert!(result["capabilities"]["tools"].is_object(), "{}", r.text);
            assert!(
                r.header("mcp-session-id").is_none(),
                "stateless: no session id; headers {:?}",
                r.headers
            );
            let n = c
                .send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
                .await;
            n.assert_status(202);
        }
        c
    }

    /// Sends one JSON-RPC message as it is.
    pub async fn send(&self, body: &Value) -> TestResponse {
        self.app
            .send(mcp_request(&self.path, self.rev, self.key.as_deref(), body))
            .await
    }

    /// A JSON-RPC request.
    pub async fn request(&self, method: &str, params: Value) -> TestResponse {
        self.send(&rpc(self.rev, method, params)).await
    }

    /// `tools/call`.
    pub async fn call(&self, tool: &str, arguments: Value) -> TestResponse {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await
    }

    /// `tools/list`'s tools.
    pub async fn tools(&self) -> Vec<Value> {
        let r = self.request("tools/list", json!({})).await;
        let tools = r.result()["tools"].as_array().expect("tools").clone();
        assert!(
            r.result().get("nextCursor").is_none_or(Value::is_null),
            "one page"
        );
        tools
    }
}

/// `data.id` of a REST answer.
pub fn id_of(r: &TestResponse) -> String {
    r.data()["id"].as_str().expect("id in response").to_string()
}

/// Rate-limit windows are fixed clock minutes: a test counting requests inside one window waits
/// for the next one when the current window is about to end.
pub async fn fresh_window() {
    let into_window = tome_core::time::unix_now().rem_euclid(60);
    if into_window >= 45 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - into_window) as u64)).await;
    }
}
