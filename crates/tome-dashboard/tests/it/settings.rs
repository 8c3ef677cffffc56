//! The KB, site-key, API-key, project, source and assistant pages: each renders, each form
//! changes the data (checked through the REST API or the store), 422s land next to their
//! fields, other projects' IDs are 404s, user content is escaped, and a post without the CSRF
//! token is refused with nothing changed.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::json;
use tome_core::assistant::{NewExchange, Resolution, ResponseType, SourceRef};
use tome_core::keys::KeyKind;
use tome_core::source::{CommitInfo, FilesChanged, UpdateReport};
use tome_store::UpdateClaim;

use crate::support::{Browser, Page, TestApp};

const XSS: &str = "<script>alert(1)</script>";

/// The text of the element with `id` (up to its first tag end): a secret shown on a page.
fn text_of(page: &Page, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let at = page.text.find(&marker).expect("element on the page") + marker.len();
    page.text[at..]
        .split('<')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Creates a KB through the dashboard form; returns its ID and the site key shown once.
async fn create_kb(b: &mut Browser<'_>, slug: &str, public: bool) -> (String, String) {
    b.visit("/dashboard/kbs/new").await.assert_status(200);
    let mut fields = vec![
        ("title", "Help"),
        ("slug", slug),
        ("theme", "docs"),
        ("theme_settings.assistant", "true"),
    ];
    if public {
        fields.push(("is_public", "true"));
    }
    let page = b.submit("/dashboard/kbs/new", &fields).await;
    page.assert_status(200)
        .assert_contains("Shown once")
        .assert_contains("Knowledge base created.");
    let key = text_of(&page, "new-site-key");
    assert!(key.starts_with("tome_site_") || key.len() > 20, "{key}");
    let at = page.text.find("/dashboard/kb/kb_").expect("kb link") + "/dashboard/kb/".len();
    let id: String = page.text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (id, key)
}

async fn public_read(app: &TestApp, slug: &str, key: &str) -> u16 {
    let req = Request::builder()
        .method(Method::GET)
        .uri(format!("/v1/kb/public/{slug}/structure"))
        .header("host", "127.0.0.1:8080")
        .header("x-minolith-site-key", key)
        .body(Body::empty())
        .expect("request");
    app.send(req).await.status.as_u16()
}

#[tokio::test]
async fn kbs_list_create_settings_and_typed_delete() {
    let app = TestApp::new().await;
    let mut b = app.signed_in().await;
    b.visit("/dashboard/kbs")
        .await
        .assert_status(200)
        .assert_contains("No knowledge base yet")
        .assert_contains("href=\"/dashboard/kbs/new\"");

    // A title over the limit (500): the API's 422, next to the field, with the input kept.
    b.visit("/dashboard/kbs/new").await;
    let long = "x".repeat(501);
    let page = b
        .submit(
            "/dashboard/kbs/new",
            &[("title", &long), ("slug", "docs"), ("theme", "minimal")],
        )
        .await;
    page.assert_status(422)
        .assert_contains("<p class=\"error\" id=\"title-error\">")
        .assert_contains("aria-invalid=\"true\"")
        .assert_contains("value=\"docs\"");
    // A bad slug lands next to the slug.
    let page = b
        .submit(
            "/dashboard/kbs/new",
            &[("title", "T"), ("slug", "Not A Slug"), ("theme", "minimal")],
        )
        .await;
    page.assert_status(422).assert_contains("id=\"slug-error\"");

    let (id, _) = create_kb(&mut b, "help", true).await;
    let list = b.visit("/dashboard/kbs").await;
    list.assert_status(200)
        .assert_contains(&format!("/dashboard/kb/{id}"))
        .assert_contains("/help");
    // Taking the same slug again is the API's 422 on `slug`.
    b.visit("/dashboard/kbs/new").await;
    b.submit(
        "/dashboard/kbs/new",
        &[("title", "Again"), ("slug", "help"), ("theme", "minimal")],
    )
    .await
    .assert_status(422)
    .assert_contains("id=\"slug-error\"");

    // Settings: every field saves, as the REST API then reports.
    let settings = format!("/dashboard/kb/{id}/settings");
    b.visit(&settings)
        .await
        .assert_status(200)
        .assert_contains("<iframe")
        .assert_contains("title=\"Preview of the help centre");
    let css = format!("body{{color:red}}</style>{XSS}");
    let title = format!("Support {XSS}");
    let saved = b
        .submit(
            &settings,
            &[
                ("title", &title),
                ("slug", "support"),
                ("description", "All about it"),
                ("theme", "brand"),
                ("theme_settings.primary_color", "#112233"),
                ("theme_settings.dark_mode", "true"),
                ("theme_settings.custom_css", &css),
                ("logo_path", "/logo.svg"),
            ],
        )
        .await;
    saved.assert_status(303);
    assert_eq!(saved.location(), settings);
    let kb = app
        .api(Method::GET, &format!("/v1/kb/{id}"), None)
        .await
        .json();
    let kb = &kb["data"];
    assert_eq!(kb["title"], title);
    assert_eq!(kb["slug"], "support");
    assert_eq!(kb["theme"], "brand");
    assert_eq!(kb["is_public"], false, "the box was unticked");
    assert_eq!(kb["theme_settings"]["primary_color"], "#112233");
    assert_eq!(kb["theme_settings"]["dark_mode"], true);
    assert_eq!(kb["theme_settings"]["assistant"], false);
    assert_eq!(kb["theme_settings"]["custom_css"], css);
    // The stored CSS and title come back escaped on the settings page.
    let page = b.visit(&settings).await;
    page.assert_status(200)
        .assert_contains("Settings saved.")
        .assert_contains("&lt;/style&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
    assert!(!page.text.contains(XSS), "user content must be escaped");
    // A colour the API refuses is shown next to its field.
    b.submit(
        &settings,
        &[
            ("title", "T"),
            ("slug", "support"),
            ("theme", "brand"),
            ("theme_settings.primary_color", "red"),
        ],
    )
    .await
    .assert_status(422)
    .assert_contains("id=\"theme_settings.primary_color-error\"");

    // Delete: the typed slug is checked by the server.
    let delete = format!("/dashboard/kb/{id}/delete");
    b.visit(&delete)
        .await
        .assert_status(200)
        .assert_contains("data-confirm-text=\"support\"");
    b.submit(&delete, &[("confirm_slug", "help")])
        .await
        .assert_status(422)
        .assert_contains("id=\"confirm_slug-error\"");
    app.api(Method::GET, &format!("/v1/kb/{id}"), None)
        .await
        .assert_status(200);
    let gone = b.submit(&delete, &[("confirm_slug", "support")]).await;
    gone.assert_status(303);
    assert_eq!(gone.location(), "/dashboard/kbs");
    app.api(Method::GET, &format!("/v1/kb/{id}"), None)
        .await
        .assert_status(404);
    b.visit("/dashboard/kbs")
        .await
        .assert_contains("deleted.")
        .assert_contains("No knowledge base yet");
}

#[tokio::test]
async fn the_theme_preview_renders_unsaved_settings_framable_only_here_and_css_inert() {
    let app = TestApp::new().await;
    let mut b = app.signed_in().await;
    let (id, _) = create_kb(&mut b, "help", false).await;
    let preview = format!("/dashboard/kb/{id}/theme-preview");
    let saved = b.get(&preview).await;
    saved.assert_status(200).assert_contains("<html");
    let csp = saved.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(saved.header("x-frame-options"), Some("SAMEORIGIN"));
    assert_eq!(saved.header("cache-control"), Some("no-store"));

    // Unsaved values: the theme's stylesheet and the custom CSS, made inert.
    let css = "a{color:red}</style><script>alert(1)</script>";
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("title", "Preview title"),
            ("theme", "developer"),
            ("theme_settings.custom_css", css),
            ("theme_settings.primary_color", "#abcdef"),
        ])
        .finish();
    let page = b.get(&format!("{preview}?{query}")).await;
    page.assert_status(200)
        .assert_contains("developer.")
        .assert_contains("Preview title")
        .assert_contains("--primary:#abcdef");
    assert!(!page.text.contains("</style><script>"), "{}", page.text);
    assert!(!page.text.contains("<script>alert(1)"), "{}", page.text);
    // Nothing was saved.
    let kb = app
        .api(Method::GET, &format!("/v1/kb/{id}"), None)
        .await
        .json();
    assert_eq!(kb["data"]["theme"], "docs");
    assert_eq!(kb["data"]["title"], "Help");
    // A value the API refuses says so inside the frame.
    b.get(&format!("{preview}?title=T&theme=neon"))
        .await
        .assert_status(422)
        .assert_contains("Theme");
    // Without JavaScript the Preview button posts the whole form into the frame (a GET would
    // put the CSRF token in the URL): the same preview, checked like every post, nothing saved.
    let settings = b.visit(&format!("/dashboard/kb/{id}/settings")).await;
    settings.assert_contains(&format!("formaction=\"{preview}\""));
    assert!(!settings.text.contains("formmethod=\"get\""));
    b.submit(
        &preview,
        &[("title", "Posted title"), ("theme", "developer")],
    )
    .await
    .assert_status(200)
    .assert_contains("Posted title")
    .assert_contains("developer.");
    b.submit(&preview, &[("title", "T"), ("theme", "neon")])
        .await
        .assert_status(422);
    b.post_raw(
        &preview,
        &[("title".into(), "Forged".into())],
        &[("sec-fetch-site", "same-origin")],
    )
    .await
    .assert_status(403);
    let kb = app
        .api(Method::GET, &format!("/v1/kb/{id}"), None)
        .await
        .json();
    assert_eq!(kb["data"]["title"], "Help");
    // It needs the session.
    let mut stranger = app.browser();
    stranger.get(&preview).await.assert_status(303);
}

#[tokio::test]
async fn rotating_the_site_key_stops_the_old_one_and_shows_the_new_once() {
    let app = TestApp::new().await;
    let mut b = app.signed_in().await;
    let (id, old) = create_kb(&mut b, "help", true).await;
    assert_eq!(public_read(&app, "help", &old).await, 200);

    let page_url = format!("/dashboard/kb/{id}/site-key");
    let page = b.visit(&page_url).await;
    page.assert_status(200).assert_contains("Rotate key");
    assert!(!page.text.contains(&old), "a stored key is never shown");
    assert!(!page.text.contains("Shown once"));

    let rotated = b
        .submit(&format!("/dashboard/kb/{id}/site-key/rotate"), &[])
        .await;
    rotated
        .assert_status(200)
        .assert_contains("Shown once")
        .assert_contains("data-copy=\"#new-site-key\"");
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let new = text_of(&rotated, "new-site-key");
    assert_ne!(new, old);
    assert_eq!(public_read(&app, "help", &old).await, 403);
    assert_eq!(public_read(&app, "help", &new).await, 200);
    let again = b.visit(&page_url).await;
    assert!(!again.text.contains(&new), "shown once only");

    // Revoke does what the API's revoke does: the key goes and a new one is issued.
    let revoked = b
        .submit(&format!("/dashboard/kb/{id}/site-key/revoke"), &[])
        .await;
    revoked.assert_status(200);
    let newest = text_of(&revoked, "new-site-key");
    assert_eq!(public_read(&app, "help", &new).await, 403);
    assert_eq!(public_read(&app, "help", &newest).await, 200);

    // Rate limit: out of range is the API's 422 next to the field; in range saves.
    let rate = format!("/dashboard/kb/{id}/site-key/rate-limit");
    b.visit(&page_url).await;
    b.submit(&rate, &[("rate_limit", "0")])
        .await
        .assert_status(422)
        .assert_contains("id=\"rate_limit-error\"");
    b.submit(&rate, &[("rate_limit", "abc")])
        .await
        .assert_status(422)
        .assert_contains("id=\"rate_limit-error\"");
    b.submit(&rate, &[("rate_limit", "42")])
        .await
        .assert_status(303);
    let key = app
        .api(Method::GET, &format!("/v1/kb/{id}/site-key"), None)
        .await
        .json();
    assert_eq!(key["data"]["rate_limit"], 42);
}

#[tokio::test]
async fn api_keys_are_shown_once_and_revoking_your_own_ends_the_session() {
    let app = TestApp::new().await;
    let mut b = app.signed_in().await;
    b.visit("/dashboard/keys")
        .await
        .assert_status(200)
        .assert_contains("This session's key");
    let created = b.submit("/dashboard/keys", &[("kind", "assistant")]).await;
    created.assert_status(200).assert_contains("Shown once");
    let plaintext = text_of(&created, "new-api-key");
    assert!(plaintext.starts_with("tome_dsc_"), "{plaintext}");
    let list = b.visit("/dashboard/keys").await;
    assert!(!list.text.contains(&plaintext), "never shown again");
    let keys = app
        .store
        .list_api_keys(&app.project_id)
        .await
        .expect("keys");
    assert_eq!(keys.len(), 2);
    b.submit("/dashboard/keys", &[("kind", "root")])
        .await
        .assert_status(422)
        .assert_contains("id=\"kind-error\"");

    // Another project's key is a 404, and stays active.
    let (other, _) = app.new_project("other").await;
    app.new_key(&other, KeyKind::Admin).await;
    let foreign = app.store.list_api_keys(&other).await.expect("keys");
    b.visit("/dashboard/keys").await;
    b.submit(&format!("/dashboard/keys/{}/revoke", foreign[0].id), &[])
        .await
        .assert_status(404);
    let foreign = app.store.list_api_keys(&other).await.expect("keys");
    assert!(foreign[0].revoked_at.is_none());

    // Revoking the assistant key: it stops working at once.
    let assistant = keys
        .iter()
        .find(|k| k.kind == KeyKind::Assistant)
        .expect("assistant key");
    let done = b
        .submit(&format!("/dashboard/keys/{}/revoke", assistant.id), &[])
        .await;
    done.assert_status(303);
    assert_eq!(done.location(), "/dashboard/keys");
    b.visit("/dashboard/keys")
        .await
        .assert_contains("badge-revoked");

    // Revoking the session's own key signs it out, here and for good.
    let own = keys
        .iter()
        .find(|k| k.kind == KeyKind::Admin)
        .expect("admin key");
    let out = b
        .submit(&format!("/dashboard/keys/{}/revoke", own.id), &[])
        .await;
    out.assert_status(303);
    assert_eq!(out.location(), "/dashboard/sign-in");
    assert!(b.session_cookie().is_none(), "cookie cleared");
    app.api(Method::GET, "/v1/project", None)
        .await
        .assert_status(401);
}

#[tokio::test]
async fn allowed_domains_save_one_a_line_and_errors_name_the_line() {
    let app = TestApp::new().await;
    let mut b = app.signed_in().await;
    b.visit("/dashboard/project")
        .await
        .assert_status(200)
        .assert_contains(&app.project_id);
    b.submit(
        "/dashboard/project",
        &[("allowed_domains", "example.com\n\nlocalhost:5173\n")],
    )
    .await
    .assert_status(303);
    let p = app.api(Method::GET, "/v1/project", None).await.json();
    assert_eq!(
        p["data"]["allowed_domains"],
        json!(["example.com", "localhost:5173"])
    );
    let page = b
        .submit(
            "/dashboard/project",
            &[("allowed_domains", "example.com\nhttps://<b>bad</b>")],
        )
        .await;
    page.assert_status(422)
        .assert_contains("id=\"allowed_domains-error\"")
        .assert_contains("Domain 2")
        .assert_contains("&lt;b&gt;bad");
    let p = app.api(Method::GET, "/v1/project", None).await.json();
    assert_eq!(
        p["data"]["allowed_domains"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn sources_keep_secrets_write_only_and_update_now_queues_a_dashboard_update() {
    let app = TestApp::new().await;
    let mut b = app.signed_in().await;
    let (id, _) = create_kb(&mut b, "help", false).await;
    let source = format!("/dashboard/kb/{id}/source");
    b.visit(&source)
        .await
        .assert_status(200)
        .assert_contains("Connect a source")
        .assert_contains("No updates yet");
    b.submit(
        &source,
        &[
            ("type", "git"),
            ("url", "ftp://example.com/x"),
            ("format", "auto"),
        ],
    )
    .await
    .assert_status(422)
    .assert_contains("id=\"url-error\"");
    // Folder sources are off on this server: the refusal is shown though the form has no
    // control for the type.
    b.submit(
        &source,
        &[("type", "folder"), ("url", "/srv/docs"), ("format", "auto")],
    )
    .await
    .assert_status(422)
    .assert_contains("folder sources are disabled");
    let secret = "s3cret-token-value-123";
    b.submit(
        &source,
        &[
            ("type", "git"),
            ("url", "https://example.com/acme/docs.git"),
            ("format", "auto"),
            ("token", secret),
            ("webhook_secret", "a-webhook-secret-long-enough"),
        ],
    )
    .await
    .assert_status(303);
    let got = app
        .api(Method::GET, &format!("/v1/kb/{id}/source"), None)
        .await
        .json();
    assert_eq!(got["data"]["has_token"], true);
    assert_eq!(got["data"]["has_webhook_secret"], true);
    let page = b.visit(&source).await;
    page.assert_status(200)
        .assert_contains("Set. Leave empty to keep it")
        .assert_contains(&format!("/v1/hooks/git/{id}"));
    assert!(!page.text.contains(secret), "write-only");
    assert!(!page.text.contains("a-webhook-secret-long-enough"));
    // Saving again with the secret fields empty keeps them; "remove" clears the token.
    b.submit(
        &source,
        &[
            ("type", "git"),
            ("url", "https://example.com/acme/docs.git"),
            ("branch", "main"),
            ("format", "auto"),
            ("clear_token", "true"),
        ],
    )
    .await
    .assert_status(303);
    let got = app
        .api(Method::GET, &format!("/v1/kb/{id}/source"), None)
        .await
        .json();
    assert_eq!(got["data"]["has_token"], false);
    assert_eq!(got["data"]["has_webhook_secret"], true);
    assert_eq!(got["data"]["branch"], "main");

    b.visit(&source).await;
    let queued = b.submit(&format!("{source}/update"), &[]).await;
    queued.assert_status(303);
    let location = queued.location().to_string();
    assert!(
        location.starts_with(&format!("/dashboard/kb/{id}/updates/upd_")),
        "{location}"
    );
    let update = b.visit(&location).await;
    update.assert_status(200).assert_contains("dashboard");
    let updates = app
        .api(Method::GET, "/v1/project/updates", None)
        .await
        .json();
    assert_eq!(updates["data"][0]["source"], "dashboard");
    // A finished update shows its commit, files changed and logs, escaped.
    let update_id = location.rsplit('/').next().unwrap_or_default().to_string();
    let claimed = app
        .store
        .claim_update("test-node", 60_000, UpdateClaim::Job(&update_id))
        .await
        .expect("claim")
        .expect("the job");
    assert_eq!(claimed.job.id, update_id);
    let report = UpdateReport {
        summary: "Could not read docs/<b>.md".into(),
        logs: vec!["fetching".into(), format!("error in {XSS}")],
        author: Some("Ann <ann@example.com>".into()),
        commit: Some(CommitInfo {
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            ref_name: "refs/heads/main".into(),
            message: "Add guides".into(),
            files_changed: FilesChanged {
                added: vec!["guides/new.md".into()],
                modified: vec!["index.md".into()],
                removed: vec![],
            },
        }),
    };
    assert!(
        app.store
            .fail_update(&update_id, "test-node", &report)
            .await
            .expect("fail")
    );
    let page = b.visit(&location).await;
    page.assert_status(200)
        .assert_contains("badge-failure")
        .assert_contains("0123456789abcdef")
        .assert_contains("guides/new.md")
        .assert_contains("Added (1)")
        .assert_contains("Removed (0)")
        .assert_contains("error in &lt;script&gt;")
        .assert_contains("Ann &lt;ann@example.com&gt;");
    assert!(!page.text.contains(XSS));
    b.visit(&source)
        .await
        .assert_contains(location.rsplit('/').next().unwrap_or_default());

    // The update of another KB is not found under this one.
    let (other_kb, _) = create_kb(&mut b, "other", false).await;
    b.visit(&format!(
        "/dashboard/kb/{other_kb}/updates/{}",
        location.rsplit('/').next().unwrap_or_default()
    ))
    .await
    .assert_status(404);

    b.visit(&source).await;
    b.submit(&format!("{source}/delete"), &[])
        .await
        .assert_status(303);
    app.api(Method::GET, &format!("/v1/kb/{id}/source"), None)
        .await
        .assert_status(404);
}

#[tokio::test]
async fn assistant_conversations_list_and_transcript_escape_what_readers_typed() {
    let app = TestApp::new().await;
    let mut b = app.signed_in().await;
    b.visit("/dashboard/assistant")
        .await
        .assert_status(200)
        .assert_contains("No conversations yet");
    let (kb_id, _) = create_kb(&mut b, "help", true).await;
    let thread = app
        .store
        .create_thread(&app.project_id, &kb_id, "reader")
        .await
        .expect("thread");
    app.store
        .append_exchange(
            &app.project_id,
            &thread.id,
            NewExchange {
                question: format!("How do I {XSS}?"),
                page_url: None,
                answer: "Open **Settings** [1].\n\n<img src=x onerror=alert(1)>".into(),
                sources: vec![
                    SourceRef {
                        title: "Settings guide".into(),
                        url: "http://127.0.0.1:8080/hc/help/articles/x".into(),
                    },
                    SourceRef {
                        title: "Bad".into(),
                        url: "javascript:alert(1)".into(),
                    },
                ],
                response_type: ResponseType::Answer,
                resolution: Resolution::Answered,
            },
        )
        .await
        .expect("exchange");
    let list = b.visit("/dashboard/assistant").await;
    list.assert_status(200)
        .assert_contains(&format!("/dashboard/assistant/{}", thread.id))
        .assert_contains("How do I &lt;script&gt;")
        .assert_contains("badge-answered");
    assert!(!list.text.contains(XSS));
    let transcript = b
        .visit(&format!("/dashboard/assistant/{}", thread.id))
        .await;
    transcript
        .assert_status(200)
        .assert_contains("<strong>Settings</strong>")
        .assert_contains("href=\"http://127.0.0.1:8080/hc/help/articles/x\"")
        .assert_contains("Settings guide");
    assert!(!transcript.text.contains(XSS));
    assert!(!transcript.text.contains("onerror"));
    assert!(!transcript.text.contains("href=\"javascript:"));
    // Filters: a bad date is a 422 next to its field; a window without answers is empty.
    b.visit("/dashboard/assistant?dateFrom=yesterday")
        .await
        .assert_status(422)
        .assert_contains("id=\"dateFrom-error\"");
    b.visit("/dashboard/assistant?dateFrom=2001-01-01&dateTo=2001-01-02")
        .await
        .assert_status(200)
        .assert_contains("No conversations in this period");
}

#[tokio::test]
async fn other_projects_ids_are_404_and_posts_without_the_token_change_nothing() {
    let app = TestApp::new().await;
    let (other, other_key) = app.new_project("other").await;
    let mut theirs = app.browser();
    theirs.sign_in(&other_key).await.assert_status(303);
    let (foreign, _) = create_kb(&mut theirs, "theirs", true).await;

    let mut b = app.signed_in().await;
    for path in [
        format!("/dashboard/kb/{foreign}/settings"),
        format!("/dashboard/kb/{foreign}/delete"),
        format!("/dashboard/kb/{foreign}/site-key"),
        format!("/dashboard/kb/{foreign}/source"),
        format!("/dashboard/kb/{foreign}/theme-preview"),
    ] {
        b.visit(&path).await.assert_status(404);
    }
    b.visit("/dashboard/kbs").await;
    for path in [
        format!("/dashboard/kb/{foreign}/settings"),
        format!("/dashboard/kb/{foreign}/site-key/rotate"),
        format!("/dashboard/kb/{foreign}/source/update"),
    ] {
        b.submit(&path, &[("title", "Mine now"), ("slug", "mine")])
            .await
            .assert_status(404);
    }
    b.submit(
        &format!("/dashboard/kb/{foreign}/delete"),
        &[("confirm_slug", "theirs")],
    )
    .await
    .assert_status(404);
    assert!(app.store.get_kb(&other, &foreign).await.is_ok());
    b.visit("/dashboard/assistant/thr_doesnotexist")
        .await
        .assert_status(404);

    // Without the CSRF token: 403, and the KB is as it was.
    let (mine, _) = create_kb(&mut b, "mine", false).await;
    let fields = vec![
        ("title".to_string(), "Forged".to_string()),
        ("slug".to_string(), "forged".to_string()),
    ];
    b.post_raw(
        &format!("/dashboard/kb/{mine}/settings"),
        &fields,
        &[("sec-fetch-site", "same-origin")],
    )
    .await
    .assert_status(403);
    b.post_raw(
        &format!("/dashboard/kb/{mine}/delete"),
        &[("confirm_slug".to_string(), "mine".to_string())],
        &[("sec-fetch-site", "same-origin")],
    )
    .await
    .assert_status(403);
    let kb = app
        .api(Method::GET, &format!("/v1/kb/{mine}"), None)
        .await
        .json();
    assert_eq!(kb["data"]["title"], "Help");
}

#[tokio::test]
async fn the_key_list_is_paginated() {
    let app = TestApp::new().await;
    for _ in 0..29 {
        app.new_key(&app.project_id, KeyKind::Assistant).await;
    }
    let mut b = app.signed_in().await;
    let first = b.visit("/dashboard/keys").await;
    first.assert_status(200).assert_contains("rel=\"next\"");
    assert_eq!(first.text.matches("<td><code>").count(), 25);
    let at = first
        .text
        .find("/dashboard/keys?cursor=")
        .expect("next link");
    let next: String = first.text[at..]
        .split('"')
        .next()
        .unwrap_or_default()
        .into();
    let second = b.visit(&next.replace("&amp;", "&")).await;
    second.assert_status(200).assert_contains("rel=\"prev\"");
    assert_eq!(second.text.matches("<td><code>").count(), 5);
    b.visit("/dashboard/keys?cursor=forged")
        .await
        .assert_status(400);
}
