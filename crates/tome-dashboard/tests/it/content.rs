//! The content pages: the tree, category/section/article/FAQ forms, reordering, the preview and
//! the search tester — each checked through the REST API after the browser acts.

use axum::http::Method;
use serde_json::{Value, json};
use tome_core::input::ProjectPatch;

use crate::support::{Browser, TestApp};

fn id(page: &crate::support::Page) -> String {
    page.json()["data"]["id"]
        .as_str()
        .expect("an id")
        .to_string()
}

async fn kb(app: &TestApp, slug: &str) -> String {
    let r = app
        .api(
            Method::POST,
            "/v1/kb",
            Some(json!({ "title": "Acme Help", "slug": slug })),
        )
        .await;
    r.assert_status(201);
    id(&r)
}

async fn category(app: &TestApp, kb: &str, name: &str) -> String {
    let r = app
        .api(
            Method::POST,
            &format!("/v1/kb/{kb}/categories"),
            Some(json!({ "name": name })),
        )
        .await;
    r.assert_status(201);
    id(&r)
}

async fn section(app: &TestApp, kb: &str, category: &str, name: &str) -> String {
    let r = app
        .api(
            Method::POST,
            &format!("/v1/kb/{kb}/sections"),
            Some(json!({ "category_id": category, "name": name })),
        )
        .await;
    r.assert_status(201);
    id(&r)
}

async fn article(app: &TestApp, kb: &str, body: Value) -> String {
    let r = app
        .api(Method::POST, &format!("/v1/kb/{kb}/articles"), Some(body))
        .await;
    r.assert_status(201);
    id(&r)
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let r = app.api(Method::GET, path, None).await;
    r.assert_status(200);
    r.json()
}

/// The IDs of a REST list, in order.
async fn ids(app: &TestApp, path: &str) -> Vec<String> {
    get_json(app, path).await["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|x| x["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A signed-in browser that has loaded `path` (so it holds the page's CSRF token).
async fn at<'a>(app: &'a TestApp, path: &str) -> Browser<'a> {
    let mut b = app.signed_in().await;
    b.visit(path).await.assert_status(200);
    b
}

#[tokio::test]
async fn the_tree_shows_categories_sections_and_counts() {
    let app = TestApp::new().await;
    let kb = kb(&app, "acme").await;
    let mut b = at(&app, &format!("/dashboard/kb/{kb}")).await;
    let empty = b.visit(&format!("/dashboard/kb/{kb}")).await;
    empty
        .assert_status(200)
        .assert_contains("Create the first category");

    let cat = category(&app, &kb, "Billing <b>").await;
    let sec = section(&app, &kb, &cat, "Refunds").await;
    let zero = article(
        &app,
        &kb,
        json!({ "category_id": cat, "section_id": sec, "title": "Zero", "status": "draft" }),
    )
    .await;
    // One of each reads in the singular.
    b.visit(&format!("/dashboard/kb/{kb}"))
        .await
        .assert_contains("1 article: 0 published, 1 draft, 0 archived.")
        .assert_contains("· 1 article · 0 FAQs");
    app.api(
        Method::DELETE,
        &format!("/v1/kb/{kb}/articles/{zero}"),
        None,
    )
    .await
    .assert_status(204);
    for (title, status) in [("One", "published"), ("Two", "draft"), ("Three", "draft")] {
        article(
            &app,
            &kb,
            json!({ "category_id": cat, "section_id": sec, "title": title, "status": status }),
        )
        .await;
    }
    article(&app, &kb, json!({ "category_id": cat, "title": "Loose" })).await;
    let tree = b.visit(&format!("/dashboard/kb/{kb}")).await;
    tree.assert_status(200)
        .assert_contains("Billing &lt;b&gt;")
        .assert_contains("Refunds")
        .assert_contains("4 articles: 1 published, 3 drafts, 0 archived.")
        .assert_contains("· 3 articles")
        .assert_contains("badge-published")
        .assert_contains(&format!(
            "/dashboard/kb/{kb}/articles?category_id={cat}&amp;section_id={sec}"
        ));
    assert!(!tree.text.contains("Billing <b>"));

    let list = b
        .visit(&format!(
            "/dashboard/kb/{kb}/articles?category_id={cat}&section_id={sec}"
        ))
        .await;
    list.assert_status(200)
        .assert_contains("One")
        .assert_contains("Three")
        .assert_contains("badge-draft");
    assert!(!list.text.contains("Loose"));
    b.visit(&format!(
        "/dashboard/kb/{kb}/articles?category_id={cat}&section_id=ungrouped"
    ))
    .await
    .assert_status(200)
    .assert_contains("Loose");
}

#[tokio::test]
async fn categories_and_sections_are_created_edited_moved_and_deleted() {
    let app = TestApp::new().await;
    let kb = kb(&app, "acme").await;
    let mut b = at(&app, &format!("/dashboard/kb/{kb}/categories/new")).await;

    // 422 next to its field, the input kept.
    let long = "x".repeat(201);
    let bad = b
        .submit(
            &format!("/dashboard/kb/{kb}/categories/new"),
            &[("name", &long), ("description", "kept text")],
        )
        .await;
    bad.assert_status(422)
        .assert_contains("<p class=\"error\" id=\"name-error\">")
        .assert_contains("kept text");
    assert!(
        ids(&app, &format!("/v1/kb/{kb}/categories"))
            .await
            .is_empty()
    );

    for name in ["First", "Second"] {
        let r = b
            .submit(
                &format!("/dashboard/kb/{kb}/categories/new"),
                &[("name", name), ("icon", "📦"), ("sort_order", "")],
            )
            .await;
        r.assert_status(303);
        assert_eq!(r.location(), format!("/dashboard/kb/{kb}"));
    }
    let cats = ids(&app, &format!("/v1/kb/{kb}/categories")).await;
    assert_eq!(cats.len(), 2);
    b.visit(&format!("/dashboard/kb/{kb}"))
        .await
        .assert_contains("Category created.")
        .assert_contains("aria-label=\"Move First down\"")
        .assert_contains("aria-label=\"Move Second up\"");

    // Both were created with sort order 0; Down on the first renumbers them.
    b.submit(
        &format!("/dashboard/kb/{kb}/categories/{}/move", cats[0]),
        &[("direction", "down")],
    )
    .await
    .assert_status(303);
    let moved = ids(&app, &format!("/v1/kb/{kb}/categories")).await;
    assert_eq!(moved, vec![cats[1].clone(), cats[0].clone()]);
    // And Up brings it back (now a swap of distinct orders).
    b.submit(
        &format!("/dashboard/kb/{kb}/categories/{}/move", cats[0]),
        &[("direction", "up")],
    )
    .await
    .assert_status(303);
    assert_eq!(ids(&app, &format!("/v1/kb/{kb}/categories")).await, cats);

    // Edit: an emptied description is cleared.
    b.visit(&format!("/dashboard/kb/{kb}/categories/{}", cats[0]))
        .await
        .assert_status(200)
        .assert_contains("value=\"First\"");
    b.submit(
        &format!("/dashboard/kb/{kb}/categories/{}", cats[0]),
        &[
            ("name", "Renamed"),
            ("description", ""),
            ("icon", ""),
            ("sort_order", "0"),
        ],
    )
    .await
    .assert_status(303);
    let c = get_json(&app, &format!("/v1/kb/{kb}/categories/{}", cats[0])).await;
    assert_eq!(c["data"]["name"], "Renamed");
    assert_eq!(c["data"]["icon"], Value::Null);

    // Sections.
    b.visit(&format!(
        "/dashboard/kb/{kb}/sections/new?category_id={}",
        cats[0]
    ))
    .await
    .assert_status(200)
    .assert_contains("Create section");
    b.submit(
        &format!("/dashboard/kb/{kb}/sections/new"),
        &[("category_id", &cats[0]), ("name", "Security")],
    )
    .await
    .assert_status(303);
    let secs = ids(&app, &format!("/v1/kb/{kb}/sections")).await;
    assert_eq!(secs.len(), 1);
    let bad = b
        .submit(
            &format!("/dashboard/kb/{kb}/sections/{}", secs[0]),
            &[("category_id", &cats[0]), ("name", "")],
        )
        .await;
    bad.assert_status(422).assert_contains("id=\"name-error\"");
    b.submit(
        &format!("/dashboard/kb/{kb}/sections/{}", secs[0]),
        &[("category_id", &cats[1]), ("name", "Moved")],
    )
    .await
    .assert_status(303);
    let s = get_json(&app, &format!("/v1/kb/{kb}/sections/{}", secs[0])).await;
    assert_eq!(s["data"]["category_id"], cats[1].as_str());

    b.visit(&format!("/dashboard/kb/{kb}/sections/{}/delete", secs[0]))
        .await
        .assert_status(200)
        .assert_contains("data-confirm");
    b.submit(
        &format!("/dashboard/kb/{kb}/sections/{}/delete", secs[0]),
        &[],
    )
    .await
    .assert_status(303);
    assert!(ids(&app, &format!("/v1/kb/{kb}/sections")).await.is_empty());

    b.visit(&format!("/dashboard/kb/{kb}/categories/{}/delete", cats[1]))
        .await
        .assert_status(200)
        .assert_contains("Delete this category?");
    b.submit(
        &format!("/dashboard/kb/{kb}/categories/{}/delete", cats[1]),
        &[],
    )
    .await
    .assert_status(303);
    assert_eq!(
        ids(&app, &format!("/v1/kb/{kb}/categories")).await,
        vec![cats[0].clone()]
    );
}

#[tokio::test]
async fn the_article_editor_saves_publishes_previews_and_deletes() {
    let app = TestApp::new().await;
    let kb = kb(&app, "acme").await;
    let cat = category(&app, &kb, "Billing").await;
    let sec = section(&app, &kb, &cat, "Refunds").await;
    let other = article(&app, &kb, json!({ "category_id": cat, "title": "Other" })).await;
    let mut b = at(
        &app,
        &format!("/dashboard/kb/{kb}/articles/new?category_id={cat}&section_id={sec}"),
    )
    .await;

    // 422 next to the title, everything typed kept.
    let long = "t".repeat(501);
    let bad = b
        .submit(
            &format!("/dashboard/kb/{kb}/articles/new"),
            &[
                ("title", &long),
                ("category_id", &cat),
                ("section_id", &sec),
                ("body", "my careful body"),
                ("intent", "draft"),
            ],
        )
        .await;
    bad.assert_status(422)
        .assert_contains("<p class=\"error\" id=\"title-error\">")
        .assert_contains("my careful body");

    // No-JS preview: the editor again, with the sanitised rendering below.
    let preview = b
        .submit(
            &format!("/dashboard/kb/{kb}/articles/new"),
            &[
                ("title", "T"),
                ("category_id", &cat),
                ("body", "# Hello\n\n**bold**\n\n<script>alert(1)</script>"),
                ("intent", "preview"),
            ],
        )
        .await;
    preview
        .assert_status(200)
        .assert_contains("<strong>bold</strong>")
        .assert_contains("id=\"hello\"");
    assert!(!preview.text.contains("<script>alert(1)"));
    assert!(ids(&app, &format!("/v1/kb/{kb}/articles")).await.len() == 1);

    let r = b
        .submit(
            &format!("/dashboard/kb/{kb}/articles/new"),
            &[
                ("title", "<script>alert(1)</script>"),
                ("category_id", &cat),
                ("section_id", &sec),
                ("excerpt", ""),
                ("tags", "billing, refunds ,"),
                ("related_articles", &other),
                ("body", "Refunds take **5 days**."),
                ("sort_order", ""),
                ("intent", "draft"),
            ],
        )
        .await;
    r.assert_status(303);
    let id = r
        .location()
        .rsplit('/')
        .next()
        .expect("article id")
        .to_string();
    let a = get_json(&app, &format!("/v1/kb/{kb}/articles/{id}")).await;
    assert_eq!(a["data"]["status"], "draft");
    assert_eq!(a["data"]["tags"], json!(["billing", "refunds"]));
    assert_eq!(a["data"]["related_articles"], json!([other]));
    assert_eq!(a["data"]["section_id"], sec.as_str());

    let editor = b.visit(&format!("/dashboard/kb/{kb}/articles/{id}")).await;
    editor
        .assert_status(200)
        .assert_contains("Article created as a draft.")
        .assert_contains("&lt;script&gt;alert(1)&lt;/script&gt;")
        .assert_contains("billing, refunds");
    assert!(!editor.text.contains("<script>alert(1)"));

    // Publish from the editor (the form's fields with the Publish button).
    b.submit(
        &format!("/dashboard/kb/{kb}/articles/{id}"),
        &[
            ("title", "Refund times"),
            ("category_id", &cat),
            ("section_id", ""),
            ("excerpt", "How long"),
            ("tags", ""),
            ("related_articles", ""),
            ("body", "Five days."),
            ("intent", "publish"),
        ],
    )
    .await
    .assert_status(303);
    let a = get_json(&app, &format!("/v1/kb/{kb}/articles/{id}")).await;
    assert_eq!(a["data"]["status"], "published");
    assert_eq!(a["data"]["section_id"], Value::Null);
    assert_eq!(a["data"]["tags"], json!([]));
    assert_eq!(a["data"]["title"], "Refund times");

    // Archive through the one-button action.
    b.visit(&format!("/dashboard/kb/{kb}/articles/{id}")).await;
    b.submit(&format!("/dashboard/kb/{kb}/articles/{id}/archive"), &[])
        .await
        .assert_status(303);
    let a = get_json(&app, &format!("/v1/kb/{kb}/articles/{id}")).await;
    assert_eq!(a["data"]["status"], "archived");
    b.submit(&format!("/dashboard/kb/{kb}/articles/{id}/publish"), &[])
        .await
        .assert_status(303);
    let a = get_json(&app, &format!("/v1/kb/{kb}/articles/{id}")).await;
    assert_eq!(a["data"]["status"], "published");

    // The live preview endpoint: CSRF in the header, a sanitised fragment back.
    let token = b.csrf.clone().expect("token");
    let frag = b
        .post_raw(
            &format!("/dashboard/kb/{kb}/preview"),
            &[(
                "body".into(),
                "## Hi\n\n<img src=x onerror=alert(1)>".into(),
            )],
            &[("sec-fetch-site", "same-origin"), ("x-csrf-token", &token)],
        )
        .await;
    frag.assert_status(200).assert_contains("<h2 id=\"hi\">");
    assert!(!frag.text.contains("onerror"));
    b.post_raw(
        &format!("/dashboard/kb/{kb}/preview"),
        &[("body".into(), "x".into())],
        &[("sec-fetch-site", "same-origin")],
    )
    .await
    .assert_status(403);
    // The body's limit holds for the preview as for a save: one character over is a 422 naming it.
    let over = "a".repeat(tome_core::validate::ARTICLE_BODY_MAX + 1);
    b.post_raw(
        &format!("/dashboard/kb/{kb}/preview"),
        &[("body".into(), over)],
        &[("sec-fetch-site", "same-origin"), ("x-csrf-token", &token)],
    )
    .await
    .assert_status(422)
    .assert_contains("body");

    b.visit(&format!("/dashboard/kb/{kb}/articles/{id}/delete"))
        .await
        .assert_status(200)
        .assert_contains("data-confirm");
    b.submit(&format!("/dashboard/kb/{kb}/articles/{id}/delete"), &[])
        .await
        .assert_status(303);
    app.api(Method::GET, &format!("/v1/kb/{kb}/articles/{id}"), None)
        .await
        .assert_status(404);
}

#[tokio::test]
async fn articles_move_within_their_section() {
    let app = TestApp::new().await;
    let kb = kb(&app, "acme").await;
    let cat = category(&app, &kb, "Billing").await;
    let sec = section(&app, &kb, &cat, "Refunds").await;
    let mut made = Vec::new();
    for title in ["A", "B", "C"] {
        made.push(
            article(
                &app,
                &kb,
                json!({ "category_id": cat, "section_id": sec, "title": title }),
            )
            .await,
        );
    }
    let list = format!("/v1/kb/{kb}/articles?section_id={sec}");
    let mut b = at(
        &app,
        &format!("/dashboard/kb/{kb}/articles?category_id={cat}&section_id={sec}"),
    )
    .await;
    let r = b
        .submit(
            &format!("/dashboard/kb/{kb}/articles/{}/move", made[2]),
            &[("direction", "up")],
        )
        .await;
    r.assert_status(303);
    assert!(r.location().contains(&format!("section_id={sec}")));
    assert_eq!(
        ids(&app, &list).await,
        vec![made[0].clone(), made[2].clone(), made[1].clone()]
    );
    // What drag and drop sends: a position.
    b.submit(
        &format!("/dashboard/kb/{kb}/articles/{}/move", made[1]),
        &[("position", "0")],
    )
    .await
    .assert_status(303);
    assert_eq!(
        ids(&app, &list).await,
        vec![made[1].clone(), made[0].clone(), made[2].clone()]
    );
    // Already first: nothing changes, an info flash says so.
    b.submit(
        &format!("/dashboard/kb/{kb}/articles/{}/move", made[1]),
        &[("direction", "up")],
    )
    .await
    .assert_status(303);
    assert_eq!(ids(&app, &list).await[0], made[1]);
    let bad = b
        .submit(
            &format!("/dashboard/kb/{kb}/articles/{}/move", made[1]),
            &[("direction", "sideways")],
        )
        .await;
    bad.assert_status(303);
    b.visit(bad.location())
        .await
        .assert_contains("Direction must be up or down.");
}

#[tokio::test]
async fn creating_past_the_credit_cap_is_a_form_error() {
    let app = TestApp::new().await;
    let kb = kb(&app, "acme").await;
    let cat = category(&app, &kb, "Billing").await;
    let used = get_json(&app, "/v1/usage").await["data"]["credits_used"]
        .as_i64()
        .expect("credits used");
    app.store
        .update_project(
            &app.project_id,
            ProjectPatch {
                credit_cap: Some(Some(used + 1)),
                ..Default::default()
            },
        )
        .await
        .expect("cap");
    let mut b = at(
        &app,
        &format!("/dashboard/kb/{kb}/articles/new?category_id={cat}"),
    )
    .await;
    let r = b
        .submit(
            &format!("/dashboard/kb/{kb}/articles/new"),
            &[
                ("title", "Costly"),
                ("category_id", &cat),
                ("body", "kept body"),
                ("intent", "draft"),
            ],
        )
        .await;
    r.assert_status(402)
        .assert_contains("The form could not be saved")
        .assert_contains("kept body");
    assert!(ids(&app, &format!("/v1/kb/{kb}/articles")).await.is_empty());
}

#[tokio::test]
async fn faqs_are_listed_created_published_and_deleted() {
    let app = TestApp::new().await;
    let kb = kb(&app, "acme").await;
    let mut b = at(&app, &format!("/dashboard/kb/{kb}/faqs")).await;
    b.visit(&format!("/dashboard/kb/{kb}/faqs"))
        .await
        .assert_contains("create a category first");
    let cat = category(&app, &kb, "Billing").await;
    b.visit(&format!("/dashboard/kb/{kb}/faqs"))
        .await
        .assert_contains("Write the first FAQ");
    b.visit(&format!("/dashboard/kb/{kb}/faqs/new?category_id={cat}"))
        .await
        .assert_status(200);
    let bad = b
        .submit(
            &format!("/dashboard/kb/{kb}/faqs/new"),
            &[
                ("category_id", &cat),
                ("question", ""),
                ("answer", "kept answer"),
                ("status", "draft"),
            ],
        )
        .await;
    bad.assert_status(422)
        .assert_contains("id=\"question-error\"")
        .assert_contains("kept answer");
    b.submit(
        &format!("/dashboard/kb/{kb}/faqs/new"),
        &[
            ("category_id", &cat),
            ("section_id", ""),
            ("question", "Can I get a <refund>?"),
            ("answer", "Yes."),
            ("status", "draft"),
            ("sort_order", ""),
        ],
    )
    .await
    .assert_status(303);
    let faqs = ids(&app, &format!("/v1/kb/{kb}/faqs")).await;
    assert_eq!(faqs.len(), 1);
    let list = b
        .visit(&format!("/dashboard/kb/{kb}/faqs?category_id={cat}"))
        .await;
    list.assert_status(200)
        .assert_contains("Can I get a &lt;refund&gt;?")
        .assert_contains("FAQ created.");
    b.submit(&format!("/dashboard/kb/{kb}/faqs/{}/publish", faqs[0]), &[])
        .await
        .assert_status(303);
    let f = get_json(&app, &format!("/v1/kb/{kb}/faqs/{}", faqs[0])).await;
    assert_eq!(f["data"]["status"], "published");
    b.submit(
        &format!("/dashboard/kb/{kb}/faqs/{}", faqs[0]),
        &[
            ("category_id", &cat),
            ("section_id", ""),
            ("question", "Refunds?"),
            ("answer", "Within 5 days."),
            ("status", "archived"),
            ("sort_order", "3"),
        ],
    )
    .await
    .assert_status(303);
    let f = get_json(&app, &format!("/v1/kb/{kb}/faqs/{}", faqs[0])).await;
    assert_eq!(f["data"]["question"], "Refunds?");
    assert_eq!(f["data"]["status"], "archived");
    assert_eq!(f["data"]["sort_order"], 3);
    b.visit(&format!("/dashboard/kb/{kb}/faqs/{}/delete", faqs[0]))
        .await
        .assert_status(200);
    b.submit(&format!("/dashboard/kb/{kb}/faqs/{}/delete", faqs[0]), &[])
        .await
        .assert_status(303);
    assert!(ids(&app, &format!("/v1/kb/{kb}/faqs")).await.is_empty());
}

#[tokio::test]
async fn the_search_tester_shows_highlighted_escaped_snippets() {
    let app = TestApp::new().await;
    let kb = kb(&app, "acme").await;
    let cat = category(&app, &kb, "Billing").await;
    article(
        &app,
        &kb,
        json!({ "category_id": cat, "title": "Refund <em>policy</em>",
                "body": "Refunds reach your card in <b>five</b> days.", "status": "draft" }),
    )
    .await;
    let mut b = at(&app, &format!("/dashboard/kb/{kb}/search")).await;
    let page = b
        .visit(&format!("/dashboard/kb/{kb}/search?q=refunds"))
        .await;
    page.assert_status(200)
        .assert_contains("Refund &lt;em&gt;policy&lt;/em&gt;")
        .assert_contains("<mark>")
        .assert_contains("badge-draft");
    assert!(!page.text.contains("<b>five</b>"));
    assert!(!page.text.contains("<em>policy"));
    // Filtering by status leaves the draft out.
    b.visit(&format!(
        "/dashboard/kb/{kb}/search?q=refunds&status=published"
    ))
    .await
    .assert_status(200)
    .assert_contains("No article matches.");
    let long = "q".repeat(501);
    b.visit(&format!("/dashboard/kb/{kb}/search?q={long}"))
        .await
        .assert_status(422)
        .assert_contains("id=\"q-error\"");
}

#[tokio::test]
async fn another_projects_content_is_not_found() {
    let app = TestApp::new().await;
    let (_, other_key) = app.new_project("Other").await;
    let r = app
        .send(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/v1/kb")
                .header("host", "127.0.0.1:8080")
                .header("authorization", format!("Bearer {other_key}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    json!({ "title": "Theirs", "slug": "theirs" }).to_string(),
                ))
                .expect("request"),
        )
        .await;
    r.assert_status(201);
    let theirs = id(&r);
    let mine = kb(&app, "mine").await;
    let cat = category(&app, &mine, "Billing").await;
    let art = article(&app, &mine, json!({ "category_id": cat, "title": "A" })).await;
    let mut b = at(&app, &format!("/dashboard/kb/{mine}")).await;
    for path in [
        format!("/dashboard/kb/{theirs}"),
        format!("/dashboard/kb/{theirs}/faqs"),
        format!("/dashboard/kb/{theirs}/search?q=x"),
        format!("/dashboard/kb/{theirs}/articles/{art}"),
        format!("/dashboard/kb/{mine}/articles/art_doesnotexist"),
        format!("/dashboard/kb/{mine}/categories/cat_doesnotexist"),
    ] {
        b.visit(&path).await.assert_status(404);
    }
    b.submit(
        &format!("/dashboard/kb/{theirs}/articles/{art}/publish"),
        &[],
    )
    .await
    .assert_status(404);
    b.submit(
        &format!("/dashboard/kb/{theirs}/categories/new"),
        &[("name", "Sneaky")],
    )
    .await
    .assert_status(404);
}

#[tokio::test]
async fn a_post_without_the_csrf_token_changes_nothing() {
    let app = TestApp::new().await;
    let kb = kb(&app, "acme").await;
    let cat = category(&app, &kb, "Billing").await;
    let art = article(&app, &kb, json!({ "category_id": cat, "title": "A" })).await;
    let mut b = at(&app, &format!("/dashboard/kb/{kb}")).await;
    b.post_raw(
        &format!("/dashboard/kb/{kb}/articles/{art}/publish"),
        &[],
        &[("sec-fetch-site", "same-origin")],
    )
    .await
    .assert_status(403);
    b.post_raw(
        &format!("/dashboard/kb/{kb}/categories/{cat}/delete"),
        &[("_csrf".into(), "forged".into())],
        &[("sec-fetch-site", "same-origin")],
    )
    .await
    .assert_status(403);
    let a = get_json(&app, &format!("/v1/kb/{kb}/articles/{art}")).await;
    assert_eq!(a["data"]["status"], "draft");
    assert_eq!(
        ids(&app, &format!("/v1/kb/{kb}/categories")).await,
        vec![cat]
    );
}

#[tokio::test]
async fn a_source_managed_kb_refuses_content_writes() {
    let app = TestApp::new().await;
    let kb = kb(&app, "acme").await;
    let cat = category(&app, &kb, "Billing").await;
    app.api(
        Method::PUT,
        &format!("/v1/kb/{kb}/source"),
        Some(json!({ "type": "git", "url": "https://git.example.com/acme/docs.git", "branch": "main" })),
    )
    .await
    .assert_status(201);
    let mut b = at(
        &app,
        &format!("/dashboard/kb/{kb}/articles/new?category_id={cat}"),
    )
    .await;
    b.visit(&format!("/dashboard/kb/{kb}"))
        .await
        .assert_contains("managed by its source");
    let r = b
        .submit(
            &format!("/dashboard/kb/{kb}/articles/new"),
            &[
                ("title", "Nope"),
                ("category_id", &cat),
                ("body", "x"),
                ("intent", "draft"),
            ],
        )
        .await;
    r.assert_status(409)
        .assert_contains("managed by its source");
    let r = b
        .submit(&format!("/dashboard/kb/{kb}/categories/{cat}/delete"), &[])
        .await;
    r.assert_status(303);
    b.visit(r.location())
        .await
        .assert_contains("managed by its source");
    assert_eq!(
        ids(&app, &format!("/v1/kb/{kb}/categories")).await,
        vec![cat]
    );
    assert!(ids(&app, &format!("/v1/kb/{kb}/articles")).await.is_empty());
}

#[tokio::test]
async fn a_long_section_is_paginated() {
    let app = TestApp::new().await;
    let kb = kb(&app, "acme").await;
    let cat = category(&app, &kb, "Billing").await;
    for batch in 0..2 {
        let articles: Vec<Value> = (0..15)
            .map(|i| json!({ "category_id": cat, "title": format!("Page {:02}", batch * 15 + i) }))
            .collect();
        app.api(
            Method::POST,
            &format!("/v1/kb/{kb}/articles/bulk"),
            Some(json!({ "articles": articles })),
        )
        .await
        .assert_status(201);
    }
    let mut b = at(&app, &format!("/dashboard/kb/{kb}")).await;
    let first = b
        .visit(&format!(
            "/dashboard/kb/{kb}/articles?category_id={cat}&section_id=ungrouped"
        ))
        .await;
    first
        .assert_status(200)
        .assert_contains("Page 00")
        .assert_contains("Page 24")
        .assert_contains("rel=\"next\"")
        .assert_contains("data-reorder");
    assert!(!first.text.contains("Page 25"));
    let next = first
        .text
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|href| href.contains("cursor="))
        .expect("a next link")
        .replace("&amp;", "&");
    let second = b.visit(&next).await;
    second
        .assert_status(200)
        .assert_contains("Page 25")
        .assert_contains("Page 29")
        .assert_contains("rel=\"prev\"");
    assert!(!second.text.contains("Page 24"));
    assert!(!second.text.contains("data-reorder"));
    b.visit(&format!(
        "/dashboard/kb/{kb}/articles?category_id={cat}&section_id=ungrouped&cursor=forged"
    ))
    .await
    .assert_status(400);
}
