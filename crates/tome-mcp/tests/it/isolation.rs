//! Tenant isolation through every tool: project B's admin key, given project A's IDs (its KB,
//! category, section, article, FAQ, update, thread, slug and project), never sees or changes
//! anything of A's.

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::{Value, json};
use tome_core::keys::KeyKind;

use crate::support::{Rev, TestApp, TestResponse, id_of};

/// Project A's IDs and words, which B must never see.
struct Alpha {
    key: String,
    project: String,
    kb: String,
    slug: String,
    sourced_kb: String,
    category: String,
    section: String,
    article: String,
    draft: String,
    faq: String,
    status: String,
    thread: String,
    site_key: String,
}

impl Alpha {
    /// Everything of A's by name, for messages.
    fn ids(&self) -> BTreeMap<&'static str, &str> {
        BTreeMap::from([
            ("project", self.project.as_str()),
            ("kb", self.kb.as_str()),
            ("sourced_kb", self.sourced_kb.as_str()),
            ("category", self.category.as_str()),
            ("section", self.section.as_str()),
            ("article", self.article.as_str()),
            ("draft", self.draft.as_str()),
            ("faq", self.faq.as_str()),
            ("status", self.status.as_str()),
            ("thread", self.thread.as_str()),
            ("site_key", self.site_key.as_str()),
            ("key", self.key.as_str()),
        ])
    }
}

/// Words only A's content has (titles, names, bodies, the question asked of A's assistant).
const ALPHA_WORDS: [&str; 3] = ["quokka", "alphasecret", "zanzibar"];

async fn ok(app: &TestApp, key: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = app.call(method, path, Some(key), body).await;
    assert!(r.status.is_success(), "{path}: {}", r.text);
    r.body
}

async fn setup_alpha(app: &TestApp) -> Alpha {
    let key = app.key.clone();
    let kb = ok(
        app,
        &key,
        Method::POST,
        "/v1/kb",
        Some(json!({"title": "AlphaSecret Quokka help", "slug": "alphasecret", "is_public": true, "description": "Zanzibar quokkas."})),
    )
    .await;
    let site_key = kb["data"]["site_key"].as_str().unwrap().to_string();
    let kb = kb["data"]["id"].as_str().unwrap().to_string();
    let path = |rest: &str| format!("/v1/kb/{kb}/{rest}");
    let cat = ok(
        app,
        &key,
        Method::POST,
        &path("categories"),
        Some(json!({"name": "Quokka category"})),
    )
    .await;
    let category = cat["data"]["id"].as_str().unwrap().to_string();
    let sec = ok(
        app,
        &key,
        Method::POST,
        &path("sections"),
        Some(json!({"category_id": category, "name": "Quokka section"})),
    )
    .await;
    let section = sec["data"]["id"].as_str().unwrap().to_string();
    let art = ok(
        app,
        &key,
        Method::POST,
        &path("articles"),
        Some(json!({"category_id": category, "section_id": section, "title": "Quokka handbook", "body": "Zanzibar quokkas smile.", "status": "published", "tags": ["quokka"]})),
    )
    .await;
    let article = art["data"]["id"].as_str().unwrap().to_string();
    let draft = ok(
        app,
        &key,
        Method::POST,
        &path("articles"),
        Some(
            json!({"category_id": category, "title": "Quokka draft", "body": "AlphaSecret plans."}),
        ),
    )
    .await;
    let draft = draft["data"]["id"].as_str().unwrap().to_string();
    let faq = ok(
        app,
        &key,
        Method::POST,
        &path("faqs"),
        Some(json!({"category_id": category, "question": "Do quokkas bite?", "answer": "Zanzibar ones do not.", "status": "published"})),
    )
    .await;
    let faq = faq["data"]["id"].as_str().unwrap().to_string();

    // A second KB with a source and a queued update.
    let sourced = ok(
        app,
        &key,
        Method::POST,
        "/v1/kb",
        Some(json!({"title": "AlphaSecret sourced", "slug": "alphasecret-sourced"})),
    )
    .await;
    let sourced_kb = sourced["data"]["id"].as_str().unwrap().to_string();
    ok(
        app,
        &key,
        Method::PUT,
        &format!("/v1/kb/{sourced_kb}/source"),
        Some(json!({"url": "https://git.example.com/alphasecret/docs.git"})),
    )
    .await;
    let project = app.project_id.clone();
    let update = ok(
        app,
        &key,
        Method::POST,
        &format!("/v1/project/update/{project}?kb_id={sourced_kb}"),
        None,
    )
    .await;
    let status = update["statusId"].as_str().unwrap().to_string();

    // An assistant conversation.
    let assistant = app.new_key(&project, KeyKind::Assistant).await;
    ok(
        app,
        &assistant,
        Method::POST,
        "/v2/assistant/alphasecret/message",
        Some(json!({"fp": "anonymous", "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "Do quokkas smile?"}]}]})),
    )
    .await;
    let list = ok(
        app,
        &key,
        Method::GET,
        &format!("/v1/analytics/{project}/assistant"),
        None,
    )
    .await;
    let thread = list["conversations"][0]["threadId"]
        .as_str()
        .unwrap_or_else(|| panic!("no thread: {list}"))
        .to_string();

    Alpha {
        key,
        project,
        kb,
        slug: "alphasecret".into(),
        sourced_kb,
        category,
        section,
        article,
        draft,
        faq,
        status,
        thread,
        site_key,
    }
}

/// Everything of A's, read back with A's key.
async fn snapshot(app: &TestApp, a: &Alpha) -> Value {
    let mut out = serde_json::Map::new();
    let kb = &a.kb;
    let mut paths = vec![
        format!("/v1/kb/{kb}"),
        format!("/v1/kb/{kb}/categories?limit=100"),
        format!("/v1/kb/{kb}/categories/{}", a.category),
        format!("/v1/kb/{kb}/sections?limit=100"),
        format!("/v1/kb/{kb}/sections/{}", a.section),
        format!("/v1/kb/{kb}/articles?status=draft,published,archived&limit=100"),
        format!("/v1/kb/{kb}/faqs?limit=100"),
        format!("/v1/kb/{kb}/faqs/{}", a.faq),
        format!("/v1/kb/{kb}/site-key"),
        format!("/v1/kb/{}", a.sourced_kb),
        format!("/v1/kb/{}/source", a.sourced_kb),
        "/v1/kb?limit=100".to_string(),
        "/v1/project".to_string(),
        "/v1/usage".to_string(),
        "/v1/project/updates".to_string(),
        format!("/v1/project/update-status/{}", a.status),
        format!("/v1/analytics/{}/assistant", a.project),
        format!("/v1/analytics/{}/assistant/threads/{}", a.project, a.thread),
    ];
    for id in [&a.article, &a.draft] {
        paths.push(format!("/v1/kb/{kb}/articles/{id}"));
    }
    for p in paths {
        let r = app.call(Method::GET, &p, Some(&a.key), None).await;
        r.assert_status(200);
        out.insert(p, r.body);
    }
    Value::Object(out)
}

/// Arguments for `tool` from its input schema, with A's IDs wherever an ID goes (`kb_id` is
/// `kb` — A's, or B's own for the second pass), and harmless values elsewhere.
fn probe_args(tool: &Value, a: &Alpha, kb: &str, n: usize) -> Value {
    let name = tool["name"].as_str().unwrap();
    let schema = &tool["inputSchema"];
    let props = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let item_id = if name.contains("article") {
        &a.article
    } else if name.contains("categor") {
        &a.category
    } else if name.contains("section") {
        &a.section
    } else if name.contains("faq") {
        &a.faq
    } else {
        &a.article
    };
    let mut args = serde_json::Map::new();
    for (prop, s) in &props {
        let value = match prop.as_str() {
            "kb_id" => json!(kb),
            "id" => json!(item_id),
            "statusId" => json!(a.status),
            "threadId" => json!(a.thread),
            "domain" => json!(a.slug),
            "projectId" => json!(a.project),
            "category_id" => json!(a.category),
            "section_id" => json!(a.section),
            "related_articles" => json!([a.article]),
            "q" | "query" => json!("quokka"),
            "tag" => json!("quokka"),
            "path" => json!(a.article),
            "slug" => json!(format!("probe-{n}")),
            "url" => json!("https://git.example.com/beta/probe.git"),
            "title" | "name" => json!("Probe"),
            "question" => json!("Probe?"),
            "answer" | "body" => json!("Probe."),
            "allowed_domains" => json!(["probe.example"]),
            "articles" => {
                if name.starts_with("bulk_update") {
                    json!([{"id": a.article, "title": "Probe"}, {"id": a.draft, "status": "published"}])
                } else {
                    json!([{"category_id": a.category, "section_id": a.section, "title": "Probe"}])
                }
            }
            _ if required.contains(&prop.as_str()) => match s["type"].as_str() {
                Some("integer") | Some("number") => json!(10),
                Some("boolean") => json!(false),
                Some("array") => json!([]),
                Some("object") => json!({}),
                _ => json!("probe"),
            },
            _ => continue,
        };
        args.insert(prop.clone(), value);
    }
    Value::Object(args)
}

/// What in `r` is A's: its IDs and words.
fn leaks(r: &TestResponse, a: &Alpha) -> Vec<String> {
    let text = r.text.to_lowercase();
    let mut found: Vec<String> = a
        .ids()
        .into_iter()
        .filter(|(_, id)| text.contains(&id.to_lowercase()))
        .map(|(what, id)| format!("{what} {id}"))
        .collect();
    found.extend(
        ALPHA_WORDS
            .iter()
            .filter(|w| text.contains(*w))
            .map(|w| format!("word {w}")),
    );
    found
}

#[tokio::test]
async fn another_projects_key_never_sees_or_changes_anything_through_any_tool() {
    let app = TestApp::new().await;
    let a = setup_alpha(&app).await;
    let (b_project, b_key) = app.new_project("Beta").await;
    let b_kb = ok(
        &app,
        &b_key,
        Method::POST,
        "/v1/kb",
        Some(json!({"title": "Beta help", "slug": "beta", "is_public": true})),
    )
    .await["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b_cat = app
        .call(
            Method::POST,
            &format!("/v1/kb/{b_kb}/categories"),
            Some(&b_key),
            Some(json!({"name": "Beta category"})),
        )
        .await;
    let b_cat = id_of(&b_cat);
    app.call(
        Method::POST,
        &format!("/v1/kb/{b_kb}/articles"),
        Some(&b_key),
        Some(json!({"category_id": b_cat, "title": "Beta article", "body": "Beta.", "status": "published"})),
    )
    .await
    .assert_status(201);
    let before = snapshot(&app, &a).await;
    assert_ne!(b_project, a.project);

    let mut n = 0;
    let mut reached = BTreeMap::<String, usize>::new();
    for rev in Rev::ALL {
        let c = app.client(rev, &b_key).await;
        let tools = c.tools().await;
        assert!(tools.len() > 40, "{} tools", tools.len());
        // Pass 1: A's KB and IDs. Pass 2: B's own KB with A's IDs inside it (a category, a
        // section, an article of A's named in B's KB).
        for kb in [a.kb.as_str(), b_kb.as_str()] {
            for tool in &tools {
                let name = tool["name"].as_str().unwrap();
                n += 1;
                let args = probe_args(tool, &a, kb, n);
                let r = c.call(name, args.clone()).await;
                let found = leaks(&r, &a);
                assert!(
                    found.is_empty(),
                    "{rev:?} {name} {args}: A's {found:?} in {}",
                    r.text
                );
                // Every call reached the REST layer (a result or a tool error), so the check
                // above is about the store's answers, not about arguments refused earlier.
                let result = r.result();
                assert!(result["content"].is_array(), "{name} {args}: {}", r.text);
                *reached.entry(name.to_string()).or_default() += 1;
                // What names one of A's things in its path, or creates something in A's
                // category, is refused.
                let targets_alpha = ["kb_id", "id", "statusId", "threadId", "projectId", "domain"]
                    .iter()
                    .any(|p| {
                        args[*p]
                            .as_str()
                            .is_some_and(|v| a.ids().values().any(|id| *id == v) || v == a.slug)
                    });
                let creates_in_alpha = (name.starts_with("create_") || name.starts_with("bulk_"))
                    && args.to_string().contains(&a.category);
                if targets_alpha || creates_in_alpha {
                    assert!(
                        r.is_tool_error(),
                        "{rev:?} {name} {args} succeeded: {}",
                        r.text
                    );
                }
            }
        }
        // A's resources are not listed or readable.
        let r = c.request("resources/list", json!({})).await;
        assert!(leaks(&r, &a).is_empty(), "{}", r.text);
        for uri in [
            format!("tome://kb/{}/articles/{}", a.slug, a.article),
            format!("tome://kb/{}", a.slug),
            format!("tome://kb/{}/categories/{}", a.slug, a.category),
            format!("tome://kb/beta/articles/{}", a.article),
            format!("tome://kb/beta/categories/{}", a.category),
        ] {
            let r = c.request("resources/read", json!({"uri": uri})).await;
            r.rpc_error();
            let found = leaks(&r, &a);
            assert!(
                found
                    .iter()
                    .all(|f| uri.contains(f.rsplit(' ').next().unwrap())),
                "{uri}: {found:?} in {}",
                r.text
            );
        }
    }
    assert!(reached.len() > 40, "{reached:?}");

    // The same probes with A's own key do find A's things: the check above can see a leak.
    let c = app.client(Rev::Stateless, &a.key).await;
    let tools = c.tools().await;
    for name in [
        "get_article",
        "list_categories",
        "search_articles",
        "get_assistant_thread",
        "search_docs",
    ] {
        let tool = tools.iter().find(|t| t["name"] == name).unwrap();
        let r = c.call(name, probe_args(tool, &a, &a.kb, 0)).await;
        r.tool_ok();
        assert!(!leaks(&r, &a).is_empty(), "{name}: {}", r.text);
    }

    // A's data is as it was, and A's site key still works.
    let after = snapshot(&app, &a).await;
    for (path, v) in before.as_object().unwrap() {
        assert_eq!(&after[path], v, "A's {path} changed");
    }
    let req = axum::http::Request::builder()
        .uri(format!("/v1/kb/public/{}/structure", a.slug))
        .header("x-minolith-site-key", &a.site_key)
        .body(axum::body::Body::empty())
        .unwrap();
    app.send(req).await.assert_status(200);
}
