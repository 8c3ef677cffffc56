//! `tome_mcp::inline` against its oracle. Stateless `tools/call` requests are answered in their
//! own task instead of through rmcp's Streamable HTTP transport; rmcp's transport stays the
//! reference. Every request here goes to two routers over one database — the one `tome serve`
//! runs, and one that sends every MCP request through rmcp (`routes_with(_, false)`) — and the
//! two answers must be the same: status, headers and body, byte for byte.
//!
//! The requests are real tool calls (reads, tool errors, JSON-RPC errors, the public help
//! centre's tools), each sent as a 2026-07-28 client sends it and with deviations of every kind
//! the transport checks — the protocol version and standard headers, `_meta`, `Accept`,
//! `Content-Type`, `Origin`, `Host`, the body's JSON-RPC shape — one at a time, and then
//! combined at random (proptest). A separate test checks which of them the inline path takes,
//! so the comparison is known to cover it.

use axum::body::Body;
use axum::http::{Method, Request};
use base64::Engine;
use serde_json::{Value, json};
use tome_mcp::inline::Inline;
use tome_mcp::{Shared, TomeServer};

use crate::support::{TestApp, id_of};

/// What the calls refer to.
struct Fixture {
    kb: String,
    slug: String,
    article: String,
    /// An article of another project.
    foreign: String,
    /// A published article's path for the public `get_page`.
    page: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let (kb, article, _draft) = crate::public::site(app, "help", true).await;
    let (_, other_key) = app.new_project("Other").await;
    let okb = app
        .call(
            Method::POST,
            "/v1/kb",
            Some(&other_key),
            Some(json!({"title": "Theirs", "slug": "theirs"})),
        )
        .await;
    let okb = id_of(&okb);
    let ocat = app
        .call(
            Method::POST,
            &format!("/v1/kb/{okb}/categories"),
            Some(&other_key),
            Some(json!({"name": "Theirs"})),
        )
        .await;
    let foreign = app
        .call(
            Method::POST,
            &format!("/v1/kb/{okb}/articles"),
            Some(&other_key),
            Some(json!({"category_id": id_of(&ocat), "title": "Private"})),
        )
        .await;
    let foreign = id_of(&foreign);
    let search = app
        .send(request(
            &Call {
                path: "/hc/help/mcp".into(),
                key: None,
                tool: "search",
                arguments: json!({"query": "capybara grasses"}),
            },
            &[],
        ))
        .await;
    let page = search.body["result"]["structuredContent"]["results"][0]["path"]
        .as_str()
        .unwrap_or_else(|| panic!("a search result with a path: {}", search.text))
        .to_string();
    Fixture {
        kb,
        slug: "help".into(),
        article,
        foreign,
        page,
    }
}

/// A tool call to send.
#[derive(Debug, Clone)]
struct Call {
    path: String,
    key: Option<String>,
    tool: &'static str,
    arguments: Value,
}

/// The calls every deviation is applied to: answers of every kind — results, tool errors (404,
/// 422), JSON-RPC errors (unknown tool, arguments not matching the schema) — on both servers.
fn calls(app: &TestApp, f: &Fixture) -> Vec<Call> {
    let admin = |tool, arguments| Call {
        path: "/mcp".into(),
        key: Some(app.key.clone()),
        tool,
        arguments,
    };
    let public = |tool, arguments| Call {
        path: format!("/hc/{}/mcp", f.slug),
        key: None,
        tool,
        arguments,
    };
    vec![
        admin(
            "get_article",
            json!({"kb_id": f.kb, "article_id": f.article}),
        ),
        admin(
            "get_article",
            json!({"kb_id": f.kb, "article_id": f.foreign}),
        ),
        admin(
            "list_articles",
            json!({"kb_id": f.kb, "status": "published", "limit": 1}),
        ),
        admin("search_articles", json!({"kb_id": f.kb, "q": "capybara"})),
        admin("list_knowledge_bases", json!({})),
        admin(
            "create_category",
            json!({"kb_id": f.kb, "name": "x".repeat(1000)}),
        ),
        admin("create_article", json!({"kb_id": f.kb})),
        admin("get_article", json!({"kb_id": 5, "article_id": f.article})),
        admin("no_such_tool", json!({})),
        admin("search_docs", json!({"domain": f.slug, "query": "grasses"})),
        public("search", json!({"query": "capybara", "pageSize": 1})),
        public("get_page", json!({"path": f.page})),
        public(
            "get_article",
            json!({"kb_id": f.kb, "article_id": f.article}),
        ),
    ]
}

/// One way a request may differ from what a 2026-07-28 client sends. `taken` says whether the
/// inline path answers it (the rest go to rmcp's transport).
#[derive(Debug, Clone, Copy)]
enum Deviation {
    /// Set (`Some`) or remove (`None`) a header.
    Header(&'static str, Option<&'static str>, bool),
    /// Send a header a second time with this value.
    Repeat(&'static str, Option<&'static str>, bool),
    /// Change the JSON body.
    Body(fn(&mut Value), bool),
    /// Replace the body with these bytes.
    Raw(&'static str),
    /// `Mcp-Name` in the SEP-2243 Base64 form: of the right name, or of another.
    NameBase64(bool),
}

impl Deviation {
    fn taken(self) -> bool {
        match self {
            Deviation::Header(_, _, taken)
            | Deviation::Repeat(_, _, taken)
            | Deviation::Body(_, taken) => taken,
            Deviation::Raw(_) | Deviation::NameBase64(_) => false,
        }
    }
}

fn meta(body: &mut Value) -> &mut Value {
    &mut body["params"]["_meta"]
}

const DEVIATIONS: &[Deviation] = &[
    // The protocol version header.
    Deviation::Header("mcp-protocol-version", None, false),
    Deviation::Header("mcp-protocol-version", Some("2025-11-25"), false),
    Deviation::Header("mcp-protocol-version", Some("2099-01-01"), false),
    Deviation::Header("mcp-protocol-version", Some("garbage"), false),
    Deviation::Repeat("mcp-protocol-version", None, false),
    // The standard headers.
    Deviation::Header("mcp-method", None, false),
    Deviation::Header("mcp-method", Some("tools/list"), false),
    Deviation::Header("mcp-method", Some("TOOLS/CALL"), false),
    Deviation::Repeat("mcp-method", None, false),
    Deviation::Header("mcp-name", None, false),
    Deviation::Header("mcp-name", Some("list_categories"), false),
    Deviation::Header("mcp-name", Some("=?base64?!!!?="), false),
    Deviation::Repeat("mcp-name", None, false),
    Deviation::NameBase64(true),
    Deviation::NameBase64(false),
    Deviation::Header("mcp-param-kb_id", Some("kb_x"), false),
    // What the client accepts and sends.
    Deviation::Header("accept", None, false),
    Deviation::Header("accept", Some("application/json"), false),
    Deviation::Header("accept", Some("text/event-stream"), false),
    Deviation::Header("accept", Some("*/*"), false),
    Deviation::Header(
        "accept",
        Some("application/json;q=0, text/event-stream"),
        false,
    ),
    Deviation::Header(
        "accept",
        Some("application/json;q=0.5, text/event-stream"),
        false,
    ),
    Deviation::Header("accept", Some("APPLICATION/JSON, TEXT/EVENT-STREAM"), true),
    Deviation::Header(
        "accept",
        Some("text/event-stream,application/json , text/html"),
        true,
    ),
    Deviation::Header("content-type", None, false),
    Deviation::Header("content-type", Some("text/plain"), false),
    Deviation::Header("content-type", Some("application/jsonx"), false),
    Deviation::Header(
        "content-type",
        Some("application/json; charset=utf-8"),
        true,
    ),
    Deviation::Header("content-type", Some("Application/JSON"), true),
    Deviation::Header("content-length", None, false),
    Deviation::Header("transfer-encoding", Some("chunked"), false),
    // Where it comes from.
    Deviation::Header("origin", Some("http://127.0.0.1:8080"), false),
    Deviation::Header("origin", Some("https://evil.example"), false),
    Deviation::Header("host", None, false),
    Deviation::Header("host", Some("localhost"), true),
    Deviation::Header("authorization", None, false),
    Deviation::Header("authorization", Some("Bearer tome_nope"), false),
    // `_meta`.
    Deviation::Body(
        |b| {
            b["params"].as_object_mut().unwrap().remove("_meta");
        },
        false,
    ),
    Deviation::Body(
        |b| {
            meta(b)
                .as_object_mut()
                .map(|m| m.remove("io.modelcontextprotocol/clientCapabilities"));
        },
        false,
    ),
    Deviation::Body(
        |b| {
            meta(b)
                .as_object_mut()
                .map(|m| m.remove("io.modelcontextprotocol/clientInfo"));
        },
        true,
    ),
    Deviation::Body(
        |b| meta(b)["io.modelcontextprotocol/protocolVersion"] = json!("2025-11-25"),
        false,
    ),
    Deviation::Body(
        |b| meta(b)["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01"),
        false,
    ),
    Deviation::Body(
        |b| meta(b)["io.modelcontextprotocol/protocolVersion"] = json!(20260728),
        false,
    ),
    Deviation::Body(
        |b| meta(b)["io.modelcontextprotocol/clientCapabilities"] = json!("all"),
        false,
    ),
    Deviation::Body(
        |b| meta(b)["io.modelcontextprotocol/clientCapabilities"] = json!({"tasks": {}}),
        true,
    ),
    Deviation::Body(|b| meta(b)["progressToken"] = json!("p-1"), true),
    // The JSON-RPC message.
    Deviation::Body(|b| b["id"] = json!("request-7"), true),
    Deviation::Body(|b| b["id"] = Value::Null, false),
    Deviation::Body(
        |b| {
            b.as_object_mut().unwrap().remove("id");
        },
        false,
    ),
    Deviation::Body(|b| b["jsonrpc"] = json!("1.0"), false),
    Deviation::Body(|b| b["extra"] = json!({"x": 1}), true),
    Deviation::Body(|b| b["result"] = Value::Null, false),
    Deviation::Body(|b| b["error"] = json!({"code": 1, "message": "x"}), false),
    Deviation::Body(
        |b| {
            b.as_object_mut().unwrap().remove("method");
        },
        false,
    ),
    Deviation::Body(|b| b["id"] = json!(1.5), false),
    Deviation::Body(|b| b["id"] = json!(-3), true),
    Deviation::Body(|b| b["params"]["name"] = json!(7), false),
    Deviation::Body(|b| b["params"]["task"] = json!({"ttl": 1000}), true),
    Deviation::Body(|b| b["params"]["extra"] = json!(true), true),
    Deviation::Body(|b| b["method"] = json!("tools/list"), false),
    Deviation::Body(|b| b["params"]["name"] = json!("list_categories"), false),
    Deviation::Body(|b| b["params"]["arguments"] = json!("kb_1"), false),
    Deviation::Body(
        |b| {
            b["params"].as_object_mut().unwrap().remove("arguments");
        },
        true,
    ),
    Deviation::Body(|b| *b = json!([b.clone()]), false),
    Deviation::Raw("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": "),
    Deviation::Raw(""),
];

/// The request a 2026-07-28 client sends for `call`, with `deviations` applied in order.
fn request(call: &Call, deviations: &[Deviation]) -> Request<Body> {
    let mut body = json!({
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {
            "name": call.tool,
            "arguments": call.arguments,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "inline-tests", "version": "1"},
            },
        },
    });
    let mut raw = None;
    for d in deviations {
        match d {
            // A change to a message that is no longer an object (a batch) has nothing to change.
            Deviation::Body(change, _) if body.is_object() => change(&mut body),
            Deviation::Raw(text) => raw = Some(text.to_string()),
            _ => {}
        }
    }
    let text = raw.unwrap_or_else(|| body.to_string());
    let mut headers: Vec<(&str, String)> = vec![
        ("host", "127.0.0.1:8080".into()),
        ("content-type", "application/json".into()),
        ("accept", "application/json, text/event-stream".into()),
        ("content-length", text.len().to_string()),
        ("mcp-protocol-version", "2026-07-28".into()),
        ("mcp-method", "tools/call".into()),
        ("mcp-name", call.tool.into()),
    ];
    if let Some(k) = &call.key {
        headers.push(("authorization", format!("Bearer {k}")));
    }
    for d in deviations {
        match *d {
            Deviation::Header(name, value, _) => {
                headers.retain(|(n, _)| *n != name);
                if let Some(v) = value {
                    headers.push((name, v.to_string()));
                }
            }
            Deviation::Repeat(name, value, _) => {
                let v = value
                    .map(str::to_string)
                    .or_else(|| {
                        headers
                            .iter()
                            .find(|(n, _)| *n == name)
                            .map(|(_, v)| v.clone())
                    })
                    .unwrap_or_default();
                headers.push((name, v));
            }
            Deviation::NameBase64(right) => {
                let name = if right { call.tool } else { "list_categories" };
                headers.retain(|(n, _)| *n != "mcp-name");
                let encoded = base64::engine::general_purpose::STANDARD.encode(name);
                headers.push(("mcp-name", format!("=?base64?{encoded}?=")));
            }
            _ => {}
        }
    }
    let mut b = Request::builder().method(Method::POST).uri(&call.path);
    for (n, v) in headers {
        b = b.header(n, v);
    }
    b.body(Body::from(text)).expect("request")
}

/// Sends `call` with `deviations` to both routers and asserts the same answer.
async fn same_answer(app: &TestApp, call: &Call, deviations: &[Deviation]) {
    let inline = app.send(request(call, deviations)).await;
    let oracle = app.send_to_oracle(request(call, deviations)).await;
    let context = || format!("{} {deviations:?}", call.tool);
    assert_eq!(
        inline.status,
        oracle.status,
        "status of {}: {} / {}",
        context(),
        inline.text,
        oracle.text
    );
    let headers = |r: &crate::support::TestResponse| {
        let mut h: Vec<(String, String)> = r
            .headers
            .iter()
            // A counter that moves with every request, and its window.
            .filter(|(n, _)| !matches!(n.as_str(), "x-ratelimit-remaining" | "x-ratelimit-reset"))
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            .collect();
        h.sort();
        h
    };
    assert_eq!(
        headers(&inline),
        headers(&oracle),
        "headers of {}",
        context()
    );
    assert_eq!(inline.text, oracle.text, "body of {}", context());
}

#[tokio::test]
async fn every_deviation_is_answered_as_rmcps_transport_answers_it() {
    let app = TestApp::new().await;
    let f = fixture(&app).await;
    for call in calls(&app, &f) {
        same_answer(&app, &call, &[]).await;
        for d in DEVIATIONS {
            same_answer(&app, &call, &[*d]).await;
        }
    }
}

/// The inline path takes the requests it is meant to — so the comparison above covers it — and
/// hands every other one, body intact, to rmcp's transport.
#[tokio::test]
async fn the_inline_path_takes_well_formed_calls_and_hands_on_the_rest() {
    let app = TestApp::new().await;
    let f = fixture(&app).await;
    let cached = app
        .state
        .public
        .api_key(app.store.as_ref(), &app.key)
        .await
        .unwrap()
        .unwrap();
    let identity = tome_mcp::http::stdio_identity(&app.key, &cached);
    let inline = Inline::new(TomeServer::new(Shared::new(app.state.clone())));
    let call = &calls(&app, &f)[0];
    let with_identity = |deviations: &[Deviation]| {
        let mut req = request(call, deviations);
        req.extensions_mut().insert(identity.clone());
        req
    };
    let taken = inline
        .answer(with_identity(&[]))
        .await
        .expect("a well-formed call is answered inline");
    assert_eq!(taken.status(), 200);
    for d in DEVIATIONS {
        // Requests the gate refuses never reach either path.
        if matches!(d, Deviation::Header("authorization" | "origin", ..)) {
            continue;
        }
        match inline.answer(with_identity(&[*d])).await {
            Ok(resp) => assert!(d.taken(), "{d:?} answered inline ({})", resp.status()),
            Err(req) => {
                assert!(!d.taken(), "{d:?} handed on");
                // The body is handed on as it came.
                let sent = http_body_util::BodyExt::collect(request(call, &[*d]).into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                let kept = http_body_util::BodyExt::collect(req.into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                assert_eq!(sent, kept, "{d:?}: body handed on");
            }
        }
    }
}

/// Deviations combined at random (proptest), on random calls: still rmcp's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn combined_deviations_are_answered_as_rmcps_transport_answers_them() {
    use proptest::test_runner::{Config, TestRunner};
    let app = TestApp::new().await;
    let f = fixture(&app).await;
    let calls = calls(&app, &f);
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        0..calls.len(),
        proptest::collection::vec(0..DEVIATIONS.len(), 1..4),
    );
    let handle = tokio::runtime::Handle::current();
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |(call, picks)| {
            let deviations: Vec<Deviation> = picks.iter().map(|&i| DEVIATIONS[i]).collect();
            handle.block_on(same_answer(&app, &calls[call], &deviations));
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
