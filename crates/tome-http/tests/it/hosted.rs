//! The hosted help centre: every page, theme, rule and invalidation, through HTTP.

use std::io::Read;

use axum::body::Body;
use axum::http::{Method, Request};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tome_http::HttpConfig;

use crate::support::{TestApp, TestResponse, id_of, test_config};

const THEMES: [&str; 5] = ["minimal", "developer", "brand", "docs", "bare"];

/// A public KB with published, draft and archived content.
struct Site {
    kb: String,
    slug: String,
    start: String,
    billing: String,
    first_steps: String,
    article: String,
    invite: String,
    draft: String,
    archived: String,
}

impl Site {
    async fn new(app: &TestApp, slug: &str) -> Site {
        let r = app
            .post(
                "/v1/kb",
                json!({
                    "title": "Acme Help",
                    "slug": slug,
                    "description": "Answers for Acme customers, from setup to billing.",
                    "is_public": true,
                }),
            )
            .await;
        r.assert_status(201);
        let kb = id_of(&r);
        let start = app.create_category(&kb, "Getting started").await;
        let billing = app.create_category(&kb, "Billing").await;
        let first_steps = app.create_section(&kb, &start, "First steps").await;
        let invite = app
            .create_article(
                &kb,
                &start,
                json!({
                    "section_id": first_steps, "title": "Invite your team",
                    "excerpt": "Bring colleagues along.", "status": "published",
                    "body": "Open **Settings → Team** and send invitations.",
                }),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let article = app
            .create_article(
                &kb,
                &start,
                json!({
                    "section_id": first_steps,
                    "title": "Create your account",
                    "excerpt": "Sign up in two minutes and verify your email.",
                    "status": "published",
                    "tags": ["account", "onboarding"],
                    "related_articles": [invite],
                    "body": "## Sign up\n\nOpen the sign-up page.\n\n## Verify\n\nClick the link[^1].\n\n### Resend\n\n| Step | Time |\n|:--|--:|\n| Sign up | 1 min |\n\n- [x] Email\n- [ ] Phone\n\n~~Fax~~\n\n```rust\nfn main() { println!(\"hi\"); }\n```\n\n[^1]: It expires in a day.\n",
                }),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let draft = app
            .create_article(
                &kb,
                &billing,
                json!({ "title": "Secret pricing draft", "body": "Unreleased prices." }),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let archived = app
            .create_article(
                &kb,
                &billing,
                json!({ "title": "Old invoices page", "body": "Gone.", "status": "archived" }),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.create_article(
            &kb,
            &billing,
            json!({ "title": "Update your card", "body": "Go to **Billing**.", "status": "published" }),
        )
        .await;
        app.create_faq(
            &kb,
            &billing,
            json!({ "question": "Can I pay yearly?", "answer": "Yes — **two months free**.", "status": "published" }),
        )
        .await;
        app.create_faq(
            &kb,
            &billing,
            json!({ "question": "Hidden draft question?", "answer": "No.", "status": "draft" }),
        )
        .await;
        Site {
            kb,
            slug: slug.to_string(),
            start,
            billing,
            first_steps,
            article,
            invite,
            draft,
            archived,
        }
    }

    fn url(&self, rest: &str) -> String {
        format!("/hc/{}{rest}", self.slug)
    }

    fn mgmt(&self, rest: &str) -> String {
        format!("/v1/kb/{}{rest}", self.kb)
    }
}

async fn page(app: &TestApp, uri: &str) -> TestResponse {
    app.call(Method::GET, uri, None, None).await
}

async fn page_with(app: &TestApp, uri: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut b = Request::builder().uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    app.send(b.body(Body::empty()).unwrap()).await
}

/// The page without the Ask box's script element, which must be the one external, empty
/// `<script src=…ask.HASH.js defer>`; whatever else the page holds must not be script.
#[track_caller]
fn without_ask_script(html: &str) -> String {
    let Some(start) = html.find("<script") else {
        panic!("no Ask box script: {html}");
    };
    let end = start + html[start..].find("</script>").unwrap() + "</script>".len();
    let tag = &html[start..end];
    assert!(
        tag.starts_with("<script src=\"/hc/_assets/ask.") && tag.ends_with(".js\" defer></script>"),
        "{tag}"
    );
    format!("{}{}", &html[..start], &html[end..])
}

#[track_caller]
fn assert_html(r: &TestResponse, status: u16) {
    r.assert_status(status);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
}

/// Replaces IDs, asset hashes and today's dates so snapshots are stable.
fn normalize(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let bytes = html.as_bytes();
    let mut i = 0;
    'outer: while i < bytes.len() {
        for prefix in ["kba_", "kbc_", "kbs_", "kbf_", "kb_"] {
            let p = prefix.as_bytes();
            let end = i + p.len() + 12;
            if bytes[i..].starts_with(p)
                && end <= bytes.len()
                && bytes[i + p.len()..end]
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
            {
                out.push_str(prefix);
                out.push_str("ID");
                i = end;
                continue 'outer;
            }
        }
        let c = html[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    // Asset names: `base.0123456789ab.css` → `base.HASH.css` (and `.svg`, `.js`).
    let mut result = out;
    for ext in [".css", ".svg", ".js"] {
        let mut next = String::new();
        for (n, part) in result.split(ext).enumerate() {
            if n > 0 {
                next.push_str(ext);
            }
            match part.rsplit_once('.') {
                Some((stem, hash))
                    if hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
                {
                    next.push_str(stem);
                    next.push_str(".HASH");
                }
                _ => next.push_str(part),
            }
        }
        result = next;
    }
    let now = tome_core::time::now();
    let iso = format!("{}Z", now.replace(' ', "T"));
    let date_prefix = &iso[..11];
    // Timestamps inside `datetime="…"` and the human date next to them.
    let mut lines = Vec::new();
    for line in result.lines() {
        if line.contains("<time datetime=\"") {
            lines.push(
                "    <p class=\"meta\">Updated <time datetime=\"TIMESTAMP\">DATE</time></p>"
                    .to_string(),
            );
        } else if line.contains(date_prefix) {
            lines.push(line.replace(date_prefix, "DATE-T"));
        } else {
            lines.push(line.to_string());
        }
    }
    lines.join("\n")
}

#[tokio::test]
async fn every_page_of_every_theme() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    let pages = [
        ("home", String::new()),
        ("category", format!("/categories/{}", s.start)),
        ("section", format!("/sections/{}", s.first_steps)),
        ("article", format!("/articles/{}", s.article)),
        ("search", "/search?q=account".to_string()),
        ("faq", "/faq".to_string()),
        ("not_found", "/articles/kba_000000000000".to_string()),
    ];
    for theme in THEMES {
        app.put(&s.mgmt(""), json!({ "theme": theme }))
            .await
            .assert_status(200);
        for (name, rest) in &pages {
            let r = page(&app, &s.url(rest)).await;
            assert_html(&r, if *name == "not_found" { 404 } else { 200 });
            assert!(
                r.text.contains(&format!("data-theme=\"{theme}\"")),
                "{theme}/{name}"
            );
            assert!(
                !without_ask_script(&r.text).contains("<script"),
                "{theme}/{name}"
            );
            assert!(r.text.contains("<main id=\"main\""), "{theme}/{name}");
            insta::assert_snapshot!(format!("hosted_{theme}_{name}"), normalize(&r.text));
        }
    }
}

#[tokio::test]
async fn pages_show_the_kb_and_its_structure() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    let home = page(&app, &s.url("")).await;
    assert_html(&home, 200);
    for text in [
        "<title>Acme Help</title>",
        "Answers for Acme customers",
        "Getting started",
        "2 articles",
        "1 article · 1 FAQ",
        "type=\"search\"",
        "action=\"/hc/acme/search\"",
        "<details class=\"faq\"",
        "<summary>Can I pay yearly?</summary>",
    ] {
        assert!(home.text.contains(text), "home lacks {text:?}");
    }

    let cat = page(
        &app,
        &s.url(&format!("/categories/{}-getting-started", s.start)),
    )
    .await;
    assert_html(&cat, 200);
    assert!(cat.text.contains("<h1>Getting started</h1>"));
    assert!(cat.text.contains("First steps"));
    assert!(cat.text.contains("Create your account"));
    assert!(cat.text.contains("aria-label=\"Breadcrumb\""));

    let art = page(&app, &s.url(&format!("/articles/{}", s.article))).await;
    assert_html(&art, 200);
    for text in [
        "<h1 id=\"article-title\">Create your account</h1>",
        "<title>Create your account · Acme Help</title>",
        "<meta name=\"description\" content=\"Sign up in two minutes and verify your email.\">",
        "See also",
        "Invite your team",
        "<li>account</li>",
        "<time datetime=\"",
        "<table>",
        "type=\"checkbox\"",
        "<del>Fax</del>",
        "class=\"footnotes\"",
        "<h2 id=\"sign-up\">",
        "href=\"#sign-up\"",
        "data-lang=\"rust\"",
        "hl-",
        "class=\"prose kb-content\"",
        "View as Markdown",
    ] {
        assert!(art.text.contains(text), "article lacks {text:?}");
    }
    // Breadcrumbs: home → category → section → article.
    let crumbs = art.text.split("aria-label=\"Breadcrumb\"").nth(1).unwrap();
    let crumbs = crumbs.split("</nav>").next().unwrap();
    for (a, b) in [
        ("Acme Help", "Getting started"),
        ("Getting started", "First steps"),
    ] {
        assert!(crumbs.find(a).unwrap() < crumbs.find(b).unwrap());
    }
    assert!(crumbs.contains("aria-current=\"page\">Create your account"));

    let sec = page(&app, &s.url(&format!("/sections/{}", s.first_steps))).await;
    assert_html(&sec, 200);
    assert!(sec.text.contains("<h1>First steps</h1>"));
    assert!(sec.text.contains("Invite your team"));

    let faq = page(&app, &s.url("/faq")).await;
    assert_html(&faq, 200);
    assert!(faq.text.contains("<summary>Can I pay yearly?</summary>"));
    assert!(faq.text.contains("<strong>two months free</strong>"));
}

#[tokio::test]
async fn only_published_content_is_shown() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    let draft_title = "Secret pricing draft";
    let archived_title = "Old invoices page";
    for rest in [
        String::new(),
        format!("/categories/{}", s.billing),
        "/search?q=pricing".to_string(),
        "/search?q=invoices".to_string(),
        "/faq".to_string(),
        "/sitemap.xml".to_string(),
        "/llms.txt".to_string(),
        "/llms-full.txt".to_string(),
    ] {
        let r = page(&app, &s.url(&rest)).await;
        r.assert_status(200);
        for hidden in [draft_title, archived_title, "Hidden draft question"] {
            assert!(!r.text.contains(hidden), "{rest} shows {hidden}");
        }
    }
    for id in [&s.draft, &s.archived] {
        assert_html(&page(&app, &s.url(&format!("/articles/{id}"))).await, 404);
        page(&app, &s.url(&format!("/articles/{id}.md")))
            .await
            .assert_status(404);
    }
}

#[tokio::test]
async fn a_private_kb_is_404_on_every_hosted_url() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    app.put(&s.mgmt(""), json!({ "is_public": false }))
        .await
        .assert_status(200);
    for rest in [
        String::new(),
        format!("/categories/{}", s.start),
        format!("/sections/{}", s.first_steps),
        format!("/articles/{}", s.article),
        format!("/articles/{}.md", s.article),
        "/search?q=account".to_string(),
        "/faq".to_string(),
        "/sitemap.xml".to_string(),
        "/robots.txt".to_string(),
        "/llms.txt".to_string(),
        "/llms-full.txt".to_string(),
    ] {
        let r = page(&app, &s.url(&rest)).await;
        assert_html(&r, 404);
        // The same page as a slug that never existed: nothing tells that a private KB is there.
        assert!(!r.text.contains("Acme Help"), "{rest}");
    }
    let unknown = page(&app, "/hc/no-such-kb").await;
    assert_html(&unknown, 404);
    let private = page(&app, &s.url("")).await;
    assert_eq!(normalize(&unknown.text), normalize(&private.text));
    // The public API keeps working for SPAs (the spec: is_public is about the hosted page).
    assert_html(&page(&app, "/hc/Bad_Slug").await, 404);
}

#[tokio::test]
async fn missing_pages_are_themed_404s() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    app.put(&s.mgmt(""), json!({ "theme": "brand" }))
        .await
        .assert_status(200);
    for rest in [
        "/articles/kba_000000000000",
        "/categories/kbc_000000000000",
        "/sections/kbs_000000000000",
        "/nope",
        "/articles",
        "/articles/x/y",
    ] {
        let r = page(&app, &s.url(rest)).await;
        assert_html(&r, 404);
        assert!(r.text.contains("data-theme=\"brand\""), "{rest}");
        assert!(r.text.contains("Acme Help"), "{rest}");
        assert!(r.text.contains("We couldn’t find that page"), "{rest}");
        assert!(
            r.text
                .contains("<meta name=\"robots\" content=\"noindex\">")
        );
    }
}

/// Fetches a page and returns its text, asserting 200.
async fn text(app: &TestApp, uri: &str) -> String {
    let r = page(app, uri).await;
    r.assert_status(200);
    r.text
}

#[tokio::test]
async fn every_kind_of_write_is_visible_on_the_next_request() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    let art = s.url(&format!("/articles/{}", s.article));
    let cat = s.url(&format!("/categories/{}", s.billing));
    let home = s.url("");
    // Warm every cache first.
    for u in [&art, &cat, &home] {
        text(&app, u).await;
        text(&app, u).await;
    }

    // Edit.
    app.put(
        &s.mgmt(&format!("/articles/{}", s.article)),
        json!({ "title": "Open an account", "body": "Brand new body." }),
    )
    .await
    .assert_status(200);
    let t = text(&app, &art).await;
    assert!(t.contains("Open an account") && t.contains("Brand new body."));
    // A title-only edit re-renders the page though the body's HTML comes from the render cache.
    app.put(
        &s.mgmt(&format!("/articles/{}", s.article)),
        json!({ "title": "Open your account" }),
    )
    .await
    .assert_status(200);
    let t = text(&app, &art).await;
    assert!(t.contains("<h1 id=\"article-title\">Open your account</h1>"));
    assert!(t.contains("Brand new body."));

    // Publish.
    app.post_empty(&s.mgmt(&format!("/articles/{}/publish", s.draft)))
        .await
        .assert_status(200);
    assert!(text(&app, &cat).await.contains("Secret pricing draft"));
    text(&app, &s.url(&format!("/articles/{}", s.draft))).await;

    // Archive.
    app.post_empty(&s.mgmt(&format!("/articles/{}/archive", s.draft)))
        .await
        .assert_status(200);
    assert!(!text(&app, &cat).await.contains("Secret pricing draft"));
    page(&app, &s.url(&format!("/articles/{}", s.draft)))
        .await
        .assert_status(404);

    // Delete.
    app.delete(&s.mgmt(&format!("/articles/{}", s.invite)))
        .await
        .assert_status(204);
    page(&app, &s.url(&format!("/articles/{}", s.invite)))
        .await
        .assert_status(404);
    assert!(!text(&app, &art).await.contains("Invite your team"));

    // Category rename and FAQ writes.
    app.put(
        &s.mgmt(&format!("/categories/{}", s.billing)),
        json!({ "name": "Payments" }),
    )
    .await
    .assert_status(200);
    assert!(text(&app, &home).await.contains("Payments"));
    let faq = app
        .create_faq(
            &s.kb,
            &s.billing,
            json!({ "question": "Do you take PayPal?", "answer": "Soon.", "status": "published" }),
        )
        .await;
    assert!(text(&app, &home).await.contains("Do you take PayPal?"));
    app.delete(&s.mgmt(&format!("/faqs/{}", faq["id"].as_str().unwrap())))
        .await
        .assert_status(204);
    assert!(!text(&app, &home).await.contains("Do you take PayPal?"));

    // Theme and theme settings.
    app.put(
        &s.mgmt(""),
        json!({ "theme": "docs", "theme_settings": { "primary_color": "#ff5500", "dark_mode": true } }),
    )
    .await
    .assert_status(200);
    let t = text(&app, &art).await;
    assert!(t.contains("data-theme=\"docs\"") && t.contains("data-mode=\"dark\""));
    assert!(t.contains("--primary:#ff5500"));
    // Title, description and logo.
    app.put(
        &s.mgmt(""),
        json!({ "title": "Acme Support", "logo_path": "/static/logo.svg" }),
    )
    .await
    .assert_status(200);
    let t = text(&app, &home).await;
    assert!(t.contains("Acme Support") && t.contains("src=\"/static/logo.svg\""));

    // Slug change: the old URLs go away at once, the new ones work.
    app.put(&s.mgmt(""), json!({ "slug": "acme-2" }))
        .await
        .assert_status(200);
    page(&app, &art).await.assert_status(404);
    page(&app, &home).await.assert_status(404);
    text(&app, &format!("/hc/acme-2/articles/{}", s.article)).await;

    // Private, public again, then deleted.
    app.put(&s.mgmt(""), json!({ "is_public": false }))
        .await
        .assert_status(200);
    page(&app, "/hc/acme-2").await.assert_status(404);
    app.put(&s.mgmt(""), json!({ "is_public": true }))
        .await
        .assert_status(200);
    text(&app, "/hc/acme-2").await;
    app.delete(&s.mgmt("")).await.assert_status(204);
    page(&app, "/hc/acme-2").await.assert_status(404);
    page(&app, &format!("/hc/acme-2/articles/{}", s.article))
        .await
        .assert_status(404);
}

#[tokio::test]
async fn a_slug_freed_by_one_kb_serves_the_next() {
    let app = TestApp::new().await;
    let a = Site::new(&app, "help").await;
    assert!(text(&app, "/hc/help").await.contains("Getting started"));
    // Another project takes the slug once the first KB lets it go.
    let (_, other_key) = app.new_project("Other").await;
    app.put(&a.mgmt(""), json!({ "slug": "help-old" }))
        .await
        .assert_status(200);
    let r = app
        .call(
            Method::POST,
            "/v1/kb",
            Some(&other_key),
            Some(json!({ "title": "Other Help", "slug": "help", "is_public": true })),
        )
        .await;
    r.assert_status(201);
    let t = text(&app, "/hc/help").await;
    assert!(t.contains("Other Help") && !t.contains("Getting started"));
    text(&app, "/hc/help-old").await;
}

#[tokio::test]
async fn public_slugs_are_unique_across_the_instance() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "help").await;
    let (_, other) = app.new_project("Other").await;
    let call = |method: Method, path: &str, body: Value| {
        let other = other.clone();
        let path = path.to_string();
        let app = &app;
        async move { app.call(method, &path, Some(&other), Some(body)).await }
    };
    // Creating a public KB with a public slug in use.
    let r = call(
        Method::POST,
        "/v1/kb",
        json!({ "title": "T", "slug": "help", "is_public": true }),
    )
    .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "slug");
    assert!(r.text.contains("public"), "{}", r.text);
    // A private KB may use it (slugs are unique per project for private KBs).
    let r = call(
        Method::POST,
        "/v1/kb",
        json!({ "title": "T", "slug": "help" }),
    )
    .await;
    r.assert_status(201);
    let private = id_of(&r);
    // …but cannot be made public while the other is.
    let r = call(
        Method::PUT,
        &format!("/v1/kb/{private}"),
        json!({ "is_public": true }),
    )
    .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "slug");
    // Renaming a public KB onto it is refused too.
    let r = call(
        Method::POST,
        "/v1/kb",
        json!({ "title": "T2", "slug": "elsewhere", "is_public": true }),
    )
    .await;
    r.assert_status(201);
    let public = id_of(&r);
    let r = call(
        Method::PUT,
        &format!("/v1/kb/{public}"),
        json!({ "slug": "help" }),
    )
    .await;
    r.assert_error(422, "validation_error");
    assert_eq!(r.field(), "slug");
    // Nothing changed: the first KB still serves the slug.
    assert!(text(&app, "/hc/help").await.contains("Acme Help"));
    // Once the first goes private, the slug is free.
    app.put(&s.mgmt(""), json!({ "is_public": false }))
        .await
        .assert_status(200);
    call(
        Method::PUT,
        &format!("/v1/kb/{private}"),
        json!({ "is_public": true }),
    )
    .await
    .assert_status(200);
}

#[tokio::test]
async fn etags_304s_and_gzip() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    let url = s.url(&format!("/articles/{}", s.article));
    let r = page(&app, &url).await;
    let etag = r.header("etag").unwrap().to_string();
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let again = page_with(&app, &url, &[("if-none-match", &etag)]).await;
    again.assert_status(304);
    assert!(again.text.is_empty());
    assert!(again.header("content-security-policy").is_some());

    let gz = page_with(&app, &url, &[("accept-encoding", "gzip, br")]).await;
    gz.assert_status(200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.header("vary"), Some("Accept-Encoding"));
    assert_ne!(gz.header("etag"), Some(etag.as_str()));
    let req = Request::builder()
        .uri(&url)
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let raw = app.send(req).await;
    assert_eq!(raw.header("content-encoding"), Some("gzip"));
    // An edit changes the tag, so a stale copy is sent again in full.
    app.put(
        &s.mgmt(&format!("/articles/{}", s.article)),
        json!({ "body": "Changed." }),
    )
    .await
    .assert_status(200);
    page_with(&app, &url, &[("if-none-match", &etag)])
        .await
        .assert_status(200);
}

#[tokio::test]
async fn gzip_bodies_decompress_to_the_page() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    let url = s.url("");
    let plain = page(&app, &url).await.text;
    let req = Request::builder()
        .uri(&url)
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let gz = app.send(req).await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut out = String::new();
    flate2::read::GzDecoder::new(&gz.raw[..])
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, plain);
}

#[tokio::test]
async fn strict_csp_and_inert_custom_css() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    let attacks = [
        "</style><script>alert(1)</script>",
        "</STYLE ><img src=x onerror=alert(1)>",
        "</sTyLe\n><svg onload=alert(1)>",
        "a{} </style/><iframe src=javascript:alert(1)>",
        "<!--</style>--><script>alert(1)</script>",
    ];
    let css = format!(
        ".kb-content h1 {{ letter-spacing: -0.02em; }}\n{}",
        attacks.join("\n")
    );
    app.put(
        &s.mgmt(""),
        json!({ "theme_settings": { "primary_color": "#4f46e5", "custom_css": css } }),
    )
    .await
    .assert_status(200);
    for theme in THEMES {
        app.put(&s.mgmt(""), json!({ "theme": theme }))
            .await
            .assert_status(200);
        let r = page(&app, &s.url(&format!("/articles/{}", s.article))).await;
        assert_html(&r, 200);
        let lower = without_ask_script(&r.text).to_ascii_lowercase();
        assert!(!lower.contains("<script"), "{theme}");
        assert!(!lower.contains("<iframe"), "{theme}");
        assert!(!lower.contains("<svg"), "{theme}");
        // The attack text is still there, as inert CSS inside the one style element.
        assert!(!lower.contains("<img"), "{theme}");
        // Exactly one style element, whose content is what the CSP's hash allows.
        assert_eq!(lower.matches("<style>").count(), 1, "{theme}");
        assert_eq!(lower.matches("</style>").count(), 1, "{theme}");
        let inline = r.text.split("<style>").nth(1).unwrap();
        let inline = inline.split("</style>").next().unwrap();
        assert!(inline.contains("letter-spacing"));
        assert!(!inline.contains('<'), "{inline}");
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(inline));
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
        for directive in [
            "default-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "img-src 'self' https:",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        // Scripts from this origin only (the Ask box's asset): no inline script.
        assert!(csp.contains("; script-src 'self'; "), "{csp}");
        if theme == "bare" {
            assert!(csp.contains("frame-ancestors *"));
            assert!(r.header("x-frame-options").is_none());
        } else {
            assert!(csp.contains("frame-ancestors 'none'"));
            assert_eq!(r.header("x-frame-options"), Some("DENY"));
        }
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
}

#[tokio::test]
async fn markdown_is_sanitised() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    let body = "# Hi\n\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n[x](javascript:alert(1))\n![y](data:image/png;base64,AAAA)\n<a href=\"JaVaScRiPt:alert(1)\">z</a>\n<iframe src=\"https://evil.example\"></iframe>\n<p style=\"position:fixed\" onclick=\"alert(1)\">p</p>";
    let a = app
        .create_article(
            &s.kb,
            &s.start,
            json!({ "title": "Evil", "body": body, "status": "published" }),
        )
        .await;
    let r = page(
        &app,
        &s.url(&format!("/articles/{}", a["id"].as_str().unwrap())),
    )
    .await;
    assert_html(&r, 200);
    let lower = without_ask_script(&r.text).to_ascii_lowercase();
    // Text that merely reads "javascript:" is harmless; attributes carrying it are not.
    for bad in [
        "<script",
        " onerror=",
        " onclick=",
        "=\"javascript:",
        "=javascript:",
        "src=\"data:",
        "<iframe",
        "style=\"position",
    ] {
        assert!(!lower.contains(bad), "kept {bad}");
    }
}

#[tokio::test]
async fn findable_by_search_engines_and_ai_tools() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    let art = page(&app, &s.url(&format!("/articles/{}", s.article))).await;
    let canonical = format!(
        "http://127.0.0.1:8080/hc/acme/articles/{}-create-your-account",
        s.article
    );
    for text in [
        format!("<link rel=\"canonical\" href=\"{canonical}\">"),
        format!("<meta property=\"og:url\" content=\"{canonical}\">"),
        "<meta property=\"og:type\" content=\"article\">".to_string(),
        "<meta property=\"og:title\" content=\"Create your account · Acme Help\">".to_string(),
        "<meta property=\"og:description\" content=\"Sign up in two minutes and verify your email.\">".to_string(),
    ] {
        assert!(art.text.contains(&text), "article lacks {text}");
    }

    let sitemap = page(&app, &s.url("/sitemap.xml")).await;
    sitemap.assert_status(200);
    assert_eq!(
        sitemap.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    assert!(sitemap.text.contains(&format!("<loc>{canonical}</loc>")));
    assert!(
        sitemap
            .text
            .contains("<loc>http://127.0.0.1:8080/hc/acme</loc>")
    );

    let robots = page(&app, &s.url("/robots.txt")).await;
    robots.assert_status(200);
    assert!(
        robots
            .text
            .contains("Sitemap: http://127.0.0.1:8080/hc/acme/sitemap.xml")
    );

    let llms = page(&app, &s.url("/llms.txt")).await;
    llms.assert_status(200);
    assert!(llms.text.starts_with("# Acme Help\n"));
    assert!(llms.text.contains(&format!(
        "- [Create your account]({canonical}.md): Sign up in two minutes and verify your email."
    )));
    assert!(llms.text.contains("## Billing"));

    let full = page(&app, &s.url("/llms-full.txt")).await;
    full.assert_status(200);
    assert!(full.text.contains("Open the sign-up page."));
    assert!(full.text.contains("Go to **Billing**."));

    let md = page(
        &app,
        &format!("{}.md", &canonical["http://127.0.0.1:8080".len()..]),
    )
    .await;
    md.assert_status(200);
    assert_eq!(
        md.header("content-type"),
        Some("text/markdown; charset=utf-8")
    );
    assert!(md.text.starts_with("# Create your account\n\n## Sign up"));
    let short = page(&app, &s.url(&format!("/articles/{}.md", s.article))).await;
    assert_eq!(short.text, md.text);
}

#[tokio::test]
async fn search_page_finds_published_content() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    let r = page(&app, &s.url("/search?q=account")).await;
    assert_html(&r, 200);
    assert!(r.text.contains("Create your account"));
    assert!(r.text.contains("role=\"status\""));
    let r = page(&app, &s.url("/search?q=yearly")).await;
    assert!(r.text.contains("Can I pay yearly?"));
    let r = page(&app, &s.url("/search?q=pricing")).await;
    assert!(r.text.contains("0 results"));
    let r = page(&app, &s.url("/search")).await;
    assert_html(&r, 200);
    assert!(r.text.contains("<h1>Search</h1>"));
    let r = page(
        &app,
        &s.url("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
    )
    .await;
    assert_html(&r, 200);
    assert!(!without_ask_script(&r.text).contains("<script"));
    assert!(r.text.contains("&lt;script&gt;"));
    let long = "a".repeat(2000);
    page(&app, &s.url(&format!("/search?q={long}")))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn assets_are_served_with_long_lived_caching() {
    let app = TestApp::new().await;
    let s = Site::new(&app, "acme").await;
    let home = page(&app, &s.url("")).await;
    let hrefs: Vec<&str> = home
        .text
        .split("<link rel=\"stylesheet\" href=\"")
        .skip(1)
        .map(|p| p.split('"').next().unwrap())
        .collect();
    assert_eq!(hrefs.len(), 3);
    for href in hrefs {
        assert!(href.starts_with("/hc/_assets/"), "{href}");
        let r = page(&app, href).await;
        r.assert_status(200);
        assert_eq!(r.header("content-type"), Some("text/css; charset=utf-8"));
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert!(r.text.contains('{'));
    }
    page(&app, "/hc/_assets/base.000000000000.css")
        .await
        .assert_status(404);
}

#[tokio::test]
async fn the_hosted_host_serves_slugs_at_the_root() {
    let app = TestApp::with_config(HttpConfig {
        hosted_url: Some("https://help.example.test".to_string()),
        ..test_config()
    })
    .await;
    let s = Site::new(&app, "acme").await;
    let kb = app.get(&s.mgmt("")).await;
    assert_eq!(kb.data()["public_url"], "https://help.example.test/acme");
    let r = page_with(&app, "/acme", &[("host", "help.example.test")]).await;
    assert_html(&r, 200);
    assert!(r.text.contains("href=\"/acme/categories/"));
    assert!(r.text.contains("href=\"/_assets/base."));
    assert!(r.text.contains("action=\"/acme/search\""));
    assert!(
        r.text
            .contains("<link rel=\"canonical\" href=\"https://help.example.test/acme\">")
    );
    let art = page_with(
        &app,
        &format!("/acme/articles/{}", s.article),
        &[("host", "help.example.test:443")],
    )
    .await;
    assert_html(&art, 200);
    let css = art
        .text
        .split("href=\"/_assets/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    page_with(
        &app,
        &format!("/_assets/{css}"),
        &[("host", "help.example.test")],
    )
    .await
    .assert_status(200);
    // The main host still serves /hc/, with canonical links to the hosted host.
    let main = page(&app, &s.url("")).await;
    assert!(main.text.contains("href=\"/hc/acme/categories/"));
    assert!(main.text.contains("https://help.example.test/acme"));
    // The API is not reachable through the hosted host; health checks are.
    let api = page_with(&app, "/v1/kb", &[("host", "help.example.test")]).await;
    api.assert_status(404);
    page_with(&app, "/healthz", &[("host", "help.example.test")])
        .await
        .assert_status(200);
    // Private: null public_url, 404 on both hosts.
    app.put(&s.mgmt(""), json!({ "is_public": false }))
        .await
        .assert_status(200);
    assert!(app.get(&s.mgmt("")).await.data()["public_url"].is_null());
    page_with(&app, "/acme", &[("host", "help.example.test")])
        .await
        .assert_status(404);
}

#[tokio::test]
async fn hosted_pages_are_rate_limited_per_client() {
    let app = TestApp::with_config(HttpConfig {
        hosted_rate_limit: 3,
        ..test_config()
    })
    .await;
    let s = Site::new(&app, "acme").await;
    // Fresh minute window so the test does not straddle a boundary.
    let now = tome_core::time::unix_now();
    if now % 60 > 55 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - (now % 60) as u64)).await;
    }
    for _ in 0..3 {
        page(&app, &s.url("")).await.assert_status(200);
    }
    let r = page(&app, &s.url("")).await;
    assert_html(&r, 429);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert!(r.text.contains("Too many requests"));
    // Another client is not affected.
    let mut req = Request::builder()
        .uri(s.url(""))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [10, 0, 0, 9],
            1234,
        ))));
    app.send(req).await.assert_status(200);
}

/// Cached pages are answered before the router (`hosted::serve_cached`); those answers must be
/// the router's, header for header, on both hosts.
#[tokio::test]
async fn cached_pages_match_the_routers_answers() {
    let app = TestApp::with_config(HttpConfig {
        hosted_url: Some("https://help.example.test".to_string()),
        ..test_config()
    })
    .await;
    let s = Site::new(&app, "acme").await;
    app.settle().await;
    let article = format!("/articles/{}", s.article);
    let cases = [
        (s.url(&article), None),
        (s.url(""), None),
        (format!("/acme{article}"), Some("help.example.test")),
        ("/acme".to_string(), Some("help.example.test")),
    ];
    for (uri, host) in &cases {
        for encoding in [None, Some("gzip")] {
            let mut headers: Vec<(&str, &str)> = Vec::new();
            if let Some(h) = host {
                headers.push(("host", h));
            }
            if let Some(e) = encoding {
                headers.push(("accept-encoding", e));
            }
            let first = page_with(&app, uri, &headers).await;
            assert_html(&first, 200);
            let second = page_with(&app, uri, &headers).await;
            assert_eq!(first.status, second.status, "{uri}");
            assert_eq!(first.raw, second.raw, "{uri}: same bytes");
            let mut a: Vec<_> = first
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut b: Vec<_> = second
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // Content-Length is written by hyper from the body on the wire either way.
            a.retain(|(k, _)| k != "date" && k != "content-length");
            b.retain(|(k, _)| k != "date" && k != "content-length");
            a.sort_by(|x, y| x.0.as_str().cmp(y.0.as_str()));
            b.sort_by(|x, y| x.0.as_str().cmp(y.0.as_str()));
            assert_eq!(a, b, "{uri} {encoding:?}: same headers");
        }
    }
    let metrics = app.get("/metrics").await.text;
    assert!(
        metrics.contains(r#"tome_cache_lookups_total{cache="hosted",result="hit"} 12"#)
            && metrics.contains(r#"tome_cache_lookups_total{cache="hosted",result="miss"} 4"#),
        "one render per page, whatever the encoding: {metrics}"
    );
    // An edit is visible on the very next request, cached page or not.
    app.put(&s.mgmt(&article), json!({ "title": "Renamed article" }))
        .await
        .assert_status(200);
    assert!(
        page(&app, &s.url(&article))
            .await
            .text
            .contains("Renamed article")
    );
}
