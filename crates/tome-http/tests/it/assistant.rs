//! The docs-platform endpoints of the assistant (`spec/docs-platform-api.md`): documentation
//! search (`POST /v1/search/{domain}`), page content (`POST /v1/page/{domain}`), the assistant
//! message in both streams and as one JSON object (`POST /v{1,2}/assistant/{domain}/message`),
//! threads and the assistant analytics — through the real router, and the streams over a real
//! socket on both server paths.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tome_core::input::ProjectPatch;
use tome_core::keys::{self, KeyKind};
use tome_http::HttpConfig;
use tome_http::server::{ServeOptions, spawn_threads};

use crate::support::{TestApp, TestResponse, id_of, test_config};

/// The public API's one refusal body, which the docs gate reuses for site-key callers.
const DENIED: &str = r#"{"error":{"code":"forbidden","message":"Access denied","details":null}}"#;
const ORIGIN: &str = "https://example.com";
/// Where hosted pages live in the test config (`base_url` + `/hc/{slug}`).
const BASE: &str = "http://127.0.0.1:8080";

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

/// A public help centre `acme` with published, draft and archived articles, a second KB of the
/// same project (`acme-internal`) and an assistant key.
struct Docs {
    app: TestApp,
    /// Assistant key (`tome_dsc_…`) of the default project.
    key: String,
    kb: String,
    site_key: String,
    /// "Reset your password": `## Reset by email`, `## Reset from the mobile app`.
    password: String,
    /// "Invoices and billing" (tag `billing`).
    invoices: String,
    /// "Embed the chat widget": raw `<script>` and `<img onerror>` in its body.
    widget: String,
    /// A draft that matches password questions best ("quokka").
    draft: String,
    /// An archived article ("wombat").
    archived: String,
    /// `acme-internal`'s published password article ("kangaroo").
    other_article: String,
}

const PASSWORD_BODY: &str = "Forgotten passwords happen to everyone.\n\n\
## Reset by email\n\n\
Open the sign-in page and click **Forgot password**. We email you a reset link that works for one hour.\n\n\
## Reset from the mobile app\n\n\
In the mobile app, open Settings, then Security, and tap Change password. \
The new password works at once on every device.\n";

const INVOICES_BODY: &str = "## Download an invoice\n\n\
Open Billing and click Download next to the invoice. Invoices are PDF files.\n\n\
## Change the billing email\n\n\
Invoices are sent to the billing email address. Change the billing email under Billing settings.\n";

const WIDGET_BODY: &str = "## Install the widget\n\n\
Paste the embed snippet before the closing body tag to install the chat widget. \
<script>alert(1)</script> <img src=x onerror=alert(2)> \
The chat widget loads in under a second.\n";

const DRAFT_BODY: &str = "## Reset with a hardware security key\n\n\
Plug in the hardware security key and press its button to reset your password. \
The quokka token unlocks the account after a password reset.\n";

const ARCHIVED_BODY: &str = "Fax the wombat form to reset your password by fax.\n";

impl Docs {
    async fn new() -> Docs {
        Docs::with_config(test_config()).await
    }

    async fn with_config(config: HttpConfig) -> Docs {
        let app = TestApp::with_config(config).await;
        let key = app.new_key(KeyKind::Assistant).await;
        let r = app
            .post(
                "/v1/kb",
                json!({ "title": "Acme Help", "slug": "acme", "is_public": true }),
            )
            .await;
        r.assert_status(201);
        let kb = id_of(&r);
        let site_key = r.data()["site_key"].as_str().unwrap().to_string();
        let account = app.create_category(&kb, "Account").await;
        let billing = app.create_category(&kb, "Billing").await;
        let developers = app.create_category(&kb, "Developers").await;
        let security = app.create_section(&kb, &account, "Security").await;
        let article = |category: &str, extra: Value| {
            let (app, kb, category) = (&app, kb.clone(), category.to_string());
            async move {
                app.create_article(&kb, &category, extra).await["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
        };
        let password = article(
            &account,
            json!({
                "section_id": security, "title": "Reset your password", "body": PASSWORD_BODY,
                "tags": ["account"], "status": "published",
            }),
        )
        .await;
        let invoices = article(
            &billing,
            json!({
                "title": "Invoices and billing", "body": INVOICES_BODY,
                "tags": ["billing"], "status": "published",
            }),
        )
        .await;
        let widget = article(
            &developers,
            json!({ "title": "Embed the chat widget", "body": WIDGET_BODY, "status": "published" }),
        )
        .await;
        let draft = article(
            &account,
            json!({
                "section_id": security,
                "title": "Reset your password with a hardware security key",
                "body": DRAFT_BODY, "tags": ["account"],
            }),
        )
        .await;
        let archived = article(
            &account,
            json!({
                "title": "Reset your password by fax", "body": ARCHIVED_BODY,
                "tags": ["account"], "status": "published",
            }),
        )
        .await;
        app.post_empty(&format!("/v1/kb/{kb}/articles/{archived}/archive"))
            .await
            .assert_status(200);

        let r = app
            .post(
                "/v1/kb",
                json!({ "title": "Acme Internal", "slug": "acme-internal", "is_public": true }),
            )
            .await;
        r.assert_status(201);
        let other_kb = id_of(&r);
        let staff = app.create_category(&other_kb, "Staff").await;
        let other_article = app
            .create_article(
                &other_kb,
                &staff,
                json!({
                    "title": "Reset your password",
                    "body": "Staff reset their password through the kangaroo portal, \
                             then tap Change password in the mobile app.",
                    "status": "published",
                }),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.settle().await;
        Docs {
            app,
            key,
            kb,
            site_key,
            password,
            invoices,
            widget,
            draft,
            archived,
            other_article,
        }
    }

    /// `POST uri` with a JSON body as the assistant key (or `key`), with an optional `Accept`.
    async fn post_as(
        &self,
        key: Option<&str>,
        uri: &str,
        body: Value,
        accept: Option<&str>,
    ) -> TestResponse {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header("content-type", "application/json");
        if let Some(k) = key {
            b = b.header("authorization", format!("Bearer {k}"));
        }
        if let Some(a) = accept {
            b = b.header("accept", a);
        }
        self.app
            .send(b.body(Body::from(body.to_string())).unwrap())
            .await
    }

    async fn search_raw(&self, body: Value) -> TestResponse {
        self.post_as(Some(&self.key), "/v1/search/acme", body, None)
            .await
    }

    /// A search that must succeed: its array of hits.
    async fn search(&self, body: Value) -> Vec<Value> {
        let r = self.search_raw(body).await;
        r.assert_status(200);
        r.body
            .as_array()
            .unwrap_or_else(|| panic!("search answers a JSON array: {}", r.text))
            .clone()
    }

    async fn page(&self, path: &str) -> TestResponse {
        self.post_as(
            Some(&self.key),
            "/v1/page/acme",
            json!({ "path": path }),
            None,
        )
        .await
    }

    /// `POST /v2/assistant/acme/message` with `body`, as one JSON object.
    async fn ask_raw(&self, body: Value) -> TestResponse {
        self.post_as(
            Some(&self.key),
            "/v2/assistant/acme/message",
            body,
            Some("application/json"),
        )
        .await
    }

    /// Asks one question (a new thread) in JSON mode; must succeed.
    async fn ask(&self, question: &str) -> Value {
        let r = self.ask_raw(v2_body(question)).await;
        r.assert_status(200);
        r.body.clone()
    }

    async fn usage(&self) -> Value {
        let r = self.app.get("/v1/usage").await;
        r.assert_status(200);
        r.data().clone()
    }

    async fn credits_used(&self) -> i64 {
        self.usage().await["credits_used"].as_i64().unwrap()
    }

    async fn set_cap(&self, cap: Option<i64>) {
        self.app
            .store
            .update_project(
                &self.app.project_id,
                ProjectPatch {
                    credit_cap: Some(cap),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }

    async fn set_domains(&self, domains: Value) {
        self.app
            .put("/v1/project", json!({ "allowed_domains": domains }))
            .await
            .assert_status(200);
    }

    fn analytics(&self, rest: &str) -> String {
        format!("/v1/analytics/{}/assistant{rest}", self.app.project_id)
    }

    /// The assistant conversations of the default project (first page of 100).
    async fn conversations(&self) -> Vec<Value> {
        let r = self.app.get(&self.analytics("?limit=100")).await;
        r.assert_status(200);
        r.body["conversations"].as_array().unwrap().clone()
    }

    /// The hosted root of `acme`.
    fn root(&self) -> String {
        format!("{BASE}/hc/acme")
    }

    /// Whether `url` is the hosted page (any fragment) of `article`.
    fn is_page_of(&self, url: &str, article: &str) -> bool {
        url.starts_with(&format!("{}/articles/{article}", self.root()))
    }

    /// Asserts that nothing of the draft, the archived article or the other KB is in `text`.
    #[track_caller]
    fn assert_nothing_unpublished(&self, what: &str, text: &str) {
        for (name, needle) in [
            ("the draft", "quokka"),
            ("the draft", self.draft.as_str()),
            ("the draft", "hardware security key and press"),
            ("the archived article", "wombat"),
            ("the archived article", self.archived.as_str()),
            ("the other KB", "kangaroo"),
            ("the other KB", self.other_article.as_str()),
            ("the other KB", "acme-internal"),
        ] {
            assert!(
                !text.contains(needle),
                "{what} carries {name} ({needle:?}): {text}"
            );
        }
    }
}

fn user_v2(text: &str) -> Value {
    json!({ "id": "msg-user", "role": "user", "parts": [{ "type": "text", "text": text }] })
}

fn assistant_v2(text: &str) -> Value {
    json!({ "id": "msg-assistant", "role": "assistant", "parts": [{ "type": "text", "text": text }] })
}

fn v2_body(question: &str) -> Value {
    json!({ "fp": "anonymous", "messages": [user_v2(question)] })
}

fn v1_body(question: &str) -> Value {
    json!({ "fp": "anonymous", "messages": [{ "id": "m1", "role": "user", "content": question }] })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Rate-limit windows are fixed clock minutes: a test counting requests inside one window waits
/// for the next one when the current window is about to end.
async fn fresh_window() {
    let into_window = unix_now() % 60;
    if into_window >= 55 {
        tokio::time::sleep(Duration::from_secs(61 - into_window)).await;
    }
}

/// Article IDs of search hits, in order.
fn hit_articles(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| h["metadata"]["article_id"].as_str().unwrap().to_string())
        .collect()
}

/// URLs of a JSON answer's `sources`.
fn source_urls(answer: &Value) -> Vec<String> {
    answer["sources"]
        .as_array()
        .unwrap_or_else(|| panic!("no sources array: {answer}"))
        .iter()
        .map(|s| s["url"].as_str().unwrap().to_string())
        .collect()
}

/// The first `threadId` anywhere in `v` (the v5 `finish` chunk carries it in
/// `messageMetadata`, the v4 stream in a message annotation).
fn find_thread_id(v: &Value) -> Option<String> {
    match v {
        Value::Object(map) => map
            .get("threadId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| map.values().find_map(find_thread_id)),
        Value::Array(items) => items.iter().find_map(find_thread_id),
        _ => None,
    }
}

/// Whether `v` is an ISO 8601 UTC timestamp with milliseconds (`2026-01-15T10:30:00.000Z`).
fn is_iso_millis(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// The chunks of a UI message stream (SSE): each `data:` payload parsed as JSON; asserts that
/// every event is one `data:` line and that the stream ends with `data: [DONE]`.
#[track_caller]
fn ui_chunks(text: &str) -> Vec<Value> {
    assert!(
        text.ends_with("data: [DONE]\n\n"),
        "the stream does not end with `data: [DONE]`: {text:?}"
    );
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    let (done, chunks) = events.split_last().unwrap();
    assert_eq!(*done, "data: [DONE]");
    chunks
        .iter()
        .map(|e| {
            let payload = e
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a `data:` event: {e:?}"));
            assert!(!payload.contains('\n'), "a chunk spans lines: {e:?}");
            serde_json::from_str(payload).unwrap_or_else(|err| panic!("{err}: {payload}"))
        })
        .collect()
}

/// What a UI message stream says: its text (all `text-delta`s), its `source-url` chunks and the
/// thread of its `finish` chunk.
#[derive(Debug)]
struct UiAnswer {
    types: Vec<String>,
    text: String,
    sources: Vec<Value>,
    thread_id: Option<String>,
}

#[track_caller]
fn read_ui_stream(text: &str) -> UiAnswer {
    let chunks = ui_chunks(text);
    let types: Vec<String> = chunks
        .iter()
        .map(|c| c["type"].as_str().unwrap_or_default().to_string())
        .collect();
    let text: String = chunks
        .iter()
        .filter(|c| c["type"] == "text-delta")
        .map(|c| c["delta"].as_str().unwrap())
        .collect();
    let sources = chunks
        .iter()
        .filter(|c| c["type"] == "source-url")
        .cloned()
        .collect();
    let thread_id = chunks
        .iter()
        .filter(|c| c["type"] == "finish")
        .find_map(find_thread_id);
    UiAnswer {
        types,
        text,
        sources,
        thread_id,
    }
}

/// The parts of an AI SDK v4 data stream: `(code, value)` per line.
#[track_caller]
fn data_parts(text: &str) -> Vec<(String, Value)> {
    assert!(text.ends_with('\n'), "the stream ends mid-line: {text:?}");
    text.lines()
        .map(|line| {
            let (code, json) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("not a `CODE:JSON` line: {line:?}"));
            assert!(
                !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric()),
                "bad part code in {line:?}"
            );
            let value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {line:?}"));
            (code.to_string(), value)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Documentation search
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn search_returns_the_matching_passage_not_the_whole_article() {
    let d = Docs::new().await;
    let hits = d
        .search(json!({ "query": "change password in the mobile app" }))
        .await;
    assert!(!hits.is_empty(), "no hits");
    let top = &hits[0];
    let keys: Vec<&str> = top
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in ["content", "path", "metadata"] {
        assert!(keys.contains(&k), "hit lacks {k}: {top}");
    }
    let content = top["content"].as_str().unwrap();
    assert!(content.contains("tap Change password"), "{content}");
    // The passage, not the article: the other section and the intro are not in it.
    assert!(!content.contains("Forgot password"), "{content}");
    assert!(!content.contains("Forgotten passwords"), "{content}");

    let m = &top["metadata"];
    assert_eq!(m["article_id"], d.password.as_str());
    assert_eq!(m["title"], "Reset your password");
    assert_eq!(m["heading"], "Reset from the mobile app");
    assert_eq!(m["category"], "Account");
    assert_eq!(m["section"], "Security");
    let score = m["score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&score), "score {score}");

    let path = top["path"].as_str().unwrap();
    assert!(
        path.starts_with(&format!("/articles/{}", d.password)),
        "{path}"
    );
    let url = m["url"].as_str().unwrap();
    let (page, anchor) = url.split_once('#').expect("the url has a fragment");
    assert_eq!(page, format!("{}{path}", d.root()));
    assert_eq!(anchor, "reset-from-the-mobile-app");

    // The fragment is the id the hosted page gives the heading.
    let hosted = page.strip_prefix(BASE).unwrap();
    let html = d.app.call(Method::GET, hosted, None, None).await;
    html.assert_status(200);
    assert!(
        html.text.contains(&format!("id=\"{anchor}\"")),
        "no element with id {anchor:?} on {hosted}"
    );

    // The path is usable in /v1/page.
    let r = d.page(path).await;
    r.assert_status(200);
    assert_eq!(r.body["path"], path);
    assert!(
        r.body["content"]
            .as_str()
            .unwrap()
            .starts_with("# Reset your password\n")
    );

    // The other section is its own passage, with its own heading and anchor.
    let hits = d
        .search(json!({ "query": "forgot password email link" }))
        .await;
    let email = hits
        .iter()
        .find(|h| h["metadata"]["heading"] == "Reset by email")
        .unwrap_or_else(|| panic!("no `Reset by email` passage: {hits:?}"));
    assert!(
        email["metadata"]["url"]
            .as_str()
            .unwrap()
            .ends_with("#reset-by-email")
    );
    assert!(!email["content"].as_str().unwrap().contains("mobile app"));
}

#[tokio::test]
async fn search_scores_are_zero_to_one_best_first_and_metadata_is_complete() {
    let d = Docs::new().await;
    let hits = d
        .search(json!({ "query": "password email", "pageSize": 50 }))
        .await;
    assert!(hits.len() >= 3, "{hits:?}");
    let scores: Vec<f64> = hits
        .iter()
        .map(|h| h["metadata"]["score"].as_f64().unwrap())
        .collect();
    for s in &scores {
        assert!((0.0..=1.0).contains(s), "score {s} outside 0–1");
    }
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "not best first: {scores:?}"
    );
    for h in &hits {
        let m = &h["metadata"];
        for k in [
            "title",
            "heading",
            "url",
            "article_id",
            "category",
            "section",
            "score",
        ] {
            assert!(m.get(k).is_some(), "metadata lacks {k}: {h}");
        }
        assert!(m["title"].is_string() && m["heading"].is_string());
        assert!(m["url"].as_str().unwrap().starts_with(&d.root()));
        assert!(h["content"].as_str().is_some_and(|c| !c.trim().is_empty()));
    }
    // An article outside any section has no section name; its category is still given.
    let invoice = hits
        .iter()
        .find(|h| h["metadata"]["article_id"] == d.invoices.as_str())
        .expect("the billing email passage matches");
    assert_eq!(invoice["metadata"]["category"], "Billing");
    assert_eq!(invoice["metadata"]["section"], Value::Null);
}

#[tokio::test]
async fn search_page_size_defaults_to_10_and_is_at_most_50() {
    let d = Docs::new().await;
    let cat = d.app.create_category(&d.kb, "Lanterns").await;
    let body: String = (1..=60)
        .map(|i| format!("## Lantern {i}\n\nLantern number {i} glows at night.\n\n"))
        .collect();
    d.app
        .create_article(
            &d.kb,
            &cat,
            json!({ "title": "Lanterns", "body": body, "status": "published" }),
        )
        .await;
    d.app.settle().await;
    assert_eq!(d.search(json!({ "query": "lantern" })).await.len(), 10);
    assert_eq!(
        d.search(json!({ "query": "lantern", "pageSize": 3 }))
            .await
            .len(),
        3
    );
    assert_eq!(
        d.search(json!({ "query": "lantern", "pageSize": 50 }))
            .await
            .len(),
        50
    );
    let one = d.search(json!({ "query": "lantern", "pageSize": 1 })).await;
    assert_eq!(one.len(), 1);
}

#[tokio::test]
async fn search_score_threshold_filters_on_the_score_scale() {
    let d = Docs::new().await;
    let all = d
        .search(json!({ "query": "password email", "pageSize": 50 }))
        .await;
    let scores: Vec<f64> = all
        .iter()
        .map(|h| h["metadata"]["score"].as_f64().unwrap())
        .collect();
    let (max, min) = (scores[0], *scores.last().unwrap());
    assert!(
        max > min,
        "the query should match with varied scores: {scores:?}"
    );
    let threshold = (max + min) / 2.0;
    let kept = d
        .search(json!({ "query": "password email", "pageSize": 50, "scoreThreshold": threshold }))
        .await;
    let expected: Vec<&Value> = all
        .iter()
        .filter(|h| h["metadata"]["score"].as_f64().unwrap() >= threshold)
        .collect();
    assert!(!kept.is_empty() && kept.len() < all.len());
    assert_eq!(kept.iter().collect::<Vec<_>>(), expected);
    // At exactly a hit's score, that hit is kept ("at or above").
    let at_min = d
        .search(json!({ "query": "password email", "pageSize": 50, "scoreThreshold": min }))
        .await;
    assert_eq!(at_min.len(), all.len());
    // 0 keeps everything; 1 only perfect scores.
    let zero = d
        .search(json!({ "query": "password email", "pageSize": 50, "scoreThreshold": 0 }))
        .await;
    assert_eq!(zero, all);
    let one = d
        .search(json!({ "query": "password email", "pageSize": 50, "scoreThreshold": 1 }))
        .await;
    assert!(
        one.iter()
            .all(|h| h["metadata"]["score"].as_f64().unwrap() >= 1.0)
    );
}

#[tokio::test]
async fn search_filters_by_tag() {
    let d = Docs::new().await;
    let any = hit_articles(&d.search(json!({ "query": "email" })).await);
    assert!(
        any.contains(&d.password) && any.contains(&d.invoices),
        "{any:?}"
    );
    let billing = hit_articles(
        &d.search(json!({ "query": "email", "filter": { "tag": "billing" } }))
            .await,
    );
    assert!(!billing.is_empty());
    assert!(billing.iter().all(|a| *a == d.invoices), "{billing:?}");
    let account = hit_articles(
        &d.search(json!({ "query": "email", "filter": { "tag": "account" } }))
            .await,
    );
    assert!(!account.is_empty());
    assert!(account.iter().all(|a| *a == d.password), "{account:?}");
    let none = d
        .search(json!({ "query": "email", "filter": { "tag": "no-such-tag" } }))
        .await;
    assert!(none.is_empty(), "{none:?}");
}

#[tokio::test]
async fn search_tolerates_typos_and_prefixes() {
    let d = Docs::new().await;
    for q in ["pasword", "passwrod reset", "passw", "invoic"] {
        let hits = hit_articles(&d.search(json!({ "query": q })).await);
        let expected = if q.starts_with("invoic") {
            &d.invoices
        } else {
            &d.password
        };
        assert!(hits.contains(expected), "{q:?} → {hits:?}");
    }
}

#[tokio::test]
async fn search_never_returns_drafts_archived_or_another_kbs_content() {
    let d = Docs::new().await;
    // The draft matches this question best of all articles; it must not appear.
    let hits = d
        .search(json!({ "query": "reset password with a hardware security key", "pageSize": 50 }))
        .await;
    let articles = hit_articles(&hits);
    assert!(articles.contains(&d.password), "{articles:?}");
    for h in &hits {
        d.assert_nothing_unpublished("a search hit", &h.to_string());
    }
    for q in ["quokka", "wombat", "kangaroo", "fax"] {
        let hits = d.search(json!({ "query": q, "pageSize": 50 })).await;
        assert!(hits.is_empty(), "{q:?} → {hits:?}");
    }
    // A question every KB answers: only this KB's passages.
    let hits = d
        .search(json!({ "query": "reset password", "pageSize": 50 }))
        .await;
    for h in &hits {
        d.assert_nothing_unpublished("a search hit", &h.to_string());
    }
    // The other KB sees its own article and nothing of acme.
    let other = d
        .post_as(
            Some(&d.key),
            "/v1/search/acme-internal",
            json!({ "query": "reset password", "pageSize": 50 }),
            None,
        )
        .await;
    other.assert_status(200);
    let other = hit_articles(other.body.as_array().unwrap());
    assert_eq!(other, vec![d.other_article.clone()]);

    // A draft published later appears; archived again, it is gone.
    d.app
        .post_empty(&format!("/v1/kb/{}/articles/{}/publish", d.kb, d.draft))
        .await
        .assert_status(200);
    let hits = hit_articles(&d.search(json!({ "query": "quokka" })).await);
    assert_eq!(hits, vec![d.draft.clone()]);
    d.app
        .post_empty(&format!("/v1/kb/{}/articles/{}/archive", d.kb, d.draft))
        .await
        .assert_status(200);
    assert!(d.search(json!({ "query": "quokka" })).await.is_empty());
}

#[tokio::test]
async fn search_accepts_version_language_and_groups() {
    let d = Docs::new().await;
    let plain = d.search(json!({ "query": "invoice" })).await;
    assert!(!plain.is_empty());
    let filtered = d
        .search(json!({
            "query": "invoice",
            "filter": { "version": "v2", "language": "fr", "groups": ["staff", "admins"] },
        }))
        .await;
    assert_eq!(filtered, plain);
}

#[tokio::test]
async fn search_strips_markup_and_script_from_passages() {
    let d = Docs::new().await;
    let hits = d
        .search(json!({ "query": "install the chat widget" }))
        .await;
    let top = hits
        .iter()
        .find(|h| h["metadata"]["article_id"] == d.widget.as_str())
        .expect("the widget passage");
    let content = top["content"].as_str().unwrap();
    assert!(content.contains("install the chat widget"), "{content}");
    for raw in ["<script", "alert(1)", "<img", "onerror"] {
        assert!(!content.contains(raw), "passage carries {raw:?}: {content}");
    }
}

#[tokio::test]
async fn search_through_the_hosted_host_name() {
    let d = Docs::with_config(HttpConfig {
        hosted_url: Some("https://help.example.com".into()),
        ..test_config()
    })
    .await;
    let r = d
        .post_as(
            Some(&d.key),
            "/v1/search/acme.help.example.com",
            json!({ "query": "invoice" }),
            None,
        )
        .await;
    r.assert_status(200);
    let hits = r.body.as_array().unwrap();
    assert!(!hits.is_empty());
    let url = hits[0]["metadata"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "https://help.example.com/acme/articles/{}",
            d.invoices
        )),
        "{url}"
    );
    // A host name of another domain names nothing.
    let r = d
        .post_as(
            Some(&d.key),
            "/v1/search/acme.evil.example",
            json!({ "query": "invoice" }),
            None,
        )
        .await;
    r.assert_error(404, "kb_not_found");
}

// ---------------------------------------------------------------------------------------------
// Page content
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn page_returns_markdown_with_the_title_as_heading() {
    let d = Docs::new().await;
    let path = format!("/articles/{}-reset-your-password", d.password);
    let r = d.page(&path).await;
    r.assert_status(200);
    assert_eq!(r.body["path"], path);
    let content = r.body["content"].as_str().unwrap();
    assert_eq!(
        content,
        format!("# Reset your password\n\n{PASSWORD_BODY}"),
        "the page is its title and its Markdown body"
    );
    // The ID alone also names the page.
    let by_id = d.page(&format!("/articles/{}", d.password)).await;
    by_id.assert_status(200);
    assert_eq!(by_id.body["content"], content);
}

#[tokio::test]
async fn page_is_404_for_unknown_draft_archived_and_other_kbs_pages() {
    let d = Docs::new().await;
    let unknown = d.page("/articles/kba_000000000000-nothing").await;
    unknown.assert_status(404);
    assert!(unknown.body["error"]["code"].is_string());
    for (what, path) in [
        ("not an article path", "/quickstart".to_string()),
        ("a draft", format!("/articles/{}", d.draft)),
        ("an archived article", format!("/articles/{}", d.archived)),
        (
            "another KB's article",
            format!("/articles/{}", d.other_article),
        ),
    ] {
        let r = d.page(&path).await;
        assert_eq!(r.status.as_u16(), 404, "{what}: {}", r.text);
        assert_eq!(r.text, unknown.text, "{what} answers like an unknown page");
    }
    // A missing path is a validation error.
    let r = d
        .post_as(Some(&d.key), "/v1/page/acme", json!({}), None)
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "path");
    // groups is accepted.
    let r = d
        .post_as(
            Some(&d.key),
            "/v1/page/acme",
            json!({ "path": format!("/articles/{}", d.password), "groups": ["staff"] }),
            None,
        )
        .await;
    r.assert_status(200);
}

#[tokio::test]
async fn search_and_page_are_free_even_at_the_cap() {
    let d = Docs::new().await;
    let before = d.usage().await;
    for _ in 0..3 {
        d.search(json!({ "query": "password" })).await;
        d.page(&format!("/articles/{}", d.password))
            .await
            .assert_status(200);
    }
    assert_eq!(d.usage().await, before, "search and page were charged");
    let used = before["credits_used"].as_i64().unwrap();
    d.set_cap(Some(used)).await;
    d.search(json!({ "query": "password" })).await;
    d.page(&format!("/articles/{}", d.password))
        .await
        .assert_status(200);
    assert_eq!(d.credits_used().await, used);
}

// ---------------------------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------------------------

/// The three docs-platform POST endpoints with a minimal valid body each.
fn endpoints() -> Vec<(&'static str, Value)> {
    vec![
        ("/v1/search/acme", json!({ "query": "password" })),
        (
            "/v1/page/acme",
            json!({ "path": "/articles/kba_000000000000" }),
        ),
        (
            "/v2/assistant/acme/message",
            v2_body("How do I reset my password?"),
        ),
        (
            "/v1/assistant/acme/message",
            v1_body("How do I reset my password?"),
        ),
    ]
}

#[tokio::test]
async fn no_key_is_401_and_an_admin_key_is_403() {
    let d = Docs::new().await;
    for (uri, body) in endpoints() {
        let r = d.post_as(None, uri, body.clone(), None).await;
        r.assert_error(401, "unauthorized");
        let r = d
            .post_as(Some("tome_dsc_garbage"), uri, body.clone(), None)
            .await;
        r.assert_error(401, "unauthorized");
        let r = d.post_as(Some(&d.app.key), uri, body, None).await;
        r.assert_error(403, "forbidden");
    }
    assert!(d.conversations().await.is_empty());
}

#[tokio::test]
async fn another_projects_kb_is_404_like_an_unknown_domain() {
    let d = Docs::new().await;
    let (other_project, other_admin) = d.app.new_project("Other").await;
    let k = keys::generate_api_key(KeyKind::Assistant);
    d.app
        .store
        .create_api_key(&other_project, KeyKind::Assistant, &k)
        .await
        .unwrap();
    let foreign = k.plaintext;
    // The other project has a KB of its own, which its key reaches.
    d.app
        .call(
            Method::POST,
            "/v1/kb",
            Some(&other_admin),
            Some(json!({ "title": "Beta", "slug": "beta" })),
        )
        .await
        .assert_status(201);
    let r = d
        .post_as(
            Some(&foreign),
            "/v1/search/beta",
            json!({ "query": "x" }),
            None,
        )
        .await;
    r.assert_status(200);

    for (uri, body) in endpoints() {
        let theirs = d.post_as(Some(&foreign), uri, body.clone(), None).await;
        theirs.assert_error(404, "kb_not_found");
        let unknown_uri = uri.replace("/acme", "/no-such-kb");
        let unknown = d
            .post_as(Some(&d.key), &unknown_uri, body.clone(), None)
            .await;
        unknown.assert_error(404, "kb_not_found");
        assert_eq!(theirs.text, unknown.text, "{uri}: the 404s differ");
        // Our key on their KB: the same.
        let beta = uri.replace("/acme", "/beta");
        let r = d.post_as(Some(&d.key), &beta, body, None).await;
        assert_eq!(r.text, unknown.text, "{beta}");
    }
}

/// `POST uri` as a browser with a site key, from `origin`, from client `peer`.
async fn site_post(
    app: &TestApp,
    uri: &str,
    site_key: &str,
    origin: Option<&str>,
    body: Value,
    peer: Option<IpAddr>,
) -> TestResponse {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/json")
        .header("x-minolith-site-key", site_key);
    if let Some(o) = origin {
        b = b.header("origin", o);
    }
    let mut req = b.body(Body::from(body.to_string())).unwrap();
    if let Some(peer) = peer {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(peer, 50000)));
    }
    app.send(req).await
}

#[track_caller]
fn assert_denied(r: &TestResponse) {
    assert_eq!(r.status.as_u16(), 403, "expected the refusal: {}", r.text);
    assert_eq!(r.text, DENIED, "the refusal is the public API's");
    assert!(r.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_site_key_works_from_an_allowed_origin_on_a_public_kb() {
    let d = Docs::new().await;
    d.set_domains(json!(["example.com"])).await;
    for (uri, body) in endpoints() {
        let r = site_post(&d.app, uri, &d.site_key, Some(ORIGIN), body.clone(), None).await;
        if uri.starts_with("/v1/page") {
            // An unknown page: answered (404), not refused.
            r.assert_status(404);
        } else {
            r.assert_status(200);
        }
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some(ORIGIN),
            "{uri}"
        );
        for h in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ] {
            assert!(r.header(h).is_some(), "{uri}: no {h}: {:?}", r.headers);
        }

        // Another origin, no origin, a bad key, another KB's domain: the public API's 403.
        let r = site_post(
            &d.app,
            uri,
            &d.site_key,
            Some("https://evil.example"),
            body.clone(),
            None,
        )
        .await;
        assert_denied(&r);
        let r = site_post(&d.app, uri, &d.site_key, None, body.clone(), None).await;
        assert_denied(&r);
        let wrong = keys::generate_site_key().plaintext;
        let r = site_post(&d.app, uri, &wrong, Some(ORIGIN), body.clone(), None).await;
        assert_denied(&r);
        let other = uri.replace("/acme", "/acme-internal");
        let r = site_post(&d.app, &other, &d.site_key, Some(ORIGIN), body, None).await;
        assert_denied(&r);
    }
    // What the site key's search finds is what the assistant key's finds.
    let r = site_post(
        &d.app,
        "/v1/search/acme",
        &d.site_key,
        Some(ORIGIN),
        json!({ "query": "invoice" }),
        None,
    )
    .await;
    assert_eq!(
        r.body,
        Value::Array(d.search(json!({ "query": "invoice" })).await)
    );
}

#[tokio::test]
async fn a_site_key_on_a_kb_that_is_not_public_is_refused() {
    let d = Docs::new().await;
    let r = d
        .app
        .post("/v1/kb", json!({ "title": "Private", "slug": "private" }))
        .await;
    r.assert_status(201);
    let kb = id_of(&r);
    let private_key = r.data()["site_key"].as_str().unwrap().to_string();
    let cat = d.app.create_category(&kb, "Cat").await;
    d.app
        .create_article(
            &kb,
            &cat,
            json!({ "title": "Private password", "body": "Reset the password.", "status": "published" }),
        )
        .await;
    let search = |key: String| {
        let app = &d.app;
        async move {
            site_post(
                app,
                "/v1/search/private",
                &key,
                Some(ORIGIN),
                json!({ "query": "password" }),
                None,
            )
            .await
        }
    };
    assert_denied(&search(private_key.clone()).await);
    let r = site_post(
        &d.app,
        "/v2/assistant/private/message",
        &private_key,
        Some(ORIGIN),
        v2_body("How do I reset my password?"),
        None,
    )
    .await;
    assert_denied(&r);
    // The assistant key reaches it: only site-key callers need a public KB.
    let r = d
        .post_as(
            Some(&d.key),
            "/v1/search/private",
            json!({ "query": "password" }),
            None,
        )
        .await;
    r.assert_status(200);
    // Made public, the site key works.
    d.app
        .put(&format!("/v1/kb/{kb}"), json!({ "is_public": true }))
        .await
        .assert_status(200);
    search(private_key).await.assert_status(200);
}

#[tokio::test]
async fn cors_preflights_are_answered_for_allowed_origins() {
    let d = Docs::new().await;
    d.set_domains(json!(["example.com"])).await;
    for (uri, _) in endpoints() {
        let pre = |origin: &'static str| {
            let req = Request::builder()
                .method(Method::OPTIONS)
                .uri(uri)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "x-minolith-site-key, content-type",
                )
                .body(Body::empty())
                .unwrap();
            d.app.send(req)
        };
        let ok = pre(ORIGIN).await;
        assert!(
            ok.status.is_success(),
            "{uri}: preflight {}: {}",
            ok.status,
            ok.text
        );
        assert_eq!(ok.header("access-control-allow-origin"), Some(ORIGIN));
        let methods = ok
            .header("access-control-allow-methods")
            .unwrap_or_default()
            .to_ascii_uppercase();
        assert!(methods.contains("POST"), "{uri}: {methods}");
        let headers = ok
            .header("access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        for h in ["x-minolith-site-key", "content-type"] {
            assert!(headers.contains(h), "{uri}: {headers}");
        }
        let refused = pre("https://evil.example").await;
        assert_denied(&refused);
    }
    // A KB that is not public has no browser callers.
    let r = d
        .app
        .post("/v1/kb", json!({ "title": "Private", "slug": "private" }))
        .await;
    r.assert_status(201);
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri("/v1/search/private")
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    assert_denied(&d.app.send(req).await);
}

#[tokio::test]
async fn assistant_key_requests_carry_rate_limit_headers_and_are_limited() {
    fresh_window().await;
    let d = Docs::with_config(HttpConfig {
        assistant_rate_limit: 3,
        ..test_config()
    })
    .await;
    let mut remaining = Vec::new();
    for (uri, body) in endpoints().into_iter().take(3) {
        let r = d.post_as(Some(&d.key), uri, body, None).await;
        assert_eq!(r.header("x-ratelimit-limit"), Some("3"), "{uri}");
        remaining.push(r.header("x-ratelimit-remaining").unwrap().to_string());
        let reset: u64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
        assert!(reset >= unix_now() && reset <= unix_now() + 61);
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let r = d.search_raw(json!({ "query": "password" })).await;
    r.assert_error(429, "rate_limit_exceeded");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Another assistant key has its own budget.
    let other = d.app.new_key(KeyKind::Assistant).await;
    d.post_as(
        Some(&other),
        "/v1/search/acme",
        json!({ "query": "password" }),
        None,
    )
    .await
    .assert_status(200);
}

#[tokio::test]
async fn the_default_assistant_key_limit_is_1000_a_minute() {
    let d = Docs::with_config(HttpConfig::default()).await;
    let r = d.search_raw(json!({ "query": "password" })).await;
    r.assert_status(200);
    assert_eq!(r.header("x-ratelimit-limit"), Some("1000"));
}

#[tokio::test]
async fn site_key_messages_are_limited_per_client() {
    fresh_window().await;
    let mut config = test_config();
    config.assistant.client_message_limit = 2;
    let d = Docs::with_config(config).await;
    let a = Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)));
    let b = Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9)));
    let ask = |peer| {
        site_post(
            &d.app,
            "/v2/assistant/acme/message",
            &d.site_key,
            Some(ORIGIN),
            v2_body("How do I download an invoice?"),
            peer,
        )
    };
    ask(a).await.assert_status(200);
    ask(a).await.assert_status(200);
    let r = ask(a).await;
    r.assert_error(429, "rate_limit_exceeded");
    assert!(r.header("retry-after").is_some());
    // Another client is not affected; searches of the same client are not messages.
    ask(b).await.assert_status(200);
    site_post(
        &d.app,
        "/v1/search/acme",
        &d.site_key,
        Some(ORIGIN),
        json!({ "query": "invoice" }),
        a,
    )
    .await
    .assert_status(200);
    // The limited message was not charged.
    let u = d.usage().await;
    let line = u["by_action"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["action"] == "assistant_message")
        .unwrap()
        .clone();
    assert_eq!(line["count"], 3, "{u}");
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn search_validation_names_the_field() {
    let d = Docs::new().await;
    let cases = [
        (json!({}), "query"),
        (json!({ "query": "" }), "query"),
        (json!({ "query": "   " }), "query"),
        (json!({ "query": "a".repeat(501) }), "query"),
        (json!({ "query": "x", "pageSize": 0 }), "pageSize"),
        (json!({ "query": "x", "pageSize": 51 }), "pageSize"),
        (json!({ "query": "x", "pageSize": -1 }), "pageSize"),
        (
            json!({ "query": "x", "scoreThreshold": -0.1 }),
            "scoreThreshold",
        ),
        (
            json!({ "query": "x", "scoreThreshold": 1.5 }),
            "scoreThreshold",
        ),
    ];
    for (body, field) in cases {
        let r = d.search_raw(body.clone()).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), field, "{body}: {}", r.text);
    }
    // The limits themselves are fine.
    d.search(json!({ "query": "a".repeat(500), "pageSize": 50, "scoreThreshold": 1 }))
        .await;
    d.search(json!({ "query": "x", "pageSize": 1, "scoreThreshold": 0 }))
        .await;
}

/// A message request that must be refused with 422 on `field`.
#[track_caller]
fn assert_field(r: &TestResponse, field: &str, body: &Value) {
    r.assert_error(422, "validation_error");
    assert_eq!(
        r.field(),
        field,
        "{}: {}",
        &body.to_string()[..body.to_string().len().min(200)],
        r.text
    );
}

#[tokio::test]
async fn message_validation_names_the_field_and_costs_nothing() {
    let d = Docs::new().await;
    let before = d.usage().await;
    let q = user_v2("How do I reset my password?");
    let many: Vec<Value> = (0..101).map(|_| q.clone()).collect();
    let big = "a ".repeat(9 * 1024);
    let cases = vec![
        (json!({ "messages": [q] }), "fp"),
        (json!({ "fp": "anonymous" }), "messages"),
        (json!({ "fp": "anonymous", "messages": [] }), "messages"),
        (json!({ "fp": "anonymous", "messages": many }), "messages"),
        (
            json!({ "fp": "anonymous", "messages": [user_v2(&big), assistant_v2(&big), user_v2(&big)] }),
            "messages",
        ),
        (
            json!({ "fp": "anonymous", "messages": [q, assistant_v2("Open Settings.")] }),
            "messages[1].role",
        ),
        (
            json!({ "fp": "anonymous", "messages": [user_v2("  ")] }),
            "messages[0]",
        ),
        (
            json!({ "fp": "anonymous", "messages": [{ "id": "x", "role": "user", "parts": [] }] }),
            "messages[0]",
        ),
        (
            json!({ "fp": "anonymous", "messages": [q], "currentPath": "/".repeat(201) }),
            "currentPath",
        ),
        (
            json!({ "fp": "anonymous", "messages": [q], "retrievalPageSize": 0 }),
            "retrievalPageSize",
        ),
        (
            json!({ "fp": "anonymous", "messages": [q], "retrievalPageSize": 21 }),
            "retrievalPageSize",
        ),
        (
            json!({ "fp": "anonymous", "messages": [q], "context": [{ "type": "image", "value": "x" }] }),
            "context[0].type",
        ),
    ];
    for (body, field) in &cases {
        for uri in ["/v2/assistant/acme/message", "/v1/assistant/acme/message"] {
            let r = d.post_as(Some(&d.key), uri, body.clone(), None).await;
            assert_field(&r, field, body);
        }
        let r = d.ask_raw(body.clone()).await;
        assert_field(&r, field, body);
    }
    // v1 messages carry `content`: the same rules.
    let r = d
        .post_as(
            Some(&d.key),
            "/v1/assistant/acme/message",
            json!({ "fp": "anonymous", "messages": [{ "id": "m", "role": "user", "content": "" }] }),
            None,
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "messages[0]");

    // The limits themselves are fine: 100 messages, currentPath of 200, retrieval 1 and 20.
    let hundred: Vec<Value> = (0..100).map(|_| q.clone()).collect();
    for body in [
        json!({ "fp": "anonymous", "messages": hundred }),
        json!({ "fp": "anonymous", "messages": [q], "currentPath": "/".repeat(200), "retrievalPageSize": 1 }),
        json!({ "fp": "anonymous", "messages": [q], "retrievalPageSize": 20,
                "context": [{ "type": "textSelection", "value": "reset link" }, { "type": "code", "value": "x()" }] }),
    ] {
        d.ask_raw(body).await.assert_status(200);
    }
    // Only the three answered messages were charged; no refused one made a thread.
    let u = d.usage().await;
    assert_eq!(
        u["credits_used"].as_i64().unwrap(),
        before["credits_used"].as_i64().unwrap() + 3
    );
    assert_eq!(d.conversations().await.len(), 3);
}

#[tokio::test]
async fn malformed_json_is_400_and_unknown_domains_are_404() {
    let d = Docs::new().await;
    for uri in [
        "/v1/search/acme",
        "/v1/page/acme",
        "/v2/assistant/acme/message",
        "/v1/assistant/acme/message",
    ] {
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header("authorization", format!("Bearer {}", d.key))
            .header("content-type", "application/json")
            .body(Body::from("{\"fp\": \"anonymous\", \"messages\": ["))
            .unwrap();
        let r = d.app.send(req).await;
        assert_eq!(r.status.as_u16(), 400, "{uri}: {}", r.text);
        assert!(r.body["error"]["code"].is_string(), "{uri}: {}", r.text);
    }
    for (uri, body) in endpoints() {
        let unknown = uri.replace("/acme", "/nope");
        let r = d.post_as(Some(&d.key), &unknown, body, None).await;
        r.assert_error(404, "kb_not_found");
    }
    assert!(d.conversations().await.is_empty());
}

#[tokio::test]
async fn unknown_or_foreign_threads_are_404() {
    let d = Docs::new().await;
    let before = d.credits_used().await;
    let ask_in = |thread: &str| {
        let mut body = v2_body("How do I reset my password?");
        body["threadId"] = json!(thread);
        d.ask_raw(body)
    };
    ask_in("thr_000000000000")
        .await
        .assert_error(404, "thread_not_found");
    ask_in("not-a-thread")
        .await
        .assert_error(404, "thread_not_found");

    // A thread of another KB of the same project.
    let r = d
        .post_as(
            Some(&d.key),
            "/v2/assistant/acme-internal/message",
            v2_body("How do staff reset their password?"),
            Some("application/json"),
        )
        .await;
    r.assert_status(200);
    let internal = r.body["threadId"].as_str().unwrap().to_string();
    ask_in(&internal)
        .await
        .assert_error(404, "thread_not_found");

    // A thread of another project.
    let (other_project, other_admin) = d.app.new_project("Other").await;
    let k = keys::generate_api_key(KeyKind::Assistant);
    d.app
        .store
        .create_api_key(&other_project, KeyKind::Assistant, &k)
        .await
        .unwrap();
    let r = d
        .app
        .call(
            Method::POST,
            "/v1/kb",
            Some(&other_admin),
            Some(json!({ "title": "Beta", "slug": "beta" })),
        )
        .await;
    r.assert_status(201);
    let r = d
        .post_as(
            Some(&k.plaintext),
            "/v2/assistant/beta/message",
            v2_body("Anything?"),
            Some("application/json"),
        )
        .await;
    r.assert_status(200);
    let theirs = r.body["threadId"].as_str().unwrap().to_string();
    let refused = ask_in(&theirs).await;
    refused.assert_error(404, "thread_not_found");
    // Streamed requests are refused the same way, before the stream starts.
    let mut body = v2_body("How do I reset my password?");
    body["threadId"] = json!(theirs);
    let r = d
        .post_as(Some(&d.key), "/v2/assistant/acme/message", body, None)
        .await;
    r.assert_error(404, "thread_not_found");

    // Only the acme-internal message was charged to this project.
    assert_eq!(d.credits_used().await, before + 1);
    // And the analytics of a thread of another project are 404 too.
    let r = d.app.get(&d.analytics(&format!("/threads/{theirs}"))).await;
    r.assert_error(404, "thread_not_found");
}

#[tokio::test]
async fn extra_fields_of_the_ai_sdk_are_accepted() {
    let d = Docs::new().await;
    let body = json!({
        "id": "chat-123",
        "trigger": "submit-message",
        "messageId": null,
        "fp": "fp-42",
        "messages": [{
            "id": "s1", "role": "system", "parts": [{ "type": "text", "text": "Be brief." }],
        }, {
            "id": "u1", "role": "user", "createdAt": "2026-01-15T10:30:00.000Z",
            "metadata": { "any": "thing" },
            "parts": [{ "type": "step-start" }, { "type": "text", "text": "How do I download an invoice?" }],
        }],
        "filter": { "version": "v1", "language": "en", "groups": ["a"] },
        "currentPath": "/articles/x",
    });
    let r = d.ask_raw(body).await;
    r.assert_status(200);
    assert!(r.body["threadId"].as_str().unwrap().starts_with("thr_"));
    let v1 = json!({
        "id": "chat-1", "fp": "anonymous",
        "messages": [{ "id": "u1", "role": "user", "content": "How do I download an invoice?",
                       "parts": [{ "type": "text", "text": "How do I download an invoice?" }],
                       "annotations": [], "experimental_attachments": [] }],
    });
    let r = d
        .post_as(
            Some(&d.key),
            "/v1/assistant/acme/message",
            v1,
            Some("application/json"),
        )
        .await;
    r.assert_status(200);
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn json_mode_answers_with_thread_text_and_sources() {
    let d = Docs::new().await;
    let r = d
        .ask_raw(v2_body("How do I reset my password from the mobile app?"))
        .await;
    r.assert_status(200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        r.headers
    );
    let a = &r.body;
    let thread = a["threadId"].as_str().unwrap();
    assert!(thread.starts_with("thr_"), "{thread}");
    let text = a["text"].as_str().unwrap();
    // The sentence that answers, quoted, and numbered citations.
    assert!(text.contains("tap Change password"), "{text}");
    assert!(text.contains("[1]"), "{text}");
    let urls = source_urls(a);
    assert!(!urls.is_empty());
    assert!(d.is_page_of(&urls[0], &d.password), "{urls:?}");
    assert_eq!(a["sources"][0]["title"], "Reset your password");
    assert_eq!(a["resolutionStatus"], "answered");
    // Every [n] of the text is a source.
    for n in 1..=10 {
        if text.contains(&format!("[{n}]")) {
            assert!(n <= urls.len(), "[{n}] cites nothing: {text}");
        }
    }

    // Deterministic: the same question, the same answer (in a new thread).
    let again = d
        .ask("How do I reset my password from the mobile app?")
        .await;
    assert_eq!(again["text"], a["text"]);
    assert_eq!(again["sources"], a["sources"]);
    assert_ne!(again["threadId"], a["threadId"]);

    // The v1 endpoint in JSON mode answers the same.
    let r = d
        .post_as(
            Some(&d.key),
            "/v1/assistant/acme/message",
            v1_body("How do I reset my password from the mobile app?"),
            Some("application/json"),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.body["text"], a["text"]);
    assert_eq!(r.body["sources"], a["sources"]);
}

#[tokio::test]
async fn the_v2_stream_is_an_ai_sdk_ui_message_stream() {
    let d = Docs::new().await;
    let question = "How do I download an invoice?";
    let r = d
        .post_as(
            Some(&d.key),
            "/v2/assistant/acme/message",
            v2_body(question),
            None,
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.header("x-vercel-ai-ui-message-stream"), Some("v1"));
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream")),
        "{:?}",
        r.headers
    );
    let s = read_ui_stream(&r.text);
    assert_eq!(
        s.types.first().map(String::as_str),
        Some("start"),
        "{:?}",
        s.types
    );
    assert_eq!(
        s.types.last().map(String::as_str),
        Some("finish"),
        "{:?}",
        s.types
    );
    assert!(!s.types.iter().any(|t| t == "error"), "{}", r.text);
    // Text parts open and close around their deltas.
    let (start, delta, end) = (
        s.types
            .iter()
            .position(|t| t == "text-start")
            .expect("text-start"),
        s.types
            .iter()
            .position(|t| t == "text-delta")
            .expect("text-delta"),
        s.types
            .iter()
            .rposition(|t| t == "text-end")
            .expect("text-end"),
    );
    assert!(start < delta && delta < end, "{:?}", s.types);
    assert!(s.text.contains("Download"), "{}", s.text);
    assert!(s.text.contains("[1]"), "{}", s.text);
    assert!(!s.sources.is_empty(), "no source-url chunk: {}", r.text);
    let src = &s.sources[0];
    assert!(src["sourceId"].is_string());
    assert!(
        d.is_page_of(src["url"].as_str().unwrap(), &d.invoices),
        "{src}"
    );
    assert_eq!(src["title"], "Invoices and billing");
    let thread = s.thread_id.expect("the finish chunk carries the threadId");
    assert!(thread.starts_with("thr_"));

    // The streamed answer is the JSON one, recorded in its thread.
    let json_answer = d.ask(question).await;
    assert_eq!(json_answer["text"].as_str().unwrap(), s.text);
    let t = d.app.get(&d.analytics(&format!("/threads/{thread}"))).await;
    t.assert_status(200);
    assert_eq!(t.body["messages"][0]["content"], question);
    assert_eq!(t.body["messages"][1]["content"], s.text.as_str());
}

#[tokio::test]
async fn the_v1_stream_is_an_ai_sdk_data_stream() {
    let d = Docs::new().await;
    let question = "How do I download an invoice?";
    let r = d
        .post_as(
            Some(&d.key),
            "/v1/assistant/acme/message",
            v1_body(question),
            None,
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.header("x-vercel-ai-data-stream"), Some("v1"));
    assert!(r.header("x-vercel-ai-ui-message-stream").is_none());
    let parts = data_parts(&r.text);
    let codes: Vec<&str> = parts.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        codes.last(),
        Some(&"d"),
        "ends with a finish message: {codes:?}"
    );
    assert!(!codes.contains(&"3"), "an error part: {}", r.text);
    let text: String = parts
        .iter()
        .filter(|(c, _)| c == "0")
        .map(|(_, v)| v.as_str().unwrap())
        .collect();
    assert!(text.contains("Download") && text.contains("[1]"), "{text}");
    let sources: Vec<&Value> = parts
        .iter()
        .filter(|(c, _)| c == "h")
        .map(|(_, v)| v)
        .collect();
    assert!(!sources.is_empty(), "no source part: {}", r.text);
    assert!(d.is_page_of(sources[0]["url"].as_str().unwrap(), &d.invoices));
    let thread = parts
        .iter()
        .find_map(|(_, v)| find_thread_id(v))
        .expect("the stream carries the threadId");
    assert!(thread.starts_with("thr_"));
    // Same answer as the v2 endpoint gives.
    let json_answer = d.ask(question).await;
    assert_eq!(json_answer["text"].as_str().unwrap(), text);
}

#[tokio::test]
async fn answers_never_cite_drafts_archived_articles_or_another_kb() {
    let d = Docs::new().await;
    for question in [
        // The draft is the best match of this one.
        "How do I reset my password with a hardware security key?",
        "What does the quokka token do?",
        "Can I reset my password by fax?",
        "How do staff use the kangaroo portal?",
        "How do I reset my password?",
    ] {
        let a = d.ask(question).await;
        d.assert_nothing_unpublished(question, &a.to_string());
        for url in source_urls(&a) {
            assert!(url.starts_with(&d.root()), "{question}: {url}");
            assert!(
                [&d.password, &d.invoices, &d.widget]
                    .iter()
                    .any(|id| d.is_page_of(&url, id)),
                "{question}: cites {url}"
            );
        }
        let r = d
            .post_as(
                Some(&d.key),
                "/v2/assistant/acme/message",
                v2_body(question),
                None,
            )
            .await;
        r.assert_status(200);
        d.assert_nothing_unpublished(question, &r.text);
    }
    let a = d
        .ask("How do I reset my password with a hardware security key?")
        .await;
    assert!(
        source_urls(&a).iter().all(|u| d.is_page_of(u, &d.password)),
        "{a}"
    );
    // What was recorded (the questions name the words, the answers and sources must not).
    for c in d.conversations().await {
        let recorded = format!("{} {}", c["response"], c["sources"]);
        d.assert_nothing_unpublished("a recorded answer", &recorded);
    }
}

#[tokio::test]
async fn an_unanswerable_question_is_unanswered_without_sources() {
    let d = Docs::new().await;
    for question in [
        "What is the capital of France?",
        "Who won the football world cup in 1998?",
    ] {
        let a = d.ask(question).await;
        assert_eq!(a["resolutionStatus"], "unanswered", "{question}: {a}");
        assert_eq!(a["sources"], json!([]), "{question}: {a}");
        let text = a["text"].as_str().unwrap();
        assert!(!text.trim().is_empty(), "an unanswered reply still says so");
        assert!(!text.contains("[1]"), "{text}");
    }
    let conversations = d.conversations().await;
    assert_eq!(conversations.len(), 2);
    for c in &conversations {
        assert_eq!(c["resolutionStatus"], "unanswered", "{c}");
        assert_eq!(c["sources"], json!([]));
        assert_eq!(c["responseType"], "answer");
    }
    // Streamed: no source parts.
    let r = d
        .post_as(
            Some(&d.key),
            "/v2/assistant/acme/message",
            v2_body("What is the capital of France?"),
            None,
        )
        .await;
    let s = read_ui_stream(&r.text);
    assert!(s.sources.is_empty(), "{}", r.text);
    assert!(s.thread_id.is_some());
}

#[tokio::test]
async fn script_in_an_article_never_reaches_the_answer_raw() {
    let d = Docs::new().await;
    let question = "How do I install the chat widget?";
    let a = d.ask(question).await;
    let text = a["text"].as_str().unwrap();
    assert!(
        source_urls(&a).iter().any(|u| d.is_page_of(u, &d.widget)),
        "{a}"
    );
    assert!(text.contains("install the chat widget"), "{text}");
    let r = d
        .post_as(
            Some(&d.key),
            "/v2/assistant/acme/message",
            v2_body(question),
            None,
        )
        .await;
    let streamed = read_ui_stream(&r.text).text;
    let r1 = d
        .post_as(
            Some(&d.key),
            "/v1/assistant/acme/message",
            v1_body(question),
            None,
        )
        .await;
    for (what, t) in [("json", text), ("v2", &streamed), ("v1", &r1.text)] {
        for raw in ["<script", "</script", "alert(1)", "<img", "onerror"] {
            assert!(!t.contains(raw), "{what} answer carries {raw:?}: {t}");
        }
    }
}

#[tokio::test]
async fn current_path_steers_retrieval_toward_that_page() {
    let d = Docs::new().await;
    // "email" is in both articles: the page the asker is on answers first.
    for (article, slug) in [
        (&d.invoices, "invoices-and-billing"),
        (&d.password, "reset-your-password"),
    ] {
        let page = format!("/articles/{article}-{slug}");
        let mut body = v2_body("Which email do you use?");
        body["currentPath"] = json!(page);
        let r = d.ask_raw(body).await;
        r.assert_status(200);
        let urls = source_urls(&r.body);
        assert!(!urls.is_empty(), "{}", r.text);
        assert!(d.is_page_of(&urls[0], article), "from {page}: {urls:?}");
        // The page is recorded with the conversation.
        assert_eq!(d.conversations().await[0]["pageUrl"], page.as_str());
    }
}

/// Adds the pages of a follow-up test: the answer ("Install the sync client", with an
/// `## On Windows` section) and a decoy ("Printing on Windows") that a bare "and on Windows?"
/// matches better. With `heading_only`, the answer's Windows section names Windows only in its
/// heading, as step-by-step sections often do.
async fn sync_client_pages(d: &Docs, heading_only: bool) -> (String, String) {
    let cat = d.app.create_category(&d.kb, "Desktop").await;
    let windows = if heading_only {
        "Run the sync client installer and follow its steps."
    } else {
        "On Windows, run the sync client installer and follow its steps."
    };
    let target = d
        .app
        .create_article(
            &d.kb,
            &cat,
            json!({
                "title": "Install the sync client", "status": "published",
                "body": format!("## On macOS\n\nDrag the sync client to Applications and open it.\n\n\
                                 ## On Windows\n\n{windows}\n"),
            }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let decoy = d
        .app
        .create_article(
            &d.kb,
            &cat,
            json!({
                "title": "Printing on Windows", "status": "published",
                "body": "## Print on Windows\n\nOn Windows, print from the File menu. \
                         Windows printers need no setup.\n",
            }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    d.app.settle().await;
    (target, decoy)
}

/// Asks "How do I install the sync client?" then "and on Windows?" in its thread, sending the
/// whole conversation (as `useChat` does) or only the follow-up; returns the follow-up's answer.
async fn install_then_windows(d: &Docs, whole_conversation: bool) -> Value {
    let first = d.ask("How do I install the sync client?").await;
    let messages = if whole_conversation {
        json!([
            user_v2("How do I install the sync client?"),
            assistant_v2(first["text"].as_str().unwrap()),
            user_v2("and on Windows?"),
        ])
    } else {
        json!([user_v2("and on Windows?")])
    };
    let body = json!({ "fp": "anonymous", "threadId": first["threadId"], "messages": messages });
    let r = d.ask_raw(body).await;
    r.assert_status(200);
    assert_eq!(r.body["threadId"], first["threadId"]);
    r.body.clone()
}

#[tokio::test]
async fn a_follow_up_is_read_with_the_messages_before_it() {
    let d = Docs::new().await;
    let (target, decoy) = sync_client_pages(&d, false).await;
    // Alone, the follow-up is about printing.
    let alone = d.ask("and on Windows?").await;
    let urls = source_urls(&alone);
    assert!(
        urls.first().is_some_and(|u| d.is_page_of(u, &decoy)),
        "the decoy should win alone: {alone}"
    );
    // After a question about the sync client, it is about the sync client.
    let a = install_then_windows(&d, true).await;
    let urls = source_urls(&a);
    assert!(
        urls.first().is_some_and(|u| d.is_page_of(u, &target)),
        "{a}"
    );
    assert!(urls[0].ends_with("#on-windows"), "{a}");
    assert!(a["text"].as_str().unwrap().contains("installer"), "{a}");
}

#[tokio::test]
async fn a_follow_up_with_only_its_thread_id_uses_the_stored_conversation() {
    // A server-side caller (or a transport that sends only the new message) names the thread
    // and sends just the follow-up: the thread's earlier turns are the conversation.
    let d = Docs::new().await;
    let (target, _) = sync_client_pages(&d, false).await;
    let a = install_then_windows(&d, false).await;
    let urls = source_urls(&a);
    assert!(
        urls.first().is_some_and(|u| d.is_page_of(u, &target)),
        "the follow-up was read without its thread: {a}"
    );
}

#[tokio::test]
async fn a_follow_up_finds_the_section_whose_heading_it_names() {
    // "and on Windows?" after "How do I install the sync client?": the answer is the
    // `## On Windows` section of the sync client page, even though its text does not repeat
    // "Windows" — not the printing page that does.
    let d = Docs::new().await;
    let (target, _) = sync_client_pages(&d, true).await;
    let a = install_then_windows(&d, true).await;
    let urls = source_urls(&a);
    assert!(
        urls.first().is_some_and(|u| d.is_page_of(u, &target)),
        "the follow-up was answered from another page: {a}"
    );
    assert!(a["text"].as_str().unwrap().contains("installer"), "{a}");
}

#[tokio::test]
async fn unpublishing_an_article_takes_it_out_of_answers_at_once() {
    let d = Docs::new().await;
    let question = "How do I download an invoice?";
    let a = d.ask(question).await;
    assert!(source_urls(&a).iter().any(|u| d.is_page_of(u, &d.invoices)));
    d.app
        .post_empty(&format!("/v1/kb/{}/articles/{}/archive", d.kb, d.invoices))
        .await
        .assert_status(200);
    let a = d.ask(question).await;
    assert!(
        !source_urls(&a).iter().any(|u| d.is_page_of(u, &d.invoices)),
        "an archived article is still cited: {a}"
    );
    assert!(!a["text"].as_str().unwrap().contains("PDF files"), "{a}");
    // Published again, it answers again.
    d.app
        .post_empty(&format!("/v1/kb/{}/articles/{}/publish", d.kb, d.invoices))
        .await
        .assert_status(200);
    let a = d.ask(question).await;
    assert!(source_urls(&a).iter().any(|u| d.is_page_of(u, &d.invoices)));
}

#[tokio::test]
async fn accept_decides_between_the_stream_and_json() {
    let d = Docs::new().await;
    for (accept, json_mode) in [
        (None, false),
        (Some("*/*"), false),
        (Some("text/event-stream"), false),
        (Some("application/json"), true),
        (Some("application/json, text/plain, */*"), true),
    ] {
        let r = d
            .post_as(
                Some(&d.key),
                "/v2/assistant/acme/message",
                v2_body("How do I download an invoice?"),
                accept,
            )
            .await;
        r.assert_status(200);
        if json_mode {
            assert!(r.body["threadId"].is_string(), "{accept:?}: {}", r.text);
            assert!(r.header("x-vercel-ai-ui-message-stream").is_none());
        } else {
            assert_eq!(
                r.header("x-vercel-ai-ui-message-stream"),
                Some("v1"),
                "{accept:?}"
            );
            assert!(read_ui_stream(&r.text).thread_id.is_some());
        }
    }
}

#[tokio::test]
async fn wrong_types_are_422_naming_the_field() {
    let d = Docs::new().await;
    for (body, field) in [
        (json!({ "query": 5 }), "query"),
        (json!({ "query": "x", "pageSize": "ten" }), "pageSize"),
        (json!({ "query": "x", "pageSize": 2.5 }), "pageSize"),
        (
            json!({ "query": "x", "scoreThreshold": "high" }),
            "scoreThreshold",
        ),
        (
            json!({ "query": "x", "filter": { "tag": 5 } }),
            "filter.tag",
        ),
    ] {
        let r = d.search_raw(body.clone()).await;
        assert_field(&r, field, &body);
    }
    for (body, field) in [
        (json!({ "fp": 7, "messages": [user_v2("hi there")] }), "fp"),
        (json!({ "fp": "a", "messages": "hi" }), "messages"),
        (
            json!({ "fp": "a", "messages": [user_v2("hi there")], "retrievalPageSize": "5" }),
            "retrievalPageSize",
        ),
        (
            json!({ "fp": "a", "messages": [user_v2("hi there")], "currentPath": 5 }),
            "currentPath",
        ),
    ] {
        let r = d.ask_raw(body.clone()).await;
        assert_field(&r, field, &body);
    }
}

#[tokio::test]
async fn the_text_limit_is_32_kib_in_all() {
    let d = Docs::new().await;
    let question = "How do I download an invoice?";
    let filler = |n: usize| "a".repeat(n);
    let limit = 32 * 1024;
    let at = |extra: usize| {
        let history = filler(limit - question.len() + extra);
        json!({ "fp": "anonymous", "messages": [
            user_v2(&history[..history.len() / 2]),
            assistant_v2(&history[history.len() / 2..]),
            user_v2(question),
        ] })
    };
    d.ask_raw(at(0)).await.assert_status(200);
    let body = at(1);
    assert_field(&d.ask_raw(body.clone()).await, "messages", &body);
}

// ---------------------------------------------------------------------------------------------
// Credits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_answered_message_costs_one_credit() {
    let d = Docs::new().await;
    let before = d.credits_used().await;
    d.ask("How do I download an invoice?").await;
    let r = d
        .post_as(
            Some(&d.key),
            "/v2/assistant/acme/message",
            v2_body("How do I reset my password?"),
            None,
        )
        .await;
    read_ui_stream(&r.text);
    let r = d
        .post_as(
            Some(&d.key),
            "/v1/assistant/acme/message",
            v1_body("How do I reset my password?"),
            None,
        )
        .await;
    data_parts(&r.text);
    let u = d.usage().await;
    assert_eq!(u["credits_used"].as_i64().unwrap(), before + 3);
    let line = u["by_action"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["action"] == "assistant_message")
        .unwrap()
        .clone();
    assert_eq!(line["price"], 1);
    assert_eq!(line["count"], 3);
    assert_eq!(line["credits"], 3);
}

#[tokio::test]
async fn the_cap_refuses_a_message_before_any_work() {
    let d = Docs::new().await;
    d.ask("How do I download an invoice?").await;
    let used = d.credits_used().await;
    let conversations = d.conversations().await.len();
    d.set_cap(Some(used)).await;
    for (uri, body, accept) in [
        (
            "/v2/assistant/acme/message",
            v2_body("How do I reset my password?"),
            None,
        ),
        (
            "/v1/assistant/acme/message",
            v1_body("How do I reset my password?"),
            None,
        ),
        (
            "/v2/assistant/acme/message",
            v2_body("How do I reset my password?"),
            Some("application/json"),
        ),
    ] {
        let r = d.post_as(Some(&d.key), uri, body, accept).await;
        r.assert_error(402, "spending_cap_exceeded");
        assert_eq!(
            r.body["error"]["details"],
            json!({ "credit_cap": used, "credits_used": used, "credits_required": 1 }),
            "{}",
            r.text
        );
        assert!(r.header("x-vercel-ai-ui-message-stream").is_none());
    }
    // A follow-up in an existing thread is refused the same way.
    let thread = d.conversations().await[0]["threadId"].clone();
    let mut body = v2_body("and on mobile?");
    body["threadId"] = thread;
    d.ask_raw(body)
        .await
        .assert_error(402, "spending_cap_exceeded");
    assert_eq!(d.credits_used().await, used, "nothing was charged");
    assert_eq!(
        d.conversations().await.len(),
        conversations,
        "nothing was recorded"
    );
    // Raising the cap by one lets exactly one more message through.
    d.set_cap(Some(used + 1)).await;
    d.ask("How do I reset my password?").await;
    d.ask_raw(v2_body("How do I reset my password?"))
        .await
        .assert_error(402, "spending_cap_exceeded");
    assert_eq!(d.credits_used().await, used + 1);
}

// ---------------------------------------------------------------------------------------------
// Threads and analytics
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_follow_up_continues_its_thread() {
    let d = Docs::new().await;
    let first = d.ask("How do I reset my password by email?").await;
    let thread = first["threadId"].as_str().unwrap().to_string();
    assert!(
        source_urls(&first)
            .iter()
            .any(|u| d.is_page_of(u, &d.password)),
        "{first}"
    );
    let body = json!({
        "fp": "anonymous",
        "threadId": thread,
        "messages": [
            user_v2("How do I reset my password by email?"),
            assistant_v2(first["text"].as_str().unwrap()),
            user_v2("and from the mobile app?"),
        ],
    });
    let r = d.ask_raw(body.clone()).await;
    r.assert_status(200);
    let second = &r.body;
    assert_eq!(second["threadId"], thread.as_str());
    // "and from the mobile app?" is read with the question before it.
    let urls = source_urls(second);
    assert!(
        urls.iter().any(|u| d.is_page_of(u, &d.password)),
        "{second}"
    );
    assert!(
        second["text"].as_str().unwrap().contains("Change password"),
        "{second}"
    );

    // The stream of a follow-up finishes with the same thread.
    let mut streamed = body.clone();
    streamed["messages"] = json!([
        user_v2("How do I reset my password by email?"),
        assistant_v2(first["text"].as_str().unwrap()),
        user_v2("and from the mobile app?"),
        assistant_v2(second["text"].as_str().unwrap()),
        user_v2("How do I download an invoice?"),
    ]);
    let r = d
        .post_as(Some(&d.key), "/v2/assistant/acme/message", streamed, None)
        .await;
    assert_eq!(
        read_ui_stream(&r.text).thread_id.as_deref(),
        Some(thread.as_str())
    );

    // The transcript: three exchanges, in order.
    let t = d.app.get(&d.analytics(&format!("/threads/{thread}"))).await;
    t.assert_status(200);
    assert_eq!(t.body["threadId"], thread.as_str());
    assert!(is_iso_millis(&t.body["createdAt"]), "{}", t.text);
    let msgs = t.body["messages"].as_array().unwrap();
    let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        [
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
            "assistant"
        ]
    );
    assert_eq!(msgs[0]["content"], "How do I reset my password by email?");
    assert_eq!(msgs[1]["content"], first["text"]);
    assert_eq!(msgs[2]["content"], "and from the mobile app?");
    assert_eq!(msgs[3]["content"], second["text"]);
    assert_eq!(msgs[4]["content"], "How do I download an invoice?");
    let times: Vec<&str> = msgs
        .iter()
        .map(|m| m["createdAt"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    for m in msgs {
        assert!(m["id"].is_string() && is_iso_millis(&m["createdAt"]), "{m}");
    }
}

#[tokio::test]
async fn analytics_list_conversations_newest_first_with_cursor_pagination() {
    let d = Docs::new().await;
    let questions = [
        "How do I download an invoice?",
        "How do I reset my password?",
        "What is the capital of France?",
    ];
    for q in questions {
        d.ask(q).await;
    }
    let all = d.conversations().await;
    let queries: Vec<&str> = all.iter().map(|c| c["query"].as_str().unwrap()).collect();
    assert_eq!(
        queries,
        questions.iter().rev().copied().collect::<Vec<_>>(),
        "newest first"
    );
    for c in &all {
        for k in [
            "id",
            "timestamp",
            "query",
            "response",
            "responseType",
            "sources",
            "resolutionStatus",
            "queryCategory",
            "pageUrl",
        ] {
            assert!(c.get(k).is_some(), "conversation lacks {k}: {c}");
        }
        assert!(is_iso_millis(&c["timestamp"]), "{c}");
        assert!(c["response"].as_str().is_some_and(|r| !r.is_empty()), "{c}");
        for s in c["sources"].as_array().unwrap() {
            assert!(s["title"].is_string() && s["url"].is_string(), "{s}");
        }
    }
    assert_eq!(all[2]["resolutionStatus"], "answered");
    assert!(d.is_page_of(all[2]["sources"][0]["url"].as_str().unwrap(), &d.invoices));
    assert_eq!(all[0]["resolutionStatus"], "unanswered");

    // Pages of two.
    let r = d.app.get(&d.analytics("?limit=2")).await;
    r.assert_status(200);
    assert_eq!(r.body["conversations"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["hasMore"], true);
    let cursor = r.body["nextCursor"].as_str().unwrap().to_string();
    // A conversation recorded while paging does not shift the next page.
    d.ask("How do I install the chat widget?").await;
    let r2 = d
        .app
        .get(&d.analytics(&format!("?limit=2&cursor={cursor}")))
        .await;
    r2.assert_status(200);
    let rest = r2.body["conversations"].as_array().unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["id"], all[2]["id"]);
    assert_eq!(r2.body["hasMore"], false);
    assert_eq!(r2.body["nextCursor"], Value::Null);
    let first_ids: Vec<&Value> = r.body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(first_ids, [&all[0]["id"], &all[1]["id"]]);

    // A bad cursor is refused.
    let r = d.app.get(&d.analytics("?cursor=garbage")).await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    // A cursor of another list (other dates) is refused too.
    let r = d
        .app
        .get(&d.analytics(&format!("?limit=2&dateFrom=2000-01-01&cursor={cursor}")))
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    for q in ["?limit=0", "?limit=101", "?limit=ten"] {
        let r = d.app.get(&d.analytics(q)).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "limit", "{q}");
    }
}

#[tokio::test]
async fn analytics_date_range_and_project_checks() {
    let d = Docs::new().await;
    d.ask("How do I download an invoice?").await;
    let day = d.conversations().await[0]["timestamp"].as_str().unwrap()[..10].to_string();

    let list = |q: String| {
        let app = &d.app;
        let uri = d.analytics(&q);
        async move { app.get(&uri).await }
    };
    let r = list(format!("?dateFrom={day}&dateTo={day}")).await;
    r.assert_status(200);
    assert_eq!(r.body["conversations"].as_array().unwrap().len(), 1);
    let r = list("?dateTo=2000-01-01".into()).await;
    r.assert_status(200);
    assert_eq!(r.body["conversations"], json!([]));
    assert_eq!(r.body["hasMore"], false);
    let r = list("?dateFrom=2999-01-01".into()).await;
    assert_eq!(r.body["conversations"], json!([]));
    // A window whose end is before its start holds nothing: an empty page, not an error.
    let r = list(format!("?dateFrom={day}&dateTo=2000-01-01")).await;
    r.assert_status(200);
    assert_eq!(r.body["conversations"], json!([]));
    assert_eq!(r.body["hasMore"], false);

    for (q, field) in [
        ("?dateFrom=yesterday", "dateFrom"),
        ("?dateFrom=2026-13-01", "dateFrom"),
        ("?dateTo=2026-01-32", "dateTo"),
        ("?dateTo=2026-1-5", "dateTo"),
    ] {
        let r = list(q.into()).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), field, "{q}: {}", r.text);
    }

    // Another project's ID: 400, for the list and for a thread.
    let (other_project, other_admin) = d.app.new_project("Other").await;
    let thread = d.conversations().await[0]["threadId"]
        .as_str()
        .map(str::to_string);
    for uri in [
        format!("/v1/analytics/{other_project}/assistant"),
        format!("/v1/analytics/{other_project}/assistant/threads/thr_000000000000"),
    ] {
        let r = d.app.get(&uri).await;
        assert_eq!(r.status.as_u16(), 400, "{uri}: {}", r.text);
        assert!(r.body["error"]["code"].is_string());
    }
    // The other project sees none of ours, even with our thread's ID.
    let r = d
        .app
        .call(
            Method::GET,
            &format!("/v1/analytics/{other_project}/assistant"),
            Some(&other_admin),
            None,
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.body["conversations"], json!([]));
    if let Some(thread) = thread {
        let r = d
            .app
            .call(
                Method::GET,
                &format!("/v1/analytics/{other_project}/assistant/threads/{thread}"),
                Some(&other_admin),
                None,
            )
            .await;
        r.assert_error(404, "thread_not_found");
    }
    // Analytics take the admin key, not the assistant key.
    let r = d
        .app
        .call(Method::GET, &d.analytics(""), Some(&d.key), None)
        .await;
    r.assert_error(403, "forbidden");
    let r = d.app.get(&d.analytics("/threads/thr_000000000000")).await;
    r.assert_error(404, "thread_not_found");
}

// ---------------------------------------------------------------------------------------------
// Over a socket: the stream is chunked and complete on both server paths
// ---------------------------------------------------------------------------------------------

/// A `tome serve`-like server on a loopback socket (two HTTP threads).
struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    done: tokio::task::JoinHandle<()>,
}

impl Server {
    fn start(app: &TestApp, fast_path: bool) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopping) = watch::channel(false);
        let options = ServeOptions {
            fast_path,
            ..ServeOptions::default()
        };
        let mut threads = spawn_threads(listener, app.service(), options, 2, stopping).unwrap();
        let done = tokio::spawn(async move {
            threads.stopped().await;
            threads.join().await;
        });
        Server { addr, stop, done }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.done)
            .await
            .expect("the server stops")
            .unwrap();
    }
}

/// A response read off the wire: status, headers (lower-cased names), the chunk sizes and the
/// de-chunked body.
struct WireReply {
    status: u16,
    headers: Vec<(String, String)>,
    chunks: Vec<usize>,
    body: Vec<u8>,
}

impl WireReply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    buf.reserve(64 * 1024);
    tokio::time::timeout(Duration::from_secs(10), stream.read_buf(buf))
        .await
        .expect("the server answers within 10 s")
        .unwrap_or(0)
        > 0
}

/// Sends `POST path` with `body` as `key` and reads one chunked (or sized) response.
async fn wire_post(addr: SocketAddr, path: &str, key: &str, body: &Value) -> WireReply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = body.to_string();
    let raw = format!(
        "POST {path} HTTP/1.1\r\nHost: tome.test\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let (status, headers) = loop {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut slots);
        match resp.parse(&buf).expect("a well-formed response") {
            httparse::Status::Complete(n) => {
                let headers: Vec<(String, String)> = resp
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).to_string(),
                        )
                    })
                    .collect();
                let status = resp.code.unwrap();
                buf.drain(..n);
                break (status, headers);
            }
            httparse::Status::Partial => {
                assert!(fill(&mut stream, &mut buf).await, "closed mid-head");
            }
        }
    };
    let mut reply = WireReply {
        status,
        headers,
        chunks: Vec::new(),
        body: Vec::new(),
    };
    if let Some(n) = reply.header("content-length") {
        let n: usize = n.parse().unwrap();
        while buf.len() < n {
            assert!(fill(&mut stream, &mut buf).await, "closed mid-body");
        }
        reply.body = buf.drain(..n).collect();
        return reply;
    }
    assert!(
        reply
            .header("transfer-encoding")
            .is_some_and(|t| t.contains("chunked")),
        "neither sized nor chunked: {:?}",
        reply.headers
    );
    loop {
        let line_end = loop {
            if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                break i;
            }
            assert!(fill(&mut stream, &mut buf).await, "closed mid-chunk");
        };
        let size = usize::from_str_radix(std::str::from_utf8(&buf[..line_end]).unwrap().trim(), 16)
            .unwrap();
        while buf.len() < line_end + 2 + size + 2 {
            assert!(fill(&mut stream, &mut buf).await, "closed mid-chunk");
        }
        reply
            .body
            .extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
        assert_eq!(&buf[line_end + 2 + size..line_end + 4 + size], b"\r\n");
        buf.drain(..line_end + 4 + size);
        if size == 0 {
            break;
        }
        reply.chunks.push(size);
    }
    reply
}

async fn streams_over_a_socket(fast_path: bool) {
    let d = Docs::new().await;
    let server = Server::start(&d.app, fast_path);
    let question = "How do I download an invoice?";
    let r = wire_post(
        server.addr,
        "/v2/assistant/acme/message",
        &d.key,
        &v2_body(question),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("x-vercel-ai-ui-message-stream"), Some("v1"));
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"))
    );
    assert_eq!(r.header("content-length"), None);
    assert!(
        r.header("transfer-encoding")
            .is_some_and(|t| t.contains("chunked")),
        "{:?}",
        r.headers
    );
    assert!(!r.chunks.is_empty());
    let text = String::from_utf8(r.body).unwrap();
    let s = read_ui_stream(&text);
    assert!(s.text.contains("Download"), "{text}");
    assert!(!s.sources.is_empty(), "{text}");
    assert!(s.thread_id.is_some_and(|t| t.starts_with("thr_")), "{text}");

    // The v1 data stream, too.
    let r = wire_post(
        server.addr,
        "/v1/assistant/acme/message",
        &d.key,
        &v1_body(question),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-vercel-ai-data-stream"), Some("v1"));
    let parts = data_parts(&String::from_utf8(r.body).unwrap());
    assert_eq!(parts.last().map(|(c, _)| c.as_str()), Some("d"));

    // A refusal before the stream is an ordinary sized JSON error.
    let r = wire_post(
        server.addr,
        "/v2/assistant/acme/message",
        &d.key,
        &json!({ "fp": "anonymous" }),
    )
    .await;
    assert_eq!(r.status, 422);
    server.stop().await;
}

#[tokio::test]
async fn the_stream_is_chunked_and_complete_on_the_fast_path() {
    streams_over_a_socket(true).await;
}

#[tokio::test]
async fn the_stream_is_chunked_and_complete_through_hyper() {
    streams_over_a_socket(false).await;
}
