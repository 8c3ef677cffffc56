//! `TestApp`: the real router on a real database, driven through HTTP requests
//! (`tower::ServiceExt::oneshot`), exactly as a client would. The database is temp SQLite, or a
//! fresh PostgreSQL schema when `TOME_TEST_DATABASE_URL` is set (`tome_store::testing`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tempfile::TempDir;
use tome_core::keys::{self, KeyKind};
use tome_http::ratelimit::MemoryRateLimiter;
use tome_http::{AppState, HttpConfig};
use tome_store::testing::TestDb;
use tome_store::{Location, OpenOptions, Store};
use tower::ServiceExt;

pub struct TestApp {
    svc: tome_http::Service,
    pub store: Arc<dyn Store>,
    pub search: Arc<tome_search::Search>,
    /// The database; dropped (deleted) with the app.
    db: TestDb,
    /// The search index's directory, on every backend.
    index: TempDir,
    config: HttpConfig,
    /// Admin key of the default project.
    pub key: String,
    pub project_id: String,
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The body parsed as JSON, or `Null`.
    pub body: Value,
    /// The body's bytes as sent (e.g. still gzip-compressed).
    pub raw: axum::body::Bytes,
}

impl TestResponse {
    /// `body["data"]`.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// The error code of an error envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// `details.field` of an error envelope.
    pub fn field(&self) -> &str {
        self.body["error"]["details"]["field"]
            .as_str()
            .unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, printing the body on failure.
    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts an error envelope with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Self {
        self.assert_status(status);
        assert_eq!(
            self.code(),
            code,
            "unexpected error code; body: {}",
            self.text
        );
        assert!(
            self.body["error"]["message"].is_string(),
            "no message: {}",
            self.text
        );
        assert!(
            self.body["error"].get("details").is_some(),
            "no details: {}",
            self.text
        );
        self
    }
}

/// A config with limits high enough that only rate-limit tests hit them.
pub fn test_config() -> HttpConfig {
    HttpConfig {
        admin_rate_limit: 1_000_000,
        assistant_rate_limit: 1_000_000,
        ..HttpConfig::default()
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(test_config()).await
    }

    pub async fn with_config(config: HttpConfig) -> Self {
        Self::open(TestDb::new(), config).await
    }

    /// Opens `db` with a new, empty search index, bootstrapping on first use.
    pub async fn open(db: TestDb, config: HttpConfig) -> Self {
        Self::reopen(Stopped::fresh(db), config).await
    }

    /// Opens what a stopped app left behind: its database and its index directory.
    pub async fn reopen(stopped: Stopped, config: HttpConfig) -> Self {
        let location = stopped.db.location();
        Self::open_at(stopped, &location, &OpenOptions::default(), config).await
    }

    /// Opens a database and index through `location` (e.g. a proxy in front of the database)
    /// with `options`.
    pub async fn open_at(
        stopped: Stopped,
        location: &Location,
        options: &OpenOptions,
        config: HttpConfig,
    ) -> Self {
        let Stopped { db, index } = stopped;
        let store = tome_store::open(location, options)
            .await
            .expect("open store");
        let key = keys::generate_api_key(KeyKind::Admin);
        let (project_id, key) = match store.bootstrap(&key).await.expect("bootstrap") {
            Some(b) => (b.project.id, key.plaintext),
            None => {
                let p = store.list_projects().await.expect("projects").remove(0);
                let k = keys::generate_api_key(KeyKind::Admin);
                store
                    .create_api_key(&p.id, KeyKind::Admin, &k)
                    .await
                    .expect("key");
                (p.id, k.plaintext)
            }
        };
        let search = open_search(&store, &search_dir(index.path())).await;
        let state = AppState::with_search(
            store.clone(),
            Arc::new(MemoryRateLimiter::new()),
            config.clone(),
            search.clone(),
        )
        .await
        .expect("state");
        TestApp {
            svc: tome_http::service(state),
            store,
            search,
            db,
            index,
            config,
            key,
            project_id,
        }
    }

    /// The application as a service, for serving it on a socket.
    pub fn service(&self) -> tome_http::Service {
        self.svc.clone()
    }

    /// Which backend this app runs on: `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.db.backend()
    }

    /// Stops this app and starts a new one on the same database and index, as a server restart
    /// would (the new app's `key` is a fresh admin key of the default project).
    pub async fn restart(self) -> Self {
        let config = self.config.clone();
        let stopped = self.stop().await;
        Self::reopen(stopped, config).await
    }

    /// Lets the search index take every write made so far. Writes do not wait for the index;
    /// the follower takes them a moment later (a write of this node's, already marked stale,
    /// is not marked again; `PublicCache::invalidate_kb_change`).
    pub async fn settle(&self) {
        self.search.catch_up().await.expect("search catch-up");
    }

    /// Stops this app as a graceful shutdown would, releasing its database connections and
    /// index; what it leaves behind can be inspected, changed and reopened with
    /// [`TestApp::reopen`].
    pub async fn stop(self) -> Stopped {
        let TestApp {
            svc,
            store,
            search,
            db,
            index,
            ..
        } = self;
        drop(svc);
        // What `tome serve` does on a graceful shutdown: index the last writes, save the position.
        search.catch_up().await.expect("search catch-up");
        search.flush().await.expect("search flush");
        drop(search);
        drop(store);
        Stopped { db, index }
    }

    /// A second tenant with its own admin key: `(project_id, key)`.
    pub async fn new_project(&self, name: &str) -> (String, String) {
        let p = self
            .store
            .create_project(name, None)
            .await
            .expect("project");
        let k = keys::generate_api_key(KeyKind::Admin);
        self.store
            .create_api_key(&p.id, KeyKind::Admin, &k)
            .await
            .expect("key");
        (p.id, k.plaintext)
    }

    /// A new key of `kind` for the default project.
    pub async fn new_key(&self, kind: KeyKind) -> String {
        let k = keys::generate_api_key(kind);
        self.store
            .create_api_key(&self.project_id, kind, &k)
            .await
            .expect("key");
        k.plaintext
    }

    /// Sends a request as if from 127.0.0.1 (unless the request already names a peer).
    pub async fn send(&self, mut req: Request<Body>) -> TestResponse {
        let ext = req.extensions_mut();
        if ext.get::<ConnectInfo<SocketAddr>>().is_none() {
            ext.insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        }
        let resp = self.svc.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            text,
            body,
            raw: bytes,
        }
    }

    /// A request as `key` (or anonymous) with an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            b = b.header("authorization", format!("Bearer {k}"));
        }
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(req.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, Some(&self.key), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(&self.key), Some(body))
            .await
    }

    /// POST with no body (publish, archive, revoke).
    pub async fn post_empty(&self, path: &str) -> TestResponse {
        self.call(Method::POST, path, Some(&self.key), None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> TestResponse {
        self.call(Method::PUT, path, Some(&self.key), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.call(Method::DELETE, path, Some(&self.key), None).await
    }

    /// Creates a KB and returns its `data`.
    pub async fn create_kb(&self, slug: &str) -> Value {
        let r = self
            .post(
                "/v1/kb",
                json!({ "title": format!("KB {slug}"), "slug": slug }),
            )
            .await;
        r.assert_status(201);
        r.data().clone()
    }

    /// Creates a category and returns its ID.
    pub async fn create_category(&self, kb_id: &str, name: &str) -> String {
        let r = self
            .post(
                &format!("/v1/kb/{kb_id}/categories"),
                json!({ "name": name }),
            )
            .await;
        r.assert_status(201);
        id_of(&r)
    }

    /// Creates a section in `category_id` and returns its ID.
    pub async fn create_section(&self, kb_id: &str, category_id: &str, name: &str) -> String {
        let r = self
            .post(
                &format!("/v1/kb/{kb_id}/sections"),
                json!({ "category_id": category_id, "name": name }),
            )
            .await;
        r.assert_status(201);
        id_of(&r)
    }

    /// Creates an article from `body` (merged over a default title) and returns its `data`.
    pub async fn create_article(&self, kb_id: &str, category_id: &str, extra: Value) -> Value {
        let mut body =
            json!({ "category_id": category_id, "title": "An article", "body": "Some body text." });
        merge(&mut body, extra);
        let r = self.post(&format!("/v1/kb/{kb_id}/articles"), body).await;
        r.assert_status(201);
        r.data().clone()
    }

    /// Creates an FAQ from `extra` (merged over defaults) and returns its `data`.
    pub async fn create_faq(&self, kb_id: &str, category_id: &str, extra: Value) -> Value {
        let mut body = json!({ "category_id": category_id, "question": "A question?", "answer": "An answer." });
        merge(&mut body, extra);
        let r = self.post(&format!("/v1/kb/{kb_id}/faqs"), body).await;
        r.assert_status(201);
        r.data().clone()
    }
}

/// The search index directory inside a data directory.
pub fn search_dir(index_root: &std::path::Path) -> std::path::PathBuf {
    index_root.join("search")
}

/// What a stopped [`TestApp`] leaves behind.
pub struct Stopped {
    pub db: TestDb,
    index: TempDir,
}

impl Stopped {
    /// `db` with a new, empty index directory.
    pub fn fresh(db: TestDb) -> Self {
        Stopped {
            db,
            index: tempfile::tempdir().expect("index dir"),
        }
    }

    /// The search index's directory.
    pub fn index_dir(&self) -> std::path::PathBuf {
        search_dir(self.index.path())
    }

    /// The store on its own, without HTTP or an index following it.
    pub async fn store(&self) -> Arc<dyn Store> {
        tome_store::open(&self.db.location(), &OpenOptions::default())
            .await
            .expect("open store")
    }
}

/// Opens the search index, waiting out a previous app's follower that still holds it.
pub async fn open_search(
    store: &Arc<dyn Store>,
    dir: &std::path::Path,
) -> Arc<tome_search::Search> {
    let options = tome_search::SearchOptions {
        dir: Some(dir.to_path_buf()),
        ..Default::default()
    };
    for _ in 0..100 {
        match tome_search::Search::open(store.clone(), options.clone()).await {
            Err(tome_search::SearchError::Locked(_)) => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            other => return other.expect("open search index"),
        }
    }
    panic!("search index still locked");
}

pub fn id_of(r: &TestResponse) -> String {
    r.data()["id"].as_str().expect("id in response").to_string()
}

/// Shallow-merges the fields of `extra` into `base`.
pub fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
}

/// The `id`s of a JSON array of objects, in order.
pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|v| v["id"].as_str().expect("an id").to_string())
        .collect()
}

/// Whether `v` is a wire timestamp, `YYYY-MM-DD HH:MM:SS`.
pub fn is_timestamp(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// Whether `v` is `prefix` followed by 12 lowercase alphanumerics.
pub fn is_entity_id(v: &Value, prefix: &str) -> bool {
    v.as_str()
        .and_then(|s| s.strip_prefix(prefix))
        .is_some_and(|rest| {
            rest.len() == 12
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}
