//! Articles (CRUD, filters, publish/archive, references, bulk) and FAQs.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{TestApp, id_of, ids, is_timestamp};

struct Fixture {
    app: TestApp,
    kb: String,
    cat: String,
}

impl Fixture {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let kb = app.create_kb("help").await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let cat = app.create_category(&kb, "Getting Started").await;
        Fixture { app, kb, cat }
    }

    fn path(&self, rest: &str) -> String {
        format!("/v1/kb/{}/{rest}", self.kb)
    }

    /// Creates an article in the fixture's category and returns its ID.
    async fn article(&self, extra: Value) -> String {
        self.app.create_article(&self.kb, &self.cat, extra).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn get_article(&self, id: &str) -> Value {
        let r = self.app.get(&self.path(&format!("articles/{id}"))).await;
        r.assert_status(200);
        r.data().clone()
    }

    /// IDs of `GET articles?{query}` (one page of up to 100).
    async fn list_ids(&self, query: &str) -> Vec<String> {
        let sep = if query.is_empty() { "" } else { "&" };
        let r = self
            .app
            .get(&self.path(&format!("articles?limit=100{sep}{query}")))
            .await;
        r.assert_status(200);
        ids(r.data())
    }

    async fn faq_ids(&self, query: &str) -> Vec<String> {
        let sep = if query.is_empty() { "" } else { "&" };
        let r = self
            .app
            .get(&self.path(&format!("faqs?limit=100{sep}{query}")))
            .await;
        r.assert_status(200);
        ids(r.data())
    }

    async fn usage(&self) -> Value {
        let r = self.app.get("/v1/usage").await;
        r.assert_status(200);
        r.data().clone()
    }
}

/// Timestamps have one-second resolution; wait long enough for the next one to differ.
async fn next_second() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

fn article_count_credits(usage: &Value) -> (i64, i64) {
    usage["by_action"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["action"] == "article_created")
        .map_or((0, 0), |l| {
            (l["count"].as_i64().unwrap(), l["credits"].as_i64().unwrap())
        })
}

// ------------------------------------------------------------------------------- create/get

#[tokio::test]
async fn create_article_returns_201_with_full_shape() {
    let f = Fixture::new().await;
    let section = f.app.create_section(&f.kb, &f.cat, "First Animal").await;
    let other = f.article(json!({ "title": "CSV Import" })).await;
    let r = f
        .app
        .post(
            &f.path("articles"),
            json!({
                "category_id": f.cat,
                "section_id": section,
                "title": "How to register a new animal",
                "body": "# Registering a New Animal\n\nStep one.",
                "excerpt": "Step-by-step guide.",
                "tags": ["animals", "getting-started"],
                "related_articles": [other],
            }),
        )
        .await;
    r.assert_status(201);
    let d = r.data();
    assert!(d["id"].as_str().unwrap().starts_with("kba_"));
    assert_eq!(d["id"].as_str().unwrap().len(), 16);
    assert_eq!(d["kb_id"], f.kb.as_str());
    assert_eq!(d["category_id"], f.cat.as_str());
    assert_eq!(d["section_id"], section.as_str());
    assert_eq!(d["related_articles"], json!([other]));
    assert_eq!(d["status"], "draft", "draft is the default");
    assert_eq!(d["published_at"], Value::Null);
    assert!(is_timestamp(&d["created_at"]));
    assert!(is_timestamp(&d["updated_at"]));
    insta::assert_json_snapshot!("article_created", r.body, {
        ".data.id" => "[id]",
        ".data.kb_id" => "[id]",
        ".data.category_id" => "[id]",
        ".data.section_id" => "[id]",
        ".data.related_articles[0]" => "[id]",
        ".data.created_at" => "[ts]",
        ".data.updated_at" => "[ts]",
    });

    // GET returns the same article, body included.
    let got = f.get_article(d["id"].as_str().unwrap()).await;
    assert_eq!(&got, d);
}

#[tokio::test]
async fn create_article_with_minimal_fields_has_defaults() {
    let f = Fixture::new().await;
    let r = f
        .app
        .post(
            &f.path("articles"),
            json!({ "category_id": f.cat, "title": "Bare" }),
        )
        .await;
    r.assert_status(201);
    let d = r.data();
    assert_eq!(d["section_id"], Value::Null);
    assert_eq!(d["body"], "");
    assert_eq!(d["excerpt"], Value::Null);
    assert_eq!(d["tags"], json!([]));
    assert_eq!(d["related_articles"], json!([]));
    assert_eq!(d["sort_order"], 0);
    assert_eq!(d["status"], "draft");
}

#[tokio::test]
async fn create_article_validates_required_fields() {
    let f = Fixture::new().await;
    let r = f
        .app
        .post(&f.path("articles"), json!({ "title": "No category" }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "category_id");
    let r = f
        .app
        .post(&f.path("articles"), json!({ "category_id": f.cat }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "title");
    let r = f
        .app
        .post(
            &f.path("articles"),
            json!({ "category_id": f.cat, "title": "T", "status": "live" }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "status");
    let r = f
        .app
        .post(
            &f.path("articles"),
            json!({ "category_id": "kbc_000000000000", "title": "T" }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "category_id");
    assert!(f.list_ids("").await.is_empty());
}

#[tokio::test]
async fn creating_a_published_article_stamps_published_at() {
    let f = Fixture::new().await;
    let r = f
        .app
        .post(
            &f.path("articles"),
            json!({ "category_id": f.cat, "title": "Live", "status": "published" }),
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.data()["status"], "published");
    assert!(
        is_timestamp(&r.data()["published_at"]),
        "published_at: {}",
        r.data()["published_at"]
    );
    assert_eq!(r.data()["published_at"], r.data()["created_at"]);

    let r = f
        .app
        .post(
            &f.path("articles"),
            json!({ "category_id": f.cat, "title": "Old", "status": "archived" }),
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.data()["status"], "archived");
    assert_eq!(r.data()["published_at"], Value::Null);
}

#[tokio::test]
async fn list_omits_body_but_get_includes_it() {
    let f = Fixture::new().await;
    let id = f
        .article(json!({ "title": "With body", "body": "The full text.", "excerpt": "Short." }))
        .await;
    let r = f.app.get(&f.path("articles")).await;
    r.assert_status(200);
    let items = r.data().as_array().unwrap();
    assert_eq!(items.len(), 1);
    let item = items[0].as_object().unwrap();
    assert!(
        !item.contains_key("body"),
        "list items must not carry a body key: {item:?}"
    );
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["title"], "With body");
    assert_eq!(item["excerpt"], "Short.");
    for key in [
        "tags",
        "related_articles",
        "status",
        "published_at",
        "category_id",
        "section_id",
    ] {
        assert!(item.contains_key(key), "list item lacks {key}");
    }
    let got = f.get_article(&id).await;
    assert_eq!(got["body"], "The full text.");
}

#[tokio::test]
async fn unknown_article_is_404() {
    let f = Fixture::new().await;
    for id in ["kba_000000000000", "nope"] {
        let path = f.path(&format!("articles/{id}"));
        f.app
            .get(&path)
            .await
            .assert_error(404, "article_not_found");
        f.app
            .put(&path, json!({ "title": "X" }))
            .await
            .assert_error(404, "article_not_found");
        f.app
            .delete(&path)
            .await
            .assert_error(404, "article_not_found");
        f.app
            .post_empty(&format!("{path}/publish"))
            .await
            .assert_error(404, "article_not_found");
        f.app
            .post_empty(&format!("{path}/archive"))
            .await
            .assert_error(404, "article_not_found");
    }
    f.app
        .get("/v1/kb/kb_000000000000/articles")
        .await
        .assert_error(404, "kb_not_found");
    f.app
        .get("/v1/kb/kb_000000000000/articles/kba_000000000000")
        .await
        .assert_error(404, "kb_not_found");
}

#[tokio::test]
async fn delete_article_returns_204() {
    let f = Fixture::new().await;
    let id = f.article(json!({})).await;
    let keep = f.article(json!({})).await;
    let r = f.app.delete(&f.path(&format!("articles/{id}"))).await;
    r.assert_status(204);
    assert!(r.text.is_empty());
    f.app
        .get(&f.path(&format!("articles/{id}")))
        .await
        .assert_error(404, "article_not_found");
    assert_eq!(f.list_ids("").await, vec![keep]);
}

// ---------------------------------------------------------------------------------- filters

#[tokio::test]
async fn list_filters_by_category_section_status_and_tag() {
    let f = Fixture::new().await;
    let cat2 = f.app.create_category(&f.kb, "Billing").await;
    let sec = f.app.create_section(&f.kb, &f.cat, "S1").await;
    let sec2 = f.app.create_section(&f.kb, &f.cat, "S2").await;

    let top_draft = f
        .article(json!({ "title": "top draft", "tags": ["x", "y"] }))
        .await;
    let in_sec_pub = f
        .article(
            json!({ "title": "in sec", "section_id": sec, "status": "published", "tags": ["x"] }),
        )
        .await;
    let in_sec2_arch = f
        .article(json!({ "title": "in sec2", "section_id": sec2, "status": "archived" }))
        .await;
    let other_cat = f
        .app
        .create_article(
            &f.kb,
            &cat2,
            json!({ "title": "billing", "status": "published", "tags": ["y"] }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    assert_eq!(
        f.list_ids("").await,
        vec![
            top_draft.clone(),
            in_sec_pub.clone(),
            in_sec2_arch.clone(),
            other_cat.clone()
        ]
    );
    assert_eq!(
        f.list_ids(&format!("category_id={}", f.cat)).await,
        vec![top_draft.clone(), in_sec_pub.clone(), in_sec2_arch.clone()]
    );
    assert_eq!(
        f.list_ids(&format!("category_id={cat2}")).await,
        vec![other_cat.clone()]
    );
    assert_eq!(
        f.list_ids(&format!("section_id={sec}")).await,
        vec![in_sec_pub.clone()]
    );
    assert_eq!(
        f.list_ids(&format!("section_id={sec2}")).await,
        vec![in_sec2_arch.clone()]
    );
    // Category-level articles only, with either spelling.
    assert_eq!(
        f.list_ids("section_id=null").await,
        vec![top_draft.clone(), other_cat.clone()]
    );
    assert_eq!(
        f.list_ids("section_id=ungrouped").await,
        vec![top_draft.clone(), other_cat.clone()]
    );
    assert_eq!(
        f.list_ids(&format!("section_id=null&category_id={}", f.cat))
            .await,
        vec![top_draft.clone()]
    );

    assert_eq!(f.list_ids("status=draft").await, vec![top_draft.clone()]);
    assert_eq!(
        f.list_ids("status=published").await,
        vec![in_sec_pub.clone(), other_cat.clone()]
    );
    assert_eq!(
        f.list_ids("status=draft,published").await,
        vec![top_draft.clone(), in_sec_pub.clone(), other_cat.clone()]
    );
    assert_eq!(
        f.list_ids("status=archived,draft").await,
        vec![top_draft.clone(), in_sec2_arch.clone()]
    );
    assert_eq!(
        f.list_ids(&format!("status=published&category_id={}", f.cat))
            .await,
        vec![in_sec_pub.clone()]
    );

    assert_eq!(
        f.list_ids("tag=x").await,
        vec![top_draft.clone(), in_sec_pub.clone()]
    );
    assert_eq!(
        f.list_ids("tag=y").await,
        vec![top_draft.clone(), other_cat.clone()]
    );
    assert!(f.list_ids("tag=z").await.is_empty());
    assert_eq!(
        f.list_ids("tag=y&status=published").await,
        vec![other_cat.clone()]
    );
}

#[tokio::test]
async fn unknown_status_filter_is_422() {
    let f = Fixture::new().await;
    for q in ["status=bogus", "status=draft,bogus", "status=Published"] {
        let r = f.app.get(&f.path(&format!("articles?{q}"))).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "status", "for {q}");
        let r = f.app.get(&f.path(&format!("faqs?{q}"))).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), "status", "for faqs {q}");
    }
}

// -------------------------------------------------------------------------- publish/archive

#[tokio::test]
async fn publish_keeps_the_first_published_at_and_archive_keeps_it() {
    let f = Fixture::new().await;
    let id = f.article(json!({})).await;
    let base = f.path(&format!("articles/{id}"));

    let r = f.app.post_empty(&format!("{base}/publish")).await;
    r.assert_status(200);
    assert_eq!(r.data()["status"], "published");
    let stamp = r.data()["published_at"].clone();
    assert!(is_timestamp(&stamp), "published_at: {stamp}");
    assert!(
        r.data()["body"].is_string(),
        "publish returns the full article"
    );

    // Publishing an already published article keeps the original stamp.
    next_second().await;
    let r = f.app.post_empty(&format!("{base}/publish")).await;
    r.assert_status(200);
    assert_eq!(r.data()["status"], "published");
    assert_eq!(
        r.data()["published_at"],
        stamp,
        "re-publishing keeps the original stamp"
    );
    assert_ne!(r.data()["updated_at"], stamp, "updated_at moves on");

    next_second().await;
    let r = f.app.post_empty(&format!("{base}/archive")).await;
    r.assert_status(200);
    assert_eq!(r.data()["status"], "archived");
    assert_eq!(
        r.data()["published_at"],
        stamp,
        "archiving keeps published_at"
    );
    let got = f.get_article(&id).await;
    assert_eq!(got["status"], "archived");
    assert_eq!(got["published_at"], stamp);

    // Archived content that becomes published again is stamped anew
    // (docs/api-decisions.md: "stamped when content becomes published").
    next_second().await;
    let r = f.app.post_empty(&format!("{base}/publish")).await;
    r.assert_status(200);
    assert_eq!(r.data()["status"], "published");
    let restamp = r.data()["published_at"].as_str().unwrap().to_string();
    assert!(
        restamp.as_str() > stamp.as_str().unwrap(),
        "{restamp} vs {stamp}"
    );
}

#[tokio::test]
async fn put_status_published_stamps_published_at() {
    let f = Fixture::new().await;
    let id = f.article(json!({})).await;
    let path = f.path(&format!("articles/{id}"));
    let r = f.app.put(&path, json!({ "status": "published" })).await;
    r.assert_status(200);
    assert_eq!(r.data()["status"], "published");
    let stamp = r.data()["published_at"].clone();
    assert!(is_timestamp(&stamp));

    next_second().await;
    let r = f
        .app
        .put(&path, json!({ "status": "published", "title": "Again" }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["published_at"], stamp);
    let r = f.app.put(&path, json!({ "status": "draft" })).await;
    r.assert_status(200);
    assert_eq!(r.data()["status"], "draft");
}

// ------------------------------------------------------------------------------------ update

#[tokio::test]
async fn put_is_a_partial_update() {
    let f = Fixture::new().await;
    let id = f
        .article(json!({ "title": "Original", "body": "Body.", "excerpt": "Ex.", "tags": ["a"], "sort_order": 5 }))
        .await;
    let path = f.path(&format!("articles/{id}"));

    let r = f.app.put(&path, json!({ "title": "Renamed" })).await;
    r.assert_status(200);
    let d = r.data();
    assert_eq!(d["title"], "Renamed");
    assert_eq!(d["body"], "Body.");
    assert_eq!(d["excerpt"], "Ex.");
    assert_eq!(d["tags"], json!(["a"]));
    assert_eq!(d["sort_order"], 5);
    assert_eq!(d["status"], "draft");
    assert_eq!(d["category_id"], f.cat.as_str());

    let r = f
        .app
        .put(
            &path,
            json!({ "excerpt": null, "tags": ["b", "c"], "body": "New body." }),
        )
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["excerpt"], Value::Null);
    assert_eq!(r.data()["tags"], json!(["b", "c"]));
    assert_eq!(r.data()["body"], "New body.");
    assert_eq!(r.data()["title"], "Renamed");

    for field in ["title", "category_id", "status", "body"] {
        let r = f.app.put(&path, json!({ field: null })).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), field);
    }
    let r = f.app.put(&path, json!({ "title": "  " })).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "title");
    let r = f.app.put(&path, json!({ "id": "kba_000000000000" })).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "id");

    let got = f.get_article(&id).await;
    assert_eq!(got["title"], "Renamed");
    assert_eq!(got["body"], "New body.");
    assert_eq!(got["excerpt"], Value::Null);
}

#[tokio::test]
async fn section_of_another_category_is_422() {
    let f = Fixture::new().await;
    let cat2 = f.app.create_category(&f.kb, "Other").await;
    let foreign_section = f.app.create_section(&f.kb, &cat2, "Theirs").await;
    let r = f
        .app
        .post(
            &f.path("articles"),
            json!({ "category_id": f.cat, "title": "T", "section_id": foreign_section }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "section_id");
    let r = f
        .app
        .post(
            &f.path("articles"),
            json!({ "category_id": f.cat, "title": "T", "section_id": "kbs_000000000000" }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "section_id");
    assert!(f.list_ids("").await.is_empty());

    let id = f.article(json!({})).await;
    let r = f
        .app
        .put(
            &f.path(&format!("articles/{id}")),
            json!({ "section_id": foreign_section }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "section_id");
    assert_eq!(f.get_article(&id).await["section_id"], Value::Null);
}

#[tokio::test]
async fn related_articles_must_be_other_articles_of_this_kb() {
    let f = Fixture::new().await;
    let other_kb = f.app.create_kb("other").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other_cat = f.app.create_category(&other_kb, "Theirs").await;
    let foreign = f.app.create_article(&other_kb, &other_cat, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mine = f.article(json!({ "title": "Mine" })).await;

    let r = f
        .app
        .post(
            &f.path("articles"),
            json!({ "category_id": f.cat, "title": "T", "related_articles": [foreign] }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "related_articles[0]");
    let r = f
        .app
        .post(
            &f.path("articles"),
            json!({ "category_id": f.cat, "title": "T", "related_articles": [mine, "kba_000000000000"] }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "related_articles[1]");
    let r = f
        .app
        .post(
            &f.path("articles"),
            json!({ "category_id": f.cat, "title": "T", "related_articles": ["not-an-id"] }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "related_articles[0]");
    assert_eq!(f.list_ids("").await, vec![mine.clone()]);

    // Self-reference on update.
    let r = f
        .app
        .put(
            &f.path(&format!("articles/{mine}")),
            json!({ "related_articles": [mine] }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "related_articles[0]");
    let r = f
        .app
        .put(
            &f.path(&format!("articles/{mine}")),
            json!({ "related_articles": [foreign] }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "related_articles[0]");
    assert_eq!(f.get_article(&mine).await["related_articles"], json!([]));

    // Valid references are kept in order, duplicates dropped.
    let second = f.article(json!({ "title": "Second" })).await;
    let r = f
        .app
        .post(
            &f.path("articles"),
            json!({ "category_id": f.cat, "title": "T", "related_articles": [second, mine, second] }),
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.data()["related_articles"], json!([second, mine]));
}

#[tokio::test]
async fn deleting_an_article_removes_it_from_related_lists() {
    let f = Fixture::new().await;
    let a = f.article(json!({ "title": "A" })).await;
    let b = f.article(json!({ "title": "B" })).await;
    let c = f
        .article(json!({ "title": "C", "related_articles": [a, b] }))
        .await;
    let d = f
        .article(json!({ "title": "D", "related_articles": [b] }))
        .await;
    let e = f
        .article(json!({ "title": "E", "related_articles": [a] }))
        .await;

    f.app
        .delete(&f.path(&format!("articles/{b}")))
        .await
        .assert_status(204);
    assert_eq!(f.get_article(&c).await["related_articles"], json!([a]));
    assert_eq!(f.get_article(&d).await["related_articles"], json!([]));
    assert_eq!(f.get_article(&e).await["related_articles"], json!([a]));
    // The list view agrees.
    let r = f
        .app
        .get(&f.path("articles?section_id=null&limit=100"))
        .await;
    let c_item = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == c.as_str())
        .unwrap()
        .clone();
    assert_eq!(c_item["related_articles"], json!([a]));
}

#[tokio::test]
async fn moving_an_article_to_another_category_clears_its_section() {
    let f = Fixture::new().await;
    let cat2 = f.app.create_category(&f.kb, "Other").await;
    let sec = f.app.create_section(&f.kb, &f.cat, "S").await;
    let sec2 = f.app.create_section(&f.kb, &cat2, "S2").await;
    let id = f.article(json!({ "section_id": sec })).await;
    let path = f.path(&format!("articles/{id}"));

    let r = f.app.put(&path, json!({ "category_id": cat2 })).await;
    r.assert_status(200);
    assert_eq!(r.data()["category_id"], cat2.as_str());
    assert_eq!(r.data()["section_id"], Value::Null);

    // Moving with a section of the new category puts it there.
    let r = f
        .app
        .put(&path, json!({ "category_id": f.cat, "section_id": sec }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["section_id"], sec.as_str());
    // Naming the same category keeps the section.
    let r = f.app.put(&path, json!({ "category_id": f.cat })).await;
    r.assert_status(200);
    assert_eq!(r.data()["section_id"], sec.as_str());
    // A section of the old category with the new category is rejected.
    let r = f
        .app
        .put(&path, json!({ "category_id": cat2, "section_id": sec }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "section_id");
    let r = f
        .app
        .put(&path, json!({ "category_id": cat2, "section_id": sec2 }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["section_id"], sec2.as_str());
    // section_id null ungroups in place.
    let r = f.app.put(&path, json!({ "section_id": null })).await;
    r.assert_status(200);
    assert_eq!(r.data()["section_id"], Value::Null);
    assert_eq!(r.data()["category_id"], cat2.as_str());
}

// -------------------------------------------------------------------------------------- bulk

fn bulk_items(cat: &str, n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({ "category_id": cat, "title": format!("Bulk {i}"), "body": format!("Body {i}") })).collect()
}

#[tokio::test]
async fn bulk_create_twenty_articles() {
    let f = Fixture::new().await;
    let before = article_count_credits(&f.usage().await);
    let r = f
        .app
        .post(
            &f.path("articles/bulk"),
            json!({ "articles": bulk_items(&f.cat, 20) }),
        )
        .await;
    r.assert_status(201);
    let created = r.data().as_array().unwrap();
    assert_eq!(created.len(), 20);
    for (i, a) in created.iter().enumerate() {
        assert_eq!(a["title"], format!("Bulk {i}"));
        assert_eq!(a["body"], format!("Body {i}"));
        assert!(a["id"].as_str().unwrap().starts_with("kba_"));
    }
    assert_eq!(f.list_ids("").await, ids(r.data()));
    let after = article_count_credits(&f.usage().await);
    assert_eq!(after.1 - before.1, 60, "3 credits per article");
}

#[tokio::test]
async fn bulk_create_rejects_too_many_or_none() {
    let f = Fixture::new().await;
    let usage = f.usage().await;
    let r = f
        .app
        .post(
            &f.path("articles/bulk"),
            json!({ "articles": bulk_items(&f.cat, 21) }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles");
    let r = f
        .app
        .post(&f.path("articles/bulk"), json!({ "articles": [] }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles");
    let r = f.app.post(&f.path("articles/bulk"), json!({})).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles");
    assert!(f.list_ids("").await.is_empty());
    assert_eq!(f.usage().await, usage);
}

#[tokio::test]
async fn bulk_create_with_one_bad_item_writes_nothing() {
    let f = Fixture::new().await;
    let existing = f.article(json!({})).await;
    let usage = f.usage().await;

    let mut items = bulk_items(&f.cat, 6);
    items[3]["title"] = json!("");
    let r = f
        .app
        .post(&f.path("articles/bulk"), json!({ "articles": items }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles[3].title");
    assert_eq!(f.list_ids("").await, vec![existing.clone()]);
    assert_eq!(f.usage().await, usage);

    let other_kb = f.app.create_kb("other").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let foreign_cat = f.app.create_category(&other_kb, "Theirs").await;
    let usage = f.usage().await;
    let mut items = bulk_items(&f.cat, 5);
    items[2]["category_id"] = json!(foreign_cat);
    let r = f
        .app
        .post(&f.path("articles/bulk"), json!({ "articles": items }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles[2].category_id");
    assert_eq!(f.list_ids("").await, vec![existing.clone()]);
    let r = f.app.get(&format!("/v1/kb/{other_kb}/articles")).await;
    assert_eq!(r.data().as_array().unwrap().len(), 0);
    assert_eq!(f.usage().await, usage);

    // A bad reference in the last item still aborts the batch.
    let mut items = bulk_items(&f.cat, 4);
    items[3]["related_articles"] = json!(["kba_000000000000"]);
    let r = f
        .app
        .post(&f.path("articles/bulk"), json!({ "articles": items }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles[3].related_articles[0]");
    // An item may not carry an id on create.
    let mut items = bulk_items(&f.cat, 2);
    items[1]["id"] = json!(existing);
    let r = f
        .app
        .post(&f.path("articles/bulk"), json!({ "articles": items }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles[1].id");
    assert_eq!(f.list_ids("").await, vec![existing]);
    assert_eq!(f.usage().await, usage);
}

#[tokio::test]
async fn bulk_update_changes_several_articles() {
    let f = Fixture::new().await;
    let a = f.article(json!({ "title": "A", "body": "a body" })).await;
    let b = f.article(json!({ "title": "B" })).await;
    let c = f.article(json!({ "title": "C" })).await;
    let r = f
        .app
        .put(
            &f.path("articles/bulk"),
            json!({ "articles": [
                { "id": a, "title": "A2" },
                { "id": c, "status": "published", "tags": ["t"] },
            ] }),
        )
        .await;
    r.assert_status(200);
    let d = r.data().as_array().unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["id"], a.as_str());
    assert_eq!(d[0]["title"], "A2");
    assert_eq!(d[1]["id"], c.as_str());
    assert_eq!(d[1]["status"], "published");

    let got = f.get_article(&a).await;
    assert_eq!(got["title"], "A2");
    assert_eq!(got["body"], "a body", "partial: body kept");
    let got = f.get_article(&c).await;
    assert_eq!(got["status"], "published");
    assert!(is_timestamp(&got["published_at"]));
    assert_eq!(got["tags"], json!(["t"]));
    assert_eq!(f.get_article(&b).await["title"], "B");
}

#[tokio::test]
async fn bulk_update_with_a_bad_item_changes_nothing() {
    let f = Fixture::new().await;
    let a = f.article(json!({ "title": "A" })).await;
    let b = f.article(json!({ "title": "B" })).await;
    let before_a = f.get_article(&a).await;
    let before_b = f.get_article(&b).await;

    let r = f
        .app
        .put(
            &f.path("articles/bulk"),
            json!({ "articles": [
                { "id": a, "title": "A2" },
                { "id": "kba_000000000000", "title": "Ghost" },
                { "id": b, "title": "B2" },
            ] }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles[1].id");

    // An article of another KB is not "an article of this KB".
    let other_kb = f.app.create_kb("other").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other_cat = f.app.create_category(&other_kb, "Theirs").await;
    let foreign = f
        .app
        .create_article(&other_kb, &other_cat, json!({ "title": "Foreign" }))
        .await;
    let foreign_id = foreign["id"].as_str().unwrap();
    let r = f
        .app
        .put(
            &f.path("articles/bulk"),
            json!({ "articles": [{ "id": a, "title": "A2" }, { "id": foreign_id, "title": "Hijacked" }] }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles[1].id");
    let r = f
        .app
        .get(&format!("/v1/kb/{other_kb}/articles/{foreign_id}"))
        .await;
    assert_eq!(r.data()["title"], "Foreign");

    let r = f
        .app
        .put(
            &f.path("articles/bulk"),
            json!({ "articles": [{ "id": a, "title": "A2" }, { "title": "No id" }] }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles[1].id");

    let r = f
        .app
        .put(
            &f.path("articles/bulk"),
            json!({ "articles": [{ "id": a, "title": "A2" }, { "id": b, "title": null }] }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles[1].title");

    // A reference failure in a later item rolls back the earlier items already applied.
    let r = f
        .app
        .put(
            &f.path("articles/bulk"),
            json!({ "articles": [
                { "id": a, "title": "A2" },
                { "id": b, "category_id": "kbc_000000000000" },
            ] }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles[1].category_id");

    let r = f
        .app
        .put(&f.path("articles/bulk"), json!({ "articles": [] }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles");
    let many: Vec<Value> = (0..21).map(|_| json!({ "id": a, "title": "x" })).collect();
    let r = f
        .app
        .put(&f.path("articles/bulk"), json!({ "articles": many }))
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "articles");

    assert_eq!(f.get_article(&a).await, before_a);
    assert_eq!(f.get_article(&b).await, before_b);
}

// -------------------------------------------------------------------------------------- FAQs

#[tokio::test]
async fn create_faq_returns_201_with_full_shape() {
    let f = Fixture::new().await;
    let sec = f.app.create_section(&f.kb, &f.cat, "Account").await;
    let r = f
        .app
        .post(
            &f.path("faqs"),
            json!({
                "category_id": f.cat,
                "section_id": sec,
                "question": "How do I reset my password?",
                "answer": "Click **Forgot password** on the login page.",
                "status": "published",
            }),
        )
        .await;
    r.assert_status(201);
    let d = r.data();
    assert!(d["id"].as_str().unwrap().starts_with("kbf_"));
    assert_eq!(d["kb_id"], f.kb.as_str());
    assert_eq!(d["category_id"], f.cat.as_str());
    assert_eq!(d["section_id"], sec.as_str());
    assert!(
        is_timestamp(&d["published_at"]),
        "publishing on create stamps published_at"
    );
    insta::assert_json_snapshot!("faq_created", r.body, {
        ".data.id" => "[id]",
        ".data.kb_id" => "[id]",
        ".data.category_id" => "[id]",
        ".data.section_id" => "[id]",
        ".data.published_at" => "[ts]",
        ".data.created_at" => "[ts]",
        ".data.updated_at" => "[ts]",
    });

    let r = f
        .app
        .get(&f.path(&format!("faqs/{}", d["id"].as_str().unwrap())))
        .await;
    r.assert_status(200);
    assert_eq!(r.data(), d);
}

#[tokio::test]
async fn create_faq_validates_fields() {
    let f = Fixture::new().await;
    let cat2 = f.app.create_category(&f.kb, "Other").await;
    let foreign_sec = f.app.create_section(&f.kb, &cat2, "Theirs").await;
    let cases = [
        (json!({ "question": "Q?", "answer": "A." }), "category_id"),
        (json!({ "category_id": f.cat, "answer": "A." }), "question"),
        (json!({ "category_id": f.cat, "question": "Q?" }), "answer"),
        (
            json!({ "category_id": f.cat, "question": "Q?", "answer": " " }),
            "answer",
        ),
        (
            json!({ "category_id": f.cat, "question": "Q?", "answer": "A.", "status": "nope" }),
            "status",
        ),
        (
            json!({ "category_id": "kbc_000000000000", "question": "Q?", "answer": "A." }),
            "category_id",
        ),
        (
            json!({ "category_id": f.cat, "section_id": foreign_sec, "question": "Q?", "answer": "A." }),
            "section_id",
        ),
    ];
    for (body, field) in cases {
        let r = f.app.post(&f.path("faqs"), body.clone()).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), field, "for {body}");
    }
    assert!(f.faq_ids("").await.is_empty());
}

#[tokio::test]
async fn faq_defaults_to_draft_and_lists_filter() {
    let f = Fixture::new().await;
    let cat2 = f.app.create_category(&f.kb, "Other").await;
    let d1 = f
        .app
        .create_faq(&f.kb, &f.cat, json!({ "question": "one?" }))
        .await;
    assert_eq!(d1["status"], "draft");
    assert_eq!(d1["published_at"], Value::Null);
    let d1 = d1["id"].as_str().unwrap().to_string();
    let p1 = f
        .app
        .create_faq(
            &f.kb,
            &f.cat,
            json!({ "question": "two?", "status": "published" }),
        )
        .await;
    let p1 = p1["id"].as_str().unwrap().to_string();
    let p2 = f
        .app
        .create_faq(
            &f.kb,
            &cat2,
            json!({ "question": "three?", "status": "published" }),
        )
        .await;
    let p2 = p2["id"].as_str().unwrap().to_string();
    let a2 = f
        .app
        .create_faq(
            &f.kb,
            &cat2,
            json!({ "question": "four?", "status": "archived" }),
        )
        .await;
    let a2 = a2["id"].as_str().unwrap().to_string();

    assert_eq!(
        f.faq_ids("").await,
        vec![d1.clone(), p1.clone(), p2.clone(), a2.clone()]
    );
    assert_eq!(
        f.faq_ids(&format!("category_id={}", f.cat)).await,
        vec![d1.clone(), p1.clone()]
    );
    assert_eq!(
        f.faq_ids(&format!("category_id={cat2}")).await,
        vec![p2.clone(), a2.clone()]
    );
    assert_eq!(
        f.faq_ids("status=published").await,
        vec![p1.clone(), p2.clone()]
    );
    assert_eq!(
        f.faq_ids("status=draft,archived").await,
        vec![d1.clone(), a2.clone()]
    );
    assert_eq!(
        f.faq_ids(&format!("status=published&category_id={cat2}"))
            .await,
        vec![p2.clone()]
    );
}

#[tokio::test]
async fn update_publish_and_delete_faq() {
    let f = Fixture::new().await;
    let cat2 = f.app.create_category(&f.kb, "Other").await;
    let sec = f.app.create_section(&f.kb, &f.cat, "S").await;
    let faq = f
        .app
        .create_faq(
            &f.kb,
            &f.cat,
            json!({ "question": "Q?", "answer": "A.", "section_id": sec }),
        )
        .await;
    let id = faq["id"].as_str().unwrap().to_string();
    let path = f.path(&format!("faqs/{id}"));

    let r = f
        .app
        .put(&path, json!({ "question": "Better question?" }))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["question"], "Better question?");
    assert_eq!(r.data()["answer"], "A.");
    assert_eq!(r.data()["section_id"], sec.as_str());
    let r = f.app.put(&path, json!({ "answer": null })).await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "answer");

    let r = f.app.post_empty(&format!("{path}/publish")).await;
    r.assert_status(200);
    assert_eq!(r.data()["status"], "published");
    let stamp = r.data()["published_at"].clone();
    assert!(is_timestamp(&stamp));
    next_second().await;
    let r = f.app.post_empty(&format!("{path}/publish")).await;
    r.assert_status(200);
    assert_eq!(
        r.data()["published_at"],
        stamp,
        "re-publishing keeps the stamp"
    );
    let r = f.app.put(&path, json!({ "status": "archived" })).await;
    r.assert_status(200);
    assert_eq!(r.data()["status"], "archived");
    assert_eq!(r.data()["published_at"], stamp);

    // Moving to another category without a section ungroups it.
    let r = f.app.put(&path, json!({ "category_id": cat2 })).await;
    r.assert_status(200);
    assert_eq!(r.data()["category_id"], cat2.as_str());
    assert_eq!(r.data()["section_id"], Value::Null);

    let r = f.app.get(&path).await;
    assert_eq!(r.data()["question"], "Better question?");
    assert_eq!(r.data()["status"], "archived");

    let r = f.app.delete(&path).await;
    r.assert_status(204);
    assert!(r.text.is_empty());
    f.app.get(&path).await.assert_error(404, "faq_not_found");
    assert!(f.faq_ids("").await.is_empty());
}

#[tokio::test]
async fn unknown_faq_is_404() {
    let f = Fixture::new().await;
    let other_kb = f.app.create_kb("other").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other_cat = f.app.create_category(&other_kb, "Theirs").await;
    let foreign = f.app.create_faq(&other_kb, &other_cat, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for id in ["kbf_000000000000", "nope", foreign.as_str()] {
        let path = f.path(&format!("faqs/{id}"));
        f.app.get(&path).await.assert_error(404, "faq_not_found");
        f.app
            .put(&path, json!({ "question": "X?" }))
            .await
            .assert_error(404, "faq_not_found");
        f.app.delete(&path).await.assert_error(404, "faq_not_found");
        f.app
            .post_empty(&format!("{path}/publish"))
            .await
            .assert_error(404, "faq_not_found");
    }
    f.app
        .get("/v1/kb/kb_000000000000/faqs")
        .await
        .assert_error(404, "kb_not_found");
    let r = f
        .app
        .get(&format!("/v1/kb/{other_kb}/faqs/{foreign}"))
        .await;
    r.assert_status(200);
    assert_eq!(r.data()["status"], "draft");
}

#[tokio::test]
async fn created_ids_are_distinct() {
    let f = Fixture::new().await;
    let r = f
        .app
        .post(
            &f.path("articles/bulk"),
            json!({ "articles": bulk_items(&f.cat, 20) }),
        )
        .await;
    r.assert_status(201);
    let mut all = ids(r.data());
    all.push(id_of(
        &f.app
            .post(
                &f.path("articles"),
                json!({ "category_id": f.cat, "title": "One more" }),
            )
            .await,
    ));
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n);
}
