//! Credit prices, the monthly ledger (`GET /v1/usage`) and the operator's spending cap.

use std::sync::Arc;

use axum::http::Method;
use serde_json::{Value, json};
use tome_core::input::ProjectPatch;

use crate::support::{TestApp, id_of};

/// Sets (or with `None` removes) the project's cap, as the operator would.
async fn set_cap(app: &TestApp, cap: Option<i64>) {
    app.store
        .update_project(
            &app.project_id,
            ProjectPatch {
                credit_cap: Some(cap),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// `GET /v1/usage` data.
async fn usage(app: &TestApp) -> Value {
    let r = app.get("/v1/usage").await;
    r.assert_status(200);
    r.data().clone()
}

async fn credits_used(app: &TestApp) -> i64 {
    usage(app).await["credits_used"].as_i64().unwrap()
}

/// `(price, count, credits)` of one action in a usage response.
fn line(usage: &Value, action: &str) -> (i64, i64, i64) {
    let l = usage["by_action"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["action"] == action)
        .unwrap_or_else(|| panic!("{action} not in {usage}"));
    (
        l["price"].as_i64().unwrap(),
        l["count"].as_i64().unwrap(),
        l["credits"].as_i64().unwrap(),
    )
}

/// How many items a list returns (all fit in one page here).
async fn count(app: &TestApp, path: &str) -> usize {
    let sep = if path.contains('?') { '&' } else { '?' };
    let r = app.get(&format!("{path}{sep}limit=100")).await;
    r.assert_status(200);
    assert_eq!(r.body["pagination"]["has_more"], false);
    r.data().as_array().unwrap().len()
}

#[track_caller]
fn assert_cap_error(r: &crate::support::TestResponse, cap: i64, used: i64, required: i64) {
    r.assert_error(402, "spending_cap_exceeded");
    assert_eq!(
        r.body["error"]["details"],
        json!({ "credit_cap": cap, "credits_used": used, "credits_required": required }),
        "details: {}",
        r.text
    );
}

/// A KB with one category; returns `(kb_id, category_id)`. Costs 5 credits.
async fn kb_with_category(app: &TestApp, slug: &str) -> (String, String) {
    let kb = app.create_kb(slug).await;
    let kb_id = kb["id"].as_str().unwrap().to_string();
    let cat = app.create_category(&kb_id, "Cat").await;
    (kb_id, cat)
}

// ---------------------------------------------------------------- prices

#[tokio::test]
async fn prices_per_action() {
    let app = TestApp::new().await;
    let u = usage(&app).await;
    assert_eq!(u["credits_used"], 0);
    for (action, price) in [
        ("knowledge_base_created", 3),
        ("category_created", 2),
        ("section_created", 1),
        ("article_created", 3),
        ("faq_created", 1),
        ("assistant_message", 1),
    ] {
        assert_eq!(line(&u, action), (price, 0, 0), "{action}");
    }
    assert_eq!(u["by_action"].as_array().unwrap().len(), 6);

    let kb = app.create_kb("priced").await;
    let kb_id = kb["id"].as_str().unwrap();
    assert_eq!(credits_used(&app).await, 3);
    let cat = app.create_category(kb_id, "Cat").await;
    assert_eq!(credits_used(&app).await, 5);
    let sec = app.create_section(kb_id, &cat, "Sec").await;
    assert_eq!(credits_used(&app).await, 6);
    app.create_article(kb_id, &cat, json!({ "section_id": sec }))
        .await;
    assert_eq!(credits_used(&app).await, 9);
    app.create_faq(kb_id, &cat, json!({})).await;

    let u = usage(&app).await;
    assert_eq!(u["credits_used"], 10);
    assert_eq!(line(&u, "knowledge_base_created"), (3, 1, 3));
    assert_eq!(line(&u, "category_created"), (2, 1, 2));
    assert_eq!(line(&u, "section_created"), (1, 1, 1));
    assert_eq!(line(&u, "article_created"), (3, 1, 3));
    assert_eq!(line(&u, "faq_created"), (1, 1, 1));

    // A published article costs the same as a draft; a bulk create costs 3 per article.
    app.create_article(kb_id, &cat, json!({ "status": "published" }))
        .await;
    let r = app
        .post(
            &format!("/v1/kb/{kb_id}/articles/bulk"),
            json!({ "articles": [
                { "category_id": cat, "title": "B1", "body": "x" },
                { "category_id": cat, "title": "B2", "body": "x" },
            ] }),
        )
        .await;
    r.assert_status(201);
    app.create_faq(kb_id, &cat, json!({ "status": "published" }))
        .await;
    let u = usage(&app).await;
    assert_eq!(line(&u, "article_created"), (3, 4, 12));
    assert_eq!(line(&u, "faq_created"), (1, 2, 2));
    assert_eq!(u["credits_used"], 3 + 2 + 1 + 12 + 2);
    let sum: i64 = u["by_action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["credits"].as_i64().unwrap())
        .sum();
    assert_eq!(u["credits_used"], sum);
}

#[tokio::test]
async fn updates_reads_deletes_and_the_rest_are_free() {
    let app = TestApp::new().await;
    let (kb, cat) = kb_with_category(&app, "free").await;
    let cat2 = app.create_category(&kb, "Cat 2").await;
    let sec = app.create_section(&kb, &cat, "Sec").await;
    let art = app
        .create_article(&kb, &cat, json!({ "title": "Findable thing" }))
        .await;
    let art = art["id"].as_str().unwrap().to_string();
    let art2 = app.create_article(&kb, &cat, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let faq = app.create_faq(&kb, &cat, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = usage(&app).await;
    assert_eq!(before["credits_used"], 3 + 2 + 2 + 1 + 3 + 3 + 1);

    // Reads.
    for path in [
        "/v1/kb".to_string(),
        format!("/v1/kb/{kb}"),
        format!("/v1/kb/{kb}/categories"),
        format!("/v1/kb/{kb}/categories/{cat}"),
        format!("/v1/kb/{kb}/sections"),
        format!("/v1/kb/{kb}/sections/{sec}"),
        format!("/v1/kb/{kb}/articles"),
        format!("/v1/kb/{kb}/articles/{art}"),
        format!("/v1/kb/{kb}/faqs"),
        format!("/v1/kb/{kb}/faqs/{faq}"),
        format!("/v1/kb/{kb}/search?q=findable"),
        format!("/v1/kb/{kb}/site-key"),
        "/v1/project".to_string(),
    ] {
        app.get(&path).await.assert_status(200);
    }
    // Updates, publish/archive, site-key management.
    app.put(
        &format!("/v1/kb/{kb}"),
        json!({ "title": "Renamed", "is_public": true }),
    )
    .await
    .assert_status(200);
    app.put(
        &format!("/v1/kb/{kb}/categories/{cat}"),
        json!({ "name": "Renamed" }),
    )
    .await
    .assert_status(200);
    app.put(
        &format!("/v1/kb/{kb}/sections/{sec}"),
        json!({ "name": "Renamed" }),
    )
    .await
    .assert_status(200);
    app.put(
        &format!("/v1/kb/{kb}/articles/{art}"),
        json!({ "title": "Renamed" }),
    )
    .await
    .assert_status(200);
    app.put(
        &format!("/v1/kb/{kb}/faqs/{faq}"),
        json!({ "question": "Renamed?" }),
    )
    .await
    .assert_status(200);
    app.post_empty(&format!("/v1/kb/{kb}/articles/{art}/publish"))
        .await
        .assert_status(200);
    app.post_empty(&format!("/v1/kb/{kb}/articles/{art}/archive"))
        .await
        .assert_status(200);
    app.post_empty(&format!("/v1/kb/{kb}/faqs/{faq}/publish"))
        .await
        .assert_status(200);
    app.put(
        &format!("/v1/kb/{kb}/articles/bulk"),
        json!({ "articles": [{ "id": art, "title": "Bulk 1" }, { "id": art2, "title": "Bulk 2" }] }),
    )
    .await
    .assert_status(200);
    app.put(
        &format!("/v1/kb/{kb}/site-key"),
        json!({ "rate_limit": 500 }),
    )
    .await
    .assert_status(200);
    app.post_empty(&format!("/v1/kb/{kb}/site-key/revoke"))
        .await
        .assert_status(200);
    app.put(
        "/v1/project",
        json!({ "name": "Free", "allowed_domains": ["example.com"] }),
    )
    .await
    .assert_status(200);
    // Deletes (no refund either).
    app.delete(&format!("/v1/kb/{kb}/faqs/{faq}"))
        .await
        .assert_status(204);
    app.delete(&format!("/v1/kb/{kb}/articles/{art2}"))
        .await
        .assert_status(204);
    app.delete(&format!("/v1/kb/{kb}/sections/{sec}"))
        .await
        .assert_status(204);
    app.delete(&format!("/v1/kb/{kb}/categories/{cat2}"))
        .await
        .assert_status(204);
    app.delete(&format!("/v1/kb/{kb}")).await.assert_status(204);

    let after = usage(&app).await;
    assert_eq!(after, before, "free operations changed the ledger");
}

#[tokio::test]
async fn free_operations_still_work_at_the_cap() {
    let app = TestApp::new().await;
    let (kb, cat) = kb_with_category(&app, "capped-free").await;
    let art = app.create_article(&kb, &cat, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    set_cap(&app, Some(0)).await;

    app.get(&format!("/v1/kb/{kb}/articles/{art}"))
        .await
        .assert_status(200);
    app.put(
        &format!("/v1/kb/{kb}/articles/{art}"),
        json!({ "title": "Still editable" }),
    )
    .await
    .assert_status(200);
    app.post_empty(&format!("/v1/kb/{kb}/articles/{art}/publish"))
        .await
        .assert_status(200);
    app.get(&format!("/v1/kb/{kb}/search?q=editable"))
        .await
        .assert_status(200);
    app.post_empty(&format!("/v1/kb/{kb}/site-key/revoke"))
        .await
        .assert_status(200);
    app.put(&format!("/v1/kb/{kb}"), json!({ "title": "Still" }))
        .await
        .assert_status(200);
    app.delete(&format!("/v1/kb/{kb}/articles/{art}"))
        .await
        .assert_status(204);

    let u = usage(&app).await;
    assert_eq!(u["credits_used"], 8);
    assert_eq!(u["credit_cap"], 0);
    assert_eq!(u["credits_remaining"], 0);
}

// ---------------------------------------------------------------- the cap

#[tokio::test]
async fn cap_blocks_each_kind_of_create_and_creates_nothing() {
    let app = TestApp::new().await;
    let (kb, cat) = kb_with_category(&app, "blocked").await;
    let sec = app.create_section(&kb, &cat, "Sec").await;
    // Used: 3 + 2 + 1 = 6. A cap of 6 leaves nothing.
    set_cap(&app, Some(6)).await;
    let u = usage(&app).await;
    assert_eq!(u["credit_cap"], 6);
    assert_eq!(u["credits_remaining"], 0);

    let r = app
        .post("/v1/kb", json!({ "title": "No", "slug": "no" }))
        .await;
    assert_cap_error(&r, 6, 6, 3);
    let r = app
        .post(&format!("/v1/kb/{kb}/categories"), json!({ "name": "No" }))
        .await;
    assert_cap_error(&r, 6, 6, 2);
    let r = app
        .post(
            &format!("/v1/kb/{kb}/sections"),
            json!({ "category_id": cat, "name": "No" }),
        )
        .await;
    assert_cap_error(&r, 6, 6, 1);
    let r = app
        .post(
            &format!("/v1/kb/{kb}/articles"),
            json!({ "category_id": cat, "section_id": sec, "title": "No", "body": "x" }),
        )
        .await;
    assert_cap_error(&r, 6, 6, 3);
    let r = app
        .post(
            &format!("/v1/kb/{kb}/faqs"),
            json!({ "category_id": cat, "question": "No?", "answer": "x" }),
        )
        .await;
    assert_cap_error(&r, 6, 6, 1);
    let r = app
        .post(
            &format!("/v1/kb/{kb}/articles/bulk"),
            json!({ "articles": [{ "category_id": cat, "title": "No", "body": "x" }] }),
        )
        .await;
    assert_cap_error(&r, 6, 6, 3);

    assert_eq!(count(&app, "/v1/kb").await, 1);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/categories")).await, 1);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/sections")).await, 1);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/articles")).await, 0);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/faqs")).await, 0);
    // The slug of the refused KB was never taken.
    let r = app.get("/v1/kb").await;
    assert_eq!(r.data()[0]["slug"], "blocked");
    assert_eq!(credits_used(&app).await, 6);

    // Raising the cap lets creates through again; removing it lifts the limit.
    set_cap(&app, Some(7)).await;
    app.create_faq(&kb, &cat, json!({})).await;
    let r = app
        .post(
            &format!("/v1/kb/{kb}/faqs"),
            json!({ "category_id": cat, "question": "No?", "answer": "x" }),
        )
        .await;
    assert_cap_error(&r, 7, 7, 1);
    set_cap(&app, None).await;
    app.create_kb("no").await;
    let u = usage(&app).await;
    assert_eq!(u["credits_used"], 10);
    assert_eq!(u["credit_cap"], Value::Null);
    assert_eq!(u["credits_remaining"], Value::Null);
}

#[tokio::test]
async fn a_create_that_exactly_reaches_the_cap_succeeds() {
    let app = TestApp::new().await;
    let (kb, cat) = kb_with_category(&app, "exact").await;
    set_cap(&app, Some(5 + 3 + 1)).await;

    app.create_article(&kb, &cat, json!({})).await;
    let u = usage(&app).await;
    assert_eq!(u["credits_used"], 8);
    assert_eq!(u["credits_remaining"], 1);

    // One credit left: an article (3) or a category (2) no longer fits, an FAQ (1) does.
    let r = app
        .post(
            &format!("/v1/kb/{kb}/articles"),
            json!({ "category_id": cat, "title": "x", "body": "x" }),
        )
        .await;
    assert_cap_error(&r, 9, 8, 3);
    let r = app
        .post(&format!("/v1/kb/{kb}/categories"), json!({ "name": "x" }))
        .await;
    assert_cap_error(&r, 9, 8, 2);
    app.create_faq(&kb, &cat, json!({})).await;
    let u = usage(&app).await;
    assert_eq!(u["credits_used"], 9);
    assert_eq!(u["credits_remaining"], 0);

    // Now even the cheapest create fails.
    let r = app
        .post(
            &format!("/v1/kb/{kb}/faqs"),
            json!({ "category_id": cat, "question": "x?", "answer": "x" }),
        )
        .await;
    assert_cap_error(&r, 9, 9, 1);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/articles")).await, 1);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/faqs")).await, 1);
    assert_eq!(credits_used(&app).await, 9);
}

#[tokio::test]
async fn a_cap_below_what_was_used_shows_zero_remaining() {
    let app = TestApp::new().await;
    kb_with_category(&app, "over").await;
    set_cap(&app, Some(2)).await;
    let u = usage(&app).await;
    assert_eq!(u["credits_used"], 5);
    assert_eq!(u["credit_cap"], 2);
    assert_eq!(u["credits_remaining"], 0);
    let r = app
        .post("/v1/kb", json!({ "title": "No", "slug": "no" }))
        .await;
    assert_cap_error(&r, 2, 5, 3);
}

#[tokio::test]
async fn bulk_create_is_priced_as_a_whole() {
    let app = TestApp::new().await;
    let (kb, cat) = kb_with_category(&app, "bulk").await;
    // 5 used; leave 10.
    set_cap(&app, Some(15)).await;
    let items = |n: usize| -> Value {
        json!({ "articles": (0..n).map(|i| json!({ "category_id": cat, "title": format!("Bulk {i}"), "body": "x" })).collect::<Vec<_>>() })
    };

    // 4 × 3 = 12 > 10: refused as a whole, even though 3 of them would fit.
    let r = app
        .post(&format!("/v1/kb/{kb}/articles/bulk"), items(4))
        .await;
    assert_cap_error(&r, 15, 5, 12);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/articles")).await, 0);
    assert_eq!(credits_used(&app).await, 5);

    // 3 × 3 = 9 fits.
    let r = app
        .post(&format!("/v1/kb/{kb}/articles/bulk"), items(3))
        .await;
    r.assert_status(201);
    assert_eq!(r.data().as_array().unwrap().len(), 3);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/articles")).await, 3);
    let u = usage(&app).await;
    assert_eq!(u["credits_used"], 14);
    assert_eq!(u["credits_remaining"], 1);
    assert_eq!(line(&u, "article_created"), (3, 3, 9));

    // One credit left: even a bulk of one is refused.
    let r = app
        .post(&format!("/v1/kb/{kb}/articles/bulk"), items(1))
        .await;
    assert_cap_error(&r, 15, 14, 3);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/articles")).await, 3);
}

#[tokio::test]
async fn failed_creates_cost_nothing() {
    let app = TestApp::new().await;
    let (kb, cat) = kb_with_category(&app, "failing").await;
    let other = app.create_kb("other").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other_cat = app.create_category(&other, "Other").await;
    let before = usage(&app).await;
    assert_eq!(before["credits_used"], 10);

    let failures: Vec<(Method, String, Value, u16)> = vec![
        // Validation.
        (
            Method::POST,
            "/v1/kb".into(),
            json!({ "slug": "no-title" }),
            422,
        ),
        (
            Method::POST,
            "/v1/kb".into(),
            json!({ "title": "Dup", "slug": "failing" }),
            422,
        ),
        (
            Method::POST,
            "/v1/kb".into(),
            json!({ "title": "Bad", "slug": "Bad Slug" }),
            422,
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb}/categories"),
            json!({ "name": "" }),
            422,
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb}/categories"),
            json!({ "name": "x", "bogus": 1 }),
            422,
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb}/sections"),
            json!({ "name": "no category" }),
            422,
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb}/articles"),
            json!({ "category_id": cat, "body": "no title" }),
            422,
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb}/faqs"),
            json!({ "category_id": cat, "question": "no answer?" }),
            422,
        ),
        // References that do not resolve.
        (
            Method::POST,
            format!("/v1/kb/{kb}/sections"),
            json!({ "category_id": other_cat, "name": "x" }),
            422,
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb}/articles"),
            json!({ "category_id": other_cat, "title": "x", "body": "x" }),
            422,
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb}/faqs"),
            json!({ "category_id": "kbc_000000000000", "question": "x?", "answer": "x" }),
            422,
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb}/articles"),
            json!({ "category_id": cat, "title": "x", "body": "x", "related_articles": ["kba_000000000000"] }),
            422,
        ),
        // A bulk with one bad item writes and charges nothing.
        (
            Method::POST,
            format!("/v1/kb/{kb}/articles/bulk"),
            json!({ "articles": [
                { "category_id": cat, "title": "fine", "body": "x" },
                { "category_id": cat, "title": "fine", "body": "x" },
                { "category_id": other_cat, "title": "bad ref", "body": "x" },
            ] }),
            422,
        ),
        (
            Method::POST,
            format!("/v1/kb/{kb}/articles/bulk"),
            json!({ "articles": [{ "category_id": cat, "title": "fine", "body": "x" }, { "category_id": cat, "body": "no title" }] }),
            422,
        ),
        // Unknown KB.
        (
            Method::POST,
            "/v1/kb/kb_000000000000/categories".into(),
            json!({ "name": "x" }),
            404,
        ),
        (
            Method::POST,
            "/v1/kb/kb_000000000000/sections".into(),
            json!({ "category_id": cat, "name": "x" }),
            404,
        ),
        (
            Method::POST,
            "/v1/kb/kb_000000000000/articles".into(),
            json!({ "category_id": cat, "title": "x", "body": "x" }),
            404,
        ),
        (
            Method::POST,
            "/v1/kb/kb_000000000000/faqs".into(),
            json!({ "category_id": cat, "question": "x?", "answer": "x" }),
            404,
        ),
        (
            Method::POST,
            "/v1/kb/kb_000000000000/articles/bulk".into(),
            json!({ "articles": [{ "category_id": cat, "title": "x", "body": "x" }] }),
            404,
        ),
    ];
    for (method, path, body, status) in &failures {
        let r = app
            .call(method.clone(), path, Some(&app.key), Some(body.clone()))
            .await;
        assert_eq!(
            r.status.as_u16(),
            *status,
            "{method} {path} {body}: {}",
            r.text
        );
    }
    assert_eq!(usage(&app).await, before, "failed creates were charged");
    assert_eq!(count(&app, "/v1/kb").await, 2);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/categories")).await, 1);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/sections")).await, 0);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/articles")).await, 0);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/faqs")).await, 0);

    // Under a cap that leaves exactly one article, the failures above do not use it up, and
    // they keep their own status rather than turning into 402s.
    set_cap(&app, Some(13)).await;
    for (method, path, body, status) in &failures {
        let r = app
            .call(method.clone(), path, Some(&app.key), Some(body.clone()))
            .await;
        assert_eq!(
            r.status.as_u16(),
            *status,
            "{method} {path} {body}: {}",
            r.text
        );
    }
    app.create_article(&kb, &cat, json!({})).await;
    assert_eq!(credits_used(&app).await, 13);
}

#[tokio::test]
async fn cap_zero_blocks_every_billable_create() {
    let app = TestApp::new().await;
    set_cap(&app, Some(0)).await;
    let r = app
        .post("/v1/kb", json!({ "title": "No", "slug": "no" }))
        .await;
    assert_cap_error(&r, 0, 0, 3);
    assert_eq!(count(&app, "/v1/kb").await, 0);

    // With content made before the cap, every kind of create is still refused.
    set_cap(&app, None).await;
    let (kb, cat) = kb_with_category(&app, "zero").await;
    set_cap(&app, Some(0)).await;
    let r = app
        .post("/v1/kb", json!({ "title": "No", "slug": "no" }))
        .await;
    assert_cap_error(&r, 0, 5, 3);
    let r = app
        .post(&format!("/v1/kb/{kb}/categories"), json!({ "name": "No" }))
        .await;
    assert_cap_error(&r, 0, 5, 2);
    let r = app
        .post(
            &format!("/v1/kb/{kb}/sections"),
            json!({ "category_id": cat, "name": "No" }),
        )
        .await;
    assert_cap_error(&r, 0, 5, 1);
    let r = app
        .post(
            &format!("/v1/kb/{kb}/articles"),
            json!({ "category_id": cat, "title": "No", "body": "x" }),
        )
        .await;
    assert_cap_error(&r, 0, 5, 3);
    let r = app
        .post(
            &format!("/v1/kb/{kb}/faqs"),
            json!({ "category_id": cat, "question": "No?", "answer": "x" }),
        )
        .await;
    assert_cap_error(&r, 0, 5, 1);
    let r = app
        .post(
            &format!("/v1/kb/{kb}/articles/bulk"),
            json!({ "articles": [{ "category_id": cat, "title": "No", "body": "x" }] }),
        )
        .await;
    assert_cap_error(&r, 0, 5, 3);

    assert_eq!(count(&app, "/v1/kb").await, 1);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/categories")).await, 1);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/sections")).await, 0);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/articles")).await, 0);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/faqs")).await, 0);
    let u = usage(&app).await;
    assert_eq!(u["credits_used"], 5);
    assert_eq!(u["credits_remaining"], 0);
}

#[tokio::test]
async fn the_cap_and_ledger_are_per_project() {
    let app = TestApp::new().await;
    kb_with_category(&app, "a").await;
    set_cap(&app, Some(5)).await;
    let (_, key_b) = app.new_project("b").await;

    let r = app
        .call(
            Method::POST,
            "/v1/kb",
            Some(&key_b),
            Some(json!({ "title": "B", "slug": "b" })),
        )
        .await;
    r.assert_status(201);
    let r = app.call(Method::GET, "/v1/usage", Some(&key_b), None).await;
    assert_eq!(r.data()["credits_used"], 3);
    assert_eq!(r.data()["credit_cap"], Value::Null);
    assert_eq!(credits_used(&app).await, 5);
    let r = app
        .post("/v1/kb", json!({ "title": "A2", "slug": "a2" }))
        .await;
    assert_cap_error(&r, 5, 5, 3);
}

// ---------------------------------------------------------------- concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_never_overspend() {
    let app = Arc::new(TestApp::new().await);
    let (kb, cat) = kb_with_category(&app, "race").await;
    app.create_article(&kb, &cat, json!({})).await;
    let used = credits_used(&app).await;
    assert_eq!(used, 8);
    // Exactly 7 more articles fit.
    let cap = used + 7 * 3;
    set_cap(&app, Some(cap)).await;

    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = app.clone();
        let path = format!("/v1/kb/{kb}/articles");
        let body = json!({ "category_id": cat, "title": format!("Racer {i}"), "body": "x" });
        tasks.push(tokio::spawn(async move { app.post(&path, body).await }));
    }
    let mut created = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status.as_u16() {
            201 => created.push(id_of(&r)),
            402 => {
                r.assert_error(402, "spending_cap_exceeded");
                refused += 1;
            }
            other => panic!("unexpected status {other}: {}", r.text),
        }
    }
    assert_eq!(created.len(), 7, "created");
    assert_eq!(refused, 13, "refused");
    created.sort();
    created.dedup();
    assert_eq!(created.len(), 7, "duplicate IDs");

    let u = usage(&app).await;
    assert_eq!(u["credits_used"], cap);
    assert_eq!(u["credits_remaining"], 0);
    assert_eq!(line(&u, "article_created"), (3, 8, 24));
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/articles")).await, 8);
    let r = app.get("/v1/kb").await;
    assert_eq!(r.data()[0]["article_count"], 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bulk_creates_never_overspend() {
    let app = Arc::new(TestApp::new().await);
    let (kb, cat) = kb_with_category(&app, "bulk-race").await;
    // 10 credits left: room for one bulk of 3 articles (9), never two.
    set_cap(&app, Some(15)).await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let app = app.clone();
        let path = format!("/v1/kb/{kb}/articles/bulk");
        let body = json!({ "articles": (0..3).map(|j| json!({ "category_id": cat, "title": format!("R{i}-{j}"), "body": "x" })).collect::<Vec<_>>() });
        tasks.push(tokio::spawn(async move { app.post(&path, body).await }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().status.as_u16());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![201, 402, 402, 402, 402, 402]);
    assert_eq!(count(&app, &format!("/v1/kb/{kb}/articles")).await, 3);
    assert_eq!(credits_used(&app).await, 14);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_with_one_slug_charge_once() {
    let app = Arc::new(TestApp::new().await);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let app = app.clone();
        let body = json!({ "title": format!("Racer {i}"), "slug": "contested" });
        tasks.push(tokio::spawn(async move { app.post("/v1/kb", body).await }));
    }
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status.as_u16() {
            201 => created += 1,
            422 => assert_eq!(r.field(), "slug", "{}", r.text),
            other => panic!("unexpected status {other}: {}", r.text),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(count(&app, "/v1/kb").await, 1);
    let u = usage(&app).await;
    assert_eq!(u["credits_used"], 3);
    assert_eq!(line(&u, "knowledge_base_created"), (3, 1, 3));
}
