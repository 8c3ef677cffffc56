//! What the sanitiser's hardening shows on a hosted page: custom CSS typed with CR LF line
//! endings is allowed by the page's own CSP hash, and author ids cannot clobber page globals.

use axum::http::Method;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::{TestApp, id_of};

async fn public_kb(app: &TestApp, slug: &str, settings: serde_json::Value) -> String {
    let r = app
        .post(
            "/v1/kb",
            json!({ "title": "Hardening", "slug": slug, "is_public": true, "theme_settings": settings }),
        )
        .await;
    r.assert_status(201);
    id_of(&r)
}

/// The text of the page's one `<style>` element and the page's CSP.
async fn inline_style(app: &TestApp, uri: &str) -> (String, String) {
    let r = app.call(Method::GET, uri, None, None).await;
    r.assert_status(200);
    let style = r.text.split("<style>").nth(1).expect("a style element");
    let style = style
        .split("</style>")
        .next()
        .unwrap_or_default()
        .to_string();
    let csp = r
        .header("content-security-policy")
        .unwrap_or_default()
        .to_string();
    (style, csp)
}

/// A browser hashes the `<style>` text after turning CR LF and lone CR into LF; the server now
/// writes the CSS that way, so the hash in its policy matches what the browser computes.
#[tokio::test]
async fn crlf_custom_css_matches_the_csp_hash() {
    let app = TestApp::new().await;
    let css = ".kb-content h1 {\r\n  color: rgb(1, 2, 3);\r\n}\r.x{}\r\n";
    public_kb(&app, "crlf", json!({ "custom_css": css })).await;
    let (style, csp) = inline_style(&app, "/hc/crlf").await;
    assert!(style.contains("color: rgb(1, 2, 3);"), "{style:?}");
    assert!(
        !style.contains('\r'),
        "the page keeps a CR the browser drops: {style:?}"
    );
    // What the browser hashes: the element's text after newline normalisation.
    let parsed = style.replace("\r\n", "\n").replace('\r', "\n");
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&parsed));
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
}

/// Ids from an article's raw HTML are prefixed, so `<img id="createElement">` names no global;
/// the article's own links to them follow, and heading anchors and the TOC stay as they were.
#[tokio::test]
async fn author_ids_cannot_clobber_page_globals() {
    let app = TestApp::new().await;
    let kb = public_kb(&app, "ids", json!({})).await;
    let cat = app.create_category(&kb, "Docs").await;
    let body = "## Install\n\n[jump](#steps) <a href=\"#install\">top</a>\n\n\
        <img id=\"createElement\" src=\"/a.png\"> <a id=\"location\">x</a>\n\n\
        <div id=\"steps\">Steps</div>\n";
    let article = app
        .create_article(&kb, &cat, json!({ "body": body, "status": "published" }))
        .await;
    let id = article["id"].as_str().unwrap();
    let r = app
        .call(Method::GET, &format!("/hc/ids/articles/{id}"), None, None)
        .await;
    r.assert_status(200);
    let html = &r.text;
    for clobber in ["id=\"createElement\"", "id=\"location\"", "id=\"steps\""] {
        assert!(!html.contains(clobber), "{clobber} kept");
    }
    assert!(html.contains("id=\"user-content-createElement\""), "{html}");
    assert!(html.contains("id=\"user-content-location\""), "{html}");
    assert!(html.contains("<div id=\"user-content-steps\">"), "{html}");
    assert!(html.contains("href=\"#user-content-steps\""), "{html}");
    assert!(html.contains("<h2 id=\"install\">"), "{html}");
    assert!(html.contains("href=\"#install\""), "{html}");
}
