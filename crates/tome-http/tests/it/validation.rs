//! Request validation through HTTP: every limit of the spec's Limits table at its boundary
//! (counted in characters, not bytes), required fields, unknown fields, wrong JSON types, body
//! and transport errors (content type, malformed JSON, size), unknown routes and methods, and a
//! sweep of odd values over every create and update endpoint that must never produce a 500.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{Value, json};

use crate::support::{TestApp, TestResponse, id_of};

// ---------------------------------------------------------------- helpers

/// Multi-byte characters: 2 bytes and 4 bytes (2 UTF-16 units) in UTF-8. An implementation that
/// counts bytes or UTF-16 units rejects a value of `max` of these.
const WIDE: [&str; 2] = ["é", "😀"];

/// A slug no other call in this test binary uses.
fn uniq(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// Asserts a 422 `validation_error` whose `details.field` is `field`.
#[track_caller]
fn assert_invalid(r: &TestResponse, field: &str) {
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), field, "wrong details.field; body: {}", r.text);
    assert!(
        r.body["error"]["details"]["reason"].is_string(),
        "no details.reason: {}",
        r.text
    );
}

/// Asserts the error envelope `{"error": {"code", "message", "details"}}` and nothing else.
#[track_caller]
fn assert_envelope(r: &TestResponse) {
    let obj = r
        .body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not a JSON object: {:?}", r.text));
    assert_eq!(
        obj.len(),
        1,
        "error body has extra top-level keys: {}",
        r.text
    );
    let e = &r.body["error"];
    assert!(e["code"].is_string(), "no error.code: {}", r.text);
    assert!(e["message"].is_string(), "no error.message: {}", r.text);
    assert!(e.get("details").is_some(), "no error.details: {}", r.text);
    let ct = r.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "error content-type {ct:?}: {}",
        r.text
    );
}

/// A request with the admin key, an optional content type and a raw body.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> TestResponse {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", app.key));
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    app.send(b.body(body.into()).unwrap()).await
}

async fn send_json(app: &TestApp, method: &Method, path: &str, body: Value) -> TestResponse {
    app.call(method.clone(), path, Some(&app.key), Some(body))
        .await
}

/// Sets `path` (dot-separated object keys) in `v`, creating objects on the way.
fn set_path(v: &mut Value, path: &str, value: Value) {
    let mut cur = v;
    let mut parts = path.split('.').peekable();
    while let Some(key) = parts.next() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let obj = cur.as_object_mut().unwrap();
        if parts.peek().is_none() {
            obj.insert(key.to_string(), value);
            return;
        }
        cur = obj.entry(key.to_string()).or_insert_with(|| json!({}));
    }
}

fn get_path<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |cur, key| &cur[key])
}

/// A knowledge base with one category, one section in it and one article.
struct Fixture {
    app: TestApp,
    kb: String,
    cat: String,
    sec: String,
    art: String,
    faq: String,
}

impl Fixture {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let kb = app.create_kb(&uniq("fixture")).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let cat = app.create_category(&kb, "Getting Started").await;
        let sec = app.create_section(&kb, &cat, "First steps").await;
        let art = app.create_article(&kb, &cat, json!({})).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let faq = app.create_faq(&kb, &cat, json!({})).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        Fixture {
            app,
            kb,
            cat,
            sec,
            art,
            faq,
        }
    }

    fn url(&self, rest: &str) -> String {
        format!("/v1/kb/{}{rest}", self.kb)
    }
}

/// The boundary of a text limit on one endpoint: `max` characters of each multi-byte
/// character are accepted and stored whole; `max + 1` characters (multi-byte or ASCII) are a
/// 422 naming `field`. `base` builds a fresh valid body for each request.
async fn check_text_limit(
    app: &TestApp,
    method: Method,
    path: &str,
    base: impl Fn() -> Value,
    field: &str,
    max: usize,
) {
    let ok = if method == Method::POST { 201 } else { 200 };
    for ch in WIDE {
        let at = ch.repeat(max);
        let mut body = base();
        set_path(&mut body, field, json!(at));
        let r = send_json(app, &method, path, body).await;
        r.assert_status(ok);
        let stored = get_path(r.data(), field)
            .as_str()
            .unwrap_or_else(|| panic!("{field} missing: {}", r.text));
        assert_eq!(
            stored.chars().count(),
            max,
            "{method} {path}: {field} not stored whole"
        );
        assert_eq!(stored, at);

        let mut body = base();
        set_path(&mut body, field, json!(ch.repeat(max + 1)));
        assert_invalid(&send_json(app, &method, path, body).await, field);
    }
    let mut body = base();
    set_path(&mut body, field, json!("a".repeat(max + 1)));
    assert_invalid(&send_json(app, &method, path, body).await, field);
}

// ---------------------------------------------------------------- the Limits table

#[tokio::test]
async fn kb_slug_is_200_chars_of_lowercase_digits_and_hyphens() {
    let app = TestApp::new().await;
    let post = |slug: &str| app.post("/v1/kb", json!({ "title": "KB", "slug": slug }));

    let at = format!("{}-1", "a".repeat(198));
    let r = post(&at).await;
    r.assert_status(201);
    assert_eq!(r.data()["slug"], at.as_str());
    let kb = id_of(&r);
    assert_invalid(&post(&"b".repeat(201)).await, "slug");
    post("a-b-1").await.assert_status(201);
    post("0123456789-abcdefghijklmnopqrstuvwxyz")
        .await
        .assert_status(201);

    for bad in [
        "",
        "Upper",
        "UPPER",
        "with space",
        "with_underscore",
        "ümlaut",
        "café",
        "a.b",
        "a/b",
        "😀",
        " a",
        "a\u{0}",
    ] {
        assert_invalid(&post(bad).await, "slug");
    }

    // The same rules on update.
    let path = format!("/v1/kb/{kb}");
    let r = app.put(&path, json!({ "slug": "c".repeat(200) })).await;
    r.assert_status(200);
    assert_eq!(r.data()["slug"], "c".repeat(200));
    assert_invalid(
        &app.put(&path, json!({ "slug": "c".repeat(201) })).await,
        "slug",
    );
    for bad in ["", "Upper", "with space", "with_underscore", "ümlaut"] {
        assert_invalid(&app.put(&path, json!({ "slug": bad })).await, "slug");
    }
    app.put(&path, json!({ "slug": "a-b-2" }))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn kb_title_is_500_chars_on_create_and_update() {
    let app = TestApp::new().await;
    check_text_limit(
        &app,
        Method::POST,
        "/v1/kb",
        || json!({ "title": "KB", "slug": uniq("t") }),
        "title",
        500,
    )
    .await;
    let kb = app.create_kb("title-update").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    check_text_limit(
        &app,
        Method::PUT,
        &format!("/v1/kb/{kb}"),
        || json!({}),
        "title",
        500,
    )
    .await;
}

#[tokio::test]
async fn kb_description_is_10000_chars_on_create_and_update() {
    let app = TestApp::new().await;
    check_text_limit(
        &app,
        Method::POST,
        "/v1/kb",
        || json!({ "title": "KB", "slug": uniq("d") }),
        "description",
        10_000,
    )
    .await;
    let kb = app.create_kb("description-update").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    check_text_limit(
        &app,
        Method::PUT,
        &format!("/v1/kb/{kb}"),
        || json!({}),
        "description",
        10_000,
    )
    .await;
}

#[tokio::test]
async fn theme_settings_custom_css_is_50000_chars() {
    let app = TestApp::new().await;
    check_text_limit(
        &app,
        Method::POST,
        "/v1/kb",
        || json!({ "title": "KB", "slug": uniq("css") }),
        "theme_settings.custom_css",
        50_000,
    )
    .await;
    let kb = app.create_kb("css-update").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    check_text_limit(
        &app,
        Method::PUT,
        &format!("/v1/kb/{kb}"),
        || json!({}),
        "theme_settings.custom_css",
        50_000,
    )
    .await;
}

#[tokio::test]
async fn theme_settings_primary_color_must_be_hex() {
    let app = TestApp::new().await;
    let kb = app.create_kb("colours").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/kb/{kb}");
    for good in ["#4f46e5", "#fff", "#FFF", "#4F46E5", "#000000"] {
        let r = app.post("/v1/kb", json!({ "title": "KB", "slug": uniq("c"), "theme_settings": { "primary_color": good } })).await;
        r.assert_status(201);
        assert_eq!(r.data()["theme_settings"]["primary_color"], good);
        let r = app
            .put(
                &path,
                json!({ "theme_settings": { "primary_color": good } }),
            )
            .await;
        r.assert_status(200);
        assert_eq!(r.data()["theme_settings"]["primary_color"], good);
    }
    for bad in [
        "red",
        "#12345",
        "4f46e5",
        "",
        "#",
        "#ggg",
        "#4f46e5ff",
        "#1234",
        " #fff",
        "#fff ",
        "＃fff",
    ] {
        let r = app.post("/v1/kb", json!({ "title": "KB", "slug": uniq("c"), "theme_settings": { "primary_color": bad } })).await;
        assert_invalid(&r, "theme_settings.primary_color");
        let r = app
            .put(&path, json!({ "theme_settings": { "primary_color": bad } }))
            .await;
        assert_invalid(&r, "theme_settings.primary_color");
    }
}

#[tokio::test]
async fn theme_must_be_one_of_the_five() {
    let app = TestApp::new().await;
    let kb = app.create_kb("themes").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post("/v1/kb", json!({ "title": "KB", "slug": uniq("th") }))
        .await;
    r.assert_status(201);
    assert_eq!(r.data()["theme"], "minimal", "default theme");
    for theme in ["minimal", "developer", "brand", "docs", "bare"] {
        let r = app
            .post(
                "/v1/kb",
                json!({ "title": "KB", "slug": uniq("th"), "theme": theme }),
            )
            .await;
        r.assert_status(201);
        assert_eq!(r.data()["theme"], theme);
        let r = app
            .put(&format!("/v1/kb/{kb}"), json!({ "theme": theme }))
            .await;
        r.assert_status(200);
        assert_eq!(r.data()["theme"], theme);
    }
    for bad in ["fancy", "Minimal", "BARE", "", " minimal", "minimal "] {
        assert_invalid(
            &app.post(
                "/v1/kb",
                json!({ "title": "KB", "slug": uniq("th"), "theme": bad }),
            )
            .await,
            "theme",
        );
        assert_invalid(
            &app.put(&format!("/v1/kb/{kb}"), json!({ "theme": bad }))
                .await,
            "theme",
        );
    }
}

#[tokio::test]
async fn category_name_is_200_chars_on_create_and_update() {
    let f = Fixture::new().await;
    check_text_limit(
        &f.app,
        Method::POST,
        &f.url("/categories"),
        || json!({}),
        "name",
        200,
    )
    .await;
    check_text_limit(
        &f.app,
        Method::PUT,
        &f.url(&format!("/categories/{}", f.cat)),
        || json!({}),
        "name",
        200,
    )
    .await;
}

#[tokio::test]
async fn section_name_is_200_chars_on_create_and_update() {
    let f = Fixture::new().await;
    let cat = f.cat.clone();
    check_text_limit(
        &f.app,
        Method::POST,
        &f.url("/sections"),
        || json!({ "category_id": cat }),
        "name",
        200,
    )
    .await;
    check_text_limit(
        &f.app,
        Method::PUT,
        &f.url(&format!("/sections/{}", f.sec)),
        || json!({}),
        "name",
        200,
    )
    .await;
}

#[tokio::test]
async fn article_title_is_500_chars_on_create_and_update() {
    let f = Fixture::new().await;
    let cat = f.cat.clone();
    check_text_limit(
        &f.app,
        Method::POST,
        &f.url("/articles"),
        || json!({ "category_id": cat }),
        "title",
        500,
    )
    .await;
    check_text_limit(
        &f.app,
        Method::PUT,
        &f.url(&format!("/articles/{}", f.art)),
        || json!({}),
        "title",
        500,
    )
    .await;
}

#[tokio::test]
async fn article_body_is_100000_chars_on_create_and_update() {
    let f = Fixture::new().await;
    let cat = f.cat.clone();
    check_text_limit(
        &f.app,
        Method::POST,
        &f.url("/articles"),
        || json!({ "category_id": cat, "title": "T" }),
        "body",
        100_000,
    )
    .await;
    check_text_limit(
        &f.app,
        Method::PUT,
        &f.url(&format!("/articles/{}", f.art)),
        || json!({}),
        "body",
        100_000,
    )
    .await;
}

#[tokio::test]
async fn article_excerpt_is_500_chars_on_create_and_update() {
    let f = Fixture::new().await;
    let cat = f.cat.clone();
    check_text_limit(
        &f.app,
        Method::POST,
        &f.url("/articles"),
        || json!({ "category_id": cat, "title": "T" }),
        "excerpt",
        500,
    )
    .await;
    check_text_limit(
        &f.app,
        Method::PUT,
        &f.url(&format!("/articles/{}", f.art)),
        || json!({}),
        "excerpt",
        500,
    )
    .await;
}

#[tokio::test]
async fn article_tags_are_at_most_20_of_at_most_100_chars() {
    let f = Fixture::new().await;
    let (app, cat) = (&f.app, &f.cat);
    let put_path = f.url(&format!("/articles/{}", f.art));
    for ch in WIDE {
        // 20 distinct tags of exactly 100 characters each.
        let tags: Vec<String> = (0..20)
            .map(|i| format!("{i:02}{}", ch.repeat(98)))
            .collect();
        let r = app
            .post(
                &f.url("/articles"),
                json!({ "category_id": cat, "title": "T", "tags": tags }),
            )
            .await;
        r.assert_status(201);
        assert_eq!(r.data()["tags"], json!(tags));
        let r = app.put(&put_path, json!({ "tags": tags })).await;
        r.assert_status(200);
        assert_eq!(r.data()["tags"], json!(tags));

        let mut too_many = tags.clone();
        too_many.push("extra".to_string());
        let r = app
            .post(
                &f.url("/articles"),
                json!({ "category_id": cat, "title": "T", "tags": too_many }),
            )
            .await;
        assert_invalid(&r, "tags");
        assert_invalid(
            &app.put(&put_path, json!({ "tags": too_many })).await,
            "tags",
        );

        let mut too_long = tags[..5].to_vec();
        too_long[3] = ch.repeat(101);
        let r = app
            .post(
                &f.url("/articles"),
                json!({ "category_id": cat, "title": "T", "tags": too_long }),
            )
            .await;
        assert_invalid(&r, "tags[3]");
        assert_invalid(
            &app.put(&put_path, json!({ "tags": too_long })).await,
            "tags[3]",
        );
    }
    let r = app
        .post(
            &f.url("/articles"),
            json!({ "category_id": cat, "title": "T", "tags": ["ok", "a".repeat(101)] }),
        )
        .await;
    assert_invalid(&r, "tags[1]");
    // An empty list is fine; a blank tag is not.
    app.put(&put_path, json!({ "tags": [] }))
        .await
        .assert_status(200);
    assert_invalid(
        &app.put(&put_path, json!({ "tags": ["ok", ""] })).await,
        "tags[1]",
    );
}

#[tokio::test]
async fn article_related_articles_are_at_most_10() {
    let f = Fixture::new().await;
    let (app, cat) = (&f.app, &f.cat);
    let items: Vec<Value> = (0..11)
        .map(|i| json!({ "category_id": cat, "title": format!("Related {i}") }))
        .collect();
    let r = app
        .post(&f.url("/articles/bulk"), json!({ "articles": items }))
        .await;
    r.assert_status(201);
    let ids: Vec<String> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 11);

    let r = app
        .post(
            &f.url("/articles"),
            json!({ "category_id": cat, "title": "T", "related_articles": ids[..10] }),
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.data()["related_articles"], json!(ids[..10]));
    let put_path = f.url(&format!("/articles/{}", f.art));
    let r = app
        .put(&put_path, json!({ "related_articles": ids[..10] }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["related_articles"], json!(ids[..10]));

    let r = app
        .post(
            &f.url("/articles"),
            json!({ "category_id": cat, "title": "T", "related_articles": ids }),
        )
        .await;
    assert_invalid(&r, "related_articles");
    assert_invalid(
        &app.put(&put_path, json!({ "related_articles": ids })).await,
        "related_articles",
    );
    // A malformed ID is named by its position.
    let r = app
        .put(
            &put_path,
            json!({ "related_articles": [ids[0], "not-an-id"] }),
        )
        .await;
    assert_invalid(&r, "related_articles[1]");
}

#[tokio::test]
async fn faq_question_is_500_and_answer_10000_chars() {
    let f = Fixture::new().await;
    let cat = f.cat.clone();
    let faq_path = f.url(&format!("/faqs/{}", f.faq));
    check_text_limit(
        &f.app,
        Method::POST,
        &f.url("/faqs"),
        || json!({ "category_id": cat, "answer": "A" }),
        "question",
        500,
    )
    .await;
    check_text_limit(
        &f.app,
        Method::PUT,
        &faq_path,
        || json!({}),
        "question",
        500,
    )
    .await;
    check_text_limit(
        &f.app,
        Method::POST,
        &f.url("/faqs"),
        || json!({ "category_id": cat, "question": "Q?" }),
        "answer",
        10_000,
    )
    .await;
    check_text_limit(
        &f.app,
        Method::PUT,
        &faq_path,
        || json!({}),
        "answer",
        10_000,
    )
    .await;
}

#[tokio::test]
async fn site_key_rate_limit_is_1_to_1000() {
    let f = Fixture::new().await;
    let path = f.url("/site-key");
    for n in [1, 1000, 100, 500] {
        let r = f.app.put(&path, json!({ "rate_limit": n })).await;
        r.assert_status(200);
        assert_eq!(r.data()["rate_limit"], n);
        assert_eq!(f.app.get(&path).await.data()["rate_limit"], n);
    }
    for bad in [
        json!(0),
        json!(1001),
        json!(-1),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(1.5),
        json!("100"),
        json!(null),
        json!(true),
    ] {
        assert_invalid(
            &f.app.put(&path, json!({ "rate_limit": bad })).await,
            "rate_limit",
        );
    }
    assert_invalid(&f.app.put(&path, json!({})).await, "rate_limit");
    assert_eq!(
        f.app.get(&path).await.data()["rate_limit"],
        500,
        "failed updates changed nothing"
    );
}

#[tokio::test]
async fn bulk_takes_1_to_20_articles() {
    let f = Fixture::new().await;
    let (app, cat) = (&f.app, &f.cat);
    let bulk = f.url("/articles/bulk");
    let items = |n: usize, ch: &str| -> Vec<Value> {
        (0..n)
            .map(|i| json!({ "category_id": cat, "title": format!("{}{i}", ch.repeat(498)) }))
            .collect()
    };

    let r = app
        .post(&bulk, json!({ "articles": items(20, "😀") }))
        .await;
    r.assert_status(201);
    let created = r.data().as_array().unwrap().clone();
    assert_eq!(created.len(), 20);
    assert_eq!(created[7]["title"].as_str().unwrap().chars().count(), 499);
    assert_eq!(created[17]["title"].as_str().unwrap().chars().count(), 500);

    assert_invalid(
        &app.post(&bulk, json!({ "articles": items(21, "é") })).await,
        "articles",
    );
    assert_invalid(
        &app.post(&bulk, json!({ "articles": [] })).await,
        "articles",
    );
    assert_invalid(&app.post(&bulk, json!({})).await, "articles");
    assert_invalid(
        &app.post(&bulk, json!({ "articles": null })).await,
        "articles",
    );

    // Update: 20 at once, each title at its limit.
    let updates: Vec<Value> = created
        .iter()
        .map(|a| json!({ "id": a["id"], "title": "é".repeat(500), "excerpt": "😀".repeat(500) }))
        .collect();
    let r = app.put(&bulk, json!({ "articles": updates })).await;
    r.assert_status(200);
    assert_eq!(r.data().as_array().unwrap().len(), 20);
    assert_eq!(r.data()[19]["title"], "é".repeat(500));
    let mut too_many = updates.clone();
    too_many.push(json!({ "id": f.art, "title": "x" }));
    assert_invalid(
        &app.put(&bulk, json!({ "articles": too_many })).await,
        "articles",
    );
    assert_invalid(&app.put(&bulk, json!({ "articles": [] })).await, "articles");
}

#[tokio::test]
async fn bulk_errors_name_the_item_and_field() {
    let f = Fixture::new().await;
    let (app, cat) = (&f.app, &f.cat);
    let bulk = f.url("/articles/bulk");
    let ok = json!({ "category_id": cat, "title": "Fine" });

    let with = |i: usize, item: Value| -> Value {
        let mut list = vec![ok.clone(); 5];
        list[i] = item;
        json!({ "articles": list })
    };
    let cases = [
        (
            3,
            json!({ "category_id": cat, "title": "😀".repeat(501) }),
            "articles[3].title",
        ),
        (
            2,
            json!({ "title": "No category" }),
            "articles[2].category_id",
        ),
        (0, json!({ "category_id": cat }), "articles[0].title"),
        (
            1,
            json!({ "category_id": cat, "title": "T", "body": "é".repeat(100_001) }),
            "articles[1].body",
        ),
        (
            4,
            json!({ "category_id": cat, "title": "T", "excerpt": "é".repeat(501) }),
            "articles[4].excerpt",
        ),
        (
            4,
            json!({ "category_id": cat, "title": "T", "tags": ["a", "é".repeat(101)] }),
            "articles[4].tags[1]",
        ),
        (
            2,
            json!({ "category_id": cat, "title": "T", "tags": vec!["t"; 21] }),
            "articles[2].tags",
        ),
        (
            1,
            json!({ "category_id": cat, "title": "T", "status": "live" }),
            "articles[1].status",
        ),
        (
            1,
            json!({ "category_id": cat, "title": "T", "foo": 1 }),
            "articles[1].foo",
        ),
        (
            2,
            json!({ "category_id": cat, "title": 5 }),
            "articles[2].title",
        ),
        (
            0,
            json!({ "category_id": cat, "title": "T", "sort_order": 1.5 }),
            "articles[0].sort_order",
        ),
        (
            3,
            json!({ "category_id": "kbc_000000000000", "title": "T" }),
            "articles[3].category_id",
        ),
    ];
    for (i, item, field) in cases {
        assert_invalid(&app.post(&bulk, with(i, item)).await, field);
    }
    // The multi-byte at-limit values pass in a bulk item too.
    let r = app.post(&bulk, with(3, json!({ "category_id": cat, "title": "😀".repeat(500), "body": "é".repeat(100_000) }))).await;
    r.assert_status(201);
    assert_invalid(
        &app.post(&bulk, json!({ "articles": [ok], "foo": true }))
            .await,
        "foo",
    );

    // Update items are named the same way.
    let upd = |i: usize, item: Value| -> Value {
        let mut list = vec![json!({ "id": f.art, "title": "Fine" }); 3];
        list[i] = item;
        json!({ "articles": list })
    };
    let cases = [
        (1, json!({ "title": "T" }), "articles[1].id"),
        (
            2,
            json!({ "id": "kba_000000000000", "title": "T" }),
            "articles[2].id",
        ),
        (
            0,
            json!({ "id": f.art, "title": null }),
            "articles[0].title",
        ),
        (
            2,
            json!({ "id": f.art, "title": "é".repeat(501) }),
            "articles[2].title",
        ),
        (1, json!({ "id": f.art, "bar": 1 }), "articles[1].bar"),
        (
            1,
            json!({ "id": f.art, "is_public": true }),
            "articles[1].is_public",
        ),
    ];
    for (i, item, field) in cases {
        assert_invalid(&app.put(&bulk, upd(i, item)).await, field);
    }
}

#[tokio::test]
async fn search_query_is_1_to_500_chars() {
    let f = Fixture::new().await;
    for ch in WIDE {
        let r = f
            .app
            .get(&f.url(&format!("/search?q={}", urlencode(&ch.repeat(500)))))
            .await;
        r.assert_status(200);
        assert_invalid(
            &f.app
                .get(&f.url(&format!("/search?q={}", urlencode(&ch.repeat(501)))))
                .await,
            "q",
        );
    }
    for q in ["", "%20%20", "%09"] {
        assert_invalid(&f.app.get(&f.url(&format!("/search?q={q}"))).await, "q");
    }
    assert_invalid(&f.app.get(&f.url("/search")).await, "q");
}

#[tokio::test]
async fn project_allowed_domains_are_at_most_100_bare_hosts() {
    let app = TestApp::new().await;
    let hosts: Vec<String> = (0..100).map(|i| format!("host{i}.example.com")).collect();
    let r = app
        .put("/v1/project", json!({ "allowed_domains": hosts }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["allowed_domains"], json!(hosts));
    let mut too_many = hosts.clone();
    too_many.push("one-more.example.com".to_string());
    assert_invalid(
        &app.put("/v1/project", json!({ "allowed_domains": too_many }))
            .await,
        "allowed_domains",
    );
    for bad in [
        "https://x.com",
        "*.x.com",
        "x.com/path",
        "",
        "x.com:0",
        "exa mple.com",
    ] {
        let r = app
            .put("/v1/project", json!({ "allowed_domains": ["ok.com", bad] }))
            .await;
        assert_invalid(&r, "allowed_domains[1]");
    }
    let r = app
        .put(
            "/v1/project",
            json!({ "allowed_domains": ["Studbook.Farm", "studbook.farm", "localhost:5173"] }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(
        r.data()["allowed_domains"],
        json!(["studbook.farm", "localhost:5173"])
    );
}

// ---------------------------------------------------------------- required fields and null

#[tokio::test]
async fn missing_required_fields_are_named() {
    let f = Fixture::new().await;
    let (app, cat) = (&f.app, &f.cat);
    let cases = [
        ("/v1/kb".to_string(), json!({}), "title"),
        ("/v1/kb".to_string(), json!({ "slug": "x" }), "title"),
        ("/v1/kb".to_string(), json!({ "title": "x" }), "slug"),
        (
            "/v1/kb".to_string(),
            json!({ "title": null, "slug": "x" }),
            "title",
        ),
        (
            "/v1/kb".to_string(),
            json!({ "title": "x", "slug": null }),
            "slug",
        ),
        (
            "/v1/kb".to_string(),
            json!({ "title": "   ", "slug": "x" }),
            "title",
        ),
        (f.url("/categories"), json!({}), "name"),
        (
            f.url("/categories"),
            json!({ "description": "d", "icon": "book" }),
            "name",
        ),
        (f.url("/categories"), json!({ "name": " \n\t " }), "name"),
        (f.url("/sections"), json!({}), "category_id"),
        (f.url("/sections"), json!({ "name": "n" }), "category_id"),
        (f.url("/sections"), json!({ "category_id": cat }), "name"),
        (f.url("/articles"), json!({}), "category_id"),
        (f.url("/articles"), json!({ "title": "t" }), "category_id"),
        (f.url("/articles"), json!({ "category_id": cat }), "title"),
        (
            f.url("/articles"),
            json!({ "category_id": cat, "body": "only a body" }),
            "title",
        ),
        (f.url("/faqs"), json!({}), "category_id"),
        (
            f.url("/faqs"),
            json!({ "question": "q", "answer": "a" }),
            "category_id",
        ),
        (
            f.url("/faqs"),
            json!({ "category_id": cat, "answer": "a" }),
            "question",
        ),
        (
            f.url("/faqs"),
            json!({ "category_id": cat, "question": "q" }),
            "answer",
        ),
        (
            f.url("/faqs"),
            json!({ "category_id": cat, "question": "q", "answer": "" }),
            "answer",
        ),
    ];
    for (path, body, field) in cases {
        let r = app.post(&path, body.clone()).await;
        assert_eq!(r.field(), field, "POST {path} {body}: {}", r.text);
        assert_invalid(&r, field);
    }
}

#[tokio::test]
async fn null_for_a_required_field_on_update_is_rejected() {
    let f = Fixture::new().await;
    let app = &f.app;
    let kb = format!("/v1/kb/{}", f.kb);
    let cat = f.url(&format!("/categories/{}", f.cat));
    let sec = f.url(&format!("/sections/{}", f.sec));
    let art = f.url(&format!("/articles/{}", f.art));
    let faq = f.url(&format!("/faqs/{}", f.faq));
    let cases = [
        (&kb, "title"),
        (&kb, "slug"),
        (&kb, "is_public"),
        (&kb, "theme"),
        (&cat, "name"),
        (&cat, "sort_order"),
        (&sec, "name"),
        (&sec, "category_id"),
        (&art, "title"),
        (&art, "category_id"),
        (&art, "body"),
        (&art, "status"),
        (&art, "tags"),
        (&faq, "question"),
        (&faq, "answer"),
        (&faq, "category_id"),
        (&faq, "status"),
    ];
    for (path, field) in cases {
        let r = app.put(path, json!({ field: null })).await;
        assert_eq!(r.field(), field, "PUT {path} {{{field}: null}}: {}", r.text);
        assert_invalid(&r, field);
    }
    let r = app.put("/v1/project", json!({ "name": null })).await;
    assert_invalid(&r, "name");
    // The resources are unchanged.
    assert_eq!(app.get(&art).await.data()["title"], "An article");
    assert_eq!(app.get(&cat).await.data()["name"], "Getting Started");

    // Nullable fields are cleared by null.
    let r = app
        .put(
            &kb,
            json!({ "description": "d", "theme_settings": { "dark_mode": true } }),
        )
        .await;
    r.assert_status(200);
    let r = app
        .put(
            &kb,
            json!({ "description": null, "theme_settings": null, "logo_path": null }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["description"], Value::Null);
    assert_eq!(r.data()["theme_settings"], Value::Null);
    let r = app
        .put(&art, json!({ "excerpt": null, "section_id": null }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["excerpt"], Value::Null);
}

// ---------------------------------------------------------------- unknown fields and types

#[tokio::test]
async fn unknown_fields_are_named() {
    let f = Fixture::new().await;
    let app = &f.app;
    let cases = [
        (
            Method::POST,
            "/v1/kb".to_string(),
            json!({ "title": "t", "slug": uniq("u"), "foo": 1 }),
            "foo",
        ),
        (
            Method::POST,
            "/v1/kb".to_string(),
            json!({ "title": "t", "slug": uniq("u"), "theme_settings": { "foo": 1 } }),
            "theme_settings.foo",
        ),
        (
            Method::POST,
            "/v1/kb".to_string(),
            json!({ "title": "t", "slug": uniq("u"), "site_key": "psk_x" }),
            "site_key",
        ),
        (
            Method::POST,
            "/v1/kb".to_string(),
            json!({ "title": "t", "slug": uniq("u"), "Title": "t" }),
            "Title",
        ),
        (
            Method::PUT,
            format!("/v1/kb/{}", f.kb),
            json!({ "foo": null }),
            "foo",
        ),
        (
            Method::PUT,
            format!("/v1/kb/{}", f.kb),
            json!({ "theme_settings": { "dark_mode": true, "font": "x" } }),
            "theme_settings.font",
        ),
        (
            Method::PUT,
            format!("/v1/kb/{}", f.kb),
            json!({ "id": "kb_000000000000" }),
            "id",
        ),
        (
            Method::POST,
            f.url("/categories"),
            json!({ "name": "n", "colour": "red" }),
            "colour",
        ),
        (
            Method::PUT,
            f.url(&format!("/categories/{}", f.cat)),
            json!({ "kb_id": f.kb }),
            "kb_id",
        ),
        (
            Method::POST,
            f.url("/sections"),
            json!({ "category_id": f.cat, "name": "n", "icon": "x" }),
            "icon",
        ),
        (
            Method::PUT,
            f.url(&format!("/sections/{}", f.sec)),
            json!({ "foo": [] }),
            "foo",
        ),
        (
            Method::POST,
            f.url("/articles"),
            json!({ "category_id": f.cat, "title": "t", "foo": "bar" }),
            "foo",
        ),
        (
            Method::PUT,
            f.url(&format!("/articles/{}", f.art)),
            json!({ "published_at": "2026-01-01 00:00:00" }),
            "published_at",
        ),
        (
            Method::POST,
            f.url("/faqs"),
            json!({ "category_id": f.cat, "question": "q", "answer": "a", "tags": [] }),
            "tags",
        ),
        (
            Method::PUT,
            f.url(&format!("/faqs/{}", f.faq)),
            json!({ "foo": {} }),
            "foo",
        ),
        (
            Method::PUT,
            f.url("/site-key"),
            json!({ "rate_limit": 10, "foo": 1 }),
            "foo",
        ),
        (
            Method::PUT,
            "/v1/project".to_string(),
            json!({ "credit_cap": 1000 }),
            "credit_cap",
        ),
        (
            Method::POST,
            f.url("/articles/bulk"),
            json!({ "articles": [{ "category_id": f.cat, "title": "a" }, { "foo": 1 }] }),
            "articles[1].foo",
        ),
        (
            Method::PUT,
            f.url("/articles/bulk"),
            json!({ "articles": [{ "id": f.art, "title": "a" }, { "id": f.art, "foo": 1 }] }),
            "articles[1].foo",
        ),
        (
            Method::POST,
            f.url("/articles/bulk"),
            json!({ "items": [] }),
            "items",
        ),
    ];
    for (method, path, body, field) in cases {
        let r = send_json(app, &method, &path, body.clone()).await;
        assert_eq!(r.field(), field, "{method} {path} {body}: {}", r.text);
        assert_invalid(&r, field);
    }
}

#[tokio::test]
async fn wrong_json_types_are_named() {
    let f = Fixture::new().await;
    let app = &f.app;
    let kb_put = format!("/v1/kb/{}", f.kb);
    let art_put = f.url(&format!("/articles/{}", f.art));
    let cases = [
        (
            Method::POST,
            "/v1/kb".to_string(),
            json!({ "title": 5, "slug": uniq("w") }),
            "title",
        ),
        (
            Method::POST,
            "/v1/kb".to_string(),
            json!({ "title": "t", "slug": 7 }),
            "slug",
        ),
        (
            Method::POST,
            "/v1/kb".to_string(),
            json!({ "title": "t", "slug": uniq("w"), "is_public": "yes" }),
            "is_public",
        ),
        (
            Method::POST,
            "/v1/kb".to_string(),
            json!({ "title": "t", "slug": uniq("w"), "is_public": 1 }),
            "is_public",
        ),
        (
            Method::POST,
            "/v1/kb".to_string(),
            json!({ "title": "t", "slug": uniq("w"), "theme_settings": "dark" }),
            "theme_settings",
        ),
        (
            Method::POST,
            "/v1/kb".to_string(),
            json!({ "title": "t", "slug": uniq("w"), "theme_settings": [] }),
            "theme_settings",
        ),
        (
            Method::PUT,
            kb_put.clone(),
            json!({ "title": ["t"] }),
            "title",
        ),
        (
            Method::PUT,
            kb_put.clone(),
            json!({ "is_public": "true" }),
            "is_public",
        ),
        (Method::PUT, kb_put.clone(), json!({ "theme": 3 }), "theme"),
        (
            Method::PUT,
            kb_put.clone(),
            json!({ "theme_settings": { "dark_mode": "no" } }),
            "theme_settings.dark_mode",
        ),
        (
            Method::PUT,
            kb_put.clone(),
            json!({ "theme_settings": { "custom_css": 1 } }),
            "theme_settings.custom_css",
        ),
        (
            Method::PUT,
            kb_put.clone(),
            json!({ "description": {} }),
            "description",
        ),
        (
            Method::POST,
            f.url("/categories"),
            json!({ "name": "n", "sort_order": 1.5 }),
            "sort_order",
        ),
        (
            Method::POST,
            f.url("/categories"),
            json!({ "name": "n", "sort_order": "1" }),
            "sort_order",
        ),
        (
            Method::POST,
            f.url("/categories"),
            json!({ "name": "n", "sort_order": 2_147_483_648_i64 }),
            "sort_order",
        ),
        (
            Method::POST,
            f.url("/categories"),
            json!({ "name": "n", "sort_order": -2_147_483_649_i64 }),
            "sort_order",
        ),
        (
            Method::PUT,
            f.url(&format!("/categories/{}", f.cat)),
            json!({ "icon": false }),
            "icon",
        ),
        (
            Method::POST,
            f.url("/sections"),
            json!({ "category_id": 1, "name": "n" }),
            "category_id",
        ),
        (
            Method::PUT,
            f.url(&format!("/sections/{}", f.sec)),
            json!({ "sort_order": 1e300 }),
            "sort_order",
        ),
        (
            Method::POST,
            f.url("/articles"),
            json!({ "category_id": f.cat, "title": "t", "tags": "x" }),
            "tags",
        ),
        (
            Method::POST,
            f.url("/articles"),
            json!({ "category_id": f.cat, "title": "t", "tags": ["a", 1] }),
            "tags[1]",
        ),
        (
            Method::POST,
            f.url("/articles"),
            json!({ "category_id": f.cat, "title": "t", "sort_order": 1.5 }),
            "sort_order",
        ),
        (
            Method::POST,
            f.url("/articles"),
            json!({ "category_id": f.cat, "title": "t", "status": true }),
            "status",
        ),
        (
            Method::POST,
            f.url("/articles"),
            json!({ "category_id": f.cat, "title": "t", "related_articles": "kba_000000000000" }),
            "related_articles",
        ),
        (Method::PUT, art_put.clone(), json!({ "body": 12 }), "body"),
        (Method::PUT, art_put.clone(), json!({ "tags": {} }), "tags"),
        (
            Method::PUT,
            art_put.clone(),
            json!({ "related_articles": [null] }),
            "related_articles[0]",
        ),
        (
            Method::POST,
            f.url("/faqs"),
            json!({ "category_id": f.cat, "question": "q", "answer": ["a"] }),
            "answer",
        ),
        (
            Method::PUT,
            f.url(&format!("/faqs/{}", f.faq)),
            json!({ "sort_order": 1.5 }),
            "sort_order",
        ),
        (
            Method::PUT,
            f.url("/site-key"),
            json!({ "rate_limit": "100" }),
            "rate_limit",
        ),
        (
            Method::PUT,
            "/v1/project".to_string(),
            json!({ "allowed_domains": "example.com" }),
            "allowed_domains",
        ),
        (
            Method::PUT,
            "/v1/project".to_string(),
            json!({ "allowed_domains": ["ok.com", 5] }),
            "allowed_domains[1]",
        ),
        (
            Method::POST,
            f.url("/articles/bulk"),
            json!({ "articles": {} }),
            "articles",
        ),
        (
            Method::POST,
            f.url("/articles/bulk"),
            json!({ "articles": "x" }),
            "articles",
        ),
        (
            Method::POST,
            f.url("/articles/bulk"),
            json!({ "articles": [{ "category_id": f.cat, "title": "a" }, 5] }),
            "articles[1]",
        ),
        // An object must be an object: serde would otherwise read an array as the fields in order.
        (
            Method::PUT,
            kb_put.clone(),
            json!({ "theme_settings": ["#fff", true, "a{}"] }),
            "theme_settings",
        ),
        (
            Method::POST,
            f.url("/articles/bulk"),
            json!({ "articles": [[null, f.cat, null, "Positional"]] }),
            "articles[0]",
        ),
        (
            Method::PUT,
            f.url("/articles/bulk"),
            json!({ "articles": [[f.art, null, null, "Positional"]] }),
            "articles[0]",
        ),
    ];
    for (method, path, body, field) in cases {
        let r = send_json(app, &method, &path, body.clone()).await;
        assert_eq!(r.field(), field, "{method} {path} {body}: {}", r.text);
        assert_invalid(&r, field);
    }
    // The edges of the 32-bit sort_order are fine.
    for n in [i64::from(i32::MAX), i64::from(i32::MIN), 0, -1] {
        let r = app
            .put(
                &f.url(&format!("/categories/{}", f.cat)),
                json!({ "sort_order": n }),
            )
            .await;
        r.assert_status(200);
        assert_eq!(r.data()["sort_order"], n);
    }
}

// ---------------------------------------------------------------- bodies and transport

#[tokio::test]
async fn malformed_json_is_400_invalid_request() {
    let f = Fixture::new().await;
    let bodies: [&[u8]; 12] = [
        b"",
        b"{",
        b"{\"title\": }",
        b"{'title': 'x', 'slug': 'y'}",
        b"{\"title\": \"x\",}",
        b"{\"title\": \"x\"} {}",
        b"{\"title\": \"x\"} trailing",
        b"{\"title\": \"\xff\xfe\"}",
        b"{\"title\": \"\\ud800\", \"slug\": \"lone-surrogate\"}",
        b"{\"title\": \"unterminated}",
        b"{\"sort_order\": 1e400}",
        b"\xef\xbb\xbf{\"title\": \"bom\", \"slug\": \"bom\"}",
    ];
    for path in [
        "/v1/kb".to_string(),
        f.url("/categories"),
        f.url("/articles"),
        f.url("/articles/bulk"),
    ] {
        for body in bodies {
            let r = raw(
                &f.app,
                Method::POST,
                &path,
                Some("application/json"),
                body.to_vec(),
            )
            .await;
            assert_eq!(
                r.status.as_u16(),
                400,
                "POST {path} {:?}: {}",
                String::from_utf8_lossy(body),
                r.text
            );
            r.assert_error(400, "invalid_request");
            assert_envelope(&r);
        }
    }
    let r = raw(
        &f.app,
        Method::PUT,
        &f.url(&format!("/articles/{}", f.art)),
        Some("application/json"),
        "{\"title\":",
    )
    .await;
    r.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn json_bodies_that_are_not_objects_are_400() {
    let f = Fixture::new().await;
    for body in [
        "[]",
        "[{\"title\":\"t\",\"slug\":\"s\"}]",
        "\"x\"",
        "5",
        "null",
        "true",
    ] {
        for (method, path) in [
            (Method::POST, "/v1/kb".to_string()),
            (Method::PUT, format!("/v1/kb/{}", f.kb)),
            (Method::POST, f.url("/articles/bulk")),
            (Method::PUT, f.url("/site-key")),
        ] {
            let r = raw(
                &f.app,
                method.clone(),
                &path,
                Some("application/json"),
                body,
            )
            .await;
            assert_eq!(r.status.as_u16(), 400, "{method} {path} {body}: {}", r.text);
            r.assert_error(400, "invalid_request");
            assert_envelope(&r);
        }
    }
}

#[tokio::test]
async fn json_content_type_is_required() {
    let f = Fixture::new().await;
    let app = &f.app;
    let body = || json!({ "title": "KB", "slug": uniq("ct") }).to_string();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data"),
        Some("application/jsonx"),
        Some("json"),
        Some(""),
    ] {
        let r = raw(app, Method::POST, "/v1/kb", ct, body()).await;
        assert_eq!(r.status.as_u16(), 400, "content-type {ct:?}: {}", r.text);
        r.assert_error(400, "invalid_request");
        assert_envelope(&r);
        let r = raw(
            app,
            Method::PUT,
            &format!("/v1/kb/{}", f.kb),
            ct,
            "{\"title\":\"x\"}",
        )
        .await;
        r.assert_error(400, "invalid_request");
        let r = raw(
            app,
            Method::POST,
            &f.url("/categories"),
            ct,
            "{\"name\":\"x\"}",
        )
        .await;
        r.assert_error(400, "invalid_request");
    }
    // A missing body on an endpoint that needs one is a 400 too, not a 500.
    let r = raw(app, Method::POST, "/v1/kb", None, Body::empty()).await;
    r.assert_error(400, "invalid_request");
    // JSON media types, with parameters and in any case, are accepted.
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ] {
        raw(app, Method::POST, "/v1/kb", Some(ct), body())
            .await
            .assert_status(201);
    }
    // Nothing was created by the rejected requests (the fixture KB and the four accepted ones).
    assert_eq!(
        app.get("/v1/kb?limit=100")
            .await
            .data()
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn bodies_over_16_mib_are_413() {
    const LIMIT: usize = 16 * 1024 * 1024;
    let f = Fixture::new().await;
    // A JSON object of exactly `len` bytes whose title is far too long.
    let body_of = |len: usize| -> String {
        let (head, tail) = ("{\"slug\":\"big\",\"title\":\"", "\"}");
        let mut s = String::with_capacity(len);
        s.push_str(head);
        s.push_str(&"a".repeat(len - head.len() - tail.len()));
        s.push_str(tail);
        assert_eq!(s.len(), len);
        s
    };
    // At the limit the body is read and validated.
    let r = raw(
        &f.app,
        Method::POST,
        "/v1/kb",
        Some("application/json"),
        body_of(LIMIT),
    )
    .await;
    assert_invalid(&r, "title");
    // One byte more is refused, on every JSON endpoint.
    for (method, path) in [
        (Method::POST, "/v1/kb".to_string()),
        (Method::POST, f.url("/articles/bulk")),
        (Method::PUT, f.url(&format!("/articles/{}", f.art))),
    ] {
        let r = raw(
            &f.app,
            method.clone(),
            &path,
            Some("application/json"),
            body_of(LIMIT + 1),
        )
        .await;
        assert_eq!(r.status.as_u16(), 413, "{method} {path}: {}", r.text);
        r.assert_error(413, "payload_too_large");
        assert_envelope(&r);
    }
    assert_eq!(
        f.app.get("/v1/kb").await.data().as_array().unwrap().len(),
        1
    );
}

// ---------------------------------------------------------------- routes and methods

#[tokio::test]
async fn unknown_routes_are_404_not_found() {
    let f = Fixture::new().await;
    let paths = [
        "/v1/nope".to_string(),
        "/v2/kb".to_string(),
        "/".to_string(),
        "/v1".to_string(),
        "/v1/kbs".to_string(),
        f.url("/nope"),
        f.url("/articles/x/y/z"),
        f.url("/categories/x/publish"),
        "/v1/kb/public".to_string() + "/../../etc/passwd",
    ];
    for path in &paths {
        for method in [Method::GET, Method::POST, Method::DELETE] {
            let r = match method {
                Method::POST => f.app.post(path, json!({})).await,
                _ => {
                    f.app
                        .call(method.clone(), path, Some(&f.app.key), None)
                        .await
                }
            };
            assert_eq!(r.status.as_u16(), 404, "{method} {path}: {}", r.text);
            r.assert_error(404, "not_found");
            assert_envelope(&r);
        }
        // Without a key an unknown route is still answered with the envelope.
        let r = f.app.call(Method::GET, path, None, None).await;
        assert!(
            matches!(r.status.as_u16(), 401 | 404),
            "GET {path} anonymous: {}",
            r.text
        );
        assert_envelope(&r);
    }
}

#[tokio::test]
async fn wrong_methods_are_405_method_not_allowed() {
    let f = Fixture::new().await;
    let cases = [
        (Method::PATCH, "/v1/kb".to_string()),
        (Method::DELETE, "/v1/kb".to_string()),
        (Method::PUT, "/v1/kb".to_string()),
        (Method::PATCH, "/v1/kb/".to_string()),
        (Method::POST, format!("/v1/kb/{}", f.kb)),
        (Method::PATCH, format!("/v1/kb/{}", f.kb)),
        (Method::DELETE, f.url("/site-key")),
        (Method::GET, f.url("/site-key/revoke")),
        (Method::DELETE, f.url("/categories")),
        (Method::POST, f.url(&format!("/categories/{}", f.cat))),
        (Method::PATCH, f.url(&format!("/sections/{}", f.sec))),
        (Method::PATCH, f.url(&format!("/articles/{}", f.art))),
        (Method::GET, f.url(&format!("/articles/{}/publish", f.art))),
        (Method::DELETE, f.url("/articles/bulk")),
        (Method::PUT, f.url(&format!("/faqs/{}/publish", f.faq))),
        (Method::POST, f.url("/search")),
        (Method::DELETE, "/v1/project".to_string()),
        (Method::POST, "/v1/usage".to_string()),
    ];
    for (method, path) in cases {
        let r = raw(
            &f.app,
            method.clone(),
            &path,
            Some("application/json"),
            "{}",
        )
        .await;
        assert_eq!(r.status.as_u16(), 405, "{method} {path}: {}", r.text);
        r.assert_error(405, "method_not_allowed");
        assert_envelope(&r);
        let allow = r
            .header("allow")
            .unwrap_or_else(|| panic!("{method} {path}: 405 without Allow"));
        assert!(
            !allow.split(',').any(|m| m.trim() == method.as_str()),
            "{method} {path}: Allow {allow}"
        );
    }
}

#[tokio::test]
async fn a_trailing_slash_is_accepted() {
    let f = Fixture::new().await;
    let app = &f.app;
    let r = app.get("/v1/kb/").await;
    r.assert_status(200);
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert_eq!(r.data(), app.get("/v1/kb").await.data());

    let r = app
        .post("/v1/kb/", json!({ "title": "Slash", "slug": "slash" }))
        .await;
    r.assert_status(201);
    let kb = id_of(&r);
    assert_eq!(app.get("/v1/kb").await.data().as_array().unwrap().len(), 2);

    app.get(&format!("/v1/kb/{kb}/")).await.assert_status(200);
    let r = app
        .put(&format!("/v1/kb/{kb}/"), json!({ "title": "Renamed" }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["title"], "Renamed");
    app.post(&f.url("/categories/"), json!({ "name": "Slashed" }))
        .await
        .assert_status(201);
    app.get(&f.url("/categories/")).await.assert_status(200);
    // Errors keep their codes behind a trailing slash.
    assert_invalid(&app.post("/v1/kb/", json!({ "slug": "x" })).await, "title");
    app.get("/v1/nope/").await.assert_error(404, "not_found");
    app.delete(&format!("/v1/kb/{kb}/"))
        .await
        .assert_status(204);
    app.get(&format!("/v1/kb/{kb}"))
        .await
        .assert_error(404, "kb_not_found");
}

// ---------------------------------------------------------------- never a 500

/// Raw JSON values that trip up parsers, type checks, length checks and storage.
fn odd_values() -> Vec<String> {
    let mut v: Vec<String> = [
        "null",
        "true",
        "false",
        "0",
        "-1",
        "1.5",
        "-0.0",
        "1e300",
        "-1e300",
        "1e309",
        "1e-400",
        "2147483648",
        "9223372036854775807",
        "-9223372036854775809",
        "18446744073709551616",
        "\"\"",
        "\" \"",
        "\"\\u0000\"",
        "\"a\\u0000b\"",
        "\"\\ud800\"",
        "\"\\ud83d\\ude00\"",
        "\"😀\"",
        "\"\\n\\r\\t\"",
        "\"<script>alert(1)</script>\"",
        "\"'; DROP TABLE articles; --\"",
        "\"%s%n\"",
        "\"kbc_000000000000\"",
        "\"kbs_000000000000\"",
        "\"kba_000000000000\"",
        "\"#fff\"",
        "\"published\"",
        "[]",
        "{}",
        "[null]",
        "[1, 2]",
        "[\"\"]",
        "[\"a\", \"a\"]",
        "[[]]",
        "{\"a\": 1}",
        "{\"\": null}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(json!("x".repeat(200_000)).to_string());
    v.push(json!("é".repeat(200_000)).to_string());
    v.push(json!(vec!["t"; 1000]).to_string());
    v.push(format!("{}{}", "[".repeat(64), "]".repeat(64)));
    v.push(format!("{}{}", "[".repeat(5000), "]".repeat(5000)));
    v.push(format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100)));
    v
}

const MARKER: &str = "__ODD_VALUE__";

/// Every place in `v` a value can be replaced: each object member and the first element of each
/// array, recursively.
fn slots(v: &Value) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let children: Vec<(String, &Value)> = match v {
        Value::Object(m) => m.iter().map(|(k, x)| (k.clone(), x)).collect(),
        Value::Array(a) => a
            .first()
            .map(|x| ("0".to_string(), x))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    for (key, child) in children {
        out.push(vec![key.clone()]);
        for mut rest in slots(child) {
            rest.insert(0, key.clone());
            out.push(rest);
        }
    }
    out
}

fn replace_at(v: &mut Value, slot: &[String], with: Value) {
    let Some((first, rest)) = slot.split_first() else {
        *v = with;
        return;
    };
    let child = match v {
        Value::Object(m) => m.get_mut(first).unwrap(),
        Value::Array(a) => &mut a[first.parse::<usize>().unwrap()],
        _ => unreachable!("slot into a scalar"),
    };
    replace_at(child, rest, with);
}

/// Asserts a response is no server error and is either a `data` body or the error envelope.
#[track_caller]
fn assert_sane(r: &TestResponse, what: &str) {
    assert!(r.status.as_u16() < 500, "{what}: {} {}", r.status, r.text);
    if r.status.is_success() {
        assert!(
            r.status.as_u16() == 204 || r.body.get("data").is_some(),
            "{what}: no data: {}",
            r.text
        );
    } else {
        assert_envelope(r);
        if r.status.as_u16() == 422 {
            assert!(
                r.body["error"]["details"]["field"].is_string(),
                "{what}: 422 without a field: {}",
                r.text
            );
        }
    }
}

/// Sends `base(n)` with each slot replaced in turn by each odd value, and each odd value as the
/// whole body. Returns how many requests were sent.
async fn sweep(app: &TestApp, method: Method, path: &str, base: impl Fn() -> Value) -> usize {
    let odd = odd_values();
    let mut sent = 0;
    for slot in slots(&base()) {
        for raw_value in &odd {
            let mut body = base();
            replace_at(&mut body, &slot, json!(MARKER));
            let text = body
                .to_string()
                .replace(&format!("\"{MARKER}\""), raw_value);
            let r = raw(app, method.clone(), path, Some("application/json"), text).await;
            let shown: String = raw_value.chars().take(40).collect();
            assert_sane(
                &r,
                &format!("{method} {path} with {} = {shown}", slot.join(".")),
            );
            sent += 1;
        }
    }
    for raw_value in &odd {
        let r = raw(
            app,
            method.clone(),
            path,
            Some("application/json"),
            raw_value.clone(),
        )
        .await;
        let shown: String = raw_value.chars().take(40).collect();
        assert_sane(&r, &format!("{method} {path} with body {shown}"));
        sent += 1;
    }
    sent
}

/// Reads back everything the sweep may have stored: odd data must not break reads either.
async fn read_everything(app: &TestApp, kb: &str) {
    let mut paths = vec![
        "/v1/kb?limit=100".to_string(),
        "/v1/project".to_string(),
        "/v1/usage".to_string(),
    ];
    for list in ["categories", "sections", "articles", "faqs"] {
        paths.push(format!("/v1/kb/{kb}/{list}?limit=100"));
    }
    for q in [
        "a", "x", "é", "😀", "script", "\u{0}", "\"", "*", "a OR b", "NEAR(", "-",
    ] {
        paths.push(format!("/v1/kb/{kb}/search?q={}", urlencode(q)));
    }
    for path in &paths {
        let r = app.get(path).await;
        assert_sane(&r, &format!("GET {path}"));
        assert_eq!(r.status.as_u16(), 200, "GET {path}: {}", r.text);
        if let Some(items) = r.data().as_array() {
            for item in items {
                if let Some(id) = item["id"].as_str() {
                    let one = match id.split('_').next() {
                        Some("kb") => format!("/v1/kb/{id}"),
                        Some("kbc") => format!("/v1/kb/{kb}/categories/{id}"),
                        Some("kbs") => format!("/v1/kb/{kb}/sections/{id}"),
                        Some("kba") => format!("/v1/kb/{kb}/articles/{id}"),
                        Some("kbf") => format!("/v1/kb/{kb}/faqs/{id}"),
                        _ => continue,
                    };
                    let r = app.get(&one).await;
                    assert_sane(&r, &format!("GET {one}"));
                    r.assert_status(200);
                }
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn odd_values_never_500_on_knowledge_bases() {
    let f = Fixture::new().await;
    let full = || {
        json!({
            "title": "Odd", "slug": uniq("odd"), "description": "d", "is_public": true, "theme": "brand",
            "theme_settings": { "primary_color": "#4f46e5", "dark_mode": false, "custom_css": "a{}" },
            "logo_path": "/logo.png",
        })
    };
    let mut n = sweep(&f.app, Method::POST, "/v1/kb", full).await;
    let kb_path = format!("/v1/kb/{}", f.kb);
    let slug = f.app.get(&kb_path).await.data()["slug"]
        .as_str()
        .unwrap()
        .to_string();
    n += sweep(&f.app, Method::PUT, &kb_path, || {
        let mut b = full();
        b["slug"] = json!(slug);
        b
    })
    .await;
    n += sweep(
        &f.app,
        Method::PUT,
        &f.url("/site-key"),
        || json!({ "rate_limit": 100 }),
    )
    .await;
    n += sweep(
        &f.app,
        Method::PUT,
        "/v1/project",
        || json!({ "name": "Default", "allowed_domains": ["example.com"] }),
    )
    .await;
    assert!(n > 500, "only {n} requests");
    read_everything(&f.app, &f.kb).await;
}

#[tokio::test]
async fn odd_values_never_500_on_categories_and_sections() {
    let f = Fixture::new().await;
    let cat = f.cat.clone();
    let category = || json!({ "name": "N", "description": "D", "icon": "book", "sort_order": 10 });
    let section =
        || json!({ "category_id": cat, "name": "N", "description": "D", "sort_order": 10 });
    sweep(&f.app, Method::POST, &f.url("/categories"), category).await;
    sweep(
        &f.app,
        Method::PUT,
        &f.url(&format!("/categories/{}", f.cat)),
        category,
    )
    .await;
    sweep(&f.app, Method::POST, &f.url("/sections"), section).await;
    sweep(
        &f.app,
        Method::PUT,
        &f.url(&format!("/sections/{}", f.sec)),
        section,
    )
    .await;
    read_everything(&f.app, &f.kb).await;
}

#[tokio::test]
async fn odd_values_never_500_on_articles() {
    let f = Fixture::new().await;
    let other = f
        .app
        .create_article(&f.kb, &f.cat, json!({ "title": "Other" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (cat, sec) = (f.cat.clone(), f.sec.clone());
    let article = || {
        json!({
            "category_id": cat, "section_id": sec, "title": "T", "body": "# B", "excerpt": "E",
            "status": "published", "tags": ["x"], "related_articles": [other], "sort_order": 1,
        })
    };
    sweep(&f.app, Method::POST, &f.url("/articles"), article).await;
    sweep(
        &f.app,
        Method::PUT,
        &f.url(&format!("/articles/{}", f.art)),
        article,
    )
    .await;
    for action in ["publish", "archive"] {
        let r = f
            .app
            .post_empty(&f.url(&format!("/articles/{}/{action}", f.art)))
            .await;
        assert_sane(&r, action);
    }
    read_everything(&f.app, &f.kb).await;
}

#[tokio::test]
async fn odd_values_never_500_on_bulk_articles() {
    let f = Fixture::new().await;
    let (cat, sec, art) = (f.cat.clone(), f.sec.clone(), f.art.clone());
    let create = || {
        json!({ "articles": [
            { "category_id": cat, "section_id": sec, "title": "T", "body": "B", "excerpt": "E",
              "status": "draft", "tags": ["x"], "related_articles": [art], "sort_order": 1 },
            { "category_id": cat, "title": "Second" },
        ] })
    };
    let update = || {
        json!({ "articles": [
            { "id": art, "category_id": cat, "section_id": sec, "title": "T", "body": "B", "excerpt": "E",
              "status": "published", "tags": ["x"], "related_articles": [], "sort_order": 1 },
        ] })
    };
    sweep(&f.app, Method::POST, &f.url("/articles/bulk"), create).await;
    sweep(&f.app, Method::PUT, &f.url("/articles/bulk"), update).await;
    read_everything(&f.app, &f.kb).await;
}

#[tokio::test]
async fn odd_values_never_500_on_faqs() {
    let f = Fixture::new().await;
    let (cat, sec) = (f.cat.clone(), f.sec.clone());
    let faq = || json!({ "category_id": cat, "section_id": sec, "question": "Q?", "answer": "A", "status": "draft", "sort_order": 2 });
    sweep(&f.app, Method::POST, &f.url("/faqs"), faq).await;
    sweep(
        &f.app,
        Method::PUT,
        &f.url(&format!("/faqs/{}", f.faq)),
        faq,
    )
    .await;
    assert_sane(
        &f.app
            .post_empty(&f.url(&format!("/faqs/{}/publish", f.faq)))
            .await,
        "publish",
    );
    read_everything(&f.app, &f.kb).await;
}

#[tokio::test]
async fn odd_path_ids_and_queries_never_500() {
    let f = Fixture::new().await;
    let ids = [
        "x",
        "kb_000000000000",
        "kba_000000000000",
        "%00",
        "%F0%9F%98%80",
        &"z".repeat(5000),
        "..",
        "%2e%2e",
        "a%2Fb",
        "'",
        "%25",
    ];
    for id in ids {
        for path in [
            format!("/v1/kb/{id}"),
            format!("/v1/kb/{id}/site-key"),
            format!("/v1/kb/{id}/categories"),
            f.url(&format!("/categories/{id}")),
            f.url(&format!("/sections/{id}")),
            f.url(&format!("/articles/{id}")),
            f.url(&format!("/faqs/{id}")),
        ] {
            for method in [Method::GET, Method::PUT, Method::DELETE] {
                let r = raw(
                    &f.app,
                    method.clone(),
                    &path,
                    Some("application/json"),
                    "{}",
                )
                .await;
                assert_sane(&r, &format!("{method} {path}"));
            }
        }
    }
    for q in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "limit=1e3",
        "cursor=%00",
        "cursor=x",
        "status=nope",
        "is_public=maybe",
        "section_id=%00",
        "tag=%FF",
        "a=%ZZ",
    ] {
        for list in [
            "/v1/kb".to_string(),
            f.url("/categories"),
            f.url("/sections"),
            f.url("/articles"),
            f.url("/faqs"),
            f.url("/search"),
        ] {
            let path = format!("{list}?{q}");
            assert_sane(&f.app.get(&path).await, &format!("GET {path}"));
        }
    }
}
