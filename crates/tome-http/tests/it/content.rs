//! Categories and sections: CRUD, ordering, partial updates, references and the cascades of the
//! spec (deleting a category deletes its content; deleting a section ungroups it; moving a
//! section moves its content).

use axum::http::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, id_of, ids, is_entity_id, is_timestamp};

/// A fresh app with one KB; returns the app and the KB's ID.
async fn app_with_kb() -> (TestApp, String) {
    let app = TestApp::new().await;
    let kb = app.create_kb("help").await;
    let kb_id = kb["id"].as_str().unwrap().to_string();
    (app, kb_id)
}

// ------------------------------------------------------------------------------- categories

#[tokio::test]
async fn create_category_returns_201_with_full_shape() {
    let (app, kb) = app_with_kb().await;
    let r = app
        .post(
            &format!("/v1/kb/{kb}/categories"),
            json!({ "name": "Getting Started", "description": "Intro to the app.", "icon": "book", "sort_order": 10 }),
        )
        .await;
    r.assert_status(201);
    let d = r.data();
    assert!(is_entity_id(&d["id"], "kbc_"), "bad id: {}", d["id"]);
    assert_eq!(d["kb_id"], kb.as_str());
    assert!(
        is_timestamp(&d["created_at"]),
        "bad created_at: {}",
        d["created_at"]
    );
    assert!(
        is_timestamp(&d["updated_at"]),
        "bad updated_at: {}",
        d["updated_at"]
    );
    insta::assert_json_snapshot!("category_created", r.body, {
        ".data.id" => "[id]",
        ".data.kb_id" => "[id]",
        ".data.created_at" => "[ts]",
        ".data.updated_at" => "[ts]",
    });
}

#[tokio::test]
async fn create_category_defaults_optional_fields() {
    let (app, kb) = app_with_kb().await;
    let r = app
        .post(
            &format!("/v1/kb/{kb}/categories"),
            json!({ "name": "Billing" }),
        )
        .await;
    r.assert_status(201);
    let d = r.data();
    assert_eq!(d["name"], "Billing");
    assert_eq!(d["description"], Value::Null);
    assert_eq!(d["icon"], Value::Null);
    assert_eq!(d["sort_order"], 0);
    // `null` on create is the same as absent.
    let r = app
        .post(
            &format!("/v1/kb/{kb}/categories"),
            json!({ "name": "Other", "icon": null, "description": null }),
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.data()["icon"], Value::Null);
}

#[tokio::test]
async fn create_category_requires_name() {
    let (app, kb) = app_with_kb().await;
    let r = app
        .post(
            &format!("/v1/kb/{kb}/categories"),
            json!({ "icon": "book" }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "name");
    let r = app
        .post(&format!("/v1/kb/{kb}/categories"), json!({ "name": "   " }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "name");
    let r = app.get(&format!("/v1/kb/{kb}/categories")).await;
    assert_eq!(r.data().as_array().unwrap().len(), 0, "nothing was created");
}

#[tokio::test]
async fn list_categories_orders_by_sort_order_then_creation() {
    let (app, kb) = app_with_kb().await;
    let mut created = Vec::new();
    for (name, sort) in [("c1", 10), ("c2", 0), ("c3", 10), ("c4", -5), ("c5", 0)] {
        let r = app
            .post(
                &format!("/v1/kb/{kb}/categories"),
                json!({ "name": name, "sort_order": sort }),
            )
            .await;
        r.assert_status(201);
        created.push(id_of(&r));
    }
    let r = app.get(&format!("/v1/kb/{kb}/categories")).await;
    r.assert_status(200);
    let expected: Vec<String> = [3, 1, 4, 0, 2]
        .iter()
        .map(|&i| created[i].clone())
        .collect();
    assert_eq!(ids(r.data()), expected);
    let names: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c4", "c2", "c5", "c1", "c3"]);
    assert_eq!(r.body["pagination"]["has_more"], false);
    assert_eq!(r.body["pagination"]["next_cursor"], Value::Null);
}

#[tokio::test]
async fn list_categories_only_shows_this_kb() {
    let (app, kb) = app_with_kb().await;
    let other = app.create_kb("other").await;
    let other_id = other["id"].as_str().unwrap();
    let mine = app.create_category(&kb, "Mine").await;
    app.create_category(other_id, "Theirs").await;
    let r = app.get(&format!("/v1/kb/{kb}/categories")).await;
    assert_eq!(ids(r.data()), vec![mine]);
}

#[tokio::test]
async fn get_category_returns_it() {
    let (app, kb) = app_with_kb().await;
    let r = app
        .post(
            &format!("/v1/kb/{kb}/categories"),
            json!({ "name": "Billing", "icon": "card", "description": "Money." }),
        )
        .await;
    let created = r.data().clone();
    let r = app
        .get(&format!(
            "/v1/kb/{kb}/categories/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    r.assert_status(200);
    assert_eq!(r.data(), &created);
}

#[tokio::test]
async fn update_category_is_partial() {
    let (app, kb) = app_with_kb().await;
    let r = app
        .post(
            &format!("/v1/kb/{kb}/categories"),
            json!({ "name": "Billing", "icon": "card", "description": "Money.", "sort_order": 3 }),
        )
        .await;
    let id = id_of(&r);
    let path = format!("/v1/kb/{kb}/categories/{id}");

    // Name only: icon, description and sort_order are kept.
    let r = app.put(&path, json!({ "name": "Payments" })).await;
    r.assert_status(200);
    assert_eq!(r.data()["name"], "Payments");
    assert_eq!(r.data()["icon"], "card");
    assert_eq!(r.data()["description"], "Money.");
    assert_eq!(r.data()["sort_order"], 3);

    // null clears a nullable field and keeps the rest.
    let r = app.put(&path, json!({ "description": null })).await;
    r.assert_status(200);
    assert_eq!(r.data()["description"], Value::Null);
    assert_eq!(r.data()["icon"], "card");
    assert_eq!(r.data()["name"], "Payments");

    let r = app
        .put(&path, json!({ "icon": null, "sort_order": -1 }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["icon"], Value::Null);
    assert_eq!(r.data()["sort_order"], -1);

    // null on a required field is a 422 and changes nothing.
    let r = app.put(&path, json!({ "name": null })).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "name");
    let r = app.put(&path, json!({ "name": "" })).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "name");

    let r = app.get(&path).await;
    r.assert_status(200);
    assert_eq!(r.data()["name"], "Payments");
    assert_eq!(r.data()["description"], Value::Null);
    assert_eq!(r.data()["icon"], Value::Null);
    assert_eq!(r.data()["sort_order"], -1);
}

#[tokio::test]
async fn delete_category_returns_204_and_it_is_gone() {
    let (app, kb) = app_with_kb().await;
    let id = app.create_category(&kb, "Billing").await;
    let keep = app.create_category(&kb, "Other").await;
    let r = app.delete(&format!("/v1/kb/{kb}/categories/{id}")).await;
    r.assert_status(204);
    assert!(r.text.is_empty(), "204 has no body: {:?}", r.text);
    app.get(&format!("/v1/kb/{kb}/categories/{id}"))
        .await
        .assert_error(404, "category_not_found");
    app.delete(&format!("/v1/kb/{kb}/categories/{id}"))
        .await
        .assert_error(404, "category_not_found");
    let r = app.get(&format!("/v1/kb/{kb}/categories")).await;
    assert_eq!(ids(r.data()), vec![keep]);
}

#[tokio::test]
async fn unknown_category_is_404_on_get_put_delete() {
    let (app, kb) = app_with_kb().await;
    for id in ["kbc_000000000000", "nope"] {
        let path = format!("/v1/kb/{kb}/categories/{id}");
        app.get(&path).await.assert_error(404, "category_not_found");
        app.put(&path, json!({ "name": "X" }))
            .await
            .assert_error(404, "category_not_found");
        app.delete(&path)
            .await
            .assert_error(404, "category_not_found");
    }
    // A category of another KB is not found through this KB.
    let other = app.create_kb("other").await;
    let foreign = app
        .create_category(other["id"].as_str().unwrap(), "Theirs")
        .await;
    let path = format!("/v1/kb/{kb}/categories/{foreign}");
    app.get(&path).await.assert_error(404, "category_not_found");
    app.put(&path, json!({ "name": "Mine now" }))
        .await
        .assert_error(404, "category_not_found");
    app.delete(&path)
        .await
        .assert_error(404, "category_not_found");
    let r = app
        .get(&format!(
            "/v1/kb/{}/categories/{foreign}",
            other["id"].as_str().unwrap()
        ))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["name"], "Theirs");
}

#[tokio::test]
async fn unknown_kb_is_404_for_categories_and_sections() {
    let (app, kb) = app_with_kb().await;
    let cat = app.create_category(&kb, "C").await;
    let sec = app.create_section(&kb, &cat, "S").await;
    for missing in ["kb_000000000000", "nope"] {
        app.get(&format!("/v1/kb/{missing}/categories"))
            .await
            .assert_error(404, "kb_not_found");
        app.post(
            &format!("/v1/kb/{missing}/categories"),
            json!({ "name": "X" }),
        )
        .await
        .assert_error(404, "kb_not_found");
        app.get(&format!("/v1/kb/{missing}/categories/{cat}"))
            .await
            .assert_error(404, "kb_not_found");
        app.put(
            &format!("/v1/kb/{missing}/categories/{cat}"),
            json!({ "name": "X" }),
        )
        .await
        .assert_error(404, "kb_not_found");
        app.delete(&format!("/v1/kb/{missing}/categories/{cat}"))
            .await
            .assert_error(404, "kb_not_found");
        app.get(&format!("/v1/kb/{missing}/sections"))
            .await
            .assert_error(404, "kb_not_found");
        app.post(
            &format!("/v1/kb/{missing}/sections"),
            json!({ "category_id": cat, "name": "X" }),
        )
        .await
        .assert_error(404, "kb_not_found");
        app.get(&format!("/v1/kb/{missing}/sections/{sec}"))
            .await
            .assert_error(404, "kb_not_found");
        app.put(
            &format!("/v1/kb/{missing}/sections/{sec}"),
            json!({ "name": "X" }),
        )
        .await
        .assert_error(404, "kb_not_found");
        app.delete(&format!("/v1/kb/{missing}/sections/{sec}"))
            .await
            .assert_error(404, "kb_not_found");
    }
    // Everything is still there.
    app.get(&format!("/v1/kb/{kb}/categories/{cat}"))
        .await
        .assert_status(200);
    app.get(&format!("/v1/kb/{kb}/sections/{sec}"))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn another_projects_kb_is_invisible() {
    let (app, kb) = app_with_kb().await;
    let cat = app.create_category(&kb, "Mine").await;
    let (_, other_key) = app.new_project("other").await;
    let k = Some(other_key.as_str());
    app.call(Method::GET, &format!("/v1/kb/{kb}/categories"), k, None)
        .await
        .assert_error(404, "kb_not_found");
    app.call(
        Method::GET,
        &format!("/v1/kb/{kb}/categories/{cat}"),
        k,
        None,
    )
    .await
    .assert_error(404, "kb_not_found");
    app.call(
        Method::POST,
        &format!("/v1/kb/{kb}/categories"),
        k,
        Some(json!({ "name": "Intruder" })),
    )
    .await
    .assert_error(404, "kb_not_found");
    app.call(
        Method::PUT,
        &format!("/v1/kb/{kb}/categories/{cat}"),
        k,
        Some(json!({ "name": "Hacked" })),
    )
    .await
    .assert_error(404, "kb_not_found");
    app.call(
        Method::DELETE,
        &format!("/v1/kb/{kb}/categories/{cat}"),
        k,
        None,
    )
    .await
    .assert_error(404, "kb_not_found");
    app.call(Method::GET, &format!("/v1/kb/{kb}/sections"), k, None)
        .await
        .assert_error(404, "kb_not_found");
    let r = app.get(&format!("/v1/kb/{kb}/categories")).await;
    assert_eq!(ids(r.data()), vec![cat]);
    assert_eq!(r.data()[0]["name"], "Mine");
}

// --------------------------------------------------------------------------------- sections

#[tokio::test]
async fn create_section_returns_201_with_full_shape() {
    let (app, kb) = app_with_kb().await;
    let cat = app.create_category(&kb, "Getting Started").await;
    let r = app
        .post(
            &format!("/v1/kb/{kb}/sections"),
            json!({ "category_id": cat, "name": "Your First Animal", "description": "Step-by-step.", "sort_order": 10 }),
        )
        .await;
    r.assert_status(201);
    let d = r.data();
    assert!(is_entity_id(&d["id"], "kbs_"), "bad id: {}", d["id"]);
    assert_eq!(d["kb_id"], kb.as_str());
    assert_eq!(d["category_id"], cat.as_str());
    assert!(is_timestamp(&d["created_at"]));
    assert!(is_timestamp(&d["updated_at"]));
    insta::assert_json_snapshot!("section_created", r.body, {
        ".data.id" => "[id]",
        ".data.kb_id" => "[id]",
        ".data.category_id" => "[id]",
        ".data.created_at" => "[ts]",
        ".data.updated_at" => "[ts]",
    });
}

#[tokio::test]
async fn create_section_validates_category_id() {
    let (app, kb) = app_with_kb().await;
    let other = app.create_kb("other").await;
    let foreign = app
        .create_category(other["id"].as_str().unwrap(), "Theirs")
        .await;
    let path = format!("/v1/kb/{kb}/sections");

    let r = app.post(&path, json!({ "name": "S" })).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "category_id");
    let r = app
        .post(&path, json!({ "name": "S", "category_id": null }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "category_id");
    // A category of another KB is a reference that does not resolve: 422, not 404.
    let r = app
        .post(&path, json!({ "name": "S", "category_id": foreign }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "category_id");
    let r = app
        .post(
            &path,
            json!({ "name": "S", "category_id": "kbc_000000000000" }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "category_id");
    let r = app
        .post(&path, json!({ "name": "S", "category_id": "not-an-id" }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "category_id");

    let cat = app.create_category(&kb, "Mine").await;
    let r = app.post(&path, json!({ "category_id": cat })).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "name");

    let r = app.get(&path).await;
    assert_eq!(
        r.data().as_array().unwrap().len(),
        0,
        "no section was created"
    );
}

#[tokio::test]
async fn list_sections_filters_by_category() {
    let (app, kb) = app_with_kb().await;
    let a = app.create_category(&kb, "A").await;
    let b = app.create_category(&kb, "B").await;
    let a1 = app.create_section(&kb, &a, "a1").await;
    let b1 = app.create_section(&kb, &b, "b1").await;
    let a2 = app.create_section(&kb, &a, "a2").await;
    let r = app
        .post(
            &format!("/v1/kb/{kb}/sections"),
            json!({ "category_id": a, "name": "a0", "sort_order": -1 }),
        )
        .await;
    let a0 = id_of(&r);

    let r = app.get(&format!("/v1/kb/{kb}/sections")).await;
    r.assert_status(200);
    assert_eq!(
        ids(r.data()),
        vec![a0.clone(), a1.clone(), b1.clone(), a2.clone()]
    );

    let r = app
        .get(&format!("/v1/kb/{kb}/sections?category_id={a}"))
        .await;
    r.assert_status(200);
    assert_eq!(ids(r.data()), vec![a0, a1, a2]);
    assert!(
        r.data()
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["category_id"] == a.as_str())
    );

    let r = app
        .get(&format!("/v1/kb/{kb}/sections?category_id={b}"))
        .await;
    assert_eq!(ids(r.data()), vec![b1]);

    let r = app
        .get(&format!(
            "/v1/kb/{kb}/sections?category_id=kbc_000000000000"
        ))
        .await;
    r.assert_status(200);
    assert_eq!(r.data().as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn get_update_delete_section() {
    let (app, kb) = app_with_kb().await;
    let cat = app.create_category(&kb, "C").await;
    let r = app
        .post(
            &format!("/v1/kb/{kb}/sections"),
            json!({ "category_id": cat, "name": "First", "description": "Desc", "sort_order": 4 }),
        )
        .await;
    let created = r.data().clone();
    let id = id_of(&r);
    let path = format!("/v1/kb/{kb}/sections/{id}");

    let r = app.get(&path).await;
    r.assert_status(200);
    assert_eq!(r.data(), &created);

    let r = app.put(&path, json!({ "name": "Renamed" })).await;
    r.assert_status(200);
    assert_eq!(r.data()["name"], "Renamed");
    assert_eq!(r.data()["description"], "Desc");
    assert_eq!(r.data()["sort_order"], 4);
    assert_eq!(r.data()["category_id"], cat.as_str());

    let r = app.put(&path, json!({ "description": null })).await;
    r.assert_status(200);
    assert_eq!(r.data()["description"], Value::Null);
    assert_eq!(r.data()["name"], "Renamed");

    let r = app.put(&path, json!({ "name": null })).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "name");
    let r = app.put(&path, json!({ "category_id": null })).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "category_id");

    let r = app.get(&path).await;
    assert_eq!(r.data()["name"], "Renamed");
    assert_eq!(r.data()["description"], Value::Null);

    let r = app.delete(&path).await;
    r.assert_status(204);
    assert!(r.text.is_empty());
    app.get(&path).await.assert_error(404, "section_not_found");
    app.delete(&path)
        .await
        .assert_error(404, "section_not_found");
    // The category is untouched.
    app.get(&format!("/v1/kb/{kb}/categories/{cat}"))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn unknown_section_is_404_on_get_put_delete() {
    let (app, kb) = app_with_kb().await;
    let other = app.create_kb("other").await;
    let other_id = other["id"].as_str().unwrap();
    let other_cat = app.create_category(other_id, "Theirs").await;
    let foreign = app.create_section(other_id, &other_cat, "Theirs").await;
    for id in ["kbs_000000000000", "nope", foreign.as_str()] {
        let path = format!("/v1/kb/{kb}/sections/{id}");
        app.get(&path).await.assert_error(404, "section_not_found");
        app.put(&path, json!({ "name": "X" }))
            .await
            .assert_error(404, "section_not_found");
        app.delete(&path)
            .await
            .assert_error(404, "section_not_found");
    }
    let r = app
        .get(&format!("/v1/kb/{other_id}/sections/{foreign}"))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["name"], "Theirs");
}

// --------------------------------------------------------------------------------- cascades

/// A category with a section and content inside and outside the section.
struct Tree {
    category: String,
    section: String,
    article_in_section: String,
    article_top: String,
    faq_in_section: String,
    faq_top: String,
}

async fn tree(app: &TestApp, kb: &str, name: &str) -> Tree {
    let category = app.create_category(kb, name).await;
    let section = app
        .create_section(kb, &category, &format!("{name} section"))
        .await;
    let article_in_section = app
        .create_article(
            kb,
            &category,
            json!({ "section_id": section, "title": format!("{name} grouped") }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let article_top = app
        .create_article(kb, &category, json!({ "title": format!("{name} top") }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let faq_in_section = app
        .create_faq(
            kb,
            &category,
            json!({ "section_id": section, "question": format!("{name} grouped?") }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let faq_top = app
        .create_faq(kb, &category, json!({ "question": format!("{name} top?") }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    Tree {
        category,
        section,
        article_in_section,
        article_top,
        faq_in_section,
        faq_top,
    }
}

#[tokio::test]
async fn deleting_a_category_deletes_its_sections_articles_and_faqs_only() {
    let (app, kb) = app_with_kb().await;
    let a = tree(&app, &kb, "A").await;
    let b = tree(&app, &kb, "B").await;
    // B's article refers to A's; the reference is dropped with the article.
    let r = app
        .put(
            &format!("/v1/kb/{kb}/articles/{}", b.article_top),
            json!({ "related_articles": [a.article_top, b.article_in_section] }),
        )
        .await;
    r.assert_status(200);

    app.delete(&format!("/v1/kb/{kb}/categories/{}", a.category))
        .await
        .assert_status(204);

    app.get(&format!("/v1/kb/{kb}/categories/{}", a.category))
        .await
        .assert_error(404, "category_not_found");
    app.get(&format!("/v1/kb/{kb}/sections/{}", a.section))
        .await
        .assert_error(404, "section_not_found");
    for art in [&a.article_in_section, &a.article_top] {
        app.get(&format!("/v1/kb/{kb}/articles/{art}"))
            .await
            .assert_error(404, "article_not_found");
    }
    for faq in [&a.faq_in_section, &a.faq_top] {
        app.get(&format!("/v1/kb/{kb}/faqs/{faq}"))
            .await
            .assert_error(404, "faq_not_found");
    }

    // B is intact, in place.
    let r = app
        .get(&format!("/v1/kb/{kb}/categories/{}", b.category))
        .await;
    r.assert_status(200);
    let r = app
        .get(&format!("/v1/kb/{kb}/sections/{}", b.section))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["category_id"], b.category.as_str());
    let r = app
        .get(&format!("/v1/kb/{kb}/articles/{}", b.article_in_section))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["section_id"], b.section.as_str());
    let r = app
        .get(&format!("/v1/kb/{kb}/articles/{}", b.article_top))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["section_id"], Value::Null);
    assert_eq!(r.data()["related_articles"], json!([b.article_in_section]));
    let r = app
        .get(&format!("/v1/kb/{kb}/faqs/{}", b.faq_in_section))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["section_id"], b.section.as_str());
    app.get(&format!("/v1/kb/{kb}/faqs/{}", b.faq_top))
        .await
        .assert_status(200);

    // Lists agree.
    let r = app.get(&format!("/v1/kb/{kb}/sections")).await;
    assert_eq!(ids(r.data()), vec![b.section.clone()]);
    let r = app.get(&format!("/v1/kb/{kb}/articles")).await;
    assert_eq!(
        ids(r.data()),
        vec![b.article_in_section.clone(), b.article_top.clone()]
    );
    let r = app.get(&format!("/v1/kb/{kb}/faqs")).await;
    assert_eq!(
        ids(r.data()),
        vec![b.faq_in_section.clone(), b.faq_top.clone()]
    );
    let r = app.get("/v1/kb").await;
    let counts = &r.data()[0];
    assert_eq!(counts["category_count"], 1);
    assert_eq!(counts["section_count"], 1);
    assert_eq!(counts["article_count"], 2);
    assert_eq!(counts["faq_count"], 2);
}

#[tokio::test]
async fn deleting_a_section_keeps_its_content_in_the_category() {
    let (app, kb) = app_with_kb().await;
    let a = tree(&app, &kb, "A").await;
    let other_section = app.create_section(&kb, &a.category, "Other").await;
    let other_article = app
        .create_article(&kb, &a.category, json!({ "section_id": other_section }))
        .await;
    let other_article = other_article["id"].as_str().unwrap();

    app.delete(&format!("/v1/kb/{kb}/sections/{}", a.section))
        .await
        .assert_status(204);
    app.get(&format!("/v1/kb/{kb}/sections/{}", a.section))
        .await
        .assert_error(404, "section_not_found");

    let r = app
        .get(&format!("/v1/kb/{kb}/articles/{}", a.article_in_section))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["section_id"], Value::Null);
    assert_eq!(r.data()["category_id"], a.category.as_str());
    assert_eq!(r.data()["title"], "A grouped");
    let r = app
        .get(&format!("/v1/kb/{kb}/faqs/{}", a.faq_in_section))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["section_id"], Value::Null);
    assert_eq!(r.data()["category_id"], a.category.as_str());

    // Content of other sections and the category level is untouched.
    let r = app
        .get(&format!("/v1/kb/{kb}/articles/{other_article}"))
        .await;
    assert_eq!(r.data()["section_id"], other_section.as_str());
    app.get(&format!("/v1/kb/{kb}/articles/{}", a.article_top))
        .await
        .assert_status(200);
    app.get(&format!("/v1/kb/{kb}/faqs/{}", a.faq_top))
        .await
        .assert_status(200);

    // The formerly grouped content now lists as category-level.
    let r = app
        .get(&format!("/v1/kb/{kb}/articles?section_id=null"))
        .await;
    assert_eq!(
        ids(r.data()),
        vec![a.article_in_section.clone(), a.article_top.clone()]
    );
    let r = app.get(&format!("/v1/kb/{kb}/faqs?section_id=null")).await;
    assert_eq!(
        ids(r.data()),
        vec![a.faq_in_section.clone(), a.faq_top.clone()]
    );
}

#[tokio::test]
async fn moving_a_section_moves_its_articles_and_faqs() {
    let (app, kb) = app_with_kb().await;
    let a = tree(&app, &kb, "A").await;
    let b = app.create_category(&kb, "B").await;

    let r = app
        .put(
            &format!("/v1/kb/{kb}/sections/{}", a.section),
            json!({ "category_id": b }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["category_id"], b.as_str());
    assert_eq!(r.data()["name"], "A section");

    let r = app
        .get(&format!("/v1/kb/{kb}/sections/{}", a.section))
        .await;
    assert_eq!(r.data()["category_id"], b.as_str());
    let r = app
        .get(&format!("/v1/kb/{kb}/articles/{}", a.article_in_section))
        .await;
    assert_eq!(r.data()["category_id"], b.as_str());
    assert_eq!(r.data()["section_id"], a.section.as_str());
    let r = app
        .get(&format!("/v1/kb/{kb}/faqs/{}", a.faq_in_section))
        .await;
    assert_eq!(r.data()["category_id"], b.as_str());
    assert_eq!(r.data()["section_id"], a.section.as_str());

    // Category-level content stays where it was.
    let r = app
        .get(&format!("/v1/kb/{kb}/articles/{}", a.article_top))
        .await;
    assert_eq!(r.data()["category_id"], a.category.as_str());
    let r = app.get(&format!("/v1/kb/{kb}/faqs/{}", a.faq_top)).await;
    assert_eq!(r.data()["category_id"], a.category.as_str());

    // Filters see the move.
    let r = app
        .get(&format!("/v1/kb/{kb}/articles?category_id={b}"))
        .await;
    assert_eq!(ids(r.data()), vec![a.article_in_section.clone()]);
    let r = app.get(&format!("/v1/kb/{kb}/faqs?category_id={b}")).await;
    assert_eq!(ids(r.data()), vec![a.faq_in_section.clone()]);
    let r = app
        .get(&format!("/v1/kb/{kb}/sections?category_id={}", a.category))
        .await;
    assert_eq!(r.data().as_array().unwrap().len(), 0);

    // Deleting the old category no longer touches the moved content.
    app.delete(&format!("/v1/kb/{kb}/categories/{}", a.category))
        .await
        .assert_status(204);
    app.get(&format!("/v1/kb/{kb}/sections/{}", a.section))
        .await
        .assert_status(200);
    app.get(&format!("/v1/kb/{kb}/articles/{}", a.article_in_section))
        .await
        .assert_status(200);
    app.get(&format!("/v1/kb/{kb}/faqs/{}", a.faq_in_section))
        .await
        .assert_status(200);
    app.get(&format!("/v1/kb/{kb}/articles/{}", a.article_top))
        .await
        .assert_error(404, "article_not_found");
}

#[tokio::test]
async fn moving_a_section_to_a_category_of_another_kb_is_rejected() {
    let (app, kb) = app_with_kb().await;
    let a = tree(&app, &kb, "A").await;
    let other = app.create_kb("other").await;
    let foreign = app
        .create_category(other["id"].as_str().unwrap(), "Theirs")
        .await;
    for target in [foreign.as_str(), "kbc_000000000000"] {
        let r = app
            .put(
                &format!("/v1/kb/{kb}/sections/{}", a.section),
                json!({ "category_id": target }),
            )
            .await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "category_id");
    }
    let r = app
        .get(&format!("/v1/kb/{kb}/sections/{}", a.section))
        .await;
    assert_eq!(r.data()["category_id"], a.category.as_str());
    let r = app
        .get(&format!("/v1/kb/{kb}/articles/{}", a.article_in_section))
        .await;
    assert_eq!(r.data()["category_id"], a.category.as_str());
    let r = app
        .get(&format!("/v1/kb/{kb}/faqs/{}", a.faq_in_section))
        .await;
    assert_eq!(r.data()["category_id"], a.category.as_str());
}
