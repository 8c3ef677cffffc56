//! The push webhook's own limits, through the router: per-client rate limit, and a signed push
//! from one client not blocked by another client's bad requests.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::json;

use crate::support::{TestApp, test_config};

fn hook(kb: &str, ip: [u8; 4]) -> Request<Body> {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/hooks/git/{kb}"))
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-hub-signature-256", "sha256=00")
        .body(Body::from(r#"{"ref":"refs/heads/main"}"#))
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            ip, 40000,
        ))));
    req
}

#[tokio::test]
async fn the_push_webhook_is_rate_limited_per_client() {
    let app = TestApp::with_config(tome_http::HttpConfig {
        webhook_rate_limit: 3,
        ..test_config()
    })
    .await;
    let kb = app.create_kb("hooked").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/kb/{kb}/source"),
            Some(&app.key),
            Some(json!({"url": "https://git.example.com/a/docs.git", "webhook_secret": "s3cret-s3cret"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    for n in 0..3 {
        let r = app.send(hook(&kb, [10, 0, 0, 1])).await;
        r.assert_error(401, "unauthorized");
        assert_eq!(r.header("x-ratelimit-limit"), Some("3"), "request {n}");
    }
    let r = app.send(hook(&kb, [10, 0, 0, 1])).await;
    r.assert_error(429, "rate_limit_exceeded");
    assert!(r.header("retry-after").is_some());
    // Another client is counted on its own.
    let r = app.send(hook(&kb, [10, 0, 0, 2])).await;
    r.assert_error(401, "unauthorized");
    // Nothing was queued by any of them.
    let r = app
        .call(Method::GET, "/v1/project/updates", Some(&app.key), None)
        .await;
    assert_eq!(r.body["data"], json!([]), "{}", r.text);
}
