//! Signing in and out, sessions, the CSRF and origin checks, and the headers every page carries.

use tome_core::keys::KeyKind;

use crate::support::TestApp;

#[tokio::test]
async fn a_page_without_a_session_redirects_to_sign_in_and_back() {
    let app = TestApp::new().await;
    let mut b = app.browser();
    let page = b.get("/dashboard?x=1").await;
    page.assert_status(303);
    assert_eq!(
        page.location(),
        "/dashboard/sign-in?next=%2Fdashboard%3Fx%3D1"
    );
    b.get(page.location()).await.assert_status(200);
    let signed = b
        .submit(
            "/dashboard/sign-in",
            &[("key", &app.key), ("next", "/dashboard?x=1")],
        )
        .await;
    signed.assert_status(303);
    assert_eq!(signed.location(), "/dashboard?x=1");
    // Never to another site.
    for evil in [
        "//evil.example/dashboard",
        "https://evil.example",
        "/dashboard\\@evil",
    ] {
        b.get("/dashboard/sign-in").await;
        let page = b
            .submit("/dashboard/sign-in", &[("key", &app.key), ("next", evil)])
            .await;
        assert_eq!(page.location(), "/dashboard", "{evil}");
    }
    // An unknown dashboard path is the dashboard's own 404 page.
    let missing = b.get("/dashboard/no-such-page").await;
    missing
        .assert_status(404)
        .assert_contains("<!doctype html>");
}

#[tokio::test]
async fn sign_in_sets_a_fresh_http_only_lax_cookie_and_stores_only_its_hash() {
    let app = TestApp::new().await;
    let mut b = app.browser();
    // A cookie planted before sign-in is never adopted (no session fixation).
    b.cookies.insert("tome_session".into(), "A".repeat(43));
    let page = b.sign_in(&app.key).await;
    page.assert_status(303);
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("tome_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let id = b.session_cookie().expect("signed in").to_string();
    assert_ne!(id, "A".repeat(43));
    assert_eq!(id.len(), 43, "256 random bits, base64url");
    // Stored hashed: the raw ID finds nothing, its SHA-256 finds the session.
    assert!(app.store.find_session(&id).await.expect("read").is_none());
    let hash = tome_dashboard::session::hash_id(&id);
    assert!(app.store.find_session(&hash).await.expect("read").is_some());
    b.visit("/dashboard")
        .await
        .assert_status(200)
        .assert_contains("Signed in.");
}

#[tokio::test]
async fn over_https_the_cookie_is_host_prefixed_and_secure() {
    let mut config = crate::support::test_config();
    config.base_url = "https://tome.example.com".into();
    let app = TestApp::with_config(config).await;
    let mut b = app.browser();
    let page = b.sign_in(&app.key).await;
    page.assert_status(303);
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-tome_session="))
        .expect("__Host- cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    b.get("/dashboard").await.assert_status(200);
}

#[tokio::test]
async fn wrong_keys_are_refused_next_to_the_field() {
    let app = TestApp::new().await;
    let assistant = app.new_key(&app.project_id, KeyKind::Assistant).await;
    let mut b = app.browser();
    for (key, message) in [
        ("", "Enter an admin API key."),
        ("nonsense", "not a Tome API key"),
        (assistant.as_str(), "This is an assistant key"),
    ] {
        let page = b.sign_in(key).await;
        assert!(page.status.is_client_error(), "{key}: {}", page.status);
        page.assert_contains(message);
        page.assert_contains("aria-invalid=\"true\"");
        assert!(b.session_cookie().is_none());
    }
    let revoked = app.new_key(&app.project_id, KeyKind::Admin).await;
    let found = app
        .store
        .find_api_key(&tome_core::keys::hash_key(&revoked))
        .await
        .expect("read")
        .expect("key");
    app.store.revoke_api_key(&found.id).await.expect("revoke");
    b.sign_in(&revoked)
        .await
        .assert_status(401)
        .assert_contains("revoked");
}

#[tokio::test]
async fn sign_in_attempts_are_throttled_per_client_address() {
    let app = TestApp::new().await;
    let mut b = app.browser();
    let limit = tome_dashboard::pages::auth::SIGN_IN_ATTEMPTS_PER_MINUTE;
    for _ in 0..limit {
        b.sign_in("tome_wrongwrongwrongwrongwrongwrongwr")
            .await
            .assert_status(401);
    }
    let page = b.sign_in(&app.key).await;
    page.assert_status(429);
    assert!(page.header("retry-after").is_some());
    assert!(b.session_cookie().is_none(), "no session while throttled");
}

#[tokio::test]
async fn sign_out_ends_the_session_and_the_back_button_shows_nothing() {
    let app = TestApp::new().await;
    let mut b = app.signed_in().await;
    let page = b.visit("/dashboard").await;
    page.assert_status(200);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let old = b.session_cookie().expect("cookie").to_string();
    let out = b.submit("/dashboard/sign-out", &[]).await;
    out.assert_status(303);
    assert_eq!(out.header("clear-site-data"), Some("\"cache\""));
    assert!(b.session_cookie().is_none(), "cookie cleared");
    // Replaying the old cookie gets nothing either: the session is gone from the database.
    b.cookies.insert("tome_session".into(), old);
    b.get("/dashboard").await.assert_status(303);
}

#[tokio::test]
async fn revoking_the_key_ends_its_sessions() {
    let app = TestApp::new().await;
    let key = app.new_key(&app.project_id, KeyKind::Admin).await;
    let mut b = app.browser();
    b.sign_in(&key).await.assert_status(303);
    b.get("/dashboard").await.assert_status(200);
    let found = app
        .store
        .find_api_key(&tome_core::keys::hash_key(&key))
        .await
        .expect("read")
        .expect("key");
    app.store.revoke_api_key(&found.id).await.expect("revoke");
    let page = b.get("/dashboard").await;
    page.assert_status(303);
    assert!(page.location().starts_with("/dashboard/sign-in"));
}

#[tokio::test]
async fn cross_site_posts_are_refused_with_or_without_a_token() {
    let app = TestApp::new().await;
    let mut b = app.signed_in().await;
    let token = b.visit("/dashboard").await.csrf().expect("token");
    let fields = vec![("_csrf".to_string(), token.clone())];
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
    ] {
        let page = b.post_raw("/dashboard/sign-out", &fields, &headers).await;
        page.assert_status(403);
    }
    // Same origin but no token, or another session's token: refused too.
    b.post_raw(
        "/dashboard/sign-out",
        &[],
        &[("sec-fetch-site", "same-origin")],
    )
    .await
    .assert_status(403);
    let other = app.signed_in().await;
    let other_token = other.csrf.clone().unwrap_or_default();
    assert_ne!(other_token, token);
    b.post_raw(
        "/dashboard/sign-out",
        &[("_csrf".to_string(), other_token)],
        &[("origin", "http://127.0.0.1:8080")],
    )
    .await
    .assert_status(403);
    // Still signed in: nothing changed.
    b.get("/dashboard").await.assert_status(200);
}

#[tokio::test]
async fn pages_carry_a_strict_policy() {
    let app = TestApp::new().await;
    let mut b = app.signed_in().await;
    let page = b.visit("/dashboard").await;
    let csp = page.header("content-security-policy").expect("csp");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn idle_and_absolute_timeouts_end_sessions() {
    let app = TestApp::new().await;
    let mut b = app.signed_in().await;
    let id = b.session_cookie().expect("cookie").to_string();
    let hash = tome_dashboard::session::hash_id(&id);
    let (session, key) = app
        .store
        .find_session(&hash)
        .await
        .expect("read")
        .expect("row");
    let now = session.created_at;
    let idle = tome_dashboard::session::IDLE_TIMEOUT_SECS;
    let absolute = tome_dashboard::session::ABSOLUTE_TIMEOUT_SECS;
    let mut s = session.clone();
    assert!(tome_dashboard::session::alive(&s, &key, now + idle - 1));
    assert!(!tome_dashboard::session::alive(&s, &key, now + idle));
    s.last_seen_at = now + absolute - 10;
    assert!(!tome_dashboard::session::alive(&s, &key, now + absolute));
    // Pruning removes what ran out.
    assert_eq!(
        app.store
            .prune_sessions(now + 1, now - absolute)
            .await
            .expect("prune"),
        1
    );
    b.get("/dashboard").await.assert_status(303);
}

#[tokio::test]
async fn another_projects_session_sees_only_its_project() {
    let app = TestApp::new().await;
    let (other_project, other_key) = app.new_project("other").await;
    let mut b = app.browser();
    b.sign_in(&other_key).await.assert_status(303);
    let page = b.visit("/dashboard").await;
    page.assert_status(200).assert_contains(&other_project);
    assert!(!page.text.contains(&app.project_id));
}
