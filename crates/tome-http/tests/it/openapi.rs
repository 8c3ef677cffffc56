//! The OpenAPI 3.1 document at `/v1/openapi.json`: it is served, lists every management, public
//! and docs-platform route, every documented operation really routes, its references resolve, and
//! the responses the server actually sends match the schemas (and content types) it documents.

use axum::http::Method;
use serde_json::{Map, Value, json};
use tome_core::keys::KeyKind;

use crate::support::{TestApp, TestResponse};

/// Every management route of the spec (and Tome's `/v1/project`, `/v1/usage`), as documented.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/kb"),
    ("post", "/v1/kb"),
    ("get", "/v1/kb/{kb_id}"),
    ("put", "/v1/kb/{kb_id}"),
    ("delete", "/v1/kb/{kb_id}"),
    ("get", "/v1/kb/{kb_id}/site-key"),
    ("put", "/v1/kb/{kb_id}/site-key"),
    ("post", "/v1/kb/{kb_id}/site-key/revoke"),
    ("get", "/v1/kb/{kb_id}/categories"),
    ("post", "/v1/kb/{kb_id}/categories"),
    ("get", "/v1/kb/{kb_id}/categories/{id}"),
    ("put", "/v1/kb/{kb_id}/categories/{id}"),
    ("delete", "/v1/kb/{kb_id}/categories/{id}"),
    ("get", "/v1/kb/{kb_id}/sections"),
    ("post", "/v1/kb/{kb_id}/sections"),
    ("get", "/v1/kb/{kb_id}/sections/{id}"),
    ("put", "/v1/kb/{kb_id}/sections/{id}"),
    ("delete", "/v1/kb/{kb_id}/sections/{id}"),
    ("get", "/v1/kb/{kb_id}/articles"),
    ("post", "/v1/kb/{kb_id}/articles"),
    ("post", "/v1/kb/{kb_id}/articles/bulk"),
    ("put", "/v1/kb/{kb_id}/articles/bulk"),
    ("get", "/v1/kb/{kb_id}/articles/{id}"),
    ("put", "/v1/kb/{kb_id}/articles/{id}"),
    ("delete", "/v1/kb/{kb_id}/articles/{id}"),
    ("post", "/v1/kb/{kb_id}/articles/{id}/publish"),
    ("post", "/v1/kb/{kb_id}/articles/{id}/archive"),
    ("get", "/v1/kb/{kb_id}/faqs"),
    ("post", "/v1/kb/{kb_id}/faqs"),
    ("get", "/v1/kb/{kb_id}/faqs/{id}"),
    ("put", "/v1/kb/{kb_id}/faqs/{id}"),
    ("delete", "/v1/kb/{kb_id}/faqs/{id}"),
    ("post", "/v1/kb/{kb_id}/faqs/{id}/publish"),
    ("get", "/v1/kb/{kb_id}/search"),
    ("get", "/v1/project"),
    ("put", "/v1/project"),
    ("get", "/v1/usage"),
    ("get", "/v1/kb/{kb_id}/source"),
    ("put", "/v1/kb/{kb_id}/source"),
    ("delete", "/v1/kb/{kb_id}/source"),
    ("post", "/v1/project/update/{projectId}"),
    ("get", "/v1/project/update-status/{statusId}"),
    ("get", "/v1/project/updates"),
    ("get", "/v1/analytics/{projectId}/assistant"),
    (
        "get",
        "/v1/analytics/{projectId}/assistant/threads/{threadId}",
    ),
];

/// Signed by the caller's git host, not keyed.
const HOOK_ROUTES: &[(&str, &str)] = &[("post", "/v1/hooks/git/{kb_id}")];

fn is_hook(path: &str) -> bool {
    path.starts_with("/v1/hooks/")
}

/// The public site-key API.
const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/kb/public/{slug}/structure"),
    ("get", "/v1/kb/public/{slug}/categories"),
    ("get", "/v1/kb/public/{slug}/categories/{id}"),
    ("get", "/v1/kb/public/{slug}/articles/{id}"),
    ("get", "/v1/kb/public/{slug}/faqs/{category_id}"),
    ("get", "/v1/kb/public/{slug}/search"),
];

fn is_public(path: &str) -> bool {
    path.starts_with("/v1/kb/public/")
}

/// Documentation search and the assistant: an assistant key, or a site key from a browser.
const DOCS_ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/search/{domain}"),
    ("post", "/v1/page/{domain}"),
    ("post", "/v2/assistant/{domain}/message"),
    ("post", "/v1/assistant/{domain}/message"),
];

fn is_docs(path: &str) -> bool {
    DOCS_ROUTES.iter().any(|(_, p)| *p == path)
}

fn is_message(path: &str) -> bool {
    path.ends_with("/message")
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(app: &TestApp) -> Value {
    let r = app.call(Method::GET, "/v1/openapi.json", None, None).await;
    r.assert_status(200);
    assert!(r.body.is_object(), "not JSON: {}", r.text);
    r.body.clone()
}

/// `(method, path template, operation)` for every bearer-key operation in the document (the
/// docs-platform ones take a site key too).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    all_operations(doc)
        .into_iter()
        .filter(|(_, p, _)| !is_public(p) && !is_hook(p))
        .collect()
}

/// `(method, path template, operation)` for every operation in the document.
fn all_operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
    }
    out
}

fn method_of(m: &str) -> Method {
    Method::from_bytes(m.to_ascii_uppercase().as_bytes()).unwrap()
}

#[tokio::test]
async fn document_is_served_without_auth_as_openapi_3_1() {
    let app = TestApp::new().await;
    let r = app.call(Method::GET, "/v1/openapi.json", None, None).await;
    r.assert_status(200);
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content-type {ct:?}");
    let doc = &r.body;
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.1"),
        "openapi = {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string());
    assert!(doc["info"]["version"].is_string());
    assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
    // The same document with a key, behind a trailing slash, and with a bogus key.
    assert_eq!(app.get("/v1/openapi.json").await.body, *doc);
    assert_eq!(
        app.call(Method::GET, "/v1/openapi.json/", None, None)
            .await
            .body,
        *doc
    );
    let r = app
        .call(
            Method::GET,
            "/v1/openapi.json",
            Some("tome_not_a_real_key"),
            None,
        )
        .await;
    r.assert_status(200);
    // It is read-only.
    let r = app
        .call(Method::POST, "/v1/openapi.json", None, Some(json!({})))
        .await;
    r.assert_error(405, "method_not_allowed");
}

#[tokio::test]
async fn every_management_route_is_documented() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let mut missing = Vec::new();
    for (method, path) in ROUTES
        .iter()
        .chain(PUBLIC_ROUTES)
        .chain(HOOK_ROUTES)
        .chain(DOCS_ROUTES)
    {
        if !doc["paths"][path][method].is_object() {
            missing.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "not in the OpenAPI document: {missing:#?}"
    );

    let mut ids = Vec::new();
    for (method, path, op) in all_operations(&doc) {
        let what = format!("{} {path}", method.to_uppercase());
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no operationId"));
        assert!(
            !ids.contains(&id.to_string()),
            "{what}: duplicate operationId {id}"
        );
        ids.push(id.to_string());
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{what}: no responses"));
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{what}: no 2xx response"
        );
        // Every error response is the error envelope (a 304 has no body).
        for (status, resp) in responses {
            if status == "304" {
                assert!(is_public(&path), "{what}: 304 outside the public API");
                assert!(resp.get("content").is_none(), "{what}: a 304 with a body");
            } else if !status.starts_with('2') {
                assert_eq!(
                    resp["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{what}: {status} is not documented as the error envelope"
                );
            }
        }
        // Writes that take a JSON body document it; actions without a body do not.
        let action = ["/publish", "/archive", "/revoke"]
            .iter()
            .any(|a| path.ends_with(a))
            || path.starts_with("/v1/project/update/");
        if method == "put" || (method == "post" && !action) {
            assert!(
                op["requestBody"]["content"]["application/json"]["schema"].is_object(),
                "{what}: no JSON requestBody"
            );
        } else {
            assert!(
                op.get("requestBody").is_none(),
                "{what}: documents a body it does not take"
            );
        }
    }
    // Nothing but the routes above.
    assert_eq!(
        ids.len(),
        ROUTES.len() + PUBLIC_ROUTES.len() + HOOK_ROUTES.len() + DOCS_ROUTES.len(),
        "unexpected operations: {ids:?}"
    );
}

#[tokio::test]
async fn path_parameters_match_the_templates() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    for (method, path, op) in all_operations(&doc) {
        let what = format!("{} {path}", method.to_uppercase());
        assert!(!path.contains(':'), "{what}: express-style parameter");
        let in_template: Vec<&str> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let declared: Vec<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(declared, in_template, "{what}: path parameters");
        for p in params.iter().filter(|p| p["in"] == "path") {
            assert_eq!(
                p["required"], true,
                "{what}: path parameter {} not required",
                p["name"]
            );
        }
        for p in &params {
            assert!(
                matches!(p["in"].as_str(), Some("path" | "query" | "header")),
                "{what}: parameter {p}"
            );
            assert!(
                p["schema"].is_object(),
                "{what}: parameter without a schema: {p}"
            );
        }
    }
}

#[tokio::test]
async fn every_ref_resolves_to_a_component_schema() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 20, "suspiciously few $refs: {refs:?}");
    for r in &refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("$ref {r} does not point into components.schemas"));
        assert!(schemas.contains_key(name), "$ref {r} does not resolve");
    }
    // The request and error schemas of the API are all there.
    for name in [
        "ErrorBody",
        "KbCreate",
        "KbUpdate",
        "CategoryCreate",
        "CategoryUpdate",
        "SectionCreate",
        "SectionUpdate",
        "ArticleCreate",
        "ArticleUpdate",
        "BulkArticlesCreate",
        "BulkArticlesUpdate",
        "FaqCreate",
        "FaqUpdate",
        "SiteKeyUpdate",
        "ProjectUpdate",
    ] {
        assert!(schemas.contains_key(name), "no schema {name}");
        assert!(
            refs.iter().any(|r| r.ends_with(&format!("/{name}"))),
            "schema {name} is never used"
        );
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    out.push(x.as_str().expect("$ref is a string").to_string());
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn a_bearer_security_scheme_protects_the_api() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("securitySchemes");
    let bearer: Vec<&String> = schemes
        .iter()
        .filter(|(_, s)| {
            s["type"] == "http"
                && s["scheme"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case("bearer"))
        })
        .map(|(name, _)| name)
        .collect();
    assert!(!bearer.is_empty(), "no HTTP bearer scheme in {schemes:?}");
    let site_key = site_key_scheme(&doc);
    // Every operation is covered by a security requirement that names a defined bearer scheme;
    // the docs-platform ones by two alternatives: the bearer scheme (an assistant key) or the
    // site key.
    let global = doc["security"].as_array().cloned().unwrap_or_default();
    for (method, path, op) in operations(&doc) {
        let reqs = op["security"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| global.clone());
        assert!(!reqs.is_empty(), "{method} {path}: no security requirement");
        for req in &reqs {
            for name in req.as_object().expect("requirement").keys() {
                assert!(
                    schemes.contains_key(name),
                    "{method} {path}: unknown scheme {name}"
                );
            }
        }
        if is_docs(&path) {
            let alternatives: Vec<Vec<&String>> = reqs
                .iter()
                .map(|r| r.as_object().unwrap().keys().collect())
                .collect();
            assert!(
                alternatives.len() == 2 && alternatives.iter().all(|a| a.len() == 1),
                "{method} {path}: not two single-scheme alternatives: {reqs:?}"
            );
            assert!(
                alternatives.iter().any(|a| bearer.contains(&a[0])),
                "{method} {path}: no bearer alternative: {reqs:?}"
            );
            assert!(
                alternatives.iter().any(|a| *a[0] == site_key),
                "{method} {path}: no site-key alternative: {reqs:?}"
            );
        } else {
            assert!(
                reqs.iter()
                    .all(|r| r.as_object().unwrap().keys().any(|k| bearer.contains(&k))),
                "{method} {path}: not protected by the bearer scheme"
            );
        }
        // And the server agrees: no key, no access.
        let url = fill(&path, &op, &Ids::fake());
        let r = app.call(method_of(&method), &url, None, None).await;
        r.assert_error(401, "unauthorized");
    }
}

/// The name of the site-key scheme (`X-Minolith-Site-Key`, a header API key).
fn site_key_scheme(doc: &Value) -> String {
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let (name, _) = schemes
        .iter()
        .find(|(_, s)| {
            s["type"] == "apiKey" && s["in"] == "header" && s["name"] == "X-Minolith-Site-Key"
        })
        .expect("a site-key header scheme");
    name.clone()
}

#[tokio::test]
async fn the_push_webhook_is_signed_not_keyed() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    for (method, path) in HOOK_ROUTES {
        let op = &doc["paths"][path][method];
        assert_eq!(
            op["security"],
            json!([{}]),
            "{path}: documented as needing no key"
        );
        for code in ["202", "200", "401", "429"] {
            assert!(
                op["responses"][code].is_object(),
                "{path}: {code} documented"
            );
        }
        let url = fill(path, op, &Ids::fake());
        let r = app
            .call(
                method_of(method),
                &url,
                None,
                Some(json!({"ref": "refs/heads/main"})),
            )
            .await;
        r.assert_error(401, "unauthorized");
    }
}

// ---------------------------------------------------------------- documented == routed

/// IDs to put into path templates.
struct Ids {
    project: String,
    /// An update's `statusId` (set once one is queued).
    update: String,
    kb: String,
    slug: String,
    category: String,
    section: String,
    article: String,
    faq: String,
    /// An assistant thread (`thr_…`) of the knowledge base `slug`.
    thread: String,
    /// A published article of the knowledge base `slug` that the docs-platform operations find.
    page: String,
}

impl Ids {
    fn fake() -> Self {
        Ids {
            project: "prj_000000000000".into(),
            update: "upd_000000000000".into(),
            kb: "kb_000000000000".into(),
            slug: "no-such-kb".into(),
            category: "kbc_000000000000".into(),
            section: "kbs_000000000000".into(),
            article: "kba_000000000000".into(),
            faq: "kbf_000000000000".into(),
            thread: "thr_000000000000".into(),
            page: "kba_000000000000".into(),
        }
    }
}

/// The template with its parameters filled in, plus every required query parameter.
fn fill(template: &str, op: &Value, ids: &Ids) -> String {
    let segs: Vec<&str> = template.split('/').collect();
    let mut out = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        let value = match *seg {
            "{kb_id}" => ids.kb.as_str(),
            "{projectId}" => ids.project.as_str(),
            "{statusId}" => ids.update.as_str(),
            "{slug}" | "{domain}" => ids.slug.as_str(),
            "{threadId}" => ids.thread.as_str(),
            "{category_id}" => ids.category.as_str(),
            s if s.starts_with('{') => match segs[i - 1] {
                "categories" => ids.category.as_str(),
                "sections" => ids.section.as_str(),
                "articles" => ids.article.as_str(),
                "faqs" => ids.faq.as_str(),
                other => panic!("{template}: no ID for a parameter after {other}"),
            },
            s => s,
        };
        out.push(value);
    }
    let mut url = out.join("/");
    let required: Vec<String> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query" && p["required"] == true)
        .map(|p| format!("{}=article", p["name"].as_str().unwrap()))
        .collect();
    if !required.is_empty() {
        url = format!("{url}?{}", required.join("&"));
    }
    url
}

/// A valid request body for each documented write, by `(method, template)`.
fn valid_body(method: &str, template: &str, ids: &Ids) -> Value {
    let t = template.trim_start_matches("/v1/kb/{kb_id}");
    match (method, t) {
        ("post", "/v1/kb") => json!({
            "title": "Documented", "slug": "documented", "description": "d", "is_public": true, "theme": "docs",
            "theme_settings": { "primary_color": "#fff", "dark_mode": true, "custom_css": "a{}" },
            "logo_path": "/logo.png",
        }),
        ("put", "") => json!({ "title": "Renamed", "theme_settings": { "dark_mode": false } }),
        ("put", "/site-key") => json!({ "rate_limit": 200 }),
        ("post", "/categories") => {
            json!({ "name": "C", "description": "d", "icon": "book", "sort_order": 1 })
        }
        ("put", "/categories/{id}") => json!({ "description": "d2" }),
        ("post", "/sections") => {
            json!({ "category_id": ids.category, "name": "S", "sort_order": 2 })
        }
        ("put", "/sections/{id}") => json!({ "name": "S2" }),
        ("post", "/articles") => json!({
            "category_id": ids.category, "section_id": ids.section, "title": "A", "body": "# A article",
            "excerpt": "e", "status": "published", "tags": ["t"], "related_articles": [ids.article],
        }),
        ("post", "/articles/bulk") => {
            json!({ "articles": [{ "category_id": ids.category, "title": "Bulk article" }] })
        }
        ("put", "/articles/bulk") => {
            json!({ "articles": [{ "id": ids.article, "title": "Bulk renamed article" }] })
        }
        ("put", "/articles/{id}") => json!({ "excerpt": "e2" }),
        ("post", "/faqs") => {
            json!({ "category_id": ids.category, "question": "Q?", "answer": "An article answer." })
        }
        ("put", "/faqs/{id}") => json!({ "answer": "A2 article" }),
        ("put", "/v1/project") => json!({ "name": "Project", "allowed_domains": ["example.com"] }),
        ("put", "/source") => json!({
            "type": "git", "url": "https://git.example.com/acme/docs.git", "branch": "main",
            "path": "docs", "format": "auto", "token": "t0ken", "webhook_secret": "s3cret-s3cret",
            "poll_interval_minutes": 60,
        }),
        ("post", "/v1/search/{domain}") => json!({
            "query": "lantern wick", "pageSize": 5, "scoreThreshold": 0,
            "filter": { "tag": "lighting", "version": "v1", "language": "en", "groups": ["staff"] },
        }),
        ("post", "/v1/page/{domain}") => {
            json!({ "path": format!("/articles/{}", ids.page), "groups": ["staff"] })
        }
        ("post", "/v2/assistant/{domain}/message") => json!({
            "fp": "anonymous", "threadId": ids.thread, "retrievalPageSize": 5,
            "currentPath": format!("/articles/{}", ids.page),
            "context": [{ "type": "textSelection", "value": "the lantern" }],
            "messages": [{ "id": "m1", "role": "user", "parts": [{ "type": "text", "text": "How do I trim the wick of the lantern?" }] }],
        }),
        ("post", "/v1/assistant/{domain}/message") => json!({
            "fp": "anonymous", "filter": { "tag": "lighting" },
            "messages": [{ "id": "m1", "role": "user", "content": "How do I trim the wick of the lantern?" }],
        }),
        _ => json!({}),
    }
}

/// Sends a documented operation's request as `key` (with its body, if it takes one), accepting
/// `accept`.
async fn send(
    app: &TestApp,
    key: &str,
    accept: Option<&str>,
    method: &str,
    url: &str,
    op: &Value,
    body: Value,
) -> TestResponse {
    let mut req = axum::http::Request::builder()
        .method(method_of(method))
        .uri(url)
        .header("authorization", format!("Bearer {key}"));
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    let req = if op["requestBody"].is_object() {
        req.header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
    } else {
        req.body(axum::body::Body::empty())
    };
    app.send(req.unwrap()).await
}

/// The key an operation takes: the admin key, or for the docs-platform operations `assistant`.
fn key_for<'k>(app: &'k TestApp, assistant: &'k str, path: &str) -> &'k str {
    if is_docs(path) { assistant } else { &app.key }
}

/// Content writes first; then the source is set, read and used (a sourced KB refuses content
/// writes), the update status read after the trigger, the source removed; then deletes: FAQs,
/// articles, sections, categories, the knowledge base (a cascade must not remove what a later
/// delete names).
fn in_safe_order(mut ops: Vec<(String, String, Value)>) -> Vec<(String, String, Value)> {
    let rank = |m: &str, p: &str| -> usize {
        let sources = [
            ("put", "/source"),
            ("get", "/source"),
            ("post", "/v1/project/update/"),
            ("get", "/v1/project/update-status/"),
            ("get", "/v1/project/updates"),
            ("delete", "/source"),
        ];
        if let Some(i) = sources
            .iter()
            .position(|(sm, sp)| m == *sm && p.contains(sp))
        {
            return 1 + i;
        }
        if m != "delete" {
            return 0;
        }
        let kinds = ["/faqs/", "/articles/", "/sections/", "/categories/"];
        1 + sources.len()
            + kinds
                .iter()
                .position(|k| p.contains(k))
                .unwrap_or(kinds.len())
    };
    ops.sort_by_key(|(m, p, _)| rank(m, p));
    ops
}

#[tokio::test]
async fn every_documented_operation_routes_with_fake_ids() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let ids = Ids::fake();
    let assistant = app.new_key(KeyKind::Assistant).await;
    let mut problems = Vec::new();
    for (method, path, op) in in_safe_order(operations(&doc)) {
        let url = fill(&path, &op, &ids);
        let key = key_for(&app, &assistant, &path);
        let r = send(&app, key, None, &method, &url, &op, json!({})).await;
        let what = format!("{} {url}", method.to_uppercase());
        assert!(r.status.as_u16() < 500, "{what}: {}", r.text);
        if (r.status == 404 && r.code() == "not_found") || r.status == 405 {
            problems.push(format!(
                "{what}: documented but not routed ({} {})",
                r.status, r.text
            ));
        }
        check_documented_response(&doc, &op, &what, &r, &mut problems);
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn every_documented_operation_succeeds_with_real_ids_as_documented() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let kb = app.create_kb("openapi").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let category = app.create_category(&kb, "Category").await;
    let section = app.create_section(&kb, &category, "Section").await;
    let article = app
        .create_article(
            &kb,
            &category,
            json!({ "section_id": section, "tags": ["t"] }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let faq = app.create_faq(&kb, &category, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let assistant = app.new_key(KeyKind::Assistant).await;
    let (page, thread) = docs_content(&app, &assistant, &kb, &category, "openapi").await;
    let mut ids = Ids {
        project: app.project_id.clone(),
        update: String::new(),
        kb,
        slug: "openapi".into(),
        category,
        section,
        article,
        faq,
        thread,
        page,
    };

    let mut problems = Vec::new();
    for (method, path, op) in in_safe_order(operations(&doc)) {
        let url = fill(&path, &op, &ids);
        let key = key_for(&app, &assistant, &path);
        let body = valid_body(&method, &path, &ids);
        let r = send(&app, key, None, &method, &url, &op, body.clone()).await;
        let what = format!("{} {url}", method.to_uppercase());
        if !r.status.is_success() {
            problems.push(format!("{what}: {} {}", r.status, r.text));
            continue;
        }
        if let Some(id) = r.body["statusId"].as_str() {
            ids.update = id.to_string();
        }
        check_documented_response(&doc, &op, &what, &r, &mut problems);
        check_not_empty(&path, &what, &r, &mut problems);
        if is_message(&path) {
            // The same question as one JSON object.
            let accept = Some("application/json");
            let r = send(&app, key, accept, &method, &url, &op, body).await;
            let what = format!("{what} (Accept: application/json)");
            if r.status != 200 {
                problems.push(format!("{what}: {} {}", r.status, r.text));
                continue;
            }
            check_documented_response(&doc, &op, &what, &r, &mut problems);
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A published article that documentation search finds for "lantern wick" (tag `lighting`, two
/// headings), indexed, and an assistant thread about it in the knowledge base `slug`, started
/// with `assistant`: the article's ID and the thread's.
async fn docs_content(
    app: &TestApp,
    assistant: &str,
    kb: &str,
    category: &str,
    slug: &str,
) -> (String, String) {
    let body = "Keep the lantern lit through the night.\n\n\
## Trim the wick\n\nTrim the lantern wick flat with scissors before you light it.\n\n\
## Refill the oil\n\nRefill the lantern with lamp oil when the wick runs dry.\n";
    let page = app
        .create_article(
            kb,
            category,
            json!({ "title": "Light the lantern", "body": body, "tags": ["lighting"], "status": "published" }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.settle().await;
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/v2/assistant/{slug}/message"))
        .header("authorization", format!("Bearer {assistant}"))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(axum::body::Body::from(
            json!({ "fp": "anonymous", "messages": [{ "id": "q", "role": "user", "parts": [{ "type": "text", "text": "How do I refill the lantern?" }] }] })
                .to_string(),
        ))
        .unwrap();
    let r = app.send(req).await;
    r.assert_status(200);
    let thread = r.body["threadId"].as_str().expect("threadId").to_string();
    (page, thread)
}

/// The docs-platform and analytics answers that the checks above would pass vacuously when empty
/// (no hit, no conversation, no message) are not empty.
fn check_not_empty(path: &str, what: &str, r: &TestResponse, problems: &mut Vec<String>) {
    let items = match path {
        "/v1/search/{domain}" => &r.body,
        "/v1/analytics/{projectId}/assistant" => &r.body["conversations"],
        "/v1/analytics/{projectId}/assistant/threads/{threadId}" => &r.body["messages"],
        _ => return,
    };
    if items.as_array().is_none_or(|a| a.is_empty()) {
        problems.push(format!(
            "{what}: nothing to check the schema on: {}",
            r.text
        ));
    }
}

/// The status is one the operation documents, its content type one that status documents, and
/// the body matches that content's schema (a JSON body) or is the stream it names (an AI SDK UI
/// message stream, an AI SDK v4 data stream).
fn check_documented_response(
    doc: &Value,
    op: &Value,
    what: &str,
    r: &TestResponse,
    problems: &mut Vec<String>,
) {
    let status = r.status.as_str();
    let Some(resp) = op["responses"].get(status) else {
        problems.push(format!(
            "{what}: status {status} is not documented ({})",
            r.text
        ));
        return;
    };
    let Some(content) = resp["content"].as_object() else {
        if !r.text.is_empty() {
            problems.push(format!(
                "{what}: {status} documented without a body but got {}",
                r.text
            ));
        }
        return;
    };
    let media_type = r
        .header("content-type")
        .and_then(|ct| ct.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    let Some(media) = content.get(media_type) else {
        problems.push(format!(
            "{what}: {status} sent as {media_type:?}, documented as {:?} ({})",
            content.keys().collect::<Vec<_>>(),
            r.text
        ));
        return;
    };
    if media_type != "application/json" {
        // A stream announces itself with the headers the response documents.
        for name in resp["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if r.header(name).is_none() {
                problems.push(format!("{what}: {status} stream without its {name} header"));
            }
        }
    }
    match media_type {
        "application/json" => {
            let Some(schema) = media["schema"].as_object() else {
                problems.push(format!("{what}: {status} JSON without a schema"));
                return;
            };
            let mut errors = Vec::new();
            Schema { doc }.check(&Value::Object(schema.clone()), &r.body, "$", &mut errors);
            if !errors.is_empty() {
                problems.push(format!(
                    "{what}: {status} body does not match its schema: {errors:#?}\nbody: {}",
                    r.text
                ));
            }
        }
        "text/event-stream" => {
            if let Err(e) = check_ui_message_stream(&r.text) {
                problems.push(format!(
                    "{what}: {status} not a UI message stream: {e}\n{}",
                    r.text
                ));
            }
        }
        "text/plain" => {
            if let Err(e) = check_data_stream(&r.text) {
                problems.push(format!(
                    "{what}: {status} not a v4 data stream: {e}\n{}",
                    r.text
                ));
            }
        }
        other => problems.push(format!("{what}: {status}: no check for {other}")),
    }
}

/// An AI SDK UI message stream: `data:` lines of JSON chunks with a `type`, ending with
/// `data: [DONE]`.
fn check_ui_message_stream(text: &str) -> Result<(), String> {
    let mut done = false;
    for line in text.lines().filter(|l| !l.is_empty()) {
        if done {
            return Err(format!("{line:?} after [DONE]"));
        }
        let data = line
            .strip_prefix("data: ")
            .ok_or_else(|| format!("not a data line: {line:?}"))?;
        if data == "[DONE]" {
            done = true;
            continue;
        }
        let chunk: Value = serde_json::from_str(data).map_err(|e| format!("{data:?}: {e}"))?;
        if !chunk["type"].is_string() {
            return Err(format!("a chunk without a type: {data}"));
        }
    }
    if done {
        Ok(())
    } else {
        Err("no data: [DONE]".into())
    }
}

/// An AI SDK v4 data stream: one `CODE:JSON` part a line, ending with the finish message (`d:`).
fn check_data_stream(text: &str) -> Result<(), String> {
    let mut last = "";
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (code, json) = line
            .split_once(':')
            .ok_or_else(|| format!("not a part: {line:?}"))?;
        if code.len() != 1 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("bad part code in {line:?}"));
        }
        serde_json::from_str::<Value>(json).map_err(|e| format!("{line:?}: {e}"))?;
        last = code;
    }
    if last == "d" {
        Ok(())
    } else {
        Err("does not end with a finish message (d:)".into())
    }
}

// ---------------------------------------------------------------- request schemas vs the server

#[tokio::test]
async fn spec_example_requests_match_the_documented_request_schemas() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let kb = app.create_kb("examples").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cat = app.create_category(&kb, "Getting Started").await;
    let sec = app.create_section(&kb, &cat, "Your First Animal").await;
    let rel = app.create_article(&kb, &cat, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let base = format!("/v1/kb/{kb}");
    // The request examples of the spec, with IDs that exist.
    let examples = [
        (
            "post",
            "/v1/kb",
            "/v1/kb".to_string(),
            json!({
                "title": "Studbook.farm Help Centre", "slug": "studbook-help",
                "description": "Everything you need to know...", "is_public": false, "theme": "minimal",
            }),
        ),
        (
            "put",
            "/v1/kb/{kb_id}",
            base.clone(),
            json!({
                "theme_settings": { "primary_color": "#4f46e5", "dark_mode": false, "custom_css": ".kb-content h1 { letter-spacing: -0.02em; }" },
            }),
        ),
        (
            "put",
            "/v1/kb/{kb_id}/site-key",
            format!("{base}/site-key"),
            json!({ "rate_limit": 200 }),
        ),
        (
            "post",
            "/v1/kb/{kb_id}/categories",
            format!("{base}/categories"),
            json!({
                "name": "Getting Started", "description": "Intro to the app.", "icon": "book", "sort_order": 10,
            }),
        ),
        (
            "post",
            "/v1/kb/{kb_id}/sections",
            format!("{base}/sections"),
            json!({
                "category_id": cat, "name": "Your First Animal", "description": "Step-by-step for first-time users.", "sort_order": 10,
            }),
        ),
        (
            "post",
            "/v1/kb/{kb_id}/articles",
            format!("{base}/articles"),
            json!({
                "category_id": cat, "section_id": sec, "title": "How to register a new animal",
                "body": "# Registering a New Animal\n\n...", "excerpt": "Step-by-step guide.", "status": "draft",
                "tags": ["animals", "getting-started"], "related_articles": [rel],
            }),
        ),
        (
            "post",
            "/v1/kb/{kb_id}/articles/bulk",
            format!("{base}/articles/bulk"),
            json!({
                "articles": [{ "category_id": cat, "title": "One" }, { "category_id": cat, "title": "Two", "status": "published" }],
            }),
        ),
        (
            "post",
            "/v1/kb/{kb_id}/faqs",
            format!("{base}/faqs"),
            json!({
                "category_id": cat, "section_id": sec, "question": "How do I reset my password?",
                "answer": "Click **Forgot password** on the login page and check your inbox.", "status": "published",
            }),
        ),
    ];
    for (method, template, url, body) in examples {
        let schema =
            &doc["paths"][template][method]["requestBody"]["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{method} {template}: no request schema");
        let mut errors = Vec::new();
        Schema { doc: &doc }.check(schema, &body, "$", &mut errors);
        assert!(
            errors.is_empty(),
            "{method} {template}: the spec's example does not match the schema: {errors:#?}"
        );
        let r = app
            .call(method_of(method), &url, Some(&app.key), Some(body))
            .await;
        assert!(r.status.is_success(), "{method} {url}: {}", r.text);
    }
}

/// One of each updatable thing in a new KB `slug`: each update schema's name and the URL its
/// update goes to.
async fn update_targets(app: &TestApp, slug: &str) -> [(&'static str, String); 7] {
    let kb = app.create_kb(slug).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cat = app.create_category(&kb, "C").await;
    let sec = app.create_section(&kb, &cat, "S").await;
    let art = app.create_article(&kb, &cat, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let faq = app.create_faq(&kb, &cat, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    [
        ("KbUpdate", format!("/v1/kb/{kb}")),
        ("CategoryUpdate", format!("/v1/kb/{kb}/categories/{cat}")),
        ("SectionUpdate", format!("/v1/kb/{kb}/sections/{sec}")),
        ("ArticleUpdate", format!("/v1/kb/{kb}/articles/{art}")),
        ("FaqUpdate", format!("/v1/kb/{kb}/faqs/{faq}")),
        ("SiteKeyUpdate", format!("/v1/kb/{kb}/site-key")),
        ("ProjectUpdate", "/v1/project".to_string()),
    ]
}

#[tokio::test]
async fn documented_input_properties_are_all_accepted() {
    // `additionalProperties: false` schemas list exactly what the server accepts: every listed
    // property is known to the server (an unknown one would be a 422 naming it).
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let targets = update_targets(&app, "props").await;
    for (name, url) in targets {
        let props = schemas[name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no properties"));
        assert_eq!(
            schemas[name]["additionalProperties"], false,
            "{name} does not forbid unknown fields"
        );
        for prop in props.keys() {
            let r = app.put(&url, json!({ prop: null })).await;
            let unknown = r.status == 422
                && r.field() == prop.as_str()
                && r.text.contains("not a known field");
            assert!(
                !unknown,
                "{name}.{prop} is documented but the server does not know it: {}",
                r.text
            );
            assert!(r.status.as_u16() < 500, "{name}.{prop}: {}", r.text);
        }
        let r = app.put(&url, json!({ "surely_not_a_field": 1 })).await;
        assert_eq!(r.field(), "surely_not_a_field", "{name}: {}", r.text);
    }
}

// ---------------------------------------------------------------- a small JSON Schema checker

/// Enough of JSON Schema (2020-12, as OpenAPI 3.1 uses) to check this document's schemas:
/// `$ref`, `allOf`/`oneOf`/`anyOf`, `type` (including type lists), `enum`, `properties`,
/// `required`, `additionalProperties: false`, `items`, and length/range/size bounds.
struct Schema<'a> {
    doc: &'a Value,
}

impl Schema<'_> {
    fn resolve(&self, r: &str) -> &Value {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unsupported $ref {r}"));
        let s = &self.doc["components"]["schemas"][name];
        assert!(s.is_object(), "$ref {r} does not resolve");
        s
    }

    fn matches(&self, schema: &Value, v: &Value) -> bool {
        let mut errors = Vec::new();
        self.check(schema, v, "", &mut errors);
        errors.is_empty()
    }

    fn check(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(s) = schema.as_object() else {
            if schema == &Value::Bool(false) {
                errors.push(format!("{at}: no value allowed"));
            }
            return;
        };
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            self.check(self.resolve(r), v, at, errors);
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.check(sub, v, at, errors);
            }
        }
        if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
            let n = one.iter().filter(|sub| self.matches(sub, v)).count();
            if n != 1 {
                errors.push(format!(
                    "{at}: matches {n} of the {} oneOf alternatives (value {})",
                    one.len(),
                    short(v)
                ));
            }
        }
        if let Some(any) = s.get("anyOf").and_then(Value::as_array)
            && !any.iter().any(|sub| self.matches(sub, v))
        {
            errors.push(format!(
                "{at}: matches none of the anyOf alternatives (value {})",
                short(v)
            ));
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(x) => vec![x.as_str()],
                Value::Array(xs) => xs.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !types.iter().any(|t| type_matches(t, v)) {
                errors.push(format!("{at}: expected {types:?}, got {}", short(v)));
                return;
            }
        }
        if let Some(options) = s.get("enum").and_then(Value::as_array)
            && !options.contains(v)
        {
            errors.push(format!("{at}: {} not in {options:?}", short(v)));
        }
        match v {
            Value::Object(obj) => self.check_object(s, obj, at, errors),
            Value::Array(items) => {
                if let Some(item_schema) = s.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item_schema, item, &format!("{at}[{i}]"), errors);
                    }
                }
                if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
                    && items.len() as u64 > max
                {
                    errors.push(format!("{at}: more than {max} items"));
                }
            }
            Value::String(text) => {
                if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
                    && text.chars().count() as u64 > max
                {
                    errors.push(format!("{at}: longer than {max}"));
                }
            }
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or_default();
                if s.get("minimum")
                    .and_then(Value::as_f64)
                    .is_some_and(|m| x < m)
                    || s.get("maximum")
                        .and_then(Value::as_f64)
                        .is_some_and(|m| x > m)
                {
                    errors.push(format!("{at}: {x} out of range"));
                }
            }
            _ => {}
        }
    }

    fn check_object(
        &self,
        s: &Map<String, Value>,
        obj: &Map<String, Value>,
        at: &str,
        errors: &mut Vec<String>,
    ) {
        let props = s.get("properties").and_then(Value::as_object);
        for name in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap_or_default();
            if !obj.contains_key(name) {
                errors.push(format!("{at}: required property {name} is missing"));
            }
        }
        for (k, x) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(sub) => self.check(sub, x, &format!("{at}.{k}"), errors),
                None => {
                    if s.get("additionalProperties") == Some(&Value::Bool(false)) {
                        errors.push(format!("{at}: property {k} is not allowed"));
                    }
                }
            }
        }
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

fn short(v: &Value) -> String {
    v.to_string().chars().take(120).collect()
}

#[test]
fn the_schema_checker_checks() {
    let doc = json!({ "components": { "schemas": {
        "Thing": { "type": "object", "required": ["id"], "additionalProperties": false,
                   "properties": { "id": { "type": "string", "maxLength": 3 }, "n": { "type": ["integer", "null"] } } },
    } } });
    let s = Schema { doc: &doc };
    let thing = json!({ "$ref": "#/components/schemas/Thing" });
    assert!(s.matches(&thing, &json!({ "id": "abc", "n": null })));
    assert!(!s.matches(&thing, &json!({ "id": "abcd" })));
    assert!(!s.matches(&thing, &json!({ "n": 1 })));
    assert!(!s.matches(&thing, &json!({ "id": "a", "n": 1.5 })));
    assert!(!s.matches(&thing, &json!({ "id": "a", "extra": 1 })));
    let nullable =
        json!({ "oneOf": [{ "type": "null" }, { "$ref": "#/components/schemas/Thing" }] });
    assert!(s.matches(&nullable, &Value::Null));
    assert!(s.matches(&nullable, &json!({ "id": "a" })));
    assert!(!s.matches(&nullable, &json!(5)));
    let both = json!({ "allOf": [thing, { "type": "object", "properties": { "id": { "enum": ["x"] } } }] });
    assert!(s.matches(&both, &json!({ "id": "x" })));
    assert!(!s.matches(&both, &json!({ "id": "y" })));
}

// ---------------------------------------------------------------- the public API

#[tokio::test]
async fn public_operations_take_a_site_key_and_answer_as_documented() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let name = &site_key_scheme(&doc);

    let kb = app.create_kb("openapi").await;
    let kb_id = kb["id"].as_str().unwrap().to_string();
    let site_key = kb["site_key"].as_str().unwrap().to_string();
    let category = app.create_category(&kb_id, "Category").await;
    let section = app.create_section(&kb_id, &category, "Section").await;
    let related = app
        .create_article(
            &kb_id,
            &category,
            json!({ "status": "published", "excerpt": "e" }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let article = app
        .create_article(
            &kb_id,
            &category,
            json!({ "section_id": section, "status": "published", "related_articles": [related] }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.create_faq(&kb_id, &category, json!({ "status": "published" }))
        .await;
    let ids = Ids {
        project: app.project_id.clone(),
        update: String::new(),
        kb: kb_id,
        slug: "openapi".into(),
        category,
        section,
        article,
        faq: String::new(),
        thread: String::new(),
        page: String::new(),
    };

    let public: Vec<_> = all_operations(&doc)
        .into_iter()
        .filter(|(_, p, _)| is_public(p))
        .collect();
    assert_eq!(public.len(), PUBLIC_ROUTES.len());
    let mut problems = Vec::new();
    for (method, path, op) in public {
        let what = format!("{} {path}", method.to_uppercase());
        let reqs = op["security"].as_array().cloned().unwrap_or_default();
        assert!(
            reqs.iter().any(|r| r.get(name).is_some()),
            "{what}: not documented as needing the site key"
        );
        let url = fill(&path, &op, &ids);
        // Without the key: the generic refusal.
        let r = app.call(method_of(&method), &url, None, None).await;
        r.assert_error(403, "forbidden");
        check_documented_response(&doc, &op, &what, &r, &mut problems);
        // With it: success, shaped as documented.
        let req = axum::http::Request::builder()
            .method(method_of(&method))
            .uri(&url)
            .header("x-minolith-site-key", &site_key)
            .body(axum::body::Body::empty())
            .unwrap();
        let r = app.send(req).await;
        if !r.status.is_success() {
            problems.push(format!("{what}: {} {}", r.status, r.text));
            continue;
        }
        check_documented_response(&doc, &op, &what, &r, &mut problems);
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

// ---------------------------------------------------------------- the docs-platform API

#[tokio::test]
async fn docs_platform_operations_take_an_assistant_key_or_a_site_key_as_documented() {
    // The two documented alternatives both work, and each refusal is a documented status: an
    // admin key and a site key from a disallowed origin are 403, no key is 401, a knowledge base
    // of another project is 404.
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let r = app
        .post(
            "/v1/kb",
            json!({ "title": "Docs", "slug": "docs", "is_public": true }),
        )
        .await;
    r.assert_status(201);
    let kb = r.data();
    let kb_id = kb["id"].as_str().unwrap().to_string();
    let site_key = kb["site_key"].as_str().unwrap().to_string();
    app.put("/v1/project", json!({ "allowed_domains": ["example.com"] }))
        .await
        .assert_status(200);
    let category = app.create_category(&kb_id, "Category").await;
    let assistant = app.new_key(KeyKind::Assistant).await;
    let (page, thread) = docs_content(&app, &assistant, &kb_id, &category, "docs").await;
    let (_, other_admin) = app.new_project("other").await;
    let r = app
        .call(
            Method::POST,
            "/v1/kb",
            Some(&other_admin),
            Some(json!({ "title": "Other", "slug": "other-docs" })),
        )
        .await;
    r.assert_status(201);
    let mut ids = Ids::fake();
    ids.slug = "docs".into();
    ids.thread = thread;
    ids.page = page;

    let docs_ops: Vec<_> = all_operations(&doc)
        .into_iter()
        .filter(|(_, p, _)| is_docs(p))
        .collect();
    assert_eq!(docs_ops.len(), DOCS_ROUTES.len());
    let mut problems = Vec::new();
    for (method, path, op) in docs_ops {
        let url = fill(&path, &op, &ids);
        let what = format!("{} {url}", method.to_uppercase());
        let body = valid_body(&method, &path, &ids);
        let as_site = |origin: &'static str| {
            axum::http::Request::builder()
                .method(method_of(&method))
                .uri(&url)
                .header("x-minolith-site-key", &site_key)
                .header("origin", origin)
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(axum::body::Body::from(body.to_string()))
                .unwrap()
        };
        let admin = send(&app, &app.key, None, &method, &url, &op, body.clone()).await;
        admin.assert_error(403, "forbidden");
        check_documented_response(
            &doc,
            &op,
            &format!("{what} (admin key)"),
            &admin,
            &mut problems,
        );
        let none = app
            .call(method_of(&method), &url, None, Some(body.clone()))
            .await;
        none.assert_error(401, "unauthorized");
        check_documented_response(&doc, &op, &format!("{what} (no key)"), &none, &mut problems);
        let evil = app.send(as_site("https://evil.example")).await;
        evil.assert_error(403, "forbidden");
        check_documented_response(
            &doc,
            &op,
            &format!("{what} (disallowed origin)"),
            &evil,
            &mut problems,
        );
        let site = app.send(as_site("https://example.com")).await;
        site.assert_status(200);
        check_documented_response(
            &doc,
            &op,
            &format!("{what} (site key)"),
            &site,
            &mut problems,
        );
        let foreign = url.replacen("/docs", "/other-docs", 1);
        let r = send(&app, &assistant, None, &method, &foreign, &op, body).await;
        r.assert_error(404, "kb_not_found");
        check_documented_response(
            &doc,
            &op,
            &format!("{what} (another project's)"),
            &r,
            &mut problems,
        );
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

// ---------------------------------------------------------------- the document's rules are the server's

/// A value of `len` characters that the field's other rules accept.
fn text_of(prop: &str, len: usize) -> String {
    if prop == "logo_path" {
        format!("/{}", "a".repeat(len.saturating_sub(1)))
    } else {
        "a".repeat(len)
    }
}

#[tokio::test]
async fn documented_limits_are_the_limits_the_server_applies() {
    // For every field of every update schema: the documented bounds (maxLength, minimum/maximum,
    // enum, maxItems, nullability) are accepted exactly up to the bound and refused just past it,
    // naming the field. A limit changed on one side only fails here.
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let targets = update_targets(&app, "limits").await;
    let mut checked = 0;
    let mut problems = Vec::new();
    for (name, url) in targets {
        for (prop, s) in schemas[name]["properties"].as_object().unwrap() {
            let nullable = s["type"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("null")));
            let mut accept = vec![];
            let mut refuse = vec![];
            if prop != "rate_limit" {
                // `rate_limit` is required, so `null` is refused as missing.
                if nullable {
                    accept.push(Value::Null);
                } else {
                    refuse.push(Value::Null);
                }
            }
            if let Some(max) = s["maxLength"].as_u64() {
                let max = max as usize;
                accept.push(json!(text_of(prop, max)));
                refuse.push(json!(text_of(prop, max + 1)));
                if s["minLength"] == 1 {
                    refuse.push(json!(""));
                    refuse.push(json!(" \u{a0}\u{3000}\t"));
                }
            }
            if let (Some(min), Some(max)) = (s["minimum"].as_i64(), s["maximum"].as_i64()) {
                accept.extend([json!(min), json!(max)]);
                refuse.extend([json!(min - 1), json!(max + 1)]);
            }
            if let Some(values) = s["enum"].as_array() {
                accept.extend(values.iter().filter(|v| !v.is_null()).cloned());
                refuse.push(json!("surely-not-one"));
            }
            if let Some(max) = s["maxItems"].as_u64()
                && s["items"]["maxLength"].is_u64()
            {
                let items = |n: u64| (0..n).map(|i| format!("x{i}.example")).collect::<Vec<_>>();
                accept.push(json!(items(max)));
                refuse.push(json!(items(max + 1)));
            }
            for v in accept {
                checked += 1;
                let r = app.put(&url, json!({ prop: v })).await;
                if !r.status.is_success() {
                    problems.push(format!(
                        "{name}.{prop} = {}: documented as valid, got {}",
                        short(&v),
                        r.text
                    ));
                }
            }
            for v in refuse {
                checked += 1;
                let r = app.put(&url, json!({ prop: v })).await;
                if r.status != 422 || r.field() != prop.as_str() {
                    problems.push(format!(
                        "{name}.{prop} = {}: documented as invalid, got {} {}",
                        short(&v),
                        r.status,
                        r.text
                    ));
                }
            }
        }
    }
    assert!(checked > 60, "only {checked} values checked");
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn whole_numbers_written_with_a_fraction_or_exponent_are_integers() {
    // JSON has one number type and JSON Schema's `integer` accepts 10.0; so does the server.
    let app = TestApp::new().await;
    let kb = app.create_kb("numbers").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post(
            &format!("/v1/kb/{kb}/categories"),
            json!({ "name": "Ten", "sort_order": 10.0 }),
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.body["data"]["sort_order"], 10);
    let r = app
        .put(
            &format!("/v1/kb/{kb}/site-key"),
            json!({ "rate_limit": 2e2 }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.body["data"]["rate_limit"], 200);
    let r = app
        .post(
            &format!("/v1/kb/{kb}/categories"),
            json!({ "name": "Half", "sort_order": 10.5 }),
        )
        .await;
    r.assert_status(422);
    assert_eq!(r.field(), "sort_order");
    let r = app
        .put(
            &format!("/v1/kb/{kb}/site-key"),
            json!({ "rate_limit": 1e300 }),
        )
        .await;
    r.assert_status(422);
    assert_eq!(r.field(), "rate_limit");
}

#[tokio::test]
async fn an_empty_typed_query_parameter_is_refused_and_an_empty_filter_ignored() {
    // `?limit=` is documented as an integer and `?is_public=` as a boolean: empty is neither, so
    // it is a 422 naming the parameter (it used to be read as absent). An empty free-text filter
    // (`?category_id=`) is a valid string that filters nothing.
    let app = TestApp::new().await;
    let kb = app.create_kb("empty-params").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (url, field) in [
        ("/v1/kb?limit=".to_string(), "limit"),
        ("/v1/kb?is_public=".to_string(), "is_public"),
        (format!("/v1/kb/{kb}/articles?limit="), "limit"),
        (format!("/v1/kb/{kb}/search?q=x&type="), "type"),
        (format!("/v1/kb/{kb}/search?q=x&limit="), "limit"),
    ] {
        let r = app.call(Method::GET, &url, Some(&app.key), None).await;
        r.assert_status(422);
        assert_eq!(r.field(), field, "{url}: {}", r.text);
    }
    for url in [
        format!("/v1/kb/{kb}/articles?category_id=&section_id=&status=&tag=&cursor="),
        format!("/v1/kb/{kb}/search?q=x&status=&category_id="),
    ] {
        let r = app.call(Method::GET, &url, Some(&app.key), None).await;
        r.assert_status(200);
    }
}

#[tokio::test]
async fn analytics_dates_are_the_dates_the_document_allows() {
    // `dateFrom`/`dateTo`: `YYYY-MM-DD` with a month 01–12 and a day 01–31 (the pattern the
    // document gives), or empty for no bound; anything else is a 422 naming the parameter.
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let op = &doc["paths"]["/v1/analytics/{projectId}/assistant"]["get"];
    for name in ["dateFrom", "dateTo"] {
        let param = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not documented"));
        assert_eq!(
            param["schema"]["pattern"], "^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$",
            "{name}"
        );
        let url = |v: &str| format!("/v1/analytics/{}/assistant?{name}={v}", app.project_id);
        for valid in ["2026-01-15", "2026-12-31", "2026-02-31", ""] {
            app.get(&url(valid)).await.assert_status(200);
        }
        for invalid in [
            "2026-1-15",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "2026-01-32",
            "15-01-2026",
            "2026-01-15T00:00:00Z",
            "x",
        ] {
            let r = app.get(&url(invalid)).await;
            r.assert_status(422);
            assert_eq!(r.field(), name, "{invalid}: {}", r.text);
        }
    }
}

#[tokio::test]
async fn the_document_is_as_reviewed() {
    // The whole document, so that every change to it (a limit, a status, a field) shows in review.
    let app = TestApp::new().await;
    let doc = document(&app).await;
    insta::assert_json_snapshot!("openapi_document", doc);
}
