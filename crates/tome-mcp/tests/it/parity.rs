//! A tool call behaves as its REST request: the same validation (a 422 becomes a tool error
//! naming the field), credits (402 at the cap, nothing created), `source_managed`, data, cursors
//! and cache/search invalidation; protocol errors (unknown tool, arguments not matching the
//! schema) are JSON-RPC errors.

use axum::http::Method;
use serde_json::json;
use tome_core::input::ProjectPatch;

use crate::support::{Client, Rev, TestApp, id_of};

/// A KB (public or not) and one category: `(kb_id, site_key, category_id)`.
async fn kb_with_category(app: &TestApp, slug: &str, public: bool) -> (String, String, String) {
    let r = app
        .post(
            "/v1/kb",
            json!({"title": format!("KB {slug}"), "slug": slug, "is_public": public}),
        )
        .await;
    r.assert_status(201);
    let kb = id_of(&r);
    let site_key = r.data()["site_key"].as_str().unwrap().to_string();
    let cat = app
        .post(&format!("/v1/kb/{kb}/categories"), json!({"name": "Cat"}))
        .await;
    cat.assert_status(201);
    (kb, site_key, id_of(&cat))
}

async fn article_count(app: &TestApp, kb: &str) -> usize {
    let r = app
        .get(&format!(
            "/v1/kb/{kb}/articles?status=draft,published,archived&limit=100"
        ))
        .await;
    r.assert_status(200);
    r.data().as_array().unwrap().len()
}

#[tokio::test]
async fn a_422_is_a_tool_error_with_the_rest_envelopes_error() {
    let app = TestApp::new().await;
    let (kb, _, cat) = kb_with_category(&app, "valid", false).await;
    let long = "x".repeat(501);
    let cases = [
        (
            "create_knowledge_base",
            json!({"title": "KB", "slug": "Not A Slug!"}),
            Method::POST,
            "/v1/kb".to_string(),
            json!({"title": "KB", "slug": "Not A Slug!"}),
            "slug",
        ),
        (
            "create_article",
            json!({"kb_id": kb, "category_id": cat, "title": long}),
            Method::POST,
            format!("/v1/kb/{kb}/articles"),
            json!({"category_id": cat, "title": long}),
            "title",
        ),
        (
            "create_category",
            json!({"kb_id": kb, "name": ""}),
            Method::POST,
            format!("/v1/kb/{kb}/categories"),
            json!({"name": ""}),
            "name",
        ),
        (
            "create_article",
            json!({"kb_id": kb, "category_id": cat, "title": "T", "status": "sideways"}),
            Method::POST,
            format!("/v1/kb/{kb}/articles"),
            json!({"category_id": cat, "title": "T", "status": "sideways"}),
            "status",
        ),
    ];
    for rev in Rev::ALL {
        let c = app.client(rev, &app.key).await;
        for (tool, args, method, path, body, field) in &cases {
            let r = c.call(tool, args.clone()).await;
            let err = r.tool_err("validation_error");
            assert_eq!(err["details"]["field"], *field, "{}", r.text);
            let text = r.result()["content"][0]["text"].as_str().unwrap();
            assert!(text.starts_with("validation_error: "), "{text}");
            // The same error object as the REST call's.
            let rest = app
                .call(method.clone(), path, Some(&app.key), Some(body.clone()))
                .await;
            rest.assert_error(422, "validation_error");
            assert_eq!(err, &rest.body["error"], "{tool} {args}");
        }
    }
    assert_eq!(article_count(&app, &kb).await, 0);
}

#[tokio::test]
async fn protocol_errors_are_json_rpc_errors() {
    let app = TestApp::new().await;
    let (kb, _, cat) = kb_with_category(&app, "proto", false).await;
    for rev in Rev::ALL {
        let c = app.client(rev, &app.key).await;
        // An unknown tool.
        let r = c.call("create_everything", json!({})).await;
        let (code, message) = r.rpc_error();
        assert_eq!(code, -32602, "{}", r.text);
        assert!(message.contains("create_everything"), "{message}");

        // An argument of the wrong type.
        for (tool, args, field) in [
            (
                "create_article",
                json!({"kb_id": kb, "category_id": cat, "title": 5}),
                "title",
            ),
            (
                "create_article",
                json!({"kb_id": kb, "category_id": cat, "title": "T", "tags": "one"}),
                "tags",
            ),
            (
                "create_category",
                json!({"kb_id": kb, "name": "N", "sort_order": "first"}),
                "sort_order",
            ),
            ("get_knowledge_base", json!({"kb_id": 7}), "kb_id"),
            (
                "list_articles",
                json!({"kb_id": kb, "limit": "ten"}),
                "limit",
            ),
            (
                "update_article",
                json!({"kb_id": kb, "id": "kba_000000000000", "title": ["T"]}),
                "title",
            ),
        ] {
            let r = c.call(tool, args.clone()).await;
            let (code, message) = r.rpc_error();
            assert_eq!(code, -32602, "{tool} {args}: {}", r.text);
            assert!(message.contains(field), "{tool} {args}: {message}");
            assert_eq!(r.body["error"]["data"]["field"], field, "{}", r.text);
        }

        // An unknown argument, and a missing path parameter.
        let r = c
            .call(
                "create_category",
                json!({"kb_id": kb, "name": "N", "colour": "red"}),
            )
            .await;
        let (code, message) = r.rpc_error();
        assert_eq!(code, -32602);
        assert!(message.contains("colour"), "{message}");
        let r = c.call("get_article", json!({"kb_id": kb})).await;
        let (code, message) = r.rpc_error();
        assert_eq!(code, -32602);
        assert!(message.contains("`id`"), "{message}");
        // A required argument missing does not match the schema either, naming it.
        let r = c
            .call(
                "create_article",
                json!({"kb_id": kb, "category_id": "kbc_000000000000"}),
            )
            .await;
        let (code, message) = r.rpc_error();
        assert_eq!(code, -32602);
        assert!(message.contains("`title`"), "{message}");
        assert_eq!(r.body["error"]["data"]["field"], "title", "{}", r.text);
        // A `move_article` argument that `update_article` has but the move does not.
        let r = c
            .call(
                "move_article",
                json!({"kb_id": kb, "id": "kba_000000000000", "title": "T"}),
            )
            .await;
        assert_eq!(r.rpc_error().0, -32602, "{}", r.text);
    }
    // None of it created anything.
    assert_eq!(article_count(&app, &kb).await, 0);
    let r = app.get(&format!("/v1/kb/{kb}/categories")).await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_credit_cap_is_spending_cap_exceeded_and_nothing_is_created() {
    let app = TestApp::new().await;
    // KB 3 + category 2 credits.
    let (kb, _, cat) = kb_with_category(&app, "capped", false).await;
    // Room for one article (3 credits) and one FAQ (1), then nothing.
    app.store
        .update_project(
            &app.project_id,
            ProjectPatch {
                credit_cap: Some(Some(9)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let used = |r: &crate::support::TestResponse| r.data()["credits_used"].as_i64().unwrap();
    for rev in Rev::ALL {
        let c = app.client(rev, &app.key).await;
        let before = used(&app.get("/v1/usage").await);
        let articles = article_count(&app, &kb).await;
        if rev == Rev::Stateless {
            let r = c
                .call(
                    "create_article",
                    json!({"kb_id": kb, "category_id": cat, "title": "Fits"}),
                )
                .await;
            r.tool_ok();
            c.call(
                "create_faq",
                json!({"kb_id": kb, "category_id": cat, "question": "Q?", "answer": "A."}),
            )
            .await
            .tool_ok();
        }
        let now = used(&app.get("/v1/usage").await);
        let r = c
            .call(
                "create_article",
                json!({"kb_id": kb, "category_id": cat, "title": "Over"}),
            )
            .await;
        let err = r.tool_err("spending_cap_exceeded");
        assert_eq!(
            err["details"],
            json!({"credit_cap": 9, "credits_used": now, "credits_required": 3}),
            "{}",
            r.text
        );
        let r = c
            .call(
                "bulk_create_articles",
                json!({"kb_id": kb, "articles": [{"category_id": cat, "title": "B1"}]}),
            )
            .await;
        r.tool_err("spending_cap_exceeded");
        let r = c
            .call(
                "create_knowledge_base",
                json!({"title": "T", "slug": "over-cap"}),
            )
            .await;
        r.tool_err("spending_cap_exceeded");
        // Nothing was created, nothing charged; free tools still work.
        assert_eq!(used(&app.get("/v1/usage").await), now);
        let expected = if rev == Rev::Stateless {
            articles + 1
        } else {
            articles
        };
        assert_eq!(article_count(&app, &kb).await, expected);
        let usage = c.call("get_usage", json!({})).await;
        assert_eq!(usage.tool_ok()["credits_used"], now);
        assert!(now >= before);
    }
    assert_eq!(used(&app.get("/v1/usage").await), 9);
}

#[tokio::test]
async fn a_sourced_kb_answers_source_managed() {
    let app = TestApp::new().await;
    let (kb, _, cat) = kb_with_category(&app, "sourced", false).await;
    let url = "https://git.example.com/acme/docs.git";
    for rev in Rev::ALL {
        let articles = article_count(&app, &kb).await;
        let c = app.client(rev, &app.key).await;
        let r = c
            .call(
                "set_source",
                json!({"kb_id": kb, "url": url, "branch": "main"}),
            )
            .await;
        assert_eq!(r.tool_ok()["url"], url, "{}", r.text);
        let r = c
            .call(
                "create_article",
                json!({"kb_id": kb, "category_id": cat, "title": "By hand"}),
            )
            .await;
        let err = r.tool_err("source_managed");
        assert_eq!(err["details"]["source"]["url"], url);
        assert_eq!(err["details"]["source"]["branch"], "main");
        let r = c
            .call(
                "update_category",
                json!({"kb_id": kb, "id": cat, "name": "Renamed"}),
            )
            .await;
        r.tool_err("source_managed");
        assert_eq!(article_count(&app, &kb).await, articles);
        // The KB's own settings stay editable, and detaching makes the content editable again.
        c.call(
            "update_knowledge_base",
            json!({"kb_id": kb, "description": "Sourced."}),
        )
        .await
        .tool_ok();
        let r = c.call("delete_source", json!({"kb_id": kb})).await;
        assert_eq!(r.tool_ok(), &json!({"deleted": true}));
        c.call(
            "create_article",
            json!({"kb_id": kb, "category_id": cat, "title": "By hand"}),
        )
        .await
        .tool_ok();
    }
    assert_eq!(article_count(&app, &kb).await, 2);
}

#[tokio::test]
async fn results_are_the_rest_data_and_cursors_pass_through() {
    let app = TestApp::new().await;
    let (kb, _, cat) = kb_with_category(&app, "same", false).await;
    for i in 0..5 {
        app.post(
            &format!("/v1/kb/{kb}/articles"),
            json!({"category_id": cat, "title": format!("Article {i}"), "body": format!("Body {i}.")}),
        )
        .await
        .assert_status(201);
    }
    for rev in Rev::ALL {
        let c = app.client(rev, &app.key).await;
        // A list page by page, through the cursor, equals the REST pages.
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut args = json!({"kb_id": kb, "limit": 2});
            let mut path = format!("/v1/kb/{kb}/articles?limit=2");
            if let Some(cur) = &cursor {
                args["cursor"] = json!(cur);
                path.push_str(&format!("&cursor={cur}"));
            }
            let r = c.call("list_articles", args).await;
            let page = r.tool_ok().clone();
            let rest = app.get(&path).await;
            rest.assert_status(200);
            assert_eq!(page["data"], rest.body["data"]);
            assert_eq!(page["pagination"], rest.body["pagination"]);
            pages += 1;
            cursor = page["pagination"]["next_cursor"]
                .as_str()
                .map(str::to_string);
            if cursor.is_none() {
                break;
            }
            let text = r.result()["content"][0]["text"].as_str().unwrap();
            assert!(text.contains("More: pass cursor"), "{text}");
            let (_, json_text) = text.split_once("\n\n").expect("summary, then JSON");
            let parsed: serde_json::Value = serde_json::from_str(json_text).expect("JSON");
            assert_eq!(&parsed, r.tool_ok());
        }
        assert_eq!(pages, 3);

        // One item: the REST `data`, and a text rendering naming it.
        let id = app
            .get(&format!("/v1/kb/{kb}/articles?limit=1"))
            .await
            .data()[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = c.call("get_article", json!({"kb_id": kb, "id": id})).await;
        let rest = app.get(&format!("/v1/kb/{kb}/articles/{id}")).await;
        assert_eq!(r.tool_ok(), rest.data());
        let text = r.result()["content"][0]["text"].as_str().unwrap();
        assert!(text.contains(&id), "{text}");
        // The text is a summary line, then the result's JSON.
        let (_, json_text) = text.split_once("\n\n").expect("summary, then JSON");
        let parsed: serde_json::Value = serde_json::from_str(json_text).expect("JSON");
        assert_eq!(&parsed, r.tool_ok());
        // A foreign or unknown ID is the REST 404.
        let r = c
            .call(
                "get_article",
                json!({"kb_id": kb, "id": "kba_000000000000"}),
            )
            .await;
        let err = r.tool_err("article_not_found");
        let rest = app
            .get(&format!("/v1/kb/{kb}/articles/kba_000000000000"))
            .await;
        rest.assert_status(404);
        assert_eq!(err, &rest.body["error"]);
    }
}

#[tokio::test]
async fn writes_through_mcp_show_at_once_in_search_and_the_public_api() {
    let app = TestApp::new().await;
    let (kb, site_key, cat) = kb_with_category(&app, "fresh", true).await;
    let public = |path: String| {
        let app = &app;
        let site_key = site_key.clone();
        async move {
            let req = axum::http::Request::builder()
                .uri(path)
                .header("x-minolith-site-key", site_key)
                .body(axum::body::Body::empty())
                .unwrap();
            app.send(req).await
        }
    };
    for (i, rev) in Rev::ALL.into_iter().enumerate() {
        let word = ["wombat", "platypus"][i];
        // Warm the public caches first.
        let structure = public("/v1/kb/public/fresh/structure".into()).await;
        structure.assert_status(200);
        let before = public(format!("/v1/kb/public/fresh/search?q={word}")).await;
        before.assert_status(200);
        assert_eq!(before.data()["articles"], json!([]), "{}", before.text);

        let c = app.client(rev, &app.key).await;
        let r = c
            .call(
                "create_article",
                json!({"kb_id": kb, "category_id": cat, "title": format!("The {word} guide"), "body": format!("All about the {word}.")}),
            )
            .await;
        let id = r.tool_ok()["id"].as_str().unwrap().to_string();
        // A draft: in the management search at once, not in public.
        let r = c
            .call("search_articles", json!({"kb_id": kb, "q": word}))
            .await;
        assert_eq!(r.tool_ok()["articles"][0]["id"], id.as_str(), "{}", r.text);
        let r = public(format!("/v1/kb/public/fresh/search?q={word}")).await;
        assert_eq!(r.data()["articles"], json!([]));

        let r = c
            .call("publish_article", json!({"kb_id": kb, "id": id}))
            .await;
        assert_eq!(r.tool_ok()["status"], "published");
        // At once, with no wait: REST search, public search, the public article and structure,
        // the hosted page and the documentation search.
        let rest = app
            .get(&format!("/v1/kb/{kb}/search?q={word}&status=published"))
            .await;
        assert_eq!(
            rest.data()["articles"][0]["id"],
            id.as_str(),
            "{}",
            rest.text
        );
        let r = public(format!("/v1/kb/public/fresh/search?q={word}")).await;
        assert_eq!(r.data()["articles"][0]["id"], id.as_str(), "{}", r.text);
        let r = public(format!("/v1/kb/public/fresh/articles/{id}")).await;
        r.assert_status(200);
        assert_eq!(r.data()["title"], format!("The {word} guide"));
        let r = public("/v1/kb/public/fresh/structure".into()).await;
        assert!(r.text.contains(&id), "{}", r.text);
        let r = app
            .call(
                Method::GET,
                &format!("/hc/fresh/search?q={word}"),
                None,
                None,
            )
            .await;
        r.assert_status(200);
        assert!(
            r.text.contains(&format!("The {word} guide")),
            "hosted search: {}",
            r.text
        );
        let r = c
            .call("search_docs", json!({"domain": "fresh", "query": word}))
            .await;
        assert!(r.text.contains(&id), "{}", r.text);

        // And an archive takes it away at once.
        c.call("archive_article", json!({"kb_id": kb, "id": id}))
            .await
            .tool_ok();
        let r = public(format!("/v1/kb/public/fresh/search?q={word}")).await;
        assert_eq!(r.data()["articles"], json!([]));
        public(format!("/v1/kb/public/fresh/articles/{id}"))
            .await
            .assert_status(404);
    }
}

#[tokio::test]
async fn a_journey_on_both_revisions() {
    let app = TestApp::new().await;
    for rev in Rev::ALL {
        let slug = format!("journey-{}", rev.version().replace('-', ""));
        let c: Client<'_> = app.client(rev, &app.key).await;
        let kb = c
            .call(
                "create_knowledge_base",
                json!({"title": "Journey", "slug": slug, "is_public": true}),
            )
            .await;
        let kb_id = kb.tool_ok()["id"].as_str().unwrap().to_string();
        assert!(kb.tool_ok()["site_key"].is_string());
        let cat = c
            .call("create_category", json!({"kb_id": kb_id, "name": "Start"}))
            .await;
        let cat = cat.tool_ok()["id"].as_str().unwrap().to_string();
        let sec = c
            .call(
                "create_section",
                json!({"kb_id": kb_id, "category_id": cat, "name": "First"}),
            )
            .await;
        let sec = sec.tool_ok()["id"].as_str().unwrap().to_string();
        let bulk = c
            .call(
                "bulk_create_articles",
                json!({"kb_id": kb_id, "articles": [
                    {"category_id": cat, "title": "Alpha", "body": "Aardvarks."},
                    {"category_id": cat, "title": "Beta", "body": "Badgers.", "status": "published"},
                ]}),
            )
            .await;
        let created = bulk.tool_ok().clone();
        let ids: Vec<String> = created["data"]
            .as_array()
            .or_else(|| created.as_array())
            .or_else(|| created["results"].as_array())
            .unwrap_or_else(|| panic!("{created}"))
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 2);
        let r = c
            .call(
                "move_article",
                json!({"kb_id": kb_id, "id": ids[0], "section_id": sec}),
            )
            .await;
        assert_eq!(r.tool_ok()["section_id"], sec.as_str());
        let r = c
            .call(
                "bulk_update_articles",
                json!({"kb_id": kb_id, "articles": [{"id": ids[0], "status": "published"}]}),
            )
            .await;
        r.tool_ok();
        let r = c
            .call(
                "list_articles",
                json!({"kb_id": kb_id, "status": "published"}),
            )
            .await;
        assert_eq!(r.tool_ok()["data"].as_array().unwrap().len(), 2);
        let r = c
            .call("create_faq", json!({"kb_id": kb_id, "category_id": cat, "question": "Why?", "answer": "Because."}))
            .await;
        let faq = r.tool_ok()["id"].as_str().unwrap().to_string();
        c.call("publish_faq", json!({"kb_id": kb_id, "id": faq}))
            .await
            .tool_ok();
        // Resources: the articles, readable as Markdown.
        let r = c.request("resources/list", json!({})).await;
        let uris: Vec<String> = r.result()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["uri"].as_str().unwrap().to_string())
            .collect();
        let uri = format!("tome://kb/{slug}/articles/{}", ids[1]);
        assert!(uris.contains(&uri), "{uris:?}");
        let r = c.request("resources/read", json!({"uri": uri})).await;
        let text = r.result()["contents"][0]["text"].as_str().unwrap();
        assert!(
            text.starts_with("# Beta") && text.contains("Badgers."),
            "{text}"
        );
        // Delete it all.
        let r = c
            .call("delete_knowledge_base", json!({"kb_id": kb_id}))
            .await;
        assert_eq!(r.tool_ok(), &json!({"deleted": true}));
        c.call("get_knowledge_base", json!({"kb_id": kb_id}))
            .await
            .tool_err("kb_not_found");
    }
}
