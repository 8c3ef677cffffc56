//! The public help centre's MCP server, `/hc/{slug}/mcp`: public KBs only, no key, `search` and
//! `get_page` over published content, and the hosted pages' per-client rate limit.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use serde_json::json;
use tome_http::HttpConfig;

use crate::support::{Client, Rev, TestApp, fresh_window, id_of, mcp_request, rpc, test_config};

/// A KB with a published and a draft article: `(kb_id, published_id, draft_id)`.
pub(crate) async fn site(app: &TestApp, slug: &str, public: bool) -> (String, String, String) {
    let r = app
        .post(
            "/v1/kb",
            json!({"title": format!("Help {slug}"), "slug": slug, "is_public": public}),
        )
        .await;
    r.assert_status(201);
    let kb = id_of(&r);
    let cat = app
        .post(
            &format!("/v1/kb/{kb}/categories"),
            json!({"name": "Animals"}),
        )
        .await;
    let cat = id_of(&cat);
    let published = app
        .post(
            &format!("/v1/kb/{kb}/articles"),
            json!({"category_id": cat, "title": "Feeding the capybara", "body": "## Diet\n\nCapybaras graze on grasses.", "status": "published"}),
        )
        .await;
    published.assert_status(201);
    let draft = app
        .post(
            &format!("/v1/kb/{kb}/articles"),
            json!({"category_id": cat, "title": "Capybara secrets", "body": "Unreleased capybara plans."}),
        )
        .await;
    draft.assert_status(201);
    (kb, id_of(&published), id_of(&draft))
}

#[tokio::test]
async fn a_private_or_unknown_kb_has_no_public_mcp() {
    let app = TestApp::new().await;
    site(&app, "private", false).await;
    for rev in Rev::ALL {
        for slug in ["private", "nowhere", "Bad_Slug"] {
            let c = Client::unconnected(&app, &format!("/hc/{slug}/mcp"), rev, None);
            let r = c
                .request(
                    "initialize",
                    json!({"protocolVersion": rev.version(), "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}),
                )
                .await;
            r.assert_error(404, "kb_not_found");
            c.request("tools/list", json!({}))
                .await
                .assert_error(404, "kb_not_found");
            let r = c.call("search", json!({"query": "capybara"})).await;
            r.assert_error(404, "kb_not_found");
            assert!(!r.text.contains("Capybara"), "{}", r.text);
        }
        // An admin key does not open a private KB's public server either.
        let c = Client::unconnected(&app, "/hc/private/mcp", rev, Some(&app.key));
        c.call("search", json!({"query": "capybara"}))
            .await
            .assert_error(404, "kb_not_found");
    }
}

#[tokio::test]
async fn a_public_kb_is_searched_and_read_without_a_key() {
    let app = TestApp::new().await;
    let (_, published, draft) = site(&app, "zoo", true).await;
    for rev in Rev::ALL {
        let c = app.public_client(rev, "zoo").await;
        let tools = c.tools().await;
        let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["search", "get_page"]);
        let props = tools[0]["inputSchema"]["properties"].as_object().unwrap();
        for arg in ["query", "pageSize", "scoreThreshold", "filter"] {
            assert!(props.contains_key(arg), "search lacks {arg}: {props:?}");
        }
        assert!(!props.contains_key("domain"));

        let r = c
            .call("search", json!({"query": "capybara", "pageSize": 5}))
            .await;
        let hits = r.tool_ok()["results"].as_array().unwrap().clone();
        assert!(!hits.is_empty(), "{}", r.text);
        // Published passages only.
        assert!(r.text.contains(&published), "{}", r.text);
        assert!(
            !r.text.contains(&draft),
            "a draft in public search: {}",
            r.text
        );
        assert!(!r.text.contains("Unreleased"), "{}", r.text);
        let path = hits[0]["path"].as_str().unwrap().to_string();

        let r = c.call("get_page", json!({"path": path})).await;
        let page = r.tool_ok();
        let content = page["content"].as_str().unwrap();
        assert!(content.contains("Capybaras graze on grasses."), "{content}");

        // A draft is not a page; a domain is not an argument here.
        let r = c.call("get_page", json!({"path": draft})).await;
        assert!(r.is_tool_error(), "{}", r.text);
        assert!(!r.text.contains("Unreleased"), "{}", r.text);
        let r = c
            .call("search", json!({"query": "capybara", "domain": "zoo"}))
            .await;
        assert_eq!(r.rpc_error().0, -32602, "{}", r.text);
        // Published articles as resources.
        let r = c.request("resources/list", json!({})).await;
        let resources = r.result()["resources"].as_array().unwrap().clone();
        assert_eq!(resources.len(), 1, "{}", r.text);
        let uri = resources[0]["uri"].as_str().unwrap().to_string();
        assert!(
            uri.starts_with("http://127.0.0.1:8080/hc/zoo/articles/"),
            "{uri}"
        );
        let r = c.request("resources/read", json!({"uri": uri})).await;
        assert!(
            r.result()["contents"][0]["text"]
                .as_str()
                .unwrap()
                .contains("Capybaras graze"),
            "{}",
            r.text
        );
        // Writing is not something it does.
        let r = c.call("create_article", json!({"title": "x"})).await;
        assert_eq!(r.rpc_error().0, -32602);
    }
}

#[tokio::test]
async fn the_public_mcp_has_the_hosted_per_client_rate_limit() {
    const LIMIT: u64 = 8;
    let app = TestApp::with_config(HttpConfig {
        hosted_rate_limit: LIMIT,
        ..test_config()
    })
    .await;
    site(&app, "busy", true).await;
    for (i, rev) in Rev::ALL.into_iter().enumerate() {
        let peer = SocketAddr::from(([10, 0, 0, 1 + i as u8], 5000));
        let from = |body: &serde_json::Value, peer: SocketAddr| {
            let mut req = mcp_request("/hc/busy/mcp", rev, None, body);
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        };
        fresh_window().await;
        if rev == Rev::Handshake {
            let init = rpc(
                rev,
                "initialize",
                json!({"protocolVersion": rev.version(), "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}),
            );
            app.send(from(&init, peer)).await.result();
        }
        let mut allowed = u64::from(rev == Rev::Handshake);
        let refused = loop {
            let body = rpc(
                rev,
                "tools/call",
                json!({"name": "search", "arguments": {"query": "capybara"}}),
            );
            let r = app.send(from(&body, peer)).await;
            if r.status.as_u16() == 429 {
                break r;
            }
            r.tool_ok();
            allowed += 1;
            assert!(allowed <= LIMIT, "more than {LIMIT} allowed");
        };
        assert_eq!(allowed, LIMIT);
        refused.assert_error(429, "rate_limit_exceeded");
        let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry));
        // Another client is counted on its own.
        let other = SocketAddr::from(([10, 0, 1, 1 + i as u8], 5000));
        let body = rpc(
            rev,
            "tools/call",
            json!({"name": "search", "arguments": {"query": "capybara"}}),
        );
        app.send(from(&body, other)).await.tool_ok();
    }
}
