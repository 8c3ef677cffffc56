//! The search index never disagrees with the database: after every kind of write, after writes
//! made around the server, and across restarts with a missing, damaged, stale or foreign index.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tome_core::input::NewArticle;
use tome_core::model::Status;

use crate::support::{Stopped, TestApp, ids, test_config};

async fn hits(app: &TestApp, kb: &str, q: &str, extra: &str) -> (Vec<String>, Vec<String>) {
    let r = app.get(&format!("/v1/kb/{kb}/search?q={q}{extra}")).await;
    r.assert_status(200);
    (ids(&r.data()["articles"]), ids(&r.data()["faqs"]))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn new_article(category_id: &str, title: &str) -> NewArticle {
    NewArticle {
        category_id: category_id.to_string(),
        section_id: None,
        title: title.to_string(),
        body: "Written around the server.".to_string(),
        excerpt: None,
        status: Status::Published,
        tags: Vec::new(),
        related_articles: Vec::new(),
        sort_order: 0,
    }
}

struct Setup {
    app: TestApp,
    kb: String,
    cat: String,
    site_key: String,
}

async fn setup() -> Setup {
    let app = TestApp::new().await;
    let created = app.create_kb("sync").await;
    let kb = created["id"].as_str().unwrap().to_string();
    let site_key = created["site_key"].as_str().unwrap().to_string();
    let cat = app.create_category(&kb, "Cat").await;
    Setup {
        app,
        kb,
        cat,
        site_key,
    }
}

/// Writes do not wait for the index; without any search to force it, the background follower
/// still indexes them (about 100 ms after the write on an idle machine; the test allows more,
/// as the index thread runs at low priority and the suite keeps the cores busy).
#[tokio::test]
async fn the_index_takes_writes_in_the_background_without_a_search() {
    let Setup { app, kb, cat, .. } = setup().await;
    let before = app.search.engine().num_docs();
    for i in 0..3 {
        app.create_article(&kb, &cat, json!({ "title": format!("Background {i}") }))
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.search.engine().num_docs() < before + 3 {
        assert!(
            Instant::now() < deadline,
            "the follower did not index the writes"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn every_write_is_searchable_when_it_returns() {
    let Setup { app, kb, cat, .. } = setup().await;
    let path = |rest: &str| format!("/v1/kb/{kb}/{rest}");

    // Create, update, publish, archive.
    let a = app
        .create_article(&kb, &cat, json!({ "title": "Gecko basics" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(hits(&app, &kb, "gecko", "").await.0, vec![a.clone()]);
    app.put(
        &path(&format!("articles/{a}")),
        json!({ "body": "Feeding crickets." }),
    )
    .await
    .assert_status(200);
    assert_eq!(hits(&app, &kb, "crickets", "").await.0, vec![a.clone()]);
    assert_eq!(
        hits(&app, &kb, "gecko", "&status=published").await.0,
        Vec::<String>::new()
    );
    app.post_empty(&path(&format!("articles/{a}/publish")))
        .await
        .assert_status(200);
    assert_eq!(
        hits(&app, &kb, "gecko", "&status=published").await.0,
        vec![a.clone()]
    );
    app.post_empty(&path(&format!("articles/{a}/archive")))
        .await
        .assert_status(200);
    assert_eq!(
        hits(&app, &kb, "gecko", "&status=archived").await.0,
        vec![a.clone()]
    );

    // FAQs: create, update, publish, delete.
    let f = app
        .create_faq(&kb, &cat, json!({ "question": "Iguana?" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(hits(&app, &kb, "iguana", "").await.1, vec![f.clone()]);
    app.put(
        &path(&format!("faqs/{f}")),
        json!({ "answer": "Basking lamps." }),
    )
    .await
    .assert_status(200);
    assert_eq!(hits(&app, &kb, "basking", "").await.1, vec![f.clone()]);
    app.post_empty(&path(&format!("faqs/{f}/publish")))
        .await
        .assert_status(200);
    assert_eq!(
        hits(&app, &kb, "iguana", "&status=published").await.1,
        vec![f.clone()]
    );
    app.delete(&path(&format!("faqs/{f}")))
        .await
        .assert_status(204);
    assert_eq!(hits(&app, &kb, "iguana", "").await.1, Vec::<String>::new());

    // Bulk create and bulk update.
    let r = app
        .post(
            &path("articles/bulk"),
            json!({ "articles": [
                { "category_id": cat, "title": "Skink one" },
                { "category_id": cat, "title": "Skink two" },
            ] }),
        )
        .await;
    r.assert_status(201);
    let bulk = ids(r.data());
    assert_eq!(
        sorted(hits(&app, &kb, "skink", "").await.0),
        sorted(bulk.clone())
    );
    app.put(
        &path("articles/bulk"),
        json!({ "articles": [
            { "id": bulk[0], "title": "Monitor one" },
            { "id": bulk[1], "status": "published" },
        ] }),
    )
    .await
    .assert_status(200);
    assert_eq!(hits(&app, &kb, "skink", "").await.0, vec![bulk[1].clone()]);
    assert_eq!(
        hits(&app, &kb, "monitor", "").await.0,
        vec![bulk[0].clone()]
    );

    // A failed bulk write changes nothing (the second item names no article).
    app.put(
        &path("articles/bulk"),
        json!({ "articles": [
            { "id": bulk[0], "title": "Tortoise" },
            { "id": "kba_000000000000", "title": "Nope" },
        ] }),
    )
    .await
    .assert_status(422);
    assert_eq!(
        hits(&app, &kb, "tortoise", "").await.0,
        Vec::<String>::new()
    );

    // Delete.
    app.delete(&path(&format!("articles/{a}")))
        .await
        .assert_status(204);
    assert_eq!(hits(&app, &kb, "gecko", "").await.0, Vec::<String>::new());
}

#[tokio::test]
async fn cascades_reach_the_index() {
    let Setup { app, kb, cat, .. } = setup().await;
    let path = |rest: &str| format!("/v1/kb/{kb}/{rest}");
    let other = app.create_category(&kb, "Other").await;
    let sec = app.create_section(&kb, &cat, "Sec").await;
    let a = app
        .create_article(&kb, &cat, json!({ "title": "Newt", "section_id": sec }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let f = app
        .create_faq(&kb, &cat, json!({ "question": "Newt?", "section_id": sec }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        hits(&app, &kb, "newt", &format!("&section_id={sec}")).await,
        (vec![a.clone()], vec![f.clone()])
    );

    // Moving the section moves its content to the other category.
    app.put(
        &path(&format!("sections/{sec}")),
        json!({ "category_id": other }),
    )
    .await
    .assert_status(200);
    assert_eq!(
        hits(&app, &kb, "newt", &format!("&category_id={other}")).await,
        (vec![a.clone()], vec![f.clone()])
    );
    assert_eq!(
        hits(&app, &kb, "newt", &format!("&category_id={cat}")).await,
        (vec![], vec![])
    );

    // Deleting the section leaves its content ungrouped.
    app.delete(&path(&format!("sections/{sec}")))
        .await
        .assert_status(204);
    assert_eq!(
        hits(&app, &kb, "newt", &format!("&section_id={sec}")).await,
        (vec![], vec![])
    );
    assert_eq!(
        hits(&app, &kb, "newt", "&section_id=null").await,
        (vec![a.clone()], vec![f.clone()])
    );

    // Deleting the category removes its content.
    app.delete(&path(&format!("categories/{other}")))
        .await
        .assert_status(204);
    assert_eq!(hits(&app, &kb, "newt", "").await, (vec![], vec![]));

    // Deleting the KB removes everything it held from the index.
    app.create_article(&kb, &cat, json!({ "title": "Axolotl" }))
        .await;
    app.search.ensure_current().await.unwrap();
    let before = app.search.engine().num_docs();
    app.delete(&format!("/v1/kb/{kb}")).await.assert_status(204);
    app.search.ensure_current().await.unwrap();
    assert_eq!(app.search.engine().num_docs(), before - 1);
    app.get(&format!("/v1/kb/{kb}/search?q=axolotl"))
        .await
        .assert_error(404, "kb_not_found");
}

#[tokio::test]
async fn concurrent_writes_share_commits_and_all_land() {
    let Setup { app, kb, cat, .. } = setup().await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (app, kb, cat) = (app.clone(), kb.clone(), cat.clone());
        tasks.push(tokio::spawn(async move {
            let id = app
                .create_article(&kb, &cat, json!({ "title": format!("Salamander {i}") }))
                .await["id"]
                .as_str()
                .unwrap()
                .to_string();
            // Searchable the moment its own response arrived.
            let (found, _) = hits(&app, &kb, "salamander", "&limit=100").await;
            assert!(found.contains(&id), "{id} missing right after its create");
            id
        }));
    }
    let mut created = Vec::new();
    for t in tasks {
        created.push(t.await.unwrap());
    }
    assert_eq!(
        sorted(hits(&app, &kb, "salamander", "&limit=100").await.0),
        sorted(created)
    );
}

/// Polls until `q` finds `expected` articles (or fails after 2 s).
async fn eventually(app: &TestApp, kb: &str, q: &str, expected: &[String]) -> Duration {
    let started = Instant::now();
    loop {
        let (found, _) = hits(app, kb, q, "").await;
        if sorted(found.clone()) == sorted(expected.to_vec()) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{q}: still {found:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn writes_made_around_the_server_become_searchable_within_a_second() {
    let Setup { app, kb, cat, .. } = setup().await;
    // As the CLI or another node would: straight into the database.
    let created = app
        .store
        .create_articles(
            &app.project_id,
            &kb,
            vec![new_article(&cat, "Chameleon")],
            false,
        )
        .await
        .unwrap();
    let id = created[0].id.clone();
    let took = eventually(&app, &kb, "chameleon", std::slice::from_ref(&id)).await;
    assert!(took < Duration::from_secs(1), "took {took:?}");
    app.store
        .delete_article(&app.project_id, &kb, &id)
        .await
        .unwrap();
    let took = eventually(&app, &kb, "chameleon", &[]).await;
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[tokio::test]
async fn public_search_is_never_stale_after_a_write() {
    let Setup {
        app,
        kb,
        cat,
        site_key: key,
    } = setup().await;
    let public = |q: &str| {
        let key = key.clone();
        let uri = format!("/v1/kb/public/sync/search?q={q}");
        let app = &app;
        async move {
            let req = axum::http::Request::builder()
                .uri(uri)
                .header("x-minolith-site-key", key)
                .body(axum::body::Body::empty())
                .unwrap();
            let r = app.send(req).await;
            r.assert_status(200);
            ids(&r.data()["articles"])
        }
    };
    let a = app
        .create_article(&kb, &cat, json!({ "title": "Tuatara" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        public("tuatara").await,
        Vec::<String>::new(),
        "drafts are hidden"
    );
    app.post_empty(&format!("/v1/kb/{kb}/articles/{a}/publish"))
        .await
        .assert_status(200);
    assert_eq!(public("tuatara").await, vec![a.clone()]);
    // Same query in another case and spacing: the same (fresh) answer.
    assert_eq!(public("%20TUATARA%20").await, vec![a.clone()]);
    app.post_empty(&format!("/v1/kb/{kb}/articles/{a}/archive"))
        .await
        .assert_status(200);
    assert_eq!(public("tuatara").await, Vec::<String>::new());
    assert_eq!(public("TUATARA").await, Vec::<String>::new());
}

// ------------------------------------------------------------------------- restart, rebuild

/// A stopped app with one article and one FAQ about otters; the data directory comes back.
async fn stopped_with_content() -> (Stopped, String, String, Vec<String>) {
    let Setup { app, kb, cat, .. } = setup().await;
    let a = app
        .create_article(&kb, &cat, json!({ "title": "Otter habitats" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let f = app
        .create_faq(&kb, &cat, json!({ "question": "Otter diet?" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    (app.stop().await, kb, cat, vec![a, f])
}

async fn assert_otters(app: &TestApp, kb: &str, expected: &[String]) {
    assert_eq!(
        hits(app, kb, "otter", "").await,
        (vec![expected[0].clone()], vec![expected[1].clone()])
    );
}

#[tokio::test]
async fn restart_with_a_current_index_keeps_it() {
    let (dir, kb, _, expected) = stopped_with_content().await;
    let app = TestApp::reopen(dir, test_config()).await;
    assert_otters(&app, &kb, &expected).await;
}

#[tokio::test]
async fn a_deleted_index_directory_is_rebuilt() {
    let (dir, kb, _, expected) = stopped_with_content().await;
    std::fs::remove_dir_all(dir.index_dir()).unwrap();
    let app = TestApp::reopen(dir, test_config()).await;
    assert_otters(&app, &kb, &expected).await;
}

#[tokio::test]
async fn damaged_index_files_are_rebuilt() {
    for victim in ["segment", "meta.json"] {
        let (dir, kb, _, expected) = stopped_with_content().await;
        let index = dir.index_dir();
        let mut damaged = 0;
        for entry in std::fs::read_dir(&index).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let hit = match victim {
                "meta.json" => name == "meta.json",
                _ => name.ends_with(".term") || name.ends_with(".idx") || name.ends_with(".store"),
            };
            if hit {
                let mut bytes = std::fs::read(&path).unwrap();
                for b in bytes.iter_mut().take(64) {
                    *b ^= 0x5a;
                }
                std::fs::write(&path, bytes).unwrap();
                damaged += 1;
            }
        }
        assert!(damaged > 0, "nothing to damage for {victim}");
        let app = TestApp::reopen(dir, test_config()).await;
        assert_otters(&app, &kb, &expected).await;
    }
}

#[tokio::test]
async fn an_index_behind_the_database_replays_the_feed() {
    let (dir, kb, cat, expected) = stopped_with_content().await;
    // Writes committed while no index followed: what a crash between the database commit and
    // the index update leaves behind.
    let store = dir.store().await;
    let project = store.list_projects().await.unwrap().remove(0).id;
    let added = store
        .create_articles(&project, &kb, vec![new_article(&cat, "Otter pups")], false)
        .await
        .unwrap()
        .remove(0)
        .id;
    store.delete_faq(&project, &kb, &expected[1]).await.unwrap();
    drop(store);
    let app = TestApp::reopen(dir, test_config()).await;
    assert_eq!(
        sorted(hits(&app, &kb, "otter", "").await.0),
        sorted(vec![expected[0].clone(), added])
    );
    assert_eq!(hits(&app, &kb, "otter", "").await.1, Vec::<String>::new());
}

#[tokio::test]
async fn an_index_older_than_the_retained_feed_is_rebuilt() {
    let (dir, kb, cat, expected) = stopped_with_content().await;
    let store = dir.store().await;
    let project = store.list_projects().await.unwrap().remove(0).id;
    let added = store
        .create_articles(&project, &kb, vec![new_article(&cat, "Otter dens")], false)
        .await
        .unwrap()
        .remove(0)
        .id;
    // Prune every change, including the one the index never saw.
    assert!(store.prune_changes("9999-12-31 00:00:00").await.unwrap() > 0);
    drop(store);
    let app = TestApp::reopen(dir, test_config()).await;
    assert_eq!(
        sorted(hits(&app, &kb, "otter", "").await.0),
        sorted(vec![expected[0].clone(), added])
    );
}

#[tokio::test]
async fn an_index_from_another_database_is_rebuilt() {
    let (dir, kb, _, expected) = stopped_with_content().await;
    // Another instance's index, with other content, put in this one's place.
    let other = setup().await;
    other
        .app
        .create_article(&other.kb, &other.cat, json!({ "title": "Beaver lodges" }))
        .await;
    let other_dir = other.app.stop().await;
    std::fs::remove_dir_all(dir.index_dir()).unwrap();
    std::fs::rename(other_dir.index_dir(), dir.index_dir()).unwrap();
    let app = TestApp::reopen(dir, test_config()).await;
    assert_otters(&app, &kb, &expected).await;
    app.search.ensure_current().await.unwrap();
    assert_eq!(app.search.engine().num_docs(), 2);
}

#[tokio::test]
async fn search_after_restart_keeps_every_field() {
    let Setup { app, kb, cat, .. } = setup().await;
    let sec = app.create_section(&kb, &cat, "Sec").await;
    let created = app
        .create_article(
            &kb,
            &cat,
            json!({ "title": "Marmot", "section_id": sec, "excerpt": "Burrows.",
                    "status": "published", "tags": ["rodents"] }),
        )
        .await;
    let before: Value = app
        .get(&format!("/v1/kb/{kb}/search?q=marmot&tag=rodents"))
        .await
        .data()
        .clone();
    let dir = app.stop().await;
    std::fs::remove_dir_all(dir.index_dir()).unwrap();
    let app = TestApp::reopen(dir, test_config()).await;
    let after = app
        .get(&format!("/v1/kb/{kb}/search?q=marmot&tag=rodents"))
        .await
        .data()
        .clone();
    assert_eq!(before, after);
    assert_eq!(after["articles"][0]["id"], created["id"]);
    assert_eq!(after["articles"][0]["section_id"], sec.as_str());
}
