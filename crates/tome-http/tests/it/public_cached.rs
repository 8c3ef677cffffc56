//! Cached public reads are answered before the router (`public::serve_cached`). These tests
//! check that such answers are indistinguishable from the router's — same status, body,
//! validators, CORS and `Vary` — that each request is counted once against the rate limit, and
//! that nothing the gate would refuse is ever served from cache.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

use crate::support::{TestApp, TestResponse};

const ORIGIN: &str = "https://app.example.com";

struct Site {
    app: TestApp,
    kb_id: String,
    key: String,
    article: String,
    category: String,
}

async fn site() -> Site {
    let app = TestApp::new().await;
    app.put(
        "/v1/project",
        json!({"allowed_domains": ["app.example.com"]}),
    )
    .await
    .assert_status(200);
    let kb = app.create_kb("fast").await;
    let kb_id = kb["id"].as_str().expect("id").to_string();
    let category = app.create_category(&kb_id, "Getting started").await;
    let body = "Long enough to be compressed. ".repeat(100);
    let article = app
        .create_article(
            &kb_id,
            &category,
            json!({"title": "Welcome", "body": body, "status": "published"}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    Site {
        app,
        kb_id,
        key: kb["site_key"].as_str().expect("key").to_string(),
        article,
        category,
    }
}

async fn read(s: &Site, path: &str, extra: &[(&str, &str)]) -> TestResponse {
    let mut b = Request::builder()
        .uri(format!("/v1/kb/public/fast/{path}"))
        .header("x-minolith-site-key", &s.key)
        .header("origin", ORIGIN);
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    s.app.send(b.body(Body::empty()).expect("request")).await
}

const SAME_HEADERS: &[&str] = &[
    "content-type",
    "content-encoding",
    "etag",
    "cache-control",
    "vary",
    "access-control-allow-origin",
    "access-control-expose-headers",
    "x-ratelimit-limit",
    "x-ratelimit-reset",
];

fn remaining(r: &TestResponse) -> u64 {
    r.header("x-ratelimit-remaining")
        .and_then(|v| v.parse().ok())
        .expect("x-ratelimit-remaining")
}

#[tokio::test]
async fn cached_answers_match_the_routers_and_count_once() {
    let s = site().await;
    let paths = [
        "structure".to_string(),
        "categories".to_string(),
        format!("categories/{}", s.category),
        format!("articles/{}", s.article),
        format!("faqs/{}", s.category),
    ];
    for path in &paths {
        for encoding in [None, Some("gzip")] {
            let extra: Vec<(&str, &str)> = encoding
                .map(|e| ("accept-encoding", e))
                .into_iter()
                .collect();
            let first = read(&s, path, &extra).await;
            first.assert_status(200);
            let second = read(&s, path, &extra).await;
            second.assert_status(200);
            assert_eq!(first.text, second.text, "{path}");
            for h in SAME_HEADERS {
                assert_eq!(first.header(h), second.header(h), "{path}: header {h}");
            }
            assert_eq!(
                remaining(&first),
                remaining(&second) + 1,
                "{path}: counted once"
            );
            assert_eq!(second.header("access-control-allow-origin"), Some(ORIGIN));
        }
    }
    let article = format!("articles/{}", s.article);
    let gz = read(&s, &article, &[("accept-encoding", "gzip")]).await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.header("vary"), Some("Origin, Accept-Encoding"));

    // Conditional requests are answered from cache too.
    let etag = gz.header("etag").expect("etag").to_string();
    let not_modified = read(
        &s,
        &article,
        &[("accept-encoding", "gzip"), ("if-none-match", &etag)],
    )
    .await;
    not_modified.assert_status(304);
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    assert_eq!(
        not_modified.header("access-control-allow-origin"),
        Some(ORIGIN)
    );
}

#[tokio::test]
async fn a_cached_body_is_never_served_past_the_gate() {
    let s = site().await;
    let path = format!("articles/{}", s.article);
    read(&s, &path, &[]).await.assert_status(200);
    read(&s, &path, &[]).await.assert_status(200);

    // Another origin, no origin, another slug: refused although the body is cached.
    let other = Request::builder()
        .uri(format!("/v1/kb/public/fast/{path}"))
        .header("x-minolith-site-key", &s.key)
        .header("origin", "https://evil.example.net")
        .body(Body::empty())
        .expect("request");
    s.app.send(other).await.assert_error(403, "forbidden");
    let bare = Request::builder()
        .uri(format!("/v1/kb/public/fast/{path}"))
        .header("x-minolith-site-key", &s.key)
        .body(Body::empty())
        .expect("request");
    s.app.send(bare).await.assert_error(403, "forbidden");

    // A rate limit lowered to 1 applies to cached reads at once, with the same 429.
    s.app
        .put(
            &format!("/v1/kb/{}/site-key", s.kb_id),
            json!({"rate_limit": 1}),
        )
        .await
        .assert_status(200);
    let r1 = read(&s, &path, &[]).await;
    let r2 = read(&s, &path, &[]).await;
    // The window may already hold this client's earlier reads; either way the limit is 1.
    assert!(r1.status == 429 || r1.status == 200);
    r2.assert_error(429, "rate_limit_exceeded");
    assert!(r2.header("retry-after").is_some());
    assert_eq!(r2.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(r2.header("vary"), Some("Origin"));

    // A revoked key stops working on the next request, cached body or not.
    let rotated = s
        .app
        .post_empty(&format!("/v1/kb/{}/site-key/revoke", s.kb_id))
        .await;
    rotated.assert_status(200);
    read(&s, &path, &[]).await.assert_error(403, "forbidden");

    // An edited article is never answered from the old cache entry.
    let fresh = Site {
        key: rotated.data()["site_key"]
            .as_str()
            .expect("key")
            .to_string(),
        ..s
    };
    fresh
        .app
        .put(
            &format!("/v1/kb/{}/site-key", fresh.kb_id),
            json!({"rate_limit": 1000}),
        )
        .await
        .assert_status(200);
    let before = read(&fresh, &path, &[]).await;
    before.assert_status(200);
    fresh
        .app
        .put(
            &format!("/v1/kb/{}/articles/{}", fresh.kb_id, fresh.article),
            json!({"title": "Renamed"}),
        )
        .await
        .assert_status(200);
    let after = read(&fresh, &path, &[]).await;
    let body: Value = after.body.clone();
    assert_eq!(body["data"]["title"], "Renamed");
}
