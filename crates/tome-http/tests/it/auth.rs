//! Authentication, key kinds, rate limits and tenant isolation of the management API.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{Value, json};
use tome_core::keys::{self, KeyKind};
use tome_http::HttpConfig;

use crate::support::{TestApp, TestResponse, test_config};

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Rate-limit windows are aligned to the clock minute. A test that counts requests inside one
/// window waits for a fresh one if the current window is about to end.
async fn wait_for_fresh_window() {
    let into_window = unix_now().rem_euclid(60);
    if into_window >= 50 {
        tokio::time::sleep(Duration::from_secs((61 - into_window) as u64)).await;
    }
}

/// A GET with a raw `Authorization` header value (or none).
async fn get_with_auth(app: &TestApp, path: &str, authorization: Option<&str>) -> TestResponse {
    let mut b = Request::builder().method(Method::GET).uri(path);
    if let Some(a) = authorization {
        b = b.header("authorization", a);
    }
    app.send(b.body(Body::empty()).unwrap()).await
}

fn header_u64(r: &TestResponse, name: &str) -> u64 {
    r.header(name)
        .unwrap_or_else(|| panic!("missing {name}; headers: {:?}", r.headers))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not an integer: {:?}", r.header(name)))
}

/// Asserts the three rate-limit headers and returns `(limit, remaining, reset)`.
#[track_caller]
fn rate_headers(r: &TestResponse) -> (u64, u64, u64) {
    let limit = header_u64(r, "x-ratelimit-limit");
    let remaining = header_u64(r, "x-ratelimit-remaining");
    let reset = header_u64(r, "x-ratelimit-reset");
    let now = unix_now() as u64;
    assert!(remaining <= limit, "remaining {remaining} > limit {limit}");
    assert!(
        reset >= now && reset <= now + 61,
        "reset {reset} is not within a minute of {now}"
    );
    assert_eq!(reset % 60, 0, "windows are aligned to the minute");
    (limit, remaining, reset)
}

// ---------------------------------------------------------------- 401

#[tokio::test]
async fn missing_header_is_401() {
    let app = TestApp::new().await;
    let r = get_with_auth(&app, "/v1/kb", None).await;
    r.assert_error(401, "unauthorized");
    let r = app
        .call(
            Method::POST,
            "/v1/kb",
            None,
            Some(json!({ "title": "T", "slug": "t" })),
        )
        .await;
    r.assert_error(401, "unauthorized");
    // Nothing was created.
    assert_eq!(app.get("/v1/kb").await.data(), &json!([]));
}

#[tokio::test]
async fn garbage_bearer_is_401() {
    let app = TestApp::new().await;
    for value in [
        "Bearer garbage",
        "Bearer ",
        "Bearer",
        "garbage",
        "Bearer tome_",
        "Bearer psk_abcdefghijklmnopqrstuvwxyz012345",
    ] {
        let r = get_with_auth(&app, "/v1/kb", Some(value)).await;
        r.assert_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn bad_checksum_is_401() {
    let app = TestApp::new().await;
    // A real, stored key with its last checksum character changed.
    let mut typo = app.key.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == 'a' { 'b' } else { 'a' });
    assert_eq!(typo.len(), app.key.len());
    let r = app.call(Method::GET, "/v1/kb", Some(&typo), None).await;
    r.assert_error(401, "unauthorized");

    // And with a character of the secret changed instead.
    let mut chars: Vec<char> = app.key.chars().collect();
    chars[8] = if chars[8] == 'Z' { 'Y' } else { 'Z' };
    let typo: String = chars.into_iter().collect();
    let r = app.call(Method::GET, "/v1/kb", Some(&typo), None).await;
    r.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn unknown_well_formed_key_is_401() {
    let app = TestApp::new().await;
    let never_stored = keys::generate_api_key(KeyKind::Admin).plaintext;
    assert_eq!(
        keys::parse_api_key(&never_stored),
        Some(KeyKind::Admin),
        "the key is well-formed"
    );
    let r = app
        .call(Method::GET, "/v1/kb", Some(&never_stored), None)
        .await;
    r.assert_error(401, "unauthorized");
    let never_stored = keys::generate_api_key(KeyKind::Assistant).plaintext;
    let r = app
        .call(Method::GET, "/v1/kb", Some(&never_stored), None)
        .await;
    r.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn revoked_key_is_401() {
    let app = TestApp::new().await;
    let key = app.new_key(KeyKind::Admin).await;
    app.call(Method::GET, "/v1/kb", Some(&key), None)
        .await
        .assert_status(200);

    let row = find_key(&app, &key).await;
    let revoked = app.store.revoke_api_key(&row.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());

    // Revoked around the server, as `tome key revoke` does: the node follows the change feed
    // (every 250 ms) and drops the key it had cached.
    let started = std::time::Instant::now();
    loop {
        let r = app.call(Method::GET, "/v1/kb", Some(&key), None).await;
        if r.status != 200 {
            r.assert_error(401, "unauthorized");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a revoked key still worked after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = app
        .call(
            Method::POST,
            "/v1/kb",
            Some(&key),
            Some(json!({ "title": "T", "slug": "t" })),
        )
        .await;
    r.assert_error(401, "unauthorized");
    // The other key of the project still works.
    app.get("/v1/kb").await.assert_status(200);
}

#[tokio::test]
async fn other_schemes_are_401() {
    let app = TestApp::new().await;
    let r = get_with_auth(&app, "/v1/kb", Some("Basic xyz")).await;
    r.assert_error(401, "unauthorized");
    // Even with a real key under another scheme.
    let r = get_with_auth(&app, "/v1/kb", Some(&format!("Basic {}", app.key))).await;
    r.assert_error(401, "unauthorized");
    let r = get_with_auth(&app, "/v1/kb", Some(&format!("Token {}", app.key))).await;
    r.assert_error(401, "unauthorized");
    // The key alone, without a scheme.
    let r = get_with_auth(&app, "/v1/kb", Some(&app.key)).await;
    r.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn scheme_is_case_insensitive() {
    let app = TestApp::new().await;
    for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
        let r = get_with_auth(&app, "/v1/kb", Some(&format!("{scheme} {}", app.key))).await;
        r.assert_status(200);
        assert_eq!(r.data(), &json!([]));
    }
}

#[tokio::test]
async fn every_management_route_requires_a_key() {
    let app = TestApp::new().await;
    let kb = app.create_kb("guarded").await;
    let kb_id = kb["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, "/v1/kb".to_string()),
        (Method::GET, format!("/v1/kb/{kb_id}")),
        (Method::DELETE, format!("/v1/kb/{kb_id}")),
        (Method::GET, format!("/v1/kb/{kb_id}/site-key")),
        (Method::POST, format!("/v1/kb/{kb_id}/site-key/revoke")),
        (Method::GET, format!("/v1/kb/{kb_id}/categories")),
        (Method::GET, format!("/v1/kb/{kb_id}/articles")),
        (Method::GET, format!("/v1/kb/{kb_id}/faqs")),
        (Method::GET, format!("/v1/kb/{kb_id}/search?q=x")),
        (Method::GET, "/v1/project".to_string()),
        (Method::GET, "/v1/usage".to_string()),
    ] {
        let r = app.call(method.clone(), &path, None, None).await;
        assert_eq!(r.status.as_u16(), 401, "{method} {path}: {}", r.text);
        assert_eq!(r.code(), "unauthorized", "{method} {path}");
    }
    // The KB survived the anonymous DELETE and revoke.
    app.get(&format!("/v1/kb/{kb_id}")).await.assert_status(200);
}

// ---------------------------------------------------------------- 403

#[tokio::test]
async fn assistant_key_is_403() {
    let app = TestApp::new().await;
    let kb = app.create_kb("assist").await;
    let kb_id = kb["id"].as_str().unwrap();
    let key = app.new_key(KeyKind::Assistant).await;
    assert!(key.starts_with("tome_dsc_"));
    let r = app.call(Method::GET, "/v1/kb", Some(&key), None).await;
    r.assert_error(403, "forbidden");
    let r = app
        .call(
            Method::POST,
            "/v1/kb",
            Some(&key),
            Some(json!({ "title": "T", "slug": "t" })),
        )
        .await;
    r.assert_error(403, "forbidden");
    let r = app
        .call(Method::DELETE, &format!("/v1/kb/{kb_id}"), Some(&key), None)
        .await;
    r.assert_error(403, "forbidden");
    let r = app.call(Method::GET, "/v1/project", Some(&key), None).await;
    r.assert_error(403, "forbidden");
    // Nothing changed.
    let r = app.get("/v1/kb").await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------- rate limits

#[tokio::test]
async fn rate_limit_headers_on_success_and_error_responses() {
    let app = TestApp::with_config(HttpConfig {
        admin_rate_limit: 100,
        ..test_config()
    })
    .await;
    wait_for_fresh_window().await;

    let r = app.get("/v1/kb").await;
    r.assert_status(200);
    let (limit, first, reset) = rate_headers(&r);
    assert_eq!(limit, 100);
    assert_eq!(first, 99);

    let r = app.get("/v1/kb/kb_000000000000").await;
    r.assert_error(404, "kb_not_found");
    let (limit, second, reset2) = rate_headers(&r);
    assert_eq!(limit, 100);
    assert_eq!(second, first - 1);
    assert_eq!(reset2, reset);

    let r = app
        .post("/v1/kb", json!({ "title": "" , "slug": "x" }))
        .await;
    r.assert_error(422, "validation_error");
    let (_, third, _) = rate_headers(&r);
    assert_eq!(third, second - 1);

    let r = app
        .post("/v1/kb", json!({ "title": "T", "slug": "x" }))
        .await;
    r.assert_status(201);
    let (_, fourth, _) = rate_headers(&r);
    assert_eq!(fourth, third - 1);

    let r = app.delete("/v1/kb/kb_000000000000").await;
    r.assert_status(404);
    let (_, fifth, _) = rate_headers(&r);
    assert_eq!(fifth, fourth - 1);

    // The assistant key's 403 carries them too, with its own limit.
    let assistant = app.new_key(KeyKind::Assistant).await;
    let r = app
        .call(Method::GET, "/v1/kb", Some(&assistant), None)
        .await;
    r.assert_error(403, "forbidden");
    let (limit, remaining, _) = rate_headers(&r);
    assert_eq!(limit, 1_000_000);
    assert_eq!(remaining, 999_999);
}

#[tokio::test]
async fn rate_limit_exceeded_is_429() {
    let app = TestApp::with_config(HttpConfig {
        admin_rate_limit: 3,
        ..test_config()
    })
    .await;
    wait_for_fresh_window().await;

    for expected in [2, 1, 0] {
        let r = app.get("/v1/kb").await;
        r.assert_status(200);
        let (limit, remaining, _) = rate_headers(&r);
        assert_eq!(limit, 3);
        assert_eq!(remaining, expected);
    }

    let r = app.get("/v1/kb").await;
    r.assert_error(429, "rate_limit_exceeded");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("integer Retry-After");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let (limit, remaining, reset) = rate_headers(&r);
    assert_eq!(limit, 3);
    assert_eq!(remaining, 0);
    let now = unix_now() as u64;
    assert!(
        reset.abs_diff(now + retry) <= 1,
        "Retry-After {retry} disagrees with reset {reset} (now {now})"
    );

    // Still limited, and a limited write does nothing.
    let r = app
        .post("/v1/kb", json!({ "title": "T", "slug": "blocked" }))
        .await;
    r.assert_error(429, "rate_limit_exceeded");
    assert!(r.header("retry-after").is_some());

    // Another key of the same project has its own budget.
    let other = app.new_key(KeyKind::Admin).await;
    let r = app.call(Method::GET, "/v1/kb", Some(&other), None).await;
    r.assert_status(200);
    let (_, remaining, _) = rate_headers(&r);
    assert_eq!(remaining, 2);
    // The blocked create did not happen.
    assert_eq!(r.data(), &json!([]));

    // And so does a key of another project.
    let (_, key_b) = app.new_project("b").await;
    let r = app.call(Method::GET, "/v1/kb", Some(&key_b), None).await;
    r.assert_status(200);
    assert_eq!(rate_headers(&r).1, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_respect_the_limit() {
    let app = std::sync::Arc::new(
        TestApp::with_config(HttpConfig {
            admin_rate_limit: 5,
            ..test_config()
        })
        .await,
    );
    wait_for_fresh_window().await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move { app.get("/v1/kb").await }));
    }
    let mut ok = 0;
    let mut remaining = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        match r.status.as_u16() {
            200 => {
                ok += 1;
                remaining.push(rate_headers(&r).1);
            }
            429 => {
                r.assert_error(429, "rate_limit_exceeded");
                assert!(r.header("retry-after").is_some());
            }
            other => panic!("unexpected status {other}: {}", r.text),
        }
    }
    assert_eq!(ok, 5);
    remaining.sort_unstable();
    assert_eq!(
        remaining,
        vec![0, 1, 2, 3, 4],
        "each allowed request saw its own count"
    );
}

#[tokio::test]
async fn anonymous_failures_are_rate_limited() {
    let app = TestApp::with_config(HttpConfig {
        admin_rate_limit: 2,
        ..test_config()
    })
    .await;
    wait_for_fresh_window().await;
    get_with_auth(&app, "/v1/kb", Some("Bearer nope"))
        .await
        .assert_error(401, "unauthorized");
    get_with_auth(&app, "/v1/kb", None)
        .await
        .assert_error(401, "unauthorized");
    let r = get_with_auth(&app, "/v1/kb", Some("Bearer nope")).await;
    r.assert_error(429, "rate_limit_exceeded");
    assert!(r.header("retry-after").is_some());
    // A valid key is counted on its own bucket, not the anonymous one.
    app.get("/v1/kb").await.assert_status(200);
}

// ---------------------------------------------------------------- last_used_at

#[tokio::test]
async fn last_used_at_is_recorded() {
    let app = TestApp::new().await;
    let key = app.new_key(KeyKind::Admin).await;
    let find = |keys: &[tome_core::model::ApiKey]| {
        keys.iter()
            .find(|k| key.starts_with(&k.key_prefix))
            .cloned()
            .expect("key row")
    };
    let before = find(&app.store.list_api_keys(&app.project_id).await.unwrap());
    assert_eq!(before.last_used_at, None);

    app.call(Method::GET, "/v1/kb", Some(&key), None)
        .await
        .assert_status(200);

    let mut used = None;
    for _ in 0..100 {
        let row = find(&app.store.list_api_keys(&app.project_id).await.unwrap());
        if row.last_used_at.is_some() {
            used = row.last_used_at;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let used = used.expect("last_used_at was never set");
    assert_eq!(used.len(), 19, "timestamp format: {used}");
    assert!(
        used >= before.created_at,
        "{used} before creation {}",
        before.created_at
    );

    // A rejected key is not touched: a revoked key's last use stays.
    let other = app.new_key(KeyKind::Admin).await;
    let row = find_key(&app, &other).await;
    app.store.revoke_api_key(&row.id).await.unwrap();
    app.call(Method::GET, "/v1/kb", Some(&other), None)
        .await
        .assert_error(401, "unauthorized");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(find_key(&app, &other).await.last_used_at, None);
}

async fn find_key(app: &TestApp, plaintext: &str) -> tome_core::model::ApiKey {
    app.store
        .list_api_keys(&app.project_id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| plaintext.starts_with(&k.key_prefix))
        .expect("key row")
}

// ---------------------------------------------------------------- tenant isolation

/// Everything project A can see, for comparing before and after B's attempts.
async fn snapshot_of_a(
    app: &TestApp,
    kb: &str,
    cat: &str,
    sec: &str,
    art: &str,
    faq: &str,
) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/v1/kb".to_string(),
        format!("/v1/kb/{kb}"),
        format!("/v1/kb/{kb}/site-key"),
        format!("/v1/kb/{kb}/categories"),
        format!("/v1/kb/{kb}/categories/{cat}"),
        format!("/v1/kb/{kb}/sections"),
        format!("/v1/kb/{kb}/sections/{sec}"),
        format!("/v1/kb/{kb}/articles"),
        format!("/v1/kb/{kb}/articles/{art}"),
        format!("/v1/kb/{kb}/faqs"),
        format!("/v1/kb/{kb}/faqs/{faq}"),
        format!("/v1/kb/{kb}/search?q=secret"),
        "/v1/project".to_string(),
        "/v1/usage".to_string(),
    ] {
        let r = app.get(&path).await;
        r.assert_status(200);
        out.push(json!({ "path": path, "body": r.body }));
    }
    out
}

#[tokio::test]
async fn another_project_sees_none_of_our_resources() {
    let app = TestApp::new().await;

    // Project A's content.
    let kb_a = app.create_kb("tenant-a").await;
    let kb = kb_a["id"].as_str().unwrap().to_string();
    let cat = app.create_category(&kb, "A category").await;
    let sec = app.create_section(&kb, &cat, "A section").await;
    let art = app
        .create_article(
            &kb,
            &cat,
            json!({ "section_id": sec, "title": "Secret article", "body": "secret body" }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let faq = app
        .create_faq(
            &kb,
            &cat,
            json!({ "question": "Secret question?", "answer": "secret answer" }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.put(
        "/v1/project",
        json!({ "allowed_domains": ["a.example.com"] }),
    )
    .await
    .assert_status(200);
    let before = snapshot_of_a(&app, &kb, &cat, &sec, &art, &faq).await;

    // Project B, with a KB and category of its own.
    let (_, key_b) = app.new_project("tenant-b").await;
    let b = |method: Method, path: String, body: Option<Value>| {
        let key_b = key_b.clone();
        let app = &app;
        async move {
            (
                app.call(method.clone(), &path, Some(&key_b), body).await,
                format!("{method} {path}"),
            )
        }
    };
    let (r, _) = b(
        Method::POST,
        "/v1/kb".into(),
        Some(json!({ "title": "B", "slug": "tenant-b" })),
    )
    .await;
    r.assert_status(201);
    let kb_b = r.data()["id"].as_str().unwrap().to_string();
    let (r, _) = b(
        Method::POST,
        format!("/v1/kb/{kb_b}/categories"),
        Some(json!({ "name": "B cat" })),
    )
    .await;
    r.assert_status(201);
    let cat_b = r.data()["id"].as_str().unwrap().to_string();

    // B's list does not show A's KB; B's project is its own.
    let (r, _) = b(Method::GET, "/v1/kb".into(), None).await;
    r.assert_status(200);
    let listed: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![kb_b.as_str()]);
    let (r, _) = b(Method::GET, "/v1/project".into(), None).await;
    assert_eq!(r.data()["name"], "tenant-b");
    assert_eq!(r.data()["allowed_domains"], json!([]));
    assert_ne!(r.data()["id"], app.project_id.as_str());
    let b_usage_before =
        b(Method::GET, "/v1/usage".into(), None).await.0.data()["credits_used"].clone();
    assert_eq!(b_usage_before, 5);

    let article_body = json!({ "category_id": cat, "title": "Hijack", "body": "x" });
    let faq_body = json!({ "category_id": cat, "question": "Hijack?", "answer": "x" });

    // Every verb on A's KB path: kb_not_found.
    let on_a_kb: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/v1/kb/{kb}"), None),
        (
            Method::PUT,
            format!("/v1/kb/{kb}"),
            Some(json!({ "title": "Hijacked" })),
        ),
        (Method::DELETE, format!("/v1/kb/{kb}"), None),
        (Method::GET, format!("/v1/kb/{kb}/site-key"), None),
        (
            Method::PUT,
            format!("/v1/kb/{kb}/site-key"),
            Some(json!({ "rate_limit": 1 })),
        ),
        (Method::POST, format!("/v1/kb/{kb}/site-key/revoke"), None),
        (Method::GET, format!("/v1/kb/{kb}/categories"), None),
        (
            Method::POST,
            format!("/v1/kb/{kb}/categories"),
            Some(json!({ "name": "Hijack" })),
        ),
        (Method::GET, format!("/v1/kb/{kb}/categories/{cat}"), None),
        (
            Method::PUT,
            format!("/v1/kb/{kb}/categories/{cat}"),
            Some(json!({ "name": "Hijacked" })),
        ),
        (
            Method::DELETE,
            format!("/v1/kb/{kb}/categories/{cat}"),
            None,
        ),
        (Method::GET, format!("/v1/kb/{kb}/sections"), None),
        (
            Method::GET,
            format!("/v1/kb/{kb}/sections?category_id={cat}"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb}/sections"),
            Some(json!({ "category_id": cat, "name": "Hijack" })),
        ),
        (Method::GET, format!("/v1/kb/{kb}/sections/{sec}"), None),
        (
            Method::PUT,
            format!("/v1/kb/{kb}/sections/{sec}"),
            Some(json!({ "name": "Hijacked" })),
        ),
        (Method::DELETE, format!("/v1/kb/{kb}/sections/{sec}"), None),
        (Method::GET, format!("/v1/kb/{kb}/articles"), None),
        (
            Method::POST,
            format!("/v1/kb/{kb}/articles"),
            Some(article_body.clone()),
        ),
        (Method::GET, format!("/v1/kb/{kb}/articles/{art}"), None),
        (
            Method::PUT,
            format!("/v1/kb/{kb}/articles/{art}"),
            Some(json!({ "title": "Hijacked" })),
        ),
        (Method::DELETE, format!("/v1/kb/{kb}/articles/{art}"), None),
        (
            Method::POST,
            format!("/v1/kb/{kb}/articles/{art}/publish"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb}/articles/{art}/archive"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb}/articles/bulk"),
            Some(json!({ "articles": [article_body] })),
        ),
        (
            Method::PUT,
            format!("/v1/kb/{kb}/articles/bulk"),
            Some(json!({ "articles": [{ "id": art, "title": "Hijacked" }] })),
        ),
        (Method::GET, format!("/v1/kb/{kb}/faqs"), None),
        (
            Method::POST,
            format!("/v1/kb/{kb}/faqs"),
            Some(faq_body.clone()),
        ),
        (Method::GET, format!("/v1/kb/{kb}/faqs/{faq}"), None),
        (
            Method::PUT,
            format!("/v1/kb/{kb}/faqs/{faq}"),
            Some(json!({ "question": "Hijacked?" })),
        ),
        (Method::DELETE, format!("/v1/kb/{kb}/faqs/{faq}"), None),
        (
            Method::POST,
            format!("/v1/kb/{kb}/faqs/{faq}/publish"),
            None,
        ),
        (Method::GET, format!("/v1/kb/{kb}/search?q=secret"), None),
    ];
    for (method, path, body) in on_a_kb {
        let (r, what) = b(method, path, body).await;
        assert_eq!(r.status.as_u16(), 404, "{what}: {}", r.text);
        assert_eq!(r.code(), "kb_not_found", "{what}: {}", r.text);
    }

    // A's content IDs under B's own KB: the content's own *_not_found.
    let on_b_kb: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::GET,
            format!("/v1/kb/{kb_b}/categories/{cat}"),
            None,
            "category_not_found",
        ),
        (
            Method::PUT,
            format!("/v1/kb/{kb_b}/categories/{cat}"),
            Some(json!({ "name": "Hijacked" })),
            "category_not_found",
        ),
        (
            Method::DELETE,
            format!("/v1/kb/{kb_b}/categories/{cat}"),
            None,
            "category_not_found",
        ),
        (
            Method::GET,
            format!("/v1/kb/{kb_b}/sections/{sec}"),
            None,
            "section_not_found",
        ),
        (
            Method::PUT,
            format!("/v1/kb/{kb_b}/sections/{sec}"),
            Some(json!({ "name": "Hijacked" })),
            "section_not_found",
        ),
        (
            Method::DELETE,
            format!("/v1/kb/{kb_b}/sections/{sec}"),
            None,
            "section_not_found",
        ),
        (
            Method::GET,
            format!("/v1/kb/{kb_b}/articles/{art}"),
            None,
            "article_not_found",
        ),
        (
            Method::PUT,
            format!("/v1/kb/{kb_b}/articles/{art}"),
            Some(json!({ "title": "Hijacked" })),
            "article_not_found",
        ),
        (
            Method::DELETE,
            format!("/v1/kb/{kb_b}/articles/{art}"),
            None,
            "article_not_found",
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb_b}/articles/{art}/publish"),
            None,
            "article_not_found",
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb_b}/articles/{art}/archive"),
            None,
            "article_not_found",
        ),
        (
            Method::GET,
            format!("/v1/kb/{kb_b}/faqs/{faq}"),
            None,
            "faq_not_found",
        ),
        (
            Method::PUT,
            format!("/v1/kb/{kb_b}/faqs/{faq}"),
            Some(json!({ "question": "Hijacked?" })),
            "faq_not_found",
        ),
        (
            Method::DELETE,
            format!("/v1/kb/{kb_b}/faqs/{faq}"),
            None,
            "faq_not_found",
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb_b}/faqs/{faq}/publish"),
            None,
            "faq_not_found",
        ),
    ];
    for (method, path, body, code) in on_b_kb {
        let (r, what) = b(method, path, body).await;
        assert_eq!(r.status.as_u16(), 404, "{what}: {}", r.text);
        assert_eq!(r.code(), code, "{what}: {}", r.text);
    }

    // References to A's content inside B's bodies do not resolve (422 naming the field).
    let refs: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            format!("/v1/kb/{kb_b}/sections"),
            json!({ "category_id": cat, "name": "x" }),
            "category_id",
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb_b}/articles"),
            json!({ "category_id": cat, "title": "x", "body": "x" }),
            "category_id",
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb_b}/articles"),
            json!({ "category_id": cat_b, "section_id": sec, "title": "x", "body": "x" }),
            "section_id",
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb_b}/articles"),
            json!({ "category_id": cat_b, "title": "x", "body": "x", "related_articles": [art] }),
            "related_articles[0]",
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb_b}/faqs"),
            json!({ "category_id": cat, "question": "x?", "answer": "x" }),
            "category_id",
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb_b}/articles/bulk"),
            json!({ "articles": [{ "category_id": cat, "title": "x", "body": "x" }] }),
            "articles[0].category_id",
        ),
        (
            Method::PUT,
            format!("/v1/kb/{kb_b}/articles/bulk"),
            json!({ "articles": [{ "id": art, "title": "Hijacked" }] }),
            "articles[0].id",
        ),
    ];
    for (method, path, body, field) in refs {
        let (r, what) = b(method, path, Some(body)).await;
        assert_eq!(r.status.as_u16(), 422, "{what}: {}", r.text);
        assert_eq!(r.code(), "validation_error", "{what}");
        assert_eq!(r.field(), field, "{what}: {}", r.text);
    }

    // B's lists and search of its own KB show nothing of A's.
    for path in [
        format!("/v1/kb/{kb_b}/sections"),
        format!("/v1/kb/{kb_b}/sections?category_id={cat}"),
        format!("/v1/kb/{kb_b}/articles"),
        format!("/v1/kb/{kb_b}/articles?category_id={cat}"),
        format!("/v1/kb/{kb_b}/faqs"),
    ] {
        let (r, what) = b(Method::GET, path, None).await;
        r.assert_status(200);
        assert_eq!(r.data(), &json!([]), "{what}");
    }
    let (r, _) = b(Method::GET, format!("/v1/kb/{kb_b}/search?q=secret"), None).await;
    r.assert_status(200);
    assert_eq!(r.data(), &json!({ "articles": [], "faqs": [] }));
    let (r, _) = b(Method::GET, format!("/v1/kb/{kb_b}/categories"), None).await;
    let cats: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(cats, vec![cat_b.as_str()]);

    // A's data is exactly as it was, and B paid nothing for the failed creates.
    let after = snapshot_of_a(&app, &kb, &cat, &sec, &art, &faq).await;
    assert_eq!(before, after);
    let (r, _) = b(Method::GET, "/v1/usage".into(), None).await;
    assert_eq!(r.data()["credits_used"], b_usage_before);

    // And the reverse holds: A cannot see B's KB.
    app.get(&format!("/v1/kb/{kb_b}"))
        .await
        .assert_error(404, "kb_not_found");
    app.get(&format!("/v1/kb/{kb}/categories/{cat_b}"))
        .await
        .assert_error(404, "category_not_found");
}
