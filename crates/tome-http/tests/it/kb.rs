//! Knowledge bases, their site keys, the project and usage through `/v1`.

use serde_json::{Value, json};
use tome_http::HttpConfig;

use crate::support::{TestApp, id_of, ids, is_entity_id, is_timestamp, test_config};

/// `psk_` + 32 lowercase alphanumerics.
fn is_site_key(v: &Value) -> bool {
    v.as_str()
        .and_then(|s| s.strip_prefix("psk_"))
        .is_some_and(|rest| {
            rest.len() == 32
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

/// The KB with this ID in a list response.
fn find<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

// ---------------------------------------------------------------- create

#[tokio::test]
async fn create_returns_201_with_the_full_shape() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/v1/kb",
            json!({
                "title": "Studbook.farm Help Centre",
                "slug": "studbook-help",
                "description": "Everything you need to know...",
                "is_public": false
            }),
        )
        .await;
    r.assert_status(201);
    let d = r.data();
    assert!(is_entity_id(&d["id"], "kb_"), "id: {}", d["id"]);
    assert!(is_site_key(&d["site_key"]), "site_key: {}", d["site_key"]);
    assert!(
        is_timestamp(&d["created_at"]),
        "created_at: {}",
        d["created_at"]
    );
    assert_eq!(d["created_at"], d["updated_at"]);
    insta::assert_json_snapshot!("kb_create_response", r.body, {
        ".data.id" => "[id]",
        ".data.site_key" => "[key]",
        ".data.created_at" => "[ts]",
        ".data.updated_at" => "[ts]",
    });
}

#[tokio::test]
async fn create_with_every_field() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/v1/kb",
            json!({
                "title": "Docs",
                "slug": "docs-1",
                "description": "All the docs",
                "is_public": true,
                "theme": "developer",
                "theme_settings": { "primary_color": "#4f46e5", "dark_mode": true, "custom_css": "h1 { color: red; }" },
                "logo_path": "/logo.png"
            }),
        )
        .await;
    r.assert_status(201);
    let d = r.data();
    assert_eq!(d["title"], "Docs");
    assert_eq!(d["slug"], "docs-1");
    assert_eq!(d["description"], "All the docs");
    assert_eq!(d["is_public"], true);
    assert_eq!(d["theme"], "developer");
    assert_eq!(
        d["theme_settings"],
        json!({ "primary_color": "#4f46e5", "dark_mode": true, "custom_css": "h1 { color: red; }" })
    );
    assert_eq!(d["logo_path"], "/logo.png");
    assert_eq!(d["public_url"], "http://127.0.0.1:8080/hc/docs-1");
}

#[tokio::test]
async fn theme_defaults_to_minimal_and_is_public_to_false() {
    let app = TestApp::new().await;
    let kb = app.create_kb("defaults").await;
    assert_eq!(kb["theme"], "minimal");
    assert_eq!(kb["is_public"], false);
    assert_eq!(kb["description"], Value::Null);
    assert_eq!(kb["theme_settings"], Value::Null);
    assert_eq!(kb["logo_path"], Value::Null);
    assert_eq!(kb["public_url"], Value::Null);
    assert_eq!(kb["shared_allowed_domains"], json!([]));
}

#[tokio::test]
async fn site_key_only_on_create() {
    let app = TestApp::new().await;
    let kb = app.create_kb("only-once").await;
    assert!(is_site_key(&kb["site_key"]), "site_key: {}", kb["site_key"]);
    assert!(str_of(&kb, "site_key").starts_with("psk_"));
    let id = str_of(&kb, "id");

    let r = app.get(&format!("/v1/kb/{id}")).await;
    r.assert_status(200);
    assert!(
        r.data().get("site_key").is_none(),
        "get leaks site_key: {}",
        r.text
    );

    let r = app.get("/v1/kb").await;
    r.assert_status(200);
    assert!(
        find(r.data(), id).get("site_key").is_none(),
        "list leaks site_key: {}",
        r.text
    );

    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "title": "Renamed" }))
        .await;
    r.assert_status(200);
    assert!(
        r.data().get("site_key").is_none(),
        "update leaks site_key: {}",
        r.text
    );

    // The site-key metadata route never shows it either.
    let r = app.get(&format!("/v1/kb/{id}/site-key")).await;
    r.assert_status(200);
    assert!(
        r.data().get("site_key").is_none(),
        "site-key GET leaks the key: {}",
        r.text
    );
    assert!(
        !r.text.contains(str_of(&kb, "site_key")),
        "plaintext appears: {}",
        r.text
    );
}

#[tokio::test]
async fn get_returns_the_same_kb_without_counts() {
    let app = TestApp::new().await;
    let kb = app.create_kb("get-me").await;
    let id = str_of(&kb, "id");
    let r = app.get(&format!("/v1/kb/{id}")).await;
    r.assert_status(200);
    let mut expected = kb.clone();
    expected.as_object_mut().unwrap().remove("site_key");
    assert_eq!(r.data(), &expected);
    assert!(
        r.data().get("category_count").is_none(),
        "counts only on list: {}",
        r.text
    );
    insta::assert_json_snapshot!("kb_get_response", r.body, {
        ".data.id" => "[id]",
        ".data.created_at" => "[ts]",
        ".data.updated_at" => "[ts]",
    });
}

#[tokio::test]
async fn get_unknown_kb_is_404() {
    let app = TestApp::new().await;
    app.get("/v1/kb/kb_doesnotexist")
        .await
        .assert_error(404, "kb_not_found");
    app.put("/v1/kb/kb_doesnotexist", json!({ "title": "x" }))
        .await
        .assert_error(404, "kb_not_found");
    app.delete("/v1/kb/kb_doesnotexist")
        .await
        .assert_error(404, "kb_not_found");
}

#[tokio::test]
async fn duplicate_slug_on_create_is_422() {
    let app = TestApp::new().await;
    app.create_kb("taken").await;
    let r = app
        .post("/v1/kb", json!({ "title": "Again", "slug": "taken" }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "slug");
    let r = app.get("/v1/kb").await;
    assert_eq!(
        r.data().as_array().unwrap().len(),
        1,
        "duplicate was created: {}",
        r.text
    );
}

#[tokio::test]
async fn same_slug_is_fine_in_another_project() {
    let app = TestApp::new().await;
    app.create_kb("shared-slug").await;
    let (_, key_b) = app.new_project("other").await;
    let r = app
        .call(
            axum::http::Method::POST,
            "/v1/kb",
            Some(&key_b),
            Some(json!({ "title": "B", "slug": "shared-slug" })),
        )
        .await;
    r.assert_status(201);
}

#[tokio::test]
async fn invalid_theme_is_422() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/v1/kb",
            json!({ "title": "T", "slug": "t", "theme": "neon" }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "theme");

    let kb = app.create_kb("themed").await;
    let id = str_of(&kb, "id");
    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "theme": "fancy" }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "theme");
    let r = app.get(&format!("/v1/kb/{id}")).await;
    assert_eq!(r.data()["theme"], "minimal");
}

#[tokio::test]
async fn every_theme_is_accepted() {
    let app = TestApp::new().await;
    for (i, theme) in ["minimal", "developer", "brand", "docs", "bare"]
        .iter()
        .enumerate()
    {
        let r = app
            .post(
                "/v1/kb",
                json!({ "title": "T", "slug": format!("t{i}"), "theme": theme }),
            )
            .await;
        r.assert_status(201);
        assert_eq!(r.data()["theme"], *theme);
    }
}

#[tokio::test]
async fn slug_rules_on_create_and_update() {
    let app = TestApp::new().await;
    for bad in [
        json!("Has Caps"),
        json!("with space"),
        json!("under_score"),
        json!(""),
        json!("ü-umlaut"),
        json!("a".repeat(201)),
        json!(12),
        json!(null),
    ] {
        let r = app
            .post("/v1/kb", json!({ "title": "T", "slug": bad }))
            .await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "slug", "for {bad}");
    }
    let r = app.post("/v1/kb", json!({ "title": "T" })).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "slug");
    app.create_kb(&"a".repeat(200)).await;
    let kb = app.create_kb("ok-slug-9").await;
    let id = str_of(&kb, "id");
    for bad in [json!("Has Caps"), json!(""), json!("a/b")] {
        let r = app
            .put(&format!("/v1/kb/{id}"), json!({ "slug": bad }))
            .await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "slug", "for {bad}");
    }
    assert_eq!(
        app.get(&format!("/v1/kb/{id}")).await.data()["slug"],
        "ok-slug-9"
    );
    assert_eq!(app.get("/v1/kb").await.data().as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn title_is_required_and_bounded() {
    let app = TestApp::new().await;
    for bad in [
        json!({ "slug": "s" }),
        json!({ "title": "", "slug": "s" }),
        json!({ "title": "  ", "slug": "s" }),
        json!({ "title": "x".repeat(501), "slug": "s" }),
    ] {
        let r = app.post("/v1/kb", bad.clone()).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "title", "for {bad}");
    }
    // 500 characters is fine, counted as characters, not bytes.
    let r = app
        .post("/v1/kb", json!({ "title": "é".repeat(500), "slug": "s" }))
        .await;
    r.assert_status(201);
}

#[tokio::test]
async fn unknown_and_read_only_fields_are_rejected() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/v1/kb",
            json!({ "title": "T", "slug": "s", "site_key": "psk_mine" }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "site_key");
    let r = app
        .post(
            "/v1/kb",
            json!({ "title": "T", "slug": "s", "id": "kb_aaaaaaaaaaaa" }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "id");
    let r = app
        .post(
            "/v1/kb",
            json!({ "title": "T", "slug": "s", "theme_settings": { "font": "serif" } }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "theme_settings.font");
    let r = app
        .post(
            "/v1/kb",
            json!({ "title": "T", "slug": "s", "is_public": "yes" }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "is_public");
    let r = app
        .post(
            "/v1/kb",
            json!({ "title": "T", "slug": "s", "logo_path": "javascript:alert(1)" }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "logo_path");
    assert_eq!(app.get("/v1/kb").await.data(), &json!([]));
}

#[tokio::test]
async fn put_project_limits() {
    let app = TestApp::new().await;
    let hundred: Vec<String> = (0..100).map(|i| format!("d{i}.example.com")).collect();
    let r = app
        .put("/v1/project", json!({ "allowed_domains": hundred }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["allowed_domains"].as_array().unwrap().len(), 100);
    let too_many: Vec<String> = (0..101).map(|i| format!("d{i}.example.com")).collect();
    let r = app
        .put("/v1/project", json!({ "allowed_domains": too_many }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "allowed_domains");
    assert_eq!(
        app.get("/v1/project").await.data()["allowed_domains"]
            .as_array()
            .unwrap()
            .len(),
        100
    );

    let r = app
        .put("/v1/project", json!({ "name": "n".repeat(201) }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "name");
    let r = app
        .put("/v1/project", json!({ "name": "n".repeat(200) }))
        .await;
    r.assert_status(200);
    let r = app.put("/v1/project", json!({ "id": "prj_x" })).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "id");
}

// ---------------------------------------------------------------- list

#[tokio::test]
async fn list_has_counts_that_follow_content() {
    let app = TestApp::new().await;
    let kb = app.create_kb("counted").await;
    let empty = app.create_kb("empty").await;
    let id = str_of(&kb, "id");

    let r = app.get("/v1/kb").await;
    r.assert_status(200);
    for k in r.data().as_array().unwrap() {
        assert_eq!(k["category_count"], 0);
        assert_eq!(k["section_count"], 0);
        assert_eq!(k["article_count"], 0);
        assert_eq!(k["faq_count"], 0);
        assert!(k.get("site_key").is_none());
    }

    let c1 = app.create_category(id, "One").await;
    let c2 = app.create_category(id, "Two").await;
    let s1 = app.create_section(id, &c1, "S1").await;
    app.create_section(id, &c1, "S2").await;
    app.create_section(id, &c2, "S3").await;
    app.create_article(id, &c1, json!({})).await;
    app.create_article(id, &c1, json!({ "section_id": s1 }))
        .await;
    app.create_article(id, &c2, json!({ "status": "published" }))
        .await;
    app.create_article(id, &c2, json!({ "status": "archived" }))
        .await;
    app.create_faq(id, &c1, json!({})).await;
    app.create_faq(id, &c2, json!({ "status": "published" }))
        .await;

    let r = app.get("/v1/kb").await;
    r.assert_status(200);
    let k = find(r.data(), id);
    assert_eq!(k["category_count"], 2);
    assert_eq!(k["section_count"], 3);
    assert_eq!(k["article_count"], 4);
    assert_eq!(k["faq_count"], 2);
    let e = find(r.data(), str_of(&empty, "id"));
    assert_eq!(e["category_count"], 0);
    assert_eq!(e["section_count"], 0);
    assert_eq!(e["article_count"], 0);
    assert_eq!(e["faq_count"], 0);
    assert_eq!(
        r.body["pagination"],
        json!({ "next_cursor": null, "has_more": false })
    );

    // Deleting a category takes its sections, articles and FAQs out of the counts.
    app.delete(&format!("/v1/kb/{id}/categories/{c2}"))
        .await
        .assert_status(204);
    let r = app.get("/v1/kb").await;
    let k = find(r.data(), id);
    assert_eq!(k["category_count"], 1);
    assert_eq!(k["section_count"], 2);
    assert_eq!(k["article_count"], 2);
    assert_eq!(k["faq_count"], 1);
}

#[tokio::test]
async fn list_items_have_the_kb_shape_plus_counts() {
    let app = TestApp::new().await;
    let kb = app.create_kb("shape").await;
    let r = app.get("/v1/kb").await;
    r.assert_status(200);
    let item = find(r.data(), str_of(&kb, "id"));
    let mut expected = kb.clone();
    let obj = expected.as_object_mut().unwrap();
    obj.remove("site_key");
    obj.insert("category_count".into(), json!(0));
    obj.insert("section_count".into(), json!(0));
    obj.insert("article_count".into(), json!(0));
    obj.insert("faq_count".into(), json!(0));
    assert_eq!(item, &expected);
}

#[tokio::test]
async fn list_filters_on_is_public() {
    let app = TestApp::new().await;
    let private = app.create_kb("private-one").await;
    let public = app
        .post(
            "/v1/kb",
            json!({ "title": "P", "slug": "public-one", "is_public": true }),
        )
        .await;
    public.assert_status(201);
    let public = public.data().clone();
    let private2 = app.create_kb("private-two").await;

    let r = app.get("/v1/kb").await;
    assert_eq!(
        ids(r.data()),
        vec![
            str_of(&private, "id"),
            str_of(&public, "id"),
            str_of(&private2, "id")
        ]
    );

    let r = app.get("/v1/kb?is_public=true").await;
    r.assert_status(200);
    assert_eq!(ids(r.data()), vec![str_of(&public, "id")]);

    let r = app.get("/v1/kb?is_public=false").await;
    r.assert_status(200);
    assert_eq!(
        ids(r.data()),
        vec![str_of(&private, "id"), str_of(&private2, "id")]
    );

    // Making a KB public moves it between the filtered lists.
    let pid = str_of(&private, "id");
    app.put(&format!("/v1/kb/{pid}"), json!({ "is_public": true }))
        .await
        .assert_status(200);
    let r = app.get("/v1/kb?is_public=true").await;
    assert_eq!(
        ids(r.data()),
        vec![pid.to_string(), str_of(&public, "id").to_string()]
    );
}

#[tokio::test]
async fn list_rejects_a_bad_is_public() {
    let app = TestApp::new().await;
    app.create_kb("x").await;
    for bad in ["maybe", "1", "TRUE", "yes"] {
        let r = app.get(&format!("/v1/kb?is_public={bad}")).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "is_public", "for {bad}");
    }
}

#[tokio::test]
async fn list_only_shows_this_projects_kbs() {
    let app = TestApp::new().await;
    let (_, key_b) = app.new_project("b").await;
    let r = app
        .call(axum::http::Method::GET, "/v1/kb", Some(&key_b), None)
        .await;
    r.assert_status(200);
    assert_eq!(r.data(), &json!([]));
    app.create_kb("mine").await;
    let r = app
        .call(axum::http::Method::GET, "/v1/kb", Some(&key_b), None)
        .await;
    assert_eq!(r.data(), &json!([]));
}

// ---------------------------------------------------------------- update

#[tokio::test]
async fn update_with_every_field_optional() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/v1/kb",
            json!({
                "title": "Original",
                "slug": "orig",
                "description": "Desc",
                "theme": "docs",
                "theme_settings": { "primary_color": "#fff" },
                "logo_path": "https://example.com/logo.svg"
            }),
        )
        .await;
    r.assert_status(201);
    let kb = r.data().clone();
    let id = str_of(&kb, "id");

    // An empty body changes nothing but the update time.
    let r = app.put(&format!("/v1/kb/{id}"), json!({})).await;
    r.assert_status(200);
    for f in [
        "id",
        "title",
        "slug",
        "description",
        "is_public",
        "theme",
        "theme_settings",
        "logo_path",
        "created_at",
    ] {
        assert_eq!(r.data()[f], kb[f], "field {f} changed");
    }
    assert!(is_timestamp(&r.data()["updated_at"]));

    // One field at a time; the rest stay.
    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "title": "New title" }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["title"], "New title");
    assert_eq!(r.data()["description"], "Desc");
    assert_eq!(r.data()["theme"], "docs");
    assert_eq!(r.data()["slug"], "orig");

    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "description": "Changed" }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["title"], "New title");
    assert_eq!(r.data()["description"], "Changed");

    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "theme": "brand" }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["theme"], "brand");
    assert_eq!(r.data()["theme_settings"]["primary_color"], "#fff");

    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "is_public": true }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["is_public"], true);
    assert_eq!(r.data()["logo_path"], "https://example.com/logo.svg");

    // `null` clears nullable fields.
    let r = app
        .put(
            &format!("/v1/kb/{id}"),
            json!({ "description": null, "logo_path": null }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["description"], Value::Null);
    assert_eq!(r.data()["logo_path"], Value::Null);
    assert_eq!(r.data()["title"], "New title");

    // …and is a 422 for required ones.
    for f in ["title", "slug", "is_public", "theme"] {
        let r = app.put(&format!("/v1/kb/{id}"), json!({ f: null })).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), f);
    }

    // What a GET returns matches the last update.
    let r = app.get(&format!("/v1/kb/{id}")).await;
    assert_eq!(r.data()["title"], "New title");
    assert_eq!(r.data()["theme"], "brand");
    assert_eq!(r.data()["is_public"], true);
    assert_eq!(r.data()["description"], Value::Null);
    assert_eq!(r.data()["created_at"], kb["created_at"]);
}

#[tokio::test]
async fn slug_change_moves_the_kb_and_frees_the_old_slug() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/v1/kb",
            json!({ "title": "A", "slug": "old-slug", "is_public": true }),
        )
        .await;
    r.assert_status(201);
    let id = id_of(&r);
    assert_eq!(r.data()["public_url"], "http://127.0.0.1:8080/hc/old-slug");

    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "slug": "new-slug" }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["slug"], "new-slug");
    assert_eq!(r.data()["public_url"], "http://127.0.0.1:8080/hc/new-slug");
    let r = app.get(&format!("/v1/kb/{id}")).await;
    assert_eq!(r.data()["slug"], "new-slug");

    // The new slug is taken now; the old one is free again.
    let r = app
        .post("/v1/kb", json!({ "title": "B", "slug": "new-slug" }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "slug");
    let r = app
        .post("/v1/kb", json!({ "title": "C", "slug": "old-slug" }))
        .await;
    r.assert_status(201);

    // Setting a KB's slug to its current value is not a conflict with itself.
    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "slug": "new-slug" }))
        .await;
    r.assert_status(200);
}

#[tokio::test]
async fn duplicate_slug_on_update_is_422_and_changes_nothing() {
    let app = TestApp::new().await;
    app.create_kb("first").await;
    let second = app.create_kb("second").await;
    let id = str_of(&second, "id");
    let r = app
        .put(
            &format!("/v1/kb/{id}"),
            json!({ "slug": "first", "title": "Should not stick" }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "slug");
    let r = app.get(&format!("/v1/kb/{id}")).await;
    assert_eq!(r.data()["slug"], "second");
    assert_eq!(r.data()["title"], "KB second");
}

#[tokio::test]
async fn theme_settings_merge_on_update_and_null_clears() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/v1/kb",
            json!({ "title": "T", "slug": "ts", "theme_settings": { "primary_color": "#4f46e5", "custom_css": "a{}" } }),
        )
        .await;
    r.assert_status(201);
    let id = id_of(&r);
    assert_eq!(
        r.data()["theme_settings"],
        json!({ "primary_color": "#4f46e5", "dark_mode": null, "custom_css": "a{}" })
    );

    // Only the named field changes.
    let r = app
        .put(
            &format!("/v1/kb/{id}"),
            json!({ "theme_settings": { "dark_mode": true } }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(
        r.data()["theme_settings"],
        json!({ "primary_color": "#4f46e5", "dark_mode": true, "custom_css": "a{}" })
    );

    let r = app
        .put(
            &format!("/v1/kb/{id}"),
            json!({ "theme_settings": { "primary_color": "#000" } }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(
        r.data()["theme_settings"],
        json!({ "primary_color": "#000", "dark_mode": true, "custom_css": "a{}" })
    );

    // A null inside clears just that field.
    let r = app
        .put(
            &format!("/v1/kb/{id}"),
            json!({ "theme_settings": { "custom_css": null } }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(
        r.data()["theme_settings"],
        json!({ "primary_color": "#000", "dark_mode": true, "custom_css": null })
    );

    // An update without theme_settings leaves them.
    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "title": "Other" }))
        .await;
    assert_eq!(r.data()["theme_settings"]["primary_color"], "#000");

    // A bad colour is a 422 on the nested field and changes nothing.
    let r = app
        .put(
            &format!("/v1/kb/{id}"),
            json!({ "theme_settings": { "primary_color": "red" } }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "theme_settings.primary_color");

    // `null` clears them all.
    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "theme_settings": null }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["theme_settings"], Value::Null);
    let r = app.get(&format!("/v1/kb/{id}")).await;
    assert_eq!(r.data()["theme_settings"], Value::Null);

    // Merging into nothing starts from empty settings.
    let r = app
        .put(
            &format!("/v1/kb/{id}"),
            json!({ "theme_settings": { "dark_mode": false } }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(
        r.data()["theme_settings"],
        json!({ "primary_color": null, "dark_mode": false, "custom_css": null })
    );
}

// ---------------------------------------------------------------- public_url

#[tokio::test]
async fn public_url_with_default_config() {
    let app = TestApp::new().await;
    let kb = app.create_kb("hidden").await;
    assert_eq!(kb["public_url"], Value::Null);
    let id = str_of(&kb, "id");
    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "is_public": true }))
        .await;
    assert_eq!(r.data()["public_url"], "http://127.0.0.1:8080/hc/hidden");
    let r = app.get(&format!("/v1/kb/{id}")).await;
    assert_eq!(r.data()["public_url"], "http://127.0.0.1:8080/hc/hidden");
    let r = app.get("/v1/kb").await;
    assert_eq!(
        find(r.data(), id)["public_url"],
        "http://127.0.0.1:8080/hc/hidden"
    );
    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "is_public": false }))
        .await;
    assert_eq!(r.data()["public_url"], Value::Null);
}

#[tokio::test]
async fn public_url_with_a_hosted_url() {
    let app = TestApp::with_config(HttpConfig {
        hosted_url: Some("https://help.example.com".to_string()),
        ..test_config()
    })
    .await;
    let r = app
        .post(
            "/v1/kb",
            json!({ "title": "H", "slug": "hosted", "is_public": true }),
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.data()["public_url"], "https://help.example.com/hosted");
    let id = id_of(&r);
    let r = app.get(&format!("/v1/kb/{id}")).await;
    assert_eq!(r.data()["public_url"], "https://help.example.com/hosted");
    let r = app
        .post("/v1/kb", json!({ "title": "H", "slug": "not-hosted" }))
        .await;
    assert_eq!(r.data()["public_url"], Value::Null);
}

#[tokio::test]
async fn public_url_with_a_custom_base_url() {
    let app = TestApp::with_config(HttpConfig {
        base_url: "https://tome.example.org/".to_string(),
        ..test_config()
    })
    .await;
    let r = app
        .post(
            "/v1/kb",
            json!({ "title": "H", "slug": "based", "is_public": true }),
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.data()["public_url"], "https://tome.example.org/hc/based");
}

// ---------------------------------------------------------------- delete

#[tokio::test]
async fn delete_cascades() {
    let app = TestApp::new().await;
    let kb = app.create_kb("doomed").await;
    let keep = app.create_kb("keeper").await;
    let id = str_of(&kb, "id");
    let cat = app.create_category(id, "Cat").await;
    let sec = app.create_section(id, &cat, "Sec").await;
    let art = app
        .create_article(id, &cat, json!({ "section_id": sec }))
        .await;
    let faq = app.create_faq(id, &cat, json!({})).await;
    let keep_id = str_of(&keep, "id");
    let keep_cat = app.create_category(keep_id, "Kept").await;

    let r = app.delete(&format!("/v1/kb/{id}")).await;
    r.assert_status(204);
    assert!(r.text.is_empty(), "204 with a body: {}", r.text);

    app.get(&format!("/v1/kb/{id}"))
        .await
        .assert_error(404, "kb_not_found");
    app.delete(&format!("/v1/kb/{id}"))
        .await
        .assert_error(404, "kb_not_found");
    app.get(&format!("/v1/kb/{id}/categories/{cat}"))
        .await
        .assert_error(404, "kb_not_found");
    app.get(&format!("/v1/kb/{id}/sections/{sec}"))
        .await
        .assert_error(404, "kb_not_found");
    app.get(&format!("/v1/kb/{id}/articles/{}", str_of(&art, "id")))
        .await
        .assert_error(404, "kb_not_found");
    app.get(&format!("/v1/kb/{id}/faqs/{}", str_of(&faq, "id")))
        .await
        .assert_error(404, "kb_not_found");
    app.get(&format!("/v1/kb/{id}/categories"))
        .await
        .assert_error(404, "kb_not_found");
    app.get(&format!("/v1/kb/{id}/site-key"))
        .await
        .assert_error(404, "kb_not_found");

    // The rows themselves are gone: the IDs do not resolve under another KB either.
    app.get(&format!("/v1/kb/{keep_id}/categories/{cat}"))
        .await
        .assert_error(404, "category_not_found");
    app.get(&format!("/v1/kb/{keep_id}/sections/{sec}"))
        .await
        .assert_error(404, "section_not_found");
    app.get(&format!("/v1/kb/{keep_id}/articles/{}", str_of(&art, "id")))
        .await
        .assert_error(404, "article_not_found");
    app.get(&format!("/v1/kb/{keep_id}/faqs/{}", str_of(&faq, "id")))
        .await
        .assert_error(404, "faq_not_found");

    // The other KB is untouched, and the list shows only it.
    let r = app.get("/v1/kb").await;
    assert_eq!(ids(r.data()), vec![keep_id.to_string()]);
    assert_eq!(find(r.data(), keep_id)["category_count"], 1);
    app.get(&format!("/v1/kb/{keep_id}/categories/{keep_cat}"))
        .await
        .assert_status(200);

    // The slug is free again.
    app.create_kb("doomed").await;
}

// ---------------------------------------------------------------- shared allowed domains

#[tokio::test]
async fn shared_allowed_domains_reflect_the_project() {
    let app = TestApp::new().await;
    let kb = app.create_kb("domains").await;
    assert_eq!(kb["shared_allowed_domains"], json!([]));
    let id = str_of(&kb, "id");

    let r = app
        .put(
            "/v1/project",
            json!({ "allowed_domains": ["studbook.farm", "www.studbook.farm"] }),
        )
        .await;
    r.assert_status(200);

    let r = app.get(&format!("/v1/kb/{id}")).await;
    assert_eq!(
        r.data()["shared_allowed_domains"],
        json!(["studbook.farm", "www.studbook.farm"])
    );
    let r = app.get("/v1/kb").await;
    assert_eq!(
        find(r.data(), id)["shared_allowed_domains"],
        json!(["studbook.farm", "www.studbook.farm"])
    );
    let r = app
        .put(&format!("/v1/kb/{id}"), json!({ "title": "x" }))
        .await;
    assert_eq!(
        r.data()["shared_allowed_domains"],
        json!(["studbook.farm", "www.studbook.farm"])
    );
    let r = app
        .post("/v1/kb", json!({ "title": "New", "slug": "new" }))
        .await;
    assert_eq!(
        r.data()["shared_allowed_domains"],
        json!(["studbook.farm", "www.studbook.farm"])
    );

    // It is read-only on the KB.
    let r = app
        .put(
            &format!("/v1/kb/{id}"),
            json!({ "shared_allowed_domains": ["evil.com"] }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "shared_allowed_domains");

    // Clearing the project list clears it on every KB.
    app.put("/v1/project", json!({ "allowed_domains": null }))
        .await
        .assert_status(200);
    let r = app.get(&format!("/v1/kb/{id}")).await;
    assert_eq!(r.data()["shared_allowed_domains"], json!([]));
}

// ---------------------------------------------------------------- site keys

#[tokio::test]
async fn get_site_key_returns_metadata_only() {
    let app = TestApp::new().await;
    let kb = app.create_kb("keyed").await;
    let id = str_of(&kb, "id");
    let plaintext = str_of(&kb, "site_key");

    let r = app.get(&format!("/v1/kb/{id}/site-key")).await;
    r.assert_status(200);
    let d = r.data();
    let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 6, "unexpected fields: {}", r.text);
    assert!(is_entity_id(&d["id"], "psk_"), "id: {}", d["id"]);
    assert_eq!(d["kb_id"], id);
    assert_eq!(d["key_prefix"], &plaintext[..12]);
    assert_eq!(d["rate_limit"], 100);
    assert!(is_timestamp(&d["created_at"]));
    assert_eq!(d["revoked_at"], Value::Null);
    assert!(!r.text.contains(plaintext), "plaintext leaked: {}", r.text);
    insta::assert_json_snapshot!("site_key_get_response", r.body, {
        ".data.id" => "[id]",
        ".data.kb_id" => "[kb_id]",
        ".data.key_prefix" => "[prefix]",
        ".data.created_at" => "[ts]",
    });
}

#[tokio::test]
async fn revoke_issues_a_new_key() {
    let app = TestApp::new().await;
    let kb = app.create_kb("rotate").await;
    let id = str_of(&kb, "id");
    let old_plain = str_of(&kb, "site_key").to_string();
    let old = app
        .get(&format!("/v1/kb/{id}/site-key"))
        .await
        .data()
        .clone();

    let r = app
        .post_empty(&format!("/v1/kb/{id}/site-key/revoke"))
        .await;
    r.assert_status(200);
    let new = r.data().clone();
    assert!(
        is_site_key(&new["site_key"]),
        "site_key: {}",
        new["site_key"]
    );
    let new_plain = str_of(&new, "site_key");
    assert_ne!(new_plain, old_plain);
    assert_eq!(new["key_prefix"], &new_plain[..12]);
    assert!(is_entity_id(&new["id"], "psk_"));
    assert_ne!(new["id"], old["id"]);
    assert_eq!(new["rate_limit"], 100);
    assert!(is_timestamp(&new["created_at"]));
    insta::assert_json_snapshot!("site_key_revoke_response", r.body, {
        ".data.id" => "[id]",
        ".data.kb_id" => "[kb_id]",
        ".data.site_key" => "[key]",
        ".data.key_prefix" => "[prefix]",
        ".data.created_at" => "[ts]",
    });

    let r = app.get(&format!("/v1/kb/{id}/site-key")).await;
    r.assert_status(200);
    assert_eq!(r.data()["id"], new["id"]);
    assert_eq!(r.data()["key_prefix"], new["key_prefix"]);
    assert_eq!(r.data()["revoked_at"], Value::Null);
    assert!(!r.text.contains(new_plain));
}

#[tokio::test]
async fn revoke_keeps_the_rate_limit() {
    let app = TestApp::new().await;
    let kb = app.create_kb("keep-rate").await;
    let id = str_of(&kb, "id");
    let r = app
        .put(
            &format!("/v1/kb/{id}/site-key"),
            json!({ "rate_limit": 250 }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["rate_limit"], 250);
    let r = app
        .post_empty(&format!("/v1/kb/{id}/site-key/revoke"))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["rate_limit"], 250);
    let r = app.get(&format!("/v1/kb/{id}/site-key")).await;
    assert_eq!(r.data()["rate_limit"], 250);
}

#[tokio::test]
async fn site_key_rate_limit_bounds() {
    let app = TestApp::new().await;
    let kb = app.create_kb("rates").await;
    let id = str_of(&kb, "id");
    let path = format!("/v1/kb/{id}/site-key");
    let before = app.get(&path).await.data().clone();

    for ok in [1, 1000, 200] {
        let r = app.put(&path, json!({ "rate_limit": ok })).await;
        r.assert_status(200);
        assert_eq!(r.data()["rate_limit"], ok);
        assert_eq!(
            r.data()["id"],
            before["id"],
            "the key itself does not change"
        );
        assert_eq!(r.data()["key_prefix"], before["key_prefix"]);
        assert_eq!(r.data()["revoked_at"], Value::Null);
        assert_eq!(app.get(&path).await.data()["rate_limit"], ok);
    }

    for bad in [
        json!({ "rate_limit": 0 }),
        json!({ "rate_limit": 1001 }),
        json!({ "rate_limit": -5 }),
        json!({ "rate_limit": "abc" }),
        json!({ "rate_limit": 2.5 }),
        json!({ "rate_limit": null }),
        json!({}),
    ] {
        let r = app.put(&path, bad.clone()).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "rate_limit", "for {bad}");
    }
    // None of the rejected values stuck.
    assert_eq!(app.get(&path).await.data()["rate_limit"], 200);
}

#[tokio::test]
async fn site_key_routes_on_unknown_kb_are_404() {
    let app = TestApp::new().await;
    app.get("/v1/kb/kb_000000000000/site-key")
        .await
        .assert_error(404, "kb_not_found");
    app.put(
        "/v1/kb/kb_000000000000/site-key",
        json!({ "rate_limit": 10 }),
    )
    .await
    .assert_error(404, "kb_not_found");
    app.post_empty("/v1/kb/kb_000000000000/site-key/revoke")
        .await
        .assert_error(404, "kb_not_found");
    app.get("/v1/kb/nonsense/site-key")
        .await
        .assert_error(404, "kb_not_found");
}

// ---------------------------------------------------------------- project

#[tokio::test]
async fn get_project_shape() {
    let app = TestApp::new().await;
    let r = app.get("/v1/project").await;
    r.assert_status(200);
    let d = r.data();
    assert_eq!(d["id"], app.project_id.as_str());
    assert_eq!(d["name"], "default");
    assert_eq!(d["allowed_domains"], json!([]));
    assert_eq!(d["credit_cap"], Value::Null);
    assert!(is_timestamp(&d["created_at"]));
    assert!(is_timestamp(&d["updated_at"]));
    insta::assert_json_snapshot!("project_get_response", r.body, {
        ".data.id" => "[id]",
        ".data.created_at" => "[ts]",
        ".data.updated_at" => "[ts]",
    });

    // The operator's cap shows up, read-only.
    app.store
        .update_project(
            &app.project_id,
            tome_core::input::ProjectPatch {
                credit_cap: Some(Some(42)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(app.get("/v1/project").await.data()["credit_cap"], 42);
    let r = app.put("/v1/project", json!({ "credit_cap": 1000 })).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "credit_cap");
    assert_eq!(app.get("/v1/project").await.data()["credit_cap"], 42);
}

#[tokio::test]
async fn put_project_normalises_allowed_domains() {
    let app = TestApp::new().await;
    let r = app
        .put(
            "/v1/project",
            json!({ "allowed_domains": ["Example.COM", "example.com", "  www.Example.com ", "localhost:5173", "WWW.example.com"] }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(
        r.data()["allowed_domains"],
        json!(["example.com", "www.example.com", "localhost:5173"])
    );
    assert_eq!(r.data()["name"], "default", "name untouched");
    let r = app.get("/v1/project").await;
    assert_eq!(
        r.data()["allowed_domains"],
        json!(["example.com", "www.example.com", "localhost:5173"])
    );

    // Renaming leaves the domains alone.
    let r = app.put("/v1/project", json!({ "name": "Renamed" })).await;
    r.assert_status(200);
    assert_eq!(r.data()["name"], "Renamed");
    assert_eq!(
        r.data()["allowed_domains"],
        json!(["example.com", "www.example.com", "localhost:5173"])
    );

    // An empty list allows everything again.
    let r = app
        .put("/v1/project", json!({ "allowed_domains": [] }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["allowed_domains"], json!([]));
}

#[tokio::test]
async fn put_project_rejects_bad_domains() {
    let app = TestApp::new().await;
    app.put("/v1/project", json!({ "allowed_domains": ["good.com"] }))
        .await
        .assert_status(200);
    for (list, field) in [
        (json!(["https://x.com"]), "allowed_domains[0]"),
        (json!(["*.x.com"]), "allowed_domains[0]"),
        (json!(["x.com/path"]), "allowed_domains[0]"),
        (json!(["ok.com", "https://x.com"]), "allowed_domains[1]"),
        (
            json!(["ok.com", "fine.org", "x.com:99999"]),
            "allowed_domains[2]",
        ),
        (json!([""]), "allowed_domains[0]"),
    ] {
        let r = app
            .put("/v1/project", json!({ "allowed_domains": list }))
            .await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), field, "for {list}");
    }
    let r = app
        .put("/v1/project", json!({ "allowed_domains": "x.com" }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "allowed_domains");
    // Nothing stuck.
    assert_eq!(
        app.get("/v1/project").await.data()["allowed_domains"],
        json!(["good.com"])
    );
}

#[tokio::test]
async fn put_project_rejects_a_blank_name() {
    let app = TestApp::new().await;
    for bad in [
        json!({ "name": "" }),
        json!({ "name": "   " }),
        json!({ "name": null }),
    ] {
        let r = app.put("/v1/project", bad.clone()).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "name", "for {bad}");
    }
    assert_eq!(app.get("/v1/project").await.data()["name"], "default");
}

// ---------------------------------------------------------------- usage

#[tokio::test]
async fn usage_shape() {
    let app = TestApp::new().await;
    let r = app.get("/v1/usage").await;
    r.assert_status(200);
    let d = r.data();
    let month = d["month"].as_str().unwrap();
    assert_eq!(month.len(), 7, "month: {month}");
    assert!(
        month.as_bytes()[4] == b'-' && month.replace('-', "").bytes().all(|b| b.is_ascii_digit())
    );
    let now = tome_core::time::now();
    assert_eq!(
        month,
        tome_core::time::month_of(&now),
        "the current UTC month"
    );
    assert_eq!(d["credits_used"], 0);
    assert_eq!(d["credit_cap"], Value::Null);
    assert_eq!(d["credits_remaining"], Value::Null);
    insta::assert_json_snapshot!("usage_get_response", r.body, { ".data.month" => "[month]" });

    app.store
        .update_project(
            &app.project_id,
            tome_core::input::ProjectPatch {
                credit_cap: Some(Some(50)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.create_kb("u").await;
    let r = app.get("/v1/usage").await;
    assert_eq!(r.data()["credits_used"], 3);
    assert_eq!(r.data()["credit_cap"], 50);
    assert_eq!(r.data()["credits_remaining"], 47);
}
