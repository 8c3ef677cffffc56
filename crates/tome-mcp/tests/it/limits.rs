//! Limits on `/mcp`: the request body limit and the key's rate limit, shared with REST.

use std::sync::Arc;

use axum::http::Method;
use serde_json::json;
use tokio::task::JoinSet;
use tome_http::HttpConfig;

use crate::support::{Rev, TestApp, fresh_window, mcp_request, rpc, test_config};

/// A `tools/call` of `create_knowledge_base` whose body is exactly `size` bytes (the title
/// padded).
fn padded_create(rev: Rev, size: usize) -> String {
    let body = rpc(
        rev,
        "tools/call",
        json!({"name": "create_knowledge_base", "arguments": {"title": "", "slug": "big"}}),
    )
    .to_string();
    let pad = size.checked_sub(body.len()).expect("size too small");
    body.replacen(
        "\"title\":\"\"",
        &format!("\"title\":\"{}\"", "x".repeat(pad)),
        1,
    )
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_changes_nothing() {
    let app = TestApp::new().await;
    for rev in Rev::ALL {
        let c = app.client(rev, &app.key).await;
        let over = padded_create(rev, tome_http::BODY_LIMIT + 1);
        assert_eq!(over.len(), tome_http::BODY_LIMIT + 1);
        let mut req = mcp_request("/mcp", rev, Some(&app.key), &json!({}));
        // The headers of a real call; the body too big.
        let value: serde_json::Value = serde_json::from_str(&over).unwrap();
        let template = mcp_request("/mcp", rev, Some(&app.key), &value);
        *req.headers_mut() = template.headers().clone();
        *req.body_mut() = axum::body::Body::from(over.clone());
        // Without a length (as a chunked body): rmcp cuts it off at the same limit.
        let chunked = req;
        let r = app.send(chunked).await;
        r.assert_status(413);
        // With its length announced, as clients send it: refused before it is read, with
        // Tome's error envelope.
        let mut req = mcp_request("/mcp", rev, Some(&app.key), &value);
        req.headers_mut().insert(
            axum::http::header::CONTENT_LENGTH,
            axum::http::HeaderValue::from(over.len()),
        );
        *req.body_mut() = axum::body::Body::from(over);
        let r = app.send(req).await;
        r.assert_error(413, "payload_too_large");

        // At the limit, the request is read: the title is then too long for the REST rules (a
        // tool error naming it), not too big for the transport.
        let at = padded_create(rev, tome_http::BODY_LIMIT);
        let value: serde_json::Value = serde_json::from_str(&at).unwrap();
        let r = c.send(&value).await;
        let err = r.tool_err("validation_error");
        assert_eq!(
            err["details"]["field"],
            "title",
            "{}",
            &r.text[..300.min(r.text.len())]
        );
    }
    let r = app.get("/v1/kb").await;
    assert_eq!(r.data(), &json!([]));
}

/// `(allowed, refused)` of `n` concurrent `tools/call`s of `get_project` with `key`.
async fn burst(app: &Arc<TestApp>, rev: Rev, key: &str, n: usize) -> (usize, usize) {
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let app = app.clone();
        let key = key.to_string();
        tasks.spawn(async move {
            let body = rpc(
                rev,
                "tools/call",
                json!({"name": "get_project", "arguments": {}}),
            );
            app.send(mcp_request("/mcp", rev, Some(&key), &body)).await
        });
    }
    let (mut ok, mut refused) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        if r.is_tool_error() {
            let e = r.tool_err("rate_limit_exceeded");
            assert!(e["message"].is_string());
            refused += 1;
        } else {
            assert!(r.tool_ok()["id"].is_string(), "{}", r.text);
            ok += 1;
        }
    }
    (ok, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_rapid_calls_hit_the_keys_rate_limit() {
    let app = Arc::new(
        TestApp::with_config(HttpConfig {
            admin_rate_limit: 100,
            ..test_config()
        })
        .await,
    );
    for rev in Rev::ALL {
        let key = app
            .new_key(&app.project_id, tome_core::keys::KeyKind::Admin)
            .await;
        // The handshake is not a call: it is not counted.
        let c = app.client(rev, &key).await;
        fresh_window().await;
        let (ok, refused) = burst(&app, rev, &key, 1_000).await;
        assert_eq!((ok, refused), (100, 900), "{rev:?}");
        // Sequentially, the next one is refused too, as is the key's REST.
        c.call("get_project", json!({}))
            .await
            .tool_err("rate_limit_exceeded");
        app.call(Method::GET, "/v1/project", Some(&key), None)
            .await
            .assert_error(429, "rate_limit_exceeded");
        // Another key has its own budget.
        let other = app
            .new_key(&app.project_id, tome_core::keys::KeyKind::Admin)
            .await;
        app.client(rev, &other)
            .await
            .call("get_project", json!({}))
            .await
            .tool_ok();
    }
}

#[tokio::test]
async fn rest_and_mcp_share_the_keys_counter() {
    let app = TestApp::with_config(HttpConfig {
        admin_rate_limit: 100,
        ..test_config()
    })
    .await;
    for rev in Rev::ALL {
        let key = app
            .new_key(&app.project_id, tome_core::keys::KeyKind::Admin)
            .await;
        let c = app.client(rev, &key).await;
        fresh_window().await;
        for i in 0..50 {
            let r = app.call(Method::GET, "/v1/project", Some(&key), None).await;
            r.assert_status(200);
            assert_eq!(
                r.header("x-ratelimit-remaining"),
                Some((99 - i).to_string().as_str())
            );
        }
        for _ in 0..50 {
            c.call("get_usage", json!({})).await.tool_ok();
        }
        // 100 used: both ways are refused now.
        let r = c.call("get_usage", json!({})).await;
        let e = r.tool_err("rate_limit_exceeded");
        assert!(e["message"].as_str().unwrap().len() > 5);
        app.call(Method::GET, "/v1/project", Some(&key), None)
            .await
            .assert_error(429, "rate_limit_exceeded");
        // A refused create creates nothing.
        let r = c
            .call(
                "create_knowledge_base",
                json!({"title": "T", "slug": "limited"}),
            )
            .await;
        r.tool_err("rate_limit_exceeded");
    }
    assert_eq!(app.get("/v1/kb").await.data(), &json!([]));
}
