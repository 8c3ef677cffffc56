//! Operations endpoints: `/metrics` and `/readyz`.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::json;

use crate::support::{TestApp, test_config};

fn get(path: &str, bearer: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(Method::GET).uri(path);
    if let Some(t) = bearer {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::empty()).expect("request")
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let app = TestApp::new().await;
    let kb = app.create_kb("metrics-kb").await;
    let kb_id = kb["id"].as_str().expect("id");
    app.get(&format!("/v1/kb/{kb_id}")).await.assert_status(200);
    app.get("/v1/kb/kb_doesnotexist").await.assert_status(404);

    let r = app.send(get("/metrics", None)).await;
    r.assert_status(200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    let t = &r.text;
    // Route labels are templates, never raw IDs.
    assert!(
        t.contains(
            r#"tome_http_requests_total{route="/v1/kb/{kb_id}",method="GET",status="200"} 1"#
        ),
        "{t}"
    );
    assert!(
        t.contains(
            r#"tome_http_requests_total{route="/v1/kb/{kb_id}",method="GET",status="404"} 1"#
        ),
        "{t}"
    );
    assert!(!t.contains(kb_id), "raw IDs leak into labels");
    assert!(
        t.contains("tome_http_request_duration_seconds_bucket"),
        "{t}"
    );
    assert!(
        t.contains(r#"tome_db_pool_connections{pool="read",state="max"}"#),
        "{t}"
    );
    assert!(t.contains("tome_redis_up 1"), "{t}");
}

#[tokio::test]
async fn metrics_count_rate_limit_rejections() {
    let mut config = test_config();
    config.admin_rate_limit = 2;
    let app = TestApp::with_config(config).await;
    for _ in 0..3 {
        app.get("/v1/project").await;
    }
    let r = app.send(get("/metrics", None)).await;
    assert!(
        r.text
            .contains(r#"tome_rate_limit_rejections_total{limit="admin"} 1"#),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn metrics_count_public_cache_hits_and_misses() {
    let app = TestApp::new().await;
    let kb = app.create_kb("cache-kb").await;
    let site_key = kb["site_key"].as_str().expect("site key");
    app.settle().await;
    for _ in 0..3 {
        let req = Request::builder()
            .uri("/v1/kb/public/cache-kb/structure")
            .header("x-minolith-site-key", site_key)
            .body(Body::empty())
            .expect("request");
        app.send(req).await.assert_status(200);
    }
    let t = app.send(get("/metrics", None)).await.text;
    assert!(
        t.contains(r#"tome_cache_lookups_total{cache="public",result="miss"} 1"#),
        "{t}"
    );
    assert!(
        t.contains(r#"tome_cache_lookups_total{cache="public",result="hit"} 2"#),
        "{t}"
    );
}

#[tokio::test]
async fn a_metrics_token_guards_the_endpoint() {
    let mut config = test_config();
    config.metrics_token = Some("s3cret-token".to_string());
    let app = TestApp::with_config(config).await;
    app.send(get("/metrics", None))
        .await
        .assert_error(401, "unauthorized");
    app.send(get("/metrics", Some("wrong-token!")))
        .await
        .assert_error(401, "unauthorized");
    app.send(get("/metrics", Some("s3cret-token")))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn readyz_reports_the_database_search_and_redis() {
    let app = TestApp::new().await;
    let r = app.send(get("/readyz", None)).await;
    r.assert_status(200);
    assert_eq!(
        r.body,
        json!({"status": "ready", "database": "ok", "search": "ok", "redis": "not configured"})
    );
}
