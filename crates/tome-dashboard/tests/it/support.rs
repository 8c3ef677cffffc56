//! `TestApp`: Tome's router with the dashboard merged in (`tome_http::service_with`, as `tome
//! serve` builds it) on a real database — temp SQLite, or a fresh PostgreSQL schema when
//! `TOME_TEST_DATABASE_URL` is set — driven through `tower::ServiceExt::oneshot`.
//!
//! [`Browser`] is what a browser does with the dashboard: it keeps cookies, sends
//! `Sec-Fetch-Site: same-origin` with its form posts, and fills in the CSRF token of the last page
//! it loaded, so tests read like journeys (`sign_in`, `get`, `submit`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tome_core::keys::{self, KeyKind};
use tome_http::ratelimit::MemoryRateLimiter;
use tome_http::{AppState, HttpConfig};
use tome_store::testing::TestDb;
use tome_store::{OpenOptions, Store};
use tower::ServiceExt;

pub struct TestApp {
    svc: tome_http::Service,
    pub state: AppState,
    pub store: Arc<dyn Store>,
    _db: TestDb,
    /// Admin key of the default project.
    pub key: String,
    pub project_id: String,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> &str {
        self.header("location").unwrap_or_default()
    }

    /// The `Set-Cookie` header values.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }

    /// The body as JSON (for the few endpoints that answer JSON), or `Null`.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

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

    #[track_caller]
    pub fn assert_contains(&self, needle: &str) -> &Self {
        assert!(
            self.text.contains(needle),
            "page does not contain {needle:?}:\n{}",
            self.text
        );
        self
    }

    /// The CSRF token of the page's forms, if it has any.
    pub fn csrf(&self) -> Option<String> {
        let at = self.text.find("name=\"_csrf\" value=\"")?;
        let rest = &self.text[at + "name=\"_csrf\" value=\"".len()..];
        rest.split('"').next().map(str::to_string)
    }
}

pub fn test_config() -> HttpConfig {
    HttpConfig {
        admin_rate_limit: 1_000_000,
        assistant_rate_limit: 1_000_000,
        hosted_rate_limit: 1_000_000,
        ..HttpConfig::default()
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(test_config()).await
    }

    pub async fn with_config(config: HttpConfig) -> Self {
        let db = TestDb::new();
        let store = tome_store::open(&db.location(), &OpenOptions::default())
            .await
            .expect("open store");
        let k = keys::generate_api_key(KeyKind::Admin);
        let boot = store
            .bootstrap(&k)
            .await
            .expect("bootstrap")
            .expect("a fresh database");
        let state = AppState::new(store.clone(), Arc::new(MemoryRateLimiter::new()), config)
            .await
            .expect("state");
        let svc = tome_http::service_with(state.clone(), tome_dashboard::routes());
        TestApp {
            svc,
            state,
            store,
            _db: db,
            key: k.plaintext,
            project_id: boot.project.id,
        }
    }

    /// Another project with its own admin key: `(project_id, key)`.
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

    pub async fn new_key(&self, project_id: &str, kind: KeyKind) -> String {
        let k = keys::generate_api_key(kind);
        self.store
            .create_api_key(project_id, kind, &k)
            .await
            .expect("key");
        k.plaintext
    }

    pub async fn send(&self, mut req: Request<Body>) -> Page {
        let ext = req.extensions_mut();
        if ext.get::<ConnectInfo<SocketAddr>>().is_none() {
            ext.insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        }
        let resp = self.svc.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        Page {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).to_string(),
        }
    }

    /// A REST API call with this app's admin key (to set up or check state the way a client
    /// would). `body` is JSON.
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> Page {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1:8080")
            .header("authorization", format!("Bearer {}", self.key));
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).expect("request")).await
    }

    /// A browser with no cookies yet.
    pub fn browser(&self) -> Browser<'_> {
        Browser {
            app: self,
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }

    /// A browser signed in with this app's admin key.
    pub async fn signed_in(&self) -> Browser<'_> {
        let mut b = self.browser();
        b.sign_in(&self.key.clone()).await.assert_status(303);
        b
    }
}

/// A cookie-keeping client that posts forms as a dashboard page does.
pub struct Browser<'a> {
    app: &'a TestApp,
    pub cookies: BTreeMap<String, String>,
    /// The CSRF token of the last page loaded that had forms.
    pub csrf: Option<String>,
}

impl Browser<'_> {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, page: &Page) {
        for c in page.set_cookies() {
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = c.to_ascii_lowercase().contains("max-age=0");
                if expired || value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        if let Some(token) = page.csrf() {
            self.csrf = Some(token);
        }
    }

    /// The session cookie's value, if signed in.
    pub fn session_cookie(&self) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k.ends_with("tome_session"))
            .map(|(_, v)| v.as_str())
    }

    /// `GET path`, without following redirects.
    pub async fn get(&mut self, path: &str) -> Page {
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header("host", "127.0.0.1:8080")
            .header("cookie", self.cookie_header())
            .header("sec-fetch-site", "same-origin")
            .body(Body::empty())
            .expect("request");
        let page = self.app.send(req).await;
        self.keep_cookies(&page);
        page
    }

    /// `GET path`, following redirects within the dashboard (at most 5).
    pub async fn visit(&mut self, path: &str) -> Page {
        let mut page = self.get(path).await;
        for _ in 0..5 {
            if !page.status.is_redirection() {
                break;
            }
            let next = page.location().to_string();
            page = self.get(&next).await;
        }
        page
    }

    /// Posts a form as the dashboard's pages do: same-origin, with the CSRF token of the last
    /// page loaded (unless the fields carry their own `_csrf`).
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(t) = self
            .csrf
            .as_ref()
            .filter(|_| !all.iter().any(|(k, _)| k == "_csrf"))
        {
            all.push(("_csrf".into(), t.clone()));
        }
        self.post_raw(path, &all, &[("sec-fetch-site", "same-origin")])
            .await
    }

    /// Posts urlencoded `fields` with exactly the extra headers given (no CSRF token added): for
    /// cross-site and forged requests.
    pub async fn post_raw(
        &mut self,
        path: &str,
        fields: &[(String, String)],
        headers: &[(&str, &str)],
    ) -> Page {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .finish();
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("host", "127.0.0.1:8080")
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let page = self
            .app
            .send(b.body(Body::from(body)).expect("request"))
            .await;
        self.keep_cookies(&page);
        page
    }

    /// Signs in with `key` (loads the sign-in page first, as a person would).
    pub async fn sign_in(&mut self, key: &str) -> Page {
        self.get("/dashboard/sign-in").await;
        self.submit("/dashboard/sign-in", &[("key", key)]).await
    }
}
