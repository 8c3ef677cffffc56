//! `/mcp`'s gate: the `Origin` check (DNS rebinding), the key (401 with the challenge that points
//! at the protected-resource metadata, 403 for a site key), and what an assistant key may do.

use axum::http::Method;
use serde_json::{Value, json};
use tome_core::keys::KeyKind;
use tome_http::HttpConfig;

use crate::support::{Client, Rev, TestApp, mcp_request, rpc, test_config};

/// The KBs the default project has, by slug (read through REST).
async fn kb_slugs(app: &TestApp) -> Vec<String> {
    let r = app.get("/v1/kb?limit=100").await;
    r.assert_status(200);
    r.data()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["slug"].as_str().unwrap().to_string())
        .collect()
}

/// A `tools/call` of `create_knowledge_base` for `slug`, with `origin` (if any).
async fn create_from(
    app: &TestApp,
    rev: Rev,
    origin: Option<&str>,
    slug: &str,
) -> crate::support::TestResponse {
    let body = rpc(
        rev,
        "tools/call",
        json!({"name": "create_knowledge_base", "arguments": {"title": "From a page", "slug": slug}}),
    );
    let mut req = mcp_request("/mcp", rev, Some(&app.key), &body);
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    app.send(req).await
}

#[tokio::test]
async fn another_sites_origin_is_refused_and_nothing_happens() {
    let app = TestApp::new().await;
    for rev in Rev::ALL {
        // The handshake from such a page is refused too.
        let mut req = mcp_request(
            "/mcp",
            rev,
            Some(&app.key),
            &rpc(
                rev,
                "initialize",
                json!({"protocolVersion": rev.version(), "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}),
            ),
        );
        req.headers_mut()
            .insert("origin", "https://evil.example".parse().unwrap());
        app.send(req).await.assert_error(403, "forbidden");

        // Connected (without an Origin), a call from the evil page is refused and does nothing.
        let _ = app.client(rev, &app.key).await;
        for evil in [
            "https://evil.example",
            "http://evil.example",
            "null",
            "http://127.0.0.1:8080.evil.example",
            "http://127.0.0.1:8081",
            "https://127.0.0.1:8080",
        ] {
            let slug = format!("evil-{}", rev.version());
            let r = create_from(&app, rev, Some(evil), &slug).await;
            r.assert_error(403, "forbidden");
            assert!(r.body.get("result").is_none(), "{}", r.text);
            assert!(
                !kb_slugs(&app).await.contains(&slug),
                "a create from {evil} happened"
            );
        }
    }
    assert_eq!(kb_slugs(&app).await, Vec::<String>::new());

    // Tome's own origin (the base URL's) passes, in any case and with the default port spelled
    // out; so does no Origin at all (every non-browser client).
    let own = [
        Some("http://127.0.0.1:8080"),
        Some("HTTP://127.0.0.1:8080"),
        None,
    ];
    for rev in Rev::ALL {
        for (i, origin) in own.iter().enumerate() {
            let slug = format!("own-{i}-{}", rev.version().replace('-', ""));
            let r = create_from(&app, rev, *origin, &slug).await;
            assert_eq!(r.tool_ok()["slug"], slug.as_str(), "{}", r.text);
        }
    }
    assert_eq!(kb_slugs(&app).await.len(), 6);
}

#[tokio::test]
async fn the_hosted_host_is_an_own_origin_too() {
    let app = TestApp::with_config(HttpConfig {
        base_url: "https://tome.example.com".into(),
        hosted_url: Some("https://help.example.com".into()),
        ..test_config()
    })
    .await;
    for rev in Rev::ALL {
        for (i, origin) in [
            "https://tome.example.com",
            "https://help.example.com",
            "https://help.example.com:443",
        ]
        .iter()
        .enumerate()
        {
            let slug = format!("ok-{i}-{}", rev.version().replace('-', ""));
            create_from(&app, rev, Some(origin), &slug).await.tool_ok();
        }
        for origin in [
            "http://help.example.com",
            "https://help.example.com:8443",
            "https://evil.help.example.com",
            "http://127.0.0.1:8080",
        ] {
            create_from(&app, rev, Some(origin), "never")
                .await
                .assert_error(403, "forbidden");
        }
    }
    assert!(!kb_slugs(&app).await.contains(&"never".to_string()));
}

#[track_caller]
fn assert_challenge(r: &crate::support::TestResponse) {
    r.assert_error(401, "unauthorized");
    let challenge = r
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("no WWW-Authenticate: {:?}", r.headers));
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(
            r#"resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource""#
        ),
        "{challenge}"
    );
}

#[tokio::test]
async fn a_missing_or_invalid_key_is_401_with_the_challenge() {
    let app = TestApp::new().await;
    let unknown = tome_core::keys::generate_api_key(KeyKind::Admin).plaintext;
    for rev in Rev::ALL {
        for key in [None, Some("nope"), Some(unknown.as_str()), Some("")] {
            let c = Client::unconnected(&app, "/mcp", rev, key);
            // The handshake (2025-11-25) and any request are refused alike.
            let r = c
                .request(
                    "initialize",
                    json!({"protocolVersion": rev.version(), "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}),
                )
                .await;
            assert_challenge(&r);
            assert_challenge(&c.request("tools/list", json!({})).await);
            let r = c
                .call(
                    "create_knowledge_base",
                    json!({"title": "T", "slug": "anon"}),
                )
                .await;
            assert_challenge(&r);
        }
        // A `Basic` or malformed `Authorization` is no key either.
        let mut req = mcp_request("/mcp", rev, None, &rpc(rev, "tools/list", json!({})));
        req.headers_mut().insert(
            "authorization",
            format!("Basic {}", app.key).parse().unwrap(),
        );
        assert_challenge(&app.send(req).await);
    }
    assert_eq!(kb_slugs(&app).await, Vec::<String>::new());

    // A revoked key is refused the same way.
    let key = app.new_key(&app.project_id, KeyKind::Admin).await;
    let c = app.client(Rev::Stateless, &key).await;
    c.request("tools/list", json!({})).await.result();
    let r = app.get("/v1/project").await;
    r.assert_status(200);
    let id = app
        .state
        .public
        .api_key(app.store.as_ref(), &key)
        .await
        .unwrap()
        .unwrap()
        .key
        .id
        .clone();
    app.store.revoke_api_key(&id).await.unwrap();
    app.state.public.invalidate_api_keys();
    assert_challenge(&c.request("tools/list", json!({})).await);
}

#[tokio::test]
async fn the_protected_resource_metadata_says_bearer_keys() {
    let app = TestApp::new().await;
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let r = app.call(Method::GET, path, None, None).await;
        r.assert_status(200);
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{:?}",
            r.headers
        );
        // RFC 9728 §2: `resource` is the protected resource's identifier (its URL).
        assert_eq!(
            r.body["resource"], "http://127.0.0.1:8080/mcp",
            "{}",
            r.text
        );
        assert_eq!(r.body["bearer_methods_supported"], json!(["header"]));
        assert!(r.body["resource_name"].is_string());
        assert!(r.body["authorization_servers"].is_array());
    }
}

#[tokio::test]
async fn a_site_key_is_the_wrong_kind_403() {
    let app = TestApp::new().await;
    let kb = app
        .post("/v1/kb", json!({"title": "KB", "slug": "site"}))
        .await;
    kb.assert_status(201);
    let site_key = kb.data()["site_key"].as_str().unwrap().to_string();
    for rev in Rev::ALL {
        let c = Client::unconnected(&app, "/mcp", rev, Some(&site_key));
        let r = c
            .request(
                "initialize",
                json!({"protocolVersion": rev.version(), "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}),
            )
            .await;
        r.assert_error(403, "forbidden");
        assert!(r.header("www-authenticate").is_none());
        c.call("list_knowledge_bases", json!({}))
            .await
            .assert_error(403, "forbidden");
    }
}

#[tokio::test]
async fn an_assistant_key_gets_the_read_only_documentation_tools_only() {
    let app = TestApp::new().await;
    let kb = app
        .post("/v1/kb", json!({"title": "Docs", "slug": "docs"}))
        .await;
    let kb_id = kb.data()["id"].as_str().unwrap().to_string();
    let cat = app
        .post(
            &format!("/v1/kb/{kb_id}/categories"),
            json!({"name": "Cat"}),
        )
        .await;
    let cat = cat.data()["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/v1/kb/{kb_id}/articles"),
        json!({"category_id": cat, "title": "Pangolin care", "body": "Pangolins eat ants.", "status": "published"}),
    )
    .await
    .assert_status(201);
    let assistant = app.new_key(&app.project_id, KeyKind::Assistant).await;

    for rev in Rev::ALL {
        let c = app.client(rev, &assistant).await;
        let tools = c.tools().await;
        let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["search_docs", "get_page"]);
        for t in &tools {
            assert_eq!(t["annotations"]["readOnlyHint"], true, "{t}");
        }

        // Management tools are not there for it: a protocol error, and nothing is created.
        for (tool, args) in [
            (
                "create_knowledge_base",
                json!({"title": "T", "slug": "by-assistant"}),
            ),
            ("list_knowledge_bases", json!({})),
            ("delete_knowledge_base", json!({"kb_id": kb_id})),
        ] {
            let r = c.call(tool, args).await;
            let (code, message) = r.rpc_error();
            assert_eq!(code, -32602, "{}", r.text);
            assert!(message.contains(tool), "{message}");
        }
        assert_eq!(kb_slugs(&app).await, ["docs"]);

        // What it has works.
        let r = c
            .call(
                "search_docs",
                json!({"domain": "docs", "query": "pangolin"}),
            )
            .await;
        let hits = r.tool_ok()["results"].as_array().unwrap().clone();
        assert!(!hits.is_empty(), "{}", r.text);
        let path = hits[0]["path"].as_str().unwrap().to_string();
        let r = c
            .call("get_page", json!({"domain": "docs", "path": path}))
            .await;
        assert!(
            r.tool_ok()["content"]
                .as_str()
                .unwrap()
                .contains("Pangolins eat ants."),
            "{}",
            r.text
        );
        // No resources for it.
        let r = c.request("resources/list", json!({})).await;
        assert_eq!(r.result()["resources"], json!([]), "{}", r.text);
    }
}

#[tokio::test]
async fn both_revisions_list_every_tool_with_strict_schemas() {
    let app = TestApp::new().await;
    let mut lists: Vec<Vec<Value>> = Vec::new();
    for rev in Rev::ALL {
        let c = app.client(rev, &app.key).await;
        let tools = c.tools().await;
        for t in &tools {
            let schema = &t["inputSchema"];
            assert_eq!(schema["type"], "object", "{t}");
            assert_eq!(schema["additionalProperties"], false, "{t}");
            assert!(
                t["description"].as_str().is_some_and(|d| d.len() > 20),
                "{t}"
            );
        }
        let no_output: Vec<String> = tools
            .iter()
            .filter(|t| t["outputSchema"]["type"] != "object")
            .map(|t| format!("{} {}", t["name"], t["outputSchema"]))
            .collect();
        assert!(
            no_output.is_empty(),
            "without an object outputSchema: {no_output:#?}"
        );
        lists.push(tools);
    }
    assert_eq!(lists[0], lists[1], "both revisions list the same tools");
    let names: Vec<&str> = lists[0]
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for expected in [
        "list_knowledge_bases",
        "create_article",
        "bulk_update_articles",
        "move_article",
        "publish_faq",
        "search_articles",
        "revoke_site_key",
        "update_project",
        "get_usage",
        "set_source",
        "trigger_update",
        "get_assistant_thread",
        "search_docs",
        "get_page",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }

    // 2026-07-28 answers `server/discover` without a handshake.
    let c = app.client(Rev::Stateless, &app.key).await;
    let r = c.request("server/discover", json!({})).await;
    let result = r.result();
    assert!(
        result["supportedVersions"]
            .as_array()
            .is_some_and(|v| v.contains(&json!("2026-07-28")) && v.contains(&json!("2025-11-25"))),
        "{}",
        r.text
    );
}
