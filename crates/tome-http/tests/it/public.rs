//! The public site-key API, `/v1/kb/public/{slug}/…`: the six endpoints and their shapes,
//! published-only content, the gate (site key, origin, rate limit), CORS, caching with
//! invalidation on every management write, ETags and gzip.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tome_http::ratelimit::MemoryRateLimiter;
use tome_http::{AppState, HttpConfig};
use tower::ServiceExt;

use crate::support::{TestApp, TestResponse, id_of, ids, is_timestamp, test_config};

/// The one body every refused key or origin check gets.
const DENIED: &str = r#"{"error":{"code":"forbidden","message":"Access denied","details":null}}"#;
const ORIGIN: &str = "https://example.com";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

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

fn purl(slug: &str, rest: &str) -> String {
    format!("/v1/kb/public/{slug}/{rest}")
}

fn ip(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// A raw public request: optional site key, extra headers, optional client address.
fn public_req(
    method: Method,
    uri: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    peer: Option<IpAddr>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(k) = key {
        b = b.header("x-minolith-site-key", k);
    }
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    let mut req = b.body(Body::empty()).unwrap();
    if let Some(peer) = peer {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(peer, 50000)));
    }
    req
}

/// `GET uri` with an optional site key and extra headers, from 127.0.0.1.
async fn fetch(
    app: &TestApp,
    uri: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
) -> TestResponse {
    app.send(public_req(Method::GET, uri, key, headers, None))
        .await
}

/// `GET uri` from another client address.
async fn fetch_from(
    app: &TestApp,
    peer: IpAddr,
    uri: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
) -> TestResponse {
    app.send(public_req(Method::GET, uri, key, headers, Some(peer)))
        .await
}

/// A CORS preflight for `uri` from `origin` (if any), without a site key.
async fn preflight(app: &TestApp, uri: &str, origin: Option<&str>) -> TestResponse {
    let mut headers = vec![
        ("access-control-request-method", "GET"),
        ("access-control-request-headers", "x-minolith-site-key"),
    ];
    if let Some(o) = origin {
        headers.push(("origin", o));
    }
    app.send(public_req(Method::OPTIONS, uri, None, &headers, None))
        .await
}

/// A public read that must succeed; returns its `data`.
#[track_caller]
fn ok_data(r: &TestResponse) -> Value {
    r.assert_status(200);
    r.data().clone()
}

/// Whether the comma-separated header `name` lists `token` (case-insensitive).
fn header_lists(r: &TestResponse, name: &str, token: &str) -> bool {
    r.headers.get_all(name).iter().any(|v| {
        v.to_str()
            .unwrap_or("")
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    })
}

#[track_caller]
fn assert_vary_origin(r: &TestResponse) {
    assert!(
        header_lists(r, "vary", "origin"),
        "no `Vary: Origin` on a {} response; headers: {:?}",
        r.status,
        r.headers
    );
}

/// The generic refusal: the exact body, `Vary: Origin`, and nothing that tells the checks apart.
#[track_caller]
fn assert_denied(r: &TestResponse) {
    assert_eq!(
        r.status.as_u16(),
        403,
        "expected the refusal; body: {}",
        r.text
    );
    assert_eq!(r.text, DENIED, "refusal bodies must be identical");
    assert_vary_origin(r);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "etag",
    ] {
        assert!(
            r.header(h).is_none(),
            "refusal carries {h}: {:?}",
            r.headers
        );
    }
}

fn header_u64(r: &TestResponse, name: &str) -> u64 {
    r.header(name)
        .unwrap_or_else(|| panic!("missing {name}; headers: {:?}", r.headers))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not an integer: {:?}", r.header(name)))
}

/// Asserts the three rate-limit headers; returns `(limit, remaining)`.
#[track_caller]
fn rate_headers(r: &TestResponse) -> (u64, u64) {
    let limit = header_u64(r, "x-ratelimit-limit");
    let remaining = header_u64(r, "x-ratelimit-remaining");
    let reset = header_u64(r, "x-ratelimit-reset");
    let now = unix_now();
    assert!(remaining <= limit, "remaining {remaining} > limit {limit}");
    assert!(
        reset >= now && reset <= now + 61,
        "reset {reset} is not within a minute of {now}"
    );
    assert_eq!(reset % 60, 0, "windows are aligned to the minute");
    (limit, remaining)
}

/// The site key's 429: envelope, `Retry-After`, rate headers, `Vary: Origin`.
#[track_caller]
fn assert_rate_limited(r: &TestResponse) {
    r.assert_error(429, "rate_limit_exceeded");
    let retry = header_u64(r, "retry-after");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_vary_origin(r);
}

/// Names of a JSON object's fields, in order.
fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

async fn set_domains(app: &TestApp, key: &str, domains: Value) {
    app.call(
        Method::PUT,
        "/v1/project",
        Some(key),
        Some(json!({ "allowed_domains": domains })),
    )
    .await
    .assert_status(200);
}

async fn set_rate_limit(app: &TestApp, kb_id: &str, limit: u64) {
    app.put(
        &format!("/v1/kb/{kb_id}/site-key"),
        json!({ "rate_limit": limit }),
    )
    .await
    .assert_status(200);
}

/// A KB: its ID, slug and plaintext site key.
#[derive(Debug, Clone)]
struct Kb {
    id: String,
    slug: String,
    key: String,
}

impl Kb {
    async fn create(app: &TestApp, slug: &str) -> Kb {
        let data = app.create_kb(slug).await;
        Kb::from_data(&data)
    }

    /// A KB created in another project with `admin_key`.
    async fn create_as(app: &TestApp, admin_key: &str, slug: &str, title: &str) -> Kb {
        let r = app
            .call(
                Method::POST,
                "/v1/kb",
                Some(admin_key),
                Some(json!({ "title": title, "slug": slug })),
            )
            .await;
        r.assert_status(201);
        Kb::from_data(r.data())
    }

    fn from_data(data: &Value) -> Kb {
        Kb {
            id: data["id"].as_str().unwrap().to_string(),
            slug: data["slug"].as_str().unwrap().to_string(),
            key: data["site_key"].as_str().unwrap().to_string(),
        }
    }

    fn url(&self, rest: &str) -> String {
        purl(&self.slug, rest)
    }

    fn mgmt(&self, rest: &str) -> String {
        format!("/v1/kb/{}/{rest}", self.id)
    }

    /// A public GET with this KB's key and no other headers.
    async fn get(&self, app: &TestApp, rest: &str) -> TestResponse {
        fetch(app, &self.url(rest), Some(&self.key), &[]).await
    }

    /// A public GET that must succeed; its `data`.
    async fn read(&self, app: &TestApp, rest: &str) -> Value {
        let r = self.get(app, rest).await;
        ok_data(&r)
    }

    async fn category(&self, app: &TestApp, body: Value) -> String {
        let r = app.post(&self.mgmt("categories"), body).await;
        r.assert_status(201);
        id_of(&r)
    }

    async fn section(&self, app: &TestApp, body: Value) -> String {
        let r = app.post(&self.mgmt("sections"), body).await;
        r.assert_status(201);
        id_of(&r)
    }

    async fn article(&self, app: &TestApp, category_id: &str, extra: Value) -> String {
        app.create_article(&self.id, category_id, extra).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn faq(&self, app: &TestApp, category_id: &str, extra: Value) -> String {
        app.create_faq(&self.id, category_id, extra).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// A help centre with published, draft and archived content in several categories.
struct Site {
    kb: Kb,
    labels: HashMap<String, String>,
    getting_started: String,
    billing: String,
    advanced: String,
    first_animal: String,
    empty_section: String,
    register: String,
    second_step: String,
    before_all: String,
    welcome: String,
    csv_import: String,
    draft_related: String,
    draft_article: String,
    archived_article: String,
    faq_reset: String,
    faq_mobile: String,
    faq_billing: String,
    faq_draft: String,
    faq_archived: String,
}

impl Site {
    async fn new(app: &TestApp) -> Site {
        let r = app
            .post(
                "/v1/kb",
                json!({
                    "title": "Studbook.farm Help Centre",
                    "slug": "studbook-help",
                    "description": "Everything you need to know...",
                }),
            )
            .await;
        r.assert_status(201);
        let kb = Kb::from_data(r.data());
        let mut labels = HashMap::new();
        let mut label = |id: &str, l: &str| {
            let prefix = id.split('_').next().unwrap();
            labels.insert(id.to_string(), format!("[{prefix} {l}]"));
            id.to_string()
        };

        // Categories: created Billing, Getting Started, Advanced; ordered by sort_order, then
        // creation: Getting Started (10), Advanced (10), Billing (20).
        let billing = kb
            .category(app, json!({ "name": "Billing", "sort_order": 20 }))
            .await;
        let getting_started = kb
            .category(
                app,
                json!({ "name": "Getting Started", "description": "Intro to the app.", "icon": "book", "sort_order": 10 }),
            )
            .await;
        let advanced = kb
            .category(
                app,
                json!({ "name": "Advanced", "icon": "gear", "sort_order": 10 }),
            )
            .await;
        let billing = label(&billing, "Billing");
        let getting_started = label(&getting_started, "Getting Started");
        let advanced = label(&advanced, "Advanced");

        let first_animal = kb
            .section(
                app,
                json!({ "category_id": getting_started, "name": "First Animal", "description": "Step-by-step for first-time users.", "sort_order": 10 }),
            )
            .await;
        let empty_section = kb
            .section(
                app,
                json!({ "category_id": getting_started, "name": "Empty Section", "sort_order": 5 }),
            )
            .await;
        let first_animal = label(&first_animal, "First Animal");
        let empty_section = label(&empty_section, "Empty Section");

        let csv_import = kb
            .article(
                app,
                &billing,
                json!({ "title": "CSV Import", "body": "Import a spreadsheet.", "excerpt": "Import animals from a spreadsheet.", "status": "published" }),
            )
            .await;
        let draft_related = kb
            .article(
                app,
                &billing,
                json!({ "title": "Unreleased feature", "body": "Soon.", "excerpt": "Not yet." }),
            )
            .await;
        let register = kb
            .article(
                app,
                &getting_started,
                json!({
                    "section_id": first_animal,
                    "title": "How to register a new animal",
                    "body": "# Registering a New Animal\n\nOpen **Animals** and click *Add*.",
                    "excerpt": "Step-by-step guide.",
                    "status": "published",
                    "tags": ["animals", "getting-started"],
                    "related_articles": [csv_import, draft_related],
                }),
            )
            .await;
        let second_step = kb
            .article(
                app,
                &getting_started,
                json!({ "section_id": first_animal, "title": "Adding photos", "body": "Add photos of your animal.", "status": "published" }),
            )
            .await;
        let before_all = kb
            .article(
                app,
                &getting_started,
                json!({ "section_id": first_animal, "title": "Before you start", "body": "Read this first.", "excerpt": "Prerequisites.", "status": "published", "sort_order": -1 }),
            )
            .await;
        let draft_article = kb
            .article(
                app,
                &getting_started,
                json!({ "section_id": first_animal, "title": "Draft in section", "body": "An animal draft.", "status": "draft" }),
            )
            .await;
        let archived_article = kb
            .article(
                app,
                &getting_started,
                json!({ "title": "Old welcome", "body": "An animal of the past.", "status": "published" }),
            )
            .await;
        app.post_empty(&kb.mgmt(&format!("articles/{archived_article}/archive")))
            .await
            .assert_status(200);
        let welcome = kb
            .article(
                app,
                &getting_started,
                json!({ "title": "Welcome", "body": "Hello.", "excerpt": "Start here.", "status": "published" }),
            )
            .await;
        let csv_import = label(&csv_import, "CSV Import");
        let draft_related = label(&draft_related, "Unreleased feature (draft)");
        let register = label(&register, "Register");
        let second_step = label(&second_step, "Adding photos");
        let before_all = label(&before_all, "Before you start");
        let draft_article = label(&draft_article, "Draft in section (draft)");
        let archived_article = label(&archived_article, "Old welcome (archived)");
        let welcome = label(&welcome, "Welcome");

        let faq_reset = kb
            .faq(
                app,
                &getting_started,
                json!({ "section_id": first_animal, "question": "How do I reset my password?", "answer": "Click **Forgot password** on the login page and check your inbox.", "status": "published" }),
            )
            .await;
        let faq_mobile = kb
            .faq(
                app,
                &getting_started,
                json!({ "question": "Is there a mobile app?", "answer": "Yes: manage every animal from your phone.", "status": "published", "sort_order": -5 }),
            )
            .await;
        let faq_draft = kb
            .faq(
                app,
                &getting_started,
                json!({ "question": "Draft question?", "answer": "A draft animal answer." }),
            )
            .await;
        let faq_archived = kb
            .faq(
                app,
                &getting_started,
                json!({ "question": "Archived question?", "answer": "An archived animal answer.", "status": "archived" }),
            )
            .await;
        let faq_billing = kb
            .faq(
                app,
                &billing,
                json!({ "question": "How do I pay?", "answer": "By card.", "status": "published" }),
            )
            .await;
        let faq_reset = label(&faq_reset, "Reset password");
        let faq_mobile = label(&faq_mobile, "Mobile app");
        let faq_draft = label(&faq_draft, "Draft question (draft)");
        let faq_archived = label(&faq_archived, "Archived question (archived)");
        let faq_billing = label(&faq_billing, "Pay");

        Site {
            kb,
            labels,
            getting_started,
            billing,
            advanced,
            first_animal,
            empty_section,
            register,
            second_step,
            before_all,
            welcome,
            csv_import,
            draft_related,
            draft_article,
            archived_article,
            faq_reset,
            faq_mobile,
            faq_billing,
            faq_draft,
            faq_archived,
        }
    }

    /// IDs that must never appear in any public response.
    fn hidden(&self) -> [&String; 5] {
        [
            &self.draft_related,
            &self.draft_article,
            &self.archived_article,
            &self.faq_draft,
            &self.faq_archived,
        ]
    }

    /// Snapshots `body` with every entity ID replaced by its label and timestamps by `[ts]`.
    fn snapshot(&self, name: &str, body: &Value) {
        assert_timestamps(body);
        let labels = Arc::new(self.labels.clone());
        let by_label = move |labels: Arc<HashMap<String, String>>| {
            insta::dynamic_redaction(move |value, _| match value.as_str() {
                Some(s) => labels
                    .get(s)
                    .cloned()
                    .unwrap_or_else(|| format!("[unknown id {s}]"))
                    .into(),
                None => value,
            })
        };
        let mut settings = insta::Settings::clone_current();
        for selector in [".**.id", ".**.category_id", ".**.section_id"] {
            settings.add_redaction(selector, by_label(labels.clone()));
        }
        for selector in [".**.published_at", ".**.updated_at", ".**.created_at"] {
            settings.add_redaction(selector, "[ts]");
        }
        // Relevance scores are tuned over time; the order of hits is what the snapshot pins.
        settings.add_redaction(".**.score", "[score]");
        settings.bind(|| insta::assert_json_snapshot!(name, body));
    }
}

/// Every `*_at` field is a wire timestamp (or null).
fn assert_timestamps(v: &Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k.ends_with("_at") {
                    assert!(v.is_null() || is_timestamp(v), "{k} = {v}");
                }
                assert_timestamps(v);
            }
        }
        Value::Array(a) => a.iter().for_each(assert_timestamps),
        _ => {}
    }
}

/// A second service on the same database, for reading raw (binary) response bodies.
async fn raw_get(app: &TestApp, uri: &str, key: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let state = AppState::new(
        app.store.clone(),
        Arc::new(MemoryRateLimiter::new()),
        test_config(),
    )
    .await
    .unwrap();
    let svc = tome_http::service(state);
    let req = public_req(Method::GET, uri, Some(key), headers, Some(ip(127, 0, 0, 1)));
    let resp = svc.oneshot(req).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

// ---------------------------------------------------------------------------------------------
// Endpoints and response shapes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn structure_is_the_navigation_tree_of_published_content() {
    let app = TestApp::new().await;
    let s = Site::new(&app).await;
    let r = s.kb.get(&app, "structure").await;
    r.assert_status(200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let d = r.data();
    assert_eq!(keys(d), ["title", "description", "slug", "categories"]);
    assert_eq!(d["title"], "Studbook.farm Help Centre");
    assert_eq!(d["slug"], "studbook-help");
    let cats = &d["categories"];
    assert_eq!(
        ids(cats),
        [
            s.getting_started.as_str(),
            s.advanced.as_str(),
            s.billing.as_str()
        ],
        "categories by sort_order, then creation"
    );
    let gs = &cats[0];
    assert_eq!(
        keys(gs),
        [
            "id",
            "name",
            "description",
            "icon",
            "sections",
            "articles",
            "faq_count"
        ]
    );
    assert_eq!(gs["icon"], "book");
    assert_eq!(
        ids(&gs["sections"]),
        [s.empty_section.as_str(), s.first_animal.as_str()]
    );
    let first_animal = &gs["sections"][1];
    assert_eq!(
        keys(first_animal),
        ["id", "name", "description", "articles"]
    );
    assert_eq!(
        ids(&first_animal["articles"]),
        [
            s.before_all.as_str(),
            s.register.as_str(),
            s.second_step.as_str()
        ],
        "articles by sort_order, then creation; drafts left out"
    );
    assert_eq!(
        keys(&first_animal["articles"][1]),
        ["id", "title", "excerpt"]
    );
    assert_eq!(gs["sections"][0]["articles"], json!([]));
    assert_eq!(
        ids(&gs["articles"]),
        [s.welcome.as_str()],
        "archived left out"
    );
    assert_eq!(gs["faq_count"], 2, "only published FAQs are counted");
    assert_eq!(cats[1]["sections"], json!([]));
    assert_eq!(cats[1]["articles"], json!([]));
    assert_eq!(cats[1]["faq_count"], 0);
    assert_eq!(ids(&cats[2]["articles"]), [s.csv_import.as_str()]);
    assert_eq!(cats[2]["faq_count"], 1);
    for hidden in s.hidden() {
        assert!(!r.text.contains(hidden.as_str()), "{hidden} leaked");
    }
    s.snapshot("public_structure", &r.body);
}

#[tokio::test]
async fn categories_list_published_counts() {
    let app = TestApp::new().await;
    let s = Site::new(&app).await;
    let r = s.kb.get(&app, "categories").await;
    r.assert_status(200);
    let d = r.data();
    assert_eq!(
        ids(d),
        [
            s.getting_started.as_str(),
            s.advanced.as_str(),
            s.billing.as_str()
        ]
    );
    assert_eq!(
        keys(&d[0]),
        [
            "id",
            "name",
            "description",
            "icon",
            "article_count",
            "faq_count"
        ]
    );
    let counts: Vec<(u64, u64)> = d
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["article_count"].as_u64().unwrap(),
                c["faq_count"].as_u64().unwrap(),
            )
        })
        .collect();
    // Getting Started: 4 published articles (1 draft and 1 archived not counted), 2 of 4 FAQs.
    assert_eq!(counts, [(4, 2), (0, 0), (1, 1)]);
    s.snapshot("public_categories", &r.body);
}

#[tokio::test]
async fn category_detail_has_sections_articles_and_faqs() {
    let app = TestApp::new().await;
    let s = Site::new(&app).await;
    let r =
        s.kb.get(&app, &format!("categories/{}", s.getting_started))
            .await;
    r.assert_status(200);
    let d = r.data();
    assert_eq!(
        keys(d),
        [
            "id",
            "name",
            "description",
            "icon",
            "sections",
            "articles",
            "faqs"
        ]
    );
    assert_eq!(d["id"], s.getting_started.as_str());
    assert_eq!(d["name"], "Getting Started");
    assert_eq!(d["description"], "Intro to the app.");
    assert_eq!(
        ids(&d["sections"]),
        [s.empty_section.as_str(), s.first_animal.as_str()]
    );
    assert_eq!(
        ids(&d["sections"][1]["articles"]),
        [
            s.before_all.as_str(),
            s.register.as_str(),
            s.second_step.as_str()
        ]
    );
    assert_eq!(ids(&d["articles"]), [s.welcome.as_str()]);
    assert_eq!(
        ids(&d["faqs"]),
        [s.faq_mobile.as_str(), s.faq_reset.as_str()],
        "FAQs by sort_order, then creation; draft and archived left out"
    );
    assert_eq!(
        keys(&d["faqs"][0]),
        ["id", "question", "answer", "section_id"]
    );
    assert_eq!(d["faqs"][1]["section_id"], s.first_animal.as_str());
    assert_eq!(d["faqs"][0]["section_id"], Value::Null);
    for hidden in s.hidden() {
        assert!(!r.text.contains(hidden.as_str()), "{hidden} leaked");
    }
    s.snapshot("public_category_detail", &r.body);

    // A category without any content is still listed and readable.
    let d = s.kb.read(&app, &format!("categories/{}", s.advanced)).await;
    assert_eq!(d["sections"], json!([]));
    assert_eq!(d["articles"], json!([]));
    assert_eq!(d["faqs"], json!([]));
}

#[tokio::test]
async fn article_resolves_related_category_and_section() {
    let app = TestApp::new().await;
    let s = Site::new(&app).await;
    let r = s.kb.get(&app, &format!("articles/{}", s.register)).await;
    r.assert_status(200);
    let d = r.data();
    assert_eq!(
        keys(d),
        [
            "id",
            "title",
            "body",
            "excerpt",
            "tags",
            "related_articles",
            "category",
            "section",
            "published_at",
            "updated_at"
        ]
    );
    assert_eq!(
        d["body"],
        "# Registering a New Animal\n\nOpen **Animals** and click *Add*."
    );
    assert_eq!(d["tags"], json!(["animals", "getting-started"]));
    assert_eq!(
        d["related_articles"],
        json!([{ "id": s.csv_import, "title": "CSV Import", "excerpt": "Import animals from a spreadsheet." }]),
        "the draft related article is omitted"
    );
    assert_eq!(
        d["category"],
        json!({ "id": s.getting_started, "name": "Getting Started" })
    );
    assert_eq!(
        d["section"],
        json!({ "id": s.first_animal, "name": "First Animal" })
    );
    assert!(is_timestamp(&d["published_at"]));
    assert!(is_timestamp(&d["updated_at"]));
    assert!(!r.text.contains(s.draft_related.as_str()));
    s.snapshot("public_article", &r.body);

    // A category-level article has no section.
    let d = s.kb.read(&app, &format!("articles/{}", s.welcome)).await;
    assert_eq!(d["section"], Value::Null);
    assert_eq!(d["related_articles"], json!([]));
    assert_eq!(d["category"]["name"], "Getting Started");

    // Once the related draft is published it is resolved too, in the stored order.
    app.post_empty(&s.kb.mgmt(&format!("articles/{}/publish", s.draft_related)))
        .await
        .assert_status(200);
    let d = s.kb.read(&app, &format!("articles/{}", s.register)).await;
    assert_eq!(
        ids(&d["related_articles"]),
        [s.csv_import.as_str(), s.draft_related.as_str()]
    );
}

#[tokio::test]
async fn faqs_of_a_category() {
    let app = TestApp::new().await;
    let s = Site::new(&app).await;
    let r = s.kb.get(&app, &format!("faqs/{}", s.getting_started)).await;
    r.assert_status(200);
    assert_eq!(ids(r.data()), [s.faq_mobile.as_str(), s.faq_reset.as_str()]);
    assert_eq!(
        r.data()[1],
        json!({
            "id": s.faq_reset,
            "question": "How do I reset my password?",
            "answer": "Click **Forgot password** on the login page and check your inbox.",
            "section_id": s.first_animal,
        })
    );
    for hidden in s.hidden() {
        assert!(!r.text.contains(hidden.as_str()), "{hidden} leaked");
    }
    s.snapshot("public_faqs", &r.body);
    assert_eq!(
        ids(&s.kb.read(&app, &format!("faqs/{}", s.billing)).await),
        [s.faq_billing.as_str()]
    );
    assert_eq!(
        s.kb.read(&app, &format!("faqs/{}", s.advanced)).await,
        json!([])
    );
}

#[tokio::test]
async fn search_returns_published_content_only() {
    let app = TestApp::new().await;
    let s = Site::new(&app).await;
    let r = s.kb.get(&app, "search?q=animal").await;
    r.assert_status(200);
    let d = r.data();
    assert_eq!(keys(d), ["articles", "faqs"]);
    // Ranked: the title hit first, then excerpt and body hits; drafts and archived content
    // never.
    assert_eq!(
        ids(&d["articles"]),
        [
            s.register.as_str(),
            s.csv_import.as_str(),
            s.second_step.as_str()
        ]
    );
    assert_eq!(ids(&d["faqs"]), [s.faq_mobile.as_str()]);
    // The spec's hit shapes, plus trailing `status` (always `published` here), `highlight` and
    // `score`.
    for (hit, shape) in [
        (
            &d["articles"][0],
            [
                "id",
                "type",
                "title",
                "excerpt",
                "category_id",
                "section_id",
            ],
        ),
        (
            &d["faqs"][0],
            [
                "id",
                "type",
                "question",
                "excerpt",
                "category_id",
                "section_id",
            ],
        ),
    ] {
        assert_eq!(keys(hit)[..6], shape);
        assert_eq!(keys(hit)[6..], ["status", "highlight", "score"], "{hit}");
    }
    for hit in d["articles"]
        .as_array()
        .unwrap()
        .iter()
        .chain(d["faqs"].as_array().unwrap())
    {
        assert!(hit.get("status").is_none_or(|s| s == "published"), "{hit}");
    }
    assert_eq!(d["articles"][0]["type"], "article");
    assert_eq!(d["faqs"][0]["type"], "faq");
    for hidden in s.hidden() {
        assert!(!r.text.contains(hidden.as_str()), "{hidden} leaked");
    }
    s.snapshot("public_search", &r.body);

    // Nothing found is an empty result, not an error.
    let d = s.kb.read(&app, "search?q=nothing-matches-this").await;
    assert_eq!(d, json!({ "articles": [], "faqs": [] }));
    // Draft-only words find nothing.
    let d = s.kb.read(&app, "search?q=Unreleased").await;
    assert_eq!(d, json!({ "articles": [], "faqs": [] }));
    let d = s.kb.read(&app, "search?q=Archived%20question").await;
    assert_eq!(d, json!({ "articles": [], "faqs": [] }));
}

#[tokio::test]
async fn search_requires_q() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    for query in ["search", "search?q=", "search?q=%20%20", "search?other=x"] {
        let r = kb.get(&app, query).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "q", "{query}");
        assert_vary_origin(&r);
        rate_headers(&r);
    }
    let long = "a".repeat(501);
    let r = kb.get(&app, &format!("search?q={long}")).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "q");
}

#[tokio::test]
async fn search_is_isolated_from_other_kbs_and_projects() {
    let app = TestApp::new().await;
    let (_, admin_b) = app.new_project("B").await;
    let mine = Kb::create(&app, "help").await;
    let sibling = Kb::create(&app, "sibling").await;
    let foreign = Kb::create_as(&app, &admin_b, "help", "Foreign").await;
    let cat = app.create_category(&mine.id, "Cat").await;
    let a = mine
        .article(
            &app,
            &cat,
            json!({ "title": "Zebra care", "status": "published" }),
        )
        .await;
    let cat2 = app.create_category(&sibling.id, "Cat").await;
    let b = sibling
        .article(
            &app,
            &cat2,
            json!({ "title": "Zebra sibling", "status": "published" }),
        )
        .await;
    let r = app
        .call(
            Method::POST,
            &format!("/v1/kb/{}/categories", foreign.id),
            Some(&admin_b),
            Some(json!({ "name": "Cat" })),
        )
        .await;
    let cat3 = id_of(&r);
    let r = app
        .call(
            Method::POST,
            &format!("/v1/kb/{}/articles", foreign.id),
            Some(&admin_b),
            Some(
                json!({ "category_id": cat3, "title": "Zebra foreign", "body": "x", "status": "published" }),
            ),
        )
        .await;
    let c = id_of(&r);

    let d = mine.read(&app, "search?q=zebra").await;
    assert_eq!(ids(&d["articles"]), [a.as_str()]);
    let d = sibling.read(&app, "search?q=zebra").await;
    assert_eq!(ids(&d["articles"]), [b.as_str()]);
    // Same slug, other project: the key decides which KB is searched.
    let d = foreign.read(&app, "search?q=zebra").await;
    assert_eq!(ids(&d["articles"]), [c.as_str()]);

    // Other KBs' content is not reachable by ID either.
    let r = mine.get(&app, &format!("articles/{b}")).await;
    r.assert_error(404, "article_not_found");
    let r = mine.get(&app, &format!("articles/{c}")).await;
    r.assert_error(404, "article_not_found");
    let r = mine.get(&app, &format!("categories/{cat2}")).await;
    r.assert_error(404, "category_not_found");
    let r = mine.get(&app, &format!("faqs/{cat3}")).await;
    r.assert_error(404, "category_not_found");
}

#[tokio::test]
async fn drafts_archived_and_unknown_ids_are_404() {
    let app = TestApp::new().await;
    let s = Site::new(&app).await;
    for id in [&s.draft_article, &s.archived_article, &s.draft_related] {
        let r = s.kb.get(&app, &format!("articles/{id}")).await;
        r.assert_error(404, "article_not_found");
        assert_vary_origin(&r);
        rate_headers(&r);
    }
    for id in ["kba_000000000000", "nonsense"] {
        s.kb.get(&app, &format!("articles/{id}"))
            .await
            .assert_error(404, "article_not_found");
    }
    // IDs of other kinds are not articles or categories.
    s.kb.get(&app, &format!("articles/{}", s.getting_started))
        .await
        .assert_error(404, "article_not_found");
    for id in [
        "kbc_000000000000",
        s.first_animal.as_str(),
        s.register.as_str(),
    ] {
        let r = s.kb.get(&app, &format!("categories/{id}")).await;
        r.assert_error(404, "category_not_found");
        assert_vary_origin(&r);
        let r = s.kb.get(&app, &format!("faqs/{id}")).await;
        r.assert_error(404, "category_not_found");
    }
}

#[tokio::test]
async fn is_public_does_not_matter() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let cat = app.create_category(&kb.id, "Cat").await;
    let a = kb
        .article(&app, &cat, json!({ "status": "published" }))
        .await;
    let got = app.get(&format!("/v1/kb/{}", kb.id)).await;
    assert_eq!(got.data()["is_public"], false);
    kb.read(&app, "structure").await;
    kb.read(&app, &format!("articles/{a}")).await;
    app.put(&format!("/v1/kb/{}", kb.id), json!({ "is_public": true }))
        .await
        .assert_status(200);
    kb.read(&app, "structure").await;
    kb.read(&app, &format!("articles/{a}")).await;
    app.put(&format!("/v1/kb/{}", kb.id), json!({ "is_public": false }))
        .await
        .assert_status(200);
    kb.read(&app, "structure").await;
}

#[tokio::test]
async fn ordering_is_sort_order_then_creation_everywhere() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let c3 = kb
        .category(&app, json!({ "name": "C", "sort_order": 3 }))
        .await;
    let c1 = kb
        .category(&app, json!({ "name": "A", "sort_order": 1 }))
        .await;
    let c1b = kb
        .category(&app, json!({ "name": "B", "sort_order": 1 }))
        .await;
    let s2 = kb
        .section(
            &app,
            json!({ "category_id": c1, "name": "S2", "sort_order": 2 }),
        )
        .await;
    let s1 = kb
        .section(
            &app,
            json!({ "category_id": c1, "name": "S1", "sort_order": 2 }),
        )
        .await;
    let s0 = kb
        .section(
            &app,
            json!({ "category_id": c1, "name": "S0", "sort_order": -7 }),
        )
        .await;
    let pub_ = |sort: i64, section: Option<&str>| json!({ "status": "published", "sort_order": sort, "section_id": section });
    let a1 = kb.article(&app, &c1, pub_(5, None)).await;
    let a2 = kb.article(&app, &c1, pub_(5, None)).await;
    let a0 = kb.article(&app, &c1, pub_(0, None)).await;
    let x1 = kb.article(&app, &c1, pub_(1, Some(&s1))).await;
    let x0 = kb.article(&app, &c1, pub_(1, Some(&s1))).await;
    let xm = kb.article(&app, &c1, pub_(-1, Some(&s1))).await;
    let f1 = kb
        .faq(&app, &c1, json!({ "status": "published", "sort_order": 2 }))
        .await;
    let f2 = kb
        .faq(&app, &c1, json!({ "status": "published", "sort_order": 1 }))
        .await;
    let f3 = kb
        .faq(&app, &c1, json!({ "status": "published", "sort_order": 1 }))
        .await;

    let d = kb.read(&app, "structure").await;
    assert_eq!(
        ids(&d["categories"]),
        [c1.as_str(), c1b.as_str(), c3.as_str()]
    );
    let c = &d["categories"][0];
    assert_eq!(ids(&c["sections"]), [s0.as_str(), s2.as_str(), s1.as_str()]);
    assert_eq!(
        ids(&c["sections"][2]["articles"]),
        [xm.as_str(), x1.as_str(), x0.as_str()]
    );
    assert_eq!(ids(&c["articles"]), [a0.as_str(), a1.as_str(), a2.as_str()]);
    assert_eq!(
        ids(&kb.read(&app, "categories").await),
        [c1.as_str(), c1b.as_str(), c3.as_str()]
    );
    let d = kb.read(&app, &format!("categories/{c1}")).await;
    assert_eq!(ids(&d["sections"]), [s0.as_str(), s2.as_str(), s1.as_str()]);
    assert_eq!(ids(&d["articles"]), [a0.as_str(), a1.as_str(), a2.as_str()]);
    assert_eq!(ids(&d["faqs"]), [f2.as_str(), f3.as_str(), f1.as_str()]);
    assert_eq!(
        ids(&kb.read(&app, &format!("faqs/{c1}")).await),
        [f2.as_str(), f3.as_str(), f1.as_str()]
    );
}

// ---------------------------------------------------------------------------------------------
// The gate: site key and origin
// ---------------------------------------------------------------------------------------------

/// What is refused, the URI, the site key sent, and the other headers.
type RefusalCase<'a> = (&'a str, String, Option<&'a str>, Vec<(&'a str, &'a str)>);

#[tokio::test]
async fn every_refusal_is_the_same_403() {
    let app = TestApp::new().await;
    let (_, admin_b) = app.new_project("B").await;
    set_domains(&app, &app.key, json!(["example.com"])).await;
    set_domains(&app, &admin_b, json!(["b.example.org"])).await;
    let help = Kb::create(&app, "help").await;
    let other = Kb::create(&app, "other").await;
    let rotated = Kb::create(&app, "rotated").await;
    let foreign = Kb::create_as(&app, &admin_b, "help", "Foreign help").await;
    let origin = [("origin", ORIGIN)];
    let url = help.url("structure");

    // The request that works.
    let ok = fetch(&app, &url, Some(&help.key), &origin).await;
    ok.assert_status(200);
    assert_eq!(ok.data()["title"], "KB help");

    // Revoke: the old key is refused on the very next request.
    fetch(&app, &rotated.url("structure"), Some(&rotated.key), &origin)
        .await
        .assert_status(200);
    let r = app.post_empty(&rotated.mgmt("site-key/revoke")).await;
    r.assert_status(200);
    let new_key = r.data()["site_key"].as_str().unwrap().to_string();

    let unknown = format!("psk_{}", "0123456789abcdefghijklmnopqrstuv");
    assert_eq!(unknown.len(), help.key.len(), "well-formed unknown key");
    let upper = help.key.to_uppercase().replacen("PSK_", "psk_", 1);
    let with_extra = format!("{}x", help.key);
    let cases: Vec<RefusalCase> = vec![
        ("missing key", url.clone(), None, origin.to_vec()),
        ("empty key", url.clone(), Some(""), origin.to_vec()),
        (
            "malformed key",
            url.clone(),
            Some("not-a-key"),
            origin.to_vec(),
        ),
        ("short key", url.clone(), Some("psk_abc"), origin.to_vec()),
        (
            "key with extra char",
            url.clone(),
            Some(&with_extra),
            origin.to_vec(),
        ),
        ("upper-case key", url.clone(), Some(&upper), origin.to_vec()),
        ("admin key", url.clone(), Some(&app.key), origin.to_vec()),
        (
            "unknown well-formed key",
            url.clone(),
            Some(&unknown),
            origin.to_vec(),
        ),
        (
            "revoked key",
            rotated.url("structure"),
            Some(&rotated.key),
            origin.to_vec(),
        ),
        (
            "key of another KB",
            url.clone(),
            Some(&other.key),
            origin.to_vec(),
        ),
        (
            "key with an unknown slug",
            purl("nope", "structure"),
            Some(&help.key),
            origin.to_vec(),
        ),
        (
            "key with another KB's slug",
            other.url("structure"),
            Some(&help.key),
            origin.to_vec(),
        ),
        (
            "key of another project's KB with the same slug, origin allowed only here",
            url.clone(),
            Some(&foreign.key),
            origin.to_vec(),
        ),
        (
            "bad origin",
            url.clone(),
            Some(&help.key),
            vec![("origin", "https://evil-example.com")],
        ),
        ("no origin or referer", url.clone(), Some(&help.key), vec![]),
        (
            "null origin",
            url.clone(),
            Some(&help.key),
            vec![("origin", "null")],
        ),
        (
            "bad referer",
            url.clone(),
            Some(&help.key),
            vec![("referer", "https://example.com.evil.io/page")],
        ),
    ];
    let mut header_sets = BTreeSet::new();
    for (what, uri, key, headers) in &cases {
        let r = fetch(&app, uri, *key, headers).await;
        assert_eq!(r.status.as_u16(), 403, "{what}: {}", r.text);
        assert_eq!(r.text, DENIED, "{what}");
        assert_denied(&r);
        let mut names: Vec<String> = r
            .headers
            .keys()
            .map(|k| k.as_str().to_string())
            .filter(|k| k != "date")
            .collect();
        names.sort();
        header_sets.insert((
            names,
            r.header("content-type").map(str::to_string),
            r.header("vary").map(str::to_string),
        ));
    }
    assert_eq!(
        header_sets.len(),
        1,
        "refusals differ in their headers: {header_sets:?}"
    );
    // Each refusal on every endpoint, too.
    for rest in [
        "categories",
        "categories/kbc_000000000000",
        "articles/kba_000000000000",
        "faqs/kbc_000000000000",
        "search?q=x",
        "search",
    ] {
        assert_denied(&fetch(&app, &help.url(rest), None, &origin).await);
        assert_denied(&fetch(&app, &help.url(rest), Some(&help.key), &[]).await);
    }

    // The new key works; the other project's key reads its own KB from its own origin.
    fetch(&app, &rotated.url("structure"), Some(&new_key), &origin)
        .await
        .assert_status(200);
    let r = fetch(
        &app,
        &url,
        Some(&foreign.key),
        &[("origin", "https://b.example.org")],
    )
    .await;
    assert_eq!(ok_data(&r)["title"], "Foreign help");
    // Nothing of the refusals leaked into the working request.
    let again = fetch(&app, &url, Some(&help.key), &origin).await;
    assert_eq!(again.text, ok.text);
}

#[tokio::test]
async fn origins_must_match_the_allow_list_exactly() {
    let app = TestApp::new().await;
    set_domains(&app, &app.key, json!(["example.com", "localhost:5173"])).await;
    let kb = Kb::create(&app, "help").await;
    let url = kb.url("structure");

    let allowed: &[&[(&str, &str)]] = &[
        &[("origin", "https://example.com")],
        &[("origin", "http://example.com")],
        &[("origin", "http://example.com:8080")],
        &[("origin", "https://EXAMPLE.com")],
        &[("origin", "http://localhost:5173")],
        &[("referer", "https://example.com/help/getting-started?x=1")],
        &[("referer", "http://localhost:5173/")],
        // Origin wins over Referer.
        &[
            ("origin", "https://example.com"),
            ("referer", "https://evil.io/"),
        ],
    ];
    for headers in allowed {
        let r = fetch(&app, &url, Some(&kb.key), headers).await;
        assert_eq!(r.status.as_u16(), 200, "{headers:?}: {}", r.text);
    }
    let refused: &[&[(&str, &str)]] = &[
        &[],
        &[("origin", "null")],
        &[("origin", "")],
        &[("origin", "example.com")],
        &[("origin", "ftp://example.com")],
        &[("origin", "https://evil-example.com")],
        &[("origin", "https://example.com.evil.io")],
        &[("origin", "https://sub.example.com")],
        &[("origin", "https://www.example.com")],
        &[("origin", "https://example.co")],
        &[("origin", "https://user@example.com")],
        &[("origin", "http://localhost")],
        &[("origin", "http://localhost:5174")],
        &[("origin", "http://localhost:51730")],
        &[("referer", "https://evil-example.com/")],
        &[("referer", "https://example.com.evil.io/x")],
        &[("referer", "http://localhost:3000/")],
        &[("referer", "not a url")],
        // Origin present and refused: Referer is not consulted.
        &[
            ("origin", "https://evil.io"),
            ("referer", "https://example.com/"),
        ],
        &[("origin", "null"), ("referer", "https://example.com/")],
    ];
    for headers in refused {
        let r = fetch(&app, &url, Some(&kb.key), headers).await;
        assert_eq!(r.status.as_u16(), 403, "{headers:?} was let through");
        assert_denied(&r);
    }
}

#[tokio::test]
async fn an_empty_allow_list_allows_everything() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let url = kb.url("structure");
    for headers in [
        vec![],
        vec![("origin", "https://anything.test")],
        vec![("origin", "http://localhost:1234")],
        vec![("referer", "https://somewhere.test/page")],
    ] {
        let r = fetch(&app, &url, Some(&kb.key), &headers).await;
        assert_eq!(r.status.as_u16(), 200, "{headers:?}: {}", r.text);
    }
    // Still needs a valid key.
    assert_denied(&fetch(&app, &url, None, &[]).await);
}

#[tokio::test]
async fn allow_list_changes_apply_at_once() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let url = kb.url("structure");
    let example = [("origin", ORIGIN)];
    let other = [("origin", "https://other.com")];
    // Fill the caches under the empty list.
    fetch(&app, &url, Some(&kb.key), &example)
        .await
        .assert_status(200);
    fetch(&app, &url, Some(&kb.key), &[])
        .await
        .assert_status(200);

    set_domains(&app, &app.key, json!(["example.com"])).await;
    fetch(&app, &url, Some(&kb.key), &example)
        .await
        .assert_status(200);
    assert_denied(&fetch(&app, &url, Some(&kb.key), &other).await);
    assert_denied(&fetch(&app, &url, Some(&kb.key), &[]).await);

    set_domains(&app, &app.key, json!(["other.com"])).await;
    assert_denied(&fetch(&app, &url, Some(&kb.key), &example).await);
    fetch(&app, &url, Some(&kb.key), &other)
        .await
        .assert_status(200);

    set_domains(&app, &app.key, Value::Null).await;
    fetch(&app, &url, Some(&kb.key), &[])
        .await
        .assert_status(200);
    fetch(&app, &url, Some(&kb.key), &example)
        .await
        .assert_status(200);

    // Another project's list does not affect this one.
    let (_, admin_b) = app.new_project("B").await;
    set_domains(&app, &admin_b, json!(["b.test"])).await;
    fetch(&app, &url, Some(&kb.key), &example)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn revoked_key_stops_at_once_and_new_key_works() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let old = kb.key.clone();
    let url = kb.url("structure");
    fetch(&app, &url, Some(&old), &[]).await.assert_status(200);
    fetch(&app, &url, Some(&old), &[]).await.assert_status(200);
    let r = app.post_empty(&kb.mgmt("site-key/revoke")).await;
    r.assert_status(200);
    let new = r.data()["site_key"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_denied(&fetch(&app, &url, Some(&old), &[]).await);
    fetch(&app, &url, Some(&new), &[]).await.assert_status(200);
    // Rotating again retires the second key as well.
    let r = app.post_empty(&kb.mgmt("site-key/revoke")).await;
    let newest = r.data()["site_key"].as_str().unwrap().to_string();
    assert_denied(&fetch(&app, &url, Some(&new), &[]).await);
    assert_denied(&fetch(&app, &url, Some(&old), &[]).await);
    fetch(&app, &url, Some(&newest), &[])
        .await
        .assert_status(200);
}

// ---------------------------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rate_limit_headers_on_every_response_past_the_key_check() {
    fresh_window().await;
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let cat = app.create_category(&kb.id, "Cat").await;
    let mut expected_remaining = 100;
    for rest in [
        "structure".to_string(),
        "categories".to_string(),
        format!("categories/{cat}"),
        format!("faqs/{cat}"),
        "search?q=x".to_string(),
        "articles/kba_000000000000".to_string(),
        "categories/kbc_000000000000".to_string(),
        "search".to_string(),
    ] {
        let r = kb.get(&app, &rest).await;
        assert!(r.status.as_u16() < 500, "{rest}: {}", r.text);
        expected_remaining -= 1;
        assert_eq!(rate_headers(&r), (100, expected_remaining), "{rest}");
    }
    // A 304 counts and carries them too.
    let etag = kb
        .get(&app, "structure")
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let r = fetch(
        &app,
        &kb.url("structure"),
        Some(&kb.key),
        &[("if-none-match", &etag)],
    )
    .await;
    r.assert_status(304);
    assert_eq!(rate_headers(&r), (100, expected_remaining - 2));
}

#[tokio::test]
async fn rate_limit_of_one_per_minute() {
    fresh_window().await;
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    set_rate_limit(&app, &kb.id, 1).await;
    let r = kb.get(&app, "structure").await;
    r.assert_status(200);
    assert_eq!(rate_headers(&r), (1, 0));
    let r = kb.get(&app, "structure").await;
    assert_rate_limited(&r);
    assert_eq!(rate_headers(&r), (1, 0));
    // Other endpoints share the budget.
    assert_rate_limited(&kb.get(&app, "categories").await);
}

#[tokio::test]
async fn rate_limit_at_the_configured_value_counts_per_client() {
    fresh_window().await;
    let app = TestApp::new().await;
    set_domains(&app, &app.key, json!(["example.com"])).await;
    let kb = Kb::create(&app, "help").await;
    set_rate_limit(&app, &kb.id, 5).await;
    let url = kb.url("structure");
    let origin = [("origin", ORIGIN)];
    for i in 0..5 {
        let r = fetch(&app, &url, Some(&kb.key), &origin).await;
        r.assert_status(200);
        assert_eq!(rate_headers(&r), (5, 4 - i));
    }
    let r = fetch(&app, &url, Some(&kb.key), &origin).await;
    assert_rate_limited(&r);
    assert_eq!(rate_headers(&r), (5, 0));
    // The browser may read the 429: it carries the CORS headers of the allowed origin.
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));

    // Another client address has its own budget.
    let other = ip(10, 0, 0, 2);
    for i in 0..5 {
        let r = fetch_from(&app, other, &url, Some(&kb.key), &origin).await;
        r.assert_status(200);
        assert_eq!(rate_headers(&r), (5, 4 - i));
    }
    assert_rate_limited(&fetch_from(&app, other, &url, Some(&kb.key), &origin).await);
    // And the first is still limited.
    assert_rate_limited(&fetch(&app, &url, Some(&kb.key), &origin).await);

    // Each site key has its own budget.
    let second = Kb::create(&app, "second").await;
    fetch(&app, &second.url("structure"), Some(&second.key), &origin)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn rate_limit_changes_apply_at_once() {
    fresh_window().await;
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    // Fill the caches under the default limit.
    let r = kb.get(&app, "structure").await;
    assert_eq!(rate_headers(&r), (100, 99));
    set_rate_limit(&app, &kb.id, 3).await;
    let r = kb.get(&app, "structure").await;
    r.assert_status(200);
    assert_eq!(rate_headers(&r), (3, 1), "the earlier request counts");
    let r = kb.get(&app, "structure").await;
    assert_eq!(rate_headers(&r), (3, 0));
    assert_rate_limited(&kb.get(&app, "structure").await);
    set_rate_limit(&app, &kb.id, 1000).await;
    let r = kb.get(&app, "structure").await;
    r.assert_status(200);
    assert_eq!(rate_headers(&r), (1000, 996));
    let got = app.get(&kb.mgmt("site-key")).await;
    assert_eq!(got.data()["rate_limit"], 1000);
}

#[tokio::test]
async fn forwarded_for_is_honoured_only_from_trusted_proxies() {
    fresh_window().await;
    // Untrusted peer: X-Forwarded-For is ignored, every request counts against the peer.
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    set_rate_limit(&app, &kb.id, 1).await;
    let url = kb.url("structure");
    fetch(
        &app,
        &url,
        Some(&kb.key),
        &[("x-forwarded-for", "203.0.113.1")],
    )
    .await
    .assert_status(200);
    assert_rate_limited(
        &fetch(
            &app,
            &url,
            Some(&kb.key),
            &[("x-forwarded-for", "203.0.113.2")],
        )
        .await,
    );

    // Trusted proxy: the forwarded client address is counted.
    let app = TestApp::with_config(HttpConfig {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..test_config()
    })
    .await;
    let kb = Kb::create(&app, "help").await;
    set_rate_limit(&app, &kb.id, 1).await;
    let url = kb.url("structure");
    fetch(
        &app,
        &url,
        Some(&kb.key),
        &[("x-forwarded-for", "203.0.113.1")],
    )
    .await
    .assert_status(200);
    fetch(
        &app,
        &url,
        Some(&kb.key),
        &[("x-forwarded-for", "203.0.113.2")],
    )
    .await
    .assert_status(200);
    // A spoofed hop in front of the real client does not help it.
    assert_rate_limited(
        &fetch(
            &app,
            &url,
            Some(&kb.key),
            &[("x-forwarded-for", "198.51.100.9, 203.0.113.1")],
        )
        .await,
    );
    // A peer that is not a trusted proxy is counted as itself, whatever it forwards.
    let untrusted = ip(192, 0, 2, 7);
    fetch_from(
        &app,
        untrusted,
        &url,
        Some(&kb.key),
        &[("x-forwarded-for", "203.0.113.3")],
    )
    .await
    .assert_status(200);
    assert_rate_limited(
        &fetch_from(
            &app,
            untrusted,
            &url,
            Some(&kb.key),
            &[("x-forwarded-for", "203.0.113.4")],
        )
        .await,
    );
}

#[tokio::test]
async fn refusals_are_rate_limited_per_client() {
    fresh_window().await;
    let app = TestApp::with_config(HttpConfig {
        public_refusal_rate_limit: 3,
        ..test_config()
    })
    .await;
    set_domains(&app, &app.key, json!(["example.com"])).await;
    let kb = Kb::create(&app, "help").await;
    let url = kb.url("structure");
    assert_denied(&fetch(&app, &url, None, &[("origin", ORIGIN)]).await);
    assert_denied(&fetch(&app, &url, Some("psk_bad"), &[("origin", ORIGIN)]).await);
    assert_denied(&fetch(&app, &url, Some(&kb.key), &[("origin", "https://evil.io")]).await);
    // The fourth refusal is a 429 whatever the cause, and says nothing about it.
    let a = fetch(&app, &url, None, &[("origin", ORIGIN)]).await;
    let b = fetch(&app, &url, Some(&kb.key), &[]).await;
    for r in [&a, &b] {
        assert_rate_limited(r);
        assert!(r.header("x-ratelimit-limit").is_none());
        assert!(r.header("access-control-allow-origin").is_none());
    }
    assert_eq!(a.text, b.text);
    // A valid request from the same client is not affected.
    let r = fetch(&app, &url, Some(&kb.key), &[("origin", ORIGIN)]).await;
    r.assert_status(200);
    assert_eq!(rate_headers(&r).0, 100);
    // Another client has its own refusal budget.
    let other = ip(10, 9, 8, 7);
    assert_denied(&fetch_from(&app, other, &url, None, &[]).await);
}

// ---------------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn preflight_from_an_allowed_origin_needs_no_key() {
    let app = TestApp::new().await;
    set_domains(&app, &app.key, json!(["example.com"])).await;
    let kb = Kb::create(&app, "help").await;
    for rest in [
        "structure",
        "categories",
        "categories/kbc_000000000000",
        "articles/kba_000000000000",
        "faqs/kbc_000000000000",
        "search?q=x",
    ] {
        let r = preflight(&app, &kb.url(rest), Some(ORIGIN)).await;
        assert_eq!(r.status.as_u16(), 204, "{rest}: {}", r.text);
        assert!(r.text.is_empty());
        assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
        assert!(
            header_lists(&r, "access-control-allow-headers", "x-minolith-site-key"),
            "{:?}",
            r.headers
        );
        assert!(header_lists(&r, "access-control-allow-methods", "GET"));
        assert!(r.header("access-control-allow-credentials").is_none());
        assert_vary_origin(&r);
    }
    // With a port.
    let r = preflight(&app, &kb.url("structure"), Some("http://example.com:8080")).await;
    r.assert_status(204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://example.com:8080")
    );
}

#[tokio::test]
async fn preflight_from_a_refused_origin_is_the_generic_403() {
    let app = TestApp::new().await;
    set_domains(&app, &app.key, json!(["example.com"])).await;
    let kb = Kb::create(&app, "help").await;
    let url = kb.url("structure");
    for origin in [
        Some("https://evil-example.com"),
        Some("https://example.com.evil.io"),
        Some("https://sub.example.com"),
        Some("null"),
        None,
    ] {
        let r = preflight(&app, &url, origin).await;
        assert_denied(&r);
        assert!(r.header("access-control-allow-methods").is_none());
    }
    // An unknown slug.
    assert_denied(&preflight(&app, &purl("nope", "structure"), Some(ORIGIN)).await);
    // Only a Referer does not make a CORS preflight.
    let r = app
        .send(public_req(
            Method::OPTIONS,
            &url,
            None,
            &[
                ("access-control-request-method", "GET"),
                ("referer", "https://example.com/"),
            ],
            None,
        ))
        .await;
    assert_denied(&r);
}

#[tokio::test]
async fn responses_echo_the_allowed_origin_never_star() {
    let app = TestApp::new().await;
    set_domains(&app, &app.key, json!(["example.com", "localhost:5173"])).await;
    let kb = Kb::create(&app, "help").await;
    let url = kb.url("structure");
    for origin in [
        "https://example.com",
        "http://example.com:8080",
        "http://localhost:5173",
    ] {
        let r = fetch(&app, &url, Some(&kb.key), &[("origin", origin)]).await;
        r.assert_status(200);
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        assert!(r.header("access-control-allow-credentials").is_none());
        for exposed in [
            "ETag",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "Retry-After",
        ] {
            assert!(
                header_lists(&r, "access-control-expose-headers", exposed),
                "{exposed} not exposed: {:?}",
                r.headers
            );
        }
        assert_vary_origin(&r);
    }
    // Referer-only requests are not CORS requests: nothing to echo.
    let r = fetch(
        &app,
        &url,
        Some(&kb.key),
        &[("referer", "https://example.com/x")],
    )
    .await;
    r.assert_status(200);
    assert!(r.header("access-control-allow-origin").is_none());
    assert_vary_origin(&r);

    // With an empty list any origin is echoed, still never `*`.
    set_domains(&app, &app.key, Value::Null).await;
    let r = fetch(&app, &url, Some(&kb.key), &[("origin", "https://any.test")]).await;
    r.assert_status(200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://any.test")
    );
    let r = fetch(&app, &url, Some(&kb.key), &[]).await;
    r.assert_status(200);
    assert!(r.header("access-control-allow-origin").is_none());
    assert!(r.header("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn vary_origin_on_every_public_response() {
    fresh_window().await;
    let app = TestApp::new().await;
    set_domains(&app, &app.key, json!(["example.com"])).await;
    let kb = Kb::create(&app, "help").await;
    set_rate_limit(&app, &kb.id, 8).await;
    let origin = [("origin", ORIGIN)];
    let cat = app.create_category(&kb.id, "Cat").await;
    let get = |rest: String| {
        let app = &app;
        let kb = &kb;
        async move { fetch(app, &kb.url(&rest), Some(&kb.key), &origin).await }
    };

    let mut seen = Vec::new();
    let r = get("structure".into()).await;
    r.assert_status(200);
    seen.push(status_and_vary(&r));
    let etag = r.header("etag").unwrap().to_string();
    let r = fetch(
        &app,
        &kb.url("structure"),
        Some(&kb.key),
        &[("origin", ORIGIN), ("if-none-match", &etag)],
    )
    .await;
    r.assert_status(304);
    seen.push(status_and_vary(&r));
    let r = get(format!("faqs/{cat}")).await;
    r.assert_status(200);
    seen.push(status_and_vary(&r));
    let r = get("articles/kba_000000000000".into()).await;
    r.assert_error(404, "article_not_found");
    seen.push(status_and_vary(&r));
    let r = get("categories/kbc_000000000000".into()).await;
    r.assert_error(404, "category_not_found");
    seen.push(status_and_vary(&r));
    let r = get("search".into()).await;
    r.assert_error(422, "validation_error");
    seen.push(status_and_vary(&r));
    let r = fetch(&app, &kb.url("structure"), None, &origin).await;
    r.assert_status(403);
    seen.push(status_and_vary(&r));
    let r = preflight(&app, &kb.url("structure"), Some(ORIGIN)).await;
    r.assert_status(204);
    seen.push(status_and_vary(&r));
    let r = preflight(&app, &kb.url("structure"), Some("https://evil.io")).await;
    r.assert_status(403);
    seen.push(status_and_vary(&r));
    let r = get("structure".into()).await;
    r.assert_status(200);
    let r = get("categories".into()).await;
    r.assert_status(200);
    let r = get("structure".into()).await;
    assert_rate_limited(&r);
    seen.push(status_and_vary(&r));
    for (status, vary) in &seen {
        assert!(
            vary.iter().any(|v| v
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("origin"))),
            "{status}: Vary {vary:?}"
        );
    }
    let statuses: BTreeSet<u16> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses,
        BTreeSet::from([200, 204, 304, 403, 404, 422, 429])
    );
}

/// A response's status and its `Vary` header values.
fn status_and_vary(r: &TestResponse) -> (u16, Vec<String>) {
    (
        r.status.as_u16(),
        r.headers
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Caching: ETag, gzip and invalidation by every write
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn etag_and_if_none_match() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let cat = app.create_category(&kb.id, "Cat").await;
    let a = kb
        .article(
            &app,
            &cat,
            json!({ "title": "First", "status": "published" }),
        )
        .await;
    let url = kb.url(&format!("articles/{a}"));
    let r = kb.get(&app, &format!("articles/{a}")).await;
    r.assert_status(200);
    let etag = r.header("etag").unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "a strong ETag: {etag}"
    );
    // Stable while nothing changes.
    let again = kb.get(&app, &format!("articles/{a}")).await;
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(again.text, r.text);
    // Different resources have different tags.
    let other = kb.get(&app, "structure").await;
    assert_ne!(other.header("etag"), Some(etag.as_str()));

    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"nope\", {etag}"),
        "*".to_string(),
    ] {
        let r = fetch(&app, &url, Some(&kb.key), &[("if-none-match", &inm)]).await;
        assert_eq!(r.status.as_u16(), 304, "If-None-Match: {inm}");
        assert!(r.text.is_empty(), "304 with a body: {}", r.text);
        assert_eq!(r.header("etag"), Some(etag.as_str()));
        assert_vary_origin(&r);
    }
    let r = fetch(&app, &url, Some(&kb.key), &[("if-none-match", "\"nope\"")]).await;
    r.assert_status(200);

    // A write changes the representation and its tag; the old tag no longer matches.
    app.put(
        &kb.mgmt(&format!("articles/{a}")),
        json!({ "title": "Second" }),
    )
    .await
    .assert_status(200);
    let r = fetch(&app, &url, Some(&kb.key), &[("if-none-match", &etag)]).await;
    r.assert_status(200);
    assert_eq!(r.data()["title"], "Second");
    let new_etag = r.header("etag").unwrap().to_string();
    assert_ne!(new_etag, etag);
    let r = fetch(&app, &url, Some(&kb.key), &[("if-none-match", &new_etag)]).await;
    r.assert_status(304);
    // The structure shows the title too: its old tag no longer matches either.
    let r = fetch(
        &app,
        &kb.url("structure"),
        Some(&kb.key),
        &[("if-none-match", other.header("etag").unwrap())],
    )
    .await;
    r.assert_status(200);
}

#[tokio::test]
async fn large_bodies_are_gzipped_for_clients_that_accept_it() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let cat = app.create_category(&kb.id, "Cat").await;
    let body = "Help text that repeats. ".repeat(200);
    let a = kb
        .article(
            &app,
            &cat,
            json!({ "title": "Long", "body": body, "status": "published" }),
        )
        .await;
    let url = kb.url(&format!("articles/{a}"));

    let plain = kb.get(&app, &format!("articles/{a}")).await;
    plain.assert_status(200);
    assert!(plain.text.len() > 1024);
    assert!(plain.header("content-encoding").is_none());
    assert_eq!(plain.data()["body"], body.as_str());

    for accept in ["gzip", "deflate, gzip;q=0.8, br", "GZIP"] {
        let r = fetch(&app, &url, Some(&kb.key), &[("accept-encoding", accept)]).await;
        r.assert_status(200);
        assert_eq!(r.header("content-encoding"), Some("gzip"), "{accept}");
        assert!(header_lists(&r, "vary", "accept-encoding"));
        assert_vary_origin(&r);
        // A different representation, so a different strong validator; each revalidates.
        let etag = r.header("etag").unwrap();
        assert_ne!(Some(etag), plain.header("etag"));
        assert_eq!(
            etag.trim_end_matches("-gz\"").trim_start_matches('"'),
            plain.header("etag").unwrap().trim_matches('"')
        );
        let revalidate = [("accept-encoding", accept), ("if-none-match", etag)];
        fetch(&app, &url, Some(&kb.key), &revalidate)
            .await
            .assert_status(304);
        let raw = raw_get(&app, &url, &kb.key, &[("accept-encoding", accept)]).await;
        assert!(raw.len() < plain.text.len(), "not compressed");
        let mut decoded = String::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_string(&mut decoded)
            .unwrap();
        assert_eq!(decoded, plain.text, "decompressed body differs");
        let v: Value = serde_json::from_str(&decoded).unwrap();
        assert_eq!(v, plain.body);
    }
    let plain_article = plain.text.clone();
    // Structure of a big KB is gzipped too.
    for i in 0..20 {
        kb.article(
            &app,
            &cat,
            json!({ "title": format!("Article number {i} with a long title"), "excerpt": "An excerpt of some length.", "status": "published" }),
        )
        .await;
    }
    let plain = kb.get(&app, "structure").await;
    assert!(plain.text.len() > 1024);
    let raw = raw_get(
        &app,
        &kb.url("structure"),
        &kb.key,
        &[("accept-encoding", "gzip")],
    )
    .await;
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(raw.as_slice())
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain.text);

    // Clients that do not accept gzip get the plain body.
    for accept in [
        "gzip;q=0",
        "gzip; q=0.0, identity",
        "identity",
        "br, deflate",
    ] {
        let r = fetch(&app, &url, Some(&kb.key), &[("accept-encoding", accept)]).await;
        r.assert_status(200);
        assert!(r.header("content-encoding").is_none(), "{accept}");
        assert_eq!(r.text, plain_article, "{accept}");
    }

    // Small bodies are sent as they are.
    let r = fetch(
        &app,
        &kb.url("categories"),
        Some(&kb.key),
        &[("accept-encoding", "gzip")],
    )
    .await;
    r.assert_status(200);
    assert!(r.text.len() <= 1024);
    assert!(r.header("content-encoding").is_none());
    assert!(r.body.is_object());
}

/// Titles of the published articles in the structure, category by category.
fn structure_titles(d: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for c in d["categories"].as_array().unwrap() {
        for s in c["sections"].as_array().unwrap() {
            for a in s["articles"].as_array().unwrap() {
                out.push(format!(
                    "{}/{}/{}",
                    c["name"].as_str().unwrap(),
                    s["name"].as_str().unwrap(),
                    a["title"].as_str().unwrap()
                ));
            }
        }
        for a in c["articles"].as_array().unwrap() {
            out.push(format!(
                "{}/{}",
                c["name"].as_str().unwrap(),
                a["title"].as_str().unwrap()
            ));
        }
    }
    out
}

#[tokio::test]
async fn article_writes_invalidate_the_cache() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let cat = app.create_category(&kb.id, "Cat").await;
    let titles = |d: Value| structure_titles(&d);
    assert!(titles(kb.read(&app, "structure").await).is_empty());

    // Create (published).
    let a = kb
        .article(&app, &cat, json!({ "title": "One", "status": "published" }))
        .await;
    assert_eq!(titles(kb.read(&app, "structure").await), ["Cat/One"]);
    let art = format!("articles/{a}");
    assert_eq!(kb.read(&app, &art).await["title"], "One");
    assert_eq!(
        kb.read(&app, "search?q=one").await["articles"][0]["id"],
        a.as_str()
    );
    assert_eq!(kb.read(&app, "categories").await[0]["article_count"], 1);

    // Update.
    app.put(
        &kb.mgmt(&art),
        json!({ "title": "Uno", "body": "Changed body." }),
    )
    .await
    .assert_status(200);
    assert_eq!(titles(kb.read(&app, "structure").await), ["Cat/Uno"]);
    let d = kb.read(&app, &art).await;
    assert_eq!(
        (d["title"].as_str(), d["body"].as_str()),
        (Some("Uno"), Some("Changed body."))
    );
    assert_eq!(kb.read(&app, "search?q=one").await["articles"], json!([]));
    assert_eq!(
        ids(&kb.read(&app, "search?q=uno").await["articles"]),
        [a.as_str()]
    );

    // Archive.
    app.post_empty(&kb.mgmt(&format!("{art}/archive")))
        .await
        .assert_status(200);
    assert!(titles(kb.read(&app, "structure").await).is_empty());
    kb.get(&app, &art)
        .await
        .assert_error(404, "article_not_found");
    assert_eq!(kb.read(&app, "search?q=uno").await["articles"], json!([]));
    assert_eq!(kb.read(&app, "categories").await[0]["article_count"], 0);

    // Publish.
    app.post_empty(&kb.mgmt(&format!("{art}/publish")))
        .await
        .assert_status(200);
    assert_eq!(titles(kb.read(&app, "structure").await), ["Cat/Uno"]);
    assert_eq!(kb.read(&app, &art).await["title"], "Uno");
    assert_eq!(kb.read(&app, "categories").await[0]["article_count"], 1);

    // Back to draft by update.
    app.put(&kb.mgmt(&art), json!({ "status": "draft" }))
        .await
        .assert_status(200);
    kb.get(&app, &art)
        .await
        .assert_error(404, "article_not_found");
    assert!(titles(kb.read(&app, "structure").await).is_empty());
    app.put(&kb.mgmt(&art), json!({ "status": "published" }))
        .await
        .assert_status(200);
    kb.read(&app, &art).await;

    // Related articles follow the deletion of their target.
    let b = kb
        .article(
            &app,
            &cat,
            json!({ "title": "Two", "status": "published", "related_articles": [a] }),
        )
        .await;
    assert_eq!(
        ids(&kb.read(&app, &format!("articles/{b}")).await["related_articles"]),
        [a.as_str()]
    );

    // An archived related article is left out, and comes back when republished.
    app.post_empty(&kb.mgmt(&format!("{art}/archive")))
        .await
        .assert_status(200);
    assert_eq!(
        kb.read(&app, &format!("articles/{b}")).await["related_articles"],
        json!([])
    );
    app.post_empty(&kb.mgmt(&format!("{art}/publish")))
        .await
        .assert_status(200);
    assert_eq!(
        ids(&kb.read(&app, &format!("articles/{b}")).await["related_articles"]),
        [a.as_str()]
    );

    // Delete.
    app.delete(&kb.mgmt(&art)).await.assert_status(204);
    assert_eq!(titles(kb.read(&app, "structure").await), ["Cat/Two"]);
    kb.get(&app, &art)
        .await
        .assert_error(404, "article_not_found");
    assert_eq!(
        kb.read(&app, &format!("articles/{b}")).await["related_articles"],
        json!([])
    );
    assert_eq!(kb.read(&app, "search?q=uno").await["articles"], json!([]));
}

#[tokio::test]
async fn bulk_writes_invalidate_the_cache() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let cat = app.create_category(&kb.id, "Cat").await;
    assert!(structure_titles(&kb.read(&app, "structure").await).is_empty());
    kb.read(&app, "categories").await;
    kb.read(&app, "search?q=bulk").await;

    let r = app
        .post(
            &kb.mgmt("articles/bulk"),
            json!({ "articles": [
                { "category_id": cat, "title": "Bulk A", "body": "x", "status": "published" },
                { "category_id": cat, "title": "Bulk B", "body": "x", "status": "published" },
                { "category_id": cat, "title": "Bulk C", "body": "x" },
            ] }),
        )
        .await;
    r.assert_status(201);
    let created = ids(r.data());
    assert_eq!(
        structure_titles(&kb.read(&app, "structure").await),
        ["Cat/Bulk A", "Cat/Bulk B"]
    );
    assert_eq!(kb.read(&app, "categories").await[0]["article_count"], 2);
    let mut found = ids(&kb.read(&app, "search?q=bulk").await["articles"]);
    found.sort();
    let mut expected = vec![created[0].clone(), created[1].clone()];
    expected.sort();
    assert_eq!(found, expected);
    let first = format!("articles/{}", created[0]);
    assert_eq!(kb.read(&app, &first).await["title"], "Bulk A");

    let r = app
        .put(
            &kb.mgmt("articles/bulk"),
            json!({ "articles": [
                { "id": created[0], "title": "Renamed A" },
                { "id": created[1], "status": "archived" },
                { "id": created[2], "status": "published" },
            ] }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(
        structure_titles(&kb.read(&app, "structure").await),
        ["Cat/Renamed A", "Cat/Bulk C"]
    );
    assert_eq!(kb.read(&app, &first).await["title"], "Renamed A");
    kb.get(&app, &format!("articles/{}", created[1]))
        .await
        .assert_error(404, "article_not_found");
    assert_eq!(
        ids(&kb.read(&app, "search?q=bulk").await["articles"]),
        [created[2].as_str()]
    );
}

#[tokio::test]
async fn category_and_section_writes_invalidate_the_cache() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    assert_eq!(kb.read(&app, "categories").await, json!([]));
    assert_eq!(kb.read(&app, "structure").await["categories"], json!([]));

    // Category create.
    let cat = app.create_category(&kb.id, "Cat").await;
    assert_eq!(ids(&kb.read(&app, "categories").await), [cat.as_str()]);
    assert_eq!(
        ids(&kb.read(&app, "structure").await["categories"]),
        [cat.as_str()]
    );
    let cat_url = format!("categories/{cat}");
    assert_eq!(kb.read(&app, &cat_url).await["name"], "Cat");

    // Category update.
    app.put(
        &kb.mgmt(&cat_url),
        json!({ "name": "Renamed", "icon": "star", "description": "Now described." }),
    )
    .await
    .assert_status(200);
    let d = kb.read(&app, "categories").await;
    assert_eq!(
        (&d[0]["name"], &d[0]["icon"], &d[0]["description"]),
        (&json!("Renamed"), &json!("star"), &json!("Now described."))
    );
    assert_eq!(kb.read(&app, &cat_url).await["name"], "Renamed");
    assert_eq!(
        kb.read(&app, "structure").await["categories"][0]["name"],
        "Renamed"
    );

    // Section create.
    let sec = kb
        .section(&app, json!({ "category_id": cat, "name": "Sec" }))
        .await;
    let a = kb
        .article(
            &app,
            &cat,
            json!({ "title": "In section", "section_id": sec, "status": "published" }),
        )
        .await;
    let f = kb
        .faq(
            &app,
            &cat,
            json!({ "section_id": sec, "status": "published" }),
        )
        .await;
    assert_eq!(
        structure_titles(&kb.read(&app, "structure").await),
        ["Renamed/Sec/In section"]
    );
    let art = format!("articles/{a}");
    assert_eq!(kb.read(&app, &art).await["section"]["name"], "Sec");
    assert_eq!(kb.read(&app, &cat_url).await["sections"][0]["name"], "Sec");

    // Section update.
    app.put(
        &kb.mgmt(&format!("sections/{sec}")),
        json!({ "name": "Sec 2", "description": "About." }),
    )
    .await
    .assert_status(200);
    assert_eq!(
        structure_titles(&kb.read(&app, "structure").await),
        ["Renamed/Sec 2/In section"]
    );
    assert_eq!(kb.read(&app, &art).await["section"]["name"], "Sec 2");
    assert_eq!(
        kb.read(&app, &cat_url).await["sections"][0]["description"],
        "About."
    );
    // Category rename shows in the article, too.
    app.put(&kb.mgmt(&cat_url), json!({ "name": "Cat 3" }))
        .await
        .assert_status(200);
    assert_eq!(kb.read(&app, &art).await["category"]["name"], "Cat 3");

    // Section delete: its content stays in the category.
    app.delete(&kb.mgmt(&format!("sections/{sec}")))
        .await
        .assert_status(204);
    assert_eq!(
        structure_titles(&kb.read(&app, "structure").await),
        ["Cat 3/In section"]
    );
    assert_eq!(kb.read(&app, &art).await["section"], Value::Null);
    let d = kb.read(&app, &cat_url).await;
    assert_eq!(d["sections"], json!([]));
    assert_eq!(d["faqs"][0]["section_id"], Value::Null);
    assert_eq!(ids(&d["faqs"]), [f.as_str()]);

    // Category delete cascades.
    let keep = app.create_category(&kb.id, "Keep").await;
    kb.read(&app, &format!("faqs/{cat}")).await;
    kb.read(&app, "search?q=section").await;
    app.delete(&kb.mgmt(&cat_url)).await.assert_status(204);
    assert_eq!(ids(&kb.read(&app, "categories").await), [keep.as_str()]);
    assert_eq!(
        ids(&kb.read(&app, "structure").await["categories"]),
        [keep.as_str()]
    );
    kb.get(&app, &cat_url)
        .await
        .assert_error(404, "category_not_found");
    kb.get(&app, &format!("faqs/{cat}"))
        .await
        .assert_error(404, "category_not_found");
    kb.get(&app, &art)
        .await
        .assert_error(404, "article_not_found");
    assert_eq!(
        kb.read(&app, "search?q=section").await,
        json!({ "articles": [], "faqs": [] })
    );
}

#[tokio::test]
async fn faq_writes_invalidate_the_cache() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let cat = app.create_category(&kb.id, "Cat").await;
    let faqs = format!("faqs/{cat}");
    let count = |d: Value| d["categories"][0]["faq_count"].as_u64().unwrap();
    assert_eq!(kb.read(&app, &faqs).await, json!([]));
    assert_eq!(count(kb.read(&app, "structure").await), 0);

    // Create (published).
    let f = kb
        .faq(
            &app,
            &cat,
            json!({ "question": "Walrus?", "answer": "Yes.", "status": "published" }),
        )
        .await;
    assert_eq!(ids(&kb.read(&app, &faqs).await), [f.as_str()]);
    assert_eq!(count(kb.read(&app, "structure").await), 1);
    assert_eq!(kb.read(&app, "categories").await[0]["faq_count"], 1);
    assert_eq!(
        ids(&kb.read(&app, "search?q=walrus").await["faqs"]),
        [f.as_str()]
    );

    // Update.
    app.put(
        &kb.mgmt(&format!("faqs/{f}")),
        json!({ "answer": "No, a seal." }),
    )
    .await
    .assert_status(200);
    assert_eq!(kb.read(&app, &faqs).await[0]["answer"], "No, a seal.");
    assert_eq!(
        kb.read(&app, &format!("categories/{cat}")).await["faqs"][0]["answer"],
        "No, a seal."
    );
    assert_eq!(
        ids(&kb.read(&app, "search?q=seal").await["faqs"]),
        [f.as_str()]
    );

    // A draft FAQ does not appear; publishing it does.
    let d = kb
        .faq(
            &app,
            &cat,
            json!({ "question": "Narwhal?", "answer": "Horn." }),
        )
        .await;
    assert_eq!(ids(&kb.read(&app, &faqs).await), [f.as_str()]);
    assert_eq!(kb.read(&app, "search?q=narwhal").await["faqs"], json!([]));
    app.post_empty(&kb.mgmt(&format!("faqs/{d}/publish")))
        .await
        .assert_status(200);
    assert_eq!(ids(&kb.read(&app, &faqs).await), [f.as_str(), d.as_str()]);
    assert_eq!(count(kb.read(&app, "structure").await), 2);
    assert_eq!(
        ids(&kb.read(&app, "search?q=narwhal").await["faqs"]),
        [d.as_str()]
    );

    // Archived by update.
    app.put(
        &kb.mgmt(&format!("faqs/{d}")),
        json!({ "status": "archived" }),
    )
    .await
    .assert_status(200);
    assert_eq!(ids(&kb.read(&app, &faqs).await), [f.as_str()]);
    assert_eq!(kb.read(&app, "categories").await[0]["faq_count"], 1);

    // Delete.
    app.delete(&kb.mgmt(&format!("faqs/{f}")))
        .await
        .assert_status(204);
    assert_eq!(kb.read(&app, &faqs).await, json!([]));
    assert_eq!(count(kb.read(&app, "structure").await), 0);
    assert_eq!(kb.read(&app, "search?q=seal").await["faqs"], json!([]));
}

#[tokio::test]
async fn kb_writes_invalidate_the_cache() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let cat = app.create_category(&kb.id, "Cat").await;
    let a = kb
        .article(&app, &cat, json!({ "status": "published" }))
        .await;
    assert_eq!(kb.read(&app, "structure").await["title"], "KB help");

    // Title and description.
    app.put(
        &format!("/v1/kb/{}", kb.id),
        json!({ "title": "New title", "description": "New description." }),
    )
    .await
    .assert_status(200);
    let d = kb.read(&app, "structure").await;
    assert_eq!(d["title"], "New title");
    assert_eq!(d["description"], "New description.");

    // Slug: the old one is refused at once, the new one works with the same key.
    kb.read(&app, &format!("articles/{a}")).await;
    app.put(&format!("/v1/kb/{}", kb.id), json!({ "slug": "renamed" }))
        .await
        .assert_status(200);
    for rest in ["structure".to_string(), format!("articles/{a}")] {
        assert_denied(&kb.get(&app, &rest).await);
    }
    let moved = Kb {
        slug: "renamed".into(),
        ..kb.clone()
    };
    let d = moved.read(&app, "structure").await;
    assert_eq!(d["slug"], "renamed");
    moved.read(&app, &format!("articles/{a}")).await;
    // Preflights follow the slug too.
    assert_denied(&preflight(&app, &kb.url("structure"), Some(ORIGIN)).await);
    preflight(&app, &moved.url("structure"), Some(ORIGIN))
        .await
        .assert_status(204);

    // A new KB that takes the old slug has its own key; the moved KB's key does not reach it.
    let successor = Kb::create(&app, "help").await;
    assert_eq!(successor.read(&app, "structure").await["title"], "KB help");
    assert_denied(&kb.get(&app, "structure").await);

    // Delete: the key is gone with the KB.
    app.delete(&format!("/v1/kb/{}", kb.id))
        .await
        .assert_status(204);
    assert_denied(&moved.get(&app, "structure").await);
    assert_denied(&moved.get(&app, &format!("articles/{a}")).await);
    successor.read(&app, "structure").await;
}

#[tokio::test]
async fn writes_to_one_kb_leave_another_kbs_cache_correct() {
    let app = TestApp::new().await;
    let one = Kb::create(&app, "one").await;
    let two = Kb::create(&app, "two").await;
    let c1 = app.create_category(&one.id, "One").await;
    let c2 = app.create_category(&two.id, "Two").await;
    let before_two = fetch(&app, &two.url("structure"), Some(&two.key), &[]).await;
    one.article(
        &app,
        &c1,
        json!({ "title": "Only one", "status": "published" }),
    )
    .await;
    assert_eq!(
        structure_titles(&one.read(&app, "structure").await),
        ["One/Only one"]
    );
    let after_two = fetch(&app, &two.url("structure"), Some(&two.key), &[]).await;
    assert_eq!(after_two.text, before_two.text);
    two.article(
        &app,
        &c2,
        json!({ "title": "Only two", "status": "published" }),
    )
    .await;
    assert_eq!(
        structure_titles(&two.read(&app, "structure").await),
        ["Two/Only two"]
    );
    assert_eq!(
        structure_titles(&one.read(&app, "structure").await),
        ["One/Only one"]
    );
}

#[tokio::test]
async fn trailing_slash_and_failed_writes() {
    let app = TestApp::new().await;
    let kb = Kb::create(&app, "help").await;
    let cat = app.create_category(&kb.id, "Cat").await;
    kb.read(&app, "structure/").await;
    let before = kb.get(&app, "structure").await;
    // A rejected write changes nothing.
    app.post(
        &kb.mgmt("articles"),
        json!({ "category_id": cat, "title": "" }),
    )
    .await
    .assert_error(422, "validation_error");
    let after = kb.get(&app, "structure").await;
    assert_eq!(after.text, before.text);
}

#[tokio::test]
async fn unmatched_public_paths_and_methods_vary_by_origin_too() {
    let app = TestApp::new().await;
    for (method, path) in [
        (Method::GET, "/v1/kb/public/help/nope"),
        (Method::GET, "/v1/kb/public/help"),
        (Method::POST, "/v1/kb/public/help/structure"),
        (
            Method::DELETE,
            "/v1/kb/public/help/articles/kba_000000000000",
        ),
    ] {
        let r = app.call(method.clone(), path, None, None).await;
        assert!(r.status.is_client_error(), "{method} {path}: {}", r.status);
        assert!(
            r.body["error"]["code"].is_string(),
            "{method} {path}: no envelope"
        );
        assert!(
            r.header("vary")
                .is_some_and(|v| v.to_ascii_lowercase().contains("origin")),
            "{method} {path}: no Vary: Origin"
        );
    }
}
