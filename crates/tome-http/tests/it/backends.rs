//! Behaviour where SQLite and PostgreSQL differ underneath and must not differ on the wire:
//! restarts, text PostgreSQL cannot store, case folding in search, racing writers, and what a
//! client sees while the database is unreachable. The whole suite runs on both backends; these
//! tests pin the spots most likely to drift.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::Method;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tome_store::testing::TestDb;
use tome_store::{Location, OpenOptions};

use crate::support::{Stopped, TestApp, id_of, ids, test_config};

#[tokio::test]
async fn a_restart_keeps_data_keys_and_cursors() {
    let app = TestApp::new().await;
    let kb = app.create_kb("restart").await;
    let kb_id = kb["id"].as_str().unwrap().to_string();
    let cat = app.create_category(&kb_id, "C").await;
    for i in 0..5 {
        app.create_article(&kb_id, &cat, json!({ "title": format!("A{i}") }))
            .await;
    }
    let first = app.get(&format!("/v1/kb/{kb_id}/articles?limit=2")).await;
    first.assert_status(200);
    let cursor = first.body["pagination"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let old_key = app.key.clone();

    let app = app.restart().await;
    // The instance secret survived, so a cursor issued before the restart still works.
    let rest = app
        .call(
            Method::GET,
            &format!("/v1/kb/{kb_id}/articles?limit=10&cursor={cursor}"),
            Some(&old_key),
            None,
        )
        .await;
    rest.assert_status(200);
    let titles: Vec<_> = rest
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].clone())
        .collect();
    assert_eq!(titles, ["A2", "A3", "A4"], "on {}", app.backend());
}

#[tokio::test]
async fn nul_characters_are_refused_in_text_and_match_nothing_in_lookups() {
    let app = TestApp::new().await;
    let kb = app.create_kb("nul").await;
    let kb_id = kb["id"].as_str().unwrap().to_string();
    let cat = app.create_category(&kb_id, "C").await;
    app.create_article(&kb_id, &cat, json!({ "tags": ["t"] }))
        .await;

    for (field, body) in [
        (
            "title",
            json!({ "category_id": cat, "title": "a\u{0}b", "body": "x" }),
        ),
        (
            "body",
            json!({ "category_id": cat, "title": "a", "body": "x\u{0}" }),
        ),
        (
            "tags[0]",
            json!({ "category_id": cat, "title": "a", "body": "x", "tags": ["\u{0}"] }),
        ),
    ] {
        let r = app.post(&format!("/v1/kb/{kb_id}/articles"), body).await;
        r.assert_error(422, "validation_error");
        assert_eq!(r.field(), field);
    }
    let r = app
        .put(
            &format!("/v1/kb/{kb_id}"),
            json!({ "description": "\u{0}" }),
        )
        .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "description");

    app.get("/v1/kb/%00")
        .await
        .assert_error(404, "kb_not_found");
    app.get(&format!("/v1/kb/{kb_id}/articles/art_%00"))
        .await
        .assert_error(404, "article_not_found");
    for query in ["tag=%00", "category_id=%00", "section_id=%00"] {
        let r = app.get(&format!("/v1/kb/{kb_id}/articles?{query}")).await;
        r.assert_status(200);
        assert_eq!(r.data(), &json!([]), "{query}");
    }
    // The search engine treats NUL as a separator, on either backend.
    let r = app.get(&format!("/v1/kb/{kb_id}/search?q=a%00")).await;
    r.assert_status(200);
}

#[tokio::test]
async fn search_folds_case_and_accents_and_ignores_wildcards_on_every_backend() {
    let app = TestApp::new().await;
    let kb = app.create_kb("fold").await;
    let kb_id = kb["id"].as_str().unwrap().to_string();
    let cat = app.create_category(&kb_id, "C").await;
    let ecole = app
        .create_article(
            &kb_id,
            &cat,
            json!({ "title": "École PASSWORD", "body": "Save 50% now" }),
        )
        .await;
    let other = app
        .create_article(
            &kb_id,
            &cat,
            json!({ "title": "Other", "body": "Save 500 now" }),
        )
        .await;
    let hits = |q: &'static str| {
        let app = &app;
        let kb_id = kb_id.clone();
        async move {
            let r = app.get(&format!("/v1/kb/{kb_id}/search?q={q}")).await;
            r.assert_status(200);
            ids(&r.data()["articles"])
        }
    };
    let ecole_id = ecole["id"].as_str().unwrap().to_string();
    let other_id = other["id"].as_str().unwrap().to_string();
    assert_eq!(hits("password").await, [ecole_id.as_str()]);
    assert_eq!(hits("%C3%89COLE").await, [ecole_id.as_str()], "ÉCOLE");
    assert_eq!(
        hits("%C3%A9cole").await,
        [ecole_id.as_str()],
        "école: accents fold"
    );
    assert_eq!(hits("ecole").await, [ecole_id.as_str()], "ecole");
    // SQL wildcards mean nothing to the engine: alone they are no query at all.
    assert!(hits("%25").await.is_empty(), "%");
    assert!(hits("_").await.is_empty(), "_");
    let mut both = hits("save").await;
    both.sort();
    let mut want = vec![ecole_id, other_id];
    want.sort();
    assert_eq!(both, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_of_one_slug_make_exactly_one_kb() {
    let app = Arc::new(TestApp::new().await);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post("/v1/kb", json!({ "title": "Race", "slug": "race" }))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status.as_u16() {
            201 => created += 1,
            _ => {
                r.assert_error(422, "validation_error");
                assert_eq!(r.field(), "slug");
            }
        }
    }
    assert_eq!(created, 1, "on {}", app.backend());
    let list = app.get("/v1/kb").await;
    assert_eq!(list.data().as_array().unwrap().len(), 1);
}

/// A TCP proxy in front of PostgreSQL that a test can cut and restore.
struct Proxy {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(server: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let pipes = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let (up, pipes) = (up.clone(), pipes.clone());
            async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        return;
                    };
                    if !up.load(Ordering::SeqCst) {
                        // The database is "down": hang up at once.
                        drop(client);
                        continue;
                    }
                    let server = server.clone();
                    pipes.lock().await.push(tokio::spawn(async move {
                        if let Ok(mut db) = TcpStream::connect(&server).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut db).await;
                        }
                    }));
                }
            }
        });
        Proxy {
            addr,
            up,
            pipes,
            accept,
        }
    }

    /// Refuses new connections and severs the open ones.
    async fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for p in self.pipes.lock().await.drain(..) {
            p.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

#[tokio::test]
async fn an_unreachable_database_is_a_fast_503_and_recovers_by_itself() {
    let Some(db) = TestDb::postgres("an_unreachable_database_is_a_fast_503_and_recovers_by_itself")
    else {
        return;
    };
    let (_, server) = db.url_through("127.0.0.1:1".parse().unwrap()).unwrap();
    let proxy = Proxy::start(server).await;
    let (via, _) = db.url_through(proxy.addr).unwrap();
    let options = OpenOptions {
        acquire_timeout: Duration::from_secs(2),
        ..OpenOptions::default()
    };
    let app = TestApp::open_at(
        Stopped::fresh(db),
        &Location::Url(via),
        &options,
        test_config(),
    )
    .await;
    let kb = app.create_kb("outage").await;
    let kb_id = kb["id"].as_str().unwrap().to_string();

    proxy.cut().await;
    for (method, path, body) in [
        (Method::GET, format!("/v1/kb/{kb_id}"), None),
        (Method::GET, "/v1/kb".to_string(), None),
        (
            Method::POST,
            format!("/v1/kb/{kb_id}/categories"),
            Some(json!({ "name": "Lost" })),
        ),
    ] {
        let started = Instant::now();
        let r = app.call(method.clone(), &path, Some(&app.key), body).await;
        r.assert_error(503, "service_unavailable");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{method} {path} took {:?}",
            started.elapsed()
        );
    }
    let r = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status.as_u16(), 503);

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = app.get(&format!("/v1/kb/{kb_id}")).await;
        if r.status.as_u16() == 200 {
            break;
        }
        r.assert_error(503, "service_unavailable");
        assert!(Instant::now() < deadline, "no recovery: {}", r.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Pooled connections severed while in the pool are pinged once they have been idle for
    // `PING_IF_IDLE`, and replaced: from then on, nothing fails.
    tokio::time::sleep(tome_store::postgres::PING_IF_IDLE + Duration::from_millis(100)).await;
    app.call(Method::GET, "/readyz", None, None)
        .await
        .assert_status(200);
    // The write refused during the outage left nothing behind; a new one works.
    let cats = app.get(&format!("/v1/kb/{kb_id}/categories")).await;
    assert_eq!(cats.data(), &json!([]));
    let c = app
        .post(
            &format!("/v1/kb/{kb_id}/categories"),
            json!({ "name": "Back" }),
        )
        .await;
    c.assert_status(201);
    assert!(!id_of(&c).is_empty());
}
