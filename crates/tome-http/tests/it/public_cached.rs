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

/// `PUT`s `fields` onto the site's article.
async fn edit_article(s: &Site, fields: Value) -> TestResponse {
    s.app
        .put(
            &format!("/v1/kb/{}/articles/{}", s.kb_id, s.article),
            fields,
        )
        .await
}

/// Public cache lookups so far, as (hits, misses), from the metrics.
async fn lookups(app: &TestApp) -> (u64, u64) {
    let req = Request::builder()
        .uri("/metrics")
        .body(Body::empty())
        .expect("request");
    let text = app.send(req).await.text;
    let count = |result: &str| {
        let prefix = format!(r#"tome_cache_lookups_total{{cache="public",result="{result}"}} "#);
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map_or(0, |n| n.trim().parse().expect("a count"))
    };
    (count("hit"), count("miss"))
}

/// A write of this node marks its KB stale once, before it answers. When the search index then
/// takes the same change from the change feed, the KB must not go stale a second time: every
/// reader in between would have rendered a body only to throw it away. A change made elsewhere
/// after that write still makes it stale.
#[tokio::test]
async fn the_change_feed_does_not_invalidate_again_what_a_write_here_already_did() {
    let s = site().await;
    let search = format!("/v1/kb/{}/search?q=welcome", s.kb_id);
    edit_article(&s, json!({"title": "Welcome aboard"}))
        .await
        .assert_status(200);
    let (hits, misses) = lookups(&s.app).await;
    let first = read(&s, "structure", &[]).await;
    first.assert_status(200);
    assert!(first.text.contains("Welcome aboard"), "{}", first.text);
    // A search first brings the index level with the feed, applying the write's changes.
    s.app.get(&search).await.assert_status(200);
    read(&s, "structure", &[]).await.assert_status(200);
    assert_eq!(
        lookups(&s.app).await,
        (hits + 1, misses + 1),
        "rendered once, then served from the cache"
    );

    // As another node or the CLI would write: straight into the database, no invalidation here.
    let made = s
        .app
        .store
        .create_articles(
            &s.app.project_id,
            &s.kb_id,
            vec![tome_core::input::NewArticle {
                category_id: s.category.clone(),
                section_id: None,
                title: "Written elsewhere".to_string(),
                body: "By another node.".to_string(),
                excerpt: None,
                status: tome_core::model::Status::Published,
                tags: Vec::new(),
                related_articles: Vec::new(),
                sort_order: 0,
            }],
            false,
        )
        .await
        .expect("created");
    // The feed follower takes it within its interval (a search only waits for this node's own
    // writes).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let after = read(&s, "structure", &[]).await;
        after.assert_status(200);
        if after.text.contains(&made[0].id) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the change made elsewhere never showed: {}",
            after.text
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A write refused with a 4xx changed nothing, so what was cached stays cached.
#[tokio::test]
async fn a_refused_write_leaves_the_cache_alone() {
    let s = site().await;
    s.app.settle().await;
    read(&s, "structure", &[]).await.assert_status(200);
    let (hits, misses) = lookups(&s.app).await;
    edit_article(&s, json!({"title": ""}))
        .await
        .assert_status(422);
    s.app
        .put("/v1/kb/kb_doesnotexist", json!({"title": "x"}))
        .await
        .assert_status(404);
    let again = read(&s, "structure", &[]).await;
    again.assert_status(200);
    assert!(again.text.contains("Welcome"), "{}", again.text);
    assert_eq!(lookups(&s.app).await, (hits + 1, misses));
}
